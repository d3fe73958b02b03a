/*
 * failalloc.h - OpenSSL's allocations made to fail on demand, for the unit tests of what the
 * library reports when OpenSSL runs out of memory (test_srchash.c, test_sslerr.c).
 *
 * failalloc_install() must come first in main: OpenSSL takes other allocation functions
 * (CRYPTO_set_mem_functions) only before its own first allocation, and says so by returning 0.
 * The functions pass every call on to malloc, realloc and free until failalloc_arm(at, rest):
 * then the allocation numbered `at` (0 is the first one after arming) returns NULL, and with
 * `rest` every later one too, until failalloc_disarm().  failalloc_count() says how many were
 * asked for since arming, so a test can try each in turn and know when it has tried them all.
 *
 * Arm only after OpenSSL has loaded its configuration and default provider (thousands of
 * allocations, some of whose failures OpenSSL 3.0 itself does not survive): each test makes the
 * same call once unarmed first.  Counters are plain: for tests on one thread.
 */
#ifndef PYCI_TEST_FAILALLOC_H
#define PYCI_TEST_FAILALLOC_H

#include <stdlib.h>

#include <openssl/crypto.h>

static struct {
	int armed;
	int rest;
	long at;
	long count;
} failalloc_state;

static inline int failalloc_fails(void)
{
	if (!failalloc_state.armed)
		return 0;
	long n = failalloc_state.count++;
	return n == failalloc_state.at || (failalloc_state.rest && n > failalloc_state.at);
}

static inline void *failalloc_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return failalloc_fails() ? NULL : malloc(n);
}

static inline void *failalloc_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return failalloc_fails() ? NULL : realloc(p, n);
}

static inline void failalloc_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

/* 1 when OpenSSL took the functions, 0 when it had already allocated. */
static inline int failalloc_install(void)
{
	return CRYPTO_set_mem_functions(failalloc_malloc, failalloc_realloc, failalloc_free);
}

static inline void failalloc_arm(long at, int rest)
{
	failalloc_state.at = at;
	failalloc_state.rest = rest;
	failalloc_state.count = 0;
	failalloc_state.armed = 1;
}

static inline void failalloc_disarm(void)
{
	failalloc_state.armed = 0;
}

static inline long failalloc_count(void)
{
	return failalloc_state.count;
}

#endif
