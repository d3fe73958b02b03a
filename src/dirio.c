/*
 * dirio.c - opening, identifying and listing directories for the walkers (see dirio.h).
 */
#define _GNU_SOURCE
#include "dirio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "readopen.h"

void dirio_opener_init(dirio_opener *o, int cross_mounts)
{
	o->cross_mounts = cross_mounts;
	o->have_openat2 = 1;
	o->noatime = 1;
}

int dirio_identity(int fd, uint64_t *dev, uint64_t *ino, uint64_t *mnt)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO | STATX_TYPE | STATX_MNT_ID,
		  &sx) != 0)
		return -1;
	*dev = ((uint64_t)sx.stx_dev_major << 32) | sx.stx_dev_minor;
	*ino = sx.stx_ino;
	*mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	return 0;
}

int dirio_open_at(dirio_opener *o, int pfd, const char *name, int *checked)
{
	*checked = 0;
	if (!o->cross_mounts && o->have_openat2) {
		struct open_how how = {
			.flags = DIRIO_OPEN_FLAGS | (o->noatime ? O_NOATIME : 0),
			.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		long fd = syscall(SYS_openat2, pfd, name, &how, sizeof(how));
		if (fd < 0 && errno == EPERM && o->noatime) {
			/* not the directory's owner: O_NOATIME is refused, not openat2 */
			o->noatime = 0;
			how.flags = DIRIO_OPEN_FLAGS;
			fd = syscall(SYS_openat2, pfd, name, &how, sizeof(how));
		}
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
			*checked = 1;
			return (int)fd;
		}
		o->have_openat2 = 0; /* old kernel, or a seccomp filter that does not know it */
	}
	return pyci_openat_read(pfd, name, DIRIO_OPEN_FLAGS, &o->noatime);
}

int dirio_same_mount(uint64_t dev, uint64_t mnt, uint64_t root_dev, uint64_t root_mnt)
{
	return dev == root_dev && !(mnt && root_mnt && mnt != root_mnt);
}

pyci_walk_err dirio_error_kind(int err)
{
	if (err == EXDEV)
		return PYCI_WALK_ERR_MOUNT;
	if (err == ESTALE || err == ELOOP || err == ENOTDIR)
		return PYCI_WALK_ERR_CHANGED;
	return PYCI_WALK_ERR_OPEN;
}

static int listing_add(dirio_listing *l, const char *name, size_t len, unsigned char type)
{
	if (l->names_len + len + 1 > l->names_cap) {
		size_t cap = l->names_cap ? l->names_cap : 4096;
		while (cap < l->names_len + len + 1)
			cap *= 2;
		char *p = realloc(l->names, cap);
		if (!p)
			return -1;
		l->names = p;
		l->names_cap = cap;
	}
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		pyci_entry *p = realloc(l->entries, cap * sizeof(*p));
		if (!p)
			return -1;
		l->entries = p;
		l->cap = cap;
	}
	memcpy(l->names + l->names_len, name, len + 1);
	/* names may move on realloc: dirio_list points at them once the listing is complete */
	l->entries[l->count].name = NULL;
	l->entries[l->count].len = len;
	l->entries[l->count].type = type;
	l->count++;
	l->names_len += len + 1;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const pyci_entry *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

int dirio_list(int fd, dirio_listing *l)
{
	l->count = 0;
	l->names_len = 0;
	if (!l->dents && !(l->dents = malloc(DIRIO_DENTS_SIZE))) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		ssize_t n = getdents64(fd, l->dents, DIRIO_DENTS_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(void *)(l->dents + off);
			off += d->d_reclen;
			const char *name = d->d_name;
			if (name[0] == '.' &&
			    (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
				continue;
			unsigned char type = d->d_type;
			if (type == DT_UNKNOWN) {
				struct stat st;
				if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
					type = IFTODT(st.st_mode);
			}
			if (listing_add(l, name, strlen(name), type) != 0)
				return -1;
		}
	}
	/* names were appended in entry order, each NUL-terminated */
	size_t off = 0;
	for (size_t i = 0; i < l->count; i++) {
		l->entries[i].name = l->names + off;
		off += l->entries[i].len + 1;
	}
	if (l->count > 1) /* entries is still NULL for an empty first listing */
		qsort(l->entries, l->count, sizeof(l->entries[0]), entry_cmp);
	return 0;
}

void dirio_listing_free(dirio_listing *l)
{
	free(l->names);
	free(l->entries);
	free(l->dents);
	memset(l, 0, sizeof(*l));
}

/* The working directory, as getcwd(3) gives it.  NULL with errno. */
char *dirio_working_dir(void)
{
	for (size_t size = 256; size <= ((size_t)1 << 20); size *= 2) {
		char *b = malloc(size);
		if (!b)
			return NULL;
		if (getcwd(b, size))
			return b;
		int e = errno;
		free(b);
		if (e != ERANGE) {
			errno = e;
			return NULL;
		}
	}
	errno = ENAMETOOLONG;
	return NULL;
}
