/*
 * pool.c - ordered work pool (see pool.h).
 *
 * A ring of max_pending slots: [head, next) are running or done, [next, tail) wait for a
 * worker.  One mutex guards the ring; workers wait on `work`, the taker on `done`.  Jobs are
 * whole directories, so the lock is taken a few times per directory, not per cache.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct slot {
	void *job;
	int done;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct slot *ring;
	size_t cap, head, next, tail; /* monotonic counters; slot = counter % cap */
	int stopping;
	pool_run_fn run;
	void (*ctx_free)(void *);
	unsigned nthreads, nctx;
	pthread_t *threads;
	void **ctx; /* one per worker; ctx[0] is the inline one with 0 threads */
};

static void *worker(void *arg)
{
	void **self = arg;
	struct pool *p = self[0];
	void *ctx = self[1];
	free(self);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->next == p->tail && !p->stopping)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->next == p->tail)
			break;
		struct slot *s = &p->ring[p->next++ % p->cap];
		pthread_mutex_unlock(&p->lock);
		p->run(ctx, s->job);
		pthread_mutex_lock(&p->lock);
		s->done = 1;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pool *pool_new(unsigned threads, size_t max_pending, pool_run_fn run,
		      void *(*ctx_new)(void *arg), void (*ctx_free)(void *ctx), void *arg)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cap = max_pending ? max_pending : 1;
	p->run = run;
	p->ctx_free = ctx_free;
	unsigned nctx = threads ? threads : 1;
	p->nctx = nctx;
	p->ring = calloc(p->cap, sizeof(*p->ring));
	p->ctx = calloc(nctx, sizeof(*p->ctx));
	p->threads = threads ? calloc(threads, sizeof(*p->threads)) : NULL;
	if (!p->ring || !p->ctx || (threads && !p->threads))
		goto fail;
	for (unsigned i = 0; i < nctx; i++)
		if (!(p->ctx[i] = ctx_new(arg)))
			goto fail;
	if (pthread_mutex_init(&p->lock, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&p->work, NULL) != 0 || pthread_cond_init(&p->done, NULL) != 0) {
		errno = ENOMEM; /* leaks nothing that matters: fail below frees the rest */
		goto fail;
	}
	for (unsigned i = 0; i < threads; i++) {
		void **a = malloc(2 * sizeof(*a));
		if (!a)
			break;
		a[0] = p;
		a[1] = p->ctx[i];
		if (pthread_create(&p->threads[i], NULL, worker, a) != 0) {
			free(a);
			break;
		}
		p->nthreads++;
	}
	/* fewer threads than asked (EAGAIN) still works; none at all runs inline */
	return p;
fail:;
	int e = errno ? errno : ENOMEM;
	for (unsigned i = 0; p->ctx && i < nctx; i++)
		if (p->ctx[i])
			ctx_free(p->ctx[i]);
	free(p->ctx);
	free(p->threads);
	free(p->ring);
	free(p);
	errno = e;
	return NULL;
}

int pool_full(const struct pool *p)
{
	return p->tail - p->head >= p->cap;
}

int pool_submit(struct pool *p, void *job)
{
	if (pool_full(p)) {
		errno = EAGAIN;
		return -1;
	}
	if (p->nthreads == 0) {
		p->run(p->ctx[0], job);
		p->ring[p->tail % p->cap] = (struct slot){job, 1};
		p->tail++;
		p->next = p->tail;
		return 0;
	}
	pthread_mutex_lock(&p->lock);
	p->ring[p->tail % p->cap] = (struct slot){job, 0};
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void *pool_take(struct pool *p, int wait)
{
	if (p->nthreads == 0) {
		if (p->head == p->tail)
			return NULL;
		return p->ring[p->head++ % p->cap].job;
	}
	pthread_mutex_lock(&p->lock);
	void *job = NULL;
	while (p->head != p->tail) {
		struct slot *s = &p->ring[p->head % p->cap];
		if (s->done) {
			job = s->job;
			p->head++;
			break;
		}
		if (!wait)
			break;
		pthread_cond_wait(&p->done, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return job;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	if (p->nthreads) {
		pthread_mutex_lock(&p->lock);
		p->stopping = 1;
		pthread_cond_broadcast(&p->work);
		pthread_mutex_unlock(&p->lock);
		for (unsigned i = 0; i < p->nthreads; i++)
			pthread_join(p->threads[i], NULL);
	}
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	for (unsigned i = 0; i < p->nctx; i++)
		p->ctx_free(p->ctx[i]);
	free(p->ctx);
	free(p->threads);
	free(p->ring);
	free(p);
}
