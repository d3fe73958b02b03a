/*
 * test_cachename.c - unit tests for cachename.h: cache file names and cache tags.
 *
 * Covers PEP 3147 names (NAME.TAG.pyc), PEP 488 optimisation levels (.opt-1, .opt-2, .opt-N:
 * the levels an import looks up), 3.2-3.4 NAME.TAG.pyo, dotted source names split from the
 * right (a.tar.cpython-313.pyc), PyPy tags, legacy NAME.pyc/NAME.pyo outside __pycache__, unusable names inside __pycache__
 * (PYCACHE_BAD), unknown tags, Jython's NAME$py.class (never in __pycache__), non-cache names, and
 * pyci_cache_tag_parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/cachename.h"

static int parse(const char *name, int in_pycache, pyci_cache_name *out)
{
	return pyci_cache_name_parse(name, strlen(name), in_pycache, out);
}

/* Check a PYCACHE name: stem, tag text, opt text ("" when none), pyo, and the parsed tag. */
static void check_pycache(const char *name, const char *stem, const char *tag, const char *opt,
			  int pyo, pyci_impl impl, int major, int minor)
{
	pyci_cache_name c;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(parse(name, 1, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_PYCACHE);
	assert_int_equal(c.stem_len, strlen(stem));
	assert_memory_equal(name, stem, strlen(stem));
	assert_int_equal(c.tag_len, strlen(tag));
	assert_memory_equal(name + c.tag_off, tag, strlen(tag));
	assert_int_equal(c.opt_len, strlen(opt));
	if (c.opt_len)
		assert_memory_equal(name + c.opt_off, opt, strlen(opt));
	assert_int_equal(c.pyo, pyo);
	assert_int_equal(c.tag_impl, impl);
	if (impl != PYCI_IMPL_UNKNOWN) {
		assert_int_equal(c.tag_major, major);
		assert_int_equal(c.tag_minor, minor);
	}
}

static void test_pep3147(void **state)
{
	(void)state;
	check_pycache("mod.cpython-312.pyc", "mod", "cpython-312", "", 0, PYCI_IMPL_CPYTHON, 3, 12);
	check_pycache("mod.cpython-36.pyc", "mod", "cpython-36", "", 0, PYCI_IMPL_CPYTHON, 3, 6);
	check_pycache("mod.cpython-32.pyc", "mod", "cpython-32", "", 0, PYCI_IMPL_CPYTHON, 3, 2);
	check_pycache("__init__.cpython-316.pyc", "__init__", "cpython-316", "", 0,
		      PYCI_IMPL_CPYTHON, 3, 16);
	check_pycache("x.cpython-310.pyc", "x", "cpython-310", "", 0, PYCI_IMPL_CPYTHON, 3, 10);
}

static void test_pep488(void **state)
{
	(void)state;
	check_pycache("mod.cpython-312.opt-1.pyc", "mod", "cpython-312", "1", 0, PYCI_IMPL_CPYTHON,
		      3, 12);
	check_pycache("mod.cpython-312.opt-2.pyc", "mod", "cpython-312", "2", 0, PYCI_IMPL_CPYTHON,
		      3, 12);
	/* python -OOO, or PYTHONOPTIMIZE=10, looks up any positive level */
	check_pycache("mod.cpython-312.opt-3.pyc", "mod", "cpython-312", "3", 0, PYCI_IMPL_CPYTHON,
		      3, 12);
	check_pycache("mod.cpython-312.opt-10.pyc", "mod", "cpython-312", "10", 0,
		      PYCI_IMPL_CPYTHON, 3, 12);
	check_pycache("mod.pypy39.opt-1.pyc", "mod", "pypy39", "1", 0, PYCI_IMPL_PYPY, 3, 9);
}

static void test_pyo_32_34(void **state)
{
	(void)state;
	check_pycache("mod.cpython-34.pyo", "mod", "cpython-34", "", 1, PYCI_IMPL_CPYTHON, 3, 4);
	check_pycache("mod.cpython-32.pyo", "mod", "cpython-32", "", 1, PYCI_IMPL_CPYTHON, 3, 2);
}

static void test_dotted_stem(void **state)
{
	(void)state;
	/* a.tar.py -> a.tar.cpython-313.pyc: the name is split from the right */
	check_pycache("a.tar.cpython-313.pyc", "a.tar", "cpython-313", "", 0, PYCI_IMPL_CPYTHON, 3,
		      13);
	check_pycache("a.tar.cpython-313.opt-2.pyc", "a.tar", "cpython-313", "2", 0,
		      PYCI_IMPL_CPYTHON, 3, 13);
	check_pycache("a.b.c.pypy310.pyc", "a.b.c", "pypy310", "", 0, PYCI_IMPL_PYPY, 3, 10);
}

static void test_pypy(void **state)
{
	(void)state;
	check_pycache("mod.pypy39.pyc", "mod", "pypy39", "", 0, PYCI_IMPL_PYPY, 3, 9);
	check_pycache("mod.pypy310.pyc", "mod", "pypy310", "", 0, PYCI_IMPL_PYPY, 3, 10);
	check_pycache("mod.pypy311.pyc", "mod", "pypy311", "", 0, PYCI_IMPL_PYPY, 3, 11);
	check_pycache("mod.pypy36.pyc", "mod", "pypy36", "", 0, PYCI_IMPL_PYPY, 3, 6);
}

static void test_unknown_tag(void **state)
{
	(void)state;
	/* a tag of some other implementation: still a cache name, tag unknown */
	check_pycache("mod.graalpy-23.pyc", "mod", "graalpy-23", "", 0, PYCI_IMPL_UNKNOWN, 0, 0);
	check_pycache("mod.cpython-3x.pyc", "mod", "cpython-3x", "", 0, PYCI_IMPL_UNKNOWN, 0, 0);
	check_pycache("mod.jython.pyc", "mod", "jython", "", 0, PYCI_IMPL_UNKNOWN, 0, 0);
}

static void test_legacy(void **state)
{
	(void)state;
	pyci_cache_name c;
	assert_int_equal(parse("mod.pyc", 0, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_LEGACY);
	assert_int_equal(c.stem_len, 3);
	assert_int_equal(c.tag_len, 0);
	assert_int_equal(c.opt_len, 0);
	assert_int_equal(c.pyo, 0);

	assert_int_equal(parse("mod.pyo", 0, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_LEGACY);
	assert_int_equal(c.stem_len, 3);
	assert_int_equal(c.pyo, 1);

	/* outside __pycache__ the whole name before .pyc is the module, dots and all */
	assert_int_equal(parse("mod.cpython-312.pyc", 0, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_LEGACY);
	assert_int_equal(c.stem_len, strlen("mod.cpython-312"));
	assert_int_equal(c.tag_len, 0);
	/* ...but a __pycache__ name there (a PYTHONPYCACHEPREFIX tree's) is said to be one, and
	 * names no source */
	assert_int_equal(c.prefix_name, 1);
	assert_int_equal(pyci_cache_name_of_py(&c), 0);
	static const char *const prefixed[] = {"m.cpython-38.opt-1.pyc", "m.pypy39.pyc",
					       "a.b.cpython-313.pyc", "m.cpython-34.pyo"};
	for (size_t i = 0; i < sizeof(prefixed) / sizeof(prefixed[0]); i++) {
		assert_int_equal(parse(prefixed[i], 0, &c), 0);
		assert_int_equal(c.kind, PYCI_NAME_LEGACY);
		assert_int_equal(c.prefix_name, 1);
	}
	/* no known tag: a legacy name like any other (and its source NAME.py) */
	static const char *const plain[] = {"mod.pyc", "a.tar.pyc", "m.foo-312.pyc",
					    "m.cpython-312.opt-0.pyc", ".cpython-312.pyc"};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		assert_int_equal(parse(plain[i], 0, &c), 0);
		assert_int_equal(c.kind, PYCI_NAME_LEGACY);
		assert_int_equal(c.prefix_name, 0);
		assert_int_equal(pyci_cache_name_of_py(&c), 1);
	}
	/* inside __pycache__ never */
	assert_int_equal(parse("mod.cpython-312.pyc", 1, &c), 0);
	assert_int_equal(c.prefix_name, 0);
	assert_int_equal(pyci_cache_name_of_py(&c), 1);

	assert_int_equal(parse("__init__.pyc", 0, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_LEGACY);
	assert_int_equal(c.stem_len, 8);

	assert_int_equal(parse("a.pyc", 0, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_LEGACY);
	assert_int_equal(c.stem_len, 1);
}

static void test_jython(void **state)
{
	(void)state;
	pyci_cache_name c;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(parse("mod$py.class", 0, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_JYTHON);
	assert_int_equal(c.stem_len, 3);
	assert_int_equal(c.tag_len, 0);
	assert_int_equal(c.opt_len, 0);
	assert_int_equal(c.pyo, 0);
	assert_int_equal(c.tag_impl, PYCI_IMPL_UNKNOWN);
	assert_int_equal(parse("__init__$py.class", 0, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_JYTHON);
	assert_int_equal(c.stem_len, 8);
	/* the whole name before the suffix is the module's, dots and dollars too */
	assert_int_equal(parse("a.b$c$py.class", 0, &c), 0);
	assert_int_equal(c.stem_len, strlen("a.b$c"));
	/* Jython never looks in __pycache__ */
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(parse("mod$py.class", 1, &c), -1);
	assert_int_equal(c.kind, PYCI_NAME_NOT_CACHE);
	/* not Jython's: an empty module name, other Java classes, other cases */
	static const char *const not [] = {"$py.class",        "mod.class",     "mod$py.Class",
					   "mod$PY.class",     "mod$py.class~", "mod$pyclass",
					   "Outer$Inner.class"};
	for (size_t i = 0; i < sizeof(not ) / sizeof(not [0]); i++)
		if (parse(not [i], 0, &c) != -1)
			fail_msg("\"%s\" taken as a cache name", not [i]);
	/* only len bytes count */
	assert_int_equal(pyci_cache_name_parse("m$py.classX", 10, 0, &c), 0);
	assert_int_equal(c.stem_len, 1);
	assert_int_equal(pyci_cache_name_parse("m$py.classX", 11, 0, &c), -1);
}

static void expect_bad(const char *name)
{
	pyci_cache_name c;
	assert_int_equal(parse(name, 1, &c), 0);
	if (c.kind != PYCI_NAME_PYCACHE_BAD)
		fail_msg("%s in __pycache__: kind %d, expected PYCACHE_BAD (%d)", name, (int)c.kind,
			 (int)PYCI_NAME_PYCACHE_BAD);
	assert_int_equal(c.tag_len, 0);
}

static void test_pycache_bad(void **state)
{
	(void)state;
	/* no tag: source_from_cache needs 2 or 3 dots */
	expect_bad("mod.pyc");
	expect_bad("mod.pyo");
	/* empty NAME or TAG */
	expect_bad(".cpython-312.pyc");
	expect_bad("mod..pyc");
	/* the level must be alphanumeric (PEP 488) */
	expect_bad("mod.cpython-312.opt-1!.pyc");
	expect_bad("mod.cpython-312.opt-1-2.pyc");
	/* alphanumeric, and source_from_cache maps it back, but no import looks it up: the level
	 * is sys.flags.optimize, an integer, and 0 means no level at all (python3.11: a cache
	 * named opt-x or opt-0 is never read, and -O writes opt-1 beside it) */
	expect_bad("mod.cpython-312.opt-a1B.pyc");
	expect_bad("mod.cpython-312.opt-x.pyc");
	expect_bad("mod.cpython-312.opt-0.pyc");
	expect_bad("mod.cpython-312.opt-01.pyc");
}

/*
 * PEP 488 / source_from_cache require the level after "opt-" to be alphanumeric, so an empty
 * level is no cache name any import looks up (it once parsed as the unknown tag "opt-").
 */
static void test_pycache_bad_empty_opt(void **state)
{
	(void)state;
	expect_bad("mod.cpython-312.opt-.pyc");
}

static void test_pycache_bad_fields(void **state)
{
	(void)state;
	pyci_cache_name c;
	assert_int_equal(parse("mod.pyc", 1, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_PYCACHE_BAD);
	assert_int_equal(c.pyo, 0);
	assert_int_equal(c.opt_len, 0);
	assert_int_equal(parse("mod.pyo", 1, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_PYCACHE_BAD);
	assert_int_equal(c.pyo, 1);
}

/* NAME.TAG.pyc.<digits> in __pycache__: what importlib's _write_atomic leaves when killed. */
static void test_leftover(void **state)
{
	(void)state;
	pyci_cache_name c;
	assert_int_equal(parse("m.cpython-312.pyc.139860514790000", 1, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_PYCACHE_BAD);
	assert_int_equal(c.leftover, 1);
	assert_int_equal(c.stem_len, 1);
	assert_int_equal(c.tag_impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(c.tag_minor, 12);
	assert_int_equal(parse("m.cpython-34.opt-1.pyo.7", 1, &c),
			 0); /* parsed as far as it goes */
	assert_int_equal(c.leftover, 1);
	assert_int_equal(parse("x.pyc.1", 1, &c), 0);
	assert_int_equal(c.leftover, 1);
	/* not leftovers: outside __pycache__, no number, not all digits, not .pyc/.pyo */
	static const char *const not_leftovers[] = {"x.pyc.", "x.pyc.1a", "x.py.12", "x.pycc.12",
						    ".pyc.12"};
	for (size_t i = 0; i < sizeof(not_leftovers) / sizeof(not_leftovers[0]); i++)
		if (parse(not_leftovers[i], 1, &c) != -1)
			fail_msg("\"%s\" taken as a leftover", not_leftovers[i]);
	assert_int_equal(parse("m.cpython-312.pyc.123", 0, &c), -1);
	assert_int_equal(parse("m.cpython-312.pyc", 1, &c), 0);
	assert_int_equal(c.leftover, 0);
}

static void test_not_cache(void **state)
{
	(void)state;
	static const char *const names[] = {
		"x.py", ".pyc",   ".pyo",  "x.PYC", "x.Pyc", "x.pyc~", "x.pyc.bak", "pyc",
		"xpyc", "x.pycx", "x.pyd", "x.so",  "",      "x.pyw",  "x_pyc",     "__pycache__",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (int inp = 0; inp <= 1; inp++) {
			pyci_cache_name c;
			memset(&c, 0x5a, sizeof(c));
			if (parse(names[i], inp, &c) != -1)
				fail_msg("\"%s\" (in_pycache=%d) taken as a cache name", names[i],
					 inp);
			assert_int_equal(c.kind, PYCI_NAME_NOT_CACHE);
		}
	}
}

static void test_length_not_nul(void **state)
{
	(void)state;
	/* the name need not be NUL-terminated: only len bytes count */
	const char buf[] = "mod.cpython-312.pycXXXX";
	pyci_cache_name c;
	assert_int_equal(pyci_cache_name_parse(buf, strlen("mod.cpython-312.pyc"), 1, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_PYCACHE);
	assert_int_equal(c.tag_impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(c.tag_minor, 12);
	assert_int_equal(pyci_cache_name_parse(buf, strlen("mod.cpython-312.py"), 1, &c), -1);

	/* non-UTF-8 bytes in NAME */
	const char nb[] = "m\xff\xfe.cpython-311.pyc";
	assert_int_equal(pyci_cache_name_parse(nb, sizeof(nb) - 1, 1, &c), 0);
	assert_int_equal(c.kind, PYCI_NAME_PYCACHE);
	assert_int_equal(c.stem_len, 3);
	assert_int_equal(c.tag_minor, 11);
}

static void check_tag(const char *tag, int ok, pyci_impl impl, int major, int minor)
{
	pyci_impl i = PYCI_IMPL_UNKNOWN;
	int ma = -1, mi = -1;
	int rc = pyci_cache_tag_parse(tag, strlen(tag), &i, &ma, &mi);
	if (!ok) {
		if (rc != -1)
			fail_msg("tag \"%s\" accepted", tag);
		return;
	}
	if (rc != 0)
		fail_msg("tag \"%s\" refused", tag);
	assert_int_equal(i, impl);
	assert_int_equal(ma, major);
	assert_int_equal(mi, minor);
}

static void test_tag_parse(void **state)
{
	(void)state;
	check_tag("cpython-312", 1, PYCI_IMPL_CPYTHON, 3, 12);
	check_tag("cpython-36", 1, PYCI_IMPL_CPYTHON, 3, 6);
	check_tag("cpython-32", 1, PYCI_IMPL_CPYTHON, 3, 2);
	check_tag("cpython-310", 1, PYCI_IMPL_CPYTHON, 3, 10);
	check_tag("cpython-316", 1, PYCI_IMPL_CPYTHON, 3, 16);
	check_tag("pypy39", 1, PYCI_IMPL_PYPY, 3, 9);
	check_tag("pypy310", 1, PYCI_IMPL_PYPY, 3, 10);
	check_tag("pypy36", 1, PYCI_IMPL_PYPY, 3, 6);

	check_tag("", 0, 0, 0, 0);
	check_tag("cpython-", 0, 0, 0, 0);
	check_tag("cpython-3", 0, 0, 0, 0);
	check_tag("cpython312", 0, 0, 0, 0);
	check_tag("cpython-3.12", 0, 0, 0, 0);
	check_tag("cpython-31x", 0, 0, 0, 0);
	check_tag("CPython-312", 0, 0, 0, 0);
	check_tag("pypy", 0, 0, 0, 0);
	check_tag("pypy3", 0, 0, 0, 0);
	check_tag("pypy-39", 0, 0, 0, 0);
	check_tag("graalpy-23", 0, 0, 0, 0);
	check_tag("opt-1", 0, 0, 0, 0);

	/* only len bytes are read */
	pyci_impl i;
	int ma, mi;
	assert_int_equal(pyci_cache_tag_parse("cpython-312.pyc", 11, &i, &ma, &mi), 0);
	assert_int_equal(i, PYCI_IMPL_CPYTHON);
	assert_int_equal(mi, 12);
	assert_int_equal(pyci_cache_tag_parse("pypy310", 6, &i, &ma, &mi), 0);
	assert_int_equal(i, PYCI_IMPL_PYPY);
	assert_int_equal(mi, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pep3147),
		cmocka_unit_test(test_leftover),
		cmocka_unit_test(test_pep488),
		cmocka_unit_test(test_pyo_32_34),
		cmocka_unit_test(test_dotted_stem),
		cmocka_unit_test(test_pypy),
		cmocka_unit_test(test_unknown_tag),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_jython),
		cmocka_unit_test(test_pycache_bad),
		cmocka_unit_test(test_pycache_bad_empty_opt),
		cmocka_unit_test(test_pycache_bad_fields),
		cmocka_unit_test(test_not_cache),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_tag_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
