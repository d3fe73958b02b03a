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
 * bound known before the file is opened: pyci_dump_bound.
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

#include "pycinspect/json.h"
#include "pycinspect/marshal.h"
#include "pycinspect/record.h"
#include "pycinspect/srchash.h"
#include "pycinspect/verdict.h"
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
			       2 * (PYCI_DUMP_MAX_TREE_JSON + OBJECT_FIXED + 6 * ((size_t)8 << 10)) <=
		       PYCI_DUMP_MAX_MEMORY,
	       "PYCI_DUMP_MAX_MEMORY is pyci_dump_bound's largest value for paths under 8 KiB");

/* What reading the file gave. */
struct file_facts {
	int err;                        /* errno of open/read, 0 */
	int not_regular;                /* never opened: not a regular file (err is then 0) */
	struct stat st;                 /* fstat of the open file, or else lstat of its name */
	int have_st;
	unsigned char sha256[32];
	XXH128_hash_t xxh, body_xxh;
	int hashed;
	uint64_t body_len;              /* bytes after the header, all read */
	unsigned char *body;            /* the first body_held of them (hold_size) */
	size_t body_held;
	unsigned char first;            /* the first byte after the header... */
	int not_code;                   /* ...which is not a code object's (the body is not held) */
};

static int put(pyci_buf *b, const char *s)
{
	return pyci_buf_puts(b, s);
}

static int put_str(pyci_buf *b, const char *key, const char *s)
{
	return pyci_json_field_str(b, key, s, s ? strlen(s) : 0);
}

static int put_i64(pyci_buf *b, const char *key, long long v)
{
	return pyci_json_next_key(b, key) || pyci_buf_printf(b, "%lld", v);
}

static int put_hex(pyci_buf *b, const char *key, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (pyci_json_next_key(b, key) || pyci_buf_putc(b, '"'))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (pyci_buf_putc(b, hex[p[i] >> 4]) || pyci_buf_putc(b, hex[p[i] & 15]))
			return -1;
	return pyci_buf_putc(b, '"');
}

static int put_xxh128(pyci_buf *b, const char *key, XXH128_hash_t h)
{
	XXH128_canonical_t c; /* big-endian, as xxhsum -H128 prints it */
	XXH128_canonicalFromHash(&c, h);
	return put_hex(b, key, c.digest, sizeof(c.digest));
}

/* "key": sec * 10^9 + nsec (0 <= nsec < 10^9) in decimal, exactly: past 2262 the product does
 * not fit in 64 bits, and a file system may hold times up to 2446. */
static int put_ns(pyci_buf *b, const char *key, int64_t sec, long nsec)
{
	if (pyci_json_next_key(b, key))
		return -1;
	if (sec >= 0)
		return sec ? pyci_buf_printf(b, "%lld%09ld", (long long)sec, nsec)
			   : pyci_buf_printf(b, "%ld", nsec);
	/* -(|sec| * 10^9 - nsec) = -((|sec| - 1) * 10^9 + (10^9 - nsec)) */
	unsigned long long mag = (unsigned long long)-(sec + 1) + 1; /* INT64_MIN too */
	if (nsec == 0)
		return pyci_buf_printf(b, "-%llu000000000", mag);
	long rest = 1000000000L - nsec;
	return mag > 1 ? pyci_buf_printf(b, "-%llu%09ld", mag - 1, rest)
		       : pyci_buf_printf(b, "-%ld", rest);
}

/* UTC ISO-8601 with nanoseconds when nsec >= 0: 2023-11-14T22:13:20.123456789Z */
static int put_utc(pyci_buf *b, const char *key, int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;
	char text[64];
	if (!gmtime_r(&t, &tm))
		return pyci_json_next_key(b, key) || put(b, "null");
	size_t n = strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec >= 0)
		(void)snprintf(text + n, sizeof(text) - n, ".%09ldZ", nsec); /* fits: 64 bytes */
	else
		(void)snprintf(text + n, sizeof(text) - n, "Z");
	return put_str(b, key, text);
}

/*
 * The metadata of a cache that is not opened (not a regular file, or the open failed): lstat of
 * its name, which opens nothing, so a FIFO or a device is never touched.  Kept only when it is
 * still the file the scan judged (same device and inode), or when the scan could not stat it.
 */
static void lstat_file(const pyci_record *r, struct file_facts *f)
{
	struct stat st;
	if (fstatat(r->dirfd, r->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (r->have_file && ((uint64_t)st.st_dev != r->file.dev || (uint64_t)st.st_ino != r->file.ino))
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
	int noatime = 1;
	int fd = pyci_openat_read(r->dirfd, r->name,
				  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, &noatime);
	if (fd < 0) {
		if (errno == ELOOP) /* O_NOFOLLOW: replaced by a symlink since it was judged */
			f->not_regular = 1;
		else
			f->err = errno;
		lstat_file(r, f);
		return;
	}
	unsigned char *chunk = NULL;
	EVP_MD *sha256 = NULL;
	EVP_MD_CTX *md = NULL;
	XXH3_state_t *whole = NULL, *body = NULL;
	if (fstat(fd, &f->st) != 0) {
		f->err = errno;
		goto out;
	}
	f->have_st = 1;
	if (!S_ISREG(f->st.st_mode)) { /* replaced since it was judged; O_NONBLOCK: not waited on */
		f->not_regular = 1;
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
		ssize_t n = read(fd, chunk, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			f->err = errno;
			goto out;
		}
		if (n == 0)
			break;
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

/* The same fields for every kind of file: from fstat of the open file or lstat of its name;
 * failing both (vanished or replaced since the scan), from the scan's stat, which has no owner
 * or link count (null). */
static int put_file(pyci_buf *b, const pyci_record *r, const struct file_facts *f)
{
	if (pyci_json_next_key(b, "file"))
		return -1;
	if (f->have_st) {
		const struct stat *st = &f->st;
		return pyci_buf_printf(b, "{\"mode\":\"%04o\",\"type\":\"%s\",\"uid\":%lu,\"gid\":%lu,"
				       "\"inode\":%llu,\"device\":%llu,\"links\":%lu",
				       (unsigned)(st->st_mode & 07777), file_type(st->st_mode),
				       (unsigned long)st->st_uid, (unsigned long)st->st_gid,
				       (unsigned long long)st->st_ino, (unsigned long long)st->st_dev,
				       (unsigned long)st->st_nlink) ||
		       put_ns(b, "mtime_ns", st->st_mtim.tv_sec, st->st_mtim.tv_nsec) ||
		       put_utc(b, "mtime", st->st_mtim.tv_sec, st->st_mtim.tv_nsec) ||
		       pyci_buf_putc(b, '}');
	}
	if (!r->have_file)
		return put(b, "null");
	return pyci_buf_printf(b, "{\"mode\":\"%04o\",\"type\":\"%s\",\"uid\":null,\"gid\":null,"
			       "\"inode\":%llu,\"device\":%llu,\"links\":null",
			       (unsigned)(r->file.mode & 07777), file_type((mode_t)r->file.mode),
			       (unsigned long long)r->file.ino, (unsigned long long)r->file.dev) ||
	       put_ns(b, "mtime_ns", r->file.mtime_sec, r->file.mtime_nsec) ||
	       put_utc(b, "mtime", r->file.mtime_sec, r->file.mtime_nsec) || pyci_buf_putc(b, '}');
}

static int put_header(pyci_buf *b, const pyci_record *r)
{
	const pyci_header *h = r->header;
	const pyci_magic_info *m = &h->magic;
	int known_magic = h->status != PYCI_HDR_EMPTY && h->status != PYCI_HDR_SHORT_MAGIC;
	/* the scan never read it (not a regular file, or it could not be opened or read): its
	 * header is unknown, not empty */
	if (!r->have_file || !S_ISREG(r->file.mode) || r->file_errno)
		return pyci_json_next_key(b, "header") || put(b, "null");
	char version[24];
	int have_version = pyci_record_version(r, version, sizeof(version)) == 0;
	if (pyci_json_next_key(b, "header") || put(b, "{\"status\":") ||
	    pyci_json_string(b, pyci_header_status_name(h->status),
			     strlen(pyci_header_status_name(h->status))))
		return -1;
	if (!known_magic)
		return put(b, ",\"magic_bytes\":null}");
	unsigned char raw[4] = {(unsigned char)m->word, (unsigned char)(m->word >> 8),
				(unsigned char)(m->word >> 16), (unsigned char)(m->word >> 24)};
	if (put_hex(b, "magic_bytes", raw, 4) || put_i64(b, "magic", m->number) ||
	    put_str(b, "version", have_version ? version : NULL) ||
	    put_str(b, "label", have_version && m->label[0] ? m->label : NULL) ||
	    put_str(b, "release",
		    !have_version			 ? NULL
		    : m->match == PYCI_MAGIC_RANGE	 ? "unknown"
		    : m->final				 ? "final"
							 : "pre-release") ||
	    put_str(b, "implementation", have_version ? pyci_impl_name(m->impl) : NULL))
		return -1;
	if (h->size == 0)
		return pyci_buf_putc(b, '}');
	if (put_i64(b, "size", (long long)h->size))
		return -1;
	if (h->size == 16 && h->status != PYCI_HDR_TRUNCATED) {
		if (put_i64(b, "flags", h->flags) || put(b, ",\"flags_decoded\":{") ||
		    pyci_buf_printf(b, "\"hash_based\":%s,\"check_source\":%s,\"unknown_bits\":%u}",
				    (h->flags & 1) ? "true" : "false",
				    (h->flags & 3) == 3 ? "true" : "false", h->flags & ~3u))
			return -1;
	}
	const char *mode = h->status == PYCI_HDR_TRUNCATED || h->status == PYCI_HDR_BAD_FLAGS
				   ? NULL
				   : pyci_mode_name(h->mode);
	if (put_str(b, "mode", mode))
		return -1;
	if (h->has_mtime && (put_i64(b, "mtime", h->mtime) || put_utc(b, "mtime_utc", h->mtime, -1)))
		return -1;
	if (h->has_source_size && put_i64(b, "source_size", h->source_size))
		return -1;
	if (h->has_hash && put_hex(b, "source_hash", h->hash, 8))
		return -1;
	return pyci_buf_putc(b, '}');
}

/* The SipHash the header of this magic would need for the source (3.7+ layouts only). */
static int source_siphash(const pyci_record *r, uint8_t out[8])
{
	const pyci_header *h = r->header;
	if (h->size != 16 || !r->source || r->source->err || !r->source->regular)
		return -1;
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

static int put_source(pyci_buf *b, const pyci_record *r)
{
	if (pyci_json_next_key(b, "source"))
		return -1;
	if (!r->source_path)
		return put(b, "null");
	const pyci_source_info *s = r->source;
	int exists = s && s->err == 0;
	if (put(b, "{\"path\":") || pyci_json_string(b, r->source_path, r->source_path_len) ||
	    pyci_json_field_bool(b, "exists", exists))
		return -1;
	if (exists) {
		if (pyci_json_field_bool(b, "regular", s->regular) ||
		    put_ns(b, "mtime_ns", s->mtime_sec, s->mtime_nsec) ||
		    put_utc(b, "mtime", s->mtime_sec, s->mtime_nsec) ||
		    put_i64(b, "size", (long long)s->size))
			return -1;
		uint8_t sip[8];
		if (source_siphash(r, sip) == 0 ? put_hex(b, "siphash", sip, 8)
						 : put_str(b, "siphash", NULL))
			return -1;
	}
	return pyci_buf_putc(b, '}');
}

static int put_verdict(pyci_buf *b, const pyci_record *r)
{
	const pyci_verdict *v = r->verdict;
	if (put(b, ",\"verdict\":{\"status\":\"") || put(b, pyci_status_name(v->status)) ||
	    put(b, "\"") || pyci_json_field_bool(b, "foreign", v->foreign) || put(b, ",\"reasons\":["))
		return -1;
	int first = 1;
	for (int i = 0; i < PYCI_R_COUNT; i++) {
		if (!(v->reasons & PYCI_REASON_BIT(i)))
			continue;
		const char *t = pyci_reason_text((pyci_reason)i);
		if ((!first && pyci_buf_putc(b, ',')) || pyci_json_string(b, t, strlen(t)))
			return -1;
		first = 0;
	}
	return put(b, "]}");
}

/*
 * Same-second hint: the header matches the source (mtime as the interpreter of its magic
 * compares it: tv_sec before 3.3, int(st_mtime) after; and size), yet the source was written
 * after the cache: an edit within the second the cache was written in, which CPython cannot see.
 */
static int same_second(const pyci_record *r)
{
	const pyci_header *h = r->header;
	const pyci_source_info *s = r->source;
	if (!s || s->err || !h->has_mtime || !r->have_file)
		return 0;
	pyci_rules rules = pyci_rules_for(h->magic.impl, h->magic.major, h->magic.minor);
	if (pyci_timestamp_check(rules, h, s->mtime_sec, s->mtime_nsec, s->size) != 0)
		return 0;
	return s->mtime_sec > r->file.mtime_sec ||
	       (s->mtime_sec == r->file.mtime_sec && s->mtime_nsec > r->file.mtime_nsec);
}

/*
 * The tree's writer: appends to b while b->len stays within lim.  Every w_* call does nothing
 * once st is set: 1 when the code object being written cannot fit (a string is measured before
 * it is written, exactly when 6 bytes per byte might not fit; the small pieces are checked
 * after), -1 out of memory.  So the tree never takes more than lim and a few dozen bytes, and a
 * code object is listed exactly when its whole JSON fits.
 */
typedef struct tree_writer {
	pyci_buf *b;
	size_t lim;
	int st;
} tree_writer;

static void w_done(tree_writer *w, int rc)
{
	w->st = rc ? -1 : w->b->len > w->lim;
}

static void w_put(tree_writer *w, const char *s)
{
	if (!w->st)
		w_done(w, put(w->b, s));
}

static void w_putc(tree_writer *w, char c)
{
	if (!w->st)
		w_done(w, pyci_buf_putc(w->b, c));
}

static void w_key(tree_writer *w, const char *key)
{
	if (!w->st)
		w_done(w, pyci_json_next_key(w->b, key));
}

static void w_i64(tree_writer *w, const char *key, long long v)
{
	if (!w->st)
		w_done(w, put_i64(w->b, key, v));
}

static void w_field(tree_writer *w, const char *key, int32_t v)
{
	if (v < 0) {
		w_key(w, key);
		w_put(w, "null");
	} else {
		w_i64(w, key, v);
	}
}

static void w_mstr(tree_writer *w, const pyci_mstr *s)
{
	if (w->st)
		return;
	if (!s->data) {
		w_put(w, "null");
		return;
	}
	size_t room = w->lim > w->b->len ? w->lim - w->b->len : 0;
	if (room < 2 || (s->len > (room - 2) / 6 && pyci_json_string_size(s->data, s->len) > room)) {
		w->st = 1;
		return;
	}
	w_done(w, pyci_json_string(w->b, s->data, s->len));
}

static void w_mstr_array(tree_writer *w, const char *key, const pyci_mstr *a, size_t n)
{
	w_key(w, key);
	w_putc(w, '[');
	for (size_t i = 0; i < n && !w->st; i++) {
		if (i)
			w_putc(w, ',');
		w_mstr(w, &a[i]);
	}
	w_putc(w, ']');
}

static void put_code_object(tree_writer *w, const pyci_mcode *c, int consts)
{
	char depth[32];
	(void)snprintf(depth, sizeof(depth), "{\"depth\":%d", c->depth); /* fits */
	w_put(w, depth);
	w_key(w, "filename");
	w_mstr(w, &c->filename);
	w_key(w, "name");
	w_mstr(w, &c->name);
	w_key(w, "qualname");
	w_mstr(w, &c->qualname);
	w_key(w, "qualname_stored");
	w_put(w, c->qualname_stored ? "true" : "false");
	w_i64(w, "firstlineno", c->firstlineno);
	w_field(w, "argcount", c->argcount);
	w_field(w, "posonlyargcount", c->posonlyargcount);
	w_field(w, "kwonlyargcount", c->kwonlyargcount);
	w_field(w, "nlocals", c->nlocals);
	w_field(w, "stacksize", c->stacksize);
	w_field(w, "flags", c->flags);
	w_i64(w, "code_size", (long long)c->code_size);
	w_mstr_array(w, "names", c->names, c->nnames);
	w_mstr_array(w, "varnames", c->varnames, c->nvarnames);
	w_mstr_array(w, "freevars", c->freevars, c->nfreevars);
	w_mstr_array(w, "cellvars", c->cellvars, c->ncellvars);
	if (consts) {
		w_put(w, ",\"consts\":[");
		for (size_t i = 0; i < c->nconsts && !w->st; i++) {
			const pyci_mconst *k = &c->consts[i];
			if (i)
				w_putc(w, ',');
			w_put(w, "{\"type\":\"");
			w_putc(w, k->type); /* one of the letters of pyci_mconst: no escape */
			w_putc(w, '"');
			w_key(w, "value");
			w_mstr(w, &k->text);
			w_putc(w, '}');
		}
		w_putc(w, ']');
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
		char num[64];
		(void)snprintf(num, sizeof(num), "%s\"%s\":%zu", any ? "," : ",\"elided\":{",
			       elided[i].key, elided[i].n); /* fits: the keys are short */
		w_put(w, num);
		any = 1;
	}
	if (any)
		w_putc(w, '}');
	w_putc(w, '}');
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

static int put_code(pyci_buf *b, const pyci_record *r, const struct file_facts *f,
		    const pyci_dump_options *opt, int *problem)
{
	const pyci_header *h = r->header;
	if (pyci_json_next_key(b, "code"))
		return -1;
	if (h->size == 0 || h->status == PYCI_HDR_TRUNCATED || h->status == PYCI_HDR_BAD_MAGIC ||
	    !f->hashed) {
		*problem = 1; /* nothing to decode: the header (or the read) already says why */
		return put(b, "null");
	}
	if (f->body_len > PYCI_DUMP_MAX_BODY) {
		*problem = 1;
		return put(b, "{\"error\":\"body too large to decode\",\"error_offset\":0}");
	}
	if (pyci_marshal_supported(&h->magic) && !f->not_code && f->body_len > f->body_held) {
		*problem = 1; /* more than hold_size allowed for: rewritten since it was judged */
		return put(b, "{\"error\":\"the file changed since it was judged: body not "
			      "decoded\",\"error_offset\":0}");
	}
	pyci_marshal m;
	int rc = decode(f, h, opt && opt->consts, &m);
	int out = pyci_buf_printf(b, "{\"marshal_version\":%d,\"objects\":{", m.version);
	int first = 1;
	for (int t = 0; !out && t < 128; t++) {
		if (!m.type_counts[t])
			continue;
		const char *name = pyci_marshal_type_name((unsigned char)t);
		char fallback[8];
		if (!name) {
			(void)snprintf(fallback, sizeof(fallback), "0x%02x", t); /* fits */
			name = fallback;
		}
		out = (!first && pyci_buf_putc(b, ',')) || pyci_json_string(b, name, strlen(name)) ||
		      pyci_buf_printf(b, ":%llu", (unsigned long long)m.type_counts[t]);
		first = 0;
	}
	out = out || put(b, "},\"tree\":[");
	/* the tree's JSON is bounded like the decoder's memory: names, constants and strings
	 * shared by reference would otherwise be printed once per code object, gigabytes from a
	 * file of a few hundred kilobytes.  Past the bound, the code objects already listed stay. */
	size_t tree_start = b->len, listed = 0;
	const size_t lim = tree_start + tree_bound(f->body_held);
	for (size_t i = 0; !out && i < m.ncodes; i++) {
		size_t before = b->len;
		tree_writer w = {b, lim, 0};
		if (i)
			w_putc(&w, ',');
		put_code_object(&w, &m.codes[i], opt && opt->consts);
		if (w.st < 0) {
			out = -1;
		} else if (w.st > 0) {
			b->len = before;
			b->data[before] = '\0';
			break;
		} else {
			listed++;
		}
	}
	out = out || put(b, "]");
	if (rc != 0 || listed < m.ncodes)
		*problem = 1;
	if (!out) {
		if (rc != 0)
			out = put_str(b, "error", m.error_msg ? m.error_msg : "bad marshal data") ||
			      put_i64(b, "error_offset", (long long)m.error_offset);
		else if (listed < m.ncodes)
			out = pyci_json_next_key(b, "error") ||
			      pyci_buf_printf(b, "\"code tree too large to print: %zu of %zu code "
						 "objects listed\"", listed, m.ncodes) ||
			      put_i64(b, "error_offset", (long long)m.consumed);
		else
			out = put(b, ",\"error\":null,\"error_offset\":null") ||
			      put_i64(b, "trailing_bytes", (long long)(f->body_held - m.consumed));
	}
	pyci_marshal_free(&m);
	return out || pyci_buf_putc(b, '}') ? -1 : 0;
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
	const char *read_error = f.not_regular ? "not a regular file" : f.err ? strerror(f.err) : NULL;
	int rc = put(b, "{\"type\":\"dump\",\"path\":") || pyci_json_string(b, r->path, r->path_len) ||
		 pyci_json_next_key(b, "size");
	if (!rc && r->have_file)
		rc = pyci_buf_put_u64(b, r->file.size);
	else if (!rc)
		rc = f.have_st ? pyci_buf_put_u64(b, (uint64_t)f.st.st_size) : put(b, "null");
	rc = rc || put_file(b, r, &f);
	if (!rc && f.hashed)
		rc = put_hex(b, "sha256", f.sha256, 32) || put_xxh128(b, "xxh3_128", f.xxh) ||
		     put_xxh128(b, "body_xxh3_128", f.body_xxh);
	else if (!rc)
		rc = put(b, ",\"sha256\":null,\"xxh3_128\":null,\"body_xxh3_128\":null") ||
		     put_str(b, "read_error", read_error);
	rc = rc || put_header(b, r) || put_source(b, r) || put_verdict(b, r) ||
	     pyci_json_field_bool(b, "same_second_hint", same_second(r)) || put_code(b, r, &f, opt, &problem) ||
	     pyci_buf_putc(b, '}');
	free(f.body);
	if (rc) {
		errno = ENOMEM;
		return -1;
	}
	return problem;
}
