/*
 * probe_git.c - the floor of each part of `pycinspect git --check`, one part per run, for
 * docs/performance.md (issue 15).  A measurement tool, not part of the command: built only with
 * `cmake -DPYCI_GIT_PROBE=ON` (target probe_git), timed by bench/bench.py's git part.
 *
 *   probe_git index REPO      libgit2 opens REPO and reads its index, every entry looked at
 *                             (the path's length): all of `--staged --check`'s work but HEAD
 *   probe_git head REPO       HEAD's whole tree walked (git_tree_walk); `git --check` looks up
 *                             only the tracked caches in it (git_tree_entry_bypath)
 *   probe_git ignore REPO     the index read, then the four ignore questions of `git --check`
 *                             (git_ignore_path_is_ignored) for every directory of a tracked .py
 *   probe_git ignore1 REPO    the same with one question per directory (DIR/x.pyc)
 *   probe_git walk REPO       the library's walk of the work tree (pyci_walk, mounts crossed,
 *                             .git not entered), every entry looked at: `git add .`'s reading
 *
 * Each prints what it counted, so that a run can be checked against git's own counts.
 */
#define _GNU_SOURCE /* memrchr */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pycinspect/walk.h"

static git_repository *open_repo(const char *path)
{
	git_repository *repo = NULL;
	if (git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		const git_error *e = git_error_last();
		fprintf(stderr, "probe_git: %s: %s\n", path, e ? e->message : "cannot open");
		exit(2);
	}
	return repo;
}

static git_index *read_index(git_repository *repo)
{
	git_index *index = NULL;
	if (git_repository_index(&index, repo) < 0) {
		fprintf(stderr, "probe_git: cannot read the index\n");
		exit(2);
	}
	return index;
}

static int probe_index(const char *path)
{
	git_repository *repo = open_repo(path);
	git_index *index = read_index(repo);
	size_t n = git_index_entrycount(index), bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		bytes += e ? strlen(e->path) : 0;
	}
	printf("index: %zu entries, %zu bytes of paths\n", n, bytes);
	git_index_free(index);
	git_repository_free(repo);
	return 0;
}

static int count_entry(const char *root, const git_tree_entry *e, void *ctx)
{
	(void)root;
	(void)e;
	++*(size_t *)ctx;
	return 0;
}

static int probe_head(const char *path)
{
	git_repository *repo = open_repo(path);
	git_object *tree = NULL;
	size_t n = 0;
	if (git_revparse_single(&tree, repo, "HEAD^{tree}") < 0 ||
	    git_tree_walk((git_tree *)tree, GIT_TREEWALK_PRE, count_entry, &n) < 0) {
		fprintf(stderr, "probe_git: cannot walk HEAD's tree\n");
		return 2;
	}
	printf("head: %zu tree entries\n", n);
	git_object_free(tree);
	git_repository_free(repo);
	return 0;
}

static int probe_ignore(const char *path, int all_four)
{
	static const char *const probes[] = {"__pycache__/", "pycinspect-probe.pyc",
					     "pycinspect-probe.pyo", "pycinspect-probe$py.class"};
	git_repository *repo = open_repo(path);
	git_index *index = read_index(repo);
	size_t n = git_index_entrycount(index), dirs = 0, asked = 0, ignored = 0;
	char last[4096] = "", q[4096 + 64];
	size_t last_len = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		size_t len = e ? strlen(e->path) : 0;
		if (len < 3 || strcmp(e->path + len - 3, ".py") != 0)
			continue;
		const char *slash = memrchr(e->path, '/', len);
		size_t dl = slash ? (size_t)(slash - e->path) : 0;
		if (dl >= sizeof(last) || (dl == last_len && memcmp(last, e->path, dl) == 0))
			continue;
		memcpy(last, e->path, dl);
		last[dl] = '\0';
		last_len = dl;
		dirs++;
		for (int p = 0; p < (all_four ? 4 : 2); p += all_four ? 1 : 2) {
			int ign = 0;
			(void)snprintf(q, sizeof(q), "%s%s%s", last, dl ? "/" : "",
				       probes[p + !all_four]);
			if (git_ignore_path_is_ignored(&ign, repo, q) < 0) {
				fprintf(stderr, "probe_git: cannot ask about %s\n", q);
				return 2;
			}
			asked++;
			ignored += ign != 0;
		}
	}
	printf("ignore: %zu directories with a tracked .py, %zu questions, %zu ignored\n", dirs,
	       asked, ignored);
	git_index_free(index);
	git_repository_free(repo);
	return 0;
}

struct walk_count {
	size_t dirs, entries;
};

static int visit(void *ctx, const pyci_dir *dir, const pyci_dir *pycache)
{
	struct walk_count *c = ctx;
	c->dirs += 1 + (pycache != NULL);
	for (size_t i = 0; i < dir->count; i++)
		c->entries += dir->entries[i].len > 0;
	if (pycache)
		c->entries += pycache->count;
	return 0;
}

static int skip(void *ctx, const pyci_dir *parent, const pyci_entry *e)
{
	(void)ctx;
	return parent->depth == 0 && strcmp(e->name, ".git") == 0;
}

static void walk_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	(void)ctx;
	(void)kind;
	fprintf(stderr, "probe_git: %s: %s\n", path, strerror(err));
}

static int probe_walk(const char *path)
{
	struct walk_count c = {0, 0};
	pyci_walk_options opt = {.cross_mounts = 1};
	pyci_walk_ops ops = {.visit = visit, .skip = skip, .error = walk_error, .ctx = &c};
	if (pyci_walk(path, &opt, &ops) != 0) {
		perror("probe_git: walk");
		return 2;
	}
	printf("walk: %zu directories, %zu entries\n", c.dirs, c.entries);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: probe_git index|head|ignore|ignore1|walk REPO\n", stderr);
		return 2;
	}
	const char *what = argv[1], *path = argv[2];
	if (strcmp(what, "walk") == 0)
		return probe_walk(path);
	if (git_libgit2_init() < 0)
		return 2;
	int rc = 2;
	if (strcmp(what, "index") == 0)
		rc = probe_index(path);
	else if (strcmp(what, "head") == 0)
		rc = probe_head(path);
	else if (strcmp(what, "ignore") == 0 || strcmp(what, "ignore1") == 0)
		rc = probe_ignore(path, strcmp(what, "ignore") == 0);
	else
		fprintf(stderr, "probe_git: unknown part '%s'\n", what);
	(void)git_libgit2_shutdown();
	return rc;
}
