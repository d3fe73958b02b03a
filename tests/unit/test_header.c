/*
 * test_header.c - unit tests for header.h: pyci_header_parse and the status/mode names.
 *
 * Covers the three layouts (8 bytes before 3210, 12 bytes for 3210-3391, 16 bytes from 3392),
 * little-endian fields, PEP 552 flags (0 and 2 = timestamp, 1 = unchecked, 3 = checked, any
 * other bit = BAD_FLAGS), and the failure statuses: EMPTY, SHORT_MAGIC (1-3 bytes), BAD_MAGIC,
 * TRUNCATED (known magic, shorter than its header), NO_BODY (a header and nothing after it),
 * NOT_CODE (the byte after the header is not marshal's 'c' / 'c'|FLAG_REF, or 'C' for 1.0-1.2)
 * and SHORT_BODY (fewer bytes than the smallest code object of the layout, reference 6.3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/header.h"

#define CRLF(m) (0x0A0D0000u | (uint32_t)(m))
#define BIG 4096 /* a file size with plenty of code after any header */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Parse a 16-byte 3.7+ header followed by the code byte 0xE3, in a file of file_size bytes. */
static pyci_header_status parse16(uint32_t magic, uint32_t flags, uint32_t f8, uint32_t f12,
				  uint64_t file_size, pyci_header *h)
{
	uint8_t b[PYCI_PEEK_SIZE];
	put32(b, magic);
	put32(b + 4, flags);
	put32(b + 8, f8);
	put32(b + 12, f12);
	b[16] = 0xE3;
	return pyci_header_parse(b, file_size < sizeof(b) ? (size_t)file_size : sizeof(b),
				 file_size, h);
}

static void test_peek_size(void **state)
{
	(void)state;
	assert_int_equal(PYCI_HEADER_MAX, 16);
	assert_int_equal(PYCI_PEEK_SIZE, 17);
}

static void test_layout_16_timestamp(void **state)
{
	(void)state;
	/* bytes written out by hand: 3.12 magic, flags 0, mtime 0x5F5E1000, size 0x00000123 */
	const uint8_t b[] = {0xcb, 0x0d, 0x0d, 0x0a, 0,    0,    0,    0,   0x00,
			     0x10, 0x5e, 0x5f, 0x23, 0x01, 0x00, 0x00, 0xe3};
	pyci_header h;
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.status, PYCI_HDR_OK);
	assert_int_equal(h.size, 16);
	assert_int_equal(h.magic.word, 0x0A0D0DCBu);
	assert_int_equal(h.magic.number, 3531);
	assert_int_equal(h.magic.major, 3);
	assert_int_equal(h.magic.minor, 12);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.mode, PYCI_MODE_TIMESTAMP);
	assert_true(h.has_mtime);
	assert_int_equal(h.mtime, 0x5F5E1000u);
	assert_true(h.has_source_size);
	assert_int_equal(h.source_size, 0x123u);
	assert_false(h.has_hash);
}

static void test_layout_12(void **state)
{
	(void)state;
	/* 3.6 (3379): magic, mtime, size, then the code ('c' | FLAG_REF) */
	const uint8_t b[] = {0x33, 0x0d, 0x0d, 0x0a, 0x78, 0x56, 0x34,
			     0x12, 0xef, 0xcd, 0xab, 0x89, 0xe3};
	pyci_header h;
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.size, 12);
	assert_int_equal(h.magic.minor, 6);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.mode, PYCI_MODE_TIMESTAMP);
	assert_true(h.has_mtime);
	assert_int_equal(h.mtime, 0x12345678u);
	assert_true(h.has_source_size);
	assert_int_equal(h.source_size, 0x89abcdefu);
	assert_false(h.has_hash);

	/* 3210 is the first 12-byte magic, 3391 the last; 3.3 writes a plain 'c' */
	uint8_t c[13] = {0};
	put32(c, CRLF(3210));
	put32(c + 4, 7);
	put32(c + 8, 9);
	c[12] = 0x63;
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.size, 12);
	assert_int_equal(h.mtime, 7);
	assert_int_equal(h.source_size, 9);
	put32(c, CRLF(3391));
	c[12] = 0xe3;
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.size, 12);
}

static void test_layout_8(void **state)
{
	(void)state;
	/* 2.7: magic 62211 (03 f3 0d 0a), mtime, then 'c' */
	const uint8_t b[] = {0x03, 0xf3, 0x0d, 0x0a, 0x01, 0x02, 0x03, 0x84, 0x63};
	pyci_header h;
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.size, 8);
	assert_int_equal(h.magic.major, 2);
	assert_int_equal(h.magic.minor, 7);
	assert_int_equal(h.mode, PYCI_MODE_TIMESTAMP);
	assert_true(h.has_mtime);
	assert_int_equal(h.mtime, 0x84030201u);
	assert_false(h.has_source_size);
	assert_false(h.has_hash);
	assert_int_equal(h.flags, 0);

	/* 3209: the last 8-byte 3.x magic */
	uint8_t c[9] = {0};
	put32(c, CRLF(3209));
	put32(c + 4, 42);
	c[8] = 0x63;
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.size, 8);
	assert_int_equal(h.mtime, 42);
	assert_false(h.has_source_size);

	/* 1.0's raw word; 1.0-1.2 wrote 'C' code objects */
	const uint8_t d[] = {0x02, 0x99, 0x99, 0x00, 5, 0, 0, 0, 'C'};
	assert_int_equal(pyci_header_parse(d, sizeof(d), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.size, 8);
	assert_int_equal(h.mtime, 5);
	assert_int_equal(h.magic.major, 1);
}

static void test_flags(void **state)
{
	(void)state;
	pyci_header h;

	/* flags 2 alone: bit 1 is only read with bit 0, so a timestamp pyc */
	assert_int_equal(parse16(CRLF(3531), 2, 1600000000u, 77, BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.flags, 2);
	assert_int_equal(h.mode, PYCI_MODE_TIMESTAMP);
	assert_true(h.has_mtime);
	assert_int_equal(h.mtime, 1600000000u);
	assert_true(h.has_source_size);
	assert_int_equal(h.source_size, 77);
	assert_false(h.has_hash);

	/* flags 1: unchecked hash; bytes 8-15 kept as stored */
	uint8_t b[17] = {0xcb, 0x0d, 0x0d, 0x0a, 1,    0,    0,    0,   0x11,
			 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xe3};
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.flags, 1);
	assert_int_equal(h.mode, PYCI_MODE_UNCHECKED_HASH);
	assert_true(h.has_hash);
	assert_false(h.has_mtime);
	assert_false(h.has_source_size);
	const uint8_t want[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
	assert_memory_equal(h.hash, want, 8);

	/* flags 3: checked hash */
	b[4] = 3;
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.flags, 3);
	assert_int_equal(h.mode, PYCI_MODE_CHECKED_HASH);
	assert_true(h.has_hash);
	assert_memory_equal(h.hash, want, 8);

	/* flags 0 */
	assert_int_equal(parse16(CRLF(3394), 0, 5, 6, BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.mode, PYCI_MODE_TIMESTAMP);
	assert_int_equal(h.mtime, 5);
	assert_int_equal(h.source_size, 6);

	/* any bit above bit 1 */
	static const uint32_t bad[] = {4, 5, 7, 8, 0x100, 0x80000000u, 0x80000001u, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse16(CRLF(3531), bad[i], 0, 0, BIG, &h), PYCI_HDR_BAD_FLAGS);
		assert_int_equal(h.status, PYCI_HDR_BAD_FLAGS);
		assert_int_equal(h.flags, bad[i]);
		assert_int_equal(h.size, 16);
		assert_int_equal(h.magic.minor, 12);
		assert_false(h.has_hash);
	}

	/* the older layouts have no flags: bytes 4-7 are the mtime, whatever their bits */
	uint8_t c[13] = {0};
	put32(c, CRLF(3379));
	put32(c + 4, 0xFFFFFFFCu);
	c[12] = 0xe3;
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_OK);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.mtime, 0xFFFFFFFCu);
}

static void test_empty_and_short(void **state)
{
	(void)state;
	pyci_header h;
	const uint8_t b[4] = {0xcb, 0x0d, 0x0d, 0x0a};
	assert_int_equal(pyci_header_parse(b, 0, 0, &h), PYCI_HDR_EMPTY);
	assert_int_equal(h.status, PYCI_HDR_EMPTY);
	assert_int_equal(h.size, 0);
	assert_int_equal(h.mode, PYCI_MODE_NONE);
	for (size_t n = 1; n <= 3; n++) {
		assert_int_equal(pyci_header_parse(b, n, n, &h), PYCI_HDR_SHORT_MAGIC);
		assert_int_equal(h.size, 0);
		assert_int_equal(h.mode, PYCI_MODE_NONE);
		assert_false(h.has_mtime);
	}
}

static void test_bad_magic(void **state)
{
	(void)state;
	pyci_header h;
	uint8_t b[17] = {0};
	b[16] = 0xe3;
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_BAD_MAGIC);
	assert_int_equal(h.size, 0);
	assert_int_equal(h.mode, PYCI_MODE_NONE);
	put32(b, 0xdeadbeefu);
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_BAD_MAGIC);
	put32(b, CRLF(5000));
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_BAD_MAGIC);
	/* big-endian spelling of 3.12's magic */
	const uint8_t be[17] = {0x0a, 0x0d, 0x0d, 0xcb};
	assert_int_equal(pyci_header_parse(be, sizeof(be), BIG, &h), PYCI_HDR_BAD_MAGIC);
	/* exactly 4 bytes of garbage */
	assert_int_equal(pyci_header_parse(be, 4, 4, &h), PYCI_HDR_BAD_MAGIC);
}

static void test_truncated(void **state)
{
	(void)state;
	pyci_header h;
	uint8_t b[16] = {0};
	put32(b, CRLF(3531));
	/* 10-byte file with a 3.12 magic: EOFError in CPython */
	assert_int_equal(pyci_header_parse(b, 10, 10, &h), PYCI_HDR_TRUNCATED);
	assert_int_equal(h.status, PYCI_HDR_TRUNCATED);
	assert_int_equal(h.size, 16);
	assert_int_equal(h.magic.minor, 12);
	assert_false(h.has_mtime);
	assert_false(h.has_hash);
	for (size_t n = 4; n < 16; n++)
		assert_int_equal(pyci_header_parse(b, n, n, &h), PYCI_HDR_TRUNCATED);
	/* truncation is judged before the flags */
	put32(b + 4, 4);
	assert_int_equal(pyci_header_parse(b, 10, 10, &h), PYCI_HDR_TRUNCATED);

	put32(b, CRLF(3379));
	for (size_t n = 4; n < 12; n++) {
		assert_int_equal(pyci_header_parse(b, n, n, &h), PYCI_HDR_TRUNCATED);
		assert_int_equal(h.size, 12);
	}
	put32(b, CRLF(62211));
	for (size_t n = 4; n < 8; n++) {
		assert_int_equal(pyci_header_parse(b, n, n, &h), PYCI_HDR_TRUNCATED);
		assert_int_equal(h.size, 8);
	}
	/* len beyond file_size is not trusted */
	put32(b, CRLF(3531));
	put32(b + 4, 0);
	assert_int_equal(pyci_header_parse(b, 16, 10, &h), PYCI_HDR_TRUNCATED);
}

static void test_no_body(void **state)
{
	(void)state;
	pyci_header h;
	/* exactly 16 bytes: a complete header, fields decoded, no code after it */
	assert_int_equal(parse16(CRLF(3531), 0, 1234, 56, 16, &h), PYCI_HDR_NO_BODY);
	assert_int_equal(h.size, 16);
	assert_int_equal(h.mode, PYCI_MODE_TIMESTAMP);
	assert_int_equal(h.mtime, 1234);
	assert_int_equal(h.source_size, 56);

	uint8_t b[12] = {0};
	put32(b, CRLF(3379));
	assert_int_equal(pyci_header_parse(b, 12, 12, &h), PYCI_HDR_NO_BODY);
	assert_int_equal(h.size, 12);
	put32(b, CRLF(62211));
	assert_int_equal(pyci_header_parse(b, 8, 8, &h), PYCI_HDR_NO_BODY);
	assert_int_equal(h.size, 8);
}

static void test_not_code(void **state)
{
	(void)state;
	pyci_header h;
	uint8_t b[17];
	memset(b, 0, sizeof(b));
	put32(b, CRLF(3531));
	/* anything but 'c' (with or without FLAG_REF) after the header */
	static const uint8_t notc[] = {0x00, 'N', 'C', 0xC3, 0xE2, 0xE4, 0x73, 0xff, '{'};
	for (size_t i = 0; i < sizeof(notc); i++) {
		b[16] = notc[i];
		if (pyci_header_parse(b, sizeof(b), BIG, &h) != PYCI_HDR_NOT_CODE)
			fail_msg("byte %#x after a 3.12 header: status %s", notc[i],
				 pyci_header_status_name(h.status));
		/* the header itself was decoded */
		assert_int_equal(h.size, 16);
		assert_int_equal(h.mode, PYCI_MODE_TIMESTAMP);
	}
	b[16] = 0x63;
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_OK);
	b[16] = 0xE3;
	assert_int_equal(pyci_header_parse(b, sizeof(b), BIG, &h), PYCI_HDR_OK);

	/* 2.7 and 1.3+: 'C' is not a code object; 1.0-1.2: it is */
	uint8_t c[9] = {0};
	put32(c, CRLF(62211));
	c[8] = 'C';
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_NOT_CODE);
	c[8] = 'c';
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_OK);
	put32(c, 0x00999903u);
	c[8] = 'C';
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_OK);
	c[8] = 'x';
	assert_int_equal(pyci_header_parse(c, sizeof(c), BIG, &h), PYCI_HDR_NOT_CODE);

	/* the byte after the header is only judged when it was read */
	assert_int_equal(pyci_header_parse(b, 16, BIG, &h), PYCI_HDR_OK);
	/* bytes beyond PYCI_PEEK_SIZE are ignored */
	uint8_t d[40];
	memset(d, 'x', sizeof(d));
	memcpy(d, b, 16);
	d[16] = 0xE3;
	assert_int_equal(pyci_header_parse(d, sizeof(d), BIG, &h), PYCI_HDR_OK);
}

/* Status of a header of magic `word` followed by a body of `body` bytes starting with 'c'. */
static pyci_header_status with_body(uint32_t word, uint64_t body)
{
	pyci_magic_info m;
	assert_int_equal(pyci_magic_lookup_word(word, &m), 0);
	size_t hs = pyci_magic_header_size(&m);
	uint8_t b[17] = {0};
	put32(b, word);
	b[hs] = (m.major == 1 && m.minor <= 2) ? 'C' : 0xE3;
	pyci_header h;
	return pyci_header_parse(b, hs + 1, hs + body, &h);
}

static void test_short_body(void **state)
{
	(void)state;
	/*
	 * The smallest code object of each layout (reference 6.3), counting 1 byte per nested
	 * object: the type byte, the fixed integers, firstlineno, and the objects.
	 *   3.11+ (3460+): 1 + 5*4 + 4 + 10 objects = 35
	 *   3.8-3.10:      1 + 6*4 + 4 + 9 objects  = 38
	 *   3.0-3.7:       1 + 5*4 + 4 + 9 objects  = 34
	 *   2.3-2.7:       1 + 4*4 + 4 + 9 objects  = 30
	 */
	assert_int_equal(with_body(CRLF(3531), 1), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(3531), 29), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(3531), 200), PYCI_HDR_OK);
	assert_int_equal(with_body(CRLF(62211), 1), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(62211), 29), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(62211), 30), PYCI_HDR_OK);
	assert_int_equal(with_body(CRLF(3379), 1), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(3379), 200), PYCI_HDR_OK);
	assert_int_equal(with_body(0x00999902u, 1), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(0x00999902u, 200), PYCI_HDR_OK);
	assert_int_equal(with_body(CRLF(336), 1), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(336), 200), PYCI_HDR_OK);
}

/*
 * header.h promises SHORT_BODY below "the smallest code object of that version's layout": 30
 * bytes for 2.3-2.7, 34 for 3.0-3.7, 38 for 3.8-3.10, 35 for 3.11+, 20 for 2.1-2.2 (once a single
 * 2.3-2.7 bound served every layout).
 */
static void test_short_body_layout_minimum(void **state)
{
	(void)state;
	assert_int_equal(with_body(CRLF(3531), 34), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(3531), 35), PYCI_HDR_OK);
	assert_int_equal(with_body(CRLF(3413), 37), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(3413), 38), PYCI_HDR_OK);
	assert_int_equal(with_body(CRLF(3379), 33), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(3379), 34), PYCI_HDR_OK);
	/* 2.1-2.2 add freevars and cellvars to the 1.5-2.0 layout: 1 + 4*2 + 2 + 9 objects = 20
	 * (the reference marks this layout [X]); src/header.c uses the 1.5-2.0 minimum, 18 */
	assert_int_equal(with_body(CRLF(60202), 19), PYCI_HDR_SHORT_BODY);
	assert_int_equal(with_body(CRLF(60202), 20), PYCI_HDR_OK);
	assert_int_equal(with_body(CRLF(50823), 17), PYCI_HDR_SHORT_BODY); /* 2.0: 18 */
	assert_int_equal(with_body(CRLF(50823), 18), PYCI_HDR_OK);
}

static void test_large_file(void **state)
{
	(void)state;
	pyci_header h;
	assert_int_equal(parse16(CRLF(3571), 3, 0, 0, UINT64_C(1) << 20, &h), PYCI_HDR_OK);
	assert_int_equal(h.mode, PYCI_MODE_CHECKED_HASH);
	/* file sizes beyond 32 bits */
	assert_int_equal(parse16(CRLF(3571), 0, 0, 0, UINT64_C(1) << 40, &h), PYCI_HDR_OK);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pyci_header_status_name(PYCI_HDR_OK), "ok");
	assert_string_equal(pyci_header_status_name(PYCI_HDR_EMPTY), "empty");
	assert_string_equal(pyci_header_status_name(PYCI_HDR_TRUNCATED), "truncated");
	const pyci_header_status all[] = {
		PYCI_HDR_OK,        PYCI_HDR_EMPTY,     PYCI_HDR_SHORT_MAGIC,
		PYCI_HDR_BAD_MAGIC, PYCI_HDR_TRUNCATED, PYCI_HDR_BAD_FLAGS,
		PYCI_HDR_NO_BODY,   PYCI_HDR_NOT_CODE,  PYCI_HDR_SHORT_BODY,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = pyci_header_status_name(all[i]);
		assert_non_null(n);
		assert_true(n[0] != '\0');
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(n, pyci_header_status_name(all[j]));
	}
	assert_string_equal(pyci_mode_name(PYCI_MODE_TIMESTAMP), "timestamp");
	assert_string_equal(pyci_mode_name(PYCI_MODE_CHECKED_HASH), "checked-hash");
	assert_string_equal(pyci_mode_name(PYCI_MODE_UNCHECKED_HASH), "unchecked-hash");
	assert_null(pyci_mode_name(PYCI_MODE_NONE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek_size),  cmocka_unit_test(test_layout_16_timestamp),
		cmocka_unit_test(test_layout_12),  cmocka_unit_test(test_layout_8),
		cmocka_unit_test(test_flags),      cmocka_unit_test(test_empty_and_short),
		cmocka_unit_test(test_bad_magic),  cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_no_body),    cmocka_unit_test(test_not_code),
		cmocka_unit_test(test_short_body), cmocka_unit_test(test_short_body_layout_minimum),
		cmocka_unit_test(test_large_file), cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
