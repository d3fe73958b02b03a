/*
 * gitfix.c - `pycinspect git --fix` in one repository, and the git commands that do the same
 * (gitfix.h).
 *
 * Order and undo.  Every refusal is decided before anything is written: the repository's state
 * (a merge, rebase, ... in progress), conflicts in the index, index.lock, and the .gitignore,
 * which is opened for appending (or created) first, so that a read-only one refuses the run.
 * Then the block of rules is appended to the .gitignore, and then the index is written by
 * libgit2 (git_index_write: index.lock created with O_EXCL, written, renamed over the index, as
 * git does).  If that fails (another git command took the lock in between), the .gitignore is
 * cut back to its old length (or removed, if this run created it): nothing is changed.  The
 * index is read again just before the caches are taken out, so that what another command staged
 * since it was first read is kept.
 */
#include "gitfix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char gitfix_comment[] = "# Python bytecode caches (added by pycinspect git --fix)";

/* How the .gitignore at path ends (fx->gitignore_*), from what fd (open on it, or -1: absent)
 * reads. */
static void gitignore_state(struct gitfix *fx, int fd)
{
	char last = '\n';
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
	if (size > 0 && pread(fd, &last, 1, size - 1) != 1)
		last = 0;
	fx->gitignore_existed = fd >= 0;
	fx->gitignore_nonempty = size > 0;
	fx->gitignore_newline = size <= 0 || last == '\n';
}

int gitfix_plan(const struct gitrepo *r, const struct gitfindings *f, struct gitfix *fx)
{
	*fx = (struct gitfix){0};
	for (size_t i = 0; i < f->ntracked; i++) {
		const struct gittracked *t = &f->tracked[i];
		if (t->exception && !t->named)
			continue;
		if (pathlist_add(&fx->untrack, t->path, t->len) != 0) {
			cli_error("out of memory");
			return -1;
		}
		fx->sparse |= t->wt == GITWT_SPARSE;
	}
	pathlist_sort(&fx->untrack);
	int need[GITFIND_RULES] = {0};
	for (size_t d = 0; d < f->dirs.n; d++)
		for (int p = 0; p < PROBE_COUNT; p++)
			if (f->answers[d][p] != GITIGN_TREE)
				need[gitfind_rule_of_probe(p)] = 1;
	for (int k = 0; k < GITFIND_RULES; k++)
		if (need[k])
			fx->rules[fx->nrules++] = k;
	if (!fx->nrules)
		return 0; /* the .gitignore is not read (--staged reads nothing of the work tree) */
	pyci_buf path = PYCI_BUF_INIT;
	if (pyci_buf_printf(&path, "%s.gitignore", r->top) != 0) {
		cli_error("out of memory");
		return -1;
	}
	int fd = open(path.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	gitignore_state(fx, fd);
	if (fd >= 0)
		(void)close(fd); /* read only */
	pyci_buf_free(&path);
	return 0;
}

int gitfix_empty(const struct gitfix *fx)
{
	return fx->untrack.n == 0 && fx->nrules == 0;
}

void gitfix_free(struct gitfix *fx)
{
	pathlist_free(&fx->untrack);
	*fx = (struct gitfix){0};
}

/* ---- doing it ---------------------------------------------------------------------------- */

static const char *state_name(int state)
{
	switch (state) {
	case GIT_REPOSITORY_STATE_MERGE:
		return "a merge";
	case GIT_REPOSITORY_STATE_REVERT:
	case GIT_REPOSITORY_STATE_REVERT_SEQUENCE:
		return "a revert";
	case GIT_REPOSITORY_STATE_CHERRYPICK:
	case GIT_REPOSITORY_STATE_CHERRYPICK_SEQUENCE:
		return "a cherry-pick";
	case GIT_REPOSITORY_STATE_BISECT:
		return "a bisect";
	case GIT_REPOSITORY_STATE_APPLY_MAILBOX:
	case GIT_REPOSITORY_STATE_APPLY_MAILBOX_OR_REBASE:
		return "git am";
	default:
		return "a rebase";
	}
}

/* The refusals that need no file opened: state, conflicts, index.lock. */
static int preflight(struct gitrepo *r)
{
	int state = git_repository_state(r->repo);
	if (state < 0) {
		gitrepo_error("cannot read the state of '%.*s'", GITREPO_TOP(r));
		return -1;
	}
	if (state != GIT_REPOSITORY_STATE_NONE) {
		cli_error(
			"refusing to change '%.*s': %s is in progress (finish or abort it first); "
			"nothing was changed",
			GITREPO_TOP(r), state_name(state));
		return -1;
	}
	if (git_index_has_conflicts(r->index)) {
		cli_error(
			"refusing to change '%.*s': the index has unresolved conflicts; nothing was "
			"changed",
			GITREPO_TOP(r));
		return -1;
	}
	const char *index = git_index_path(r->index);
	if (!index) {
		cli_error("refusing to change '%.*s': its index has no file", GITREPO_TOP(r));
		return -1;
	}
	pyci_buf lock = PYCI_BUF_INIT;
	struct stat st;
	if (pyci_buf_printf(&lock, "%s.lock", index) != 0) {
		cli_error("out of memory");
		return -1;
	}
	int locked = lstat(lock.data, &st) == 0;
	if (locked)
		cli_error(
			"refusing to change '%.*s': '%s' exists: another git command is running, or "
			"one stopped without removing it (remove it once no git command runs); "
			"nothing was changed",
			GITREPO_TOP(r), lock.data);
	pyci_buf_free(&lock);
	return locked ? -1 : 0;
}

/* Open the top-level .gitignore for appending (created when absent and create is set); fills
 * fx->gitignore_* again (it may have changed since gitfix_plan).  The descriptor, -2 when absent and not created, or -1 (said). */
static int open_gitignore(struct gitrepo *r, struct gitfix *fx, const char *path, int create)
{
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		cli_error("refusing to append to '%s': not a regular file (git does not follow a "
			  "symbolic link there either); nothing was changed",
			  path);
		return -1;
	}
	int fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		gitignore_state(fx, fd);
		return fd;
	}
	if (errno != ENOENT) {
		cli_error("cannot append to '%s': %s; nothing was changed", path, strerror(errno));
		return -1;
	}
	gitignore_state(fx, -1);
	if (!create) {
		if (access(r->top, W_OK) != 0) {
			cli_error("cannot create '%s': %s; nothing was changed", path,
				  strerror(errno));
			return -1;
		}
		return -2;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		cli_error("cannot create '%s': %s; nothing was changed", path, strerror(errno));
	return fd;
}

/* The block of rules as --fix appends it, given what the file ends with. */
static int rule_block(const struct gitfix *fx, pyci_buf *b)
{
	int rc = 0;
	if (fx->gitignore_nonempty && !fx->gitignore_newline)
		rc |= pyci_buf_putc(b, '\n'); /* the last line first ends */
	if (fx->gitignore_nonempty)
		rc |= pyci_buf_putc(b, '\n'); /* then a blank line */
	rc |= pyci_buf_printf(b, "%s\n", gitfix_comment);
	for (int k = 0; k < fx->nrules; k++)
		rc |= pyci_buf_printf(b, "%s\n", gitfind_rules[fx->rules[k]]);
	return rc ? -1 : 0;
}

/* Put the .gitignore back as it was: its old length, or gone if this run created it. */
static void undo_gitignore(const struct gitfix *fx, int fd, off_t size, const char *path)
{
	int rc = fx->gitignore_existed ? ftruncate(fd, size) : unlink(path);
	if (rc != 0)
		cli_error("and '%s' could not be put back as it was: %s", path, strerror(errno));
}

int gitfix_apply(struct gitrepo *r, struct gitfix *fx, int dry_run)
{
	if (gitfix_empty(fx))
		return 0;
	if (preflight(r) != 0)
		return -1;
	pyci_buf path = PYCI_BUF_INIT, block = PYCI_BUF_INIT;
	int fd = -2, rc = -1;
	off_t size = 0;
	if (pyci_buf_printf(&path, "%s.gitignore", r->top) != 0)
		goto oom;
	if (fx->nrules) {
		fd = open_gitignore(r, fx, path.data, !dry_run);
		if (fd == -1)
			goto out;
		if (fd >= 0)
			size = lseek(fd, 0, SEEK_END);
	}
	if (dry_run) {
		rc = 0;
		goto out;
	}
	if (fd >= 0) {
		if (rule_block(fx, &block) != 0)
			goto oom;
		if (size < 0 || cli_write_all(fd, block.data, block.len) != 0) {
			cli_error("cannot append to '%s': %s", path.data, strerror(errno));
			undo_gitignore(fx, fd, size < 0 ? 0 : size, path.data);
			cli_error("nothing was changed in '%.*s'", GITREPO_TOP(r));
			goto out;
		}
	}
	if (gitrepo_reread_index(r, 0) != 0)
		goto undo;
	for (size_t i = 0; i < fx->untrack.n; i++) {
		int e = git_index_remove(r->index, fx->untrack.items[i], 0);
		if (e < 0 && e != GIT_ENOTFOUND) {
			gitrepo_error("cannot take '%s' out of the index", fx->untrack.items[i]);
			goto undo_index;
		}
	}
	if (fx->untrack.n && git_index_write(r->index) < 0) {
		gitrepo_error("cannot write the index of '%.*s'", GITREPO_TOP(r));
		goto undo_index;
	}
	rc = 0;
	goto out;
undo_index:
	(void)gitrepo_reread_index(r, 1); /* the index on disk is unchanged; said if unreadable */
undo:
	if (fd >= 0)
		undo_gitignore(fx, fd, size, path.data);
	cli_error("nothing was changed in '%.*s'", GITREPO_TOP(r));
	goto out;
oom:
	cli_error("out of memory");
	if (fd >= 0 && !dry_run && block.len)
		undo_gitignore(fx, fd, size, path.data);
out:
	if (fd >= 0 && close(fd) != 0 && rc == 0) {
		cli_error("cannot write '%s': %s", path.data, strerror(errno));
		rc = -1;
	}
	pyci_buf_free(&path);
	pyci_buf_free(&block);
	return rc;
}

/* ---- the same as git commands ------------------------------------------------------------ */

/* Whether git would read s as a pathspec pattern or magic rather than a name. */
static int pathspec_magic(const char *s)
{
	return s[0] == ':' || strpbrk(s, "*?[]\\") != NULL;
}

/* A command line being built: words added one by one, lines continued with '\'. */
struct cmdline {
	pyci_buf *out;
	const char *indent;
	int wrap;
	size_t line_start; /* where the current line began in out */
	int words;         /* on the current line */
	int rc;
};

#define CMD_WIDTH 78

static void word(struct cmdline *c, const char *s, size_t len, int quote)
{
	pyci_buf w = PYCI_BUF_INIT;
	c->rc |= quote ? cli_shell_quote(&w, s, len) : pyci_buf_append(&w, s, len);
	if (c->rc) {
		pyci_buf_free(&w);
		return;
	}
	size_t cur = c->out->len - c->line_start;
	if (c->wrap && c->words > 2 && cur + 1 + w.len > CMD_WIDTH) {
		c->rc |= pyci_buf_puts(c->out, " \\\n");
		c->line_start = c->out->len;
		c->rc |= pyci_buf_printf(c->out, "%s    ", c->indent);
		c->words = 1;
	} else if (c->words) {
		c->rc |= pyci_buf_putc(c->out, ' ');
	}
	c->rc |= pyci_buf_append(c->out, w.data, w.len);
	c->words++;
	pyci_buf_free(&w);
}

static void begin(struct cmdline *c)
{
	c->line_start = c->out->len;
	c->words = 0;
	c->rc |= pyci_buf_puts(c->out, c->indent);
}

static void end(struct cmdline *c)
{
	c->rc |= pyci_buf_putc(c->out, '\n');
}

/* Untracked as one directory: the __pycache__ of untrack's path i when the scope covers all of
 * it.  Its length, or 0. */
static size_t whole_pycache(const struct gitscope *scope, const char *path)
{
	if (!scope)
		return 0;
	size_t len = strlen(path);
	for (size_t i = 0; i + 12 <= len; i++) {
		if ((i == 0 || path[i - 1] == '/') && memcmp(path + i, "__pycache__/", 12) == 0)
			return gitscope_has_dir(scope, path, i + 11) ? i + 11 : 0;
	}
	return 0;
}

#define RM_BATCH 200 /* paths per git rm: far below any ARG_MAX */

int gitfix_commands(const struct gitrepo *r, const struct gitscope *scope, const struct gitfix *fx,
		    int how, const char *indent, pyci_buf *out)
{
	struct cmdline c = {.out = out, .indent = indent, .wrap = how & GITFIX_WRAP};
	if (how & GITFIX_CD) {
		size_t tl;
		const char *top = gitrepo_top(r, &tl);
		begin(&c);
		word(&c, "cd", 2, 0);
		word(&c, top, tl, 1);
		end(&c);
	}
	int literal = 0;
	for (size_t i = 0; i < fx->untrack.n; i++)
		literal |= pathspec_magic(fx->untrack.items[i]);
	size_t batch = 0;
	const char *last_pc = NULL;
	size_t last_pc_len = 0;
	for (size_t i = 0; i < fx->untrack.n && !c.rc; i++) {
		const char *p = fx->untrack.items[i];
		size_t len = whole_pycache(scope, p);
		if (len && last_pc && len == last_pc_len && memcmp(p, last_pc, len) == 0)
			continue; /* that __pycache__ is already named */
		if (batch == 0) {
			begin(&c);
			word(&c, "git", 3, 0);
			if (literal)
				word(&c, "--literal-pathspecs", 19, 0);
			word(&c, "rm", 2, 0);
			word(&c, "-r", 2, 0);
			word(&c, "--cached", 8, 0);
			if (fx->sparse)
				word(&c, "--sparse", 8, 0);
			word(&c, "--quiet", 7, 0);
			word(&c, "--", 2, 0);
		}
		if (len) {
			last_pc = p;
			last_pc_len = len;
		}
		word(&c, p, len ? len : strlen(p), 1);
		if (++batch == RM_BATCH) {
			end(&c);
			batch = 0;
		}
	}
	if (batch)
		end(&c);
	if (fx->nrules) {
		begin(&c);
		word(&c, "printf", 6, 0);
		word(&c, "'%s\\n'", 6, 0);
		if (fx->gitignore_nonempty)
			word(&c, "''", 2, 0);
		if (fx->gitignore_nonempty && !fx->gitignore_newline)
			word(&c, "''", 2, 0);
		word(&c, gitfix_comment, strlen(gitfix_comment), 1);
		for (int k = 0; k < fx->nrules; k++) {
			const char *rule = gitfind_rules[fx->rules[k]];
			word(&c, rule, strlen(rule), 1);
		}
		word(&c, ">>", 2, 0);
		word(&c, ".gitignore", 10, 0);
		end(&c);
		begin(&c);
		word(&c, "git", 3, 0);
		word(&c, "add", 3, 0);
		word(&c, ".gitignore", 10, 0);
		end(&c);
	}
	if ((how & GITFIX_COMMIT) && !gitfix_empty(fx)) {
		begin(&c);
		word(&c, "git", 3, 0);
		word(&c, "commit", 6, 0);
		word(&c, "-m", 2, 0);
		static const char msg[] = "Stop tracking Python bytecode caches";
		word(&c, msg, sizeof(msg) - 1, 1);
		end(&c);
	}
	return c.rc ? -1 : 0;
}
