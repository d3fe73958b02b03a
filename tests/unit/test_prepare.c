/*
 * test_prepare.c - unit tests for pyci_scan_ops.prepare (scan.h): per-cache work done on the
 * threads that judge, handed to ops->record.
 *
 * Over the caches in fixtures/: what prepare wrote for a cache reaches that cache's record,
 * with prepare's return value; records come in the same order with any number of threads;
 * under a budget of one byte some caches are left to ops->record (prepared NULL) and the
 * output is still complete; a prepare that declines (-1) leaves prepared NULL; with two threads
 * prepare runs on more than one thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pycinspect/scan.h"

struct run {
	pthread_mutex_t lock;
	pthread_t threads[16];
	size_t nthreads;        /* distinct threads prepare ran on */
	int decline_odd;        /* prepare returns -1 for every other call */
	size_t calls;
	size_t prepared, unprepared;
	char order[8192];       /* the records' paths, in order */
	size_t order_len;
};

static void expected(char *out, size_t size, const pyci_record *r)
{
	assert_true(snprintf(out, size, "P:%s|%s", r->path, pyci_status_name(r->verdict->status)) <
		    (int)size);
}

static int prepare(void *ctx, const pyci_record *r, pyci_buf *out)
{
	struct run *run = ctx;
	assert_null(r->prepared);
	pthread_mutex_lock(&run->lock);
	size_t call = run->calls++;
	pthread_t self = pthread_self();
	size_t i = 0;
	while (i < run->nthreads && !pthread_equal(run->threads[i], self))
		i++;
	if (i == run->nthreads && i < 16)
		run->threads[run->nthreads++] = self;
	pthread_mutex_unlock(&run->lock);
	if (run->decline_odd && call % 2)
		return -1;
	char want[1024];
	expected(want, sizeof(want), r);
	assert_int_equal(pyci_buf_puts(out, want), 0);
	return 7;
}

static int record(void *ctx, const pyci_record *r)
{
	struct run *run = ctx;
	if (r->prepared) {
		char want[1024];
		expected(want, sizeof(want), r);
		assert_int_equal(r->prepared->len, strlen(want));
		assert_memory_equal(r->prepared->data, want, r->prepared->len);
		assert_int_equal(r->prepared_rc, 7);
		run->prepared++;
	} else {
		run->unprepared++;
	}
	size_t n = strlen(r->path) + 1;
	assert_true(run->order_len + n < sizeof(run->order));
	memcpy(run->order + run->order_len, r->path, n);
	run->order_len += n;
	return 0;
}

static void scan(struct run *run, unsigned threads, size_t budget, int with_prepare)
{
	pyci_scan_options opt = {0};
	opt.check = PYCI_CHECK_DEFAULT;
	opt.threads = threads;
	opt.prepared_budget = budget;
	pyci_scan_ops ops = {record, NULL, NULL, run, with_prepare ? prepare : NULL};
	assert_int_equal(pyci_scan_path(FIXTURES_DIR, &opt, &ops), 0);
}

static void test_prepared_reaches_its_record(void **state)
{
	(void)state;
	struct run ref = {.lock = PTHREAD_MUTEX_INITIALIZER};
	scan(&ref, 1, 0, 0);
	assert_true(ref.unprepared >= 30);
	for (unsigned threads = 1; threads <= 4; threads++) {
		struct run run = {.lock = PTHREAD_MUTEX_INITIALIZER};
		scan(&run, threads, 0, 1);
		assert_int_equal(run.unprepared, 0);
		assert_int_equal(run.prepared, ref.unprepared);
		assert_int_equal(run.calls, run.prepared);
		assert_int_equal(run.order_len, ref.order_len);
		assert_memory_equal(run.order, ref.order, ref.order_len);
	}
}

static void test_budget_leaves_work_to_record(void **state)
{
	(void)state;
	struct run ref = {.lock = PTHREAD_MUTEX_INITIALIZER};
	scan(&ref, 1, 0, 0);
	for (unsigned threads = 1; threads <= 2; threads++) {
		struct run run = {.lock = PTHREAD_MUTEX_INITIALIZER};
		scan(&run, threads, 1, 1);
		assert_true(run.prepared > 0);
		assert_true(run.unprepared > 0);
		assert_int_equal(run.prepared + run.unprepared, ref.unprepared);
		assert_int_equal(run.calls, run.prepared); /* not called at all past the budget */
		assert_memory_equal(run.order, ref.order, ref.order_len);
	}
}

static void test_declined(void **state)
{
	(void)state;
	struct run run = {.lock = PTHREAD_MUTEX_INITIALIZER, .decline_odd = 1};
	scan(&run, 2, 0, 1);
	assert_int_equal(run.calls, run.prepared + run.unprepared);
	assert_int_equal(run.unprepared, run.calls / 2);
}

static void test_runs_on_several_threads(void **state)
{
	(void)state;
	/* one directory of fixtures/ is small work for a thread; repeat until both took some */
	size_t most = 0;
	for (int attempt = 0; attempt < 50 && most < 2; attempt++) {
		struct run run = {.lock = PTHREAD_MUTEX_INITIALIZER};
		scan(&run, 2, 0, 1);
		if (run.nthreads > most)
			most = run.nthreads;
	}
	assert_int_equal(most, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prepared_reaches_its_record),
		cmocka_unit_test(test_budget_leaves_work_to_record),
		cmocka_unit_test(test_declined),
		cmocka_unit_test(test_runs_on_several_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
