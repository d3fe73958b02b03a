/*
 * pwalk.c - the parallel, ordered directory walk described in pwalk.h.
 *
 * A node stands for one directory.  Once its parent's task has listed the parent, it waits in
 * the ready heap, ordered by its place in the walk (the indexes of it and its ancestors among
 * their siblings): a worker always takes the first directory in walk order not yet started, so
 * the threads work where the emission is and few results wait.  A worker opens it from
 * its parent's descriptor, lists it and its __pycache__ (a node of its own, opened by the same
 * task, parent of the __pycache__'s subdirectories), visits them and makes nodes for the
 * subdirectories.  The calling thread emits: it keeps its own stack in walk order, waits for the
 * node on top to be done and hands its result to ops->emit.  While it waits it works like any
 * worker: it runs that node if no worker has started it, else the next task in walk order.  A
 * thread with no task to take asks ops->help for work a visit offered to share (one directory
 * can hold most of a tree's work) before it sleeps.
 *
 * One mutex guards the ready heap, the counters and every node's state, descriptor and
 * references; the system calls and the visits run outside it.  A node lives while it is to be
 * emitted and while any child lives; a descriptor closes once its node was emitted and every
 * child's open was tried.  Every live node is also on one list, so that a walk stopped halfway
 * frees all of them.
 */
#define _GNU_SOURCE
#include "pwalk.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "closer.h"
#include "dirio.h"
#include "readopen.h"

enum { PW_READY, PW_RUNNING, PW_DONE, PW_DEEP };

struct pw_node {
	struct pw_node *parent; /* the directory it is opened from */
	char *path;             /* display path */
	size_t path_len;
	const char *name; /* its name in parent: the end of path */
	int depth;
	int state;
	int fd;         /* -1: not open (yet, or any more) */
	size_t pending; /* children whose open was not tried yet */
	int emitted;    /* its descriptor is no longer needed for emit */
	unsigned refs;  /* 1 until emitted, + 1 per live child */
	size_t slot;    /* index in the ready heap while PW_READY */
	uint32_t *key;  /* its place in the walk: index among siblings, per level */
	int keylen;
	void *result;
	int err; /* it could not be walked: errno, and how */
	pyci_walk_err kind;
	const void *scope;     /* inherited from its parent, then as its visit left it (a
				* __pycache__'s node has none: its subdirectories get its
				* parent's) */
	struct pw_node *pc;    /* its __pycache__, or NULL */
	struct pw_node **kids; /* subdirectories in emission order, once done */
	size_t nkids;
	struct pw_node *all_prev, *all_next;
};

struct pwalk {
	const pwalk_options *opt;
	const pwalk_ops *ops;
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct pw_node **ready; /* the ready heap, first in walk order on top */
	size_t ready_len, ready_cap;
	unsigned inflight;       /* nodes running, or done and not yet emitted */
	struct pw_node *awaited; /* the node the calling thread waits for */
	unsigned long events;    /* nodes published or emitted, wakes, stops: a thread
				  * that let go of the lock sleeps only if none came */
	int stopping;
	int fatal;                   /* errno of a visit that failed fatally, 0 if none */
	struct pw_node *all;         /* every live node */
	uint64_t root_dev, root_mnt; /* for the mount rule without openat2 */
	struct closer *closer;       /* for the calling thread's closes (defer_close) */
};

/* What a thread needs to run tasks: its visitor context and its own listing buffers. */
struct pw_thread {
	struct pwalk *pw;
	void *wctx;
	dirio_opener opener;
	dirio_listing list, pc_list;
	int emitter; /* the calling thread */
};

/* ---- nodes -------------------------------------------------------------------------------- */

/* Room in the node array *v (of *cap) for `need` entries in all.  0, or -1 (ENOMEM). */
static int reserve_nodes(struct pw_node ***v, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	struct pw_node **r = realloc(*v, c * sizeof(struct pw_node *));
	if (!r)
		return -1;
	*v = r;
	*cap = c;
	return 0;
}

/*
 * A node for `name` below parent (not yet linked or counted), the index-th subdirectory of `up`
 * in walk order (up is parent, or for a __pycache__'s subdirectory, the __pycache__'s parent);
 * up NULL: no place in the walk (a __pycache__ itself).  NULL on ENOMEM.
 */
static struct pw_node *node_new(const struct pw_node *parent, const char *name, size_t len,
				const struct pw_node *up, size_t index)
{
	struct pw_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (up) {
		n->keylen = up->keylen + 1;
		n->key = malloc((size_t)n->keylen * sizeof(*n->key));
		if (!n->key) {
			free(n);
			return NULL;
		}
		if (up->keylen)
			memcpy(n->key, up->key, (size_t)up->keylen * sizeof(*n->key));
		n->key[up->keylen] = (uint32_t)index;
	}
	const char *pp = parent->path;
	size_t plen = parent->path_len;
	int slash = plen > 0 && pp[plen - 1] != '/';
	n->path_len = plen + (size_t)slash + len;
	n->path = malloc(n->path_len + 1);
	if (!n->path) {
		free(n->key);
		free(n);
		return NULL;
	}
	memcpy(n->path, pp, plen);
	if (slash)
		n->path[plen] = '/';
	memcpy(n->path + plen + slash, name, len);
	n->path[n->path_len] = '\0';
	n->name = n->path + plen + slash;
	n->depth = parent->depth + 1;
	n->fd = -1;
	n->refs = 1;
	return n;
}

static void node_free_unlinked(struct pwalk *pw, struct pw_node *n)
{
	if (n->result && pw->ops->discard)
		pw->ops->discard(n->result);
	if (n->fd >= 0)
		close(n->fd);
	free(n->kids);
	free(n->key);
	free(n->path);
	free(n);
}

/* Under the lock: put n on the list of live nodes and take a reference on its parent. */
static void node_link(struct pwalk *pw, struct pw_node *n, struct pw_node *parent)
{
	n->parent = parent;
	if (parent)
		parent->refs++;
	n->all_prev = NULL;
	n->all_next = pw->all;
	if (pw->all)
		pw->all->all_prev = n;
	pw->all = n;
}

/* Under the lock: drop a reference; free nodes nobody needs, up the tree. */
static void node_unref(struct pwalk *pw, struct pw_node *n)
{
	while (n && --n->refs == 0) {
		struct pw_node *parent = n->parent;
		if (n->all_prev)
			n->all_prev->all_next = n->all_next;
		else
			pw->all = n->all_next;
		if (n->all_next)
			n->all_next->all_prev = n->all_prev;
		node_free_unlinked(pw, n);
		n = parent;
	}
}

/* Under the lock: n's descriptor if it may be closed now (then taken from n), else -1. */
static int node_release_fd(struct pw_node *n)
{
	if (!n || n->fd < 0 || !n->emitted || n->pending)
		return -1;
	int fd = n->fd;
	n->fd = -1;
	return fd;
}

static void close_fd(struct pw_thread *t, int fd)
{
	if (fd < 0)
		return;
	if (t->emitter)
		closer_close(t->pw->closer, fd);
	else
		close(fd);
}

/* ---- a task: open, list, visit, make the children ----------------------------------------- */

/* Open n from the open descriptor pfd, with the mount rule.  The descriptor, or -1 (errno). */
static int open_node(struct pw_thread *t, int pfd, const struct pw_node *n)
{
	int checked;
	int fd = dirio_open_at(&t->opener, pfd, n->name, &checked);
	if (fd < 0 || checked || t->opener.cross_mounts)
		return fd;
	uint64_t dev, ino, mnt;
	int e = 0;
	if (dirio_identity(fd, &dev, &ino, &mnt) != 0)
		e = errno;
	else if (!dirio_same_mount(dev, mnt, t->pw->root_dev, t->pw->root_mnt))
		e = EXDEV;
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int skipped(struct pw_thread *t, const pyci_dir *parent, const pyci_entry *e)
{
	const pwalk_ops *ops = t->pw->ops;
	return ops->skip && ops->skip(t->wctx, parent, e);
}

/* Append nodes for the subdirectories of view (below parent), which start with `scope`, to
 * *kids.  0, or -1 (ENOMEM). */
static int make_kids(struct pw_thread *t, const struct pw_node *parent, const struct pw_node *up,
		     const pyci_dir *view, int skip_pycache, const void *scope,
		     struct pw_node ***kids, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < view->count; i++) {
		const pyci_entry *e = &view->entries[i];
		if (e->type != DT_DIR || (skip_pycache && strcmp(e->name, "__pycache__") == 0) ||
		    skipped(t, view, e))
			continue;
		if (reserve_nodes(kids, cap, *n + 1) != 0)
			return -1;
		struct pw_node *k = node_new(parent, e->name, e->len, up, *n);
		if (!k)
			return -1;
		k->parent = (struct pw_node *)parent; /* linked under the lock in publish */
		k->scope = scope;
		(*kids)[(*n)++] = k;
	}
	return 0;
}

/* ---- the ready heap (under the lock) ------------------------------------------------------ */

/* Whether a comes before b in walk order. */
static int before(const struct pw_node *a, const struct pw_node *b)
{
	int n = a->keylen < b->keylen ? a->keylen : b->keylen;
	for (int i = 0; i < n; i++)
		if (a->key[i] != b->key[i])
			return a->key[i] < b->key[i];
	return a->keylen < b->keylen;
}

static void heap_set(struct pwalk *pw, size_t i, struct pw_node *n)
{
	pw->ready[i] = n;
	n->slot = i;
}

static void sift_up(struct pwalk *pw, size_t i)
{
	struct pw_node *n = pw->ready[i];
	while (i > 0 && before(n, pw->ready[(i - 1) / 2])) {
		heap_set(pw, i, pw->ready[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(pw, i, n);
}

static void sift_down(struct pwalk *pw, size_t i)
{
	struct pw_node *n = pw->ready[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= pw->ready_len)
			break;
		if (c + 1 < pw->ready_len && before(pw->ready[c + 1], pw->ready[c]))
			c++;
		if (!before(pw->ready[c], n))
			break;
		heap_set(pw, i, pw->ready[c]);
		i = c;
	}
	heap_set(pw, i, n);
}

/* Take n (in the heap) out of it. */
static void heap_remove(struct pwalk *pw, struct pw_node *n)
{
	size_t i = n->slot;
	struct pw_node *last = pw->ready[--pw->ready_len];
	if (last == n)
		return;
	heap_set(pw, i, last);
	sift_down(pw, i);
	sift_up(pw, last->slot);
}

/* Under the lock: make a finished task's node and children known, and wake who waits. */
static void publish(struct pwalk *pw, struct pw_node *x)
{
	if (x->pc)
		node_link(pw, x->pc, x);
	for (size_t i = 0; i < x->nkids; i++) {
		struct pw_node *k = x->kids[i];
		node_link(pw, k, k->parent);
		k->parent->pending++;
	}
	for (size_t i = 0; i < x->nkids; i++) {
		struct pw_node *k = x->kids[i];
		if (k->depth > pw->opt->max_depth) {
			k->state = PW_DEEP;
			continue;
		}
		k->state = PW_READY;
		pw->ready[pw->ready_len++] = k; /* room was made by the task */
		sift_up(pw, pw->ready_len - 1);
	}
	x->state = PW_DONE;
	pw->events++;
	if (pw->awaited == x)
		pthread_cond_signal(&pw->done);
	if (pw->inflight < pw->opt->window) { /* else emit_node wakes them */
		if (x->nkids > 1)
			pthread_cond_broadcast(&pw->work);
		else if (x->nkids)
			pthread_cond_signal(&pw->work);
	}
}

static void free_kids(struct pwalk *pw, struct pw_node *x)
{
	for (size_t i = 0; i < x->nkids; i++)
		node_free_unlinked(pw, x->kids[i]);
	free(x->kids);
	x->kids = NULL;
	x->nkids = 0;
	if (x->pc) {
		node_free_unlinked(pw, x->pc);
		x->pc = NULL;
	}
}

/* Make room in the ready heap for n more entries (under the lock).  0, or -1. */
static int ready_reserve(struct pwalk *pw, size_t n)
{
	return reserve_nodes(&pw->ready, &pw->ready_cap, pw->ready_len + n);
}

/* Run the task of node x (state PW_RUNNING) on thread t. */
static void run_task(struct pw_thread *t, struct pw_node *x)
{
	struct pwalk *pw = t->pw;
	const pwalk_ops *ops = pw->ops;
	if (x->fd < 0) {
		/* the parent's descriptor stays open while x is pending */
		int fd = open_node(t, x->parent->fd, x);
		int e = errno;
		pthread_mutex_lock(&pw->lock);
		x->parent->pending--;
		int cfd = node_release_fd(x->parent);
		pthread_mutex_unlock(&pw->lock);
		close_fd(t, cfd);
		if (fd < 0) {
			x->err = e;
			x->kind = dirio_error_kind(e);
			goto done;
		}
		x->fd = fd;
	}
	if (dirio_list(x->fd, &t->list) != 0) {
		if (errno == ENOMEM)
			goto fatal;
		x->err = errno;
		x->kind = PYCI_WALK_ERR_READ;
		goto done;
	}
	pyci_dir dir = {x->fd,         x->path,  x->path_len, t->list.entries,
			t->list.count, x->depth, NULL};
	pyci_dir pcdir;
	int have_pc = 0;
	for (size_t i = 0; i < dir.count; i++) {
		const pyci_entry *e = &dir.entries[i];
		if (e->type != DT_DIR || strcmp(e->name, "__pycache__") != 0 || skipped(t, &dir, e))
			continue;
		if (!(x->pc = node_new(x, e->name, e->len, NULL, 0)))
			goto fatal;
		x->pc->parent = x;
		int pfd = open_node(t, x->fd, x->pc);
		if (pfd < 0) {
			x->pc->err = errno;
			x->pc->kind = dirio_error_kind(errno);
		} else if (dirio_list(pfd, &t->pc_list) != 0) {
			if (errno == ENOMEM) {
				close(pfd);
				goto fatal;
			}
			x->pc->err = errno;
			x->pc->kind = PYCI_WALK_ERR_READ;
			close(pfd);
		} else {
			x->pc->fd = pfd;
			pcdir = (pyci_dir){pfd,
					   x->pc->path,
					   x->pc->path_len,
					   t->pc_list.entries,
					   t->pc_list.count,
					   x->pc->depth,
					   NULL};
			have_pc = 1;
		}
		break;
	}
	int verr = 0;
	x->result = ops->visit(t->wctx, pw, &dir, have_pc ? &pcdir : NULL, &x->scope, &verr);
	if (verr) {
		errno = verr;
		goto fatal;
	}
	size_t cap = 0;
	if ((have_pc &&
	     make_kids(t, x->pc, x, &pcdir, 0, x->scope, &x->kids, &x->nkids, &cap) != 0) ||
	    make_kids(t, x, x, &dir, 1, x->scope, &x->kids, &x->nkids, &cap) != 0) {
		errno = ENOMEM;
		goto fatal;
	}
done:
	pthread_mutex_lock(&pw->lock);
	if (ready_reserve(pw, x->nkids) != 0) {
		pthread_mutex_unlock(&pw->lock);
		errno = ENOMEM;
		goto fatal;
	}
	publish(pw, x);
	pthread_mutex_unlock(&pw->lock);
	return;
fatal:;
	int e = errno;
	if (x->result && ops->discard)
		ops->discard(x->result);
	x->result = NULL;
	free_kids(pw, x);
	pthread_mutex_lock(&pw->lock);
	if (!pw->fatal)
		pw->fatal = e ? e : ENOMEM;
	pw->stopping = 1;
	pw->events++;
	x->state = PW_DONE;
	pthread_cond_broadcast(&pw->done);
	pthread_cond_broadcast(&pw->work);
	pthread_mutex_unlock(&pw->lock);
}

/* ---- workers ------------------------------------------------------------------------------ */

/* Under the lock: run task x (just taken) on thread t, letting go of the lock meanwhile. */
static void run_locked(struct pw_thread *t, struct pw_node *x)
{
	struct pwalk *pw = t->pw;
	x->state = PW_RUNNING;
	pw->inflight++;
	pthread_mutex_unlock(&pw->lock);
	run_task(t, x);
	pthread_mutex_lock(&pw->lock);
}

/* Under the lock: the first task in walk order not yet started, taken, or NULL. */
static struct pw_node *ready_pop(struct pwalk *pw)
{
	if (pw->ready_len == 0)
		return NULL;
	struct pw_node *n = pw->ready[0];
	heap_remove(pw, n);
	return n;
}

/*
 * Under the lock, with nothing to take: ask ops->help (without the lock), then sleep on cv
 * unless help was found or a wake came meanwhile.
 */
static void idle(struct pw_thread *t, pthread_cond_t *cv)
{
	struct pwalk *pw = t->pw;
	unsigned long events = pw->events;
	if (pw->ops->help) {
		pthread_mutex_unlock(&pw->lock);
		int helped = pw->ops->help(t->wctx);
		pthread_mutex_lock(&pw->lock);
		if (helped)
			return;
	}
	if (events == pw->events)
		pthread_cond_wait(cv, &pw->lock);
}

void pwalk_wake(struct pwalk *pw)
{
	pthread_mutex_lock(&pw->lock);
	pw->events++;
	pthread_cond_broadcast(&pw->work);
	pthread_cond_broadcast(&pw->done);
	pthread_mutex_unlock(&pw->lock);
}

static void *worker(void *arg)
{
	struct pw_thread *t = arg;
	struct pwalk *pw = t->pw;
	pthread_mutex_lock(&pw->lock);
	while (!pw->stopping) {
		struct pw_node *x = NULL;
		if (pw->inflight >= pw->opt->window || !(x = ready_pop(pw)))
			idle(t, &pw->work);
		else
			run_locked(t, x);
	}
	pthread_mutex_unlock(&pw->lock);
	return NULL;
}

/* ---- the calling thread: emit in walk order ----------------------------------------------- */

struct estack {
	struct pw_node **v;
	size_t len, cap;
};

static int estack_push_kids(struct estack *s, const struct pw_node *x)
{
	if (reserve_nodes(&s->v, &s->cap, s->len + x->nkids) != 0)
		return -1;
	for (size_t i = x->nkids; i > 0; i--)
		s->v[s->len++] = x->kids[i - 1];
	return 0;
}

/*
 * Wait for x to be done; returns 1 at once if x is a deep one (not a task), else 0.  The calling
 * thread works meanwhile: it runs x if no worker has taken it, and while a worker has, the next
 * task in walk order; it sleeps only when there is none.
 */
static int await(struct pw_thread *t, struct pw_node *x)
{
	struct pwalk *pw = t->pw;
	pthread_mutex_lock(&pw->lock);
	int deep = x->state == PW_DEEP;
	while (!deep && x->state != PW_DONE) {
		struct pw_node *y = NULL;
		if (x->state == PW_READY) {
			heap_remove(pw, x);
			y = x;
		} else if (!pw->stopping && pw->inflight < pw->opt->window) {
			y = ready_pop(pw);
		}
		if (y) {
			run_locked(t, y);
		} else {
			pw->awaited = x;
			idle(t, &pw->done);
			pw->awaited = NULL;
		}
	}
	pthread_mutex_unlock(&pw->lock);
	return deep;
}

/* Emit x (done, or deep); -1 (errno) when the walk is to stop. */
static int emit_node(struct pw_thread *t, struct pw_node *x, int deep)
{
	struct pwalk *pw = t->pw;
	const pwalk_ops *ops = pw->ops;
	int rc = 0;
	if (deep) {
		rc = ops->deep(ops->ctx, x->parent->fd, x->name, x->path, x->depth, x->scope);
		int e = errno;
		pthread_mutex_lock(&pw->lock);
		x->parent->pending--;
		x->emitted = 1;
		int cfd = node_release_fd(x->parent);
		node_unref(pw, x);
		pthread_mutex_unlock(&pw->lock);
		close_fd(t, cfd);
		errno = e;
		return rc;
	}
	if (x->pc && x->pc->err && ops->error)
		ops->error(ops->ctx, x->pc->path, x->pc->kind, x->pc->err);
	if (x->err) {
		if (ops->error)
			ops->error(ops->ctx, x->path, x->kind, x->err);
	} else if (x->result) {
		void *r = x->result;
		x->result = NULL;
		rc = ops->emit(ops->ctx, r);
	}
	int e = errno;
	pthread_mutex_lock(&pw->lock);
	x->emitted = 1;
	int cfd = node_release_fd(x), pcfd = -1;
	if (x->pc) {
		x->pc->emitted = 1;
		pcfd = node_release_fd(x->pc);
		node_unref(pw, x->pc); /* x's own reference; its children hold theirs */
		x->pc = NULL;
	}
	pw->inflight--;
	pw->events++;
	/* workers held back by a full window wake when half of it is free, not one by one: when
	 * emitting is the slower side (clean), waking them for every directory costs more than
	 * the directory */
	if (pw->inflight == pw->opt->window / 2)
		pthread_cond_broadcast(&pw->work);
	pthread_mutex_unlock(&pw->lock);
	close_fd(t, pcfd);
	close_fd(t, cfd);
	errno = e;
	return rc;
}

int pwalk(const char *root, const pwalk_options *opt, const pwalk_ops *ops)
{
	struct pwalk pw = {0};
	pw.opt = opt;
	pw.ops = ops;
	unsigned nthreads = opt->threads;
	struct pw_thread *th = calloc((size_t)nthreads + 1, sizeof(*th));
	pthread_t *tids = calloc((size_t)nthreads + 1, sizeof(*tids));
	struct pw_node *rootn = calloc(1, sizeof(*rootn));
	struct estack es = {0};
	int rc = -1, err = ENOMEM, locks = 0;
	unsigned started = 0;
	if (rootn)
		rootn->fd = -1;
	if (!th || !tids || !rootn || !(rootn->path = strdup(root)))
		goto out;
	if (pthread_mutex_init(&pw.lock, NULL) != 0)
		goto out;
	locks = 1;
	if (pthread_cond_init(&pw.work, NULL) != 0)
		goto out;
	locks = 2;
	if (pthread_cond_init(&pw.done, NULL) != 0)
		goto out;
	locks = 3;
	for (unsigned i = 0; i <= nthreads; i++) {
		th[i].pw = &pw;
		th[i].wctx = opt->wctx[i];
		th[i].emitter = i == nthreads;
		dirio_opener_init(&th[i].opener, opt->cross_mounts);
	}
	struct pw_thread *self = &th[nthreads];

	rootn->path_len = strlen(root);
	rootn->name = rootn->path + rootn->path_len;
	rootn->refs = 1;
	rootn->state = PW_RUNNING;
	rootn->scope = opt->scope;
	rootn->fd = pyci_openat_read(AT_FDCWD, root, DIRIO_OPEN_FLAGS, &self->opener.noatime);
	uint64_t ino;
	if (rootn->fd < 0 || dirio_identity(rootn->fd, &pw.root_dev, &ino, &pw.root_mnt) != 0) {
		err = errno;
		goto out;
	}
	node_link(&pw, rootn, NULL);
	struct pw_node *first = rootn;
	rootn = NULL; /* on the list of live nodes from here on */
	if (opt->defer_close)
		pw.closer = closer_new(PWALK_CLOSER_CAP);
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, worker, &th[i]) != 0)
			break; /* fewer workers still work */
		started++;
	}

	/* the root is run here, then every node in walk order */
	pw.inflight = 1;
	if (reserve_nodes(&es.v, &es.cap, 1) != 0) {
		err = ENOMEM;
		goto stop;
	}
	es.v[es.len++] = first;
	run_task(self, first);
	rc = 0;
	while (es.len > 0) {
		struct pw_node *x = es.v[--es.len];
		int deep = await(self, x);
		pthread_mutex_lock(&pw.lock);
		int fatal = pw.fatal;
		pthread_mutex_unlock(&pw.lock);
		if (fatal) {
			rc = -1;
			err = fatal;
			break;
		}
		if (!deep && estack_push_kids(&es, x) != 0) {
			rc = -1;
			err = ENOMEM;
			break;
		}
		if (emit_node(self, x, deep) != 0) {
			rc = -1;
			err = errno;
			break;
		}
		if (!deep) {
			/* the kids are on the emit stack now; they hold x by their references */
			pthread_mutex_lock(&pw.lock);
			free(x->kids);
			x->kids = NULL;
			x->nkids = 0;
			node_unref(&pw, x);
			pthread_mutex_unlock(&pw.lock);
		}
	}
stop:
	pthread_mutex_lock(&pw.lock);
	pw.stopping = 1;
	pw.events++;
	pthread_cond_broadcast(&pw.work);
	pthread_mutex_unlock(&pw.lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	/* a walk stopped halfway: free whatever is left */
	while (pw.all) {
		struct pw_node *n = pw.all;
		pw.all = n->all_next;
		node_free_unlinked(&pw, n); /* its children are on the list themselves */
	}
	closer_free(pw.closer);
out:
	if (rootn) {
		if (rootn->fd >= 0)
			close(rootn->fd);
		free(rootn->path);
		free(rootn);
	}
	if (locks >= 3)
		pthread_cond_destroy(&pw.done);
	if (locks >= 2)
		pthread_cond_destroy(&pw.work);
	if (locks >= 1)
		pthread_mutex_destroy(&pw.lock);
	for (unsigned i = 0; th && i <= nthreads; i++) {
		dirio_listing_free(&th[i].list);
		dirio_listing_free(&th[i].pc_list);
	}
	free(th);
	free(tids);
	free(es.v);
	free(pw.ready);
	if (rc != 0)
		errno = err;
	return rc;
}
