/*
 * test_sslerr.c - unit tests for sslerr.h: what the library reports when OpenSSL cannot
 * allocate, where scan and dump use it.
 *
 * OpenSSL's allocations are made to fail with failalloc.h, over a tree holding one checked-hash
 * cache of CPython 3.12 and its source.  scan hashes that source through a hasher it creates on
 * first use: when OpenSSL cannot allocate one, the verdict keeps ENOMEM as its source_errno (it
 * was ENOSYS, "Function not implemented").  dump reads the cache through SHA-256: failing each
 * of OpenSSL's allocations in turn, its read_error is "Cannot allocate memory" whenever the
 * file could not be hashed (it was "Input/output error" when EVP_DigestInit_ex could not
 * allocate).  After every failure OpenSSL's error queue is empty, and OpenSSL works again.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>

#include "failalloc.h"
#include "pycinspect/dump.h"
#include "pycinspect/scan.h"

struct tree {
	char dir[64];
	char py[96], pycache[96], pyc[128];
};

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	return close(fd) == 0 ? rc : -1;
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	strcpy(t->dir, "/tmp/pyci-sslerr-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	(void)snprintf(t->py, sizeof(t->py), "%s/m.py", t->dir);
	(void)snprintf(t->pycache, sizeof(t->pycache), "%s/__pycache__", t->dir);
	(void)snprintf(t->pyc, sizeof(t->pyc), "%s/m.cpython-312.pyc", t->pycache);
	*state = t;
	/* CPython 3.12's magic, flags 3 (checked hash), a hash of zeros, a code object's type */
	unsigned char pyc[80] = {0xcb, 0x0d, 0x0d, 0x0a, 3, 0, 0, 0};
	pyc[16] = 0xe3;
	if (write_file(t->py, "x = 1\n", 6) != 0 || mkdir(t->pycache, 0755) != 0 ||
	    write_file(t->pyc, pyc, sizeof(pyc)) != 0)
		return -1; /* teardown removes what was made */
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	(void)unlink(t->pyc);
	(void)rmdir(t->pycache);
	(void)unlink(t->py);
	(void)rmdir(t->dir);
	free(t);
	return 0;
}

/* What a scan saw of the one cache, and its dump when asked for. */
struct seen {
	int records;
	pyci_status status;
	uint64_t reasons;
	int source_errno;
	int dump; /* make the dump, with failalloc armed at `at` */
	long at;
	long allocations; /* OpenSSL's allocations during the dump */
	int dump_rc;
	pyci_buf json;
};

static int on_record(void *ctx, const pyci_record *r)
{
	struct seen *s = ctx;
	s->records++;
	s->status = r->verdict->status;
	s->reasons = r->verdict->reasons;
	s->source_errno = r->verdict->source_errno;
	if (s->dump) {
		pyci_dump_options opt = {0};
		pyci_buf_clear(&s->json);
		failalloc_arm(s->at, 0);
		s->dump_rc = pyci_dump_json(&s->json, r, &opt);
		failalloc_disarm();
		s->allocations = failalloc_count();
	}
	return 0;
}

static void scan(const struct tree *t, struct seen *s)
{
	pyci_scan_options opt = {0};
	opt.check = PYCI_CHECK_DEFAULT;
	opt.threads = 1; /* on this thread: failalloc's counters are plain */
	pyci_scan_ops ops = {on_record, NULL, NULL, s, NULL, NULL, NULL};
	assert_int_equal(pyci_scan_path(t->dir, &opt, &ops), 0);
	assert_int_equal(s->records, 1);
}

static void test_scan_hasher_out_of_memory(void **state)
{
	struct tree *t = *state;
	struct seen ok = {0};
	scan(t, &ok); /* unarmed: OpenSSL loaded, and the premise */
	assert_int_equal(ok.status, PYCI_STALE);
	assert_true(ok.reasons & PYCI_REASON_BIT(PYCI_R_HASH_MISMATCH));

	struct seen s = {0};
	failalloc_arm(0, 1);
	scan(t, &s);
	failalloc_disarm();
	assert_int_equal(s.status, PYCI_INVALID);
	assert_true(s.reasons & PYCI_REASON_BIT(PYCI_R_SOURCE_UNREADABLE));
	assert_int_equal(s.source_errno, ENOMEM);
	assert_int_equal(ERR_peek_error(), 0);

	struct seen again = {0};
	scan(t, &again);
	assert_int_equal(again.status, PYCI_STALE);
}

/* The value of "read_error" in a dump object: NULL when absent or null. */
static char *read_error(const pyci_buf *json)
{
	const char *p = strstr(json->data, "\"read_error\":\"");
	if (!p)
		return NULL;
	p += strlen("\"read_error\":\"");
	const char *end = strchr(p, '"');
	assert_non_null(end);
	return strndup(p, (size_t)(end - p));
}

static void test_dump_out_of_memory(void **state)
{
	struct tree *t = *state;
	struct seen ok = {.dump = 1, .at = -1, .json = PYCI_BUF_INIT};
	scan(t, &ok); /* unarmed (no allocation -1): hashed (its code does not decode: rc 1) */
	assert_null(read_error(&ok.json));
	assert_non_null(strstr(ok.json.data, "\"sha256\":\""));
	pyci_buf_free(&ok.json);

	int nomem = 0;
	long n;
	for (n = 0; n < 200; n++) {
		struct seen s = {.dump = 1, .at = n, .json = PYCI_BUF_INIT};
		scan(t, &s);
		assert_int_equal(ERR_peek_error(), 0);
		char *err = read_error(&s.json);
		if (err) {
			if (strcmp(err, strerror(ENOMEM)) != 0)
				fail_msg("allocation %ld failed: read_error \"%s\"", n, err);
			assert_int_equal(s.dump_rc, 1);
			nomem++;
		}
		free(err);
		pyci_buf_free(&s.json);
		if (s.allocations <= n)
			break; /* there was no allocation n: all were tried */
	}
	assert_true(n < 200);
	assert_true(nomem >= 2); /* the digest's context, and what EVP_DigestInit_ex allocates */
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
		cmocka_unit_test(test_scan_hasher_out_of_memory),
		cmocka_unit_test(test_dump_out_of_memory),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
