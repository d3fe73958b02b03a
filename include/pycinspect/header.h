/*
 * header.h - decode the fixed header that precedes the marshalled code in a .pyc.
 *
 * Layouts (all fields little-endian uint32):
 *   8 bytes  (before magic 3210):  magic, mtime
 *   12 bytes (3210-3391):          magic, mtime, source size mod 2^32
 *   16 bytes (3392+, PEP 552):     magic, flags, then mtime + size (flags bit 0 clear)
 *                                  or an 8-byte SipHash of the source (bit 0 set)
 * Flags are treated as CPython's _classify_pyc does: any bit above 1 is invalid, and bit 1 alone
 * is a timestamp pyc, since bit 1 ("check_source") is only read when bit 0 is set.
 */
#ifndef PYCINSPECT_HEADER_H
#define PYCINSPECT_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/magic.h"

/* The largest header. */
#define PYCI_HEADER_MAX 16

/* Bytes to read from the start of a cache: any header and the first byte of the code. */
#define PYCI_PEEK_SIZE 17

typedef enum {
	PYCI_MODE_NONE = 0, /* header not decoded far enough to tell */
	PYCI_MODE_TIMESTAMP,
	PYCI_MODE_CHECKED_HASH,   /* flags 3 */
	PYCI_MODE_UNCHECKED_HASH, /* flags 1 */
} pyci_mode;

typedef enum {
	PYCI_HDR_OK = 0,
	PYCI_HDR_EMPTY,       /* 0 bytes */
	PYCI_HDR_SHORT_MAGIC, /* 1-3 bytes: not even a magic number */
	PYCI_HDR_BAD_MAGIC,   /* not a magic number of any known Python */
	PYCI_HDR_TRUNCATED,   /* known magic, but fewer bytes than its header */
	PYCI_HDR_BAD_FLAGS,   /* PEP 552 flags with a bit above bit 1 */
	PYCI_HDR_NO_BODY,     /* a complete header and nothing after it */
	PYCI_HDR_NOT_CODE,    /* what follows the header is not a marshalled code object */
	PYCI_HDR_SHORT_BODY,  /* fewer bytes after the header than the smallest code object */
} pyci_header_status;

typedef struct pyci_header {
	pyci_header_status status;
	pyci_magic_info magic; /* valid when status is not EMPTY, SHORT_MAGIC or BAD_MAGIC */
	size_t size;           /* expected header size: 8, 12 or 16; 0 if magic unknown */
	uint32_t flags;        /* PEP 552 flags (0 for older layouts) */
	pyci_mode mode;
	int has_mtime; /* timestamp pyc: mtime present */
	uint32_t mtime;
	int has_source_size; /* 12- and 16-byte timestamp layouts */
	uint32_t source_size;
	int has_hash;    /* hash-based pyc */
	uint8_t hash[8]; /* as stored: the little-endian SipHash output */
} pyci_header;

/*
 * Decode a header from the first len bytes of a file whose total size is file_size
 * (len <= file_size; bytes beyond PYCI_PEEK_SIZE are ignored).  Always fills *out; returns
 * out->status.  Never fails otherwise.
 *
 * The code after the header is checked only as far as these bytes allow: its first byte must
 * be the marshal code type ('c', 0x63, with or without FLAG_REF 0x80; 'C' for 1.0-1.2), and the
 * file must hold at least the smallest code object of that version's layout (CPython fails the
 * import on such a body, it does not recompile).  A full decode is the marshal reader's job.
 */
pyci_header_status pyci_header_parse(const uint8_t *buf, size_t len, uint64_t file_size,
				     pyci_header *out);

/* A short lowercase name for a status ("ok", "empty", "truncated", ...). Static storage. */
const char *pyci_header_status_name(pyci_header_status st);

/* "timestamp", "checked-hash", "unchecked-hash", or NULL for PYCI_MODE_NONE. */
const char *pyci_mode_name(pyci_mode mode);

#endif
