/*
 * gitfix.h - the fix of `pycinspect git` in one repository: the tracked caches out of the index
 * (the files stay, as `git rm -r --cached`), the missing rules appended to the top-level
 * .gitignore; and the same as the git commands a person would type.
 */
#ifndef PYCINSPECT_CLI_GITFIX_H
#define PYCINSPECT_CLI_GITFIX_H

#include "gitfind.h"
#include "gitrepo.h"
#include "pycinspect/buf.h"

struct gitfix {
	struct pathlist untrack;  /* index paths to remove (sorted) */
	int sparse;               /* some of them are not checked out: `git rm` needs --sparse */
	int rules[GITFIND_RULES]; /* which of gitfind_rules to append */
	int nrules;
	/* what the .gitignore was before (gitfix_apply) */
	int gitignore_existed;
	int gitignore_nonempty;
	int gitignore_newline; /* it ends with a newline (when not empty) */
};

/*
 * What to do: every tracked cache but the exceptions no PATH names; every rule that some
 * directory misses (GITIGN_NO) or has only from this clone's rules (GITIGN_LOCAL); and how the
 * top-level .gitignore ends (read, not changed).  fx is filled; 0, or -1 (ENOMEM, said).
 */
int gitfix_plan(const struct gitrepo *r, const struct gitfindings *f, struct gitfix *fx);

/* Whether the plan does anything. */
int gitfix_empty(const struct gitfix *fx);

/*
 * Look at the .gitignore (fx->gitignore_*), then, unless dry_run, do the plan: the block of rules
 * appended to .gitignore (created if absent), then the index written without the caches, under
 * git's lock (index.lock) through libgit2.  Refused, with nothing changed, when a merge, rebase,
 * cherry-pick, revert, bisect or am is in progress, the index has conflicts, index.lock exists,
 * or the .gitignore cannot be written (not a regular file, read-only, ...); the same checks are
 * made under dry_run.  If writing the index fails, the .gitignore is put back as it was.
 * 0 done (or would be), -1 refused or failed (said on stderr).
 */
int gitfix_apply(struct gitrepo *r, struct gitfix *fx, int dry_run);

/* What gitfix_commands writes. */
enum {
	GITFIX_CD = 1,     /* `cd TOP` first (the current directory is not the top) */
	GITFIX_WRAP = 2,   /* long commands continued on lines ending in '\' */
	GITFIX_COMMIT = 4, /* the commit last */
};

/*
 * The git commands that do the same, one per line, each line starting with indent: `git rm -r
 * --cached -- ...` (a whole __pycache__ at once when scope covers all of it; scope NULL: each
 * path), the printf that appends the block as --fix would, `git add .gitignore`; how (GITFIX_*).
 * Paths are quoted for a shell (cli_shell_quote).  0, or -1 (ENOMEM).
 */
int gitfix_commands(const struct gitrepo *r, const struct gitscope *scope, const struct gitfix *fx,
		    int how, const char *indent, pyci_buf *out);

/* The comment line --fix writes above the rules it appends. */
extern const char gitfix_comment[];

void gitfix_free(struct gitfix *fx);

#endif
