/*
 * gitfind.h - what `pycinspect git` finds in one repository: the caches its index tracks, the
 * answers of its ignore rules for every directory that holds Python sources, and the untracked
 * caches that no rule ignores.  gitfind.c reads the index and HEAD and judges the tracked
 * caches; gitwalk.c walks the work tree for what the index does not know.
 *
 * A cache, by name, is what the advice every Python project follows keeps out of git: anything
 * inside a __pycache__ directory, and every *.pyc, *.pyo and *$py.class (Jython's) file.
 */
#ifndef PYCINSPECT_CLI_GITFIND_H
#define PYCINSPECT_CLI_GITFIND_H

#include <stddef.h>
#include <stdint.h>

#include "gitrepo.h"
#include "pathlist.h"
#include "pycinspect/scan.h"
#include "pycinspect/verdict.h"

/* Whether path[0 .. len) (relative to the top, '/'-separated) is a cache by name. */
int gitfind_is_cache(const char *path, size_t len);

/* The part of a repository a run looks at: the PATHs given, relative to the top. */
struct gitscope {
	struct pathlist dirs;  /* directories ("" for the whole work tree), none inside another */
	struct pathlist files; /* single files (a cache named by its path) */
};

/* Whether path (a file, relative to the top) is in scope: under one of the directories, or one
 * of the files. */
int gitscope_has_file(const struct gitscope *s, const char *path, size_t len);
/* Whether the directory dir ("" for the top) is in scope: one of the directories or below one. */
int gitscope_has_dir(const struct gitscope *s, const char *dir, size_t len);
/* Whether a PATH names path itself: the file, or a directory holding it other than the top. */
int gitscope_names(const struct gitscope *s, const char *path, size_t len);

/* The work-tree file of a tracked cache. */
enum gitwt {
	GITWT_PRESENT,  /* a regular file, judged */
	GITWT_DELETED,  /* not in the work tree */
	GITWT_SPARSE,   /* not checked out (sparse checkout: skip-worktree) */
	GITWT_NOT_FILE, /* a symlink, directory or other: not judged */
};

/* One index entry that is a cache by name. */
struct gittracked {
	char *path; /* relative to the top, as the index has it (owned) */
	size_t len;
	uint32_t mode;
	char id[GIT_OID_HEXSZ + 1];
	int stage;     /* 0, or 1-3 for a conflict */
	int in_head;   /* in HEAD's tree */
	int modified;  /* in HEAD with another blob or mode: a staged change */
	int exception; /* no source where Python would look for one: possibly a deliberate
			      * sourceless distribution */
	int named;     /* a PATH names it (an exception is then untracked by --fix) */
	enum gitwt wt; /* its work-tree file */
	int judged;    /* pyci_scan_path judged it: the fields below */
	pyci_status status;
	char version[24];    /* "3.12", "" when the magic is unknown */
	uint64_t reasons;    /* PYCI_REASON_BIT()s */
	int judge_errno;     /* why it was not judged (EINVAL: not a .pyc/.pyo name), or 0 */
	enum gitign ignored; /* what the ignore rules would say of it once untracked */
};

/* The four questions asked of each directory D, one per kind of cache a Python writes there. */
enum {
	PROBE_PYCACHE, /* D/__pycache__/ (a directory): the rule __pycache__/ */
	PROBE_PYC,     /* D/pycinspect-probe.pyc: *.py[cod] */
	PROBE_PYO,     /* D/pycinspect-probe.pyo: *.py[cod] */
	PROBE_CLASS,   /* D/pycinspect-probe$py.class: *$py.class */
	PROBE_COUNT,
};

/* The probe's name below D and the rule that covers it ("__pycache__/", "*.py[cod]",
 * "*$py.class"). */
extern const char *const gitfind_probe_names[PROBE_COUNT];
extern const char *const gitfind_probe_rules[PROBE_COUNT];

/* The three rules, in the order --fix appends them, and which probes each covers. */
#define GITFIND_RULES 3
extern const char *const gitfind_rules[GITFIND_RULES];
int gitfind_rule_of_probe(int probe);

struct gitfindings {
	struct gittracked *tracked; /* in the index's order */
	size_t ntracked, cap;
	struct pathlist dirs; /* directories asked about (sorted), "" for the top */
	unsigned char (*answers)[PROBE_COUNT]; /* enum gitign per directory and probe */
	struct pathlist at_risk;               /* untracked caches no rule ignores (sorted) */
	struct pathlist submodules; /* checked-out submodules in scope, relative to the top */
	struct pathlist negations;  /* "FILE:LINE: PATTERN" of literal negations of cache names
				    * in a .gitignore below the top (libgit2 may disregard them) */
	uint64_t walk_errors;       /* directories that could not be read */
	/* what gitfind and gitwalk share while they run */
	struct pathlist index_dirs;  /* every directory of an index entry (sorted) */
	struct pathlist gitlinks;    /* the submodule entries (stage 0) in scope (sorted) */
	struct pathlist source_dirs; /* directories holding sources, from the index (sorted) */
	struct pathlist found_dirs;  /* more of them, found in the work tree */
};

/*
 * Find in r what scope covers.  staged: only the index and HEAD are read (the tracked caches
 * whose staged state differs from HEAD's; no work tree, no ignore rules).  opt: how to judge the
 * tracked caches (the targets of scan).  0, or -1 (said; out of memory or a libgit2 failure).
 */
int gitfind_run(struct gitrepo *r, const struct gitscope *scope, int staged,
		const pyci_scan_options *opt, struct gitfindings *f);

void gitfindings_free(struct gitfindings *f);

/*
 * The walk of the work tree under scope (gitwalk.c): the untracked caches no rule ignores, the
 * directories holding sources the index does not know (f->found_dirs), the submodules checked
 * out, and the literal negations in .gitignore files.  Needs f->index_dirs, f->gitlinks and
 * f->source_dirs.  0, or -1 (said).
 */
int gitwalk_run(struct gitrepo *r, const struct gitscope *scope, struct gitfindings *f);

#endif
