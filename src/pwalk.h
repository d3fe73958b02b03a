/*
 * pwalk.h - the walk of walk.h, with directories listed and visited on worker threads.
 *
 * Internal to the library (not installed).  Each directory is a task: a worker opens it from
 * its parent's descriptor (same rules as walk.c, dirio.h), lists it and its __pycache__, and
 * calls ops->visit there, which does the directory's work and returns a result.  Results are
 * handed to ops->emit on the calling thread in exactly the order of walk.h (depth first, names
 * sorted, a __pycache__'s subdirectories before its parent's other subdirectories), whatever
 * the number of threads, while the directory and its __pycache__ are still open.  A visit can
 * leave a scope for the subtree below its directory (what the scan engine keeps of a
 * pyvenv.cfg), which every descendant inherits from its parent: nothing is shared between
 * threads for it, and a directory is always visited before its descendants.
 *
 * Bounds: at most `window` directories are being visited or wait to be emitted; a directory's
 * descriptor stays open until it was emitted and all its subdirectories were opened.  So that
 * descriptors do not grow with depth, a subdirectory deeper than max_depth is not a task: when
 * its turn comes, ops->deep walks its whole subtree on the calling thread (pyci_walk_at).
 * Descriptors in use: at most 2 x (window + 1 + max_depth + 1), plus PWALK_CLOSER_CAP waiting to
 * be closed (defer_close), a directory and its __pycache__ per thread, and what the visits and
 * ops->deep open themselves.
 */
#ifndef PYCI_PWALK_H
#define PYCI_PWALK_H

#include "pycinspect/walk.h"

/* A walk in progress, for pwalk_wake. */
struct pwalk;

typedef struct pwalk_ops {
	/* On a worker (or the calling thread), with that thread's context: the directory and its
	 * __pycache__ (NULL if none), open and listed.  *scope is the directory's scope: on entry
	 * its parent's (the root's: pwalk_options.scope); the visit may replace it, and its
	 * subdirectories, its __pycache__'s too, start with what it leaves there.  Returns the
	 * result for emit (NULL: none); on a fatal error returns NULL and sets *err (errno),
	 * which stops the walk. */
	void *(*visit)(void *wctx, struct pwalk *walk, const pyci_dir *dir, const pyci_dir *pycache,
		       const void **scope, int *err);
	/* On a thread that has no directory to take (NULL: none): join work a visit offered to
	 * share, and return 1 if there was some, 0 if not (the thread then sleeps until a
	 * directory is ready or pwalk_wake). */
	int (*help)(void *wctx);
	/* On a worker: 1 to leave out subdirectory e of parent (NULL: walk all). */
	int (*skip)(void *wctx, const pyci_dir *parent, const pyci_entry *e);
	/* On the calling thread, in walk order, while the directories visited are open.  -1 (keep
	 * errno) stops the walk; the result is the callee's either way. */
	int (*emit)(void *ctx, void *result);
	/* On the calling thread, in walk order: a directory not walked (see walk.h). */
	void (*error)(void *ctx, const char *path, pyci_walk_err kind, int err);
	/* Free a result never emitted (the walk stopped). */
	void (*discard)(void *result);
	/* On the calling thread, in walk order: walk the subdirectory `name` of parentfd, whose
	 * display path, depth and scope (its parent's, see visit) are given, and everything below
	 * it.  -1 (errno) stops the walk. */
	int (*deep)(void *ctx, int parentfd, const char *name, const char *display, int depth,
		    const void *scope);
	void *ctx;
} pwalk_ops;

/* Descriptors that may wait for the closer with defer_close, besides those counted above. */
#define PWALK_CLOSER_CAP 64

typedef struct pwalk_options {
	int cross_mounts;
	unsigned threads;  /* workers; 0: every visit on the calling thread */
	unsigned window;   /* directories visited or waiting to be emitted, at least 1 */
	int max_depth;     /* deeper subdirectories go to ops->deep */
	int defer_close;   /* as pyci_walk_options.defer_close */
	void **wctx;       /* threads + 1 visitor contexts: one per worker, then the caller's */
	const void *scope; /* the root's scope on entry to its visit (see visit) */
} pwalk_options;

/*
 * Walk `root` (opened as pyci_walk opens it).  Returns 0 when the walk finished (per-directory
 * trouble reported through ops->error), or -1 with errno: the root cannot be opened, memory or
 * threads ran out before the walk began, a visit failed fatally, or emit/deep stopped it.
 */
int pwalk(const char *root, const pwalk_options *opt, const pwalk_ops *ops);

/* From a visit that offers work to share: wake the threads that sleep, so that they ask
 * ops->help.  Any thread, any time during the walk. */
void pwalk_wake(struct pwalk *pw);

#endif
