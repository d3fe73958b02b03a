/*
 * test_magic.c - unit tests for magic.h: the magic-number table and its lookups.
 *
 * Covers: every row of pyci_magic_table() round-tripping through pyci_magic_lookup_word; every
 * CPython magic of the reference table (magic_numbers.tsv, embedded below) being known with the
 * right version and final flag; the final magic of each release (reference section 1.2); the
 * 1.0/1.1 raw words; -U variants; range matches (3496); PyPy magics; unknown words; header sizes
 * (8/12/16 boundaries, PyPy by language version); pyci_magic_final_word;
 * pyci_magic_release_writes (which row a release such as 3.5.1 writes, from final_for).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/magic.h"

#define CRLF(m) (0x0A0D0000u | (uint32_t)(m))

/* All 256 CPython rows of the reference's magic_numbers.tsv: LE word, version the label belongs
 * to ("3000 (py3k dev)" rows belong to 3.0), and whether final_release_for is filled in. */
static const struct ref_row {
	uint32_t word;
	int major, minor;
	int final;
} ref_rows[] = {
	{0x00999902u, 1, 0, 1},  {0x00999903u, 1, 1, 1},  {0x0a0d2e89u, 1, 3, 1},
	{0x0a0d1704u, 1, 4, 1},  {0x0a0d4e99u, 1, 5, 1},  {0x0a0dc4fcu, 1, 6, 1},
	{0x0a0dc687u, 2, 0, 1},  {0x0a0deb2au, 2, 1, 1},  {0x0a0ded2du, 2, 2, 1},
	{0x0a0df23bu, 2, 3, 1},  {0x0a0df245u, 2, 3, 0},  {0x0a0df259u, 2, 4, 0},
	{0x0a0df263u, 2, 4, 0},  {0x0a0df26du, 2, 4, 1},  {0x0a0df277u, 2, 5, 0},
	{0x0a0df281u, 2, 5, 0},  {0x0a0df28bu, 2, 5, 0},  {0x0a0df28cu, 2, 5, 0},
	{0x0a0df295u, 2, 5, 0},  {0x0a0df29fu, 2, 5, 0},  {0x0a0df2a9u, 2, 5, 0},
	{0x0a0df2b3u, 2, 5, 1},  {0x0a0df2c7u, 2, 6, 0},  {0x0a0df2d1u, 2, 6, 1},
	{0x0a0df2dbu, 2, 7, 0},  {0x0a0df2e5u, 2, 7, 0},  {0x0a0df2efu, 2, 7, 0},
	{0x0a0df2f9u, 2, 7, 0},  {0x0a0df303u, 2, 7, 1},  {0x0a0d0bb8u, 3, 0, 0},
	{0x0a0d0bc2u, 3, 0, 0},  {0x0a0d0bccu, 3, 0, 0},  {0x0a0d0bd6u, 3, 0, 0},
	{0x0a0d0be0u, 3, 0, 0},  {0x0a0d0beau, 3, 0, 0},  {0x0a0d0bf4u, 3, 0, 0},
	{0x0a0d0bf5u, 3, 0, 0},  {0x0a0d0bffu, 3, 0, 0},  {0x0a0d0c09u, 3, 0, 0},
	{0x0a0d0c13u, 3, 0, 0},  {0x0a0d0c1du, 3, 0, 0},  {0x0a0d0c1fu, 3, 0, 0},
	{0x0a0d0c27u, 3, 0, 0},  {0x0a0d0c3bu, 3, 0, 1},  {0x0a0d0c45u, 3, 1, 0},
	{0x0a0d0c4fu, 3, 1, 1},  {0x0a0d0c58u, 3, 2, 0},  {0x0a0d0c62u, 3, 2, 0},
	{0x0a0d0c6cu, 3, 2, 1},  {0x0a0d0c76u, 3, 3, 0},  {0x0a0d0c80u, 3, 3, 0},
	{0x0a0d0c8au, 3, 3, 0},  {0x0a0d0c94u, 3, 3, 0},  {0x0a0d0c9eu, 3, 3, 1},
	{0x0a0d0cb2u, 3, 4, 0},  {0x0a0d0cbcu, 3, 4, 0},  {0x0a0d0cc6u, 3, 4, 0},
	{0x0a0d0cd0u, 3, 4, 0},  {0x0a0d0cdau, 3, 4, 0},  {0x0a0d0ce4u, 3, 4, 0},
	{0x0a0d0ceeu, 3, 4, 1},  {0x0a0d0cf8u, 3, 5, 0},  {0x0a0d0d02u, 3, 5, 0},
	{0x0a0d0d0cu, 3, 5, 0},  {0x0a0d0d16u, 3, 5, 1},  {0x0a0d0d17u, 3, 5, 1},
	{0x0a0d0d20u, 3, 6, 0},  {0x0a0d0d21u, 3, 6, 0},  {0x0a0d0d2au, 3, 6, 0},
	{0x0a0d0d2bu, 3, 6, 0},  {0x0a0d0d2cu, 3, 6, 0},  {0x0a0d0d2du, 3, 6, 0},
	{0x0a0d0d2fu, 3, 6, 0},  {0x0a0d0d30u, 3, 6, 0},  {0x0a0d0d31u, 3, 6, 0},
	{0x0a0d0d32u, 3, 6, 0},  {0x0a0d0d33u, 3, 6, 1},  {0x0a0d0d3eu, 3, 7, 0},
	{0x0a0d0d3fu, 3, 7, 0},  {0x0a0d0d40u, 3, 7, 0},  {0x0a0d0d41u, 3, 7, 0},
	{0x0a0d0d42u, 3, 7, 1},  {0x0a0d0d48u, 3, 8, 0},  {0x0a0d0d49u, 3, 8, 0},
	{0x0a0d0d52u, 3, 8, 0},  {0x0a0d0d53u, 3, 8, 0},  {0x0a0d0d54u, 3, 8, 0},
	{0x0a0d0d55u, 3, 8, 1},  {0x0a0d0d5cu, 3, 9, 0},  {0x0a0d0d5du, 3, 9, 0},
	{0x0a0d0d5eu, 3, 9, 0},  {0x0a0d0d5fu, 3, 9, 0},  {0x0a0d0d60u, 3, 9, 0},
	{0x0a0d0d61u, 3, 9, 1},  {0x0a0d0d66u, 3, 10, 0}, {0x0a0d0d67u, 3, 10, 0},
	{0x0a0d0d68u, 3, 10, 0}, {0x0a0d0d69u, 3, 10, 0}, {0x0a0d0d6au, 3, 10, 0},
	{0x0a0d0d6bu, 3, 10, 0}, {0x0a0d0d6cu, 3, 10, 0}, {0x0a0d0d6du, 3, 10, 0},
	{0x0a0d0d6eu, 3, 10, 0}, {0x0a0d0d6fu, 3, 10, 1}, {0x0a0d0d7au, 3, 11, 0},
	{0x0a0d0d7bu, 3, 11, 0}, {0x0a0d0d7cu, 3, 11, 0}, {0x0a0d0d7du, 3, 11, 0},
	{0x0a0d0d7eu, 3, 11, 0}, {0x0a0d0d7fu, 3, 11, 0}, {0x0a0d0d80u, 3, 11, 0},
	{0x0a0d0d81u, 3, 11, 0}, {0x0a0d0d82u, 3, 11, 0}, {0x0a0d0d83u, 3, 11, 0},
	{0x0a0d0d84u, 3, 11, 0}, {0x0a0d0d85u, 3, 11, 0}, {0x0a0d0d86u, 3, 11, 0},
	{0x0a0d0d87u, 3, 11, 0}, {0x0a0d0d88u, 3, 11, 0}, {0x0a0d0d89u, 3, 11, 0},
	{0x0a0d0d8au, 3, 11, 0}, {0x0a0d0d8bu, 3, 11, 0}, {0x0a0d0d8cu, 3, 11, 0},
	{0x0a0d0d8du, 3, 11, 0}, {0x0a0d0d8eu, 3, 11, 0}, {0x0a0d0d8fu, 3, 11, 0},
	{0x0a0d0d90u, 3, 11, 0}, {0x0a0d0d91u, 3, 11, 0}, {0x0a0d0d92u, 3, 11, 0},
	{0x0a0d0d93u, 3, 11, 0}, {0x0a0d0d94u, 3, 11, 0}, {0x0a0d0d95u, 3, 11, 0},
	{0x0a0d0d96u, 3, 11, 0}, {0x0a0d0d97u, 3, 11, 0}, {0x0a0d0d98u, 3, 11, 0},
	{0x0a0d0d99u, 3, 11, 0}, {0x0a0d0d9au, 3, 11, 0}, {0x0a0d0d9bu, 3, 11, 0},
	{0x0a0d0d9cu, 3, 11, 0}, {0x0a0d0d9du, 3, 11, 0}, {0x0a0d0d9eu, 3, 11, 0},
	{0x0a0d0d9fu, 3, 11, 0}, {0x0a0d0da0u, 3, 11, 0}, {0x0a0d0da1u, 3, 11, 0},
	{0x0a0d0da2u, 3, 11, 0}, {0x0a0d0da3u, 3, 11, 0}, {0x0a0d0da4u, 3, 11, 0},
	{0x0a0d0da5u, 3, 11, 0}, {0x0a0d0da6u, 3, 11, 0}, {0x0a0d0da7u, 3, 11, 1},
	{0x0a0d0dacu, 3, 12, 0}, {0x0a0d0dadu, 3, 12, 0}, {0x0a0d0daeu, 3, 12, 0},
	{0x0a0d0dafu, 3, 12, 0}, {0x0a0d0db0u, 3, 12, 0}, {0x0a0d0db1u, 3, 12, 0},
	{0x0a0d0db2u, 3, 12, 0}, {0x0a0d0db3u, 3, 12, 0}, {0x0a0d0db4u, 3, 12, 0},
	{0x0a0d0db5u, 3, 12, 0}, {0x0a0d0db6u, 3, 12, 0}, {0x0a0d0db7u, 3, 12, 0},
	{0x0a0d0db8u, 3, 12, 0}, {0x0a0d0db9u, 3, 12, 0}, {0x0a0d0dbau, 3, 12, 0},
	{0x0a0d0dbbu, 3, 12, 0}, {0x0a0d0dbcu, 3, 12, 0}, {0x0a0d0dbdu, 3, 12, 0},
	{0x0a0d0dbeu, 3, 12, 0}, {0x0a0d0dbfu, 3, 12, 0}, {0x0a0d0dc0u, 3, 12, 0},
	{0x0a0d0dc1u, 3, 12, 0}, {0x0a0d0dc2u, 3, 12, 0}, {0x0a0d0dc3u, 3, 12, 0},
	{0x0a0d0dc4u, 3, 12, 0}, {0x0a0d0dc5u, 3, 12, 0}, {0x0a0d0dc6u, 3, 12, 0},
	{0x0a0d0dc7u, 3, 12, 0}, {0x0a0d0dc8u, 3, 12, 0}, {0x0a0d0dc9u, 3, 12, 0},
	{0x0a0d0dcau, 3, 12, 0}, {0x0a0d0dcbu, 3, 12, 1}, {0x0a0d0ddeu, 3, 13, 0},
	{0x0a0d0ddfu, 3, 13, 0}, {0x0a0d0de0u, 3, 13, 0}, {0x0a0d0de1u, 3, 13, 0},
	{0x0a0d0de2u, 3, 13, 0}, {0x0a0d0de3u, 3, 13, 0}, {0x0a0d0de4u, 3, 13, 0},
	{0x0a0d0de5u, 3, 13, 0}, {0x0a0d0de6u, 3, 13, 0}, {0x0a0d0de7u, 3, 13, 0},
	{0x0a0d0de8u, 3, 13, 0}, {0x0a0d0de9u, 3, 13, 0}, {0x0a0d0deau, 3, 13, 0},
	{0x0a0d0debu, 3, 13, 0}, {0x0a0d0decu, 3, 13, 0}, {0x0a0d0dedu, 3, 13, 0},
	{0x0a0d0deeu, 3, 13, 0}, {0x0a0d0defu, 3, 13, 0}, {0x0a0d0df0u, 3, 13, 0},
	{0x0a0d0df1u, 3, 13, 0}, {0x0a0d0df2u, 3, 13, 0}, {0x0a0d0df3u, 3, 13, 1},
	{0x0a0d0e10u, 3, 14, 0}, {0x0a0d0e11u, 3, 14, 0}, {0x0a0d0e12u, 3, 14, 0},
	{0x0a0d0e13u, 3, 14, 0}, {0x0a0d0e14u, 3, 14, 0}, {0x0a0d0e15u, 3, 14, 0},
	{0x0a0d0e16u, 3, 14, 0}, {0x0a0d0e17u, 3, 14, 0}, {0x0a0d0e18u, 3, 14, 0},
	{0x0a0d0e19u, 3, 14, 0}, {0x0a0d0e1au, 3, 14, 0}, {0x0a0d0e1bu, 3, 14, 0},
	{0x0a0d0e1cu, 3, 14, 0}, {0x0a0d0e1du, 3, 14, 0}, {0x0a0d0e1eu, 3, 14, 0},
	{0x0a0d0e1fu, 3, 14, 0}, {0x0a0d0e20u, 3, 14, 0}, {0x0a0d0e21u, 3, 14, 0},
	{0x0a0d0e22u, 3, 14, 0}, {0x0a0d0e23u, 3, 14, 0}, {0x0a0d0e24u, 3, 14, 0},
	{0x0a0d0e25u, 3, 14, 0}, {0x0a0d0e26u, 3, 14, 0}, {0x0a0d0e27u, 3, 14, 0},
	{0x0a0d0e28u, 3, 14, 0}, {0x0a0d0e29u, 3, 14, 0}, {0x0a0d0e2au, 3, 14, 0},
	{0x0a0d0e2bu, 3, 14, 1}, {0x0a0d0e42u, 3, 15, 0}, {0x0a0d0e43u, 3, 15, 0},
	{0x0a0d0e44u, 3, 15, 0}, {0x0a0d0e45u, 3, 15, 0}, {0x0a0d0e46u, 3, 15, 0},
	{0x0a0d0e47u, 3, 15, 0}, {0x0a0d0e48u, 3, 15, 0}, {0x0a0d0e49u, 3, 15, 0},
	{0x0a0d0e4au, 3, 15, 0}, {0x0a0d0e4bu, 3, 15, 0}, {0x0a0d0e4cu, 3, 15, 0},
	{0x0a0d0e4du, 3, 15, 0}, {0x0a0d0e4eu, 3, 15, 0}, {0x0a0d0e4fu, 3, 15, 0},
	{0x0a0d0e50u, 3, 15, 0}, {0x0a0d0e51u, 3, 15, 0}, {0x0a0d0e52u, 3, 15, 1},
	{0x0a0d0e74u, 3, 16, 0}, {0x0a0d0e75u, 3, 16, 0}, {0x0a0d0e76u, 3, 16, 0},
	{0x0a0d0e77u, 3, 16, 0}, {0x0a0d0e78u, 3, 16, 0}, {0x0a0d0e79u, 3, 16, 0},
	{0x0a0d0e7au, 3, 16, 0},
};

static void test_reference_rows_known(void **state)
{
	(void)state;
	assert_int_equal(sizeof(ref_rows) / sizeof(ref_rows[0]), 256);
	for (size_t i = 0; i < sizeof(ref_rows) / sizeof(ref_rows[0]); i++) {
		const struct ref_row *r = &ref_rows[i];
		pyci_magic_info m;
		assert_int_equal(pyci_magic_lookup_word(r->word, &m), 0);
		assert_int_equal(m.word, r->word);
		assert_int_equal(m.match, PYCI_MAGIC_EXACT);
		assert_int_equal(m.impl, PYCI_IMPL_CPYTHON);
		assert_int_equal(m.major, r->major);
		assert_int_equal(m.minor, r->minor);
		assert_int_equal(m.final ? 1 : 0, r->final);
		if (r->final)
			assert_true(m.final_for[0] != '\0');
	}
}

static void test_table_round_trip(void **state)
{
	(void)state;
	size_t n = 0;
	const pyci_magic_row *rows = pyci_magic_table(&n);
	assert_non_null(rows);
	/* at least the 256 CPython rows plus the PyPy ones */
	assert_true(n >= 256 + 15);
	for (size_t i = 0; i < n; i++) {
		const pyci_magic_row *r = &rows[i];
		if (i > 0)
			assert_true(rows[i - 1].word < r->word); /* sorted, no duplicates */
		assert_non_null(r->label);
		assert_non_null(r->final_for);
		assert_non_null(r->note);
		assert_true(r->impl == PYCI_IMPL_CPYTHON || r->impl == PYCI_IMPL_PYPY);

		pyci_magic_info m;
		assert_int_equal(pyci_magic_lookup_word(r->word, &m), 0);
		assert_int_equal(m.word, r->word);
		assert_int_equal(m.match, PYCI_MAGIC_EXACT);
		assert_int_equal(m.impl, r->impl);
		assert_int_equal(m.major, r->major);
		assert_int_equal(m.minor, r->minor);
		assert_string_equal(m.label, r->label);
		assert_string_equal(m.final_for, r->final_for);
		assert_int_equal(m.final, r->final_for[0] != '\0');
		if ((r->word >> 16) == 0x0A0Du)
			assert_int_equal(m.number, r->word & 0xFFFFu);
		else
			assert_int_equal(m.number, r->word);

		/* the byte form gives the same answer */
		uint8_t b[4] = {(uint8_t)r->word, (uint8_t)(r->word >> 8), (uint8_t)(r->word >> 16),
				(uint8_t)(r->word >> 24)};
		pyci_magic_info mb;
		assert_int_equal(pyci_magic_lookup(b, &mb), 0);
		assert_int_equal(mb.word, r->word);
		assert_int_equal(mb.impl, m.impl);
		assert_int_equal(mb.major, m.major);
		assert_int_equal(mb.minor, m.minor);
	}
}

/* Reference section 1.2: the magic each final release writes. */
static const struct {
	int major, minor;
	uint32_t word;
} finals[] = {
	{1, 0, 0x00999902u}, {1, 1, 0x00999903u}, {1, 3, CRLF(11913)}, {1, 4, CRLF(5892)},
	{1, 5, CRLF(20121)}, {1, 6, CRLF(50428)}, {2, 0, CRLF(50823)}, {2, 1, CRLF(60202)},
	{2, 2, CRLF(60717)}, {2, 3, CRLF(62011)}, {2, 4, CRLF(62061)}, {2, 5, CRLF(62131)},
	{2, 6, CRLF(62161)}, {2, 7, CRLF(62211)}, {3, 0, CRLF(3131)},  {3, 1, CRLF(3151)},
	{3, 2, CRLF(3180)},  {3, 3, CRLF(3230)},  {3, 4, CRLF(3310)},  {3, 5, CRLF(3351)},
	{3, 6, CRLF(3379)},  {3, 7, CRLF(3394)},  {3, 8, CRLF(3413)},  {3, 9, CRLF(3425)},
	{3, 10, CRLF(3439)}, {3, 11, CRLF(3495)}, {3, 12, CRLF(3531)}, {3, 13, CRLF(3571)},
	{3, 14, CRLF(3627)},
};

static void test_final_magics(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
		pyci_magic_info m;
		assert_int_equal(pyci_magic_lookup_word(finals[i].word, &m), 0);
		assert_int_equal(m.impl, PYCI_IMPL_CPYTHON);
		assert_int_equal(m.major, finals[i].major);
		assert_int_equal(m.minor, finals[i].minor);
		assert_int_equal(m.match, PYCI_MAGIC_EXACT);
		assert_true(m.final);

		uint32_t w = 0;
		assert_int_equal(pyci_magic_final_word(PYCI_IMPL_CPYTHON, finals[i].major,
						       finals[i].minor, &w),
				 0);
		assert_int_equal(w, finals[i].word);
	}
}

static void test_named_finals(void **state)
{
	(void)state;
	static const struct {
		uint16_t magic;
		int minor;
	} v[] = {{3379, 6}, {3394, 7}, {3439, 10}, {3495, 11}, {3531, 12}, {3571, 13}, {3627, 14}};
	pyci_magic_info m;
	assert_int_equal(pyci_magic_lookup_word(CRLF(62211), &m), 0);
	assert_int_equal(m.major, 2);
	assert_int_equal(m.minor, 7);
	assert_true(m.final);
	assert_int_equal(m.number, 62211);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(pyci_magic_lookup_word(CRLF(v[i].magic), &m), 0);
		assert_int_equal(m.impl, PYCI_IMPL_CPYTHON);
		assert_int_equal(m.major, 3);
		assert_int_equal(m.minor, v[i].minor);
		assert_int_equal(m.number, v[i].magic);
		assert_int_equal(m.match, PYCI_MAGIC_EXACT);
		assert_true(m.final);
	}
	/* 3.14 is 2B 0E 0D 0A (reference 1.1: the format did not change) */
	const uint8_t b314[4] = {0x2B, 0x0E, 0x0D, 0x0A};
	assert_int_equal(pyci_magic_lookup(b314, &m), 0);
	assert_int_equal(m.word, 0x0A0D0E2Bu);
	assert_int_equal(m.number, 3627);
	assert_int_equal(m.minor, 14);
}

static void test_prerelease_not_final(void **state)
{
	(void)state;
	pyci_magic_info m;
	/* 3.12b1 values before 3531; 3.5.0-3.5.1 wrote 3350 (final too) */
	assert_int_equal(pyci_magic_lookup_word(CRLF(3525), &m), 0);
	assert_int_equal(m.minor, 12);
	assert_int_equal(m.match, PYCI_MAGIC_EXACT);
	assert_false(m.final);
	assert_string_equal(m.final_for, "");
	assert_int_equal(pyci_magic_lookup_word(CRLF(3350), &m), 0);
	assert_int_equal(m.minor, 5);
	assert_true(m.final);
	assert_int_equal(pyci_magic_lookup_word(CRLF(3706), &m), 0);
	assert_int_equal(m.major, 3);
	assert_int_equal(m.minor, 16);
	assert_false(m.final);
}

static void test_raw_1x_words(void **state)
{
	(void)state;
	pyci_magic_info m;
	const uint8_t b10[4] = {0x02, 0x99, 0x99, 0x00};
	assert_int_equal(pyci_magic_lookup(b10, &m), 0);
	assert_int_equal(m.word, 0x00999902u);
	assert_int_equal(m.number, 0x00999902u);
	assert_int_equal(m.impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(m.major, 1);
	assert_int_equal(m.minor, 0);
	assert_int_equal(m.match, PYCI_MAGIC_EXACT);
	assert_int_equal(pyci_magic_header_size(&m), 8);

	assert_int_equal(pyci_magic_lookup_word(0x00999903u, &m), 0);
	assert_int_equal(m.number, 0x00999903u);
	assert_int_equal(m.major, 1);
	assert_int_equal(m.minor, 1);
	assert_int_equal(pyci_magic_header_size(&m), 8);

	/* file(1)'s 02 09 99 00 is a typo, not a magic */
	assert_int_equal(pyci_magic_lookup_word(0x00990902u, &m), -1);
}

static void test_unicode_variants(void **state)
{
	(void)state;
	pyci_magic_info m;
	assert_int_equal(pyci_magic_lookup_word(CRLF(62212), &m), 0);
	assert_int_equal(m.impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(m.major, 2);
	assert_int_equal(m.minor, 7);
	assert_int_equal(m.match, PYCI_MAGIC_UNICODE);
	assert_false(m.final);
	assert_int_equal(m.number, 62212);

	/* 1.6: 50428 + 1 */
	assert_int_equal(pyci_magic_lookup_word(CRLF(50429), &m), 0);
	assert_int_equal(m.major, 1);
	assert_int_equal(m.minor, 6);
	assert_int_equal(m.match, PYCI_MAGIC_UNICODE);
	/* 2.0: 50823 + 1 */
	assert_int_equal(pyci_magic_lookup_word(CRLF(50824), &m), 0);
	assert_int_equal(m.major, 2);
	assert_int_equal(m.minor, 0);
	assert_int_equal(m.match, PYCI_MAGIC_UNICODE);

	/* -U exists only for 1.6-2.7: 1.5's 20121 + 1 and 3.x + 1 outside a range are nothing */
	assert_int_equal(pyci_magic_lookup_word(CRLF(20122), &m), -1);
	assert_int_equal(pyci_magic_lookup_word(CRLF(11914), &m), -1);
}

static void test_range_matches(void **state)
{
	(void)state;
	pyci_magic_info m;
	/* pycdc #499: 3496 was never assigned; "3.11-range, unknown" */
	assert_int_equal(pyci_magic_lookup_word(CRLF(3496), &m), 0);
	assert_int_equal(m.impl, PYCI_IMPL_CPYTHON);
	assert_int_equal(m.major, 3);
	assert_int_equal(m.minor, 11);
	assert_int_equal(m.match, PYCI_MAGIC_RANGE);
	assert_false(m.final);

	static const struct {
		uint16_t magic;
		int minor;
	} v[] = {
		{3001, 0},  {3139, 0},  {3140, 1},  {3159, 1},  {3161, 2},  {3189, 2},  {3209, 3},
		{3249, 3},  {3251, 4},  {3319, 4},  {3321, 5},  {3359, 5},  {3374, 6},  {3389, 6},
		{3399, 7},  {3402, 8},  {3419, 8},  {3426, 9},  {3429, 9},  {3440, 10}, {3449, 10},
		{3532, 12}, {3599, 13}, {3630, 14}, {3667, 15}, {3707, 16}, {3750, 17},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(pyci_magic_lookup_word(CRLF(v[i].magic), &m), 0);
		assert_int_equal(m.impl, PYCI_IMPL_CPYTHON);
		assert_int_equal(m.major, 3);
		assert_int_equal(m.minor, v[i].minor);
		assert_int_equal(m.match, PYCI_MAGIC_RANGE);
		assert_false(m.final);
		assert_int_equal(m.number, v[i].magic);
	}
}

static void test_pypy(void **state)
{
	(void)state;
	pyci_magic_info m;
	/* 3187 = 3180 + 7 is PyPy3 (3.2): the exact row beats CPython 3.2's range */
	assert_int_equal(pyci_magic_lookup_word(CRLF(3187), &m), 0);
	assert_int_equal(m.impl, PYCI_IMPL_PYPY);
	assert_int_equal(m.major, 3);
	assert_int_equal(m.minor, 2);
	assert_int_equal(m.match, PYCI_MAGIC_EXACT);

	assert_int_equal(pyci_magic_lookup_word(CRLF(336), &m), 0);
	assert_int_equal(m.impl, PYCI_IMPL_PYPY);
	assert_int_equal(m.major, 3);
	assert_int_equal(m.minor, 9);
	assert_int_equal(m.match, PYCI_MAGIC_EXACT);
	assert_int_equal(m.number, 336);
	assert_true(m.final);

	assert_int_equal(pyci_magic_lookup_word(CRLF(62218), &m), 0);
	assert_int_equal(m.impl, PYCI_IMPL_PYPY);
	assert_int_equal(m.major, 2);
	assert_int_equal(m.minor, 7);
	assert_int_equal(m.match, PYCI_MAGIC_EXACT);

	static const struct {
		uint16_t magic;
		int minor;
	} v[] = {{48, 2},  {64, 3},  {112, 5},  {192, 6}, {240, 7},
		 {256, 8}, {320, 9}, {384, 10}, {416, 11}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(pyci_magic_lookup_word(CRLF(v[i].magic), &m), 0);
		assert_int_equal(m.impl, PYCI_IMPL_PYPY);
		assert_int_equal(m.major, 3);
		assert_int_equal(m.minor, v[i].minor);
	}

	uint32_t w = 0;
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_PYPY, 3, 9, &w), 0);
	assert_int_equal(w, CRLF(336));
	/* PyPy numbers are not CPython's */
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_CPYTHON, 3, 9, &w), 0);
	assert_int_equal(w, CRLF(3425));
}

static void test_unknown_words(void **state)
{
	(void)state;
	static const uint32_t bad[] = {
		0u,
		0xdeadbeefu,
		CRLF(5000),
		CRLF(2999),
		CRLF(0),
		CRLF(1),
		CRLF(0xFFFF),
		/* a known number without \r\n */
		3531u,
		0x0A0A0DCBu,
		0x0D0A0DCBu,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pyci_magic_info m;
		memset(&m, 0x5a, sizeof(m));
		assert_int_equal(pyci_magic_lookup_word(bad[i], &m), -1);
		/* zeroed but for word and number */
		assert_int_equal(m.word, bad[i]);
		assert_int_equal(m.impl, PYCI_IMPL_UNKNOWN);
		assert_int_equal(m.major, 0);
		assert_int_equal(m.minor, 0);
		assert_false(m.final);
		if ((bad[i] >> 16) == 0x0A0Du)
			assert_int_equal(m.number, bad[i] & 0xFFFFu);
		else
			assert_int_equal(m.number, bad[i]);
	}
	const uint8_t zeros[4] = {0, 0, 0, 0};
	pyci_magic_info m;
	assert_int_equal(pyci_magic_lookup(zeros, &m), -1);
	/* 2.7's py_compile writes magic 0 first and patches it last: a torn file */
	const uint8_t beef[4] = {0xef, 0xbe, 0xad, 0xde};
	assert_int_equal(pyci_magic_lookup(beef, &m), -1);
	assert_int_equal(m.word, 0xdeadbeefu);
}

static size_t hsize(uint32_t word)
{
	pyci_magic_info m;
	assert_int_equal(pyci_magic_lookup_word(word, &m), 0);
	return pyci_magic_header_size(&m);
}

static void test_header_size(void **state)
{
	(void)state;
	assert_int_equal(hsize(CRLF(3209)), 8);
	assert_int_equal(hsize(CRLF(3210)), 12);
	assert_int_equal(hsize(CRLF(3391)), 12);
	assert_int_equal(hsize(CRLF(3392)), 16);
	assert_int_equal(hsize(CRLF(3180)), 8);  /* 3.2 */
	assert_int_equal(hsize(CRLF(3200)), 8);  /* 3.3a1 before 3210 */
	assert_int_equal(hsize(CRLF(3230)), 12); /* 3.3 */
	assert_int_equal(hsize(CRLF(3379)), 12); /* 3.6 */
	assert_int_equal(hsize(CRLF(3390)), 12); /* 3.7a1 */
	assert_int_equal(hsize(CRLF(3394)), 16); /* 3.7 */
	assert_int_equal(hsize(CRLF(3627)), 16);
	assert_int_equal(hsize(CRLF(3706)), 16);
	assert_int_equal(hsize(CRLF(3496)), 16); /* range match */
	assert_int_equal(hsize(CRLF(62211)), 8); /* 2.7 */
	assert_int_equal(hsize(CRLF(62212)), 8); /* 2.7 -U */
	assert_int_equal(hsize(CRLF(11913)), 8); /* 1.3 */
	assert_int_equal(hsize(0x00999902u), 8); /* 1.0 */
	/* PyPy follows its language version */
	assert_int_equal(hsize(CRLF(336)), 16);  /* 3.9 */
	assert_int_equal(hsize(CRLF(256)), 16);  /* 3.8 */
	assert_int_equal(hsize(CRLF(240)), 16);  /* 3.7 */
	assert_int_equal(hsize(CRLF(192)), 12);  /* 3.6 */
	assert_int_equal(hsize(CRLF(112)), 12);  /* 3.5 */
	assert_int_equal(hsize(CRLF(64)), 12);   /* 3.3 */
	assert_int_equal(hsize(CRLF(48)), 8);    /* 3.2 */
	assert_int_equal(hsize(CRLF(3187)), 8);  /* PyPy3 3.2 */
	assert_int_equal(hsize(CRLF(62218)), 8); /* PyPy2 */
}

static void test_final_word(void **state)
{
	(void)state;
	uint32_t w = 0;
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_CPYTHON, 3, 5, &w), 0);
	assert_int_equal(w, CRLF(3351));
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_CPYTHON, 3, 16, &w), -1);
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_CPYTHON, 3, 99, &w), -1);
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_CPYTHON, 4, 0, &w), -1);
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_UNKNOWN, 3, 12, &w), -1);
	assert_int_equal(pyci_magic_final_word(PYCI_IMPL_PYPY, 3, 12, &w), -1);
}

static const pyci_magic_row *row_of(uint32_t word)
{
	size_t n = 0;
	const pyci_magic_row *rows = pyci_magic_table(&n);
	for (size_t i = 0; i < n; i++)
		if (rows[i].word == word)
			return &rows[i];
	fail_msg("no row 0x%08x", (unsigned)word);
	return NULL;
}

static int writes(uint32_t word, pyci_impl impl, int major, int minor, int patch)
{
	return pyci_magic_release_writes(row_of(word), impl, major, minor, patch);
}

static void test_release_writes(void **state)
{
	(void)state;
	const pyci_impl C = PYCI_IMPL_CPYTHON, P = PYCI_IMPL_PYPY;
	/* "3.12.x": every 3.12 release, nothing else */
	assert_true(writes(CRLF(3531), C, 3, 12, 0));
	assert_true(writes(CRLF(3531), C, 3, 12, 11));
	assert_false(writes(CRLF(3531), C, 3, 13, 0));
	assert_false(writes(CRLF(3531), C, 3, 1, 0));
	assert_false(writes(CRLF(3531), P, 3, 12, 0));
	/* the one bug-fix release that changed the magic: "3.5.0,3.5.1" and "3.5.2+" */
	assert_true(writes(CRLF(3350), C, 3, 5, 0));
	assert_true(writes(CRLF(3350), C, 3, 5, 1));
	assert_false(writes(CRLF(3350), C, 3, 5, 2));
	assert_false(writes(CRLF(3351), C, 3, 5, 1));
	assert_true(writes(CRLF(3351), C, 3, 5, 2));
	assert_true(writes(CRLF(3351), C, 3, 5, 10));
	/* "1.5,1.5.1,1.5.2", "1.1,1.2" (one row of version 1.1), "2.0,2.0.1" */
	assert_true(writes(CRLF(20121), C, 1, 5, 0));
	assert_true(writes(CRLF(20121), C, 1, 5, 2));
	assert_true(writes(0x00999903u, C, 1, 2, 0));
	assert_true(writes(0x00999903u, C, 1, 1, 0));
	assert_false(writes(0x00999903u, C, 1, 3, 0));
	assert_true(writes(CRLF(50823), C, 2, 0, 1));
	/* a comment after the list is not a release; 3.15's final is 3666 */
	assert_true(writes(CRLF(3666), C, 3, 15, 0));
	assert_false(writes(CRLF(3666), C, 3, 16, 0));
	/* pre-release rows: no final release writes them */
	assert_false(writes(CRLF(3525), C, 3, 12, 0));
	assert_false(writes(CRLF(3706), C, 3, 16, 0));
	/* PyPy: the language version */
	assert_true(writes(CRLF(336), P, 3, 9, 18));
	assert_false(writes(CRLF(336), C, 3, 9, 18));
	assert_false(writes(CRLF(320), P, 3, 9, 18));

	/* every final row is written by some release of its own version, and by exactly one row
	 * of that version per release (the form of final_for is what the function reads) */
	size_t n = 0;
	const pyci_magic_row *rows = pyci_magic_table(&n);
	for (size_t i = 0; i < n; i++) {
		const pyci_magic_row *r = &rows[i];
		if (r->final_for[0] == '\0')
			continue;
		int some = 0;
		for (int patch = 0; patch < 20; patch++)
			some |= pyci_magic_release_writes(r, r->impl, r->major, r->minor, patch);
		if (!some)
			fail_msg("final_for '%s' of 0x%08x names no release of its version",
				 r->final_for, (unsigned)r->word);
		/* what users read: no maintainer's to-do in the column */
		assert_null(strstr(r->final_for, "verify"));
		assert_null(strstr(r->final_for, "TODO"));
	}
	for (int minor = 0; minor <= 15; minor++) {
		for (int patch = 0; patch < 12; patch++) {
			int count = 0;
			for (size_t i = 0; i < n; i++)
				count += pyci_magic_release_writes(&rows[i], C, 3, minor, patch);
			if (count != 1)
				fail_msg("3.%d.%d is written by %d rows", minor, patch, count);
		}
	}
}

static void test_impl_name(void **state)
{
	(void)state;
	assert_string_equal(pyci_impl_name(PYCI_IMPL_CPYTHON), "cpython");
	assert_string_equal(pyci_impl_name(PYCI_IMPL_PYPY), "pypy");
	assert_null(pyci_impl_name(PYCI_IMPL_UNKNOWN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_rows_known),
		cmocka_unit_test(test_table_round_trip),
		cmocka_unit_test(test_final_magics),
		cmocka_unit_test(test_named_finals),
		cmocka_unit_test(test_prerelease_not_final),
		cmocka_unit_test(test_raw_1x_words),
		cmocka_unit_test(test_unicode_variants),
		cmocka_unit_test(test_range_matches),
		cmocka_unit_test(test_pypy),
		cmocka_unit_test(test_unknown_words),
		cmocka_unit_test(test_header_size),
		cmocka_unit_test(test_final_word),
		cmocka_unit_test(test_release_writes),
		cmocka_unit_test(test_impl_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
