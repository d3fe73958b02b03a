/*
 * test_buf.c - unit tests for buf.h: the growable byte buffer.
 *
 * Covers append/puts/putc (contents, length, NUL termination, embedded NULs), reserve,
 * pyci_buf_printf below, at and past its 256-byte first attempt and across many growths,
 * clear (keeps storage), free (reusable afterwards), and the ENOMEM contract of reserve.
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

static void test_init(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	pyci_buf_free(&b); /* freeing an untouched buffer is fine */
	assert_null(b.data);
}

static void test_append(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_append(&b, "abc", 3), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 3);
	assert_true(b.cap > b.len);
	assert_string_equal(b.data, "abc");
	assert_int_equal(pyci_buf_puts(&b, "def"), 0);
	assert_int_equal(pyci_buf_putc(&b, 'g'), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.data, "abcdefg");
	/* zero-length appends change nothing */
	assert_int_equal(pyci_buf_append(&b, "xyz", 0), 0);
	assert_int_equal(pyci_buf_puts(&b, ""), 0);
	assert_int_equal(b.len, 7);
	assert_string_equal(b.data, "abcdefg");
	/* embedded NUL counts in len, and a NUL still follows */
	assert_int_equal(pyci_buf_append(&b, "h\0i", 3), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "abcdefgh\0i", 10);
	assert_int_equal(b.data[10], '\0');
	assert_int_equal(pyci_buf_putc(&b, '\0'), 0);
	assert_int_equal(b.len, 11);
	assert_int_equal(b.data[11], '\0');
	pyci_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_append_empty_first(void **state)
{
	(void)state;
	/* after any append the data is a NUL-terminated string, even an empty one */
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, ""), 0);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	pyci_buf_free(&b);
}

static void test_growth(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	char expect[10000];
	for (size_t i = 0; i < sizeof(expect) - 1; i++) {
		char c = (char)('a' + i % 26);
		expect[i] = c;
		assert_int_equal(pyci_buf_putc(&b, c), 0);
		assert_int_equal(b.len, i + 1);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
	}
	expect[sizeof(expect) - 1] = '\0';
	assert_string_equal(b.data, expect);
	pyci_buf_free(&b);
}

static void test_reserve(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_reserve(&b, 1000), 0);
	assert_true(b.cap >= 1001);
	assert_int_equal(b.len, 0);
	char *before = b.data;
	size_t cap = b.cap;
	char block[1000];
	memset(block, 'q', sizeof(block));
	assert_int_equal(pyci_buf_append(&b, block, sizeof(block)), 0);
	/* the reserved room was enough: no reallocation */
	assert_ptr_equal(b.data, before);
	assert_int_equal(b.cap, cap);
	assert_int_equal(b.len, 1000);
	assert_int_equal(b.data[1000], '\0');

	/* an impossible size fails with ENOMEM and leaves the contents */
	errno = 0;
	assert_int_equal(pyci_buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(b.len, 1000);
	assert_memory_equal(b.data, block, 1000);
	errno = 0;
	assert_int_equal(pyci_buf_append(&b, block, SIZE_MAX - 5), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(b.len, 1000);
	assert_int_equal(b.data[1000], '\0');
	pyci_buf_free(&b);
}

static void test_printf_small(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_printf(&b, "%d-%s-%c", 42, "x", 'y'), 0);
	assert_string_equal(b.data, "42-x-y");
	assert_int_equal(b.len, 6);
	assert_int_equal(pyci_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 6);
	assert_int_equal(pyci_buf_printf(&b, " %llu", (unsigned long long)UINT64_MAX), 0);
	assert_string_equal(b.data, "42-x-y 18446744073709551615");
	pyci_buf_free(&b);
}

/* printf of exactly n characters appended after a prefix of p characters */
static void check_printf_len(size_t p, size_t n)
{
	pyci_buf b = PYCI_BUF_INIT;
	char *prefix = malloc(p + 1), *s = malloc(n + 1);
	assert_non_null(prefix);
	assert_non_null(s);
	memset(prefix, 'p', p);
	prefix[p] = '\0';
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('0' + i % 10);
	s[n] = '\0';
	assert_int_equal(pyci_buf_puts(&b, prefix), 0);
	assert_int_equal(pyci_buf_printf(&b, "%s", s), 0);
	if (b.len != p + n)
		fail_msg("prefix %zu + printf %zu: len %zu", p, n, b.len);
	assert_memory_equal(b.data, prefix, p);
	assert_memory_equal(b.data + p, s, n);
	assert_int_equal(b.data[p + n], '\0');
	assert_true(b.cap > b.len);
	/* and it goes on correctly after */
	assert_int_equal(pyci_buf_printf(&b, "<%zu>", n), 0);
	char tail[32];
	snprintf(tail, sizeof(tail), "<%zu>", n);
	assert_string_equal(b.data + p + n, tail);
	assert_int_equal(b.len, p + n + strlen(tail));
	free(prefix);
	free(s);
	pyci_buf_free(&b);
}

static void test_printf_growth(void **state)
{
	(void)state;
	static const size_t lens[] = {0,   1,   254, 255,  256,  257,  300,
				      511, 512, 513, 1000, 4096, 70000};
	static const size_t prefixes[] = {0, 1, 200, 255, 256, 300, 1023};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (size_t j = 0; j < sizeof(prefixes) / sizeof(prefixes[0]); j++)
			check_printf_len(prefixes[j], lens[i]);

	/* several arguments making a long result */
	pyci_buf b = PYCI_BUF_INIT;
	char expect[2048] = "";
	size_t el = 0;
	for (int i = 0; i < 100; i++) {
		assert_int_equal(pyci_buf_printf(&b, "%05d:%s;", i, "abcdefgh"), 0);
		el += (size_t)snprintf(expect + el, sizeof(expect) - el, "%05d:%s;", i, "abcdefgh");
	}
	assert_int_equal(b.len, el);
	assert_string_equal(b.data, expect);
	pyci_buf_clear(&b);
	assert_int_equal(pyci_buf_printf(&b, "%300s|", "r"), 0);
	assert_int_equal(b.len, 301);
	assert_int_equal(b.data[298], ' ');
	assert_int_equal(b.data[299], 'r');
	assert_int_equal(b.data[300], '|');
	assert_int_equal(b.data[301], '\0');
	pyci_buf_free(&b);
}

static void test_clear(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	pyci_buf_clear(&b); /* on an untouched buffer */
	assert_int_equal(b.len, 0);
	assert_int_equal(pyci_buf_puts(&b, "hello world"), 0);
	char *data = b.data;
	size_t cap = b.cap;
	pyci_buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_string_equal(b.data, "");
	assert_int_equal(pyci_buf_puts(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	assert_int_equal(b.len, 5);
	pyci_buf_free(&b);
	/* reusable after free */
	assert_int_equal(pyci_buf_puts(&b, "reborn"), 0);
	assert_string_equal(b.data, "reborn");
	pyci_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_append_empty_first),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_printf_small),
		cmocka_unit_test(test_printf_growth),
		cmocka_unit_test(test_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
