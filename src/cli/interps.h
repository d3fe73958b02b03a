/*
 * interps.h - the interpreters of one `verify` run: the ones given with --python, the ones
 * found on PATH and in pyenv's versions (pyfind.h), what each said it is, and the workers
 * (pyworker.h) each verify thread keeps of them.
 *
 * The list is shared by the threads behind one lock; what they are is asked once, lazily: a
 * --python entry when a cache of its version first needs it, the candidates found by name all
 * at once when a cache of a version no --python names first needs one.  An interpreter is
 * chosen for a cache by the exact magic number it reports (so PyPy is never asked for a CPython
 * cache, nor a 3.12 release for a 3.12 alpha's), and --python entries of the cache's version
 * replace the search.  Workers are pooled per interpreter (and per level, for interpreters
 * whose compile() takes none): a thread borrows an idle one for one compile and gives it back,
 * and starts another only when none is idle and fewer than max_workers run; an interpreter
 * slow to start (Pyodide: seconds) is waited for rather than started again while one of its
 * workers is busy.  An interpreter that fails three times in a row, or cannot start, is given
 * up for the rest of the run, with why.
 */
#ifndef PYCINSPECT_CLI_INTERPS_H
#define PYCINSPECT_CLI_INTERPS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pycinspect/buf.h"
#include "pycinspect/json.h"
#include "pycinspect/pyworker.h"
#include "pycinspect/target.h"

struct interp {
	char *path;
	const char *from; /* "--python", "pyenv" or "PATH" */
	pyci_target want; /* --python: the version it was given for */
	int probed;       /* asked what it is */
	int probing;      /* being asked, by a thread that let the lock go */
	int usable;       /* it said so (info is valid) */
	int broken;       /* given up: why says why */
	pyci_pyinfo info;
	pyci_buf why;
	unsigned long compiles;
	unsigned fails_in_a_row;
	int64_t start_ms; /* how long its probe took to start */
	/* workers by level (0 only, when compile() takes a level): idle ones, and how many run */
	pyci_pyworker **idle[3];
	size_t nidle[3], running[3];
};

struct interps {
	pthread_mutex_t mu;
	pthread_cond_t returned; /* a worker went back to idle, or one ended */
	struct interp **v;
	size_t n;
	int discovered, discovering;
	int timeout_ms;     /* --timeout: start, or compile one file */
	size_t max_workers; /* of one interpreter at one level: the threads */
};

/* Set up s (empty; nothing is run).  0, or -1 (said). */
int interps_init(struct interps *s, int timeout_ms);

/* --python VERSION=PATH.  0, or -1 (a bad value, said). */
int interps_add_given(struct interps *s, const char *spec);

/* Stop every worker (their inputs closed first, so that they exit together), free s. */
void interps_free(struct interps *s);

/* "CPython 3.12.1" for an interpreter that said what it is, into buf. */
void interp_label(const struct interp *i, char *buf, size_t n);

/* pyci_verify_compile, ctx the struct interps; *who is the struct interp.  Any number of
 * threads at once. */
int interps_compile(void *ctx, uint32_t magic, unsigned attempt, int optimize, const char *fn,
		    size_t fnlen, const uint8_t *src, size_t len, pyci_buf *out, const void **who);

/* The summary's interpreters: those given, and those that compiled or failed.  Text lines into
 * b; JSON: an array "interpreters" into the object open in w. */
int interps_summary_text(struct interps *s, pyci_buf *b);
void interps_summary_members(struct interps *s, pyci_jw *w);

#endif
