/*
 * record.h - the machine forms of a judged cache: its version label and its JSON line, and the
 * running summary of a scan.  The CLI decides where they go; nothing here writes to a file.
 */
#ifndef PYCINSPECT_RECORD_H
#define PYCINSPECT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/buf.h"
#include "pycinspect/json.h"
#include "pycinspect/scan.h"

/*
 * The version a record's magic says, as "3.12" or "pypy3.9", into buf (NUL-terminated).
 * Returns 0, or -1 (buf set to "") when the magic is unknown.
 */
int pyci_record_version(const pyci_record *r, char *buf, size_t n);

/*
 * The members of r's "type":"pyc" object ("type" first, then "path" .. "optimization", then
 * "archive" for a member of an archive, as docs/json.md lists them), written into the object
 * open in w, after whatever members it already has.  A failure is w's (pyci_jw_finish says it).
 */
void pyci_record_members(pyci_jw *w, const pyci_record *r);

/* The member "archive" of a record of an archive's member (r->member: archive.h): the archive's
 * path, its kind, the member's path in it, and for an image the layer it comes from.  A
 * failure is w's. */
struct pyci_member;
void pyci_record_member(pyci_jw *w, const struct pyci_member *m);

/* The member "reasons": the texts of the reason bits (PYCI_REASON_BIT) in their order, as scan,
 * clean and dump write them.  A failure is w's. */
void pyci_record_reasons(pyci_jw *w, uint64_t reasons);

/*
 * Append the "type":"pyc" JSON object of r (no newline) to b: pyci_record_members in an object
 * of its own.  `extra` is appended verbatim before the closing brace when not NULL (e.g.
 * ,"action":"removed"; new code adds its members with the writer instead).  0, or -1 (ENOMEM)
 * with b as it was.
 */
int pyci_record_json(pyci_buf *b, const pyci_record *r, const char *extra);

typedef struct pyci_tally {
	uint64_t count, bytes;
} pyci_tally;

typedef struct pyci_version_tally {
	pyci_target key;  /* impl PYCI_IMPL_UNKNOWN for unknown magic numbers */
	char version[24]; /* "3.12", "pypy3.9", or "unknown" */
	pyci_tally total;
	pyci_tally status[PYCI_STATUS_COUNT];
} pyci_version_tally;

typedef struct pyci_summary {
	pyci_tally total;
	pyci_tally status[PYCI_STATUS_COUNT];
	uint64_t foreign;             /* records with foreign set, whatever their status */
	pyci_version_tally *versions; /* sorted by version when read through pyci_summary_sort */
	size_t nversions, cap;
	uint64_t errors; /* directories that could not be walked (an unreadable cache
			  * is a record: invalid, "cannot be read") */
	uint64_t mounts; /* mount points not crossed */
} pyci_summary;

/* clang-format off: an initializer, not a block */
#define PYCI_SUMMARY_INIT                             \
	{                                             \
		{0, 0}, {{0, 0}}, 0, NULL, 0, 0, 0, 0 \
	}
/* clang-format on */

/* Count r.  0, or -1 (ENOMEM).  Never fails after pyci_summary_reserve succeeded. */
int pyci_summary_add(pyci_summary *s, const pyci_record *r);

/* Make room for one more version, so that the next pyci_summary_add cannot fail (for a caller
 * that must count what it did after doing it, with no allocation in between).  0, or -1
 * (ENOMEM). */
int pyci_summary_reserve(pyci_summary *s);

/* Sort the per-version rows: CPython by version, then PyPy, then unknown. */
void pyci_summary_sort(pyci_summary *s);

void pyci_summary_free(pyci_summary *s);

/* The per-status and per-version tallies as two members, "by_status":{..} and
 * "by_version":{..}, written into the object open in w.  A failure is w's (pyci_jw_finish). */
void pyci_summary_members(pyci_jw *w, const pyci_summary *s);

/* Append the same two members as text: "by_status":{..},"by_version":{..} (no braces around
 * the pair).  0, or -1 (ENOMEM) with b as it was. */
int pyci_summary_json(pyci_buf *b, const pyci_summary *s);

#endif
