/*
 * venvup.h - the virtual environments above a scanned path.
 *
 * Internal to the library (not installed).  A scan that takes its targets from virtual
 * environments (scan.h, venv_targets) and is given a path inside one (venv/lib/python3.12/
 * site-packages, or a cache in it) never walks the environment's root, where its pyvenv.cfg is;
 * venv_above looks for it there, from the path's own directory up.
 */
#ifndef PYCI_VENVUP_H
#define PYCI_VENVUP_H

#include "pycinspect/venv.h"

/* One pyvenv.cfg found: v (its paths too) is valid during the call.  0 to go on, or -1 (keep
 * errno) to stop. */
typedef int (*venv_found_fn)(void *ctx, const pyci_venv *v);

/*
 * Look for a pyvenv.cfg in the directory dirfd, whose display path is `display`, and then in
 * each of its ancestors (through ".."), up to the filesystem root and, unless cross_mounts, not
 * past dirfd's own mount, nor (topfd >= 0) past the directory topfd (a staging root, whose
 * parent is not the installed system's: its own pyvenv.cfg is looked at).  A regular file counts, and a symbolic link (never followed: told as
 * PYCI_VENV_SYMLINK); anything else named so does not, as for site.py's os.path.isfile.  Each
 * one found is read (pyci_venv_read) and given to `found`, nearest first, until one names an
 * interpreter (that one included).  Its root's display path is `display` with as many
 * components taken off as levels were climbed when that names the same directory, else
 * `display` followed by "/.." that many times (a symlink in the path, or "..").
 * Returns 0 (also when an ancestor could not be opened or stat'ed: the search ends there), or
 * -1 with errno: ENOMEM, or what `found` stopped it with.
 */
int venv_above(int dirfd, const char *display, int cross_mounts, int topfd, venv_found_fn found,
	       void *ctx);

#endif
