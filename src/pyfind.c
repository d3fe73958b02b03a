/*
 * pyfind.c - candidate interpreters by name, and their isolating options (pyfind.h).
 *
 * The names are read with readdir and sorted, so that the same machine gives the same order;
 * a directory of PATH that cannot be read is skipped like a missing one.  Duplicates are found
 * by realpath(3): python3.12 in /usr/bin and /bin of a merged /usr, or a pyenv version also on
 * PATH, are one interpreter.
 */
#define _GNU_SOURCE
#include "pycinspect/pyfind.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const pyci_pyfind_probe_options[] = {"-E", "-s", "-S", NULL};

/* python2.N, python3.N, pypy2.N, pypy3.N */
static int interpreter_name(const char *n)
{
	const char *p;
	if (strncmp(n, "python", 6) == 0)
		p = n + 6;
	else if (strncmp(n, "pypy", 4) == 0)
		p = n + 4;
	else
		return 0;
	if ((p[0] != '2' && p[0] != '3') || p[1] != '.' || !p[2])
		return 0;
	for (p += 2; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add path unless its real path is in `reals` already.  0, or -1 (ENOMEM). */
static int add(const char *path, pyci_buf *out, size_t *count, pyci_buf *reals)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
		return 0;
	char *real = realpath(path, NULL);
	if (!real)
		return errno == ENOMEM ? -1 : 0;
	for (size_t off = 0; off < reals->len; off += strlen(reals->data + off) + 1)
		if (strcmp(reals->data + off, real) == 0) {
			free(real);
			return 0;
		}
	int rc = pyci_buf_append(reals, real, strlen(real) + 1) != 0 ||
		 pyci_buf_append(out, path, strlen(path) + 1) != 0;
	free(real);
	if (rc)
		return -1;
	(*count)++;
	return 0;
}

/* The entries of dir for which keep(name) holds, sorted, as dir/name (dir/name/tail when tail
 * is not NULL), each added.  0, or -1 (ENOMEM). */
static int add_dir(const char *dir, int (*keep)(const char *), const char *tail, pyci_buf *out,
		   size_t *count, pyci_buf *reals)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOMEM ? -1 : 0;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || (keep && !keep(e->d_name)))
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap ? cap * 2 : 16) * sizeof(*p));
			if (!p) {
				rc = -1;
				break;
			}
			names = p;
			cap = cap ? cap * 2 : 16;
		}
		if (!(names[n] = strdup(e->d_name))) {
			rc = -1;
			break;
		}
		n++;
	}
	(void)closedir(d);
	if (!rc && n)
		qsort(names, n, sizeof(*names), cmp_str);
	pyci_buf path = PYCI_BUF_INIT;
	for (size_t k = 0; k < n && !rc; k++) {
		pyci_buf_clear(&path);
		rc = pyci_buf_printf(&path, "%s/%s%s%s", dir, names[k], tail ? "/" : "",
				     tail ? tail : "") != 0 ||
		     add(path.data, out, count, reals) != 0;
	}
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	pyci_buf_free(&path);
	if (rc)
		errno = ENOMEM;
	return rc ? -1 : 0;
}

int pyci_pyfind(const char *path_env, const char *pyenv_root, const char *home, pyci_buf *out,
		size_t *count)
{
	pyci_buf reals = PYCI_BUF_INIT, root = PYCI_BUF_INIT, dir = PYCI_BUF_INIT;
	int rc = 0;
	*count = 0;
	if (pyenv_root && *pyenv_root)
		rc = pyci_buf_puts(&root, pyenv_root);
	else if (home && *home)
		rc = pyci_buf_printf(&root, "%s/.pyenv", home);
	if (!rc && root.len) {
		rc = pyci_buf_printf(&dir, "%s/versions", root.data) != 0 ||
		     add_dir(dir.data, NULL, "bin/python", out, count, &reals) != 0;
	}
	char *shims = NULL;
	if (!rc && root.len) {
		pyci_buf_clear(&dir);
		rc = pyci_buf_printf(&dir, "%s/shims", root.data);
		shims = rc ? NULL : realpath(dir.data, NULL);
	}
	for (const char *p = path_env; !rc && p && *p;) {
		size_t len = strcspn(p, ":");
		pyci_buf_clear(&dir);
		rc = pyci_buf_append(&dir, len ? p : ".", len ? len : 1);
		if (!rc) {
			char *real = realpath(dir.data, NULL);
			int skip = real && shims && strcmp(real, shims) == 0;
			free(real);
			if (!skip)
				rc = add_dir(dir.data, interpreter_name, NULL, out, count, &reals);
		}
		p += len + (p[len] == ':');
	}
	free(shims);
	pyci_buf_free(&reals);
	pyci_buf_free(&root);
	pyci_buf_free(&dir);
	if (rc)
		errno = ENOMEM;
	return rc ? -1 : 0;
}

size_t pyci_pyfind_options(const pyci_pyinfo *info, int level, const char *opts[6])
{
	size_t n = 0;
	int cpython = strcmp(info->impl, "cpython") == 0;
	int has_isolate = info->major > 3 || (info->major == 3 && (!cpython || info->minor >= 4));
	if (has_isolate) {
		opts[n++] = "-I";
	} else {
		opts[n++] = "-E";
		opts[n++] = "-s";
	}
	opts[n++] = "-S";
	if (!info->per_call_optimize && level == 1)
		opts[n++] = "-O";
	else if (!info->per_call_optimize && level >= 2)
		opts[n++] = "-OO";
	opts[n] = NULL;
	return n;
}
