/*
 * gitwalk.c - what the work tree holds that the index does not know, for `pycinspect git`
 * (gitfind.h): the untracked caches that no ignore rule covers (the next `git add .` commits
 * them), and the directories with untracked Python sources, whose ignore rules are asked too.
 *
 * The walk is the library's (pyci_walk: directory descriptors, no symlink followed) and goes
 * where `git add .` would go: never into .git, a submodule or another repository nested in the
 * work tree, nor into an untracked directory that the ignore rules ignore (git does not look
 * inside one, whatever a rule below it says).  Directories the index knows are always entered.
 * Mount points are crossed, as git crosses them.  A name is asked of the ignore rules only when
 * it matters: an untracked cache, an untracked .py in a directory not yet known to hold sources,
 * an untracked directory; a tree with nothing untracked costs no question at all.
 */
#define _GNU_SOURCE /* DT_DIR */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gitfind.h"
#include "pycinspect/walk.h"

struct walk {
	struct gitrepo *r;
	const struct gitscope *scope;
	struct gitfindings *f;
	struct pathlist nested; /* directories holding a .git of their own (unsorted, few) */
	pyci_buf path, tmp;
	int failed; /* said; stops the walk */
};

/* The path of a directory of the walk relative to the top ("" for the top). */
static const char *rel_of(const struct walk *w, const pyci_dir *d, size_t *len)
{
	size_t top = w->r->top_len; /* the top and its '/' */
	if (d->path_len < top) {
		*len = 0;
		return "";
	}
	*len = d->path_len - top;
	return d->path + top;
}

/* w->path = rel/name (or name at the top), NUL-terminated. */
static int join(struct walk *w, const char *rel, size_t rlen, const char *name, const char *tail)
{
	pyci_buf_clear(&w->path);
	if ((rlen &&
	     (pyci_buf_append(&w->path, rel, rlen) != 0 || pyci_buf_putc(&w->path, '/') != 0)) ||
	    pyci_buf_puts(&w->path, name) != 0 || pyci_buf_puts(&w->path, tail) != 0) {
		cli_error("out of memory");
		w->failed = 1;
		return -1;
	}
	return 0;
}

static int tracked(const struct walk *w, const char *path)
{
	size_t at;
	return git_index_find(&at, w->r->index, path) == 0;
}

/* Ask the ignore rules about w->path; -1 on failure (said). */
static int ask(struct walk *w, enum gitign *ans)
{
	if (gitrepo_ignore(w->r, w->path.data, ans) != 0) {
		w->failed = 1;
		return -1;
	}
	return 0;
}

static int known_source_dir(const struct walk *w, const char *rel, size_t len)
{
	return pathlist_find(&w->f->source_dirs, rel, len) >= 0;
}

static int add(struct walk *w, struct pathlist *l, const char *s, size_t len)
{
	if (pathlist_add(l, s, len) != 0) {
		cli_error("out of memory");
		w->failed = 1;
		return -1;
	}
	return 0;
}

/*
 * The literal negations of cache names in the .gitignore of the directory rel (not the top):
 * `!keep.pyc` there re-includes keep.pyc for git, but libgit2 1.5 (and later, libgit2 issue
 * #7284) drops a negation without wildcards that negates nothing in its own file, so its answer
 * can differ from git's for what such a line names.  They are listed, for a warning.
 */
static int literal_negations(struct walk *w, int dirfd, const char *rel, size_t rlen)
{
	int fd = openat(dirfd, ".gitignore", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* git cannot read it either */
	FILE *fp = fdopen(fd, "r");
	if (!fp) {
		(void)close(fd); /* read only */
		return 0;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long no = 0;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, fp)) >= 0) {
		no++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
				 line[n - 1] == '\t'))
			line[--n] = '\0';
		if (n < 2 || line[0] != '!' || strpbrk(line + 1, "*?[\\"))
			continue;
		size_t plen = (size_t)n - 1;
		const char *p = line + 1;
		int cache = strstr(p, "__pycache__") ||
			    (plen >= 4 &&
			     (!strcmp(p + plen - 4, ".pyc") || !strcmp(p + plen - 4, ".pyo"))) ||
			    (plen >= 9 && !strcmp(p + plen - 9, "$py.class"));
		if (!cache)
			continue;
		pyci_buf_clear(&w->tmp);
		if (pyci_buf_append(&w->tmp, rel, rlen) != 0 ||
		    pyci_buf_printf(&w->tmp, "/.gitignore:%lu: %s", no, line) != 0 ||
		    add(w, &w->f->negations, w->tmp.data, w->tmp.len) != 0)
			rc = -1;
	}
	free(line);
	(void)fclose(fp); /* read only */
	if (rc != 0 && !w->failed) {
		cli_error("out of memory");
		w->failed = 1;
	}
	return rc;
}

/* One file of directory rel: a cache at risk, or a source that makes rel a source directory.
 * in_pycache: rel is (in) a __pycache__, whose sources are in src[0 .. srclen). */
static int file(struct walk *w, const char *rel, size_t rlen, const pyci_entry *e, int dir_tracked,
		int in_pycache, const char *src, size_t srclen, int *has_source)
{
	if (join(w, rel, rlen, e->name, "") != 0)
		return -1;
	enum gitign ans;
	if (in_pycache || gitfind_is_cache(w->path.data, w->path.len)) {
		if ((dir_tracked && tracked(w, w->path.data)) ||
		    !gitscope_has_file(w->scope, w->path.data, w->path.len))
			return 0;
		if (ask(w, &ans) != 0)
			return -1;
		if (ans != GITIGN_NO)
			return 0;
		if (add(w, &w->f->at_risk, w->path.data, w->path.len) != 0)
			return -1;
		/* the rules of the directory it belongs to are asked about too */
		return gitscope_has_dir(w->scope, src, srclen)
			       ? add(w, &w->f->found_dirs, src, srclen)
			       : 0;
	}
	size_t nl = e->len;
	if (*has_source || nl < 3 || strcmp(e->name + nl - 3, ".py") != 0)
		return 0;
	if (!(dir_tracked && tracked(w, w->path.data))) {
		if (ask(w, &ans) != 0)
			return -1;
		if (ans != GITIGN_NO)
			return 0; /* an ignored source: git never sees it */
	}
	*has_source = 1;
	return gitscope_has_dir(w->scope, rel, rlen) ? add(w, &w->f->found_dirs, rel, rlen) : 0;
}

static int in_nested(const struct walk *w, const char *rel, size_t len)
{
	for (size_t i = 0; i < w->nested.n; i++)
		if (strlen(w->nested.items[i]) == len && memcmp(w->nested.items[i], rel, len) == 0)
			return 1;
	return 0;
}

static int visit(void *ctx, const pyci_dir *dir, const pyci_dir *pycache)
{
	struct walk *w = ctx;
	size_t rlen;
	const char *rel = rel_of(w, dir, &rlen);
	if (rlen) {
		for (size_t i = 0; i < dir->count; i++) {
			if (strcmp(dir->entries[i].name, ".git") == 0)
				return add(w, &w->nested, rel,
					   rlen); /* another repository: not ours */
		}
	}
	int dir_tracked = !rlen || pathlist_find(&w->f->index_dirs, rel, rlen) >= 0;
	long pc = -1;
	for (size_t i = 0; i + 11 <= rlen && pc < 0; i++) /* a directory in a __pycache__ */
		if ((i == 0 || rel[i - 1] == '/') && memcmp(rel + i, "__pycache__", 11) == 0 &&
		    (i + 11 == rlen || rel[i + 11] == '/'))
			pc = i ? (long)i - 1 : 0;
	int has_source = known_source_dir(w, rel, rlen);
	for (size_t i = 0; i < dir->count; i++) {
		const pyci_entry *e = &dir->entries[i];
		if (e->type == DT_DIR)
			continue;
		if (file(w, rel, rlen, e, dir_tracked, pc >= 0, rel, pc >= 0 ? (size_t)pc : rlen,
			 &has_source) != 0)
			return -1;
		if (rlen && strcmp(e->name, ".gitignore") == 0 &&
		    literal_negations(w, dir->fd, rel, rlen) != 0)
			return -1;
	}
	if (!pycache)
		return 0;
	size_t prlen;
	const char *prel = rel_of(w, pycache, &prlen);
	int pc_tracked = pathlist_find(&w->f->index_dirs, prel, prlen) >= 0;
	int unused = 1;
	for (size_t i = 0; i < pycache->count; i++) {
		const pyci_entry *e = &pycache->entries[i];
		if (e->type != DT_DIR && file(w, prel, prlen, e, pc_tracked, 1, rel,
					      pc >= 0 ? (size_t)pc : rlen, &unused) != 0)
			return -1;
	}
	return 0;
}

/* Whether the index has a submodule at path (stage 0).  From the list read_index made, unless
 * the index ignores case (core.ignorecase), where libgit2's own lookup is the one that folds. */
static int is_gitlink(const struct walk *w, const char *path, size_t len)
{
	if (git_index_caps(w->r->index) & GIT_INDEX_CAPABILITY_IGNORE_CASE) {
		const git_index_entry *ie = git_index_get_bypath(w->r->index, path, 0);
		return ie && ie->mode == GIT_FILEMODE_COMMIT;
	}
	return w->f->gitlinks.n && pathlist_find(&w->f->gitlinks, path, len) >= 0;
}

static int skip(void *ctx, const pyci_dir *parent, const pyci_entry *e)
{
	struct walk *w = ctx;
	if (w->failed)
		return 1;
	size_t rlen;
	const char *rel = rel_of(w, parent, &rlen);
	if (strcmp(e->name, ".git") == 0 || (rlen && in_nested(w, rel, rlen)))
		return 1;
	if (join(w, rel, rlen, e->name, "") != 0)
		return 1;
	if (is_gitlink(w, w->path.data, w->path.len))
		return 1; /* a submodule: reported as a repository of its own */
	if (pathlist_find(&w->f->index_dirs, w->path.data, w->path.len) >= 0)
		return 0;
	enum gitign ans;
	if (join(w, rel, rlen, e->name, "/") != 0 || ask(w, &ans) != 0)
		return 1;
	return ans != GITIGN_NO; /* git does not look inside an ignored untracked directory */
}

static void walk_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct walk *w = ctx;
	if (kind == PYCI_WALK_ERR_MOUNT || kind == PYCI_WALK_ERR_MOUNT_FILE)
		return; /* mounts are crossed: not reported by the walk */
	w->f->walk_errors++;
	pyci_buf q = PYCI_BUF_INIT;
	if (cli_quote_path(&q, path, strlen(path)) == 0)
		cli_error("cannot %s directory '%s': %s",
			  kind == PYCI_WALK_ERR_OPEN ? "open" : "read", q.data,
			  err ? strerror(err) : "it changed during the walk");
	else
		cli_error("cannot read a directory: %s", strerror(err));
	pyci_buf_free(&q);
}

/* A file PATH: an untracked cache it names is at risk unless ignored. */
static int named_file(struct walk *w, const char *path)
{
	size_t len = strlen(path);
	if (!gitfind_is_cache(path, len) || tracked(w, path))
		return 0;
	pyci_buf_clear(&w->tmp);
	struct stat st;
	if (pyci_buf_append(&w->tmp, w->r->top, w->r->top_len) != 0 ||
	    pyci_buf_puts(&w->tmp, path) != 0) {
		cli_error("out of memory");
		return -1;
	}
	if (lstat(w->tmp.data, &st) != 0 || S_ISDIR(st.st_mode))
		return 0;
	pyci_buf_clear(&w->path);
	enum gitign ans;
	if (pyci_buf_puts(&w->path, path) != 0) {
		cli_error("out of memory");
		return -1;
	}
	if (ask(w, &ans) != 0)
		return -1;
	return ans == GITIGN_NO ? add(w, &w->f->at_risk, path, len) : 0;
}

int gitwalk_run(struct gitrepo *r, const struct gitscope *scope, struct gitfindings *f)
{
	struct walk w = {.r = r, .scope = scope, .f = f};
	pyci_walk_options opt = {.cross_mounts = 1};
	pyci_walk_ops ops = {.visit = visit, .error = walk_error, .skip = skip, .ctx = &w};
	pyci_buf root = PYCI_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < scope->dirs.n; i++) {
		const char *d = scope->dirs.items[i];
		pyci_buf_clear(&root);
		size_t tl = r->top_len > 1 ? r->top_len - 1 : r->top_len; /* without its '/' */
		if (pyci_buf_append(&root, r->top, tl) != 0 ||
		    (*d && pyci_buf_printf(&root, "/%s", d) != 0)) {
			cli_error("out of memory");
			rc = -1;
			break;
		}
		if (pyci_walk(root.data, &opt, &ops) != 0 && !w.failed) {
			if (errno == ENOMEM) {
				cli_error("out of memory");
				rc = -1;
			} else { /* the root itself: unreadable, or gone */
				walk_error(&w, root.data, PYCI_WALK_ERR_OPEN, errno);
			}
		}
		if (w.failed)
			rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < scope->files.n; i++)
		rc = named_file(&w, scope->files.items[i]);
	if (rc == 0) {
		pathlist_sort(&f->at_risk);
		pathlist_sort(&f->found_dirs);
	}
	pathlist_free(&w.nested);
	pyci_buf_free(&w.path);
	pyci_buf_free(&w.tmp);
	pyci_buf_free(&root);
	return rc;
}
