/*
 * test_mtree.c - unit tests for the whole value tree of marshal.h (pyci_mtree_decode,
 * pyci_mtree_field, pyci_mtree_repr).
 *
 * Bodies written by hand (mbuild.h) give every type code once, with the value each must become:
 * what marshal says in two ways is one kind of node ('a', 'z', 'u', 't' are one str; 'i' and
 * 'l' one int, in i when it fits in 64 bits and as digits only when not; '(' and ')' one
 * tuple), references are the node they name, None and its kin one node each, and members are
 * numbered before their containers.  Python 2's str, unicode, int and long stay four kinds.
 * Then the limits the first decoder has: truncation at every byte of real caches, references
 * to unfilled slots, nesting past 2000, NULL where a value is needed; references that would
 * expand to 2^40 nodes make a tree the size of the input; and the field names of each layout.
 * Last, the text pyci_mtree_repr writes: Python's ascii() for strings and bytes (escapes,
 * windows around a byte), ints of any size, floats and complex as repr(), containers, code.
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

static void assert_str(const pyci_mnode *n, int kind, const char *s, size_t len)
{
	assert_int_equal(n->kind, kind);
	assert_int_equal(n->n, len);
	assert_memory_equal(n->u.s, s, len);
}

static void assert_repr(const pyci_mtree *t, uint32_t i, size_t at, size_t limit, const char *want)
{
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_mtree_repr(t, i, at, limit, &b), 0);
	if (strcmp(b.data, want) != 0)
		fail_msg("repr: got <%s>, want <%s>", b.data, want);
	pyci_buf_free(&b);
}

/* ------------------------------------------------------------------------------------------ */

static void test_kinds(void **state)
{
	(void)state;
	bb c = {0};
	u8(&c, '(');
	i32(&c, 19);
	u8(&c, 'N'); /* 0 */
	u8(&c, 'T'); /* 1 */
	u8(&c, 'F'); /* 2 */
	u8(&c, '.'); /* 3 */
	u8(&c, 'i'); /* 4: -5 */
	i32(&c, (uint32_t)-5);
	u8(&c, 'l'); /* 5: 'l' of a small value is an int like 'i' */
	i32(&c, 1);
	put(&c, "\x07\x00", 2);
	u8(&c, 'l'); /* 6: 2^62, 5 digits, fits in 64 bits */
	i32(&c, 5);
	put(&c, "\0\0\0\0\0\0\0\0\x04\0", 10);
	u8(&c, 'l'); /* 7: -2^75, kept as digits */
	i32(&c, (uint32_t)-6);
	put(&c, "\0\0\0\0\0\0\0\0\0\0\x01\0", 12);
	u8(&c, 'g'); /* 8 */
	f64(&c, -0.0);
	u8(&c, 'y'); /* 9 */
	f64(&c, 1.5);
	f64(&c, -2.0);
	sized(&c, 's', "by\0te", 5);            /* 10: bytes */
	sized(&c, 't', "inter", 5);             /* 11: str */
	sized(&c, 'u', "\xc3\xa9t\xc3\xa9", 5); /* 12 */
	sized(&c, 'a', "\xe9t\xe9", 3);         /* 13: latin-1, widened: the same str as 12 */
	u8(&c, 'Z');                            /* 14 */
	u8(&c, 2);
	put(&c, "ab", 2);
	u8(&c, ')'); /* 15: small tuple */
	u8(&c, 1);
	u8(&c, 'N');
	u8(&c, '['); /* 16 */
	i32(&c, 0);
	u8(&c, '>'); /* 17 */
	i32(&c, 2);
	u8(&c, 'T');
	u8(&c, 'F');
	u8(&c, '{'); /* 18: {1: 2} */
	u8(&c, 'i');
	i32(&c, 1);
	u8(&c, 'i');
	i32(&c, 2);
	u8(&c, '0');
	pyci_mtree t;
	if (tree_consts(3571, &c, &t) != 0)
		fail_msg("%s at %zu", t.error_msg, t.error_offset);
	assert_int_equal(t.py2, 0);
	const pyci_mnode *n;
	assert_int_equal(cmember(&t, 0)->kind, PYCI_MV_NONE);
	assert_int_equal(cmember(&t, 1)->kind, PYCI_MV_TRUE);
	assert_int_equal(cmember(&t, 2)->kind, PYCI_MV_FALSE);
	assert_int_equal(cmember(&t, 3)->kind, PYCI_MV_ELLIPSIS);
	n = cmember(&t, 4);
	assert_int_equal(n->kind, PYCI_MV_INT);
	assert_int_equal(n->n, 0);
	assert_int_equal(n->u.i, -5);
	n = cmember(&t, 5);
	assert_int_equal(n->kind, PYCI_MV_INT);
	assert_int_equal(n->n, 0);
	assert_int_equal(n->u.i, 7);
	n = cmember(&t, 6);
	assert_int_equal(n->n, 0);
	assert_true(n->u.i == (int64_t)1 << 62);
	n = cmember(&t, 7);
	assert_int_equal(n->kind, PYCI_MV_INT);
	assert_int_equal(n->n, 6);
	assert_int_equal(n->negative, 1);
	n = cmember(&t, 8);
	assert_int_equal(n->kind, PYCI_MV_FLOAT);
	assert_true(n->u.f == 0 && signbit(n->u.f));
	n = cmember(&t, 9);
	assert_int_equal(n->kind, PYCI_MV_COMPLEX);
	assert_int_equal(n->n, 2);
	assert_true(t.nodes[t.kids[n->u.kids]].u.f == 1.5);
	assert_true(t.nodes[t.kids[n->u.kids + 1]].u.f == -2.0);
	assert_str(cmember(&t, 10), PYCI_MV_BYTES, "by\0te", 5);
	assert_str(cmember(&t, 11), PYCI_MV_STR, "inter", 5);
	assert_str(cmember(&t, 12), PYCI_MV_STR, "\xc3\xa9t\xc3\xa9", 5);
	assert_str(cmember(&t, 13), PYCI_MV_STR, "\xc3\xa9t\xc3\xa9", 5);
	assert_str(cmember(&t, 14), PYCI_MV_STR, "ab", 2);
	n = cmember(&t, 15);
	assert_int_equal(n->kind, PYCI_MV_TUPLE);
	assert_int_equal(n->n, 1);
	assert_int_equal(cmember(&t, 16)->kind, PYCI_MV_LIST);
	assert_int_equal(cmember(&t, 16)->n, 0);
	assert_int_equal(cmember(&t, 17)->kind, PYCI_MV_FROZENSET);
	n = cmember(&t, 18);
	assert_int_equal(n->kind, PYCI_MV_DICT);
	assert_int_equal(n->n, 2);
	/* one node each for None, True, False, whatever the count */
	size_t nones = 0;
	for (size_t k = 0; k < t.nnodes; k++)
		nones += t.nodes[k].kind == PYCI_MV_NONE;
	assert_int_equal(nones, 1);
	assert_int_equal(member(&t, consts_of(&t), 0),
			 member(&t, member(&t, consts_of(&t), 15), 0));
	/* members before containers; the root last */
	for (size_t k = 0; k < t.nnodes; k++) {
		const pyci_mnode *x = &t.nodes[k];
		if (x->kind >= PYCI_MV_COMPLEX && x->kind != PYCI_MV_STR &&
		    x->kind != PYCI_MV_BYTES)
			for (uint32_t m = 0; m < x->n; m++)
				assert_true(t.kids[x->u.kids + m] < k);
	}
	assert_int_equal(t.root, t.nnodes - 1);
	done(&t);
	free(c.d);
}

static void test_refs_shared(void **state)
{
	(void)state;
	/* ('abc', ('abc',), r tuple, r str): the same nodes again */
	bb c = {0};
	u8(&c, ')');
	u8(&c, 3);
	put(&c,
	    "\xda\x03"
	    "abc",
	    5); /* ref 0 */
	put(&c,
	    "\xa9\x01"
	    "r\0\0\0\0",
	    7); /* a tuple, ref 1, holding ref 0 */
	u8(&c, 'r');
	i32(&c, 1);
	pyci_mtree t;
	if (tree_consts(3571, &c, &t) != 0)
		fail_msg("%s at %zu", t.error_msg, t.error_offset);
	uint32_t cs = consts_of(&t);
	assert_int_equal(member(&t, cs, 1), member(&t, cs, 2));
	assert_int_equal(member(&t, cs, 0), member(&t, member(&t, cs, 1), 0));
	done(&t);

	/* a reference to the tuple being read (a slot not yet filled) is refused */
	bb d = {0};
	put(&d, "\xa9\x01r\0\0\0\0", 7);
	assert_int_equal(tree_consts(3571, &d, &t), -1);
	assert_int_equal(t.error, EINVAL);
	assert_string_equal(t.error_msg, "bad marshal data (invalid reference)");
	assert_int_equal(t.root, NONE);
	done(&t);
	free(c.d);
	free(d.d);
}

static void test_py2(void **state)
{
	(void)state;
	bb c = {0};
	u8(&c, '(');
	i32(&c, 6);
	sized(&c, 's', "b", 1);
	sized(&c, 'u', "u", 1);
	u8(&c, 'i');
	i32(&c, 1);
	u8(&c, 'l');
	i32(&c, 1);
	put(&c, "\x01\x00", 2);
	sized(&c, 't', "name", 4);
	u8(&c, 'R'); /* the first interned string */
	i32(&c, 0);
	pyci_mtree t;
	if (tree_consts(62211, &c, &t) != 0)
		fail_msg("%s at %zu", t.error_msg, t.error_offset);
	assert_int_equal(t.py2, 1);
	assert_str(cmember(&t, 0), PYCI_MV_BYTES, "b", 1);
	assert_str(cmember(&t, 1), PYCI_MV_STR, "u", 1);
	assert_int_equal(cmember(&t, 2)->kind, PYCI_MV_INT);
	assert_int_equal(cmember(&t, 3)->kind, PYCI_MV_LONG);
	assert_int_equal(cmember(&t, 3)->u.i, 1);
	/* the builder writes py2 names as 's': the constant "name" is the first interned string */
	assert_int_equal(member(&t, consts_of(&t), 4), member(&t, consts_of(&t), 5));
	assert_repr(&t, member(&t, consts_of(&t), 3), SIZE_MAX, 100, "1L");
	assert_repr(&t, member(&t, consts_of(&t), 0), SIZE_MAX, 100, "'b'");
	assert_repr(&t, member(&t, consts_of(&t), 1), SIZE_MAX, 100, "u'u'");
	done(&t);
	free(c.d);
}

static void test_fields(void **state)
{
	(void)state;
	static const struct {
		uint32_t magic;
		size_t nfields;
		const char *line, *last;
	} rows[] = {
		{62211, 14, "co_lnotab", "co_lnotab"},
		{3379, 15, "co_lnotab", "co_lnotab"},
		{3425, 16, "co_lnotab", "co_lnotab"},
		{3439, 16, "co_linetable", "co_linetable"},
		{3531, 16, "co_linetable", "co_exceptiontable"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bb c = {0};
		u8(&c, '(');
		i32(&c, 0);
		pyci_mtree t;
		if (tree_consts(rows[i].magic, &c, &t) != 0)
			fail_msg("%u: %s", rows[i].magic, t.error_msg);
		assert_int_equal(t.nfields, rows[i].nfields);
		assert_int_equal(t.nodes[t.root].kind, PYCI_MV_CODE);
		assert_int_equal(t.nodes[t.root].n, rows[i].nfields);
		assert_string_equal(t.fields[t.nfields - 1], rows[i].last);
		assert_int_not_equal(pyci_mtree_field(&t, t.root, rows[i].line), NONE);
		uint32_t name = pyci_mtree_field(&t, t.root, "co_name");
		assert_str(&t.nodes[name], t.py2 ? PYCI_MV_BYTES : PYCI_MV_STR, "<module>", 8);
		uint32_t line = pyci_mtree_field(&t, t.root, "co_firstlineno");
		assert_int_equal(t.nodes[line].kind, PYCI_MV_INT);
		assert_int_equal(t.nodes[line].type, 0); /* a field, not an object */
		assert_int_equal(t.nodes[line].u.i, 1);
		assert_int_equal(pyci_mtree_field(&t, t.root, "co_nothing"), NONE);
		assert_int_equal(pyci_mtree_field(&t, name, "co_name"), NONE);
		assert_repr(&t, t.root, SIZE_MAX, 100, "<code <module>, line 1>");
		done(&t);
		free(c.d);
	}
}

static void test_limits(void **state)
{
	(void)state;
	pyci_mtree t;
	/* nested 2000 tuples inside the code object: too deep (the code object is one level) */
	bb c = {0};
	for (int k = 0; k < 2000; k++) {
		u8(&c, ')');
		u8(&c, 1);
	}
	u8(&c, 'N');
	assert_int_equal(tree_consts(3571, &c, &t), -1);
	assert_int_equal(t.error, E2BIG);
	done(&t);
	/* 1998 nested tuples and the code object: fine */
	bb ok = {0};
	for (int k = 0; k < 1998; k++) {
		u8(&ok, ')');
		u8(&ok, 1);
	}
	u8(&ok, 'N');
	assert_int_equal(tree_consts(3571, &ok, &t), 0);
	char deep[64] = "";
	for (int k = 0; k < 8; k++)
		strcat(deep, "(");
	strcat(deep, "...");
	for (int k = 0; k < 8; k++)
		strcat(deep, ",)");
	assert_repr(&t, member(&t, t.root, 6), SIZE_MAX, 100, deep);
	done(&t);
	/* NULL inside a tuple */
	bb nul = {0};
	put(&nul,
	    ")\x01"
	    "0",
	    3);
	assert_int_equal(tree_consts(3571, &nul, &t), -1);
	assert_string_equal(t.error_msg, "bad marshal data (NULL object)");
	done(&t);
	/* an unknown type code, and one of a later marshal version (':' slices are v5) */
	bb unk = {0};
	put(&unk, ")\x01Q", 3);
	assert_int_equal(tree_consts(3571, &unk, &t), -1);
	assert_string_equal(t.error_msg, "bad marshal data (unknown type code)");
	done(&t);
	bb sl = {0};
	put(&sl, ")\x01:NNN", 6);
	assert_int_equal(tree_consts(3571, &sl, &t), -1);
	done(&t);
	assert_int_equal(tree_consts(3627, &sl, &t), 0);
	assert_int_equal(cmember(&t, 0)->kind, PYCI_MV_SLICE);
	assert_int_equal(cmember(&t, 0)->n, 3);
	done(&t);
	/* a dict whose last key has no value: the key is dropped, as CPython drops it */
	bb dk = {0};
	put(&dk,
	    ")\x01{NT"
	    "F0",
	    7);
	assert_int_equal(tree_consts(3571, &dk, &t), 0);
	assert_int_equal(cmember(&t, 0)->n, 2);
	done(&t);
	/* not a code object, and nothing at all */
	pyci_magic_info m = magic_of(3571);
	assert_int_equal(pyci_mtree_decode((const uint8_t *)"N", 1, &m, &t), -1);
	assert_int_equal(t.error, EINVAL);
	done(&t);
	assert_int_equal(pyci_mtree_decode(NULL, 0, &m, &t), -1);
	done(&t);
	assert_int_equal(pyci_mtree_decode((const uint8_t *)"c", 1, NULL, &t), -1);
	assert_int_equal(t.error, ENOTSUP);
	done(&t);
	free(c.d);
	free(ok.d);
	free(nul.d);
	free(unk.d);
	free(sl.d);
	free(dk.d);
}

static void test_references_multiply(void **state)
{
	(void)state;
	/* (t0, t1, ..., t40) with t0 = (None, None) and t(k+1) = (r tk, r tk): t40 expands to
	 * 2^41 leaves; the tree keeps one node per tuple */
	bb c = {0};
	u8(&c, ')' | 0x80);
	u8(&c, 2);
	u8(&c, 'N');
	u8(&c, 'N');
	for (uint32_t k = 1; k <= 40; k++) {
		u8(&c, ')' | 0x80);
		u8(&c, 2);
		u8(&c, 'r');
		i32(&c, k - 1);
		u8(&c, 'r');
		i32(&c, k - 1);
	}
	bb outer = {0};
	u8(&outer, ')');
	u8(&outer, 41);
	put(&outer, c.d, c.n);
	pyci_mtree t;
	if (tree_consts(3571, &outer, &t) != 0)
		fail_msg("%s at %zu", t.error_msg, t.error_offset);
	assert_true(t.nnodes < 100);
	pyci_buf r = PYCI_BUF_INIT;
	assert_int_equal(pyci_mtree_repr(&t, member(&t, consts_of(&t), 40), SIZE_MAX, 60, &r), 0);
	assert_true(r.len <= 63);
	pyci_buf_free(&r);
	done(&t);
	free(c.d);
	free(outer.d);
}

static void test_fixtures_and_truncation(void **state)
{
	(void)state;
	for (size_t i = 0; i < MB_NFIXTURES; i++) {
		fixbody b = load(mb_fixtures[i]);
		size_t n = b.len - b.hsize;
		pyci_mtree t;
		pyci_marshal m;
		assert_int_equal(pyci_mtree_decode(b.data + b.hsize, n, &b.magic, &t), 0);
		assert_int_equal(pyci_marshal_decode(b.data + b.hsize, n, &b.magic, 0, &m), 0);
		assert_int_equal(t.consumed, n);
		size_t codes = 0;
		for (size_t k = 0; k < t.nnodes; k++)
			codes += t.nodes[k].kind == PYCI_MV_CODE;
		assert_int_equal(codes, m.ncodes); /* the same code objects */
		uint32_t fn = pyci_mtree_field(&t, t.root, "co_filename");
		assert_int_equal(t.nodes[fn].n, m.codes[0].filename.len);
		assert_memory_equal(t.nodes[fn].u.s, m.codes[0].filename.data, t.nodes[fn].n);
		pyci_marshal_free(&m);
		done(&t);
		for (size_t cut = 0; cut < n; cut++) {
			uint8_t *part = malloc(cut ? cut : 1);
			assert_non_null(part);
			memcpy(part, b.data + b.hsize, cut);
			assert_int_equal(pyci_mtree_decode(part, cut, &b.magic, &t), -1);
			assert_int_equal(t.error, EINVAL);
			assert_true(t.error_offset <= cut);
			assert_int_equal(t.root, NONE);
			done(&t);
			free(part);
		}
		free(b.data);
	}
}

static void test_bit_flips(void **state)
{
	(void)state;
	uint64_t seed = 0x243F6A8885A308D3ull;
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
			pyci_mtree t;
			if (pyci_mtree_decode(mut, n, &b.magic, &t) == 0) {
				ok++;
				assert_true(t.root < t.nnodes);
				assert_int_equal(t.nodes[t.root].kind, PYCI_MV_CODE);
				for (size_t k = 0; k < t.nnodes; k++) {
					const pyci_mnode *x = &t.nodes[k];
					int has_kids = x->kind >= PYCI_MV_COMPLEX &&
						       x->kind != PYCI_MV_STR &&
						       x->kind != PYCI_MV_BYTES;
					for (uint32_t m = 0; has_kids && m < x->n; m++)
						assert_true(t.kids[x->u.kids + m] < k);
				}
				pyci_buf r = PYCI_BUF_INIT;
				assert_int_equal(pyci_mtree_repr(&t, t.root, SIZE_MAX, 200, &r), 0);
				pyci_buf_free(&r);
			} else {
				bad++;
				assert_true(t.error == EINVAL || t.error == E2BIG ||
					    t.error == ENOMEM);
				assert_true(t.error_offset <= n);
			}
			done(&t);
		}
		free(mut);
		free(b.data);
	}
	assert_true(ok > 0);
	assert_true(bad > 0);
}

static void test_repr(void **state)
{
	(void)state;
	bb c = {0};
	u8(&c, '(');
	i32(&c, 12);
	static const char odd[] = "it's \\ \"q\"\n\t\x01\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	sized(&c, 'u', odd, sizeof(odd) - 1); /* 0 */
	sized(&c, 's', "a'\x00\xff", 4);      /* 1 */
	u8(&c, 'l');                          /* 2: 2^75 */
	i32(&c, 6);
	put(&c, "\0\0\0\0\0\0\0\0\0\0\x01\0", 12);
	u8(&c, 'g'); /* 3 */
	f64(&c, 1e16);
	u8(&c, 'y'); /* 4: 2j */
	f64(&c, 0.0);
	f64(&c, 2.0);
	u8(&c, 'y'); /* 5: (-0-1j) */
	f64(&c, -0.0);
	f64(&c, -1.0);
	put(&c, ")\x01N", 3);            /* 6 */
	put(&c, ">\x00\x00\x00\x00", 5); /* 7 */
	put(&c, "{i\x01\0\0\0N0", 8);    /* 8 */
	char longs[200];
	for (int k = 0; k < 200; k++)
		longs[k] = (char)('a' + k % 26);
	sized(&c, 'u', longs, 200);  /* 9 */
	put(&c, "[\x02\0\0\0TF", 7); /* 10 */
	u8(&c, 'S');                 /* 11 */
	pyci_mtree t;
	if (tree_consts(3571, &c, &t) != 0)
		fail_msg("%s at %zu", t.error_msg, t.error_offset);
	uint32_t cs = consts_of(&t);
	assert_repr(&t, member(&t, cs, 0), SIZE_MAX, 100,
		    "'it\\'s \\\\ \"q\"\\n\\t\\x01\\xe9\\u20ac\\U0001f600'");
	assert_repr(&t, member(&t, cs, 1), SIZE_MAX, 100, "b'a\\'\\x00\\xff'");
	assert_repr(&t, member(&t, cs, 2), SIZE_MAX, 100, "37778931862957161709568");
	assert_repr(&t, member(&t, cs, 3), SIZE_MAX, 100, "1e+16");
	assert_repr(&t, member(&t, cs, 4), SIZE_MAX, 100, "2j");
	assert_repr(&t, member(&t, cs, 5), SIZE_MAX, 100, "(-0-1j)");
	assert_repr(&t, member(&t, cs, 6), SIZE_MAX, 100, "(None,)");
	assert_repr(&t, member(&t, cs, 7), SIZE_MAX, 100, "frozenset()");
	assert_repr(&t, member(&t, cs, 8), SIZE_MAX, 100, "{1: None}");
	assert_repr(&t, member(&t, cs, 10), SIZE_MAX, 100, "[True, False]");
	assert_repr(&t, member(&t, cs, 11), SIZE_MAX, 100, "StopIteration");
	/* a window around byte 100 of 200: 24 before, 64 in all */
	char win[80];
	(void)snprintf(win, sizeof(win), "...'%.64s'...", longs + 76);
	assert_repr(&t, member(&t, cs, 9), 100, 200, win);
	/* the limit */
	assert_repr(&t, member(&t, cs, 9), SIZE_MAX, 10, "'abcdefghi...");
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_mtree_repr(&t, cs, SIZE_MAX, 50, &b), 0);
	assert_int_equal(b.len, 53);
	assert_string_equal(b.data + 50, "...");
	pyci_buf_free(&b);
	assert_repr(&t, (uint32_t)t.nnodes, SIZE_MAX, 10, "?");
	done(&t);
	free(c.d);
}

static void test_bound(void **state)
{
	(void)state;
	assert_int_equal(pyci_mtree_bound(0), (size_t)1 << 20);
	assert_int_equal(pyci_mtree_bound(1000), 40000 + ((size_t)1 << 20));
	assert_int_equal(pyci_mtree_bound(SIZE_MAX), PYCI_MTREE_MAX_MEMORY);
	/* a tuple of 500,000 empty small tuples: 2 bytes each, 24 bytes of tree each (node, kid,
	 * and its wait on the stack) within 40 per byte */
	size_t n = 500000;
	bb c = {0};
	u8(&c, '(');
	i32(&c, (uint32_t)n);
	for (size_t k = 0; k < n; k++)
		put(&c, ")\0", 2);
	pyci_mtree t;
	if (tree_consts(3571, &c, &t) != 0)
		fail_msg("%s at %zu", t.error_msg, t.error_offset);
	assert_int_equal(cmember(&t, 0)->kind, PYCI_MV_TUPLE);
	done(&t);
	free(c.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_refs_shared),
		cmocka_unit_test(test_py2),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_references_multiply),
		cmocka_unit_test(test_fixtures_and_truncation),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_repr),
		cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
