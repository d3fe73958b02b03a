/*
 * srchash.h - the PEP 552 source hash stored in hash-based pycs.
 *
 * SipHash of the raw source bytes, 64-bit output stored little-endian, keyed with k0 = the
 * magic word (including "\r\n") and k1 = 0.  SipHash-2-4 for CPython 3.7-3.10 and PyPy,
 * SipHash-1-3 for CPython 3.11+.  Computed with OpenSSL 3's EVP_MAC "SIPHASH" (size 8).
 */
#ifndef PYCINSPECT_SRCHASH_H
#define PYCINSPECT_SRCHASH_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/magic.h"

typedef struct pyci_hasher pyci_hasher;

/* A hasher owns an OpenSSL MAC context and a read buffer.  NULL with errno on failure:
 * ENOMEM when memory ran out (ours or OpenSSL's), ENOSYS when OpenSSL offers no SIPHASH.
 * Not thread-safe; one per thread.  Every function here that fails because an OpenSSL call
 * did empties the calling thread's OpenSSL error queue (ERR_get_error) after reading it. */
pyci_hasher *pyci_hasher_new(void);

/* Frees h; NULL is fine. */
void pyci_hasher_free(pyci_hasher *h);

/* The SipHash rounds (c, d) the interpreter of magic m uses: pyci_magic_siphash_rounds, here
 * too for callers that hash. */
void pyci_srchash_rounds(const pyci_magic_info *m, int *c_rounds, int *d_rounds);

/*
 * Hash len bytes at data with key word k0.  Writes the 8 stored bytes to out.
 * Returns 0, or -1 with errno: ENOMEM if OpenSSL could not allocate, else EIO if it failed.
 */
int pyci_srchash_buf(pyci_hasher *h, uint32_t k0, int c_rounds, int d_rounds, const void *data,
		     size_t len, uint8_t out[8]);

/*
 * Hash everything read from fd until end of file (reads from the current offset).  *nread
 * receives the number of bytes hashed (may be NULL).  Returns 0, or -1 with errno from read(),
 * or from OpenSSL as pyci_srchash_buf says.
 */
int pyci_srchash_fd(pyci_hasher *h, uint32_t k0, int c_rounds, int d_rounds, int fd, uint8_t out[8],
		    uint64_t *nread);

#endif
