/*
 * progress.c - the line on stderr that shows a long run is alive: directories listed, caches
 * judged, their bytes, the rate, and the top-level directory being walked, updated in place
 * and erased when the walk ends.
 *
 * The engine counts (pyci_scan_progress: relaxed atomic additions, nothing else); a thread of
 * ours wakes every PROGRESS_TICK_MS, reads the counters and redraws the line, from
 * PROGRESS_DELAY_MS after the start on, so that a run that ends in time never shows one.  The
 * thread costs the walk nothing but those additions: it never takes a lock the walk's threads
 * take.  The calling thread takes our lock only to write (progress_hold): the line is erased
 * first, so that a diagnostic on stderr, or a record on stdout when stdout is the same terminal,
 * starts at the left margin and is not overwritten; the next tick draws the line again below
 * it.  What the line says of the top-level directory comes from the records, on the calling
 * thread (progress_top).
 *
 * The line is drawn only when stderr is a terminal that takes "\r" and ESC [K (TERM set and not
 * "dumb"); the commands leave it out under --json and --no-progress.  The environment variable
 * PYCI_PROGRESS_DELAY_MS replaces the half second: a test hook (0 draws at once), documented as
 * such in docs/output.md.  The state is the process's, as a run's output is.
 */
#include "progress.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PROGRESS_DELAY_MS 500
#define PROGRESS_TICK_MS 125
#define TOP_MAX 1024 /* bytes of the top-level directory kept (more is cut) */

static struct {
	int active; /* set and read by the calling thread only */
	int hold_stdout;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* under lock: */
	int stopping;
	int drawn;
	char top[TOP_MAX];
	size_t top_len;
	/* set before the thread starts, then read-only: */
	const pyci_scan_progress *counters;
	struct timespec start;
	long delay_ms;
	const char *root;
	size_t root_len;
} pg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void erase_locked(void)
{
	if (pg.drawn)
		(void)cli_write_all(STDERR_FILENO, "\r\033[K", 4); /* a failure: a line missing */
	pg.drawn = 0;
}

/* The screen columns of the first n bytes of s: UTF-8 lead bytes (a quoted path holds no
 * control character; a wide character is counted as one column). */
static size_t cut_to_columns(const char *s, size_t n, size_t cols)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue;
		if (c++ == cols)
			return i;
	}
	return n;
}

/* Under lock: the line as the counters have it now. */
static void draw_locked(const struct timespec *now)
{
	unsigned long long dirs = atomic_load_explicit(&pg.counters->dirs, memory_order_relaxed);
	unsigned long long caches =
		atomic_load_explicit(&pg.counters->caches, memory_order_relaxed);
	unsigned long long bytes = atomic_load_explicit(&pg.counters->bytes, memory_order_relaxed);
	double secs = (double)(now->tv_sec - pg.start.tv_sec) +
		      (double)(now->tv_nsec - pg.start.tv_nsec) / 1e9;
	unsigned long long rate = secs > 0.05 ? (unsigned long long)((double)caches / secs) : 0;
	pyci_buf b = PYCI_BUF_INIT;
	int rc = pyci_buf_puts(&b, "\r\033[K");
	rc |= pyci_buf_printf(&b, "%llu %s, %llu %s, ", dirs,
			      dirs == 1 ? "directory" : "directories", caches,
			      caches == 1 ? "cache" : "caches");
	rc |= cli_human_bytes(&b, bytes);
	rc |= pyci_buf_printf(&b, ", %llu caches/s", rate);
	if (pg.top_len) {
		rc |= pyci_buf_puts(&b, ", in ");
		rc |= cli_quote_path(&b, pg.top, pg.top_len);
	}
	if (rc == 0) {
		struct winsize ws;
		size_t cols =
			ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
		/* one column short of the width: a full row would wrap, and "\r" not reach it */
		size_t n = 4 + cut_to_columns(b.data + 4, b.len - 4, cols - 1);
		(void)cli_write_all(STDERR_FILENO, b.data, n);
		pg.drawn = 1;
	}
	pyci_buf_free(&b);
}

static void *run(void *arg)
{
	(void)arg;
	struct timespec next = pg.start;
	add_ms(&next, pg.delay_ms);
	if (pthread_mutex_lock(&pg.lock) != 0)
		return NULL;
	while (!pg.stopping) {
		int rc = pthread_cond_timedwait(&pg.wake, &pg.lock, &next);
		if (pg.stopping)
			break;
		struct timespec now;
		if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
			break;
		if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
			break;
		if (before(&now, &next))
			continue; /* woken early, spuriously */
		draw_locked(&now);
		next = now;
		add_ms(&next, PROGRESS_TICK_MS);
	}
	erase_locked();
	(void)pthread_mutex_unlock(&pg.lock);
	return NULL;
}

/* Whether stderr is a terminal that takes "\r" and ESC [K. */
static int terminal(void)
{
	const char *term = getenv("TERM");
	return isatty(STDERR_FILENO) && term && *term && strcmp(term, "dumb") != 0;
}

int progress_start(const pyci_scan_progress *counters)
{
	if (pg.active || !terminal())
		return 0;
	const char *d = getenv("PYCI_PROGRESS_DELAY_MS");
	char *end;
	long delay = d && *d ? strtol(d, &end, 10) : PROGRESS_DELAY_MS;
	if (!d || !*d || *end || delay < 0 || delay > 3600000)
		delay = PROGRESS_DELAY_MS;
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&pg.wake, &ca);
	(void)pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -1;
	pg.counters = counters;
	pg.delay_ms = delay;
	pg.stopping = 0;
	pg.drawn = 0;
	pg.top_len = 0;
	pg.hold_stdout = isatty(STDOUT_FILENO);
	if (clock_gettime(CLOCK_MONOTONIC, &pg.start) != 0) {
		(void)pthread_cond_destroy(&pg.wake);
		return -1;
	}
	/* signals stay the calling thread's (clean's SIGINT handler, EINTR in its system calls) */
	sigset_t all, old;
	(void)sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0) {
		(void)pthread_cond_destroy(&pg.wake);
		return -1;
	}
	rc = pthread_create(&pg.thread, NULL, run, NULL);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		(void)pthread_cond_destroy(&pg.wake);
		return -1;
	}
	pg.active = 1;
	return 0;
}

void progress_root(const char *root)
{
	if (!pg.active)
		return;
	if (pthread_mutex_lock(&pg.lock) != 0)
		return;
	pg.root = root;
	pg.root_len = root ? strlen(root) : 0;
	pg.top_len = 0;
	(void)pthread_mutex_unlock(&pg.lock);
}

void progress_top(const char *path, size_t len)
{
	if (!pg.active || !pg.root || len <= pg.root_len || memcmp(path, pg.root, pg.root_len) != 0)
		return;
	size_t i = pg.root_len;
	while (i < len && path[i] == '/')
		i++;
	const char *slash = memchr(path + i, '/', len - i);
	if (!slash)
		return; /* a cache of the root itself */
	size_t n = (size_t)(slash - path);
	if (n > TOP_MAX)
		n = TOP_MAX;
	/* only this thread writes top: reading it here needs no lock */
	if (n == pg.top_len && memcmp(pg.top, path, n) == 0)
		return;
	if (pthread_mutex_lock(&pg.lock) != 0)
		return;
	memcpy(pg.top, path, n);
	pg.top_len = n;
	(void)pthread_mutex_unlock(&pg.lock);
}

void progress_stop(void)
{
	if (!pg.active)
		return;
	if (pthread_mutex_lock(&pg.lock) == 0) {
		pg.stopping = 1;
		(void)pthread_cond_signal(&pg.wake);
		(void)pthread_mutex_unlock(&pg.lock);
	}
	(void)pthread_join(pg.thread, NULL);
	(void)pthread_cond_destroy(&pg.wake);
	pg.active = 0;
}

int progress_hold(int fd)
{
	if (!pg.active || (fd == STDOUT_FILENO && !pg.hold_stdout))
		return 0;
	if (pthread_mutex_lock(&pg.lock) != 0)
		return 0;
	erase_locked();
	return 1;
}

void progress_release(int held)
{
	if (held)
		(void)pthread_mutex_unlock(&pg.lock);
}
