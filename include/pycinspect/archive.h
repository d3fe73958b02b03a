/*
 * archive.h - the caches inside an archive or a container image, judged where they are: read
 * through libarchive as streams, never extracted.
 *
 * Four kinds, each with its own rules (docs/archives.md):
 *   zip    a zip for sys.path (.zip, .pyz zipapps with their shebang, .egg): zipimport's rules,
 *          with the DOS times of its central directory (verdict.h);
 *   wheel  a .whl: every cache shipped is a finding; judged as the installed tree would be,
 *          against the .py beside it in the wheel;
 *   sdist  a source distribution, and any other tarball or archive: every cache is a finding,
 *          judged as the extracted tree would be;
 *   image  a `docker save` or OCI image-layout tarball: its layers read as nested streams, and
 *          the caches of the final file system (whiteouts and opaque directories applied)
 *          judged as the container sees them, tallied per layer.
 * Records are pyci_records (scan.h) with their member described in r->member; they come in the
 * order the archive holds them, on the calling thread.  An image's layers (in a tarball that is
 * not compressed) are read on up to pyci_scan_options.threads threads, with the same records,
 * errors and summary as on one.  Memory has a bound fixed by the limits below, whatever the
 * archive holds; an archive that passes a limit, is corrupt or truncated is not judged, and
 * says why through pyci_archive_ops.error.
 */
#ifndef PYCINSPECT_ARCHIVE_H
#define PYCINSPECT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pycinspect/record.h"
#include "pycinspect/scan.h"

typedef enum {
	PYCI_ARCHIVE_ZIP = 0,
	PYCI_ARCHIVE_WHEEL,
	PYCI_ARCHIVE_SDIST,
	PYCI_ARCHIVE_IMAGE,
} pyci_archive_kind;

/* "zip", "wheel", "sdist", "image". */
const char *pyci_archive_kind_name(pyci_archive_kind k);

typedef struct pyci_archive_limits {
	uint64_t max_bytes;         /* decompressed bytes read in all, layers included */
	uint32_t max_ratio;         /* decompressed bytes per byte of the file... */
	uint64_t ratio_floor;       /* ...checked once this many were decompressed */
	size_t max_table;           /* bytes of member tables (artable.h) and manifests */
	uint64_t max_source;        /* a source hashed (in memory) at most this large */
	unsigned max_member_errors; /* error records of members; then only counted */
	unsigned max_layers;        /* layers of an image */
} pyci_archive_limits;

/* The defaults: 64 GiB, 1000:1 past 64 MiB, 256 MiB of tables, sources of 64 MiB, 100 error
 * records, 1000 layers.  docs/archives.md says why. */
#define PYCI_ARCHIVE_LIMITS_DEFAULT                                              \
	{                                                                        \
		(uint64_t)64 << 30, 1000, (uint64_t)64 << 20, (size_t)256 << 20, \
			(uint64_t)64 << 20, 100, 1000                            \
	}

typedef struct pyci_archive_options {
	pyci_archive_limits limits;
	const char *member; /* only the cache of this path in the archive (as records show it
			     * after "!/"), or NULL for all */
	int stream;         /* records carry a reader of the member's bytes (r->member->read):
			     * one more pass over the archive (dump) */
} pyci_archive_options;

/* What a record's r->member says of where it is. */
typedef struct pyci_member {
	const char *archive; /* the archive's path, as given */
	pyci_archive_kind kind;
	const char *path; /* the member's path in the archive (or in the image's file system) */
	size_t path_len;
	const char *layer; /* images: the layer it comes from ("sha256:..."), else NULL */
	uint32_t uid, gid; /* its owner in the archive */
	/* pyci_archive_options.stream: read the member's bytes from the start, as read(2) does
	 * (0 at the end, -1 with errno); valid during the record callback only.  NULL otherwise. */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	void *read_ctx;
	/* options.stream: the SipHash its source would need (pyci_srchash), when have_siphash */
	int have_siphash;
	uint8_t siphash[8];
} pyci_member;

/* One layer of an image, as the summary shows it. */
typedef struct pyci_layer_info {
	const char *name;    /* "sha256:<hex>", or the member of a legacy docker save */
	pyci_summary caches; /* its caches in the final file system, judged */
	pyci_tally hidden;   /* its caches that a higher layer deleted or replaced: they still
				* take their bytes in the image */
} pyci_layer_info;

/* An archive judged, after its records. */
typedef struct pyci_archive_info {
	const char *path;
	pyci_archive_kind kind;
	const char *format; /* libarchive's name of its format ("ZIP 2.0 (deflation)") */
	uint64_t members;   /* members read, layers' included */
	uint64_t member_errors;
	const char *image;             /* images: its first RepoTag or manifest digest, or NULL */
	size_t images_not_judged;      /* images of the tarball after the first (not judged) */
	const pyci_layer_info *layers; /* images, bottom first */
	size_t nlayers;
} pyci_archive_info;

/* A member, or the whole archive, not judged. */
typedef struct pyci_archive_error {
	const char *path;    /* the archive, or ARCHIVE!/MEMBER */
	const char *message; /* static text (docs/json.md lists them) */
	const char *detail;  /* libarchive's or zipimport's words, or NULL */
	int err;             /* an errno, or 0 */
	int whole;           /* the archive is not judged: no record of it follows */
} pyci_archive_error;

typedef struct pyci_archive_ops {
	void (*error)(void *ctx, const pyci_archive_error *e);
	/* After the records of an archive judged (NULL: not wanted).  -1 (keep errno) stops. */
	int (*done)(void *ctx, const pyci_archive_info *a);
	void *ctx;
} pyci_archive_ops;

/*
 * Whether the regular file at path is an archive pycinspect reads: libarchive recognizes its
 * format (tar, zip, 7-Zip, cpio, RAR; compressed by gzip, bzip2, xz, lzma, lzip, zstd, lz4 or
 * compress) and it has a first member.  1 yes, 0 no, -1 with errno (cannot be opened).
 */
int pyci_archive_probe(const char *path);

/*
 * Judge the caches of the archive at path (a regular file; a symlink is not followed: ELOOP),
 * calling ops->record for each (r->member set; r->dirfd and r->srcdirfd -1), aops->error for
 * each member not judged and for the archive when it is not, and aops->done after, all on the
 * calling thread.  o gives the check mode and targets, as for a directory, and the threads that
 * may read an image's layers at once (o->threads; 0: one per online CPU, at most 8; 1: only the
 * calling thread; the output is the same for any number).
 * Returns 0 when it was judged, 1 when it was not (said through aops->error), -1 with errno when
 * it cannot be opened, memory ran out, or a callback stopped.
 */
int pyci_scan_archive(const char *path, const pyci_archive_options *ao, const pyci_scan_options *o,
		      const pyci_scan_ops *ops, const pyci_archive_ops *aops);

/* The same for the regular file open for reading on fd (read from its start, with pread and
 * lseek; not closed), shown as path.  -1 with EINVAL when it is not a regular file. */
int pyci_scan_archive_fd(int fd, const char *path, const pyci_archive_options *ao,
			 const pyci_scan_options *o, const pyci_scan_ops *ops,
			 const pyci_archive_ops *aops);

#endif
