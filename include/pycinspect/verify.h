/*
 * verify.h - is the code in a cache the code its source compiles to.
 *
 * A header can lie: CPython runs a cache whose header matches its source without ever looking
 * at the code (docs/security.md).  pyci_verify decodes the cache's body into a tree
 * (marshal.h), has the source compiled by an interpreter of the cache's magic number, at the
 * optimisation level the cache's name says, with the file name the cache records (co_filename
 * of its top code object, so that the one field that legitimately differs between two compiles
 * of the same source is the same), decodes the answer the same way and compares the two trees
 * exactly (codecmp.h).  The compiling is the caller's (a pyci_verify_compile callback: an
 * interpreter worker, pyworker.h), so that this module stays a pure function of its inputs.
 *
 * Fail closed: only `matches` says the code is the source's.  Everything this cannot decide is
 * `unverifiable`, with why: no source, a header or a body that does not decode, no interpreter
 * of that magic number, a source the interpreter refuses (SyntaxError), an interpreter that
 * failed.  A .pyo name (2.x, and 3.2-3.4 __pycache__) does not say -O from -OO: both levels
 * are tried; an interpreter that differs is not the last word when another of the same magic
 * number is there (a micro release may compile differently): each is tried in turn, and the
 * first difference found is the one reported when none matches.
 */
#ifndef PYCINSPECT_VERIFY_H
#define PYCINSPECT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/buf.h"
#include "pycinspect/cachename.h"
#include "pycinspect/codecmp.h"
#include "pycinspect/codenames.h"
#include "pycinspect/header.h"
#include "pycinspect/scan.h"

typedef enum {
	PYCI_VERIFY_MATCHES = 0,
	PYCI_VERIFY_DIFFERS,
	PYCI_VERIFY_UNVERIFIABLE,
	PYCI_VERIFY_COUNT
} pyci_verify_verdict;

/* "matches", "differs", "unverifiable".  Static storage. */
const char *pyci_verify_name(pyci_verify_verdict v);

/*
 * Compile src[0 .. len) as the file fn[0 .. fnlen) at level `optimize`, with the attempt-th
 * interpreter (0, 1, ...) of magic word `magic`.  Returns
 *    0  compiled: the marshalled code in *out;
 *    1  the interpreter refused the source: its exception ("SyntaxError: ...") in *out;
 *    2  there is no attempt-th interpreter (for attempt 0: *out says why there is none);
 *   -1  the interpreter failed (crashed, timed out, nonsense): *out says how; with errno
 *       ENOMEM, our memory ran out instead (pyci_verify then fails with ENOMEM).
 * *who is set, for 0 and 1 and -1, to the caller's description of the interpreter, handed back
 * in pyci_verify_result.who.  Called from the thread that called pyci_verify.
 */
typedef int (*pyci_verify_compile)(void *ctx, uint32_t magic, unsigned attempt, int optimize,
				   const char *fn, size_t fnlen, const uint8_t *src, size_t len,
				   pyci_buf *out, const void **who);

typedef struct pyci_verify_input {
	const pyci_header *header; /* the cache's header, decoded from the start of file */
	const uint8_t *file;       /* the whole cache file */
	size_t len;
	const uint8_t *src; /* the source, or NULL when there is none */
	size_t srclen;
	const char *no_source; /* with src NULL: why (e.g. "no source: orphaned") */
	const int *levels;     /* the optimisation levels to try (pyci_verify_levels) */
	size_t nlevels;
	pyci_verify_compile compile;
	void *ctx;
} pyci_verify_input;

typedef struct pyci_verify_result {
	pyci_verify_verdict verdict;
	pyci_buf why;       /* unverifiable: why, one line */
	pyci_codediff diff; /* differs: where, with both values (the cache's is a_value) */
	const void *who;    /* the interpreter that decided (compile's *who), or NULL */
	int level;          /* the level it compiled at, or -1 */
	int have_names;     /* names holds the cache's names (it did not match, and its body
			     * decoded) */
	pyci_codenames names;
} pyci_verify_result;

/*
 * Verify one cache.  Fills *out (free it with pyci_verify_result_free) and returns 0, or -1
 * with errno ENOMEM (or EIO from SHA-256) when the work itself failed (*out is then empty).
 */
int pyci_verify(const pyci_verify_input *in, pyci_verify_result *out);

void pyci_verify_result_free(pyci_verify_result *r);

/*
 * The optimisation levels a cache's name says its code was compiled at, into levels[0..2):
 * 0 for NAME.pyc (in __pycache__ or legacy), N for NAME.TAG.opt-N.pyc (2 for N > 2: -OOO and
 * PYTHONOPTIMIZE=3 write opt-3, whose code is opt-2's), 1 then 2 for a .pyo (-O or -OO).
 * `name` is the file name cn was parsed from.  Returns how many (1 or 2), or 0 when the name
 * says no level (opt-0, opt-x: no import writes them).
 */
size_t pyci_verify_levels(const pyci_cache_name *cn, const char *name, int levels[2]);

/* The largest cache or source pyci_verify_read reads (larger: unverifiable, "too large"). */
#define PYCI_VERIFY_MAX_FILE ((size_t)256 << 20)

/* What pyci_verify_read read for one cache. */
typedef struct pyci_verify_files {
	uint8_t *file; /* the whole cache, or NULL when it could not be read (why says) */
	size_t len;
	uint8_t *src; /* its source, or NULL: no source (no_source), or unreadable (why) */
	size_t srclen;
	const char *no_source; /* src NULL and why empty: why there is no source (static) */
	pyci_buf why;          /* the cache or its source could not be read: why */
} pyci_verify_files;

/*
 * Read the cache of record r (through r->dirfd, never following a symlink, as the scan judged
 * it) and its source (through r->srcdirfd, followed as CPython follows it), each whole, each
 * at most PYCI_VERIFY_MAX_FILE bytes; on the thread of the scan's record callback, while the
 * directories are open.  What cannot be read is said in f->why; no source, in f->no_source.
 * 0, or -1 (ENOMEM; f is then empty).  Free f with pyci_verify_files_free.
 */
int pyci_verify_read(const pyci_record *r, pyci_verify_files *f);

void pyci_verify_files_free(pyci_verify_files *f);

#endif
