/*
 * target.c - parse target spellings and find interpreters on PATH by name.
 *
 * Interpreters are recognised by file name only (python3.12, python3.6m, pypy3.9, python2.7,
 * jython2.7, jython); running them would be slow and would execute whatever is on PATH.  A bare
 * python3 or pypy3 counts when it is a symlink whose target's name carries the version, as
 * Debian's does; a bare jython is Jython 2.7, the only language version it has had since 2.5.
 */
#include "pycinspect/target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pycinspect/cachename.h"
#include "pycinspect/sysroot.h"

void pyci_targets_init(pyci_targets *t)
{
	t->count = 0;
}

static int add(pyci_targets *t, pyci_impl impl, int major, int minor)
{
	if (pyci_targets_contains(t, impl, major, minor))
		return 0;
	if (t->count >= PYCI_TARGETS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	t->items[t->count++] = (pyci_target){impl, major, minor};
	return 0;
}

/* "3.12" -> 3, 12, consuming exactly len bytes; -1 otherwise. */
/* "A.B", or with release (the spellings a user gives), "A.B.C" too: the release is dropped
 * (every 3.12.x writes what 3.12 does).  0, or -1. */
static int parse_version(const char *s, size_t len, int release, int *major, int *minor)
{
	size_t i = 0;
	int a = 0, b = 0;
	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -1;
	while (i < len && s[i] >= '0' && s[i] <= '9' && a < 100)
		a = a * 10 + (s[i++] - '0');
	if (i >= len || s[i++] != '.')
		return -1;
	if (i >= len || s[i] < '0' || s[i] > '9')
		return -1;
	while (i < len && s[i] >= '0' && s[i] <= '9' && b < 1000)
		b = b * 10 + (s[i++] - '0');
	if (release && i < len && s[i] == '.' && i + 1 < len) {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9';)
			i++;
	}
	if (i != len)
		return -1;
	*major = a;
	*minor = b;
	return 0;
}

static int parse_dotted(const char *s, size_t len, int *major, int *minor)
{
	return parse_version(s, len, 0, major, minor);
}

static int prefixed(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

int pyci_targets_add_spec(pyci_targets *t, const char *spec, size_t len)
{
	pyci_impl impl;
	int major, minor;
	if (pyci_cache_tag_parse(spec, len, &impl, &major, &minor) == 0)
		return add(t, impl, major, minor);
	if (prefixed(spec, len, "pypy") && parse_version(spec + 4, len - 4, 1, &major, &minor) == 0)
		return add(t, PYCI_IMPL_PYPY, major, minor);
	if (prefixed(spec, len, "jython") &&
	    parse_version(spec + 6, len - 6, 1, &major, &minor) == 0)
		return add(t, PYCI_IMPL_JYTHON, major, minor);
	if (prefixed(spec, len, "python") &&
	    parse_version(spec + 6, len - 6, 1, &major, &minor) == 0)
		return add(t, PYCI_IMPL_CPYTHON, major, minor);
	if (prefixed(spec, len, "cpython") &&
	    parse_version(spec + 7, len - 7, 1, &major, &minor) == 0)
		return add(t, PYCI_IMPL_CPYTHON, major, minor);
	if (parse_version(spec, len, 1, &major, &minor) == 0)
		return add(t, PYCI_IMPL_CPYTHON, major, minor);
	errno = EINVAL;
	return -1;
}

int pyci_targets_add_list(pyci_targets *t, const char *list)
{
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (pyci_targets_add_spec(t, p, len) != 0)
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/*
 * An interpreter file name: python2.7, python3.12, python3.6m, python3.13t, pypy3.9, pypy2.7,
 * jython2.7, jython.  Returns 0 and fills impl/major/minor, or -1.
 */
static int interpreter_name(const char *name, pyci_impl *impl, int *major, int *minor)
{
	size_t len = strlen(name);
	size_t off;
	if (strcmp(name, "jython") == 0) {
		*impl = PYCI_IMPL_JYTHON;
		*major = 2;
		*minor = 7;
		return 0;
	}
	if (prefixed(name, len, "jython")) {
		*impl = PYCI_IMPL_JYTHON;
		return parse_dotted(name + 6, len - 6, major, minor);
	}
	if (prefixed(name, len, "python")) {
		*impl = PYCI_IMPL_CPYTHON;
		off = 6;
	} else if (prefixed(name, len, "pypy")) {
		*impl = PYCI_IMPL_PYPY;
		off = 4;
	} else {
		return -1;
	}
	/* allow one ABI letter after the version (3.6m, 3.13t, 3.8d) */
	if (len > off + 1 && (name[len - 1] == 'm' || name[len - 1] == 't' || name[len - 1] == 'd'))
		len--;
	return parse_dotted(name + off, len - off, major, minor);
}

/* Whether the entry name of the directory d (at dir inside the staging root rootfd, or on the
 * host when rootfd < 0) is an interpreter one could run: executable, on the host; a regular file
 * with an execute bit, resolved inside the root (it is never run, nor asked of the kernel as
 * the host's user would run it: the root is another system). */
static int runnable(int dfd, const char *name, int rootfd, const char *dir)
{
	if (rootfd < 0)
		return faccessat(dfd, name, X_OK, 0) == 0;
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	return n > 0 && (size_t)n < sizeof(path) && pyci_sysroot_stat(rootfd, path, &st) == 0 &&
	       S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* The directory of an interpreter's standard library, pythonX.Y with os.py in it (in the staging
 * root rootfd, at dir inside it): that interpreter is installed.  0 and the version, or -1. */
static int stdlib_dir(int rootfd, const char *dir, const char *name, pyci_impl *impl, int *major,
		      int *minor)
{
	char path[4096];
	struct stat st;
	if (strncmp(name, "python", 6) != 0 ||
	    parse_dotted(name + 6, strlen(name + 6), major, minor))
		return -1;
	*impl = PYCI_IMPL_CPYTHON;
	int n = snprintf(path, sizeof(path), "%s/%s/os.py", dir, name);
	return n > 0 && (size_t)n < sizeof(path) && pyci_sysroot_stat(rootfd, path, &st) == 0 &&
			       S_ISREG(st.st_mode)
		       ? 0
		       : -1;
}

/* Add the interpreters named in the directory dfd (closed here) to t, counting them in *added:
 * with lib, the standard library directories it holds (stdlib_dir).  rootfd, dir: the staging
 * root it is in, and its path there (rootfd -1: the host).  -1 with errno when its listing could
 * not be read whole (ENOMEM, EIO): a set short of an interpreter would make its caches foreign. */
static int add_from_fd(pyci_targets *t, int dfd, int lib, int rootfd, const char *dir,
		       size_t *added)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		errno = e;
		return -1;
	}
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			int err = errno;
			closedir(d);
			errno = err;
			return err ? -1 : 0;
		}
		pyci_impl impl;
		int major, minor;
		if (lib) {
			if (stdlib_dir(rootfd, dir, e->d_name, &impl, &major, &minor) != 0)
				continue;
		} else {
			if (strncmp(e->d_name, "python", 6) != 0 &&
			    strncmp(e->d_name, "pypy", 4) != 0 &&
			    strncmp(e->d_name, "jython", 6) != 0)
				continue;
			if (interpreter_name(e->d_name, &impl, &major, &minor) != 0) {
				/* python3 -> python3.11: use the name the link points at */
				char link[256];
				ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
				if (n <= 0)
					continue;
				link[n] = '\0';
				const char *base = strrchr(link, '/');
				if (interpreter_name(base ? base + 1 : link, &impl, &major,
						     &minor) != 0)
					continue;
			}
			if (!runnable(dirfd(d), e->d_name, rootfd, dir))
				continue;
		}
		size_t before = t->count;
		if (add(t, impl, major, minor) == 0 && t->count > before)
			(*added)++;
	}
}

/* add_from_fd of the host's directory dir; one that cannot be opened is skipped (0). */
static int add_from_dir(pyci_targets *t, const char *dir, size_t *added)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOMEM ? -1 : 0;
	return add_from_fd(t, dfd, 0, -1, NULL, added);
}

/* CPython first, then PyPy, then Jython; each by version. */
static int target_cmp(const void *a, const void *b)
{
	const pyci_target *x = a, *y = b;
	if (x->impl != y->impl)
		return (int)x->impl - (int)y->impl;
	if (x->major != y->major)
		return x->major - y->major;
	return x->minor - y->minor;
}

int pyci_targets_from_path(pyci_targets *t, const char *path_env, size_t *added)
{
	*added = 0;
	if (!path_env)
		return 0;
	const char *p = path_env;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char dir[4096];
		if (len == 0) {
			dir[0] = '.';
			dir[1] = '\0';
		} else if (len < sizeof(dir)) {
			memcpy(dir, p, len);
			dir[len] = '\0';
		} else {
			dir[0] = '\0';
		}
		if (dir[0] && add_from_dir(t, dir, added) != 0)
			return -1;
		if (!colon)
			break;
		p = colon + 1;
	}
	qsort(t->items, t->count, sizeof(t->items[0]), target_cmp);
	return 0;
}

/* Where a staging root's interpreters are (sysroot.h): their directories, and those of their
 * standard libraries. */
static const struct {
	const char *dir;
	int lib;
} root_dirs[] = {
	{"usr/local/bin", 0}, {"usr/bin", 0},         {"bin", 0},       {"usr/local/lib", 1},
	{"usr/lib", 1},       {"usr/local/lib64", 1}, {"usr/lib64", 1},
};

int pyci_targets_from_root(pyci_targets *t, int rootfd, size_t *added)
{
	*added = 0;
	for (size_t i = 0; i < sizeof(root_dirs) / sizeof(root_dirs[0]); i++) {
		int dfd = pyci_sysroot_open(rootfd, root_dirs[i].dir, O_RDONLY | O_DIRECTORY);
		if (dfd < 0) {
			if (errno == ENOMEM)
				return -1;
			continue; /* not there, or not a directory: it holds no interpreter */
		}
		if (add_from_fd(t, dfd, root_dirs[i].lib, rootfd, root_dirs[i].dir, added) != 0)
			return -1;
	}
	qsort(t->items, t->count, sizeof(t->items[0]), target_cmp);
	return 0;
}

int pyci_targets_contains(const pyci_targets *t, pyci_impl impl, int major, int minor)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->items[i].impl == impl && t->items[i].major == major &&
		    t->items[i].minor == minor)
			return 1;
	return 0;
}

/* The decimal text of v at p (at most 11 bytes, no NUL); its length. */
static size_t put_int(char *p, int v)
{
	char digits[10];
	size_t n = 0, k = 0;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		p[k++] = '-';
	while (n)
		p[k++] = digits[--n];
	return k;
}

void pyci_target_format(const pyci_target *t, char *buf, size_t n)
{
	/* without snprintf: every JSON record names its version, and the call was 7% of
	 * scan --json's own instructions */
	const char *prefix = t->impl == PYCI_IMPL_PYPY     ? "pypy"
			     : t->impl == PYCI_IMPL_JYTHON ? "jython"
							   : "";
	char text[32]; /* "jython" + 11 + "." + 11 */
	size_t k = strlen(prefix);
	memcpy(text, prefix, k + 1); /* its NUL is written over next */
	k += put_int(text + k, t->major);
	text[k++] = '.';
	k += put_int(text + k, t->minor);
	if (n == 0)
		return;
	/* truncation is the contract (target.h): the caller sizes buf */
	size_t m = k < n - 1 ? k : n - 1;
	memcpy(buf, text, m);
	buf[m] = '\0';
}
