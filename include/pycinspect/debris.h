/*
 * debris.h - the leftovers of Python's development tools (pyclean's debris topics: .pytest_cache,
 * build/lib, *.egg-info, ...), recognised by name and removed bottom-up.
 *
 * The names are data (data/debris.tsv, taken from pyclean's source; src/debris_table.inc is
 * generated from it).  The scan engine recognises them while it walks (pyci_scan_options.debris)
 * and hands each one found to ops->debris; pyci_debris_remove then removes it as clean removes
 * caches: through directory descriptors, a directory only after everything in it and only if
 * it is still the directory that was emptied, never following a symlink (a symlink named like
 * debris is removed as a link), never crossing a mount, with one callback per act so that the
 * caller records each removal after it happened, and with a dry run that predicts the kernel's
 * answers instead of acting.
 */
#ifndef PYCINSPECT_DEBRIS_H
#define PYCINSPECT_DEBRIS_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/walk.h"

struct pyci_scan_options;

/* What of a name goes (data/debris.tsv explains how pyclean's globs say it). */
typedef enum {
	PYCI_DEBRIS_TREE = 0, /* a directory, with everything in it */
	PYCI_DEBRIS_FILE,     /* an entry that is not a directory */
	PYCI_DEBRIS_IF_EMPTY, /* a directory, only when nothing else is left in it */
} pyci_debris_kind;

/* How a rule's name is compared (the only globs pyclean's lists use). */
typedef enum {
	PYCI_DEBRIS_EXACT = 0, /* the name itself */
	PYCI_DEBRIS_PREFIX,    /* "bdist.*": starts with text */
	PYCI_DEBRIS_SUFFIX,    /* "*.egg-info": ends with text */
} pyci_debris_match_kind;

typedef struct pyci_debris_topic {
	const char *name;        /* "pytest" */
	int is_default;          /* part of --debris without a list */
	const char *description; /* for people: "pytest's cache and debug log" */
} pyci_debris_topic;

typedef struct pyci_debris_rule {
	unsigned topic;     /* index in pyci_debris_topics() */
	const char *parent; /* NULL, or the name the directory holding it must have */
	const char *text;   /* the literal part of the name's pattern */
	pyci_debris_match_kind match;
	pyci_debris_kind kind;
	const char *pattern; /* as data/debris.tsv writes it: "build/bdist.*" */
} pyci_debris_rule;

/* The topics, in the order of data/debris.tsv; *n receives their number (at most 32). */
const pyci_debris_topic *pyci_debris_topics(size_t *n);

/* Every rule, topic by topic; *n receives their number. */
const pyci_debris_rule *pyci_debris_rules(size_t *n);

/* The names --debris=LIST takes: every topic, then "all"; NULL-terminated. */
extern const char *const pyci_debris_topic_names[];

/* The bit of topic i in a set of topics. */
#define PYCI_DEBRIS_TOPIC_BIT(i) (1u << (i))

/* The topics --debris means without a list. */
unsigned pyci_debris_default_topics(void);

/*
 * The set of topics a comma-separated list names ("pytest,ruff"; "all": every topic), added to
 * *topics.  0, or -1 with errno EINVAL (an unknown or empty name: nothing is added).
 */
int pyci_debris_parse(const char *list, unsigned *topics);

/*
 * The rule of `topics` that makes the entry `name`, of d_type `type`, debris, or NULL.  parent:
 * the name of the directory holding it, or NULL when that directory is a PATH given (a rule
 * with a parent never matches there, as in pyclean).  Directories (DT_DIR) match tree rules;
 * symlinks (DT_LNK) match every rule, and are removed as links; other entries match file rules
 * only when they are regular files (DT_REG).  An if-empty rule never matches here: the
 * directory is walked, and pyci_debris_if_empty asks again once it was.
 */
const pyci_debris_rule *pyci_debris_match(unsigned topics, const char *parent, const char *name,
					  unsigned char type);

/* The if-empty rule of `topics` that a directory named `name` (not a PATH given) falls under,
 * or NULL. */
const pyci_debris_rule *pyci_debris_if_empty(unsigned topics, const char *name);

/*
 * Whether no debris is to be searched for below a directory named `name`: one of pyclean's
 * default ignores that the walk does not leave out already (.direnv, .tox, .venv, venv; not
 * with no_default_excludes), or a directory of installed packages (site-packages,
 * dist-packages; always).  1 or 0.
 */
int pyci_debris_stops(const char *name, size_t len, int no_default_excludes);

/*
 * Whether the canonical path of a PATH (realpath(3)) lies in a directory of installed packages:
 * then no debris is searched for in it at all.  1, 0, or -1 with errno (realpath failed).
 */
int pyci_debris_installed_path(const char *path);

/* Debris found by the scan engine (pyci_scan_ops.debris): an entry of an open directory. */
typedef struct pyci_debris_found {
	int dirfd;        /* the directory holding it, open during the call */
	const char *name; /* its name there */
	const char *path; /* its display path; NUL-terminated */
	size_t path_len;
	size_t root_len;    /* the length of path's leading PATH given (the rest is matched
			     * against --exclude globs with a '/', as the walk does) */
	unsigned char type; /* its d_type when listed: DT_DIR, DT_REG or DT_LNK */
	const pyci_debris_rule *rule;
} pyci_debris_found;

/* Why an entry stays without being tried (pyci_debris_entry.keep): static strings. */
#define PYCI_DEBRIS_CHANGED "changed since it was listed"
#define PYCI_DEBRIS_NOT_EMPTY "not empty"

/* One act of a removal: an entry to remove now, or one to keep (keep != NULL). */
typedef struct pyci_debris_entry {
	const char *path; /* display path; NUL-terminated */
	size_t path_len;
	int dirfd;        /* the directory holding it, open during the call */
	const char *name; /* its name there */
	int fd;           /* a directory: its own descriptor, open; else -1 */
	unsigned topic;
	uint32_t mode; /* its type and permissions, from a statx just made (not followed) */
	uint64_t dev, ino, size;
	size_t left;      /* a directory: its entries that stay (kept, failed, left out) */
	const char *keep; /* NULL: remove it (pyci_debris_unlink); else why it stays: a mount
			   * point (PYCI_CLEAN_MOUNT_POINT), PYCI_DEBRIS_CHANGED, or
			   * PYCI_DEBRIS_NOT_EMPTY (left entries stay in it) */
} pyci_debris_entry;

typedef struct pyci_debris_ops {
	/*
	 * Each entry of a removal, files before the directory holding them, a directory after
	 * everything in it.  The callee records it, and for an entry to remove calls
	 * pyci_debris_unlink (or its own checks first).  Returns 1 when it was removed (dry run:
	 * would be), 0 when it stays (kept or failed: its directory then stays too), -1 to stop
	 * the whole removal (keep errno).
	 */
	int (*act)(void *ctx, const pyci_debris_entry *e);
	/* A directory of the tree that was not entered: a mount point (PYCI_WALK_ERR_MOUNT), or
	 * one that could not be opened or listed; it stays, and so do the directories above it. */
	void (*error)(void *ctx, const char *path, pyci_walk_err kind, int err);
	/* After the acts on the entries of one directory (NULL: nothing to do): the caller may
	 * write the records of one directory together.  -1 (keep errno) stops the removal. */
	int (*dir_end)(void *ctx);
	void *ctx;
} pyci_debris_ops;

/* The most descriptors pyci_debris_remove holds open at once, whatever the depth of the tree. */
#define PYCI_DEBRIS_FDS 16

/*
 * Remove the debris f with everything in it, bottom-up: f->dirfd must stay open during the
 * call.  A directory is walked as walk.h walks (descriptors bounded whatever its depth, no
 * symlink followed: one is removed as the link itself, no other mount entered whatever
 * o->cross_mounts, o's default excludes and --exclude globs left in place: an excluded entry
 * stays, and with it the directories above it).  Each entry goes to ops->act, after a statx that
 * found it not to be a mount point and of the type it was listed with.  o: the walk's options
 * (excludes, exclude_hits, no_default_excludes, defer_close); NULL: none.
 * Returns 1 when f itself was removed (dry run: would be), 0 when it stays, -1 with errno when
 * ops stopped the removal or memory ran out (what was done is recorded: the caller's acts).
 */
int pyci_debris_remove(const pyci_debris_found *f, const struct pyci_scan_options *o,
		       const pyci_debris_ops *ops);

/*
 * Remove the directory fd, named `name` in its parent, which the walk found to be debris of
 * `rule` (an if-empty rule) and the caller found emptied: its parent is opened through "..",
 * where `name` must still be this very directory.  The act goes to ops->act as above; path is
 * its display path.  Returns as pyci_debris_remove.
 */
int pyci_debris_remove_emptied(int fd, const char *name, const char *path,
			       const pyci_debris_rule *rule, const pyci_debris_ops *ops);

/*
 * Remove e (from ops->act) if it is still what e describes: the same type, device and inode
 * (a directory: pyci_clean_rmdir, which also finds it empty), not a mount point.  dry_run:
 * remove nothing, and predict the answer of unlinkat as pyci_clean_remove does.
 * Returns 0 removed (dry run: would be), 1 kept with *why (PYCI_DEBRIS_CHANGED,
 * PYCI_CLEAN_MOUNT_POINT), -1 with errno (the removal failed, or would).
 */
int pyci_debris_unlink(const pyci_debris_entry *e, int dry_run, const char **why);

#endif
