/*
 * roots.h - which PATHs of one run name the same files, before anything is walked.
 *
 * One PATH lies inside another when the other's walk would list its files: below it on the same
 * filesystem as the walk sees it (its mount rule, the excludes of o), or the same filesystem
 * seen through another mount (a bind mount, found through /proc/self/mountinfo and confirmed by
 * finding the PATH itself there); a PATH given twice, however spelt, is the same.  A run that
 * acts on files (clean) must refuse such PATHs, since its dry run could not foresee the second
 * pass; a run that only reports can warn and go on.
 */
#ifndef PYCINSPECT_ROOTS_H
#define PYCINSPECT_ROOTS_H

#include <stddef.h>

#include "pycinspect/scan.h"

/* paths[inner]'s files are listed by the walk of paths[outer]. */
typedef struct pyci_roots_overlap {
	size_t inner, outer;
	int same;      /* the same place (given twice), else inside */
	int inner_dir; /* paths[inner] is a directory (else a cache file) */
} pyci_roots_overlap;

/*
 * Compare the n paths under the walk options o (cross_mounts, excludes).  What cannot be
 * resolved (a missing PATH, a symlink given without a trailing '/', a file that is not a
 * .pyc/.pyo) is left out, for the walk to report in its own words.  On success *out is an
 * array of *nout overlaps in PATH order, each PATH at most once as inner (free it with free();
 * NULL when *nout is 0).  0, or -1 with errno (ENOMEM; nothing found then).
 */
int pyci_roots_overlaps(const char *const *paths, size_t n, const pyci_scan_options *o,
			pyci_roots_overlap **out, size_t *nout);

#endif
