/*
 * walk.h - walk a directory tree through directory descriptors, never following a symlink.
 *
 * Each directory is opened with openat(parent, name, O_DIRECTORY|O_NOFOLLOW), listed in full with
 * getdents64 (d_type trusted; DT_UNKNOWN resolved with fstatat), sorted bytewise, and handed to
 * the visitor together with its __pycache__ subdirectory, listed the same way, while both are
 * open: a cache and its source directory are always at hand as descriptors.  Subdirectories are
 * then walked depth-first in name order, so the order is the same for the same tree.
 *
 * Descriptors are kept in a bounded LRU cache; a directory whose descriptor was evicted is
 * reopened from its nearest open ancestor, one component at a time, and its device and inode
 * are checked against the ones first seen.  Neither descriptors nor buffers grow with depth, and
 * no full path is ever given to the kernel below the root, so there is no PATH_MAX limit.
 * Mount points are not crossed unless asked, bind mounts of the same filesystem included:
 * openat2's RESOLVE_NO_XDEV refuses them in the open itself (or, on kernels before 5.6, the mount
 * id from statx).
 */
#ifndef PYCINSPECT_WALK_H
#define PYCINSPECT_WALK_H

#include <stddef.h>
#include <stdint.h>

typedef struct pyci_entry {
	const char *name; /* NUL-terminated */
	size_t len;
	unsigned char type; /* DT_REG, DT_DIR, DT_LNK, ... (DT_UNKNOWN only if fstatat failed) */
} pyci_entry;

typedef struct pyci_walk_node pyci_walk_node;

typedef struct pyci_dir {
	int fd;           /* open O_DIRECTORY descriptor, valid during the visit */
	const char *path; /* the root as given joined with the path below it; NUL-terminated */
	size_t path_len;
	const pyci_entry *entries; /* sorted bytewise; no "." or ".." */
	size_t count;
	int depth;            /* 0 for the root */
	pyci_walk_node *node; /* for pyci_walk_hold() */
} pyci_dir;

/*
 * A directory the walk is done with (ops->leave): post-order, after every directory below it.
 * The descriptors are open during the call.
 */
typedef struct pyci_walk_left {
	int parent_fd;    /* its parent, open, or -1 when it cannot be opened again (err) */
	const char *name; /* its name there */
	const char *path; /* its display path; NUL-terminated */
	size_t path_len;
	int fd; /* when visited: the directory itself (reopened, identity checked,
			       * if it had been closed), or -1 when it cannot be (err: errno) */
	int err;
	int visited;          /* it was opened and listed, and ops->visit returned 0 */
	size_t count;         /* its count (pyci_walk_count) */
	size_t *parent_count; /* its parent's, or NULL for the root */
} pyci_walk_left;

/* Kinds of trouble the walker reports and walks past. */
typedef enum {
	PYCI_WALK_ERR_OPEN = 0,   /* a directory could not be opened (errno) */
	PYCI_WALK_ERR_READ,       /* a directory could not be listed (errno) */
	PYCI_WALK_ERR_CHANGED,    /* a directory was replaced during the walk */
	PYCI_WALK_ERR_MOUNT,      /* a mount point, not crossed (not an error: a notice) */
	PYCI_WALK_ERR_MOUNT_FILE, /* a file that is a mount point (bind-mounted over a cache
				   * name): never judged, with or without cross_mounts (a notice,
				   * reported by the scan engine, not by the walk) */
	PYCI_WALK_ERR_LISTED,     /* a path of a file list (pyci_scan_list) that names a source
				   * or a cache that cannot be found or read (errno) */
} pyci_walk_err;

typedef struct pyci_walk_ops {
	/*
	 * Called once per directory, with its __pycache__ (NULL if none).  Return 0 to go on, -1 to
	 * stop the whole walk (keep errno).
	 */
	int (*visit)(void *ctx, const pyci_dir *dir, const pyci_dir *pycache);
	/* A directory the walk could not enter; path is the display path, err an errno or 0. */
	void (*error)(void *ctx, const char *path, pyci_walk_err kind, int err);
	/* 1 to leave out the subdirectory e of parent (NULL: walk all).  Never asked of the root. */
	int (*skip)(void *ctx, const pyci_dir *parent, const pyci_entry *e);
	/* Called once after the last visit (NULL: nothing to do); must give back every hold. */
	void (*done)(void *ctx);
	void *ctx;
	/*
	 * Optional (NULL: none): the walk is done with a directory, whether it was visited or not
	 * (but not once the walk stops), after every directory below it and after its holds were
	 * given back; never for the root of pyci_walk (its parent is not known), for the root of
	 * pyci_walk_at last (its parent is parentfd).  A __pycache__ with no subdirectories is
	 * left during its parent's visit.  Return 0 to go on, -1 to stop the whole walk (keep
	 * errno).  For removing a tree bottom-up (debris.c).
	 */
	int (*leave)(void *ctx, const pyci_walk_left *d);
} pyci_walk_ops;

typedef struct pyci_walk_options {
	int cross_mounts; /* descend into other mounts */
	unsigned max_fds; /* descriptor budget; 0 = derived from RLIMIT_NOFILE */
	int defer_close;  /* close directories on a helper thread (within the budget): the
			   * last close of a removed directory can wait for the device */
} pyci_walk_options;

/*
 * Keep dir's descriptor open after its visit (the walker neither closes nor evicts it) until
 * pyci_walk_unhold().  For work on the directory that finishes later, on any thread; the hold
 * itself and its release happen on the walking thread.  Never fails.
 */
pyci_walk_node *pyci_walk_hold(const pyci_dir *dir);

/* Give a hold back.  Every hold must be given back by ops->done at the latest. */
void pyci_walk_unhold(pyci_walk_node *node);

/*
 * A count of the caller's own for the directory of node (0 at first), kept as long as the node:
 * what ops->visit and ops->skip add to it (and to the parent's, through ops->leave's
 * parent_count) ops->leave reads, e.g. the entries a remover left in a directory.
 */
size_t *pyci_walk_count(pyci_walk_node *node);

/*
 * Walk the directory `root` (opened with O_NOFOLLOW: a root that is a symlink fails with ELOOP
 * or ENOTDIR unless written with a trailing '/').  Per-directory failures go to ops->error and
 * the walk goes on.  Returns 0, or -1 with errno when the root cannot be opened, memory runs out,
 * or the visitor stopped the walk.
 */
int pyci_walk(const char *root, const pyci_walk_options *opt, const pyci_walk_ops *ops);

/*
 * Walk the subdirectory `name` of the open directory parentfd as part of a larger walk: it is
 * opened like any directory of a walk (no symlink, no other mount unless opt->cross_mounts;
 * parentfd is taken to be on the walk's own mount), `display` is its display path and `depth`
 * its depth.  When it cannot be opened, ops->error says so and ops->done is called, as for any
 * directory the walk cannot enter: returns 0.  Otherwise as pyci_walk().
 */
int pyci_walk_at(int parentfd, const char *name, const char *display, int depth,
		 const pyci_walk_options *opt, const pyci_walk_ops *ops);

#endif
