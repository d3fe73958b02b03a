/*
 * test_venv.c - unit tests for venv.h: what a pyvenv.cfg says, and reading one safely.
 *
 * pyci_venv_parse on the files venv (3.6-3.10, 3.11+ with executable, PyPy's), virtualenv
 * (CPython, PyPy) and uv write, copied from real ones; site.py's line rules (first '=', the
 * key lowered, both sides stripped of str.isspace() characters, ASCII and not, "\r\n" and "\r"
 * as line ends, the last of a key wins, no comments); version before version_info; the
 * versions it refuses; implementation and executable.  The Python-side facts are CPython 3.12's:
 * str.strip() strips U+00A0 and U+3000 and not U+200B; "# version = 3" is a key "# version".
 * pyci_venv_read on a temporary directory: a regular file, a symlink (not followed), a FIFO
 * (not opened for blocking), a file over the 64 KiB bound, a missing one, and a stdlib venv
 * with bin/pypy3 (PyPy) or without (CPython).  tests/cli/test_venv.py checks the same against
 * real environments and against site.py's own parsing, run by Python.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/venv.h"

struct parsed {
	pyci_venv_status status;
	pyci_target t;
	int named;
};

static struct parsed parse(const char *text)
{
	struct parsed p = {0};
	p.status = pyci_venv_parse(text, strlen(text), &p.t, &p.named);
	return p;
}

static void expect(const char *text, pyci_impl impl, int major, int minor, int named)
{
	struct parsed p = parse(text);
	if (p.status != PYCI_VENV_OK)
		fail_msg("%s: status %d for \"%s\"", pyci_venv_status_text(p.status), p.status,
			 text);
	assert_int_equal(p.t.impl, impl);
	assert_int_equal(p.t.major, major);
	assert_int_equal(p.t.minor, minor);
	assert_int_equal(p.named, named);
}

static void expect_status(const char *text, pyci_venv_status status)
{
	struct parsed p = parse(text);
	if (p.status != status)
		fail_msg("status %d, expected %d, for \"%s\"", p.status, status, text);
}

static void test_real_files(void **state)
{
	(void)state;
	/* python3.9 -m venv */
	expect("home = /root/.pyenv/versions/3.9.18/bin\ninclude-system-site-packages = false\n"
	       "version = 3.9.18\n",
	       PYCI_IMPL_CPYTHON, 3, 9, 0);
	/* python3.12 -m venv */
	expect("home = /root/.pyenv/versions/3.12.1/bin\ninclude-system-site-packages = false\n"
	       "version = 3.12.1\nexecutable = /root/.pyenv/versions/3.12.1/bin/python3.12\n"
	       "command = /root/.pyenv/versions/3.12.1/bin/python -m venv /tmp/v\n",
	       PYCI_IMPL_CPYTHON, 3, 12, 1);
	/* pypy3 -m venv (Debian's PyPy 7.3, Python 3.9): nothing names PyPy */
	expect("home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.9.16\n",
	       PYCI_IMPL_CPYTHON, 3, 9, 0);
	/* virtualenv 20.17 with PyPy, and with CPython 2.7 */
	expect("home = /usr/bin\nimplementation = PyPy\nversion_info = 3.9.16.final.0\n"
	       "virtualenv = 20.17.1+ds\ninclude-system-site-packages = false\n"
	       "base-prefix = /usr\nbase-exec-prefix = /usr\nbase-executable = /usr/bin/pypy3\n",
	       PYCI_IMPL_PYPY, 3, 9, 1);
	expect("home = /root/.pyenv/versions/2.7.18/bin\nimplementation = CPython\n"
	       "version_info = 2.7.18.final.0\nvirtualenv = 20.17.1+ds\n",
	       PYCI_IMPL_CPYTHON, 2, 7, 1);
	/* uv */
	expect("home = /usr/bin\nimplementation = CPython\nuv = 0.4.18\n"
	       "version_info = 3.12.6\ninclude-system-site-packages = false\n",
	       PYCI_IMPL_CPYTHON, 3, 12, 1);
}

static void test_line_rules(void **state)
{
	(void)state;
	/* case, tabs and spaces, CRLF and CR */
	expect("  VERSION\t=  3.10.2  \r\n", PYCI_IMPL_CPYTHON, 3, 10, 0);
	expect("home = /x\rVersion = 3.8.1\rimplementation = pypy", PYCI_IMPL_PYPY, 3, 8, 1);
	/* str.strip() strips U+00A0 NO-BREAK SPACE, U+3000 IDEOGRAPHIC SPACE, \v, \f, \x1c */
	expect("version\xc2\xa0= \xe3\x80\x80"
	       "3.11.4\x0b\x0c\x1c\n",
	       PYCI_IMPL_CPYTHON, 3, 11, 0);
	/* ...not U+200B ZERO WIDTH SPACE (not str.isspace()) */
	expect_status("version = 3.11\xe2\x80\x8b\n", PYCI_VENV_BAD_VERSION);
	/* the first '=' splits; the last line of a key wins */
	expect("command = python -m venv --prompt=x\nversion = 3.11.0\nversion = 3.12.0\n",
	       PYCI_IMPL_CPYTHON, 3, 12, 0);
	/* no comments: "# version" is a key of its own, and a line without '=' is nothing */
	expect_status("# version = 3.12.0\n", PYCI_VENV_NO_VERSION);
	expect_status("version 3.12.0\n", PYCI_VENV_NO_VERSION);
	expect("[venv]\n# a comment\nversion = 3.7.0\n", PYCI_IMPL_CPYTHON, 3, 7, 0);
	/* version wins over version_info, which is used only without it */
	expect("version_info = 3.9.0.final.0\nversion = 3.10.1\n", PYCI_IMPL_CPYTHON, 3, 10, 0);
	expect("version_info = 3.13.0.candidate.1\n", PYCI_IMPL_CPYTHON, 3, 13, 0);
	/* a NUL is a character like any other to Python */
	struct parsed p = {0};
	static const char nul[] = "home = a\0b\nversion = 3.6.15\n";
	p.status = pyci_venv_parse(nul, sizeof(nul) - 1, &p.t, &p.named);
	assert_int_equal(p.status, PYCI_VENV_OK);
	assert_int_equal(p.t.minor, 6);
}

static void test_versions_and_implementations(void **state)
{
	(void)state;
	expect_status("", PYCI_VENV_NO_VERSION);
	expect_status("home = /usr/bin\ninclude-system-site-packages = false\n",
		      PYCI_VENV_NO_VERSION);
	static const char *const bad[] = {
		"version =\n",         "version = three\n", "version = 3\n",
		"version = 3.\n",      "version = 3.12x\n", "version = 3.1234\n",
		"version = .12\n",     "version = 3 .12\n", "version = 1234.1\n",
		"version = 3.12rc1\n", "version = -3.12\n", "version = 3,12\n",
		"version = 3.12 .1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_status(bad[i], PYCI_VENV_BAD_VERSION);
	expect("version = 3.12.1.final.0\n", PYCI_IMPL_CPYTHON, 3, 12, 0);
	expect("version = 3.13.0rc1\n", PYCI_IMPL_CPYTHON, 3, 13, 0);
	expect("version = 3.16\n", PYCI_IMPL_CPYTHON, 3, 16, 0);
	expect_status("version = 3.12.1\nimplementation = GraalVM\n", PYCI_VENV_BAD_IMPLEMENTATION);
	expect_status("version = 3.12.1\nimplementation =\n", PYCI_VENV_BAD_IMPLEMENTATION);
	expect("version = 3.12.1\nimplementation = cpython\n", PYCI_IMPL_CPYTHON, 3, 12, 1);
	expect("version = 3.12.1\nimplementation = PYPY\n", PYCI_IMPL_PYPY, 3, 12, 1);
	/* executable: the file name says it; implementation wins over it */
	expect("version = 3.11.9\nexecutable = /opt/pypy/bin/pypy3.11\n", PYCI_IMPL_PYPY, 3, 11, 1);
	expect("version = 3.11.9\nexecutable = /usr/bin/python3.11\n", PYCI_IMPL_CPYTHON, 3, 11, 1);
	expect("version = 3.11.9\nexecutable = /opt/bin/py\n", PYCI_IMPL_CPYTHON, 3, 11, 0);
	expect("implementation = CPython\nversion = 3.11.9\nexecutable = /opt/pypy3.11\n",
	       PYCI_IMPL_CPYTHON, 3, 11, 1);
	/* not UTF-8: site.py fails to read it */
	expect_status("version = 3.12.1\n\xff\n", PYCI_VENV_NOT_UTF8);
	expect_status("version = 3.12.1\n\xed\xa0\x80\n", PYCI_VENV_NOT_UTF8); /* a surrogate */
}

/* ---- pyci_venv_read ----------------------------------------------------------------------- */

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/pyci-venv-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh directory d below dir, opened. */
static int sub(const char *d)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, d);
	assert_int_equal(mkdir(path, 0755), 0);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void put(int dfd, const char *name, const char *text, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static pyci_venv read_in(int dfd)
{
	pyci_venv v = {.root = "r", .config = "c"};
	pyci_venv_read(dfd, &v);
	assert_string_equal(v.root, "r"); /* left alone */
	return v;
}

static void test_read(void **state)
{
	(void)state;
	static const char cfg[] = "home = /usr/bin\ninclude-system-site-packages = false\n"
				  "version = 3.9.16\n";
	/* a stdlib venv: CPython, unless bin/pypy3 or bin/pypy is there (PyPy's venv) */
	int a = sub("a");
	put(a, PYCI_VENV_CFG, cfg, sizeof(cfg) - 1);
	assert_int_equal(mkdirat(a, "bin", 0755), 0);
	pyci_venv v = read_in(a);
	assert_int_equal(v.status, PYCI_VENV_OK);
	assert_int_equal(v.target.impl, PYCI_IMPL_CPYTHON);
	struct stat st;
	assert_int_equal(fstatat(a, PYCI_VENV_CFG, &st, 0), 0);
	assert_true(v.dev == (uint64_t)st.st_dev && v.ino == (uint64_t)st.st_ino);
	assert_int_equal(v.target.minor, 9);
	assert_int_equal(symlinkat("/usr/bin/pypy3", a, "bin/pypy3"), 0); /* dangling is fine */
	v = read_in(a);
	assert_int_equal(v.status, PYCI_VENV_OK);
	assert_int_equal(v.target.impl, PYCI_IMPL_PYPY);
	/* a file that names the implementation is not second-guessed */
	static const char named[] = "implementation = CPython\nversion_info = 3.9.16.final.0\n";
	put(a, PYCI_VENV_CFG, named, sizeof(named) - 1);
	assert_int_equal(read_in(a).target.impl, PYCI_IMPL_CPYTHON);
	/* bin a symlink to a directory holding pypy3: not followed */
	int b = sub("b");
	put(b, PYCI_VENV_CFG, cfg, sizeof(cfg) - 1);
	char target[128];
	snprintf(target, sizeof(target), "%s/a/bin", dir);
	assert_int_equal(symlinkat(target, b, "bin"), 0);
	assert_int_equal(read_in(b).target.impl, PYCI_IMPL_CPYTHON);
	close(b);

	/* a symlink named pyvenv.cfg is not followed; a FIFO is not waited on */
	int c = sub("c");
	snprintf(target, sizeof(target), "%s/a/" PYCI_VENV_CFG, dir);
	assert_int_equal(symlinkat(target, c, PYCI_VENV_CFG), 0);
	v = read_in(c);
	assert_int_equal(v.status, PYCI_VENV_SYMLINK);
	assert_int_equal(v.err, 0);
	assert_int_equal(fstatat(c, PYCI_VENV_CFG, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(v.dev == (uint64_t)st.st_dev && v.ino == (uint64_t)st.st_ino); /* the link's */
	int d = sub("d");
	assert_int_equal(mkfifoat(d, PYCI_VENV_CFG, 0644), 0);
	assert_int_equal(read_in(d).status, PYCI_VENV_NOT_REGULAR);
	/* none at all */
	int e = sub("e");
	v = read_in(e);
	assert_int_equal(v.status, PYCI_VENV_UNREADABLE);
	assert_int_equal(v.err, ENOENT);
	assert_true(v.dev == 0 && v.ino == 0);

	/* the bound: 64 KiB is read, one byte more is not */
	size_t n = PYCI_VENV_CFG_MAX + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '\n', n);
	memcpy(big, cfg, sizeof(cfg) - 1);
	put(e, PYCI_VENV_CFG, big, n - 1);
	assert_int_equal(read_in(e).status, PYCI_VENV_OK);
	put(e, PYCI_VENV_CFG, big, n);
	v = read_in(e);
	assert_int_equal(v.status, PYCI_VENV_TOO_LARGE);
	assert_int_equal(v.err, 0);
	free(big);
	close(a);
	close(c);
	close(d);
	close(e);
}

static void test_texts(void **state)
{
	(void)state;
	for (int s = PYCI_VENV_OK; s <= PYCI_VENV_BAD_IMPLEMENTATION; s++) {
		const char *t = pyci_venv_status_text((pyci_venv_status)s);
		assert_non_null(t);
		assert_string_not_equal(t, "?");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_files),
		cmocka_unit_test(test_line_rules),
		cmocka_unit_test(test_versions_and_implementations),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_texts),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
