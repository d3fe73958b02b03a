/*
 * scan.h - find every cache under a path and judge it: the engine behind scan, clean and dump.
 *
 * For each .pyc/.pyo (in __pycache__ or beside its source) the engine reads at most
 * PYCI_PEEK_SIZE bytes, and for each Jython NAME$py.class (beside its source) the parts of its
 * structure that lead to its annotations (jclass.h); it stats the source once (shared by the
 * .opt-N siblings and the other tags of the same source), hashes the source only for
 * hash-based caches that need it, and calls
 * ops->record with the verdict while the cache's directory is still open, so that a caller can
 * act on it through the descriptor (clean).  Entries that are not regular files are never opened.
 *
 * Directories are walked and their caches judged on worker threads; ops->record and ops->error
 * are always called on the calling thread, one at a time, in the walk's order, whatever the
 * number of threads.  Heavy per-cache work of the caller's own (dump's objects) can run on the
 * worker threads too, through ops->prepare.
 */
#ifndef PYCINSPECT_SCAN_H
#define PYCINSPECT_SCAN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pycinspect/buf.h"
#include "pycinspect/cachename.h"
#include "pycinspect/debris.h"
#include "pycinspect/header.h"
#include "pycinspect/jclass.h"
#include "pycinspect/venv.h"
#include "pycinspect/verdict.h"
#include "pycinspect/walk.h"

/* How the engine does its per-cache I/O. */
typedef enum {
	PYCI_IO_AUTO = 0, /* io_uring when the kernel allows it (and every operation needed),
			   * else plain system calls */
	PYCI_IO_URING,    /* io_uring; plain calls only where the kernel refuses it */
	PYCI_IO_PLAIN,    /* plain system calls */
} pyci_io;

/*
 * What a scan has done so far, for a caller that watches it from another thread (the CLI's
 * progress line): the engine adds to these with relaxed atomic operations as it goes, and never
 * reads them.  Zero them (atomic_init) before the scan; they keep counting across several scans
 * given the same struct.
 */
typedef struct pyci_scan_progress {
	atomic_ullong dirs;   /* directories listed (a __pycache__ not counted apart) */
	atomic_ullong caches; /* caches given to ops->record */
	atomic_ullong bytes;  /* their sizes (as pyci_summary_add counts them) */
} pyci_scan_progress;

typedef struct pyci_scan_options {
	pyci_check_source check;
	const pyci_targets *targets; /* NULL: no cache is foreign */
	int cross_mounts;
	unsigned max_fds;            /* descriptor budget; 0: from RLIMIT_NOFILE */
	unsigned threads;            /* threads in all, the calling one included; 0: one per
				      * online CPU (at most 8); 1: everything on the calling
				      * thread */
	const char *const *excludes; /* NULL-terminated fnmatch(3) globs, or NULL: a directory or
				      * cache whose name matches is left out; a glob with a '/'
				      * is matched against the path below the root instead, as
				      * is one that starts with "./" or "/"; one that ends with
				      * '/' matches directories only */
	atomic_ulong *exclude_hits;  /* NULL, or one counter per glob of excludes, increased
				      * by the walk for each entry the glob left out (a glob
				      * that matched nothing was mistyped, perhaps) */
	int no_default_excludes;     /* also walk .git, .hg, .svn and node_modules */
	int defer_close;             /* pyci_walk_options.defer_close: for callers that remove
				      * directories during the scan (clean) */
	size_t prepared_budget;      /* bytes of ops->prepare output that may wait to be
				      * reported; 0: PYCI_PREPARED_BUDGET */
	pyci_io io;                  /* the same results either way (PYCI_IO_AUTO) */
	int deep;                    /* also load the body of each cache the interpreter would
				      * load (pyci_load): one that fails to load is invalid */
	int venv_targets;            /* targets from virtual environments: where a directory
				      * holds a pyvenv.cfg (venv.h) that names an interpreter,
				      * that one is the only target in the directory and below
				      * it, instead of `targets` (a nested one wins below
				      * itself); so is the one of the nearest such directory
				      * above the scanned path (looked for up to the filesystem
				      * root, not past the path's own mount unless
				      * cross_mounts).  A pyvenv.cfg that names none (a symlink,
				      * never followed; unreadable; no version ...) changes
				      * nothing.  Each one is told to ops->venv.  0: `targets`
				      * everywhere, nothing is told */
	unsigned debris;             /* topics (debris.h) whose debris ops->debris is given, and
				      * the walk does not enter; 0: none.  Not searched for in a
				      * __pycache__, below the directories pyci_debris_stops
				      * names, nor in a PATH that pyci_debris_installed_path
				      * finds among installed packages */
	int empty_pycache;           /* ops->dir_done also for a __pycache__ that holds no
				      * entry at all when listed */
	/* NULL, or counters the scan adds to (pyci_scan_progress) */
	pyci_scan_progress *progress;
	/* NULL, or a staging root (sysroot.h): the display path of a tree whose every path scanned
	 * starts with it (root "/" rel); sources, and the directories pyci_scan_prefix mirrors, are
	 * looked up inside it as if it were "/", and pyvenv.cfg is not looked for above it */
	const char *root;
	int root_fd; /* with root: its directory (O_PATH will do) */
} pyci_scan_options;

/* The directories left out unless no_default_excludes (a root named by the caller never is). */
extern const char *const pyci_default_excludes[];

/*
 * Whether a walk with options o leaves out the entry `name` whose parent is `parent_below`
 * below the root ("" for the root itself; '/'-separated, leading '/' ignored): a directory in
 * pyci_default_excludes (unless o->no_default_excludes), or a match of one of o->excludes
 * (a glob without '/' against name, one with '/' against parent_below/name).  dir: the entry
 * is a directory, else a cache file.  scratch: the caller's buffer for the joined path.
 * 1 left out (also when memory for the joined path ran out: what may be excluded is not
 * entered), 0 not.
 */
int pyci_scan_excluded(const pyci_scan_options *o, const char *parent_below, const char *name,
		       int dir, pyci_buf *scratch);

/* What lstat/fstat said of the cache file itself. */
typedef struct pyci_file_info {
	uint64_t dev, ino;
	uint32_t mode;
	uint64_t size;
	int64_t mtime_sec;
	long mtime_nsec;
} pyci_file_info;

/* What loading a cache's body as its interpreter would (marshal.loads) gave: deep scans. */
typedef enum {
	PYCI_LOAD_NOT_CHECKED = 0, /* not a deep scan, or a body no import would load */
	PYCI_LOAD_OK,              /* it loads (trailing bytes after the code are ignored) */
	PYCI_LOAD_FAILS,           /* the import fails: exception, message, offset */
	PYCI_LOAD_UNCHECKED,       /* could not be checked: message says why (I/O, changed, too
				    * large, a version the decoder does not read) */
} pyci_load_state;

typedef struct pyci_load {
	pyci_load_state state;
	const char *exception; /* FAILS: "EOFError", "ValueError", ... (static storage) */
	const char *message;   /* FAILS: the interpreter's message; UNCHECKED: why (static) */
	uint64_t offset;       /* FAILS: where in the file the interpreter stops */
} pyci_load;

typedef struct pyci_record {
	const char *path; /* display path of the cache; NUL-terminated */
	size_t path_len;
	const char *name; /* its name within dirfd */
	size_t name_len;
	int dirfd;               /* the directory holding it, open during the callback */
	int srcdirfd;            /* the directory of its source, open during the callback; -1
				  * when it could not be opened (a prefix tree's source directory
				  * that is gone: source->err says why) */
	const char *source_path; /* display path of the source, or NULL (bad cache name) */
	size_t source_path_len;
	const pyci_cache_name *cname;
	const pyci_header *header; /* decoded as far as the bytes allowed; for a Jython class
				    * file, that of 0 bytes (status PYCI_HDR_EMPTY) */
	const pyci_jclass *jclass; /* a Jython class file (cname->kind PYCI_NAME_JYTHON): what was
				    * decoded of it (zeroed when it was not read); else NULL */
	const pyci_verdict *verdict;
	const pyci_source_info *source; /* NULL when source_path is NULL */
	int have_file;                  /* file fields valid */
	pyci_file_info file;
	int file_errno;           /* errno when the cache could not be opened or read */
	const pyci_buf *prepared; /* what ops->prepare wrote for it, or NULL (not asked, it
				   * failed, or the engine left the work to ops->record) */
	int prepared_rc;          /* what ops->prepare returned, when prepared */
	const pyci_load *load;    /* deep scans: what loading the body gave; else NULL */
	const pyci_venv *venv;    /* the virtual environment whose pyvenv.cfg gave the targets
				   * it was judged against (venv_targets), or NULL: the
				   * options' targets */
	int in_prefix;            /* a cache of a pycache-prefix tree (pyci_scan_prefix; with a
				   * prefix, pyci_scan_list): layout "prefix" */
	const struct pyci_member *member; /* a member of an archive (archive.h): where it is;
					   * NULL for a file */
	const char *path_in_root;         /* with a staging root (pyci_scan_options.root): the
				     * cache's path inside it, from its "/" ("/usr/lib/..."), as
				     * the installed system names it; else NULL */
	const char *source_in_root;       /* with a staging root, the source's, which root_fd
				     * resolves as the installed system will (sysroot.h); else
				     * NULL */
	int root_fd;
} pyci_record;

/* Count r's cache in p (NULL: nothing), as the engine does before each ops->record: relaxed
 * atomic additions to caches and bytes. */
void pyci_scan_progress_record(pyci_scan_progress *p, const pyci_record *r);

/*
 * A directory whose caches (or debris) were just reported: the directory of the legacy caches
 * and of the sources, and its __pycache__ as it was listed.  Both descriptors are open during
 * the call.
 */
typedef struct pyci_dir_done {
	int fd;           /* the directory (the sources' directory) */
	const char *path; /* its display path */
	int has_pycache;  /* the fields below describe its __pycache__ */
	int pycache_fd;
	const char *pycache_name; /* "__pycache__", its name in fd */
	const char *pycache_path;
	size_t entries;      /* entries it held when listed ("." and ".." aside) */
	size_t caches;       /* of which reported as caches just before */
	const char *others;  /* names of the other entries, each NUL-terminated (at most 8) */
	size_t others_named; /* how many names `others` holds */
	/* the directory itself (opt->debris): */
	const char *name;                 /* its name in its parent, when if_empty; else NULL */
	size_t dir_entries;               /* entries it held when listed */
	const pyci_debris_rule *if_empty; /* it is debris once nothing is left in it (an
					   * if-empty rule: build/, .pyright/), or NULL */
} pyci_dir_done;

/* Non-cache trouble on the way: directories that could not be entered, and mount points. */
typedef struct pyci_scan_ops {
	/* One cache judged.  Return 0 to go on; -1 (keep errno) stops the scan. */
	int (*record)(void *ctx, const pyci_record *r);
	/* A directory not walked (see pyci_walk_err); err is an errno. */
	void (*error)(void *ctx, const char *path, pyci_walk_err kind, int err);
	/* After the records of a directory and its __pycache__, when there were any, or debris,
	 * an if-empty directory, or (opt->empty_pycache) an empty __pycache__ (NULL: not wanted).
	 * -1 (keep errno) stops the scan. */
	int (*dir_done)(void *ctx, const pyci_dir_done *d);
	void *ctx;
	/*
	 * Optional (NULL: none): per-cache work done ahead of ops->record, on the threads that
	 * judge, so that it runs on every core.  Called with the record as ops->record will see
	 * it (its directories open, prepared NULL) and an empty buffer of its own; returns a
	 * value >= 0, which ops->record gets with the buffer as r->prepared_rc and r->prepared, or
	 * -1 to leave the work to ops->record.  Called from several threads at once with the same
	 * ctx.  While more than the budget (pyci_scan_options.prepared_budget) of prepared output
	 * waits to be reported, the engine does not call it and ops->record gets prepared NULL:
	 * memory stays bounded.
	 */
	int (*prepare)(void *ctx, const pyci_record *r, pyci_buf *out);
	/*
	 * Optional (NULL: not told): with venv_targets, a pyvenv.cfg found, whether it names an
	 * interpreter (v->status PYCI_VENV_OK: the target below v->root) or not (then the
	 * targets around it apply below it).  Called in walk order, before the records below
	 * v->root; those above the scanned path first of all, outermost first.  v is valid
	 * during the call.  -1 (keep errno) stops the scan.
	 */
	int (*venv)(void *ctx, const pyci_venv *v);
	/* Debris found in a directory (opt->debris: a tree, a file or a symlink), in name order,
	 * after the records of the directory and before its dir_done, while it is open; a
	 * directory found is not walked (pyci_debris_remove can).  NULL: not wanted.  -1 (keep
	 * errno) stops the scan. */
	int (*debris)(void *ctx, const pyci_debris_found *f);
} pyci_scan_ops;

#define PYCI_PREPARED_BUDGET ((size_t)64 << 20)

/*
 * Scan `path`: a directory (walked, see walk.h) or a single cache file.  A path that is a
 * symlink is not followed (write "link/" to scan the directory it points to).
 * Returns 0 when the walk finished (per-entry trouble reported through ops), or -1 with errno:
 * the path cannot be opened (ELOOP for a symlink), is neither a directory nor a regular file
 * (EINVAL), memory ran out, or ops->record stopped the scan.
 */
int pyci_scan_path(const char *path, const pyci_scan_options *opt, const pyci_scan_ops *ops);

/*
 * Scan the pycache-prefix tree `prefix` (prefix.h): the caches an interpreter with that
 * sys.pycache_prefix writes, read, and never looks for in __pycache__.  The directory prefix is
 * followed when it is a symlink, as the interpreter follows it; below it the walk is
 * pyci_scan_path's, every cache name read as a __pycache__ entry's, and the source of
 * PREFIX/R/NAME.TAG.pyc looked up as /R/NAME.py, following symlinks as CPython does.  dir NULL:
 * the whole tree; else only the caches of the sources under the directory dir (made absolute
 * and normalised as pyci_prefix_rel says), that is the tree's directory
 * pyci_prefix_cache_dir(prefix, dir) and below it, whether or not dir still exists; the
 * directories on the way there are walked but not judged, and a tree that has no such directory
 * gives no record at all.  Records have in_prefix set, and are never in a __pycache__ that
 * dir_done offers for removal.  A source directory that cannot be opened gives srcdirfd -1 and
 * its errno in each source's err (ENOENT, ENOTDIR: the caches are orphaned).  The caches are
 * judged against opt->targets: a prefix tree holds no pyvenv.cfg, and those of the sources'
 * directories are not looked for (venv_targets does not apply).
 * Returns as pyci_scan_path; ENOTDIR when prefix is not a directory, EINVAL when it is "".
 */
int pyci_scan_prefix(const char *prefix, const char *dir, const pyci_scan_options *opt,
		     const pyci_scan_ops *ops);

/* What pyci_scan_list made of the paths it was given. */
typedef struct pyci_list_stats {
	uint64_t paths;   /* paths given (empty ones aside) */
	uint64_t sources; /* of which sources: a name NAME.py */
	uint64_t caches;  /* cache names: NAME.pyc, NAME.pyo and the __pycache__ forms */
	uint64_t others;  /* neither: not judged, not even looked at (directories, other files) */
	uint64_t missing; /* sources and caches reported as not found or not readable */
} pyci_list_stats;

/*
 * Judge the caches of exactly the n listed paths, walking nothing: a source (NAME.py) brings
 * its caches (the entries of its directory's __pycache__ whose names map to it, debris
 * included, and a legacy NAME.pyc or NAME.pyo, or Jython's NAME$py.class, beside it; with
 * prefix, those of the prefix tree instead, pyci_scan_prefix's rule); a cache name is judged
 * against its source (one inside prefix, by text, by the prefix rule, as CPython's
 * source_from_cache reads it); anything else is
 * counted and left alone.  Directories are followed as a path is (the file at the end of it is
 * not).  Each cache is judged once however often, and in whatever spelling, it is listed or
 * brought (by the identity of its directory, and its name).  Records come a directory at a time
 * in the order each was first named, the caches of a directory in name order, legacy ones first.
 * A listed source or cache that cannot be found or read is reported through ops->error with
 * PYCI_WALK_ERR_LISTED and its errno, in that place, and the others are still judged (the caches
 * of a listed source that is gone too: they are orphans).  Nothing listed is left out by
 * opt->excludes.  A __pycache__ is offered to dir_done (for clean to remove once empty) as the
 * walk offers it, with its entries that were not judged counted as its other entries; a prefix
 * tree's directories never are.  stats (NULL: not wanted) counts the paths.
 * With opt->venv_targets, the caches of each directory are judged against the targets a walk
 * of a PATH there would give them: the pyvenv.cfg in the sources' directory or the nearest
 * above it that names an interpreter (venv_targets' rule; under opt->root, not above the root),
 * looked for once per directory (a climb stops at a directory answered before), each one found
 * told to ops->venv once, the outermost first, before the records below it.  With prefix, the
 * caches are judged against opt->targets, as pyci_scan_prefix's are.
 * With a staging root (opt->root), each path is a path of the installed system: its directory
 * (a __pycache__'s parent for a cache in one) is resolved inside the root (sysroot.h; a
 * relative path from the root's top), and the records name the files at opt->root joined with
 * where it resolved, as a walk's do; a path whose directory does not resolve is reported as
 * above, with the errno of the resolution.  prefix must then be NULL (EINVAL: not done).
 * Returns 0 when every path was handled, or -1 with errno: memory ran out, ops->record stopped
 * the scan, or (ENOTDIR, ...) prefix cannot be opened as a directory.
 */
int pyci_scan_list(const char *const *paths, size_t n, const char *prefix,
		   const pyci_scan_options *opt, const pyci_scan_ops *ops, pyci_list_stats *stats);

#endif
