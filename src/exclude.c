/*
 * exclude.c - what a walk leaves out: the directories of other tools (pyci_default_excludes)
 * and the caller's globs (see scan.h, pyci_scan_excluded).
 *
 * One rule for every user of it: the walk itself, and the command line's check that two PATHs
 * name the same files (a PATH the other's walk leaves out does not overlap it).
 */
#include "exclude.h"

#include <fnmatch.h>
#include <limits.h>
#include <string.h>

const char *const pyci_default_excludes[] = {".git", ".hg", ".svn", "node_modules", NULL};

/*
 * Glob g as written, read as users of .gitignore and fd write it: a trailing '/' matches only
 * directories; a leading "./" (or "/") anchors it to the root, as a glob with a '/' in it is.
 * The glob proper goes to pat (NUL-terminated), or NULL when it does not fit.
 */
static const char *read_glob(const char *g, char *pat, size_t size, int *anchored, int *dir_only)
{
	*anchored = *dir_only = 0;
	while (g[0] == '.' && g[1] == '/') {
		g += 2;
		*anchored = 1;
		while (*g == '/')
			g++;
	}
	while (*g == '/') {
		g++;
		*anchored = 1;
	}
	size_t n = strlen(g);
	while (n > 0 && g[n - 1] == '/') {
		n--;
		*dir_only = 1;
	}
	if (n >= size)
		return NULL;
	memcpy(pat, g, n);
	pat[n] = '\0';
	return pat;
}

int pyci_exclude_match(const pyci_scan_options *o, const char *parent_below, const char *name,
		       int dir, pyci_buf *scratch)
{
	if (dir && !o->no_default_excludes)
		for (const char *const *d = pyci_default_excludes; *d; d++)
			if (strcmp(name, *d) == 0)
				return PYCI_EXCLUDE_DEFAULT;
	if (!o->excludes)
		return PYCI_EXCLUDE_NONE;
	while (*parent_below == '/')
		parent_below++;
	char buf[PATH_MAX];
	for (const char *const *g = o->excludes; *g; g++) {
		int anchored, dir_only;
		const char *pat = read_glob(*g, buf, sizeof(buf), &anchored, &dir_only);
		if (!pat || !*pat || (dir_only && !dir))
			continue; /* "/" alone, or a glob longer than any path: it matches nothing */
		if (!anchored && !strchr(pat, '/')) {
			if (fnmatch(pat, name, 0) == 0)
				return (int)(g - o->excludes);
			continue;
		}
		/* the path below the root: the parent's, then name */
		pyci_buf_clear(scratch);
		if ((*parent_below &&
		     (pyci_buf_puts(scratch, parent_below) || pyci_buf_putc(scratch, '/'))) ||
		    pyci_buf_puts(scratch, name))
			return PYCI_EXCLUDE_NOMEM; /* left out: clean must not enter what the caller
						    * may have excluded */
		if (fnmatch(pat, scratch->data, FNM_PATHNAME) == 0)
			return (int)(g - o->excludes);
	}
	return PYCI_EXCLUDE_NONE;
}

int pyci_scan_excluded(const pyci_scan_options *o, const char *parent_below, const char *name,
		       int dir, pyci_buf *scratch)
{
	return pyci_exclude_match(o, parent_below, name, dir, scratch) != PYCI_EXCLUDE_NONE;
}
