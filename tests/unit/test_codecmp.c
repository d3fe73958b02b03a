/*
 * test_codecmp.c - unit tests for codecmp.h: two code trees, the same code or where they differ.
 *
 * The same values written the other ways marshal allows must compare equal: a str as 'u', 'Z'
 * or 't', an int as 'i' or 'l', a tuple as '(' or ')', shared by reference or written twice,
 * a frozenset in any order and with repeats.  What a compile can change must not: a float's
 * sign, a Python 2 int against a long, a set against a frozenset, one byte of a string.  The
 * place of a difference is a path (a changed URL in a nested function's constants, a name two
 * lambdas share, a tuple cut short) with both values, and a reviewer's field order (co_name
 * before co_consts before co_code).  Real caches compare equal to themselves, and a few
 * thousand bit-flipped variants of them compare without a crash, a difference always placed.
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

#include "pycinspect/codecmp.h"
#include "pycinspect/marshal.h"

#include "mbuild.h"

/* Compare the modules of magic m whose consts are ca and cb: the result, and d. */
static int cmp_consts(uint32_t m, const bb *ca, const bb *cb, pyci_codediff *d)
{
	pyci_mtree a, b;
	if (tree_consts(m, ca, &a) != 0)
		fail_msg("a: %s at %zu", a.error_msg, a.error_offset);
	if (tree_consts(m, cb, &b) != 0)
		fail_msg("b: %s at %zu", b.error_msg, b.error_offset);
	memset(d, 0, sizeof(*d));
	int r = pyci_codecmp(&a, &b, d);
	pyci_mtree_free(&a);
	done(&b);
	return r;
}

static void assert_diff(const pyci_codediff *d, const char *where, const char *a, const char *b)
{
	if (strcmp(d->where.data, where) || strcmp(d->a_value.data, a) ||
	    strcmp(d->b_value.data, b))
		fail_msg("got %s: %s | %s; want %s: %s | %s", d->where.data, d->a_value.data,
			 d->b_value.data, where, a, b);
}

static void test_encodings_equal(void **state)
{
	(void)state;
	bb a = {0}, b = {0};
	/* a: ('abc' as u, 7 as i, (1,) with a ref flag and again by ref, 'x' as a, 2^70) */
	put(&a, "(\x05\0\0\0", 5);
	sized(&a, 'u', "abc", 3);
	put(&a, "i\x07\0\0\0", 5);
	put(&a, "\xa8\x01\0\0\0i\x01\0\0\0", 10); /* '(' | FLAG_REF: ref 0 */
	sized(&a, 'a', "x", 1);
	put(&a, "l\x05\0\0\0\0\0\0\0\0\0\0\0\x01\0", 15);
	/* b: ('abc' as Z, 7 as l, (1,) as ')', 'x' as z, 2^60 as I) */
	bb b2 = {0};
	put(&b,
	    "(\x05\0\0\0\x5a\x03"
	    "abc",
	    10);
	put(&b, "l\x01\0\0\0\x07\0", 7);
	put(&b, ")\x01i\x01\0\0\0", 7);
	put(&b, "z\x01x", 3);
	u8(&b, 'I'); /* 2^60 as a 64-bit int, where a has it as a 5-digit long */
	put(&b, "\0\0\0\0\0\0\0\x10", 8);
	pyci_codediff d;
	assert_int_equal(cmp_consts(3571, &a, &b, &d), 1);
	assert_int_equal(d.where.len, 0);
	pyci_codediff_free(&d);
	/* the shared tuple and the inline one, both in one tuple: (t, r t) against (t, t) */
	bb s1 = {0}, s2 = {0};
	put(&s1,
	    "(\x02\0\0\0\xa9\x01N"
	    "r\0\0\0\0",
	    13);
	put(&s2, "(\x02\0\0\0)\x01N)\x01N", 11);
	assert_int_equal(cmp_consts(3571, &s1, &s2, &d), 1);
	pyci_codediff_free(&d);
	free(a.d);
	free(b.d);
	free(b2.d);
	free(s1.d);
	free(s2.d);
}

static void test_sets(void **state)
{
	(void)state;
	bb a = {0}, b = {0}, c = {0};
	put(&a,
	    ")\x01>\x03\0\0\0z\x01"
	    "az\x01"
	    "bz\x01"
	    "c",
	    16);
	put(&b,
	    ")\x01>\x04\0\0\0z\x01"
	    "cz\x01"
	    "az\x01"
	    "bz\x01"
	    "a",
	    19);
	put(&c,
	    ")\x01<\x03\0\0\0z\x01"
	    "az\x01"
	    "bz\x01"
	    "c",
	    16);
	pyci_codediff d;
	assert_int_equal(cmp_consts(3571, &a, &b, &d), 1);
	pyci_codediff_free(&d);
	assert_int_equal(cmp_consts(3571, &a, &c, &d), 0);
	assert_diff(&d, "<module>.co_consts[0]", "frozenset({'a', 'b', 'c'})", "{'a', 'b', 'c'}");
	pyci_codediff_free(&d);
	free(a.d);
	free(b.d);
	free(c.d);
}

static void test_values_that_differ(void **state)
{
	(void)state;
	pyci_codediff d;
	bb a = {0}, b = {0};
	u8(&a, ')');
	u8(&a, 1);
	u8(&a, 'g');
	f64(&a, -0.0);
	u8(&b, ')');
	u8(&b, 1);
	u8(&b, 'g');
	f64(&b, 0.0);
	assert_int_equal(cmp_consts(3571, &a, &b, &d), 0);
	assert_diff(&d, "<module>.co_consts[0]", "-0.0", "0.0");
	assert_int_equal(d.offset, SIZE_MAX);
	pyci_codediff_free(&d);
	/* Python 2: 1 and 1L */
	bb i2 = {0}, l2 = {0};
	put(&i2, "(\x01\0\0\0i\x01\0\0\0", 10); /* marshal 2 has no ')' */
	put(&l2, "(\x01\0\0\0l\x01\0\0\0\x01\0", 12);
	assert_int_equal(cmp_consts(62211, &i2, &l2, &d), 0);
	assert_diff(&d, "<module>.co_consts[0]", "1", "1L");
	pyci_codediff_free(&d);
	/* one byte of a URL */
	bb u1 = {0}, u2 = {0};
	put(&u1, ")\x01", 2);
	sized(&u1, 'u', "https://example.org/x", 21);
	put(&u2, ")\x01", 2);
	sized(&u2, 'u', "https://examp1e.org/x", 21);
	assert_int_equal(cmp_consts(3571, &u1, &u2, &d), 0);
	assert_diff(&d, "<module>.co_consts[0]", "'https://example.org/x'",
		    "'https://examp1e.org/x'");
	assert_int_equal(d.offset, 13);
	pyci_codediff_free(&d);
	/* a tuple cut short */
	bb t1 = {0}, t2 = {0};
	put(&t1, ")\x02NT", 4);
	put(&t2, ")\x01N", 3);
	assert_int_equal(cmp_consts(3571, &t1, &t2, &d), 0);
	assert_diff(&d, "<module>.co_consts[1]", "True", "(absent)");
	pyci_codediff_free(&d);
	/* large ints */
	bb g1 = {0}, g2 = {0};
	static const uint8_t big[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}; /* 2^75 */
	static const uint8_t big1[12] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	put(&g1, ")\x01l", 3);
	i32(&g1, 6);
	put(&g1, big, 12);
	put(&g2, ")\x01l", 3);
	i32(&g2, 6);
	put(&g2, big1, 12);
	assert_int_equal(cmp_consts(3571, &g1, &g2, &d), 0);
	assert_diff(&d, "<module>.co_consts[0]", "37778931862957161709568",
		    "37778931862957161709569");
	pyci_codediff_free(&d);
	free(a.d);
	free(b.d);
	free(i2.d);
	free(l2.d);
	free(u1.d);
	free(u2.d);
	free(t1.d);
	free(t2.d);
	free(g1.d);
	free(g2.d);
}

/* Consts of nested code objects: ctx is a NULL-ended list of specs. */
static void consts_codes(bb *b, const void *ctx)
{
	const spec *const *v = ctx;
	size_t n = 0;
	while (v[n])
		n++;
	u8(b, '(');
	i32(b, (uint32_t)n);
	for (size_t k = 0; k < n; k++)
		put_code(b, v[k]);
}

/* Compare two 3.13 modules made of the given code specs. */
static int cmp_modules(const spec *const *a, const spec *const *b, pyci_codediff *d)
{
	bb ba = {0}, bb2 = {0};
	spec ma = {.layout = LAY311, .consts = consts_codes, .ctx = a, .firstlineno = 1};
	spec mb = {.layout = LAY311, .consts = consts_codes, .ctx = b, .firstlineno = 1};
	put_code(&ba, &ma);
	put_code(&bb2, &mb);
	pyci_magic_info m = magic_of(3571);
	pyci_mtree ta, tb;
	assert_int_equal(pyci_mtree_decode(ba.d, ba.n, &m, &ta), 0);
	assert_int_equal(pyci_mtree_decode(bb2.d, bb2.n, &m, &tb), 0);
	memset(d, 0, sizeof(*d));
	int r = pyci_codecmp(&ta, &tb, d);
	pyci_mtree_free(&ta);
	pyci_mtree_free(&tb);
	free(ba.d);
	free(bb2.d);
	return r;
}

static void url(bb *b, const void *ctx)
{
	put(b, ")\x01", 2);
	sized(b, 'u', ctx, strlen(ctx));
}

static void test_paths(void **state)
{
	(void)state;
	pyci_codediff d;
	spec f1 = {.layout = LAY311,
		   .name = "fetch",
		   .qualname = "fetch",
		   .firstlineno = 3,
		   .flags = 3,
		   .consts = url,
		   .ctx = "https://example.org/"};
	spec f2 = f1;
	f2.ctx = "https://evil.example/";
	spec g = {.layout = LAY311, .name = "g", .firstlineno = 9, .flags = 3};
	const spec *a[] = {&g, &f1, NULL}, *b[] = {&g, &f2, NULL};
	assert_int_equal(cmp_modules(a, b, &d), 0);
	assert_diff(&d, "<module>.fetch.co_consts[0]", "'https://example.org/'",
		    "'https://evil.example/'");
	pyci_codediff_free(&d);
	assert_int_equal(cmp_modules(a, a, &d), 1);
	pyci_codediff_free(&d);
	/* two lambdas: the one that differs is told by its first line */
	spec l1 = {.layout = LAY311, .name = "<lambda>", .firstlineno = 4, .flags = 3};
	spec l2 = {.layout = LAY311,
		   .name = "<lambda>",
		   .firstlineno = 5,
		   .flags = 3,
		   .consts = url,
		   .ctx = "a"};
	spec l2b = l2;
	l2b.ctx = "b";
	const spec *la[] = {&l1, &l2, NULL}, *lb[] = {&l1, &l2b, NULL};
	assert_int_equal(cmp_modules(la, lb, &d), 0);
	assert_diff(&d, "<module>.<lambda>@5.co_consts[0]", "'a'", "'b'");
	pyci_codediff_free(&d);
	/* the name before the constants */
	spec n2 = f2;
	n2.name = n2.qualname = "fetcH";
	const spec *na[] = {&f1, NULL}, *nb[] = {&n2, NULL};
	assert_int_equal(cmp_modules(na, nb, &d), 0);
	assert_diff(&d, "<module>.fetch.co_name", "'fetch'", "'fetcH'");
	assert_int_equal(d.offset, 4);
	pyci_codediff_free(&d);
	/* a code object where the other has a constant */
	const spec *ca[] = {&g, NULL};
	bb none = {0};
	spec ma = {.layout = LAY311, .consts = consts_codes, .ctx = ca, .firstlineno = 1};
	spec mb = {.layout = LAY311, .consts = consts_raw, .ctx = &none, .firstlineno = 1};
	put(&none, ")\x01N", 3);
	bb x = {0}, y = {0};
	put_code(&x, &ma);
	put_code(&y, &mb);
	pyci_magic_info m = magic_of(3571);
	pyci_mtree tx, ty;
	assert_int_equal(pyci_mtree_decode(x.d, x.n, &m, &tx), 0);
	assert_int_equal(pyci_mtree_decode(y.d, y.n, &m, &ty), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(pyci_codecmp(&tx, &ty, &d), 0);
	assert_diff(&d, "<module>.co_consts[0]", "<code g, line 9>", "None");
	pyci_codediff_free(&d);
	pyci_mtree_free(&tx);
	pyci_mtree_free(&ty);
	free(x.d);
	free(y.d);
	free(none.d);
}

static void test_fixtures(void **state)
{
	(void)state;
	uint64_t seed = 0xB7E151628AED2A6Bull;
	size_t same = 0, differ = 0;
	for (size_t i = 0; i < MB_NFIXTURES; i++) {
		fixbody f = load(mb_fixtures[i]);
		size_t n = f.len - f.hsize;
		pyci_mtree a, b;
		assert_int_equal(pyci_mtree_decode(f.data + f.hsize, n, &f.magic, &a), 0);
		pyci_codediff d = {0};
		assert_int_equal(pyci_codecmp(&a, &a, &d), 1);
		uint8_t *mut = malloc(n);
		assert_non_null(mut);
		for (int round = 0; round < 500; round++) {
			memcpy(mut, f.data + f.hsize, n);
			mb_flip_bits(mut, n, 1, &seed);
			if (pyci_mtree_decode(mut, n, &f.magic, &b) == 0) {
				memset(&d, 0, sizeof(d));
				int c = pyci_codecmp(&a, &b, &d);
				assert_true(c == 0 || c == 1);
				if (c == 0) {
					differ++;
					assert_true(d.where.len > 0);
					assert_non_null(d.a_value.data);
					assert_non_null(d.b_value.data);
				} else {
					same++; /* a flip in a set's order, or in marshal's ref flags */
				}
				pyci_codediff_free(&d);
			}
			pyci_mtree_free(&b);
		}
		free(mut);
		pyci_mtree_free(&a);
		free(f.data);
	}
	assert_true(differ > 0);
	(void)same;
	/* a tree without a root */
	pyci_mtree empty;
	memset(&empty, 0, sizeof(empty));
	empty.root = UINT32_MAX;
	pyci_codediff d = {0};
	assert_int_equal(pyci_codecmp(&empty, &empty, &d), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encodings_equal),    cmocka_unit_test(test_sets),
		cmocka_unit_test(test_values_that_differ), cmocka_unit_test(test_paths),
		cmocka_unit_test(test_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
