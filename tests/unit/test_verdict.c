/*
 * test_verdict.c - unit tests for verdict.h: Python's st_mtime, the per-version timestamp
 * rules, and pyci_judge end to end on synthetic names, headers and source facts.
 *
 * Covers pyci_python_mtime (reference section 4: trunc((double)sec + nsec*1e-9), checked
 * against an independent double computation around the round-up crossover, and pre-1970),
 * pyci_timestamp_check against the section 4 table under the three rule generations (2.7/C
 * import, 3.3-3.6 unmasked, 3.7+ masked), size mismatch and size masking, pyci_rules_for, and
 * pyci_judge: fresh, stale mtime, orphaned, sourceless, legacy shadowed, tag mismatch, checked
 * and unchecked hash pycs under the three --check-hash-based-pycs modes, bad flags, foreign
 * caches (not a target, pre-release magic), a failing hash callback, and modules shadowed by a
 * package or an extension module (the finder the shadow callback is given, and when it is
 * asked).  zipimport's rules:
 * the DOS time within a second, the size from 3.8 only, __pycache__ and 3.5+ .pyo never read,
 * 3.7's refusal of checked-hash caches, no "shadowed" legacy caches (values from
 * tests/conformance/zipimport.py's real imports).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/cachename.h"
#include "pycinspect/header.h"
#include "pycinspect/target.h"
#include "pycinspect/verdict.h"

#define CRLF(m) (0x0A0D0000u | (uint32_t)(m))
#define BIT(r) PYCI_REASON_BIT(r)
#define HAS(v, r) (((v).reasons & BIT(r)) != 0)

/* ---------------------------------------------------------------- pyci_python_mtime */

/* Independent of the library: Python's float(st_mtime) then int(). */
static int64_t py_mtime(int64_t sec, long nsec)
{
	volatile double s = (double)sec;
	volatile double f = (double)nsec * 1e-9;
	volatile double t = s + f;
	return (int64_t)t;
}

static void test_python_mtime_reference(void **state)
{
	(void)state;
	/* reference section 4: file mtime ...40.999999999 -> pyc field 1600000001 */
	assert_int_equal(pyci_python_mtime(1600000000, 999999999), 1600000001);
	assert_int_equal(pyci_python_mtime(1600000000, 0), 1600000000);
	assert_int_equal(pyci_python_mtime(1600000000, 900000000), 1600000000);
	assert_int_equal(pyci_python_mtime(1600000000, 500000000), 1600000000);
	/* pre-1970: -1.5 truncates toward zero to -1 */
	assert_int_equal(pyci_python_mtime(-2, 500000000), -1);
	assert_int_equal(pyci_python_mtime(-1, 0), -1);
	assert_int_equal(pyci_python_mtime(0, 0), 0);
	/* after 2038 and 2106 */
	assert_int_equal(pyci_python_mtime(INT64_C(2147483653), 0), INT64_C(2147483653));
	assert_int_equal(pyci_python_mtime(INT64_C(4294967301), 0), INT64_C(4294967301));
}

static void test_python_mtime_crossover(void **state)
{
	(void)state;
	/* the double rounds up to the next second from ~999999881 ns at present-day values */
	assert_int_equal(py_mtime(1600000000, 999999880), 1600000000);
	assert_int_equal(py_mtime(1600000000, 999999881), 1600000001);
	assert_int_equal(pyci_python_mtime(1600000000, 999999880), 1600000000);
	assert_int_equal(pyci_python_mtime(1600000000, 999999881), 1600000001);

	/* agree with the independent computation over a sweep of nanoseconds and seconds */
	static const int64_t secs[] = {0,          1,          1000000000, 1600000000,
				       1700000000, 2147483647, 2147483648, 4294967295,
				       4294967296, -1,         -2,         -1000000000};
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		for (long ns = 999999000; ns <= 999999999; ns++)
			assert_int_equal(pyci_python_mtime(secs[i], ns), py_mtime(secs[i], ns));
		for (long ns = 0; ns < 1000000000; ns += 7777777)
			assert_int_equal(pyci_python_mtime(secs[i], ns), py_mtime(secs[i], ns));
	}
}

/* ---------------------------------------------------------------- pyci_timestamp_check */

static pyci_header ts_header(uint32_t magic, uint32_t mtime, int has_size, uint32_t size)
{
	pyci_header h;
	memset(&h, 0, sizeof(h));
	h.status = PYCI_HDR_OK;
	h.magic.word = magic;
	h.magic.number = magic & 0xFFFFu;
	h.mode = PYCI_MODE_TIMESTAMP;
	h.has_mtime = 1;
	h.mtime = mtime;
	h.has_source_size = has_size;
	h.source_size = size;
	return h;
}

static void test_rules_for(void **state)
{
	(void)state;
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 1, 5), PYCI_RULES_C_IMPORT);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 2, 7), PYCI_RULES_C_IMPORT);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_PYPY, 2, 7), PYCI_RULES_C_IMPORT);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 3, 2), PYCI_RULES_C_IMPORT);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 3, 3), PYCI_RULES_IMPORTLIB_UNMASKED);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 3, 6), PYCI_RULES_IMPORTLIB_UNMASKED);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 3, 7), PYCI_RULES_IMPORTLIB_MASKED);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 3, 12), PYCI_RULES_IMPORTLIB_MASKED);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_CPYTHON, 3, 16), PYCI_RULES_IMPORTLIB_MASKED);
	assert_int_equal(pyci_rules_for(PYCI_IMPL_PYPY, 3, 9), PYCI_RULES_IMPORTLIB_MASKED);
}

/*
 * Reference section 4 table.  For each source mtime: the field each generation stores, and
 * whether that generation reuses the cache.
 *   mtime          2.7 field    2.7 reuse  3.x field    3.3-3.6  3.7+
 *   1600000000.9   1600000000   yes        1600000000   yes      yes
 *   -1.5           0xFFFFFFFE   no         0xFFFFFFFF   no       yes
 *   2^31+5         0x80000005   no         0x80000005   yes      yes
 *   2^32+5         5            yes        5            no       yes
 */
static const struct {
	int64_t sec;
	long nsec;
	uint32_t field27, field3;
	int reuse27, reuse33, reuse37;
} ts_table[] = {
	{1600000000, 900000000, 1600000000u, 1600000000u, 1, 1, 1},
	{-2, 500000000, 0xFFFFFFFEu, 0xFFFFFFFFu, 0, 0, 1},
	{INT64_C(2147483653), 0, 0x80000005u, 0x80000005u, 0, 1, 1},
	{INT64_C(4294967301), 0, 5u, 5u, 1, 0, 1},
};

static void test_timestamp_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ts_table) / sizeof(ts_table[0]); i++) {
		const uint64_t size = 42;
		pyci_header h27 = ts_header(CRLF(62211), ts_table[i].field27, 0, 0);
		pyci_header h36 = ts_header(CRLF(3379), ts_table[i].field3, 1, 42);
		pyci_header h312 = ts_header(CRLF(3531), ts_table[i].field3, 1, 42);
		uint64_t r27 = pyci_timestamp_check(PYCI_RULES_C_IMPORT, &h27, ts_table[i].sec,
						    ts_table[i].nsec, size);
		uint64_t r36 = pyci_timestamp_check(PYCI_RULES_IMPORTLIB_UNMASKED, &h36,
						    ts_table[i].sec, ts_table[i].nsec, size);
		uint64_t r312 = pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h312,
						     ts_table[i].sec, ts_table[i].nsec, size);
		if ((r27 == 0) != ts_table[i].reuse27)
			fail_msg("row %zu, 2.7 rules: reasons %#llx, expected reuse=%d", i,
				 (unsigned long long)r27, ts_table[i].reuse27);
		if ((r36 == 0) != ts_table[i].reuse33)
			fail_msg("row %zu, 3.3-3.6 rules: reasons %#llx, expected reuse=%d", i,
				 (unsigned long long)r36, ts_table[i].reuse33);
		if ((r312 == 0) != ts_table[i].reuse37)
			fail_msg("row %zu, 3.7+ rules: reasons %#llx, expected reuse=%d", i,
				 (unsigned long long)r312, ts_table[i].reuse37);
		if (r27)
			assert_true(r27 & BIT(PYCI_R_MTIME_MISMATCH));
		if (r36)
			assert_true(r36 & BIT(PYCI_R_MTIME_MISMATCH));
		assert_false(r27 & BIT(PYCI_R_SIZE_MISMATCH));
		assert_false(r36 & BIT(PYCI_R_SIZE_MISMATCH));
	}
}

static void test_timestamp_reasons(void **state)
{
	(void)state;
	/* 2.7 after 2038: the field >= 2^31 is sign-extended and never matches */
	pyci_header h = ts_header(CRLF(62211), 0x80000005u, 0, 0);
	uint64_t r = pyci_timestamp_check(PYCI_RULES_C_IMPORT, &h, INT64_C(2147483653), 0, 0);
	assert_true(r & BIT(PYCI_R_MTIME_MISMATCH));
	assert_true(r & BIT(PYCI_R_MTIME_SIGNED));

	/* 3.3-3.6 after 2106: stores 5, compares 4294967301 */
	h = ts_header(CRLF(3379), 5, 1, 10);
	r = pyci_timestamp_check(PYCI_RULES_IMPORTLIB_UNMASKED, &h, INT64_C(4294967301), 0, 10);
	assert_true(r & BIT(PYCI_R_MTIME_MISMATCH));
	assert_true(r & BIT(PYCI_R_MTIME_UNMASKED));
	assert_false(r & BIT(PYCI_R_SIZE_MISMATCH));

	/* 2.x torn write: mtime 0 written first, patched last */
	h = ts_header(CRLF(62211), 0, 0, 0);
	r = pyci_timestamp_check(PYCI_RULES_C_IMPORT, &h, 1600000000, 0, 0);
	assert_true(r & BIT(PYCI_R_MTIME_MISMATCH));
	assert_true(r & BIT(PYCI_R_TORN_WRITE));

	/* a plain mismatch carries none of the special reasons */
	h = ts_header(CRLF(3531), 1600000000u, 1, 10);
	r = pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000007, 0, 10);
	assert_int_equal(r, BIT(PYCI_R_MTIME_MISMATCH));
}

static void test_timestamp_subsecond(void **state)
{
	(void)state;
	/* 3.x writes and compares int(st_mtime), which is 1600000001 for .999999999 */
	pyci_header h = ts_header(CRLF(3531), 1600000001u, 1, 1);
	assert_int_equal(
		pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000000, 999999999, 1), 0);
	h.mtime = 1600000000u;
	assert_true(
		pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000000, 999999999, 1) &
		BIT(PYCI_R_MTIME_MISMATCH));
	h.mtime = 1600000000u;
	assert_int_equal(
		pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000000, 999999880, 1), 0);
	h = ts_header(CRLF(3379), 1600000001u, 1, 1);
	assert_int_equal(
		pyci_timestamp_check(PYCI_RULES_IMPORTLIB_UNMASKED, &h, 1600000000, 999999999, 1),
		0);

	/* 2.7 import uses tv_sec: py_compile's 1600000001 is stale there, 1600000000 fresh */
	pyci_header h27 = ts_header(CRLF(62211), 1600000001u, 0, 0);
	assert_true(pyci_timestamp_check(PYCI_RULES_C_IMPORT, &h27, 1600000000, 999999999, 0) &
		    BIT(PYCI_R_MTIME_MISMATCH));
	h27.mtime = 1600000000u;
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_C_IMPORT, &h27, 1600000000, 999999999, 0),
			 0);
}

static void test_timestamp_size(void **state)
{
	(void)state;
	pyci_header h = ts_header(CRLF(3531), 1600000000u, 1, 100);
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000000, 0, 100),
			 0);
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000000, 0, 101),
			 BIT(PYCI_R_SIZE_MISMATCH));
	/* both wrong */
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000009, 0, 99),
			 BIT(PYCI_R_SIZE_MISMATCH) | BIT(PYCI_R_MTIME_MISMATCH));

	/* the size is masked to 32 bits, 3.3+ */
	uint64_t big = (UINT64_C(1) << 32) + 7;
	h = ts_header(CRLF(3531), 1600000000u, 1, 7);
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000000, 0, big),
			 0);
	h = ts_header(CRLF(3379), 1600000000u, 1, 7);
	assert_int_equal(
		pyci_timestamp_check(PYCI_RULES_IMPORTLIB_UNMASKED, &h, 1600000000, 0, big), 0);
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_IMPORTLIB_UNMASKED, &h, 1600000000, 0, 8),
			 BIT(PYCI_R_SIZE_MISMATCH));
	h = ts_header(CRLF(3531), 1600000000u, 1, 8);
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_IMPORTLIB_MASKED, &h, 1600000000, 0, big),
			 BIT(PYCI_R_SIZE_MISMATCH));

	/* 2.7 has no size field: any size */
	h = ts_header(CRLF(62211), 1600000000u, 0, 0);
	assert_int_equal(pyci_timestamp_check(PYCI_RULES_C_IMPORT, &h, 1600000000, 0, 12345), 0);
}

/* ---------------------------------------------------------------- pyci_judge */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A parsed 16-byte header with a body byte after it. */
static pyci_header hdr16(uint32_t magic, uint32_t flags, uint32_t f8, uint32_t f12)
{
	uint8_t b[17];
	put32(b, magic);
	put32(b + 4, flags);
	put32(b + 8, f8);
	put32(b + 12, f12);
	b[16] = 0xE3;
	pyci_header h;
	pyci_header_parse(b, sizeof(b), 1000, &h);
	return h;
}

static pyci_header hdr_hash(uint32_t magic, uint32_t flags, const uint8_t hash[8])
{
	uint8_t b[17];
	put32(b, magic);
	put32(b + 4, flags);
	memcpy(b + 8, hash, 8);
	b[16] = 0xE3;
	pyci_header h;
	assert_int_equal(pyci_header_parse(b, sizeof(b), 1000, &h), PYCI_HDR_OK);
	return h;
}

static pyci_header hdr8(uint32_t magic, uint32_t mtime)
{
	uint8_t b[9];
	put32(b, magic);
	put32(b + 4, mtime);
	b[8] = 0x63;
	pyci_header h;
	assert_int_equal(pyci_header_parse(b, sizeof(b), 1000, &h), PYCI_HDR_OK);
	return h;
}

static pyci_cache_name cname(const char *name, int in_pycache)
{
	pyci_cache_name c;
	assert_int_equal(pyci_cache_name_parse(name, strlen(name), in_pycache, &c), 0);
	return c;
}

static pyci_source_info src_ok(int64_t sec, long nsec, uint64_t size)
{
	pyci_source_info s = {.regular = 1, .mtime_sec = sec, .mtime_nsec = nsec, .size = size};
	return s;
}

static pyci_source_info src_err(int err)
{
	pyci_source_info s = {.err = err};
	return s;
}

/* Hash callback: counts calls, records its arguments, returns a set digest or fails. */
struct hash_ctx {
	int calls;
	uint32_t k0;
	int c, d;
	int fail_errno;
	uint8_t digest[8];
};

static int fake_hash(void *vctx, uint32_t k0, int c_rounds, int d_rounds, uint8_t out[8])
{
	struct hash_ctx *ctx = vctx;
	ctx->calls++;
	ctx->k0 = k0;
	ctx->c = c_rounds;
	ctx->d = d_rounds;
	if (ctx->fail_errno) {
		errno = ctx->fail_errno;
		return -1;
	}
	memcpy(out, ctx->digest, 8);
	return 0;
}

static pyci_verdict judge(const pyci_cache_name *n, const pyci_header *h, const pyci_source_info *s,
			  struct hash_ctx *hc, pyci_check_source check, const pyci_targets *targets)
{
	pyci_judge_input in;
	memset(&in, 0, sizeof(in));
	in.name = n;
	in.header = h;
	in.regular = 1;
	in.read_err = 0;
	in.source = s;
	in.hash = hc ? fake_hash : NULL;
	in.hash_ctx = hc;
	in.check = check;
	in.targets = targets;
	pyci_verdict v;
	memset(&v, 0x5a, sizeof(v));
	pyci_judge(&in, &v);
	return v;
}

static const uint8_t H_A[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t H_B[8] = {8, 7, 6, 5, 4, 3, 2, 1};

static void test_judge_fresh_timestamp(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	pyci_source_info s = src_ok(1600000000, 900000000, 42);
	struct hash_ctx hc = {0};
	pyci_verdict v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(v.foreign, 0);
	assert_int_equal(v.reasons, 0);
	assert_int_equal(v.source_errno, 0);
	assert_int_equal(v.owner_impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(v.owner_major, 3);
	assert_int_equal(v.owner_minor, 12);
	assert_int_equal(hc.calls, 0); /* timestamp pycs never hash */

	/* .999999999 rounds up: the field 3.12 wrote is 1600000001 */
	h = hdr16(CRLF(3531), 0, 1600000001u, 42);
	s = src_ok(1600000000, 999999999, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);

	/* flags 2 alone is a timestamp pyc */
	h = hdr16(CRLF(3531), 2, 1600000000u, 42);
	s = src_ok(1600000000, 0, 42);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_ALWAYS, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(hc.calls, 0);
}

static void test_judge_stale_timestamp(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	pyci_source_info s = src_ok(1600000005, 0, 42);
	pyci_verdict v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_MTIME_MISMATCH));
	assert_false(HAS(v, PYCI_R_SIZE_MISMATCH));
	assert_int_equal(v.foreign, 0);

	s = src_ok(1600000000, 0, 43);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_SIZE_MISMATCH));
	assert_false(HAS(v, PYCI_R_MTIME_MISMATCH));

	/* the owner's rules apply: a 3.6 cache of a source dated after 2106 is stale */
	n = cname("mod.cpython-36.pyc", 1);
	uint8_t b[13] = {0};
	put32(b, CRLF(3379));
	put32(b + 4, 5);
	put32(b + 8, 42);
	b[12] = 0xE3;
	pyci_header h36;
	assert_int_equal(pyci_header_parse(b, sizeof(b), 1000, &h36), PYCI_HDR_OK);
	s = src_ok(INT64_C(4294967301), 0, 42);
	v = judge(&n, &h36, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_MTIME_MISMATCH));
	/* ... while 3.12 reuses the same field */
	n = cname("mod.cpython-312.pyc", 1);
	h = hdr16(CRLF(3531), 0, 5, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
}

static void test_judge_orphaned(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	pyci_source_info s = src_err(ENOENT);
	pyci_verdict v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_true(HAS(v, PYCI_R_NO_SOURCE));
	assert_false(HAS(v, PYCI_R_MTIME_MISMATCH));

	s = src_err(ENOTDIR);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_true(HAS(v, PYCI_R_NO_SOURCE));

	/* a hash-based orphan is not hashed */
	struct hash_ctx hc = {0};
	h = hdr_hash(CRLF(3531), 3, H_A);
	s = src_err(ENOENT);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_ALWAYS, NULL);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(hc.calls, 0);

	/* no __pycache__ tag at all: no import looks it up */
	n = cname("mod.pyc", 1);
	assert_int_equal(n.kind, PYCI_NAME_PYCACHE_BAD);
	h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	v = judge(&n, &h, NULL, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_true(HAS(v, PYCI_R_BAD_CACHE_NAME));
}

static void test_judge_sourceless(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.pyc", 0);
	pyci_header h = hdr8(CRLF(62211), 1600000000u);
	pyci_source_info s = src_err(ENOENT);
	pyci_verdict v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_SOURCELESS);
	assert_true(HAS(v, PYCI_R_SOURCELESS));
	assert_int_equal(v.owner_impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(v.owner_major, 2);
	assert_int_equal(v.owner_minor, 7);

	/* compileall -b output, 3.12 */
	h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_SOURCELESS);
	assert_int_equal(v.owner_minor, 12);

	/* a prefix tree's NAME.TAG.pyc walked as a plain tree: no import looks it up there,
	 * whether or not a file NAME.TAG.py happens to exist; in a zip, zipimport never either */
	n = cname("mod.cpython-312.pyc", 0);
	pyci_source_info present = src_ok(1600000000, 0, 42);
	const pyci_source_info *srcs[] = {NULL, &s, &present};
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		v = judge(&n, &h, srcs[i], NULL, PYCI_CHECK_DEFAULT, NULL);
		assert_int_equal(v.status, PYCI_ORPHANED);
		assert_int_equal(v.reasons, PYCI_REASON_BIT(PYCI_R_PREFIX_NAME));
	}
	pyci_judge_input zin = {.name = &n, .header = &h, .regular = 1, .zipimport = 1};
	pyci_judge(&zin, &v);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.reasons, PYCI_REASON_BIT(PYCI_R_BAD_CACHE_NAME));
}

static void test_judge_legacy_with_source(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.pyc", 0);
	pyci_source_info s = src_ok(1600000000, 0, 42);

	/* 2.7 loads mod.pyc beside mod.py when its mtime matches */
	pyci_header h = hdr8(CRLF(62211), 1600000000u);
	pyci_verdict v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_false(HAS(v, PYCI_R_LEGACY_SHADOWED));
	h = hdr8(CRLF(62211), 1599999999u);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_MTIME_MISMATCH));

	/* 3.2+ never loads a legacy pyc that has a .py beside it */
	h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_true(HAS(v, PYCI_R_LEGACY_SHADOWED));
	assert_int_equal(v.owner_minor, 12);
	h = hdr8(CRLF(3180), 1600000000u); /* 3.2 */
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_true(HAS(v, PYCI_R_LEGACY_SHADOWED));
	/* 3.1 still used NAME.pyc */
	h = hdr8(CRLF(3151), 1600000000u);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_false(HAS(v, PYCI_R_LEGACY_SHADOWED));
	assert_int_equal(v.status, PYCI_FRESH);
}

static void test_judge_tag_mismatch(void **state)
{
	(void)state;
	/* 3.12 reads mod.cpython-312.pyc, finds 3.11's magic and recompiles */
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr16(CRLF(3495), 0, 1600000000u, 42);
	pyci_source_info s = src_ok(1600000000, 0, 42);
	pyci_verdict v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_TAG_MISMATCH));
	assert_int_equal(v.owner_impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(v.owner_major, 3);
	assert_int_equal(v.owner_minor, 12);

	/* a PyPy 3.9 magic under a cpython-39 tag */
	n = cname("mod.cpython-39.pyc", 1);
	h = hdr16(CRLF(336), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_TAG_MISMATCH));
	assert_int_equal(v.owner_impl, PYCI_IMPL_CPYTHON);

	/* and the right one under pypy39 */
	n = cname("mod.pypy39.pyc", 1);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(v.owner_impl, PYCI_IMPL_PYPY);
	assert_int_equal(v.owner_minor, 9);
}

static void test_judge_checked_hash(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr_hash(CRLF(3531), 3, H_A);
	pyci_source_info s = src_ok(1600000000, 0, 42);

	struct hash_ctx hc = {0};
	memcpy(hc.digest, H_A, 8);
	pyci_verdict v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(hc.calls, 1);
	/* key = the magic word with \r\n, SipHash-1-3 from 3.11 (reference section 3) */
	assert_int_equal(hc.k0, 0x0A0D0DCBu);
	assert_int_equal(hc.c, 1);
	assert_int_equal(hc.d, 3);

	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_B, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_HASH_MISMATCH));
	assert_false(HAS(v, PYCI_R_UNCHECKED_STALE));
	assert_int_equal(hc.calls, 1);

	/* always: same */
	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_B, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_ALWAYS, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_HASH_MISMATCH));

	/* never: CPython runs the stale code; the source is not read */
	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_B, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_NEVER, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(hc.calls, 0);
	assert_false(HAS(v, PYCI_R_HASH_MISMATCH));

	/* 3.7-3.10 use SipHash-2-4 */
	n = cname("mod.cpython-37.pyc", 1);
	h = hdr_hash(CRLF(3394), 3, H_A);
	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_A, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(hc.k0, 0x0A0D0D42u);
	assert_int_equal(hc.c, 2);
	assert_int_equal(hc.d, 4);

	/* PyPy keys with its own magic, SipHash-2-4 */
	n = cname("mod.pypy39.pyc", 1);
	h = hdr_hash(CRLF(336), 3, H_A);
	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_A, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(hc.k0, 0x0A0D0150u);
	assert_int_equal(hc.c, 2);
	assert_int_equal(hc.d, 4);
}

static void test_judge_unchecked_hash(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr_hash(CRLF(3531), 1, H_A);
	pyci_source_info s = src_ok(1600000000, 0, 42);
	struct hash_ctx hc = {0};

	/* matching: fresh under every mode */
	memcpy(hc.digest, H_A, 8);
	pyci_verdict v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_ALWAYS, NULL);
	assert_int_equal(v.status, PYCI_FRESH);

	/* default: CPython trusts it and runs outdated code; reported stale with its own reason */
	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_B, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_UNCHECKED_STALE));
	assert_false(HAS(v, PYCI_R_HASH_MISMATCH));
	assert_true(hc.calls <= 1);

	/* always: CPython checks and recompiles */
	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_B, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_ALWAYS, NULL);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_HASH_MISMATCH));
	assert_false(HAS(v, PYCI_R_UNCHECKED_STALE));
	assert_int_equal(hc.calls, 1);

	/* never: fresh, the hash callback is never called */
	memset(&hc, 0, sizeof(hc));
	memcpy(hc.digest, H_B, 8);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_NEVER, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(hc.calls, 0);
	assert_false(HAS(v, PYCI_R_HASH_MISMATCH));
	assert_false(HAS(v, PYCI_R_UNCHECKED_STALE));
}

static void test_judge_hash_fails(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr_hash(CRLF(3531), 3, H_A);
	pyci_source_info s = src_ok(1600000000, 0, 42);
	struct hash_ctx hc = {0};
	hc.fail_errno = EACCES;
	pyci_verdict v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_SOURCE_UNREADABLE));
	assert_int_equal(v.source_errno, EACCES);
	assert_int_equal(hc.calls, 1);
}

/* A source that exists but cannot be stat'ed (EACCES, ELOOP, EIO) is not gone: the cache is
 * invalid, never orphaned or sourceless, whatever its header; ENOENT and ENOTDIR are gone. */
static void test_judge_source_uncheckable(void **state)
{
	(void)state;
	static const int errs[] = {EACCES, ELOOP, EIO};
	pyci_header ts = hdr16(CRLF(3531), 0, 1600000000, 42);
	pyci_header bad = hdr16(CRLF(3531), 4, 0, 0);
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		pyci_source_info s = {.err = errs[i]};
		struct hash_ctx hc = {0};
		for (int legacy = 0; legacy < 2; legacy++) {
			pyci_cache_name n =
				cname(legacy ? "mod.pyc" : "mod.cpython-312.pyc", !legacy);
			pyci_verdict v = judge(&n, &ts, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
			assert_int_equal(v.status, PYCI_INVALID);
			assert_true(HAS(v, PYCI_R_SOURCE_UNREADABLE));
			assert_false(HAS(v, PYCI_R_NO_SOURCE));
			assert_false(HAS(v, PYCI_R_SOURCELESS));
			v = judge(&n, &bad, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
			assert_int_equal(v.status, PYCI_INVALID);
			assert_true(HAS(v, PYCI_R_SOURCE_UNREADABLE));
			assert_false(HAS(v, PYCI_R_NO_SOURCE));
		}
		assert_int_equal(hc.calls, 0);
	}
	static const int gone[] = {ENOENT, ENOTDIR};
	for (size_t i = 0; i < 2; i++) {
		pyci_source_info s = {.err = gone[i]};
		struct hash_ctx hc = {0};
		pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
		pyci_verdict v = judge(&n, &ts, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
		assert_int_equal(v.status, PYCI_ORPHANED);
		assert_true(HAS(v, PYCI_R_NO_SOURCE));
		assert_false(HAS(v, PYCI_R_SOURCE_UNREADABLE));
		v = judge(&n, &bad, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
		assert_int_equal(v.status, PYCI_INVALID);
		assert_true(HAS(v, PYCI_R_NO_SOURCE));
	}
}

static void test_judge_bad_header(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_source_info s = src_ok(1600000000, 0, 42);
	struct hash_ctx hc = {0};

	pyci_header h = hdr16(CRLF(3531), 4, 0, 0);
	assert_int_equal(h.status, PYCI_HDR_BAD_FLAGS);
	pyci_verdict v = judge(&n, &h, &s, &hc, PYCI_CHECK_ALWAYS, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_BAD_FLAGS));
	assert_int_equal(hc.calls, 0);

	h = hdr16(CRLF(3531), 0x80000000u, 0, 0);
	v = judge(&n, &h, &s, &hc, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_BAD_FLAGS));

	/* 10-byte file with 3.12's magic */
	uint8_t b[10] = {0};
	put32(b, CRLF(3531));
	pyci_header_parse(b, sizeof(b), sizeof(b), &h);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_TRUNCATED));

	put32(b, 0xdeadbeefu);
	pyci_header_parse(b, sizeof(b), sizeof(b), &h);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_BAD_MAGIC));

	pyci_header_parse(b, 0, 0, &h);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_EMPTY));

	/* header only */
	uint8_t c[16] = {0};
	put32(c, CRLF(3531));
	pyci_header_parse(c, sizeof(c), sizeof(c), &h);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_NO_BODY));

	/* no code object after the header, or too little of one */
	uint8_t d[17] = {0};
	put32(d, CRLF(3531));
	d[16] = 'N';
	assert_int_equal(pyci_header_parse(d, sizeof(d), 1000, &h), PYCI_HDR_NOT_CODE);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_NOT_CODE));
	d[16] = 0xE3;
	assert_int_equal(pyci_header_parse(d, sizeof(d), sizeof(d), &h), PYCI_HDR_SHORT_BODY);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_SHORT_BODY));

	/* an invalid cache whose source is gone says so too */
	pyci_source_info gone = src_err(ENOENT);
	v = judge(&n, &h, &gone, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_SHORT_BODY));

	/* not a regular file, unreadable */
	h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	pyci_judge_input in;
	memset(&in, 0, sizeof(in));
	in.name = &n;
	in.header = &h;
	in.regular = 0;
	in.source = &s;
	pyci_judge(&in, &v);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_NOT_REGULAR));
	in.regular = 1;
	in.read_err = EACCES;
	pyci_judge(&in, &v);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_UNREADABLE));
}

static void test_judge_foreign(void **state)
{
	(void)state;
	pyci_targets t;
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_spec(&t, "3.12", 4), 0);
	pyci_source_info s = src_ok(1600000000, 0, 42);

	/* a fresh 3.11 cache when only 3.12 is a target */
	pyci_cache_name n = cname("mod.cpython-311.pyc", 1);
	pyci_header h = hdr16(CRLF(3495), 0, 1600000000u, 42);
	pyci_verdict v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, &t);
	assert_int_equal(v.status, PYCI_FOREIGN);
	assert_int_equal(v.foreign, 1);
	assert_true(HAS(v, PYCI_R_NOT_TARGET));
	assert_int_equal(v.owner_minor, 11);

	/* stale keeps its status, foreign is still set */
	s = src_ok(1600000099, 0, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, &t);
	assert_int_equal(v.status, PYCI_STALE);
	assert_int_equal(v.foreign, 1);
	assert_true(HAS(v, PYCI_R_MTIME_MISMATCH));
	assert_true(HAS(v, PYCI_R_NOT_TARGET));

	/* a target's own final-release cache is not foreign */
	s = src_ok(1600000000, 0, 42);
	n = cname("mod.cpython-312.pyc", 1);
	h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, &t);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(v.foreign, 0);
	assert_false(HAS(v, PYCI_R_NOT_TARGET));

	/* 3.12b1's 3525: the final 3.12 reads it as a bad magic */
	h = hdr16(CRLF(3525), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, &t);
	assert_int_equal(v.status, PYCI_FOREIGN);
	assert_int_equal(v.foreign, 1);
	assert_true(HAS(v, PYCI_R_PRERELEASE));
	assert_false(HAS(v, PYCI_R_NOT_TARGET));

	/* without targets nothing is foreign */
	n = cname("mod.cpython-311.pyc", 1);
	h = hdr16(CRLF(3495), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(v.foreign, 0);
	assert_false(HAS(v, PYCI_R_NOT_TARGET));
	n = cname("mod.cpython-312.pyc", 1);
	h = hdr16(CRLF(3525), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, NULL);
	assert_int_equal(v.foreign, 0);
	assert_false(HAS(v, PYCI_R_PRERELEASE));

	/* PyPy 3.9 is not CPython 3.9 */
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_spec(&t, "3.9", 3), 0);
	n = cname("mod.pypy39.pyc", 1);
	h = hdr16(CRLF(336), 0, 1600000000u, 42);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, &t);
	assert_int_equal(v.status, PYCI_FOREIGN);
	assert_true(HAS(v, PYCI_R_NOT_TARGET));
	assert_int_equal(pyci_targets_add_spec(&t, "pypy39", 6), 0);
	v = judge(&n, &h, &s, NULL, PYCI_CHECK_DEFAULT, &t);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(v.foreign, 0);
}

/* Shadow callback: counts calls, keeps the finder it was given, answers a set kind. */
struct shadow_stub {
	int calls;
	pyci_shadow_kind kind;
	pyci_finder f;
};

static void stub_shadow(void *vctx, const pyci_finder *f, pyci_shadow *out)
{
	struct shadow_stub *st = vctx;
	st->calls++;
	st->f = *f;
	memset(out, 0, sizeof(*out));
	out->kind = st->kind;
	if (st->kind != PYCI_SHADOW_NONE)
		strcpy(out->suffix, st->kind == PYCI_SHADOW_PACKAGE ? "/__init__.py" : ".so");
}

static pyci_verdict judge_shadow(const pyci_cache_name *n, const pyci_header *h,
				 const pyci_source_info *s, struct hash_ctx *hc,
				 const pyci_targets *t, struct shadow_stub *st)
{
	pyci_judge_input in;
	memset(&in, 0, sizeof(in));
	in.name = n;
	in.header = h;
	in.regular = 1;
	in.source = s;
	in.hash = hc ? fake_hash : NULL;
	in.hash_ctx = hc;
	in.shadow = stub_shadow;
	in.shadow_ctx = st;
	in.targets = t;
	pyci_verdict v;
	memset(&v, 0x5a, sizeof(v));
	pyci_judge(&in, &v);
	return v;
}

static pyci_verdict judge_zip(const char *name, const pyci_header *h, const pyci_source_info *s,
			      struct hash_ctx *hc, pyci_check_source check)
{
	pyci_cache_name n = cname(name, 0);
	pyci_judge_input in = {.name = &n,
			       .header = h,
			       .regular = 1,
			       .source = s,
			       .hash = hc ? fake_hash : NULL,
			       .hash_ctx = hc,
			       .check = check,
			       .zipimport = 1};
	pyci_verdict v;
	pyci_judge(&in, &v);
	return v;
}

static int has_suffix(const pyci_finder *f, const char *s)
{
	for (size_t i = 0; i < f->next; i++)
		if (strcmp(f->ext[i], s) == 0)
			return 1;
	return 0;
}

static void test_judge_shadowed(void **state)
{
	(void)state;
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_header h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	pyci_source_info s = src_ok(1600000000, 0, 42);

	/* nothing there: as without the callback, which was given 3.12's finder */
	struct shadow_stub st = {0};
	pyci_verdict v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(v.reasons, 0);
	assert_int_equal(v.shadow.kind, PYCI_SHADOW_NONE);
	assert_true(has_suffix(&st.f, ".abi3.so"));
	assert_true(st.f.packages);
	assert_string_equal(st.f.init[st.f.ninit - 1], ".pyc");

	/* a package: orphaned, and a stale cache's freshness is not asked */
	st = (struct shadow_stub){.kind = PYCI_SHADOW_PACKAGE};
	s = src_ok(1600000099, 0, 43);
	v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.reasons, BIT(PYCI_R_SHADOWED_PACKAGE));
	assert_int_equal(v.shadow.kind, PYCI_SHADOW_PACKAGE);
	assert_string_equal(v.shadow.suffix, "/__init__.py");

	/* an extension module; a hash-based cache's source is not hashed */
	struct hash_ctx hc = {0};
	st = (struct shadow_stub){.kind = PYCI_SHADOW_EXTENSION};
	h = hdr_hash(CRLF(3531), 3, H_A);
	v = judge_shadow(&n, &h, &s, &hc, NULL, &st);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.reasons, BIT(PYCI_R_SHADOWED_EXTENSION));
	assert_int_equal(hc.calls, 0);

	/* the owner is the tag's interpreter: PyPy 3.9's finder */
	n = cname("mod.pypy39.pyc", 1);
	h = hdr16(CRLF(336), 0, 1600000000u, 42);
	st = (struct shadow_stub){0};
	v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.f.next, 1);
	assert_false(has_suffix(&st.f, ".so"));
	assert_int_equal(strncmp(st.f.ext[0], ".pypy39-pp73-", 13), 0);

	/* a foreign cache keeps orphaned, with foreign set */
	pyci_targets t;
	pyci_targets_init(&t);
	assert_int_equal(pyci_targets_add_spec(&t, "3.12", 4), 0);
	n = cname("mod.cpython-311.pyc", 1);
	h = hdr16(CRLF(3495), 0, 1600000000u, 42);
	s = src_ok(1600000000, 0, 42);
	st = (struct shadow_stub){.kind = PYCI_SHADOW_PACKAGE};
	v = judge_shadow(&n, &h, &s, NULL, &t, &st);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.foreign, 1);
	assert_int_equal(v.reasons, BIT(PYCI_R_SHADOWED_PACKAGE) | BIT(PYCI_R_NOT_TARGET));

	/* a sourceless legacy pyc is never reached either: orphaned, not sourceless (2.7's
	 * finder for .pyo caches wants __init__.pyo) */
	n = cname("mod.pyo", 0);
	h = hdr8(CRLF(62211), 1600000000u);
	s = src_err(ENOENT);
	st = (struct shadow_stub){.kind = PYCI_SHADOW_PACKAGE};
	v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.reasons, BIT(PYCI_R_SHADOWED_PACKAGE));
	assert_string_equal(st.f.init[st.f.ninit - 1], ".pyo");
	assert_true(has_suffix(&st.f, "module.so"));

	/* nor is a 3.12 legacy pyc beside its source: the package wins, not the .py */
	n = cname("mod.pyc", 0);
	h = hdr16(CRLF(3531), 0, 1600000000u, 42);
	s = src_ok(1600000000, 0, 42);
	v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.reasons, BIT(PYCI_R_SHADOWED_PACKAGE));

	/* not asked: the source is gone, cannot be checked, or the cache is broken */
	st = (struct shadow_stub){.kind = PYCI_SHADOW_PACKAGE};
	n = cname("mod.cpython-312.pyc", 1);
	s = src_err(ENOENT);
	v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.reasons, BIT(PYCI_R_NO_SOURCE));
	s = src_err(EACCES);
	v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(v.status, PYCI_INVALID);
	s = src_ok(1600000000, 0, 42);
	h = hdr16(CRLF(3531), 4, 1600000000u, 42);
	v = judge_shadow(&n, &h, &s, NULL, NULL, &st);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_int_equal(st.calls, 0);
}

static void test_zip_timestamp(void **state)
{
	(void)state;
	const int64_t dos = 1683356890; /* even: DOS times are */
	pyci_source_info s = src_ok(dos, 0, 6);
	for (int d = -3; d <= 3; d++) {
		pyci_header h = hdr16(CRLF(3531), 0, (uint32_t)(dos + d), 6);
		pyci_verdict v = judge_zip("mod.pyc", &h, &s, NULL, PYCI_CHECK_DEFAULT);
		int fresh = d >= -1 && d <= 1;
		assert_int_equal(v.status, fresh ? PYCI_FRESH : PYCI_STALE);
		assert_int_equal(HAS(v, PYCI_R_MTIME_MISMATCH), !fresh);
		assert_int_equal(HAS(v, PYCI_R_ZIP_NOT_REWRITTEN), !fresh);
		assert_false(HAS(v, PYCI_R_LEGACY_SHADOWED)); /* the .pyc wins in a zip */
	}
	/* the size: from 3.8 only */
	pyci_header h = hdr16(CRLF(3531), 0, (uint32_t)dos, 7);
	pyci_verdict v = judge_zip("mod.pyc", &h, &s, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_SIZE_MISMATCH));
	h = hdr16(CRLF(3394), 0, (uint32_t)dos, 7); /* 3.7 */
	v = judge_zip("mod.pyc", &h, &s, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_FRESH);
	h = ts_header(CRLF(3379), (uint32_t)dos + 1, 1, 99); /* 3.6 */
	v = judge_zip("mod.pyc", &h, &s, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_FRESH);
	/* 2.7: the field is compared unsigned, past 2038 too */
	pyci_source_info s2040 = src_ok(INT64_C(2219814490), 0, 6);
	h = hdr8(CRLF(62211), 2219814491u);
	v = judge_zip("mod.pyc", &h, &s2040, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_FRESH);
	/* a DOS time of 0 is not compared (zipimport's `if source_mtime:`) */
	pyci_source_info s0 = src_ok(0, 0, 6);
	h = hdr16(CRLF(3531), 0, 5, 6);
	v = judge_zip("mod.pyc", &h, &s0, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_int_equal(pyci_zip_timestamp_check(3, 12, &h, 0, 6), 0);
}

static void test_zip_places(void **state)
{
	(void)state;
	pyci_source_info s = src_ok(1683356890, 0, 6);
	pyci_source_info gone = src_err(ENOENT);
	pyci_header h = hdr16(CRLF(3531), 0, 1683356890u, 6);
	pyci_cache_name n = cname("mod.cpython-312.pyc", 1);
	pyci_judge_input in = {
		.name = &n, .header = &h, .regular = 1, .source = &s, .zipimport = 1};
	pyci_verdict v;
	pyci_judge(&in, &v);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_int_equal(v.reasons, BIT(PYCI_R_ZIP_PYCACHE));
	/* a 3.5+ .pyo is never looked up; 2.7's is */
	v = judge_zip("mod.pyo", &h, &s, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_ORPHANED);
	assert_true(HAS(v, PYCI_R_PYO_IGNORED));
	pyci_header h27 = hdr8(CRLF(62211), 1683356890u);
	v = judge_zip("mod.pyo", &h27, &s, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_FRESH);
	/* no source: imported as it is */
	v = judge_zip("mod.pyc", &h, &gone, NULL, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_SOURCELESS);
}

static void test_zip_hash(void **state)
{
	(void)state;
	pyci_source_info s = src_ok(1683356890, 0, 6);
	pyci_source_info gone = src_err(ENOENT);
	struct hash_ctx hc = {0};
	memcpy(hc.digest, H_A, 8);
	/* 3.8+: a checked hash is checked against the source member, as in a directory */
	pyci_header h = hdr_hash(CRLF(3531), 3, H_A);
	pyci_verdict v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_FRESH);
	h = hdr_hash(CRLF(3531), 3, H_B);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_HASH_MISMATCH));
	assert_true(HAS(v, PYCI_R_ZIP_NOT_REWRITTEN));
	/* an unchecked one whose source changed runs as it is */
	h = hdr_hash(CRLF(3531), 1, H_B);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_UNCHECKED_STALE));
	assert_false(HAS(v, PYCI_R_ZIP_NOT_REWRITTEN));
	/* 3.7 passes over checked hashes, even good ones, and flags 2; not unchecked ones */
	hc.calls = 0;
	h = hdr_hash(CRLF(3394), 3, H_A);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_STALE);
	assert_true(HAS(v, PYCI_R_ZIP_HASH_37));
	assert_int_equal(hc.calls, 0);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_NEVER);
	assert_int_equal(v.status, PYCI_FRESH);
	h = hdr16(CRLF(3394), 2, 1683356890u, 6);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_DEFAULT);
	assert_true(HAS(v, PYCI_R_ZIP_HASH_37));
	h = hdr_hash(CRLF(3394), 1, H_A);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_FRESH);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_ALWAYS);
	assert_true(HAS(v, PYCI_R_ZIP_HASH_37));
	/* under "never" 3.7 reads no flag at all: even invalid ones load */
	h = hdr16(CRLF(3394), 4, 1683356890u, 6);
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_NEVER);
	assert_int_equal(v.status, PYCI_FRESH);
	assert_true(HAS(v, PYCI_R_BAD_FLAGS));
	v = judge_zip("mod.pyc", &h, &s, &hc, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_INVALID);
	/* ...and without a source, its import fails */
	h = hdr_hash(CRLF(3394), 3, H_A);
	v = judge_zip("mod.pyc", &h, &gone, &hc, PYCI_CHECK_DEFAULT);
	assert_int_equal(v.status, PYCI_INVALID);
	assert_true(HAS(v, PYCI_R_ZIP_HASH_37));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pyci_status_name(PYCI_FRESH), "fresh");
	assert_string_equal(pyci_status_name(PYCI_STALE), "stale");
	assert_string_equal(pyci_status_name(PYCI_ORPHANED), "orphaned");
	assert_string_equal(pyci_status_name(PYCI_SOURCELESS), "sourceless");
	assert_string_equal(pyci_status_name(PYCI_INVALID), "invalid");
	assert_string_equal(pyci_status_name(PYCI_FOREIGN), "foreign");
	for (int r = 0; r < PYCI_R_COUNT; r++) {
		const char *txt = pyci_reason_text((pyci_reason)r);
		assert_non_null(txt);
		assert_true(txt[0] != '\0');
		for (int q = 0; q < r; q++)
			assert_string_not_equal(txt, pyci_reason_text((pyci_reason)q));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_python_mtime_reference),
		cmocka_unit_test(test_python_mtime_crossover),
		cmocka_unit_test(test_rules_for),
		cmocka_unit_test(test_timestamp_table),
		cmocka_unit_test(test_timestamp_reasons),
		cmocka_unit_test(test_timestamp_subsecond),
		cmocka_unit_test(test_timestamp_size),
		cmocka_unit_test(test_judge_fresh_timestamp),
		cmocka_unit_test(test_judge_stale_timestamp),
		cmocka_unit_test(test_judge_orphaned),
		cmocka_unit_test(test_judge_sourceless),
		cmocka_unit_test(test_judge_legacy_with_source),
		cmocka_unit_test(test_judge_tag_mismatch),
		cmocka_unit_test(test_judge_checked_hash),
		cmocka_unit_test(test_judge_unchecked_hash),
		cmocka_unit_test(test_judge_hash_fails),
		cmocka_unit_test(test_judge_source_uncheckable),
		cmocka_unit_test(test_judge_bad_header),
		cmocka_unit_test(test_judge_foreign),
		cmocka_unit_test(test_judge_shadowed),
		cmocka_unit_test(test_zip_timestamp),
		cmocka_unit_test(test_zip_places),
		cmocka_unit_test(test_zip_hash),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
