/*
 * readopen.h - open a file for reading without changing its access time, where allowed.
 *
 * Reading a file updates its atime (under relatime: after a change, or once a day), which
 * writes the inode and, for a tool used in incident response, alters the evidence it reads.
 * O_NOATIME prevents that, but only for the file's owner or a process with CAP_FOWNER; for
 * anyone else open() fails with EPERM.  The caller keeps *noatime (start it at 1): the first
 * EPERM clears it, so a tree owned by someone else costs one extra call per worker, not one
 * per file, and its atimes are then updated as by any reader.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_READOPEN_H
#define PYCI_READOPEN_H

#include <errno.h>
#include <fcntl.h>

#ifndef O_NOATIME
#define O_NOATIME 01000000 /* Linux; defined by <fcntl.h> under _GNU_SOURCE */
#endif

/* openat(dirfd, name, flags), with O_NOATIME while *noatime is set.  Returns the descriptor,
 * or -1 with errno. */
static inline int pyci_openat_read(int dirfd, const char *name, int flags, int *noatime)
{
	if (*noatime) {
		int fd = openat(dirfd, name, flags | O_NOATIME);
		if (fd >= 0 || errno != EPERM)
			return fd;
		*noatime = 0;
	}
	return openat(dirfd, name, flags);
}

#endif
