/*
 * test_jython.c - unit tests for jython.h: Jython's rule for NAME$py.class, its API versions,
 * and Java's lastModified().
 *
 * The expected values are read off Jython 2.7.3's imp.java (loadFromSource, readCodeData),
 * JDK 17's UnixFileSystem_md.c, and the APIVersion of each release tag, and were confirmed with
 * Debian's jython where a file system can show them (tests/conformance/jython.py): classTime >=
 * pyTime in milliseconds truncated from nanoseconds, negative times included; MTime at most
 * 2000 ms after pyTime, in Java's wrapping subtraction, -1 without the annotation; API version
 * 39, or stale (with the source) and sourceless but foreign, its source gone (without it,
 * where Jython refuses to import it); a class file that is not one invalid; the source gone
 * only for ENOENT and ENOTDIR; targets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/jython.h"

#define BIT(r) PYCI_REASON_BIT(r)
#define T0 INT64_C(1600000000) /* a source's second */

static void test_java_mtime(void **state)
{
	(void)state;
	assert_true(pyci_java_mtime_ms(T0, 451536140) == INT64_C(1600000000451));
	assert_true(pyci_java_mtime_ms(T0, 999999999) == INT64_C(1600000000999));
	assert_true(pyci_java_mtime_ms(0, 999999) == 0);
	/* before 1970: tv_sec -2 and tv_nsec 0.5 s is -1.5 s, which Java reads as -1500 */
	assert_true(pyci_java_mtime_ms(-2, 500000000) == -1500);
	assert_true(pyci_java_mtime_ms(-2, 499999999) == -1501);
	assert_true(pyci_java_mtime_ms(-1, 0) == -1000);
	/* Java's multiplication wraps */
	assert_true(pyci_java_mtime_ms(INT64_MAX, 0) == (int64_t)((uint64_t)INT64_MAX * 1000u));
}

static void test_api_table(void **state)
{
	(void)state;
	const pyci_jython_api *r = pyci_jython_api_lookup(39);
	assert_non_null(r);
	assert_int_equal(r->major, 2);
	assert_int_equal(r->minor, 7);
	assert_string_equal(r->releases, "2.7.3, 2.7.4");
	assert_string_equal(pyci_jython_api_lookup(38)->releases, "2.7.2");
	assert_string_equal(pyci_jython_api_lookup(37)->releases, "2.7.1");
	assert_string_equal(pyci_jython_api_lookup(36)->releases, "2.7.0");
	r = pyci_jython_api_lookup(33);
	assert_non_null(r);
	assert_int_equal(r->minor, 5);
	assert_string_equal(r->releases, "2.5.3");
	assert_string_equal(pyci_jython_api_lookup(23)->releases, "2.5.0");
	/* a beta's (2.7b2), one never used, and AnnotationReader's "none" */
	assert_null(pyci_jython_api_lookup(34));
	assert_null(pyci_jython_api_lookup(40));
	assert_null(pyci_jython_api_lookup(-1));
	size_t n;
	const pyci_jython_api *t = pyci_jython_api_table(&n);
	assert_int_equal(n, 8);
	for (size_t i = 1; i < n; i++)
		assert_true(t[i - 1].api < t[i].api);
	assert_int_equal(t[n - 1].api, PYCI_JYTHON_API);
	assert_true(pyci_jython_version_known(2, 7));
	assert_false(pyci_jython_version_known(2, 5));
	assert_false(pyci_jython_version_known(3, 12));
}

/* A case: the class (API, MTime), its own mtime, and its source. */
struct jcase {
	pyci_jclass c;
	pyci_source_info s;
	pyci_jython_input in;
	pyci_verdict v;
};

/* A class written by 2.7.3 from a source of mtime T0.123456789, at T0 + 5 s. */
static void base(struct jcase *k)
{
	memset(k, 0, sizeof(*k));
	k->c.status = PYCI_JCLASS_OK;
	k->c.has_version = 1;
	k->c.major = 50;
	k->c.has_api = 1;
	k->c.api = 39;
	k->c.has_mtime = 1;
	k->c.mtime_ms = T0 * 1000 + 123;
	k->s.regular = 1;
	k->s.mtime_sec = T0;
	k->s.mtime_nsec = 123456789;
	k->s.size = 40;
	k->in.jclass = &k->c;
	k->in.regular = 1;
	k->in.mtime_sec = T0 + 5;
	k->in.source = &k->s;
}

static void judge(struct jcase *k)
{
	pyci_jython_judge(&k->in, &k->v);
}

static void expect(struct jcase *k, pyci_status st, uint64_t reasons, int foreign)
{
	judge(k);
	if (k->v.status != st || k->v.reasons != reasons || k->v.foreign != foreign)
		fail_msg("got %s reasons %#llx foreign %d, expected %s %#llx %d",
			 pyci_status_name(k->v.status), (unsigned long long)k->v.reasons,
			 k->v.foreign, pyci_status_name(st), (unsigned long long)reasons, foreign);
}

static void test_fresh(void **state)
{
	(void)state;
	struct jcase k;
	base(&k);
	expect(&k, PYCI_FRESH, 0, 0);
	assert_int_equal(k.v.owner_impl, PYCI_IMPL_JYTHON);
	assert_int_equal(k.v.owner_major, 2);
	assert_int_equal(k.v.owner_minor, 7);
	/* written in the source's very millisecond: classTime >= pyTime */
	base(&k);
	k.in.mtime_sec = T0;
	k.in.mtime_nsec = 123000000;
	expect(&k, PYCI_FRESH, 0, 0);
	/* a source edited later, the class later still (touched): Jython runs the old code */
	base(&k);
	k.s.mtime_sec = T0 + 3;
	expect(&k, PYCI_FRESH, 0, 0);
}

static void test_class_older(void **state)
{
	(void)state;
	struct jcase k;
	base(&k);
	k.in.mtime_sec = T0;
	k.in.mtime_nsec = 122999999; /* a millisecond before the source's */
	expect(&k, PYCI_STALE, BIT(PYCI_R_CLASS_OLDER), 0);
	/* before 1970, as Java reads it: -1.500000001 s is -1501 ms, before -1.4999 s = -1500 */
	base(&k);
	k.c.mtime_ms = -1500;
	k.s.mtime_sec = -2;
	k.s.mtime_nsec = 500900000;
	k.in.mtime_sec = -2;
	k.in.mtime_nsec = 500100000;
	expect(&k, PYCI_FRESH, 0, 0);
	k.in.mtime_nsec = 499999999;
	expect(&k, PYCI_STALE, BIT(PYCI_R_CLASS_OLDER), 0);
}

static void test_recorded_mtime(void **state)
{
	(void)state;
	struct jcase k;
	/* the source set back: MTime at most 2000 ms after its mtime is fine, 2001 is not */
	base(&k);
	k.c.mtime_ms = T0 * 1000 + 123 + 2000;
	expect(&k, PYCI_FRESH, 0, 0);
	k.c.mtime_ms++;
	expect(&k, PYCI_STALE, BIT(PYCI_R_MTIME_RECORDED_LATER), 0);
	/* older than the source: not checked (a source from a jar, rounded down) */
	k.c.mtime_ms = 0;
	expect(&k, PYCI_FRESH, 0, 0);
	/* no MTime annotation: -1, against a source before 1970 */
	base(&k);
	k.c.has_mtime = 0;
	k.c.mtime_ms = 77;
	k.s.mtime_sec = -3;
	k.s.mtime_nsec = 999000000; /* -2001 ms: -1 - -2001 = 2000 */
	k.in.mtime_sec = 0;
	expect(&k, PYCI_FRESH, 0, 0);
	k.s.mtime_nsec = 998000000; /* -2002 ms */
	expect(&k, PYCI_STALE, BIT(PYCI_R_MTIME_RECORDED_LATER), 0);
	/* Java's subtraction wraps: Long.MIN_VALUE - 1 is Long.MAX_VALUE */
	base(&k);
	k.c.mtime_ms = INT64_MIN;
	k.s.mtime_sec = 0;
	k.s.mtime_nsec = 1000000;
	expect(&k, PYCI_STALE, BIT(PYCI_R_MTIME_RECORDED_LATER), 0);
}

static void test_api(void **state)
{
	(void)state;
	struct jcase k;
	pyci_targets jy, cpy;
	pyci_targets_init(&jy);
	pyci_targets_init(&cpy);
	assert_int_equal(pyci_targets_add_list(&jy, "jython2.7,3.12"), 0);
	assert_int_equal(pyci_targets_add_list(&cpy, "3.12"), 0);

	/* 2.7.2's class beside its source: 2.7.3 recompiles it; a 2.7 target cannot use it */
	base(&k);
	k.c.api = 38;
	expect(&k, PYCI_STALE, BIT(PYCI_R_API_OTHER), 0);
	k.in.targets = &jy;
	expect(&k, PYCI_STALE, BIT(PYCI_R_API_OTHER), 1);
	/* the MTime of another release's class is not read; the class's own age is */
	base(&k);
	k.c.api = 38;
	k.c.mtime_ms = INT64_MAX;
	k.in.mtime_sec = T0 - 10;
	expect(&k, PYCI_STALE, BIT(PYCI_R_CLASS_OLDER) | BIT(PYCI_R_API_OTHER), 0);
	/* without its source: sourceless, and no import by 2.7.3 */
	base(&k);
	k.c.api = 38;
	k.s = (pyci_source_info){.err = ENOENT};
	k.in.targets = &jy;
	expect(&k, PYCI_SOURCELESS, BIT(PYCI_R_NO_SOURCE) | BIT(PYCI_R_API_OTHER), 1);
	/* 2.5.3's class: its version is no target */
	base(&k);
	k.c.api = 33;
	k.in.targets = &jy;
	expect(&k, PYCI_STALE, BIT(PYCI_R_API_OTHER) | BIT(PYCI_R_NOT_TARGET), 1);
	assert_int_equal(k.v.owner_minor, 5);
	/* a number no release writes: judged as 2.7's, owner unknown */
	base(&k);
	k.c.api = 12345;
	k.in.targets = &jy;
	expect(&k, PYCI_STALE, BIT(PYCI_R_API_OTHER), 1);
	assert_int_equal(k.v.owner_impl, PYCI_IMPL_UNKNOWN);
	k.in.targets = &cpy;
	expect(&k, PYCI_STALE, BIT(PYCI_R_API_OTHER) | BIT(PYCI_R_NOT_TARGET), 1);
	/* no annotation at all: not Jython's class; kept as sourceless without a source */
	base(&k);
	k.c.has_api = 0;
	k.c.api = 39;
	expect(&k, PYCI_STALE, BIT(PYCI_R_NO_API), 0);
	k.s = (pyci_source_info){.err = ENOTDIR};
	expect(&k, PYCI_SOURCELESS, BIT(PYCI_R_NO_SOURCE) | BIT(PYCI_R_NO_API), 0);
}

static void test_targets(void **state)
{
	(void)state;
	struct jcase k;
	pyci_targets jy, cpy;
	pyci_targets_init(&jy);
	pyci_targets_init(&cpy);
	assert_int_equal(pyci_targets_add_list(&jy, "jython2.7"), 0);
	assert_int_equal(pyci_targets_add_list(&cpy, "3.12,pypy3.10"), 0);
	base(&k);
	k.in.targets = &jy;
	expect(&k, PYCI_FRESH, 0, 0);
	k.in.targets = &cpy;
	expect(&k, PYCI_FOREIGN, BIT(PYCI_R_NOT_TARGET), 1);
	/* stale and sourceless keep their status */
	k.in.mtime_sec = T0 - 1;
	expect(&k, PYCI_STALE, BIT(PYCI_R_CLASS_OLDER) | BIT(PYCI_R_NOT_TARGET), 1);
	base(&k);
	k.s = (pyci_source_info){.err = ENOENT};
	k.in.targets = &cpy;
	expect(&k, PYCI_SOURCELESS, BIT(PYCI_R_SOURCELESS) | BIT(PYCI_R_NOT_TARGET), 1);
	k.in.targets = &jy;
	expect(&k, PYCI_SOURCELESS, BIT(PYCI_R_SOURCELESS), 0);
}

static void test_source(void **state)
{
	(void)state;
	struct jcase k;
	/* a directory named m.py: isFile() is false, the class is imported alone */
	base(&k);
	k.s.regular = 0;
	expect(&k, PYCI_SOURCELESS, BIT(PYCI_R_SOURCE_NOT_FILE) | BIT(PYCI_R_SOURCELESS), 0);
	/* a source that may exist but cannot be checked */
	base(&k);
	k.s = (pyci_source_info){.err = EACCES};
	expect(&k, PYCI_INVALID, BIT(PYCI_R_SOURCE_UNREADABLE), 0);
	k.s.err = ELOOP;
	expect(&k, PYCI_INVALID, BIT(PYCI_R_SOURCE_UNREADABLE), 0);
}

static void test_invalid(void **state)
{
	(void)state;
	struct jcase k;
	static const struct {
		pyci_jclass_status st;
		pyci_reason r;
	} cases[] = {
		{PYCI_JCLASS_EMPTY, PYCI_R_EMPTY},
		{PYCI_JCLASS_SHORT_MAGIC, PYCI_R_SHORT_MAGIC},
		{PYCI_JCLASS_BAD_MAGIC, PYCI_R_BAD_MAGIC},
		{PYCI_JCLASS_TRUNCATED, PYCI_R_CLASS_TRUNCATED},
		{PYCI_JCLASS_MALFORMED, PYCI_R_CLASS_MALFORMED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base(&k);
		k.c.status = cases[i].st;
		expect(&k, PYCI_INVALID, BIT(cases[i].r), 0);
		/* with or without its source, and whatever the targets */
		k.s = (pyci_source_info){.err = ENOENT};
		expect(&k, PYCI_INVALID, BIT(cases[i].r), 0);
		k.s.err = EACCES;
		expect(&k, PYCI_INVALID, BIT(cases[i].r) | BIT(PYCI_R_SOURCE_UNREADABLE), 0);
	}
	/* a malformed class whose API version was read still names its release */
	base(&k);
	k.c.status = PYCI_JCLASS_MALFORMED;
	judge(&k);
	assert_int_equal(k.v.owner_impl, PYCI_IMPL_JYTHON);
	base(&k);
	k.in.regular = 0;
	expect(&k, PYCI_INVALID, BIT(PYCI_R_NOT_REGULAR), 0);
	base(&k);
	k.in.read_err = EACCES;
	expect(&k, PYCI_INVALID, BIT(PYCI_R_UNREADABLE), 0);
}

static void test_reason_texts(void **state)
{
	(void)state;
	static const pyci_reason mine[] = {PYCI_R_CLASS_TRUNCATED, PYCI_R_CLASS_MALFORMED,
					   PYCI_R_CLASS_OLDER,     PYCI_R_MTIME_RECORDED_LATER,
					   PYCI_R_API_OTHER,       PYCI_R_NO_API};
	for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
		const char *t = pyci_reason_text(mine[i]);
		assert_string_not_equal(t, "unknown reason");
		for (int r = 0; r < PYCI_R_COUNT; r++)
			if (r != (int)mine[i])
				assert_string_not_equal(t, pyci_reason_text((pyci_reason)r));
	}
	assert_true(PYCI_R_COUNT <= 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_java_mtime),     cmocka_unit_test(test_api_table),
		cmocka_unit_test(test_fresh),          cmocka_unit_test(test_class_older),
		cmocka_unit_test(test_recorded_mtime), cmocka_unit_test(test_api),
		cmocka_unit_test(test_targets),        cmocka_unit_test(test_source),
		cmocka_unit_test(test_invalid),        cmocka_unit_test(test_reason_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
