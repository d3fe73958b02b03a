/*
 * exclude.c - what a walk leaves out: the directories of other tools (pyci_default_excludes)
 * and the caller's globs (see scan.h, pyci_scan_excluded).
 *
 * One rule for every user of it: the walk itself, and the command line's check that two PATHs
 * name the same files (a PATH the other's walk leaves out does not overlap it).
 */
#include <fnmatch.h>
#include <string.h>

#include "pycinspect/scan.h"

const char *const pyci_default_excludes[] = {".git", ".hg", ".svn", "node_modules", NULL};

int pyci_scan_excluded(const pyci_scan_options *o, const char *parent_below, const char *name,
		       int dir, pyci_buf *scratch)
{
	if (dir && !o->no_default_excludes)
		for (const char *const *d = pyci_default_excludes; *d; d++)
			if (strcmp(name, *d) == 0)
				return 1;
	if (!o->excludes)
		return 0;
	while (*parent_below == '/')
		parent_below++;
	for (const char *const *g = o->excludes; *g; g++) {
		if (!strchr(*g, '/')) {
			if (fnmatch(*g, name, 0) == 0)
				return 1;
			continue;
		}
		/* the path below the root: the parent's, then name */
		pyci_buf_clear(scratch);
		if ((*parent_below && (pyci_buf_puts(scratch, parent_below) ||
				       pyci_buf_putc(scratch, '/'))) ||
		    pyci_buf_puts(scratch, name))
			return 1; /* out of memory: left out, since clean must not enter what the
				   * caller may have excluded */
		if (fnmatch(*g, scratch->data, FNM_PATHNAME) == 0)
			return 1;
	}
	return 0;
}
