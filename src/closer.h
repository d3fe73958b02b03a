/*
 * closer.h - close descriptors on a helper thread.
 *
 * Closing a directory's last descriptor after the directory was removed frees it then and
 * there, and on filesystems mounted with `discard` that waits for the device (about 60 us a
 * directory on the development machine, several times the rmdir itself).  `clean` removes
 * thousands of __pycache__ directories whose descriptors the walk holds, so the walk hands its
 * closes to a closer, whose thread does the waiting while the walk goes on.
 *
 * Internal to the library (not installed).  At most `cap` descriptors wait at any time, so the
 * caller's descriptor budget stays bounded; when the queue is full, or there is no closer, the
 * descriptor is closed on the calling thread.  A closer is used by one thread (plus its own).
 */
#ifndef PYCI_CLOSER_H
#define PYCI_CLOSER_H

#include <stddef.h>

struct closer;

/* A closer with room for cap waiting descriptors.  NULL when cap is 0 or no thread could be
 * started: closer_close then closes inline, so NULL is a usable closer. */
struct closer *closer_new(size_t cap);

/* Close fd, now or soon; its number must not be used again by the caller. */
void closer_close(struct closer *c, int fd);

/* Close whatever waits, stop the thread and free c (NULL is fine). */
void closer_free(struct closer *c);

#endif
