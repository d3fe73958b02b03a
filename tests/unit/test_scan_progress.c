/*
 * test_scan_progress.c - unit tests for pyci_scan_options.progress (scan.h): the counters a
 * caller watches while a scan runs.
 *
 * Over a tree made here (four directories, each with a __pycache__ of caches of known sizes):
 * after the scan, caches and bytes are what ops->record was given (counted by the test itself
 * in the callback, and known from the files written), and dirs is the number of directories
 * listed, __pycache__ not counted apart; the same with one thread and with four; a second scan
 * adds to the same counters.
 */
#include <errno.h>
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

#include "pycinspect/scan.h"

static const char *const dirs[] = {"", "/a", "/a/b", "/c"};
#define NDIRS 4
#define PER_DIR 3

struct seen {
	unsigned long long records, bytes;
};

static int record(void *ctx, const pyci_record *r)
{
	struct seen *s = ctx;
	s->records++;
	s->bytes += r->have_file ? r->file.size : 0;
	return 0;
}

static void put(const char *path, size_t size)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < size; i++)
		assert_int_not_equal(fputc('x', f), EOF);
	assert_int_equal(fclose(f), 0);
}

/* The tree under a new temporary directory; *bytes gets the caches' total size. */
static char *make_tree(unsigned long long *bytes)
{
	char *root = strdup("/tmp/pyci-progress-XXXXXX");
	assert_non_null(root);
	assert_non_null(mkdtemp(root));
	*bytes = 0;
	char p[512];
	for (int d = 0; d < NDIRS; d++) {
		(void)snprintf(p, sizeof(p), "%s%s", root, dirs[d]);
		if (d)
			assert_int_equal(mkdir(p, 0755), 0);
		(void)snprintf(p, sizeof(p), "%s%s/__pycache__", root, dirs[d]);
		assert_int_equal(mkdir(p, 0755), 0);
		for (int i = 0; i < PER_DIR; i++) {
			(void)snprintf(p, sizeof(p), "%s%s/m%d.py", root, dirs[d], i);
			put(p, 6);
			(void)snprintf(p, sizeof(p), "%s%s/__pycache__/m%d.cpython-312.pyc", root,
				       dirs[d], i);
			size_t size = 20 + (size_t)(7 * d + i); /* a header's worth, and more */
			put(p, size);
			*bytes += size;
		}
	}
	return root;
}

static void remove_tree(char *root)
{
	char cmd[600];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	free(root);
}

static void test_counts(void **state)
{
	(void)state;
	unsigned long long bytes;
	char *root = make_tree(&bytes);
	for (unsigned threads = 1; threads <= 4; threads += 3) {
		pyci_scan_progress p;
		atomic_init(&p.dirs, 0);
		atomic_init(&p.caches, 0);
		atomic_init(&p.bytes, 0);
		pyci_scan_options opt = {0};
		opt.threads = threads;
		opt.progress = &p;
		struct seen s = {0};
		pyci_scan_ops ops = {.record = record, .ctx = &s};
		assert_int_equal(pyci_scan_path(root, &opt, &ops), 0);
		assert_int_equal(s.records, NDIRS * PER_DIR);
		assert_int_equal(s.bytes, bytes);
		assert_int_equal(atomic_load(&p.caches), s.records);
		assert_int_equal(atomic_load(&p.bytes), bytes);
		assert_int_equal(atomic_load(&p.dirs), NDIRS);
		/* a second scan adds to them */
		assert_int_equal(pyci_scan_path(root, &opt, &ops), 0);
		assert_int_equal(atomic_load(&p.caches), 2 * NDIRS * PER_DIR);
		assert_int_equal(atomic_load(&p.bytes), 2 * bytes);
		assert_int_equal(atomic_load(&p.dirs), 2 * NDIRS);
	}
	remove_tree(root);
}

static void test_record_helper(void **state)
{
	(void)state;
	pyci_scan_progress p;
	atomic_init(&p.dirs, 0);
	atomic_init(&p.caches, 0);
	atomic_init(&p.bytes, 0);
	pyci_record r = {0};
	pyci_scan_progress_record(&p, &r); /* no file: counted, no bytes */
	r.have_file = 1;
	r.file.size = 1234;
	pyci_scan_progress_record(&p, &r);
	pyci_scan_progress_record(NULL, &r); /* nothing to count into */
	assert_int_equal(atomic_load(&p.caches), 2);
	assert_int_equal(atomic_load(&p.bytes), 1234);
	assert_int_equal(atomic_load(&p.dirs), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_record_helper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
