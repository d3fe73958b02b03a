/*
 * roots.c - PATHs of one run that name the same files: one inside another, or one twice.
 *
 * `clean x x/sub` would judge x/sub's caches twice: the dry run would list them twice, and the
 * real run would remove them under x and then fail to find them under x/sub, so the two could
 * not agree.  So before anything is walked, each PATH is compared with the others: a PATH is
 * inside another when its physical location (realpath(3)) lies below the other's, on the same
 * mount (statx's mount id; unless --cross-mounts), and the walk of the other would reach it
 * (no directory in between, nor the PATH itself, is left out by the excludes).  `clean`
 * refuses such a run, and nothing is removed; `scan` and `dump` say that those caches are
 * reported again, and go on.
 *
 * What cannot be resolved (a missing PATH, a symbolic link given without a trailing '/', a
 * path longer than PATH_MAX) is left to the walk, which reports it in its own words.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "engine.h"

struct root {
	const char *given;
	char *real;    /* realpath, or NULL: not compared */
	int dir;
	uint64_t mnt;  /* statx mount id, 0 unknown */
};

static void resolve(struct root *r, const char *path)
{
	struct stat st;
	size_t n = strlen(path);
	r->given = path;
	r->real = NULL;
	/* a symlink named without '/' is refused by the walk: not ours to judge here */
	if (lstat(path, &st) != 0 || (S_ISLNK(st.st_mode) && (n == 0 || path[n - 1] != '/')))
		return;
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_MNT_ID, &sx) != 0)
		return;
	r->dir = S_ISDIR(sx.stx_mode);
	r->mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	r->real = realpath(path, NULL);
}

/*
 * Whether the walk of `outer` reaches `inner`: below it (or the same), on its mount unless
 * cross_mounts, and nothing on the way left out by the excludes.  2 the same, 1 inside, 0 not.
 */
static int reaches(const struct root *outer, const struct root *inner,
		   const pyci_scan_options *o, pyci_buf *scratch)
{
	if (!outer->real || !inner->real || !outer->dir)
		return 0;
	size_t n = strlen(outer->real);
	if (strcmp(outer->real, inner->real) == 0)
		return 2;
	if (strcmp(outer->real, "/") == 0)
		n = 0;
	else if (strncmp(outer->real, inner->real, n) != 0 || inner->real[n] != '/')
		return 0;
	if (!o->cross_mounts && outer->mnt && inner->mnt && outer->mnt != inner->mnt)
		return 0;
	/* each component below outer, as the walk would meet it, with its parent's path */
	const char *below = inner->real + n + 1;
	pyci_buf up = PYCI_BUF_INIT, name = PYCI_BUF_INIT;
	int reached = 1;
	for (const char *p = below;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		pyci_buf_clear(&up);
		pyci_buf_clear(&name);
		if (pyci_buf_append(&up, below, p > below ? (size_t)(p - below) - 1 : 0) != 0 ||
		    pyci_buf_append(&name, p, len) != 0 ||
		    pyci_scan_excluded(o, up.data, name.data, slash ? 1 : inner->dir, scratch)) {
			reached = 0; /* out of memory: not compared, as above */
			break;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	pyci_buf_free(&up);
	pyci_buf_free(&name);
	return reached;
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
	for (size_t i = 0; i < n; i++)
		resolve(&r[i], paths[i]);
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
	for (size_t i = 0; i < n; i++)
		free(r[i].real);
	free(r);
	return found;
}
