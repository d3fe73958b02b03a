/*
 * mountinfo.h - this process's mounts, as /proc/self/mountinfo lists them.
 *
 * For what st_dev cannot tell: that two paths are the same filesystem seen through two mounts
 * (a bind mount), by each mount's root within its filesystem.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_MOUNTINFO_H
#define PYCI_MOUNTINFO_H

#include <stddef.h>
#include <stdint.h>

/* One mount: its id (statx's STATX_MNT_ID), its filesystem's device, the directory of that
 * filesystem mounted (root) and where (point), both unescaped. */
typedef struct mountinfo_entry {
	uint64_t id, dev;
	char *root, *point;
} mountinfo_entry;

typedef struct mountinfo {
	mountinfo_entry *m;
	size_t n;
	char **lines_; /* the text the entries point into */
} mountinfo;

/*
 * Read this process's mounts into *mi (free with mountinfo_free).  Lines that do not parse are
 * skipped.  0, or -1 with errno (no /proc, or out of memory: *mi then holds what was read, maybe
 * nothing, and is still to be freed).
 */
int mountinfo_read(mountinfo *mi);

/* The mount with this id, or NULL. */
const mountinfo_entry *mountinfo_find(const mountinfo *mi, uint64_t id);

void mountinfo_free(mountinfo *mi);

#endif
