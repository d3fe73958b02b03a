/*
 * gitrepo.c - a repository through libgit2 (gitrepo.h): open it as git would, read its index and
 * HEAD, and ask its ignore rules.
 *
 * Whose rules ignore a path.  git_ignore_path_is_ignored() says yes or no, from every source git
 * reads: the .gitignore files from the top of the work tree down to the path, then
 * .git/info/exclude, then core.excludesFile (by default ~/.config/git/ignore).  Which rule decided
 * it, libgit2 does not say (it has no counterpart of `git check-ignore -v`), and matching the
 * patterns here instead would be a second ignore matcher, which this command must not have.
 * What matters to a repository is whether its own .gitignore files ignore a cache: those travel
 * with every clone, the other two are this clone's.  So a path that libgit2 finds ignored is
 * asked about a second time, of a repository made in memory (git_repository_new) whose work tree
 * is the same directory but which has no git directory (so no info/exclude) and a configuration
 * whose core.excludesFile is /dev/null (an empty file: no excludes file, not even the default
 * one).  Its answer comes from the .gitignore files alone; and since those come before the other
 * two sources, "ignored" there means they decide.  The second question is skipped when neither
 * info/exclude nor the excludes file holds a rule (a line that is neither blank nor a comment),
 * which is the common case: then every "ignored" is the .gitignore files'.
 *
 * The configuration of that second repository is a memfd (no file is written anywhere), given
 * to libgit2 by its /proc/self/fd path.
 *
 * Directories first.  git decides from the top down: "it is not possible to re-include a file
 * if a parent directory of that file is excluded" (gitignore(5)), so `__pycache__/` and a
 * `!*.pyc` below it leave sub/__pycache__/x.pyc ignored.  libgit2 asks the path itself first
 * and its directories only when no rule names the path (libgit2 issue #7283), and would call
 * that file not ignored.  So each directory above a path is asked about first, from the top,
 * each answer kept (a few thousand directories are asked about once each, not once per
 * probe); the first ignored one decides, and the path itself is asked only below directories
 * that are not ignored, where libgit2 and git agree.
 */
#define _GNU_SOURCE
#include "gitrepo.h"

#include <errno.h>
#include <fcntl.h>
#include <git2/sys/repository.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "pycinspect/buf.h"

/* A configuration file that cannot exist (ENOTDIR): libgit2 reads it as empty. */
#define NO_FILE "/dev/null/none"

/* The last message said here, for the "error" lines of --json (the command line's own state;
 * each thread its own). */
static _Thread_local char last_message[1024];

const char *gitrepo_last_message(void)
{
	return last_message;
}

void gitrepo_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(last_message, sizeof(last_message), fmt, ap);
	va_end(ap);
	cli_error("%s", last_message);
}

void gitrepo_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const git_error *e = git_error_last();
	gitrepo_say("%s: %s", msg, e && e->message && *e->message ? e->message : "unknown error");
}

const char *gitrepo_top(const struct gitrepo *r, size_t *len)
{
	*len = r->top_len > 1 ? r->top_len - 1 : r->top_len;
	return r->top;
}

/* git's reading of a boolean environment variable (git_env_bool): unset or false-like is 0. */
static int env_bool(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return 0;
	return strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0 && strcasecmp(v, "no") != 0 &&
	       strcasecmp(v, "off") != 0;
}

/*
 * GIT_CONFIG_GLOBAL (which replaces ~/.gitconfig and the XDG configuration), GIT_CONFIG_SYSTEM
 * and GIT_CONFIG_NOSYSTEM, which git reads and libgit2 1.5 does not: the files of those levels
 * are replaced in the repository's configuration before anything reads core.excludesFile.
 */
static int env_config(git_repository *repo)
{
	const char *global = getenv("GIT_CONFIG_GLOBAL");
	const char *system = getenv("GIT_CONFIG_SYSTEM");
	int nosystem = env_bool("GIT_CONFIG_NOSYSTEM");
	if (!global && !system && !nosystem)
		return 0;
	git_config *cfg;
	if (git_repository_config(&cfg, repo) < 0) {
		gitrepo_error("cannot read the configuration");
		return -1;
	}
	int rc = 0;
	if (global) {
		rc |= git_config_add_file_ondisk(cfg, *global ? global : NO_FILE,
						 GIT_CONFIG_LEVEL_GLOBAL, repo, 1) < 0;
		rc |= git_config_add_file_ondisk(cfg, NO_FILE, GIT_CONFIG_LEVEL_XDG, repo, 1) < 0;
	}
	if (!rc && (nosystem || system))
		rc |= git_config_add_file_ondisk(cfg, nosystem || !*system ? NO_FILE : system,
						 GIT_CONFIG_LEVEL_SYSTEM, repo, 1) < 0;
	if (rc)
		gitrepo_error("cannot read the configuration named by GIT_CONFIG_GLOBAL or "
			      "GIT_CONFIG_SYSTEM");
	git_config_free(cfg);
	return rc ? -1 : 0;
}

int gitrepo_env(void)
{
	if (env_bool("GIT_CONFIG_NOSYSTEM") &&
	    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM, NO_FILE) < 0) {
		gitrepo_error("cannot follow GIT_CONFIG_NOSYSTEM");
		return -1;
	}
	return 0;
}

/* HEAD's commit, tree and branch name; an unborn branch has a name and no tree. */
static int read_head(struct gitrepo *r)
{
	git_reference *head = NULL;
	int e = git_reference_lookup(&head, r->repo, "HEAD");
	if (e == 0 && git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		const char *t = git_reference_symbolic_target(head);
		if (t && strncmp(t, "refs/heads/", 11) == 0 && !(r->branch = strdup(t + 11))) {
			git_reference_free(head);
			cli_error("out of memory");
			return -1;
		}
	}
	git_reference_free(head);
	if (e < 0 && e != GIT_ENOTFOUND) {
		gitrepo_error("cannot read HEAD");
		return -1;
	}
	git_object *tree = NULL;
	e = git_revparse_single(&tree, r->repo, "HEAD^{tree}");
	if (e == GIT_ENOTFOUND || e == GIT_EUNBORNBRANCH)
		return 0; /* no commit yet */
	if (e < 0) {
		gitrepo_error("cannot read HEAD's tree");
		return -1;
	}
	r->head = (git_tree *)tree;
	git_oid id;
	if (git_reference_name_to_id(&id, r->repo, "HEAD") < 0) {
		gitrepo_error("cannot read HEAD");
		return -1;
	}
	git_oid_tostr(r->head_id, sizeof(r->head_id), &id);
	return 0;
}

int gitrepo_open(struct gitrepo *r, const char *path, const char *shown, int how)
{
	*r = (struct gitrepo){.local_rules = -1, .tree_rules_fd = -1};
	unsigned flags = (how & GITREPO_FROM_ENV) ? GIT_REPOSITORY_OPEN_FROM_ENV : 0;
	if (how & GITREPO_NO_SEARCH)
		flags |= GIT_REPOSITORY_OPEN_NO_SEARCH;
	int e = git_repository_open_ext(&r->repo, path, flags, NULL);
	if (!shown)
		shown = path ? path : ".";
	if (e == GIT_ENOTFOUND) {
		gitrepo_say("'%s' is not in a git repository (nor is any of its parents)", shown);
		goto fail;
	}
	if (e < 0) {
		gitrepo_error("cannot open the git repository of '%s'", shown);
		goto fail;
	}
	if (git_repository_is_bare(r->repo) || !git_repository_workdir(r->repo)) {
		cli_error(
			"'%s' is a bare git repository: it has no work tree and no index to look at",
			git_repository_path(r->repo));
		goto fail;
	}
	r->top = git_repository_workdir(r->repo);
	r->top_len = strlen(r->top);
	r->worktree = git_repository_is_worktree(r->repo) == 1;
	if (env_config(r->repo) != 0)
		goto fail;
	if (git_repository_index(&r->index, r->repo) < 0) {
		gitrepo_error("cannot read the index of '%.*s'", GITREPO_TOP(r));
		goto fail;
	}
	if (read_head(r) != 0)
		goto fail;
	return 0;
fail:
	gitrepo_close(r);
	return -1;
}

int gitrepo_open_view(struct gitrepo *v, const struct gitrepo *r)
{
	*v = (struct gitrepo){.local_rules = -1, .tree_rules_fd = -1};
	const char *wd = NULL;
	if (git_repository_open_ext(&v->repo, git_repository_path(r->repo),
				    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0 ||
	    /* only when it differs: libgit2 1.5 leaks its copy of the path when it is the same */
	    (((wd = git_repository_workdir(v->repo)) == NULL || strcmp(wd, r->top) != 0) &&
	     git_repository_set_workdir(v->repo, r->top, 0) < 0)) {
		gitrepo_error("cannot open '%.*s' again", GITREPO_TOP(r));
		gitrepo_close(v);
		return -1;
	}
	v->top = git_repository_workdir(v->repo);
	v->top_len = strlen(v->top);
	v->worktree = r->worktree;
	if (env_config(v->repo) != 0) {
		gitrepo_close(v);
		return -1;
	}
	return 0;
}

static void memo_free(struct gitrepo *r);

void gitrepo_close(struct gitrepo *r)
{
	memo_free(r);
	git_repository_free(r->tree_rules);
	if (r->tree_rules_fd >= 0)
		(void)close(r->tree_rules_fd); /* a memfd: nothing to lose */
	git_tree_free(r->head);
	git_index_free(r->index);
	git_repository_free(r->repo);
	free(r->branch);
	*r = (struct gitrepo){.local_rules = -1, .tree_rules_fd = -1};
}

/*
 * Whether the ignore file at path holds a rule: a line that is not empty once its trailing
 * blanks are gone (git drops them) and does not start with '#'.  Unreadable for another reason
 * than not being there: taken to hold some, so that the answers are asked twice.
 */
static int has_rules(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return errno != ENOENT && errno != ENOTDIR;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int found = 0;
	while (!found && (n = getline(&line, &cap, f)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
				 line[n - 1] == '\t'))
			n--;
		found = n > 0 && line[0] != '#';
	}
	if (!found && ferror(f))
		found = 1;
	free(line);
	(void)fclose(f); /* read only */
	return found;
}

/* The excludes file git reads: core.excludesFile, else $XDG_CONFIG_HOME/git/ignore, else
 * $HOME/.config/git/ignore.  0 with b set ("" when there is none), or -1 (said). */
static int excludes_file(struct gitrepo *r, git_buf *b)
{
	git_config *snap;
	if (git_repository_config_snapshot(&snap, r->repo) < 0) {
		gitrepo_error("cannot read the configuration");
		return -1;
	}
	int e = git_config_get_path(b, snap, "core.excludesFile");
	git_config_free(snap);
	if (e == 0)
		return 0;
	if (e != GIT_ENOTFOUND) {
		gitrepo_error("cannot read core.excludesFile");
		return -1;
	}
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	pyci_buf p = PYCI_BUF_INIT;
	int rc = 0;
	if (xdg && *xdg)
		rc = pyci_buf_printf(&p, "%s/git/ignore", xdg);
	else if (home && *home)
		rc = pyci_buf_printf(&p, "%s/.config/git/ignore", home);
	else
		rc = pyci_buf_puts(&p, "");
	if (rc == 0 && git_buf_set(b, p.data, p.len) < 0)
		rc = -1;
	pyci_buf_free(&p);
	if (rc != 0)
		cli_error("out of memory");
	return rc;
}

/* Whether this clone has rules of its own (r->local_rules).  0, or -1 (said). */
static int find_local_rules(struct gitrepo *r)
{
	pyci_buf p = PYCI_BUF_INIT;
	if (pyci_buf_printf(&p, "%sinfo/exclude", git_repository_commondir(r->repo)) != 0) {
		cli_error("out of memory");
		return -1;
	}
	int found = has_rules(p.data);
	pyci_buf_free(&p);
	if (!found) {
		git_buf b = {0};
		if (excludes_file(r, &b) != 0) {
			git_buf_dispose(&b);
			return -1;
		}
		found = b.size > 0 && has_rules(b.ptr);
		git_buf_dispose(&b);
	}
	r->local_rules = found;
	return 0;
}

/* The repository of the work tree's .gitignore files alone (see the top of this file). */
static int open_tree_rules(struct gitrepo *r)
{
	int ignorecase = 0;
	git_config *snap;
	if (git_repository_config_snapshot(&snap, r->repo) < 0) {
		gitrepo_error("cannot read the configuration");
		return -1;
	}
	if (git_config_get_bool(&ignorecase, snap, "core.ignorecase") < 0) {
		ignorecase = 0;
		git_error_clear();
	}
	git_config_free(snap);

	char text[128];
	int len = snprintf(text, sizeof(text), "[core]\n\texcludesfile = /dev/null\n%s",
			   ignorecase ? "\tignorecase = true\n" : "");
	int fd = memfd_create("pycinspect-gitconfig", MFD_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)len) != len) {
		cli_error("cannot make an in-memory git configuration: %s", strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	r->tree_rules_fd = fd;
	char path[64];
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	git_config *cfg = NULL;
	int rc = 0;
	if (git_repository_new(&r->tree_rules) < 0 ||
	    git_repository_set_workdir(r->tree_rules, r->top, 0) < 0 || git_config_new(&cfg) < 0 ||
	    git_config_add_file_ondisk(cfg, path, GIT_CONFIG_LEVEL_APP, r->tree_rules, 0) < 0 ||
	    git_repository_set_config(r->tree_rules, cfg) < 0) {
		gitrepo_error("cannot set up the question to the work tree's .gitignore files");
		rc = -1;
	}
	git_config_free(cfg); /* the repository holds its own reference */
	return rc;
}

/* ---- what the rules said of directories ------------------------------------------------ */

/* Per directory, libgit2's answer for "DIR/" from each repository: 0 not asked, 1 not
 * ignored, 2 ignored.  An open-addressing table keyed by the directory's path. */
struct memo_slot {
	char *dir;
	unsigned char said[2]; /* [0] r->repo, [1] r->tree_rules */
};

struct gitrepo_memo {
	struct memo_slot *slots;
	size_t cap, n; /* cap a power of two, at most half full */
};

static size_t hash(const char *s, size_t len)
{
	size_t h = 14695981039346656037u; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

static struct memo_slot *memo_find(struct gitrepo_memo *m, const char *dir, size_t len)
{
	for (size_t i = hash(dir, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct memo_slot *s = &m->slots[i];
		if (!s->dir || (strncmp(s->dir, dir, len) == 0 && s->dir[len] == '\0'))
			return s;
	}
}

/* The slot of dir[0 .. len), added if absent.  NULL: out of memory. */
static struct memo_slot *memo_slot(struct gitrepo *r, const char *dir, size_t len)
{
	struct gitrepo_memo *m = r->memo;
	if (!m && !(m = r->memo = calloc(1, sizeof(*m))))
		return NULL;
	if (2 * (m->n + 1) > m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		struct gitrepo_memo bigger = {calloc(cap, sizeof(struct memo_slot)), cap, m->n};
		if (!bigger.slots)
			return NULL;
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].dir)
				*memo_find(&bigger, m->slots[i].dir, strlen(m->slots[i].dir)) =
					m->slots[i];
		free(m->slots);
		*m = bigger;
	}
	struct memo_slot *s = memo_find(m, dir, len);
	if (!s->dir) {
		if (!(s->dir = strndup(dir, len)))
			return NULL;
		m->n++;
	}
	return s;
}

static void memo_free(struct gitrepo *r)
{
	if (!r->memo)
		return;
	for (size_t i = 0; i < r->memo->cap; i++)
		free(r->memo->slots[i].dir);
	free(r->memo->slots);
	free(r->memo);
	r->memo = NULL;
}

/* libgit2's answer for path from repository which (0 r->repo, 1 r->tree_rules). */
static int ask_libgit2(struct gitrepo *r, int which, const char *path, int *ignored)
{
	if (git_ignore_path_is_ignored(ignored, which ? r->tree_rules : r->repo, path) < 0) {
		gitrepo_error("cannot ask the %s about '%s'",
			      which ? ".gitignore files" : "ignore rules", path);
		return -1;
	}
	return 0;
}

/*
 * git's answer for path from repository which.  libgit2's own answer first: when it says
 * ignored, so does git (a rule names the path, or the deepest directory a rule names is
 * excluded, and then that directory or one above it is, for git too).  When it says not
 * ignored, a directory above may still be excluded while a rule re-includes the path, which git
 * does not allow: the directories are asked from the top down (remembered), and the first
 * ignored one decides.  A repository with its rules in place thus costs one question per path.
 */
static int ask_as_git(struct gitrepo *r, int which, const char *path, int *ignored)
{
	*ignored = 0;
	if (ask_libgit2(r, which, path, ignored) != 0)
		return -1;
	if (*ignored)
		return 0;
	size_t len = strlen(path);
	if (len && path[len - 1] == '/')
		len--; /* a directory: its own answer is libgit2's, above */
	pyci_buf dir = PYCI_BUF_INIT;
	int rc = 0;
	for (const char *slash = memchr(path, '/', len); slash && !*ignored && rc == 0;
	     slash = memchr(slash + 1, '/', len - (size_t)(slash + 1 - path))) {
		size_t dl = (size_t)(slash - path);
		struct memo_slot *s = memo_slot(r, path, dl);
		if (!s) {
			cli_error("out of memory");
			rc = -1;
			break;
		}
		if (!s->said[which]) {
			int ign;
			pyci_buf_clear(&dir);
			if (pyci_buf_append(&dir, path, dl + 1) != 0) { /* with its '/' */
				cli_error("out of memory");
				rc = -1;
				break;
			}
			if (ask_libgit2(r, which, dir.data, &ign) != 0) {
				rc = -1;
				break;
			}
			s->said[which] = ign ? 2 : 1;
		}
		*ignored = s->said[which] == 2;
	}
	pyci_buf_free(&dir);
	return rc;
}

void gitrepo_rules_changed(struct gitrepo *r)
{
	memo_free(r);
}

int gitrepo_ignore(struct gitrepo *r, const char *path, enum gitign *ans)
{
	int ignored = 0;
	if (ask_as_git(r, 0, path, &ignored) != 0)
		return -1;
	*ans = GITIGN_NO;
	if (!ignored)
		return 0;
	*ans = GITIGN_TREE;
	if (r->local_rules < 0 && find_local_rules(r) != 0)
		return -1;
	if (!r->local_rules)
		return 0;
	if (!r->tree_rules && open_tree_rules(r) != 0)
		return -1;
	if (ask_as_git(r, 1, path, &ignored) != 0)
		return -1;
	if (!ignored)
		*ans = GITIGN_LOCAL;
	return 0;
}

int gitrepo_in_head(struct gitrepo *r, const git_index_entry *e, int *in_head, int *modified)
{
	*in_head = *modified = 0;
	if (!r->head)
		return 0;
	git_tree_entry *te = NULL;
	int rc = git_tree_entry_bypath(&te, r->head, e->path);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0) {
		gitrepo_error("cannot look up '%s' in HEAD", e->path);
		return -1;
	}
	*in_head = 1;
	*modified = !git_oid_equal(git_tree_entry_id(te), &e->id) ||
		    (uint32_t)git_tree_entry_filemode(te) != e->mode;
	git_tree_entry_free(te);
	return 0;
}

int gitrepo_reread_index(struct gitrepo *r, int force)
{
	if (git_index_read(r->index, force) < 0) {
		gitrepo_error("cannot read the index of '%.*s'", GITREPO_TOP(r));
		return -1;
	}
	return 0;
}
