/*
 * debris.c - pyclean's debris topics: the names (a generated table, see debris.h), and the
 * removal of what carries them, bottom-up.
 *
 * A debris directory is removed with walk.c's walk, which never follows a symlink, keeps its
 * descriptors bounded whatever the depth, reopens an evicted directory from an open ancestor
 * and checks that it is still the one it saw.  Its visit removes the entries that are not
 * directories; its leave, called once everything below a directory is done, removes the
 * directory from its parent's descriptor if nothing stayed in it: each directory counts what
 * stayed in it (pyci_walk_count), and a directory that keeps anything is kept too, so the
 * same path gives the same answers to a dry run, where nothing is removed.  Mount points are
 * never entered: the sub-walk refuses other mounts whatever the scan's --cross-mounts.
 */
#define _GNU_SOURCE
#include "pycinspect/debris.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "exclude.h"
#include "pycinspect/buf.h"
#include "pycinspect/clean.h"
#include "pycinspect/scan.h"

/* A directory below which no debris is searched for: pyclean's ignores, installed packages. */
struct debris_ignore {
	const char *name;
	int installed;
};

#include "debris_table.inc"

#define NTOPICS (sizeof(debris_topics) / sizeof(debris_topics[0]))
#define NRULES (sizeof(debris_rules) / sizeof(debris_rules[0]))
#define NIGNORES (sizeof(debris_ignores) / sizeof(debris_ignores[0]))

const pyci_debris_topic *pyci_debris_topics(size_t *n)
{
	*n = NTOPICS;
	return debris_topics;
}

const pyci_debris_rule *pyci_debris_rules(size_t *n)
{
	*n = NRULES;
	return debris_rules;
}

unsigned pyci_debris_default_topics(void)
{
	unsigned set = 0;
	for (size_t i = 0; i < NTOPICS; i++)
		if (debris_topics[i].is_default)
			set |= PYCI_DEBRIS_TOPIC_BIT(i);
	return set;
}

int pyci_debris_parse(const char *list, unsigned *topics)
{
	unsigned set = 0;
	const char *p = list;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i = 0;
		while (pyci_debris_topic_names[i] &&
		       (strlen(pyci_debris_topic_names[i]) != len ||
			strncmp(p, pyci_debris_topic_names[i], len) != 0))
			i++;
		if (!pyci_debris_topic_names[i]) {
			errno = EINVAL;
			return -1;
		}
		set |= i == NTOPICS ? (unsigned)((1ull << NTOPICS) - 1) : PYCI_DEBRIS_TOPIC_BIT(i);
		if (!p[len])
			break;
		p += len + 1;
	}
	*topics |= set;
	return 0;
}

/* Whether name (len bytes) matches rule r's pattern. */
static int name_matches(const pyci_debris_rule *r, const char *name, size_t len)
{
	size_t n = strlen(r->text);
	switch (r->match) {
	case PYCI_DEBRIS_PREFIX:
		return len >= n && memcmp(name, r->text, n) == 0;
	case PYCI_DEBRIS_SUFFIX:
		return len >= n && memcmp(name + len - n, r->text, n) == 0;
	default:
		return len == n && memcmp(name, r->text, n) == 0;
	}
}

const pyci_debris_rule *pyci_debris_match(unsigned topics, const char *parent, const char *name,
					  unsigned char type)
{
	if (type != DT_DIR && type != DT_REG && type != DT_LNK)
		return NULL;
	size_t len = strlen(name);
	for (size_t i = 0; i < NRULES; i++) {
		const pyci_debris_rule *r = &debris_rules[i];
		if (!(topics & PYCI_DEBRIS_TOPIC_BIT(r->topic)) || r->kind == PYCI_DEBRIS_IF_EMPTY)
			continue;
		if (r->parent && (!parent || strcmp(parent, r->parent) != 0))
			continue;
		if (type == DT_DIR && r->kind != PYCI_DEBRIS_TREE)
			continue;
		if (type == DT_REG && r->kind != PYCI_DEBRIS_FILE)
			continue;
		if (name_matches(r, name, len))
			return r;
	}
	/* a symlink named like an if-empty directory is not walked: it goes as a link */
	for (size_t i = 0; type == DT_LNK && i < NRULES; i++) {
		const pyci_debris_rule *r = &debris_rules[i];
		if ((topics & PYCI_DEBRIS_TOPIC_BIT(r->topic)) && r->kind == PYCI_DEBRIS_IF_EMPTY &&
		    name_matches(r, name, len))
			return r;
	}
	return NULL;
}

const pyci_debris_rule *pyci_debris_if_empty(unsigned topics, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < NRULES; i++) {
		const pyci_debris_rule *r = &debris_rules[i];
		if ((topics & PYCI_DEBRIS_TOPIC_BIT(r->topic)) && r->kind == PYCI_DEBRIS_IF_EMPTY &&
		    name_matches(r, name, len))
			return r;
	}
	return NULL;
}

int pyci_debris_stops(const char *name, size_t len, int no_default_excludes)
{
	for (size_t i = 0; i < NIGNORES; i++)
		if ((debris_ignores[i].installed || !no_default_excludes) &&
		    strlen(debris_ignores[i].name) == len &&
		    memcmp(debris_ignores[i].name, name, len) == 0)
			return 1;
	return 0;
}

int pyci_debris_installed_path(const char *path)
{
	char *real = realpath(path, NULL);
	if (!real)
		return -1;
	int found = 0;
	for (const char *p = real; *p && !found;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		for (size_t i = 0; i < NIGNORES && !found; i++)
			found = debris_ignores[i].installed &&
				strlen(debris_ignores[i].name) == len &&
				memcmp(debris_ignores[i].name, p, len) == 0;
		p += len;
	}
	free(real);
	return found;
}

/* ---- removing ----------------------------------------------------------------------------- */

static int stat_entry(int dirfd, const char *name, struct statx *sx)
{
	return statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS,
		     sx);
}

static int is_mount_root(const struct statx *sx)
{
	return (sx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (sx->stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static void entry_from_statx(pyci_debris_entry *e, const struct statx *sx)
{
	e->mode = sx->stx_mode;
	e->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	e->ino = sx->stx_ino;
	e->size = S_ISDIR(sx->stx_mode) ? 0 : sx->stx_size;
}

int pyci_debris_unlink(const pyci_debris_entry *e, int dry_run, const char **why)
{
	struct statx sx;
	if (stat_entry(e->dirfd, e->name, &sx) != 0)
		return -1; /* ENOENT: gone already, not ours to claim */
	if (is_mount_root(&sx)) {
		*why = PYCI_CLEAN_MOUNT_POINT;
		return 1;
	}
	if ((sx.stx_mode & S_IFMT) != (e->mode & S_IFMT) ||
	    makedev(sx.stx_dev_major, sx.stx_dev_minor) != e->dev || sx.stx_ino != e->ino) {
		*why = PYCI_DEBRIS_CHANGED;
		return 1;
	}
	if (S_ISDIR(sx.stx_mode))
		return pyci_clean_rmdir(e->dirfd, e->name, e->fd, dry_run);
	return pyci_clean_unlinkat(e->dirfd, e->name, dry_run);
}

/* The state of one debris removal, shared by the walk's callbacks. */
struct remover {
	const pyci_debris_ops *ops;
	const pyci_scan_options *o;
	size_t root_len; /* of the display paths, the PATH's part */
	unsigned topic;
	pyci_buf path; /* an entry's display path */
	pyci_buf rel;  /* exclude matching's scratch */
	int removed;   /* the debris itself went */
	int stop_errno;
};

/* Whether the entry `name` of dir is left out by the walk's excludes (counted as the scan's). */
static int excluded(struct remover *rm, const pyci_dir *dir, const char *name, int is_dir)
{
	if (!rm->o)
		return 0;
	const char *below = dir->path_len > rm->root_len ? dir->path + rm->root_len : "";
	int which = pyci_exclude_match(rm->o, below, name, is_dir, &rm->rel);
	if (which >= 0 && rm->o->exclude_hits)
		atomic_fetch_add_explicit(&rm->o->exclude_hits[which], 1, memory_order_relaxed);
	return which != PYCI_EXCLUDE_NONE;
}

static int join(pyci_buf *b, const char *dir, size_t dir_len, const char *name)
{
	pyci_buf_clear(b);
	return pyci_buf_append(b, dir, dir_len) ||
	       (dir_len && dir[dir_len - 1] != '/' && pyci_buf_putc(b, '/')) ||
	       pyci_buf_puts(b, name);
}

/* What act_on found: besides ops->act's 1 (removed), 0 (stays) and -1 (stop). */
#define ACT_GONE 2 /* nothing there any more: not ours to record, and it leaves no entry */

/*
 * Act on the entry `name` of the open directory dirfd (display path path): statx it, keep it if
 * it is a mount point or no longer of its listed type (want: S_IFMT bits, 0: any but a
 * directory), else hand it to ops->act.  As ops->act, or ACT_GONE; an entry that cannot be
 * stat'ed stays, said through ops->error.
 */
static int act_on(struct remover *rm, int dirfd, const char *name, const char *path,
		  size_t path_len, mode_t want)
{
	pyci_debris_entry e = {.path = path,
			       .path_len = path_len,
			       .dirfd = dirfd,
			       .name = name,
			       .fd = -1,
			       .topic = rm->topic};
	struct statx sx;
	if (stat_entry(dirfd, name, &sx) != 0) {
		if (errno == ENOENT)
			return ACT_GONE;
		if (rm->ops->error)
			rm->ops->error(rm->ops->ctx, path, PYCI_WALK_ERR_READ, errno);
		return 0;
	}
	entry_from_statx(&e, &sx);
	if (is_mount_root(&sx))
		e.keep = PYCI_CLEAN_MOUNT_POINT;
	else if (want ? (sx.stx_mode & S_IFMT) != want : S_ISDIR(sx.stx_mode))
		e.keep = PYCI_DEBRIS_CHANGED;
	return rm->ops->act(rm->ops->ctx, &e);
}

/* The entries of a visited directory that are not directories: removed, or counted as left. */
static int remove_files(struct remover *rm, const pyci_dir *d)
{
	size_t *left = pyci_walk_count(d->node);
	for (size_t i = 0; i < d->count; i++) {
		const pyci_entry *ent = &d->entries[i];
		if (ent->type == DT_DIR)
			continue; /* the walk's, then leave's */
		if (excluded(rm, d, ent->name, 0)) {
			++*left;
			continue;
		}
		if (join(&rm->path, d->path, d->path_len, ent->name) != 0) {
			errno = ENOMEM;
			return -1;
		}
		int rc = act_on(rm, d->fd, ent->name, rm->path.data, rm->path.len, 0);
		if (rc < 0)
			return -1;
		if (rc == 0)
			++*left;
	}
	return 0;
}

static int rm_visit(void *ctx, const pyci_dir *dir, const pyci_dir *pycache)
{
	struct remover *rm = ctx;
	if (remove_files(rm, dir) != 0 || (pycache && remove_files(rm, pycache) != 0) ||
	    (rm->ops->dir_end && rm->ops->dir_end(rm->ops->ctx) != 0)) {
		rm->stop_errno = errno;
		return -1;
	}
	return 0;
}

/* A subdirectory left out by the excludes stays, and so does the directory holding it. */
static int rm_skip(void *ctx, const pyci_dir *parent, const pyci_entry *e)
{
	struct remover *rm = ctx;
	if (!excluded(rm, parent, e->name, 1))
		return 0;
	++*pyci_walk_count(parent->node);
	return 1;
}

static void rm_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct remover *rm = ctx;
	if (rm->ops->error)
		rm->ops->error(rm->ops->ctx, path, kind, err);
}

/* A directory whose subtree is done: removed when nothing stayed in it. */
static int rm_leave(void *ctx, const pyci_walk_left *d)
{
	struct remover *rm = ctx;
	int removed = 0;
	if (d->visited && d->parent_fd >= 0 && d->fd >= 0) {
		pyci_debris_entry e = {.path = d->path,
				       .path_len = d->path_len,
				       .dirfd = d->parent_fd,
				       .name = d->name,
				       .fd = d->fd,
				       .topic = rm->topic,
				       .left = d->count};
		struct statx sx;
		if (statx(d->fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS,
			  &sx) == 0) {
			entry_from_statx(&e, &sx);
			if (d->count)
				e.keep = PYCI_DEBRIS_NOT_EMPTY;
			removed = rm->ops->act(rm->ops->ctx, &e);
			if (removed < 0) {
				rm->stop_errno = errno;
				return -1;
			}
		} else if (rm->ops->error) {
			rm->ops->error(rm->ops->ctx, d->path, PYCI_WALK_ERR_READ, errno);
		}
	} else if (d->visited && rm->ops->error) {
		/* listed, but now neither it nor its parent opens as the directory it was */
		rm->ops->error(rm->ops->ctx, d->path, PYCI_WALK_ERR_CHANGED, d->err);
	}
	if (!removed && d->parent_count)
		++*d->parent_count;
	if (!d->parent_count)
		rm->removed = removed;
	return 0;
}

int pyci_debris_remove(const pyci_debris_found *f, const pyci_scan_options *o,
		       const pyci_debris_ops *ops)
{
	struct remover rm = {.ops = ops, .o = o, .root_len = f->root_len, .topic = f->rule->topic};
	int rc;
	if (f->type != DT_DIR) {
		rc = act_on(&rm, f->dirfd, f->name, f->path, f->path_len,
			    f->type == DT_LNK ? S_IFLNK : S_IFREG);
		return rc == ACT_GONE ? 0 : rc;
	}
	pyci_walk_options wopt = {.cross_mounts = 0,
				  .max_fds = PYCI_DEBRIS_FDS,
				  .defer_close = o ? o->defer_close : 0};
	pyci_walk_ops wops = {.visit = rm_visit,
			      .error = rm_error,
			      .skip = rm_skip,
			      .done = NULL,
			      .ctx = &rm,
			      .leave = rm_leave};
	rc = pyci_walk_at(f->dirfd, f->name, f->path, 0, &wopt, &wops);
	int err = rm.stop_errno ? rm.stop_errno : errno;
	pyci_buf_free(&rm.path);
	pyci_buf_free(&rm.rel);
	if (rc != 0) {
		errno = err;
		return -1;
	}
	return rm.removed;
}

int pyci_debris_remove_emptied(int fd, const char *name, const char *path,
			       const pyci_debris_rule *rule, const pyci_debris_ops *ops)
{
	int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (up < 0) {
		if (ops->error)
			ops->error(ops->ctx, path, PYCI_WALK_ERR_OPEN, errno);
		return 0;
	}
	pyci_debris_entry e = {.path = path,
			       .path_len = strlen(path),
			       .dirfd = up,
			       .name = name,
			       .fd = fd,
			       .topic = rule->topic};
	struct statx sx;
	int rc = 0;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS, &sx) != 0) {
		if (ops->error)
			ops->error(ops->ctx, path, PYCI_WALK_ERR_READ, errno);
	} else {
		entry_from_statx(&e, &sx);
		if (is_mount_root(&sx))
			e.keep = PYCI_CLEAN_MOUNT_POINT;
		rc = ops->act(ops->ctx, &e);
	}
	int err = errno;
	close(up);
	errno = err;
	return rc;
}
