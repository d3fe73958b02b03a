/*
 * closer.c - close descriptors on a helper thread (closer.h).
 *
 * A ring of waiting descriptors under one mutex; the thread sleeps on a condition variable
 * until it is signalled, takes everything in the ring, and closes outside the lock.  The
 * caller signals when a quarter of the ring is waiting (one descriptor for rings under 8), so
 * the thread wakes once per batch; what waits below that is closed at the next batch or by
 * closer_free.
 */
#include "closer.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct closer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	size_t cap, head, len; /* ring of cap slots; len waiting from head */
	size_t wake_at;        /* the thread is woken when this many wait: a wake-up and two
				* context switches per descriptor cost more than its close */
	size_t busy;           /* taken by the thread, not closed yet: they count against cap */
	int fds[];
};

static void *closer_main(void *arg)
{
	struct closer *c = arg;
	int batch[64];
	(void)pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->len == 0 && !c->stopping)
			(void)pthread_cond_wait(&c->cv, &c->mu);
		if (c->len == 0)
			break; /* stopping, and nothing left */
		size_t n = 0;
		while (c->len && n < sizeof(batch) / sizeof(batch[0])) {
			batch[n++] = c->fds[c->head];
			c->head = (c->head + 1) % c->cap;
			c->len--;
		}
		c->busy = n;
		(void)pthread_mutex_unlock(&c->mu);
		for (size_t i = 0; i < n; i++)
			(void)close(
				batch[i]); /* nothing to do about a failed close of a directory */
		(void)pthread_mutex_lock(&c->mu);
		c->busy = 0;
	}
	(void)pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct closer *closer_new(size_t cap)
{
	if (cap == 0)
		return NULL;
	struct closer *c = calloc(1, sizeof(*c) + cap * sizeof(int));
	if (!c)
		return NULL;
	c->cap = cap;
	c->wake_at = cap >= 8 ? cap / 4 : 1;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	if (pthread_cond_init(&c->cv, NULL) != 0) {
		(void)pthread_mutex_destroy(&c->mu);
		free(c);
		return NULL;
	}
	if (pthread_create(&c->thread, NULL, closer_main, c) != 0) {
		(void)pthread_cond_destroy(&c->cv);
		(void)pthread_mutex_destroy(&c->mu);
		free(c);
		return NULL;
	}
	return c;
}

void closer_close(struct closer *c, int fd)
{
	if (fd < 0)
		return;
	if (c) {
		(void)pthread_mutex_lock(&c->mu);
		if (c->len + c->busy < c->cap) {
			c->fds[(c->head + c->len) % c->cap] = fd;
			if (++c->len == c->wake_at)
				(void)pthread_cond_signal(&c->cv);
			(void)pthread_mutex_unlock(&c->mu);
			return;
		}
		(void)pthread_mutex_unlock(&c->mu);
	}
	(void)close(fd); /* no closer, or it is full: here */
}

void closer_free(struct closer *c)
{
	if (!c)
		return;
	(void)pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	(void)pthread_cond_signal(&c->cv);
	(void)pthread_mutex_unlock(&c->mu);
	(void)pthread_join(c->thread, NULL);
	(void)pthread_cond_destroy(&c->cv);
	(void)pthread_mutex_destroy(&c->mu);
	free(c);
}
