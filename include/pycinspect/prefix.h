/*
 * prefix.h - where CPython 3.8+ puts caches when a pycache prefix is set (PYTHONPYCACHEPREFIX,
 * -X pycache_prefix, sys.pycache_prefix), and where the source of such a cache is.
 *
 * importlib's cache_from_source puts the cache of DIR/NAME.py at
 * PREFIX/<DIR made absolute, without its leading '/'>/NAME.TAG[.opt-N].pyc, and never looks in
 * DIR/__pycache__ then.  DIR is joined to the working directory when it is relative (3.12+
 * drops a leading "./" first) and is not resolved further: "." and ".." stay in the text, and
 * the kernel resolves them inside the prefix tree, whose directories importlib makes (real
 * directories, no symlinks).  So the directory of the prefix tree that holds DIR's caches is
 * PREFIX joined with DIR made absolute and normalised by text, and a cache at
 * PREFIX/R/NAME.TAG.pyc belongs to the source /R/NAME.py, found as CPython finds it (following
 * symlinks; a source reached through a symlink and ".." may resolve elsewhere than the text
 * says: such a source is judged where the text leads).
 */
#ifndef PYCINSPECT_PREFIX_H
#define PYCINSPECT_PREFIX_H

#include "pycinspect/buf.h"

/*
 * The path of directory `dir` below the root as the prefix tree mirrors it: dir joined to the
 * working directory when relative, ".", ".." and repeated '/' resolved by text, no leading or
 * trailing '/' ("" for the root itself).  Appended to out.  0, or -1 with errno (ENOMEM; the
 * working directory cannot be read).
 */
int pyci_prefix_rel(pyci_buf *out, const char *dir);

/* pyci_prefix_rel with the working directory given (an absolute path, as getcwd(3) gives
 * it), for a caller that maps many paths.  0, or -1 (ENOMEM). */
int pyci_prefix_rel_from(pyci_buf *out, const char *cwd, const char *dir);

/*
 * The directory of the prefix tree `prefix` that holds the caches of the sources in `dir`:
 * prefix (as given, not empty, without its trailing '/') joined with pyci_prefix_rel(dir).
 * Appended to out.  0, or -1 with errno (EINVAL for an empty prefix).
 */
int pyci_prefix_cache_dir(pyci_buf *out, const char *prefix, const char *dir);

/*
 * Whether `path` lies inside the prefix tree `prefix`, both compared as pyci_prefix_rel
 * normalises them (by text, as CPython's source_from_cache compares them): 1, and the path of
 * `path` below the prefix appended to rel ("" for the prefix itself); 0 not inside; -1 with
 * errno.
 */
int pyci_prefix_below(const char *prefix, const char *path, pyci_buf *rel);

#endif
