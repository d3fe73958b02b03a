/*
 * test_target.c - unit tests for target.h: target specs and interpreters found on PATH.
 *
 * Covers pyci_targets_add_spec for every documented spelling (3.12, cpython-312, pypy310,
 * pypy3.10, python3.12, 2.7, jython2.7), bad spellings (EINVAL), duplicates,
 * pyci_targets_add_list with commas and its stop at the first bad spec, pyci_targets_contains, pyci_target_format, and
 * pyci_targets_from_path on a temporary directory holding python3.12 (executable), python3.6m,
 * pypy3.9, python3.10-config (not an interpreter), python3 -> .../python3.11 (a symlink whose
 * target name carries the version), a non-executable python3.5, jython (Jython 2.7) and
 * jythonc (no interpreter); the set sorted after.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "pycinspect/target.h"

static int add(pyci_targets *t, const char *spec)
{
	return pyci_targets_add_spec(t, spec, strlen(spec));
}

static void expect_spec(const char *spec, pyci_impl impl, int major, int minor)
{
	pyci_targets t;
	pyci_targets_init(&t);
	if (add(&t, spec) != 0)
		fail_msg("spec \"%s\" refused", spec);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.items[0].impl, impl);
	assert_int_equal(t.items[0].major, major);
	assert_int_equal(t.items[0].minor, minor);
	assert_true(pyci_targets_contains(&t, impl, major, minor));
}

static void test_specs(void **state)
{
	(void)state;
	expect_spec("3.12", PYCI_IMPL_CPYTHON, 3, 12);
	expect_spec("cpython-312", PYCI_IMPL_CPYTHON, 3, 12);
	expect_spec("python3.12", PYCI_IMPL_CPYTHON, 3, 12);
	expect_spec("pypy310", PYCI_IMPL_PYPY, 3, 10);
	expect_spec("pypy3.10", PYCI_IMPL_PYPY, 3, 10);
	expect_spec("pypy39", PYCI_IMPL_PYPY, 3, 9);
	expect_spec("2.7", PYCI_IMPL_CPYTHON, 2, 7);
	expect_spec("python2.7", PYCI_IMPL_CPYTHON, 2, 7);
	expect_spec("3.6", PYCI_IMPL_CPYTHON, 3, 6);
	expect_spec("cpython-36", PYCI_IMPL_CPYTHON, 3, 6);
	expect_spec("3.16", PYCI_IMPL_CPYTHON, 3, 16);
	expect_spec("jython2.7", PYCI_IMPL_JYTHON, 2, 7);
}

static void test_spec_len(void **state)
{
	(void)state;
	/* only len bytes are read */
	pyci_targets t;
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_spec(&t, "3.12,3.11", 4), 0);
	assert_int_equal(t.count, 1);
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 12));
	assert_false(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 11));
}

/* A release means its version, as `magic 3.12.1` takes it: every 3.12.x writes what 3.12 does. */
static void test_release_specs(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		pyci_impl impl;
		int major, minor;
	} ok[] = {
		{"3.12.1", PYCI_IMPL_CPYTHON, 3, 12},       {"3.5.2", PYCI_IMPL_CPYTHON, 3, 5},
		{"python3.13.0", PYCI_IMPL_CPYTHON, 3, 13}, {"2.7.18", PYCI_IMPL_CPYTHON, 2, 7},
		{"pypy3.9.19", PYCI_IMPL_PYPY, 3, 9},       {"jython2.7.3", PYCI_IMPL_JYTHON, 2, 7},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		pyci_targets t;
		pyci_targets_init(&t);
		assert_int_equal(add(&t, ok[i].spec), 0);
		assert_int_equal(t.count, 1);
		assert_true(pyci_targets_contains(&t, ok[i].impl, ok[i].major, ok[i].minor));
	}
}

/* pyci_targets_from_path, its count (it must not fail here). */
static size_t from_path(pyci_targets *t, const char *path_env)
{
	size_t added = 99;
	assert_int_equal(pyci_targets_from_path(t, path_env, &added), 0);
	return added;
}

static void test_bad_specs(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"3",       "3.",       ".12",       "x.y",           "",         "3.x",
		"3.12.",   "3.12.x",   "3.12.1.",   "3.12.1rc1",     "python",   "pypy",
		"python3", "cpython-", "cpython-3", "cpython-312.1", "3,12",     " 3.12",
		"3.12 ",   "jython",   "3..12",     "v3.12",         "jython27", "jython-2.7",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pyci_targets t;
		pyci_targets_init(&t);
		errno = 0;
		if (add(&t, bad[i]) != -1)
			fail_msg("spec \"%s\" accepted", bad[i]);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(t.count, 0);
	}
}

static void test_dedup(void **state)
{
	(void)state;
	pyci_targets t;
	pyci_targets_init(&t);
	assert_int_equal(add(&t, "3.12"), 0);
	assert_int_equal(add(&t, "cpython-312"), 0);
	assert_int_equal(add(&t, "python3.12"), 0);
	assert_int_equal(t.count, 1);
	/* PyPy 3.12 is another interpreter */
	assert_int_equal(add(&t, "pypy3.12"), 0);
	assert_int_equal(t.count, 2);
	assert_int_equal(add(&t, "pypy312"), 0);
	assert_int_equal(t.count, 2);
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 12));
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_PYPY, 3, 12));
	assert_false(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 11));
	pyci_targets_init(&t);
	assert_int_equal(t.count, 0);
	assert_false(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 12));
}

static void test_full(void **state)
{
	(void)state;
	pyci_targets t;
	pyci_targets_init(&t);
	char spec[16];
	for (int i = 0; i < PYCI_TARGETS_MAX; i++) {
		snprintf(spec, sizeof(spec), "3.%d", i);
		assert_int_equal(add(&t, spec), 0);
	}
	assert_int_equal(t.count, PYCI_TARGETS_MAX);
	errno = 0;
	assert_int_equal(add(&t, "4.1"), -1);
	assert_int_equal(errno, ENOSPC);
	/* a duplicate of a member is still fine when full */
	assert_int_equal(add(&t, "3.0"), 0);
	assert_int_equal(t.count, PYCI_TARGETS_MAX);
}

static void test_add_list(void **state)
{
	(void)state;
	pyci_targets t;
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_list(&t, "3.12,pypy310,2.7,cpython-312"), 0);
	assert_int_equal(t.count, 3);
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 12));
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_PYPY, 3, 10));
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 2, 7));

	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_list(&t, "3.11"), 0);
	assert_int_equal(t.count, 1);

	/* stops at the first bad spec */
	pyci_targets_init(&t);
	errno = 0;
	assert_int_equal(pyci_targets_add_list(&t, "3.10,bogus,3.9"), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 10));
	assert_false(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 9));

	/* empty items are bad specs */
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_list(&t, "3.12,,3.11"), -1);
	assert_int_equal(errno, EINVAL);
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_list(&t, "3.12,"), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_format(void **state)
{
	(void)state;
	char buf[32];
	pyci_target c = {PYCI_IMPL_CPYTHON, 3, 12};
	pyci_target_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "3.12");
	pyci_target p = {PYCI_IMPL_PYPY, 3, 10};
	pyci_target_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "pypy3.10");
	pyci_target o = {PYCI_IMPL_CPYTHON, 2, 7};
	pyci_target_format(&o, buf, sizeof(buf));
	assert_string_equal(buf, "2.7");
	pyci_target j = {PYCI_IMPL_JYTHON, 2, 7};
	pyci_target_format(&j, buf, sizeof(buf));
	assert_string_equal(buf, "jython2.7");
	/* truncated to n, NUL-terminated */
	memset(buf, 'X', sizeof(buf));
	pyci_target_format(&p, buf, 5);
	assert_string_equal(buf, "pypy");
	pyci_target_format(&p, buf, 1);
	assert_string_equal(buf, "");
	memset(buf, 'X', sizeof(buf));
	pyci_target_format(&p, buf, 0); /* nothing written */
	assert_int_equal(buf[0], 'X');
	/* every int, as snprintf's "%d" writes it */
	const int edge[] = {0, 9, 10, 99, 100, 313, -1, -10, INT_MAX, INT_MIN};
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		for (size_t k = 0; k < sizeof(edge) / sizeof(edge[0]); k++) {
			pyci_target x = {PYCI_IMPL_JYTHON, edge[i], edge[k]};
			char want[64];
			(void)snprintf(want, sizeof(want), "jython%d.%d", edge[i], edge[k]);
			pyci_target_format(&x, buf, sizeof(buf));
			assert_string_equal(buf, want);
		}
	}
}

/* ---------------------------------------------------------------- PATH */

static void make_file(const char *dir, const char *name, mode_t mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/false\n", 13), 13);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

struct tree {
	char root[64];
	char bin[128];
	char other[128];
	char empty[128];
};

static int setup_tree(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	strcpy(t->root, "/tmp/pyci-target-XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	snprintf(t->bin, sizeof(t->bin), "%s/bin", t->root);
	snprintf(t->other, sizeof(t->other), "%s/other", t->root);
	snprintf(t->empty, sizeof(t->empty), "%s/empty", t->root);
	if (mkdir(t->bin, 0700) || mkdir(t->other, 0700) || mkdir(t->empty, 0700))
		return -1;
	*state = t;
	return 0;
}

static void rm_in(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static int teardown_tree(void **state)
{
	struct tree *t = *state;
	static const char *const names[] = {
		"python3.12", "python3.6m", "pypy3.9",    "python3.10-config",
		"python3",    "python3.5",  "python3.11", "ls",
		"jython",     "jythonc"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		rm_in(t->bin, names[i]);
		rm_in(t->other, names[i]);
	}
	rmdir(t->bin);
	rmdir(t->other);
	rmdir(t->empty);
	rmdir(t->root);
	free(t);
	return 0;
}

/* The set formatted in order, comma-separated, equals want. */
static void check_order(const pyci_targets *t, const char *want)
{
	char got[512] = "";
	size_t off = 0;
	for (size_t i = 0; i < t->count; i++) {
		char one[32];
		pyci_target_format(&t->items[i], one, sizeof(one));
		off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%s", i ? "," : "", one);
	}
	assert_string_equal(got, want);
}

static void test_from_path(void **state)
{
	struct tree *tr = *state;
	make_file(tr->bin, "python3.12", 0755);
	make_file(tr->bin, "python3.6m", 0755);
	make_file(tr->bin, "pypy3.9", 0755);
	make_file(tr->bin, "python3.10-config", 0755); /* not an interpreter */
	make_file(tr->bin, "python3.5", 0644);         /* not executable */
	make_file(tr->bin, "ls", 0755);
	/* python3 -> <elsewhere>/python3.11; python3.11 itself is not in a PATH directory */
	make_file(tr->other, "python3.11", 0755);
	char target[256], link[256];
	snprintf(target, sizeof(target), "%s/python3.11", tr->other);
	snprintf(link, sizeof(link), "%s/python3", tr->bin);
	assert_int_equal(symlink(target, link), 0);

	char path_env[512];
	snprintf(path_env, sizeof(path_env), "%s:%s:%s/does-not-exist", tr->empty, tr->bin,
		 tr->root);
	pyci_targets t;
	pyci_targets_init(&t);
	size_t n = from_path(&t, path_env);
	assert_int_equal(n, 4);
	assert_int_equal(t.count, 4);
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 12));
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 6));
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_PYPY, 3, 9));
	assert_true(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 11));
	assert_false(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 10));
	assert_false(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 5));
	assert_false(pyci_targets_contains(&t, PYCI_IMPL_CPYTHON, 3, 9));
	/* sorted: CPython first, then PyPy, each by version */
	check_order(&t, "3.6,3.11,3.12,pypy3.9");

	/* the same directory twice adds nothing new */
	snprintf(path_env, sizeof(path_env), "%s", tr->bin);
	assert_int_equal(from_path(&t, path_env), 0);
	assert_int_equal(t.count, 4);

	/* NULL and "" add nothing */
	pyci_targets_init(&t);
	assert_int_equal(from_path(&t, NULL), 0);
	assert_int_equal(from_path(&t, ""), 0);
	assert_int_equal(t.count, 0);

	/* adds to what is there */
	assert_int_equal(add(&t, "3.12"), 0);
	snprintf(path_env, sizeof(path_env), "%s", tr->bin);
	assert_int_equal(from_path(&t, path_env), 3);
	assert_int_equal(t.count, 4);
	check_order(&t, "3.6,3.11,3.12,pypy3.9");

	/* the whole set is sorted, user specs included */
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_list(&t, "pypy3.10,3.13,2.7,3.9"), 0);
	assert_int_equal(from_path(&t, path_env), 4);
	check_order(&t, "2.7,3.6,3.9,3.11,3.12,3.13,pypy3.9,pypy3.10");

	/* a bare jython is Jython 2.7 (Debian's is a symlink to a script of that name); jythonc,
	 * Jython 2.2's compiler, is no interpreter */
	make_file(tr->other, "jython", 0755);
	make_file(tr->other, "jythonc", 0755);
	pyci_targets_init(&t);
	snprintf(path_env, sizeof(path_env), "%s:%s", tr->other, tr->bin);
	assert_int_equal(from_path(&t, path_env), 5);
	check_order(&t, "3.6,3.11,3.12,pypy3.9,jython2.7");

	/* an unreadable or missing directory is skipped */
	pyci_targets_init(&t);
	snprintf(path_env, sizeof(path_env), "%s/does-not-exist", tr->root);
	assert_int_equal(from_path(&t, path_env), 0);
	assert_int_equal(t.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs),
		cmocka_unit_test(test_spec_len),
		cmocka_unit_test(test_release_specs),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_add_list),
		cmocka_unit_test(test_format),
		cmocka_unit_test_setup_teardown(test_from_path, setup_tree, teardown_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
