/*
 * shadow.h - what beside a module's source its interpreter's finder would take first, and
 * whether it is still there.
 *
 * The scan engine holds a source directory's listing only while it builds the directory's
 * group; the caches are judged later, on any thread.  So the question is asked in two steps:
 * shadow_collect, with the listing at hand, keeps the few entries that could shadow NAME.py
 * for any interpreter (an entry NAME that is not a regular file, and NAME.*.so and
 * NAMEmodule*.so: every extension suffix of finder.h ends in ".so"); shadow_find, once the
 * cache's interpreter is known, asks which of them its finder takes.  shadow_still asks again
 * just before clean removes the cache.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_SHADOW_H
#define PYCI_SHADOW_H

#include <stddef.h>

#include "pycinspect/buf.h"
#include "pycinspect/finder.h"
#include "pycinspect/walk.h"

/*
 * The directory of a module's source, where what shadows it is looked up: through dirfd; with a
 * staging root (rootfd >= 0, sysroot.h), by the path dir/NAME inside the root instead, so that
 * an entry that is a symlink (a package directory linked elsewhere) resolves inside the root,
 * as the finder of the installed system follows it.
 */
typedef struct shadow_dir {
	int dirfd;
	int rootfd;      /* -1: no staging root */
	const char *dir; /* with rootfd: the directory's path inside the root ("" its top) */
} shadow_dir;

/*
 * Append to out the entries of the listing entries[0 .. count) (sorted bytewise, as the walk
 * lists) that could shadow the module NAME (stem, stem_len bytes), each as its d_type byte and
 * its NUL-terminated name.  A NAME with a dot in it is no module name: nothing.  Three binary
 * searches and no system call.  Returns the bytes appended (0 in the common case), or -1 with
 * errno ENOMEM (out as it was).
 */
long shadow_collect(const pyci_entry *entries, size_t count, const char *stem, size_t stem_len,
		    pyci_buf *out);

/*
 * What the finder f takes before NAME.py in the directory d, among the candidates cand
 * (cand_len bytes from shadow_collect): the package NAME/ when one of its __init__ suffixes
 * counts (one fstatat per suffix tried, ".py" first; only when NAME is a listed directory or
 * symlink, and never for NAME "__init__": a package's own __init__ is looked up as a file),
 * else the first extension module suffix that counts (no system call for a listed regular
 * file under PYCI_FIND_REGULAR outside a staging root, else one stat, and an access check under
 * PYCI_FIND_OPENABLE).
 * A name that cannot be stat'ed does not count, as for the finder.  Fills *out (kind
 * PYCI_SHADOW_NONE when nothing shadows).
 */
void shadow_find(const shadow_dir *d, const char *stem, size_t stem_len, const char *cand,
		 size_t cand_len, const pyci_finder *f, pyci_shadow *out);

/* 1 if what s says shadows NAME in d still counts by s->rule, else 0. */
int shadow_still(const shadow_dir *d, const char *stem, size_t stem_len, const pyci_shadow *s);

#endif
