/*
 * test_srchash.c - unit tests for srchash.h: the PEP 552 source hash.
 *
 * Covers the reference section 3 test vectors (source_hash(b'') and source_hash(b'x = 1\n') for
 * CPython 3.7-3.15 and PyPy 3.9; keyed with the magic word, SipHash-2-4 before 3.11, SipHash-1-3
 * from 3.11, stored little-endian) through pyci_srchash_buf with the rounds pyci_srchash_rounds
 * picks; pyci_srchash_fd on temporary files (small, larger than any read buffer, from a non-zero
 * offset, empty) against pyci_srchash_buf; and read errors.  When OpenSSL cannot allocate
 * (failalloc.h: every allocation failing, then each one alone), pyci_hasher_new fails with
 * ENOMEM, not ENOSYS or EIO, leaves OpenSSL's error queue empty, and works again afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>

#include "failalloc.h"
#include "pycinspect/magic.h"
#include "pycinspect/srchash.h"

#define CRLF(m) (0x0A0D0000u | (uint32_t)(m))

static const struct {
	uint16_t magic;
	uint32_t k0;
	int c, d;
	const char *empty, *x1; /* hex of the 8 stored bytes */
} vectors[] = {
	{3394, 0x0a0d0d42u, 2, 4, "85ee0caabd83b6a7", "20329d810db227ea"},
	{3413, 0x0a0d0d55u, 2, 4, "81e4881b3643e8e9", "1506f08f32bf3ff3"},
	{3425, 0x0a0d0d61u, 2, 4, "ac0bb7c83e5b1c5f", "f1d665a9e50fdffa"},
	{3439, 0x0a0d0d6fu, 2, 4, "8cc0cd2525e7fd27", "d94aade28c8cbebf"},
	{3495, 0x0a0d0da7u, 1, 3, "738d9cd5d5e87f73", "4c0372aa93f75252"},
	{3531, 0x0a0d0dcbu, 1, 3, "baf18eedc9387a25", "1522561917f5df08"},
	{3571, 0x0a0d0df3u, 1, 3, "27ec6d312f93b814", "e786e2893651120e"},
	{3627, 0x0a0d0e2bu, 1, 3, "61f5b7cb653a6aa4", "1db2b6325ca282a7"},
	{3666, 0x0a0d0e52u, 1, 3, "4a3c34e72b7ffc07", "a8abdb6f34c441fd"},
	{336, 0x0a0d0150u, 2, 4, "f3548a5dfe7fe95f", "152e8119840baf92"},
};

static void hex8(const uint8_t b[8], char out[17])
{
	static const char d[] = "0123456789abcdef";
	for (int i = 0; i < 8; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[16] = '\0';
}

static int setup(void **state)
{
	pyci_hasher *h = pyci_hasher_new();
	if (!h)
		return -1;
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	pyci_hasher_free(*state);
	return 0;
}

static void test_vectors(void **state)
{
	pyci_hasher *h = *state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		pyci_magic_info m;
		assert_int_equal(pyci_magic_lookup_word(CRLF(vectors[i].magic), &m), 0);
		assert_int_equal(m.word, vectors[i].k0);
		int c = 0, d = 0;
		pyci_srchash_rounds(&m, &c, &d);
		assert_int_equal(c, vectors[i].c);
		assert_int_equal(d, vectors[i].d);

		uint8_t out[8];
		char hex[17];
		assert_int_equal(pyci_srchash_buf(h, m.word, c, d, "", 0, out), 0);
		hex8(out, hex);
		if (strcmp(hex, vectors[i].empty) != 0)
			fail_msg("magic %u, b'': got %s, expected %s", vectors[i].magic, hex,
				 vectors[i].empty);
		assert_int_equal(pyci_srchash_buf(h, m.word, c, d, "x = 1\n", 6, out), 0);
		hex8(out, hex);
		if (strcmp(hex, vectors[i].x1) != 0)
			fail_msg("magic %u, b'x = 1\\n': got %s, expected %s", vectors[i].magic,
				 hex, vectors[i].x1);
	}
}

static void test_rounds(void **state)
{
	(void)state;
	static const struct {
		uint32_t word;
		int c, d;
	} r[] = {
		{CRLF(3392), 2, 4}, /* 3.7a4, first PEP 552 magic */
		{CRLF(3394), 2, 4}, {CRLF(3413), 2, 4}, {CRLF(3425), 2, 4},
		{CRLF(3439), 2, 4}, {CRLF(3449), 2, 4}, /* 3.10 range */
		{CRLF(3450), 1, 3},                     /* 3.11a1 */
		{CRLF(3495), 1, 3}, {CRLF(3496), 1, 3}, {CRLF(3531), 1, 3},
		{CRLF(3571), 1, 3}, {CRLF(3627), 1, 3}, {CRLF(3666), 1, 3},
		{CRLF(3706), 1, 3}, {CRLF(336), 2, 4}, /* PyPy 3.9 */
		{CRLF(320), 2, 4},                     /* PyPy 3.9, 7.3.8 */
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		pyci_magic_info m;
		assert_int_equal(pyci_magic_lookup_word(r[i].word, &m), 0);
		int c = 0, d = 0;
		pyci_srchash_rounds(&m, &c, &d);
		if (c != r[i].c || d != r[i].d)
			fail_msg("magic %u: rounds %d-%d, expected %d-%d",
				 (unsigned)(r[i].word & 0xFFFF), c, d, r[i].c, r[i].d);
	}
}

/* The rounds matter: 1-3 and 2-4 differ for the same key and data. */
static void test_rounds_differ(void **state)
{
	pyci_hasher *h = *state;
	uint8_t a[8], b[8];
	assert_int_equal(pyci_srchash_buf(h, 0x0a0d0df3u, 1, 3, "x = 1\n", 6, a), 0);
	assert_int_equal(pyci_srchash_buf(h, 0x0a0d0df3u, 2, 4, "x = 1\n", 6, b), 0);
	assert_memory_not_equal(a, b, 8);
	/* and the key too */
	assert_int_equal(pyci_srchash_buf(h, 0x0a0d0df4u, 1, 3, "x = 1\n", 6, b), 0);
	assert_memory_not_equal(a, b, 8);
}

static int temp_file(const void *data, size_t len)
{
	char path[] = "/tmp/pyci-srchash-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	const char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		assert_true(n > 0);
		done += (size_t)n;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void test_fd_small(void **state)
{
	pyci_hasher *h = *state;
	int fd = temp_file("x = 1\n", 6);
	uint8_t out[8];
	uint64_t nread = 0;
	assert_int_equal(pyci_srchash_fd(h, 0x0a0d0df3u, 1, 3, fd, out, &nread), 0);
	assert_int_equal(nread, 6);
	char hex[17];
	hex8(out, hex);
	assert_string_equal(hex, "e786e2893651120e");

	/* reads from the current offset: at EOF it hashes b'' */
	assert_int_equal(pyci_srchash_fd(h, 0x0a0d0df3u, 1, 3, fd, out, &nread), 0);
	assert_int_equal(nread, 0);
	hex8(out, hex);
	assert_string_equal(hex, "27ec6d312f93b814");

	/* nread may be NULL */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(pyci_srchash_fd(h, 0x0a0d0d42u, 2, 4, fd, out, NULL), 0);
	hex8(out, hex);
	assert_string_equal(hex, "20329d810db227ea");
	close(fd);
}

static void test_fd_large(void **state)
{
	pyci_hasher *h = *state;
	/* bigger than any sensible read buffer, and not a multiple of a power of two */
	const size_t len = 3 * 1024 * 1024 + 12345;
	unsigned char *data = malloc(len);
	assert_non_null(data);
	uint32_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (unsigned char)(x >> 16);
	}
	int fd = temp_file(data, len);
	static const struct {
		uint32_t k0;
		int c, d;
	} keys[] = {{0x0a0d0dcbu, 1, 3}, {0x0a0d0d6fu, 2, 4}, {0x0a0d0150u, 2, 4}};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		uint8_t a[8], b[8];
		uint64_t nread = 0;
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		assert_int_equal(
			pyci_srchash_fd(h, keys[k].k0, keys[k].c, keys[k].d, fd, a, &nread), 0);
		assert_int_equal(nread, len);
		assert_int_equal(
			pyci_srchash_buf(h, keys[k].k0, keys[k].c, keys[k].d, data, len, b), 0);
		assert_memory_equal(a, b, 8);
	}
	/* from offset 1000 */
	uint8_t a[8], b[8];
	uint64_t nread = 0;
	assert_int_equal(lseek(fd, 1000, SEEK_SET), 1000);
	assert_int_equal(pyci_srchash_fd(h, 0x0a0d0dcbu, 1, 3, fd, a, &nread), 0);
	assert_int_equal(nread, len - 1000);
	assert_int_equal(pyci_srchash_buf(h, 0x0a0d0dcbu, 1, 3, data + 1000, len - 1000, b), 0);
	assert_memory_equal(a, b, 8);
	close(fd);
	free(data);
}

static void test_fd_error(void **state)
{
	pyci_hasher *h = *state;
	uint8_t out[8];
	/* a write-only descriptor cannot be read */
	char path[] = "/tmp/pyci-srchash-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	fd = open(path, O_WRONLY);
	unlink(path);
	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(pyci_srchash_fd(h, 0x0a0d0dcbu, 1, 3, fd, out, NULL), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
}

static void test_hasher_reuse(void **state)
{
	(void)state;
	/* a second hasher gives the same answers; free(NULL) is fine */
	pyci_hasher *h = pyci_hasher_new();
	assert_non_null(h);
	uint8_t out[8];
	char hex[17];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pyci_srchash_buf(h, 0x0a0d0da7u, 1, 3, "x = 1\n", 6, out), 0);
		hex8(out, hex);
		assert_string_equal(hex, "4c0372aa93f75252");
		assert_int_equal(pyci_srchash_buf(h, 0x0a0d0d42u, 2, 4, "", 0, out), 0);
		hex8(out, hex);
		assert_string_equal(hex, "85ee0caabd83b6a7");
	}
	pyci_hasher_free(h);
	pyci_hasher_free(NULL);
}

/* One SipHash from a new hasher, checked against its vector: OpenSSL still works. */
static void assert_hasher_works(void)
{
	pyci_hasher *h = pyci_hasher_new();
	assert_non_null(h);
	uint8_t out[8];
	char hex[17];
	assert_int_equal(pyci_srchash_buf(h, 0x0a0d0da7u, 1, 3, "x = 1\n", 6, out), 0);
	hex8(out, hex);
	assert_string_equal(hex, "4c0372aa93f75252");
	pyci_hasher_free(h);
}

static void test_hasher_out_of_memory(void **state)
{
	(void)state;
	assert_hasher_works(); /* OpenSSL's configuration and provider loaded, unarmed */

	/* every allocation fails: the fetch does (and reports the algorithm "unsupported" too) */
	failalloc_arm(0, 1);
	errno = 0;
	pyci_hasher *h = pyci_hasher_new();
	failalloc_disarm();
	assert_null(h);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(ERR_peek_error(), 0);

	/* each of OpenSSL's allocations alone: the MAC context, the provider's context, and any
	 * that OpenSSL works around */
	int failed = 0;
	long n;
	for (n = 0; n < 100; n++) {
		failalloc_arm(n, 0);
		errno = 0;
		h = pyci_hasher_new();
		failalloc_disarm();
		if (h) { /* OpenSSL may work around a failure (a fetch retried past its cache) */
			pyci_hasher_free(h);
			if (failalloc_count() <= n)
				break; /* there was no allocation n: all were tried */
			continue;
		}
		if (errno != ENOMEM)
			fail_msg("allocation %ld failed: errno %d (%s), not ENOMEM", n, errno,
				 strerror(errno));
		assert_int_equal(ERR_peek_error(), 0);
		failed++;
	}
	assert_true(n < 100);
	assert_true(failed >= 1);
	assert_hasher_works();
}

int main(void)
{
	/* before anything makes OpenSSL allocate */
	if (!failalloc_install()) {
		(void)fprintf(stderr,
			      "CRYPTO_set_mem_functions refused: OpenSSL allocated first\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),       cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_rounds_differ), cmocka_unit_test(test_fd_small),
		cmocka_unit_test(test_fd_large),      cmocka_unit_test(test_fd_error),
		cmocka_unit_test(test_hasher_reuse),  cmocka_unit_test(test_hasher_out_of_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
