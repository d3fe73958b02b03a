/*
 * artable.h - the members of an archive that matter to a verdict, kept while it is read:
 * caches, sources and symbolic links, by path, with what the verdict needs of each (its first
 * bytes, size, times, mode), and for an image the layer each came from.
 *
 * Everything else an archive holds is only counted, so that a million members cost nothing
 * here unless they are Python's; and every byte the table holds (members, paths, its index,
 * an image's whiteout events, manifests) is counted against a budget fixed by the caller: past
 * it, adding fails with EFBIG and the archive is not judged (docs/archives.md).
 *
 * Paths are normalized before they come here (archive.c): relative, '/'-separated, no "." or
 * ".." component, no trailing '/'.  Internal to the library (not installed).
 */
#ifndef PYCI_ARTABLE_H
#define PYCI_ARTABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pycinspect/buf.h"
#include "pycinspect/header.h"

typedef enum {
	AR_CACHE = 1, /* its name ends in .pyc or .pyo */
	AR_SOURCE,    /* .py */
	AR_SYMLINK,   /* any other name: a link a source may be reached through */
} ar_role;

typedef struct ar_member {
	size_t path_off; /* in the table's names: the path, NUL-terminated */
	uint32_t path_len;
	uint32_t layer;   /* the layer's index in the stream (images), else 0 */
	uint32_t next;    /* index chain (artable internal) */
	uint8_t role;     /* ar_role */
	uint8_t hidden;   /* replaced by a later member of the same path and layer, or not in the
			 * image's final file system */
	uint8_t got;      /* bytes of peek read */
	uint8_t hardlink; /* a hard link: its bytes are another member's */
	uint8_t peek[PYCI_PEEK_SIZE];
	uint32_t mode;    /* type and permissions, as stat's st_mode */
	int read_err;     /* errno reading its first bytes (caches), or 0 */
	uint64_t ordinal; /* its place in the walk of the archive, for the later passes */
	uint64_t size;
	int64_t mtime_sec;
	long mtime_nsec;
	int64_t dos_time; /* zips: zipimport's time of its central directory entry */
	int has_dos;
	size_t link_off; /* symlinks: the target, NUL-terminated in names */
	uint32_t link_len;
	uint32_t uid, gid;
} ar_member;

/* An image's record of what a layer does at a path (whiteouts, opaque directories, entries). */
enum {
	AR_EV_DIR = 1,      /* a directory */
	AR_EV_NONDIR = 2,   /* anything else: it replaces a directory of a lower layer */
	AR_EV_WHITEOUT = 4, /* .wh.NAME: the path is deleted from lower layers */
	AR_EV_OPAQUE = 8,   /* .wh..wh..opq: the directory's lower contents are hidden */
};

typedef struct ar_event {
	uint64_t hash; /* of the path */
	uint32_t layer;
	uint32_t what; /* AR_EV_* */
} ar_event;

typedef struct artable {
	ar_member *m;
	size_t n, cap;
	pyci_buf names;
	uint32_t *index; /* open addressing: member index + 1, 0 empty */
	size_t index_cap;
	ar_event *ev;
	size_t nev, evcap;
	size_t budget; /* bytes the table may hold */
	size_t extra;  /* bytes held elsewhere and counted here (manifests) */
	/* artable_share: the bytes of every table sharing the budget, and this one's part */
	atomic_size_t *shared;
	size_t charged;
} artable;

/* An empty table of at most budget bytes. */
void artable_init(artable *t, size_t budget);
void artable_free(artable *t);

/*
 * Count the table against a budget shared with other tables, on other threads (an image's
 * layers read at once): *counter holds the bytes of all of them, and growing fails with EFBIG
 * once their sum would pass the budget.  Each growth is taken from the counter before it is
 * made, so the sum never passes it.  artable_free gives the table's bytes back.
 */
void artable_share(artable *t, atomic_size_t *counter);

/* The table counted alone again, its bytes given back to the shared counter. */
void artable_unshare(artable *t);

/* The bytes the table holds now. */
size_t artable_bytes(const artable *t);

/* Count n bytes held elsewhere against the budget.  0, or -1 (EFBIG). */
int artable_reserve(artable *t, size_t n);

/* The 64-bit hash of a path, as the index and the events use it. */
uint64_t artable_hash(const char *path, size_t len);

/*
 * Add a member (m's path fields are filled in here from path; link may be NULL) of path in
 * layer: a member of the same path and layer already there is hidden (the later one wins, as
 * it does when an archive is extracted).  Returns its index, or -1 with errno EFBIG (over the
 * budget) or ENOMEM.
 */
long artable_add(artable *t, const ar_member *m, const char *path, size_t len, const char *link,
		 size_t link_len);

/*
 * Append src's members [from, to) to t as artable_add would, each one's ordinal plus base.
 * 0, or -1 (EFBIG, ENOMEM).
 */
int artable_append(artable *t, const artable *src, size_t from, size_t to, uint64_t base);

/* Append src's image events to t.  0, or -1 (EFBIG, ENOMEM). */
int artable_append_events(artable *t, const artable *src);

/* The member of path in layer that is not hidden, or -1. */
long artable_find(const artable *t, const char *path, size_t len, uint32_t layer);

/* The path of member i. */
static inline const char *artable_path(const artable *t, size_t i)
{
	return t->names.data + t->m[i].path_off;
}

/* Record an image event.  0, or -1 (EFBIG, ENOMEM). */
int artable_event(artable *t, const char *path, size_t len, uint32_t layer, uint32_t what);

/*
 * An image's final file system: rank[l] is the place of the stream's layer l in the image
 * (bottom 1, then up; 0: not one of the image's layers), for l < nlayers.  Every member of a
 * layer not in the image, or hidden by a higher layer (the same path, a whiteout of it or of a
 * directory above it, an opaque directory above it, anything not a directory in place of a
 * directory above it), is marked hidden, and the members left are indexed by path alone (their
 * layer set to 0 for artable_find; layer_of keeps it).  layer_of: one slot per member.
 * 0, or -1 (ENOMEM).
 */
int artable_flatten(artable *t, const uint32_t *rank, size_t nlayers, uint32_t *layer_of);

/*
 * Resolve path as a process inside the archive's tree would open it, following symbolic links
 * within the tree (an absolute target from its root; ".." never above it; at most 40 links):
 * the member it leads to, or -1 with *err ENOENT (nothing there), ELOOP.  scratch is the
 * caller's.  Only members of layer 0 are seen (not an image, or flattened).
 */
long artable_resolve(const artable *t, const char *path, size_t len, pyci_buf *scratch, int *err);

#endif
