/*
 * cmd_clean.c - `pycinspect clean`: remove the caches whose verdict was selected, and the
 * __pycache__ directories that this empties; nothing else, and every act with its record.
 *
 * The log is the user's record of what was removed, so a record says what happened, after it
 * happened: each selected cache is removed during its record callback, while its directory is
 * open (pyci_clean_remove re-checks the file and its source first), and only then is its record
 * ("removed", "kept" or "failed") put in the output.  The record is built and the space for it
 * reserved before the removal, so that no allocation can fail between an act and its record: a
 * JSON record is begun in a writer (json.h) with room for its end in its own buffer and in the
 * log, and finished with the action and the error after the act.
 * Records go to stdout in batches of at most CLEAN_BATCH acts and at the end of each directory
 * (cli_flush_log): a run killed by SIGKILL leaves at most one batch of acts unrecorded, and
 * nothing is ever recorded that was not done.  SIGINT, SIGTERM and SIGHUP stop the run before
 * its next act; the records of what was done, an "interrupted" record and the summary are
 * written, and the process then ends by the same signal.  When output fails nothing more is
 * removed, and the records not written go to stderr.  A dry run takes exactly the same path;
 * pyci_clean_remove and pyci_clean_rmdir then predict the answer instead of acting.
 *
 * Debris (--debris) is removed the same way, one act and one record at a time: the engine hands
 * over each name it found (on_debris), pyci_debris_remove walks it and calls debris_act for
 * each entry, files before their directory, and a directory that an if-empty rule names
 * (build/) goes in on_dir_done once everything in it went.  --empty-dirs has the engine report
 * the __pycache__ directories that are empty when listed too, removed as an emptied one is.
 *
 * The options are clean_command's tables (args.h): the selectors, --dry-run, and the engine's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clean_debris.h"
#include "cli.h"
#include "scanrun.h"
#include "pycinspect/clean.h"
#include "pycinspect/json.h"

/* Acts whose records may wait in memory: the most a SIGKILL can leave unrecorded. */
#define CLEAN_BATCH 128
/* The longest error text of a record (snprintf cuts it there). */
#define ERROR_TEXT_MAX 160
/* Room for the end of a record after its act: ,"action":"would-remove" (24 bytes), ,"error":
 * and the error text in quotes, escaped at worst (\u00XX: 6 bytes a byte), the closing brace and
 * the newline. */
#define RECORD_TAIL_MAX (40 + 6 * ERROR_TEXT_MAX)

/* The signal that asked the run to stop, 0 none.  Set by the handler, read by the callbacks
 * between acts (the command line's own state, not the library's). */
static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	if (!caught)
		caught = sig;
}

struct clean_cli {
	struct scanrun e; /* its out is the log; the scan's callbacks get &e as ctx, and
			   * e.cmd is this struct */
	unsigned selected;
	int all; /* --all: say what sourceless modules it left */
	int dry_run;
	pyci_buf rec;         /* a record built before its act */
	pyci_jw jw;           /* JSON: the writer of rec, its object still open during the act */
	size_t unwritten;     /* acts recorded in e.out, not yet written */
	pyci_summary removed; /* what was (or would be) removed, per version */
	size_t removed_in_pycache;   /* caches of the current __pycache__ removed */
	size_t unremoved_in_pycache; /* selected caches of the current __pycache__ left in it */
	unsigned long long dirs, failed, kept;
	unsigned long long sourceless_left; /* sourceless modules not selected */
	int empty_dirs;                     /* --empty-dirs */
	struct debris_tally debris;         /* --debris: its topics, what went */
	/* entries of the current directory removed (legacy caches, debris, its __pycache__): an
	 * if-empty one (build/) goes when all did */
	size_t removed_in_dir;
};

enum {
	CLEAN_STALE = 256,
	CLEAN_ORPHANED,
	CLEAN_FOREIGN,
	CLEAN_INVALID,
	CLEAN_FRESH,
	CLEAN_UNUSED,
	CLEAN_ALL,
	CLEAN_SOURCELESS,
	CLEAN_DRY_RUN,
	CLEAN_DEBRIS,
	CLEAN_EMPTY_DIRS,
};

/* What to remove; "nothing selected" names them from here too. */
static const struct cli_option clean_selectors[] = {
	{"stale", 0, CLI_NOARG, NULL,
	 "caches the owner interpreter would recompile (or, unchecked\n"
	 "hash, runs outdated)",
	 CLEAN_STALE, NULL},
	{"orphaned", 0, CLI_NOARG, NULL,
	 "caches no import reads: the source is gone, or a package or an\n"
	 "extension module of the same name shadows it (not a name no\n"
	 "import looks up, such as __pycache__/x.pyc or m.cpython-312.pyc\n"
	 "outside __pycache__: that debris goes with --unused and --all)",
	 CLEAN_ORPHANED, NULL},
	{"foreign", 0, CLI_NOARG, NULL, "caches of interpreters that are not targets",
	 CLEAN_FOREIGN, NULL},
	{"invalid", 0, CLI_NOARG, NULL, "caches no interpreter can use", CLEAN_INVALID, NULL},
	{"fresh", 0, CLI_NOARG, NULL, "caches the target interpreters would use as they are",
	 CLEAN_FRESH, NULL},
	{"unused", 0, CLI_NOARG, NULL,
	 "the caches no import would use: the four first above, and\n"
	 "the debris of __pycache__ (names no import looks up, leftovers\n"
	 "of interrupted writes)",
	 CLEAN_UNUSED, NULL},
	{"all", 0, CLI_NOARG, NULL,
	 "every cache, fresh ones too, and the debris: all but\n"
	 "sourceless modules (as py3clean and pyclean do)",
	 CLEAN_ALL, NULL},
	{"sourceless", 0, CLI_NOARG, NULL,
	 "legacy NAME.pyc or Jython NAME$py.class with no NAME.py: never\n"
	 "implied, such a file may be a deliberate sourceless module",
	 CLEAN_SOURCELESS, NULL},
	{"debris", 0, CLI_OPTARG, "TOPICS",
	 "leftovers of tools, by pyclean's topics (comma-separated):\n"
	 "cache, coverage, package, pytest, ruff without a list; also\n"
	 "complexipy, jupyter, mypy, pyright, tox; all (docs/clean.md);\n"
	 "and the debris of __pycache__, as --unused",
	 CLEAN_DEBRIS, pyci_debris_topic_names},
	{"empty-dirs", 0, CLI_NOARG, NULL,
	 "__pycache__ directories that are empty, whatever emptied them", CLEAN_EMPTY_DIRS, NULL},
	{0},
};

static const struct cli_option clean_options[] = {
	{"dry-run", 'n', CLI_NOARG, NULL,
	 "say what would be removed and what would fail, remove\n"
	 "nothing",
	 CLEAN_DRY_RUN, NULL},
	{0},
};

/* The engine's options as scan lists them, without scan's own -a and --check (clean's --all
 * is a selector). */
static const struct cli_group clean_groups[] = {
	{"selectors:", clean_selectors, 0},
	{"options:", clean_options, 0},
	{NULL, scanrun_json_option, 0},
	{NULL, scanrun_quiet_option, 0},
	{NULL, cli_color_option, 0},
	{NULL, scanrun_progress_option, 0},
	{NULL, scanrun_options, 0},
	{NULL, cli_help_option, 0},
	{"inputs:", scanrun_input_options, 0},
	{0},
};

const struct cli_command clean_command = {
	.name = "clean",
	.head = "usage: pycinspect clean SELECTOR... [OPTIONS] [PATH...]\n"
		"\n"
		"Remove the caches under each PATH (default: .) whose verdict is selected, and the\n"
		"__pycache__ directories that this leaves empty; with --debris, the leftovers of tools.\n"
		"Nothing is removed without a selector.\n",
	.groups = clean_groups,
	.tail = "\n"
		"A cache is removed only as a regular file with a cache name, through the directory\n"
		"descriptors of the walk, after checking that it, and its source, is still as it was\n"
		"judged.  Debris goes with everything in it, bottom-up, and a symlink named like debris as\n"
		"the link.  Symlinks are never followed, other filesystems are not entered, and '/' is\n"
		"refused as a PATH, as is an archive (clean never modifies one; scan judges what is in\n"
		"it).  Each record is written after its removal; SIGINT, SIGTERM and SIGHUP stop the run\n"
		"with its records and summary written.\n"
		"exit status: 0 every selected cache removed, 1 some failed or were kept for safety (each\n"
		"one reported), 2 usage or fatal error (nothing more is removed once output fails),\n"
		"128+N stopped by signal N\n",
	.column = 28,
};

/* 'path' for a person, as GNU rm prints it: in single quotes, or as $'...' when it must be. */
static int quoted(pyci_buf *b, const char *path, size_t len)
{
	size_t start = b->len;
	if (pyci_buf_putc(b, '\'') != 0 || cli_quote_path(b, path, len) != 0)
		return -1;
	if (b->len - start - 1 == len && memcmp(b->data + start + 1, path, len) == 0)
		return pyci_buf_putc(b, '\'');
	/* it needed $'...': drop the quote put in front */
	memmove(b->data + start, b->data + start + 1, b->len - start - 1);
	b->data[--b->len] = '\0';
	return 0;
}

/* Write the log so far.  0, or -1: output failed (said, with the records it could not take). */
static int flush_log(struct clean_cli *c)
{
	c->unwritten = 0;
	return scanrun_flush(&c->e);
}

/* After the act of a record in e.out: write the batch when it is full. */
static int recorded(struct clean_cli *c)
{
	return ++c->unwritten >= CLEAN_BATCH ? flush_log(c) : 0;
}

/*
 * The start of r's record in c->rec, before its act: the JSON object open in c->jw with r's
 * members and RECORD_TAIL_MAX bytes of room after them for record_end (the action follows), or
 * the quoted path (text).  0, or -1 (ENOMEM; nothing was done).
 */
static int record_start(struct clean_cli *c, const pyci_record *r)
{
	pyci_buf *b = &c->rec;
	pyci_buf_clear(b);
	if (!c->e.json)
		return quoted(b, r->path, r->path_len);
	pyci_jw_init(&c->jw, b);
	pyci_jw_begin(&c->jw, NULL);
	pyci_record_members(&c->jw, r);
	return c->jw.err || pyci_buf_reserve(b, RECORD_TAIL_MAX) ? -1 : 0;
}

/*
 * The rest of the record begun in c->rec, and the record appended to the log: action, and for
 * "kept" and "failed" why.  In text, those two go to stderr only.  Cannot fail for want of
 * memory: c->rec has RECORD_TAIL_MAX bytes of room (record_start), and the log as many beyond
 * c->rec's length (reserved before the act).
 */
static int record_end(struct clean_cli *c, const char *action, const char *error, int err)
{
	pyci_buf *b = &c->e.out;
	if (c->e.quiet && (c->e.json || !error))
		return 0; /* -q: the summary only (what failed is still said on stderr in text) */
	if (c->e.json) {
		pyci_jw *w = &c->jw;
		pyci_jw_cstr(w, "action", action);
		if (error) {
			char text[ERROR_TEXT_MAX];
			if (err)
				(void)snprintf(text, sizeof(text), "%s: %s", error, strerror(err));
			else
				(void)snprintf(text, sizeof(text), "%s", error);
			pyci_jw_cstr(w, "error", text);
		}
		pyci_jw_end(w);
		return cli_json_line(w) || pyci_buf_append(b, c->rec.data, c->rec.len) ? -1 : 0;
	}
	if (error) { /* kept and failed: stderr, with the reason, after what stdout has */
		if (flush_log(c) != 0)
			return -1;
		if (err)
			cli_error("%s %s: %s: %s",
				  strcmp(action, "kept") ? "cannot remove" : "kept", c->rec.data,
				  error, strerror(err));
		else
			cli_error("%s %s: %s", strcmp(action, "kept") ? "cannot remove" : "kept",
				  c->rec.data, error);
		return 0;
	}
	return cli_styled(b, c->dry_run ? CLI_STYLE_WOULD : CLI_STYLE_DONE,
			  c->dry_run ? "would remove" : "removed", 0) ||
	       pyci_buf_putc(b, ' ') || pyci_buf_append(b, c->rec.data, c->rec.len) ||
	       pyci_buf_putc(b, '\n');
}

/* Stop before the next act when a signal asked for it. */
static int interrupted(struct clean_cli *c)
{
	if (!caught)
		return 0;
	c->e.stopped = 1;
	errno = EINTR;
	return 1;
}

static int on_record(void *ctx, const pyci_record *r)
{
	struct clean_cli *c = scanrun_cmd(ctx);
	if (interrupted(c))
		return -1;
	const char *why;
	int elig = pyci_clean_eligible(r, c->selected, &why);
	if (elig == 0) {
		c->sourceless_left += r->cname->kind != PYCI_NAME_PYCACHE_BAD &&
				      r->verdict->status == PYCI_SOURCELESS;
		return 0;
	}
	/* --foreign (or --unused) with targets guessed from PATH: every cache of an interpreter
	 * that is not on this PATH goes, even one another user or a service still runs.  Say so
	 * before the first goes; not for a virtual environment's caches (its pyvenv.cfg names its
	 * own), and not with --fresh (--all): then every cache goes whoever its interpreter is. */
	if (elig > 0 && (c->selected & PYCI_SELECT(PYCI_FOREIGN)) &&
	    !(c->selected & PYCI_SELECT(PYCI_FRESH)) && r->verdict->status == PYCI_FOREIGN &&
	    !r->venv && scanrun_warn_guessed_targets(&c->e) != 0)
		return -1;
	int in_pycache =
		r->cname->kind == PYCI_NAME_PYCACHE || r->cname->kind == PYCI_NAME_PYCACHE_BAD;
	/* everything that may fail for want of memory, before the act */
	if (record_start(c, r) != 0 ||
	    pyci_buf_reserve(&c->e.out, c->rec.len + RECORD_TAIL_MAX) != 0 ||
	    pyci_summary_reserve(&c->removed) != 0)
		return -1;
	if (elig < 0) {
		c->kept++;
		c->unremoved_in_pycache += in_pycache;
		int err = strcmp(why, PYCI_CLEAN_SOURCE_UNCHECKED) ? 0 : pyci_clean_source_errno(r);
		return record_end(c, "kept", why, err) || recorded(c) ? -1 : 0;
	}
	if (interrupted(c))
		return -1;
	int rc = pyci_clean_remove(r, c->dry_run, &why);
	int err = errno;
	if (rc == 0) {
		(void)pyci_summary_add(&c->removed, r); /* reserved: cannot fail */
		c->removed_in_pycache += in_pycache;
		c->removed_in_dir += !in_pycache;
	} else {
		c->unremoved_in_pycache += in_pycache;
		if (rc > 0)
			c->kept++;
		else
			c->failed++;
	}
	rc = rc == 0  ? record_end(c, c->dry_run ? "would-remove" : "removed", NULL, 0)
	     : rc > 0 ? record_end(c, "kept", why, 0)
		      : record_end(c, "failed", strerror(err), 0);
	return rc || recorded(c) ? -1 : 0;
}

/*
 * The start of the record of debris e in c->rec, before its act (as record_start): the JSON
 * object open in c->jw, or the quoted path, after "directory " for a directory (text).
 */
static int debris_record_start(struct clean_cli *c, const pyci_debris_entry *e)
{
	pyci_buf *b = &c->rec;
	pyci_buf_clear(b);
	if (!c->e.json)
		return (S_ISDIR(e->mode) && pyci_buf_puts(b, "directory ")) ||
				       quoted(b, e->path, e->path_len)
			       ? -1
			       : 0;
	pyci_jw_init(&c->jw, b);
	pyci_jw_begin(&c->jw, NULL);
	debris_record_members(&c->jw, e);
	return c->jw.err || pyci_buf_reserve(b, RECORD_TAIL_MAX) ? -1 : 0;
}

/*
 * pyci_debris_ops.act: one entry of debris, recorded after its act.  A directory that keeps
 * entries is recorded as kept, not counted (what stays in it has its own record, or was left
 * out by an exclude); the records of a directory and of what was in it are written before the
 * next directory's.
 */
static int debris_act(void *ctx, const pyci_debris_entry *e)
{
	struct clean_cli *c = ctx;
	if (interrupted(c))
		return -1;
	if (debris_record_start(c, e) != 0 ||
	    pyci_buf_reserve(&c->e.out, c->rec.len + RECORD_TAIL_MAX) != 0)
		return -1;
	int is_dir = S_ISDIR(e->mode);
	if (e->keep) {
		char text[64];
		if (strcmp(e->keep, PYCI_DEBRIS_NOT_EMPTY) == 0) {
			(void)snprintf(text, sizeof(text), "it still holds %zu entr%s", e->left,
				       e->left == 1 ? "y" : "ies");
		} else {
			(void)snprintf(text, sizeof(text), "%s", e->keep);
			c->debris.kept++;
		}
		if (record_end(c, "kept", text, 0) || recorded(c) || (is_dir && flush_log(c)))
			return -1;
		return 0;
	}
	const char *why;
	int rc = pyci_debris_unlink(e, c->dry_run, &why);
	int err = errno;
	if (rc == 0)
		debris_tally_removed(&c->debris, e);
	else if (rc > 0)
		c->debris.kept++;
	else
		c->debris.failed++;
	int out = rc == 0  ? record_end(c, c->dry_run ? "would-remove" : "removed", NULL, 0)
		  : rc > 0 ? record_end(c, "kept", why, 0)
			   : record_end(c, "failed", strerror(err), 0);
	if (out || recorded(c) || (is_dir && flush_log(c)))
		return -1;
	return rc == 0;
}

/* pyci_debris_ops.error: a directory of the debris not entered, as the walk says it. */
static void debris_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct clean_cli *c = ctx;
	scanrun_walk_error(&c->e, path, kind, err);
}

/* pyci_debris_ops.dir_end: the records of one directory's files go out together. */
static int debris_dir_end(void *ctx)
{
	return flush_log(ctx);
}

static pyci_debris_ops debris_ops_of(struct clean_cli *c)
{
	return (pyci_debris_ops){
		.act = debris_act, .error = debris_error, .dir_end = debris_dir_end, .ctx = c};
}

/* pyci_scan_ops.debris: debris found in a directory, removed with everything in it. */
static int on_debris(void *ctx, const pyci_debris_found *f)
{
	struct clean_cli *c = scanrun_cmd(ctx);
	if (interrupted(c))
		return -1;
	pyci_debris_ops ops = debris_ops_of(c);
	int rc = pyci_debris_remove(f, &c->e.opt, &ops);
	if (rc < 0)
		return -1; /* a signal, output or memory (errno), said as for a cache's record */
	c->removed_in_dir += (size_t)rc;
	return 0;
}

/* A "dir" record (JSON) or line (text), in b. */
static int put_dir(struct clean_cli *c, pyci_buf *b, const pyci_dir_done *d, const char *action,
		   const char *error)
{
	const char *path = d->pycache_path;
	size_t removed = c->removed_in_pycache;
	size_t others = d->entries - d->caches;
	size_t unremoved = c->unremoved_in_pycache; /* selected, but failed or kept */
	size_t not_selected = d->caches - removed - unremoved;
	if (c->e.json) {
		pyci_jw w;
		pyci_jw_init(&w, b);
		pyci_jw_begin(&w, NULL);
		pyci_jw_cstr(&w, "type", "dir");
		pyci_jw_cstr(&w, "path", path);
		pyci_jw_cstr(&w, "action", action);
		pyci_jw_u64(&w, "entries", d->entries);
		pyci_jw_begin_array(&w, "kept_by");
		const char *n = d->others;
		for (size_t i = 0; i < d->others_named; i++, n += strlen(n) + 1)
			pyci_jw_cstr(&w, NULL, n);
		pyci_jw_end_array(&w);
		pyci_jw_u64(&w, "other_entries", others);
		pyci_jw_u64(&w, "caches_left", not_selected);
		pyci_jw_u64(&w, "caches_not_removed", unremoved);
		if (error)
			pyci_jw_cstr(&w, "error", error);
		pyci_jw_end(&w);
		return cli_json_line(&w);
	}
	if (error) {
		pyci_buf q = PYCI_BUF_INIT;
		if (quoted(&q, path, strlen(path)) == 0)
			cli_error("cannot remove directory %s: %s", q.data, error);
		pyci_buf_free(&q);
		return 0;
	}
	if (strcmp(action, "kept") != 0)
		return pyci_buf_puts(b, c->dry_run ? "would remove directory "
						   : "removed directory ") ||
		       quoted(b, path, strlen(path)) || pyci_buf_putc(b, '\n');
	/* kept because of what else it holds: say what */
	int rc = pyci_buf_puts(b, "kept directory ") || quoted(b, path, strlen(path)) ||
		 pyci_buf_puts(b, ": it still holds ");
	if (!rc && not_selected)
		rc = pyci_buf_printf(b, "%zu cache%s not selected%s", not_selected,
				     not_selected == 1 ? "" : "s", unremoved || others ? ", " : "");
	if (!rc && unremoved)
		rc = pyci_buf_printf(b, "%zu that could not be removed%s", unremoved,
				     others ? ", " : "");
	if (!rc && others)
		rc = pyci_buf_printf(b, "%zu other entr%s", others, others == 1 ? "y" : "ies");
	const char *n = d->others;
	for (size_t i = 0; !rc && i < d->others_named; i++, n += strlen(n) + 1)
		rc = pyci_buf_puts(b, i ? ", " : " (") || quoted(b, n, strlen(n));
	if (!rc && d->others_named)
		rc = pyci_buf_puts(b, others > d->others_named ? ", ...)" : ")");
	return rc || pyci_buf_putc(b, '\n') ? -1 : 0;
}

/* The __pycache__ emptied by this run's removals, removed after its record was built. */
static int remove_pycache(struct clean_cli *c, const pyci_dir_done *d)
{
	pyci_buf_clear(&c->rec);
	if (put_dir(c, &c->rec, d, c->dry_run ? "would-remove" : "removed", NULL) != 0 ||
	    pyci_buf_reserve(&c->e.out, c->rec.len) != 0)
		return -1;
	if (interrupted(c))
		return -1;
	if (pyci_clean_rmdir(d->fd, d->pycache_name, d->pycache_fd, c->dry_run) == 0) {
		c->dirs++;
		if (!c->e.quiet)
			(void)pyci_buf_append(&c->e.out, c->rec.data, c->rec.len); /* reserved */
		return recorded(c);
	}
	int err = errno;
	c->failed++;
	if (c->e.quiet && c->e.json)
		return 0;
	pyci_buf_clear(&c->rec);
	if (put_dir(c, &c->rec, d, "failed",
		    err == ESTALE ? "replaced since it was listed" : strerror(err)) != 0 ||
	    pyci_buf_append(&c->e.out, c->rec.data, c->rec.len) != 0)
		return -1;
	return recorded(c);
}

static int on_dir_done(void *ctx, const pyci_dir_done *d)
{
	struct clean_cli *c = scanrun_cmd(ctx);
	int rc = 0;
	/* emptied by this run, or (--empty-dirs) found empty */
	if (d->has_pycache && (c->removed_in_pycache || (c->empty_dirs && d->entries == 0))) {
		if (c->removed_in_pycache < d->entries) {
			if (c->e.quiet)
				goto debris;
			size_t mark = c->e.out.len;
			rc = put_dir(c, &c->e.out, d, "kept", NULL);
			if (rc != 0)
				pyci_buf_truncate(&c->e.out, mark);
		} else {
			unsigned long long had = c->dirs;
			rc = remove_pycache(c, d);
			c->removed_in_dir += c->dirs > had;
		}
	}
debris:
	/* build/, .pyright/: debris once everything in them went */
	if (rc == 0 && d->if_empty && c->removed_in_dir == d->dir_entries) {
		pyci_debris_ops ops = debris_ops_of(c);
		if (pyci_debris_remove_emptied(d->fd, d->name, d->path, d->if_empty, &ops) < 0)
			rc = -1;
	}
	c->removed_in_pycache = c->unremoved_in_pycache = c->removed_in_dir = 0;
	return rc || flush_log(c) ? -1 : 0;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "signal";
	}
}

/* The summary of what was done (JSON: with "interrupted" when a signal stopped the run). */
static int summary(struct clean_cli *c, int sig)
{
	pyci_buf *b = &c->e.out;
	pyci_summary *s = &c->removed;
	pyci_summary_sort(s);
	int rc = 0;
	if (c->e.json) {
		pyci_jw w;
		pyci_jw_init(&w, b);
		pyci_jw_begin(&w, NULL);
		pyci_jw_cstr(&w, "type", "summary");
		pyci_jw_bool(&w, "dry_run", c->dry_run);
		pyci_jw_u64(&w, "files", s->total.count);
		pyci_jw_u64(&w, "bytes", s->total.bytes);
		pyci_jw_u64(&w, "directories", c->dirs);
		pyci_jw_u64(&w, "failed", c->failed);
		pyci_jw_u64(&w, "kept", c->kept);
		pyci_jw_u64(&w, "sourceless_left", c->sourceless_left);
		if (sig)
			pyci_jw_cstr(&w, "interrupted", signal_name(sig));
		pyci_summary_members(&w, s);
		if (c->debris.topics)
			debris_summary_members(&w, &c->debris);
		scanrun_summary_members(&c->e, &w);
		pyci_jw_end(&w);
		return cli_json_line(&w);
	}
	if (!c->e.quiet && (s->total.count || c->dirs))
		rc |= pyci_buf_putc(b, '\n');
	rc |= pyci_buf_printf(b, "%s %llu file%s (", c->dry_run ? "would remove" : "removed",
			      (unsigned long long)s->total.count, s->total.count == 1 ? "" : "s");
	rc |= cli_human_bytes(b, s->total.bytes);
	rc |= pyci_buf_printf(b, ") and %llu director%s\n", c->dirs, c->dirs == 1 ? "y" : "ies");
	for (size_t v = 0; v < s->nversions; v++) {
		rc |= pyci_buf_printf(b, "  %-10s %8llu  ", s->versions[v].version,
				      (unsigned long long)s->versions[v].total.count);
		rc |= cli_human_bytes(b, s->versions[v].total.bytes);
		rc |= pyci_buf_putc(b, '\n');
	}
	if (c->failed || c->kept) {
		char n[128];
		(void)snprintf(n, sizeof(n), "not removed: %llu failed, %llu kept for safety",
			       c->failed, c->kept); /* fits */
		rc |= cli_styled(b, CLI_STYLE_ALERT, n, 0);
		rc |= pyci_buf_puts(b, " (see stderr)\n");
	}
	if (c->all && c->sourceless_left)
		rc |= pyci_buf_printf(
			b,
			"left %llu sourceless module%s (NAME.pyc with no NAME.py, perhaps "
			"deliberate; --sourceless removes %s)\n",
			c->sourceless_left, c->sourceless_left == 1 ? "" : "s",
			c->sourceless_left == 1 ? "it" : "them");
	if (c->debris.topics)
		rc |= debris_summary_text(b, &c->debris, c->dry_run);
	rc |= scanrun_summary_text(&c->e);
	return rc ? -1 : 0;
}

/*
 * The end of a run that a signal stopped: the records of what was done are in the log already
 * (or on stderr when it could not be written); say it was interrupted, give the summary, and
 * end by the same signal, so that the parent (a shell loop, make) stops too.
 */
static void die_by(int sig);

static void end_interrupted(struct clean_cli *c, int sig)
{
	if (!c->e.write_failed && c->e.quiet < 2) {
		if (c->e.json) {
			pyci_jw w;
			pyci_jw_init(&w, &c->e.out);
			pyci_jw_begin(&w, NULL);
			pyci_jw_cstr(&w, "type", "interrupted");
			pyci_jw_cstr(&w, "signal", signal_name(sig));
			pyci_jw_end(&w);
			(void)cli_json_line(&w); /* out of memory: the summary may still fit */
		}
		size_t mark = c->e.out.len;
		if (summary(c, sig) != 0)
			pyci_buf_truncate(&c->e.out, mark);
		(void)flush_log(c);
	}
	cli_error("interrupted by %s", signal_name(sig));
	die_by(sig);
}

/* End by signal sig, with its default action, as a process killed by it would. */
static void die_by(int sig)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	(void)sigaction(sig, &dfl, NULL);
	(void)raise(sig);
	/* not reached: the default action of these signals ends the process; cppcheck takes raise()
	 * for noreturn, which it is not when the signal is blocked */
	// cppcheck-suppress unreachableCode
	_exit(128 + sig);
}

/* SIGINT, SIGTERM and SIGHUP stop the run between acts (on_signal).  A signal ignored when we
 * started (nohup, a background job's SIGINT) stays ignored.  0, or -1 (said). */
static int catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old, sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
		sigemptyset(&sa.sa_mask);
		if (sigaction(sigs[i], NULL, &old) != 0 ||
		    (old.sa_handler != SIG_IGN && sigaction(sigs[i], &sa, NULL) != 0)) {
			cli_error("cannot set up the handling of %s: %s", signal_name(sigs[i]),
				  strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int refuse_root(const char *path)
{
	if (pyci_clean_is_root(path)) {
		cli_error("refusing to clean '/'");
		return 1;
	}
	/* an archive is judged in place and never changed: there is nothing clean could remove
	 * from it without rewriting it (docs/archives.md) */
	pyci_buf archive = PYCI_BUF_INIT, q = PYCI_BUF_INIT;
	const char *member;
	int k = scanrun_archive_of(path, &archive, &member);
	if (k == 1 && cli_quote_path(&q, path, strlen(path)) == 0)
		cli_error("'%s' is %s: clean never modifies archives ('pycinspect scan' judges "
			  "what is in it; nothing was removed)",
			  q.data, member ? "a member of an archive" : "an archive");
	else if (k == 1)
		cli_error("refusing to clean an archive (and no memory left to name it)");
	pyci_buf_free(&archive);
	pyci_buf_free(&q);
	return k == 1;
}

/* cli_parse's on_option: the engine's options, then clean's own. */
static int on_option(void *ctx, int id, const char *arg)
{
	struct clean_cli *c = ctx;
	int mine = scanrun_option(&c->e, id, arg);
	if (mine)
		return mine < 0 ? -1 : 0;
	switch (id) {
	case CLEAN_STALE:
		c->selected |= PYCI_SELECT(PYCI_STALE);
		break;
	case CLEAN_ORPHANED:
		c->selected |= PYCI_SELECT(PYCI_ORPHANED);
		break;
	case CLEAN_FOREIGN:
		c->selected |= PYCI_SELECT(PYCI_FOREIGN);
		break;
	case CLEAN_INVALID:
		c->selected |= PYCI_SELECT(PYCI_INVALID);
		break;
	case CLEAN_SOURCELESS:
		c->selected |= PYCI_SELECT(PYCI_SOURCELESS);
		break;
	case CLEAN_FRESH:
		c->selected |= PYCI_SELECT(PYCI_FRESH);
		break;
	case CLEAN_UNUSED:
		c->selected |= PYCI_SELECT_UNUSED;
		break;
	case CLEAN_ALL:
		c->selected |= PYCI_SELECT_UNUSED | PYCI_SELECT(PYCI_FRESH);
		c->all = 1;
		break;
	case CLEAN_DRY_RUN:
		c->dry_run = 1;
		break;
	case CLEAN_DEBRIS:
		c->selected |= PYCI_SELECT_DEBRIS; /* pycinspect's own: __pycache__/x.pyc */
		if (!arg) {
			c->debris.topics |= pyci_debris_default_topics();
		} else if (pyci_debris_parse(arg, &c->debris.topics) != 0) {
			cli_error("invalid --debris '%s' (a comma-separated list of topics: %s)",
				  arg,
				  "cache, complexipy, coverage, jupyter, mypy, package, pyright, "
				  "pytest, ruff, tox, or all");
			return -1;
		}
		break;
	case CLEAN_EMPTY_DIRS:
		c->empty_dirs = 1;
		break;
	default:
		break;
	}
	return 0;
}

/* No selector given: say which there are. */
static void nothing_selected(void)
{
	pyci_buf names = PYCI_BUF_INIT;
	int rc = 0;
	for (const struct cli_option *o = clean_selectors; o->long_name && !rc; o++)
		rc = pyci_buf_printf(&names, "%s--%s", o == clean_selectors ? "" : ", ",
				     o->long_name);
	if (rc == 0)
		cli_error("nothing selected: say what to remove (%s)", names.data);
	else
		cli_error("out of memory");
	pyci_buf_free(&names);
}

int cmd_clean(int argc, char **argv)
{
	struct clean_cli c = {0};
	int rc = EXIT_USAGE;

	int first = cli_parse(&clean_command, argc, argv, on_option, &c);
	if (first <= 0) {
		rc = first == 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (!c.selected && !c.debris.topics && !c.empty_dirs) {
		nothing_selected();
		goto out;
	}
	c.e.opt.debris = c.debris.topics;
	c.e.opt.empty_pycache = c.empty_dirs;
	c.e.log = c.dry_run ? "a dry run: nothing was removed" : "the files they name are removed";
	if (scanrun_operands(&c.e, argv + first) != 0 || scanrun_ready(&c.e) != 0)
		goto out;
	if (catch_signals() != 0)
		goto out;

	/* the last close of each removed __pycache__ may wait for the device: not on this thread */
	c.e.opt.defer_close = 1;
	c.e.refuse_overlap =
		1; /* the dry run could not foresee a second pass over the same files */
	c.e.cmd = &c;
	c.e.progress = 1;
	pyci_scan_ops ops = {.record = on_record,
			     .error = scanrun_walk_error,
			     .dir_done = on_dir_done,
			     .ctx = &c.e,
			     .venv = scanrun_venv,
			     .prepare = NULL,
			     .debris = on_debris};
	int fatal = scanrun_run(&c.e, argv + first, &ops, refuse_root);
	if (caught)
		end_interrupted(&c, caught); /* does not return */
	if (fatal < 0)
		goto out; /* nothing ran: no summary to give */
	if (c.e.write_failed) {
		rc = EXIT_USAGE;
		goto out;
	}
	rc = fatal ? EXIT_USAGE
	     : (c.failed || c.kept || c.e.sum.errors || c.debris.failed || c.debris.kept)
		     ? EXIT_FINDINGS
		     : EXIT_OK;
	size_t mark = c.e.out.len;
	if (c.e.quiet < 2 && summary(&c, 0) != 0) {
		pyci_buf_truncate(&c.e.out, mark);
		cli_error("out of memory for the summary");
		rc = EXIT_USAGE;
	}
	if (flush_log(&c) != 0)
		rc = EXIT_USAGE;
	if (caught) { /* a signal during the summary: the run was all done and said so */
		cli_error("interrupted by %s after the run", signal_name(caught));
		die_by(caught);
	}
out:
	pyci_buf_free(&c.rec);
	pyci_summary_free(&c.removed);
	scanrun_free(&c.e);
	return rc;
}
