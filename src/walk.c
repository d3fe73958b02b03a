/*
 * walk.c - the depth-first, descriptor-relative tree walk described in walk.h.
 *
 * A node stands for one directory: its name, its parent, the identity (dev, ino, mount id) seen
 * when it was first opened, and, while it is in the LRU cache, an open descriptor.  A node lives
 * while it waits on the stack, while it is being visited, and while any of its children lives, so
 * an evicted directory can always be reopened from an ancestor by name.  The root's descriptor is
 * pinned: it was opened from the user's path and is never reopened.
 */
#define _GNU_SOURCE
#include "pycinspect/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "closer.h"
#include "dirio.h"
#include "readopen.h"

struct pyci_walk_node {
	struct pyci_walk_node *parent;
	char *name;
	size_t name_len;
	int depth;
	unsigned refs;  /* 1 while pending or being visited, + 1 per live child */
	int fd;         /* -1 when not open */
	int pinned;     /* never evicted (root, and nodes in use) */
	unsigned holds; /* pyci_walk_hold()s not given back: never evicted either */
	struct walker *w;
	int have_id; /* dev, ino, mnt recorded at the first open */
	uint64_t dev, ino, mnt;
	struct pyci_walk_node *lru_prev, *lru_next;
	int visited;  /* listed, and ops->visit returned 0 */
	size_t count; /* pyci_walk_count */
};

struct walker {
	const pyci_walk_ops *ops;
	unsigned max_fds, open_fds;
	struct pyci_walk_node *lru_head, *lru_tail; /* most recently used first */
	struct pyci_walk_node **stack;
	size_t stack_len, stack_cap;
	dirio_listing list, pc_list;
	char *path, *pc_path; /* display paths of the directory and its __pycache__ */
	size_t path_cap, pc_path_cap;
	const char *root_path;
	uint64_t root_dev, root_mnt;
	dirio_opener opener;   /* cross_mounts, and what the kernel allows */
	struct closer *closer; /* defer_close: closes on a helper thread; NULL: inline */
	int root_parent_fd;    /* pyci_walk_at's parentfd, for leaving the root; -1: none */
	const char *root_name; /* the root's name there */
	char *left_path;       /* display path of a directory left (ops->leave) */
	size_t left_path_cap;
	int stopping;    /* the walk stops: no more ops->leave */
	int leave_errno; /* ops->leave stopped the walk: its errno; 0: it did not */
};

/* ---- descriptor cache ------------------------------------------------------------------- */

static void lru_unlink(struct walker *w, struct pyci_walk_node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else if (w->lru_head == n)
		w->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else if (w->lru_tail == n)
		w->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push_front(struct walker *w, struct pyci_walk_node *n)
{
	n->lru_next = w->lru_head;
	n->lru_prev = NULL;
	if (w->lru_head)
		w->lru_head->lru_prev = n;
	w->lru_head = n;
	if (!w->lru_tail)
		w->lru_tail = n;
}

static void node_close(struct walker *w, struct pyci_walk_node *n)
{
	if (n->fd < 0)
		return;
	lru_unlink(w, n);
	closer_close(w->closer, n->fd);
	n->fd = -1;
	w->open_fds--;
}

/*
 * Make room for one more descriptor by closing the least recently used unpinned ones.  A node
 * opened without its identity being read (openat2 made that unnecessary) has it read now, so
 * that a reopen can tell whether the directory was replaced meanwhile.
 */
static void lru_make_room(struct walker *w)
{
	struct pyci_walk_node *n = w->lru_tail;
	while (w->open_fds >= w->max_fds && n) {
		struct pyci_walk_node *prev = n->lru_prev;
		if (!n->pinned && !n->holds) {
			if (!n->have_id && dirio_identity(n->fd, &n->dev, &n->ino, &n->mnt) == 0)
				n->have_id = 1;
			node_close(w, n);
		}
		n = prev;
	}
}

static void lru_touch(struct walker *w, struct pyci_walk_node *n)
{
	lru_unlink(w, n);
	lru_push_front(w, n);
}

static void node_adopt_fd(struct walker *w, struct pyci_walk_node *n, int fd)
{
	n->fd = fd;
	w->open_fds++;
	lru_push_front(w, n);
}

/*
 * Open u's directory relative to its parent's open descriptor.  The first open applies the
 * mount rule; a reopen must find the identity the node had.  Returns the descriptor, or -1 with
 * errno (EXDEV: a mount not to cross; ESTALE: the directory was replaced).
 */
static int open_one(struct walker *w, struct pyci_walk_node *u)
{
	struct pyci_walk_node *p = u->parent;
	int was_pinned = p->pinned;
	p->pinned = 1; /* keep the parent while room is made */
	lru_make_room(w);
	p->pinned = was_pinned;
	lru_touch(w, p);
	int mount_checked;
	int fd = dirio_open_at(&w->opener, p->fd, u->name, &mount_checked);
	if (fd < 0)
		return -1;
	if ((mount_checked || w->opener.cross_mounts) && !u->have_id) {
		/* no mount rule to apply: the identity is read only if it is ever evicted */
		node_adopt_fd(w, u, fd);
		return fd;
	}
	uint64_t dev, ino, mnt;
	if (dirio_identity(fd, &dev, &ino, &mnt) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!u->have_id) {
		if (!w->opener.cross_mounts &&
		    !dirio_same_mount(dev, mnt, w->root_dev, w->root_mnt)) {
			close(fd);
			errno = EXDEV;
			return -1;
		}
		u->dev = dev;
		u->ino = ino;
		u->mnt = mnt;
		u->have_id = 1;
	} else if (dev != u->dev || ino != u->ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	node_adopt_fd(w, u, fd);
	return fd;
}

/*
 * n's descriptor, reopening it and any evicted ancestors from the nearest open one, top down,
 * without recursion.  Returns the descriptor, or -1 with errno as open_one().
 */
static int node_open(struct walker *w, struct pyci_walk_node *n)
{
	while (n->fd < 0) {
		struct pyci_walk_node *u = n;
		while (u->parent && u->parent->fd < 0)
			u = u->parent;
		if (!u->parent) {
			errno = EBADF; /* only the root has no parent, and it is pinned */
			return -1;
		}
		if (open_one(w, u) < 0)
			return -1;
	}
	lru_touch(w, n);
	return n->fd;
}

/* ---- nodes -------------------------------------------------------------------------------- */

static struct pyci_walk_node *node_new(struct walker *w, struct pyci_walk_node *parent,
				       const char *name, size_t len)
{
	struct pyci_walk_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->w = w;
	n->name = malloc(len + 1);
	if (!n->name) {
		free(n);
		return NULL;
	}
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->name_len = len;
	n->parent = parent;
	n->depth = parent ? parent->depth + 1 : 0;
	n->refs = 1;
	n->fd = -1;
	if (parent)
		parent->refs++;
	return n;
}

static void leave(struct walker *w, struct pyci_walk_node *n);

/* Drop one reference; free the node and, transitively, ancestors nobody needs any more (the walk
 * is done with them: ops->leave). */
static void node_release(struct walker *w, struct pyci_walk_node *n)
{
	while (n && --n->refs == 0) {
		leave(w, n);
		struct pyci_walk_node *parent = n->parent;
		if (n->fd >= 0) {
			if (!parent)
				n->pinned = 0;
			node_close(w, n);
		}
		free(n->name);
		free(n);
		n = parent;
	}
}

/* ---- listing ------------------------------------------------------------------------------ */

/* ---- paths -------------------------------------------------------------------------------- */

/* Write the display path of n into *buf (grown as needed).  Returns its length, or -1. */
static ssize_t build_path(struct walker *w, const struct pyci_walk_node *n, char **buf, size_t *cap)
{
	size_t root_len = strlen(w->root_path);
	size_t len = root_len;
	for (const struct pyci_walk_node *p = n; p->parent; p = p->parent)
		len += p->name_len + 1;
	if (len + 1 > *cap) {
		size_t c = *cap ? *cap : 256;
		while (c < len + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	char *b = *buf;
	size_t end = len;
	b[end] = '\0';
	for (const struct pyci_walk_node *p = n; p->parent; p = p->parent) {
		end -= p->name_len;
		memcpy(b + end, p->name, p->name_len);
		b[--end] = '/';
	}
	memcpy(b, w->root_path, root_len);
	/* "dir/" + "/x" -> "dir/x": the root's own trailing slash separates */
	if (root_len > 0 && w->root_path[root_len - 1] == '/' && len > root_len) {
		memmove(b + root_len, b + root_len + 1, len - root_len);
		len--;
	}
	return (ssize_t)len;
}

static void report(struct walker *w, struct pyci_walk_node *n, pyci_walk_err kind, int err)
{
	if (!w->ops->error)
		return;
	if (build_path(w, n, &w->pc_path, &w->pc_path_cap) < 0)
		return;
	w->ops->error(w->ops->ctx, w->pc_path, kind, err);
}

/* The walk stops: no more ops->leave for the nodes it lets go of. */
static void stop_leaving(struct walker *w, int err)
{
	w->stopping = 1;
	if (!w->leave_errno)
		w->leave_errno = err;
}

/*
 * The descriptor of n's parent when n is being left.  Going up a deep tree, the parent was
 * often closed to keep within the budget while n's subtree was walked, and reopening it from
 * the nearest open ancestor would cost the whole chain, at every level: so it is opened as n's
 * "..", and kept only if it is the directory the parent was (device and inode).  Otherwise
 * (n closed, another directory there) node_open as anywhere.  -1 with errno as node_open.
 */
static int parent_open(struct walker *w, struct pyci_walk_node *n)
{
	struct pyci_walk_node *p = n->parent;
	if (p->fd < 0 && n->fd >= 0 && p->have_id) {
		int was = n->pinned;
		n->pinned = 1;
		lru_make_room(w);
		n->pinned = was;
		int fd = openat(n->fd, "..", DIRIO_OPEN_FLAGS);
		uint64_t dev, ino, mnt;
		if (fd >= 0 && dirio_identity(fd, &dev, &ino, &mnt) == 0 && dev == p->dev &&
		    ino == p->ino) {
			node_adopt_fd(w, p, fd);
			return fd;
		}
		if (fd >= 0)
			close(fd);
	}
	return node_open(w, p);
}

/*
 * ops->leave for n, whose last reference just went: its subtree is done.  Its own descriptor
 * (when it was visited) and its parent's are opened for the call, reopened and their identity
 * checked if they had been closed.
 */
static void leave(struct walker *w, struct pyci_walk_node *n)
{
	struct pyci_walk_node *p = n->parent;
	if (!w->ops->leave || w->stopping || (!p && w->root_parent_fd < 0))
		return;
	pyci_walk_left d = {.parent_fd = w->root_parent_fd,
			    .name = p ? n->name : w->root_name,
			    .fd = -1,
			    .visited = n->visited,
			    .count = n->count,
			    .parent_count = p ? &p->count : NULL};
	ssize_t len = build_path(w, n, &w->left_path, &w->left_path_cap);
	if (len < 0) {
		stop_leaving(w, ENOMEM);
		return;
	}
	d.path = w->left_path;
	d.path_len = (size_t)len;
	if (n->visited && (d.fd = node_open(w, n)) < 0)
		d.err = errno;
	if (p) {
		int was = n->pinned;
		n->pinned = 1; /* n stays open while its parent is opened */
		if ((d.parent_fd = parent_open(w, n)) < 0)
			d.err = errno;
		n->pinned = was;
	}
	if (w->ops->leave(w->ops->ctx, &d) != 0)
		stop_leaving(w, errno ? errno : EIO);
}

/* ---- the walk ----------------------------------------------------------------------------- */

/* Make room for one more node on the stack, so that pushing it cannot fail. */
static int stack_reserve(struct walker *w)
{
	if (w->stack_len < w->stack_cap)
		return 0;
	size_t cap = w->stack_cap ? w->stack_cap * 2 : 64;
	struct pyci_walk_node **s = realloc(w->stack, cap * sizeof(struct pyci_walk_node *));
	if (!s)
		return -1;
	w->stack = s;
	w->stack_cap = cap;
	return 0;
}

static int push(struct walker *w, struct pyci_walk_node *n)
{
	if (stack_reserve(w) != 0)
		return -1;
	w->stack[w->stack_len++] = n;
	return 0;
}

static int skipped(struct walker *w, const pyci_dir *parent, const pyci_entry *e)
{
	return w->ops->skip && w->ops->skip(w->ops->ctx, parent, e);
}

/* Push the subdirectories of `view` (node parent), in reverse so they pop in name order. */
static int push_children(struct walker *w, struct pyci_walk_node *parent, const pyci_dir *view,
			 int skip_pycache)
{
	for (size_t i = view->count; i > 0; i--) {
		const pyci_entry *e = &view->entries[i - 1];
		if (e->type != DT_DIR)
			continue;
		if (skip_pycache && strcmp(e->name, "__pycache__") == 0)
			continue;
		if (skipped(w, view, e))
			continue;
		/* room first, so that a node once made is always pushed: nothing to undo */
		if (stack_reserve(w) != 0)
			return -1;
		struct pyci_walk_node *c = node_new(w, parent, e->name, e->len);
		if (!c)
			return -1;
		w->stack[w->stack_len++] = c;
	}
	return 0;
}

static const pyci_entry *find_pycache(struct walker *w, const pyci_dir *dir)
{
	for (size_t i = 0; i < dir->count; i++)
		if (dir->entries[i].type == DT_DIR &&
		    strcmp(dir->entries[i].name, "__pycache__") == 0)
			return skipped(w, dir, &dir->entries[i]) ? NULL : &dir->entries[i];
	return NULL;
}

/* Visit one directory node (open, list, __pycache__, visitor, children).  -1 = fatal. */
static int visit_node(struct walker *w, struct pyci_walk_node *n)
{
	int fd = node_open(w, n);
	if (fd < 0) {
		report(w, n, dirio_error_kind(errno), errno);
		return 0;
	}
	n->pinned = 1;
	int rc = 0;
	if (dirio_list(fd, &w->list) != 0) {
		if (errno == ENOMEM)
			goto fatal;
		report(w, n, PYCI_WALK_ERR_READ, errno);
		goto out;
	}
	ssize_t plen = build_path(w, n, &w->path, &w->path_cap);
	if (plen < 0)
		goto fatal;
	pyci_dir dir = {fd, w->path, (size_t)plen, w->list.entries, w->list.count, n->depth, n};

	struct pyci_walk_node *pc = NULL;
	pyci_dir pcdir;
	const pyci_entry *pce = find_pycache(w, &dir);
	if (pce) {
		pc = node_new(w, n, pce->name, pce->len);
		if (!pc)
			goto fatal;
		int pfd = node_open(w, pc);
		if (pfd < 0) {
			report(w, pc, dirio_error_kind(errno), errno);
			node_release(w, pc);
			pc = NULL;
		} else {
			pc->pinned = 1;
			if (dirio_list(pfd, &w->pc_list) != 0) {
				int e = errno;
				if (e == ENOMEM)
					goto fatal_pc;
				report(w, pc, PYCI_WALK_ERR_READ, e);
				pc->pinned = 0;
				node_release(w, pc);
				pc = NULL;
			} else {
				ssize_t pclen = build_path(w, pc, &w->pc_path, &w->pc_path_cap);
				if (pclen < 0)
					goto fatal_pc;
				pcdir = (pyci_dir){pfd,
						   w->pc_path,
						   (size_t)pclen,
						   w->pc_list.entries,
						   w->pc_list.count,
						   pc->depth,
						   pc};
			}
		}
	}

	if (w->ops->visit(w->ops->ctx, &dir, pc ? &pcdir : NULL) != 0) {
		rc = -1;
		stop_leaving(w, errno);
		if (pc) {
			pc->pinned = 0;
			node_release(w, pc);
		}
		goto out;
	}
	n->visited = 1;
	if (pc)
		pc->visited = 1;
	/* n holds a reference of its own while visited: releasing pc above never frees it */
	if (push_children(w, n, &dir, 1) != 0) // NOLINT(clang-analyzer-unix.Malloc)
		goto fatal_pc;
	if (pc) {
		if (push_children(w, pc, &pcdir, 0) != 0)
			goto fatal_pc;
		pc->pinned = 0;
		node_release(w, pc);
	}
out:
	n->pinned = n->parent ? 0 : 1;
	return rc;
fatal_pc:
	stop_leaving(w, ENOMEM);
	if (pc) {
		pc->pinned = 0;
		node_release(w, pc);
	}
fatal:
	stop_leaving(w, ENOMEM);
	n->pinned = n->parent ? 0 : 1;
	errno = ENOMEM;
	return -1;
}

pyci_walk_node *pyci_walk_hold(const pyci_dir *dir)
{
	struct pyci_walk_node *n = dir->node;
	n->holds++;
	n->refs++;
	return n;
}

void pyci_walk_unhold(pyci_walk_node *node)
{
	node->holds--;
	node_release(node->w, node);
}

size_t *pyci_walk_count(pyci_walk_node *node)
{
	return &node->count;
}

static unsigned default_max_fds(void)
{
	struct rlimit rl;
	rlim_t cur = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		cur = rl.rlim_cur;
	/* leave half for stdio, sources and caches being read, and the caller */
	rlim_t budget = cur > 16 ? (cur - 8) / 2 : 4;
	if (budget > 256)
		budget = 256;
	return (unsigned)budget;
}

static void walker_free(struct walker *w)
{
	closer_free(w->closer);
	free(w->stack);
	dirio_listing_free(&w->list);
	dirio_listing_free(&w->pc_list);
	free(w->path);
	free(w->pc_path);
	free(w->left_path);
}

static void walker_init(struct walker *w, const char *display, const pyci_walk_options *opt,
			const pyci_walk_ops *ops)
{
	w->ops = ops;
	dirio_opener_init(&w->opener, opt && opt->cross_mounts);
	w->max_fds = opt && opt->max_fds ? opt->max_fds : default_max_fds();
	if (w->max_fds < 3)
		w->max_fds = 3; /* root, a directory and its __pycache__ */
	if (opt && opt->defer_close && w->max_fds >= 16) {
		/* a quarter of the budget may wait for the closer, at most 64 */
		unsigned q = w->max_fds / 4 > 64 ? 64 : w->max_fds / 4;
		if ((w->closer = closer_new(q)) != NULL)
			w->max_fds -= q;
	}
	w->root_path = display;
	w->root_parent_fd = -1;
}

/* Walk from the open root directory fd (taken over, identity already in *rootn), depth first. */
static int walk_from(struct walker *w, struct pyci_walk_node *rootn, int fd)
{
	rootn->have_id = 1;
	w->root_dev = rootn->dev;
	w->root_mnt = rootn->mnt;
	rootn->pinned = 1;
	node_adopt_fd(w, rootn, fd);

	int rc = 0;
	if (push(w, rootn) != 0) {
		node_release(w, rootn);
		walker_free(w);
		errno = ENOMEM;
		return -1;
	}
	while (w->stack_len > 0) {
		struct pyci_walk_node *n = w->stack[--w->stack_len];
		if (rc == 0 && visit_node(w, n) != 0)
			rc = -1;
		node_release(w, n);
		if (rc == 0 && w->leave_errno) {
			rc = -1; /* ops->leave stopped the walk, or memory for it ran out */
			errno = w->leave_errno;
		}
	}
	int e = errno;
	if (w->ops->done)
		w->ops->done(w->ops->ctx); /* gives every hold back */
	walker_free(w);
	errno = e;
	return rc;
}

/* A root node of the given depth for fd, with fd's identity; NULL (fd closed, errno) on failure. */
static struct pyci_walk_node *root_node(struct walker *w, int fd, int depth)
{
	struct pyci_walk_node *rootn = node_new(w, NULL, "", 0);
	if (!rootn) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	rootn->depth = depth;
	if (dirio_identity(fd, &rootn->dev, &rootn->ino, &rootn->mnt) != 0) {
		int e = errno;
		close(fd);
		free(rootn->name);
		free(rootn);
		errno = e;
		return NULL;
	}
	return rootn;
}

int pyci_walk(const char *root, const pyci_walk_options *opt, const pyci_walk_ops *ops)
{
	struct walker w = {0};
	walker_init(&w, root, opt, ops);
	int fd = pyci_openat_read(AT_FDCWD, root, DIRIO_OPEN_FLAGS, &w.opener.noatime);
	struct pyci_walk_node *rootn = fd < 0 ? NULL : root_node(&w, fd, 0);
	if (!rootn) {
		int e = errno;
		walker_free(&w);
		errno = e;
		return -1;
	}
	return walk_from(&w, rootn, fd);
}

int pyci_walk_at(int parentfd, const char *name, const char *display, int depth,
		 const pyci_walk_options *opt, const pyci_walk_ops *ops)
{
	struct walker w = {0};
	walker_init(&w, display, opt, ops);
	int checked;
	uint64_t pdev = 0, pino, pmnt = 0;
	int fd = dirio_open_at(&w.opener, parentfd, name, &checked);
	if (fd >= 0 && !checked && !w.opener.cross_mounts &&
	    dirio_identity(parentfd, &pdev, &pino, &pmnt) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	w.root_parent_fd = parentfd;
	w.root_name = name;
	struct pyci_walk_node *rootn = fd < 0 ? NULL : root_node(&w, fd, depth);
	if (rootn && !checked && !w.opener.cross_mounts &&
	    !dirio_same_mount(rootn->dev, rootn->mnt, pdev, pmnt)) {
		close(fd);
		free(rootn->name);
		free(rootn);
		rootn = NULL;
		errno = EXDEV;
	}
	if (!rootn) {
		int e = errno;
		if (e == ENOMEM) {
			walker_free(&w);
			errno = e;
			return -1;
		}
		if (ops->error)
			ops->error(ops->ctx, display, dirio_error_kind(e), e);
		if (ops->done)
			ops->done(ops->ctx);
		walker_free(&w);
		return 0;
	}
	return walk_from(&w, rootn, fd);
}
