/*
 * test_prefix.c - unit tests for prefix.h: the text of CPython's pycache-prefix mapping.
 *
 * The mapping itself is CPython's, and tests/cli/test_prefix.py holds pycinspect to the
 * interpreter's own importlib.util.cache_from_source; here, the text work under it: joining a
 * relative directory to the working directory, resolving ".", ".." and repeated '/' as the
 * kernel resolves them inside a prefix tree (never above the root), the prefix's own trailing
 * '/', an empty prefix, and whether a path lies in a tree (by whole components).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/prefix.h"

static void rel_is(const char *cwd, const char *dir, const char *want)
{
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_prefix_rel_from(&b, cwd, dir), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, strlen(want));
	pyci_buf_free(&b);
}

static void test_rel(void **state)
{
	(void)state;
	rel_is("/w", "/a/b", "a/b");
	rel_is("/w", "/", "");
	rel_is("/w", "//a///b//", "a/b");
	rel_is("/w/x", "a", "w/x/a");
	rel_is("/w/x", ".", "w/x");
	rel_is("/w/x", "./a", "w/x/a"); /* 3.8-3.11 keep "./": the kernel drops it */
	rel_is("/w/x", "./up/../src", "w/x/src");
	rel_is("/w/x", "../y/./z/..", "w/y");
	rel_is("/w", "../../../a", "a"); /* never above the root */
	rel_is("/", "a", "a");
	rel_is("/w", "/a/../..", "");
	rel_is("/w", "a.b/..c/...", "w/a.b/..c/...");
}

static void test_rel_appends(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, "keep:"), 0);
	assert_int_equal(pyci_prefix_rel_from(&b, "/w", "/a/../.."), 0);
	assert_string_equal(b.data, "keep:"); /* ".." stops at what was there */
	assert_int_equal(pyci_prefix_rel_from(&b, "/w", "x/.."), 0);
	assert_string_equal(b.data, "keep:w");
	pyci_buf_free(&b);
}

static void test_rel_uses_getcwd(void **state)
{
	(void)state;
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	pyci_buf want = PYCI_BUF_INIT, got = PYCI_BUF_INIT;
	assert_int_equal(pyci_prefix_rel_from(&want, cwd, "sub/x"), 0);
	assert_int_equal(pyci_prefix_rel(&got, "sub/x"), 0);
	assert_string_equal(got.data, want.data);
	pyci_buf_free(&want);
	pyci_buf_free(&got);
}

static void cache_dir_is(const char *prefix, const char *dir, const char *want)
{
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_prefix_cache_dir(&b, prefix, dir), 0);
	assert_string_equal(b.data, want);
	pyci_buf_free(&b);
}

static void test_cache_dir(void **state)
{
	(void)state;
	cache_dir_is("/p", "/a/b", "/p/a/b");
	cache_dir_is("/p/", "/a/b", "/p/a/b");
	cache_dir_is("/p///", "/a/./b/", "/p/a/b");
	cache_dir_is("/p", "/", "/p");
	cache_dir_is("/", "/a", "/a");
	cache_dir_is("/", "/", "/");
	cache_dir_is("rel", "/a", "rel/a");
	pyci_buf b = PYCI_BUF_INIT;
	errno = 0;
	assert_int_equal(pyci_prefix_cache_dir(&b, "", "/a"), -1);
	assert_int_equal(errno, EINVAL);
	pyci_buf_free(&b);
}

static void below_is(const char *prefix, const char *path, int want, const char *rel)
{
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_prefix_below(prefix, path, &b), want);
	if (want == 1)
		assert_string_equal(b.data, rel);
	else
		assert_int_equal(b.len, 0);
	pyci_buf_free(&b);
}

static void test_below(void **state)
{
	(void)state;
	below_is("/p", "/p/a/b", 1, "a/b");
	below_is("/p/", "/p//a/./b", 1, "a/b");
	below_is("/p", "/p", 1, "");
	below_is("/p", "/pa/b", 0, NULL); /* a whole component, not a prefix of one */
	below_is("/p/q", "/p", 0, NULL);
	below_is("/", "/x/y", 1, "x/y");
	below_is("/p", "/p/a/../../p/b", 1, "b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rel),
		cmocka_unit_test(test_rel_appends),
		cmocka_unit_test(test_rel_uses_getcwd),
		cmocka_unit_test(test_cache_dir),
		cmocka_unit_test(test_below),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
