/*
 * target.h - the interpreters a tree is meant for.
 *
 * A cache written for an interpreter outside this set is "foreign".  Targets come from the user
 * ("3.12", "cpython-312", "pypy310", "pypy3.10", "python3.12", "2.7", "jython2.7", and releases
 * such as "3.12.1", which mean their version: every 3.12.x writes what 3.12 does) or from the
 * interpreter names found on PATH (python3.12, python2.7, pypy3.9, jython2.7, symlinks such as
 * python3 whose target name carries a version, and jython, which is Jython 2.7: no other
 * language version of Jython has been released since 2.5), or in a staging root, without
 * running any of them.
 */
#ifndef PYCINSPECT_TARGET_H
#define PYCINSPECT_TARGET_H

#include <stddef.h>

#include "pycinspect/magic.h"

#define PYCI_TARGETS_MAX 64

typedef struct pyci_target {
	pyci_impl impl;
	int major, minor;
} pyci_target;

typedef struct pyci_targets {
	size_t count;
	pyci_target items[PYCI_TARGETS_MAX];
} pyci_targets;

/* Empty the set. */
void pyci_targets_init(pyci_targets *t);

/*
 * Add one target spelled as above (no commas).  Duplicates are ignored.
 * Returns 0, or -1 with errno EINVAL (not a target spelling) or ENOSPC (set full).
 */
int pyci_targets_add_spec(pyci_targets *t, const char *spec, size_t len);

/* Add a comma-separated list of specs.  Same returns; stops at the first bad spec. */
int pyci_targets_add_list(pyci_targets *t, const char *list);

/*
 * Add the interpreters whose names appear in the directories of path_env (a PATH value; NULL
 * or "" adds nothing), counting them in *added.  Directories that cannot be opened are
 * skipped.  The set is then sorted (CPython first, then PyPy, then Jython, each by version).
 * Returns 0, or -1 with errno when a directory's listing could not be read whole (ENOMEM,
 * EIO): the set may then lack an interpreter, whose caches would be judged foreign, so it must
 * not be used.
 */
int pyci_targets_from_path(pyci_targets *t, const char *path_env, size_t *added);

/*
 * Add the interpreters of the staging root rootfd (sysroot.h: a DESTDIR, a container's root
 * file system), counting them in *added, and sort the set as pyci_targets_from_path does: those
 * named in its usr/local/bin, usr/bin and bin (by name, as on PATH; a regular file with an
 * execute bit once resolved inside the root), and those whose standard library is there
 * (usr/local/lib, usr/lib, usr/local/lib64, usr/lib64: a directory pythonX.Y holding os.py).
 * Every path resolves inside the root, nothing is run, and the host's PATH is not read.
 * 0, or -1 with errno as pyci_targets_from_path.
 */
int pyci_targets_from_root(pyci_targets *t, int rootfd, size_t *added);

/* 1 if impl major.minor is in the set, else 0. */
int pyci_targets_contains(const pyci_targets *t, pyci_impl impl, int major, int minor);

/* Format as "3.12" (CPython), "pypy3.10" or "jython2.7" into buf (NUL-terminated, truncated
 * to n). */
void pyci_target_format(const pyci_target *t, char *buf, size_t n);

#endif
