/*
 * sysroot.c - resolving paths inside a staging root (see sysroot.h).
 *
 * openat2(RESOLVE_IN_ROOT) when the kernel has it; else pyci_sysroot_resolve's text walk,
 * whose answer is opened without following a last symlink (one put there since the walk makes
 * the open fail with ELOOP rather than lead out of the tree).
 */
#define _GNU_SOURCE
#include "pycinspect/sysroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The next component of *p (skipping '/'), its length in *len; NULL at the end. */
static const char *next_component(const char **p, size_t *len)
{
	const char *s = *p;
	while (*s == '/')
		s++;
	if (!*s)
		return NULL;
	*len = strcspn(s, "/");
	*p = s + *len;
	return s;
}

/* Take the last component off the path in b ("" stays "": ".." stops at the top). */
static void drop_last(pyci_buf *b)
{
	size_t n = b->len;
	while (n > 0 && b->data[n - 1] != '/')
		n--;
	pyci_buf_truncate(b, n ? n - 1 : 0);
}

int pyci_sysroot_resolve(int rootfd, const char *path, pyci_buf *out)
{
	pyci_buf todo = PYCI_BUF_INIT, next = PYCI_BUF_INIT, res = PYCI_BUF_INIT;
	char link[PATH_MAX];
	unsigned links = 0;
	int rc = -1;
	if (pyci_buf_puts(&todo, path) != 0 || pyci_buf_append(&res, "", 0) != 0)
		goto fail;
	const char *p = todo.data;
	size_t len;
	for (const char *c; (c = next_component(&p, &len)) != NULL;) {
		if (len == 1 && c[0] == '.')
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			drop_last(&res);
			continue;
		}
		size_t had = res.len;
		if ((res.len && pyci_buf_putc(&res, '/') != 0) ||
		    pyci_buf_append(&res, c, len) != 0)
			goto fail;
		struct stat st;
		if (fstatat(rootfd, res.data, &st, AT_SYMLINK_NOFOLLOW) != 0)
			goto fail;
		if (S_ISLNK(st.st_mode)) {
			if (++links > PYCI_SYSROOT_MAX_LINKS) {
				errno = ELOOP;
				goto fail;
			}
			ssize_t n = readlinkat(rootfd, res.data, link, sizeof(link));
			if (n < 0)
				goto fail;
			if ((size_t)n >= sizeof(link)) {
				errno = ENAMETOOLONG;
				goto fail;
			}
			/* the link's text, then what was left of the path */
			pyci_buf_clear(&next);
			if (pyci_buf_append(&next, link, (size_t)n) != 0 ||
			    pyci_buf_putc(&next, '/') || pyci_buf_puts(&next, p) != 0)
				goto fail;
			pyci_buf tmp = todo;
			todo = next;
			next = tmp;
			p = todo.data;
			if (link[0] == '/')
				pyci_buf_clear(&res);
			else
				pyci_buf_truncate(&res, had);
			if (pyci_buf_append(&res, "", 0) != 0)
				goto fail;
			continue;
		}
		const char *rest = p;
		size_t more;
		if (!S_ISDIR(st.st_mode) && next_component(&rest, &more)) {
			errno = ENOTDIR;
			goto fail;
		}
	}
	rc = pyci_buf_append(out, res.data, res.len);
fail:;
	int e = errno;
	pyci_buf_free(&todo);
	pyci_buf_free(&next);
	pyci_buf_free(&res);
	errno = e;
	return rc;
}

int pyci_sysroot_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	/* ENOSYS: no openat2; EPERM without O_NOATIME: a seccomp filter that does not know it */
	if (errno != ENOSYS && !(errno == EPERM && !(flags & O_NOATIME)))
		return -1;
	pyci_buf rel = PYCI_BUF_INIT;
	if (pyci_sysroot_resolve(rootfd, path, &rel) != 0) {
		int e = errno;
		pyci_buf_free(&rel);
		errno = e;
		return -1;
	}
	int r = openat(rootfd, rel.len ? rel.data : ".", flags | O_CLOEXEC | O_NOFOLLOW);
	int e = errno;
	pyci_buf_free(&rel);
	errno = e;
	return r;
}

int pyci_sysroot_stat(int rootfd, const char *path, struct stat *st)
{
	int fd = pyci_sysroot_open(rootfd, path, O_PATH);
	if (fd < 0)
		return -1;
	int rc = fstat(fd, st);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}
