/*
 * test_json.c - unit tests for json.h: JSON strings of file-name bytes, and UTF-8 checks.
 *
 * Covers pyci_json_string: quotes, backslash, newline, control characters and DEL escaped;
 * valid multibyte UTF-8 copied as is; every byte of an invalid sequence (0xff, a lone
 * continuation byte, the overlong c0 80, the surrogate ed a0 80, a truncated e2 82, code points
 * above U+10FFFF) written as \udcXX (Python's surrogateescape); appending after existing
 * content; and a round trip of random bytes through an independent decoder written here.  Also
 * pyci_utf8_valid, pyci_utf8_seq and pyci_json_key.
 *
 * The writer (pyci_jw): commas between members and elements, nesting, empty containers, every
 * kind of value (null for a NULL string or byte string, hex of bytes, the extremes of u64 and
 * i64), keys and strings escaped like pyci_json_string, a value appended after what the buffer
 * held; the sticky failure (ENOMEM: every later call does nothing) and the cut-back to where
 * the value began; misuse (a key where none belongs, none where one does, a second top-level
 * value, an end that does not match, a container left open) and nesting past
 * PYCI_JW_MAX_DEPTH, which fail with EINVAL the same way.  Integers as decimal text (past 64
 * bits; malformed text is EINVAL), and a member taken back to a saved mark, its comma with it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/buf.h"
#include "pycinspect/json.h"

/* ---------------------------------------------------------------- independent decoder */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(unsigned char *out, size_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (unsigned char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (unsigned char)(0xC0 | (cp >> 6));
		out[(*o)++] = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[(*o)++] = (unsigned char)(0xE0 | (cp >> 12));
		out[(*o)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*o)++] = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		out[(*o)++] = (unsigned char)(0xF0 | (cp >> 18));
		out[(*o)++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		out[(*o)++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*o)++] = (unsigned char)(0x80 | (cp & 0x3F));
	}
}

/*
 * Decode one JSON string literal (RFC 8259) as json.loads would, then os.fsencode it
 * (surrogateescape: U+DC80..U+DCFF -> the byte).  Returns the byte length or -1 if the text is
 * not exactly one valid JSON string.  Raw bytes >= 0x80 in the literal are copied (they must be
 * valid UTF-8, which the caller checks separately).
 */
static long json_decode(const char *s, size_t len, unsigned char *out)
{
	size_t i = 0, o = 0;
	if (len < 2 || s[0] != '"' || s[len - 1] != '"')
		return -1;
	for (i = 1; i < len - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20)
			return -1; /* raw control characters are not allowed */
		if (c == '"')
			return -1;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i >= len - 1)
			return -1;
		switch (s[i]) {
		case '"':
			out[o++] = '"';
			break;
		case '\\':
			out[o++] = '\\';
			break;
		case '/':
			out[o++] = '/';
			break;
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u': {
			if (i + 4 > len - 2) /* four hex digits before the closing quote */
				return -1;
			uint32_t cp = 0;
			for (int k = 1; k <= 4; k++) {
				int v = hexval(s[i + (size_t)k]);
				if (v < 0)
					return -1;
				cp = cp << 4 | (uint32_t)v;
			}
			i += 4;
			if (cp >= 0xDC80 && cp <= 0xDCFF)
				out[o++] = (unsigned char)(cp - 0xDC00);
			else if (cp >= 0xD800 && cp <= 0xDFFF)
				return -1; /* not produced by surrogateescape */
			else
				put_utf8(out, &o, cp);
			break;
		}
		default:
			return -1;
		}
	}
	return (long)o;
}

/* Encode, check the text is ASCII-or-valid-UTF-8 JSON, and decode it back to the bytes. */
static void check_round_trip(const void *data, size_t len)
{
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_json_string(&b, data, len), 0);
	assert_non_null(b.data);
	assert_int_equal(strlen(b.data), b.len);
	/* the JSON text itself is valid UTF-8 */
	assert_true(pyci_utf8_valid(b.data, b.len));
	unsigned char *out = malloc(b.len + 1);
	assert_non_null(out);
	long n = json_decode(b.data, b.len, out);
	if (n < 0)
		fail_msg("not a valid JSON string: %s", b.data);
	assert_int_equal((size_t)n, len);
	if (len)
		assert_memory_equal(out, data, len);
	free(out);
	pyci_buf_free(&b);
}

/* Encode and compare with an exact expected text; hex digits compare case-insensitively. */
static void check_json(const char *in, size_t len, const char *want)
{
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_json_string(&b, in, len), 0);
	size_t wl = strlen(want);
	int same = b.len == wl;
	int hexleft = 0; /* hex digits of a \uXXXX escape still to come in want */
	for (size_t i = 0; same && i < wl; i++) {
		char x = b.data[i], y = want[i];
		if (x != y && !(hexleft > 0 && hexval(x) >= 0 && hexval(x) == hexval(y)))
			same = 0;
		if (hexleft > 0)
			hexleft--;
		else if (i > 0 && y == 'u' && want[i - 1] == '\\')
			hexleft = 4;
	}
	if (!same)
		fail_msg("json_string: got [%s], expected [%s]", b.data ? b.data : "(null)", want);
	pyci_buf_free(&b);
	check_round_trip(in, len);
}

#define CHECK(lit, want) check_json(lit, sizeof(lit) - 1, want)

/* ---------------------------------------------------------------- tests */

static void test_plain(void **state)
{
	(void)state;
	CHECK("", "\"\"");
	CHECK("abc", "\"abc\"");
	CHECK("/srv/app/__pycache__/m.cpython-312.pyc",
	      "\"/srv/app/__pycache__/m.cpython-312.pyc\"");
	CHECK(" ~", "\" ~\"");
}

static void test_escapes(void **state)
{
	(void)state;
	CHECK("a\"b", "\"a\\\"b\"");
	CHECK("a\\b", "\"a\\\\b\"");
	CHECK("a\nb", "\"a\\nb\"");
	CHECK("\x01", "\"\\u0001\"");
	CHECK("\x1f", "\"\\u001f\"");
	CHECK("\x7f", "\"\\u007f\"");
	/* NUL is a byte like any other: len counts */
	check_json("a\0b", 3, "\"a\\u0000b\"");
	/* tab, CR, backspace, form feed: escaped one way or the other */
	static const char ctl[] = "\t\r\b\f";
	for (size_t i = 0; i < 4; i++) {
		pyci_buf b = PYCI_BUF_INIT;
		assert_int_equal(pyci_json_string(&b, ctl + i, 1), 0);
		assert_true(b.len >= 4);
		assert_int_equal(b.data[1], '\\');
		pyci_buf_free(&b);
		check_round_trip(ctl + i, 1);
	}
	/* all of 0x00-0x1f */
	for (int c = 0; c < 0x20; c++) {
		char ch = (char)c;
		pyci_buf b = PYCI_BUF_INIT;
		assert_int_equal(pyci_json_string(&b, &ch, 1), 0);
		for (size_t i = 0; i < b.len; i++)
			assert_true((unsigned char)b.data[i] >= 0x20);
		pyci_buf_free(&b);
		check_round_trip(&ch, 1);
	}
}

/* Every byte value at every place of a string of 1 to 24 plain bytes, so that each lands in each
 * lane of the word-at-a-time scan and in the byte-at-a-time tail: written as it is exactly when
 * it is printable ASCII but '"' and '\\', and otherwise escaped as test_escapes and
 * test_invalid_bytes say (a byte from 0x80 alone is no UTF-8: \udcXX). */
static void test_every_byte_everywhere(void **state)
{
	(void)state;
	for (size_t len = 1; len <= 24; len++) {
		for (size_t at = 0; at < len; at++) {
			for (int c = 0; c < 256; c++) {
				char in[24], want[40];
				memset(in, 'x', len);
				in[at] = (char)c;
				char esc[8];
				if (c == '"' || c == '\\')
					snprintf(esc, sizeof(esc), "\\%c", c);
				else if (c == '\n')
					snprintf(esc, sizeof(esc), "\\n");
				else if (c == '\t')
					snprintf(esc, sizeof(esc), "\\t");
				else if (c == '\r')
					snprintf(esc, sizeof(esc), "\\r");
				else if (c < 0x20 || c == 0x7F)
					snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
				else if (c >= 0x80)
					snprintf(esc, sizeof(esc), "\\udc%02x", (unsigned)c);
				else
					snprintf(esc, sizeof(esc), "%c", c);
				snprintf(want, sizeof(want), "\"%.*s%s%.*s\"", (int)at, in, esc,
					 (int)(len - at - 1), in + at + 1);
				check_json(in, len, want);
				assert_int_equal(pyci_json_string_size(in, len), strlen(want));
			}
		}
	}
}

static void test_valid_utf8(void **state)
{
	(void)state;
	CHECK("caf\xc3\xa9", "\"caf\xc3\xa9\"");           /* é */
	CHECK("\xe2\x82\xac", "\"\xe2\x82\xac\"");         /* € */
	CHECK("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* U+1F600 */
	CHECK("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	CHECK("\xc2\x80", "\"\xc2\x80\"");                 /* U+0080 */
	CHECK("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF */
	CHECK("\xee\x80\x80", "\"\xee\x80\x80\"");         /* U+E000 */
	CHECK("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
	CHECK("a\xd0\x96\"", "\"a\xd0\x96\\\"\"");
}

static void test_invalid_bytes(void **state)
{
	(void)state;
	CHECK("\xff", "\"\\udcff\"");
	CHECK("\x80", "\"\\udc80\"");
	CHECK("a\x80z", "\"a\\udc80z\"");
	CHECK("\xc0\x80", "\"\\udcc0\\udc80\"");            /* overlong NUL */
	CHECK("\xc1\xbf", "\"\\udcc1\\udcbf\"");            /* overlong */
	CHECK("\xe0\x80\xaf", "\"\\udce0\\udc80\\udcaf\""); /* overlong 3-byte */
	CHECK("\xf0\x80\x80\xaf", "\"\\udcf0\\udc80\\udc80\\udcaf\"");
	CHECK("\xed\xa0\x80", "\"\\udced\\udca0\\udc80\""); /* surrogate D800 */
	CHECK("\xed\xbf\xbf", "\"\\udced\\udcbf\\udcbf\""); /* surrogate DFFF */
	CHECK("\xe2\x82", "\"\\udce2\\udc82\"");            /* truncated at the end */
	CHECK("\xe2\x82z", "\"\\udce2\\udc82z\"");          /* truncated before ASCII */
	CHECK("\xe2\x82\xe2\x82\xac", "\"\\udce2\\udc82\xe2\x82\xac\"");
	CHECK("\xf4\x90\x80\x80", "\"\\udcf4\\udc90\\udc80\\udc80\""); /* > U+10FFFF */
	CHECK("\xf5\x80\x80\x80", "\"\\udcf5\\udc80\\udc80\\udc80\"");
	CHECK("\xfe\xfe", "\"\\udcfe\\udcfe\"");
	CHECK("m\xff\xfe.cpython-311.pyc", "\"m\\udcff\\udcfe.cpython-311.pyc\"");
}

static void test_appends(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, "{"), 0);
	assert_int_equal(pyci_json_key(&b, "path"), 0);
	assert_int_equal(pyci_json_string(&b, "a\"b", 3), 0);
	assert_int_equal(pyci_buf_putc(&b, ','), 0);
	assert_int_equal(pyci_json_key(&b, "n"), 0);
	assert_int_equal(pyci_buf_puts(&b, "1}"), 0);
	assert_string_equal(b.data, "{\"path\":\"a\\\"b\",\"n\":1}");
	assert_int_equal(b.len, strlen(b.data));
	pyci_buf_free(&b);
}

static void test_fields(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, "{\"a\":1"), 0);
	assert_int_equal(pyci_json_field_str(&b, "s", "x\xff", 2), 0);
	assert_int_equal(pyci_json_field_str(&b, "none", NULL, 0), 0);
	assert_int_equal(pyci_json_field_bool(&b, "t", 1), 0);
	assert_int_equal(pyci_json_field_bool(&b, "f", 0), 0);
	assert_int_equal(pyci_json_next_key(&b, "n"), 0);
	assert_int_equal(pyci_buf_puts(&b, "2}"), 0);
	assert_string_equal(
		b.data,
		"{\"a\":1,\"s\":\"x\\udcff\",\"none\":null,\"t\":true,\"f\":false,\"n\":2}");
	pyci_buf_free(&b);
}

static void test_long_string(void **state)
{
	(void)state;
	/* long enough to need growth, mixing every kind of byte */
	size_t len = 5000;
	unsigned char *s = malloc(len);
	assert_non_null(s);
	for (size_t i = 0; i < len; i++)
		s[i] = (unsigned char)(i * 7 + (i >> 3));
	check_round_trip(s, len);
	free(s);
}

static void test_random_round_trip(void **state)
{
	(void)state;
	uint32_t x = 0x12345678u;
	unsigned char s[64];
	for (int iter = 0; iter < 20000; iter++) {
		x = x * 1664525u + 1013904223u;
		size_t len = (x >> 24) % sizeof(s);
		for (size_t i = 0; i < len; i++) {
			x = x * 1664525u + 1013904223u;
			unsigned v = x >> 24;
			/* bias towards bytes that make or break UTF-8 sequences */
			static const unsigned char pick[] = {0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed,
							     0xef, 0xf0, 0xf4, 0xa0, 0x9f, 0x90,
							     '"',  '\\', '\n', 0x7f};
			s[i] = (v & 1) ? pick[(v >> 1) % sizeof(pick)] : (unsigned char)(x >> 16);
		}
		check_round_trip(s, len);
	}
}

static void test_utf8_valid(void **state)
{
	(void)state;
#define V(lit) pyci_utf8_valid(lit, sizeof(lit) - 1)
	assert_true(V(""));
	assert_true(V("plain ascii \x01\x7f"));
	assert_true(V("caf\xc3\xa9"));
	assert_true(V("\xe2\x82\xac"));
	assert_true(V("\xf0\x9f\x98\x80"));
	assert_true(V("\xf4\x8f\xbf\xbf"));
	assert_true(V("\xed\x9f\xbf"));
	assert_true(V("\xee\x80\x80"));
	assert_false(V("\xff"));
	assert_false(V("\x80"));
	assert_false(V("a\xbf"));
	assert_false(V("\xc0\x80"));
	assert_false(V("\xc1\xbf"));
	assert_false(V("\xe0\x80\xaf"));
	assert_false(V("\xe0\x9f\xbf"));
	assert_false(V("\xf0\x8f\xbf\xbf"));
	assert_false(V("\xed\xa0\x80"));
	assert_false(V("\xed\xbf\xbf"));
	assert_false(V("\xe2\x82"));
	assert_false(V("\xe2"));
	assert_false(V("\xf4\x90\x80\x80"));
	assert_false(V("\xf5\x80\x80\x80"));
	assert_false(V("\xe2\x82z"));
#undef V
	/* only len bytes: a valid prefix of an invalid buffer */
	assert_true(pyci_utf8_valid("ab\xff", 2));
	assert_false(pyci_utf8_valid("\xe2\x82\xac", 2));
	/* NUL is ASCII */
	assert_true(pyci_utf8_valid("a\0b", 3));
}

static void test_utf8_seq(void **state)
{
	(void)state;
#define S(lit) pyci_utf8_seq((const unsigned char *)(lit), sizeof(lit) - 1)
	assert_int_equal(S("a"), 1);
	assert_int_equal(S("\x7f"), 1);
	assert_int_equal(S("\xc3\xa9z"), 2);
	assert_int_equal(S("\xe2\x82\xacz"), 3);
	assert_int_equal(S("\xf0\x9f\x98\x80z"), 4);
	assert_int_equal(S("\x80"), 0);
	assert_int_equal(S("\xc0\x80"), 0);
	assert_int_equal(S("\xed\xa0\x80"), 0);
	assert_int_equal(S("\xe2\x82"), 0);
	assert_int_equal(S("\xff"), 0);
#undef S
	/* must fit in n */
	assert_int_equal(pyci_utf8_seq((const unsigned char *)"\xe2\x82\xac", 2), 0);
	assert_int_equal(pyci_utf8_seq((const unsigned char *)"\xe2\x82\xac", 3), 3);
}

static void test_key(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_json_key(&b, "status"), 0);
	assert_string_equal(b.data, "\"status\":");
	assert_int_equal(b.len, 9);
	pyci_buf_free(&b);
}

/* ---------------------------------------------------------------- the writer */

static void test_writer_values(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	pyci_jw w;
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_str(&w, "s", "a\"b", 3);
	pyci_jw_str(&w, "sn", NULL, 7);
	pyci_jw_cstr(&w, "c", "x");
	pyci_jw_cstr(&w, "cn", NULL);
	pyci_jw_bytes(&w, "h", "\x00\xff\x10\xab", 4);
	pyci_jw_bytes(&w, "h0", "", 0);
	pyci_jw_bytes(&w, "hn", NULL, 4);
	pyci_jw_u64(&w, "u0", 0);
	pyci_jw_u64(&w, "u", UINT64_MAX);
	pyci_jw_i64(&w, "imin", INT64_MIN);
	pyci_jw_i64(&w, "imax", INT64_MAX);
	pyci_jw_i64(&w, "ineg", -1);
	pyci_jw_i64(&w, "i0", 0);
	pyci_jw_bool(&w, "t", 7);
	pyci_jw_bool(&w, "f", 0);
	pyci_jw_null(&w, "nil");
	pyci_jw_end(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_int_equal(w.err, 0);
	assert_string_equal(b.data, "{\"s\":\"a\\\"b\",\"sn\":null,\"c\":\"x\",\"cn\":null,"
				    "\"h\":\"00ff10ab\",\"h0\":\"\",\"hn\":null,\"u0\":0,"
				    "\"u\":18446744073709551615,\"imin\":-9223372036854775808,"
				    "\"imax\":9223372036854775807,\"ineg\":-1,\"i0\":0,\"t\":true,"
				    "\"f\":false,\"nil\":null}");
	assert_int_equal(b.len, strlen(b.data));
	pyci_buf_free(&b);
}

static void test_writer_nesting(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	pyci_jw w;
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_begin(&w, "empty");
	pyci_jw_end(&w);
	pyci_jw_begin_array(&w, "none");
	pyci_jw_end_array(&w);
	pyci_jw_begin_array(&w, "a");
	pyci_jw_u64(&w, NULL, 1);
	pyci_jw_cstr(&w, NULL, "x");
	pyci_jw_begin_array(&w, NULL);
	pyci_jw_bool(&w, NULL, 1);
	pyci_jw_null(&w, NULL);
	pyci_jw_end_array(&w);
	pyci_jw_begin(&w, NULL);
	pyci_jw_i64(&w, "k", -2);
	pyci_jw_begin(&w, "o");
	pyci_jw_end(&w);
	pyci_jw_end(&w);
	pyci_jw_begin(&w, NULL);
	pyci_jw_end(&w);
	pyci_jw_end_array(&w);
	pyci_jw_u64(&w, "last", 9);
	pyci_jw_end(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data, "{\"empty\":{},\"none\":[],\"a\":[1,\"x\",[true,null],"
				    "{\"k\":-2,\"o\":{}},{}],\"last\":9}");

	/* a top-level value that is not an object; an empty writer is a success that wrote
	 * nothing */
	pyci_buf_clear(&b);
	pyci_jw_init(&w, &b);
	pyci_jw_u64(&w, NULL, 5);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data, "5");
	pyci_jw_init(&w, &b);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data, "5");
	pyci_buf_free(&b);
}

static void test_writer_escaping(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	pyci_jw w;
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_str(&w, "path", "m\xff\xfe.cpython-311.pyc", 19);
	pyci_jw_str(&w, "nul", "a\0b", 3);
	pyci_jw_cstr(&w, "ctl", "t\tn\nq\"s\\");
	pyci_jw_cstr(&w, "k\"e\\y\xff", "caf\xc3\xa9");
	pyci_jw_begin_array(&w, "a\nb");
	pyci_jw_cstr(&w, NULL, "\x01");
	pyci_jw_end_array(&w);
	pyci_jw_end(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data,
			    "{\"path\":\"m\\udcff\\udcfe.cpython-311.pyc\","
			    "\"nul\":\"a\\u0000b\",\"ctl\":\"t\\tn\\nq\\\"s\\\\\","
			    "\"k\\\"e\\\\y\\udcff\":\"caf\xc3\xa9\",\"a\\nb\":[\"\\u0001\"]}");
	assert_true(pyci_utf8_valid(b.data, b.len));
	pyci_buf_free(&b);
}

static void test_writer_appends(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, "before\n"), 0);
	pyci_jw w;
	pyci_jw_init(&w, &b);
	assert_int_equal(w.start, 7);
	pyci_jw_begin(&w, NULL);
	pyci_jw_u64(&w, "n", 1);
	pyci_jw_end(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_int_equal(pyci_buf_putc(&b, '\n'), 0);
	/* the same writer, again, for the next line */
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_u64(&w, "n", 2);
	pyci_jw_end(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data, "before\n{\"n\":1}\n{\"n\":2}");
	pyci_buf_free(&b);
}

/* A record half written when f makes it fail: b must hold "kept\n" alone, whatever follows. */
static void check_failure(void (*f)(pyci_jw *w), int want_errno)
{
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, "kept\n"), 0);
	pyci_jw w;
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_cstr(&w, "path", "/srv/app/x.pyc");
	pyci_jw_begin_array(&w, "reasons");
	pyci_jw_cstr(&w, NULL, "source mtime differs");
	f(&w);
	assert_int_equal(w.err, want_errno);
	assert_string_equal(b.data, "kept\n"); /* cut back at once */
	/* sticky: every later call does nothing */
	pyci_jw_cstr(&w, NULL, "more");
	pyci_jw_end_array(&w);
	pyci_jw_u64(&w, "size", 1);
	pyci_jw_begin(&w, "o");
	pyci_jw_bytes(&w, "h", "\x01", 1);
	pyci_jw_end(&w);
	pyci_jw_end(&w);
	assert_string_equal(b.data, "kept\n");
	assert_int_equal(b.len, 5);
	errno = 0;
	assert_int_equal(pyci_jw_finish(&w), -1);
	assert_int_equal(errno, want_errno);
	assert_string_equal(b.data, "kept\n");
	assert_int_equal(w.err, want_errno);
	/* init starts afresh */
	pyci_jw_init(&w, &b);
	pyci_jw_bool(&w, NULL, 1);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data, "kept\ntrue");
	pyci_buf_free(&b);
}

/* No allocation of these lengths can succeed: reserve says ENOMEM before reading a byte, as a
 * failed realloc would. */
static void fail_str(pyci_jw *w)
{
	pyci_jw_str(w, NULL, "x", SIZE_MAX - 3);
}

static void fail_bytes(pyci_jw *w)
{
	pyci_jw_bytes(w, NULL, "x", SIZE_MAX / 2);
}

static void fail_key_in_array(pyci_jw *w)
{
	pyci_jw_u64(w, "k", 1);
}

static void fail_no_key_in_object(pyci_jw *w)
{
	pyci_jw_begin(w, NULL);
	pyci_jw_u64(w, NULL, 1);
}

static void fail_mismatched_end(pyci_jw *w)
{
	pyci_jw_end(w);
}

static void fail_end_of_nothing(pyci_jw *w)
{
	pyci_jw_end_array(w);
	pyci_jw_end(w);
	pyci_jw_end(w);
}

static void fail_second_value(pyci_jw *w)
{
	pyci_jw_end_array(w);
	pyci_jw_end(w);
	pyci_jw_null(w, NULL);
}

static void test_writer_failure(void **state)
{
	(void)state;
	check_failure(fail_str, ENOMEM);
	check_failure(fail_bytes, ENOMEM);
	check_failure(fail_key_in_array, EINVAL);
	check_failure(fail_no_key_in_object, EINVAL);
	check_failure(fail_mismatched_end, EINVAL);
	check_failure(fail_end_of_nothing, EINVAL);
	check_failure(fail_second_value, EINVAL);

	/* a container left open: finish fails and takes it back */
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, "x"), 0);
	pyci_jw w;
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_begin_array(&w, "a");
	pyci_jw_end_array(&w);
	assert_string_equal(b.data, "x{\"a\":[]");
	errno = 0;
	assert_int_equal(pyci_jw_finish(&w), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(b.data, "x");
	/* a key at the top level */
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, "top");
	assert_int_equal(pyci_jw_finish(&w), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(b.data, "x");
	pyci_buf_free(&b);
}

static void test_writer_depth(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	pyci_jw w;
	/* PYCI_JW_MAX_DEPTH levels: fine */
	pyci_jw_init(&w, &b);
	for (int i = 0; i < PYCI_JW_MAX_DEPTH; i++)
		pyci_jw_begin_array(&w, NULL);
	pyci_jw_u64(&w, NULL, 0);
	for (int i = 0; i < PYCI_JW_MAX_DEPTH; i++)
		pyci_jw_end_array(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_int_equal(b.len, 2 * PYCI_JW_MAX_DEPTH + 1);
	assert_int_equal(b.data[PYCI_JW_MAX_DEPTH], '0');
	/* one more: EINVAL, and nothing of it stays */
	pyci_buf_clear(&b);
	pyci_jw_init(&w, &b);
	for (int i = 0; i < PYCI_JW_MAX_DEPTH; i++)
		pyci_jw_begin(&w, i ? "k" : NULL);
	assert_int_equal(w.err, 0);
	pyci_jw_begin(&w, "k");
	assert_int_equal(w.err, EINVAL);
	assert_int_equal(b.len, 0);
	for (int i = 0; i <= PYCI_JW_MAX_DEPTH; i++)
		pyci_jw_end(&w);
	errno = 0;
	assert_int_equal(pyci_jw_finish(&w), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(b.len, 0);
	pyci_buf_free(&b);
}

static void test_writer_decimal(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	pyci_jw w;
	pyci_jw_init(&w, &b);
	pyci_jw_begin_array(&w, NULL);
	pyci_jw_decimal(&w, NULL, "0");
	pyci_jw_decimal(&w, NULL, "-0");
	pyci_jw_decimal(&w, NULL, "15000000000123456789");
	pyci_jw_decimal(&w, NULL, "-9223372036854775809000000000");
	pyci_jw_end_array(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data, "[0,-0,15000000000123456789,-9223372036854775809000000000]");
	static const char *const bad[] = {"",   "-",  "01", "-01", "1.5", "1e9",
					  "+1", " 1", "1 ", "0x1", "--1", "nan"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pyci_buf_clear(&b);
		pyci_jw_init(&w, &b);
		pyci_jw_begin(&w, NULL);
		pyci_jw_decimal(&w, "n", bad[i]);
		pyci_jw_end(&w);
		errno = 0;
		if (pyci_jw_finish(&w) != -1 || errno != EINVAL || b.len != 0)
			fail_msg("decimal '%s' was taken", bad[i]);
	}
	pyci_buf_free(&b);
}

static void test_writer_restore(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	pyci_jw w;
	pyci_jw_mark m;
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_begin_array(&w, "tree");
	/* the first element taken back: the next one has no comma before it */
	pyci_jw_save(&w, &m);
	pyci_jw_begin(&w, NULL);
	pyci_jw_cstr(&w, "name", "too large");
	pyci_jw_begin_array(&w, "names");
	pyci_jw_restore(&w, &m);
	assert_string_equal(b.data, "{\"tree\":[");
	pyci_jw_begin(&w, NULL);
	pyci_jw_u64(&w, "depth", 0);
	pyci_jw_end(&w);
	/* a later one, taken back with its comma */
	pyci_jw_save(&w, &m);
	pyci_jw_begin(&w, NULL);
	pyci_jw_u64(&w, "depth", 1);
	pyci_jw_end(&w);
	pyci_jw_restore(&w, &m);
	pyci_jw_end_array(&w);
	/* a member of an object, the same way */
	pyci_jw_save(&w, &m);
	pyci_jw_cstr(&w, "gone", "x");
	pyci_jw_restore(&w, &m);
	pyci_jw_null(&w, "error");
	pyci_jw_end(&w);
	assert_int_equal(pyci_jw_finish(&w), 0);
	assert_string_equal(b.data, "{\"tree\":[{\"depth\":0}],\"error\":null}");

	/* a mark inside a container closed since: EINVAL, and the value is cut */
	pyci_buf_clear(&b);
	pyci_jw_init(&w, &b);
	pyci_jw_begin(&w, NULL);
	pyci_jw_begin(&w, "o");
	pyci_jw_save(&w, &m);
	pyci_jw_end(&w);
	pyci_jw_restore(&w, &m);
	assert_int_equal(w.err, EINVAL);
	assert_int_equal(b.len, 0);
	errno = 0;
	assert_int_equal(pyci_jw_finish(&w), -1);
	assert_int_equal(errno, EINVAL);
	pyci_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_every_byte_everywhere),
		cmocka_unit_test(test_valid_utf8),
		cmocka_unit_test(test_invalid_bytes),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_seq),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_writer_values),
		cmocka_unit_test(test_writer_nesting),
		cmocka_unit_test(test_writer_escaping),
		cmocka_unit_test(test_writer_appends),
		cmocka_unit_test(test_writer_failure),
		cmocka_unit_test(test_writer_depth),
		cmocka_unit_test(test_writer_decimal),
		cmocka_unit_test(test_writer_restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
