/*
 * dump.c - the forensic JSON object of one cache (see dump.h, fields in docs/dump.md).
 *
 * The file is read once, in chunks: every chunk feeds SHA-256 and XXH3-128 of the whole file,
 * the part after the header feeds XXH3-128 of the body, and the body is kept for the marshal
 * decoder only when it will be decoded (hold_size: a header of a known magic and a code layout
 * marshal.c reads, at most PYCI_DUMP_MAX_BODY, and no more than the scan saw), in one
 * allocation of its size.  Nothing here trusts the file: the header was decoded by header.c,
 * the body goes to marshal.c, which bounds everything it does, and the tree's JSON is written
 * within a bound checked before each piece (tree_writer).  So the memory of one call has a
 * bound known before the file is opened: pyci_dump_bound.  The object is built with the JSON
 * writer (json.h), which places the commas and escapes every string; a code object that does
 * not fit in the tree's bound is taken back to a mark, and an object that fails for want of
 * memory leaves nothing in the caller's buffer.
 *
 * A Jython NAME$py.class has no .pyc header and no marshal body: it is hashed whole, decoded by
 * jclass.c through the same descriptor before it is hashed (at most 516 KiB, freed before the
 * read buffer is taken, so within READ_FIXED), and its header is what its annotations record,
 * the Filename's bytes read with pread (at most 64 KiB; their JSON, at most 6 bytes a byte,
 * fits in the tree's allowance, which a class file never uses).
 */
#define _GNU_SOURCE
#include "pycinspect/dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "pycinspect/archive.h"
#include "pycinspect/jclass.h"
#include "pycinspect/json.h"
#include "pycinspect/jython.h"
#include "pycinspect/marshal.h"
#include "pycinspect/record.h"
#include "pycinspect/srchash.h"
#include "pycinspect/verdict.h"
#include "preadall.h"
#include "readopen.h"
#include "sslerr.h"

#define CHUNK (1u << 20)

/* Bound of the JSON of one code tree: bytes per body byte, plus a fixed allowance, at most
 * PYCI_DUMP_MAX_TREE_JSON (the standard libraries of 2.7-3.13 print at most about 4 bytes per
 * body byte). */
#define TREE_JSON_PER_BYTE 64u
#define TREE_JSON_FIXED ((size_t)1 << 20)

/* pyci_dump_bound's parts besides the body, the decoder and the tree: the read chunk, the
 * source hasher's buffer (256 KiB), the hash states; and the object's JSON outside the tree
 * (with 6 bytes per byte of its two paths, the most an escape takes). */
#define READ_FIXED ((size_t)2 << 20)
#define OBJECT_FIXED ((size_t)64 << 10)

_Static_assert(READ_FIXED + PYCI_DUMP_MAX_BODY + PYCI_MARSHAL_MAX_MEMORY +
			       2 * (PYCI_DUMP_MAX_TREE_JSON + OBJECT_FIXED +
				    6 * ((size_t)8 << 10)) <=
		       PYCI_DUMP_MAX_MEMORY,
	       "PYCI_DUMP_MAX_MEMORY is pyci_dump_bound's largest value for paths under 8 KiB");

/* What reading the file gave. */
struct file_facts {
	int err;         /* errno of open/read, 0 */
	int not_regular; /* never opened: not a regular file (err is then 0) */
	struct stat st;  /* fstat of the open file, or else lstat of its name */
	int have_st;
	unsigned char sha256[32];
	XXH128_hash_t xxh, body_xxh;
	int hashed;
	uint64_t body_len;   /* bytes after the header, all read */
	unsigned char *body; /* the first body_held of them (hold_size) */
	size_t body_held;
	unsigned char first;    /* the first byte after the header... */
	int not_code;           /* ...which is not a code object's (the body is not held) */
	unsigned char magic[4]; /* the file's first bytes (magic_len of them) */
	size_t magic_len;
	int have_jclass; /* a Jython class file, decoded: jclass, and its Filename's bytes */
	pyci_jclass jclass;
	char *filename;
};

static void put_xxh128(pyci_jw *w, const char *key, XXH128_hash_t h)
{
	XXH128_canonical_t c; /* big-endian, as xxhsum -H128 prints it */
	XXH128_canonicalFromHash(&c, h);
	pyci_jw_bytes(w, key, c.digest, sizeof(c.digest));
}

/* "key": sec * 10^9 + nsec (0 <= nsec < 10^9) in decimal, exactly: past 2262 the product does
 * not fit in 64 bits, and a file system may hold times up to 2446. */
static void put_ns(pyci_jw *w, const char *key, int64_t sec, long nsec)
{
	char text[48]; /* fits: at most 20 digits of sec, 9 of nsec, and the sign */
	if (sec >= 0) {
		if (sec)
			(void)snprintf(text, sizeof(text), "%lld%09ld", (long long)sec, nsec);
		else
			(void)snprintf(text, sizeof(text), "%ld", nsec);
	} else {
		/* -(|sec| * 10^9 - nsec) = -((|sec| - 1) * 10^9 + (10^9 - nsec)) */
		unsigned long long mag = (unsigned long long)-(sec + 1) + 1; /* INT64_MIN too */
		long rest = 1000000000L - nsec;
		if (nsec == 0)
			(void)snprintf(text, sizeof(text), "-%llu000000000", mag);
		else if (mag > 1)
			(void)snprintf(text, sizeof(text), "-%llu%09ld", mag - 1, rest);
		else
			(void)snprintf(text, sizeof(text), "-%ld", rest);
	}
	pyci_jw_decimal(w, key, text);
}

/* UTC ISO-8601 with nanoseconds when nsec >= 0: 2023-11-14T22:13:20.123456789Z */
static void put_utc(pyci_jw *w, const char *key, int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char text[64];
	if (!gmtime_r(&t, &tm)) {
		pyci_jw_null(w, key);
		return;
	}
	size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec >= 0)
		(void)snprintf(text + n, sizeof(text) - n, ".%09ldZ", nsec); /* fits: 64 bytes */
	else
		(void)snprintf(text + n, sizeof(text) - n, "Z");
	pyci_jw_cstr(w, key, text);
}

/*
 * The metadata of a cache that is not opened (not a regular file, or the open failed): lstat of
 * its name, which opens nothing, so a FIFO or a device is never touched.  Kept only when it is
 * still the file the scan judged (same device and inode), or when the scan could not stat it.
 */
static void lstat_file(const pyci_record *r, struct file_facts *f)
{
	struct stat st;
	if (r->member)
		return; /* nothing on disk: put_file says what the archive says */
	if (fstatat(r->dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (r->have_file &&
	    ((uint64_t)st.st_dev != r->file.dev || (uint64_t)st.st_ino != r->file.ino))
		return; /* replaced since it was judged: what the scan saw stays (put_file) */
	f->st = st;
	f->have_st = 1;
}

/*
 * How many bytes of the body to hold for the decoder: none when it will not be decoded (the file
 * is not read, its header is empty, truncated or of an unknown magic, the decoder does not read
 * its code layout, or it is larger than PYCI_DUMP_MAX_BODY), one when the scan found no code
 * object there, else the body's size as the scan saw it.  A body that grew since is not decoded
 * (put_code), so what is held never passes this.
 */
static size_t hold_size(const pyci_record *r)
{
	const pyci_header *h = r->header;
	if (!r->have_file || !S_ISREG(r->file.mode) || r->file_errno)
		return 0;
	if (h->size == 0 || h->status == PYCI_HDR_TRUNCATED || h->status == PYCI_HDR_BAD_MAGIC ||
	    !pyci_marshal_supported(&h->magic))
		return 0;
	uint64_t n = r->file.size > h->size ? r->file.size - h->size : 0;
	if (n > PYCI_DUMP_MAX_BODY)
		return 0;
	return h->status == PYCI_HDR_NOT_CODE && n > 1 ? 1 : (size_t)n;
}

/* Keep the part p[0 .. len) of the body that fits in hold bytes (see hold_size). */
static int keep_body(struct file_facts *f, size_t hold, const unsigned char *p, size_t len)
{
	if (f->body_len == 0 && len) {
		f->first = p[0];
		f->not_code = (p[0] & 0x7F) != 'c'; /* the decoder stops there (marshal.c) */
	}
	if (f->not_code || f->body_held >= hold)
		return 0;
	if (!f->body) {
		f->body = malloc(hold);
		if (!f->body)
			return -1;
	}
	size_t n = len < hold - f->body_held ? len : hold - f->body_held;
	memcpy(f->body + f->body_held, p, n);
	f->body_held += n;
	return 0;
}

/* A Jython class file open as fd, of st_size bytes: decoded, and its Filename read.  0, or -1
 * with errno. */
static int read_class(int fd, uint64_t size, struct file_facts *f)
{
	if (pyci_jclass_decode_fd(fd, size, &f->jclass) != 0)
		return -1;
	f->have_jclass = 1;
	if (!f->jclass.has_filename)
		return 0;
	size_t len = f->jclass.filename_len;
	f->filename = malloc(len + 1);
	if (!f->filename)
		return -1;
	/* EIO: shorter than when it was decoded, it changed */
	return pyci_pread_exact(fd, f->filename, len, f->jclass.filename_off);
}

/* Read the cache through r->dirfd, hashing as we go, and holding at most hold bytes of the
 * body. */
static void read_file(const pyci_record *r, size_t header_size, size_t hold, struct file_facts *f)
{
	memset(f, 0, sizeof(*f));
	if (!r->have_file || !S_ISREG(r->file.mode)) {
		/* never opened: the scan could not open it (its errno), or not a regular file (the
		 * listing or its lstat said so), as the verdict's reason says */
		if (r->file_errno)
			f->err = r->file_errno;
		else
			f->not_regular = 1;
		lstat_file(r, f);
		return;
	}
	int fd = -1;
	const pyci_member *mb = r->member;
	if (mb && !mb->read) {
		f->err = ENODATA; /* a hard link in an archive: its bytes are its target's */
		return;
	}
	if (!mb) {
		int noatime = 1;
		fd = pyci_openat_read(r->dirfd, r->name,
				      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
				      &noatime);
		if (fd < 0) {
			if (errno == ELOOP) /* O_NOFOLLOW: replaced by a symlink since it was
					     * judged */
				f->not_regular = 1;
			else
				f->err = errno;
			lstat_file(r, f);
			return;
		}
	}
	unsigned char *chunk = NULL;
	EVP_MD *sha256 = NULL;
	EVP_MD_CTX *md = NULL;
	XXH3_state_t *whole = NULL, *body = NULL;
	if (fd >= 0 && fstat(fd, &f->st) != 0) {
		f->err = errno;
		goto out;
	}
	f->have_st = fd >= 0;
	if (fd >= 0 && !S_ISREG(f->st.st_mode)) { /* replaced since it was judged; O_NONBLOCK:
						   * not waited on */
		f->not_regular = 1;
		goto out;
	}
	if (r->jclass && read_class(fd, (uint64_t)f->st.st_size, f) != 0) {
		f->err = errno;
		goto out;
	}
	/*
	 * OpenSSL's failures become errnos as in srchash.c (sslerr.h): ENOMEM when its error queue
	 * says it could not allocate.  Otherwise the fetch fails for want of SHA-256 (ENOSYS), and
	 * EVP_DigestInit_ex, given a fetched digest, only when the provider cannot make its
	 * context, which for SHA-256 is one allocation: OpenSSL 3.0 reports that as
	 * "initialization error", not as an allocation failure, so it is ENOMEM too.  SHA-256's
	 * update and final allocate nothing and fail only on a fault inside OpenSSL: EIO.
	 */
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256) {
		f->err = pyci_ssl_errno(ENOSYS);
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md) {
		f->err = pyci_ssl_errno(ENOMEM);
		goto out;
	}
	chunk = malloc(CHUNK);
	whole = XXH3_createState();
	body = XXH3_createState();
	if (!chunk || !whole || !body) {
		f->err = ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(md, sha256, NULL) != 1) {
		f->err = pyci_ssl_errno(ENOMEM);
		goto out;
	}
	if (XXH3_128bits_reset(whole) || XXH3_128bits_reset(body)) {
		f->err = EIO;
		goto out;
	}
	uint64_t off = 0;
	for (;;) {
		ssize_t n = mb ? mb->read(mb->read_ctx, chunk, CHUNK) : read(fd, chunk, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			f->err = errno;
			goto out;
		}
		if (n == 0)
			break;
		for (size_t i = 0; off + i < sizeof(f->magic) && i < (size_t)n; i++)
			f->magic[f->magic_len++] = chunk[i];
		if (EVP_DigestUpdate(md, chunk, (size_t)n) != 1) {
			f->err = pyci_ssl_errno(EIO);
			goto out;
		}
		if (XXH3_128bits_update(whole, chunk, (size_t)n)) {
			f->err = EIO;
			goto out;
		}
		/* the part of this chunk past the header */
		uint64_t start = off < header_size ? header_size - off : 0;
		if (start < (uint64_t)n) {
			const unsigned char *p = chunk + start;
			size_t len = (size_t)n - (size_t)start;
			if (XXH3_128bits_update(body, p, len)) {
				f->err = EIO;
				goto out;
			}
			if (keep_body(f, hold, p, len) != 0) {
				f->err = ENOMEM;
				goto out;
			}
			f->body_len += len;
		}
		off += (uint64_t)n;
	}
	unsigned int mdlen = 0;
	if (EVP_DigestFinal_ex(md, f->sha256, &mdlen) != 1) {
		f->err = pyci_ssl_errno(EIO);
		goto out;
	}
	if (mdlen != 32) {
		f->err = EIO;
		goto out;
	}
	f->xxh = XXH3_128bits_digest(whole);
	f->body_xxh = XXH3_128bits_digest(body);
	f->hashed = 1;
out:
	free(chunk);
	EVP_MD_CTX_free(md);
	EVP_MD_free(sha256);
	XXH3_freeState(whole);
	XXH3_freeState(body);
	if (fd >= 0)
		close(fd);
}

static const char *file_type(mode_t mode)
{
	return S_ISREG(mode)    ? "regular"
	       : S_ISLNK(mode)  ? "symlink"
	       : S_ISFIFO(mode) ? "fifo"
	       : S_ISSOCK(mode) ? "socket"
	       : S_ISCHR(mode)  ? "char-device"
	       : S_ISBLK(mode)  ? "block-device"
	       : S_ISDIR(mode)  ? "directory"
				: "unknown";
}

/* "mode" and "type" of a file's mode: permissions in octal, as ls -l's kinds say them. */
static void put_mode(pyci_jw *w, unsigned long mode)
{
	char text[8];
	(void)snprintf(text, sizeof(text), "%04o", (unsigned)(mode & 07777)); /* fits */
	pyci_jw_cstr(w, "mode", text);
	pyci_jw_cstr(w, "type", file_type((mode_t)mode));
}

/* The same fields for every kind of file: from fstat of the open file or lstat of its name;
 * failing both (vanished or replaced since the scan), from the scan's stat, which has no owner
 * or link count (null). */
static void put_file(pyci_jw *w, const pyci_record *r, const struct file_facts *f)
{
	if (r->member) { /* as the archive says it: no inode, device or link count */
		pyci_jw_begin(w, "file");
		put_mode(w, r->file.mode);
		pyci_jw_u64(w, "uid", r->member->uid);
		pyci_jw_u64(w, "gid", r->member->gid);
		pyci_jw_null(w, "inode");
		pyci_jw_null(w, "device");
		pyci_jw_null(w, "links");
		put_ns(w, "mtime_ns", r->file.mtime_sec, r->file.mtime_nsec);
		put_utc(w, "mtime", r->file.mtime_sec, r->file.mtime_nsec);
		pyci_jw_end(w);
		return;
	}
	if (f->have_st) {
		const struct stat *st = &f->st;
		pyci_jw_begin(w, "file");
		put_mode(w, st->st_mode);
		pyci_jw_u64(w, "uid", st->st_uid);
		pyci_jw_u64(w, "gid", st->st_gid);
		pyci_jw_u64(w, "inode", st->st_ino);
		pyci_jw_u64(w, "device", st->st_dev);
		pyci_jw_u64(w, "links", st->st_nlink);
		put_ns(w, "mtime_ns", st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		put_utc(w, "mtime", st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
		pyci_jw_end(w);
		return;
	}
	if (!r->have_file) {
		pyci_jw_null(w, "file");
		return;
	}
	pyci_jw_begin(w, "file");
	put_mode(w, r->file.mode);
	pyci_jw_null(w, "uid");
	pyci_jw_null(w, "gid");
	pyci_jw_u64(w, "inode", r->file.ino);
	pyci_jw_u64(w, "device", r->file.dev);
	pyci_jw_null(w, "links");
	put_ns(w, "mtime_ns", r->file.mtime_sec, r->file.mtime_nsec);
	put_utc(w, "mtime", r->file.mtime_sec, r->file.mtime_nsec);
	pyci_jw_end(w);
}

static void put_header(pyci_jw *w, const pyci_record *r)
{
	const pyci_header *h = r->header;
	const pyci_magic_info *m = &h->magic;
	int known_magic = h->status != PYCI_HDR_EMPTY && h->status != PYCI_HDR_SHORT_MAGIC;
	/* the scan never read it (not a regular file, or it could not be opened or read): its
	 * header is unknown, not empty */
	if (!r->have_file || !S_ISREG(r->file.mode) || r->file_errno) {
		pyci_jw_null(w, "header");
		return;
	}
	char version[24];
	int have_version = pyci_record_version(r, version, sizeof(version)) == 0;
	pyci_jw_begin(w, "header");
	pyci_jw_cstr(w, "status", pyci_header_status_name(h->status));
	if (!known_magic) {
		pyci_jw_null(w, "magic_bytes");
		pyci_jw_end(w);
		return;
	}
	unsigned char raw[4] = {(unsigned char)m->word, (unsigned char)(m->word >> 8),
				(unsigned char)(m->word >> 16), (unsigned char)(m->word >> 24)};
	pyci_jw_bytes(w, "magic_bytes", raw, 4);
	pyci_jw_i64(w, "magic", m->number);
	pyci_jw_cstr(w, "version", have_version ? version : NULL);
	pyci_jw_cstr(w, "label", have_version && m->label[0] ? m->label : NULL);
	pyci_jw_cstr(w, "release",
		     !have_version                  ? NULL
		     : m->match == PYCI_MAGIC_RANGE ? "unknown"
		     : m->final                     ? "final"
						    : "pre-release");
	pyci_jw_cstr(w, "implementation", have_version ? pyci_impl_name(m->impl) : NULL);
	if (h->size == 0) {
		pyci_jw_end(w);
		return;
	}
	pyci_jw_i64(w, "size", (int64_t)h->size);
	if (h->size == 16 && h->status != PYCI_HDR_TRUNCATED) {
		pyci_jw_i64(w, "flags", h->flags);
		pyci_jw_begin(w, "flags_decoded");
		pyci_jw_bool(w, "hash_based", (h->flags & 1) != 0);
		pyci_jw_bool(w, "check_source", (h->flags & 3) == 3);
		pyci_jw_u64(w, "unknown_bits", h->flags & ~3u);
		pyci_jw_end(w);
	}
	const char *mode = h->status == PYCI_HDR_TRUNCATED || h->status == PYCI_HDR_BAD_FLAGS
				   ? NULL
				   : pyci_mode_name(h->mode);
	pyci_jw_cstr(w, "mode", mode);
	if (h->has_mtime) {
		pyci_jw_i64(w, "mtime", h->mtime);
		put_utc(w, "mtime_utc", h->mtime, -1);
	}
	if (h->has_source_size)
		pyci_jw_i64(w, "source_size", h->source_size);
	if (h->has_hash)
		pyci_jw_bytes(w, "source_hash", h->hash, 8);
	pyci_jw_end(w);
}

/* A Jython class file's "header": what its structure and annotations say (jclass.h), as this
 * read of the file decoded it; null when it was never read. */
static void put_class_header(pyci_jw *w, const struct file_facts *f)
{
	if (!f->have_jclass) {
		pyci_jw_null(w, "header");
		return;
	}
	const pyci_jclass *c = &f->jclass;
	const pyci_jython_api *api = c->has_api ? pyci_jython_api_lookup(c->api) : NULL;
	pyci_jw_begin(w, "header");
	pyci_jw_cstr(w, "status", pyci_jclass_status_name(c->status));
	pyci_jw_cstr(w, "format", "java-class");
	pyci_jw_bytes(w, "magic_bytes", f->magic_len == 4 ? f->magic : NULL, 4);
	if (c->has_version) {
		char text[16]; /* fits: two 16-bit numbers */
		(void)snprintf(text, sizeof(text), "%u.%u", (unsigned)c->major, (unsigned)c->minor);
		pyci_jw_cstr(w, "class_version", text);
	} else {
		pyci_jw_null(w, "class_version");
	}
	if (c->has_api)
		pyci_jw_i64(w, "api_version", c->api);
	else
		pyci_jw_null(w, "api_version");
	pyci_jw_cstr(w, "releases", api ? api->releases : NULL);
	char version[24];
	pyci_target t = {PYCI_IMPL_JYTHON, api ? api->major : 0, api ? api->minor : 0};
	pyci_target_format(&t, version, sizeof(version));
	pyci_jw_cstr(w, "version", api ? version : NULL);
	pyci_jw_cstr(w, "implementation", api ? pyci_impl_name(PYCI_IMPL_JYTHON) : NULL);
	if (c->has_mtime) {
		/* milliseconds: floored to seconds, the rest as nanoseconds */
		int64_t sec = c->mtime_ms / 1000, ms = c->mtime_ms % 1000;
		if (ms < 0) {
			sec--;
			ms += 1000;
		}
		pyci_jw_i64(w, "mtime_ms", c->mtime_ms);
		put_utc(w, "mtime_utc", sec, (long)ms * 1000000);
	} else {
		pyci_jw_null(w, "mtime_ms");
		pyci_jw_null(w, "mtime_utc");
	}
	pyci_jw_str(w, "filename", f->filename, c->has_filename ? c->filename_len : 0);
	pyci_jw_cstr(w, "error", c->error);
	if (c->error)
		pyci_jw_u64(w, "error_offset", c->error_offset);
	else
		pyci_jw_null(w, "error_offset");
	pyci_jw_end(w);
}

/* The SipHash the header of this magic would need for the source (3.7+ layouts only). */
static int source_siphash(const pyci_record *r, uint8_t out[8])
{
	const pyci_header *h = r->header;
	if (h->size != 16 || !r->source || r->source->err || !r->source->regular)
		return -1;
	if (r->member) { /* hashed by the archive's second pass */
		if (!r->member->have_siphash)
			return -1;
		memcpy(out, r->member->siphash, 8);
		return 0;
	}
	char name[4096];
	if (r->cname->stem_len + 4 > sizeof(name))
		return -1;
	memcpy(name, r->name, r->cname->stem_len);
	memcpy(name + r->cname->stem_len, ".py", 4);
	int noatime = 1;
	int fd = pyci_openat_read(r->srcdirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
				  &noatime);
	if (fd < 0)
		return -1;
	struct stat st;
	int rc = -1;
	pyci_hasher *hs = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (hs = pyci_hasher_new()) != NULL) {
		int c, d;
		pyci_srchash_rounds(&h->magic, &c, &d);
		rc = pyci_srchash_fd(hs, h->magic.word, c, d, fd, out, NULL);
	}
	pyci_hasher_free(hs);
	close(fd);
	return rc;
}

static void put_source(pyci_jw *w, const pyci_record *r)
{
	if (!r->source_path) {
		pyci_jw_null(w, "source");
		return;
	}
	const pyci_source_info *s = r->source;
	int exists = s && s->err == 0;
	pyci_jw_begin(w, "source");
	pyci_jw_str(w, "path", r->source_path, r->source_path_len);
	pyci_jw_bool(w, "exists", exists);
	if (exists) {
		pyci_jw_bool(w, "regular", s->regular);
		put_ns(w, "mtime_ns", s->mtime_sec, s->mtime_nsec);
		put_utc(w, "mtime", s->mtime_sec, s->mtime_nsec);
		pyci_jw_i64(w, "size", (int64_t)s->size);
		uint8_t sip[8];
		pyci_jw_bytes(w, "siphash", source_siphash(r, sip) == 0 ? sip : NULL, sizeof(sip));
	}
	pyci_jw_end(w);
}

static void put_verdict(pyci_jw *w, const pyci_record *r)
{
	const pyci_verdict *v = r->verdict;
	pyci_jw_begin(w, "verdict");
	pyci_jw_cstr(w, "status", pyci_status_name(v->status));
	pyci_jw_bool(w, "foreign", v->foreign);
	pyci_record_reasons(w, v->reasons);
	pyci_jw_end(w);
}

/*
 * The tree's writer: the object's JSON writer, kept within b->len <= lim.  Every t_* call does
 * nothing once st is set: 1 when the code object being written cannot fit (a string is
 * measured before it is written, exactly when 6 bytes per byte might not fit; the small pieces
 * are checked after), -1 when the writer failed (out of memory).  So the tree never takes more
 * than lim and a few dozen bytes, and a code object is listed exactly when its whole JSON fits.
 */
typedef struct tree_writer {
	pyci_jw *w;
	size_t lim;
	int st;
} tree_writer;

/* After each piece. */
static void t_done(tree_writer *t)
{
	t->st = t->w->err ? -1 : t->w->b->len > t->lim;
}

static void t_begin(tree_writer *t, const char *key, int array)
{
	if (t->st)
		return;
	if (array)
		pyci_jw_begin_array(t->w, key);
	else
		pyci_jw_begin(t->w, key);
	t_done(t);
}

static void t_end(tree_writer *t, int array)
{
	if (t->st)
		return;
	if (array)
		pyci_jw_end_array(t->w);
	else
		pyci_jw_end(t->w);
	t_done(t);
}

static void t_i64(tree_writer *t, const char *key, int64_t v)
{
	if (t->st)
		return;
	pyci_jw_i64(t->w, key, v);
	t_done(t);
}

/* A count the decoder may not have had (-1): null. */
static void t_field(tree_writer *t, const char *key, int32_t v)
{
	if (t->st)
		return;
	if (v < 0)
		pyci_jw_null(t->w, key);
	else
		pyci_jw_i64(t->w, key, v);
	t_done(t);
}

static void t_bool(tree_writer *t, const char *key, int v)
{
	if (t->st)
		return;
	pyci_jw_bool(t->w, key, v);
	t_done(t);
}

static void t_str(tree_writer *t, const char *key, const char *s, size_t len)
{
	if (t->st)
		return;
	size_t used = t->w->b->len;
	size_t room = t->lim > used ? t->lim - used : 0;
	if (s && (room < 2 || (len > (room - 2) / 6 && pyci_json_string_size(s, len) > room))) {
		t->st = 1;
		return;
	}
	pyci_jw_str(t->w, key, s, len);
	t_done(t);
}

static void t_mstr(tree_writer *t, const char *key, const pyci_mstr *s)
{
	t_str(t, key, s->data, s->len);
}

static void t_mstr_array(tree_writer *t, const char *key, const pyci_mstr *a, size_t n)
{
	t_begin(t, key, 1);
	for (size_t i = 0; i < n && !t->st; i++)
		t_mstr(t, NULL, &a[i]);
	t_end(t, 1);
}

static void put_code_object(tree_writer *t, const pyci_mcode *c, int consts)
{
	t_begin(t, NULL, 0);
	t_i64(t, "depth", c->depth);
	t_mstr(t, "filename", &c->filename);
	t_mstr(t, "name", &c->name);
	t_mstr(t, "qualname", &c->qualname);
	t_bool(t, "qualname_stored", c->qualname_stored);
	t_i64(t, "firstlineno", c->firstlineno);
	t_field(t, "argcount", c->argcount);
	t_field(t, "posonlyargcount", c->posonlyargcount);
	t_field(t, "kwonlyargcount", c->kwonlyargcount);
	t_field(t, "nlocals", c->nlocals);
	t_field(t, "stacksize", c->stacksize);
	t_field(t, "flags", c->flags);
	t_i64(t, "code_size", (int64_t)c->code_size);
	t_mstr_array(t, "names", c->names, c->nnames);
	t_mstr_array(t, "varnames", c->varnames, c->nvarnames);
	t_mstr_array(t, "freevars", c->freevars, c->nfreevars);
	t_mstr_array(t, "cellvars", c->cellvars, c->ncellvars);
	if (consts) {
		t_begin(t, "consts", 1);
		for (size_t i = 0; i < c->nconsts && !t->st; i++) {
			const pyci_mconst *k = &c->consts[i];
			t_begin(t, NULL, 0);
			t_str(t, "type", &k->type, 1); /* one of the letters of pyci_mconst */
			t_mstr(t, "value", &k->text);
			t_end(t, 0);
		}
		t_end(t, 1);
	}
	/* what tuples of more than PYCI_MARSHAL_MAX_ITEMS members left out: only when any */
	const struct {
		const char *key;
		size_t n;
	} elided[] = {{"names", c->names_elided},
		      {"varnames", c->varnames_elided},
		      {"freevars", c->freevars_elided},
		      {"cellvars", c->cellvars_elided},
		      {"consts", consts ? c->consts_elided : 0}};
	int any = 0;
	for (size_t i = 0; i < sizeof(elided) / sizeof(elided[0]); i++) {
		if (!elided[i].n)
			continue;
		if (!any)
			t_begin(t, "elided", 0);
		t_i64(t, elided[i].key, (int64_t)elided[i].n);
		any = 1;
	}
	if (any)
		t_end(t, 0);
	t_end(t, 0);
}

/* Bytes the tree's JSON may take for a body of len bytes. */
static size_t tree_bound(size_t len)
{
	if (len > (PYCI_DUMP_MAX_TREE_JSON - TREE_JSON_FIXED) / TREE_JSON_PER_BYTE)
		return PYCI_DUMP_MAX_TREE_JSON;
	return len * TREE_JSON_PER_BYTE + TREE_JSON_FIXED;
}

/* The decoder on the body held: marshal.c with its own bound. */
static int decode(const struct file_facts *f, const pyci_header *h, int consts, pyci_marshal *m)
{
	if (!pyci_marshal_supported(&h->magic)) /* it stops before the body: none was held */
		return pyci_marshal_decode(NULL, 0, &h->magic, consts, m);
	if (f->not_code) /* it stops at the first byte, the only one held */
		return pyci_marshal_decode(&f->first, 1, &h->magic, consts, m);
	return pyci_marshal_decode(f->body, f->body_held, &h->magic, consts, m);
}

static void put_code(pyci_jw *w, const pyci_record *r, const struct file_facts *f,
		     const pyci_dump_options *opt, int *problem)
{
	const pyci_header *h = r->header;
	if (h->size == 0 || h->status == PYCI_HDR_TRUNCATED || h->status == PYCI_HDR_BAD_MAGIC ||
	    !f->hashed) {
		*problem = 1; /* nothing to decode: the header (or the read) already says why */
		pyci_jw_null(w, "code");
		return;
	}
	const char *not_decoded = NULL;
	if (f->body_len > PYCI_DUMP_MAX_BODY)
		not_decoded = "body too large to decode";
	else if (pyci_marshal_supported(&h->magic) && !f->not_code && f->body_len > f->body_held)
		/* more than hold_size allowed for: rewritten since it was judged */
		not_decoded = "the file changed since it was judged: body not decoded";
	if (not_decoded) {
		*problem = 1;
		pyci_jw_begin(w, "code");
		pyci_jw_cstr(w, "error", not_decoded);
		pyci_jw_i64(w, "error_offset", 0);
		pyci_jw_end(w);
		return;
	}
	pyci_marshal m;
	int rc = decode(f, h, opt && opt->consts, &m);
	pyci_jw_begin(w, "code");
	pyci_jw_i64(w, "marshal_version", m.version);
	pyci_jw_begin(w, "objects");
	for (int t = 0; t < 128; t++) {
		if (!m.type_counts[t])
			continue;
		const char *name = pyci_marshal_type_name((unsigned char)t);
		char fallback[8];
		if (!name) {
			(void)snprintf(fallback, sizeof(fallback), "0x%02x", t); /* fits */
			name = fallback;
		}
		pyci_jw_u64(w, name, m.type_counts[t]);
	}
	pyci_jw_end(w);
	pyci_jw_begin_array(w, "tree");
	/* the tree's JSON is bounded like the decoder's memory: names, constants and strings
	 * shared by reference would otherwise be printed once per code object, gigabytes from a
	 * file of a few hundred kilobytes.  Past the bound, the code objects already listed stay. */
	size_t listed = 0;
	const size_t lim = w->b->len + tree_bound(f->body_held);
	for (size_t i = 0; !w->err && i < m.ncodes; i++) {
		pyci_jw_mark before;
		pyci_jw_save(w, &before);
		tree_writer t = {w, lim, 0};
		put_code_object(&t, &m.codes[i], opt && opt->consts);
		if (t.st > 0) {
			pyci_jw_restore(w, &before); /* with its comma */
			break;
		}
		listed += t.st == 0;
	}
	pyci_jw_end_array(w);
	if (rc != 0 || listed < m.ncodes)
		*problem = 1;
	if (rc != 0) {
		pyci_jw_cstr(w, "error", m.error_msg ? m.error_msg : "bad marshal data");
		pyci_jw_i64(w, "error_offset", (int64_t)m.error_offset);
	} else if (listed < m.ncodes) {
		char text[128]; /* fits: two counts of at most 20 digits */
		(void)snprintf(text, sizeof(text),
			       "code tree too large to print: %zu of %zu code objects listed",
			       listed, m.ncodes);
		pyci_jw_cstr(w, "error", text);
		pyci_jw_i64(w, "error_offset", (int64_t)m.consumed);
	} else {
		pyci_jw_null(w, "error");
		pyci_jw_null(w, "error_offset");
		pyci_jw_i64(w, "trailing_bytes", (int64_t)(f->body_held - m.consumed));
	}
	pyci_marshal_free(&m);
	pyci_jw_end(w);
}

size_t pyci_dump_bound(const pyci_record *r)
{
	size_t body = hold_size(r);
	size_t paths = r->path_len + (r->source_path ? r->source_path_len : 0);
	if (paths > (SIZE_MAX / 4 - OBJECT_FIXED - PYCI_DUMP_MAX_TREE_JSON) / 6)
		return SIZE_MAX; /* not a path a file system gives */
	size_t object = OBJECT_FIXED + 6 * paths + tree_bound(body);
	/* the object's buffer grows by doubling: up to twice what it holds */
	return READ_FIXED + body + pyci_marshal_bound(body) + 2 * object;
}

int pyci_dump_json(pyci_buf *b, const pyci_record *r, const pyci_dump_options *opt)
{
	struct file_facts f;
	int problem = 0;
	read_file(r, r->header->size, hold_size(r), &f);
	if (f.err || f.not_regular)
		problem = 1;
	/* the same words as the verdict's reason for what was never opened */
	const char *read_error = f.not_regular ? "not a regular file"
				 : f.err       ? strerror(f.err)
					       : NULL;
	pyci_jw w;
	pyci_jw_init(&w, b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_cstr(&w, "type", "dump");
	pyci_jw_str(&w, "path", r->path, r->path_len);
	if (r->member)
		pyci_record_member(&w, r->member);
	if (r->have_file)
		pyci_jw_u64(&w, "size", r->file.size);
	else if (f.have_st)
		pyci_jw_u64(&w, "size", (uint64_t)f.st.st_size);
	else
		pyci_jw_null(&w, "size");
	put_file(&w, r, &f);
	if (f.hashed) {
		pyci_jw_bytes(&w, "sha256", f.sha256, sizeof(f.sha256));
		put_xxh128(&w, "xxh3_128", f.xxh);
		if (r->jclass) /* no header: no body apart from it */
			pyci_jw_null(&w, "body_xxh3_128");
		else
			put_xxh128(&w, "body_xxh3_128", f.body_xxh);
	} else {
		pyci_jw_null(&w, "sha256");
		pyci_jw_null(&w, "xxh3_128");
		pyci_jw_null(&w, "body_xxh3_128");
		pyci_jw_cstr(&w, "read_error", read_error);
	}
	if (r->jclass)
		put_class_header(&w, &f);
	else
		put_header(&w, r);
	put_source(&w, r);
	put_verdict(&w, r);
	pyci_jw_bool(&w, "same_second_hint",
		     (r->verdict->reasons & PYCI_REASON_BIT(PYCI_R_SAME_SECOND)) != 0);
	if (!r->jclass) {
		put_code(&w, r, &f, opt, &problem);
	} else { /* Java bytecode: not decoded */
		pyci_jw_null(&w, "code");
		if (f.have_jclass && f.jclass.status != PYCI_JCLASS_OK)
			problem = 1;
	}
	pyci_jw_end(&w);
	free(f.body);
	free(f.filename);
	if (pyci_jw_finish(&w) != 0)
		return -1; /* ENOMEM: nothing of the object stays in b */
	return problem;
}
