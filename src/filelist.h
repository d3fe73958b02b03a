/*
 * filelist.h - the caches of a list of paths (pyci_scan_list), a directory at a time: what
 * filelist.c hands the scan engine (scan.c), and what the engine offers it.
 *
 * Internal to the library (not installed).
 */
#ifndef PYCI_FILELIST_H
#define PYCI_FILELIST_H

#include "pycinspect/scan.h"

struct scanner;
struct venv_scope;

/* The caches of one directory of a file list. */
typedef struct scan_site {
	int srcfd;             /* the sources' directory, or -1: */
	int src_err;           /* ...why it could not be opened */
	const char *srcpath;   /* its display path */
	const pyci_entry *src; /* its listing, whole and sorted, or NULL (not read: the engine
				   * reads it for what shadows a module, shadow.h) */
	size_t nsrc;
	const pyci_entry *legacy; /* caches with legacy names read from srcfd, sorted, or NULL */
	size_t nlegacy;
	int pcfd;             /* the directory of the other caches (srcfd's __pycache__, or a
			      * directory of a prefix tree), or -1 */
	const char *pcpath;   /* its display path */
	const pyci_entry *pc; /* its listing, whole and sorted (dirio_list) */
	size_t npc;
	const unsigned char *pc_select; /* which entries of pc are judged (one byte each) */
	int prefix;                     /* pcfd is a directory of a prefix tree */
	const struct venv_scope *scope; /* the targets of srcfd (scanner_venv), or NULL: the
					 * options' */
} scan_site;

/* Judge the caches of s and report them here in the order (the descriptors stay the
 * caller's).  0, or -1 with errno: the scan stopped (ops->record, memory). */
int scanner_site(struct scanner *sc, const scan_site *s);

/*
 * With opt->venv_targets, the scope of the sources' directory dirfd (displayed as display):
 * the nearest pyvenv.cfg naming an interpreter in it or above it, as a walk of a PATH there
 * finds one (venvup.h; under a staging root, not above it), or NULL (none: the options'
 * targets; and always NULL without venv_targets).  Each directory is answered once, by
 * identity: the climb stops at a directory answered before.  Each pyvenv.cfg found is told to
 * ops->venv here in the order, the outermost first.  0, or -1 with errno: the scan stopped.
 */
int scanner_venv(struct scanner *sc, int dirfd, const char *display,
		 const struct venv_scope **scope);

/* Report path through ops->error here in the order.  0, or -1 with errno: the scan stopped. */
int scanner_error(struct scanner *sc, const char *path, pyci_walk_err kind, int err);

/* The body of pyci_scan_list (see scan.h) on the engine's scanner sc, with its options opt.
 * 0, or -1 with errno. */
int filelist_scan(struct scanner *sc, const char *const *paths, size_t n, const char *prefix,
		  const pyci_scan_options *opt, pyci_list_stats *stats);

#endif
