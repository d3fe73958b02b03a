/*
 * roots.c - PATHs of one run that name the same files: one inside another, or one twice
 * (see roots.h).
 *
 * `clean x x/sub` would judge x/sub's caches twice: the dry run would list them twice, and the
 * real run would remove them under x and then fail to find them under x/sub, so the two could
 * not agree.  So before anything is walked, each PATH is compared with the others.  A PATH is
 * inside another when the other's walk would list its files:
 *   - its physical location (realpath(3)) lies below the other's, on the same filesystem as
 *     the walk sees it (the same st_dev, and the same statx mount id when both are known; any
 *     with --cross-mounts);
 *   - or it is the same filesystem seen through another mount (a bind mount): its path within
 *     the filesystem (its mount's root in /proc/self/mountinfo, joined with the path below the
 *     mount point) lies below the other's on the same device, and the PATH itself is found at
 *     that place under the other (same st_dev and inode): mountinfo alone can mislead (NFS
 *     prints "/" for every root, a mount can hide a directory);
 * and, either way, no directory in between, nor the PATH itself, is left out by the excludes.
 * A cache file named twice, however spelt, is the same PATH twice.  Each PATH's ancestors are
 * looked up by binary search among the others, so 20,000 PATHs cost a fraction of a second.
 * The caller decides what to do: `clean` refuses such a run, and nothing is removed; `scan` and
 * `dump` say that those caches are reported again, and go on.  The mount rule is the walk's own
 * (dirio_same_mount); the mounts come from mountinfo.c.
 *
 * What cannot be resolved (a missing PATH, a symbolic link given without a trailing '/', a
 * file that is not a .pyc/.pyo, a path longer than PATH_MAX) is left to the walk, which
 * reports it in its own words.
 */
#define _GNU_SOURCE
#include "pycinspect/roots.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "dirio.h"
#include "mountinfo.h"

struct root {
	const char *given;
	char *real;   /* realpath, or NULL: not compared */
	char *fspath; /* the path within its filesystem, or NULL: unknown */
	int dir;
	uint64_t mnt; /* statx mount id, 0 unknown */
	uint64_t dev; /* st_dev */
	uint64_t ino;
	uint64_t fsdev; /* the filesystem's device in mountinfo (st_dev differs on btrfs) */
};

/* r->fspath and r->fsdev from r's mount: the mount's root joined with the path below its mount
 * point.  Left unset when anything is missing. */
static void locate(struct root *r, const mountinfo *mi)
{
	const mountinfo_entry *m = r->real && r->mnt ? mountinfo_find(mi, r->mnt) : NULL;
	if (!m)
		return;
	size_t pn = strcmp(m->point, "/") == 0 ? 0 : strlen(m->point);
	if (strncmp(r->real, m->point, pn) != 0 || (r->real[pn] != '/' && r->real[pn] != '\0'))
		return; /* outside this process's root (a chroot): not ours to map */
	const char *rest = r->real + pn; /* "" or "/..." */
	size_t rn = strcmp(m->root, "/") == 0 ? 0 : strlen(m->root);
	size_t size = rn + strlen(rest) + 2;
	if ((r->fspath = malloc(size)) != NULL)
		(void)snprintf(r->fspath, size, "%.*s%s", (int)rn, m->root,
			       *rest ? rest : (rn ? "" : "/"));
	r->fsdev = m->dev;
}

/* The walk's own test for a file PATH (scan.c, scan_file): a regular file whose name parses
 * as a cache's (in_pycache does not change whether it does). */
static int cache_file(const char *path, mode_t mode)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	pyci_cache_name cname;
	return S_ISREG(mode) && pyci_cache_name_parse(base, strlen(base), 0, &cname) == 0;
}

static void resolve(struct root *r, const char *path, const mountinfo *mi)
{
	struct stat st;
	size_t n = strlen(path);
	r->given = path;
	/* a symlink named without '/' is refused by the walk: not ours to judge here */
	if (lstat(path, &st) != 0 || (S_ISLNK(st.st_mode) && (n == 0 || path[n - 1] != '/')))
		return;
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO | STATX_MNT_ID, &sx) !=
	    0)
		return;
	r->dir = S_ISDIR(sx.stx_mode);
	if (!r->dir && !cache_file(path, sx.stx_mode))
		return; /* the walk refuses it */
	r->mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	r->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	r->ino = sx.stx_ino;
	r->real = realpath(path, NULL);
	locate(r, mi);
}

/* What of `inner` lies below `outer` ("" the same, "a/b" below), or NULL: not below. */
static const char *below(const char *outer, const char *inner)
{
	if (strcmp(outer, inner) == 0)
		return "";
	size_t n = strcmp(outer, "/") == 0 ? 0 : strlen(outer);
	if (strncmp(outer, inner, n) != 0 || inner[n] != '/')
		return NULL;
	return inner + n + 1;
}

/* Whether the walk meets `rel` (below its root; inner_dir: its last component is a directory)
 * with nothing on the way left out by the excludes. */
static int walk_meets(const char *rel, int inner_dir, const pyci_scan_options *o, pyci_buf *scratch)
{
	pyci_buf up = PYCI_BUF_INIT, name = PYCI_BUF_INIT;
	int met = 1;
	for (const char *p = rel; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		pyci_buf_clear(&up);
		pyci_buf_clear(&name);
		if (pyci_buf_append(&up, rel, p > rel ? (size_t)(p - rel) - 1 : 0) != 0 ||
		    pyci_buf_append(&name, p, len) != 0 ||
		    pyci_scan_excluded(o, up.data, name.data, slash ? 1 : inner_dir, scratch)) {
			met = 0; /* out of memory too: not compared */
			break;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	pyci_buf_free(&up);
	pyci_buf_free(&name);
	return met;
}

/* Whether `outer`/`rel` is `inner` itself, seen through outer's mount. */
static int same_file_below(const struct root *outer, const char *rel, const struct root *inner)
{
	size_t size = strlen(outer->real) + strlen(rel) + 2;
	char *p = malloc(size);
	if (!p)
		return 0;
	(void)snprintf(p, size, "%s%s%s", outer->real, *rel ? "/" : "", rel);
	struct stat st;
	int same = lstat(p, &st) == 0 && (uint64_t)st.st_dev == inner->dev &&
		   (uint64_t)st.st_ino == inner->ino;
	free(p);
	return same;
}

/*
 * Whether the walk of `outer` lists the files of `inner`.  2 the same, 1 inside, 0 not.  As
 * the walk keeps to one filesystem: the same st_dev, and the same mount when both are known.
 */
static int reaches(const struct root *outer, const struct root *inner, const pyci_scan_options *o,
		   pyci_buf *scratch)
{
	if (!outer->real || !inner->real)
		return 0;
	int one_mount = dirio_same_mount(inner->dev, inner->mnt, outer->dev, outer->mnt);
	const char *rel = below(outer->real, inner->real);
	if (rel && !o->cross_mounts && !one_mount)
		rel = NULL;
	/* the same files through another mount (a bind mount): a candidate from mountinfo,
	 * confirmed by finding inner itself at that place under outer */
	if (!rel && outer->fspath && inner->fspath && outer->fsdev == inner->fsdev) {
		rel = below(outer->fspath, inner->fspath);
		if (rel && !same_file_below(outer, rel, inner))
			rel = NULL;
	}
	if (!rel || (*rel && !outer->dir))
		return 0;
	if (!*rel)
		return 2;
	return walk_meets(rel, inner->dir, o, scratch);
}

/* The PATHs are found by key: their real path, or (fs) their device and path within their
 * filesystem.  NULL keys sort last. */
static const char *key(const struct root *r, int fs)
{
	return fs ? r->fspath : r->real;
}

static int cmp_key(const struct root *a, const struct root *b, int fs)
{
	const char *x = key(a, fs), *y = key(b, fs);
	if (!x || !y)
		return !x - !y;
	if (fs && a->fsdev != b->fsdev)
		return a->fsdev < b->fsdev ? -1 : 1;
	return strcmp(x, y);
}

struct sort_ctx {
	const struct root *r;
	int fs;
};

static int cmp_index(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *c = ctx;
	return cmp_key(&c->r[*(const size_t *)a], &c->r[*(const size_t *)b], c->fs);
}

/*
 * The outer PATHs whose key is a prefix of inner's (itself included): for each '/' of inner's
 * key, and its end, the PATHs with exactly that key, found by binary search in idx (sorted by
 * that key).  Calls check(i) for each; stops at the first nonzero, which it returns.
 */
static int each_ancestor(const struct root *r, const size_t *idx, size_t n, size_t j, int fs,
			 int (*check)(void *, size_t), void *ctx)
{
	const char *k = key(&r[j], fs);
	if (!k)
		return 0;
	size_t len = strlen(k);
	char *buf = malloc(len + 1);
	if (!buf)
		return 0;
	int found = 0;
	/* the prefixes that end before a '/' or at the end: "/", "/a", "/a/b" for "/a/b" */
	for (size_t cut = 0; cut <= len && !found; cut++) {
		if ((cut < len && k[cut] != '/') || (cut == 0 && k[0] != '/'))
			continue;
		size_t keep = cut ? cut : 1; /* the prefix before the first '/' is "/" itself */
		memcpy(buf, k, keep);
		buf[keep] = '\0';
		struct root probe = r[j];
		if (fs)
			probe.fspath = buf;
		else
			probe.real = buf;
		/* the first index whose key is not below probe's */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (cmp_key(&r[idx[mid]], &probe, fs) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < n && cmp_key(&r[idx[lo]], &probe, fs) == 0 && !found; lo++)
			found = check(ctx, idx[lo]);
	}
	free(buf);
	return found;
}
/* each_ancestor's check: whether PATH i's walk lists PATH j's files, and how. */
struct pair {
	const struct root *r;
	size_t j, i;
	int how;
	const pyci_scan_options *o;
	pyci_buf *scratch;
};

static int check_pair(void *ctx, size_t i)
{
	struct pair *p = ctx;
	if (i == p->j)
		return 0;
	int how = reaches(&p->r[i], &p->r[p->j], p->o, p->scratch);
	/* the same place twice: reported once, at the later PATH */
	if (!how || (how == 2 && i > p->j))
		return 0;
	p->i = i;
	p->how = how;
	return 1;
}

int pyci_roots_overlaps(const char *const *paths, size_t n, const pyci_scan_options *o,
			pyci_roots_overlap **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (n < 2)
		return 0;
	struct root *r = calloc(n, sizeof(*r));
	size_t *by_real = malloc(n * sizeof(*by_real)), *by_fs = malloc(n * sizeof(*by_fs));
	pyci_roots_overlap *found = malloc(n * sizeof(*found));
	mountinfo mi;
	(void)mountinfo_read(&mi); /* without it (no /proc), bind mounts go unseen */
	int rc = -1;
	if (r && by_real && by_fs && found) {
		for (size_t i = 0; i < n; i++) {
			resolve(&r[i], paths[i], &mi);
			by_real[i] = by_fs[i] = i;
		}
		struct sort_ctx real_order = {r, 0}, fs_order = {r, 1};
		qsort_r(by_real, n, sizeof(*by_real), cmp_index, &real_order);
		qsort_r(by_fs, n, sizeof(*by_fs), cmp_index, &fs_order);
		pyci_buf scratch = PYCI_BUF_INIT;
		for (size_t j = 0; j < n; j++) {
			struct pair p = {r, j, 0, 0, o, &scratch};
			if (each_ancestor(r, by_real, n, j, 0, check_pair, &p) ||
			    each_ancestor(r, by_fs, n, j, 1, check_pair, &p))
				found[(*nout)++] = (pyci_roots_overlap){.inner = j,
									.outer = p.i,
									.same = p.how == 2,
									.inner_dir = r[j].dir};
		}
		pyci_buf_free(&scratch);
		rc = 0;
	}
	int e = errno;
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].real);
		free(r[i].fspath);
	}
	mountinfo_free(&mi);
	free(by_real);
	free(by_fs);
	free(r);
	if (rc == 0 && *nout) {
		*out = found;
	} else {
		free(found);
		*nout = 0;
	}
	errno = e;
	return rc;
}
