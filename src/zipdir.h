/*
 * zipdir.h - a zip's central directory as zipimport reads it: each member's name, DOS date and
 * time, and size, for the zipimport rules of verdict.c.
 *
 * libarchive reads the members' data, but the times it gives are not zipimport's: it prefers an
 * extended-timestamp extra field (UTC seconds) and the local header's fields, where zipimport
 * takes the central directory's DOS date and time, converted in local time, and nothing else.
 * So the directory is read here, the way zipimport's _read_directory does (3.12): the end record
 * found in the last 64 KiB, the zip64 end record when it sits where 3.13 looks for it, the
 * directory's start from its size, and its records read until one does not begin with PK\1\2.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_ZIPDIR_H
#define PYCI_ZIPDIR_H

#include <stddef.h>
#include <stdint.h>

typedef struct zipdir_entry {
	const char *name; /* its name's bytes, as stored (not NUL-terminated) */
	size_t name_len;
	uint16_t flags;
	uint16_t dos_time, dos_date;
	uint64_t size; /* uncompressed */
} zipdir_entry;

/*
 * Read the central directory of the zip open for reading on fd, calling fn for each record in
 * the directory's order (fn returns 0, or -1 to stop: zipdir_read then returns -1 with fn's
 * errno).  Returns 0 when the directory was read whole; 1 when zipimport would refuse the file,
 * *why then naming why in its words ("not a Zip file", "bad central directory offset", ...:
 * static storage); -1 with errno on an I/O error or ENOMEM.  Memory: at most 1 MiB, whatever
 * the directory holds.
 */
int zipdir_read(int fd, int (*fn)(void *ctx, const zipdir_entry *e), void *ctx, const char **why);

/* The time zipimport gives a DOS date and time: mktime(3) of its fields in local time, the
 * daylight saving flag left to mktime (-1), as _parse_dostime does. */
int64_t zipdir_dostime(uint16_t dos_date, uint16_t dos_time);

#endif
