/*
 * sslerr.h - the errno for an OpenSSL call that failed, read from OpenSSL's error queue.
 *
 * OpenSSL does not set errno: a failed call leaves one or more entries on the calling thread's
 * error queue.  The library's convention is -1 (or NULL) with errno, and the CLI prints
 * strerror(errno), so srchash.c and dump.c turn each failure into an errno here.  The one cause
 * worth telling apart is a failed allocation, which the queue records as ERR_R_MALLOC_FAILURE:
 * OpenSSL 3.1 and later raise it in CRYPTO_malloc itself, 3.0 in most of the functions whose
 * allocation failed (not in providers: a provider that cannot allocate its context shows as
 * "initialization error", which dump.c deals with).  It may sit below other entries that it
 * caused (a fetch that could not allocate also reports the algorithm "unsupported"), so the
 * whole queue is read.  When the queue says nothing of memory (or is empty: the queue's own
 * state could not be allocated), the errno the caller chose for that call is used.
 *
 * The queue is emptied, so that what this call left is not read again by the next failure on
 * the thread nor by a caller that inspects the queue.  Internal to the library (not installed).
 */
#ifndef PYCI_SSLERR_H
#define PYCI_SSLERR_H

#include <errno.h>

#include <openssl/err.h>

/* After an OpenSSL call failed: ENOMEM if the thread's error queue holds an allocation
 * failure, else `otherwise`.  Empties the queue.  Sets errno to the result and returns it. */
static inline int pyci_ssl_errno(int otherwise)
{
	int e = otherwise;
	unsigned long code;
	while ((code = ERR_get_error()) != 0) {
		if (!ERR_SYSTEM_ERROR(code) && ERR_GET_REASON(code) == ERR_R_MALLOC_FAILURE)
			e = ENOMEM;
	}
	errno = e;
	return e;
}

#endif
