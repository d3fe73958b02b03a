/*
 * preadall.h - read a range of a file at an offset, whole, whatever pread(2) returns at a time.
 *
 * pread may return fewer bytes than asked (a signal, a pipe-like file system) or be interrupted;
 * readers of a cache's filename field (dump), of a zip's central directory (zipdir) and of an
 * image's layers (arlayers) all want the range whole, or to know where the file ended.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_PREADALL_H
#define PYCI_PREADALL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

/* n bytes at off into buf, fewer only where the file ends (*got says how many).  0, or -1
 * with errno. */
static inline int pyci_pread_upto(int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return 0;
}

/* Exactly n bytes at off into buf.  0, or -1 with errno (EIO: the file ends before). */
static inline int pyci_pread_exact(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got;
	if (pyci_pread_upto(fd, buf, n, off, &got) != 0)
		return -1;
	if (got < n) {
		errno = EIO;
		return -1;
	}
	return 0;
}

#endif
