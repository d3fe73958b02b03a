/*
 * exclude.h - which rule left an entry out, for the walk to count (pyci_scan_options
 * .exclude_hits), where pyci_scan_excluded only says whether.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_EXCLUDE_H
#define PYCI_EXCLUDE_H

#include "pycinspect/scan.h"

#define PYCI_EXCLUDE_NONE (-1)    /* not left out */
#define PYCI_EXCLUDE_DEFAULT (-2) /* one of pyci_default_excludes */
#define PYCI_EXCLUDE_NOMEM (-3)   /* left out for lack of memory to check it */

/* As pyci_scan_excluded, but which: the index of the matching glob in o->excludes, or one of
 * the PYCI_EXCLUDE_ values. */
int pyci_exclude_match(const pyci_scan_options *o, const char *parent_below, const char *name,
		       int dir, pyci_buf *scratch);

#endif
