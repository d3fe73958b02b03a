/*
 * pyworker.h - a Python interpreter kept running as a compiler: verify's source of truth.
 *
 * A worker is an interpreter started once with a small driver program given by -c (written to
 * run on CPython 2.7 and every 3.x, PyPy and Pyodide), the interpreter's isolating options
 * chosen by the caller (-I -S, or -E -s -S where there is no -I) and "-W ignore" (compile()'s
 * warnings would only fill stderr).  The driver imports nothing but built-in and frozen modules
 * (sys, marshal, posix, the import system's MAGIC_NUMBER), drops the current directory from
 * sys.path before that, and then only compiles: for each request, compile(source, filename,
 * "exec", 0, True[, optimize]) exactly as importlib's source_to_code does (source bytes, so the
 * coding cookie and BOM are the compiler's business), and it answers with marshal.dumps of the
 * code, or with the exception it raised.  It never imports or runs the code it compiles.
 *
 * The protocol, over a socket pair on the interpreter's stdin and stdout (a socket, so that a
 * dead worker is an error from send(2) with MSG_NOSIGNAL, not a SIGPIPE): frames of a 4-byte
 * little-endian length, then the payload.
 *   worker, first:  'H', MAGIC_NUMBER (4 bytes), 1 if compile() takes optimize else 0,
 *                   sys.flags.optimize, then "IMPL MAJOR.MINOR.MICRO" (ASCII)
 *   request:        optimize level (1 byte), filename length (4 bytes LE), filename (UTF-8,
 *                   surrogatepass; bytes for Python 2), the source bytes
 *   answer:         'C' marshal.dumps(code), or 'E' "ExceptionName: message" (UTF-8)
 * The driver exits at the end of its input.  Every wait has a deadline (poll(2)); a worker that
 * crashes, exits, hangs past its deadline or answers anything else is killed (SIGKILL) and
 * reaped, and the call says what happened, with the last line the interpreter wrote to stderr.
 *
 * No global state: a worker is used by one thread at a time; any number may run at once.
 */
#ifndef PYCINSPECT_PYWORKER_H
#define PYCINSPECT_PYWORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pycinspect/buf.h"

typedef struct pyci_pyworker pyci_pyworker;

/* What the interpreter said of itself in its first frame. */
typedef struct pyci_pyinfo {
	char impl[16]; /* sys.implementation.name: "cpython", "pypy" */
	int major, minor, micro;
	uint32_t magic_word;   /* MAGIC_NUMBER's 4 bytes as a little-endian word */
	int per_call_optimize; /* compile() takes optimize (3.2+): any level per request */
	int optimize;          /* sys.flags.optimize: the only level when it does not */
} pyci_pyinfo;

/* The driver program, as given to -c (for a caller that wants to show or test it). */
extern const char pyci_pyworker_driver[];

/*
 * Start argv[0] (a path, run as it is: no PATH search) with the options argv[1..] (NULL-ended),
 * followed by "-W", "ignore", "-c" and the driver, in the directory "/", and wait at most
 * timeout_ms for its first frame.  Returns the worker, or NULL with errno and, but for ENOMEM,
 * why in `why` (appended, without a final newline: "exited with status 2: ls: invalid option --
 * 'I'"): ECHILD, it exited or was killed; ETIMEDOUT, it did not answer in time; EPROTO, it
 * answered something else than the driver's first frame; posix_spawn's error (ENOENT, EACCES,
 * ENOEXEC...) when it could not be run; ENOMEM.
 */
pyci_pyworker *pyci_pyworker_start(const char *const *argv, int timeout_ms, pyci_buf *why);

const pyci_pyinfo *pyci_pyworker_info(const pyci_pyworker *w);

/*
 * Compile src[0 .. len) as the file `filename` (fnlen bytes) at optimisation level `optimize`,
 * waiting at most timeout_ms, and answers longer than max_answer bytes are refused.  Returns
 * 0 with the marshalled code in *out (replacing its contents), 1 when the interpreter refused
 * the source (*out: "SyntaxError: ...", as Python said it), -1 when the worker failed: *out
 * says how, the worker is dead (killed and reaped) and can only be stopped (errno as for
 * pyci_pyworker_start), or errno ENOMEM when our memory ran out (the worker then still runs).
 */
int pyci_pyworker_compile(pyci_pyworker *w, int optimize, const char *filename, size_t fnlen,
			  const uint8_t *src, size_t len, int timeout_ms, size_t max_answer,
			  pyci_buf *out);

/* 1 when a call failed and the worker is dead, else 0. */
int pyci_pyworker_dead(const pyci_pyworker *w);

/* Close the worker's input, so that it starts to exit (pyci_pyworker_stop then waits less):
 * for a caller stopping many at once.  NULL is allowed. */
void pyci_pyworker_close(pyci_pyworker *w);

/* End the worker: close its input (the driver exits), give it a moment, then SIGKILL; reap
 * it; free everything.  NULL is allowed. */
void pyci_pyworker_stop(pyci_pyworker *w);

#endif
