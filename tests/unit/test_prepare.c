/*
 * test_prepare.c - unit tests for pyci_scan_ops.prepare (scan.h): per-cache work done on the
 * threads that judge, handed to ops->record.
 *
 * Over the caches in fixtures/: what prepare wrote for a cache reaches that cache's record,
 * with prepare's return value; records come in the same order with any number of threads;
 * under a budget of one byte some caches are left to ops->record (prepared NULL) and the
 * output is still complete; a prepare that declines (-1) leaves prepared NULL; with two threads
 * and several directories ready, prepare runs on both (a rendezvous in prepare makes this
 * independent of scheduling).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/scan.h"

struct run {
	pthread_mutex_t lock;
	pthread_t threads[16];
	size_t nthreads;       /* distinct threads prepare ran on */
	pthread_cond_t joined; /* signalled when a new thread calls prepare */
	int rendezvous;        /* prepare waits (up to 5 s) until two threads have called it */
	int decline_odd;       /* prepare returns -1 for every other call */
	size_t calls;
	size_t prepared, unprepared;
	char order[8192]; /* the records' paths, in order */
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
	if (i == run->nthreads && i < 16) {
		run->threads[run->nthreads++] = self;
		if (run->rendezvous)
			pthread_cond_broadcast(&run->joined);
	}
	if (run->rendezvous && run->nthreads < 2) {
		/* hold this cache until another thread prepares one: with two threads and other
		 * directories ready, the engine must give one to the other thread meanwhile */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		while (run->nthreads < 2)
			if (pthread_cond_timedwait(&run->joined, &run->lock, &until) == ETIMEDOUT) {
				run->rendezvous = 0; /* no second thread came: fail, but soon */
				break;
			}
	}
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

static void scan_path(const char *path, struct run *run, unsigned threads, size_t budget,
		      int with_prepare)
{
	pyci_scan_options opt = {0};
	opt.check = PYCI_CHECK_DEFAULT;
	opt.threads = threads;
	opt.prepared_budget = budget;
	pyci_scan_ops ops = {record, NULL, NULL, run, with_prepare ? prepare : NULL, NULL, NULL};
	assert_int_equal(pyci_scan_path(path, &opt, &ops), 0);
}

static void scan(struct run *run, unsigned threads, size_t budget, int with_prepare)
{
	scan_path(FIXTURES_DIR, run, threads, budget, with_prepare);
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

/* Copy fixtures/tree/mod27.pyc (a legacy cache) into dir/name. */
static void put_cache(const char *dir, const char *name)
{
	char path[4096];
	assert_true(snprintf(path, sizeof(path), "%s/tree/mod27.pyc", FIXTURES_DIR) <
		    (int)sizeof(path));
	FILE *in = fopen(path, "rb");
	assert_non_null(in);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf), in);
	assert_int_equal(fclose(in), 0);
	assert_true(n > 16);
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(fclose(out), 0);
}

static void test_runs_on_several_threads(void **state)
{
	(void)state;
	/* eight sibling directories of caches: while one thread holds a cache in prepare (the
	 * rendezvous), the engine has seven more directories to give the other thread, so the
	 * result does not depend on how the scheduler happens to run them */
	char root[] = "/tmp/pyci-prepare-XXXXXX";
	assert_non_null(mkdtemp(root));
	char dir[4096];
	for (int d = 0; d < 8; d++) {
		assert_true(snprintf(dir, sizeof(dir), "%s/d%d", root, d) < (int)sizeof(dir));
		assert_int_equal(mkdir(dir, 0755), 0);
		put_cache(dir, "a.pyc");
		put_cache(dir, "b.pyc");
	}
	struct run run = {.lock = PTHREAD_MUTEX_INITIALIZER,
			  .joined = PTHREAD_COND_INITIALIZER,
			  .rendezvous = 1};
	scan_path(root, &run, 2, 0, 1);
	assert_int_equal(run.nthreads, 2);
	assert_int_equal(run.prepared, 16);
	for (int d = 0; d < 8; d++) {
		for (int f = 0; f < 2; f++) {
			assert_true(snprintf(dir, sizeof(dir), "%s/d%d/%c.pyc", root, d, "ab"[f]) <
				    (int)sizeof(dir));
			assert_int_equal(unlink(dir), 0);
		}
		assert_true(snprintf(dir, sizeof(dir), "%s/d%d", root, d) < (int)sizeof(dir));
		assert_int_equal(rmdir(dir), 0);
	}
	assert_int_equal(rmdir(root), 0);
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
