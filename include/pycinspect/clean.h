/*
 * clean.h - removing judged caches, and nothing else.
 *
 * Every removal goes through a directory descriptor the walk opened (unlinkat(dirfd, name)), is
 * preceded by a fresh fstatat(AT_SYMLINK_NOFOLLOW) that must find the very regular file that was
 * judged (device, inode, size, mtime), a re-check of its source (and of the package or extension
 * module that shadows it, for a cache orphaned by one), and is refused for anything
 * that is not a regular file with a cache name or is a mount point.  A dry run takes the same
 * path, skips only the final unlinkat, and predicts its answer.
 */
#ifndef PYCINSPECT_CLEAN_H
#define PYCINSPECT_CLEAN_H

#include "pycinspect/scan.h"

/* A selection: one bit per pyci_status. */
#define PYCI_SELECT(status) (1u << (status))
/* Debris: a __pycache__ entry named like a cache that no import looks up (x.pyc with no tag,
 * an opt- level no import asks for).  Selected by this bit alone, whatever its status. */
#define PYCI_SELECT_DEBRIS (1u << PYCI_STATUS_COUNT)
/* The caches no import would use: stale, orphaned, foreign, invalid, and the debris. */
#define PYCI_SELECT_UNUSED                                                                  \
	(PYCI_SELECT(PYCI_STALE) | PYCI_SELECT(PYCI_ORPHANED) | PYCI_SELECT(PYCI_FOREIGN) | \
	 PYCI_SELECT(PYCI_INVALID) | PYCI_SELECT_DEBRIS)

/* Why a cache is kept for safety: the texts *why points to (static storage). */
#define PYCI_CLEAN_CHANGED "changed since it was judged"
#define PYCI_CLEAN_SOURCE_CHANGED "source changed since it was judged"
#define PYCI_CLEAN_MOUNT_POINT "a mount point"
#define PYCI_CLEAN_SOURCE_UNCHECKED "source exists but cannot be checked"
#define PYCI_CLEAN_SHADOW_GONE "no longer shadowed since it was judged"

/*
 * Whether r is to be removed under `selected`: 0 when its status is not selected (nothing to
 * do; for debris: when PYCI_SELECT_DEBRIS is not), 1 when it may be removed, -1 when it is selected but must be kept for safety, with *why
 * saying why ("not a regular file", "not a cache name", "cannot be read", or
 * PYCI_CLEAN_SOURCE_UNCHECKED: its source exists, or may, but could not be stat'ed or read,
 * pyci_clean_source_errno(r) says why; only a source that is gone makes a cache an orphan).
 */
int pyci_clean_eligible(const pyci_record *r, unsigned selected, const char **why);

/* The errno that kept r's source from being checked (for PYCI_CLEAN_SOURCE_UNCHECKED), or 0. */
int pyci_clean_source_errno(const pyci_record *r);

/*
 * Remove the cache r (through r->dirfd and r->name) if it is still the regular file that was
 * judged (device, inode, size, mtime to the nanosecond; not a mount point) and its source is
 * still as it was judged (r->source: present with the same device, inode, size, mtime and ctime,
 * or still absent), and, when its module was shadowed (r->verdict->shadow), the package or
 * extension module that shadowed it still counts for its finder.  Call it during ops->record,
 * while r's directories are open.
 * With dry_run nothing is removed, and the answer the real unlinkat would give is predicted
 * from what the kernel checks (read-only mount, directory permission, immutable and append-only
 * attributes, the sticky bit).
 * Returns 0 removed (dry run: would be); 1 kept for safety, *why one of PYCI_CLEAN_CHANGED,
 * PYCI_CLEAN_SOURCE_CHANGED, PYCI_CLEAN_SHADOW_GONE, PYCI_CLEAN_MOUNT_POINT; -1 with errno when the removal failed
 * (dry run: would fail), or the cache could not be stat'ed (ENOENT: gone already).
 */
int pyci_clean_remove(const pyci_record *r, int dry_run, const char **why);

/*
 * Remove the directory `name` of parent_fd if it is still the directory open as fd (device and
 * inode) and empty.  dry_run: check that it is the same directory and predict the answer of
 * unlinkat as pyci_clean_remove does, do not remove.  Returns 0, or -1 with errno: ESTALE
 * (replaced), ENOTEMPTY (something appeared in it), or as unlinkat (dry run: as it would).
 */
int pyci_clean_rmdir(int parent_fd, const char *name, int fd, int dry_run);

/*
 * unlinkat(dirfd, name, 0) for an entry that is not a directory and whose checks the caller
 * made (debris); dry_run: remove nothing, predict the answer as pyci_clean_remove does.
 * 0, or -1 with errno (the removal failed, or would).
 */
int pyci_clean_unlinkat(int dirfd, const char *name, int dry_run);

/* 1 if path is the root directory "/" (by device and inode, whatever its spelling), else 0. */
int pyci_clean_is_root(const char *path);

#endif
