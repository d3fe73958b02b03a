/*
 * peek.h - the I/O of judging caches, in batches: for each cache, open it, stat the open file,
 * read its first PYCI_PEEK_SIZE bytes and close it (or, for what was not listed as a regular
 * file, only stat its name); for each source, stat it.
 *
 * Two ways to do the same calls with the same results: plain system calls, one after another,
 * or io_uring (liburing), where the opens, reads and closes of a batch cost two kernel entries
 * instead of three per cache.  A virtual machine with page-table isolation pays about a microsecond per entry, which
 * was most of scan's time (docs/performance.md).  The ring is used when the kernel has it and
 * every operation needed (probed once, as bfs's ioq.c does); otherwise, or when asked, plain
 * calls.  The stats are plain calls either way (peek.c says why).  Either way: no symlink is followed for a cache (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW), a
 * cache is stat'ed on the descriptor its bytes are read from, and what is not a regular file
 * after that stat is never read.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_PEEK_H
#define PYCI_PEEK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pycinspect/header.h"
#include "pycinspect/scan.h"

/* One cache of a batch. */
typedef struct peek_cache {
	int dirfd;          /* in: the directory it is in */
	const char *name;   /* in: its name there */
	int listed_regular; /* in: listed as a regular file (DT_REG): opened and read */
	int regular;        /* out: still a regular file when opened (else never read) */
	int err;            /* out: errno of opening, stat'ing or reading it, else 0 */
	int have_stat;      /* out: st is valid (from the open file, or its name) */
	struct stat st;     /* out: dev, ino, mode, size, mtime */
	int mount_root;     /* out: the open file is a mount point: not read */
	size_t got;         /* out: bytes read into buf */
	uint8_t buf[PYCI_PEEK_SIZE];
} peek_cache;

/* One source of a batch. */
typedef struct peek_source {
	int dirfd;        /* in */
	const char *name; /* in: NAME.py */
	int err;          /* out: 0, or the errno of stat(2) */
	struct stat st;   /* out, when err is 0 (symlinks followed, as CPython does) */
} peek_source;

struct peeker;

/* A peeker doing its I/O as io asks (PYCI_IO_AUTO: the ring when the kernel allows it).  NULL
 * on ENOMEM.  One per thread. */
struct peeker *peeker_new(pyci_io io);
void peeker_free(struct peeker *p);

/*
 * Do the I/O of n caches and m sources (each at most PEEK_MAX_BATCH), filling their out
 * fields.  *noatime as in readopen.h.  Never fails: every failure is an err of its entry (a
 * ring that breaks mid-way is given up for plain calls, for this batch and the next ones).
 */
#define PEEK_MAX_BATCH 32
void peek_run(struct peeker *p, peek_cache *c, size_t n, peek_source *s, size_t m, int *noatime);

/*
 * The plain path's first half, for a caller that reads more than the first bytes of one cache
 * (a Jython class file): fills c's out fields as peek_run would, but for got and buf, and
 * returns the descriptor its stat was taken from, open for reading at offset 0, when c is a
 * regular file that is not a mount point (the caller reads it and closes it); -1 otherwise,
 * with nothing left open (c->err, c->regular, c->mount_root say why).
 */
int peek_open(peek_cache *c, int *noatime);

#endif
