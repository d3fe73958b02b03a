/*
 * srcinfo.h - a source's stat data as the verdict and clean's re-check see it.
 *
 * The judge (scan.c) and the re-check just before a removal (clean.c) must read a source the
 * same way, or a cache would be kept for a difference that is only in how it was read.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_SRCINFO_H
#define PYCI_SRCINFO_H

#include <sys/stat.h>

#include "pycinspect/verdict.h"

/* Fill s from a successful stat of the source (err 0). */
static inline void pyci_source_info_from_stat(pyci_source_info *s, const struct stat *st)
{
	*s = (pyci_source_info){0};
	s->regular = S_ISREG(st->st_mode);
	s->mtime_sec = st->st_mtim.tv_sec;
	s->mtime_nsec = st->st_mtim.tv_nsec;
	s->size = (uint64_t)st->st_size;
	s->dev = (uint64_t)st->st_dev;
	s->ino = (uint64_t)st->st_ino;
	s->ctime_sec = st->st_ctim.tv_sec;
	s->ctime_nsec = st->st_ctim.tv_nsec;
}

#endif
