/*
 * clean.c - the deleting calls, each behind its identity check (see clean.h).
 *
 * The checks are made at the moment of action, not taken from the walk: between the judgement
 * and the removal another process may replace the file, the directory, or both, and the only
 * safe answer to a change is to leave things alone and say so.
 */
#define _GNU_SOURCE
#include "pycinspect/clean.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int pyci_clean_eligible(const pyci_record *r, unsigned selected, const char **why)
{
	if (!(selected & PYCI_SELECT(r->verdict->status)))
		return 0;
	if (r->cname->kind != PYCI_NAME_PYCACHE && r->cname->kind != PYCI_NAME_LEGACY) {
		*why = "not a cache name";
		return -1;
	}
	if (r->file_errno) {
		*why = "cannot be read"; /* checked first: what could not be opened was not judged */
		return -1;
	}
	if (!r->have_file || !S_ISREG(r->file.mode) ||
	    (r->verdict->reasons & PYCI_REASON_BIT(PYCI_R_NOT_REGULAR))) {
		*why = "not a regular file";
		return -1;
	}
	return 1;
}

int pyci_clean_remove(int dirfd, const char *name, const pyci_file_info *f, int dry_run)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != f->dev || (uint64_t)st.st_ino != f->ino ||
	    (uint64_t)st.st_size != f->size || st.st_mtim.tv_sec != f->mtime_sec ||
	    st.st_mtim.tv_nsec != f->mtime_nsec) {
		errno = ESTALE;
		return -1;
	}
	if (dry_run)
		return 0;
	return unlinkat(dirfd, name, 0);
}

int pyci_clean_rmdir(int parent_fd, const char *name, int fd, int dry_run)
{
	struct stat named, held;
	if (fstatat(parent_fd, name, &named, AT_SYMLINK_NOFOLLOW) != 0 || fstat(fd, &held) != 0)
		return -1;
	if (!S_ISDIR(named.st_mode) || named.st_dev != held.st_dev || named.st_ino != held.st_ino) {
		errno = ESTALE;
		return -1;
	}
	if (dry_run)
		return 0;
	return unlinkat(parent_fd, name, AT_REMOVEDIR);
}

int pyci_clean_is_root(const char *path)
{
	struct stat a, b;
	return stat(path, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}
