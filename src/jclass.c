/*
 * jclass.c - the structure of a Java class file and the values of Jython's class annotations,
 * from untrusted bytes (see jclass.h).
 *
 * The file is read through a window of WINDOW bytes at a time, at the offsets the structure
 * leads to, so the bytecode of the methods, which is most of a class file, is skipped by its
 * lengths, never read.  Every read is checked against the file's size first (TRUNCATED); every
 * constant pool index is checked against the pool and against the kind of entry the format
 * requires there (MALFORMED).  Jython itself reads the class with ASM, which checks less (it
 * reads an int annotation value from whatever entry the index names) and fails with a Java
 * exception where this decoder says MALFORMED: an import of such a file fails or recompiles the
 * source, and both make the cache unusable, which is all a verdict needs.
 *
 * The annotation values are taken as org.python.core.AnnotationReader takes them: ASM visits
 * the class's RuntimeVisibleAnnotations and then its RuntimeInvisibleAnnotations (the last
 * attribute of each name); each annotation whose type is APIVersion, MTime or Filename arms
 * one flag, and the first constant element value visited under it (neither an enum, nor an
 * array, nor a nested annotation, which ASM does not visit for it) is cast to Integer, Long or
 * String: any other kind throws ClassCastException in Jython, MALFORMED here.
 */
#include "pycinspect/jclass.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW 4096
#define MAX_DEPTH 64 /* an annotation, and the annotations and arrays nested in it */

/* Constant pool tags (JVM specification 4.4), those ASM 9 knows. */
enum {
	CP_UTF8 = 1,
	CP_INTEGER = 3,
	CP_FLOAT = 4,
	CP_LONG = 5,
	CP_DOUBLE = 6,
	CP_CLASS = 7,
	CP_STRING = 8,
	CP_FIELDREF = 9,
	CP_METHODREF = 10,
	CP_IMETHODREF = 11,
	CP_NAME_AND_TYPE = 12,
	CP_METHOD_HANDLE = 15,
	CP_METHOD_TYPE = 16,
	CP_DYNAMIC = 17,
	CP_INVOKE_DYNAMIC = 18,
	CP_MODULE = 19,
	CP_PACKAGE = 20,
};

static const char API_DESC[] = "Lorg/python/compiler/APIVersion;";
static const char MTIME_DESC[] = "Lorg/python/compiler/MTime;";
static const char FILENAME_DESC[] = "Lorg/python/compiler/Filename;";

struct dec {
	pyci_jclass_read_fn read;
	void *ctx;
	uint64_t size;
	uint8_t win[WINDOW];
	uint64_t win_off;
	size_t win_len;
	int io_err;   /* errno of a failed read */
	int stop;     /* a status was set, or a read failed: nothing more is read */
	uint64_t *cp; /* offset of each constant pool entry's tag; 0: no entry there */
	uint32_t cp_count;
	pyci_jclass *out;
	int next_api, next_mtime, next_filename; /* AnnotationReader's nextVisitIs... */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void fail(struct dec *d, pyci_jclass_status st, const char *why, uint64_t off)
{
	if (d->stop)
		return;
	d->stop = 1;
	d->out->status = st;
	d->out->error = why;
	d->out->error_offset = off;
}

/* The n (<= WINDOW) bytes at off, or NULL: they are not in the file (TRUNCATED, saying `what`),
 * or reading failed. */
static const uint8_t *at(struct dec *d, uint64_t off, size_t n, const char *what)
{
	if (d->stop)
		return NULL;
	if (off > d->size || n > d->size - off) {
		fail(d, PYCI_JCLASS_TRUNCATED, what, off);
		return NULL;
	}
	if (off >= d->win_off && off - d->win_off <= d->win_len &&
	    n <= d->win_len - (off - d->win_off))
		return d->win + (off - d->win_off);
	size_t want = d->size - off < WINDOW ? (size_t)(d->size - off) : WINDOW;
	size_t got = 0;
	while (got < want) {
		long r = d->read(d->ctx, off + got, d->win + got, want - got);
		if (r < 0) {
			d->io_err = errno ? errno : EIO;
			d->stop = 1;
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	d->win_off = off;
	d->win_len = got;
	if (got < n) {
		fail(d, PYCI_JCLASS_TRUNCATED, "the file is shorter than its size: it changed",
		     off);
		return NULL;
	}
	return d->win;
}

/* The offset of constant pool entry idx, which must be of kind tag; 0 when it is not (MALFORMED
 * at `where`) or cannot be read. */
static uint64_t entry(struct dec *d, uint32_t idx, int tag, uint64_t where)
{
	if (d->stop)
		return 0;
	if (idx == 0 || idx >= d->cp_count || d->cp[idx] == 0) {
		fail(d, PYCI_JCLASS_MALFORMED, "constant pool index out of range", where);
		return 0;
	}
	const uint8_t *p = at(d, d->cp[idx], 1, "constant pool entry past the end");
	if (!p)
		return 0;
	if (p[0] != tag) {
		fail(d, PYCI_JCLASS_MALFORMED, "constant pool entry of the wrong kind", where);
		return 0;
	}
	return d->cp[idx];
}

/* Whether the Utf8 entry idx holds exactly s: 1, 0, or -1 (not a Utf8 entry: d->stop). */
static int utf8_is(struct dec *d, uint32_t idx, const char *s, uint64_t where)
{
	uint64_t off = entry(d, idx, CP_UTF8, where);
	const uint8_t *p = off ? at(d, off + 1, 2, "constant pool entry past the end") : NULL;
	if (!p)
		return -1;
	size_t len = be16(p), n = strlen(s);
	if (len != n)
		return 0;
	p = at(d, off + 3, n, "constant pool entry past the end");
	if (!p)
		return -1;
	return memcmp(p, s, n) == 0;
}

/* The constant pool from offset 10: each entry's offset in d->cp.  Returns the offset after it,
 * or 0 (d->stop). */
static uint64_t constant_pool(struct dec *d)
{
	static const char end[] = "the file ends inside the constant pool";
	uint64_t off = 10;
	/* every entry takes 3 bytes or more: a count the file cannot hold is refused before the
	 * offsets are allocated, so their memory is bounded by the file's size */
	if ((uint64_t)(d->cp_count - 1) * 3 > d->size - off) {
		fail(d, PYCI_JCLASS_TRUNCATED, end, d->size);
		return 0;
	}
	d->cp = calloc(d->cp_count, sizeof(*d->cp));
	if (!d->cp) {
		d->io_err = ENOMEM;
		d->stop = 1;
		return 0;
	}
	for (uint32_t i = 1; i < d->cp_count; i++) {
		const uint8_t *p = at(d, off, 1, end);
		if (!p)
			return 0;
		uint8_t tag = p[0];
		uint64_t len;
		switch (tag) {
		case CP_UTF8:
			p = at(d, off + 1, 2, end);
			if (!p)
				return 0;
			len = 3 + (uint64_t)be16(p);
			break;
		case CP_LONG:
		case CP_DOUBLE:
			len = 9;
			break;
		case CP_CLASS:
		case CP_STRING:
		case CP_METHOD_TYPE:
		case CP_MODULE:
		case CP_PACKAGE:
			len = 3;
			break;
		case CP_METHOD_HANDLE:
			len = 4;
			break;
		case CP_INTEGER:
		case CP_FLOAT:
		case CP_FIELDREF:
		case CP_METHODREF:
		case CP_IMETHODREF:
		case CP_NAME_AND_TYPE:
		case CP_DYNAMIC:
		case CP_INVOKE_DYNAMIC:
			len = 5;
			break;
		default:
			fail(d, PYCI_JCLASS_MALFORMED, "unknown constant pool tag", off);
			return 0;
		}
		if (len > d->size - off) {
			fail(d, PYCI_JCLASS_TRUNCATED, end, off);
			return 0;
		}
		d->cp[i] = off;
		if (tag == CP_LONG || tag == CP_DOUBLE) { /* two entries; the second unusable */
			if (i + 1 >= d->cp_count) {
				fail(d, PYCI_JCLASS_MALFORMED,
				     "a long or double in the last constant pool slot", off);
				return 0;
			}
			i++;
		}
		off += len;
	}
	return off;
}

/* Skip n attributes at off (of a field or method).  The offset after them, or 0 (d->stop). */
static uint64_t skip_attributes(struct dec *d, uint64_t off, uint32_t n, const char *what)
{
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = at(d, off, 6, what);
		if (!p || !entry(d, be16(p), CP_UTF8, off))
			return 0;
		uint64_t len = be32(p + 2);
		off += 6;
		if (len > d->size - off) {
			fail(d, PYCI_JCLASS_TRUNCATED, what, off);
			return 0;
		}
		off += len;
	}
	return off;
}

/* The fields or the methods at off.  The offset after them, or 0 (d->stop). */
static uint64_t members(struct dec *d, uint64_t off, const char *what)
{
	const uint8_t *p = at(d, off, 2, what);
	if (!p)
		return 0;
	uint32_t n = be16(p);
	off += 2;
	for (uint32_t i = 0; i < n; i++) {
		p = at(d, off, 8, what);
		if (!p)
			return 0;
		uint32_t name = be16(p + 2), desc = be16(p + 4), attrs = be16(p + 6);
		if (!entry(d, name, CP_UTF8, off + 2) || !entry(d, desc, CP_UTF8, off + 4))
			return 0;
		off = skip_attributes(d, off + 8, attrs, what);
		if (!off)
			return 0;
	}
	return off;
}

/* ---- annotations (JVM specification 4.7.16) ----------------------------------------------- */

static const char PAST_ATTRIBUTE[] = "an annotation runs past the end of its attribute";

/* The n bytes at off, which must end by `end` (the attribute's end), or NULL (d->stop). */
static const uint8_t *span(struct dec *d, uint64_t off, size_t n, uint64_t end)
{
	if (off > end || n > end - off) {
		fail(d, PYCI_JCLASS_MALFORMED, PAST_ATTRIBUTE, off);
		return NULL;
	}
	return at(d, off, n, PAST_ATTRIBUTE);
}

/* A value visited while an annotation of Jython's arms a flag, but not of its type: Jython's
 * cast throws. */
static void wrong_kind(struct dec *d, uint64_t off)
{
	fail(d, PYCI_JCLASS_MALFORMED,
	     d->next_api     ? "the APIVersion value is not an int"
	     : d->next_mtime ? "the MTime value is not a long"
			     : "the Filename value is not a string",
	     off);
}

/* The constant value of tag t with pool index idx, visited or not (see the top of the file). */
static void constant_value(struct dec *d, uint8_t t, uint32_t idx, int visit, uint64_t off)
{
	int armed = visit && (d->next_api || d->next_mtime || d->next_filename);
	int want = t == 'D'   ? CP_DOUBLE
		   : t == 'F' ? CP_FLOAT
		   : t == 'J' ? CP_LONG
		   : t == 's' ? CP_UTF8
			      : CP_INTEGER;
	if (armed && ((d->next_api && t != 'I') || (d->next_mtime && t != 'J') ||
		      (d->next_filename && t != 's'))) {
		wrong_kind(d, off);
		return;
	}
	uint64_t e = entry(d, idx, want, off + 1);
	if (!e || !armed)
		return;
	pyci_jclass *o = d->out;
	if (d->next_api) {
		const uint8_t *p = at(d, e + 1, 4, "constant pool entry past the end");
		if (!p)
			return;
		o->api = (int32_t)be32(p);
		o->has_api = 1;
		d->next_api = 0;
	} else if (d->next_mtime) {
		const uint8_t *p = at(d, e + 1, 8, "constant pool entry past the end");
		if (!p)
			return;
		o->mtime_ms = (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
		o->has_mtime = 1;
		d->next_mtime = 0;
	} else {
		const uint8_t *p = at(d, e + 1, 2, "constant pool entry past the end");
		if (!p)
			return;
		o->filename_off = e + 3;
		o->filename_len = be16(p);
		o->has_filename = 1;
		d->next_filename = 0;
	}
}

/* The head of the annotation at off: its type (for one of the class's own, top, the type arms
 * AnnotationReader's flags) and the number of its element-value pairs.  The offset after it, or
 * 0 (d->stop). */
static uint64_t annotation_head(struct dec *d, uint64_t off, uint64_t end, int top, uint32_t *pairs)
{
	const uint8_t *p = span(d, off, 4, end);
	if (!p)
		return 0;
	uint32_t type = be16(p);
	*pairs = be16(p + 2);
	if (top) {
		int api = utf8_is(d, type, API_DESC, off);
		int mtime = api == 0 ? utf8_is(d, type, MTIME_DESC, off) : 0;
		int filename = api == 0 && mtime == 0 ? utf8_is(d, type, FILENAME_DESC, off) : 0;
		if (d->stop)
			return 0;
		d->next_api = api;
		d->next_mtime = mtime;
		d->next_filename = filename;
	} else if (!entry(d, type, CP_UTF8, off)) {
		return 0;
	}
	return off + 4;
}

/*
 * The annotation at off, nested annotations and arrays in its values included, walked with a
 * stack of at most MAX_DEPTH levels: one per annotation or array being read, and how many of
 * its values are left.  Only the values of a top-level annotation (top) are visited, as ASM
 * visits them for AnnotationReader.  The offset after it, or 0 (d->stop).
 */
static uint64_t annotation(struct dec *d, uint64_t off, uint64_t end, int top)
{
	struct {
		uint32_t left; /* values still to read */
		int named;     /* an annotation's element-value pairs (else an array's values) */
	} st[MAX_DEPTH];
	int sp = 0;
	off = annotation_head(d, off, end, top, &st[0].left);
	st[0].named = 1;
	while (off) {
		if (st[sp].left == 0) {
			if (sp == 0)
				return off;
			sp--;
			continue;
		}
		st[sp].left--;
		const uint8_t *p;
		if (st[sp].named) {
			p = span(d, off, 2, end);
			if (!p || !entry(d, be16(p), CP_UTF8, off))
				return 0;
			off += 2;
		}
		int visit = top && sp == 0;
		int armed = visit && (d->next_api || d->next_mtime || d->next_filename);
		p = span(d, off, 1, end);
		if (!p)
			return 0;
		uint8_t t = p[0];
		switch (t) {
		case 'B':
		case 'C':
		case 'D':
		case 'F':
		case 'I':
		case 'J':
		case 'S':
		case 'Z':
		case 's':
			p = span(d, off + 1, 2, end);
			if (p)
				constant_value(d, t, be16(p), visit, off);
			off = d->stop ? 0 : off + 3;
			break;
		case 'e':
			p = span(d, off + 1, 4, end);
			off = p && entry(d, be16(p), CP_UTF8, off + 1) &&
					      entry(d, be16(p + 2), CP_UTF8, off + 3)
				      ? off + 5
				      : 0;
			break;
		case 'c':
			if (armed) {
				wrong_kind(d, off); /* ASM visits a class value as an asm Type */
				return 0;
			}
			p = span(d, off + 1, 2, end);
			off = p && entry(d, be16(p), CP_UTF8, off + 1) ? off + 3 : 0;
			break;
		case '@':
		case '[':
			if (sp + 1 >= MAX_DEPTH) {
				fail(d, PYCI_JCLASS_MALFORMED, "annotations nested too deep", off);
				return 0;
			}
			sp++;
			st[sp].named = t == '@';
			if (t == '@') {
				off = annotation_head(d, off + 1, end, 0, &st[sp].left);
			} else {
				p = span(d, off + 1, 2, end);
				st[sp].left = p ? be16(p) : 0;
				off = p ? off + 3 : 0;
			}
			break;
		default:
			fail(d, PYCI_JCLASS_MALFORMED, "unknown annotation element tag", off);
			return 0;
		}
	}
	return 0;
}

/* A Runtime(In)VisibleAnnotations attribute of len bytes at off. */
static void annotations(struct dec *d, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	const uint8_t *p = span(d, off, 2, end);
	if (!p)
		return;
	uint32_t n = be16(p);
	off += 2;
	for (uint32_t i = 0; i < n && off; i++)
		off = annotation(d, off, end, 1);
}

/* ---- the class file ------------------------------------------------------------------------ */

static void decode(struct dec *d)
{
	pyci_jclass *o = d->out;
	if (d->size == 0) {
		o->status = PYCI_JCLASS_EMPTY;
		return;
	}
	if (d->size < 4) {
		o->status = PYCI_JCLASS_SHORT_MAGIC;
		return;
	}
	const uint8_t *p = at(d, 0, 4, "the file ends inside its magic number");
	if (!p)
		return;
	if (be32(p) != 0xCAFEBABEu) {
		o->status = PYCI_JCLASS_BAD_MAGIC;
		return;
	}
	p = at(d, 4, 4, "the file ends inside the class file version");
	if (!p)
		return;
	o->minor = be16(p);
	o->major = be16(p + 2);
	o->has_version = 1;
	p = at(d, 8, 2, "the file ends before the constant pool");
	if (!p)
		return;
	d->cp_count = be16(p);
	if (d->cp_count == 0) {
		fail(d, PYCI_JCLASS_MALFORMED, "constant_pool_count is 0", 8);
		return;
	}
	uint64_t off = constant_pool(d);
	if (!off)
		return;
	static const char head[] = "the file ends inside the class's names and interfaces";
	p = at(d, off, 8, head);
	if (!p)
		return;
	uint32_t this_class = be16(p + 2), super_class = be16(p + 4), ninterfaces = be16(p + 6);
	if (!entry(d, this_class, CP_CLASS, off + 2) ||
	    (super_class && !entry(d, super_class, CP_CLASS, off + 4)))
		return;
	off += 8;
	for (uint32_t i = 0; i < ninterfaces; i++, off += 2) {
		p = at(d, off, 2, head);
		if (!p || !entry(d, be16(p), CP_CLASS, off))
			return;
	}
	off = members(d, off, "the file ends inside the fields");
	if (off)
		off = members(d, off, "the file ends inside the methods");
	static const char attrs[] = "the file ends inside the class attributes";
	p = off ? at(d, off, 2, attrs) : NULL;
	if (!p)
		return;
	uint32_t nattrs = be16(p);
	off += 2;
	uint64_t visible = 0, visible_len = 0, invisible = 0, invisible_len = 0;
	for (uint32_t i = 0; i < nattrs; i++) {
		p = at(d, off, 6, attrs);
		if (!p)
			return;
		uint32_t name = be16(p);
		uint64_t len = be32(p + 2);
		int vis = utf8_is(d, name, "RuntimeVisibleAnnotations", off);
		int invis = vis == 0 ? utf8_is(d, name, "RuntimeInvisibleAnnotations", off) : 0;
		if (vis < 0 || invis < 0)
			return;
		off += 6;
		if (len > d->size - off) {
			fail(d, PYCI_JCLASS_TRUNCATED, attrs, off);
			return;
		}
		if (vis) { /* ASM keeps the last attribute of each name */
			visible = off;
			visible_len = len;
		} else if (invis) {
			invisible = off;
			invisible_len = len;
		}
		off += len;
	}
	/* ASM reads the annotations first; the JVM refuses the class for bytes after its end */
	if (visible)
		annotations(d, visible, visible_len);
	if (invisible)
		annotations(d, invisible, invisible_len);
	/* (a file that is shorter than its size says is truncated: at() says so) */
	if (off != d->size && at(d, off, 1, "the file ends inside the class attributes"))
		fail(d, PYCI_JCLASS_MALFORMED, "bytes after the end of the class", off);
}

int pyci_jclass_decode(pyci_jclass_read_fn read, void *ctx, uint64_t size, pyci_jclass *out)
{
	memset(out, 0, sizeof(*out));
	struct dec *d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return -1;
	}
	d->read = read;
	d->ctx = ctx;
	d->size = size;
	d->out = out;
	decode(d);
	int err = d->io_err;
	free(d->cp);
	free(d);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

struct membuf {
	const uint8_t *p;
	size_t len;
};

static long read_buf(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct membuf *m = ctx;
	if (off >= m->len)
		return 0;
	size_t n = m->len - off < len ? (size_t)(m->len - off) : len;
	memcpy(buf, m->p + off, n);
	return (long)n;
}

int pyci_jclass_decode_buf(const uint8_t *buf, size_t len, pyci_jclass *out)
{
	struct membuf m = {buf, len};
	return pyci_jclass_decode(read_buf, &m, len, out);
}

static long read_fd(void *ctx, uint64_t off, void *buf, size_t len)
{
	int fd = *(const int *)ctx;
	for (;;) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n >= 0 || errno != EINTR)
			return (long)n;
	}
}

int pyci_jclass_decode_fd(int fd, uint64_t size, pyci_jclass *out)
{
	return pyci_jclass_decode(read_fd, &fd, size, out);
}

const char *pyci_jclass_status_name(pyci_jclass_status st)
{
	static const char *const names[] = {
		[PYCI_JCLASS_OK] = "ok",
		[PYCI_JCLASS_EMPTY] = "empty",
		[PYCI_JCLASS_SHORT_MAGIC] = "short-magic",
		[PYCI_JCLASS_BAD_MAGIC] = "bad-magic",
		[PYCI_JCLASS_TRUNCATED] = "truncated",
		[PYCI_JCLASS_MALFORMED] = "malformed",
	};
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}
