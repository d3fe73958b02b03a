/*
 * pool.h - an ordered work pool: jobs run on worker threads, come back in submission order.
 *
 * Internal to the library (not installed).  The scan engine hands it one job per directory;
 * workers do the per-cache I/O and verdicts, and the caller takes finished jobs back, oldest
 * first, to report them in the walk's order.  At most `max_pending` jobs are in flight, which
 * bounds memory and the descriptors jobs hold.  With 0 threads every job runs inside
 * pool_submit, on the caller's thread: the same code path, nothing concurrent.
 */
#ifndef PYCI_POOL_H
#define PYCI_POOL_H

#include <stddef.h>

struct pool;

/* Run one job with a worker's private context. */
typedef void (*pool_run_fn)(void *worker_ctx, void *job);

/*
 * A pool of `threads` workers (0: inline), each with a context from ctx_new(arg) (freed with
 * ctx_free).  Returns NULL with errno on failure.
 */
struct pool *pool_new(unsigned threads, size_t max_pending, pool_run_fn run,
		      void *(*ctx_new)(void *arg), void (*ctx_free)(void *ctx), void *arg);

/* 1 when max_pending jobs are in flight: take one back before submitting another. */
int pool_full(const struct pool *p);

/* Queue a job (the caller has checked pool_full).  0, or -1 with errno. */
int pool_submit(struct pool *p, void *job);

/*
 * The oldest job if it has finished (waiting for it when `wait`), removed from the pool; NULL
 * when nothing is in flight, or when the oldest is still running and !wait.
 */
void *pool_take(struct pool *p, int wait);

/* Stop the workers and free the pool.  Every submitted job must have been taken back. */
void pool_free(struct pool *p);

#endif
