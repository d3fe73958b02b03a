/*
 * peek.c - the I/O of judging caches, batched, by plain calls or through io_uring (see peek.h).
 *
 * The plain path is the reference: per regular cache openat + statx of the descriptor + pread
 * + close, per other entry an fstatat of its name, per source an fstatat.  The ring does the
 * opens, reads and closes in two submissions per batch: (A) the opens; then a statx of each
 * open descriptor by a plain call (its attributes say whether it is a mount point, its mode
 * whether it may be read); (B) for each regular file a read of its first bytes hard-linked to
 * its close, for anything else only the close.  The stats stay plain calls: IORING_OP_STATX is
 * always handed to an io-wq worker thread, and with it in the ring a run made 34,000 context
 * switches instead of 150 and cost more CPU than plain calls (measured on the 55,000-cache
 * stdlib corpus); it cannot stat a direct descriptor either, which is why the descriptors are
 * regular ones: the identity must come from the file that is read.  What the ring cannot
 * settle (an open refused for O_NOATIME, a failed open or stat, a short read) is finished by
 * the plain path, entry by entry, so the results are those of the plain path in every case.
 */
#define _GNU_SOURCE
#include "peek.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifdef PYCI_HAVE_LIBURING
#include <liburing.h>
#endif

#include "readopen.h"

#define FILE_OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
#define STATX_FLAGS AT_STATX_SYNC_AS_STAT
#define RING_ENTRIES (2 * PEEK_MAX_BATCH)

struct peeker {
	int ring_ok;
#ifdef PYCI_HAVE_LIBURING
	struct io_uring ring;
	struct statx sx[PEEK_MAX_BATCH]; /* the caches' */
	int fd[PEEK_MAX_BATCH];
	int res[PEEK_MAX_BATCH];
	int noatime_used[PEEK_MAX_BATCH];
	int read_failed[PEEK_MAX_BATCH]; /* the ring's read answered an error: redone plainly */
#endif
};

static void stat_from_statx(struct stat *st, const struct statx *sx)
{
	*st = (struct stat){0};
	st->st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	st->st_ino = (ino_t)sx->stx_ino;
	st->st_mode = sx->stx_mode;
	st->st_nlink = sx->stx_nlink;
	st->st_uid = sx->stx_uid;
	st->st_gid = sx->stx_gid;
	st->st_size = (off_t)sx->stx_size;
	st->st_mtim.tv_sec = sx->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = sx->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = sx->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = sx->stx_ctime.tv_nsec;
	st->st_atim.tv_sec = sx->stx_atime.tv_sec;
	st->st_atim.tv_nsec = sx->stx_atime.tv_nsec;
}

static int is_mount_root(const struct statx *sx)
{
	return (sx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (sx->stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* ---- plain calls ---------------------------------------------------------------------------- */

/* The stat of c's name, for a cache that could not be opened or stat'ed: its size and kind
 * still count. */
static void stat_name(peek_cache *c)
{
	if (!c->have_stat && fstatat(c->dirfd, c->name, &c->st, AT_SYMLINK_NOFOLLOW) == 0)
		c->have_stat = 1;
}

/* Read from fd, which c->st says is a regular file, up to PYCI_PEEK_SIZE bytes from got on. */
static void read_rest(peek_cache *c, int fd)
{
	while (c->got < PYCI_PEEK_SIZE) {
		ssize_t n = pread(fd, c->buf + c->got, PYCI_PEEK_SIZE - c->got, (off_t)c->got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			c->err = errno;
			c->got = 0;
			return;
		}
		if (n == 0)
			return;
		c->got += (size_t)n;
	}
}

int peek_open(peek_cache *c, int *noatime)
{
	c->err = c->have_stat = c->mount_root = 0;
	c->got = 0;
	c->regular = c->listed_regular;
	if (!c->listed_regular) {
		stat_name(c);
		return -1;
	}
	int fd = pyci_openat_read(c->dirfd, c->name, FILE_OPEN_FLAGS, noatime);
	if (fd < 0) {
		c->err = errno;
		stat_name(c);
		return -1;
	}
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | STATX_FLAGS, STATX_BASIC_STATS, &sx) != 0) {
		c->err = errno;
		close(fd);
		stat_name(c);
		return -1;
	}
	stat_from_statx(&c->st, &sx);
	c->have_stat = 1;
	if (is_mount_root(&sx))
		c->mount_root = 1; /* a file mounted over the name: never read */
	else if (!S_ISREG(sx.stx_mode))
		c->regular = 0; /* swapped after listing: never read */
	else
		return fd;
	close(fd);
	return -1;
}

static void plain_cache(peek_cache *c, int *noatime)
{
	int fd = peek_open(c, noatime);
	if (fd < 0)
		return;
	read_rest(c, fd);
	close(fd);
}

static void plain_source(peek_source *s)
{
	s->err = fstatat(s->dirfd, s->name, &s->st, 0) == 0 ? 0 : errno;
}

static void plain_run(peek_cache *c, size_t n, peek_source *s, size_t m, int *noatime)
{
	for (size_t i = 0; i < n; i++)
		plain_cache(&c[i], noatime);
	for (size_t j = 0; j < m; j++)
		plain_source(&s[j]);
}

/* ---- io_uring -------------------------------------------------------------------------------- */

#ifdef PYCI_HAVE_LIBURING

enum { OP_OPEN, OP_READ, OP_CLOSE };

static uint64_t tag(int op, size_t i)
{
	return ((uint64_t)i << 3) | (uint64_t)op;
}

/* Whether the kernel gives a ring with every operation needed. */
static int ring_init(struct peeker *p)
{
	if (io_uring_queue_init(RING_ENTRIES, &p->ring, 0) != 0)
		return 0; /* no io_uring, io_uring_disabled, a seccomp filter, no memory */
	struct io_uring_probe *probe = io_uring_get_probe_ring(&p->ring);
	static const int ops[] = {IORING_OP_OPENAT, IORING_OP_READ, IORING_OP_CLOSE};
	int ok = probe != NULL;
	for (size_t i = 0; ok && i < sizeof(ops) / sizeof(ops[0]); i++)
		ok = io_uring_opcode_supported(probe, ops[i]);
	io_uring_free_probe(probe);
	if (!ok)
		io_uring_queue_exit(&p->ring);
	return ok;
}

static struct io_uring_sqe *sqe(struct peeker *p, int op, size_t i)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&p->ring);
	if (s)
		io_uring_sqe_set_data64(s, tag(op, i));
	return s; /* never NULL: a round queues at most RING_ENTRIES */
}

/*
 * Submit what is queued and reap `want` completions into p's result arrays (the read's
 * into c[i].got, negative errnos kept).  0, or -1: the ring failed (what was submitted may not
 * have completed: the ring is given up).
 */
static int ring_round(struct peeker *p, peek_cache *c, unsigned want)
{
	unsigned got = 0;
	int rc;
	do /* EAGAIN, EBUSY: the kernel is short of room for completions; reaping below makes it */
		rc = io_uring_submit_and_wait(&p->ring, want);
	while (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
	if (rc < 0)
		return -1;
	while (got < want) {
		struct io_uring_cqe *cqe;
		rc = io_uring_wait_cqe(&p->ring, &cqe);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc < 0)
			return -1;
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		size_t i = (size_t)(ud >> 3);
		int res = cqe->res;
		switch ((int)(ud & 7)) {
		case OP_OPEN:
			p->res[i] = res;
			break;
		case OP_READ:
			if (res < 0) {
				c[i].err = -res;
				c[i].got = 0;
				p->read_failed[i] = 1;
			} else {
				c[i].got = (size_t)res;
			}
			break;
		default: /* OP_CLOSE: nothing to learn (close's errors do not unmake a read) */
			break;
		}
		io_uring_cqe_seen(&p->ring, cqe);
		got++;
	}
	return 0;
}

/* The batch through the ring; -1 when the ring failed (then nothing here is to be trusted;
 * descriptors whose opens completed are closed, except after the last round, whose closes may
 * not have run: a leak, never a wrong answer, and only when io_uring_enter fails for good). */
static int ring_run(struct peeker *p, peek_cache *c, size_t n, peek_source *s, size_t m,
		    int *noatime)
{
	unsigned want = 0;
	/* A: the opens (the stats of other names and of sources: plain calls) */
	for (size_t i = 0; i < n; i++) {
		c[i].err = c[i].have_stat = c[i].mount_root = 0;
		c[i].got = 0;
		c[i].regular = c[i].listed_regular;
		p->fd[i] = -1;
		p->res[i] = -ECANCELED; /* until its completion says otherwise */
		p->read_failed[i] = 0;
		p->noatime_used[i] = *noatime;
		if (c[i].listed_regular) {
			io_uring_prep_openat(sqe(p, OP_OPEN, i), c[i].dirfd, c[i].name,
					     FILE_OPEN_FLAGS | (*noatime ? O_NOATIME : 0), 0);
			want++;
		} else {
			p->res[i] = statx(c[i].dirfd, c[i].name, AT_SYMLINK_NOFOLLOW | STATX_FLAGS,
					  STATX_BASIC_STATS, &p->sx[i]) == 0
					    ? 0
					    : -errno;
		}
	}
	if (want && ring_round(p, c, want) != 0) {
		for (size_t i = 0; i < n; i++) /* the opens that completed */
			if (c[i].listed_regular && p->res[i] >= 0)
				close(p->res[i]);
		return -1;
	}
	for (size_t j = 0; j < m; j++)
		plain_source(&s[j]);
	/* a statx of each open descriptor */
	for (size_t i = 0; i < n; i++) {
		if (!c[i].listed_regular) {
			if (p->res[i] == 0) {
				stat_from_statx(&c[i].st, &p->sx[i]);
				c[i].have_stat = 1;
			}
			continue;
		}
		if (p->res[i] < 0)
			continue; /* finished by the plain path below */
		p->fd[i] = p->res[i];
		p->res[i] = statx(p->fd[i], "", AT_EMPTY_PATH | STATX_FLAGS, STATX_BASIC_STATS,
				  &p->sx[i]) == 0
				    ? 0
				    : -errno;
	}
	/* B: the first bytes of each regular file, and every close */
	want = 0;
	for (size_t i = 0; i < n; i++) {
		if (p->fd[i] < 0)
			continue;
		int read_it = 0;
		if (p->res[i] == 0) {
			stat_from_statx(&c[i].st, &p->sx[i]);
			c[i].have_stat = 1;
			if (is_mount_root(&p->sx[i]))
				c[i].mount_root = 1;
			else if (!S_ISREG(p->sx[i].stx_mode))
				c[i].regular = 0;
			else
				read_it = 1;
		}
		if (read_it) {
			struct io_uring_sqe *r = sqe(p, OP_READ, i);
			io_uring_prep_read(r, p->fd[i], c[i].buf, PYCI_PEEK_SIZE, 0);
			r->flags |= IOSQE_IO_HARDLINK;
			want++;
		}
		io_uring_prep_close(sqe(p, OP_CLOSE, i), p->fd[i]);
		want++;
	}
	if (want && ring_round(p, c, want) != 0)
		return -1; /* the closes may not have run: descriptors leak, never a wrong answer */
	/* what the ring could not settle, by the plain path */
	for (size_t i = 0; i < n; i++) {
		if (!c[i].listed_regular) {
			if (p->res[i] != 0)
				stat_name(&c[i]);
			continue;
		}
		int open_err = p->res[i] < 0 && p->fd[i] < 0 ? -p->res[i] : 0;
		if (open_err == EPERM && p->noatime_used[i]) {
			plain_cache(&c[i], noatime); /* O_NOATIME refused: not ours (readopen.h) */
			continue;
		}
		if (open_err) {
			c[i].err = open_err;
			stat_name(&c[i]);
		} else if (p->res[i] < 0) { /* the statx of the descriptor failed */
			c[i].err = -p->res[i];
			c[i].have_stat = 0;
			stat_name(&c[i]);
		} else if (p->read_failed[i] ||
			   (c[i].regular && !c[i].mount_root && c[i].got < PYCI_PEEK_SIZE &&
			    (off_t)c[i].got < c[i].st.st_size)) {
			/* a read that answered an error (EAGAIN where the file cannot wait, or
			 * worse), or a short one: the plain path's answer, whatever it is */
			plain_cache(&c[i], noatime);
		}
	}
	return 0;
}

#endif /* PYCI_HAVE_LIBURING */

struct peeker *peeker_new(pyci_io io)
{
	struct peeker *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
#ifdef PYCI_HAVE_LIBURING
	if (io != PYCI_IO_PLAIN)
		p->ring_ok = ring_init(p);
#else
	(void)io;
#endif
	return p;
}

void peeker_free(struct peeker *p)
{
	if (!p)
		return;
#ifdef PYCI_HAVE_LIBURING
	if (p->ring_ok)
		io_uring_queue_exit(&p->ring);
#endif
	free(p);
}

void peek_run(struct peeker *p, peek_cache *c, size_t n, peek_source *s, size_t m, int *noatime)
{
#ifdef PYCI_HAVE_LIBURING
	if (p->ring_ok && n + m > 1) {
		if (ring_run(p, c, n, s, m, noatime) == 0)
			return;
		io_uring_queue_exit(&p->ring); /* broken: plain calls from now on */
		p->ring_ok = 0;
	}
#endif
	plain_run(c, n, s, m, noatime);
}
