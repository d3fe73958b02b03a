/*
 * dump.h - everything that can be known about one cache without running Python, as JSON.
 *
 * Given a record from the scan engine (which found the cache, decoded its header and judged
 * it), read the whole file again through its directory descriptor: its metadata, SHA-256
 * (OpenSSL EVP) and XXH3-128 (xxHash) of the file and XXH3-128 of the body after the header (the
 * same code compiled at different times groups together), the header field by field, the source
 * it maps to with the SipHash its header would need, the verdict, the same-second hint, and the
 * code objects (marshal.h).  The object's fields are documented in docs/dump.md.
 */
#ifndef PYCINSPECT_DUMP_H
#define PYCINSPECT_DUMP_H

#include "pycinspect/buf.h"
#include "pycinspect/scan.h"

/* Bodies larger than this are hashed but not decoded (error "body too large to decode"). */
#define PYCI_DUMP_MAX_BODY (256u << 20)

typedef struct pyci_dump_options {
	int consts;     /* include the single-value constants of every code object (str, bytes,
			 * numbers, None, True, False, Ellipsis; pyci_mconst) */
} pyci_dump_options;

/*
 * Append the JSON object for r (no newline) to b.  Problems reading the file or decoding it
 * become fields of the object ("read_error", "code.error"), not failures.  Returns 0 when the
 * file was read and its code decoded, 1 when the object reports such a problem, -1 with errno
 * ENOMEM.
 */
int pyci_dump_json(pyci_buf *b, const pyci_record *r, const pyci_dump_options *opt);

#endif
