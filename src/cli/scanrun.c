/*
 * scanrun.c - a run of the scan engine over PATHs, as scan, clean and dump share it: their
 * options, the PATH loop, walk errors and the summary's target lines (see scanrun.h).
 *
 * The options are one table (scanrun_options, and --json in a table of its own, which dump
 * takes without listing it) that every command joins to its own in its struct cli_command;
 * scanrun_option gives them their meaning.
 *
 * A PATH that is an archive, or a cache inside one (ARCHIVE!/MEMBER), is judged by
 * pyci_scan_archive instead of the walk (docs/archives.md), with the same record callbacks; its
 * errors and its "archive" line are written here.  Targets found on PATH say nothing of where an
 * archive's caches will run, so only --target applies to archives.
 */
#define _GNU_SOURCE /* O_PATH */
#include "scanrun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"
#include "pycinspect/json.h"
#include "pycinspect/jython.h"
#include "pycinspect/magic.h"
#include "pycinspect/prefix.h"
#include "pycinspect/sysroot.h"
#include "pycinspect/target.h"

/* --io's values, in the order of pyci_io (also those of the PYCI_IO environment variable). */
static const char *const io_values[] = {"auto", "uring", "plain", NULL};

/* --check-source's values, in the order of pyci_check_source; the summary's check_source too. */
static const char *const check_source_values[] = {"default", "always", "never", NULL};

const struct cli_option scanrun_json_option[] = {
	{"json", 0, CLI_NOARG, NULL, "JSON Lines on stdout (see docs/json.md)", ENGINE_JSON, NULL},
	{0},
};

const struct cli_option scanrun_quiet_option[] = {
	{"quiet", 'q', CLI_NOARG, NULL,
	 "only the summary on stdout; twice: nothing (the exit status,\n"
	 "and errors on stderr, still say what went wrong)",
	 ENGINE_QUIET, NULL},
	{0},
};

const struct cli_option scanrun_progress_option[] = {
	{"no-progress", 0, CLI_NOARG, NULL,
	 "no progress line on stderr (else shown on a terminal when\n"
	 "the walk lasts over half a second, erased at its end)",
	 ENGINE_NO_PROGRESS, NULL},
	{0},
};

const struct cli_option scanrun_options[] = {
	{"target", 't', CLI_ARG, "LIST",
	 "interpreters the tree is for, comma-separated, repeatable:\n"
	 "3.12, 3.12.1, cpython-312, pypy310, pypy3.10, jython2.7\n"
	 "(default: those on PATH, and in and below a directory\n"
	 "holding a pyvenv.cfg, the interpreter it names)",
	 ENGINE_TARGET, NULL},
	{"check-source", 0, CLI_ARG, "MODE",
	 "hash-based caches: default, always or never, as CPython's\n"
	 "--check-hash-based-pycs (default also reports unchecked\n"
	 "caches whose source changed)",
	 ENGINE_CHECK_SOURCE, check_source_values},
	{"exclude", 0, CLI_ARG, "GLOB",
	 "leave out directories and caches whose name matches GLOB\n"
	 "(with a '/': the path below PATH; .venv/: directories only;\n"
	 "./.venv: at PATH), repeatable; one that matches nothing is\n"
	 "said on stderr",
	 ENGINE_EXCLUDE, NULL},
	{"no-default-excludes", 0, CLI_NOARG, NULL, "also walk .git, .hg, .svn and node_modules",
	 ENGINE_NO_DEFAULT_EXCLUDES, NULL},
	{"cross-mounts", 0, CLI_NOARG, NULL, "descend into other mounted filesystems",
	 ENGINE_CROSS_MOUNTS, NULL},
	{"deep", 0, CLI_NOARG, NULL,
	 "also load the code of every cache its interpreter would load:\n"
	 "one whose import fails (EOFError, ValueError, ...) is invalid",
	 ENGINE_DEEP, NULL},
	{"jobs", 'j', CLI_ARG, "N",
	 "threads that walk and judge, or read an image's layers\n"
	 "(default: one per CPU; at most 8 are used, whatever N; 1:\n"
	 "everything on one thread); the output is the same for any N",
	 ENGINE_JOBS, NULL},
	{"io", 0, CLI_ARG, "MODE",
	 "per-cache I/O: auto (io_uring where the kernel allows it),\n"
	 "uring or plain (system calls); the same output either way\n"
	 "(default: $PYCI_IO, else auto)",
	 ENGINE_IO, io_values},
	{0},
};

const struct cli_option scanrun_input_options[] = {
	{"files-from", 0, CLI_ARG, "FILE",
	 "judge exactly the paths listed in FILE (- for stdin), one a\n"
	 "line, instead of walking PATHs: a source NAME.py brings its\n"
	 "caches, a cache is judged against its source; directories and\n"
	 "other files are not judged (docs/inputs.md)",
	 ENGINE_FILES_FROM, NULL},
	{"null", '0', CLI_NOARG, NULL,
	 "the paths of --files-from are NUL-separated (find -print0,\n"
	 "git ls-files -z)",
	 ENGINE_NULL, NULL},
	{"pycache-prefix", 0, CLI_ARG, "DIR",
	 "the caches are in the tree DIR, as PYTHONPYCACHEPREFIX=DIR\n"
	 "writes them: DIR/R/NAME.TAG.pyc is the cache of /R/NAME.py;\n"
	 "without PATH every cache in DIR, else those of the sources\n"
	 "under each PATH (a directory)",
	 ENGINE_PYCACHE_PREFIX, NULL},
	{"pycache-prefix-env", 0, CLI_NOARG, NULL, "the same, with DIR from $PYTHONPYCACHEPREFIX",
	 ENGINE_PYCACHE_PREFIX_ENV, NULL},
	{"root", 0, CLI_ARG, "DIR",
	 "judge DIR as the system installed from it will see it (a\n"
	 "DESTDIR, a container's root file system): PATHs, the paths\n"
	 "of --files-from and the DIR of --pycache-prefix are paths\n"
	 "inside it (default: all of it), symlinks resolve inside it,\n"
	 "and targets come from its interpreters, not PATH's\n"
	 "(docs/packaging.md)",
	 ENGINE_ROOT, NULL},
	{0},
};

/* MODE of --io or PYCI_IO into *io.  0, or -1 (not a mode). */
static int parse_io(const char *mode, pyci_io *io)
{
	int i = cli_value_index(io_values, mode);
	if (i < 0)
		return -1;
	*io = (pyci_io)i;
	return 0;
}

/* Whether the magic table has a row for t's implementation and version (Jython, which has no
 * magic numbers: whether its caches are judged for that version). */
static int known_version(const pyci_target *t)
{
	if (t->impl == PYCI_IMPL_JYTHON)
		return pyci_jython_version_known(t->major, t->minor);
	size_t n;
	const pyci_magic_row *rows = pyci_magic_table(&n);
	for (size_t i = 0; i < n; i++)
		if (rows[i].impl == t->impl && rows[i].major == t->major &&
		    rows[i].minor == t->minor)
			return 1;
	return 0;
}

int scanrun_option(struct scanrun *e, int ch, const char *arg)
{
	switch (ch) {
	case ENGINE_JSON:
		e->json = 1;
		return 1;
	case ENGINE_TARGET: {
		size_t had = e->targets.count;
		if (pyci_targets_add_list(&e->targets, arg) != 0) {
			cli_error(
				"invalid target in '%s' (expected e.g. 3.12, cpython-312, pypy310, "
				"jython2.7)",
				arg);
			return -1;
		}
		/* a typo (3.21 for 3.12) would make every cache foreign, and clean --all remove it */
		for (size_t i = had; i < e->targets.count; i++) {
			const pyci_target *t = &e->targets.items[i];
			if (known_version(t))
				continue;
			char name[24];
			pyci_target_format(t, name, sizeof(name));
			if (t->impl == PYCI_IMPL_JYTHON)
				cli_error(
					"unknown interpreter version '%s' in --target '%s' (Jython's "
					"caches are judged for jython2.7 only)",
					name, arg);
			else
				cli_error("unknown interpreter version '%s' in --target '%s' (no "
					  "magic number is known for it; 'pycinspect magic' lists "
					  "them)",
					  name, arg);
			return -1;
		}
		e->have_targets = 1;
		return 1;
	}
	case ENGINE_CHECK_SOURCE: {
		int mode = cli_value_index(check_source_values, arg);
		if (mode < 0) {
			cli_error("invalid --check-source '%s' (default, always or never)", arg);
			return -1;
		}
		e->opt.check = (pyci_check_source)mode;
		return 1;
	}
	case ENGINE_CROSS_MOUNTS:
		e->opt.cross_mounts = 1;
		return 1;
	case ENGINE_NO_DEFAULT_EXCLUDES:
		e->opt.no_default_excludes = 1;
		return 1;
	case ENGINE_EXCLUDE: {
		const char **p = realloc(e->excludes, (e->nexcludes + 2) * sizeof(*p));
		if (!p) {
			cli_error("out of memory");
			return -1;
		}
		e->excludes = p;
		p[e->nexcludes++] = arg;
		p[e->nexcludes] = NULL;
		e->opt.excludes = p;
		return 1;
	}
	case ENGINE_JOBS: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || n < 1 || n > 64 || arg[0] == '-') {
			cli_error("invalid --jobs '%s' (a number from 1 to 64)", arg);
			return -1;
		}
		e->opt.threads = (unsigned)n;
		return 1;
	}
	case ENGINE_QUIET:
		e->quiet++;
		return 1;
	case ENGINE_NO_PROGRESS:
		e->no_progress = 1;
		return 1;
	case ENGINE_DEEP:
		e->opt.deep = 1;
		return 1;
	case ENGINE_FILES_FROM:
		e->files_from = arg;
		return 1;
	case ENGINE_NULL:
		e->null = 1;
		return 1;
	case ENGINE_PYCACHE_PREFIX:
		if (!*arg) {
			cli_error(
				"invalid --pycache-prefix '' (a directory; Python ignores an empty "
				"PYTHONPYCACHEPREFIX)");
			return -1;
		}
		e->prefix = arg;
		e->prefix_from = "option";
		return 1;
	case ENGINE_PYCACHE_PREFIX_ENV:
		e->prefix_env = 1;
		return 1;
	case ENGINE_ROOT:
		if (!*arg) {
			cli_error("invalid --root '' (a directory)");
			return -1;
		}
		e->root = arg;
		return 1;
	case ENGINE_IO:
		if (parse_io(arg, &e->opt.io) != 0) {
			cli_error("invalid --io '%s' (auto, uring or plain)", arg);
			return -1;
		}
		e->have_io = 1;
		return 1;
	default:
		return 0;
	}
}

/* $PYCI_ARCHIVE_LIMITS: NAME=N,... over the defaults (docs/archives.md).  0, or -1 (said). */
static int archive_limits(pyci_archive_limits *l, const char *spec)
{
	static const char *const names[] = {"max-bytes",  "max-ratio",  "ratio-floor",
					    "max-table",  "max-source", "max-member-errors",
					    "max-layers", NULL};
	*l = (pyci_archive_limits)PYCI_ARCHIVE_LIMITS_DEFAULT;
	for (const char *p = spec; p && *p;) {
		size_t len = strcspn(p, ","), klen = strcspn(p, "=");
		int k = -1;
		for (int i = 0; names[i] && k < 0 && klen < len; i++)
			if (strlen(names[i]) == klen && strncmp(p, names[i], klen) == 0)
				k = i;
		char *end;
		errno = 0;
		unsigned long long v = k < 0 ? 0 : strtoull(p + klen + 1, &end, 10);
		if (k < 0 || errno || end != p + len || p[klen + 1] == '-' || end == p + klen + 1) {
			cli_error(
				"invalid PYCI_ARCHIVE_LIMITS '%s' (NAME=NUMBER,...: max-bytes, "
				"max-ratio, ratio-floor, max-table, max-source, max-member-errors, "
				"max-layers)",
				spec);
			return -1;
		}
		switch (k) {
		case 0:
			l->max_bytes = v;
			break;
		case 1:
			l->max_ratio = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
			break;
		case 2:
			l->ratio_floor = v;
			break;
		case 3:
			l->max_table = v > SIZE_MAX ? SIZE_MAX : (size_t)v;
			break;
		case 4:
			l->max_source = v;
			break;
		case 5:
			l->max_member_errors = v > UINT32_MAX ? UINT32_MAX : (unsigned)v;
			break;
		default:
			l->max_layers = v > UINT32_MAX ? UINT32_MAX : (unsigned)v;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

/* --root DIR: its descriptor, and the text every display path starts with, into e->opt.  0,
 * or -1 (said). */
static int open_root(struct scanrun *e)
{
	if (e->files_from && e->prefix) {
		cli_error(
			"--root, --files-from and --pycache-prefix: not done (a list's caches in a "
			"prefix tree inside a root); walk the tree");
		return -1;
	}
	size_t n = strlen(e->root);
	while (n > 1 && e->root[n - 1] == '/')
		n--;
	e->root_fd = open(e->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (e->root_fd < 0 || pyci_buf_append(&e->root_text, e->root, n) != 0) {
		int err = errno;
		pyci_buf q = PYCI_BUF_INIT;
		if (cli_quote_path(&q, e->root, strlen(e->root)) == 0)
			cli_error("cannot open the root '%s': %s", q.data, strerror(err));
		pyci_buf_free(&q);
		return -1;
	}
	e->opt.root = e->root_text.data;
	e->opt.root_fd = e->root_fd;
	return 0;
}

int scanrun_ready(struct scanrun *e)
{
	if (archive_limits(&e->aopt.limits, getenv("PYCI_ARCHIVE_LIMITS")) != 0)
		return -1;
	if (e->nexcludes) {
		e->exclude_hits = calloc(e->nexcludes, sizeof(*e->exclude_hits));
		if (!e->exclude_hits) {
			cli_error("out of memory");
			return -1;
		}
		for (size_t i = 0; i < e->nexcludes; i++)
			atomic_init(&e->exclude_hits[i], 0);
		e->opt.exclude_hits = e->exclude_hits;
	}
	const char *env = getenv("PYTHONPYCACHEPREFIX");
	e->env_prefix = env && *env ? env : NULL;
	if (e->prefix_env) {
		if (e->prefix_from) {
			cli_error("--pycache-prefix and --pycache-prefix-env: name one prefix");
			return -1;
		}
		if (!e->env_prefix) {
			cli_error("--pycache-prefix-env: PYTHONPYCACHEPREFIX is not set");
			return -1;
		}
		e->prefix = e->env_prefix;
		e->prefix_from = "environment";
	}
	if (e->null && !e->files_from) {
		cli_error("-0 (--null) says how the list of --files-from is separated: give one");
		return -1;
	}
	const char *io = getenv("PYCI_IO");
	if (!e->have_io && io && *io && parse_io(io, &e->opt.io) != 0) {
		cli_error("invalid PYCI_IO '%s' (auto, uring or plain)", io);
		return -1;
	}
	if (e->root && open_root(e) != 0)
		return -1;
	e->from = "option";
	if (!e->have_targets) {
		e->from = e->root ? "root" : "PATH";
		size_t added;
		if (e->root ? pyci_targets_from_root(&e->targets, e->root_fd, &added) != 0
			    : pyci_targets_from_path(&e->targets, getenv("PATH"), &added) != 0) {
			cli_error("cannot find the interpreters %s: %s",
				  e->root ? "in the root" : "on PATH", strerror(errno));
			return -1;
		}
		e->have_targets = added > 0;
		/* where a virtual environment names its interpreter, that one is the target there */
		e->opt.venv_targets = 1;
	}
	e->opt.targets = e->have_targets ? &e->targets : NULL;
	return 0;
}

/* Keep v (the strings copied) in e->venvs.  0, or -1 (ENOMEM). */
static int keep_venv(struct scanrun *e, const pyci_venv *v)
{
	if (e->nvenvs == e->venvs_cap) {
		size_t cap = e->venvs_cap ? 2 * e->venvs_cap : 8;
		struct scanrun_venv *p = realloc(e->venvs, cap * sizeof(*p));
		if (!p)
			return -1;
		e->venvs = p;
		e->venvs_cap = cap;
	}
	struct scanrun_venv *k = &e->venvs[e->nvenvs];
	*k = (struct scanrun_venv){.root = strdup(v->root),
				   .config = strdup(v->config),
				   .status = v->status,
				   .err = v->err,
				   .target = v->target,
				   .dev = v->dev,
				   .ino = v->ino};
	if (!k->root || !k->config) {
		free(k->root);
		free(k->config);
		errno = ENOMEM;
		return -1;
	}
	e->nvenvs++;
	return 0;
}

/* What a pyvenv.cfg that names no interpreter is, for a person: the status, with its errno. */
static const char *venv_problem(const struct scanrun_venv *v, char *buf, size_t n)
{
	const char *what = pyci_venv_status_text(v->status);
	if (!v->err)
		return what;
	(void)snprintf(buf, n, "%s: %s", what, strerror(v->err)); /* cut to fit: still says it */
	return buf;
}

int scanrun_venv(void *ctx, const pyci_venv *v)
{
	struct scanrun *e = ctx;
	for (size_t i = 0; i < e->nvenvs; i++) {
		const struct scanrun_venv *k = &e->venvs[i];
		if (v->ino ? k->dev == v->dev && k->ino == v->ino : !strcmp(k->config, v->config))
			return 0; /* met again from another PATH: kept, and said, once */
	}
	if (keep_venv(e, v) != 0) {
		cli_error("out of memory");
		e->stopped = 1;
		errno = ENOMEM;
		return -1;
	}
	if (v->status == PYCI_VENV_OK)
		return 0;
	/* keep stdout and stderr in order for a person watching both */
	if (!e->json && !e->write_failed)
		(void)scanrun_flush(e); /* a failure is said and kept in write_failed */
	pyci_buf config = PYCI_BUF_INIT, root = PYCI_BUF_INIT;
	if (cli_quote_path(&config, v->config, strlen(v->config)) == 0 &&
	    cli_quote_path(&root, v->root, strlen(v->root)) == 0) {
		char why[160];
		cli_error(
			"warning: ignoring '%s' (%s): the caches below '%s' are judged against the "
			"targets around it",
			config.data, venv_problem(&e->venvs[e->nvenvs - 1], why, sizeof(why)),
			root.data);
	} else { /* no memory to quote it: say it all the same */
		cli_error("warning: ignoring a pyvenv.cfg (%s), and no memory left to name it",
			  pyci_venv_status_text(v->status));
	}
	pyci_buf_free(&config);
	pyci_buf_free(&root);
	return 0;
}

/* The {"type":"error"} line of a PATH or a directory not walked, in e->out.  Out of memory:
 * no line at all, and e->write_failed, which stops the run. */
static void error_record(struct scanrun *e, const char *path, const char *message, int err)
{
	pyci_jw w;
	pyci_jw_init(&w, &e->out);
	pyci_jw_begin(&w, NULL);
	pyci_jw_cstr(&w, "type", "error");
	pyci_jw_cstr(&w, "path", path);
	pyci_jw_cstr(&w, "message", message);
	pyci_jw_i64(&w, "errno", err);
	pyci_jw_end(&w);
	if (cli_json_line(&w) != 0)
		e->write_failed = 1;
}

/* A PATH that could not be scanned at all: stderr, an "error" line under --json (so that a
 * reader of the JSON alone sees it), and the summary's error count. */
static void root_error(struct scanrun *e, const char *path, int err)
{
	struct stat st;
	int link = err == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
	const char *what = link ? "symbolic link, not followed"
			   : err == EINVAL
				   ? "not a directory, a .pyc/.pyo/$py.class file or an archive"
				   : "cannot scan";
	e->sum.errors++;
	pyci_buf q = PYCI_BUF_INIT;
	if (cli_quote_path(&q, path, strlen(path)) == 0) {
		if (link)
			cli_error("'%s' is a symbolic link, not followed (write '%s/' for the "
				  "directory it points to)",
				  q.data, q.data);
		else if (err == EINVAL)
			cli_error("'%s' is %s", q.data, what);
		else
			cli_error("%s '%s': %s", what, q.data, strerror(err));
	} else { /* no memory to quote it: say it all the same */
		cli_error("%s a PATH: %s (and no memory left to name it)", what, strerror(err));
	}
	pyci_buf_free(&q);
	if (e->json)
		error_record(e, path, what, err);
}

int scanrun_flush(struct scanrun *e)
{
	if ((e->log ? cli_flush_log(&e->out, e->log) : cli_flush(&e->out)) != 0) {
		e->write_failed = 1;
		return -1;
	}
	return 0;
}

/* --exclude .venv/ and ./.venv are read as users mean them (exclude.c); a glob that still
 * matched nothing in the whole run was most likely mistyped: say so, once the run is over. */
static void warn_unmatched(struct scanrun *e)
{
	for (size_t i = 0; e->exclude_hits && i < e->nexcludes; i++) {
		if (atomic_load(&e->exclude_hits[i]))
			continue;
		pyci_buf q = PYCI_BUF_INIT;
		if (cli_quote_path(&q, e->excludes[i], strlen(e->excludes[i])) == 0)
			cli_error("warning: --exclude '%s' matched nothing", q.data);
		pyci_buf_free(&q);
	}
}

/* A PATH that cannot be scanned as it is given: why (and strerror(err) when say_err) on
 * stderr, an "error" line under --json with err, and the summary's error count. */
static void path_refused(struct scanrun *e, const char *path, const char *why, int err, int say_err)
{
	pyci_buf q = PYCI_BUF_INIT;
	e->sum.errors++;
	if (cli_quote_path(&q, path, strlen(path)) == 0)
		cli_error("'%s': %s%s%s", q.data, why, say_err ? ": " : "",
			  say_err ? strerror(err) : "");
	else
		cli_error("a PATH: %s (and no memory left to name it)", why);
	pyci_buf_free(&q);
	if (e->json)
		error_record(e, path, why, err);
}

int scanrun_operands(const struct scanrun *e, char *const *paths)
{
	if (!e->files_from || !*paths)
		return 0;
	pyci_buf q = PYCI_BUF_INIT;
	if (cli_quote_path(&q, paths[0], strlen(paths[0])) == 0)
		cli_error("--files-from judges the paths it lists, and no PATH ('%s' given)",
			  q.data);
	else
		cli_error("--files-from judges the paths it lists, and no PATH");
	pyci_buf_free(&q);
	return -1;
}

/* --files-from: the list instead of PATHs (none: scanrun_operands).  As scanrun_run. */
static int run_list(struct scanrun *e, const pyci_scan_ops *ops)
{
	struct file_list fl;
	if (files_from_read(e->files_from, e->null, &fl) != 0)
		return -1;
	e->have_list = 1;
	int rc = pyci_scan_list((const char *const *)fl.paths, fl.n, e->prefix, &e->opt, ops,
				&e->list);
	int err = errno;
	file_list_free(&fl);
	if (rc != 0) {
		if (!e->write_failed && !e->stopped)
			root_error(e, e->prefix && err != ENOMEM ? e->prefix : e->files_from, err);
		return 1;
	}
	warn_unmatched(e);
	return e->list.missing ? 1 : 0;
}

/*
 * A PATH under --pycache-prefix: the directory whose sources' caches are judged, into dir (PATH
 * itself, or for a PATH inside the prefix tree the directory that part of the tree mirrors),
 * and the tree's directory for it, into tree.  0, or -1 (errno).
 */
static int prefix_target(const struct scanrun *e, const char *path, pyci_buf *dir, pyci_buf *tree)
{
	pyci_buf rel = PYCI_BUF_INIT;
	int in = pyci_prefix_below(e->prefix, path, &rel);
	int rc = in < 0 ? -1
		 : in   ? pyci_buf_putc(dir, '/') || pyci_buf_puts(dir, rel.data) ? -1 : 0
			: pyci_buf_puts(dir, path);
	if (rc == 0)
		rc = pyci_prefix_cache_dir(tree, e->prefix, dir->data);
	pyci_buf_free(&rel);
	return rc;
}

/* A PATH of which the prefix tree has nothing (tree is not there): a warning, and a hint when
 * the tree has the directory under its real path (a symlink on the way). */
static void warn_no_tree(const struct scanrun *e, const char *path, const char *tree)
{
	pyci_buf q = PYCI_BUF_INIT, t = PYCI_BUF_INIT, real_tree = PYCI_BUF_INIT;
	pyci_buf h = PYCI_BUF_INIT;
	char *real = e->root ? NULL : realpath(path, NULL); /* a root's PATHs: no hint */
	struct stat st;
	if (real && pyci_prefix_cache_dir(&real_tree, e->prefix, real) == 0 &&
	    strcmp(real_tree.data, tree) != 0 && lstat(real_tree.data, &st) == 0 &&
	    S_ISDIR(st.st_mode) && cli_quote_path(&h, real, strlen(real)) == 0)
		(void)pyci_buf_puts(&h, "' (its real path) has caches there: name that");
	if (cli_quote_path(&q, path, strlen(path)) == 0 &&
	    cli_quote_path(&t, tree, strlen(tree)) == 0) {
		if (h.len)
			cli_error("warning: '%s': the prefix tree has no '%s'; '%s", q.data, t.data,
				  h.data);
		else
			cli_error("warning: '%s': the prefix tree has no '%s' (none of its sources "
				  "was imported with this prefix)",
				  q.data, t.data);
	}
	free(real);
	pyci_buf_free(&q);
	pyci_buf_free(&t);
	pyci_buf_free(&h);
	pyci_buf_free(&real_tree);
}

/* stat(2) of a PATH: inside the root with --root (sysroot.h). */
static int path_stat(const struct scanrun *e, const char *path, struct stat *st)
{
	return e->root ? pyci_sysroot_stat(e->root_fd, path, st) : stat(path, st);
}

/* --pycache-prefix: the tree, whole or for each PATH.  As scanrun_run. */
static int run_prefix(struct scanrun *e, char **paths, const pyci_scan_ops *ops,
		      int (*refuse)(const char *path))
{
	progress_root(e->prefix);
	if (!*paths) {
		if (pyci_scan_prefix(e->prefix, NULL, &e->opt, ops) == 0) {
			warn_unmatched(e);
			return 0;
		}
		int err = errno;
		if (!e->write_failed && !e->stopped)
			root_error(e, e->prefix, err);
		return 1;
	}
	size_t n = 0;
	while (paths[n])
		n++;
	pyci_buf *dirs = calloc(n, sizeof(*dirs)), *trees = calloc(n, sizeof(*trees));
	char **tp = calloc(n + 1, sizeof(*tp));
	int fatal = 0;
	if (!dirs || !trees || !tp) {
		cli_error("out of memory");
		fatal = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (refuse)
			fatal |= -refuse(paths[i]);
		if (prefix_target(e, paths[i], &dirs[i], &trees[i]) != 0) {
			cli_error("cannot map a PATH into the prefix tree: %s", strerror(errno));
			fatal = -1;
			goto out;
		}
		tp[i] = trees[i].data;
	}
	/* PATHs that name the same files: as the trees' directories do */
	if (roots_overlap(tp, &e->opt, e->refuse_overlap) && e->refuse_overlap)
		fatal = -1;
	for (size_t i = 0; i < n && !fatal; i++) {
		struct stat st;
		if (path_stat(e, paths[i], &st) == 0 && !S_ISDIR(st.st_mode)) {
			path_refused(e, paths[i],
				     "not a directory (with --pycache-prefix, a PATH is a source "
				     "directory; list files with --files-from)",
				     ENOTDIR, 0);
			fatal = 1;
			continue;
		}
		int gone = path_stat(e, paths[i], &st) != 0 ? errno : 0;
		if (lstat(tp[i], &st) != 0 && errno == ENOENT) {
			if (gone) { /* neither the sources nor their caches */
				root_error(e, paths[i], gone);
				fatal = 1;
			} else {
				warn_no_tree(e, paths[i], tp[i]);
			}
			continue;
		}
		if (pyci_scan_prefix(e->prefix, dirs[i].data, &e->opt, ops) == 0)
			continue;
		int err = errno;
		if (e->write_failed || e->stopped) {
			fatal = 1;
			goto out;
		}
		root_error(e, paths[i], err);
		fatal = 1;
		if (err == ENOMEM)
			break;
	}
	if (!fatal)
		warn_unmatched(e);
out:
	for (size_t i = 0; i < n && dirs && trees; i++) {
		pyci_buf_free(&dirs[i]);
		pyci_buf_free(&trees[i]);
	}
	free(dirs);
	free(trees);
	free(tp);
	return fatal;
}

static int cache_name(const char *path)
{
	size_t n = strlen(path);
	return n >= 4 && (strcmp(path + n - 4, ".pyc") == 0 || strcmp(path + n - 4, ".pyo") == 0);
}

/* A regular file that libarchive reads, not named as a cache: 1, 0, or -1 (errno). */
static int is_archive(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode) || cache_name(path))
		return 0;
	return pyci_archive_probe(path);
}

int scanrun_archive_of(const char *path, pyci_buf *archive, const char **member)
{
	struct stat st;
	*member = NULL;
	pyci_buf_clear(archive);
	if (lstat(path, &st) == 0) {
		int k = is_archive(path);
		if (k == 1 && pyci_buf_puts(archive, path) != 0)
			return -1;
		return k < 0 ? 0 : k;
	}
	if (errno != ENOENT && errno != ENOTDIR)
		return 0;
	for (const char *bang = strstr(path, "!/"); bang; bang = strstr(bang + 1, "!/")) {
		pyci_buf_clear(archive);
		if (pyci_buf_append(archive, path, (size_t)(bang - path)) != 0)
			return -1;
		if (archive->len && is_archive(archive->data) == 1) {
			*member = bang + 2;
			return 1;
		}
	}
	return 0;
}

/* pyci_archive_ops.error: a member, or an archive, not judged. */
static void archive_error(void *ctx, const pyci_archive_error *a)
{
	struct scanrun *e = ctx;
	pyci_buf q = PYCI_BUF_INIT;
	if (!e->json && !e->write_failed)
		(void)scanrun_flush(e);
	e->sum.errors++;
	if (cli_quote_path(&q, a->path, strlen(a->path)) == 0) {
		if (a->detail)
			cli_error("'%s': %s (%s)", q.data, a->message, a->detail);
		else
			cli_error("'%s': %s", q.data, a->message);
	}
	pyci_buf_free(&q);
	if (!e->json)
		return;
	pyci_jw w;
	pyci_jw_init(&w, &e->out);
	pyci_jw_begin(&w, NULL);
	pyci_jw_cstr(&w, "type", "error");
	pyci_jw_cstr(&w, "path", a->path);
	pyci_jw_cstr(&w, "message", a->message);
	pyci_jw_i64(&w, "errno", a->err);
	if (a->detail)
		pyci_jw_cstr(&w, "detail", a->detail);
	pyci_jw_end(&w);
	if (cli_json_line(&w) != 0)
		e->write_failed = 1;
}

/* The summary's words on an image: its layers, what each holds. */
static int image_text(pyci_buf *b, const pyci_archive_info *a)
{
	int rc = pyci_buf_puts(b, "image ");
	rc |= cli_quote_path(b, a->path, strlen(a->path));
	if (a->image) { /* from the manifest: quoted as a path is, whatever it holds */
		rc |= pyci_buf_puts(b, " (");
		rc |= cli_quote_path(b, a->image, strlen(a->image));
		rc |= pyci_buf_putc(b, ')');
	}
	rc |= pyci_buf_printf(b, ", %zu %s, caches per layer (bottom first):\n", a->nlayers,
			      a->nlayers == 1 ? "layer" : "layers");
	for (size_t i = 0; i < a->nlayers; i++) {
		const pyci_layer_info *l = &a->layers[i];
		/* a digest cut to 12 digits, as docker prints them (JSON has it whole) */
		char cut[40];
		const char *name = l->name, *slash = strchr(name, '/');
		if (strncmp(name, "sha256:", 7) == 0 && strlen(name) > 19) {
			(void)snprintf(cut, sizeof(cut), "%.19s", name); /* fits */
			name = cut;
		} else if (slash && slash - name > 12 && strcmp(slash, "/layer.tar") == 0) {
			(void)snprintf(cut, sizeof(cut), "%.12s/layer.tar", name); /* fits */
			name = cut;
		}
		rc |= pyci_buf_printf(b, "  %3zu %-22s %8llu  ", i + 1, name,
				      (unsigned long long)l->caches.total.count);
		rc |= cli_human_bytes(b, l->caches.total.bytes);
		const char *sep = "  (";
		for (int st = 0; st < PYCI_STATUS_COUNT; st++) {
			if (!l->caches.status[st].count)
				continue;
			rc |= pyci_buf_printf(b, "%s%llu %s", sep,
					      (unsigned long long)l->caches.status[st].count,
					      pyci_status_name((pyci_status)st));
			sep = ", ";
		}
		if (*sep == ',')
			rc |= pyci_buf_putc(b, ')');
		if (l->hidden.count) {
			rc |= pyci_buf_printf(b, "; %llu deleted above, still ",
					      (unsigned long long)l->hidden.count);
			rc |= cli_human_bytes(b, l->hidden.bytes);
		}
		rc |= pyci_buf_putc(b, '\n');
	}
	if (a->images_not_judged)
		rc |= pyci_buf_printf(
			b, "  (%zu more %s in it not judged: one image per tarball)\n",
			a->images_not_judged, a->images_not_judged == 1 ? "image" : "images");
	return rc ? -1 : 0;
}

/* pyci_archive_ops.done: the "archive" line (scan --json), the image's summary text (scan). */
static int archive_done(void *ctx, const pyci_archive_info *a)
{
	struct scanrun *e = ctx;
	e->archives++;
	if (!e->archive_lines)
		return 0;
	if (!e->json) {
		if (a->kind == PYCI_ARCHIVE_IMAGE && image_text(&e->archive_text, a) != 0) {
			errno = ENOMEM;
			return -1;
		}
		return 0;
	}
	pyci_jw w;
	pyci_jw_init(&w, &e->out);
	pyci_jw_begin(&w, NULL);
	pyci_jw_cstr(&w, "type", "archive");
	pyci_jw_cstr(&w, "path", a->path);
	pyci_jw_cstr(&w, "kind", pyci_archive_kind_name(a->kind));
	pyci_jw_cstr(&w, "format", a->format);
	pyci_jw_u64(&w, "members", a->members);
	pyci_jw_u64(&w, "member_errors", a->member_errors);
	if (a->kind == PYCI_ARCHIVE_IMAGE) {
		pyci_jw_cstr(&w, "image", a->image);
		pyci_jw_u64(&w, "images_not_judged", a->images_not_judged);
		pyci_jw_begin_array(&w, "layers");
		for (size_t i = 0; i < a->nlayers; i++) {
			const pyci_layer_info *l = &a->layers[i];
			pyci_jw_begin(&w, NULL);
			pyci_jw_cstr(&w, "layer", l->name);
			pyci_jw_u64(&w, "caches", l->caches.total.count);
			pyci_jw_u64(&w, "bytes", l->caches.total.bytes);
			pyci_summary_members(&w, &l->caches);
			pyci_jw_begin(&w, "deleted_above");
			pyci_jw_u64(&w, "count", l->hidden.count);
			pyci_jw_u64(&w, "bytes", l->hidden.bytes);
			pyci_jw_end(&w);
			pyci_jw_end(&w);
		}
		pyci_jw_end_array(&w);
	}
	pyci_jw_end(&w);
	if (cli_json_line(&w) != 0) {
		e->write_failed = 1;
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Judge the archive (or its member) named by PATH p.  0 judged, 1 not (said), -1 errno. */
static int run_archive(struct scanrun *e, const char *archive, const char *member,
		       const pyci_scan_ops *ops)
{
	pyci_scan_options o = e->opt;
	if (strcmp(e->from, "option") != 0)
		o.targets = NULL; /* the interpreters on PATH say nothing of an archive's */
	pyci_archive_options ao = e->aopt;
	ao.member = member;
	pyci_archive_ops aops = {archive_error, archive_done, e};
	return pyci_scan_archive(archive, &ao, &o, ops, &aops);
}

/* The record callback while a progress line runs: its top-level directory, then the
 * command's. */
static int progress_record(void *ctx, const pyci_record *r)
{
	struct scanrun *e = ctx;
	progress_top(r->path, r->path_len);
	return e->record(ctx, r);
}

static int run_paths(struct scanrun *e, char **paths, const pyci_scan_ops *ops,
		     int (*refuse)(const char *path));

/*
 * --root: each PATH (a path inside the root) as the root's display path joined with where it
 * resolves inside the root (sysroot.h), into shown (NULL-terminated; texts in bufs); no PATH:
 * the root itself (or, for a prefix tree, no PATH).  sources: the PATHs are the source
 * directories of a prefix tree, made absolute inside the root and left unresolved (Python in
 * the root spells them so).  0, or -1 (said: a PATH that does not resolve, memory).
 */
static int root_paths(struct scanrun *e, char **paths, int sources, pyci_buf *bufs, char **shown)
{
	int rc = 0;
	size_t i = 0;
	for (; paths[i]; i++) {
		pyci_buf rel = PYCI_BUF_INIT;
		pyci_buf *b = &bufs[i];
		const char *r = e->root_text.data;
		if (sources) { /* as Python there spells them: from its "/", symlinks and all */
			const char *p = paths[i];
			while (*p == '/')
				p++;
			if (pyci_buf_putc(b, '/') != 0 || pyci_buf_puts(b, p) != 0) {
				cli_error("out of memory");
				rc = -1;
			}
			shown[i] = b->data;
			continue;
		}
		int k = pyci_sysroot_resolve(e->root_fd, paths[i], &rel);
		if (k != 0 && errno != ENOMEM) {
			path_refused(e, paths[i], "cannot resolve inside the root", errno, 1);
			rc = -1;
		} else if (k != 0 || pyci_buf_puts(b, r) != 0 ||
			   (rel.len && r[strlen(r) - 1] != '/' && pyci_buf_putc(b, '/') != 0) ||
			   pyci_buf_append(b, rel.data, rel.len) != 0 ||
			   pyci_buf_append(b, "", 0) != 0) {
			cli_error("out of memory");
			rc = -1;
		}
		shown[i] = b->data;
		pyci_buf_free(&rel);
	}
	if (i == 0 && !e->prefix) {
		if (pyci_buf_puts(&bufs[0], e->root_text.data) != 0) {
			cli_error("out of memory");
			return -1;
		}
		shown[i++] = bufs[0].data;
	}
	shown[i] = NULL;
	return rc;
}

static int run_root(struct scanrun *e, char **paths, const pyci_scan_ops *ops,
		    int (*refuse)(const char *path));

int scanrun_run(struct scanrun *e, char **paths, const pyci_scan_ops *ops,
		int (*refuse)(const char *path))
{
	if (!e->progress || e->no_progress || e->json)
		return run_root(e, paths, ops, refuse);
	atomic_init(&e->counters.dirs, 0);
	atomic_init(&e->counters.caches, 0);
	atomic_init(&e->counters.bytes, 0);
	pyci_scan_ops wrapped = *ops;
	if (ops->ctx == e && ops->record) { /* the top-level directory from the records */
		e->record = ops->record;
		wrapped.record = progress_record;
	}
	e->opt.progress = &e->counters;
	(void)progress_start(&e->counters); /* none when it cannot: the run goes on */
	int rc = run_root(e, paths, &wrapped, refuse);
	progress_stop();
	e->opt.progress = NULL;
	return rc;
}

/* --root: the PATHs, and the prefix, mapped into the root (root_paths), then run_paths.  As
 * scanrun_run. */
static int run_root(struct scanrun *e, char **paths, const pyci_scan_ops *ops,
		    int (*refuse)(const char *path))
{
	if (!e->root || e->files_from) /* a list's paths are mapped by pyci_scan_list */
		return run_paths(e, paths, ops, refuse);
	size_t n = 0;
	while (paths[n])
		n++;
	pyci_buf *bufs = calloc(n + 1, sizeof(*bufs)), prefix = PYCI_BUF_INIT;
	char **shown = calloc(n + 2, sizeof(*shown));
	const char *given = e->prefix;
	int rc = -1;
	if (!bufs || !shown) {
		cli_error("out of memory");
		goto out;
	}
	if (e->prefix) { /* a path inside the root, as Python there names it */
		char *p[] = {(char *)e->prefix, NULL};
		if (root_paths(e, p, 0, &prefix, shown) != 0)
			goto out;
		e->prefix = prefix.data;
	}
	if (root_paths(e, paths, e->prefix != NULL, bufs, shown) == 0)
		rc = run_paths(e, shown, ops, refuse);
out:
	for (size_t i = 0; bufs && i <= n; i++)
		pyci_buf_free(&bufs[i]);
	free(bufs);
	free(shown);
	e->prefix = given; /* the summary names the one given, inside the root */
	pyci_buf_free(&prefix);
	return rc;
}

static int run_paths(struct scanrun *e, char **paths, const pyci_scan_ops *ops,
		     int (*refuse)(const char *path))
{
	int fatal = 0;
	struct stat pst;
	if (e->prefix) {
		/* a mistyped prefix would make every source look uncached */
		int err = stat(e->prefix, &pst) != 0 ? errno : S_ISDIR(pst.st_mode) ? 0 : ENOTDIR;
		if (err) {
			path_refused(e, e->prefix, "cannot read the pycache prefix", err, 1);
			return -1;
		}
	}
	if (e->files_from)
		return run_list(e, ops);
	if (e->prefix)
		return run_prefix(e, paths, ops, refuse);
	static char dot[] = ".";
	char *dflt[] = {dot, NULL};
	char **all = *paths ? paths : dflt;
	/* every PATH is vetted before any is touched: one refused PATH stops the whole run */
	for (char **p = all; refuse && *p; p++)
		fatal |= refuse(*p);
	if (roots_overlap(all, &e->opt, e->refuse_overlap) && e->refuse_overlap)
		fatal = 1;
	if (fatal)
		return -1;
	pyci_buf archive = PYCI_BUF_INIT;
	for (char **p = all; *p; p++) {
		progress_root(*p);
		const char *member;
		int k = scanrun_archive_of(*p, &archive, &member);
		if (k == 1) {
			k = run_archive(e, archive.data, member, ops);
			if (k == 0)
				continue;
			if (k == 1) { /* said */
				fatal = 1;
				continue;
			}
		} else if (k == 0 && pyci_scan_path(*p, &e->opt, ops) == 0) {
			continue;
		}
		int err = errno;
		if (e->write_failed || e->stopped) {
			pyci_buf_free(&archive);
			return 1;
		}
		root_error(e, *p, err);
		fatal = 1;
		if (err == ENOMEM)
			break;
	}
	pyci_buf_free(&archive);
	if (!fatal)
		warn_unmatched(e);
	return fatal;
}

static const char *walk_err_text(pyci_walk_err kind)
{
	switch (kind) {
	case PYCI_WALK_ERR_OPEN:
		return "cannot open directory";
	case PYCI_WALK_ERR_READ:
		return "cannot read directory";
	case PYCI_WALK_ERR_CHANGED:
		return "directory changed during the walk, skipped";
	case PYCI_WALK_ERR_MOUNT_FILE:
		return "mount point, not judged";
	case PYCI_WALK_ERR_LISTED:
		return "cannot judge listed path";
	default:
		return "mount point not crossed (use --cross-mounts)";
	}
}

void scanrun_walk_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct scanrun *e = ctx;
	pyci_buf q = PYCI_BUF_INIT;
	/* keep stdout and stderr in order for a person watching both */
	if (!e->json && !e->write_failed)
		(void)scanrun_flush(e); /* a failure is said and kept in write_failed */
	int mount = kind == PYCI_WALK_ERR_MOUNT || kind == PYCI_WALK_ERR_MOUNT_FILE;
	if (mount)
		e->sum.mounts++;
	else
		e->sum.errors++;
	if (cli_quote_path(&q, path, strlen(path)) == 0) {
		if (mount || kind == PYCI_WALK_ERR_CHANGED)
			cli_error("'%s': %s", q.data, walk_err_text(kind));
		else
			cli_error("%s '%s': %s", walk_err_text(kind), q.data, strerror(err));
	} else { /* no memory to quote it: say it all the same */
		cli_error("%s: %s (and no memory left to name the path)", walk_err_text(kind),
			  strerror(err));
	}
	pyci_buf_free(&q);
	if (e->json)
		error_record(e, path, walk_err_text(kind), err);
}

static int targets_list(pyci_buf *b, const pyci_targets *t)
{
	for (size_t i = 0; i < t->count; i++) {
		char name[24];
		pyci_target_format(&t->items[i], name, sizeof(name));
		if (pyci_buf_printf(b, "%s%s", i ? ", " : "", name) != 0)
			return -1;
	}
	return 0;
}

int scanrun_warn_guessed_targets(struct scanrun *e)
{
	if (!e->opt.targets || strcmp(e->from, "option") == 0 || e->warned_guessed)
		return 0;
	e->warned_guessed = 1;
	pyci_buf names = PYCI_BUF_INIT;
	if (targets_list(&names, e->opt.targets) != 0) {
		pyci_buf_free(&names);
		cli_error("out of memory");
		return -1;
	}
	/* keep stdout and stderr in order for a person watching both */
	if (!e->json && !e->write_failed && scanrun_flush(e) != 0) {
		pyci_buf_free(&names);
		return -1;
	}
	cli_error("warning: the targets were found %s (%s); the caches of every other "
		  "interpreter are foreign and selected for removal, except in and below a "
		  "directory whose pyvenv.cfg names its interpreter (name the interpreters to keep "
		  "with --target)",
		  e->root ? "in the root" : "on PATH", names.data);
	pyci_buf_free(&names);
	return 0;
}

/* Whether a pyvenv.cfg that names an interpreter was found. */
static int venv_targets_found(const struct scanrun *e)
{
	for (size_t i = 0; i < e->nvenvs; i++)
		if (e->venvs[i].status == PYCI_VENV_OK)
			return 1;
	return 0;
}

/* The lines of the virtual environments whose pyvenv.cfg named the target in them:
 * "  3.12 below ./venv (from ./venv/pyvenv.cfg)".  0, or -1 (ENOMEM). */
static int venv_lines(pyci_buf *b, const struct scanrun *e)
{
	int rc = 0;
	for (size_t i = 0; i < e->nvenvs && !rc; i++) {
		const struct scanrun_venv *v = &e->venvs[i];
		char name[24];
		if (v->status != PYCI_VENV_OK)
			continue; /* the targets around it apply there: said on stderr */
		pyci_target_format(&v->target, name, sizeof(name));
		rc = pyci_buf_printf(b, "  %s below ", name) ||
		     cli_quote_path(b, v->root, strlen(v->root)) || pyci_buf_puts(b, " (from ") ||
		     cli_quote_path(b, v->config, strlen(v->config)) || pyci_buf_puts(b, ")\n");
	}
	return rc ? -1 : 0;
}

int scanrun_summary_text(struct scanrun *e)
{
	pyci_buf *b = &e->out;
	const pyci_summary *s = &e->sum;
	int rc = 0;
	int venvs = venv_targets_found(e);
	const char *found = e->root ? "in the root" : "on PATH";
	if (e->archive_text.len)
		rc |= pyci_buf_append(b, e->archive_text.data, e->archive_text.len);
	if (e->root) {
		rc |= pyci_buf_puts(b, "root: ");
		rc |= cli_quote_path(b, e->root, strlen(e->root));
		rc |= pyci_buf_puts(b, " (paths, symlinks and interpreters resolved inside it)\n");
	}
	if (e->opt.targets) {
		rc |= pyci_buf_puts(b, "targets: ");
		rc |= targets_list(b, e->opt.targets);
		rc |= pyci_buf_printf(b, " (from %s)\n",
				      !strcmp(e->from, "option") ? "--target"
				      : e->root && e->archives
					      ? "the root's interpreters; not applied to archives, "
						"use --target"
				      : e->root     ? "the root's interpreters"
				      : e->archives ? "PATH; not applied to archives, use --target"
						    : "PATH");
	} else if (venvs) {
		rc |= pyci_buf_printf(b,
				      "targets: none found %s (use --target), so no cache is "
				      "judged foreign but in these virtual environments:\n",
				      found);
	} else {
		rc |= pyci_buf_printf(b,
				      "targets: none found %s, so no cache is judged foreign "
				      "(use --target)\n",
				      found);
	}
	if (venvs)
		rc |= venv_lines(b, e);
	if (e->have_list) {
		const pyci_list_stats *l = &e->list;
		unsigned long long p = l->paths, so = l->sources, ca = l->caches, ot = l->others;
		rc |= pyci_buf_printf(b,
				      "listed: %llu path%s: %llu source%s, %llu cache%s, %llu not "
				      "judged (directories, other files)",
				      p, p == 1 ? "" : "s", so, so == 1 ? "" : "s", ca,
				      ca == 1 ? "" : "s", ot);
		if (l->missing)
			rc |= pyci_buf_printf(b, "; %llu not found or unreadable",
					      (unsigned long long)l->missing);
		rc |= pyci_buf_putc(b, '\n');
	}
	if (e->prefix) {
		rc |= pyci_buf_puts(b, "pycache prefix: ");
		rc |= cli_quote_path(b, e->prefix, strlen(e->prefix));
		rc |= pyci_buf_printf(b, " (from %s)\n",
				      strcmp(e->prefix_from, "option") ? "PYTHONPYCACHEPREFIX"
								       : "--pycache-prefix");
	}
	if (e->env_prefix && (!e->prefix || strcmp(e->prefix, e->env_prefix) != 0)) {
		rc |= pyci_buf_puts(b, "PYTHONPYCACHEPREFIX is ");
		rc |= cli_quote_path(b, e->env_prefix, strlen(e->env_prefix));
		rc |= pyci_buf_puts(b, ": Python run with this environment writes and reads its "
				       "caches there, not in __pycache__ (--pycache-prefix-env "
				       "judges them)\n");
	}
	if (s->errors)
		rc |= pyci_buf_printf(b, "errors: %llu (see stderr)\n",
				      (unsigned long long)s->errors);
	if (s->mounts)
		rc |= pyci_buf_printf(b, "mount points not crossed: %llu\n",
				      (unsigned long long)s->mounts);
	return rc ? -1 : 0;
}

void scanrun_summary_begin(struct scanrun *e, pyci_jw *w)
{
	pyci_jw_init(w, &e->out);
	pyci_jw_begin(w, NULL);
	pyci_jw_cstr(w, "type", "summary");
	pyci_jw_u64(w, "caches", e->sum.total.count);
	pyci_jw_u64(w, "bytes", e->sum.total.bytes);
	pyci_summary_members(w, &e->sum);
	pyci_jw_u64(w, "foreign", e->sum.foreign);
}

void scanrun_summary_members(const struct scanrun *e, pyci_jw *w)
{
	if (e->opt.targets) {
		pyci_jw_begin_array(w, "targets");
		for (size_t i = 0; i < e->opt.targets->count; i++) {
			char name[24];
			pyci_target_format(&e->opt.targets->items[i], name, sizeof(name));
			pyci_jw_cstr(w, NULL, name);
		}
		pyci_jw_end_array(w);
		pyci_jw_cstr(w, "targets_from", e->from);
	} else {
		pyci_jw_null(w, "targets");
		pyci_jw_null(w, "targets_from");
	}
	if (!e->opt.venv_targets) {
		pyci_jw_null(w, "venvs"); /* not looked for: --target */
	} else {
		pyci_jw_begin_array(w, "venvs");
		for (size_t i = 0; i < e->nvenvs; i++) {
			const struct scanrun_venv *v = &e->venvs[i];
			pyci_jw_begin(w, NULL);
			pyci_jw_cstr(w, "root", v->root);
			pyci_jw_cstr(w, "config", v->config);
			if (v->status == PYCI_VENV_OK) {
				char name[24];
				pyci_target_format(&v->target, name, sizeof(name));
				pyci_jw_cstr(w, "target", name);
				pyci_jw_null(w, "error");
			} else {
				char why[160];
				pyci_jw_null(w, "target");
				pyci_jw_cstr(w, "error", venv_problem(v, why, sizeof(why)));
			}
			pyci_jw_end(w);
		}
		pyci_jw_end_array(w);
	}
	pyci_jw_cstr(w, "check_source", check_source_values[e->opt.check]);
	if (e->root)
		pyci_jw_cstr(w, "root", e->root);
	if (e->have_list) {
		pyci_jw_begin(w, "listed");
		pyci_jw_u64(w, "paths", e->list.paths);
		pyci_jw_u64(w, "sources", e->list.sources);
		pyci_jw_u64(w, "caches", e->list.caches);
		pyci_jw_u64(w, "others", e->list.others);
		pyci_jw_u64(w, "missing", e->list.missing);
		pyci_jw_end(w);
	}
	if (e->prefix) {
		pyci_jw_cstr(w, "pycache_prefix", e->prefix);
		pyci_jw_cstr(w, "pycache_prefix_from", e->prefix_from);
	}
	if (e->env_prefix)
		pyci_jw_cstr(w, "env_pycache_prefix", e->env_prefix);
	pyci_jw_u64(w, "errors", e->sum.errors);
	pyci_jw_u64(w, "mounts_not_crossed", e->sum.mounts);
}

void scanrun_free(struct scanrun *e)
{
	for (size_t i = 0; i < e->nvenvs; i++) {
		free(e->venvs[i].root);
		free(e->venvs[i].config);
	}
	free(e->venvs);
	free(e->excludes);
	if (e->root && e->root_fd >= 0)
		close(e->root_fd);
	pyci_buf_free(&e->root_text);
	free(e->exclude_hits);
	pyci_summary_free(&e->sum);
	pyci_buf_free(&e->out);
	pyci_buf_free(&e->archive_text);
}
