/*
 * mbuild.h - marshal bodies written by hand, for the unit tests of the decoders (test_marshal.c)
 * and of what reads their trees (test_codecmp.c): a byte builder, and code objects of the 2.7,
 * 3.0-3.7, 3.8-3.10 and 3.11+ layouts around whatever constants a test needs.
 */
#ifndef PYCI_TEST_MBUILD_H
#define PYCI_TEST_MBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>

#include "pycinspect/header.h"
#include "pycinspect/magic.h"
#include "pycinspect/marshal.h"

#define CRLF(m) (0x0A0D0000u | (uint32_t)(m))

/* ------------------------------------------------------------------------------------------ */
/* A byte builder */

typedef struct bb {
	uint8_t *d;
	size_t n, cap;
} bb;

static inline void put(bb *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		b->d = realloc(b->d, cap);
		assert_non_null(b->d);
		b->cap = cap;
	}
	if (n)
		memcpy(b->d + b->n, p, n);
	b->n += n;
}

static inline void u8(bb *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(b, &c, 1);
}

static inline void i32(bb *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(b, p, 4);
}

static inline void f64(bb *b, double x)
{
	uint64_t u;
	memcpy(&u, &x, 8);
	for (int i = 0; i < 8; i++)
		u8(b, (unsigned)(u >> (8 * i)) & 0xFF);
}

/* type byte, i32 length, bytes */
static inline void sized(bb *b, unsigned type, const char *s, size_t n)
{
	u8(b, type);
	i32(b, (uint32_t)n);
	put(b, s, n);
}

/* Strings as each version writes names: kind 's' (py2), 'u' (3.0-3.3, before marshal
 * version 4), or 0 for the short ASCII 'z' of 3.4+. */
static inline void name_str(bb *b, int kind, const char *s)
{
	if (kind) {
		sized(b, (unsigned)kind, s, strlen(s));
	} else {
		u8(b, 'z');
		u8(b, (unsigned)strlen(s));
		put(b, s, strlen(s));
	}
}

static inline void bytes_obj(bb *b, const char *s, size_t n)
{
	sized(b, 's', s, n);
}

static inline void str_tuple(bb *b, int kind, const char *const *v, size_t n)
{
	u8(b, '(');
	i32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		name_str(b, kind, v[i]);
}

enum { LAY27 = 27, LAY30 = 30, LAY38 = 38, LAY311 = 311 };

typedef struct spec {
	int layout;
	int old_strings; /* LAY30 before 3.4: names as 'u', not 'z' */
	unsigned ref;    /* 0x80 for FLAG_REF on the 'c' */
	int32_t flags, firstlineno, argcount;
	const char *name, *qualname, *filename;
	const char *const *names;
	size_t nnames;
	const char *const *varnames; /* before 3.11 */
	size_t nvarnames;
	const char *const *cellvars;
	size_t ncellvars;
	const char *const *lpnames; /* 3.11+ */
	const char *lpkinds;
	size_t nlp;
	/* writes the consts object; NULL: an empty tuple */
	void (*consts)(bb *b, const void *ctx);
	const void *ctx;
	/* raw bytes that replace the name object (to test wrong types), or NULL */
	const bb *raw_name;
	/* co_code, or NULL for "d\0S\0" */
	const char *code;
	size_t code_len;
} spec;

static inline void put_code(bb *b, const spec *s)
{
	int py2 = s->layout == LAY27 ? 's' : s->old_strings ? 'u' : 0; /* name_str's kind */
	u8(b, 'c' | s->ref);
	i32(b, (uint32_t)s->argcount);
	if (s->layout >= LAY38)
		i32(b, 0); /* posonlyargcount */
	if (s->layout >= LAY30)
		i32(b, 0); /* kwonlyargcount */
	if (s->layout < LAY311)
		i32(b, (uint32_t)s->nvarnames); /* nlocals */
	i32(b, 4);                              /* stacksize */
	i32(b, (uint32_t)s->flags);
	if (s->code) /* co_code */
		bytes_obj(b, s->code, s->code_len);
	else
		bytes_obj(b, "d\0S\0", 4);
	if (s->consts) {
		s->consts(b, s->ctx);
	} else {
		u8(b, '(');
		i32(b, 0);
	}
	str_tuple(b, py2, s->names, s->nnames);
	if (s->layout < LAY311) {
		str_tuple(b, py2, s->varnames, s->nvarnames);
		str_tuple(b, py2, NULL, 0); /* freevars */
		str_tuple(b, py2, s->cellvars, s->ncellvars);
	} else {
		str_tuple(b, 0, s->lpnames, s->nlp);
		bytes_obj(b, s->lpkinds ? s->lpkinds : "", s->nlp);
	}
	name_str(b, py2, s->filename ? s->filename : "t.py");
	if (s->raw_name)
		put(b, s->raw_name->d, s->raw_name->n);
	else
		name_str(b, py2, s->name ? s->name : "<module>");
	if (s->layout >= LAY311)
		name_str(b, 0, s->qualname ? s->qualname : (s->name ? s->name : "<module>"));
	i32(b, (uint32_t)s->firstlineno);
	bytes_obj(b, "", 0); /* lnotab / linetable */
	if (s->layout >= LAY311)
		bytes_obj(b, "", 0); /* exceptiontable */
}

/* consts writer: a 1-tuple holding raw bytes given as ctx (a bb) */
static inline void consts_raw(bb *b, const void *ctx)
{
	const bb *raw = ctx;
	put(b, raw->d, raw->n);
}

static inline pyci_magic_info magic_of(uint32_t number)
{
	pyci_magic_info m;
	assert_int_equal(pyci_magic_lookup_word(CRLF(number), &m), 0);
	return m;
}

/* A real cache from fixtures/ (FIXTURES_DIR), its header decoded. */
typedef struct fixbody {
	uint8_t *data;
	size_t len, hsize;
	pyci_magic_info magic;
} fixbody;

static inline fixbody load(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", FIXTURES_DIR, rel);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fixbody b = {0};
	b.data = malloc(1 << 16);
	assert_non_null(b.data);
	b.len = fread(b.data, 1, 1 << 16, f);
	assert_int_equal(fclose(f), 0);
	pyci_header h;
	assert_int_equal(pyci_header_parse(b.data, b.len, b.len, &h), PYCI_HDR_OK);
	b.hsize = h.size;
	b.magic = h.magic;
	return b;
}

/* The real caches every decoder test reads: one per code object layout, and PyPy's. */
static const char *const mb_fixtures[] = {
	"tree/mod27.pyc",
	"tree/__pycache__/mod_ts.cpython-36.pyc",
	"tree/__pycache__/mod_ts.cpython-39.pyc",
	"tree/__pycache__/mod_ts.cpython-310.pyc",
	"tree/__pycache__/mod_ts.cpython-311.pyc",
	"tree/__pycache__/mod_ts.cpython-313.pyc",
	"tree/__pycache__/mod_ts.pypy39.pyc",
};
#define MB_NFIXTURES (sizeof(mb_fixtures) / sizeof(mb_fixtures[0]))

/* xorshift64*: from a fixed seed, the same numbers on every run */
static inline uint64_t mb_rnd(uint64_t *st)
{
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 0x2545F4914F6CDD1Dull;
}

/* Flip `flips` bits of buf[0..n) chosen by the generator at *seed. */
static inline void mb_flip_bits(uint8_t *buf, size_t n, int flips, uint64_t *seed)
{
	for (int k = 0; k < flips; k++) {
		uint64_t r = mb_rnd(seed);
		buf[r % n] ^= (uint8_t)(1u << ((r >> 32) % 8));
	}
}

/* ---- trees (pyci_mtree) of built bodies ---- */

#define NONE UINT32_MAX

/* The bodies trees were decoded from, freed at the end of each test (done). */
static bb *bodies[16] __attribute__((unused));
static size_t nbodies __attribute__((unused));

static inline void done(pyci_mtree *t)
{
	pyci_mtree_free(t);
	for (size_t k = 0; k < nbodies; k++) {
		free(bodies[k]->d);
		free(bodies[k]);
	}
	nbodies = 0;
}

/* Decode a module of magic `magic` whose consts object is the given bytes; the tree points into
 * the body, which the caller frees with done(). */
static inline int tree_consts(uint32_t magic, const bb *consts, pyci_mtree *t)
{
	spec s = {.layout = LAY311, .consts = consts_raw, .ctx = consts, .firstlineno = 1};
	pyci_magic_info m = magic_of(magic);
	if (m.major == 2)
		s.layout = LAY27;
	else if (m.major * 100 + m.minor < 308)
		s.layout = LAY30;
	else if (m.major * 100 + m.minor < 311)
		s.layout = LAY38;
	bb *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	put_code(b, &s);
	int r = pyci_mtree_decode(b->d, b->n, &m, t);
	bodies[nbodies++] = b;
	return r;
}

static inline uint32_t member(const pyci_mtree *t, uint32_t node, uint32_t k)
{
	assert_true(node < t->nnodes);
	assert_true(k < t->nodes[node].n);
	return t->kids[t->nodes[node].u.kids + k];
}

static inline uint32_t consts_of(const pyci_mtree *t)
{
	uint32_t c = pyci_mtree_field(t, t->root, "co_consts");
	assert_int_not_equal(c, NONE);
	return c;
}

/* The k-th member of the top code object's consts tuple, whose only member is the tuple the
 * test wrote (consts_raw writes the tuple itself). */
static inline const pyci_mnode *cmember(const pyci_mtree *t, uint32_t k)
{
	return &t->nodes[member(t, consts_of(t), k)];
}

#endif
