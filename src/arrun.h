/*
 * arrun.h - one judging of an archive (archive.c), as its passes and the threads that read an
 * image's layers (arlayers.c) share it.  Internal to the library (not installed).
 */
#ifndef PYCI_ARRUN_H
#define PYCI_ARRUN_H

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "artable.h"
#include "pycinspect/archive.h"
#include "pycinspect/buf.h"
#include "pycinspect/srchash.h"

#define BLOCK ((size_t)64 << 10) /* what a nested layer is fed at a time */

/* A layer of an image, as the walk meets it: stream index l is layers[l - 1]. */
struct layer {
	char *member;          /* its member's path in the tarball */
	uint64_t first, count; /* ordinals of its entries */
};

/* A member of the tarball that is a link to another layer (docker save dedupes so). */
struct alias {
	char *member, *target;
};

/* A small JSON member kept for the manifests. */
struct blob {
	char *member;
	char *text;
	size_t len;
};

/* A member error met on a thread, or before one: said once the walk's order is known. */
struct merr {
	uint64_t at; /* the ordinal of the entry it was met at (in its own walk) */
	char *path;  /* ARCHIVE!/MEMBER, or NULL: the archive */
	const char *msg;
	int err;
};

struct par;

struct hreq;

struct run {
	const char *path_arg; /* the archive, as given */
	const pyci_archive_options *ao;
	const pyci_scan_options *opt;
	const pyci_scan_ops *ops;
	const pyci_archive_ops *aops;
	int fd;
	locale_t loc, old_loc;
	artable t;
	char *format;
	int format_code; /* archive_format()'s, of the archive itself */
	pyci_archive_kind kind;
	int pass;
	uint64_t ordinal;   /* of the entry being visited */
	uint64_t members;   /* entries of the first pass */
	uint32_t nstream;   /* layers met so far in this pass */
	uint32_t job_layer; /* a layer read on a thread (arlayers.c): its layer; else 0 */
	struct layer *layers;
	size_t nlayers, layers_cap;
	struct alias *aliases;
	size_t naliases, aliases_cap;
	struct blob *blobs;
	size_t nblobs, blobs_cap;
	/* the kind's clues */
	int wheel_marker, pkg_info, one_top, top_set;
	pyci_buf top;
	/* decompressed bytes: what the readers gave, besides the open one's */
	uint64_t out_done, data_read;
	uint64_t raw_region; /* bytes of the file read for layers by pread (struct nest) */
	struct archive *outer, *inner;
	/* a fatal error: the archive is not judged */
	int fatal;
	const char *fatal_msg;
	char *fatal_detail;
	int fatal_err;
	uint64_t member_errors;
	/* hashes */
	struct hreq *req;
	size_t nreq, reqcap;
	int collecting;
	/* a zip name flagged UTF-8 is not: the undecodable members' errors wait for the kind
	 * (zipimport of Python 3 cannot read such a zip: the archive is then not judged) */
	int zip_name_not_utf8;
	/* the passes' targets: members wanted, in ordinal order */
	uint32_t *want;
	size_t nwant, want_pos;
	/* the image */
	uint32_t *rank; /* per stream layer, 1 + nstream slots */
	uint32_t *layer_of;
	pyci_layer_info *info_layers;
	size_t ninfo_layers;
	char **labels;
	char *image_name;
	size_t images_not_judged;
	/* options.member, normalized */
	int member_filter;
	pyci_buf filter;
	/* scratch */
	pyci_buf norm, path, srcpath, srcmember, scratch, data;
	pyci_hasher *hasher;
	int stopped; /* a callback stopped the run: errno in stop_err */
	int stop_err;
	/* a zip's central directory as zipdir.h read it before pass 1: why it could not, or NULL */
	const char *zipdir_why;
	/* the errors of undecodable members held back meanwhile (see zip_name_not_utf8) */
	uint64_t undecodable;
	/* pass 1 with layers on threads (arlayers.c): what the runs share, or NULL */
	struct par *par;
	uint64_t lent;             /* a layer's run: its first bytes, read by the main run */
	uint64_t pub_out, pub_raw; /* bytes of this run counted in par's sums */
	struct merr *merr;         /* member errors kept to be said (par), in walk order */
	size_t nmerr, merr_cap;
};

/* A layer read as a nested stream: libarchive pulls its bytes from the tarball's entry. */
struct nest {
	struct run *r;
	struct archive *outer;
	const unsigned char *prefix; /* bytes read to sniff it, handed over first */
	size_t prefix_len;
	unsigned char *block;
	/* a region of the file itself (a layer in a tarball that is not compressed): read with
	 * pread, skipped without reading, as `tar -tf` skips */
	int region;
	uint64_t off, end;
};

typedef int (*visit_fn)(struct run *r, struct archive *a, struct archive_entry *e, uint32_t layer);

/* archive.c */

/* Make the run fatal (the archive not judged), unless it is already: the first one stays. */
void ar_set_fatal(struct run *r, const char *msg, const char *detail, int err);
/* Say a member error (path NULL: the archive's), or only count it past the limit. */
void ar_say_error(struct run *r, const char *path, const char *msg, int err);
/* The bytes the run has decompressed so far. */
uint64_t ar_decompressed(const struct run *r);
/* 0, or -1 after making the run fatal: out bytes decompressed from raw pass a limit. */
int ar_over_limits(struct run *r, uint64_t out, uint64_t raw);
/* The calling thread's locale for libarchive's names (C.UTF-8), and back. */
void ar_enter_locale(struct run *r);
void ar_leave_locale(struct run *r);
/* Pass 1's visit of an entry of layer (0: the archive itself).  0, or -1 (errno; stop). */
int ar_keep_entry(struct run *r, struct archive *a, struct archive_entry *e, uint32_t layer);
/* The entries of layer l, read through ns, visited.  0, or -1 (fatal, said in r, or errno). */
int ar_read_layer(struct run *r, struct nest *ns, uint32_t l, visit_fn visit);
/* Pass 1 on the calling thread alone.  0, or -1 (fatal, said in r, or errno). */
int ar_walk_table(struct run *r);
/* Everything pass 1 made, gone: the run as it was before it. */
void ar_forget_table(struct run *r);
/* Everything the run holds, freed (not r itself). */
void ar_run_free(struct run *r);

/* arlayers.c */

/* Pass 1, with the layers of an image on threads when options.threads allows: the walk's
 * table, ordinals, layers and member errors (said) as one thread makes them.  0, or -1
 * (fatal, said in r, or errno). */
int ar_read_table(struct run *r);
/* With layers on threads (r->par): leave layer l, bytes [off, end) of the file (got of them
 * read by the tarball's reader to sniff it), to a thread.  0, or -1 (ENOMEM). */
int ar_queue_layer(struct run *r, uint32_t l, uint64_t off, uint64_t got, uint64_t end);
/* Whether a layer's run is to stop: a layer before it failed, where the walk ends. */
int ar_cancelled(const struct run *r);
/* With layers on threads: the run's counts *out and *raw into the sums of every run, and
 * those sums back, the limits being the archive's. */
void ar_share_counts(struct run *r, uint64_t *out, uint64_t *raw);

#endif
