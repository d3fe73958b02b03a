/*
 * mountinfo.c - parse /proc/self/mountinfo (see mountinfo.h; proc(5) gives the format: "ID
 * PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS ...", spaces and backslashes in paths as octal
 * escapes such as \040).
 */
#define _GNU_SOURCE
#include "mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Parse "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ..." into m (pointing into line).  0, or -1. */
static int parse_mount(char *line, mountinfo_entry *m)
{
	char *end;
	const char *p = line;
	m->id = strtoull(p, &end, 10);
	if (end == p || *end != ' ')
		return -1;
	p = end + 1;
	(void)strtoul(p, &end, 10); /* the parent's ID */
	if (end == p || *end != ' ')
		return -1;
	p = end + 1;
	unsigned long maj = strtoul(p, &end, 10);
	if (end == p || *end != ':')
		return -1;
	p = end + 1;
	unsigned long min = strtoul(p, &end, 10);
	if (end == p || *end != ' ')
		return -1;
	m->dev = makedev((unsigned)maj, (unsigned)min);
	m->root = line + (end + 1 - line); /* the fields are cut and unescaped in place */
	char *sp = strchr(m->root, ' ');
	if (!sp)
		return -1;
	*sp = '\0';
	m->point = sp + 1;
	if (!(sp = strchr(m->point, ' ')))
		return -1;
	*sp = '\0';
	unescape(m->root);
	unescape(m->point);
	return 0;
}

int mountinfo_read(mountinfo *mi)
{
	*mi = (mountinfo){0};
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	size_t cap = 0;
	char *line = NULL;
	size_t len = 0;
	int rc = 0;
	while (getline(&line, &len, f) > 0) {
		if (mi->n == cap) {
			size_t c = cap ? 2 * cap : 64;
			mountinfo_entry *nm = realloc(mi->m, c * sizeof(*nm));
			if (nm)
				mi->m = nm;
			char **nl = nm ? realloc(mi->lines_, c * sizeof(*nl)) : NULL;
			if (nl)
				mi->lines_ = nl;
			if (!nm || !nl) {
				rc = -1;
				break;
			}
			cap = c;
		}
		if (parse_mount(line, &mi->m[mi->n]) != 0)
			continue;
		mi->lines_[mi->n++] = line; /* the entry points into it */
		line = NULL;
		len = 0;
	}
	if (rc == 0 && ferror(f)) {
		rc = -1; /* a read error or no memory for a line: the table may lack mounts */
		if (!errno)
			errno = EIO;
	}
	int e = errno;
	free(line);
	(void)fclose(f);
	errno = e;
	return rc;
}

const mountinfo_entry *mountinfo_find(const mountinfo *mi, uint64_t id)
{
	for (size_t i = 0; i < mi->n; i++)
		if (mi->m[i].id == id)
			return &mi->m[i];
	return NULL;
}

void mountinfo_free(mountinfo *mi)
{
	for (size_t i = 0; i < mi->n; i++)
		free(mi->lines_[i]);
	free(mi->lines_);
	free(mi->m);
	*mi = (mountinfo){0};
}
