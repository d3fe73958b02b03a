/*
 * gitrepo.h - a git repository as libgit2 shows it to `pycinspect git`: opened once, its index
 * and HEAD's tree read once, its ignore rules asked one path at a time.
 *
 * libgit2 is used by the command line only (src/cli/git*.c); the library never links it.  The
 * command calls git_libgit2_init() once before the first gitrepo_open() and
 * git_libgit2_shutdown() after the last gitrepo_close().
 *
 * Every failure is said on stderr here, with libgit2's own message (git_error_last()), so that a
 * caller only looks at the -1.
 */
#ifndef PYCINSPECT_CLI_GITREPO_H
#define PYCINSPECT_CLI_GITREPO_H

#include <git2.h>
#include <stddef.h>

/*
 * What git's ignore rules say of a path, and whose rules say it.  libgit2 answers only yes or
 * no (git_ignore_path_is_ignored); it cannot name the rule that decides, as `git check-ignore
 * -v` does.  What it can tell, by asking twice, is whether the work tree's own .gitignore files
 * decide (every clone has them) or whether only the rules of this clone ignore the path
 * (.git/info/exclude and core.excludesFile, which a clone does not get).
 */
enum gitign {
	GITIGN_NO = 0, /* git would not ignore it */
	GITIGN_TREE,   /* ignored by the .gitignore files of the work tree */
	GITIGN_LOCAL,  /* ignored only by .git/info/exclude or core.excludesFile */
};

struct gitrepo {
	git_repository *repo;
	git_index *index;
	git_tree *head;                  /* HEAD's tree; NULL on an unborn branch */
	char head_id[GIT_OID_HEXSZ + 1]; /* "" on an unborn branch */
	char *branch;    /* the branch HEAD names (born or not), NULL when detached */
	const char *top; /* the work tree, absolute, ending in '/' (libgit2's string) */
	size_t top_len;
	int worktree;    /* a linked worktree (git worktree add) */
	int local_rules; /* -1 not yet known; else whether info/exclude or the excludes file
			    * hold any rule */
	git_repository *tree_rules; /* the work tree's .gitignore files alone (see gitrepo.c) */
	int tree_rules_fd;          /* the in-memory configuration it reads, or -1 */
	struct gitrepo_memo *memo;  /* what the rules said of directories (gitrepo.c) */
};

/* How gitrepo_open finds the repository. */
enum {
	GITREPO_FROM_ENV = 1,  /* as git does for a command run without a PATH: GIT_DIR,
			       * GIT_INDEX_FILE, GIT_CEILING_DIRECTORIES, ... (pre-commit hooks) */
	GITREPO_NO_SEARCH = 2, /* path must be the top of a work tree (a submodule) */
};

/* After git_libgit2_init(): GIT_CONFIG_NOSYSTEM set, libgit2 is told not to read the system
 * configuration at all (a process-wide libgit2 setting: the command line's).  0, or -1 (said). */
int gitrepo_env(void);

/*
 * Open the repository holding path (a directory; NULL with GITREPO_FROM_ENV: the current
 * directory), read its index and HEAD's tree.  shown: path as messages name it (the PATH as
 * given), or NULL for path itself.  GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM and
 * GIT_CONFIG_NOSYSTEM are honoured as git honours them (libgit2 1.5 does not read them), so that
 * core.excludesFile is the one git would use.  A bare repository is refused (there is no work
 * tree to look at).  0, or -1 after saying why on stderr (not a repository, bare, an index
 * libgit2 cannot read, ...); *r is then empty (gitrepo_close is harmless).
 */
int gitrepo_open(struct gitrepo *r, const char *path, const char *shown, int how);

/*
 * Open r's repository again in v, for the ignore questions of another thread (a libgit2 object
 * is used by one thread at a time): the same git directory and work tree, no index, no HEAD;
 * only gitrepo_ignore is to be asked of it.  0, or -1 (said).
 */
int gitrepo_open_view(struct gitrepo *v, const struct gitrepo *r);

void gitrepo_close(struct gitrepo *r);

/*
 * Ask the ignore rules about path, relative to the top of the work tree ('/'-separated; a
 * trailing '/' asks about a directory), as git answers: a path inside an ignored directory is
 * ignored, whatever a rule says of the path itself.  The path need not exist.  0 with *ans set,
 * or -1 (said).
 */
int gitrepo_ignore(struct gitrepo *r, const char *path, enum gitign *ans);

/* The .gitignore files changed (--fix appended rules): forget what they said of directories. */
void gitrepo_rules_changed(struct gitrepo *r);

/*
 * Whether the index entry e is in HEAD's tree (*in_head), and if so whether the index holds
 * another blob or mode there (*modified, a staged change).  0, or -1 (said).
 */
int gitrepo_in_head(struct gitrepo *r, const git_index_entry *e, int *in_head, int *modified);

/* Re-read the index from disk if it changed since it was read (force: always).  0, or -1
 * (said). */
int gitrepo_reread_index(struct gitrepo *r, int force);

/*
 * "pycinspect: MESSAGE: LIBGIT2'S MESSAGE" on stderr, MESSAGE printf-style; libgit2's message is
 * that of the last failed call on this thread (git_error_last()).
 */
void gitrepo_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_error, and the message kept for gitrepo_last_message. */
void gitrepo_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last message gitrepo_say or gitrepo_error said on stderr (for the "error" lines of
 * --json). */
const char *gitrepo_last_message(void);

/* The top of the work tree without its final '/', for people and JSON: a view of r->top of
 * length *len. */
const char *gitrepo_top(const struct gitrepo *r, size_t *len);

/* The top for a "%.*s" in a message: its length, then r->top. */
#define GITREPO_TOP(r) ((int)((r)->top_len > 1 ? (r)->top_len - 1 : (r)->top_len)), (r)->top

#endif
