/*
 * verdict.c - CPython's freshness rules, per version, as a pure function (see verdict.h).
 *
 * Order of questions, most urgent first, so that the status is the most urgent one that applies:
 *   invalid    - the file is not a usable pyc at all (not regular, unreadable, bad header)
 *   orphaned   - no import reads it: a __pycache__ entry whose source is gone, or a cache of a
 *                module shadowed by a package or an extension module of the same name, which
 *                the owner's finder takes first (finder.h)
 *   sourceless - a legacy NAME.pyc with no NAME.py: importable as it is, possibly on purpose
 *   stale      - the owner interpreter would recompile (or, unchecked hash, run old code)
 *   foreign    - valid, but for an interpreter that is not a target
 *   fresh
 * A cache that is both foreign and stale/orphaned/sourceless keeps the more urgent status and
 * has foreign set.
 *
 * Members of a zip on sys.path take zipimport's branches (in->zipimport): zipimport looks up
 * NAME/__init__.pyc, NAME/__init__.py, NAME.pyc, NAME.py (and .pyo before 3.5) in the zip's
 * directory, never __pycache__; a .pyc that it finds stale, or whose magic or flags it refuses,
 * is passed over for the .py, and never rewritten.  Checked against every interpreter's imports
 * from the same zip (tests/conformance/zipimport.py).
 */
#include "pycinspect/verdict.h"

#include <errno.h>
#include <string.h>

#define BIT(r) PYCI_REASON_BIT(r)

/* Keep the double arithmetic exactly Python's: no fused multiply-add (the build also passes
 * -ffp-contract=off; the volatile below makes it independent of flags). */

int64_t pyci_python_mtime(int64_t sec, long nsec)
{
	/* posixmodule.c fill_time(): PyFloat_FromDouble(sec + nsec * 1e-9); int() truncates */
	volatile double frac = (double)nsec * 1e-9;
	double t = (double)sec + frac;
	return (int64_t)t;
}

pyci_rules pyci_rules_for(pyci_impl impl, int major, int minor)
{
	(void)impl; /* PyPy3 runs CPython's importlib of its language version */
	if (major < 3 || (major == 3 && minor <= 2))
		return PYCI_RULES_C_IMPORT;
	if (major == 3 && minor <= 6)
		return PYCI_RULES_IMPORTLIB_UNMASKED;
	return PYCI_RULES_IMPORTLIB_MASKED;
}

uint64_t pyci_timestamp_check(pyci_rules r, const pyci_header *h, int64_t sec, long nsec,
			      uint64_t size)
{
	uint64_t why = 0;
	if (r == PYCI_RULES_C_IMPORT) {
		/* import.c: st_mtime (tv_sec) &= 0xFFFFFFFF; r_long() sign-extends the field */
		int64_t field = (int32_t)h->mtime;
		int64_t want = (int64_t)((uint64_t)sec & 0xFFFFFFFFu);
		if (field != want) {
			why |= BIT(PYCI_R_MTIME_MISMATCH);
			if ((int64_t)h->mtime == want)
				why |= BIT(PYCI_R_MTIME_SIGNED);
			if (h->mtime == 0)
				why |= BIT(PYCI_R_TORN_WRITE);
		}
		return why;
	}

	int64_t t = pyci_python_mtime(sec, nsec);
	if (r == PYCI_RULES_IMPORTLIB_UNMASKED) {
		if ((int64_t)h->mtime != t) {
			why |= BIT(PYCI_R_MTIME_MISMATCH);
			if (h->mtime == (uint32_t)t)
				why |= BIT(PYCI_R_MTIME_UNMASKED);
		}
	} else if (h->mtime != (uint32_t)t) {
		why |= BIT(PYCI_R_MTIME_MISMATCH);
	}
	if (h->has_source_size && h->source_size != (uint32_t)size)
		why |= BIT(PYCI_R_SIZE_MISMATCH);
	return why;
}

uint64_t pyci_zip_timestamp_check(int major, int minor, const pyci_header *h, int64_t dos_time,
				  uint64_t size)
{
	/* zipimport.c (2.x - 3.7) and zipimport.py (3.8+): `if mtime != 0 and not
	 * _eq_mtime(field, mtime)`, _eq_mtime being abs(t1 - t2) <= 1 ("dostime only stores even
	 * seconds, so be lenient"), then from 3.8 `field(size) != source_size`, unmasked */
	uint64_t why = 0;
	if (dos_time == 0)
		return 0;
	int64_t d = (int64_t)h->mtime - dos_time;
	if (d < -1 || d > 1)
		why |= BIT(PYCI_R_MTIME_MISMATCH);
	if ((major > 3 || (major == 3 && minor >= 8)) && h->has_source_size &&
	    (uint64_t)h->source_size != size)
		why |= BIT(PYCI_R_SIZE_MISMATCH);
	return why;
}

/* Whether 3.7's zipimport passes this cache over for its source: unmarshal_code there returns
 * None for any flags but 0, and for flags 1 under --check-hash-based-pycs=always, unless
 * "never".  (Its sourceless module then cannot be imported at all.) */
static int zip37_refuses(const pyci_judge_input *in, const pyci_verdict *v)
{
	const pyci_header *h = in->header;
	if (v->owner_impl != PYCI_IMPL_CPYTHON || v->owner_major != 3 || v->owner_minor != 7)
		return 0;
	return h->flags != 0 && in->check != PYCI_CHECK_NEVER &&
	       (h->flags != 1 || in->check == PYCI_CHECK_ALWAYS);
}

/* A .pyo that zipimport of the owner never looks up: 3.5+ (PEP 488) searches .pyc and .py. */
static int zip_pyo_unread(const pyci_judge_input *in, const pyci_verdict *v)
{
	return in->name->pyo &&
	       (v->owner_major > 3 || (v->owner_major == 3 && v->owner_minor >= 5));
}

static pyci_reason header_reason(pyci_header_status st)
{
	switch (st) {
	case PYCI_HDR_EMPTY:
		return PYCI_R_EMPTY;
	case PYCI_HDR_SHORT_MAGIC:
		return PYCI_R_SHORT_MAGIC;
	case PYCI_HDR_BAD_MAGIC:
		return PYCI_R_BAD_MAGIC;
	case PYCI_HDR_TRUNCATED:
		return PYCI_R_TRUNCATED;
	case PYCI_HDR_BAD_FLAGS:
		return PYCI_R_BAD_FLAGS;
	case PYCI_HDR_NOT_CODE:
		return PYCI_R_NOT_CODE;
	case PYCI_HDR_SHORT_BODY:
		return PYCI_R_SHORT_BODY;
	default:
		return PYCI_R_NO_BODY;
	}
}

static int source_present(const pyci_source_info *s)
{
	return s && s->err == 0 && s->regular;
}

/* The source exists, or may, but could not be stat'ed (EACCES through a symlink into a
 * directory we cannot search, ELOOP, EIO, ...): only ENOENT and ENOTDIR say it is gone. */
static int source_uncheckable(const pyci_source_info *s)
{
	return s && s->err != 0 && s->err != ENOENT && s->err != ENOTDIR;
}

/* Hash-based cache: returns the reason bits of a mismatch (0 if CPython would use it). */
static uint64_t hash_check(const pyci_judge_input *in, pyci_verdict *out)
{
	const pyci_header *h = in->header;
	if (in->check == PYCI_CHECK_NEVER)
		return 0;
	int c, d;
	uint8_t digest[8];
	pyci_magic_siphash_rounds(&h->magic, &c, &d);
	if (!in->hash || in->hash(in->hash_ctx, h->magic.word, c, d, digest) != 0) {
		out->source_errno = in->hash ? errno : ENOSYS;
		return BIT(PYCI_R_SOURCE_UNREADABLE);
	}
	if (memcmp(digest, h->hash, 8) == 0)
		return 0;
	if (h->mode == PYCI_MODE_UNCHECKED_HASH && in->check == PYCI_CHECK_DEFAULT)
		return BIT(PYCI_R_UNCHECKED_STALE);
	return BIT(PYCI_R_HASH_MISMATCH);
}

/*
 * Whether the owner's finder takes a package or an extension module before the module's source:
 * then no import reads the cache.  Fills out->shadow; returns the reason bit, or 0.
 */
static uint64_t shadowed(const pyci_judge_input *in, pyci_verdict *out)
{
	if (!in->shadow)
		return 0;
	pyci_finder f;
	pyci_finder_for(out->owner_impl, out->owner_major, out->owner_minor, in->name->pyo, &f);
	in->shadow(in->shadow_ctx, &f, &out->shadow);
	switch (out->shadow.kind) {
	case PYCI_SHADOW_PACKAGE:
		return BIT(PYCI_R_SHADOWED_PACKAGE);
	case PYCI_SHADOW_EXTENSION:
		return BIT(PYCI_R_SHADOWED_EXTENSION);
	default:
		return 0;
	}
}

/* Whether the owner is a target running this very magic; sets the reason when not. */
static int is_foreign(const pyci_judge_input *in, const pyci_verdict *v)
{
	const pyci_targets *t = in->targets;
	const pyci_magic_info *m = &in->header->magic;
	if (!t)
		return 0;
	if (!pyci_targets_contains(t, v->owner_impl, v->owner_major, v->owner_minor))
		return 1;
	/* The owner is a target.  Its final release writes one magic; a pre-release, -U or
	 * patched build's cache is read as bad magic by it.  A version with no final release yet
	 * (3.16-dev) accepts any of its numbers. */
	if (m->impl != v->owner_impl || m->major != v->owner_major || m->minor != v->owner_minor)
		return 0; /* tag mismatch: already stale, judged by the tag's interpreter */
	if (!m->version_final)
		return 0;
	return !m->final;
}

/*
 * A timestamp header that matches its source, and a source written after the cache file in
 * the same second: the source changed within the second the header records (keeping its
 * size), after the cache was written from what was there before.  The interpreter cannot see
 * that, and runs the old code.  (A cache file whose mtime is from another second, copied with
 * its times or touched, says nothing about when it was written: no hint.)
 */
static int same_second(const pyci_judge_input *in)
{
	const pyci_source_info *s = in->source;
	return in->have_cache_mtime && s->mtime_sec == in->cache_mtime_sec &&
	       s->mtime_nsec > in->cache_mtime_nsec;
}

void pyci_judge(const pyci_judge_input *in, pyci_verdict *out)
{
	memset(out, 0, sizeof(*out));
	const pyci_header *h = in->header;
	const pyci_cache_name *n = in->name;

	if (!in->regular) {
		out->status = PYCI_INVALID;
		out->reasons = BIT(PYCI_R_NOT_REGULAR);
		return;
	}
	if (in->read_err) {
		out->status = PYCI_INVALID;
		out->reasons = BIT(PYCI_R_UNREADABLE);
		return;
	}

	/* Whose rules: the tag's interpreter for __pycache__ entries, else the magic's. */
	out->owner_impl = h->magic.impl;
	out->owner_major = h->magic.major;
	out->owner_minor = h->magic.minor;
	if (n->kind == PYCI_NAME_PYCACHE && n->tag_impl != PYCI_IMPL_UNKNOWN) {
		out->owner_impl = n->tag_impl;
		out->owner_major = n->tag_major;
		out->owner_minor = n->tag_minor;
	}

	uint64_t why = 0;
	if (n->leftover)
		why |= BIT(PYCI_R_LEFTOVER);
	if (h->status == PYCI_HDR_BAD_FLAGS && in->zipimport && n->kind == PYCI_NAME_LEGACY &&
	    !n->pyo && in->check == PYCI_CHECK_NEVER && out->owner_impl == PYCI_IMPL_CPYTHON &&
	    out->owner_major == 3 && out->owner_minor == 7) {
		/* 3.7's zipimport reads no flag under "never": it loads what follows */
		out->status = source_present(in->source) ? PYCI_FRESH : PYCI_SOURCELESS;
		why |= BIT(PYCI_R_BAD_FLAGS) | BIT(PYCI_R_HASH_NOT_CHECKED);
		if (out->status == PYCI_SOURCELESS)
			why |= BIT(PYCI_R_SOURCELESS);
		goto foreign;
	}
	if (h->status != PYCI_HDR_OK) {
		why |= BIT(header_reason(h->status));
		if (source_uncheckable(in->source))
			why |= BIT(PYCI_R_SOURCE_UNREADABLE);
		else if (n->kind == PYCI_NAME_PYCACHE && !source_present(in->source))
			why |= BIT(PYCI_R_NO_SOURCE);
		out->status = PYCI_INVALID;
		out->reasons = why;
		return;
	}

	if (in->zipimport && (n->kind != PYCI_NAME_LEGACY || zip_pyo_unread(in, out))) {
		/* a place no zipimport looks: wherever the source is, nothing reads it */
		out->status = PYCI_ORPHANED;
		why |= BIT(n->kind == PYCI_NAME_LEGACY ? PYCI_R_PYO_IGNORED : PYCI_R_ZIP_PYCACHE);
		goto foreign;
	}
	if (n->kind == PYCI_NAME_PYCACHE_BAD) {
		out->status = PYCI_ORPHANED;
		if (!n->leftover)
			why |= BIT(PYCI_R_BAD_CACHE_NAME);
		goto foreign;
	}
	if (n->kind == PYCI_NAME_LEGACY && n->prefix_name) {
		/* NAME.TAG.pyc: the module would be "NAME.TAG", which no finder looks up (nor
		 * zipimport, which has no prefix tree either) */
		out->status = PYCI_ORPHANED;
		why |= BIT(in->zipimport ? PYCI_R_BAD_CACHE_NAME : PYCI_R_PREFIX_NAME);
		goto foreign;
	}
	if (n->kind == PYCI_NAME_PYCACHE && n->tag_impl == PYCI_IMPL_UNKNOWN)
		why |= BIT(PYCI_R_UNKNOWN_TAG);

	if (source_uncheckable(in->source)) {
		/* neither gone nor checkable: whether it is fresh depends on who asks, and a
		 * cleaner must not take it for an orphan */
		out->status = PYCI_INVALID;
		out->reasons = why | BIT(PYCI_R_SOURCE_UNREADABLE);
		return;
	}
	uint64_t shadow;
	if (!source_present(in->source)) {
		if (in->source && in->source->err == 0)
			why |= BIT(PYCI_R_SOURCE_NOT_FILE);
		if (in->zipimport && zip37_refuses(in, out)) {
			out->status =
				PYCI_INVALID; /* "can't find module": nothing else to import */
			out->reasons = why | BIT(PYCI_R_ZIP_HASH_37);
			return;
		}
		if (n->kind == PYCI_NAME_LEGACY && (shadow = shadowed(in, out)) != 0) {
			out->status = PYCI_ORPHANED; /* the finder never gets to the .pyc either */
			why |= shadow;
		} else if (n->kind == PYCI_NAME_LEGACY) {
			out->status = PYCI_SOURCELESS;
			why |= BIT(PYCI_R_SOURCELESS);
		} else {
			out->status = PYCI_ORPHANED;
			why |= BIT(PYCI_R_NO_SOURCE);
		}
		goto foreign;
	}

	if ((shadow = shadowed(in, out)) != 0) {
		/* never read, whatever it holds: its freshness is not asked (nor its source hashed) */
		out->status = PYCI_ORPHANED;
		why |= shadow;
		goto foreign;
	}
	if (n->kind == PYCI_NAME_LEGACY && !in->zipimport && h->magic.major >= 3 &&
	    !(h->magic.impl == PYCI_IMPL_CPYTHON && h->magic.major == 3 && h->magic.minor < 2))
		why |= BIT(PYCI_R_LEGACY_SHADOWED);

	uint64_t stale = 0;
	if (in->zipimport && zip37_refuses(in, out)) {
		stale |= BIT(PYCI_R_ZIP_HASH_37);
	} else if (in->zipimport && h->mode == PYCI_MODE_TIMESTAMP) {
		stale |= pyci_zip_timestamp_check(out->owner_major, out->owner_minor, h,
						  in->source->mtime_sec, in->source->size);
	} else if (h->magic.impl != out->owner_impl || h->magic.major != out->owner_major ||
		   h->magic.minor != out->owner_minor) {
		stale |= BIT(PYCI_R_TAG_MISMATCH);
	} else if (n->kind == PYCI_NAME_PYCACHE && n->pyo && out->owner_impl == PYCI_IMPL_CPYTHON &&
		   (out->owner_major > 3 || (out->owner_major == 3 && out->owner_minor >= 5))) {
		stale |= BIT(PYCI_R_PYO_IGNORED);
	} else if (h->mode == PYCI_MODE_TIMESTAMP) {
		const pyci_source_info *s = in->source;
		stale |= pyci_timestamp_check(
			pyci_rules_for(out->owner_impl, out->owner_major, out->owner_minor), h,
			s->mtime_sec, s->mtime_nsec, s->size);
		if (!stale && same_second(in))
			why |= BIT(PYCI_R_SAME_SECOND);
	} else {
		uint64_t hv = hash_check(in, out);
		if (hv & BIT(PYCI_R_SOURCE_UNREADABLE)) {
			out->status = PYCI_INVALID;
			out->reasons = why | hv;
			return;
		}
		stale |= hv;
		if (in->check == PYCI_CHECK_NEVER)
			why |= BIT(PYCI_R_HASH_NOT_CHECKED);
	}
	if (stale && in->zipimport && !(stale & BIT(PYCI_R_UNCHECKED_STALE)))
		stale |= BIT(PYCI_R_ZIP_NOT_REWRITTEN); /* (an unchecked one is run as it is) */
	why |= stale;
	out->status = stale ? PYCI_STALE : PYCI_FRESH;

foreign:
	if (is_foreign(in, out)) {
		out->foreign = 1;
		const pyci_magic_info *m = &h->magic;
		if (!in->targets || !pyci_targets_contains(in->targets, out->owner_impl,
							   out->owner_major, out->owner_minor))
			why |= BIT(PYCI_R_NOT_TARGET);
		else if (m->match == PYCI_MAGIC_UNICODE)
			why |= BIT(PYCI_R_UNICODE);
		else if (m->match == PYCI_MAGIC_RANGE)
			why |= BIT(PYCI_R_UNKNOWN_MAGIC);
		else
			why |= BIT(PYCI_R_PRERELEASE);
		if (out->status == PYCI_FRESH)
			out->status = PYCI_FOREIGN;
	}
	out->reasons = why;
}

const char *pyci_status_name(pyci_status s)
{
	static const char *const names[PYCI_STATUS_COUNT] = {
		[PYCI_FRESH] = "fresh",       [PYCI_STALE] = "stale",
		[PYCI_ORPHANED] = "orphaned", [PYCI_SOURCELESS] = "sourceless",
		[PYCI_INVALID] = "invalid",   [PYCI_FOREIGN] = "foreign",
	};
	return (unsigned)s < PYCI_STATUS_COUNT ? names[s] : "unknown";
}

/* Too long for one line, and a concatenation inside the table reads as a missing comma. */
static const char same_second_text[] =
	"source modified after this cache was written, within the second its header records: "
	"Python does not see that change";

static const char prefix_name_text[] =
	"a __pycache__ name outside __pycache__: no import reads it here, only from a "
	"PYTHONPYCACHEPREFIX tree (--pycache-prefix judges it)";

const char *pyci_reason_text(pyci_reason r)
{
	static const char *const text[PYCI_R_COUNT] = {
		[PYCI_R_NOT_REGULAR] = "not a regular file",
		[PYCI_R_UNREADABLE] = "cannot be read",
		[PYCI_R_EMPTY] = "empty file",
		[PYCI_R_SHORT_MAGIC] = "shorter than a magic number",
		[PYCI_R_BAD_MAGIC] = "bad magic number",
		[PYCI_R_TRUNCATED] = "truncated header",
		[PYCI_R_BAD_FLAGS] = "invalid flags",
		[PYCI_R_NO_BODY] = "no code after the header",
		[PYCI_R_NOT_CODE] = "no code object after the header",
		[PYCI_R_SHORT_BODY] = "code object truncated",
		[PYCI_R_BAD_CACHE_NAME] = "not a cache name any import looks up",
		[PYCI_R_NO_SOURCE] = "source is gone",
		[PYCI_R_SOURCE_NOT_FILE] = "source is not a regular file",
		[PYCI_R_SOURCE_UNREADABLE] = "source cannot be read",
		[PYCI_R_TAG_MISMATCH] = "magic number does not match the cache tag",
		[PYCI_R_PYO_IGNORED] = ".pyo is ignored by Python 3.5+",
		[PYCI_R_MTIME_MISMATCH] = "source mtime differs",
		[PYCI_R_SIZE_MISMATCH] = "source size differs",
		[PYCI_R_MTIME_SIGNED] = "mtime field >= 2^31 never matches in this version",
		[PYCI_R_MTIME_UNMASKED] =
			"source mtime outside 32 bits never matches in this version",
		[PYCI_R_TORN_WRITE] = "mtime field is 0 (interrupted write)",
		[PYCI_R_HASH_MISMATCH] = "source hash differs",
		[PYCI_R_UNCHECKED_STALE] =
			"unchecked hash: source changed but Python still runs this outdated code",
		[PYCI_R_HASH_NOT_CHECKED] = "source hash not checked (--check-source=never)",
		[PYCI_R_LEGACY_SHADOWED] = "never loaded by Python 3: the .py beside it wins",
		[PYCI_R_SHADOWED_PACKAGE] = "shadowed by a package of the same name: never loaded",
		[PYCI_R_SHADOWED_EXTENSION] =
			"shadowed by an extension module of the same name: never loaded",
		[PYCI_R_SOURCELESS] = "no source beside it: imported as a sourceless module",
		[PYCI_R_NOT_TARGET] = "interpreter is not a target",
		[PYCI_R_PRERELEASE] = "pre-release magic: the final release recompiles it",
		[PYCI_R_UNICODE] = "-U (unicode) interpreter magic",
		[PYCI_R_UNKNOWN_MAGIC] = "magic number never assigned upstream (patched build?)",
		[PYCI_R_UNKNOWN_TAG] = "unknown cache tag",
		[PYCI_R_LEFTOVER] = "leftover of an interrupted cache write",
		[PYCI_R_SAME_SECOND] = same_second_text,
		[PYCI_R_LOAD_FAILS] = "its code does not load: the import fails",
		[PYCI_R_LOAD_UNCHECKED] = "its code could not be loaded to check it",
		[PYCI_R_CLASS_TRUNCATED] = "class file truncated",
		[PYCI_R_CLASS_MALFORMED] = "malformed class file",
		[PYCI_R_CLASS_OLDER] = "class file older than its source",
		[PYCI_R_MTIME_RECORDED_LATER] =
			"source mtime recorded in the class more than 2 s after the source's",
		[PYCI_R_API_OTHER] = "Jython API version other than 39 (2.7.3, 2.7.4)",
		[PYCI_R_NO_API] = "no Jython API version: not written by Jython",
		[PYCI_R_ZIP_PYCACHE] = "zipimport never reads __pycache__",
		[PYCI_R_ZIP_NOT_REWRITTEN] =
			"zipimport never rewrites it: the source is compiled at every import",
		[PYCI_R_ZIP_HASH_37] = "zipimport of 3.7 uses no checked-hash cache",
		[PYCI_R_SHIPPED_WHEEL] = "shipped in a wheel: installed as it is",
		[PYCI_R_WHEEL_UNCHECKED] =
			"unchecked hash in a wheel: runs whatever source is installed beside it",
		[PYCI_R_SHIPPED_SDIST] = "shipped in an sdist or tarball: unpacked as it is",
		[PYCI_R_PREFIX_NAME] = prefix_name_text,
		[PYCI_R_WHEEL_TIMESTAMP] =
			"stale once installed by an installer that does not keep times (pip)",
	};
	return (unsigned)r < PYCI_R_COUNT && text[r] ? text[r] : "unknown reason";
}
