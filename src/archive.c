/*
 * archive.c - the caches of an archive or an image, judged in place (see archive.h).
 *
 * An archive is a stream, and a cache's source may come after it, so the work is done in passes
 * over the one open file, each a walk of the same members in the same order (an image's layers
 * are members of the tarball, each read as a nested stream through libarchive, never written
 * anywhere), a member being known in every pass by its place in the walk (its ordinal):
 *   1. the table (artable.h): every cache's first bytes, every source's and symlink's facts, an
 *      image's whiteouts, the manifests; what the archive is (the kind) is decided after it.
 *      The layers of an image in a tarball that is not compressed are read on threads,
 *      each into a table of its own, merged in the walk's order (arlayers.c): the table, its
 *      ordinals and what is said are the one walk's;
 *   2. only when some hash-based cache needs its source hashed: those sources are read and
 *      hashed (each at most limits.max_source, in memory);
 *   3. only for dump (options.stream): each cache is handed to the record callback with a
 *      reader of its bytes.
 * Then each cache is judged by verdict.c, with the rules of its kind (zipimport's for a zip,
 * whose DOS times come from its central directory: zipdir.h), and reported in the order of the
 * walk.  Every byte decompressed is counted: past limits.max_bytes, or limits.max_ratio times
 * the bytes of the file once limits.ratio_floor is passed, the walk stops and the archive is not
 * judged; so does a corrupt or truncated one.  Member names are read as UTF-8 (a thread locale
 * of C.UTF-8 around libarchive's calls; names in no encoding are kept as bytes) and normalized;
 * a cache or source whose name leaves the archive (an absolute name, a ".." component) or
 * cannot be decoded is not judged, and said.
 */
#define _GNU_SOURCE
#include "pycinspect/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arrun.h"
#include "artable.h"
#include "jsonread.h"
#include "zipdir.h"
#include "pycinspect/json.h"
#include "pycinspect/srchash.h"
#include "pycinspect/verdict.h"

#define REGION_BLOCK \
	((size_t)16 << 10) /* ...when it is read from the file: its headers,
					 * the rest skipped */
/* What libarchive's zip reader holds per member of the central directory it indexes, besides
 * the name (measured: about 160 bytes with libarchive 3.6), counted in the tables' budget. */
#define ZIP_INDEX_COST 192
#define MAX_INDEX_DEPTH 4 /* OCI indexes pointing to indexes */

const char *pyci_archive_kind_name(pyci_archive_kind k)
{
	static const char *const names[] = {"zip", "wheel", "sdist", "image"};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

/* ---- what is kept between the passes ------------------------------------------------------ */

/* A source to hash, for the verdict of a hash-based cache or for dump's "siphash". */
struct hreq {
	uint32_t member; /* the source's member (its bytes) */
	uint32_t k0;
	int c, d;
	int done, err;
	uint8_t out[8];
};

void ar_set_fatal(struct run *r, const char *msg, const char *detail, int err)
{
	if (r->fatal)
		return;
	r->fatal = 1;
	r->fatal_msg = msg;
	r->fatal_detail = detail ? strdup(detail) : NULL;
	r->fatal_err = err;
}

/* A member error kept to be said later, when it may be (memory short: it is only counted). */
static void keep_error(struct run *r, char *path, const char *msg, int err)
{
	if (r->nmerr == r->merr_cap) {
		size_t cap = r->merr_cap ? r->merr_cap * 2 : 16;
		struct merr *m = realloc(r->merr, cap * sizeof(*m));
		if (!m) {
			free(path);
			return;
		}
		r->merr = m;
		r->merr_cap = cap;
	}
	r->merr[r->nmerr++] = (struct merr){r->ordinal, path, msg, err};
}

static int normalize(const char *name, pyci_buf *out, int *outside);

/* Whether path, ARCHIVE!/MEMBER as a member error has it, is the member options.member names. */
static int is_filter(const struct run *r, const char *path)
{
	size_t n = strlen(r->path_arg);
	if (strncmp(path, r->path_arg, n) != 0 || strncmp(path + n, "!/", 2) != 0)
		return 0;
	pyci_buf b = PYCI_BUF_INIT;
	int outside;
	int same = normalize(path + n + 2, &b, &outside) == 0 && b.len == r->filter.len &&
		   memcmp(b.data, r->filter.data, b.len) == 0;
	pyci_buf_free(&b);
	return same;
}

/* A member error said: the first max_member_errors of the run, the rest counted; with
 * options.member, only an error of that member. */
void ar_say_error(struct run *r, const char *path, const char *msg, int err)
{
	if (r->member_filter && !(path && is_filter(r, path)))
		return; /* of another member than the one asked for */
	r->member_errors++;
	if (r->member_errors > r->ao->limits.max_member_errors || !r->aops->error)
		return;
	pyci_archive_error e = {path ? path : r->path_arg, msg, NULL, err, 0};
	r->aops->error(r->aops->ctx, &e);
}

/* A member not judged: said (the first max_member_errors), counted; with layers on threads,
 * kept to be said in the walk's order (those that may be said). */
static void member_error(struct run *r, const char *name, size_t len, const char *msg, int err)
{
	if (!name && err == EILSEQ && r->zip_name_not_utf8) {
		r->undecodable++; /* said by undecodable_errors, or not at all (zipdir_names) */
		return;
	}
	if (r->member_errors >= r->ao->limits.max_member_errors || !r->aops->error) {
		r->member_errors++;
		return;
	}
	pyci_buf p = PYCI_BUF_INIT;
	int ok = pyci_buf_puts(&p, r->path_arg) == 0;
	if (ok && name)
		ok = pyci_buf_puts(&p, "!/") == 0 && pyci_buf_append(&p, name, len) == 0;
	if (r->par) {
		r->member_errors++;
		keep_error(r, ok ? p.data : NULL, msg, err); /* p's bytes are its now */
		if (!ok)
			pyci_buf_free(&p);
		return;
	}
	ar_say_error(r, ok ? p.data : NULL, msg, err);
	pyci_buf_free(&p);
}

/* ---- limits ------------------------------------------------------------------------------- */

/* What reader a gave beyond what it was given: nothing for a stream that is not compressed
 * (a layer's plain tar: its bytes were counted by the tarball's reader). */
static uint64_t given(struct archive *a)
{
	return archive_filter_count(a) > 1 ? (uint64_t)archive_filter_bytes(a, 0) : 0;
}

/* Bytes decompressed so far: the readers' output, and what was read from members compressed
 * inside the format (a zip's), whose reader has no filter of its own. */
uint64_t ar_decompressed(const struct run *r)
{
	uint64_t n = r->out_done;
	if (r->outer) {
		n += (uint64_t)archive_filter_bytes(r->outer, 0);
		if (archive_filter_count(r->outer) <= 1)
			n += r->data_read;
	} else if (r->job_layer)
		n += r->data_read; /* a layer read from the plain tarball, counted as its reader does */
	if (r->inner)
		n += given(r->inner);
	return n;
}

/* 0, or -1 after making the run fatal: out bytes decompressed from raw bytes of the file
 * pass a limit. */
int ar_over_limits(struct run *r, uint64_t out, uint64_t raw)
{
	const pyci_archive_limits *l = &r->ao->limits;
	char why[160];
	if (out > l->max_bytes) {
		(void)snprintf(why, sizeof(why), "over %" PRIu64 " bytes", l->max_bytes);
		ar_set_fatal(r, "archive not judged: more decompressed bytes than the limit", why,
			     EFBIG);
		return -1;
	}
	if (out > l->ratio_floor && raw && out / raw >= l->max_ratio) {
		(void)snprintf(why, sizeof(why),
			       "%" PRIu64 " bytes from %" PRIu64 ", over %" PRIu32
			       ":1 past %" PRIu64 " bytes",
			       out, raw, l->max_ratio, l->ratio_floor);
		ar_set_fatal(r,
			     "archive not judged: decompression ratio over the limit (a zip bomb?)",
			     why, EFBIG);
		return -1;
	}
	return 0;
}

/* 0, or -1 after making the run fatal: a limit was passed. */
static int check_limits(struct run *r)
{
	uint64_t out = ar_decompressed(r);
	uint64_t raw =
		r->raw_region + (r->outer ? (uint64_t)archive_filter_bytes(r->outer, -1) : 0);
	if (r->par) /* the limits are the archive's: the sums of every thread's */
		ar_share_counts(r, &out, &raw);
	return ar_over_limits(r, out, raw);
}

/* ---- readers ------------------------------------------------------------------------------ */

/* A reader of the formats and filters pycinspect reads: only those built into libarchive (a
 * filter it would run an external program for is refused), and no format that reads other
 * files (mtree) or needs nothing (raw, empty).  A layer is a tar, compressed or not. */
static struct archive *new_reader(int layer)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	int rc = archive_read_support_format_tar(a);
	if (!layer) {
		rc |= archive_read_support_format_zip(a);
		rc |= archive_read_support_format_7zip(a);
		rc |= archive_read_support_format_cpio(a);
		rc |= archive_read_support_format_rar(a);
		rc |= archive_read_support_format_rar5(a);
	}
	rc |= archive_read_support_filter_gzip(a);
	rc |= archive_read_support_filter_bzip2(a);
	rc |= archive_read_support_filter_xz(a);
	rc |= archive_read_support_filter_lzma(a);
	rc |= archive_read_support_filter_lzip(a);
	rc |= archive_read_support_filter_zstd(a);
	rc |= archive_read_support_filter_lz4(a);
	rc |= archive_read_support_filter_compress(a);
	if (rc != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* The thread's locale for libarchive's name conversions: C.UTF-8, when there is one. */
void ar_enter_locale(struct run *r)
{
	r->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	r->old_loc = r->loc ? uselocale(r->loc) : (locale_t)0;
}

void ar_leave_locale(struct run *r)
{
	if (r->loc) {
		uselocale(r->old_loc);
		freelocale(r->loc);
		r->loc = (locale_t)0;
	}
}

/* ---- names -------------------------------------------------------------------------------- */

/* name normalized into out: relative, '/'-separated, no "." component, no trailing '/'.
 * *outside: it was absolute or had a ".." component.  0, or -1 (ENOMEM). */
static int normalize(const char *name, pyci_buf *out, int *outside)
{
	pyci_buf_clear(out);
	*outside = name[0] == '/';
	for (const char *p = name; *p;) {
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			*outside = 1;
		if (n && !(n == 1 && p[0] == '.') &&
		    ((out->len && pyci_buf_putc(out, '/') != 0) || pyci_buf_append(out, p, n) != 0))
			return -1;
		p = *e ? e + 1 : e;
	}
	if (!out->data && pyci_buf_puts(out, "") != 0)
		return -1;
	return 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static const char *base_of(const char *p, size_t n, size_t *base_len)
{
	size_t k = n;
	while (k > 0 && p[k - 1] != '/')
		k--;
	*base_len = n - k;
	return p + k;
}

/* A member of an image tarball that holds a layer: <64 hex>/layer.tar (docker save before
 * 25) or blobs/<algorithm>/<hex> (OCI, docker 25+). */
static int layer_name(const char *p, size_t n)
{
	if (n == 64 + 10 && memcmp(p + 64, "/layer.tar", 10) == 0) {
		for (size_t i = 0; i < 64; i++)
			if (!strchr("0123456789abcdef", p[i]))
				return 0;
		return 1;
	}
	if (n < 7 || memcmp(p, "blobs/", 6) != 0)
		return 0;
	const char *slash = memchr(p + 6, '/', n - 6);
	if (!slash || slash == p + 6 || (size_t)(p + n - slash - 1) < 32)
		return 0;
	for (const char *q = p + 6; q < slash; q++) /* the algorithm: OCI's [a-z0-9+._-] */
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+._-", *q))
			return 0;
	for (const char *q = slash + 1; q < p + n; q++)
		if (!strchr("0123456789abcdef", *q))
			return 0;
	return 1;
}

/* ---- pass 1: the table -------------------------------------------------------------------- */

static int push_blob(struct run *r, const char *member, const char *text, size_t len)
{
	if (artable_reserve(&r->t, len + strlen(member) + sizeof(struct blob)) != 0)
		return -1;
	if (r->nblobs == r->blobs_cap) {
		size_t cap = r->blobs_cap ? r->blobs_cap * 2 : 8;
		struct blob *b = realloc(r->blobs, cap * sizeof(*b));
		if (!b)
			return -1;
		r->blobs = b;
		r->blobs_cap = cap;
	}
	struct blob *b = &r->blobs[r->nblobs];
	b->member = strdup(member);
	b->text = malloc(len + 1);
	if (!b->member || !b->text) {
		free(b->member);
		free(b->text);
		errno = ENOMEM;
		return -1;
	}
	memcpy(b->text, text, len);
	b->text[len] = '\0';
	b->len = len;
	r->nblobs++;
	return 0;
}

/* Read the rest of the current entry of a into r->data, at most max bytes (beyond: EFBIG).
 * 0, or -1 (errno; a read error of the archive makes the run fatal). */
static int read_all(struct run *r, struct archive *a, uint64_t max)
{
	char buf[16384];
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n < 0) {
			ar_set_fatal(r, "archive not judged: cannot read it",
				     archive_error_string(a),
				     archive_errno(a) > 0 ? archive_errno(a) : EIO);
			errno = EIO;
			return -1;
		}
		if (n == 0)
			return 0;
		r->data_read += (uint64_t)n;
		if (r->data.len + (size_t)n > max) {
			errno = EFBIG;
			return -1;
		}
		if (pyci_buf_append(&r->data, buf, (size_t)n) != 0)
			return -1;
		if (check_limits(r) != 0) {
			errno = EFBIG;
			return -1;
		}
	}
}

/* The first bytes of a cache into m->peek. */
static void read_peek(struct run *r, struct archive *a, ar_member *m)
{
	while (m->got < PYCI_PEEK_SIZE) {
		la_ssize_t n = archive_read_data(a, m->peek + m->got, PYCI_PEEK_SIZE - m->got);
		if (n < 0) {
			m->read_err = archive_errno(a) > 0 ? archive_errno(a) : EIO;
			return;
		}
		if (n == 0)
			return;
		m->got = (uint8_t)(m->got + n);
		r->data_read += (uint64_t)n;
	}
}

/* The kind's clues: a wheel's .dist-info/WHEEL, an sdist's one top directory and PKG-INFO. */
static int note_clues(struct run *r, const char *p, size_t n)
{
	const char *slash = memchr(p, '/', n);
	size_t top = slash ? (size_t)(slash - p) : n;
	if (!r->top_set) {
		r->top_set = r->one_top = 1;
		if (pyci_buf_append(&r->top, p, top) != 0)
			return -1;
	} else if (r->top.len != top || memcmp(r->top.data, p, top) != 0) {
		r->one_top = 0;
	}
	if (slash && !memchr(slash + 1, '/', n - top - 1)) {
		if (ends_with(p, top, ".dist-info") && strcmp(slash + 1, "WHEEL") == 0)
			r->wheel_marker = 1;
		if (strcmp(slash + 1, "PKG-INFO") == 0)
			r->pkg_info = 1;
	}
	return 0;
}

/* An image's event for an entry of a layer (whiteouts are only that: no member). 1 when the
 * entry is a whiteout, 0 when not, -1 on error. */
static int layer_event(struct run *r, const char *p, size_t n, uint32_t layer, int dir)
{
	size_t bl;
	const char *b = base_of(p, n, &bl);
	size_t dl = b > p ? (size_t)(b - p - 1) : 0;
	if (bl >= 4 && memcmp(b, ".wh.", 4) == 0) {
		if (bl == 12 && memcmp(b, ".wh..wh..opq", 12) == 0)
			return artable_event(&r->t, p, dl, layer, AR_EV_OPAQUE) ? -1 : 1;
		pyci_buf_clear(&r->scratch);
		if (pyci_buf_append(&r->scratch, p, dl) != 0 ||
		    (dl && pyci_buf_putc(&r->scratch, '/') != 0) ||
		    pyci_buf_append(&r->scratch, b + 4, bl - 4) != 0)
			return -1;
		return artable_event(&r->t, r->scratch.data, r->scratch.len, layer, AR_EV_WHITEOUT)
			       ? -1
			       : 1;
	}
	return artable_event(&r->t, p, n, layer, dir ? AR_EV_DIR : AR_EV_NONDIR) ? -1 : 0;
}

/* Pass 1's visit of an entry of layer (0: the archive itself). 0, or -1 (errno; stop). */
int ar_keep_entry(struct run *r, struct archive *a, struct archive_entry *e, uint32_t layer)
{
	const char *name = archive_entry_pathname(e);
	if (!name) {
		member_error(r, NULL, 0, "member name cannot be decoded: not judged", EILSEQ);
		return 0;
	}
	int outside;
	if (normalize(name, &r->norm, &outside) != 0)
		return -1;
	const char *p = r->norm.data;
	size_t n = r->norm.len;
	mode_t type = archive_entry_filetype(e);
	if (n == 0)
		return 0;
	if (layer == 0 && note_clues(r, p, n) != 0)
		return -1;
	if (layer > 0 && !outside) {
		int w = layer_event(r, p, n, layer, type == AE_IFDIR);
		if (w != 0)
			return w < 0 ? -1 : 0;
	}
	size_t bl;
	const char *b = base_of(p, n, &bl);
	ar_role role = ends_with(b, bl, ".pyc") || ends_with(b, bl, ".pyo") ? AR_CACHE
		       : ends_with(b, bl, ".py")                            ? AR_SOURCE
		       : type == AE_IFLNK                                   ? AR_SYMLINK
									    : 0;
	if (!role || type == AE_IFDIR)
		return 0;
	if (outside) {
		if (role != AR_SYMLINK)
			member_error(r, name, strlen(name),
				     "member name leaves the archive (absolute or ..): not judged",
				     EPERM);
		return 0;
	}
	ar_member m = {.layer = layer,
		       .role = (uint8_t)role,
		       .mode = (uint32_t)archive_entry_mode(e),
		       .ordinal = r->ordinal,
		       .size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0,
		       .mtime_sec = archive_entry_mtime(e),
		       .mtime_nsec = archive_entry_mtime_nsec(e),
		       .uid = (uint32_t)archive_entry_uid(e),
		       .gid = (uint32_t)archive_entry_gid(e)};
	const char *link = NULL;
	size_t link_len = 0;
	const char *hard = archive_entry_hardlink(e);
	if (hard) {
		/* a hard link has its target's bytes: a member read before it, in its layer */
		int out2;
		if (normalize(hard, &r->scratch, &out2) != 0)
			return -1;
		long t = out2 ? -1 : artable_find(&r->t, r->scratch.data, r->scratch.len, layer);
		if (t >= 0) {
			const ar_member *tm = &r->t.m[t];
			m.mode = tm->mode;
			m.size = tm->size;
			m.got = tm->got;
			memcpy(m.peek, tm->peek, sizeof(m.peek));
			m.read_err = tm->read_err;
		} else {
			m.mode = AE_IFREG | (m.mode & 07777);
			m.read_err = ENOENT; /* its bytes are a member not kept */
		}
		if (role == AR_SYMLINK)
			return 0;
		m.hardlink = 1;
	} else if (type == AE_IFLNK) {
		link = archive_entry_symlink(e);
		if (!link)
			link = "";
		link_len = strlen(link);
	} else if (role == AR_CACHE && type == AE_IFREG) {
		read_peek(r, a, &m);
	}
	return artable_add(&r->t, &m, p, n, link, link_len) < 0 ? -1 : 0;
}

/* A layer member that links to another (symlink: relative to its directory). */
static int note_alias(struct run *r, const char *member, const char *target, int symlink)
{
	pyci_buf t = PYCI_BUF_INIT;
	int outside = 0, rc = -1;
	if (symlink && target[0] != '/') {
		size_t bl;
		const char *b = base_of(member, strlen(member), &bl);
		if (pyci_buf_append(&t, member, (size_t)(b - member)) != 0 ||
		    pyci_buf_puts(&t, target) != 0)
			goto out;
	} else if (pyci_buf_puts(&t, target) != 0) {
		goto out;
	}
	/* "a/../b": resolve the ".." here, as the link would */
	pyci_buf parts = PYCI_BUF_INIT;
	for (const char *p = t.data; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			size_t k = parts.len;
			while (k > 0 && parts.data[k - 1] != '/')
				k--;
			if (parts.len == 0)
				outside = 1;
			pyci_buf_truncate(&parts, k ? k - 1 : 0);
		} else if (n && !(n == 1 && p[0] == '.')) {
			if ((parts.len && pyci_buf_putc(&parts, '/') != 0) ||
			    pyci_buf_append(&parts, p, n) != 0) {
				pyci_buf_free(&parts);
				goto out;
			}
		}
		p += n + (e != NULL);
	}
	if (outside || !parts.data) {
		pyci_buf_free(&parts);
		rc = 0;
		goto out;
	}
	if (r->naliases == r->aliases_cap) {
		size_t cap = r->aliases_cap ? r->aliases_cap * 2 : 8;
		struct alias *a = realloc(r->aliases, cap * sizeof(*a));
		if (!a) {
			pyci_buf_free(&parts);
			goto out;
		}
		r->aliases = a;
		r->aliases_cap = cap;
	}
	char *m = strdup(member);
	if (!m || artable_reserve(&r->t, strlen(member) + parts.len + sizeof(struct alias)) != 0) {
		free(m);
		pyci_buf_free(&parts);
		goto out;
	}
	r->aliases[r->naliases++] = (struct alias){m, parts.data};
	rc = 0;
out:
	pyci_buf_free(&t);
	return rc;
}

/* ---- the walk ------------------------------------------------------------------------------ */

static la_ssize_t nest_read(struct archive *a, void *ctx, const void **buf)
{
	struct nest *ns = ctx;
	if (ar_cancelled(ns->r)) {
		archive_set_error(a, ECANCELED, "stopped");
		return -1;
	}
	if (ns->prefix_len) {
		*buf = ns->prefix;
		size_t n = ns->prefix_len;
		ns->prefix_len = 0;
		return (la_ssize_t)n;
	}
	if (ns->region) {
		size_t want = ns->end - ns->off < REGION_BLOCK ? (size_t)(ns->end - ns->off)
							       : REGION_BLOCK;
		ssize_t n;
		while ((n = pread(ns->r->fd, ns->block, want, (off_t)ns->off)) < 0 &&
		       errno == EINTR)
			;
		if (n < 0) {
			archive_set_error(a, errno, "cannot read the layer");
			return -1;
		}
		ns->off += (uint64_t)n;
		ns->r->raw_region += (uint64_t)n;
		if (check_limits(ns->r) != 0) {
			archive_set_error(a, EFBIG, "limit passed");
			return -1;
		}
		*buf = ns->block;
		return n;
	}
	la_ssize_t n = archive_read_data(ns->outer, ns->block, BLOCK);
	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(ns->outer));
		return -1;
	}
	if (check_limits(ns->r) != 0) {
		archive_set_error(a, EFBIG, "limit passed");
		return -1;
	}
	*buf = ns->block;
	return n;
}

/* libarchive's skip: in a region, without reading; otherwise 0 (it reads what it skips). */
static la_int64_t nest_skip(struct archive *a, void *ctx, la_int64_t request)
{
	(void)a;
	struct nest *ns = ctx;
	if (!ns->region || ns->prefix_len || request <= 0)
		return 0;
	uint64_t k = (uint64_t)request < ns->end - ns->off ? (uint64_t)request : ns->end - ns->off;
	ns->off += k;
	return (la_int64_t)k;
}

/*
 * Whether the layer in the tarball's current entry e can be read from the file itself: a tar
 * not compressed, the entry's data contiguous, starting where libarchive's reader stands
 * (data_off), which the bytes already read through it (sniff, got of them) confirm.
 */
static int region_of(struct run *r, struct archive *outer, struct archive_entry *e,
		     uint64_t data_off, const unsigned char *sniff, size_t got)
{
	unsigned char check[512];
	size_t n = got < sizeof(check) ? got : sizeof(check);
	if (archive_filter_count(outer) != 1 ||
	    (archive_format(outer) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR ||
	    !archive_entry_size_is_set(e) || archive_entry_sparse_count(e) != 0)
		return 0;
	return pread(r->fd, check, n, (off_t)data_off) == (ssize_t)n &&
	       memcmp(check, sniff, n) == 0;
}

/* Past the rest of the current entry of a.  A compressed stream, or a format that compresses
 * its members together (7-Zip, RAR), is decompressed to skip it: it is read here a block at a
 * time, the limits checked after each, so that a bomb stops early.  0, or -1 (fatal). */
static int drain(struct run *r, struct archive *a)
{
	int fmt = archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;
	if (archive_filter_count(a) <= 1 && fmt != ARCHIVE_FORMAT_7ZIP &&
	    fmt != ARCHIVE_FORMAT_RAR && fmt != ARCHIVE_FORMAT_RAR_V5)
		return 0; /* libarchive seeks, or reads what it skips as it is */
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int k = archive_read_data_block(a, &buf, &len, &off);
		if (k == ARCHIVE_EOF)
			return 0;
		if (k < ARCHIVE_WARN) {
			ar_set_fatal(r, "archive not judged: corrupt or truncated",
				     archive_error_string(a),
				     archive_errno(a) > 0 ? archive_errno(a) : EIO);
			return -1;
		}
		if (archive_filter_count(a) <= 1)
			r->data_read += len; /* decompressed by the format, not by a filter */
		if (check_limits(r) != 0)
			return -1;
	}
}

/* Whether the members wanted by this pass include one of ordinals [first, first + count). */
static int wanted_in(const struct run *r, uint64_t first, uint64_t count)
{
	size_t i = r->want_pos;
	return i < r->nwant && r->t.m[r->want[i]].ordinal < first + count &&
	       r->t.m[r->want[i]].ordinal >= first;
}

static int remember_layer(struct run *r, const char *member)
{
	if (r->nlayers >= r->ao->limits.max_layers) {
		ar_set_fatal(r, "archive not judged: more layers than the limit", NULL, EFBIG);
		return -1;
	}
	if (r->nlayers == r->layers_cap) {
		size_t cap = r->layers_cap ? r->layers_cap * 2 : 16;
		struct layer *l = realloc(r->layers, cap * sizeof(*l));
		if (!l)
			return -1;
		r->layers = l;
		r->layers_cap = cap;
	}
	char *m = strdup(member);
	if (!m || artable_reserve(&r->t, strlen(member) + sizeof(struct layer)) != 0) {
		free(m);
		return -1;
	}
	struct layer *l = &r->layers[r->nlayers++];
	l->member = m;
	l->first = r->ordinal + 1;
	l->count = 0;
	return 0;
}

/* The entries of layer l, read through ns, visited.  A stream that is not a tar is no layer:
 * nothing of it is visited.  0, or -1 (fatal, said in r, or errno). */
int ar_read_layer(struct run *r, struct nest *ns, uint32_t l, visit_fn visit)
{
	struct archive *in = new_reader(1);
	int rc = -1;
	if (!in) {
		errno = ENOMEM;
		return -1;
	}
	r->inner = in;
	if (archive_read_open2(in, ns, NULL, nest_read, nest_skip, NULL) != ARCHIVE_OK) {
		rc = 0; /* not a tar: a blob of something else, not a layer */
		goto out;
	}
	struct archive_entry *e;
	for (;;) {
		int h = archive_read_next_header(in, &e);
		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN || check_limits(r) != 0) {
			ar_set_fatal(r, "archive not judged: a layer is corrupt or truncated",
				     archive_error_string(in),
				     archive_errno(in) > 0 ? archive_errno(in) : EIO);
			goto out;
		}
		r->ordinal++;
		if (visit(r, in, e, l) != 0 || drain(r, in) != 0)
			goto out;
	}
	rc = check_limits(r);
out:;
	int err = errno;
	r->out_done += given(in);
	r->inner = NULL;
	archive_read_free(in);
	errno = err;
	return rc;
}

/* An entry of the tarball that may hold a layer: a JSON manifest is kept (pass 1), a tar is
 * walked as layer r->nstream (with layers on threads, one read from the file is left to
 * them).  0, or -1 (stop). */
static int walk_layer(struct run *r, struct archive *outer, struct archive_entry *oe,
		      const char *member, visit_fn visit)
{
	unsigned char *sniff = malloc(BLOCK);
	unsigned char *block = malloc(BLOCK);
	int rc = -1;
	if (!sniff || !block) {
		errno = ENOMEM;
		goto out;
	}
	uint64_t data_off = (uint64_t)archive_filter_bytes(outer, 0); /* before any data read */
	la_ssize_t got = archive_read_data(outer, sniff, BLOCK);
	if (got < 0) {
		ar_set_fatal(r, "archive not judged: cannot read it", archive_error_string(outer),
			     EIO);
		goto out;
	}
	size_t k = 0;
	while (k < (size_t)got && strchr(" \t\r\n", sniff[k]))
		k++;
	if (k < (size_t)got && (sniff[k] == '{' || sniff[k] == '[')) {
		rc = 0;
		if (r->pass != 1)
			goto out;
		pyci_buf_clear(&r->data);
		if (pyci_buf_append(&r->data, sniff, (size_t)got) != 0 ||
		    read_all(r, outer, JSON_READ_MAX_TEXT) != 0) {
			rc = errno == EFBIG && !r->fatal ? 0 : -1; /* too large: not a manifest */
			goto out;
		}
		rc = push_blob(r, member, r->data.data, r->data.len);
		goto out;
	}
	uint32_t l = ++r->nstream;
	if (r->pass == 1) {
		if (remember_layer(r, member) != 0)
			goto out;
	} else if (l > r->nlayers ||
		   !wanted_in(r, r->layers[l - 1].first, r->layers[l - 1].count)) {
		r->ordinal += l <= r->nlayers ? r->layers[l - 1].count : 0;
		rc = 0;
		goto out;
	}
	struct nest ns = {r, outer, sniff, (size_t)got, block, 0, 0, 0};
	if (region_of(r, outer, oe, data_off, sniff, (size_t)got)) {
		ns.region = 1;
		ns.off = data_off + (uint64_t)got;
		ns.end = data_off + (uint64_t)archive_entry_size(oe);
	}
	if (r->par && ns.region) { /* read on a thread, after the tarball's walk */
		rc = ar_queue_layer(r, l, data_off, (uint64_t)got, ns.end);
		goto out;
	}
	uint64_t before = r->ordinal;
	rc = ar_read_layer(r, &ns, l, visit);
	if (rc == 0 && r->pass == 1)
		r->layers[l - 1].count = r->ordinal - before;
out:
	free(sniff);
	free(block);
	return rc;
}

/* Walk every entry of the archive (and of the layers in it) with visit.  0, or -1: fatal (said
 * in r) or errno. */
static int walk(struct run *r, visit_fn visit)
{
	struct archive_entry *e;
	int rc = -1;
	if (lseek(r->fd, 0, SEEK_SET) != 0)
		return -1;
	r->ordinal = 0;
	r->nstream = 0;
	r->want_pos = 0;
	r->out_done = r->data_read = r->raw_region = 0;
	if (!(r->outer = new_reader(0))) {
		errno = ENOMEM;
		return -1;
	}
	if (archive_read_open_fd(r->outer, r->fd, BLOCK) != ARCHIVE_OK) {
		ar_set_fatal(r, "archive not judged: cannot read it",
			     archive_error_string(r->outer), EINVAL);
		goto out;
	}
	for (;;) {
		int h = archive_read_next_header(r->outer, &e);
		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN) {
			ar_set_fatal(r, "archive not judged: corrupt or truncated",
				     archive_error_string(r->outer),
				     archive_errno(r->outer) > 0 ? archive_errno(r->outer) : EIO);
			goto out;
		}
		if (check_limits(r) != 0)
			goto out;
		if (r->pass == 1 && !r->format) {
			r->format = strdup(archive_format_name(r->outer));
			r->format_code = archive_format(r->outer) & ARCHIVE_FORMAT_BASE_MASK;
		}
		r->ordinal++;
		const char *name = archive_entry_pathname(e);
		int outside = 1;
		if (name && normalize(name, &r->norm, &outside) != 0)
			goto out;
		mode_t type = archive_entry_filetype(e);
		if (name && !outside && layer_name(r->norm.data, r->norm.len) &&
		    (type == AE_IFREG || type == AE_IFLNK || archive_entry_hardlink(e))) {
			if (type == AE_IFREG && !archive_entry_hardlink(e)) {
				char *member = strdup(r->norm.data);
				if (!member)
					goto out;
				int w = walk_layer(r, r->outer, e, member, visit);
				free(member);
				if (w != 0 || r->fatal)
					goto out;
				continue;
			}
			if (r->pass == 1) { /* a layer shared with another: its target's */
				const char *t = type == AE_IFLNK ? archive_entry_symlink(e)
								 : archive_entry_hardlink(e);
				if (t && note_alias(r, r->norm.data, t, type == AE_IFLNK) != 0)
					goto out;
			}
		} else if (r->pass == 1 && name && !outside && type == AE_IFREG &&
			   (strcmp(r->norm.data, "manifest.json") == 0 ||
			    strcmp(r->norm.data, "index.json") == 0)) {
			char *member = strdup(r->norm.data);
			pyci_buf_clear(&r->data);
			int k = member ? read_all(r, r->outer, JSON_READ_MAX_TEXT) : -1;
			if (k == 0)
				k = push_blob(r, member, r->data.data, r->data.len);
			free(member);
			if (k != 0 && (errno != EFBIG || r->fatal))
				goto out;
			continue;
		}
		if (visit(r, r->outer, e, 0) != 0 || r->fatal || drain(r, r->outer) != 0)
			goto out;
	}
	if (check_limits(r) != 0)
		goto out;
	rc = 0;
out:;
	int err = errno;
	r->out_done += (uint64_t)archive_filter_bytes(r->outer, 0);
	if (archive_filter_count(r->outer) <= 1)
		r->out_done += r->data_read;
	r->data_read = 0;
	archive_read_free(r->outer);
	r->outer = NULL;
	errno = err;
	return r->fatal ? -1 : rc;
}

/* ---- pass 1 ---------------------------------------------------------------------------------- */

static int zip_index_cost(struct run *r);

/* Pass 1 on the calling thread alone.  0, or -1 (fatal, said in r, or errno). */
int ar_walk_table(struct run *r)
{
	return zip_index_cost(r) != 0 ? -1 : walk(r, ar_keep_entry);
}

/* Everything pass 1 made, gone: the run as it was before (its table empty). */
void ar_forget_table(struct run *r)
{
	for (size_t i = 0; i < r->nmerr; i++)
		free(r->merr[i].path);
	free(r->merr);
	artable_free(&r->t);
	free(r->format);
	for (size_t i = 0; i < r->nlayers; i++)
		free(r->layers[i].member);
	free(r->layers);
	for (size_t i = 0; i < r->naliases; i++) {
		free(r->aliases[i].member);
		free(r->aliases[i].target);
	}
	free(r->aliases);
	for (size_t i = 0; i < r->nblobs; i++) {
		free(r->blobs[i].member);
		free(r->blobs[i].text);
	}
	free(r->blobs);
	pyci_buf_free(&r->top);
	free(r->fatal_detail);
	r->merr = NULL;
	r->nmerr = r->merr_cap = 0;
	artable_init(&r->t, r->ao->limits.max_table);
	r->format = NULL;
	r->format_code = 0;
	r->layers = NULL;
	r->nlayers = r->layers_cap = 0;
	r->aliases = NULL;
	r->naliases = r->aliases_cap = 0;
	r->blobs = NULL;
	r->nblobs = r->blobs_cap = 0;
	r->wheel_marker = r->pkg_info = r->one_top = r->top_set = 0;
	r->fatal = 0;
	r->fatal_msg = NULL;
	r->fatal_detail = NULL;
	r->fatal_err = 0;
	r->member_errors = 0;
	r->ordinal = 0;
	r->nstream = 0;
}

/* ---- what the archive is ------------------------------------------------------------------ */

/* zipdir_read's callback for zip_index_cost: the memory libarchive will take for an entry;
 * and whether its name is flagged UTF-8 (0x800) and is not, which zipimport of Python 3 decodes
 * strictly (Lib/zipimport.py's _read_directory: name.decode()) and fails on. */
static int count_entry(void *ctx, const zipdir_entry *e)
{
	struct run *r = ctx;
	if ((e->flags & 0x800) && !pyci_utf8_valid(e->name, e->name_len))
		r->zip_name_not_utf8 = 1;
	if (artable_reserve(&r->t, ZIP_INDEX_COST + e->name_len) != 0) {
		ar_set_fatal(r, "archive not judged: its tables would pass the memory limit",
			     "libarchive's index of its central directory", EFBIG);
		return -1;
	}
	return 0;
}

/* A zip's central directory is indexed whole by libarchive before the first member is read:
 * its memory is counted first, and one too large is not read.  0, or -1 (fatal). */
static int zip_index_cost(struct run *r)
{
	const char *why;
	r->undecodable = 0; /* (pass 1 may be walked again) */
	int k = zipdir_read(r->fd, count_entry, r, &why);
	r->zipdir_why = k > 0 ? why : NULL; /* said once the kind is known (zip_directory_read) */
	return k < 0 && r->fatal ? -1 : 0;  /* not a zip, or not one zipimport reads: libarchive
					     * decides */
}

/* A zip read (by libarchive's streaming reader) without a central directory that zipdir.h
 * reads: a zip on sys.path is said by load_dos_times in zipimport's words; a wheel or an sdist
 * is corrupt or truncated, as zipfile, and so pip, find it.  0, or -1 (fatal). */
static int zip_directory_read(struct run *r)
{
	if (r->format_code != ARCHIVE_FORMAT_ZIP || r->kind == PYCI_ARCHIVE_ZIP || !r->zipdir_why)
		return 0;
	ar_set_fatal(r, "archive not judged: corrupt or truncated", r->zipdir_why, EINVAL);
	return -1;
}

/* The errors of the members whose names could not be decoded, held back until now. */
static void undecodable_errors(struct run *r)
{
	uint64_t n = r->undecodable;
	r->undecodable = 0;
	r->zip_name_not_utf8 = 0;
	while (n--)
		member_error(r, NULL, 0, "member name cannot be decoded: not judged", EILSEQ);
}

/* Whether the zip holds caches, all of Python 2, whose zipimport reads names as bytes. */
static int python2_caches_only(const struct run *r)
{
	size_t caches = 0;
	for (size_t i = 0; i < r->t.n; i++) {
		const ar_member *m = &r->t.m[i];
		if (m->role != AR_CACHE || m->hidden)
			continue;
		pyci_header h;
		pyci_header_parse(m->peek, m->got, m->size, &h);
		if (h.status == PYCI_HDR_EMPTY || h.status == PYCI_HDR_SHORT_MAGIC ||
		    h.status == PYCI_HDR_BAD_MAGIC || h.magic.major >= 3)
			return 0;
		caches++;
	}
	return caches > 0;
}

/*
 * A zip on sys.path with a name flagged UTF-8 that is not: Python 3's zipimport (3.6 - 3.13,
 * PyPy) raises UnicodeDecodeError reading its directory, so nothing is imported from it and it
 * is not judged; Python 2's reads it, so a zip of Python 2's caches alone is judged, its
 * undecodable members said as elsewhere.  0, or -1 (fatal).
 */
static int zipdir_names(struct run *r)
{
	if (r->zip_name_not_utf8 && !python2_caches_only(r)) {
		ar_set_fatal(
			r, "archive not judged: zipimport cannot read it",
			"a member name flagged UTF-8 is not UTF-8: zipimport cannot read this zip",
			EILSEQ);
		return -1;
	}
	undecodable_errors(r);
	return 0;
}

static const struct blob *find_blob(const struct run *r, const char *member)
{
	for (size_t i = 0; i < r->nblobs; i++)
		if (strcmp(r->blobs[i].member, member) == 0)
			return &r->blobs[i];
	return NULL;
}

/* The stream layer a member of the tarball holds, through the links between layers; 0 none. */
static uint32_t stream_layer(const struct run *r, const char *member)
{
	for (int hop = 0; hop < 8 && member; hop++) {
		for (size_t i = 0; i < r->nlayers; i++)
			if (strcmp(r->layers[i].member, member) == 0)
				return (uint32_t)i + 1;
		const char *next = NULL;
		for (size_t i = 0; i < r->naliases && !next; i++)
			if (strcmp(r->aliases[i].member, member) == 0)
				next = r->aliases[i].target;
		member = next;
	}
	return 0;
}

/* "sha256:<hex>" as the member that holds it, blobs/sha256/<hex>, into b.  0, or -1. */
static int digest_member(const char *digest, pyci_buf *b)
{
	const char *colon = digest ? strchr(digest, ':') : NULL;
	if (!colon || colon == digest || strchr(colon + 1, '/') || strstr(digest, ".."))
		return -1;
	pyci_buf_clear(b);
	return pyci_buf_puts(b, "blobs/") || pyci_buf_append(b, digest, (size_t)(colon - digest)) ||
			       pyci_buf_putc(b, '/') || pyci_buf_puts(b, colon + 1)
		       ? -1
		       : 0;
}

/* Add the image's next layer (bottom first), the member that holds it.  0, or -1: fatal. */
static int add_image_layer(struct run *r, const char *member, size_t place)
{
	int outside;
	if (normalize(member, &r->scratch, &outside) != 0)
		return -1;
	uint32_t l = outside ? 0 : stream_layer(r, r->scratch.data);
	if (!l) {
		ar_set_fatal(r, "archive not judged: a layer its manifest names is not in it",
			     member, ENOENT);
		return -1;
	}
	r->rank[l] = (uint32_t)place + 1; /* a layer named twice: its highest place */
	char *label;
	const char *m = r->layers[l - 1].member;
	if (strncmp(m, "blobs/", 6) == 0) {
		const char *slash = strchr(m + 6, '/');
		label = malloc(strlen(m));
		if (label)
			(void)snprintf(label, strlen(m), "%.*s:%s", (int)(slash - m - 6), m + 6,
				       slash + 1); /* fits: one byte shorter than m */
	} else {
		label = strdup(m);
	}
	if (!label)
		return -1;
	r->labels[place] = label;
	return 0;
}

/* The descriptor list of an OCI manifest or index (its blob), and which it is. */
static const jr_value *oci_list(const jr_value *root, int *is_index)
{
	const jr_value *v = jr_get(root, "layers");
	*is_index = 0;
	if (v && v->type == JR_ARRAY)
		return v;
	v = jr_get(root, "manifests");
	*is_index = 1;
	return v && v->type == JR_ARRAY ? v : NULL;
}

/*
 * The image's layers, bottom first, from docker save's manifest.json, or OCI's index.json and
 * the manifest it points to (through at most MAX_INDEX_DEPTH indexes; the first image of
 * each): r->rank, r->labels, r->info_layers.  1 an image, 0 not one (no manifest of either
 * kind, or none that names layers), -1 fatal or errno.
 */
static int image_layers(struct run *r)
{
	const struct blob *b = find_blob(r, "manifest.json");
	jr_doc doc[MAX_INDEX_DEPTH + 1];
	size_t ndoc = 0;
	int rc = -1;
	const jr_value *list = NULL; /* strings (docker) or descriptors (OCI) */
	int docker = 0;
	pyci_buf member = PYCI_BUF_INIT;
	memset(doc, 0, sizeof(doc));
	if (b) {
		if (jr_parse(b->text, b->len, &doc[ndoc++]) != 0 || doc[0].root.type != JR_ARRAY ||
		    doc[0].root.n == 0)
			goto not_image;
		const jr_value *first = &doc[0].root.items[0];
		list = jr_get(first, "Layers");
		docker = 1;
		r->images_not_judged = doc[0].root.n - 1;
		const jr_value *tags = jr_get(first, "RepoTags");
		if (tags && tags->type == JR_ARRAY && tags->n && tags->items[0].type == JR_STRING &&
		    !(r->image_name = strdup(tags->items[0].str)))
			goto out;
	} else if ((b = find_blob(r, "index.json")) != NULL) {
		int is_index = 1;
		if (jr_parse(b->text, b->len, &doc[ndoc++]) != 0)
			goto not_image;
		list = oci_list(&doc[0].root, &is_index);
		for (int depth = 0; list && is_index; depth++) {
			if (depth == 0)
				r->images_not_judged = list->n ? list->n - 1 : 0;
			if (depth >= MAX_INDEX_DEPTH || list->n == 0 ||
			    digest_member(jr_get_str(&list->items[0], "digest"), &member) != 0)
				goto not_image;
			const char *digest = jr_get_str(&list->items[0], "digest");
			if (!r->image_name) {
				const jr_value *ann = jr_get(&list->items[0], "annotations");
				const char *name = jr_get_str(ann, "io.containerd.image.name");
				if (!name)
					name = jr_get_str(ann, "org.opencontainers.image.ref.name");
				if (!(r->image_name = strdup(name ? name : digest)))
					goto out;
			}
			const struct blob *mb = find_blob(r, member.data);
			if (!mb || jr_parse(mb->text, mb->len, &doc[ndoc++]) != 0)
				goto not_image;
			list = oci_list(&doc[ndoc - 1].root, &is_index);
		}
	}
	if (!list || list->type != JR_ARRAY || list->n == 0)
		goto not_image;
	if (!(r->rank = calloc(r->nlayers + 1, sizeof(uint32_t))) ||
	    !(r->labels = calloc(list->n, sizeof(char *))) ||
	    !(r->info_layers = calloc(list->n, sizeof(pyci_layer_info))))
		goto out;
	r->ninfo_layers = list->n;
	for (size_t i = 0; i < list->n; i++) {
		const char *m = NULL;
		if (docker && list->items[i].type == JR_STRING)
			m = list->items[i].str;
		else if (!docker &&
			 digest_member(jr_get_str(&list->items[i], "digest"), &member) == 0)
			m = member.data;
		if (!m) {
			ar_set_fatal(r,
				     "archive not judged: its manifest is not one pycinspect reads",
				     NULL, EINVAL);
			goto out;
		}
		if (add_image_layer(r, m, i) != 0)
			goto out;
		r->info_layers[i].name = r->labels[i];
	}
	rc = 1;
	goto out;
not_image:
	rc = 0;
	free(r->image_name);
	r->image_name = NULL;
	r->images_not_judged = 0;
out:
	for (size_t i = 0; i < ndoc; i++)
		jr_free(&doc[i]);
	pyci_buf_free(&member);
	return rc;
}

static int suffix_ci(const char *path, const char *suffix)
{
	size_t n = strlen(path), k = strlen(suffix);
	return n >= k && strcasecmp(path + n - k, suffix) == 0;
}

static void decide_kind(struct run *r, int image)
{
	int zip = r->format_code == ARCHIVE_FORMAT_ZIP;
	/* a zip whose members are under one directory holding PKG-INFO is an sdist, unless named
	 * as what goes on sys.path */
	int zip_sdist = zip && r->one_top && r->pkg_info && !suffix_ci(r->path_arg, ".pyz") &&
			!suffix_ci(r->path_arg, ".egg");
	if (image)
		r->kind = PYCI_ARCHIVE_IMAGE;
	else if (zip && (r->wheel_marker || suffix_ci(r->path_arg, ".whl")))
		r->kind = PYCI_ARCHIVE_WHEEL;
	else if (zip && !zip_sdist)
		r->kind = PYCI_ARCHIVE_ZIP;
	else
		r->kind = PYCI_ARCHIVE_SDIST;
}

/* zipdir_read's callback: the DOS time of a central directory entry, to its member. */
static int dos_entry(void *ctx, const zipdir_entry *e)
{
	struct run *r = ctx;
	int outside;
	pyci_buf_clear(&r->scratch);
	if (pyci_buf_append(&r->scratch, e->name, e->name_len) != 0 ||
	    normalize(r->scratch.data, &r->norm, &outside) != 0)
		return -1;
	long i = artable_find(&r->t, r->norm.data, r->norm.len, 0);
	if (i >= 0) {
		r->t.m[i].dos_time = zipdir_dostime(e->dos_date, e->dos_time);
		r->t.m[i].has_dos = 1;
	}
	return 0;
}

static int load_dos_times(struct run *r)
{
	const char *why;
	int rc = zipdir_read(r->fd, dos_entry, r, &why);
	if (rc > 0)
		ar_set_fatal(r, "archive not judged: zipimport cannot read it", why, EINVAL);
	return rc == 0 ? zipdir_names(r) : rc;
}

/* ---- judging ------------------------------------------------------------------------------ */

static int req_cmp(const void *a, const void *b)
{
	const struct hreq *x = a, *y = b;
	if (x->member != y->member)
		return x->member < y->member ? -1 : 1;
	if (x->k0 != y->k0)
		return x->k0 < y->k0 ? -1 : 1;
	if (x->c != y->c)
		return x->c - y->c;
	return x->d - y->d;
}

static int add_req(struct run *r, uint32_t member, uint32_t k0, int c, int d)
{
	if (r->nreq == r->reqcap) {
		size_t cap = r->reqcap ? r->reqcap * 2 : 16;
		if (artable_reserve(&r->t, (cap - r->reqcap) * sizeof(struct hreq)) != 0)
			return -1;
		struct hreq *q = realloc(r->req, cap * sizeof(*q));
		if (!q)
			return -1;
		r->req = q;
		r->reqcap = cap;
	}
	r->req[r->nreq++] = (struct hreq){.member = member, .k0 = k0, .c = c, .d = d};
	return 0;
}

static struct hreq *find_req(struct run *r, uint32_t member, uint32_t k0, int c, int d)
{
	struct hreq key = {.member = member, .k0 = k0, .c = c, .d = d};
	return r->nreq ? bsearch(&key, r->req, r->nreq, sizeof(key), req_cmp) : NULL;
}

struct hctx {
	struct run *r;
	long src; /* the member whose bytes are the source's */
};

/* pyci_hash_fn: while collecting, note what is needed (and fail: the verdict is not kept);
 * after the second pass, give what was hashed. */
static int hash_fn(void *ctx, uint32_t k0, int c, int d, uint8_t out[8])
{
	struct hctx *hc = ctx;
	struct run *r = hc->r;
	if (hc->src < 0) {
		errno = ENOENT;
		return -1;
	}
	if (r->collecting) {
		if (add_req(r, (uint32_t)hc->src, k0, c, d) != 0)
			r->collecting = -1; /* out of budget: said after */
		errno = EAGAIN;
		return -1;
	}
	const struct hreq *q = find_req(r, (uint32_t)hc->src, k0, c, d);
	if (!q || !q->done) {
		errno = q && q->err ? q->err : EIO;
		return -1;
	}
	memcpy(out, q->out, 8);
	return 0;
}

/* Everything judged about one cache, and its record. */
struct judged {
	pyci_cache_name cname;
	pyci_header header;
	pyci_verdict verdict;
	pyci_source_info source;
	int has_source;
	long src; /* the member holding the source's bytes, or -1 */
	pyci_member member;
	pyci_record rec;
};

/* The source of cache member i: its path in r->srcmember; its facts in j.  The zipimport of a
 * zip finds it by name in the directory; anything else follows links in the tree. */
static int find_source(struct run *r, size_t i, struct judged *j)
{
	const char *p = artable_path(&r->t, i);
	size_t n = r->t.m[i].path_len, bl;
	const char *b = base_of(p, n, &bl);
	size_t dir = b > p ? (size_t)(b - p - 1) : 0;
	j->has_source = pyci_cache_name_of_py(&j->cname);
	j->src = -1;
	if (!j->has_source)
		return 0;
	if (j->cname.kind == PYCI_NAME_PYCACHE) { /* DIR/__pycache__/NAME...: DIR/NAME.py */
		while (dir > 0 && p[dir - 1] != '/')
			dir--;
		dir = dir ? dir - 1 : 0;
	}
	pyci_buf *s = &r->srcmember;
	pyci_buf_clear(s);
	if (pyci_buf_append(s, p, dir) != 0 || (dir && pyci_buf_putc(s, '/') != 0) ||
	    pyci_buf_append(s, b, j->cname.stem_len) != 0 || pyci_buf_puts(s, ".py") != 0)
		return -1;
	int err = 0;
	long k;
	if (r->kind == PYCI_ARCHIVE_ZIP) {
		k = artable_find(&r->t, s->data, s->len, 0);
		err = k < 0 ? ENOENT : 0;
	} else {
		k = artable_resolve(&r->t, s->data, s->len, &r->scratch, &err);
		if (k < 0 && err == ENOMEM)
			return -1;
	}
	if (k < 0) {
		j->source = (pyci_source_info){.err = err};
		return 0;
	}
	const ar_member *m = &r->t.m[k];
	j->src = m->read_err ? -1 : k;
	j->source = (pyci_source_info){
		.err = m->read_err ? EIO : 0,
		.regular = r->kind == PYCI_ARCHIVE_ZIP || S_ISREG(m->mode),
		.mtime_sec = r->kind == PYCI_ARCHIVE_ZIP && m->has_dos ? m->dos_time : m->mtime_sec,
		.mtime_nsec = r->kind == PYCI_ARCHIVE_ZIP ? 0 : m->mtime_nsec,
		.size = m->size,
	};
	return 0;
}

/* Judge cache member i (its record in j, paths in r->path and r->srcpath).  0, or -1. */
static int judge_member(struct run *r, size_t i, struct judged *j)
{
	const ar_member *m = &r->t.m[i];
	const char *p = artable_path(&r->t, i);
	size_t bl;
	const char *b = base_of(p, m->path_len, &bl);
	size_t dir = b > p ? (size_t)(b - p - 1) : 0;
	int in_pycache = dir >= 11 && memcmp(p + dir - 11, "__pycache__", 11) == 0 &&
			 (dir == 11 || p[dir - 12] == '/');
	memset(j, 0, sizeof(*j));
	(void)pyci_cache_name_parse(b, bl, in_pycache, &j->cname); /* .pyc/.pyo: always a kind */
	if (find_source(r, i, j) != 0)
		return -1;
	pyci_header_parse(m->peek, m->got, m->size, &j->header);
	struct hctx hc = {r, j->src};
	pyci_judge_input in = {
		.name = &j->cname,
		.header = &j->header,
		.regular = S_ISREG(m->mode),
		.read_err = m->read_err,
		.source = j->has_source ? &j->source : NULL,
		.hash = hash_fn,
		.hash_ctx = &hc,
		.check = r->opt->check,
		.targets = r->opt->targets,
		.have_cache_mtime = 1,
		.cache_mtime_sec = m->mtime_sec,
		.cache_mtime_nsec = m->mtime_nsec,
		.zipimport = r->kind == PYCI_ARCHIVE_ZIP,
	};
	pyci_judge(&in, &j->verdict);
	if (r->kind == PYCI_ARCHIVE_WHEEL) {
		j->verdict.reasons |= PYCI_REASON_BIT(PYCI_R_SHIPPED_WHEEL);
		if (j->header.mode == PYCI_MODE_UNCHECKED_HASH)
			j->verdict.reasons |= PYCI_REASON_BIT(PYCI_R_WHEEL_UNCHECKED);
		/* pip gives the installed .py the time of the install (pypa/pip#13207) */
		if (j->header.mode == PYCI_MODE_TIMESTAMP && j->verdict.status == PYCI_FRESH)
			j->verdict.reasons |= PYCI_REASON_BIT(PYCI_R_WHEEL_TIMESTAMP);
	} else if (r->kind == PYCI_ARCHIVE_SDIST) {
		j->verdict.reasons |= PYCI_REASON_BIT(PYCI_R_SHIPPED_SDIST);
	}

	/* the record */
	pyci_buf_clear(&r->path);
	if (pyci_buf_puts(&r->path, r->path_arg) != 0 || pyci_buf_puts(&r->path, "!/") != 0)
		return -1;
	size_t at = r->path.len;
	if (pyci_buf_append(&r->path, p, m->path_len) != 0)
		return -1;
	pyci_buf_clear(&r->srcpath);
	if (j->has_source &&
	    (pyci_buf_puts(&r->srcpath, r->path_arg) != 0 ||
	     pyci_buf_puts(&r->srcpath, "!/") != 0 ||
	     pyci_buf_append(&r->srcpath, r->srcmember.data, r->srcmember.len) != 0))
		return -1;
	j->member = (pyci_member){.archive = r->path_arg,
				  .kind = r->kind,
				  .path = r->path.data + at,
				  .path_len = m->path_len,
				  .uid = m->uid,
				  .gid = m->gid};
	if (r->kind == PYCI_ARCHIVE_IMAGE) {
		uint32_t rk = r->rank[r->layer_of[i]];
		j->member.layer = rk ? r->labels[rk - 1] : NULL;
	}
	j->rec = (pyci_record){
		.path = r->path.data,
		.path_len = r->path.len,
		.name = r->path.data + at + (size_t)(b - p),
		.name_len = bl,
		.dirfd = -1,
		.srcdirfd = -1,
		.source_path = j->has_source ? r->srcpath.data : NULL,
		.source_path_len = j->has_source ? r->srcpath.len : 0,
		.cname = &j->cname,
		.header = &j->header,
		.verdict = &j->verdict,
		.source = j->has_source ? &j->source : NULL,
		.have_file = 1,
		.file = {.mode = m->mode,
			 .size = m->size,
			 .mtime_sec = m->mtime_sec,
			 .mtime_nsec = m->mtime_nsec},
		.file_errno = m->read_err,
		.member = &j->member,
	};
	return 0;
}

/* Whether cache member i is one this run reports. */
static int reported(const struct run *r, size_t i)
{
	const ar_member *m = &r->t.m[i];
	if (m->hidden || m->role != AR_CACHE)
		return 0;
	return !r->member_filter ||
	       (m->path_len == r->filter.len &&
		memcmp(artable_path(&r->t, i), r->filter.data, m->path_len) == 0);
}

/* The sources to hash: for each hash-based cache the verdict would hash, and for dump (stream)
 * the SipHash of every source of a 16-byte header.  Then pass 2 hashes them.  0, or -1. */
static int collect_hashes(struct run *r)
{
	struct judged j;
	for (size_t i = 0; i < r->t.n; i++) {
		if (!reported(r, i))
			continue;
		if (!r->ao->stream) { /* only a hash-based header may ask for a hash */
			pyci_header h;
			const ar_member *m = &r->t.m[i];
			pyci_header_parse(m->peek, m->got, m->size, &h);
			if (h.status == PYCI_HDR_OK && h.mode == PYCI_MODE_TIMESTAMP)
				continue;
		}
		r->collecting = 1;
		if (judge_member(r, i, &j) != 0)
			return -1;
		if (r->collecting < 0)
			return -1;
		r->collecting = 0;
		if (r->ao->stream && j.src >= 0 && j.header.size == 16 &&
		    j.header.status != PYCI_HDR_BAD_MAGIC) {
			int c, d;
			pyci_srchash_rounds(&j.header.magic, &c, &d);
			if (add_req(r, (uint32_t)j.src, j.header.magic.word, c, d) != 0)
				return -1;
		}
	}
	r->collecting = 0;
	if (r->nreq == 0)
		return 0;
	qsort(r->req, r->nreq, sizeof(*r->req), req_cmp);
	size_t k = 0;
	for (size_t i = 0; i < r->nreq; i++)
		if (k == 0 || req_cmp(&r->req[k - 1], &r->req[i]) != 0)
			r->req[k++] = r->req[i];
	r->nreq = k;
	return 0;
}

/* The sources of the requests, in the walk's order, as the members wanted by pass 2. */
static int want_sources(struct run *r)
{
	free(r->want);
	r->nwant = 0;
	if (!(r->want = malloc(r->nreq * sizeof(uint32_t))))
		return -1;
	for (size_t i = 0; i < r->nreq; i++)
		if (r->nwant == 0 || r->want[r->nwant - 1] != r->req[i].member)
			r->want[r->nwant++] = r->req[i].member;
	return 0;
}

/* Whether the entry just read is the member wanted next; checks it is the one pass 1 saw. */
static long wanted_now(struct run *r, struct archive_entry *e)
{
	if (r->want_pos >= r->nwant || r->t.m[r->want[r->want_pos]].ordinal != r->ordinal)
		return -1;
	long i = r->want[r->want_pos++];
	const char *name = archive_entry_pathname(e);
	int outside;
	if (!name || normalize(name, &r->norm, &outside) != 0 ||
	    r->norm.len != r->t.m[i].path_len ||
	    memcmp(r->norm.data, artable_path(&r->t, i), r->norm.len) != 0) {
		ar_set_fatal(r, "archive not judged: it changed while it was read", NULL, EAGAIN);
		return -2;
	}
	return i;
}

/* Pass 2's visit: a source wanted is read, and hashed with every key asked for. */
static int visit_hash(struct run *r, struct archive *a, struct archive_entry *e, uint32_t layer)
{
	(void)layer;
	long i = wanted_now(r, e);
	if (i == -2)
		return -1;
	if (i < 0)
		return 0;
	pyci_buf_clear(&r->data);
	int err = 0;
	if (read_all(r, a, r->ao->limits.max_source) != 0) {
		if (r->fatal || errno == ENOMEM)
			return -1;
		err = errno; /* EFBIG: a source too large to hash */
	}
	if (!err && !r->hasher && !(r->hasher = pyci_hasher_new()))
		err = errno;
	size_t lo = 0, hi = r->nreq;
	while (lo < hi) { /* the first request of member i */
		size_t mid = lo + (hi - lo) / 2;
		if (r->req[mid].member < (uint32_t)i)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < r->nreq && r->req[k].member == (uint32_t)i; k++) {
		struct hreq *q = &r->req[k];
		if (err)
			q->err = err;
		else if (pyci_srchash_buf(r->hasher, q->k0, q->c, q->d, r->data.data, r->data.len,
					  q->out) != 0)
			q->err = errno;
		else
			q->done = 1;
	}
	return 0;
}

/* ---- records ------------------------------------------------------------------------------ */

/* The record of cache member i, judged, to ops->record (with a reader of its bytes when a is
 * not NULL), and into its layer's tally.  0, or -1 (errno; stop). */
static int report(struct run *r, size_t i, struct archive *a);

struct mread {
	struct run *r;
	struct archive *a;
};

static ssize_t member_read(void *ctx, void *buf, size_t len)
{
	struct mread *mr = ctx;
	la_ssize_t n = archive_read_data(mr->a, buf, len);
	if (n < 0) {
		errno = archive_errno(mr->a) > 0 ? archive_errno(mr->a) : EIO;
		return -1;
	}
	mr->r->data_read += (uint64_t)n;
	if (check_limits(mr->r) != 0) {
		errno = EFBIG;
		return -1;
	}
	return (ssize_t)n;
}

static int report(struct run *r, size_t i, struct archive *a)
{
	struct judged j;
	if (judge_member(r, i, &j) != 0)
		return -1;
	struct mread mr = {r, a};
	if (a && !r->t.m[i].hardlink) {
		j.member.read = member_read;
		j.member.read_ctx = &mr;
	}
	if (r->ao->stream && j.src >= 0 && j.header.size == 16) {
		int c, d;
		pyci_srchash_rounds(&j.header.magic, &c, &d);
		const struct hreq *q = find_req(r, (uint32_t)j.src, j.header.magic.word, c, d);
		if (q && q->done) {
			j.member.have_siphash = 1;
			memcpy(j.member.siphash, q->out, 8);
		}
	}
	if (r->kind == PYCI_ARCHIVE_IMAGE) {
		uint32_t rk = r->rank[r->layer_of[i]];
		if (rk && pyci_summary_add(&r->info_layers[rk - 1].caches, &j.rec) != 0)
			return -1;
	}
	pyci_scan_progress_record(r->opt->progress, &j.rec);
	if (r->ops->record(r->ops->ctx, &j.rec) != 0) {
		r->stopped = 1;
		r->stop_err = errno;
		return -1;
	}
	return 0;
}

/* Pass 3's visit: each cache reported as its bytes come by. */
static int visit_stream(struct run *r, struct archive *a, struct archive_entry *e, uint32_t layer)
{
	(void)layer;
	long i = wanted_now(r, e);
	if (i == -2)
		return -1;
	return i < 0 ? 0 : report(r, (size_t)i, a);
}

/* The caches reported, in the walk's order: the members wanted by pass 3. */
static int want_reported(struct run *r)
{
	free(r->want);
	r->nwant = 0;
	if (!(r->want = malloc((r->t.n ? r->t.n : 1) * sizeof(uint32_t))))
		return -1;
	for (size_t i = 0; i < r->t.n; i++)
		if (reported(r, i))
			r->want[r->nwant++] = (uint32_t)i;
	return 0;
}

/* An image's caches that a higher layer deleted or replaced, per layer. */
static void tally_hidden(struct run *r)
{
	for (size_t i = 0; i < r->t.n; i++) {
		const ar_member *m = &r->t.m[i];
		uint32_t rk = r->layer_of[i] <= r->nlayers ? r->rank[r->layer_of[i]] : 0;
		if (m->role == AR_CACHE && m->hidden && rk) {
			r->info_layers[rk - 1].hidden.count++;
			r->info_layers[rk - 1].hidden.bytes += m->size;
		}
	}
}

/* ---- the whole ---------------------------------------------------------------------------- */

void ar_run_free(struct run *r)
{
	ar_forget_table(r);
	free(r->req);
	free(r->want);
	free(r->rank);
	free(r->layer_of);
	for (size_t i = 0; i < r->ninfo_layers; i++) {
		pyci_summary_free(&r->info_layers[i].caches);
		free(r->labels[i]);
	}
	free(r->info_layers);
	free(r->labels);
	free(r->image_name);
	pyci_buf_free(&r->filter);
	pyci_buf_free(&r->norm);
	pyci_buf_free(&r->path);
	pyci_buf_free(&r->srcpath);
	pyci_buf_free(&r->srcmember);
	pyci_buf_free(&r->scratch);
	pyci_buf_free(&r->data);
	pyci_hasher_free(r->hasher);
}

/* The archive is not judged: say why.  Returns 1. */
static int not_judged(struct run *r)
{
	if (r->aops->error) {
		pyci_archive_error e = {r->path_arg, r->fatal_msg, r->fatal_detail, r->fatal_err,
					1};
		r->aops->error(r->aops->ctx, &e);
	}
	return 1;
}

/* After a step failed with errno: fatal (said), a limit of the tables (said), or an error. */
static int failed(struct run *r)
{
	if (!r->fatal && !r->stopped && errno == EFBIG)
		ar_set_fatal(r, "archive not judged: its tables would pass the memory limit", NULL,
			     EFBIG);
	if (r->fatal)
		return not_judged(r);
	if (r->stopped)
		errno = r->stop_err;
	return -1;
}

static int open_archive(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int err = S_ISREG(st.st_mode) ? errno : EINVAL;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Names of archives: one that libarchive cannot read is still judged as one (and says why). */
static int archive_suffix(const char *path)
{
	static const char *const suffixes[] = {
		".zip",     ".whl",     ".pyz",  ".egg",    ".tar",  ".tar.gz",
		".tgz",     ".tar.bz2", ".tbz2", ".tar.xz", ".txz",  ".tar.zst",
		".tar.lz4", ".tar.lz",  ".7z",   ".rar",    ".cpio", NULL};
	for (int i = 0; suffixes[i]; i++)
		if (suffix_ci(path, suffixes[i]))
			return 1;
	return 0;
}

int pyci_archive_probe(const char *path)
{
	int fd = open_archive(path);
	if (fd < 0)
		return -1;
	struct run r = {0};
	ar_enter_locale(&r);
	struct archive *a = new_reader(0);
	int yes = -1;
	if (!a) {
		errno = ENOMEM;
	} else {
		/* a format recognized is an archive; so is a compressed file (what it holds is
		 * said when it is judged), and a file named as an archive, however broken */
		yes = archive_read_open_fd(a, fd, BLOCK) == ARCHIVE_OK ||
		      archive_filter_count(a) > 1 || archive_suffix(path);
		archive_read_free(a);
	}
	ar_leave_locale(&r);
	close(fd);
	return yes;
}

static int scan_fd(int fd, const char *path, const pyci_archive_options *ao,
		   const pyci_scan_options *o, const pyci_scan_ops *ops,
		   const pyci_archive_ops *aops);

int pyci_scan_archive_fd(int fd, const char *path, const pyci_archive_options *ao,
			 const pyci_scan_options *o, const pyci_scan_ops *ops,
			 const pyci_archive_ops *aops)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	return scan_fd(fd, path, ao, o, ops, aops);
}

int pyci_scan_archive(const char *path, const pyci_archive_options *ao, const pyci_scan_options *o,
		      const pyci_scan_ops *ops, const pyci_archive_ops *aops)
{
	int fd = open_archive(path);
	if (fd < 0)
		return -1;
	int rc = scan_fd(fd, path, ao, o, ops, aops);
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* pyci_scan_archive_fd: the passes over the archive open on fd. */
static int scan_fd(int fd, const char *path, const pyci_archive_options *ao,
		   const pyci_scan_options *o, const pyci_scan_ops *ops,
		   const pyci_archive_ops *aops)
{
	struct run r = {.path_arg = path, .ao = ao, .opt = o, .ops = ops, .aops = aops, .fd = fd};
	int rc = -1;
	artable_init(&r.t, ao->limits.max_table);
	ar_enter_locale(&r);
	if (ao->member) {
		int outside;
		r.member_filter = 1;
		if (normalize(ao->member, &r.filter, &outside) != 0)
			goto out;
	}
	r.pass = 1;
	if (ar_read_table(&r) != 0) {
		rc = failed(&r);
		goto out;
	}
	r.members = r.ordinal;
	int image = image_layers(&r);
	if (image < 0) {
		rc = failed(&r);
		goto out;
	}
	decide_kind(&r, image);
	if (zip_directory_read(&r) != 0) {
		rc = failed(&r);
		goto out;
	}
	if (r.kind != PYCI_ARCHIVE_ZIP)
		undecodable_errors(&r);
	if (image) {
		if (!(r.layer_of = malloc((r.t.n ? r.t.n : 1) * sizeof(uint32_t))) ||
		    artable_flatten(&r.t, r.rank, r.nlayers + 1, r.layer_of) != 0) {
			rc = failed(&r);
			goto out;
		}
		tally_hidden(&r);
	} else {
		for (size_t i = 0; i < r.t.n;
		     i++) /* layers of no image: what they hold is not here */
			if (r.t.m[i].layer)
				r.t.m[i].hidden = 1;
	}
	if (r.kind == PYCI_ARCHIVE_ZIP && load_dos_times(&r) != 0) {
		rc = failed(&r);
		goto out;
	}
	if (r.member_filter) {
		size_t k = 0;
		while (k < r.t.n && !reported(&r, k))
			k++;
		if (k == r.t.n) {
			pyci_buf_clear(&r.path); /* the path of the member asked for */
			if (aops->error && ao->member && pyci_buf_puts(&r.path, path) == 0 &&
			    pyci_buf_puts(&r.path, "!/") == 0 &&
			    pyci_buf_puts(&r.path, ao->member) == 0) {
				pyci_archive_error e = {r.path.data,
							"no cache of that name in the archive",
							NULL, ENOENT, 1};
				aops->error(aops->ctx, &e);
			}
			rc = 1;
			goto out;
		}
	}
	if (collect_hashes(&r) != 0) {
		rc = failed(&r);
		goto out;
	}
	if (r.nreq) {
		r.pass = 2;
		if (want_sources(&r) != 0 || walk(&r, visit_hash) != 0) {
			rc = failed(&r);
			goto out;
		}
	}
	if (ao->stream) {
		r.pass = 3;
		if (want_reported(&r) != 0 || walk(&r, visit_stream) != 0) {
			rc = failed(&r);
			goto out;
		}
	} else {
		for (size_t i = 0; i < r.t.n; i++)
			if (reported(&r, i) && report(&r, i, NULL) != 0) {
				rc = failed(&r);
				goto out;
			}
	}
	for (size_t i = 0; i < r.ninfo_layers; i++)
		pyci_summary_sort(&r.info_layers[i].caches);
	if (aops->done) {
		pyci_archive_info info = {
			.path = path,
			.kind = r.kind,
			.format = r.format ? r.format : "",
			.members = r.members,
			.member_errors = r.member_errors,
			.image = r.image_name,
			.images_not_judged = r.images_not_judged,
			.layers = r.info_layers,
			.nlayers = r.ninfo_layers,
		};
		if (aops->done(aops->ctx, &info) != 0)
			goto out;
	}
	rc = 0;
out:;
	int err = errno;
	ar_leave_locale(&r);
	ar_run_free(&r);
	errno = err;
	return rc;
}
