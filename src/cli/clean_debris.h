/*
 * clean_debris.h - what `clean --debris` says of debris: the members of a "debris" record, and
 * the tallies per topic that its summary gives (cmd_clean.c acts and writes the records).
 */
#ifndef PYCINSPECT_CLI_CLEAN_DEBRIS_H
#define PYCINSPECT_CLI_CLEAN_DEBRIS_H

#include "pycinspect/buf.h"
#include "pycinspect/debris.h"
#include "pycinspect/json.h"

/* What was (or would be) removed of one topic. */
struct debris_count {
	unsigned long long files, bytes, dirs;
};

/* The debris of a run: the topics asked for, and what went of each. */
struct debris_tally {
	unsigned topics;                 /* --debris: bits of pyci_debris_topics() */
	struct debris_count topic[32];   /* per topic, by its index */
	unsigned long long failed, kept; /* entries not removed: failed, kept for safety */
};

/* "file", "directory", "symlink" or "other", for an entry of mode `mode` (S_IFMT bits). */
const char *debris_kind(uint32_t mode);

/* The members of e's record before its act: "type":"debris", "path", "topic", "kind" and, but
 * for a directory, "size" (the action follows).  A failure is w's (pyci_jw_finish). */
void debris_record_members(pyci_jw *w, const pyci_debris_entry *e);

/* Count e as removed.  Cannot fail. */
void debris_tally_removed(struct debris_tally *t, const pyci_debris_entry *e);

/* The summary's debris lines, appended to b: what was removed (dry_run: would be), per topic,
 * and what was not.  0, or -1 (ENOMEM). */
int debris_summary_text(pyci_buf *b, const struct debris_tally *t, int dry_run);

/* The same as the member "debris" of the summary object open in w.  A failure is w's. */
void debris_summary_members(pyci_jw *w, const struct debris_tally *t);

#endif
