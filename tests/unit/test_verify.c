/*
 * test_verify.c - unit tests for verify.h: one cache against what its source compiles to, with
 * the compiler played by the test (the CLI tests run real interpreters).
 *
 * The "compiler" answers from real caches of fixtures/: the cache's own body (matches), the
 * body of a module that differs only in its docstring (differs, at <module>.co_consts[0]), a
 * SyntaxError (unverifiable, with the message), no interpreter, or one that fails first and a
 * second that answers.  Also: the file name handed to the compiler is the cache's co_filename;
 * a .pyo tries -O then -OO; what cannot be decoded is unverifiable with the byte it stopped at;
 * the levels each cache name says.
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

#include "pycinspect/cachename.h"
#include "pycinspect/verify.h"

#include "mbuild.h"

/* What the fake compiler answers, attempt by attempt (then "no more"). */
typedef struct answer {
	int rc;              /* pyci_verify_compile's */
	const uint8_t *data; /* rc 0: the marshalled code; others: text */
	size_t len;
	int level; /* answer only at this level (-1: any); another level gets `other` */
} answer;

typedef struct fake {
	const answer *answers;
	size_t n;
	const answer *other;
	unsigned calls;
	char filename[256];
	int levels_asked[8];
	uint32_t magic;
} fake;

static int fake_compile(void *ctx, uint32_t magic, unsigned attempt, int optimize, const char *fn,
			size_t fnlen, const uint8_t *src, size_t len, pyci_buf *out,
			const void **who)
{
	fake *f = ctx;
	(void)src;
	(void)len;
	if (f->calls < 8)
		f->levels_asked[f->calls] = optimize;
	f->calls++;
	f->magic = magic;
	snprintf(f->filename, sizeof(f->filename), "%.*s", (int)fnlen, fn);
	pyci_buf_clear(out);
	if (attempt >= f->n) {
		if (attempt == 0)
			assert_int_equal(pyci_buf_puts(out, "no interpreter at all"), 0);
		return 2;
	}
	const answer *a = &f->answers[attempt];
	if (a->level >= 0 && a->level != optimize && f->other)
		a = f->other;
	*who = a;
	assert_int_equal(pyci_buf_append(out, a->data, a->len), 0);
	if (a->rc < 0)
		errno = ECHILD;
	return a->rc;
}

typedef struct cache {
	fixbody f;
	pyci_header h;
} cache;

static cache open_cache(const char *rel)
{
	cache c;
	c.f = load(rel);
	assert_int_equal(pyci_header_parse(c.f.data, c.f.len, c.f.len, &c.h), PYCI_HDR_OK);
	return c;
}

static int run(const cache *c, const uint8_t *src, const int *levels, size_t nlevels, fake *f,
	       pyci_verify_result *out)
{
	pyci_verify_input in = {.header = &c->h,
				.file = c->f.data,
				.len = c->f.len,
				.src = src,
				.srclen = src ? strlen((const char *)src) : 0,
				.no_source = "no source: orphaned",
				.levels = levels,
				.nlevels = nlevels,
				.compile = fake_compile,
				.ctx = f};
	return pyci_verify(&in, out);
}

static const uint8_t SRC[] = "x = 1\n";
static const int L0[] = {0};

static void test_matches_and_differs(void **state)
{
	(void)state;
	cache c = open_cache("tree/__pycache__/mod_ts.cpython-313.pyc");
	cache other = open_cache("tree/__pycache__/mod_checked.cpython-313.pyc");
	answer same = {0, c.f.data + c.h.size, c.f.len - c.h.size, -1};
	answer diff = {0, other.f.data + other.h.size, other.f.len - other.h.size, -1};
	fake f = {.answers = &same, .n = 1};
	pyci_verify_result r;
	assert_int_equal(run(&c, SRC, L0, 1, &f, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_MATCHES);
	assert_int_equal(r.level, 0);
	assert_ptr_equal(r.who, &same);
	assert_int_equal(r.have_names, 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.magic, c.h.magic.word);
	assert_non_null(strstr(f.filename, "mod_ts.py")); /* the cache's co_filename */
	pyci_verify_result_free(&r);

	fake g = {.answers = &diff, .n = 1};
	assert_int_equal(run(&c, SRC, L0, 1, &g, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_DIFFERS);
	assert_string_equal(r.diff.where.data, "<module>.co_consts[0]");
	assert_non_null(strstr(r.diff.a_value.data, "(mod_ts)."));
	assert_non_null(strstr(r.diff.b_value.data, "(mod_checked)."));
	assert_int_equal(r.diff.offset, strlen("A tiny module for pycinspect's fixtures (mod_"));
	assert_int_equal(r.have_names, 1);
	assert_ptr_equal(r.who, &diff);
	pyci_verify_result_free(&r);

	/* the first interpreter differs, the second matches: matches */
	answer two[] = {diff, same};
	fake h = {.answers = two, .n = 2};
	assert_int_equal(run(&c, SRC, L0, 1, &h, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_MATCHES);
	assert_ptr_equal(r.who, &two[1]);
	assert_int_equal(h.calls, 2);
	pyci_verify_result_free(&r);
	free(c.f.data);
	free(other.f.data);
}

static void test_unverifiable(void **state)
{
	(void)state;
	cache c = open_cache("tree/__pycache__/mod_ts.cpython-313.pyc");
	pyci_verify_result r;
	/* a source the interpreter refuses */
	const char *syn = "SyntaxError: invalid syntax (mod_ts.py, line 1)";
	answer bad = {1, (const uint8_t *)syn, strlen(syn), -1};
	fake f = {.answers = &bad, .n = 1};
	assert_int_equal(run(&c, SRC, L0, 1, &f, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_UNVERIFIABLE);
	assert_string_equal(r.why.data, "the source does not compile: SyntaxError: invalid syntax "
					"(mod_ts.py, line 1)");
	pyci_verify_result_free(&r);
	/* no interpreter */
	fake none = {.n = 0};
	assert_int_equal(run(&c, SRC, L0, 1, &none, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_UNVERIFIABLE);
	assert_string_equal(r.why.data, "no interpreter at all");
	pyci_verify_result_free(&r);
	/* one that fails, then none: the failure is the reason */
	const char *dead = "the interpreter X was killed by signal 9";
	answer fail1 = {-1, (const uint8_t *)dead, strlen(dead), -1};
	fake g = {.answers = &fail1, .n = 1};
	assert_int_equal(run(&c, SRC, L0, 1, &g, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_UNVERIFIABLE);
	assert_string_equal(r.why.data, dead);
	pyci_verify_result_free(&r);
	/* one that fails, then one that matches */
	answer ok = {0, c.f.data + c.h.size, c.f.len - c.h.size, -1};
	answer two[] = {fail1, ok};
	fake h = {.answers = two, .n = 2};
	assert_int_equal(run(&c, SRC, L0, 1, &h, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_MATCHES);
	pyci_verify_result_free(&r);
	/* an answer that is not marshalled code */
	answer junk = {0, (const uint8_t *)"junk", 4, -1};
	fake j = {.answers = &junk, .n = 1};
	assert_int_equal(run(&c, SRC, L0, 1, &j, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_UNVERIFIABLE);
	assert_non_null(strstr(r.why.data, "the interpreter's code does not decode"));
	pyci_verify_result_free(&r);
	/* no source: the names, and no compile */
	fake k = {.answers = &ok, .n = 1};
	assert_int_equal(run(&c, NULL, L0, 1, &k, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_UNVERIFIABLE);
	assert_string_equal(r.why.data, "no source: orphaned");
	assert_int_equal(r.have_names, 1);
	assert_int_equal(k.calls, 0);
	pyci_verify_result_free(&r);
	/* no level to compile at (opt-0: no import writes it) */
	assert_int_equal(run(&c, SRC, L0, 0, &k, &r), 0);
	assert_non_null(strstr(r.why.data, "optimisation level"));
	pyci_verify_result_free(&r);
	/* a body cut short: the byte, counted from the start of the file */
	cache cut = c;
	cut.f.len = c.h.size + 40;
	assert_int_equal(run(&cut, SRC, L0, 1, &k, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_UNVERIFIABLE);
	assert_non_null(strstr(r.why.data, "the body does not decode: "));
	assert_non_null(strstr(r.why.data, "(at byte "));
	assert_int_equal(r.have_names, 0);
	pyci_verify_result_free(&r);
	/* a header that did not decode */
	cache hb = c;
	hb.h.status = PYCI_HDR_TRUNCATED;
	assert_int_equal(run(&hb, SRC, L0, 1, &k, &r), 0);
	assert_string_equal(r.why.data, "the header does not decode (truncated)");
	pyci_verify_result_free(&r);
	free(c.f.data);
}

static void test_pyo_levels(void **state)
{
	(void)state;
	cache c = open_cache("tree/__pycache__/mod_ts.cpython-312.opt-1.pyc");
	/* (mod_ts has neither asserts nor __debug__: its -O code is its plain code; another
	 * module's body stands for what differs) */
	cache plain = open_cache("tree/__pycache__/mod_checked.cpython-312.pyc");
	/* level 1 gets another body (differs), level 2 the cache's own (matches) */
	answer at2 = {0, c.f.data + c.h.size, c.f.len - c.h.size, 2};
	answer other = {0, plain.f.data + plain.h.size, plain.f.len - plain.h.size, -1};
	fake f = {.answers = &at2, .n = 1, .other = &other};
	static const int L12[] = {1, 2};
	pyci_verify_result r;
	assert_int_equal(run(&c, SRC, L12, 2, &f, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_MATCHES);
	assert_int_equal(r.level, 2);
	assert_int_equal(f.levels_asked[0], 1);
	assert_int_equal(f.levels_asked[1], 2);
	pyci_verify_result_free(&r);
	/* neither level matches: the first difference (at -O) */
	fake g = {.answers = &other, .n = 1};
	assert_int_equal(run(&c, SRC, L12, 2, &g, &r), 0);
	assert_int_equal(r.verdict, PYCI_VERIFY_DIFFERS);
	assert_int_equal(r.level, 1);
	pyci_verify_result_free(&r);
	free(c.f.data);
	free(plain.f.data);
}

static void test_levels(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int in_pycache;
		size_t n;
		int l0, l1;
	} rows[] = {
		{"m.cpython-312.pyc", 1, 1, 0, 0},
		{"m.cpython-312.opt-1.pyc", 1, 1, 1, 0},
		{"m.cpython-312.opt-2.pyc", 1, 1, 2, 0},
		{"m.cpython-312.opt-3.pyc", 1, 1, 2, 0},
		{"m.cpython-312.opt-10.pyc", 1, 1, 2, 0},
		{"m.cpython-34.pyo", 1, 2, 1, 2},
		{"m.pyo", 0, 2, 1, 2},
		{"m.pyc", 0, 1, 0, 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pyci_cache_name cn;
		assert_int_equal(pyci_cache_name_parse(rows[i].name, strlen(rows[i].name),
						       rows[i].in_pycache, &cn),
				 0);
		int lv[2] = {-1, -1};
		size_t n = pyci_verify_levels(&cn, rows[i].name, lv);
		if (n != rows[i].n || (n > 0 && lv[0] != rows[i].l0) ||
		    (n > 1 && lv[1] != rows[i].l1))
			fail_msg("%s: %zu levels %d %d", rows[i].name, n, lv[0], lv[1]);
	}
	assert_string_equal(pyci_verify_name(PYCI_VERIFY_MATCHES), "matches");
	assert_string_equal(pyci_verify_name(PYCI_VERIFY_DIFFERS), "differs");
	assert_string_equal(pyci_verify_name(PYCI_VERIFY_UNVERIFIABLE), "unverifiable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_and_differs),
		cmocka_unit_test(test_unverifiable),
		cmocka_unit_test(test_pyo_levels),
		cmocka_unit_test(test_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
