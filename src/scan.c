/*
 * scan.c - the scan engine: walk, read each cache's header, stat its source, judge, report.
 *
 * Work per cache: one openat + fstat + pread of PYCI_PEEK_SIZE bytes + close for regular files
 * (nothing but an fstatat for anything else: FIFOs and devices are never opened), and one stat
 * per source, remembered for the caches that share it (the .opt-N siblings and other tags sort
 * next to each other).  Sources are read only to hash them for hash-based caches.
 *
 * Sources are looked up the way CPython does, following symlinks; caches and directories never
 * are followed.
 */
#define _GNU_SOURCE
#include "pycinspect/scan.h"

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pycinspect/buf.h"
#include "pycinspect/srchash.h"

#define MEMO_SLOTS 8
#define FILE_OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

/* What is known of one source of the directory being visited. */
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

struct scanner {
	const pyci_scan_options *opt;
	const pyci_scan_ops *ops;
	pyci_hasher *hasher;            /* created on the first hash-based cache */
	pyci_buf path, srcpath;
	struct source_memo memo[MEMO_SLOTS];
	unsigned memo_next;
	int srcdir_fd;
	const char *srcdir_path;
	size_t srcdir_path_len;
	int root_is_pycache;
	const char *root_parent;        /* display path of the root's parent when it is a __pycache__ */
};

/* ---- paths -------------------------------------------------------------------------------- */

static int join(pyci_buf *b, const char *dir, size_t dir_len, const char *name, size_t len)
{
	pyci_buf_clear(b);
	if (pyci_buf_append(b, dir, dir_len) != 0)
		return -1;
	if (dir_len && dir[dir_len - 1] != '/' && pyci_buf_putc(b, '/') != 0)
		return -1;
	return pyci_buf_append(b, name, len);
}

/* ---- sources ------------------------------------------------------------------------------ */

static void memo_reset(struct scanner *sc, int srcdir_fd, const char *path, size_t len)
{
	for (unsigned i = 0; i < MEMO_SLOTS; i++)
		sc->memo[i].used = 0;
	sc->srcdir_fd = srcdir_fd;
	sc->srcdir_path = path;
	sc->srcdir_path_len = len;
}

static struct source_memo *source_lookup(struct scanner *sc, const char *stem, size_t stem_len)
{
	for (unsigned i = 0; i < MEMO_SLOTS; i++) {
		struct source_memo *m = &sc->memo[i];
		if (m->used && m->name.len == stem_len + 3 && memcmp(m->name.data, stem, stem_len) == 0)
			return m;
	}
	struct source_memo *m = &sc->memo[sc->memo_next++ % MEMO_SLOTS];
	pyci_buf_clear(&m->name);
	if (pyci_buf_append(&m->name, stem, stem_len) != 0 || pyci_buf_puts(&m->name, ".py") != 0)
		return NULL;
	m->used = 1;
	m->hashed = 0;
	m->hash_err = 0;
	memset(&m->info, 0, sizeof(m->info));
	struct stat st;
	if (fstatat(sc->srcdir_fd, m->name.data, &st, 0) != 0) {
		m->info.err = errno;
	} else {
		m->info.regular = S_ISREG(st.st_mode);
		m->info.mtime_sec = st.st_mtim.tv_sec;
		m->info.mtime_nsec = st.st_mtim.tv_nsec;
		m->info.size = (uint64_t)st.st_size;
	}
	return m;
}

struct hash_ctx {
	struct scanner *sc;
	struct source_memo *m;
};

/* pyci_hash_fn: hash the memo's source, once per key and rounds. */
static int hash_source(void *ctx, uint32_t k0, int c, int d, uint8_t out[8])
{
	struct hash_ctx *hc = ctx;
	struct source_memo *m = hc->m;
	struct scanner *sc = hc->sc;
	if (m->hashed && m->k0 == k0 && m->c == c && m->d == d) {
		if (m->hash_err) {
			errno = m->hash_err;
			return -1;
		}
		memcpy(out, m->hash, 8);
		return 0;
	}
	if (!sc->hasher && !(sc->hasher = pyci_hasher_new()))
		return -1;
	m->hashed = 1;
	m->k0 = k0;
	m->c = c;
	m->d = d;
	m->hash_err = 0;
	int fd = openat(sc->srcdir_fd, m->name.data, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		m->hash_err = errno;
		return -1;
	}
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) != 0) {
		m->hash_err = errno;
	} else if (!S_ISREG(st.st_mode)) {
		m->hash_err = EINVAL;
	} else if (pyci_srchash_fd(sc->hasher, k0, c, d, fd, m->hash, NULL) != 0) {
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

/* ---- one cache ---------------------------------------------------------------------------- */

static void file_info_from_stat(pyci_file_info *f, const struct stat *st)
{
	f->dev = (uint64_t)st->st_dev;
	f->ino = (uint64_t)st->st_ino;
	f->mode = (uint32_t)st->st_mode;
	f->size = (uint64_t)st->st_size;
	f->mtime_sec = st->st_mtim.tv_sec;
	f->mtime_nsec = st->st_mtim.tv_nsec;
}

/* Read up to PYCI_PEEK_SIZE bytes of a regular file.  Fills rec->file; returns bytes or -1. */
static ssize_t read_cache(int dirfd, const char *name, uint8_t *buf, pyci_record *rec,
			  int *regular)
{
	int fd = openat(dirfd, name, FILE_OPEN_FLAGS);
	if (fd < 0)
		return -1;
	struct stat st;
	ssize_t got = -1;
	if (fstat(fd, &st) != 0)
		goto out;
	file_info_from_stat(&rec->file, &st);
	rec->have_file = 1;
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

static int judge_entry(struct scanner *sc, int dirfd, const char *dirpath, size_t dirpath_len,
		       const pyci_entry *e, int in_pycache)
{
	pyci_cache_name cname;
	if (pyci_cache_name_parse(e->name, e->len, in_pycache, &cname) != 0)
		return 0;

	pyci_record rec = {0};
	pyci_header hdr;
	pyci_verdict verdict;
	pyci_source_info *src = NULL;
	uint8_t buf[PYCI_PEEK_SIZE];
	ssize_t got = 0;
	int regular = e->type == DT_REG;

	if (join(&sc->path, dirpath, dirpath_len, e->name, e->len) != 0)
		return -1;
	rec.path = sc->path.data;
	rec.path_len = sc->path.len;
	rec.name = e->name;
	rec.name_len = e->len;
	rec.dirfd = dirfd;

	if (regular) {
		got = read_cache(dirfd, e->name, buf, &rec, &regular);
		if (got < 0) {
			rec.file_errno = errno;
			got = 0;
		}
	} else {
		struct stat st;
		if (fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			file_info_from_stat(&rec.file, &st);
			rec.have_file = 1;
		}
	}
	pyci_header_parse(buf, (size_t)got, rec.have_file ? rec.file.size : (uint64_t)got, &hdr);

	struct source_memo *m = NULL;
	if (cname.kind == PYCI_NAME_PYCACHE || cname.kind == PYCI_NAME_LEGACY) {
		m = source_lookup(sc, e->name, cname.stem_len);
		if (!m)
			return -1;
		src = &m->info;
		if (join(&sc->srcpath, sc->srcdir_path, sc->srcdir_path_len, m->name.data,
			 m->name.len) != 0)
			return -1;
		rec.source_path = sc->srcpath.data;
		rec.source_path_len = sc->srcpath.len;
	}

	struct hash_ctx hc = {sc, m};
	pyci_judge_input in = {
		.name = &cname,
		.header = &hdr,
		.regular = regular,
		.read_err = rec.file_errno,
		.source = src,
		.hash = m ? hash_source : NULL,
		.hash_ctx = &hc,
		.check = sc->opt->check,
		.targets = sc->opt->targets,
	};
	pyci_judge(&in, &verdict);
	rec.cname = &cname;
	rec.header = &hdr;
	rec.verdict = &verdict;
	rec.source = src;
	return sc->ops->record(sc->ops->ctx, &rec);
}

static int judge_listing(struct scanner *sc, const pyci_dir *dir, int in_pycache)
{
	for (size_t i = 0; i < dir->count; i++) {
		const pyci_entry *e = &dir->entries[i];
		if (e->type == DT_DIR)
			continue;
		if (judge_entry(sc, dir->fd, dir->path, dir->path_len, e, in_pycache) != 0)
			return -1;
	}
	return 0;
}

/* ---- the walk ----------------------------------------------------------------------------- */

static int visit(void *ctx, const pyci_dir *dir, const pyci_dir *pycache)
{
	struct scanner *sc = ctx;
	if (dir->depth == 0 && sc->root_is_pycache) {
		/* The user named a __pycache__ itself: its sources are one level up. */
		int up = openat(dir->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0) {
			if (sc->ops->error)
				sc->ops->error(sc->ops->ctx, dir->path, PYCI_WALK_ERR_OPEN, errno);
			return 0;
		}
		memo_reset(sc, up, sc->root_parent, strlen(sc->root_parent));
		int rc = judge_listing(sc, dir, 1);
		close(up);
		if (rc != 0)
			return -1;
	} else {
		memo_reset(sc, dir->fd, dir->path, dir->path_len);
		if (judge_listing(sc, dir, 0) != 0)
			return -1;
	}
	if (pycache) {
		memo_reset(sc, dir->fd, dir->path, dir->path_len);
		if (judge_listing(sc, pycache, 1) != 0)
			return -1;
	}
	return 0;
}

/* The parent directory of `path` as text: "a/b/" -> "a", "b" -> ".", "/b" -> "/". */
static int parent_path(pyci_buf *out, const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t slash = len;
	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	pyci_buf_clear(out);
	if (slash == 0) {
		/* "." or ".." cannot be named by text; say where it is from here */
		if ((len == 1 && path[0] == '.') || (len == 2 && path[0] == '.' && path[1] == '.'))
			return pyci_buf_append(out, path, len) || pyci_buf_puts(out, "/..");
		return pyci_buf_puts(out, ".");
	}
	while (slash > 1 && path[slash - 1] == '/')
		slash--;
	return pyci_buf_append(out, path, slash);
}

/* 1 if the directory dirfd is named __pycache__ in its parent, judged by identity. */
static int is_pycache_dir(int dirfd)
{
	struct stat self, named;
	if (fstat(dirfd, &self) != 0)
		return 0;
	int up = openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		return 0;
	int r = fstatat(up, "__pycache__", &named, AT_SYMLINK_NOFOLLOW) == 0 &&
		named.st_dev == self.st_dev && named.st_ino == self.st_ino;
	close(up);
	return r;
}

/* A single file named on the command line. */
static int scan_file(struct scanner *sc, const char *path)
{
	pyci_buf dir = PYCI_BUF_INIT, srcdir = PYCI_BUF_INIT;
	int dfd = -1, sfd = -1, rc = -1;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (parent_path(&dir, path) != 0)
		goto out;
	dfd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto out;
	int in_pycache = is_pycache_dir(dfd);
	pyci_entry e = {base, strlen(base), DT_UNKNOWN};
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		goto out;
	e.type = IFTODT(st.st_mode);
	pyci_cache_name cname;
	if (pyci_cache_name_parse(e.name, e.len, in_pycache, &cname) != 0) {
		errno = EINVAL;
		goto out;
	}
	if (in_pycache) {
		if (parent_path(&srcdir, dir.data) != 0)
			goto out;
		sfd = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0)
			goto out;
		memo_reset(sc, sfd, srcdir.data, srcdir.len);
	} else {
		memo_reset(sc, dfd, dir.data, dir.len);
	}
	/* report the path exactly as given */
	size_t dirpart = slash ? (size_t)(slash - path) : 0;
	const char *dp = slash ? path : "";
	if (slash == path)
		dirpart = 1; /* "/x.pyc" */
	rc = judge_entry(sc, dfd, dp, dirpart, &e, in_pycache);
out:;
	int err = errno;
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	pyci_buf_free(&dir);
	pyci_buf_free(&srcdir);
	errno = err;
	return rc;
}

static void walk_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct scanner *sc = ctx;
	if (sc->ops->error)
		sc->ops->error(sc->ops->ctx, path, kind, err);
}

int pyci_scan_path(const char *path, const pyci_scan_options *opt, const pyci_scan_ops *ops)
{
	struct scanner sc = {0};
	pyci_buf root_parent = PYCI_BUF_INIT;
	sc.opt = opt;
	sc.ops = ops;
	int rc = -1;
	struct stat st;

	if (lstat(path, &st) != 0)
		goto out;
	if (S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = scan_file(&sc, path);
		goto out;
	}
	int probe = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (probe < 0)
		goto out;
	sc.root_is_pycache = is_pycache_dir(probe);
	close(probe);
	if (sc.root_is_pycache) {
		if (parent_path(&root_parent, path) != 0)
			goto out;
		sc.root_parent = root_parent.data;
	}
	pyci_walk_options wopt = {opt->cross_mounts, opt->max_fds};
	pyci_walk_ops wops = {visit, walk_error, &sc};
	rc = pyci_walk(path, &wopt, &wops);
out:;
	int err = errno;
	pyci_hasher_free(sc.hasher);
	pyci_buf_free(&sc.path);
	pyci_buf_free(&sc.srcpath);
	for (unsigned i = 0; i < MEMO_SLOTS; i++)
		pyci_buf_free(&sc.memo[i].name);
	pyci_buf_free(&root_parent);
	errno = err;
	return rc;
}
