/*
 * test_codenames.c - unit tests for codenames.h: imports read from the bytecode of each version,
 * and the names of the watch list.
 *
 * The opcode numbers are the interpreters' own (opcode.opmap['IMPORT_NAME'] and
 * opcode.EXTENDED_ARG of 2.7, 3.6-3.13 and the Pyodide 3.14 and 3.15 the tests run); the CLI
 * test checks them again against caches those interpreters write.  Here: each version's
 * instruction format (2.7's 3-byte instructions, wordcode), EXTENDED_ARG, Python 2's exec
 * statement, repeats, the cap, an index past co_names, and a version whose opcodes are not
 * known.
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

#include "pycinspect/codenames.h"
#include "pycinspect/marshal.h"

#include "mbuild.h"

/* The names of a module of magic m with the given names, bytecode and consts. */
static void names_of(uint32_t magic, const char *const *names, size_t nnames, const char *code,
		     size_t code_len, const bb *consts, pyci_codenames *out)
{
	pyci_magic_info m = magic_of(magic);
	spec s = {.layout = LAY311,
		  .firstlineno = 1,
		  .names = names,
		  .nnames = nnames,
		  .code = code,
		  .code_len = code_len,
		  .consts = consts ? consts_raw : NULL,
		  .ctx = consts};
	if (m.major == 2)
		s.layout = LAY27;
	else if (m.major * 100 + m.minor < 308)
		s.layout = LAY30;
	else if (m.major * 100 + m.minor < 311)
		s.layout = LAY38;
	bb b = {0};
	put_code(&b, &s);
	pyci_mtree t;
	if (pyci_mtree_decode(b.d, b.n, &m, &t) != 0)
		fail_msg("%u: %s at %zu", magic, t.error_msg, t.error_offset);
	assert_int_equal(pyci_codenames_of(&t, out), 0);
	pyci_mtree_free(&t);
	free(b.d);
}

/* The list as "a,b,c". */
static void assert_list(const pyci_buf *list, size_t n, const char *want)
{
	char got[512] = "";
	size_t off = 0;
	for (size_t k = 0; k < n; k++) {
		if (k)
			strcat(got, ",");
		strncat(got, list->data + off, sizeof(got) - strlen(got) - 1);
		off += strlen(list->data + off) + 1;
	}
	if (strcmp(got, want) != 0)
		fail_msg("got <%s>, want <%s>", got, want);
}

static void test_import_opcodes(void **state)
{
	(void)state;
	static const char *const names[] = {"os", "socket", "x"};
	static const struct {
		uint32_t magic;
		const char *code;
		size_t len;
	} rows[] = {
		/* LOAD_CONST 0, IMPORT_NAME 1 (socket): 2.7's 3-byte instructions */
		{62211, "d\0\0l\x01\0", 6},  {3351, "d\0\0l\x01\0", 6}, /* 3.5: the same format */
		{3379, "d\0l\x01", 4},                                  /* 3.6: wordcode */
		{3531, "d\0l\x01", 4},                                  /* 3.12 */
		{3571, "\x53\0\x4b\x01", 4},                            /* 3.13: IMPORT_NAME 75 */
		{3627, "\x53\0\x49\x01", 4},                            /* 3.14: 73 */
		{3666, "\x53\0\x48\x04", 4}, /* 3.15: 72, the index shifted by 2 */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		pyci_codenames c;
		names_of(rows[i].magic, names, 3, rows[i].code, rows[i].len, NULL, &c);
		assert_int_equal(c.imports_known, 1);
		assert_list(&c.imports, c.nimports, "socket");
		assert_list(&c.watched, c.nwatched, "socket");
		pyci_codenames_free(&c);
	}
	/* 2.6: opcodes not known here, the watch list still read */
	pyci_codenames c;
	names_of(62161, names, 3, "d\0\0l\x01\0", 6, NULL, &c);
	assert_int_equal(c.imports_known, 0);
	assert_int_equal(c.nimports, 0);
	assert_list(&c.watched, c.nwatched, "socket");
	pyci_codenames_free(&c);
}

static void test_extended_arg_and_exec(void **state)
{
	(void)state;
	/* 300 names, name 257 "ctypes": EXTENDED_ARG 1, IMPORT_NAME 1 */
	const char *names[300];
	char buf[300][8];
	for (int k = 0; k < 300; k++) {
		snprintf(buf[k], sizeof(buf[k]), "m%d", k);
		names[k] = buf[k];
	}
	names[257] = "ctypes";
	pyci_codenames c;
	names_of(3531, names, 300, "\x90\x01l\x01", 4, NULL, &c);
	assert_list(&c.imports, c.nimports, "ctypes");
	pyci_codenames_free(&c);
	/* 2.7: an EXTENDED_ARG (145) of 0 before a 2-byte argument */
	names_of(62211, names, 300, "\x91\0\0l\x01\x01", 6, NULL, &c);
	assert_list(&c.imports, c.nimports, "ctypes");
	pyci_codenames_free(&c);
	/* an index past co_names is nobody's import */
	names_of(3531, names, 3, "l\x09", 2, NULL, &c);
	assert_int_equal(c.nimports, 0);
	pyci_codenames_free(&c);
	/* 2.7's exec statement (EXEC_STMT, 85), and repeats */
	static const char *const few[] = {"os", "system"};
	names_of(62211, few, 2,
		 "U"
		 "l\0\0"
		 "l\0\0"
		 "U",
		 8, NULL, &c);
	assert_list(&c.imports, c.nimports, "os");
	assert_list(&c.watched, c.nwatched, "exec,system");
	pyci_codenames_free(&c);
}

static void test_watch_list(void **state)
{
	(void)state;
	static const char *const names[] = {"print", "eval", "getattr", "os", "system", "eval"};
	bb consts = {0};
	put(&consts, ")\x03", 2);
	put(&consts, "z\x05popen", 7);
	put(&consts, "z\x05hello", 7);
	put(&consts, "z\x06marsha", 8);
	pyci_codenames c;
	names_of(3531, names, 6, "d\0S\0", 4, &consts, &c);
	assert_list(&c.watched, c.nwatched, "eval,system,popen");
	assert_int_equal(c.nimports, 0);
	pyci_codenames_free(&c);
	free(consts.d);
	/* the cap: 70 imports, 64 kept and 6 counted */
	const char *many[70];
	char buf[70][8];
	char code[140];
	for (int k = 0; k < 70; k++) {
		snprintf(buf[k], sizeof(buf[k]), "m%d", k);
		many[k] = buf[k];
		code[2 * k] = 'l';
		code[2 * k + 1] = (char)k;
	}
	names_of(3531, many, 70, code, 140, NULL, &c);
	assert_int_equal(c.nimports, PYCI_CODENAMES_MAX);
	assert_int_equal(c.imports_more, 70 - PYCI_CODENAMES_MAX);
	pyci_codenames_free(&c);
	assert_string_equal(pyci_codenames_watch[0], "__import__");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_opcodes),
		cmocka_unit_test(test_extended_arg_and_exec),
		cmocka_unit_test(test_watch_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
