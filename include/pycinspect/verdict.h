/*
 * verdict.h - the judgement CPython's import system would make about one cache.
 *
 * The rules are those of the interpreter that owns the cache (the one named by its __pycache__
 * tag, or for legacy NAME.pyc the one whose magic it carries), per version:
 *   <= 3.2 (C import.c):  the mtime field, read as a *signed* 32-bit value, must equal
 *                         tv_sec & 0xFFFFFFFF; no size field.
 *   3.3 - 3.6 (importlib): the unsigned mtime field must equal int(st_mtime) *unmasked*; size
 *                         masked to 32 bits.
 *   3.7+ (PEP 552):       mtime and size both masked to 32 bits; hash-based pycs compare the
 *                         SipHash of the source when CPython would (flags 3, or --check-source).
 * st_mtime is Python's float: trunc((double)tv_sec + tv_nsec * 1e-9), which is not tv_sec when
 * tv_nsec is close to a second.
 *
 * A cache inside a zip on sys.path is judged by zipimport's rules instead (pyci_judge_input's
 * zipimport): only a legacy NAME.pyc (and NAME.pyo before 3.5) beside NAME.py is ever read, the
 * mtime field is compared with the source member's DOS time within one second, the size field
 * only from 3.8, and 3.7 never uses a checked-hash cache (docs/archives.md).
 *
 * A cache whose module is shadowed, a package NAME/ or an extension module NAME.EXT beside its
 * source that the owner's finder takes first (finder.h), is never read: orphaned.
 *
 * Pure: no I/O here.  The caller supplies the header, the name, the source's stat data, a
 * callback that hashes the source when the verdict needs it, and one that looks for what
 * shadows the source.
 */
#ifndef PYCINSPECT_VERDICT_H
#define PYCINSPECT_VERDICT_H

#include <stdint.h>

#include "pycinspect/cachename.h"
#include "pycinspect/finder.h"
#include "pycinspect/header.h"
#include "pycinspect/target.h"

typedef enum {
	PYCI_FRESH = 0,
	PYCI_STALE,
	PYCI_ORPHANED,
	PYCI_SOURCELESS,
	PYCI_INVALID,
	PYCI_FOREIGN,
	PYCI_STATUS_COUNT
} pyci_status;

/* Mirrors CPython's --check-hash-based-pycs. */
typedef enum {
	PYCI_CHECK_DEFAULT =
		0,         /* hash checked caches as CPython does, and unchecked ones to warn */
	PYCI_CHECK_ALWAYS, /* both kinds, as CPython with "always" */
	PYCI_CHECK_NEVER,  /* neither: sources are not read */
} pyci_check_source;

/* Which generation of CPython's freshness test applies (see the top of this file). */
typedef enum {
	PYCI_RULES_C_IMPORT = 0,       /* 1.x - 3.2, PyPy2 */
	PYCI_RULES_IMPORTLIB_UNMASKED, /* 3.3 - 3.6 */
	PYCI_RULES_IMPORTLIB_MASKED,   /* 3.7+ */
} pyci_rules;

/* Reasons: one bit each; pyci_reason_text() gives the short text. */
typedef enum {
	PYCI_R_NOT_REGULAR = 0,
	PYCI_R_UNREADABLE,
	PYCI_R_EMPTY,
	PYCI_R_SHORT_MAGIC,
	PYCI_R_BAD_MAGIC,
	PYCI_R_TRUNCATED,
	PYCI_R_BAD_FLAGS,
	PYCI_R_NO_BODY,
	PYCI_R_NOT_CODE,
	PYCI_R_SHORT_BODY,
	PYCI_R_BAD_CACHE_NAME,
	PYCI_R_NO_SOURCE,
	PYCI_R_SOURCE_NOT_FILE,
	PYCI_R_SOURCE_UNREADABLE,
	PYCI_R_TAG_MISMATCH,
	PYCI_R_PYO_IGNORED,
	PYCI_R_MTIME_MISMATCH,
	PYCI_R_SIZE_MISMATCH,
	PYCI_R_MTIME_SIGNED,
	PYCI_R_MTIME_UNMASKED,
	PYCI_R_TORN_WRITE,
	PYCI_R_HASH_MISMATCH,
	PYCI_R_UNCHECKED_STALE,
	PYCI_R_HASH_NOT_CHECKED,
	PYCI_R_LEGACY_SHADOWED,
	PYCI_R_SHADOWED_PACKAGE,
	PYCI_R_SHADOWED_EXTENSION,
	PYCI_R_SOURCELESS,
	PYCI_R_NOT_TARGET,
	PYCI_R_PRERELEASE,
	PYCI_R_UNICODE,
	PYCI_R_UNKNOWN_MAGIC,
	PYCI_R_UNKNOWN_TAG,
	PYCI_R_LEFTOVER,
	PYCI_R_SAME_SECOND,
	PYCI_R_LOAD_FAILS,
	PYCI_R_LOAD_UNCHECKED,
	/* Jython's NAME$py.class (jython.h) */
	PYCI_R_CLASS_TRUNCATED,
	PYCI_R_CLASS_MALFORMED,
	PYCI_R_CLASS_OLDER,
	PYCI_R_MTIME_RECORDED_LATER,
	PYCI_R_API_OTHER,
	PYCI_R_NO_API,
	PYCI_R_ZIP_PYCACHE,       /* zips: __pycache__ is never read by zipimport */
	PYCI_R_ZIP_NOT_REWRITTEN, /* zips: a stale cache stays; the source is compiled each time */
	PYCI_R_ZIP_HASH_37,       /* zips: 3.7 uses no checked-hash cache (nor flags 2) */
	PYCI_R_SHIPPED_WHEEL,     /* set by archive.c: a cache shipped in a wheel */
	PYCI_R_WHEEL_UNCHECKED,   /* set by archive.c: ...with an unchecked hash */
	PYCI_R_SHIPPED_SDIST,     /* set by archive.c: a cache shipped in an sdist or tarball */
	PYCI_R_PREFIX_NAME,       /* a __pycache__ name outside __pycache__ (cachename.h) */
	PYCI_R_WHEEL_TIMESTAMP,   /* set by archive.c: a fresh timestamp cache in a wheel */
	PYCI_R_COUNT
} pyci_reason;

#define PYCI_REASON_BIT(r) (UINT64_C(1) << (r))

/* Source file facts, as stat(2) gives them (the source is followed through symlinks, as
 * CPython does). */
typedef struct pyci_source_info {
	int err;     /* 0: stat succeeded; ENOENT/ENOTDIR: no source; other: errno (the
		      * source exists, or may, but cannot be checked) */
	int regular; /* S_ISREG */
	int64_t mtime_sec;
	long mtime_nsec;
	uint64_t size;
	/* Not used by the verdict: the identity that clean re-checks before a removal. */
	uint64_t dev, ino;
	int64_t ctime_sec;
	long ctime_nsec;
} pyci_source_info;

/*
 * Hash the source with SipHash keyed k0 and the given rounds.  Returns 0 and fills out, or -1
 * with errno.  Called at most once per verdict, and only for hash-based caches.
 */
typedef int (*pyci_hash_fn)(void *ctx, uint32_t k0, int c_rounds, int d_rounds, uint8_t out[8]);

/*
 * Look for what the finder f takes before the module's source NAME.py, beside it: fill *out
 * (kind PYCI_SHADOW_NONE when nothing).  Never fails: what cannot be looked at does not shadow,
 * as for the finder.  Called at most once per verdict, for a cache whose header is valid and
 * whose source is there (or, for a legacy NAME.pyc, not there either).
 */
typedef void (*pyci_shadow_fn)(void *ctx, const pyci_finder *f, pyci_shadow *out);

typedef struct pyci_judge_input {
	const pyci_cache_name *name;
	const pyci_header *header;      /* ignored when !regular or read_err */
	int regular;                    /* the cache is a regular file */
	int read_err;                   /* errno of opening/reading the cache, or 0 */
	const pyci_source_info *source; /* NULL when the name has no source (bad cache name) */
	pyci_hash_fn hash;
	void *hash_ctx;
	pyci_shadow_fn shadow; /* NULL: no module is shadowed */
	void *shadow_ctx;
	pyci_check_source check;
	const pyci_targets *targets; /* NULL: every interpreter counts as a target */
	/* The cache file's own mtime, for the same-second hint: PYCI_R_SAME_SECOND on a fresh
	 * timestamp cache whose source was written after it within the same second.
	 * have_cache_mtime 0: unknown, no hint. */
	int have_cache_mtime;
	int64_t cache_mtime_sec;
	long cache_mtime_nsec;
	/* The cache is a member of a zip on sys.path: zipimport's rules, source->mtime_sec being
	 * the source member's DOS time as zipimport reads it (pyci_zip_timestamp_check). */
	int zipimport;
} pyci_judge_input;

typedef struct pyci_verdict {
	pyci_status status;
	int foreign;
	uint64_t reasons;     /* PYCI_REASON_BIT()s */
	int source_errno;     /* errno when the source could not be read or hashed, else 0
			       * (ENOMEM when memory for the hasher ran out, OpenSSL's too) */
	pyci_impl owner_impl; /* the interpreter whose rules were applied */
	int owner_major, owner_minor;
	pyci_shadow shadow; /* what shadows the module (reason PYCI_R_SHADOWED_*), or kind
			     * PYCI_SHADOW_NONE */
} pyci_verdict;

/* Judge one cache.  Never fails; all failures become statuses and reasons. */
void pyci_judge(const pyci_judge_input *in, pyci_verdict *out);

/* The rules generation for an interpreter. */
pyci_rules pyci_rules_for(pyci_impl impl, int major, int minor);

/* Python's int(os.stat().st_mtime): trunc((double)sec + nsec * 1e-9). */
int64_t pyci_python_mtime(int64_t sec, long nsec);

/*
 * Compare a timestamp header with the source under rules r.  Returns the reason bits of the
 * mismatch, or 0 when the interpreter would reuse the cache.
 */
uint64_t pyci_timestamp_check(pyci_rules r, const pyci_header *h, int64_t sec, long nsec,
			      uint64_t size);

/*
 * zipimport's test of a timestamp cache of interpreter impl major.minor against its source
 * member: the mtime field (unsigned) within one second of dos_time, the mktime(3) of the
 * member's DOS date and time in local time (0: not compared, as zipimport does), and from 3.8
 * the size field equal to the member's size.  Returns the reason bits of the mismatch, or 0.
 */
uint64_t pyci_zip_timestamp_check(int major, int minor, const pyci_header *h, int64_t dos_time,
				  uint64_t size);

/* "fresh", "stale", ... Static storage. */
const char *pyci_status_name(pyci_status s);

/* Short text of a reason.  Static storage. */
const char *pyci_reason_text(pyci_reason r);

#endif
