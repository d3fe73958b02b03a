/*
 * cmd_git.c - `pycinspect git`: the caches a git repository tracks, the ignore rules that keep
 * them out, the untracked ones at risk, and the fix (docs/git.md).
 *
 * For each repository (the one holding each PATH, default the current directory's, and every
 * checked-out submodule in it, each reported as a repository of its own): gitfind.c finds, then
 * this file reports, as text for people with the git commands that fix what was found, or as
 * JSON Lines; --fix does it (gitfix.c); --staged looks at the index and HEAD alone, for a
 * pre-commit hook.  libgit2 is initialised here, once, around everything.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gitfind.h"
#include "gitfix.h"
#include "gitrepo.h"
#include "pycinspect/record.h"
#include "scanrun.h"

#define FLUSH_AT ((size_t)64 * 1024)
#define LIST_AT_MOST 8         /* directories named per rule in the text */
#define SUBMODULE_DEPTH_MAX 32 /* submodules of submodules of ... */

enum { GIT_CHECK = 256, GIT_STAGED, GIT_FIX, GIT_DRY_RUN, GIT_JSON };

static const struct cli_option git_options[] = {
	{"check", 0, CLI_NOARG, NULL,
	 "exit 1 if a cache is tracked (but for the possibly\n"
	 "deliberate ones) or a rule is missing; with --staged: if\n"
	 "the staged changes add or change a cache",
	 GIT_CHECK, NULL},
	{"staged", 0, CLI_NOARG, NULL,
	 "only the caches the next commit would add or change,\n"
	 "from the index and HEAD alone (for a pre-commit hook,\n"
	 "with --check)",
	 GIT_STAGED, NULL},
	{"fix", 0, CLI_NOARG, NULL,
	 "take the tracked caches out of the index (the files stay,\n"
	 "as with git rm -r --cached) and append the missing rules to\n"
	 "the top-level .gitignore; never commits",
	 GIT_FIX, NULL},
	{"dry-run", 'n', CLI_NOARG, NULL,
	 "with --fix: say what it would do and the git commands that\n"
	 "do it; change nothing",
	 GIT_DRY_RUN, NULL},
	{"json", 0, CLI_NOARG, NULL, "JSON Lines on stdout (see docs/git.md)", GIT_JSON, NULL},
	{0},
};

static const struct cli_group git_groups[] = {
	{"options:", git_options, 0},
	{NULL, cli_color_option, 0},
	{NULL, cli_help_option, 0},
	{0},
};

const struct cli_command git_command = {
	.name = "git",
	.head = "usage: pycinspect git [OPTIONS] [PATH...]\n"
		"\n"
		"The bytecode caches a git repository tracks (anything in __pycache__/, *.pyc, *.pyo,\n"
		"*$py.class), whether git would ignore new ones in each directory with Python\n"
		"sources, the untracked ones no rule ignores, and the git commands that fix it.\n"
		"Each PATH: that part of the repository holding it (default: all of the current\n"
		"directory's repository); submodules are reported as repositories of their own.\n",
	.groups = git_groups,
	.tail = "\n"
		"A tracked NAME.pyc with no NAME.py beside it is reported apart, as possibly a\n"
		"deliberate sourceless distribution: --check passes it, and --fix untracks it only\n"
		"when a PATH names it (the file, or a directory holding it below the top).\n"
		"exit status: 0 ok, 1 findings under --check (or left after --fix), 2 usage or\n"
		"fatal error, a repository that cannot be read, or a --fix refused (nothing changed)\n",
	.column = 28,
};

/* One repository to look at: where it is, and the PATHs given in it. */
struct unit {
	struct gitrepo r;
	struct gitscope scope;
};

struct totals {
	unsigned long long repositories, tracked, in_head, staged_only, exceptions, dirs, at_risk;
	unsigned long long dirs_missing; /* directories missing some rule (or having it locally) */
	unsigned long long missing[GITFIND_RULES], local_only[GITFIND_RULES];
	unsigned long long untracked, appended, remaining;
	unsigned long long errors;
};

struct git_cli {
	struct scanrun e; /* the targets of the judge, the output buffer, --json */
	int check, staged, fix, dry_run;
	int failed; /* exit 2 */
	int fails;  /* exit 1 under --check, or after --fix */
	char cwd[PATH_MAX];
	int have_cwd;
	struct totals t;
};

static int on_option(void *ctx, int id, const char *arg)
{
	struct git_cli *c = ctx;
	(void)arg;
	switch (id) {
	case GIT_CHECK:
		c->check = 1;
		break;
	case GIT_STAGED:
		c->staged = 1;
		break;
	case GIT_FIX:
		c->fix = 1;
		break;
	case GIT_DRY_RUN:
		c->dry_run = 1;
		break;
	case GIT_JSON:
		c->e.json = 1;
		break;
	default:
		break;
	}
	return 0;
}

/* ---- output helpers ---------------------------------------------------------------------- */

static int flush_if_full(struct git_cli *c)
{
	if (c->e.out.len >= FLUSH_AT && cli_flush(&c->e.out) != 0) {
		c->e.write_failed = 1;
		return -1;
	}
	return 0;
}

/* A JSON line begun with the type and the repository. */
static void jline(pyci_jw *w, struct git_cli *c, const char *type, const struct gitrepo *r)
{
	pyci_jw_init(w, &c->e.out);
	pyci_jw_begin(w, NULL);
	pyci_jw_cstr(w, "type", type);
	if (r) {
		size_t tl;
		const char *top = gitrepo_top(r, &tl);
		pyci_jw_str(w, "repository", top, tl);
	}
}

static int jend(struct git_cli *c, pyci_jw *w)
{
	pyci_jw_end(w);
	if (cli_json_line(w) != 0) {
		cli_error("out of memory");
		return -1;
	}
	return flush_if_full(c);
}

static const char *ignored_by(enum gitign a)
{
	return a == GITIGN_TREE ? "gitignore" : a == GITIGN_LOCAL ? "local" : NULL;
}

static const char *wt_name(enum gitwt wt)
{
	static const char *const names[] = {"present", "deleted", "sparse", "not-a-file"};
	return names[wt];
}

/* "pkg" for people, "." for the top. */
static const char *dir_shown(const char *d)
{
	return *d ? d : ".";
}

/* ---- the repository ---------------------------------------------------------------------- */

static int repo_line(struct git_cli *c, const struct gitrepo *r, const char *super)
{
	size_t tl;
	const char *top = gitrepo_top(r, &tl);
	pyci_buf *b = &c->e.out;
	if (c->e.json) {
		pyci_jw w;
		jline(&w, c, "repository", NULL);
		pyci_jw_str(&w, "path", top, tl);
		pyci_jw_cstr(&w, "gitdir", git_repository_path(r->repo));
		pyci_jw_bool(&w, "worktree", r->worktree);
		pyci_jw_cstr(&w, "submodule_of", super);
		pyci_jw_cstr(&w, "branch", r->branch);
		pyci_jw_cstr(&w, "head", r->head_id[0] ? r->head_id : NULL);
		return jend(c, &w);
	}
	int rc = cli_quote_path(b, top, tl);
	rc |= pyci_buf_puts(b, " (git ");
	rc |= pyci_buf_puts(b, r->worktree ? "worktree" : super ? "submodule" : "repository");
	if (super) {
		rc |= pyci_buf_puts(b, " of ");
		rc |= cli_quote_path(b, super, strlen(super));
	}
	if (r->branch) {
		rc |= pyci_buf_puts(b, ", branch ");
		rc |= cli_quote_path(b, r->branch, strlen(r->branch));
	} else {
		rc |= pyci_buf_puts(b, ", detached HEAD");
	}
	if (!r->head)
		rc |= pyci_buf_puts(b, ", no commit yet");
	rc |= pyci_buf_puts(b, ")\n");
	return rc ? -1 : 0;
}

/* ---- tracked caches ---------------------------------------------------------------------- */

static const char *head_word(const struct gittracked *t)
{
	return !t->in_head ? "staged" : t->modified ? "modified" : "in HEAD";
}

static int tracked_json(struct git_cli *c, const struct gitrepo *r, const struct gittracked *t)
{
	pyci_jw w;
	jline(&w, c, "tracked", r);
	pyci_jw_str(&w, "path", t->path, t->len);
	char mode[8];
	(void)snprintf(mode, sizeof(mode), "%06o", (unsigned)t->mode);
	pyci_jw_cstr(&w, "mode", mode);
	pyci_jw_cstr(&w, "id", t->id);
	pyci_jw_u64(&w, "stage", (uint64_t)t->stage);
	pyci_jw_bool(&w, "in_head", t->in_head);
	pyci_jw_cstr(&w, "staged", !t->in_head ? "added" : t->modified ? "modified" : NULL);
	pyci_jw_bool(&w, "exception", t->exception);
	if (c->staged) {
		pyci_jw_null(&w, "worktree");
		pyci_jw_null(&w, "verdict");
		pyci_jw_null(&w, "ignored");
		pyci_jw_null(&w, "ignored_by");
	} else {
		pyci_jw_cstr(&w, "worktree", wt_name(t->wt));
		if (t->judged) {
			pyci_jw_begin(&w, "verdict");
			pyci_jw_cstr(&w, "status", pyci_status_name(t->status));
			pyci_jw_cstr(&w, "version", t->version[0] ? t->version : NULL);
			pyci_record_reasons(&w, t->reasons);
			pyci_jw_end(&w);
		} else {
			pyci_jw_null(&w, "verdict");
		}
		pyci_jw_bool(&w, "ignored", t->ignored != GITIGN_NO);
		pyci_jw_cstr(&w, "ignored_by", ignored_by(t->ignored));
	}
	return jend(c, &w);
}

static int tracked_text(struct git_cli *c, const struct gittracked *t)
{
	pyci_buf *b = &c->e.out;
	int rc = 0;
	if (c->staged) {
		rc |= pyci_buf_printf(b, "    %-9s ", t->in_head ? "modified" : "added");
	} else {
		const char *what = t->judged                 ? pyci_status_name(t->status)
				   : t->wt == GITWT_DELETED  ? "deleted"
				   : t->wt == GITWT_SPARSE   ? "sparse"
				   : t->wt == GITWT_NOT_FILE ? "not-a-file"
							     : "not judged";
		rc |= pyci_buf_printf(b, "    %-9s ", head_word(t));
		rc |= cli_styled(b, t->judged ? cli_status_style(t->status) : NULL, what, 11);
		rc |= pyci_buf_printf(b, " %-8s ", t->judged && t->version[0] ? t->version : "");
	}
	rc |= cli_quote_path(b, t->path, t->len);
	if (!c->staged) {
		const char *sep = ": ";
		for (int i = 0; t->judged && i < PYCI_R_COUNT; i++) {
			if (!(t->reasons & PYCI_REASON_BIT(i)))
				continue;
			rc |= pyci_buf_puts(b, sep);
			rc |= pyci_buf_puts(b, pyci_reason_text((pyci_reason)i));
			sep = "; ";
		}
		if (t->wt == GITWT_DELETED)
			rc |= pyci_buf_puts(b, ": not in the work tree");
		else if (t->wt == GITWT_SPARSE)
			rc |= pyci_buf_puts(b, ": not checked out (sparse checkout)");
		else if (t->wt == GITWT_PRESENT && !t->judged)
			rc |= pyci_buf_puts(b, ": not a .pyc/.pyo cache scan can judge");
	}
	rc |= pyci_buf_putc(b, '\n');
	return rc ? -1 : 0;
}

/* The tracked caches, the exceptions apart. */
static int report_tracked(struct git_cli *c, const struct gitrepo *r, const struct gitfindings *f)
{
	size_t n[2] = {0, 0}, head = 0;
	for (size_t i = 0; i < f->ntracked; i++) {
		n[f->tracked[i].exception]++;
		head += f->tracked[i].in_head;
	}
	c->t.tracked += f->ntracked;
	c->t.exceptions += n[1];
	c->t.in_head += head;
	c->t.staged_only += f->ntracked - head;
	if (c->e.json) {
		for (size_t i = 0; i < f->ntracked; i++)
			if (tracked_json(c, r, &f->tracked[i]) != 0)
				return -1;
		return 0;
	}
	pyci_buf *b = &c->e.out;
	for (int ex = 0; ex < 2; ex++) {
		if (!n[ex])
			continue;
		int rc;
		if (c->staged)
			rc = pyci_buf_printf(
				b,
				ex ? "  staged, possibly deliberate (no source beside "
				     "them: a sourceless distribution?): %zu\n"
				   : "  staged caches: %zu (the next commit would add or "
				     "change them)\n",
				n[ex]);
		else if (ex)
			rc = pyci_buf_printf(
				b,
				"  tracked, possibly deliberate (no source beside them: a "
				"sourceless distribution?), left alone by --fix: %zu\n",
				n[ex]);
		else
			rc = pyci_buf_printf(b, "  tracked caches: %zu\n", n[ex]);
		if (rc != 0)
			return -1;
		for (size_t i = 0; i < f->ntracked; i++)
			if (f->tracked[i].exception == ex && tracked_text(c, &f->tracked[i]) != 0)
				return -1;
		if (flush_if_full(c) != 0)
			return -1;
	}
	return 0;
}

/* ---- ignore rules ------------------------------------------------------------------------ */

/* For directory d and rule k: GITIGN_NO if a probe of k is not ignored, else GITIGN_LOCAL if
 * one is ignored only by local rules, else GITIGN_TREE. */
static enum gitign rule_answer(const struct gitfindings *f, size_t d, int k)
{
	enum gitign worst = GITIGN_TREE;
	for (int p = 0; p < PROBE_COUNT; p++) {
		if (gitfind_rule_of_probe(p) != k)
			continue;
		enum gitign a = (enum gitign)f->answers[d][p];
		if (a == GITIGN_NO)
			return GITIGN_NO;
		if (a == GITIGN_LOCAL)
			worst = GITIGN_LOCAL;
	}
	return worst;
}

static int ignore_json(struct git_cli *c, const struct gitrepo *r, const struct gitfindings *f)
{
	pyci_buf probe = PYCI_BUF_INIT;
	for (size_t d = 0; d < f->dirs.n; d++) {
		const char *dir = f->dirs.items[d];
		for (int p = 0; p < PROBE_COUNT; p++) {
			enum gitign a = (enum gitign)f->answers[d][p];
			pyci_buf_clear(&probe);
			if ((*dir && pyci_buf_printf(&probe, "%s/", dir) != 0) ||
			    pyci_buf_puts(&probe, gitfind_probe_names[p]) != 0) {
				pyci_buf_free(&probe);
				cli_error("out of memory");
				return -1;
			}
			pyci_jw w;
			jline(&w, c, "ignore", r);
			pyci_jw_cstr(&w, "directory", dir_shown(dir));
			pyci_jw_str(&w, "probe", probe.data, probe.len);
			pyci_jw_cstr(&w, "rule", gitfind_probe_rules[p]);
			pyci_jw_bool(&w, "ignored", a != GITIGN_NO);
			pyci_jw_cstr(&w, "ignored_by", ignored_by(a));
			pyci_jw_bool(&w, "missing", a != GITIGN_TREE);
			if (jend(c, &w) != 0) {
				pyci_buf_free(&probe);
				return -1;
			}
		}
	}
	pyci_buf_free(&probe);
	return 0;
}

/* The lines of one kind of answer (GITIGN_NO or GITIGN_LOCAL), per rule: how many directories,
 * and the first few. */
static int rules_text(struct git_cli *c, const struct gitfindings *f, enum gitign kind)
{
	pyci_buf *b = &c->e.out;
	size_t count[GITFIND_RULES] = {0}, any = 0;
	for (size_t d = 0; d < f->dirs.n; d++) {
		int hit = 0;
		for (int k = 0; k < GITFIND_RULES; k++)
			if (rule_answer(f, d, k) == kind) {
				count[k]++;
				hit = 1;
			}
		any += hit;
	}
	for (int k = 0; k < GITFIND_RULES; k++)
		(kind == GITIGN_NO ? c->t.missing : c->t.local_only)[k] += count[k];
	if (!any || c->e.json)
		return 0;
	int rc =
		kind == GITIGN_NO
			? pyci_buf_printf(b,
					  "  missing rules: git would not ignore new caches in %zu "
					  "of %zu directories with Python sources\n",
					  any, f->dirs.n)
			: pyci_buf_printf(
				  b,
				  "  missing from .gitignore, ignored only by this clone's "
				  "own rules (.git/info/exclude, core.excludesFile), which a "
				  "clone does not get: %zu of %zu directories\n",
				  any, f->dirs.n);
	for (int k = 0; k < GITFIND_RULES && !rc; k++) {
		if (!count[k])
			continue;
		rc |= pyci_buf_printf(b, "    %-13s %zu director%s: ", gitfind_rules[k], count[k],
				      count[k] == 1 ? "y" : "ies");
		size_t shown = 0;
		for (size_t d = 0; d < f->dirs.n && shown < LIST_AT_MOST; d++) {
			if (rule_answer(f, d, k) != kind)
				continue;
			const char *dir = dir_shown(f->dirs.items[d]);
			rc |= pyci_buf_puts(b, shown ? ", " : "");
			rc |= cli_quote_path(b, dir, strlen(dir));
			shown++;
		}
		if (count[k] > shown)
			rc |= pyci_buf_printf(b, " and %zu more (--json lists them)",
					      count[k] - shown);
		rc |= pyci_buf_putc(b, '\n');
	}
	return rc ? -1 : 0;
}

/* ---- at risk, warnings ------------------------------------------------------------------- */

static int report_at_risk(struct git_cli *c, const struct gitrepo *r, const struct gitfindings *f)
{
	c->t.at_risk += f->at_risk.n;
	if (c->e.json) {
		for (size_t i = 0; i < f->at_risk.n; i++) {
			pyci_jw w;
			jline(&w, c, "at-risk", r);
			pyci_jw_cstr(&w, "path", f->at_risk.items[i]);
			if (jend(c, &w) != 0)
				return -1;
		}
		return 0;
	}
	if (!f->at_risk.n)
		return 0;
	pyci_buf *b = &c->e.out;
	int rc = pyci_buf_printf(b,
				 "  at risk: %zu untracked cache%s no rule ignores (the next 'git "
				 "add .' would commit %s)\n",
				 f->at_risk.n, f->at_risk.n == 1 ? "" : "s",
				 f->at_risk.n == 1 ? "it" : "them");
	for (size_t i = 0; i < f->at_risk.n && !rc; i++) {
		rc |= pyci_buf_puts(b, "    ");
		rc |= cli_quote_path(b, f->at_risk.items[i], strlen(f->at_risk.items[i]));
		rc |= pyci_buf_putc(b, '\n');
		rc |= flush_if_full(c);
	}
	return rc ? -1 : 0;
}

/* libgit2's disregard of some negations (gitwalk.c): on stderr, and as JSON lines. */
static int warnings(struct git_cli *c, const struct gitrepo *r, const struct gitfindings *f)
{
	for (size_t i = 0; i < f->negations.n; i++) {
		const char *n = f->negations.items[i];
		pyci_buf q = PYCI_BUF_INIT;
		if (cli_quote_path(&q, n, strlen(n)) != 0) {
			pyci_buf_free(&q);
			cli_error("out of memory");
			return -1;
		}
		cli_error(
			"warning: %s%s: libgit2 may disregard this negation (libgit2 issue #7284), "
			"so what it names may be called ignored though git would not ignore it",
			r->top, q.data);
		pyci_buf_free(&q);
		if (c->e.json) {
			pyci_jw w;
			jline(&w, c, "warning", r);
			pyci_jw_cstr(&w, "message", "libgit2 may disregard this negation");
			pyci_jw_cstr(&w, "rule", n);
			if (jend(c, &w) != 0)
				return -1;
		}
	}
	return 0;
}

/* ---- the fix ----------------------------------------------------------------------------- */

/* Whether the current directory is the top of r's work tree. */
static int at_top(const struct git_cli *c, const struct gitrepo *r)
{
	size_t tl;
	const char *top = gitrepo_top(r, &tl);
	return c->have_cwd && strlen(c->cwd) == tl && memcmp(c->cwd, top, tl) == 0;
}

static int commands_json(struct git_cli *c, const struct gitrepo *r, const char *text)
{
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n");
		pyci_jw w;
		jline(&w, c, "command", r);
		pyci_jw_str(&w, "command", p, len);
		if (jend(c, &w) != 0)
			return -1;
		p += len + (p[len] == '\n');
	}
	return 0;
}

/* The commands that fix what was found: text after title, or "command" lines (not
 * wrapped). */
static int commands(struct git_cli *c, const struct gitrepo *r, const struct gitscope *scope,
		    const struct gitfix *fx, const char *title)
{
	if (gitfix_empty(fx))
		return 0;
	pyci_buf text = PYCI_BUF_INIT;
	int how = (at_top(c, r) ? 0 : GITFIX_CD) | (c->e.json ? 0 : GITFIX_WRAP) |
		  (c->staged ? 0 : GITFIX_COMMIT);
	int rc = gitfix_commands(r, c->staged ? NULL : scope, fx, how, c->e.json ? "" : "    ",
				 &text);
	if (rc != 0) {
		cli_error("out of memory");
	} else if (c->e.json) {
		rc = commands_json(c, r, text.data);
	} else {
		rc = pyci_buf_puts(&c->e.out, title) ||
		     pyci_buf_append(&c->e.out, text.data, text.len);
	}
	pyci_buf_free(&text);
	return rc ? -1 : 0;
}

/* What is still not right after --fix: directories whose probes are still not ignored by a
 * .gitignore, and untracked caches that no rule ignores (a negation below the top re-includes
 * them, which appending at the top cannot undo). */
struct left {
	struct pathlist dirs, paths;
};

static int check_after(struct gitrepo *r, const struct gitfindings *f, const struct gitfix *fx,
		       struct left *l)
{
	pyci_buf probe = PYCI_BUF_INIT;
	int rc = 0;
	for (size_t d = 0; d < f->dirs.n && !rc; d++) {
		const char *dir = f->dirs.items[d];
		int bad = 0;
		for (int p = 0; p < PROBE_COUNT && !rc && !bad; p++) {
			if (f->answers[d][p] == GITIGN_TREE)
				continue;
			enum gitign a;
			pyci_buf_clear(&probe);
			if ((*dir && pyci_buf_printf(&probe, "%s/", dir) != 0) ||
			    pyci_buf_puts(&probe, gitfind_probe_names[p]) != 0) {
				cli_error("out of memory");
				rc = -1;
			} else if (gitrepo_ignore(r, probe.data, &a) != 0) {
				rc = -1;
			} else {
				bad = a != GITIGN_TREE;
			}
		}
		if (bad && pathlist_add(&l->dirs, dir, strlen(dir)) != 0) {
			cli_error("out of memory");
			rc = -1;
		}
	}
	for (size_t i = 0; i < fx->untrack.n && !rc; i++) {
		enum gitign a;
		const char *p = fx->untrack.items[i];
		if (gitrepo_ignore(r, p, &a) != 0) {
			rc = -1;
		} else if (a == GITIGN_NO && pathlist_add(&l->paths, p, strlen(p)) != 0) {
			cli_error("out of memory");
			rc = -1;
		}
	}
	pyci_buf_free(&probe);
	return rc;
}

static void json_paths(pyci_jw *w, const char *key, const struct pathlist *l)
{
	pyci_jw_begin_array(w, key);
	for (size_t i = 0; i < l->n; i++)
		pyci_jw_cstr(w, NULL, l->items[i]);
	pyci_jw_end_array(w);
}

static int fix_json(struct git_cli *c, const struct gitrepo *r, const struct gitfix *fx, int done,
		    const struct left *l)
{
	pyci_jw w;
	jline(&w, c, "fix", r);
	pyci_jw_bool(&w, "dry_run", c->dry_run);
	pyci_jw_bool(&w, "done", done);
	json_paths(&w, "untracked", &fx->untrack);
	pyci_jw_begin_array(&w, "rules");
	for (int k = 0; k < fx->nrules; k++)
		pyci_jw_cstr(&w, NULL, gitfind_rules[fx->rules[k]]);
	pyci_jw_end_array(&w);
	pyci_jw_bool(&w, "gitignore_created", fx->nrules && !fx->gitignore_existed);
	json_paths(&w, "still_missing", &l->dirs);
	json_paths(&w, "not_ignored", &l->paths);
	return jend(c, &w);
}

/* The items of l, one per line. */
static int list_text(pyci_buf *b, const struct pathlist *l)
{
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) {
		const char *s = dir_shown(l->items[i]);
		rc |= pyci_buf_puts(b, "    ");
		rc |= cli_quote_path(b, s, strlen(s));
		rc |= pyci_buf_putc(b, '\n');
	}
	return rc;
}

static int fix_text(struct git_cli *c, const struct gitrepo *r, const struct gitscope *scope,
		    const struct gitfix *fx, const struct left *l)
{
	pyci_buf *b = &c->e.out;
	size_t n = fx->untrack.n;
	int rc = c->dry_run ? pyci_buf_printf(b,
					      "  --fix would take %zu cache%s out of the index "
					      "(the files stay)",
					      n, n == 1 ? "" : "s")
			    : pyci_buf_printf(b,
					      "  fixed: %zu cache%s taken out of the index (the "
					      "files stay)",
					      n, n == 1 ? "" : "s");
	if (fx->nrules) {
		rc |= pyci_buf_printf(b,
				      c->dry_run ? " and append %d rule%s to .gitignore:"
						 : "; %d rule%s appended to .gitignore:",
				      fx->nrules, fx->nrules == 1 ? "" : "s");
		for (int k = 0; k < fx->nrules; k++)
			rc |= pyci_buf_printf(b, " %s", gitfind_rules[fx->rules[k]]);
	}
	rc |= pyci_buf_putc(b, '\n');
	if (rc)
		return -1;
	if (c->dry_run)
		return commands(c, r, scope, fx, "  the same with git:\n");
	if (l->dirs.n)
		rc |= pyci_buf_printf(
			b,
			"  still missing after the fix, in %zu director%s (a .gitignore "
			"below the top re-includes what the rules cover):\n",
			l->dirs.n, l->dirs.n == 1 ? "y" : "ies");
	rc |= list_text(b, &l->dirs);
	if (l->paths.n)
		rc |= pyci_buf_printf(b,
				      "  out of the index but not ignored, %zu cache%s (a rule "
				      "re-includes %s: the next 'git add .' adds %s back):\n",
				      l->paths.n, l->paths.n == 1 ? "" : "s",
				      l->paths.n == 1 ? "it" : "them",
				      l->paths.n == 1 ? "it" : "them");
	rc |= list_text(b, &l->paths);
	rc |= pyci_buf_printf(b, "  next: %sgit commit -m 'Stop tracking Python bytecode caches'\n",
			      fx->nrules ? "git add .gitignore && " : "");
	return rc ? -1 : 0;
}

/* --fix in r: do it (or not, -n), then report. */
static int run_fix(struct git_cli *c, struct gitrepo *r, const struct gitscope *scope,
		   const struct gitfindings *f, struct gitfix *fx)
{
	struct left l = {PATHLIST_INIT, PATHLIST_INIT};
	int rc = 0;
	if (gitfix_empty(fx)) {
		if (!c->e.json)
			rc = pyci_buf_puts(&c->e.out, "  --fix: nothing to do\n");
		return rc;
	}
	if (!c->e.json && cli_flush(&c->e.out) != 0) { /* the report before what is done */
		c->e.write_failed = 1;
		return -1;
	}
	if (gitfix_apply(r, fx, c->dry_run) != 0) {
		c->failed = 1;
		if (c->e.json)
			rc = fix_json(c, r, fx, 0, &l);
		return rc;
	}
	if (!c->dry_run) {
		gitrepo_rules_changed(r);
		if (check_after(r, f, fx, &l) != 0)
			c->failed = 1;
		c->t.untracked += fx->untrack.n;
		c->t.appended += (unsigned)fx->nrules;
		c->t.remaining += l.dirs.n + l.paths.n;
		c->fails |= l.dirs.n + l.paths.n > 0;
	}
	rc = c->e.json ? fix_json(c, r, fx, !c->dry_run, &l) : fix_text(c, r, scope, fx, &l);
	if (c->e.json && c->dry_run && rc == 0)
		rc = commands(c, r, scope, fx, "");
	pathlist_free(&l.dirs);
	pathlist_free(&l.paths);
	return rc;
}

/* ---- one repository ---------------------------------------------------------------------- */

static void repo_error(struct git_cli *c, const char *path, const char *message)
{
	c->failed = 1;
	c->t.errors++;
	if (!c->e.json)
		return;
	pyci_jw w;
	jline(&w, c, "error", NULL);
	pyci_jw_cstr(&w, "path", path);
	pyci_jw_cstr(&w, "message", message);
	(void)jend(c, &w); /* out of memory: said; the run goes on to its summary */
}

/* How many directories miss some rule (GITIGN_NO or GITIGN_LOCAL). */
static size_t dirs_missing(const struct gitfindings *f)
{
	size_t n = 0;
	for (size_t d = 0; d < f->dirs.n; d++) {
		int bad = 0;
		for (int p = 0; p < PROBE_COUNT; p++)
			bad |= f->answers[d][p] != GITIGN_TREE;
		n += bad;
	}
	return n;
}

static int report(struct git_cli *c, struct unit *u, const struct gitfindings *f)
{
	struct gitrepo *r = &u->r;
	if (warnings(c, r, f) != 0 || report_tracked(c, r, f) != 0)
		return -1;
	size_t missing = 0, real = 0;
	for (size_t i = 0; i < f->ntracked; i++)
		real += !f->tracked[i].exception;
	if (!c->staged) {
		missing = dirs_missing(f);
		c->t.dirs += f->dirs.n;
		c->t.dirs_missing += missing;
		if ((c->e.json && ignore_json(c, r, f) != 0) || rules_text(c, f, GITIGN_NO) != 0 ||
		    rules_text(c, f, GITIGN_LOCAL) != 0 || report_at_risk(c, r, f) != 0)
			return -1;
	}
	c->e.sum.errors += f->walk_errors;
	if (real || missing || f->walk_errors)
		c->fails |= c->check;
	struct gitfix fx;
	if (gitfix_plan(r, f, &fx) != 0)
		return -1;
	int rc = 0;
	if (c->fix) {
		rc = run_fix(c, r, &u->scope, f, &fx);
	} else if (!gitfix_empty(&fx)) {
		rc = commands(c, r, &u->scope, &fx,
			      c->staged ? "  to take them out of the index (the files stay):\n"
					: "  to fix (or: pycinspect git --fix):\n");
	}
	if (rc == 0 && !c->e.json && !f->ntracked && !missing && !f->at_risk.n)
		rc = c->staged ? pyci_buf_puts(&c->e.out, "  no staged caches\n")
			       : pyci_buf_printf(&c->e.out,
						 "  no tracked caches; git ignores new caches in "
						 "every directory with Python sources (%zu); none "
						 "at risk\n",
						 f->dirs.n);
	gitfix_free(&fx);
	return rc ? -1 : 0;
}

/* A submodule to look at after its superproject, as a repository of its own.  A stack, so
 * that each repository's submodules come right after it, in their order, with no recursion. */
struct pending {
	char *path;  /* its work tree */
	char *super; /* the top of its superproject */
	int depth;   /* 1 for a submodule of a repository named on the command line */
};

struct pendings {
	struct pending *v;
	size_t n, cap;
};

static int push_submodules(struct pendings *q, const struct gitrepo *r, const struct gitfindings *f,
			   int depth)
{
	size_t tl;
	const char *top = gitrepo_top(r, &tl);
	for (size_t i = f->submodules.n; i > 0; i--) {
		if (q->n == q->cap) {
			size_t cap = q->cap ? 2 * q->cap : 8;
			struct pending *v = realloc(q->v, cap * sizeof(*v));
			if (!v)
				return -1;
			q->v = v;
			q->cap = cap;
		}
		struct pending p = {NULL, strndup(top, tl), depth};
		pyci_buf path = PYCI_BUF_INIT;
		if (p.super &&
		    pyci_buf_printf(&path, "%s%s", r->top, f->submodules.items[i - 1]) == 0)
			p.path = path.data; /* the buffer's storage, now p's */
		if (!p.path) {
			free(p.super);
			pyci_buf_free(&path);
			return -1;
		}
		q->v[q->n++] = p;
	}
	return 0;
}

static int run_repo(struct git_cli *c, struct unit *u, const char *super, int depth,
		    struct pendings *q);

/* The submodules pushed so far, and theirs. */
static int run_pending(struct git_cli *c, struct pendings *q)
{
	int rc = 0;
	while (q->n && rc == 0) {
		struct pending p = q->v[--q->n];
		struct unit sub = {0};
		if (p.depth > SUBMODULE_DEPTH_MAX) {
			cli_error("'%s': submodules nested deeper than %d, not looked at", p.path,
				  SUBMODULE_DEPTH_MAX);
			repo_error(c, p.path, "submodules nested too deep");
		} else if (gitrepo_open(&sub.r, p.path, NULL, GITREPO_NO_SEARCH) != 0) {
			repo_error(c, p.path, gitrepo_last_message());
		} else if (pathlist_add(&sub.scope.dirs, "", 0) != 0) {
			cli_error("out of memory");
			rc = -1;
		} else {
			rc = run_repo(c, &sub, p.super, p.depth, q);
		}
		gitrepo_close(&sub.r);
		pathlist_free(&sub.scope.dirs);
		free(p.path);
		free(p.super);
	}
	return rc;
}

static void pendings_free(struct pendings *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->v[i].path);
		free(q->v[i].super);
	}
	free(q->v);
}

/* Look at one repository; its submodules go on q.  -1 only when the run must stop (memory,
 * output); a repository that cannot be read is said and counted, and the run goes on. */
static int run_repo(struct git_cli *c, struct unit *u, const char *super, int depth,
		    struct pendings *q)
{
	if (!c->e.json && c->t.repositories + c->t.errors > 0 && pyci_buf_putc(&c->e.out, '\n'))
		return -1;
	if (repo_line(c, &u->r, super) != 0)
		return -1;
	struct gitfindings f;
	if (gitfind_run(&u->r, &u->scope, c->staged, &c->e.opt, &f) != 0) {
		gitfindings_free(&f);
		repo_error(c, u->r.top, gitrepo_last_message());
		return c->e.write_failed ? -1 : 0;
	}
	c->t.repositories++;
	int rc = report(c, u, &f);
	if (rc == 0 && !c->e.json && cli_flush(&c->e.out) != 0) {
		c->e.write_failed = 1;
		rc = -1;
	}
	if (rc == 0 && push_submodules(q, &u->r, &f, depth + 1) != 0) {
		cli_error("out of memory");
		rc = -1;
	}
	gitfindings_free(&f);
	return rc;
}

/* ---- PATHs ------------------------------------------------------------------------------- */

/* The real path of arg, which may name a file that is not there (a deleted cache): then its
 * directory must be.  *is_dir says which.  0, or -1 (said). */
static int real_path(const char *arg, char *out, int *is_dir)
{
	struct stat st;
	if (realpath(arg, out)) {
		*is_dir = stat(out, &st) == 0 && S_ISDIR(st.st_mode);
		return 0;
	}
	if (errno != ENOENT) {
		gitrepo_say("cannot resolve '%s': %s", arg, strerror(errno));
		return -1;
	}
	char *copy = strdup(arg);
	if (!copy) {
		cli_error("out of memory");
		return -1;
	}
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	char dir[PATH_MAX];
	if (slash)
		*slash = '\0';
	int rc = -1;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
	    !realpath(slash ? (*copy ? copy : "/") : ".", dir))
		gitrepo_say("cannot resolve '%s': %s", arg, strerror(ENOENT));
	else if ((size_t)snprintf(out, PATH_MAX, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
				  base) >= PATH_MAX)
		gitrepo_say("cannot resolve '%s': %s", arg, strerror(ENAMETOOLONG));
	else
		rc = 0;
	*is_dir = 0;
	free(copy);
	return rc;
}

/* Drop the scope directories inside others (the whole tree holds every one). */
static void scope_tidy(struct gitscope *s)
{
	pathlist_sort(&s->dirs);
	pathlist_sort(&s->files);
	size_t k = 0;
	for (size_t i = 0; i < s->dirs.n; i++) {
		const char *d = s->dirs.items[i];
		int inside = 0;
		for (size_t j = 0; j < k && !inside; j++) {
			size_t n = strlen(s->dirs.items[j]);
			inside = n == 0 || (strncmp(d, s->dirs.items[j], n) == 0 && d[n] == '/');
		}
		if (inside)
			free(s->dirs.items[i]);
		else
			s->dirs.items[k++] = s->dirs.items[i];
	}
	s->dirs.n = k;
}

/* Add PATH arg to the unit of its repository (a new one if none holds it yet).  0, 1 when the
 * PATH cannot be looked at (said), or -1 (out of memory: the run stops). */
static int add_path(struct unit **units, size_t *n, const char *arg)
{
	char real[PATH_MAX];
	int is_dir;
	if (real_path(arg, real, &is_dir) != 0)
		return 1;
	char dir[PATH_MAX];
	(void)snprintf(dir, sizeof(dir), "%s", real);
	if (!is_dir) {
		char *slash = strrchr(dir, '/');
		if (slash)
			slash[slash == dir] = '\0';
	}
	struct gitrepo r;
	if (gitrepo_open(&r, dir, arg, 0) != 0)
		return 1;
	size_t tl = r.top_len;
	size_t rl = strlen(real);
	const char *rel;
	if (rl + 1 == tl && strncmp(real, r.top, rl) == 0)
		rel = "";
	else if (rl > tl && strncmp(real, r.top, tl) == 0)
		rel = real + tl;
	else
		rel = NULL;
	if (!rel || strcmp(rel, ".git") == 0 || strncmp(rel, ".git/", 5) == 0) {
		gitrepo_say("'%s' is not in the work tree of '%.*s' (a git directory?)", arg,
			    GITREPO_TOP(&r));
		gitrepo_close(&r);
		return 1;
	}
	struct unit *u = NULL;
	for (size_t i = 0; i < *n && !u; i++)
		if (strcmp((*units)[i].r.top, r.top) == 0)
			u = &(*units)[i];
	if (u) {
		gitrepo_close(&r);
	} else {
		struct unit *p = realloc(*units, (*n + 1) * sizeof(*p));
		if (!p) {
			gitrepo_close(&r);
			cli_error("out of memory");
			return -1;
		}
		*units = p;
		u = &p[(*n)++];
		*u = (struct unit){.r = r};
	}
	if (pathlist_add(is_dir ? &u->scope.dirs : &u->scope.files, rel, strlen(rel)) != 0) {
		cli_error("out of memory");
		return -1;
	}
	return 0;
}

/* ---- the summary ------------------------------------------------------------------------- */

static int summary_json(struct git_cli *c)
{
	const struct totals *t = &c->t;
	pyci_jw w;
	jline(&w, c, "summary", NULL);
	pyci_jw_u64(&w, "repositories", t->repositories);
	pyci_jw_bool(&w, "staged", c->staged);
	pyci_jw_u64(&w, "tracked", t->tracked);
	pyci_jw_u64(&w, "in_head", t->in_head);
	pyci_jw_u64(&w, "staged_only", t->staged_only);
	pyci_jw_u64(&w, "exceptions", t->exceptions);
	pyci_jw_u64(&w, "directories", t->dirs);
	pyci_jw_begin(&w, "missing");
	for (int k = 0; k < GITFIND_RULES; k++)
		pyci_jw_u64(&w, gitfind_rules[k], t->missing[k]);
	pyci_jw_end(&w);
	pyci_jw_begin(&w, "local_only");
	for (int k = 0; k < GITFIND_RULES; k++)
		pyci_jw_u64(&w, gitfind_rules[k], t->local_only[k]);
	pyci_jw_end(&w);
	pyci_jw_u64(&w, "at_risk", t->at_risk);
	if (c->fix) {
		pyci_jw_begin(&w, "fix");
		pyci_jw_bool(&w, "dry_run", c->dry_run);
		pyci_jw_u64(&w, "untracked", t->untracked);
		pyci_jw_u64(&w, "rules_appended", t->appended);
		pyci_jw_u64(&w, "left", t->remaining);
		pyci_jw_end(&w);
	} else {
		pyci_jw_null(&w, "fix");
	}
	pyci_jw_u64(&w, "repository_errors", t->errors);
	scanrun_summary_members(&c->e, &w);
	return jend(c, &w);
}

static int summary_text(struct git_cli *c)
{
	const struct totals *t = &c->t;
	pyci_buf *b = &c->e.out;
	int rc = pyci_buf_printf(b, "\n%llu repositor%s: %llu %s cache%s", t->repositories,
				 t->repositories == 1 ? "y" : "ies", t->tracked,
				 c->staged ? "staged" : "tracked", t->tracked == 1 ? "" : "s");
	if (t->exceptions)
		rc |= pyci_buf_printf(b, " (%llu possibly deliberate)", t->exceptions);
	if (!c->staged)
		rc |= pyci_buf_printf(b, ", rules missing in %llu of %llu director%s, %llu at risk",
				      t->dirs_missing, t->dirs, t->dirs == 1 ? "y" : "ies",
				      t->at_risk);
	rc |= pyci_buf_putc(b, '\n');
	if (t->errors)
		rc |= pyci_buf_printf(b, "%llu repositor%s could not be looked at (see stderr)\n",
				      t->errors, t->errors == 1 ? "y" : "ies");
	if (c->e.sum.errors)
		rc |= pyci_buf_printf(b,
				      "errors: %llu directories could not be read (see stderr)\n",
				      (unsigned long long)c->e.sum.errors);
	return rc ? -1 : 0;
}

/* ---- the command ------------------------------------------------------------------------- */

static int usage_error(const char *msg)
{
	cli_error("%s", msg);
	(void)fputs("try 'pycinspect git --help'\n", stderr); /* as after any bad option */
	return EXIT_USAGE;
}

int cmd_git(int argc, char **argv)
{
	struct git_cli c = {0};
	int first = cli_parse(&git_command, argc, argv, on_option, &c);
	if (first <= 0)
		return first == 0 ? EXIT_OK : EXIT_USAGE;
	if (c.dry_run && !c.fix)
		return usage_error("--dry-run goes with --fix");
	if (c.fix && c.staged)
		return usage_error("--fix and --staged do not go together");
	if (c.fix && c.check)
		return usage_error("--fix and --check do not go together (the exit status of --fix "
				   "says what is left)");
	int rc = EXIT_USAGE;
	struct unit *units = NULL;
	size_t nunits = 0;
	/* the judge's targets (from PATH): not needed when nothing is judged */
	if (!c.staged && scanrun_ready(&c.e) != 0)
		goto out_free;
	c.have_cwd = getcwd(c.cwd, sizeof(c.cwd)) != NULL;
	if (git_libgit2_init() < 0) {
		gitrepo_error("cannot start libgit2");
		goto out_free;
	}
	if (gitrepo_env() != 0)
		goto out;
	if (first >= argc) {
		units = calloc(1, sizeof(*units));
		if (!units) {
			cli_error("out of memory");
			goto out;
		}
		nunits = 1;
		if (gitrepo_open(&units[0].r, NULL, NULL, GITREPO_FROM_ENV) != 0) {
			repo_error(&c, ".", gitrepo_last_message());
			nunits = 0;
		} else if (pathlist_add(&units[0].scope.dirs, "", 0) != 0) {
			cli_error("out of memory");
			goto out;
		}
	}
	for (int i = first; i < argc; i++) {
		int a = add_path(&units, &nunits, argv[i]);
		if (a < 0)
			goto out;
		if (a > 0)
			repo_error(&c, argv[i], gitrepo_last_message());
	}
	int stop = 0;
	struct pendings q = {0};
	for (size_t i = 0; i < nunits && !stop; i++) {
		scope_tidy(&units[i].scope);
		stop = run_repo(&c, &units[i], NULL, 0, &q) != 0 || run_pending(&c, &q) != 0;
	}
	pendings_free(&q);
	if (!stop && !c.e.write_failed && (c.e.json || c.t.repositories)) {
		int s = c.e.json ? summary_json(&c) : summary_text(&c);
		if (s != 0 || cli_flush(&c.e.out) != 0)
			stop = 1;
	}
	if (stop || c.e.write_failed || c.failed)
		rc = EXIT_USAGE;
	else if ((c.check || (c.fix && !c.dry_run)) && c.fails)
		rc = EXIT_FINDINGS;
	else
		rc = EXIT_OK;
out:
	for (size_t i = 0; i < nunits; i++) {
		gitrepo_close(&units[i].r);
		pathlist_free(&units[i].scope.dirs);
		pathlist_free(&units[i].scope.files);
	}
	free(units);
	(void)git_libgit2_shutdown(); /* the count of inits left: nothing to do with it */
out_free:
	scanrun_free(&c.e);
	return rc;
}
