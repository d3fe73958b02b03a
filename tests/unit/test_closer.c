/*
 * test_closer.c - unit tests for closer.h (internal): closing descriptors on a helper thread.
 *
 * Every descriptor handed over is closed by the time closer_free returns, whether it went
 * through the queue or was closed inline (queue full, no closer); at most `cap` wait at any
 * time; NULL and cap 0 mean inline.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/closer.h"

#define N 300

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static int open_count(const int *fds, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += is_open(fds[i]);
	return k;
}

/* n descriptors of /dev/null */
static void open_many(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
}

static void test_all_closed_at_free(void **state)
{
	(void)state;
	int fds[N];
	open_many(fds, N);
	struct closer *c = closer_new(8);
	assert_non_null(c);
	for (int i = 0; i < N; i++) {
		closer_close(c, fds[i]);
		/* bounded: what was handed over and is still open never exceeds the queue */
		assert_true(open_count(fds, i + 1) <= 8);
	}
	closer_free(c);
	assert_int_equal(open_count(fds, N), 0);
}

static void test_inline_without_closer(void **state)
{
	(void)state;
	int fds[4];
	open_many(fds, 4);
	assert_null(closer_new(0));
	closer_close(NULL, fds[0]);
	assert_false(is_open(fds[0]));
	closer_close(NULL, -1); /* ignored */
	closer_free(NULL);
	for (int i = 1; i < 4; i++)
		assert_int_equal(close(fds[i]), 0);
}

static void test_free_right_away(void **state)
{
	(void)state;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct closer *c = closer_new(1);
	assert_non_null(c);
	closer_close(c, fd);
	closer_free(c); /* the thread may not have run yet: free still closes it */
	assert_false(is_open(fd));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_closed_at_free),
		cmocka_unit_test(test_inline_without_closer),
		cmocka_unit_test(test_free_right_away),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
