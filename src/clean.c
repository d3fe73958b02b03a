/*
 * clean.c - the deleting calls, each behind its identity checks (see clean.h).
 *
 * The checks are made at the moment of action, not taken from the walk: between the judgement
 * and the removal another process may replace the file, its source, the directory, or all of
 * them, and the only safe answer to a change is to leave things alone and say so.
 *
 * A dry run must say what the real run would do, failures included, so it asks the questions
 * the kernel asks in unlinkat(2) before refusing (fs/namei.c: may_delete, check_sticky), in the
 * same order: a read-only mount, write and search permission on the directory, an immutable or
 * append-only directory, the sticky bit, an immutable or append-only file.  The answers come
 * from faccessat(AT_EACCESS), statx's attributes and the process's own capabilities.
 */
#define _GNU_SOURCE
#include "pycinspect/clean.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shadow.h"
#include "srcinfo.h"
#include "pycinspect/sysroot.h"

int pyci_clean_eligible(const pyci_record *r, unsigned selected, const char **why)
{
	if (r->cname->kind == PYCI_NAME_PYCACHE_BAD ||
	    (r->cname->kind == PYCI_NAME_LEGACY && r->cname->prefix_name)) {
		if (!(selected & PYCI_SELECT_DEBRIS))
			return 0; /* debris is not what --orphaned means: not selected, not failed */
	} else if (!(selected & PYCI_SELECT(r->verdict->status))) {
		return 0;
	} else if (r->cname->kind != PYCI_NAME_PYCACHE && r->cname->kind != PYCI_NAME_LEGACY &&
		   r->cname->kind != PYCI_NAME_JYTHON) {
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
	if (r->verdict->reasons & PYCI_REASON_BIT(PYCI_R_SOURCE_UNREADABLE)) {
		*why = PYCI_CLEAN_SOURCE_UNCHECKED; /* only a source really gone makes an orphan */
		return -1;
	}
	return 1;
}

int pyci_clean_source_errno(const pyci_record *r)
{
	if (r->source && r->source->err)
		return r->source->err;
	return r->verdict->source_errno;
}

/* statx of name in dirfd, not following a symlink: the fields the checks below need. */
static int stat_entry(int dirfd, const char *name, struct statx *sx)
{
	return statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS,
		     sx);
}

static int has_attr(const struct statx *sx, unsigned long long attr)
{
	return (sx->stx_attributes_mask & attr) && (sx->stx_attributes & attr);
}

/* Whether the process holds capability cap in its effective set (CAP_FOWNER lets it remove
 * others' files from a sticky directory).  On any doubt, 0: the prediction is then a failure
 * the real run might not have, never the reverse. */
static int capable(int cap)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return 0;
	return (int)((data[cap / 32].effective >> (cap % 32)) & 1u);
}

/*
 * What unlinkat(dirfd, <victim>, flags) would answer, without calling it: 0, or the errno it
 * would fail with.  victim is the entry's statx (not followed).
 */
static int predict_removal(int dirfd, const struct statx *victim)
{
	if (faccessat(dirfd, ".", W_OK | X_OK, AT_EACCESS) != 0)
		return errno; /* EROFS, EACCES, and EPERM for an immutable directory */
	struct statx dir;
	if (statx(dirfd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &dir) != 0)
		return errno;
	if (has_attr(&dir, STATX_ATTR_IMMUTABLE) || has_attr(&dir, STATX_ATTR_APPEND))
		return EPERM;
	uid_t me = geteuid();
	if ((dir.stx_mode & S_ISVTX) && victim->stx_uid != me && dir.stx_uid != me &&
	    !capable(CAP_FOWNER))
		return EPERM;
	if (has_attr(victim, STATX_ATTR_IMMUTABLE) || has_attr(victim, STATX_ATTR_APPEND))
		return EPERM;
	if (has_attr(victim, STATX_ATTR_MOUNT_ROOT))
		return EBUSY;
	return 0;
}

/* Whether r's source is still as it was judged: the same file, unchanged, or still absent. */
static int source_unchanged(const pyci_record *r)
{
	const pyci_source_info *was = r->source;
	if (!was)
		return 1; /* no source name: nothing to compare */
	char name[NAME_MAX + 8];
	size_t stem = r->cname->stem_len;
	if (stem + sizeof(".py") > sizeof(name))
		return 0;
	memcpy(name, r->name, stem);
	memcpy(name + stem, ".py", sizeof(".py"));
	struct stat st;
	/* a prefix tree's source directory that could not be opened: still not there, by name */
	int rc;
	if (r->source_in_root) { /* as the judge read it: inside the staging root */
		rc = pyci_sysroot_stat(r->root_fd, r->source_in_root, &st);
	} else if (r->srcdirfd >= 0) {
		rc = fstatat(r->srcdirfd, name, &st, 0);
	} else if (r->source_path) {
		rc = stat(r->source_path, &st);
	} else {
		errno = EBADF; /* nowhere to look: not known to be gone */
		rc = -1;
	}
	if (rc != 0) {
		int gone = errno == ENOENT || errno == ENOTDIR;
		return gone && (was->err == ENOENT || was->err == ENOTDIR);
	}
	if (was->err)
		return 0; /* it appeared */
	pyci_source_info now;
	pyci_source_info_from_stat(&now, &st);
	return now.regular == was->regular && now.size == was->size &&
	       now.mtime_sec == was->mtime_sec && now.mtime_nsec == was->mtime_nsec &&
	       now.ctime_sec == was->ctime_sec && now.ctime_nsec == was->ctime_nsec &&
	       now.dev == was->dev && now.ino == was->ino;
}

/* Whether what shadows r's module (shadow.h) still does: looked up as the judge did, inside the
 * staging root when there is one (its source's directory there). */
static int shadow_stays(const pyci_record *r, const pyci_shadow *s)
{
	if (!r->source_in_root) {
		shadow_dir d = {r->srcdirfd, -1, NULL};
		return shadow_still(&d, r->name, r->cname->stem_len, s);
	}
	char dir[PATH_MAX];
	const char *slash = strrchr(r->source_in_root, '/');
	size_t n = slash ? (size_t)(slash - r->source_in_root) : 0;
	if (n >= sizeof(dir))
		return 0;
	memcpy(dir, r->source_in_root, n);
	dir[n] = '\0';
	shadow_dir d = {r->srcdirfd, r->root_fd, dir};
	return shadow_still(&d, r->name, r->cname->stem_len, s);
}

int pyci_clean_remove(const pyci_record *r, int dry_run, const char **why)
{
	const pyci_file_info *f = &r->file;
	struct statx sx;
	if (stat_entry(r->dirfd, r->name, &sx) != 0)
		return -1; /* ENOENT: someone else removed or renamed it; it is not ours to claim */
	if (has_attr(&sx, STATX_ATTR_MOUNT_ROOT)) {
		*why = PYCI_CLEAN_MOUNT_POINT;
		return 1;
	}
	/* not its ctime: removing another hard link to the same cache moves it, and clean may
	 * have just done that; the source's identity includes it (source_unchanged) */
	if (!S_ISREG(sx.stx_mode) || makedev(sx.stx_dev_major, sx.stx_dev_minor) != f->dev ||
	    sx.stx_ino != f->ino || sx.stx_size != f->size || sx.stx_mtime.tv_sec != f->mtime_sec ||
	    (long)sx.stx_mtime.tv_nsec != f->mtime_nsec) {
		*why = PYCI_CLEAN_CHANGED;
		return 1;
	}
	if (!source_unchanged(r)) {
		*why = PYCI_CLEAN_SOURCE_CHANGED;
		return 1;
	}
	const pyci_shadow *shadow = r->verdict ? &r->verdict->shadow : NULL;
	if (shadow && shadow->kind != PYCI_SHADOW_NONE && !shadow_stays(r, shadow)) {
		*why = PYCI_CLEAN_SHADOW_GONE; /* its module may be imported from the source again */
		return 1;
	}
	if (dry_run) {
		int err = predict_removal(r->dirfd, &sx);
		if (err) {
			errno = err;
			return -1;
		}
		return 0;
	}
	return unlinkat(r->dirfd, r->name, 0) == 0 ? 0 : -1;
}

int pyci_clean_rmdir(int parent_fd, const char *name, int fd, int dry_run)
{
	struct statx named;
	struct stat held;
	if (stat_entry(parent_fd, name, &named) != 0 || fstat(fd, &held) != 0)
		return -1;
	if (!S_ISDIR(named.stx_mode) ||
	    makedev(named.stx_dev_major, named.stx_dev_minor) != held.st_dev ||
	    named.stx_ino != held.st_ino) {
		errno = ESTALE;
		return -1;
	}
	if (dry_run) {
		int err = predict_removal(parent_fd, &named);
		if (err) {
			errno = err;
			return -1;
		}
		return 0;
	}
	return unlinkat(parent_fd, name, AT_REMOVEDIR);
}

int pyci_clean_unlinkat(int dirfd, const char *name, int dry_run)
{
	if (!dry_run)
		return unlinkat(dirfd, name, 0);
	struct statx sx;
	if (stat_entry(dirfd, name, &sx) != 0)
		return -1;
	int err = predict_removal(dirfd, &sx);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int pyci_clean_is_root(const char *path)
{
	struct stat a, b;
	return stat(path, &a) == 0 && stat("/", &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}
