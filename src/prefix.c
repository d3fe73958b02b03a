/*
 * prefix.c - CPython's pycache-prefix mapping between a source directory and the directory of
 * the prefix tree that holds its caches (see prefix.h).
 *
 * Everything here is text: CPython maps paths by text (cache_from_source joins, and
 * source_from_cache compares with startswith), and the kernel resolves "." and ".." inside the
 * prefix tree, whose directories are real ones.  The working directory is read with getcwd(3),
 * as importlib's _path_abspath reads it.
 */
#define _GNU_SOURCE
#include "pycinspect/prefix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dirio.h"

/* Append the components of `path` to the normalised path out[base..] ("a/b", no leading or
 * trailing '/'): "." and empty ones dropped, ".." removes the last one (none above the root). */
static int add_components(pyci_buf *out, size_t base, const char *path)
{
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			size_t cut = out->len;
			while (cut > base && out->data[cut - 1] != '/')
				cut--;
			pyci_buf_truncate(out, cut > base ? cut - 1 : base);
		} else if ((out->len > base && pyci_buf_putc(out, '/') != 0) ||
			   pyci_buf_append(out, p, n) != 0) {
			return -1;
		}
		p += n;
	}
	return 0;
}

int pyci_prefix_rel_from(pyci_buf *out, const char *cwd, const char *dir)
{
	size_t base = out->len;
	if (pyci_buf_append(out, "", 0) != 0 || /* NUL-terminated even when nothing is added */
	    (dir[0] != '/' && add_components(out, base, cwd) != 0) ||
	    add_components(out, base, dir) != 0) {
		pyci_buf_truncate(out, base);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int pyci_prefix_rel(pyci_buf *out, const char *dir)
{
	char *cwd = NULL;
	if (dir[0] != '/' && !(cwd = dirio_working_dir()))
		return -1;
	int rc = pyci_prefix_rel_from(out, cwd ? cwd : "/", dir);
	free(cwd);
	return rc;
}

int pyci_prefix_cache_dir(pyci_buf *out, const char *prefix, const char *dir)
{
	size_t base = out->len;
	size_t n = strlen(prefix);
	if (n == 0) {
		errno = EINVAL; /* CPython ignores an empty prefix: no tree to map into */
		return -1;
	}
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (pyci_buf_append(out, prefix, n) != 0)
		return -1;
	size_t sep = out->len;
	if ((n == 0 || prefix[n - 1] != '/') && pyci_buf_putc(out, '/') != 0)
		goto fail;
	size_t at = out->len;
	if (pyci_prefix_rel(out, dir) != 0)
		goto fail;
	if (out->len == at) /* the root's own caches: the prefix itself */
		pyci_buf_truncate(out, sep > 0 ? sep : at);
	return 0;
fail:;
	int e = errno;
	pyci_buf_truncate(out, base);
	errno = e;
	return -1;
}

int pyci_prefix_below(const char *prefix, const char *path, pyci_buf *rel)
{
	pyci_buf p = PYCI_BUF_INIT, q = PYCI_BUF_INIT;
	int rc = -1;
	if (pyci_prefix_rel(&p, prefix) != 0 || pyci_prefix_rel(&q, path) != 0)
		goto out;
	size_t n = p.len;
	rc = 0;
	if (q.len < n || memcmp(p.data, q.data, n) != 0 || (n && q.len > n && q.data[n] != '/'))
		goto out;
	size_t skip = n && q.len > n ? n + 1 : n;
	if (pyci_buf_append(rel, q.data + skip, q.len - skip) != 0)
		rc = -1;
	else
		rc = 1;
out:;
	int e = errno;
	pyci_buf_free(&p);
	pyci_buf_free(&q);
	errno = e;
	return rc;
}
