/*
 * venvup.c - the pyvenv.cfg files above a scanned path (see venvup.h).
 *
 * The search climbs with openat(fd, "..", O_PATH): no read permission is needed on the
 * directories above, nothing is listed, and a directory costs a statx (its identity, for the
 * root and the mount rule) and one fstatat of pyvenv.cfg.  The display path of an ancestor is
 * worked out as text, and kept only when it names the directory that was reached.  A memo is
 * an open-addressing table of directory identities (linear probing, at most half full).
 */
#define _GNU_SOURCE
#include "venvup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirio.h"
#include "pycinspect/buf.h"

/* Directories climbed at most: deeper than any path the kernel resolves (PATH_MAX / 2). */
#define MAX_LEVELS 2048

/* The parent of the path in b, as text: "a/b" -> "a", "b" -> ".", "/b" -> "/", "." -> "..",
 * "../.." -> "../../..".  0, or -1 when text cannot say it ("a/."), or ENOMEM. */
static int text_up(pyci_buf *b)
{
	size_t len = b->len;
	while (len > 1 && b->data[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && b->data[start - 1] != '/')
		start--;
	size_t n = len - start;
	if (n == 2 && memcmp(b->data + start, "..", 2) == 0) {
		pyci_buf_truncate(b, len);
		return pyci_buf_puts(b, "/..");
	}
	if (start == 0) {
		int dot = n == 1 && b->data[0] == '.';
		pyci_buf_clear(b);
		return pyci_buf_puts(b, dot ? ".." : ".");
	}
	if (n == 1 && b->data[start] == '.')
		return -1; /* "a/.": its parent is a's */
	while (start > 1 && b->data[start - 1] == '/')
		start--;
	pyci_buf_truncate(b, start);
	return 0;
}

/* The display path of the directory fd, `levels` above `display`, into b.  0, or -1 (ENOMEM). */
static int display_up(pyci_buf *b, const char *display, unsigned levels, int fd)
{
	pyci_buf_clear(b);
	if (pyci_buf_puts(b, display) != 0)
		return -1;
	int ok = 1;
	for (unsigned i = 0; i < levels && ok; i++)
		ok = text_up(b) == 0;
	struct stat text, real;
	if (ok && stat(b->data, &text) == 0 && fstat(fd, &real) == 0 &&
	    text.st_dev == real.st_dev && text.st_ino == real.st_ino)
		return 0;
	/* the text names another directory: say how the kernel got there */
	pyci_buf_clear(b);
	if (pyci_buf_puts(b, display) != 0)
		return -1;
	for (unsigned i = 0; i < levels; i++)
		if (pyci_buf_puts(b, b->len && b->data[b->len - 1] == '/' ? ".." : "/..") != 0)
			return -1;
	return 0;
}

struct venv_known {
	uint64_t dev, ino;
	const void *scope;
	int used;
};

void venv_memo_free(venv_memo *memo)
{
	free(memo->slots);
	*memo = (venv_memo){0};
}

static size_t memo_hash(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev * 0x9e3779b97f4a7c15u)) * 0xbf58476d1ce4e5b9u;
	return (size_t)(h ^ (h >> 31));
}

/* The slot of (dev, ino) in memo: the one holding it, or the free one where it goes. */
static struct venv_known *memo_slot(const venv_memo *memo, uint64_t dev, uint64_t ino)
{
	size_t mask = memo->cap - 1;
	for (size_t i = memo_hash(dev, ino) & mask;; i = (i + 1) & mask) {
		struct venv_known *k = &memo->slots[i];
		if (!k->used || (k->dev == dev && k->ino == ino))
			return k;
	}
}

/* The answer memo holds for (dev, ino): 1 and *scope, or 0. */
static int memo_get(const venv_memo *memo, uint64_t dev, uint64_t ino, const void **scope)
{
	if (!memo->cap)
		return 0;
	const struct venv_known *k = memo_slot(memo, dev, ino);
	if (!k->used)
		return 0;
	*scope = k->scope;
	return 1;
}

/* Keep scope as the answer for (dev, ino).  0, or -1 (ENOMEM). */
static int memo_put(venv_memo *memo, uint64_t dev, uint64_t ino, const void *scope)
{
	if (2 * (memo->count + 1) > memo->cap) {
		venv_memo grown = {.cap = memo->cap ? 2 * memo->cap : 64};
		if (!(grown.slots = calloc(grown.cap, sizeof(*grown.slots)))) {
			errno = ENOMEM;
			return -1;
		}
		for (size_t i = 0; i < memo->cap; i++)
			if (memo->slots[i].used)
				*memo_slot(&grown, memo->slots[i].dev, memo->slots[i].ino) =
					memo->slots[i];
		grown.count = memo->count;
		free(memo->slots);
		*memo = grown;
	}
	struct venv_known *k = memo_slot(memo, dev, ino);
	if (!k->used)
		memo->count++;
	*k = (struct venv_known){dev, ino, scope, 1};
	return 0;
}

/* The pyvenv.cfg of the directory fd, displayed as root (in *root), read and told.  0, or -1. */
static int tell(int fd, pyci_buf *root, pyci_buf *config, venv_found_fn found, void *ctx,
		int *named, const void **scope)
{
	pyci_buf_clear(config);
	if (pyci_buf_append(config, root->data, root->len) != 0 ||
	    (root->len && root->data[root->len - 1] != '/' && pyci_buf_putc(config, '/') != 0) ||
	    pyci_buf_puts(config, PYCI_VENV_CFG) != 0) {
		errno = ENOMEM;
		return -1;
	}
	pyci_venv v = {.root = root->data, .config = config->data};
	pyci_venv_read(fd, &v);
	*named = v.status == PYCI_VENV_OK;
	return found(ctx, &v, scope);
}

int venv_above(int dirfd, const char *display, int cross_mounts, int topfd, venv_memo *memo,
	       venv_found_fn found, void *ctx, const void **scope)
{
	uint64_t tdev = 0, tino = 0, tmnt;
	*scope = NULL;
	if (topfd >= 0 && dirio_identity(topfd, &tdev, &tino, &tmnt) != 0)
		return 0; /* the top cannot be told: nothing is looked for, not even in dirfd */
	pyci_buf root = PYCI_BUF_INIT, config = PYCI_BUF_INIT;
	uint64_t *climbed = NULL; /* with a memo: the identities met, dev and ino in turn */
	size_t nclimbed = 0, capclimbed = 0;
	int fd = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	uint64_t dev0 = 0, mnt0 = 0, pdev = 0, pino = 0;
	int rc = 0;
	for (unsigned level = 0; fd >= 0 && level < MAX_LEVELS; level++) {
		uint64_t dev, ino, mnt;
		if (dirio_identity(fd, &dev, &ino, &mnt) != 0)
			break;
		if (level == 0) {
			dev0 = dev;
			mnt0 = mnt;
		} else if ((dev == pdev && ino == pino) ||
			   (!cross_mounts && !dirio_same_mount(dev, mnt, dev0, mnt0))) {
			break; /* the root's ".." is itself; or another mount */
		}
		if (memo && memo_get(memo, dev, ino, scope))
			break; /* answered before: so is everything above it */
		if (memo) {
			if (nclimbed == capclimbed) {
				size_t cap = capclimbed ? 2 * capclimbed : 32;
				uint64_t *p = realloc(climbed, 2 * cap * sizeof(*p));
				if (!p) {
					errno = ENOMEM;
					rc = -1;
					break;
				}
				climbed = p;
				capclimbed = cap;
			}
			climbed[2 * nclimbed] = dev;
			climbed[2 * nclimbed++ + 1] = ino;
		}
		struct stat st;
		if (fstatat(fd, PYCI_VENV_CFG, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			int named;
			if (display_up(&root, display, level, fd) != 0) {
				errno = ENOMEM;
				rc = -1;
				break;
			}
			if ((rc = tell(fd, &root, &config, found, ctx, &named, scope)) != 0 ||
			    named)
				break;
		}
		if (topfd >= 0 && dev == tdev && ino == tino)
			break; /* the staging root: nothing above it belongs to the system */
		pdev = dev;
		pino = ino;
		int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = up;
	}
	for (size_t i = 0; rc == 0 && i < nclimbed; i++)
		rc = memo_put(memo, climbed[2 * i], climbed[2 * i + 1], *scope);
	int e = errno;
	if (fd >= 0)
		close(fd);
	free(climbed);
	pyci_buf_free(&root);
	pyci_buf_free(&config);
	errno = e;
	return rc;
}
