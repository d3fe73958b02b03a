/*
 * roots.c - PATHs of one run that name the same files: one inside another, or one twice.
 *
 * `clean x x/sub` would judge x/sub's caches twice: the dry run would list them twice, and the
 * real run would remove them under x and then fail to find them under x/sub, so the two could
 * not agree.  So before anything is walked, each PATH is compared with the others.  A PATH is
 * inside another when the other's walk would list its files:
 *   - its physical location (realpath(3)) lies below the other's, on the same mount (statx's
 *     mount id; any mount with --cross-mounts);
 *   - or it is the same filesystem seen through another mount (a bind mount): the same device,
 *     and its path within the filesystem (its mount's root in /proc/self/mountinfo, joined with
 *     the path below the mount point) lies below the other's;
 * and, either way, no directory in between, nor the PATH itself, is left out by the excludes.
 * `clean` refuses such a run, and nothing is removed; `scan` and `dump` say that those caches
 * are reported again, and go on.
 *
 * What cannot be resolved (a missing PATH, a symbolic link given without a trailing '/', a
 * file that is not a .pyc/.pyo, a path longer than PATH_MAX) is left to the walk, which
 * reports it in its own words.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cli.h"
#include "engine.h"

struct root {
	const char *given;
	char *real;    /* realpath, or NULL: not compared */
	char *fspath;  /* the path within its filesystem, or NULL: unknown */
	int dir;
	uint64_t mnt;  /* statx mount id, 0 unknown */
	uint64_t dev;  /* makedev of the filesystem */
};

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

/* r->fspath from the mountinfo line of r's mount: its root joined with the path below its
 * mount point.  Left NULL when anything is missing. */
static void locate(struct root *r, FILE *mountinfo)
{
	if (!mountinfo || !r->real || !r->mnt)
		return;
	rewind(mountinfo);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, mountinfo) > 0) {
		/* "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ..." */
		char *end;
		unsigned long long id = strtoull(line, &end, 10);
		if (end == line || *end != ' ' || id != r->mnt)
			continue;
		const char *p = end + 1;
		(void)strtoul(p, &end, 10); /* the parent's ID */
		if (end == p || *end != ' ')
			break;
		p = end + 1;
		unsigned long maj = strtoul(p, &end, 10);
		if (end == p || *end != ':')
			break;
		p = end + 1;
		unsigned long min = strtoul(p, &end, 10);
		if (end == p || *end != ' ')
			break;
		char *root = end + 1, *sp = strchr(root, ' ');
		if (!sp)
			break;
		*sp = '\0';
		char *point = sp + 1;
		if (!(sp = strchr(point, ' ')))
			break;
		*sp = '\0';
		unescape(root);
		unescape(point);
		size_t pn = strcmp(point, "/") == 0 ? 0 : strlen(point);
		if (strncmp(r->real, point, pn) != 0 || (r->real[pn] != '/' && r->real[pn] != '\0'))
			break;
		const char *rest = r->real + pn; /* "" or "/..." */
		size_t rn = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if ((r->fspath = malloc(rn + strlen(rest) + 2)) != NULL)
			(void)snprintf(r->fspath, rn + strlen(rest) + 2, "%.*s%s", (int)rn, root,
				       *rest ? rest : (rn ? "" : "/"));
		r->dev = makedev((unsigned)maj, (unsigned)min);
		break;
	}
	free(line);
}

static int cache_name(const char *path)
{
	size_t n = strlen(path);
	return n > 4 && (strcmp(path + n - 4, ".pyc") == 0 || strcmp(path + n - 4, ".pyo") == 0);
}

static void resolve(struct root *r, const char *path, FILE *mountinfo)
{
	struct stat st;
	size_t n = strlen(path);
	r->given = path;
	/* a symlink named without '/' is refused by the walk: not ours to judge here */
	if (lstat(path, &st) != 0 || (S_ISLNK(st.st_mode) && (n == 0 || path[n - 1] != '/')))
		return;
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_MNT_ID, &sx) != 0)
		return;
	r->dir = S_ISDIR(sx.stx_mode);
	if (!r->dir && !(S_ISREG(sx.stx_mode) && cache_name(path)))
		return; /* the walk refuses it */
	r->mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	r->real = realpath(path, NULL);
	locate(r, mountinfo);
}

/* What of `inner` lies below `outer` ("" the same, "a/b" below), or NULL: not below. */
static const char *below(const char *outer, const char *inner)
{
	if (strcmp(outer, inner) == 0)
		return "";
	size_t n = strcmp(outer, "/") == 0 ? 0 : strlen(outer);
	if (strncmp(outer, inner, n) != 0 || inner[n] != '/')
		return NULL;
	return inner + n + 1;
}

/* Whether the walk meets `rel` (below its root; inner_dir: its last component is a directory)
 * with nothing on the way left out by the excludes. */
static int walk_meets(const char *rel, int inner_dir, const pyci_scan_options *o,
		      pyci_buf *scratch)
{
	pyci_buf up = PYCI_BUF_INIT, name = PYCI_BUF_INIT;
	int met = 1;
	for (const char *p = rel; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		pyci_buf_clear(&up);
		pyci_buf_clear(&name);
		if (pyci_buf_append(&up, rel, p > rel ? (size_t)(p - rel) - 1 : 0) != 0 ||
		    pyci_buf_append(&name, p, len) != 0 ||
		    pyci_scan_excluded(o, up.data, name.data, slash ? 1 : inner_dir, scratch)) {
			met = 0; /* out of memory too: not compared */
			break;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	pyci_buf_free(&up);
	pyci_buf_free(&name);
	return met;
}

/* Whether the walk of `outer` lists the files of `inner`.  2 the same, 1 inside, 0 not. */
static int reaches(const struct root *outer, const struct root *inner,
		   const pyci_scan_options *o, pyci_buf *scratch)
{
	if (!outer->real || !inner->real || !outer->dir)
		return 0;
	const char *rel = below(outer->real, inner->real);
	if (rel && !o->cross_mounts && outer->mnt && inner->mnt && outer->mnt != inner->mnt)
		rel = NULL;
	if (!rel && outer->fspath && inner->fspath && outer->dev == inner->dev)
		rel = below(outer->fspath, inner->fspath); /* the same files through another mount */
	if (!rel)
		return 0;
	if (!*rel)
		return 2;
	return walk_meets(rel, inner->dir, o, scratch);
}

int roots_overlap(char **paths, const pyci_scan_options *o, int refuse)
{
	size_t n = 0;
	while (paths[n])
		n++;
	if (n < 2)
		return 0;
	struct root *r = calloc(n, sizeof(*r));
	if (!r)
		return 0; /* the walk still works; only this courtesy is lost */
	FILE *mountinfo = fopen("/proc/self/mountinfo", "re"); /* NULL: bind mounts unseen */
	for (size_t i = 0; i < n; i++)
		resolve(&r[i], paths[i], mountinfo);
	if (mountinfo)
		(void)fclose(mountinfo);
	pyci_buf scratch = PYCI_BUF_INIT;
	int found = 0;
	for (size_t j = 0; j < n; j++) {
		for (size_t i = 0; i < n; i++) {
			if (i == j)
				continue;
			int how = reaches(&r[i], &r[j], o, &scratch);
			/* the same place twice: reported once, at the later PATH */
			if (!how || (how == 2 && j < i))
				continue;
			pyci_buf a = PYCI_BUF_INIT, b = PYCI_BUF_INIT;
			if (cli_quote_path(&a, r[j].given, strlen(r[j].given)) == 0 &&
			    cli_quote_path(&b, r[i].given, strlen(r[i].given)) == 0) {
				const char *rel = how == 2 ? "is the same as" : "is inside";
				if (refuse)
					cli_error("'%s' %s '%s': name each tree once (nothing was "
						  "removed)",
						  a.data, rel, b.data);
				else
					cli_error("warning: '%s' %s '%s': %s reported again", a.data,
						  rel, b.data,
						  r[j].dir ? "its caches are" : "it is");
			}
			pyci_buf_free(&a);
			pyci_buf_free(&b);
			found = 1;
			break; /* one message per PATH */
		}
	}
	pyci_buf_free(&scratch);
	for (size_t i = 0; i < n; i++) {
		free(r[i].real);
		free(r[i].fspath);
	}
	free(r);
	return found;
}
