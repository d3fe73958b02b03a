/*
 * test_finder.c - unit tests for finder.h: each interpreter's finder, as the table says it.
 *
 * The expected suffixes are the interpreters' own, where one can say them: imp.get_suffixes()
 * of pyenv's 2.7.18, importlib.machinery.EXTENSION_SUFFIXES of pyenv's 3.7 and 3.12, Debian's
 * PyPy 3.9 and Pyodide's 3.15 (its list with the wasm32-emscripten triplet in place of this
 * build's).  For versions no interpreter here has: 3.2 tried '.cpython-32m.so',
 * 'module.cpython-32m.so', '.abi3.so', 'module.abi3.so', '.so', 'module.so' (python-dev,
 * "Issue #11051: system calls per import", 2011-01), 3.3 dropped the "module" forms (bpo-14040)
 * and had no platform triplet yet (its configure: SOABI='cpython-33m').  The conformance test
 * tests/conformance/shadow.py checks the live ones against the real finders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/finder.h"

/* The extension suffixes of f, joined with spaces. */
static const char *ext_list(const pyci_finder *f, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < f->next; i++) {
		int w = snprintf(buf + used, n - used, "%s%s", i ? " " : "", f->ext[i]);
		assert_true(w > 0 && (size_t)w < n - used);
		used += (size_t)w;
	}
	return buf;
}

static const char *init_list(const pyci_finder *f, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < f->ninit; i++) {
		int w = snprintf(buf + used, n - used, "%s%s", i ? " " : "", f->init[i]);
		assert_true(w > 0 && (size_t)w < n - used);
		used += (size_t)w;
	}
	return buf;
}

/* fmt with every %s the build's triplet */
static const char *with_triplet(const char *fmt, char *buf, size_t n)
{
	const char *t = pyci_platform_triplet();
	size_t used = 0;
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			assert_true(used + strlen(t) < n);
			memcpy(buf + used, t, strlen(t));
			used += strlen(t);
			p++;
		} else {
			assert_true(used + 1 < n);
			buf[used++] = *p;
		}
	}
	buf[used] = '\0';
	return buf;
}

static void test_triplet_known(void **state)
{
	(void)state;
	/* every machine the project builds on is a Linux port the table knows */
	assert_true(strlen(pyci_platform_triplet()) > 0);
	assert_non_null(strstr(pyci_platform_triplet(), "-linux-"));
}

static void test_import_c(void **state)
{
	(void)state;
	pyci_finder f;
	char a[512], b[512];
	pyci_finder_for(PYCI_IMPL_CPYTHON, 2, 7, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)), ".so module.so");
	assert_string_equal(init_list(&f, b, sizeof(b)), ".py .pyc"); /* no extension __init__ */
	assert_true(f.packages);
	assert_int_equal(f.init_rule, PYCI_FIND_EXISTS);
	assert_int_equal(f.ext_rule, PYCI_FIND_OPENABLE);
	pyci_finder_for(PYCI_IMPL_CPYTHON, 2, 7, 1, &f); /* -O: __init__.pyo */
	assert_string_equal(init_list(&f, b, sizeof(b)), ".py .pyo");

	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 2, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)),
			    ".cpython-32m.so module.cpython-32m.so .abi3.so module.abi3.so .so "
			    "module.so");
	assert_int_equal(f.ext_rule, PYCI_FIND_OPENABLE);

	pyci_finder_for(PYCI_IMPL_CPYTHON, 1, 4, 0, &f); /* packages came with 1.5 */
	assert_false(f.packages);
	pyci_finder_for(PYCI_IMPL_CPYTHON, 1, 5, 0, &f);
	assert_true(f.packages);
}

static void test_importlib(void **state)
{
	(void)state;
	pyci_finder f;
	char a[512], b[512], want[512];
	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 3, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)), ".cpython-33m.so .abi3.so .so");
	assert_string_equal(init_list(&f, b, sizeof(b)), ".py .cpython-33m.so .abi3.so .so .pyc");
	assert_int_equal(f.init_rule, PYCI_FIND_REGULAR);
	assert_int_equal(f.ext_rule, PYCI_FIND_REGULAR);
	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 4, 1, &f); /* -O before PEP 488: .pyo */
	assert_string_equal(f.init[f.ninit - 1], ".pyo");
	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 5, 1, &f); /* PEP 488: .opt-N.pyc, suffix .pyc */
	assert_string_equal(f.init[f.ninit - 1], ".pyc");

	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 7, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)),
			    with_triplet(".cpython-37m-%s.so .abi3.so .so", want, sizeof(want)));
	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 12, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)),
			    with_triplet(".cpython-312-%s.so .abi3.so .so", want, sizeof(want)));
	pyci_finder_for(PYCI_IMPL_CPYTHON, 3, 15, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)),
			    with_triplet(".cpython-315-%s.so .abi3-%s.so .abi3.so .abi3t-%s.so "
					 ".abi3t.so .so",
					 want, sizeof(want)));
	assert_int_equal(f.ninit, f.next + 2);
}

static void test_pypy(void **state)
{
	(void)state;
	pyci_finder f;
	char a[512], b[512], want[512];
	pyci_finder_for(PYCI_IMPL_PYPY, 3, 9, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)),
			    with_triplet(".pypy39-pp73-%s.so", want, sizeof(want)));
	pyci_finder_for(PYCI_IMPL_PYPY, 3, 10, 0, &f);
	assert_string_equal(ext_list(&f, a, sizeof(a)),
			    with_triplet(".pypy310-pp73-%s.so", want, sizeof(want)));
	/* PyPy2, PyPy3 before 3.7, an unknown interpreter: a package with __init__.py only */
	const int older[][3] = {
		{PYCI_IMPL_PYPY, 2, 7}, {PYCI_IMPL_PYPY, 3, 6}, {PYCI_IMPL_UNKNOWN, 3, 12}};
	for (size_t i = 0; i < sizeof(older) / sizeof(older[0]); i++) {
		pyci_finder_for((pyci_impl)older[i][0], older[i][1], older[i][2], 0, &f);
		assert_int_equal(f.next, 0);
		assert_string_equal(init_list(&f, b, sizeof(b)), ".py");
		assert_int_equal(f.init_rule, PYCI_FIND_REGULAR);
		assert_true(f.packages);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_triplet_known),
		cmocka_unit_test(test_import_c),
		cmocka_unit_test(test_importlib),
		cmocka_unit_test(test_pypy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
