/*
 * magic.h - the history of .pyc magic numbers, as a table.
 *
 * Every magic number CPython wrote from 1.0 to 3.16-dev, the -U variants of 1.6-2.7, and PyPy's.
 * The rows live in data/magic_numbers.tsv; src/magic_table.inc is generated from it.  Lookups try
 * the exact number first, then the documented ranges (an unknown number inside a known 3.x range
 * is "3.x-range, unknown", not an error).
 */
#ifndef PYCINSPECT_MAGIC_H
#define PYCINSPECT_MAGIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	PYCI_IMPL_UNKNOWN = 0,
	PYCI_IMPL_CPYTHON,
	PYCI_IMPL_PYPY,
	PYCI_IMPL_JYTHON, /* no magic number: its caches are Java class files (jclass.h) */
} pyci_impl;

/* How a magic number was recognised. */
typedef enum {
	PYCI_MAGIC_EXACT = 0, /* a row of the table */
	PYCI_MAGIC_UNICODE,   /* a row + 1: the -U variant of CPython 1.6-2.7 */
	PYCI_MAGIC_RANGE,     /* inside a version's range, but never assigned upstream */
} pyci_magic_match;

typedef struct pyci_magic_info {
	uint32_t word;   /* the four bytes as a little-endian word */
	uint32_t number; /* the 16-bit magic, or the whole word for 1.0-1.2 */
	pyci_impl impl;
	int major, minor; /* language version the magic belongs to */
	pyci_magic_match match;
	bool final;             /* written by a final (x.y.z) release, exact match only */
	const char *label;      /* "3.12b1", "2.7a0", "PyPy3 (3.9)"; static storage */
	const char *final_for;  /* "3.12.x" or "" ; static storage */
	const char *note;       /* free text from the table, or ""; static storage */
	uint32_t version_final; /* the word major.minor's final release writes; 0: none yet */
} pyci_magic_info;

/* One row of the table. */
typedef struct pyci_magic_row {
	uint32_t word;
	pyci_impl impl;
	int major, minor;
	const char *label;
	const char *final_for;
	const char *note;
	uint32_t version_final; /* as in pyci_magic_info */
} pyci_magic_row;

/*
 * Identify the first four bytes of a .pyc.
 * Returns 0 and fills *out when the bytes are a magic number of a known implementation (exact,
 * -U variant or inside a known range); -1 when they are not a Python magic number (*out is then
 * zeroed but for word and number).
 */
int pyci_magic_lookup(const uint8_t bytes[4], pyci_magic_info *out);

/* The same, from the little-endian word. */
int pyci_magic_lookup_word(uint32_t word, pyci_magic_info *out);

/*
 * The SipHash rounds (c, d) with which the interpreter of m hashes sources for PEP 552 caches:
 * SipHash-1-3 for CPython 3.11 and later (_Py_KeyedHash switched to siphash13), SipHash-2-4
 * for CPython 3.7-3.10 and PyPy.
 */
void pyci_magic_siphash_rounds(const pyci_magic_info *m, int *c_rounds, int *d_rounds);

/* The table, sorted by word; *count receives the number of rows.  Static storage. */
const pyci_magic_row *pyci_magic_table(size_t *count);

/*
 * The final-release magic word of CPython major.minor, or of PyPy3 for its language version.
 * Returns 0 and sets *word when there is one; -1 when none is known (e.g. 3.16-dev).
 */
int pyci_magic_final_word(pyci_impl impl, int major, int minor, uint32_t *word);

/*
 * 1 if the final release impl major.minor.patch writes row r's number, else 0 (always 0 for a
 * row no final release writes).  Read from r->final_for, a comma-separated list of "A.B" or
 * "A.B.x" (every release of A.B), "A.B.Z" (that release) and "A.B.Z+" (that one and later),
 * optionally followed by " (comment)": 3.5.0 and 3.5.1 write 3350, 3.5.2 and later 3351.
 * PyPy's rows name the language version it implements ("3.9": every PyPy3.9).
 */
int pyci_magic_release_writes(const pyci_magic_row *r, pyci_impl impl, int major, int minor,
			      int patch);

/* "cpython", "pypy", "jython", or NULL for PYCI_IMPL_UNKNOWN. */
const char *pyci_impl_name(pyci_impl impl);

/* Header size in bytes for this magic: 8 (before 3210), 12 (3210-3391) or 16 (3392+). */
size_t pyci_magic_header_size(const pyci_magic_info *m);

#endif
