/*
 * venvup.h - the virtual environments above a scanned path.
 *
 * Internal to the library (not installed).  A scan that takes its targets from virtual
 * environments (scan.h, venv_targets) and is given a path inside one (venv/lib/python3.12/
 * site-packages, or a cache in it) never walks the environment's root, where its pyvenv.cfg is;
 * venv_above looks for it there, from the path's own directory up.  A file list (filelist.c)
 * asks for each directory it names; a venv_memo keeps the directories already answered, so
 * that a climb stops at the first one it meets and a list costs one climb per new directory.
 */
#ifndef PYCI_VENVUP_H
#define PYCI_VENVUP_H

#include "pycinspect/venv.h"

/* One pyvenv.cfg found: v (its paths too) is valid during the call.  For one that names an
 * interpreter, *scope is set to what the caller makes of it (venv_above returns it, and a memo
 * keeps it).  0 to go on, or -1 (keep errno) to stop. */
typedef int (*venv_found_fn)(void *ctx, const pyci_venv *v, const void **scope);

/* The directories already answered, by identity (dev, ino), each with the scope of the
 * nearest pyvenv.cfg naming an interpreter at or above it, or NULL.  Zeroed: empty. */
typedef struct venv_memo {
	struct venv_known *slots; /* an open-addressing table of cap slots, or NULL */
	size_t cap, count;
} venv_memo;

/* Free what memo holds (it is empty again). */
void venv_memo_free(venv_memo *memo);

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
 * *scope: what `found` set for the one that names an interpreter, or NULL (none).
 * memo (NULL: none): a directory it holds ends the climb with its answer, nothing looked at
 * there; the directories climbed are added to it with the answer, so each pyvenv.cfg is
 * found once however many directories below it are asked about (the mount and topfd rules
 * must stay the same for every call with one memo).
 * Returns 0 (also when an ancestor could not be opened or stat'ed: the search ends there), or
 * -1 with errno: ENOMEM, or what `found` stopped it with.
 */
int venv_above(int dirfd, const char *display, int cross_mounts, int topfd, venv_memo *memo,
	       venv_found_fn found, void *ctx, const void **scope);

#endif
