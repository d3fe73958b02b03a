/*
 * venvup.c - the pyvenv.cfg files above a scanned path (see venvup.h).
 *
 * The search climbs with openat(fd, "..", O_PATH): no read permission is needed on the
 * directories above, nothing is listed, and a directory costs a statx (its identity, for the
 * root and the mount rule) and one fstatat of pyvenv.cfg.  The display path of an ancestor is
 * worked out as text, and kept only when it names the directory that was reached.
 */
#define _GNU_SOURCE
#include "venvup.h"

#include <errno.h>
#include <fcntl.h>
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

/* The pyvenv.cfg of the directory fd, displayed as root (in *root), read and told.  0, or -1. */
static int tell(int fd, pyci_buf *root, pyci_buf *config, venv_found_fn found, void *ctx,
		int *named)
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
	return found(ctx, &v);
}

int venv_above(int dirfd, const char *display, int cross_mounts, int topfd, venv_found_fn found,
	       void *ctx)
{
	uint64_t tdev = 0, tino = 0, tmnt;
	if (topfd >= 0 && dirio_identity(topfd, &tdev, &tino, &tmnt) != 0)
		return 0; /* the top cannot be told: nothing is looked for, not even in dirfd */
	pyci_buf root = PYCI_BUF_INIT, config = PYCI_BUF_INIT;
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
		struct stat st;
		if (fstatat(fd, PYCI_VENV_CFG, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			int named;
			if (display_up(&root, display, level, fd) != 0) {
				errno = ENOMEM;
				rc = -1;
				break;
			}
			if ((rc = tell(fd, &root, &config, found, ctx, &named)) != 0 || named)
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
	int e = errno;
	if (fd >= 0)
		close(fd);
	pyci_buf_free(&root);
	pyci_buf_free(&config);
	errno = e;
	return rc;
}
