/*
 * test_roots.c - pyci_roots_overlaps: a PATH inside another, the same PATH spelt twice, a
 * cache file inside a tree, PATHs the walk keeps apart (an excluded directory, a sibling).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/roots.h"

static char base[64];

static void path(char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", base, rel);
}

static int setup(void **state)
{
	(void)state;
	strcpy(base, "/tmp/pyci-roots-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	char p[128];
	path(p, sizeof(p), "a");
	mkdir(p, 0755);
	path(p, sizeof(p), "a/sub");
	mkdir(p, 0755);
	path(p, sizeof(p), "a/node_modules");
	mkdir(p, 0755);
	path(p, sizeof(p), "b");
	mkdir(p, 0755);
	path(p, sizeof(p), "a/sub/m.pyc");
	int fd = open(p, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* The overlaps of the given relative PATHs, as "inner<outer" or "inner=outer" pairs. */
static void overlaps(const char *const *rel, size_t n, const pyci_scan_options *o, char *out,
		     size_t size)
{
	char store[8][128];
	const char *paths[8];
	for (size_t i = 0; i < n; i++) {
		path(store[i], sizeof(store[i]), rel[i]);
		paths[i] = store[i];
	}
	pyci_roots_overlap *ov;
	size_t nov;
	assert_int_equal(pyci_roots_overlaps(paths, n, o, &ov, &nov), 0);
	out[0] = '\0';
	for (size_t i = 0; i < nov; i++) {
		size_t len = strlen(out);
		snprintf(out + len, size - len, "%s%zu%c%zu", i ? " " : "", ov[i].inner,
			 ov[i].same ? '=' : '<', ov[i].outer);
	}
	free(ov);
}

static void test_inside_and_twice(void **state)
{
	(void)state;
	pyci_scan_options o = {0};
	char got[128];
	const char *inside[] = {"a", "a/sub"};
	overlaps(inside, 2, &o, got, sizeof(got));
	assert_string_equal(got, "1<0");
	const char *twice[] = {"a/sub", "a/../a/sub/"};
	overlaps(twice, 2, &o, got, sizeof(got));
	assert_string_equal(got, "1=0");
	const char *file[] = {"a/sub/m.pyc", "a"};
	overlaps(file, 2, &o, got, sizeof(got));
	assert_string_equal(got, "0<1");
	const char *apart[] = {"a", "b", "missing"};
	overlaps(apart, 3, &o, got, sizeof(got));
	assert_string_equal(got, "");
}

static void test_excluded_is_apart(void **state)
{
	(void)state;
	pyci_scan_options o = {0};
	char got[128];
	const char *nm[] = {"a", "a/node_modules"};
	overlaps(nm, 2, &o, got, sizeof(got));
	assert_string_equal(got, ""); /* the walk of a leaves node_modules out */
	o.no_default_excludes = 1;
	overlaps(nm, 2, &o, got, sizeof(got));
	assert_string_equal(got, "1<0");
	const char *glob[] = {"sub"};
	pyci_scan_options g = {.excludes = glob};
	const char *sub[] = {"a/sub", "a"};
	overlaps(sub, 2, &g, got, sizeof(got));
	assert_string_equal(got, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inside_and_twice),
		cmocka_unit_test(test_excluded_is_apart),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
