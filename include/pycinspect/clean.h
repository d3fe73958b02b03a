/*
 * clean.h - removing judged caches, and nothing else.
 *
 * Every removal goes through a directory descriptor the walk opened (unlinkat(dirfd, name)), is
 * preceded by a fresh fstatat(AT_SYMLINK_NOFOLLOW) that must find the very regular file that was
 * judged (device, inode, size, mtime), and is refused for anything that is not a regular file
 * with a cache name.  A dry run takes the same path and skips only the final unlinkat.
 */
#ifndef PYCINSPECT_CLEAN_H
#define PYCINSPECT_CLEAN_H

#include "pycinspect/scan.h"

/* A selection: one bit per pyci_status. */
#define PYCI_SELECT(status) (1u << (status))

/*
 * Whether r is to be removed under `selected`: 0 when its status is not selected (nothing to
 * do), 1 when it may be removed, -1 when it is selected but must be kept for safety, with *why
 * saying why ("not a regular file", "not a cache name", "cannot be read").
 */
int pyci_clean_eligible(const pyci_record *r, unsigned selected, const char **why);

/*
 * Remove `name` from dirfd if it is still the regular file f.  With dry_run, check everything
 * but do not remove.  Returns 0, or -1 with errno: ESTALE when the file changed or was replaced
 * since it was judged (it is left alone), else the error of fstatat or unlinkat.
 */
int pyci_clean_remove(int dirfd, const char *name, const pyci_file_info *f, int dry_run);

/*
 * Remove the directory `name` of parent_fd if it is still the directory open as fd (device and
 * inode) and empty.  dry_run: check that it is the same directory, do not remove.  Returns 0,
 * or -1 with errno: ESTALE (replaced), ENOTEMPTY (something appeared in it), or as unlinkat.
 */
int pyci_clean_rmdir(int parent_fd, const char *name, int fd, int dry_run);

/* 1 if path is the root directory "/" (by device and inode, whatever its spelling), else 0. */
int pyci_clean_is_root(const char *path);

#endif
