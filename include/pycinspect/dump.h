/*
 * dump.h - everything that can be known about one cache without running Python, as JSON.
 *
 * Given a record from the scan engine (which found the cache, decoded its header and judged
 * it), read the whole file again through its directory descriptor: its metadata, SHA-256
 * (OpenSSL EVP) and XXH3-128 (xxHash) of the file and XXH3-128 of the body after the header (the
 * same code compiled at different times groups together), the header field by field, the source
 * it maps to with the SipHash its header would need, the verdict, the same-second hint, and the
 * code objects (marshal.h).  The object's fields are documented in docs/dump.md.  Its memory
 * has a bound known before the file is opened (pyci_dump_bound), whatever the file holds.
 */
#ifndef PYCINSPECT_DUMP_H
#define PYCINSPECT_DUMP_H

#include "pycinspect/buf.h"
#include "pycinspect/scan.h"

/* Bodies larger than this are hashed but not decoded (error "body too large to decode"). */
#define PYCI_DUMP_MAX_BODY (256u << 20)

/* The JSON of a code tree stops at the last code object that fits in 64 bytes per body byte
 * plus 1 MiB, or in this, whichever is less (error "code tree too large to print"). */
#define PYCI_DUMP_MAX_TREE_JSON ((size_t)64 << 20)

/* pyci_dump_bound's largest value, for paths of a cache and its source that together take less
 * than 8 KiB: 2 MiB for reading and hashing, the body (PYCI_DUMP_MAX_BODY), the decoder
 * (PYCI_MARSHAL_MAX_MEMORY), and twice the object's JSON (the tree, 64 KiB and the paths). */
#define PYCI_DUMP_MAX_MEMORY ((size_t)515 << 20)

typedef struct pyci_dump_options {
	int consts; /* include the single-value constants of every code object (str, bytes,
		     * numbers, None, True, False, Ellipsis; pyci_mconst) */
} pyci_dump_options;

/*
 * Append the JSON object for r (no newline) to b.  Problems reading the file or decoding it
 * become fields of the object ("read_error", "code.error"), not failures.  Returns 0 when the
 * file was read and its code decoded, 1 when the object reports such a problem, -1 with errno
 * ENOMEM and b as it was.
 */
int pyci_dump_json(pyci_buf *b, const pyci_record *r, const pyci_dump_options *opt);

/*
 * The most memory pyci_dump_json(b, r, ...) allocates, b's growth included when b starts empty,
 * known before the file is opened (malloc's own overhead aside): 2 MiB for reading and hashing;
 * the body after the header, held only when it will be decoded and then at most the size the
 * scan saw and PYCI_DUMP_MAX_BODY; the decoder's pyci_marshal_bound of it; and twice (b grows
 * by doubling) the object's JSON: the tree's bound (64 bytes per body byte plus 1 MiB, at most
 * PYCI_DUMP_MAX_TREE_JSON), 64 KiB, and 6 bytes per byte of the two paths.  At most
 * PYCI_DUMP_MAX_MEMORY for paths under 8 KiB.  A caller running several at once can hold a
 * budget with it (pycinspect dump does: docs/dump.md).
 */
size_t pyci_dump_bound(const pyci_record *r);

#endif
