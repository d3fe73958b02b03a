/*
 * sysroot.h - paths judged as an installed system will see them: a package's DESTDIR, a
 * container's root file system, a chroot.
 *
 * Inside such a tree an absolute symlink (/usr/lib/python3.12/os.py) means the tree's file,
 * not the host's, and ".." stops at the tree's top, as it stops at "/".  Linux 5.6+ resolves
 * a path that way itself: openat2(2) with RESOLVE_IN_ROOT.  Where openat2 is missing (an older
 * kernel, or a seccomp filter that refuses it with ENOSYS) the same resolution is done here,
 * one component at a time: the same answers, but a tree changed during the lookup can make it
 * resolve elsewhere than the kernel would (docs/packaging.md).
 */
#ifndef PYCINSPECT_SYSROOT_H
#define PYCINSPECT_SYSROOT_H

#include <sys/stat.h>

#include "pycinspect/buf.h"

/* Symbolic links followed at most in one lookup, as the kernel's limit (ELOOP beyond). */
#define PYCI_SYSROOT_MAX_LINKS 40

/*
 * Open `path` (absolute or relative: both from the top of the tree; "" is the top) inside the
 * tree whose top directory is rootfd (O_PATH will do), every symlink, the last one too,
 * resolved inside it; flags as openat(2)'s (O_CLOEXEC is added).  Returns the descriptor, or
 * -1 with errno: the open's, ELOOP (too many links), ENOMEM.  EPERM with O_NOATIME in flags
 * is the open's refusal of O_NOATIME (readopen.h), for the caller to retry without it.
 */
int pyci_sysroot_open(int rootfd, const char *path, int flags);

/* stat(2) of path inside the tree, as pyci_sysroot_open resolves it.  0, or -1 with errno. */
int pyci_sysroot_stat(int rootfd, const char *path, struct stat *st);

/*
 * The path inside the tree that `path` resolves to, every symlink followed (the last one
 * too), with no ".", "..", repeated '/' or symlink left, without a leading '/' ("" for the
 * top), appended to out.  Resolved as text, one component at a time (see the top of this
 * file).  0, or -1 with errno: a component is missing (ENOENT) or not a directory (ENOTDIR),
 * ELOOP, ENOMEM, or what lstat or readlink said.
 */
int pyci_sysroot_resolve(int rootfd, const char *path, pyci_buf *out);

#endif
