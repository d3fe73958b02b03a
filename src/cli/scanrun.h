/*
 * scanrun.h - what `scan`, `clean` and `dump` share on the command line: the options of the
 * verdict engine (one table, args.h), the loop over PATHs, walk errors, and the target lines of
 * their summaries.  One place, so that `scan` and `clean --dry-run` judge the same files the
 * same way.
 */
#ifndef PYCINSPECT_CLI_SCANRUN_H
#define PYCINSPECT_CLI_SCANRUN_H

#include "args.h"
#include "pycinspect/archive.h"
#include "pycinspect/buf.h"
#include "pycinspect/json.h"
#include "pycinspect/record.h"
#include "pycinspect/scan.h"
#include "pycinspect/target.h"

/* The ids of the engine's options (args.h: a command's own ids are below 300). */
enum {
	ENGINE_JSON = 300,
	ENGINE_TARGET,
	ENGINE_CHECK_SOURCE,
	ENGINE_EXCLUDE,
	ENGINE_NO_DEFAULT_EXCLUDES,
	ENGINE_CROSS_MOUNTS,
	ENGINE_JOBS,
	ENGINE_IO,
	ENGINE_DEEP,
	ENGINE_QUIET,
	ENGINE_FILES_FROM,
	ENGINE_NULL,
	ENGINE_PYCACHE_PREFIX,
	ENGINE_PYCACHE_PREFIX_ENV,
	ENGINE_NO_PROGRESS,
	ENGINE_ROOT,
};

/*
 * The engine's options, for the groups of scan, clean and dump, handled by scanrun_option.
 * scanrun_json_option is --json alone: scan and clean list it; dump takes it in a hidden group
 * (its output is always JSON, but scripts may pass --json as to scan).  scanrun_options are the
 * others, which all three list.
 */
extern const struct cli_option scanrun_json_option[];
/* -q, --quiet: scan's and clean's (dump prints objects, not lines to quiet). */
extern const struct cli_option scanrun_quiet_option[];
extern const struct cli_option scanrun_options[];
/* --no-progress: scan's and clean's, whose walks show a progress line on a terminal
 * (progress.h) unless --json or this; the command sets scanrun.progress. */
extern const struct cli_option scanrun_progress_option[];
/* Where the caches are, when not in the trees of PATHs: --files-from, -0, --pycache-prefix,
 * --pycache-prefix-env (docs/inputs.md), and --root (docs/packaging.md).  scan, clean and dump list them under "inputs:". */
extern const struct cli_option scanrun_input_options[];

/* A pyvenv.cfg the scans found (pyci_scan_ops.venv), kept for the summary. */
struct scanrun_venv {
	char *root, *config;
	pyci_venv_status status;
	int err;
	pyci_target target;
	uint64_t dev, ino;
};

struct scanrun {
	pyci_scan_options opt;
	pyci_targets targets;
	int have_targets;
	const char *from;      /* "option", "PATH" or "root" */
	const char **excludes; /* NULL-terminated, for opt.excludes */
	size_t nexcludes;
	atomic_ulong *exclude_hits; /* opt.exclude_hits: a warning for a glob that matched
				     * nothing in the whole run */
	int json;
	pyci_buf out;     /* what goes to stdout, flushed by the commands */
	pyci_summary sum; /* errors and mounts are counted here too */
	int write_failed;
	int refuse_overlap;         /* PATHs that name the same files: refused (clean), not
			     * only warned about (roots.c) */
	void *cmd;                  /* the command's own state: the scan's callbacks are given
			     * this scanrun as ctx, and find the command here */
	int quiet;                  /* -q: only the summary; -qq: nothing on stdout */
	int have_io;                /* --io given (else PYCI_IO, else auto) */
	const char *log;            /* out records acts (clean): written with cli_flush_log,
			     * which says this of them when it cannot */
	int stopped;                /* a callback stopped the run and says why itself */
	struct scanrun_venv *venvs; /* each pyvenv.cfg found once, in the order found */
	size_t nvenvs, venvs_cap;
	int warned_guessed; /* scanrun_warn_guessed_targets said it */
	/* inputs (docs/inputs.md) */
	const char *files_from;  /* --files-from FILE, or NULL */
	int null;                /* -0: its paths are NUL-separated */
	const char *prefix;      /* the pycache prefix judged, or NULL */
	const char *prefix_from; /* "option" (--pycache-prefix) or "environment" */
	int prefix_env;          /* --pycache-prefix-env */
	const char *env_prefix;  /* $PYTHONPYCACHEPREFIX when set and not empty */
	int have_list;           /* list holds what --files-from read */
	const char *root;        /* --root DIR as given, or NULL */
	pyci_buf root_text;      /* DIR without its trailing '/' ("/" for the top): the start of
				  * every display path, opt.root */
	int root_fd;             /* DIR's directory (O_PATH), or -1 */
	/* archives named as PATHs (pycinspect/archive.h, docs/archives.md); archive_lines here,
	 * beside an int, where it takes no padding */
	int archive_lines; /* scan: an "archive" line each, and images in the summary */
	pyci_list_stats list;
	pyci_archive_options aopt;   /* limits ($PYCI_ARCHIVE_LIMITS), stream (dump) */
	unsigned long long archives; /* archives judged */
	pyci_buf archive_text;       /* the summary's lines about images */
	/* the progress line (progress.h); record is the command's, which scanrun_run's own
	 * record callback calls after noting r */
	int progress;                /* the command shows one (scan, clean) */
	int no_progress;             /* --no-progress */
	pyci_scan_progress counters; /* opt.progress while it runs */
	int (*record)(void *ctx, const pyci_record *r);
};

/* The command's state of a scan callback's ctx (an scanrun). */
static inline void *scanrun_cmd(void *ctx)
{
	return ((struct scanrun *)ctx)->cmd;
}

/* Write e->out as the command writes it (cli_flush, or cli_flush_log under e->log).  0, or -1
 * (said; e->write_failed set). */
int scanrun_flush(struct scanrun *e);

/* Handle one option of the engine: id from scanrun_json_option or scanrun_options, arg its value
 * (NULL for a flag).  1 handled, 0 not an engine option, -1 bad value (said). */
int scanrun_option(struct scanrun *e, int ch, const char *arg);

/* After the options, before anything is run or written: whether the PATH operands go with
 * them (--files-from takes none).  0, or -1 (said on stderr: a usage error). */
int scanrun_operands(const struct scanrun *e, char *const *paths);

/* After the options: targets from PATH when none were given, and then from the pyvenv.cfg of
 * virtual environments too (pyci_scan_options.venv_targets).  0, or -1 (out of memory). */
int scanrun_ready(struct scanrun *e);

/*
 * pyci_scan_ops.venv, for every command: the pyvenv.cfg kept for the summary (once each, even
 * when several PATHs meet it), and one that names no interpreter said on stderr.  0, or -1
 * (out of memory, said).
 */
int scanrun_venv(void *ctx, const pyci_venv *v);

/*
 * Run pyci_scan_path on each PATH (default "."), saying on stderr why a PATH cannot be
 * scanned.  `refuse` (may be NULL) vets every PATH before any is touched, saying why it
 * refuses one, and so does roots_overlap under e->refuse_overlap; then nothing runs and it
 * returns -1.  Otherwise returns 1 if some PATH failed
 * (exit 2), 0 if none did; stops early when output failed or memory ran out.
 */
int scanrun_run(struct scanrun *e, char **paths, const pyci_scan_ops *ops,
		int (*refuse)(const char *path));

/*
 * Compare the PATHs (NULL-terminated) before anything is walked: one the walk of another
 * reaches (o's mount rule and excludes), or one named twice.  Each such PATH is said on
 * stderr: as an error when refuse (the run must not start), else as a warning that its caches
 * are reported again.  Returns 1 if there was one, else 0.  (roots.c)
 */
int roots_overlap(char **paths, const pyci_scan_options *o, int refuse);

/*
 * Whether PATH names an archive (a regular file whose format libarchive reads: pyci_archive_probe)
 * or a cache inside one, spelt ARCHIVE!/MEMBER as records show it: a PATH that exists is a file,
 * whatever its name; one that does not is split at the first "!/" whose left part is an archive.
 * 1 with *archive (the caller's buffer) and *member (into path, or NULL), 0 not, -1 with errno.
 */
int scanrun_archive_of(const char *path, pyci_buf *archive, const char **member);

/* pyci_scan_ops.error: stderr, a {"type":"error"} line under --json, and the counts. */
void scanrun_walk_error(void *ctx, const char *path, pyci_walk_err kind, int err);

/* When the targets were found on PATH (no --target): a warning on stderr naming them, for a
 * command about to remove a cache judged foreign against them (outside a virtual environment
 * that names its own).  Said once a run.  0, or -1 (out of memory, said). */
int scanrun_warn_guessed_targets(struct scanrun *e);

/* The summary's lines about targets, errors and mounts, appended to e->out.  0, or -1
 * (ENOMEM). */
int scanrun_summary_text(struct scanrun *e);

/* Open the summary object of a judging run in w, on e->out, with its first members: "type"
 * ("summary"), "caches" and "bytes" of e->sum, its tallies (pyci_summary_members) and
 * "foreign".  The command adds its own, then scanrun_summary_members, and ends it. */
void scanrun_summary_begin(struct scanrun *e, pyci_jw *w);

/* The same as members of the summary object open in w: "targets", "targets_from", "venvs",
 * "check_source", "errors", "mounts_not_crossed".  A failure is w's (pyci_jw_finish). */
void scanrun_summary_members(const struct scanrun *e, pyci_jw *w);

void scanrun_free(struct scanrun *e);

/* The paths of a --files-from list: data holds them, each NUL-terminated. */
struct file_list {
	pyci_buf data;
	char **paths;
	size_t n;
};

/* Read the list in file ("-": stdin), cut at newlines or (nul) NUL bytes.  0, or -1 after
 * saying why on stderr (it cannot be read; a newline list that holds NUL bytes; memory).
 * (filesfrom.c) */
int files_from_read(const char *file, int nul, struct file_list *out);

void file_list_free(struct file_list *l);

#endif
