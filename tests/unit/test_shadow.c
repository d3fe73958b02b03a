/*
 * test_shadow.c - unit tests for shadow.h on a real directory: which entries of a listing
 * could shadow a module (the bytewise neighbours of NAME that could not, a regular file NAME,
 * a dotted NAME), which one a finder takes (a package by any __init__ suffix, through a
 * symlink, not a namespace directory, not for NAME "__init__"; an extension module as a
 * regular file, a symlink, a directory for import.c only), and the re-check after the package
 * went away; in a staging root, an absolute link (and one climbing with "..") to a package
 * or an extension module resolves inside the root, never on the host, and counts only when its
 * target exists there.  The finders' own answers for the same trees are tests/conformance/shadow.py's.
 */
#define _GNU_SOURCE
#include <dirent.h>
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

#include "pycinspect/finder.h"
#include "../../src/dirio.h"
#include "../../src/shadow.h"

static char root[] = "/tmp/pyci-shadow-XXXXXX";
#define ROOT_TEMPLATE "/tmp/pyci-shadow-XXXXXX"
static int rootfd = -1;

static void touch(const char *name)
{
	int fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void mkd(const char *name)
{
	assert_int_equal(mkdirat(rootfd, name, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	memcpy(root, ROOT_TEMPLATE, sizeof(root));
	if (!mkdtemp(root))
		return -1;
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	return rootfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[64];
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* The candidates of stem in the directory as it is now, as "type:name" joined with spaces. */
static const char *collect(const char *stem, pyci_buf *cand, char *buf, size_t n)
{
	dirio_listing l = {0};
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(dirio_list(fd, &l), 0);
	close(fd);
	pyci_buf_clear(cand);
	long got = shadow_collect(l.entries, l.count, stem, strlen(stem), cand);
	assert_true(got >= 0 && (size_t)got == cand->len);
	dirio_listing_free(&l);
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cand->len; i += strlen(cand->data + i + 1) + 2) {
		char t = cand->data[i] == DT_DIR ? 'd' : cand->data[i] == DT_LNK ? 'l' : 'f';
		int w = snprintf(buf + used, n - used, "%s%c:%s", used ? " " : "", t,
				 cand->data + i + 1);
		assert_true(w > 0 && (size_t)w < n - used);
		used += (size_t)w;
	}
	return buf;
}

static void test_collect(void **state)
{
	(void)state;
	pyci_buf cand = PYCI_BUF_INIT;
	char buf[1024];
	/* the bytewise neighbours of "m": "l.so" < "m" < "m-x.so" < "m.py" ... < "m0.so" */
	const char *files[] = {"l.so",
			       "m-x.so",
			       "m.py",
			       "m.pyc",
			       "m.txt",
			       "m.so",
			       "m.cpython-312-x.so",
			       "m0.so",
			       "ma.so",
			       "mmodule.so",
			       "mmodulex.txt",
			       "n.so",
			       "a.b.so"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		touch(files[i]);
	assert_string_equal(collect("m", &cand, buf, sizeof(buf)),
			    "f:m.cpython-312-x.so f:m.so f:mmodule.so");
	mkd("m");
	assert_string_equal(collect("m", &cand, buf, sizeof(buf)),
			    "d:m f:m.cpython-312-x.so f:m.so f:mmodule.so");
	/* a regular file named m is no package */
	assert_string_equal(collect("l", &cand, buf, sizeof(buf)), "f:l.so");
	touch("n");
	assert_string_equal(collect("n", &cand, buf, sizeof(buf)), "f:n.so");
	/* a dotted name is no module name */
	assert_string_equal(collect("a.b", &cand, buf, sizeof(buf)), "");
	/* nothing beside: nothing kept */
	assert_string_equal(collect("zz", &cand, buf, sizeof(buf)), "");
	pyci_buf_free(&cand);
}

/* What shadows stem in the test directory: as the host sees it (in_root 0), or with the test
 * directory as a staging root (1). */
static pyci_shadow_kind find_in(const char *stem, const pyci_finder *f, pyci_shadow *out,
				int in_root)
{
	pyci_buf cand = PYCI_BUF_INIT;
	char buf[1024];
	shadow_dir d = {rootfd, in_root ? rootfd : -1, ""};
	collect(stem, &cand, buf, sizeof(buf));
	shadow_find(&d, stem, strlen(stem), cand.data, cand.len, f, out);
	pyci_buf_free(&cand);
	return out->kind;
}

static pyci_shadow_kind find(const char *stem, const pyci_finder *f, pyci_shadow *out)
{
	return find_in(stem, f, out, 0);
}

static int still(const char *stem, const pyci_shadow *s, int in_root)
{
	shadow_dir d = {rootfd, in_root ? rootfd : -1, ""};
	return shadow_still(&d, stem, strlen(stem), s);
}

static void test_find(void **state)
{
	(void)state;
	pyci_finder f312, f27;
	pyci_shadow s;
	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 12, 0, &f312);
	pyci_finder_for(PYCI_IMPL_CPYTHON, 2, 7, 0, &f27);

	/* a namespace directory shadows nothing; an __init__ of any suffix makes a package */
	mkd("p");
	touch("p.py");
	assert_int_equal(find("p", &f312, &s), PYCI_SHADOW_NONE);
	touch("p/__init__.abi3.so");
	assert_int_equal(find("p", &f312, &s), PYCI_SHADOW_PACKAGE);
	assert_string_equal(s.suffix, "/__init__.abi3.so");
	assert_int_equal(find("p", &f27, &s), PYCI_SHADOW_NONE); /* not to 2.7 */
	touch("p/__init__.pyc");
	assert_int_equal(find("p", &f27, &s), PYCI_SHADOW_PACKAGE);
	assert_string_equal(s.suffix, "/__init__.pyc");
	assert_int_equal(still("p", &s, 0), 1);
	unlinkat(rootfd, "p/__init__.pyc", 0);
	assert_int_equal(still("p", &s, 0), 0); /* gone since */

	/* __init__.py as a directory: 2.7 stats it (a package), 3.12 wants a file */
	mkd("q");
	mkd("q/__init__.py");
	assert_int_equal(find("q", &f312, &s), PYCI_SHADOW_NONE);
	assert_int_equal(find("q", &f27, &s), PYCI_SHADOW_PACKAGE);

	/* a symlink to a package counts */
	mkd("real");
	touch("real/__init__.py");
	assert_int_equal(symlinkat("real", rootfd, "r"), 0);
	assert_int_equal(find("r", &f312, &s), PYCI_SHADOW_PACKAGE);
	assert_string_equal(s.suffix, "/__init__.py");

	/* a package's own __init__ is looked up as a file, never as a directory __init__/ */
	mkd("__init__");
	touch("__init__/__init__.py");
	assert_int_equal(find("__init__", &f312, &s), PYCI_SHADOW_NONE);
	touch("__init__.so");
	assert_int_equal(find("__init__", &f312, &s), PYCI_SHADOW_EXTENSION);

	/* extension modules: a file, a symlink to one, not a dangling one */
	touch("e.abi3.so");
	assert_int_equal(find("e", &f312, &s), PYCI_SHADOW_EXTENSION);
	assert_string_equal(s.suffix, ".abi3.so");
	assert_int_equal(find("e", &f27, &s), PYCI_SHADOW_NONE);
	assert_int_equal(symlinkat("e.abi3.so", rootfd, "g.so"), 0);
	assert_int_equal(find("g", &f312, &s), PYCI_SHADOW_EXTENSION);
	assert_int_equal(symlinkat("nowhere", rootfd, "h.so"), 0);
	assert_int_equal(find("h", &f312, &s), PYCI_SHADOW_NONE);
	/* a directory m.so: importlib wants a file, 2.7's fopen() opens it */
	mkd("d.so");
	assert_int_equal(find("d", &f312, &s), PYCI_SHADOW_NONE);
	assert_int_equal(find("d", &f27, &s), PYCI_SHADOW_EXTENSION);
	assert_int_equal(s.rule, PYCI_FIND_OPENABLE);
	touch("dmodule.so");
	assert_int_equal(find("d", &f27, &s), PYCI_SHADOW_EXTENSION);
	assert_string_equal(s.suffix, ".so"); /* the first in 2.7's order */

	/* the package is taken before an extension module */
	touch("p/__init__.py");
	touch("p.so");
	assert_int_equal(find("p", &f312, &s), PYCI_SHADOW_PACKAGE);
}

/* The test directory as a staging root: links resolve inside it. */
static void test_find_in_root(void **state)
{
	(void)state;
	pyci_finder f312, f27;
	pyci_shadow s;
	char target[sizeof(root) + 32];
	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 12, 0, &f312);
	pyci_finder_for(PYCI_IMPL_CPYTHON, 2, 7, 0, &f27);
	mkd("usr");
	mkd("usr/share");
	mkd("usr/share/foo");
	touch("usr/share/foo/__init__.py");
	touch("usr/share/ext.so");
	/* absolute links to the root's files: /usr/share/foo is not on the host */
	assert_int_equal(symlinkat("/usr/share/foo", rootfd, "a"), 0);
	assert_int_equal(symlinkat("../../../../../../usr/share/foo", rootfd, "b"), 0);
	assert_int_equal(symlinkat("/usr/share/ext.so", rootfd, "c.so"), 0);
	assert_int_equal(find_in("a", &f312, &s, 1), PYCI_SHADOW_PACKAGE);
	assert_int_equal(still("a", &s, 1), 1);
	assert_int_equal(find_in("a", &f312, &s, 0), PYCI_SHADOW_NONE);
	assert_int_equal(find_in("b", &f312, &s, 1), PYCI_SHADOW_PACKAGE);
	assert_int_equal(find_in("c", &f312, &s, 1), PYCI_SHADOW_EXTENSION);
	assert_int_equal(find_in("c", &f27, &s, 1), PYCI_SHADOW_EXTENSION); /* fopen() too */
	assert_int_equal(s.rule, PYCI_FIND_OPENABLE);
	assert_int_equal(find_in("c", &f312, &s, 0), PYCI_SHADOW_NONE);
	/* a link to the host's real path of a package in the root: not there inside the root */
	snprintf(target, sizeof(target), "%s/usr/share/foo", root);
	assert_int_equal(symlinkat(target, rootfd, "h"), 0);
	assert_int_equal(find_in("h", &f312, &s, 0), PYCI_SHADOW_PACKAGE);
	assert_int_equal(find_in("h", &f312, &s, 1), PYCI_SHADOW_NONE);
	/* gone from the root since: no longer counts */
	assert_int_equal(find_in("a", &f312, &s, 1), PYCI_SHADOW_PACKAGE);
	assert_int_equal(unlinkat(rootfd, "usr/share/foo/__init__.py", 0), 0);
	assert_int_equal(still("a", &s, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_in_root, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
