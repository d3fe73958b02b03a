/*
 * deep.h - load a cache's body as its interpreter would, and say how that import would fail.
 *
 * A header can say "fresh" over a body the interpreter cannot load: CPython then fails the
 * import (it does not recompile), with the exception marshal.loads or importlib raises.  The
 * deep check reads the whole file again through the directory it was judged in, makes sure it
 * is still the file that was judged, and decodes its body with marshal.c; a decoder error is
 * translated into the exception the interpreter raises for it (deep_exception).
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_DEEP_H
#define PYCI_DEEP_H

#include "pycinspect/buf.h"
#include "pycinspect/scan.h"

/* The largest cache the deep check reads (larger ones are "too large to check"). */
#define DEEP_MAX_FILE ((uint64_t)512 << 20)

/*
 * Whether the interpreter would load the body of a cache with this verdict: fresh (or fresh
 * for its own interpreter when foreign), sourceless, and stale unchecked-hash caches (run as
 * they are).  Stale caches are recompiled and orphans never read: their bodies do not matter.
 */
int deep_would_load(const pyci_verdict *v, const pyci_header *h);

/*
 * Read the cache `name` of dirfd (which must still be the regular file `file` describes:
 * device, inode, size, mtime) and decode its body after the header h.  Fills *out; buf is the
 * caller's scratch buffer (kept between calls), *noatime as in readopen.h.  Never fails: an
 * I/O error, a changed file or a body too large become out->exception and out->message too
 * (with out->python 0: not what an interpreter would say, but why nothing could be said).
 */
void deep_load(int dirfd, const char *name, const pyci_file_info *file, const pyci_header *h,
	       pyci_buf *buf, int *noatime, pyci_load *out);

/* The verdict after a deep load: invalid when the import fails (PYCI_R_LOAD_FAILS), and the
 * reason PYCI_R_LOAD_UNCHECKED when the body could not be checked. */
void deep_apply(pyci_verdict *v, const pyci_load *l);

#endif
