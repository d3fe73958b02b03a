/*
 * judge.c - one cache, judged (see judge.h).
 *
 * Caches are judged in batches of up to PEEK_MAX_BATCH: peek.c does their I/O (a regular cache
 * costs openat + statx + pread of PYCI_PEEK_SIZE bytes + close; anything else, a FIFO, a device,
 * a symlink named *.pyc, only a stat of its name, never an open; each distinct source of the
 * batch one stat), by plain calls or through io_uring, with the same results.  The cache is
 * stat'ed on the descriptor its header is read from, so the identity that clean re-checks before
 * a removal is the identity of the bytes that were judged.  A source is hashed only when the
 * cache is hash-based and the verdict asks for it, once per key for the caches that share it.
 * A Jython NAME$py.class needs more than its first bytes: its annotations are near its end, so
 * it is opened and stat'ed as the plain path does (peek_open) and read as far as its structure
 * leads (jclass.c), one at a time; its source is stat'ed with the batch's.
 */
#define _GNU_SOURCE
#include "judge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deep.h"
#include "peek.h"
#include "readopen.h"
#include "shadow.h"
#include "srcinfo.h"
#include "pycinspect/jython.h"
#include "pycinspect/srchash.h"
#include "pycinspect/sysroot.h"

#define SOURCE_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* A source of the batch being judged: stat'ed once, hashed at most once per key. */
struct source_memo {
	size_t name_off; /* "NAME.py" in the judge's names */
	size_t stem_len;
	pyci_source_info info;
	int hashed; /* hash valid for key/rounds below */
	uint32_t k0;
	int c, d;
	int hash_err; /* errno of a failed hash attempt, 0 if none */
	uint8_t hash[8];
};

struct judge {
	const pyci_scan_options *opt;
	const judge_source_ops *src;
	void *src_ctx;
	pyci_hasher *hasher; /* created on the first hash-based cache */
	struct peeker *peeker;
	pyci_buf names; /* the batch's source names */
	struct source_memo memo[PEEK_MAX_BATCH];
	size_t nmemo;
	peek_cache pc[PEEK_MAX_BATCH];
	peek_source ps[PEEK_MAX_BATCH];
	int noatime;   /* readopen.h: cleared after the first EPERM */
	pyci_buf body; /* deep scans: the file being loaded */
};

static int dir_stat(void *ctx, const char *name, struct stat *st)
{
	return fstatat(*(const int *)ctx, name, st, 0);
}

static int dir_open(void *ctx, const char *name, int flags, int *noatime)
{
	return pyci_openat_read(*(const int *)ctx, name, flags, noatime);
}

static int dir_fd(void *ctx)
{
	return *(const int *)ctx;
}

const judge_source_ops judge_source_dir = {dir_stat, dir_open, dir_fd, NULL};

static int none_stat(void *ctx, const char *name, struct stat *st)
{
	(void)name;
	(void)st;
	errno = *(const int *)ctx;
	return -1;
}

/* NOLINTNEXTLINE(readability-non-const-parameter): judge_source_ops.open's signature */
static int none_open(void *ctx, const char *name, int flags, int *noatime)
{
	(void)name;
	(void)flags;
	(void)noatime;
	errno = *(const int *)ctx;
	return -1;
}

const judge_source_ops judge_source_none = {none_stat, none_open, NULL, NULL};

/* dir/name of a judge_root_src in its scratch: the path inside the root.  NULL (ENOMEM). */
static const char *root_path(judge_root_src *r, const char *name)
{
	pyci_buf_clear(&r->path);
	if (pyci_buf_puts(&r->path, r->dir) != 0 ||
	    (r->path.len && r->path.data[r->path.len - 1] != '/' &&
	     pyci_buf_putc(&r->path, '/') != 0) ||
	    pyci_buf_puts(&r->path, name) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	return r->path.data;
}

static int root_stat(void *ctx, const char *name, struct stat *st)
{
	judge_root_src *r = ctx;
	if (fstatat(r->dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	if (!S_ISLNK(st->st_mode))
		return 0; /* the directory is inside the root: nothing to resolve */
	const char *path = root_path(r, name);
	return path ? pyci_sysroot_stat(r->rootfd, path, st) : -1;
}

static int root_open(void *ctx, const char *name, int flags, int *noatime)
{
	judge_root_src *r = ctx;
	const char *path = root_path(r, name);
	if (!path)
		return -1;
	if (*noatime) {
		int fd = pyci_sysroot_open(r->rootfd, path, flags | O_NOATIME);
		if (fd >= 0 || errno != EPERM)
			return fd;
		*noatime = 0;
	}
	return pyci_sysroot_open(r->rootfd, path, flags);
}

static int root_shadow_dir(void *ctx, shadow_dir *d)
{
	const judge_root_src *r = ctx;
	*d = (shadow_dir){r->dirfd, r->rootfd, r->dir};
	return 0;
}

/* no dirfd: the batched stats (peek.c) would follow a symlink on the host */
const judge_source_ops judge_source_root = {root_stat, root_open, NULL, root_shadow_dir};

struct judge *judge_new(const pyci_scan_options *o)
{
	struct judge *jd = calloc(1, sizeof(*jd));
	if (!jd)
		return NULL;
	jd->opt = o;
	jd->noatime = 1;
	if (!(jd->peeker = peeker_new(o->io))) {
		free(jd);
		return NULL;
	}
	return jd;
}

void judge_free(struct judge *jd)
{
	if (!jd)
		return;
	pyci_hasher_free(jd->hasher);
	peeker_free(jd->peeker);
	pyci_buf_free(&jd->names);
	pyci_buf_free(&jd->body);
	free(jd);
}

void judge_sources(struct judge *jd, const judge_source_ops *ops, void *ctx)
{
	jd->src = ops;
	jd->src_ctx = ctx;
}

/*
 * The batch's memo of the source of cache `name` (stem_len bytes of it), added if new, with its
 * name in jd->names.  NULL on ENOMEM.
 */
static struct source_memo *source_for(struct judge *jd, const char *name, size_t stem_len)
{
	for (size_t i = 0; i < jd->nmemo; i++) {
		struct source_memo *m = &jd->memo[i];
		if (m->stem_len == stem_len &&
		    memcmp(jd->names.data + m->name_off, name, stem_len) == 0)
			return m;
	}
	struct source_memo *m = &jd->memo[jd->nmemo];
	*m = (struct source_memo){.name_off = jd->names.len, .stem_len = stem_len};
	if (pyci_buf_append(&jd->names, name, stem_len) != 0 ||
	    pyci_buf_append(&jd->names, ".py", sizeof(".py")) != 0)
		return NULL;
	jd->nmemo++;
	return m;
}

static const char *memo_name(const struct judge *jd, const struct source_memo *m)
{
	return jd->names.data + m->name_off;
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
	int fd = jd->src->open(jd->src_ctx, memo_name(jd, m), SOURCE_OPEN_FLAGS, &jd->noatime);
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

/* What a cache's module could be shadowed by, and where to look. */
struct shadow_ctx {
	const shadow_dir *dir; /* the sources' directory */
	const judge_req *req;
	size_t stem_len;
};

/* pyci_shadow_fn: among the candidates the listing gave. */
static void find_shadow(void *ctx, const pyci_finder *f, pyci_shadow *out)
{
	const struct shadow_ctx *sc = ctx;
	shadow_find(sc->dir, sc->req->name, sc->stem_len, sc->req->shadow, sc->req->shadow_len, f,
		    out);
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

static int has_source(const pyci_cache_name *n)
{
	return pyci_cache_name_of_py(n) || n->kind == PYCI_NAME_JYTHON;
}

/* A Jython class file q, whose source's memo is mm (NULL: no memory for it), read and judged. */
static void judge_class(struct judge *jd, const judge_req *q, const struct source_memo *mm)
{
	judge_result *r = q->res;
	peek_cache c = {.dirfd = q->dirfd, .name = q->name, .listed_regular = q->d_type == DT_REG};
	memset(&r->jclass, 0, sizeof(r->jclass));
	int fd = peek_open(&c, &jd->noatime);
	if (fd >= 0) {
		if (pyci_jclass_decode_fd(fd, (uint64_t)c.st.st_size, &r->jclass) != 0) {
			c.err = errno;
			memset(&r->jclass, 0, sizeof(r->jclass));
		}
		close(fd);
	}
	r->file_errno = c.err;
	r->mount_root = c.mount_root;
	r->have_file = c.have_stat;
	if (c.have_stat)
		file_info_from_stat(&r->file, &c.st);
	pyci_header_parse(c.buf, 0, 0, &r->header); /* no .pyc header: that of 0 bytes */
	if (r->mount_root)
		return; /* reported as a mount point by the caller */
	static const pyci_source_info unknown = {.err = ENOMEM};
	const pyci_source_info *src = mm ? &mm->info : &unknown;
	pyci_jython_input in = {
		.jclass = &r->jclass,
		.regular = c.regular,
		.read_err = r->file_errno,
		.mtime_sec = r->file.mtime_sec,
		.mtime_nsec = r->file.mtime_nsec,
		.source = src,
		.targets = jd->opt->targets,
	};
	pyci_jython_judge(&in, &r->verdict);
	r->have_source = 1;
	r->source = *src;
}

/* judge_batch of at most PEEK_MAX_BATCH caches: one batch of I/O. */
static void judge_chunk(struct judge *jd, judge_req *req, size_t n)
{
	/* the I/O of the batch: each cache but a class file, and each distinct source once */
	int dirfd = jd->src->dirfd ? jd->src->dirfd(jd->src_ctx) : -1;
	shadow_dir sd = {dirfd, -1, NULL};
	int have_sd = jd->src->shadow_dir ? jd->src->shadow_dir(jd->src_ctx, &sd) == 0 : dirfd >= 0;
	struct source_memo *memo_of[PEEK_MAX_BATCH];
	size_t slot[PEEK_MAX_BATCH]; /* each cache's entry in jd->pc; a class file has none */
	size_t np = 0;
	pyci_buf_clear(&jd->names);
	jd->nmemo = 0;
	for (size_t i = 0; i < n; i++) {
		judge_result *r = req[i].res;
		memo_of[i] = has_source(&r->cname) ? source_for(jd, req[i].name, r->cname.stem_len)
						   : NULL;
		if (r->cname.kind == PYCI_NAME_JYTHON)
			continue;
		slot[i] = np;
		jd->pc[np++] = (peek_cache){.dirfd = req[i].dirfd,
					    .name = req[i].name,
					    .listed_regular = req[i].d_type == DT_REG};
	}
	size_t m = 0;
	for (size_t k = 0; k < jd->nmemo; k++) {
		if (dirfd >= 0) {
			jd->ps[m++] =
				(peek_source){.dirfd = dirfd, .name = memo_name(jd, &jd->memo[k])};
			continue;
		}
		struct stat st;
		if (jd->src->stat(jd->src_ctx, memo_name(jd, &jd->memo[k]), &st) != 0)
			jd->memo[k].info.err = errno;
		else
			pyci_source_info_from_stat(&jd->memo[k].info, &st);
	}
	peek_run(jd->peeker, jd->pc, np, jd->ps, m, &jd->noatime);
	for (size_t k = 0; k < m; k++) {
		if (jd->ps[k].err)
			jd->memo[k].info = (pyci_source_info){.err = jd->ps[k].err};
		else
			pyci_source_info_from_stat(&jd->memo[k].info, &jd->ps[k].st);
	}

	/* the verdicts */
	for (size_t i = 0; i < n; i++) {
		judge_result *r = req[i].res;
		if (r->cname.kind == PYCI_NAME_JYTHON) {
			judge_class(jd, &req[i], memo_of[i]);
			continue;
		}
		const peek_cache *c = &jd->pc[slot[i]];
		r->file_errno = c->err;
		r->mount_root = c->mount_root;
		r->have_file = c->have_stat;
		if (c->have_stat)
			file_info_from_stat(&r->file, &c->st);
		if (r->mount_root)
			continue; /* reported as a mount point by the caller */
		size_t got = c->err ? 0 : c->got;
		pyci_header_parse(c->buf, got, r->have_file && !r->file_errno ? r->file.size : got,
				  &r->header);
		struct source_memo *mm = memo_of[i];
		struct hash_ctx hc = {jd, mm};
		struct shadow_ctx shc = {&sd, &req[i], r->cname.stem_len};
		pyci_source_info unknown = {.err = ENOMEM};
		pyci_judge_input in = {
			.name = &r->cname,
			.header = &r->header,
			.regular = c->regular,
			.read_err = r->file_errno,
			.source = mm ? &mm->info : NULL,
			.hash = mm ? hash_source : NULL,
			.hash_ctx = &hc,
			.shadow = have_sd && req[i].shadow_len ? find_shadow : NULL,
			.shadow_ctx = &shc,
			.check = jd->opt->check,
			.targets = req[i].targets,
			.have_cache_mtime = r->have_file,
			.cache_mtime_sec = r->file.mtime_sec,
			.cache_mtime_nsec = r->file.mtime_nsec,
		};
		if (!mm && has_source(&r->cname))
			in.source =
				&unknown; /* out of memory for the memo: "source cannot be read" */
		pyci_judge(&in, &r->verdict);
		r->load = (pyci_load){0};
		if (jd->opt->deep && c->regular && !r->file_errno &&
		    deep_would_load(&r->verdict, &r->header)) {
			deep_load(req[i].dirfd, req[i].name, &r->file, &r->header, &jd->body,
				  &jd->noatime, &r->load);
			deep_apply(&r->verdict, &r->load);
		}
		if (in.source) {
			r->have_source = 1;
			r->source = *in.source;
		}
	}
}

void judge_batch(struct judge *jd, judge_req *req, size_t n)
{
	while (n > 0) {
		size_t k = n < PEEK_MAX_BATCH ? n : PEEK_MAX_BATCH;
		judge_chunk(jd, req, k);
		req += k;
		n -= k;
	}
}
