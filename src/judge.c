/*
 * judge.c - one cache, judged (see judge.h).
 *
 * A regular cache costs openat + statx + pread of PYCI_PEEK_SIZE bytes + close; anything else
 * (a FIFO, a device, a symlink named *.pyc) only an fstatat, never an open.  Its source costs
 * one stat, remembered in a few slots for the caches that share it, and a hash only when the
 * cache is hash-based and the verdict asks for it.  The cache is stat'ed on the descriptor its
 * header is read from, so the identity that clean re-checks before a removal is the identity of
 * the bytes that were judged.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "readopen.h"
#include "srcinfo.h"
#include "pycinspect/srchash.h"

#define MEMO_SLOTS 8
#define FILE_OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
#define SOURCE_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* A source stat'ed (and perhaps hashed) for the caches that share it. */
struct source_memo {
	pyci_buf name;          /* "NAME.py" */
	int used;
	pyci_source_info info;
	int hashed;             /* hash valid for key/rounds below */
	uint32_t k0;
	int c, d;
	int hash_err;           /* errno of a failed hash attempt, 0 if none */
	uint8_t hash[8];
};

struct judge {
	const pyci_scan_options *opt;
	const judge_source_ops *src;
	void *src_ctx;
	pyci_hasher *hasher;    /* created on the first hash-based cache */
	struct source_memo memo[MEMO_SLOTS];
	unsigned memo_next;
	int noatime;            /* readopen.h: cleared after the first EPERM */
};

static int dir_stat(void *ctx, const char *name, struct stat *st)
{
	return fstatat(*(const int *)ctx, name, st, 0);
}

static int dir_open(void *ctx, const char *name, int flags, int *noatime)
{
	return pyci_openat_read(*(const int *)ctx, name, flags, noatime);
}

const judge_source_ops judge_source_dir = {dir_stat, dir_open};

struct judge *judge_new(const pyci_scan_options *o)
{
	struct judge *jd = calloc(1, sizeof(*jd));
	if (jd) {
		jd->opt = o;
		jd->noatime = 1;
	}
	return jd;
}

void judge_free(struct judge *jd)
{
	if (!jd)
		return;
	pyci_hasher_free(jd->hasher);
	for (unsigned i = 0; i < MEMO_SLOTS; i++)
		pyci_buf_free(&jd->memo[i].name);
	free(jd);
}

void judge_sources(struct judge *jd, const judge_source_ops *ops, void *ctx)
{
	jd->src = ops;
	jd->src_ctx = ctx;
	for (unsigned i = 0; i < MEMO_SLOTS; i++)
		jd->memo[i].used = 0;
}

/* The memo of stem's source, stat'ed now if it is not remembered.  NULL on ENOMEM. */
static struct source_memo *source_lookup(struct judge *jd, const char *stem, size_t stem_len)
{
	for (unsigned i = 0; i < MEMO_SLOTS; i++) {
		struct source_memo *m = &jd->memo[i];
		if (m->used && m->name.len == stem_len + 3 && memcmp(m->name.data, stem, stem_len) == 0)
			return m;
	}
	struct source_memo *m = &jd->memo[jd->memo_next++ % MEMO_SLOTS];
	pyci_buf_clear(&m->name);
	if (pyci_buf_append(&m->name, stem, stem_len) != 0 || pyci_buf_puts(&m->name, ".py") != 0)
		return NULL;
	m->used = 1;
	m->hashed = 0;
	m->hash_err = 0;
	memset(&m->info, 0, sizeof(m->info));
	struct stat st;
	if (jd->src->stat(jd->src_ctx, m->name.data, &st) != 0)
		m->info.err = errno;
	else
		pyci_source_info_from_stat(&m->info, &st);
	return m;
}

struct hash_ctx {
	struct judge *jd;
	struct source_memo *m;
};

/* pyci_hash_fn: hash the memo's source, once per key and rounds. */
static int hash_source(void *ctx, uint32_t k0, int c, int d, uint8_t out[8])
{
	struct hash_ctx *hc = ctx;
	struct source_memo *m = hc->m;
	struct judge *jd = hc->jd;
	if (m->hashed && m->k0 == k0 && m->c == c && m->d == d) {
		if (m->hash_err) {
			errno = m->hash_err;
			return -1;
		}
		memcpy(out, m->hash, 8);
		return 0;
	}
	if (!jd->hasher && !(jd->hasher = pyci_hasher_new()))
		return -1;
	m->hashed = 1;
	m->k0 = k0;
	m->c = c;
	m->d = d;
	m->hash_err = 0;
	int fd = jd->src->open(jd->src_ctx, m->name.data, SOURCE_OPEN_FLAGS, &jd->noatime);
	if (fd < 0) {
		m->hash_err = errno;
		return -1;
	}
	struct stat st;
	int rc = -1;
	/* NOLINTNEXTLINE(bugprone-branch-clone): two failures save errno alike, on purpose */
	if (fstat(fd, &st) != 0) {
		m->hash_err = errno;
	} else if (!S_ISREG(st.st_mode)) {
		m->hash_err = EINVAL;
	} else if (pyci_srchash_fd(jd->hasher, k0, c, d, fd, m->hash, NULL) != 0) {
		m->hash_err = errno;
	} else {
		memcpy(out, m->hash, 8);
		rc = 0;
	}
	close(fd);
	if (rc != 0)
		errno = m->hash_err;
	return rc;
}

static void file_info_from_stat(pyci_file_info *f, const struct stat *st)
{
	f->dev = (uint64_t)st->st_dev;
	f->ino = (uint64_t)st->st_ino;
	f->mode = (uint32_t)st->st_mode;
	f->size = (uint64_t)st->st_size;
	f->mtime_sec = st->st_mtim.tv_sec;
	f->mtime_nsec = st->st_mtim.tv_nsec;
}

/*
 * fstat(fd), and whether fd is the root of a mount (a file bind-mounted over a cache name):
 * statx's STATX_ATTR_MOUNT_ROOT (Linux 5.8), the same single call as fstat.  A kernel that does
 * not report the attribute leaves *mount_root 0 (docs/clean.md says what is then missed).
 */
static int fstat_mount(int fd, struct stat *st, int *mount_root)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &sx) != 0)
		return -1;
	*st = (struct stat){0};
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = (ino_t)sx.stx_ino;
	st->st_mode = sx.stx_mode;
	st->st_size = (off_t)sx.stx_size;
	st->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
	*mount_root = (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
		      (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

/* Read up to PYCI_PEEK_SIZE bytes of a regular file.  Fills r->file; returns bytes or -1. */
static ssize_t read_cache(struct judge *jd, int dirfd, const char *name, uint8_t *buf,
			  judge_result *r, int *regular)
{
	int fd = pyci_openat_read(dirfd, name, FILE_OPEN_FLAGS, &jd->noatime);
	if (fd < 0)
		return -1;
	struct stat st;
	ssize_t got = -1;
	int mount_root = 0;
	if (fstat_mount(fd, &st, &mount_root) != 0)
		goto out;
	file_info_from_stat(&r->file, &st);
	r->have_file = 1;
	if (mount_root) {
		r->mount_root = 1; /* a file mounted over the name: never judged */
		got = 0;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*regular = 0; /* swapped after listing: never read */
		got = 0;
		goto out;
	}
	got = 0;
	while (got < PYCI_PEEK_SIZE) {
		ssize_t n = pread(fd, buf + got, (size_t)(PYCI_PEEK_SIZE - got), got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			got = -1;
			break;
		}
		if (n == 0)
			break;
		got += n;
	}
out:;
	int e = errno;
	close(fd);
	errno = e;
	return got;
}

void judge_cache(struct judge *jd, int dirfd, const char *name, unsigned char d_type,
		 judge_result *r)
{
	uint8_t buf[PYCI_PEEK_SIZE];
	ssize_t got = 0;
	int regular = d_type == DT_REG;

	if (regular) {
		got = read_cache(jd, dirfd, name, buf, r, &regular);
		if (got < 0) {
			r->file_errno = errno;
			got = 0;
			/* not opened (no permission, say): its size and kind still count */
			struct stat st;
			if (!r->have_file && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				file_info_from_stat(&r->file, &st);
				r->have_file = 1;
			}
		}
	} else {
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			file_info_from_stat(&r->file, &st);
			r->have_file = 1;
		}
	}
	if (r->mount_root)
		return; /* reported as a mount point by the caller */
	pyci_header_parse(buf, (size_t)got,
			  r->have_file && !r->file_errno ? r->file.size : (uint64_t)got, &r->header);

	int has_source = r->cname.kind == PYCI_NAME_PYCACHE || r->cname.kind == PYCI_NAME_LEGACY;
	struct source_memo *m = has_source ? source_lookup(jd, name, r->cname.stem_len) : NULL;
	struct hash_ctx hc = {jd, m};
	pyci_source_info unknown = {.err = ENOMEM};
	pyci_judge_input in = {
		.name = &r->cname,
		.header = &r->header,
		.regular = regular,
		.read_err = r->file_errno,
		.source = m ? &m->info : NULL,
		.hash = m ? hash_source : NULL,
		.hash_ctx = &hc,
		.check = jd->opt->check,
		.targets = jd->opt->targets,
	};
	if (!m && has_source)
		in.source = &unknown; /* out of memory for the memo: "source cannot be read" */
	pyci_judge(&in, &r->verdict);
	if (in.source) {
		r->have_source = 1;
		r->source = *in.source;
	}
}
