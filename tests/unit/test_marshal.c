/*
 * test_marshal.c - unit tests for marshal.h: the hostile-input marshal decoder.
 *
 * Bodies are written by hand with a small builder (code objects of the 2.7, 3.0-3.7, 3.8-3.10
 * and 3.11+ layouts around whatever constants a test needs), so every type code is read at
 * least once, and the answers are known: constants as text (floats as repr() prints them, ints
 * of any size), references numbered in pre-order, py2's interned list and 'R', the version
 * gates of each code, the qualname rule, 3.11 localsplus kinds.  Then the limits: nesting at
 * exactly 2000 and 2001 levels, sizes of 2^31 and 2^31-1 on a small body, references to
 * unfilled slots and out of range, memory held to the budget when references multiply work.
 * What is kept: a tuple of 20 million None decodes under a bound its members would break if
 * each were kept; tuples of more than PYCI_MARSHAL_MAX_ITEMS names or constants keep that many
 * and count the rest; runs of singletons are counted as one by one.
 * And real caches from fixtures/: known trees, every truncation of their bodies, and seeded
 * random bit flips (no crash, and a result or an error, never neither).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/header.h"
#include "pycinspect/marshal.h"

#include "mbuild.h"

/* Decode a 3.13 module whose consts object is the given bytes. */
static int decode_consts(uint32_t magic, const bb *consts, int want, pyci_marshal *out)
{
	spec s = {.layout = LAY311, .consts = consts_raw, .ctx = consts, .firstlineno = 1};
	pyci_magic_info m = magic_of(magic);
	if (m.major == 2)
		s.layout = LAY27;
	else if (m.major * 100 + m.minor < 308)
		s.layout = LAY30;
	else if (m.major * 100 + m.minor < 311)
		s.layout = LAY38;
	bb b = {0};
	put_code(&b, &s);
	int r = pyci_marshal_decode(b.d, b.n, &m, want, out);
	free(b.d);
	return r;
}

static void assert_const(const pyci_marshal *mm, size_t i, char type, const char *text)
{
	assert_true(mm->ncodes > 0);
	assert_true(i < mm->codes[0].nconsts);
	const pyci_mconst *c = &mm->codes[0].consts[i];
	if (c->type != type || c->text.len != strlen(text) ||
	    memcmp(c->text.data, text, c->text.len))
		fail_msg("const %zu: got %c:%.*s, want %c:%s", i, c->type, (int)c->text.len,
			 c->text.data ? c->text.data : "(null)", type, text);
	assert_int_equal(c->text.data[c->text.len], '\0');
}

/* ------------------------------------------------------------------------------------------ */
/* Versions and layouts */

static void test_versions(void **state)
{
	(void)state;
	static const struct {
		uint32_t magic;
		int version;
	} rows[] = {
		{62011, 0}, {62061, 1}, {62131, 2}, {62211, 2}, {3131, 2},
		{3230, 2},  {3250, 3},  {3280, 4},  {3310, 4},  {3379, 4},
		{3571, 4},  {3600, 4},  {3608, 5},  {3627, 5},  {3666, 6},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pyci_magic_info m = magic_of(rows[i].magic);
		pyci_marshal out;
		uint8_t body[] = {'N'};
		assert_int_equal(pyci_marshal_decode(body, 1, &m, 0, &out), -1);
		if (out.version != rows[i].version)
			fail_msg("magic %u: version %d, want %d", rows[i].magic, out.version,
				 rows[i].version);
		pyci_marshal_free(&out);
	}
}

static void test_unsupported_layouts(void **state)
{
	(void)state;
	static const uint32_t magics[] = {20121, 50823, 60717, 3450, 3459};
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++) {
		pyci_magic_info m = magic_of(magics[i]);
		pyci_marshal out;
		uint8_t body[] = {'c', 0, 0, 0, 0};
		assert_int_equal(pyci_marshal_decode(body, sizeof(body), &m, 0, &out), -1);
		assert_int_equal(out.error, ENOTSUP);
		assert_non_null(strstr(out.error_msg, "unsupported code layout"));
		assert_int_equal(out.ncodes, 0);
		pyci_marshal_free(&out);
	}
	/* no magic at all */
	pyci_marshal out;
	assert_int_equal(pyci_marshal_decode((const uint8_t *)"c", 1, NULL, 0, &out), -1);
	assert_int_equal(out.error, ENOTSUP);
	pyci_marshal_free(&out);
}

static void test_layouts_each(void **state)
{
	(void)state;
	static const char *const vn[] = {"a", "b"};
	static const struct {
		uint32_t magic;
		int layout;
		int32_t posonly, kwonly, nlocals;
		int old_strings;
	} rows[] = {
		/* every release line from 2.3 to 3.15, by the final release's magic (2.3-2.6 and
		 * 3.0-3.5 have no interpreter on the machine to check them against) */
		{62011, LAY27, -1, -1, 2, 0}, {62061, LAY27, -1, -1, 2, 0},
		{62131, LAY27, -1, -1, 2, 0}, {62161, LAY27, -1, -1, 2, 0},
		{3131, LAY30, -1, 0, 2, 1},   {3151, LAY30, -1, 0, 2, 1},
		{3180, LAY30, -1, 0, 2, 1},   {3230, LAY30, -1, 0, 2, 1},
		{3310, LAY30, -1, 0, 2, 0},   {3350, LAY30, -1, 0, 2, 0},
		{62211, LAY27, -1, -1, 2, 0}, {3379, LAY30, -1, 0, 2, 0},
		{3401, LAY30, -1, 0, 2, 0},   {3410, LAY38, 0, 0, 2, 0},
		{3425, LAY38, 0, 0, 2, 0},    {3439, LAY38, 0, 0, 2, 0},
		{3495, LAY311, 0, 0, 2, 0},   {3571, LAY311, 0, 0, 2, 0},
		{3627, LAY311, 0, 0, 2, 0},   {3666, LAY311, 0, 0, 2, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		spec s = {.layout = rows[i].layout,
			  .old_strings = rows[i].old_strings,
			  .name = "f",
			  .flags = 3,
			  .firstlineno = 7,
			  .argcount = 2,
			  .varnames = vn,
			  .nvarnames = 2,
			  .lpnames = vn,
			  .lpkinds = "\x26\x26",
			  .nlp = 2};
		bb b = {0};
		put_code(&b, &s);
		pyci_magic_info m = magic_of(rows[i].magic);
		pyci_marshal out;
		if (pyci_marshal_decode(b.d, b.n, &m, 0, &out) != 0)
			fail_msg("magic %u: %s at %zu", rows[i].magic, out.error_msg,
				 out.error_offset);
		assert_int_equal(out.consumed, b.n);
		assert_int_equal(out.ncodes, 1);
		const pyci_mcode *c = &out.codes[0];
		assert_int_equal(c->depth, 0);
		assert_int_equal(c->parent, SIZE_MAX);
		assert_int_equal(c->argcount, 2);
		assert_int_equal(c->posonlyargcount, rows[i].posonly);
		assert_int_equal(c->kwonlyargcount, rows[i].kwonly);
		assert_int_equal(c->nlocals, rows[i].nlocals);
		assert_int_equal(c->stacksize, 4);
		assert_int_equal(c->flags, 3);
		assert_int_equal(c->firstlineno, 7);
		assert_int_equal(c->code_size, 4);
		assert_string_equal(c->name.data, "f");
		assert_string_equal(c->qualname.data, "f");
		assert_int_equal(c->qualname_stored, rows[i].layout == LAY311);
		assert_string_equal(c->filename.data, "t.py");
		assert_int_equal(c->nvarnames, 2);
		assert_string_equal(c->varnames[1].data, "b");
		assert_null(c->consts);
		pyci_marshal_free(&out);
		free(b.d);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Type codes */

static void test_scalar_consts(void **state)
{
	(void)state;
	bb c = {0};
	u8(&c, '(');
	i32(&c, 25);
	u8(&c, 'N');
	u8(&c, 'T');
	u8(&c, 'F');
	u8(&c, '.');
	u8(&c, 'S'); /* StopIteration: not kept */
	u8(&c, 'i');
	i32(&c, (uint32_t)-5);
	u8(&c, 'I'); /* int64 */
	i32(&c, 0);
	i32(&c, 0x80000000u);
	u8(&c, 'l'); /* 2**75 = digits 0,0,0,0,0,1 */
	i32(&c, 6);
	for (int k = 0; k < 5; k++)
		put(&c, "\0\0", 2);
	put(&c, "\1\0", 2);
	u8(&c, 'l'); /* -(1 + 2*2**15) in two digits */
	i32(&c, (uint32_t)-2);
	put(&c, "\1\0\2\0", 4);
	u8(&c, 'g');
	f64(&c, 0.1);
	u8(&c, 'y');
	f64(&c, 1.0);
	f64(&c, -2.5);
	u8(&c, 'f'); /* text float */
	u8(&c, 4);
	put(&c, "1e16", 4);
	u8(&c, 'x'); /* text complex */
	u8(&c, 1);
	put(&c, "0", 1);
	u8(&c, 3);
	put(&c, "2.0", 3);
	sized(&c, 's', "b\0y", 3);
	sized(&c, 'u', "\xc3\xa9t\xc3\xa9", 5);
	sized(&c, 't', "interned", 8);
	sized(&c, 'a', "ascii", 5);
	sized(&c, 'A', "ASCII", 5);
	u8(&c, 'z');
	u8(&c, 2);
	put(&c, "\xe9!", 2); /* latin-1 byte: widened to UTF-8 */
	u8(&c, 'Z');
	u8(&c, 1);
	put(&c, "Z", 1);
	u8(&c, ')'); /* nested tuple, list, set, frozenset, dict: not kept */
	u8(&c, 1);
	u8(&c, 'N');
	u8(&c, '[');
	i32(&c, 1);
	u8(&c, 'N');
	u8(&c, '<');
	i32(&c, 0);
	u8(&c, '>');
	i32(&c, 1);
	u8(&c, 'i');
	i32(&c, 1);
	u8(&c, '{');
	u8(&c, 'i');
	i32(&c, 1);
	u8(&c, 'N');
	u8(&c, '0');

	pyci_marshal out;
	assert_int_equal(decode_consts(3571, &c, 1, &out), 0);
	assert_int_equal(out.codes[0].nconsts, 19);
	assert_const(&out, 0, 'N', "None");
	assert_const(&out, 1, 'T', "True");
	assert_const(&out, 2, 'F', "False");
	assert_const(&out, 3, '.', "Ellipsis");
	assert_const(&out, 4, 'i', "-5");
	assert_const(&out, 5, 'i', "-9223372036854775808");
	assert_const(&out, 6, 'i', "37778931862957161709568");
	assert_const(&out, 7, 'i', "-65537");
	assert_const(&out, 8, 'f', "0.1");
	assert_const(&out, 9, 'c', "(1-2.5j)");
	assert_const(&out, 10, 'f', "1e+16");
	assert_const(&out, 11, 'c', "2j");
	assert_true(out.codes[0].consts[12].type == 'b' && out.codes[0].consts[12].text.len == 3);
	assert_memory_equal(out.codes[0].consts[12].text.data, "b\0y", 3);
	assert_const(&out, 13, 's', "\xc3\xa9t\xc3\xa9");
	assert_const(&out, 14, 's', "interned");
	assert_const(&out, 15, 's', "ascii");
	assert_const(&out, 16, 's', "ASCII");
	assert_const(&out, 17, 's', "\xc3\xa9!");
	assert_const(&out, 18, 's', "Z");
	/* the containers after it are in the tuple but not kept */
	static const char counted[] = "NTF.SiIlgyfxstuaAzZ)[<>{";
	for (const char *p = counted; *p; p++)
		if (out.type_counts[(unsigned char)*p] == 0)
			fail_msg("type %c not counted", *p);
	assert_int_equal(out.type_counts['c'], 1);
	assert_int_equal(out.type_counts['0'], 1);
	assert_string_equal(pyci_marshal_type_name('Z'), "short_ascii_interned");
	pyci_marshal_free(&out);

	/* without want_consts: nothing kept, same tree */
	assert_int_equal(decode_consts(3571, &c, 0, &out), 0);
	assert_null(out.codes[0].consts);
	assert_int_equal(out.codes[0].nconsts, 0);
	pyci_marshal_free(&out);
	free(c.d);
}

static void test_float_repr(void **state)
{
	(void)state;
	static const struct {
		double x;
		const char *repr;
	} rows[] = {
		{0.1, "0.1"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{1e-5, "1e-05"},
		{0.0001, "0.0001"},
		{1.5, "1.5"},
		{100.0, "100.0"},
		{0.0, "0.0"},
		{-0.0, "-0.0"},
		{5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{5.9604644775390625e-08,
		 "5.960464477539063e-08"}, /* 2**-24: next to a power of 2 */
		{1.0 / 3, "0.3333333333333333"},
		{2.0 / 3, "0.6666666666666666"},
		{9007199254740993.0, "9007199254740992.0"},
		{INFINITY, "inf"},
		{-INFINITY, "-inf"},
		{NAN, "nan"},
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	bb c = {0};
	u8(&c, '(');
	i32(&c, (uint32_t)n + 4);
	for (size_t i = 0; i < n; i++) {
		u8(&c, 'g');
		f64(&c, rows[i].x);
	}
	double cx[4][2] = {{-0.0, 1.0}, {1.0, NAN}, {0.0, -INFINITY}, {1e16, 1e-5}};
	for (int i = 0; i < 4; i++) {
		u8(&c, 'y');
		f64(&c, cx[i][0]);
		f64(&c, cx[i][1]);
	}
	pyci_marshal out;
	assert_int_equal(decode_consts(3571, &c, 1, &out), 0);
	for (size_t i = 0; i < n; i++)
		assert_const(&out, i, 'f', rows[i].repr);
	assert_const(&out, n, 'c', "(-0+1j)");
	assert_const(&out, n + 1, 'c', "(1+nanj)");
	assert_const(&out, n + 2, 'c', "-infj");
	assert_const(&out, n + 3, 'c', "(1e+16+1e-05j)");
	pyci_marshal_free(&out);
	free(c.d);
}

static void test_text_floats(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *repr; /* NULL: invalid */
	} rows[] = {
		{"1", "1.0"},      {"-2.50", "-2.5"}, {".5", "0.5"},         {"5.", "5.0"},
		{"1E3", "1000.0"}, {"inf", "inf"},    {"-Infinity", "-inf"}, {"nan", "nan"},
		{"1.2.3", NULL},   {" 1", NULL},      {"0x10", NULL},        {"", NULL},
		{"e5", NULL},      {"1e", NULL},      {"infinit", NULL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		/* text floats are what 2.3 and older wrote; read in any version */
		bb c = {0};
		u8(&c, '(');
		i32(&c, 1);
		u8(&c, 'f');
		u8(&c, (unsigned)strlen(rows[i].text));
		put(&c, rows[i].text, strlen(rows[i].text));
		pyci_marshal out;
		int r = decode_consts(62211, &c, 1, &out);
		if (rows[i].repr) {
			assert_int_equal(r, 0);
			assert_const(&out, 0, 'f', rows[i].repr);
		} else {
			assert_int_equal(r, -1);
			assert_int_equal(out.error, EINVAL);
			assert_string_equal(out.error_msg, "bad marshal data (invalid float text)");
			assert_int_equal(out.error_offset, 1 + 16 + 9 + 5);
		}
		pyci_marshal_free(&out);
		free(c.d);
	}
}

static void test_longs(void **state)
{
	(void)state;
	pyci_marshal out;
	/* a long of 4000 digits of 0x7fff: hex, since it is past the decimal limit of 1000 */
	bb c = {0};
	u8(&c, ')');
	u8(&c, 3);
	u8(&c, 'l');
	i32(&c, (uint32_t)-4000);
	for (int k = 0; k < 4000; k++)
		put(&c, "\xff\x7f", 2);
	u8(&c, 'l'); /* 10**20 = 0x56bc75e2d63100000 */
	i32(&c, 5);
	/* 10**20 in base 2**15, least significant first */
	{
		unsigned long long lo = 0x6bc75e2d63100000ull; /* low 64 bits of 10**20 */
		unsigned hi = 0x5;                             /* bits 64.. */
		unsigned dg[5];
		for (int k = 0; k < 5; k++) {
			unsigned v = 0;
			for (int bit = 0; bit < 15; bit++) {
				int pos = k * 15 + bit;
				unsigned b = pos < 64 ? (unsigned)(lo >> pos) & 1
						      : (hi >> (pos - 64)) & 1;
				v |= b << bit;
			}
			dg[k] = v;
		}
		for (int k = 0; k < 5; k++) {
			u8(&c, dg[k] & 0xFF);
			u8(&c, dg[k] >> 8);
		}
	}
	u8(&c, 'l'); /* zero: n = 0 */
	i32(&c, 0);
	assert_int_equal(decode_consts(3571, &c, 1, &out), 0);
	const pyci_mconst *k0 = &out.codes[0].consts[0];
	assert_int_equal(k0->type, 'i');
	assert_int_equal(k0->text.len, 3 + 15000); /* "-0x" and 60000 one bits */
	assert_memory_equal(k0->text.data, "-0xfff", 6);
	assert_const(&out, 1, 'i', "100000000000000000000");
	assert_const(&out, 2, 'i', "0");
	pyci_marshal_free(&out);
	free(c.d);

	/* the boundary: 1000 digits of 0x7fff (2**15000-1) in decimal, 1001 in hex */
	for (int extra = 0; extra < 2; extra++) {
		bb e = {0};
		u8(&e, ')');
		u8(&e, 1);
		u8(&e, 'l');
		i32(&e, 1000u + (unsigned)extra);
		for (int k = 0; k < 1000 + extra; k++)
			put(&e, "\xff\x7f", 2);
		assert_int_equal(decode_consts(3571, &e, 1, &out), 0);
		const pyci_mconst *k1 = &out.codes[0].consts[0];
		if (!extra) {
			assert_int_equal(k1->text.len, 4516);
			assert_memory_equal(k1->text.data, "281796087963", 12);
			assert_memory_equal(k1->text.data + 4516 - 12, "708001509375", 12);
		} else {
			assert_int_equal(k1->text.len, 3756);
			assert_memory_equal(k1->text.data, "0x7fff", 6);
		}
		pyci_marshal_free(&out);
		free(e.d);
	}

	/* bad longs */
	static const struct {
		int32_t n;
		const char *digits;
		size_t len;
		const char *msg;
	} bad[] = {
		{1, "\x00\x80", 2, "bad marshal data (digit out of range in long)"},
		{2, "\x01\x00\x00\x00", 4, "bad marshal data (unnormalized long data)"},
		{INT32_MIN, "", 0, "bad marshal data (long size out of range)"},
		{1000, "\x01\x00", 2, "bad marshal data (size larger than the remaining data)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bb e = {0};
		u8(&e, ')');
		u8(&e, 1);
		u8(&e, 'l');
		i32(&e, (uint32_t)bad[i].n);
		put(&e, bad[i].digits, bad[i].len);
		assert_int_equal(decode_consts(3571, &e, 1, &out), -1);
		assert_int_equal(out.error, EINVAL);
		assert_string_equal(out.error_msg, bad[i].msg);
		pyci_marshal_free(&out);
		free(e.d);
	}
}

static void test_strings_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		size_t n;
		int ok;
	} rows[] = {
		{"\xed\xa0\x80", 3, 1}, /* a lone surrogate: surrogatepass */
		{"\xf0\x9f\x98\x80", 4, 1}, {"\xff", 1, 0}, {"\xc0\x80", 2, 0}, /* overlong */
		{"\xe2\x82", 2, 0},                                             /* truncated */
		{"\xf4\x90\x80\x80", 4, 0},                                     /* above U+10FFFF */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bb c = {0};
		u8(&c, ')');
		u8(&c, 1);
		sized(&c, 'u', rows[i].s, rows[i].n);
		pyci_marshal out;
		int r = decode_consts(3571, &c, 1, &out);
		assert_int_equal(r, rows[i].ok ? 0 : -1);
		if (!rows[i].ok)
			assert_string_equal(out.error_msg,
					    "bad marshal data (invalid UTF-8 in str)");
		pyci_marshal_free(&out);
		free(c.d);
	}
}

static void test_version_gates(void **state)
{
	(void)state;
	static const struct {
		uint32_t magic;
		const char *obj;
		size_t len;
		int ok;
	} rows[] = {
		{3571, ":NNN", 4, 0}, /* slice: v5 */
		{3627, ":NNN", 4, 1},
		{3627, "}0", 2, 0}, /* frozendict: v6 */
		{3666, "}NN0", 4, 1},
		{62211, "z\1a", 3, 0}, /* short ASCII: v4 */
		{3571, "z\1a", 3, 1},
		{62211, "\xe9\1\0\0\0", 5, 0}, /* FLAG_REF: v3 */
		{3571, "\xe9\1\0\0\0", 5, 1},
		{3571, "R\0\0\0\0", 5, 0},          /* stringref: py2 only */
		{62061, "g\0\0\0\0\0\0\0\0", 9, 0}, /* binary float: v2 (2.5) */
		{62131, "g\0\0\0\0\0\0\0\0", 9, 1},
		{62011, "t\1\0\0\0a", 6, 0}, /* interned: v1 (2.4) */
		{62061, "t\1\0\0\0a", 6, 1},
		{3571, "?", 1, 0},
		{3571, "\x01", 1, 0},
		{3571, "C", 1, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bb c = {0};
		u8(&c, '(');
		i32(&c, 1);
		size_t at = c.n;
		put(&c, rows[i].obj, rows[i].len);
		pyci_marshal out;
		int r = decode_consts(rows[i].magic, &c, 1, &out);
		if (r != (rows[i].ok ? 0 : -1))
			fail_msg("row %zu: %d (%s)", i, r, out.error_msg ? out.error_msg : "");
		if (!rows[i].ok) {
			assert_int_equal(out.error, EINVAL);
			assert_string_equal(out.error_msg, "bad marshal data (unknown type code)");
			/* the code object's fixed part before consts: 'c', the i32s, co_code */
			size_t ints = magic_of(rows[i].magic).major == 2 ? 4 : 5;
			assert_int_equal(out.error_offset, 1 + 4 * ints + 9 + at);
		}
		pyci_marshal_free(&out);
		free(c.d);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* References */

static void test_refs_preorder(void **state)
{
	(void)state;
	/* the reference's example: marshal.dumps(('abc','abc')) on 3.13 is
	 * a9 02 da 03 'abc' 72 01000000: the tuple is ref 0, the string ref 1 */
	bb c = {0};
	u8(&c, ')');
	u8(&c, 3);
	put(&c,
	    "\xa9\x02\xda\x03"
	    "abc"
	    "r\x01\0\0\0",
	    12);
	u8(&c, 'r'); /* the inner tuple again, ref 0 */
	i32(&c, 0);
	u8(&c, 'r'); /* and the string, ref 1 */
	i32(&c, 1);
	pyci_marshal out;
	if (decode_consts(3571, &c, 1, &out) != 0)
		fail_msg("%s at %zu", out.error_msg, out.error_offset);
	assert_int_equal(out.codes[0].nconsts, 1); /* the tuples are not kept, the string is */
	assert_const(&out, 0, 's', "abc");
	assert_int_equal(out.type_counts['r'], 3);
	pyci_marshal_free(&out);
	free(c.d);
}

static void test_refs_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *obj;
		size_t len;
	} rows[] = {
		{"\xa9\x01r\0\0\0\0", 7}, /* a tuple holding itself: slot reserved, unfilled */
		{"\xdb\0\0\0\0r\x01\0\0\0", 10}, /* a dict (ref 0), then ref 1: out of range */
		{"r\xff\xff\xff\xff", 5},        /* negative */
		{"r\0\0\0\0", 5},                /* empty table */
		{"\xe9\1\0\0\0r\1\0\0\0", 10},   /* one int at 0, ref 1 */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bb c = {0};
		u8(&c, ')');
		u8(&c, 2);
		size_t at = c.n;
		put(&c, rows[i].obj, rows[i].len);
		u8(&c, 'N');
		pyci_marshal out;
		assert_int_equal(decode_consts(3571, &c, 0, &out), -1);
		assert_int_equal(out.error, EINVAL);
		assert_string_equal(out.error_msg, "bad marshal data (invalid reference)");
		/* offset of the 'r': after 'c', five i32, co_code (9 bytes), the consts header */
		const char *r = memchr(rows[i].obj, 'r', rows[i].len);
		assert_int_equal(out.error_offset, 1 + 20 + 9 + at + (size_t)(r - rows[i].obj));
		assert_int_equal(out.ncodes, 1); /* what was decoded stays */
		assert_null(out.codes[0].name.data);
		pyci_marshal_free(&out);
		free(c.d);
	}

	/* a code object referring to itself from its consts: its slot is not filled yet */
	bb b = {0};
	u8(&b, 'c' | 0x80);
	for (int k = 0; k < 5; k++)
		i32(&b, 0);
	bytes_obj(&b, "", 0);
	u8(&b, ')');
	u8(&b, 1);
	u8(&b, 'r');
	i32(&b, 0);
	pyci_magic_info m = magic_of(3571);
	pyci_marshal out;
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 0, &out), -1);
	assert_string_equal(out.error_msg, "bad marshal data (invalid reference)");
	assert_int_equal(out.error_offset, 1 + 20 + 5 + 2);
	pyci_marshal_free(&out);
	free(b.d);
}

/* The frozendict slot is filled (see marshal.c), the slice's too. */
static void test_refs_slice_frozendict(void **state)
{
	(void)state;
	bb c = {0};
	u8(&c, ')');
	u8(&c, 4);
	put(&c,
	    "\xfd"
	    "N"
	    "i\1\0\0\0"
	    "0",
	    8); /* frozendict {None: 1}, ref 0 */
	put(&c,
	    "\xba"
	    "NNN",
	    4); /* slice(None, None, None), ref 1 */
	put(&c, "r\0\0\0\0", 5);
	put(&c, "r\1\0\0\0", 5);
	pyci_marshal out;
	assert_int_equal(decode_consts(3666, &c, 1, &out), 0);
	assert_int_equal(out.codes[0].nconsts, 0);
	assert_int_equal(out.type_counts['}'], 1);
	assert_int_equal(out.type_counts[':'], 1);
	pyci_marshal_free(&out);
	free(c.d);
}

static void write_child(bb *b, const void *ctx)
{
	(void)ctx;
	u8(b, ')');
	u8(b, 2);
	spec s = {.layout = LAY311, .ref = 0x80, .name = "f", .qualname = "f", .flags = 3};
	put_code(b, &s); /* ref 0: the top code has no FLAG_REF */
	u8(b, 'r');
	i32(b, 0);
}

static void test_ref_to_code(void **state)
{
	(void)state;
	spec s = {.layout = LAY311, .consts = write_child};
	bb b = {0};
	put_code(&b, &s);
	pyci_magic_info m = magic_of(3571);
	pyci_marshal out;
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 0, &out), 0);
	assert_int_equal(out.ncodes, 2); /* reached twice, listed once */
	assert_int_equal(out.codes[1].parent, 0);
	assert_int_equal(out.codes[1].depth, 1);
	assert_string_equal(out.codes[1].qualname.data, "f");
	pyci_marshal_free(&out);
	free(b.d);
}

static void test_py2_stringref(void **state)
{
	(void)state;
	/* 2.7: names via 't' (appended to the interned list) and 'R' (an index into it) */
	bb b = {0};
	u8(&b, 'c');
	for (int k = 0; k < 4; k++)
		i32(&b, 0);
	bytes_obj(&b, "", 0);
	u8(&b, '(');
	i32(&b, 0);
	u8(&b, '(');
	i32(&b, 3);
	sized(&b, 't', "alpha", 5);
	sized(&b, 't', "beta", 4);
	u8(&b, 'R');
	i32(&b, 0);
	for (int k = 0; k < 3; k++) { /* varnames, freevars, cellvars */
		u8(&b, '(');
		i32(&b, 0);
	}
	size_t fname_at = b.n;
	u8(&b, 'R'); /* filename: "beta" */
	i32(&b, 1);
	sized(&b, 't', "<module>", 8);
	i32(&b, 1);
	bytes_obj(&b, "", 0);
	pyci_magic_info m = magic_of(62211);
	pyci_marshal out;
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 0, &out), 0);
	assert_int_equal(out.codes[0].nnames, 3);
	assert_string_equal(out.codes[0].names[2].data, "alpha");
	assert_string_equal(out.codes[0].filename.data, "beta");
	assert_string_equal(out.codes[0].qualname.data, "<module>");
	assert_int_equal(out.codes[0].posonlyargcount, -1);
	assert_int_equal(out.codes[0].kwonlyargcount, -1);
	pyci_marshal_free(&out);

	/* 'R' past the list of two */
	b.d[fname_at + 1] = 2;
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 0, &out), -1);
	assert_string_equal(out.error_msg, "bad marshal data (string ref out of range)");
	assert_int_equal(out.error_offset, fname_at);
	pyci_marshal_free(&out);
	free(b.d);
}

/* ------------------------------------------------------------------------------------------ */
/* Limits */

/* A 3.13 module whose consts is `levels` nested 1-tuples around an empty one. */
static int decode_nested(size_t levels, pyci_marshal *out)
{
	bb c = {0};
	for (size_t k = 0; k + 1 < levels; k++) {
		u8(&c, ')');
		u8(&c, 1);
	}
	u8(&c, ')');
	u8(&c, 0);
	int r = decode_consts(3571, &c, 0, out);
	free(c.d);
	return r;
}

static void test_depth_limit(void **state)
{
	(void)state;
	pyci_marshal out;
	/* the code object is level 1: 1999 tuples reach 2000, the limit */
	assert_int_equal(decode_nested(1999, &out), 0);
	pyci_marshal_free(&out);
	assert_int_equal(decode_nested(2000, &out), -1);
	assert_int_equal(out.error, E2BIG);
	assert_non_null(strstr(out.error_msg, "too deep"));
	assert_int_equal(out.error_offset, 1 + 20 + 9 + 2 * 1999);
	pyci_marshal_free(&out);
	assert_int_equal(decode_nested(2001, &out), -1);
	assert_int_equal(out.error, E2BIG);
	pyci_marshal_free(&out);
	assert_int_equal(decode_nested(100000, &out), -1);
	assert_int_equal(out.error, E2BIG);
	pyci_marshal_free(&out);
}

static void test_huge_sizes(void **state)
{
	(void)state;
	/* one-byte sizes past the end */
	static const char short_types[] = "zZ)f";
	for (const char *t = short_types; *t; t++) {
		bb c = {0};
		u8(&c, ')');
		u8(&c, 1);
		u8(&c, (unsigned)*t);
		u8(&c, 200);
		put(&c, "abcd", 4);
		pyci_marshal out;
		assert_int_equal(decode_consts(3571, &c, 1, &out), -1);
		assert_int_equal(out.error, EINVAL);
		assert_int_equal(out.error_offset, 1 + 20 + 9 + 2);
		assert_string_equal(out.error_msg,
				    "bad marshal data (size larger than the remaining data)");
		pyci_marshal_free(&out);
		free(c.d);
	}
	static const char types[] = "s(u[<>aAt";
	for (const char *t = types; *t; t++) {
		for (int big = 0; big < 2; big++) {
			bb c = {0};
			u8(&c, ')');
			u8(&c, 1);
			u8(&c, (unsigned)*t);
			i32(&c, big ? 0x80000000u : 0x7fffffffu);
			put(&c, "abcd", 4);
			pyci_marshal out;
			assert_int_equal(decode_consts(3571, &c, 1, &out), -1);
			assert_int_equal(out.error, EINVAL);
			assert_int_equal(out.error_offset, 1 + 20 + 9 + 2);
			assert_string_equal(
				out.error_msg,
				big ? "bad marshal data (size out of range)"
				    : "bad marshal data (size larger than the remaining data)");
			pyci_marshal_free(&out);
			free(c.d);
		}
	}
}

static void test_bad_objects(void **state)
{
	(void)state;
	pyci_marshal out;
	pyci_magic_info m = magic_of(3571);

	assert_int_equal(pyci_marshal_decode(NULL, 0, &m, 0, &out), -1);
	assert_int_equal(out.error, EINVAL);
	assert_string_equal(out.error_msg, "EOF read where object expected");
	pyci_marshal_free(&out);

	assert_int_equal(pyci_marshal_decode((const uint8_t *)"N", 1, &m, 0, &out), -1);
	assert_string_equal(out.error_msg, "bad marshal data (the body is not a code object)");
	assert_int_equal(out.error_offset, 0);
	pyci_marshal_free(&out);

	/* NULL in a tuple */
	bb c = {0};
	u8(&c, ')');
	u8(&c, 1);
	u8(&c, '0');
	assert_int_equal(decode_consts(3571, &c, 0, &out), -1);
	assert_string_equal(out.error_msg, "bad marshal data (NULL object)");
	pyci_marshal_free(&out);
	free(c.d);

	/* consts not a tuple */
	bb l = {0};
	u8(&l, '[');
	i32(&l, 0);
	assert_int_equal(decode_consts(3571, &l, 0, &out), -1);
	assert_string_equal(out.error_msg,
			    "bad marshal data (code object field of the wrong type)");
	assert_int_equal(out.error_offset, 1 + 20 + 9);
	pyci_marshal_free(&out);
	free(l.d);

	/* a py3 name that is bytes */
	bb raw = {0};
	sized(&raw, 's', "f", 1);
	spec s = {.layout = LAY311, .raw_name = &raw};
	bb b = {0};
	put_code(&b, &s);
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 0, &out), -1);
	assert_string_equal(out.error_msg,
			    "bad marshal data (code object field of the wrong type)");
	/* the name, then qualname (10 bytes), firstlineno, two empty bytes objects */
	assert_int_equal(out.error_offset, b.n - raw.n - 10 - 4 - 5 - 5);
	assert_string_equal(out.codes[0].filename.data, "t.py"); /* read before the error */
	pyci_marshal_free(&out);
	free(b.d);
	free(raw.d);

	/* names holding an int: the error, and no count without its array */
	bb nb = {0};
	u8(&nb, 'c');
	for (int i = 0; i < 5; i++)
		i32(&nb, 0);
	bytes_obj(&nb, "", 0);
	put(&nb,
	    ")\0"
	    ")\2"
	    "z\1a"
	    "i\1\0\0\0",
	    12);
	assert_int_equal(pyci_marshal_decode(nb.d, nb.n, &m, 0, &out), -1);
	assert_string_equal(out.error_msg,
			    "bad marshal data (code object field of the wrong type)");
	assert_int_equal(out.error_offset, 1 + 20 + 5 + 2);
	assert_int_equal(out.codes[0].nnames, 0);
	assert_null(out.codes[0].names);
	pyci_marshal_free(&out);
	free(nb.d);

	/* localsplusnames and kinds of different lengths */
	static const char *const lp[] = {"a", "b"};
	spec k = {.layout = LAY311, .lpnames = lp, .lpkinds = "\x20\x20", .nlp = 2};
	bb kb = {0};
	put_code(&kb, &k);
	/* the kinds object is 's' + i32 2 + 2 bytes: make its length 1 and drop a byte */
	size_t kinds_at = 1 + 20 + 9 + 5 + 5 + (5 + 2 * 3);
	assert_int_equal(kb.d[kinds_at], 's');
	kb.d[kinds_at + 1] = 1;
	memmove(kb.d + kinds_at + 6, kb.d + kinds_at + 7, kb.n - kinds_at - 7);
	kb.n--;
	assert_int_equal(pyci_marshal_decode(kb.d, kb.n, &m, 0, &out), -1);
	assert_string_equal(
		out.error_msg,
		"bad marshal data (localsplusnames and localspluskinds differ in length)");
	assert_int_equal(out.error_offset, kinds_at);
	pyci_marshal_free(&out);
	free(kb.d);

	/* trailing bytes are not an error */
	spec t = {.layout = LAY311};
	bb tb = {0};
	put_code(&tb, &t);
	size_t n = tb.n;
	put(&tb, "junk", 4);
	assert_int_equal(pyci_marshal_decode(tb.d, tb.n, &m, 0, &out), 0);
	assert_int_equal(out.consumed, n);
	pyci_marshal_free(&out);
	pyci_marshal_free(&out); /* twice is harmless */
	free(tb.d);
}

/* 3.11+ localsplus kinds: LOCAL 0x20 -> varnames, CELL 0x40 -> cellvars, FREE 0x80 ->
 * freevars; an argument captured by a closure (0x60) is in both varnames and cellvars. */
static void test_localsplus(void **state)
{
	(void)state;
	static const char *const lp[] = {"a", "b", "c", "d", "e"};
	spec s = {.layout = LAY311,
		  .lpnames = lp,
		  .lpkinds = "\x26\x66\x40\x80\x30",
		  .nlp = 5,
		  .name = "f",
		  .flags = 3};
	bb b = {0};
	put_code(&b, &s);
	pyci_magic_info m = magic_of(3571);
	pyci_marshal out;
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 0, &out), 0);
	const pyci_mcode *c = &out.codes[0];
	assert_int_equal(c->nvarnames, 3);
	assert_string_equal(c->varnames[0].data, "a");
	assert_string_equal(c->varnames[1].data, "b");
	assert_string_equal(c->varnames[2].data, "e");
	assert_int_equal(c->ncellvars, 2);
	assert_string_equal(c->cellvars[0].data, "b");
	assert_string_equal(c->cellvars[1].data, "c");
	assert_int_equal(c->nfreevars, 1);
	assert_string_equal(c->freevars[0].data, "d");
	assert_int_equal(c->nlocals, 3);
	pyci_marshal_free(&out);
	free(b.d);
}

/* ------------------------------------------------------------------------------------------ */
/* Qualnames before 3.11 */

typedef struct node {
	const char *name;
	int32_t flags;
	const char *const *varnames;
	size_t nvarnames;
	const char *const *cellvars;
	size_t ncellvars;
	const struct node *kids[4];
	size_t nkids;
} node;

typedef struct nctx {
	const node *n;
	int layout;
} nctx;

static void write_node(bb *b, const node *n, int layout);

static void write_kids(bb *b, const void *ctx)
{
	const nctx *c = ctx;
	u8(b, '(');
	i32(b, (uint32_t)c->n->nkids);
	for (size_t i = 0; i < c->n->nkids; i++)
		write_node(b, c->n->kids[i], c->layout);
}

static void write_node(bb *b, const node *n, int layout)
{
	nctx c = {n, layout};
	spec s = {.layout = layout,
		  .name = n->name,
		  .flags = n->flags,
		  .varnames = n->varnames,
		  .nvarnames = n->nvarnames,
		  .cellvars = n->cellvars,
		  .ncellvars = n->ncellvars,
		  .consts = write_kids,
		  .ctx = &c};
	put_code(b, &s);
}

static void test_qualname_rule(void **state)
{
	(void)state;
	/*
	 * def f():                    # varnames g, C, lam; cellvars k
	 *     def g(): lambda: 0      #   f.<locals>.g, f.<locals>.g.<locals>.<lambda>
	 *     class C:                #   f.<locals>.C
	 *         def m(self):        #   f.<locals>.C.m
	 *             def __p(): pass #   varnames _C__p: f.<locals>.C.m.<locals>.__p
	 *     global h; def h(): ...  #   h (not a variable of f)
	 *     def k(): ...            #   f.<locals>.k (a cell of f)
	 *     [lambda: 0 for ...]     #   f.<locals>.<listcomp>, f.<locals>.<listcomp>.<lambda>
	 * class __D:                  # __D
	 *     def m(self):            #   __D.m
	 *         def __q(): pass     #   varnames _D__q: __D.m.<locals>.__q
	 */
	static const char *const f_vars[] = {"g", "C", "lam"};
	static const char *const f_cells[] = {"k"};
	static const char *const m_vars[] = {"self", "_C__p"};
	static const char *const dm_vars[] = {"self", "_D__q"};
	static const node lam = {"<lambda>", 0x13, NULL, 0, NULL, 0, {NULL}, 0};
	static const node g = {"g", 0x13, NULL, 0, NULL, 0, {&lam}, 1};
	static const node p = {"__p", 0x13, NULL, 0, NULL, 0, {NULL}, 0};
	static const node m = {"m", 0x13, m_vars, 2, NULL, 0, {&p}, 1};
	static const node cls = {"C", 0, NULL, 0, NULL, 0, {&m}, 1};
	static const node h = {"h", 0x13, NULL, 0, NULL, 0, {&lam}, 1};
	static const node k = {"k", 0x13, NULL, 0, NULL, 0, {NULL}, 0};
	static const node comp = {"<listcomp>", 0x13, NULL, 0, NULL, 0, {&lam}, 1};
	static const node f = {"f", 0x3, f_vars, 3, f_cells, 1, {&g, &cls, &h, &k}, 4};
	static const node q = {"__q", 0x13, NULL, 0, NULL, 0, {NULL}, 0};
	static const node dm = {"m", 0x13, dm_vars, 2, NULL, 0, {&q}, 1};
	static const node d = {"__D", 0, NULL, 0, NULL, 0, {&dm}, 1};
	static const node f2 = {"f", 0x3, NULL, 0, NULL, 0, {&comp}, 1};
	static const char *const outer_vars[] = {"f"};
	static const node f3 = {"outer", 0x3, outer_vars, 1, NULL, 0, {&f2}, 1};
	static const node mod = {"<module>", 0, NULL, 0, NULL, 0, {&f, &d, &f3}, 3};
	static const char *const want[] = {
		"<module>",
		"f",
		"f.<locals>.g",
		"f.<locals>.g.<locals>.<lambda>",
		"f.<locals>.C",
		"f.<locals>.C.m",
		"f.<locals>.C.m.<locals>.__p",
		"h",
		"h.<locals>.<lambda>",
		"f.<locals>.k",
		"__D",
		"__D.m",
		"__D.m.<locals>.__q",
		"outer",
		"outer.<locals>.f",
		"outer.<locals>.f.<locals>.<listcomp>",
		"outer.<locals>.f.<locals>.<listcomp>.<lambda>",
	};
	static const int layouts[] = {LAY27, LAY30, LAY38};
	static const uint32_t magics[] = {62211, 3394, 3425};
	for (int li = 0; li < 3; li++) {
		bb b = {0};
		write_node(&b, &mod, layouts[li]);
		pyci_magic_info mi = magic_of(magics[li]);
		pyci_marshal out;
		assert_int_equal(pyci_marshal_decode(b.d, b.n, &mi, 0, &out), 0);
		assert_int_equal(out.ncodes, sizeof(want) / sizeof(want[0]));
		for (size_t i = 0; i < out.ncodes; i++) {
			if (strcmp(out.codes[i].qualname.data, want[i]) != 0)
				fail_msg("layout %d code %zu: %s, want %s", layouts[li], i,
					 out.codes[i].qualname.data, want[i]);
			assert_int_equal(out.codes[i].qualname_stored, 0);
		}
		assert_int_equal(out.codes[3].depth, 3);
		assert_int_equal(out.codes[3].parent, 2);
		pyci_marshal_free(&out);
		free(b.d);
	}
}

/* A 3.9 code object with flags 3 (a function) named by reference 0 around consts `inner`. */
static void deep_code(bb *b, size_t left)
{
	u8(b, 'c');
	for (int k = 0; k < 6; k++)
		i32(b, k == 5 ? 3 : 0);
	bytes_obj(b, "", 0);
	u8(b, ')');
	u8(b, left ? 1 : 0);
	if (left)
		deep_code(b, left - 1);
	u8(b, ')'); /* names */
	u8(b, 0);
	u8(b, ')'); /* varnames: the child's name, so that it is a local, not a global */
	u8(b, 1);
	u8(b, 'r');
	i32(b, 0);
	for (int k = 0; k < 2; k++) { /* freevars, cellvars */
		u8(b, ')');
		u8(b, 0);
	}
	u8(b, 'r'); /* filename and name: ref 0, the long string */
	i32(b, 0);
	u8(b, 'r');
	i32(b, 0);
	i32(b, 1);
	bytes_obj(b, "", 0);
}

/* Deep nesting where every name is a reference to one long string: the derived qualnames (the
 * parent's, ".<locals>.", the name) would grow quadratically, to 9 GB here, from 90 kB.
 * The budget stops them with ENOMEM, after the tree itself was decoded. */
static void test_budget(void **state)
{
	(void)state;
	size_t levels = 600, longlen = 50000; /* 600 code objects are 1200 levels deep */
	bb b = {0};
	u8(&b, 'c');
	for (int k = 0; k < 6; k++)
		i32(&b, 0);
	bytes_obj(&b, "", 0);
	u8(&b, ')');
	u8(&b, 2);
	u8(&b, 'a' | 0x80); /* consts[0]: the long string, ref 0 */
	i32(&b, (uint32_t)longlen);
	for (size_t i = 0; i < longlen; i++)
		u8(&b, 'x');
	deep_code(&b, levels - 1); /* consts[1]: the chain of functions */
	for (int k = 0; k < 4; k++) {
		u8(&b, ')');
		u8(&b, 0);
	}
	for (int k = 0; k < 2; k++) {
		u8(&b, 'z');
		u8(&b, 1);
		put(&b, "m", 1);
	}
	i32(&b, 1);
	bytes_obj(&b, "", 0);

	pyci_magic_info m = magic_of(3425);
	pyci_marshal out;
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 0, &out), -1);
	assert_int_equal(out.error, ENOMEM);
	assert_string_equal(out.error_msg,
			    "decoded data would exceed the memory bound for this input");
	assert_int_equal(out.ncodes, levels + 1);
	assert_int_equal(out.consumed, 0);
	assert_int_equal(out.codes[1].qualname.len, longlen); /* depth 1: the name */
	pyci_marshal_free(&out);
	free(b.d);
}

/* One names tuple shared by reference among many code objects is converted once. */
static void test_shared_tuple(void **state)
{
	(void)state;
	size_t nnames = 20000, ncodes = 3000;
	bb b = {0};
	u8(&b, 'c');
	for (int k = 0; k < 5; k++)
		i32(&b, 0);
	bytes_obj(&b, "", 0);
	u8(&b, '(');
	i32(&b, (uint32_t)ncodes + 1);
	/* consts[0]: the big tuple, ref 0 */
	u8(&b, '(' | 0x80);
	i32(&b, (uint32_t)nnames);
	for (size_t i = 0; i < nnames; i++) {
		char nm[16];
		int len = snprintf(nm, sizeof(nm), "n%zu", i);
		u8(&b, 'z');
		u8(&b, (unsigned)len);
		put(&b, nm, (size_t)len);
	}
	for (size_t c = 0; c < ncodes; c++) {
		u8(&b, 'c');
		for (int k = 0; k < 5; k++)
			i32(&b, 0);
		bytes_obj(&b, "", 0);
		u8(&b, ')');
		u8(&b, 0);
		for (int k = 0; k < 2; k++) { /* names and localsplusnames: the big tuple */
			u8(&b, 'r');
			i32(&b, 0);
		}
		if (c == 0) { /* kinds: one bytes object, ref 1, shared by all */
			u8(&b, 's' | 0x80);
			i32(&b, (uint32_t)nnames);
			for (size_t i = 0; i < nnames; i++)
				u8(&b, 0x20);
		} else {
			u8(&b, 'r');
			i32(&b, 1);
		}
		for (int k = 0; k < 3; k++) {
			u8(&b, 'z');
			u8(&b, 1);
			put(&b, "f", 1);
		}
		i32(&b, 1);
		bytes_obj(&b, "", 0);
		bytes_obj(&b, "", 0);
	}
	u8(&b, ')');
	u8(&b, 0);
	u8(&b, ')');
	u8(&b, 0);
	bytes_obj(&b, "", 0);
	for (int k = 0; k < 3; k++) {
		u8(&b, 'z');
		u8(&b, 1);
		put(&b, "m", 1);
	}
	i32(&b, 1);
	bytes_obj(&b, "", 0);
	bytes_obj(&b, "", 0);

	pyci_magic_info m = magic_of(3571);
	pyci_marshal out;
	assert_int_equal(pyci_marshal_decode(b.d, b.n, &m, 1, &out), 0);
	assert_int_equal(out.ncodes, ncodes + 1);
	/* 3000 codes x 20000 names x 16 bytes x 2 arrays would be 1.9 GB: they share */
	assert_ptr_equal(out.codes[1].names, out.codes[ncodes].names);
	assert_ptr_equal(out.codes[1].varnames, out.codes[ncodes].varnames);
	assert_int_equal(out.codes[ncodes].nvarnames, nnames);
	assert_string_equal(out.codes[ncodes].names[nnames - 1].data, "n19999");
	pyci_marshal_free(&out);
	free(b.d);
}

/* ------------------------------------------------------------------------------------------ */
/* What is kept */

/* Append n copies of byte c. */
static void fill(bb *b, unsigned c, size_t n)
{
	uint8_t chunk[4096];
	memset(chunk, (int)c, sizeof(chunk));
	for (size_t k = 0; k < n; k += sizeof(chunk))
		put(b, chunk, n - k < sizeof(chunk) ? n - k : sizeof(chunk));
}

/* A tuple of n names "n0", "n1", ... (short ASCII). */
static void names_tuple(bb *b, size_t n)
{
	u8(b, '(');
	i32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		char nm[16];
		int len = snprintf(nm, sizeof(nm), "n%zu", i);
		u8(b, 'z');
		u8(b, (unsigned)len);
		put(b, nm, (size_t)len);
	}
}

/* co_consts holding None and a tuple of 20 million None, plain or with a ref slot: each member
 * kept would take 16 bytes or more, 320 MB, past PYCI_MARSHAL_MAX_MEMORY; none is kept (with
 * want_consts and a ref slot, PYCI_MARSHAL_MAX_ITEMS of them), and every one is counted. */
static void test_huge_tuple_not_kept(void **state)
{
	(void)state;
	const size_t n = 20000000;
	assert_true(n * 16 > PYCI_MARSHAL_MAX_MEMORY);
	for (unsigned flag = 0; flag <= 0x80; flag += 0x80) {
		bb c = {0};
		u8(&c, ')');
		u8(&c, 2);
		u8(&c, 'N');
		u8(&c, '(' | flag);
		i32(&c, (uint32_t)n);
		fill(&c, 'N', n);
		for (int want = 0; want <= 1; want++) {
			pyci_marshal out;
			if (decode_consts(3531, &c, want, &out) != 0)
				fail_msg("flag %u, consts %d: %s at %zu", flag, want, out.error_msg,
					 out.error_offset);
			assert_int_equal(out.type_counts['N'], n + 1);
			assert_int_equal(out.type_counts['('], 1 + 2); /* and 2 names tuples */
			assert_int_equal(out.codes[0].nconsts, want ? 1 : 0);
			assert_int_equal(out.codes[0].consts_elided, 0);
			pyci_marshal_free(&out);
		}
		free(c.d);
	}
	assert_int_equal(pyci_marshal_bound(n + 200), PYCI_MARSHAL_MAX_MEMORY);
	assert_int_equal(pyci_marshal_bound(0), (size_t)1 << 20);
	assert_int_equal(pyci_marshal_bound(1000), 64000 + ((size_t)1 << 20));
}

/* co_consts of more than PYCI_MARSHAL_MAX_ITEMS members: the first that many constants are
 * kept, the constants after them counted (a tuple after them is not a constant).  Ints of 5
 * bytes each: a kept constant takes about 70 bytes, which one-byte None would not have in the
 * budget of 64 bytes per byte. */
static void test_consts_elided(void **state)
{
	(void)state;
	const size_t k = PYCI_MARSHAL_MAX_ITEMS;
	bb c = {0};
	u8(&c, '(');
	i32(&c, (uint32_t)k + 3);
	u8(&c, 'T');
	for (size_t i = 1; i < k; i++) {
		u8(&c, 'i');
		i32(&c, (uint32_t)i);
	}
	u8(&c, ')'); /* k + 1: not a constant */
	u8(&c, 0);
	u8(&c, 'F'); /* k + 2, k + 3: past the kept ones */
	u8(&c, 'N');
	pyci_marshal out;
	if (decode_consts(3531, &c, 1, &out) != 0)
		fail_msg("%s at %zu", out.error_msg, out.error_offset);
	assert_int_equal(out.codes[0].nconsts, k);
	assert_int_equal(out.codes[0].consts_elided, 2);
	assert_const(&out, 0, 'T', "True");
	assert_const(&out, k - 1, 'i', "1048575");
	assert_int_equal(out.type_counts['N'], 1);
	pyci_marshal_free(&out);
	assert_int_equal(decode_consts(3531, &c, 0, &out), 0);
	assert_null(out.codes[0].consts);
	assert_int_equal(out.codes[0].consts_elided, 0);
	pyci_marshal_free(&out);
	free(c.d);
}

/* co_names and co_varnames of more than PYCI_MARSHAL_MAX_ITEMS names (3.8 layout): the first
 * ones kept, the rest counted; a function inside gets no derived qualname, which could
 * depend on the names left out. */
static void test_names_elided(void **state)
{
	(void)state;
	const size_t k = PYCI_MARSHAL_MAX_ITEMS;
	bb b = {0};
	u8(&b, ')'); /* the module's consts: def f(): def g(): ... */
	u8(&b, 1);
	u8(&b, 'c');
	i32(&b, 0);
	i32(&b, 0);
	i32(&b, 0);
	i32(&b, (uint32_t)k + 2); /* nlocals, as stored */
	i32(&b, 4);
	i32(&b, 3); /* CO_OPTIMIZED */
	bytes_obj(&b, "", 0);
	u8(&b, ')');
	u8(&b, 1);
	{
		spec g = {.layout = LAY38, .name = "g", .flags = 3};
		put_code(&b, &g);
	}
	names_tuple(&b, k + 3); /* names */
	names_tuple(&b, k + 2); /* varnames */
	str_tuple(&b, 0, NULL, 0);
	str_tuple(&b, 0, NULL, 0);
	name_str(&b, 0, "t.py");
	name_str(&b, 0, "f");
	i32(&b, 1);
	bytes_obj(&b, "", 0);
	spec mod = {.layout = LAY38, .consts = consts_raw, .ctx = &b};
	bb mb = {0};
	put_code(&mb, &mod);
	pyci_magic_info m = magic_of(3425);
	pyci_marshal out;
	if (pyci_marshal_decode(mb.d, mb.n, &m, 0, &out) != 0)
		fail_msg("%s at %zu", out.error_msg, out.error_offset);
	assert_int_equal(out.ncodes, 3);
	const pyci_mcode *f = &out.codes[1];
	assert_int_equal(f->nnames, k);
	assert_int_equal(f->names_elided, 3);
	assert_string_equal(f->names[k - 1].data, "n1048575");
	assert_int_equal(f->nvarnames, k);
	assert_int_equal(f->varnames_elided, 2);
	assert_int_equal(f->nlocals, (int32_t)k + 2);
	assert_string_equal(f->qualname.data, "f");
	assert_string_equal(out.codes[2].name.data, "g");
	assert_null(out.codes[2].qualname.data);
	pyci_marshal_free(&out);
	free(b.d);
	free(mb.d);
}

/* 3.11 localsplusnames of more than PYCI_MARSHAL_MAX_ITEMS names: the kept ones split by
 * kind, the others counted by kind; nlocals counts every local. */
static void test_localsplus_elided(void **state)
{
	(void)state;
	const size_t k = PYCI_MARSHAL_MAX_ITEMS;
	bb b = {0};
	u8(&b, 'c');
	for (int i = 0; i < 5; i++)
		i32(&b, i == 4 ? 3 : 0); /* argcount, posonly, kwonly, stacksize, flags */
	bytes_obj(&b, "", 0);
	u8(&b, ')');
	u8(&b, 0);
	str_tuple(&b, 0, NULL, 0); /* names */
	names_tuple(&b, k + 4);
	u8(&b, 's'); /* kinds */
	i32(&b, (uint32_t)k + 4);
	fill(&b, 0x20, k - 1);
	u8(&b, 0x40); /* the last one kept: a cell */
	put(&b, "\x20\x60\x80\x40", 4);
	for (int i = 0; i < 3; i++)
		name_str(&b, 0, "f");
	i32(&b, 1);
	bytes_obj(&b, "", 0);
	bytes_obj(&b, "", 0);
	pyci_magic_info m = magic_of(3571);
	pyci_marshal out;
	if (pyci_marshal_decode(b.d, b.n, &m, 0, &out) != 0)
		fail_msg("%s at %zu", out.error_msg, out.error_offset);
	const pyci_mcode *c = &out.codes[0];
	assert_int_equal(c->nvarnames, k - 1);
	assert_int_equal(c->varnames_elided, 2); /* 0x20, 0x60 */
	assert_int_equal(c->ncellvars, 1);
	assert_string_equal(c->cellvars[0].data, "n1048575");
	assert_int_equal(c->cellvars_elided, 2); /* 0x60, 0x40 */
	assert_int_equal(c->nfreevars, 0);
	assert_int_equal(c->freevars_elided, 1);
	assert_int_equal(c->nlocals, (int32_t)k + 1);
	pyci_marshal_free(&out);
	free(b.d);
}

/* A tuple that keeps its members only while they can be names: strings then None, with a ref
 * slot, named later as co_names, is of the wrong type; the same with strings only is names. */
static void test_kept_tuple_by_reference(void **state)
{
	(void)state;
	for (int bad = 0; bad <= 1; bad++) {
		/* consts: (('a', 'b'[, None]), <code g whose names are a reference to it>) */
		bb c = {0};
		u8(&c, ')');
		u8(&c, 2);
		u8(&c, ')' | 0x80); /* ref 1: the code object is ref 0 */
		u8(&c, 2 + bad);
		name_str(&c, 0, "a");
		name_str(&c, 0, "b");
		if (bad)
			u8(&c, 'N');
		u8(&c, 'c');
		for (int i = 0; i < 5; i++)
			i32(&c, 0);
		bytes_obj(&c, "", 0);
		u8(&c, ')');
		u8(&c, 0);
		size_t at = c.n;
		u8(&c, 'r');
		i32(&c, 1);
		str_tuple(&c, 0, NULL, 0);
		bytes_obj(&c, "", 0);
		for (int i = 0; i < 3; i++)
			name_str(&c, 0, "g");
		i32(&c, 1);
		bytes_obj(&c, "", 0);
		bytes_obj(&c, "", 0);
		spec s = {.layout = LAY311, .ref = 0x80, .consts = consts_raw, .ctx = &c};
		bb b = {0};
		put_code(&b, &s);
		pyci_magic_info m = magic_of(3571);
		pyci_marshal out;
		for (int want = 0; want <= 1; want++) {
			int r = pyci_marshal_decode(b.d, b.n, &m, want, &out);
			if (bad) {
				assert_int_equal(r, -1);
				assert_string_equal(
					out.error_msg,
					"bad marshal data (code object field of the wrong type)");
				/* the consts object starts after the 'c', 5 ints and co_code */
				assert_int_equal(out.error_offset, 1 + 20 + 9 + at);
			} else {
				assert_int_equal(r, 0);
				assert_int_equal(out.codes[1].nnames, 2);
				assert_string_equal(out.codes[1].names[1].data, "b");
			}
			pyci_marshal_free(&out);
		}
		free(b.d);
		free(c.d);
	}
}

/* Runs of singletons are counted in one go, with what reading them one by one would refuse:
 * past the depth limit, and FLAG_REF before marshal version 3. */
static void test_singleton_runs(void **state)
{
	(void)state;
	/* levels - 1 nested 1-tuples around (None, None, None): the Nones are one level deeper */
	for (size_t levels = 1998; levels <= 1999; levels++) {
		bb c = {0};
		for (size_t k = 0; k + 1 < levels; k++) {
			u8(&c, ')');
			u8(&c, 1);
		}
		u8(&c, ')');
		u8(&c, 3);
		fill(&c, 'N', 3);
		pyci_marshal out;
		int r = decode_consts(3571, &c, 0, &out);
		if (levels == 1998) {
			assert_int_equal(r, 0);
			assert_int_equal(out.type_counts['N'], 3);
		} else {
			assert_int_equal(r, -1);
			assert_int_equal(out.error, E2BIG);
			assert_int_equal(out.error_offset, 1 + 20 + 9 + 2 * 1998 + 2);
		}
		pyci_marshal_free(&out);
		free(c.d);
	}
	/* 2.7: a flagged None within a run is an unknown type code */
	bb c = {0};
	u8(&c, '(');
	i32(&c, 4);
	put(&c,
	    "NN\xce"
	    "N",
	    4);
	pyci_marshal out;
	assert_int_equal(decode_consts(62211, &c, 0, &out), -1);
	assert_string_equal(out.error_msg, "bad marshal data (unknown type code)");
	assert_int_equal(out.error_offset, 1 + 16 + 9 + 5 + 2);
	pyci_marshal_free(&out);
	free(c.d);
	/* every kind of singleton, in runs, each run counted; 3.x allows FLAG_REF on them */
	bb d = {0};
	u8(&d, '(');
	i32(&d, 12);
	put(&d,
	    "NNN\xd4TF..S\xce"
	    "Ni",
	    12);
	i32(&d, 5);
	for (int want = 0; want <= 1; want++) {
		assert_int_equal(decode_consts(3571, &d, want, &out), 0);
		assert_int_equal(out.type_counts['N'], 5);
		assert_int_equal(out.type_counts['T'], 2);
		assert_int_equal(out.type_counts['F'], 1);
		assert_int_equal(out.type_counts['.'], 2);
		assert_int_equal(out.type_counts['S'], 1);
		assert_int_equal(out.type_counts['i'], 1);
		assert_int_equal(out.codes[0].nconsts, want ? 11 : 0); /* StopIteration is none */
		if (want)
			assert_const(&out, 10, 'i', "5");
		pyci_marshal_free(&out);
	}
	free(d.d);
}

/* ------------------------------------------------------------------------------------------ */
/* Real caches */

static void test_fixture_trees(void **state)
{
	(void)state;
	static const char *const qual[] = {"<module>", "greet", "Counter", "Counter.__init__",
					   "Counter.bump"};
	static const int depth[] = {0, 1, 1, 2, 2};
	static const int32_t line[] = {1, 6, 10, 11, 14};
	for (size_t i = 0; i < MB_NFIXTURES; i++) {
		fixbody b = load(mb_fixtures[i]);
		pyci_marshal out;
		assert_int_equal(
			pyci_marshal_decode(b.data + b.hsize, b.len - b.hsize, &b.magic, 1, &out),
			0);
		assert_int_equal(out.consumed, b.len - b.hsize);
		assert_int_equal(out.ncodes, 5);
		for (size_t k = 0; k < 5; k++) {
			assert_string_equal(out.codes[k].qualname.data, qual[k]);
			assert_int_equal(out.codes[k].depth, depth[k]);
			assert_int_equal(out.codes[k].firstlineno, line[k]);
			assert_non_null(strstr(out.codes[k].filename.data, "mod"));
		}
		assert_int_equal(out.codes[3].parent, 2);
		assert_int_equal(out.codes[0].consts[0].type, 's');
		assert_non_null(strstr(out.codes[0].consts[0].text.data, "A tiny module"));
		pyci_marshal_free(&out);
		free(b.data);
	}
}

static void test_truncation(void **state)
{
	(void)state;
	for (size_t i = 0; i < MB_NFIXTURES; i++) {
		fixbody b = load(mb_fixtures[i]);
		size_t n = b.len - b.hsize;
		for (size_t cut = 0; cut < n; cut++) {
			/* a copy of exactly cut bytes, so ASan sees any read past it */
			uint8_t *part = malloc(cut ? cut : 1);
			assert_non_null(part);
			memcpy(part, b.data + b.hsize, cut);
			for (int want = 0; want < 2; want++) {
				pyci_marshal out;
				assert_int_equal(
					pyci_marshal_decode(part, cut, &b.magic, want, &out), -1);
				assert_int_equal(out.error, EINVAL);
				assert_non_null(out.error_msg);
				assert_true(out.error_offset <= cut);
				if (cut > 0)
					assert_true(out.ncodes >= 1);
				pyci_marshal_free(&out);
			}
			free(part);
		}
		free(b.data);
	}
}

static void test_bit_flips(void **state)
{
	(void)state;
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	size_t ok = 0, bad = 0;
	for (size_t i = 0; i < MB_NFIXTURES; i++) {
		fixbody b = load(mb_fixtures[i]);
		size_t n = b.len - b.hsize;
		uint8_t *mut = malloc(n);
		assert_non_null(mut);
		for (int round = 0; round < 1500; round++) {
			memcpy(mut, b.data + b.hsize, n);
			int flips = 1 + (int)(mb_rnd(&seed) % 4);
			mb_flip_bits(mut, n, flips, &seed);
			pyci_marshal out;
			int r = pyci_marshal_decode(mut, n, &b.magic, round & 1, &out);
			if (r == 0) {
				ok++;
				assert_int_equal(out.error, 0);
				assert_true(out.ncodes >= 1);
				assert_true(out.consumed <= n);
				for (size_t k = 0; k < out.ncodes; k++) {
					const pyci_mcode *c = &out.codes[k];
					assert_true(k == 0 ? c->parent == SIZE_MAX : c->parent < k);
					if (k)
						assert_int_equal(c->depth,
								 out.codes[c->parent].depth + 1);
					assert_non_null(c->name.data);
					assert_non_null(c->qualname.data);
				}
			} else {
				bad++;
				assert_int_equal(r, -1);
				assert_true(out.error == EINVAL || out.error == E2BIG ||
					    out.error == ENOMEM);
				assert_non_null(out.error_msg);
				assert_true(out.error_offset <= n);
			}
			pyci_marshal_free(&out);
		}
		free(mut);
		free(b.data);
	}
	/* both outcomes occur: flips in co_code or line tables change nothing structural */
	assert_true(ok > 0);
	assert_true(bad > 0);
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(pyci_marshal_type_name('c'), "code");
	assert_string_equal(pyci_marshal_type_name('c' | 0x80), "code");
	assert_string_equal(pyci_marshal_type_name('('), "tuple");
	assert_string_equal(pyci_marshal_type_name('R'), "stringref");
	assert_string_equal(pyci_marshal_type_name('}'), "frozendict");
	assert_string_equal(pyci_marshal_type_name(':'), "slice");
	assert_null(pyci_marshal_type_name('Q'));
	assert_null(pyci_marshal_type_name(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_unsupported_layouts),
		cmocka_unit_test(test_layouts_each),
		cmocka_unit_test(test_scalar_consts),
		cmocka_unit_test(test_float_repr),
		cmocka_unit_test(test_text_floats),
		cmocka_unit_test(test_longs),
		cmocka_unit_test(test_strings_utf8),
		cmocka_unit_test(test_version_gates),
		cmocka_unit_test(test_refs_preorder),
		cmocka_unit_test(test_refs_invalid),
		cmocka_unit_test(test_refs_slice_frozendict),
		cmocka_unit_test(test_ref_to_code),
		cmocka_unit_test(test_py2_stringref),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_huge_sizes),
		cmocka_unit_test(test_bad_objects),
		cmocka_unit_test(test_localsplus),
		cmocka_unit_test(test_qualname_rule),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_shared_tuple),
		cmocka_unit_test(test_huge_tuple_not_kept),
		cmocka_unit_test(test_consts_elided),
		cmocka_unit_test(test_names_elided),
		cmocka_unit_test(test_localsplus_elided),
		cmocka_unit_test(test_kept_tuple_by_reference),
		cmocka_unit_test(test_singleton_runs),
		cmocka_unit_test(test_fixture_trees),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
