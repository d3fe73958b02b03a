/*
 * dirio.h - the directory calls both walkers make: open a subdirectory safely, read its
 * identity, list it in full and sorted.
 *
 * Internal to the library (not installed).  walk.c (one thread, bounded descriptors at any
 * depth) and pwalk.c (directories on worker threads) open and list directories the same way;
 * the rules live here once.  Every function is safe to call from several threads as long as
 * each uses its own dirio_opener and dirio_listing.
 */
#ifndef PYCI_DIRIO_H
#define PYCI_DIRIO_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/walk.h"

#define DIRIO_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)

/* What an opener has learnt of the kernel; one per thread.  Start with dirio_opener_init. */
typedef struct dirio_opener {
	int cross_mounts; /* descend into other mounts */
	int have_openat2; /* cleared when the kernel (or a seccomp filter) lacks it */
	int noatime;      /* readopen.h: cleared after the first EPERM */
} dirio_opener;

void dirio_opener_init(dirio_opener *o, int cross_mounts);

/* dev, ino and mount id (0 if the kernel has none) of an open descriptor.  0, or -1 with errno. */
int dirio_identity(int fd, uint64_t *dev, uint64_t *ino, uint64_t *mnt);

/*
 * openat(pfd, name) for a directory, refusing symlinks.  When mounts are not to be crossed,
 * openat2's RESOLVE_NO_XDEV refuses them in the same call (EXDEV), bind mounts included, and
 * *checked is set to 1; otherwise (*checked 0) the caller compares the identity itself.
 * Returns the descriptor, or -1 with errno.
 */
int dirio_open_at(dirio_opener *o, int pfd, const char *name, int *checked);

/*
 * Whether a directory of identity (dev, mnt) is on the walk's own filesystem and mount, whose
 * root has (root_dev, root_mnt).  A mount id of 0 (kernel without one) is not compared.
 */
int dirio_same_mount(uint64_t dev, uint64_t mnt, uint64_t root_dev, uint64_t root_mnt);

/* How a walk reports a directory it could not open, from the open's errno: EXDEV is a mount
 * not crossed, ESTALE/ELOOP/ENOTDIR a directory replaced during the walk. */
pyci_walk_err dirio_error_kind(int err);

/* One directory's names: an arena of NUL-terminated names and an entry array pointing into it. */
typedef struct dirio_listing {
	char *names;
	size_t names_len, names_cap;
	pyci_entry *entries;
	size_t count, cap;
	char *dents; /* getdents64 buffer, DIRIO_DENTS_SIZE bytes once allocated */
} dirio_listing;

#define DIRIO_DENTS_SIZE ((size_t)64 * 1024)

/*
 * List fd (from its current offset) into l, sorted bytewise, "." and ".." left out; DT_UNKNOWN
 * is resolved with fstatat.  The entries stay valid until the next call.  0, or -1 with errno.
 */
int dirio_list(int fd, dirio_listing *l);

void dirio_listing_free(dirio_listing *l);

/* The working directory, as getcwd(3) gives it (importlib's _path_abspath reads it so), in
 * memory the caller frees.  NULL with errno. */
char *dirio_working_dir(void);

#endif
