/*
 * zipdir.c - a zip's central directory, read as zipimport reads it (see zipdir.h).
 *
 * Everything here is from the file, so everything is checked: the end record must lie in the
 * file, the directory before it, each record's name, extra and comment inside the directory.
 * The directory is read through a window of WINDOW bytes, so that a directory of a million
 * records costs a few hundred reads and at most the window in memory.
 */
#define _GNU_SOURCE
#include "zipdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "preadall.h"

#define EOCD_SIZE 22
#define EOCD64_SIZE 56
#define EOCD64_LOCATOR_SIZE 20
#define MAX_COMMENT 65535
#define RECORD_SIZE 46
#define WINDOW ((size_t)1 << 20) /* > 46 + 3 * 65535: any one record fits */
#define MAX_UINT32 0xFFFFFFFFu
#define ZIP64_EXTRA 0x0001

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The last occurrence of the 4 bytes sig in buf[0 .. n), or -1 (bytes.rfind). */
static long rfind4(const unsigned char *buf, size_t n, const char *sig)
{
	for (size_t i = n >= 4 ? n - 4 + 1 : 0; i-- > 0;)
		if (memcmp(buf + i, sig, 4) == 0)
			return (long)i;
	return -1;
}

/* A window over the directory: [start, start + len) of the file in buf. */
struct window {
	int fd;
	unsigned char *buf;
	uint64_t start;
	size_t len;
};

/* Make [off, off + n) present; 0, or -1 with errno, or 1 when the file ends before it. */
static int need(struct window *w, uint64_t off, size_t n)
{
	if (off >= w->start && off + n <= w->start + w->len)
		return 0;
	size_t got;
	if (pyci_pread_upto(w->fd, w->buf, WINDOW, off, &got) != 0)
		return -1;
	w->start = off;
	w->len = got;
	return n <= got ? 0 : 1;
}

/* The uncompressed size in a record's zip64 extra field, when its 32-bit field says so. */
static int zip64_size(const unsigned char *extra, size_t len, uint64_t *size)
{
	while (len >= 4) {
		uint16_t tag = le16(extra), sz = le16(extra + 2);
		if ((size_t)sz + 4 > len)
			return -1;
		if (tag == ZIP64_EXTRA) {
			if (sz < 8)
				return -1;
			*size = le64(extra + 4); /* the first value: the uncompressed size */
			return 0;
		}
		extra += 4 + (size_t)sz;
		len -= 4 + (size_t)sz;
	}
	return 0; /* none: zipimport keeps the 32-bit value */
}

int zipdir_read(int fd, int (*fn)(void *ctx, const zipdir_entry *e), void *ctx, const char **why)
{
	struct stat st;
	struct window w = {fd, NULL, 0, 0};
	int rc = -1;
	*why = NULL;
	if (fstat(fd, &st) != 0)
		return -1;
	if (!(w.buf = malloc(WINDOW))) {
		errno = ENOMEM;
		return -1;
	}
	uint64_t file_size = (uint64_t)st.st_size;
	size_t span = MAX_COMMENT + EOCD_SIZE + EOCD64_SIZE + EOCD64_LOCATOR_SIZE;
	uint64_t tail = file_size > span ? file_size - span : 0;
	size_t got;
	if (pyci_pread_upto(fd, w.buf, span, tail, &got) != 0)
		goto out;
	long pos = rfind4(w.buf, got, "PK\005\006");
	long pos64 = rfind4(w.buf, got, "PK\006\006");
	uint64_t header_position, cd_size, cd_offset;
	if (pos64 >= 0 && pos64 + EOCD64_SIZE + EOCD64_LOCATOR_SIZE == pos) {
		const unsigned char *b = w.buf + pos64;
		header_position = tail + (uint64_t)pos64;
		cd_size = le64(b + 40);
		cd_offset = le64(b + 48);
	} else if (pos >= 0) {
		if ((size_t)pos + EOCD_SIZE > got) {
			*why = "corrupt Zip file";
			rc = 1;
			goto out;
		}
		const unsigned char *b = w.buf + pos;
		header_position = tail + (uint64_t)pos;
		cd_size = le32(b + 12);
		cd_offset = le32(b + 16);
	} else {
		*why = "not a Zip file";
		rc = 1;
		goto out;
	}
	if (header_position < cd_size) {
		*why = "bad central directory size";
		rc = 1;
		goto out;
	}
	if (header_position < cd_offset) {
		*why = "bad central directory offset";
		rc = 1;
		goto out;
	}
	uint64_t off = header_position - cd_size, end = header_position;
	if (off < cd_offset) {
		*why = "bad central directory size or offset";
		rc = 1;
		goto out;
	}
	w.len = 0; /* the window now reads the directory */
	for (;;) {
		int n = off + 4 <= end ? need(&w, off, 4) : 1;
		if (n < 0)
			goto out;
		if (n > 0 || memcmp(w.buf + (off - w.start), "PK\001\002", 4) != 0)
			break; /* the end of the directory, as zipimport finds it (3.13 also
				* compares the count with the end record's: not modelled) */
		if ((n = off + RECORD_SIZE <= end ? need(&w, off, RECORD_SIZE) : 1) != 0) {
			if (n > 0) {
				*why = "EOF read where not expected";
				rc = 1;
			}
			goto out;
		}
		const unsigned char *r = w.buf + (off - w.start);
		zipdir_entry e = {.flags = le16(r + 8),
				  .dos_time = le16(r + 12),
				  .dos_date = le16(r + 14),
				  .size = le32(r + 24)};
		size_t name_len = le16(r + 28), extra_len = le16(r + 30),
		       comment_len = le16(r + 32);
		size_t whole = RECORD_SIZE + name_len + extra_len + comment_len;
		if ((n = off + whole <= end ? need(&w, off, whole) : 1) != 0) {
			if (n > 0) {
				*why = "can't read Zip file";
				rc = 1;
			}
			goto out;
		}
		r = w.buf + (off - w.start);
		e.name = (const char *)r + RECORD_SIZE;
		e.name_len = name_len;
		if (e.size == MAX_UINT32 &&
		    zip64_size(r + RECORD_SIZE + name_len, extra_len, &e.size) != 0) {
			*why = "can't read header extra";
			rc = 1;
			goto out;
		}
		if (fn(ctx, &e) != 0)
			goto out;
		off += whole;
	}
	rc = 0;
out:;
	int err = errno;
	free(w.buf);
	errno = err;
	return rc;
}

int64_t zipdir_dostime(uint16_t dos_date, uint16_t dos_time)
{
	struct tm tm = {
		.tm_year = (dos_date >> 9) + 80,
		.tm_mon = ((dos_date >> 5) & 0xF) - 1,
		.tm_mday = dos_date & 0x1F,
		.tm_hour = dos_time >> 11,
		.tm_min = (dos_time >> 5) & 0x3F,
		.tm_sec = (dos_time & 0x1F) * 2,
		.tm_isdst = -1,
	};
	return (int64_t)mktime(&tm);
}
