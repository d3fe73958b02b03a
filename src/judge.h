/*
 * judge.h - everything about one cache: read its first bytes, stat it, look its source up, hash
 * the source when the verdict needs it, judge.
 *
 * The judge knows nothing of walks.  It is given the directory a cache is read from, its name,
 * and a way to look its source up (judge_sources): the walk gives "stat and open NAME in the
 * cache's source directory" (judge_source_dir); an archive, a prefix tree or a file list give
 * their own.  A module shadowed by a package or an extension module is looked for among the
 * candidates the caller found in the source directory's listing (shadow.h), through the
 * sources' directory descriptor.  One judge per thread; it remembers the last few sources it stat'ed and hashed, so
 * the caches of one source (its .opt-N siblings and other tags, which sort together) share one
 * stat and one hash.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_JUDGE_H
#define PYCI_JUDGE_H

#include <sys/stat.h>

#include "pycinspect/scan.h"
#include "shadow.h"

/* Where the sources are: stat and open a source by name (NAME.py). */
typedef struct judge_source_ops {
	/* stat(2) of name, following symlinks as CPython does.  0, or -1 with errno. */
	int (*stat)(void *ctx, const char *name, struct stat *st);
	/* A descriptor open for reading on name (flags: openat's, O_RDONLY among them), or -1 with
	 * errno; *noatime as in readopen.h. */
	int (*open)(void *ctx, const char *name, int flags, int *noatime);
	/* The directory the names are in, so that their stats can be batched with the caches' I/O
	 * (peek.c), or -1: they are stat'ed through stat.  NULL: -1. */
	int (*dirfd)(void *ctx);
	/* Where what shadows a module is looked up (shadow.h): 0 and *d, or -1: nothing is.
	 * NULL: through dirfd, when it gives a directory. */
	int (*shadow_dir)(void *ctx, shadow_dir *d);
} judge_source_ops;

/* Sources beside the cache's directory: ctx points to the int descriptor of that directory. */
extern const judge_source_ops judge_source_dir;

/* Sources in a directory that could not be opened (a prefix tree's source directory that is
 * gone, or unreadable): ctx points to the int errno of that open, which every lookup fails
 * with (ENOENT and ENOTDIR: the sources are gone; any other: they cannot be checked). */
extern const judge_source_ops judge_source_none;

/* Sources beside the cache's directory in a staging root (pyci_scan_options.root): ctx points
 * to one of these.  A name that is not a symlink is looked up in dirfd; one that is, and every
 * open, inside the root as the installed system resolves it (sysroot.h), by the path dir/NAME;
 * so is what shadows a module.
 * path is the judge's scratch: one judge_root_src per thread. */
typedef struct judge_root_src {
	int dirfd;       /* the sources' directory */
	int rootfd;      /* the root's */
	const char *dir; /* the sources' directory's path inside the root */
	pyci_buf path;
} judge_root_src;
extern const judge_source_ops judge_source_root;

/* What the judge found about one cache.  cname is the caller's input. */
typedef struct judge_result {
	pyci_cache_name cname;
	pyci_header header; /* a Jython class file's is that of 0 bytes */
	pyci_jclass jclass; /* a Jython class file's (cname.kind PYCI_NAME_JYTHON) */
	pyci_verdict verdict;
	int have_source; /* source valid (the name has a source) */
	pyci_source_info source;
	int have_file; /* file valid */
	pyci_file_info file;
	int file_errno; /* errno when the cache could not be opened or read */
	int mount_root; /* a file mounted over the name: not judged, header and verdict
			 * untouched */
	pyci_load load; /* deep scans (options.deep) */
} judge_result;

struct judge;

/* A judge for options o (check mode, I/O; o must outlive it).  NULL on ENOMEM. */
struct judge *judge_new(const pyci_scan_options *o);
void judge_free(struct judge *jd);

/* From now on, sources are looked up through ops with ctx; what was remembered is forgotten. */
void judge_sources(struct judge *jd, const judge_source_ops *ops, void *ctx);

/* One cache to judge: where it is, what the listing said it is, and its result (whose cname
 * the caller has parsed). */
typedef struct judge_req {
	const char *name;
	judge_result *res;
	int dirfd;
	unsigned char d_type; /* DT_REG is opened and read; anything else only stat'ed */
	/* what beside the source could shadow its module (shadow.h's shadow_collect, from the
	 * listing of the sources' directory); shadow_len 0: nothing */
	const char *shadow;
	size_t shadow_len;
	const pyci_targets *targets; /* what it is judged against (NULL: nothing is foreign) */
} judge_req;

/*
 * Judge the n caches of req, all with their sources where judge_sources said.  Fills each
 * res; never fails (failures become statuses, reasons and file_errno).  The I/O of up to
 * PEEK_MAX_BATCH caches is done together (peek.c), but for Jython's class files, which are
 * read one at a time by plain calls, as far as their structure leads (jclass.h).
 */
void judge_batch(struct judge *jd, judge_req *req, size_t n);

#endif
