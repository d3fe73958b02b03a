/*
 * test_jclass.c - unit tests for jclass.h: Jython class files decoded from untrusted bytes.
 *
 * Real files first: fixtures/jython/mod$py.class and pkg/__init__$py.class, written by Debian's
 * /usr/bin/jython (Jython 2.7.3) from sources whose mtimes fixtures/jython/generate.py set, so
 * the values expected below (API version 39, MTime = the source's mtime in ms, Filename as the
 * compiler was given it, class file version 50.0 = Java 6, ClassFile.write's V1_6) come from how
 * the files were made.  Then every truncation of them, a byte appended, a constant pool tag made
 * unknown, the API version patched, and the read failing or coming up short, through memory,
 * a descriptor and a read function.  Then class files built here byte by byte, for what Jython
 * never writes but a hostile file may hold: AnnotationReader's rules (visible before invisible,
 * the last attribute of a name, the last annotation, the first constant element, enums, arrays
 * and nested annotations not visited, a value of the wrong kind), indexes out of range or of the
 * wrong kind, a long in the last pool slot, deep nesting, an annotation running past its
 * attribute, a zero or impossible constant pool count, a long string, fields and methods skipped
 * by length.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/jclass.h"

/* ---- the real files ------------------------------------------------------------------------ */

#define MOD_MTIME_MS INT64_C(1700003000123) /* fixtures/jython/generate.py: ns // 10**6 */
#define PKG_MTIME_MS INT64_C(1700004000987)

static uint8_t *load(const char *rel, size_t *len)
{
	char path[4096];
	assert_true(snprintf(path, sizeof(path), "%s/jython/%s", FIXTURES_DIR, rel) <
		    (int)sizeof(path));
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	uint8_t *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	assert_int_equal(fclose(f), 0);
	assert_true(*len > 100 && *len < (1 << 20));
	return buf;
}

static void expect_jython(const uint8_t *buf, const pyci_jclass *c, int64_t mtime,
			  const char *filename)
{
	assert_int_equal(c->status, PYCI_JCLASS_OK);
	assert_null(c->error);
	assert_true(c->has_version);
	assert_int_equal(c->major, 50);
	assert_int_equal(c->minor, 0);
	assert_true(c->has_api);
	assert_int_equal(c->api, 39);
	assert_true(c->has_mtime);
	assert_true(c->mtime_ms == mtime);
	assert_true(c->has_filename);
	assert_int_equal(c->filename_len, strlen(filename));
	assert_memory_equal(buf + c->filename_off, filename, strlen(filename));
}

static void test_fixtures(void **state)
{
	(void)state;
	size_t len;
	pyci_jclass c;
	uint8_t *mod = load("mod$py.class", &len);
	assert_int_equal(pyci_jclass_decode_buf(mod, len, &c), 0);
	expect_jython(mod, &c, MOD_MTIME_MS, "mod.py");
	free(mod);
	uint8_t *pkg = load("pkg/__init__$py.class", &len);
	assert_int_equal(pyci_jclass_decode_buf(pkg, len, &c), 0);
	expect_jython(pkg, &c, PKG_MTIME_MS, "pkg/__init__.py");
	free(pkg);
}

static void test_fixture_fd(void **state)
{
	(void)state;
	size_t len;
	uint8_t *mod = load("mod$py.class", &len);
	char path[4096];
	assert_true(snprintf(path, sizeof(path), "%s/jython/mod$py.class", FIXTURES_DIR) <
		    (int)sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
	pyci_jclass c;
	assert_int_equal(pyci_jclass_decode_fd(fd, len, &c), 0);
	expect_jython(mod, &c, MOD_MTIME_MS, "mod.py");
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 7); /* pread: the offset stays */
	/* the size the caller stat'ed is larger than what is there: it shrank */
	assert_int_equal(pyci_jclass_decode_fd(fd, len + 10, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_TRUNCATED);
	assert_int_equal(close(fd), 0);
	free(mod);
}

static void test_every_truncation(void **state)
{
	(void)state;
	size_t len;
	uint8_t *mod = load("mod$py.class", &len);
	pyci_jclass c;
	assert_int_equal(pyci_jclass_decode_buf(mod, 0, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_EMPTY);
	for (size_t n = 1; n < 4; n++) {
		assert_int_equal(pyci_jclass_decode_buf(mod, n, &c), 0);
		assert_int_equal(c.status, PYCI_JCLASS_SHORT_MAGIC);
	}
	for (size_t n = 4; n < len; n++) {
		/* a copy of exactly n bytes, so that ASan sees any read past them */
		uint8_t *cut = malloc(n);
		assert_non_null(cut);
		memcpy(cut, mod, n);
		assert_int_equal(pyci_jclass_decode_buf(cut, n, &c), 0);
		if (c.status != PYCI_JCLASS_TRUNCATED)
			fail_msg("%zu of %zu bytes: status %s", n, len,
				 pyci_jclass_status_name(c.status));
		assert_non_null(c.error);
		assert_true(c.error_offset <= n);
		assert_true(n >= 8 ? c.has_version : !c.has_version);
		free(cut);
	}
	free(mod);
}

static void test_corrupt_fixture(void **state)
{
	(void)state;
	size_t len;
	uint8_t *mod = load("mod$py.class", &len);
	uint8_t *b = malloc(len + 1);
	assert_non_null(b);
	pyci_jclass c;

	/* a byte after the end: the JVM refuses it; the annotations are still read */
	memcpy(b, mod, len);
	b[len] = 0;
	assert_int_equal(pyci_jclass_decode_buf(b, len + 1, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_MALFORMED);
	assert_string_equal(c.error, "bytes after the end of the class");
	assert_int_equal(c.error_offset, len);
	assert_true(c.has_api && c.api == 39);

	/* not a class file */
	memcpy(b, mod, len);
	b[3] = 0xBF;
	assert_int_equal(pyci_jclass_decode_buf(b, len, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_BAD_MAGIC);
	assert_false(c.has_version);

	/* the first constant pool entry's tag made unassigned (2) */
	memcpy(b, mod, len);
	b[10] = 2;
	assert_int_equal(pyci_jclass_decode_buf(b, len, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_MALFORMED);
	assert_string_equal(c.error, "unknown constant pool tag");
	assert_int_equal(c.error_offset, 10);

	/* the API version patched, as the conformance test does: CONSTANT_Integer 39 -> 38 */
	memcpy(b, mod, len);
	static const uint8_t int39[] = {3, 0, 0, 0, 39};
	uint8_t *p = memmem(b, len, int39, sizeof(int39));
	assert_non_null(p);
	p[4] = 38;
	assert_int_equal(pyci_jclass_decode_buf(b, len, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_OK);
	assert_int_equal(c.api, 38);

	/* the APIVersion annotation's type renamed: no API version, the others stay */
	memcpy(b, mod, len);
	p = memmem(b, len, "APIVersion;", 11);
	assert_non_null(p);
	p[9] = 'X';
	assert_int_equal(pyci_jclass_decode_buf(b, len, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_OK);
	assert_false(c.has_api);
	assert_true(c.has_mtime && c.mtime_ms == MOD_MTIME_MS);
	assert_true(c.has_filename);
	free(b);
	free(mod);
}

/* A read function over a buffer that fails, or comes up short, from a given offset on. */
struct flaky {
	const uint8_t *p;
	size_t len, from;
	int fail; /* -1 with EIO from `from` on; else a short read there (the file shrank) */
};

static long flaky_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct flaky *f = ctx;
	size_t end = f->len < off + len ? f->len : (size_t)(off + len);
	if (end > f->from) {
		if (f->fail) {
			errno = EIO;
			return -1;
		}
		end = f->from > off ? f->from : (size_t)off;
	}
	if (end <= off)
		return 0;
	memcpy(buf, f->p + off, end - off);
	return (long)(end - off);
}

static void test_read_errors(void **state)
{
	(void)state;
	size_t len;
	uint8_t *mod = load("mod$py.class", &len);
	pyci_jclass c;
	struct flaky f = {mod, len, len - 50, 1};
	errno = 0;
	assert_int_equal(pyci_jclass_decode(flaky_read, &f, len, &c), -1);
	assert_int_equal(errno, EIO);
	f.fail = 0;
	assert_int_equal(pyci_jclass_decode(flaky_read, &f, len, &c), 0);
	assert_int_equal(c.status, PYCI_JCLASS_TRUNCATED);
	assert_string_equal(c.error, "the file is shorter than its size: it changed");
	free(mod);
}

/* ---- class files built here ---------------------------------------------------------------- */

struct cb {
	uint8_t pool[4096];
	size_t pn;
	uint16_t count; /* constant_pool_count: entries + 1 */
	uint8_t out[16384];
	size_t n;
};

static void put(uint8_t *p, size_t *n, size_t cap, const void *src, size_t len)
{
	assert_true(*n + len <= cap);
	memcpy(p + *n, src, len);
	*n += len;
}

static void put8(uint8_t *p, size_t *n, size_t cap, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(p, n, cap, &b, 1);
}

static void put16(uint8_t *p, size_t *n, size_t cap, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(p, n, cap, b, 2);
}

static void put32(uint8_t *p, size_t *n, size_t cap, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(p, n, cap, b, 4);
}

static void cb_init(struct cb *c)
{
	memset(c, 0, sizeof(*c));
	c->count = 1;
}

static uint16_t cp_utf8(struct cb *c, const char *s)
{
	put8(c->pool, &c->pn, sizeof(c->pool), 1);
	put16(c->pool, &c->pn, sizeof(c->pool), (unsigned)strlen(s));
	put(c->pool, &c->pn, sizeof(c->pool), s, strlen(s));
	return c->count++;
}

static uint16_t cp_int(struct cb *c, uint32_t v)
{
	put8(c->pool, &c->pn, sizeof(c->pool), 3);
	put32(c->pool, &c->pn, sizeof(c->pool), v);
	return c->count++;
}

static uint16_t cp_long(struct cb *c, uint64_t v)
{
	put8(c->pool, &c->pn, sizeof(c->pool), 5);
	put32(c->pool, &c->pn, sizeof(c->pool), (uint32_t)(v >> 32));
	put32(c->pool, &c->pn, sizeof(c->pool), (uint32_t)v);
	uint16_t i = c->count;
	c->count += 2;
	return i;
}

static uint16_t cp_class(struct cb *c, const char *name)
{
	uint16_t n = cp_utf8(c, name);
	put8(c->pool, &c->pn, sizeof(c->pool), 7);
	put16(c->pool, &c->pn, sizeof(c->pool), n);
	return c->count++;
}

/* An attribute's bytes. */
struct attr {
	const char *name;
	const uint8_t *data;
	size_t len;
};

/*
 * The class file: magic, version 50.0, the pool built so far plus this_class, one method with a
 * Code attribute of code_len bytes, and the class attributes given (their names are added to the
 * pool first, so indexes taken before stay valid).
 */
static size_t cb_finish(struct cb *c, const struct attr *attrs, size_t nattrs, size_t code_len)
{
	uint16_t this_class = cp_class(c, "m$py");
	uint16_t mname = cp_utf8(c, "f"), mdesc = cp_utf8(c, "()V"), code = cp_utf8(c, "Code");
	uint16_t anames[8];
	assert_true(nattrs <= 8);
	for (size_t i = 0; i < nattrs; i++)
		anames[i] = cp_utf8(c, attrs[i].name);
	size_t cap = sizeof(c->out);
	c->n = 0;
	put32(c->out, &c->n, cap, 0xCAFEBABEu);
	put16(c->out, &c->n, cap, 0);
	put16(c->out, &c->n, cap, 50);
	put16(c->out, &c->n, cap, c->count);
	put(c->out, &c->n, cap, c->pool, c->pn);
	put16(c->out, &c->n, cap, 0x21);
	put16(c->out, &c->n, cap, this_class);
	put16(c->out, &c->n, cap, 0); /* super_class */
	put16(c->out, &c->n, cap, 0); /* interfaces */
	put16(c->out, &c->n, cap, 0); /* fields */
	put16(c->out, &c->n, cap, 1); /* methods */
	put16(c->out, &c->n, cap, 0x9);
	put16(c->out, &c->n, cap, mname);
	put16(c->out, &c->n, cap, mdesc);
	put16(c->out, &c->n, cap, 1);
	put16(c->out, &c->n, cap, code);
	put32(c->out, &c->n, cap, (uint32_t)code_len);
	for (size_t i = 0; i < code_len; i++)
		put8(c->out, &c->n, cap, 0xAA); /* not read: a tag, an index, anything */
	put16(c->out, &c->n, cap, (unsigned)nattrs);
	for (size_t i = 0; i < nattrs; i++) {
		put16(c->out, &c->n, cap, anames[i]);
		put32(c->out, &c->n, cap, (uint32_t)attrs[i].len);
		put(c->out, &c->n, cap, attrs[i].data, attrs[i].len);
	}
	return c->n;
}

/* Annotation bytes, written with the helpers above into a buffer of its own. */
struct ab {
	uint8_t b[4096];
	size_t n;
};

static void a8(struct ab *a, unsigned v)
{
	put8(a->b, &a->n, sizeof(a->b), v);
}

static void a16(struct ab *a, unsigned v)
{
	put16(a->b, &a->n, sizeof(a->b), v);
}

/* One annotation of type t with one element value "value" of tag `tag` and pool index idx. */
static void ann1(struct ab *a, uint16_t type, uint16_t value_name, char tag, uint16_t idx)
{
	a16(a, type);
	a16(a, 1);
	a16(a, value_name);
	a8(a, (unsigned char)tag);
	a16(a, idx);
}

/* The pool entries of a typical Jython class; each builder test starts here. */
struct pool {
	uint16_t api_t, mtime_t, file_t, other_t, value, i39, i40, l_mtime, s_file;
};

static void pool_init(struct cb *c, struct pool *p)
{
	cb_init(c);
	p->api_t = cp_utf8(c, "Lorg/python/compiler/APIVersion;");
	p->mtime_t = cp_utf8(c, "Lorg/python/compiler/MTime;");
	p->file_t = cp_utf8(c, "Lorg/python/compiler/Filename;");
	p->other_t = cp_utf8(c, "Ljava/lang/Deprecated;");
	p->value = cp_utf8(c, "value");
	p->i39 = cp_int(c, 39);
	p->i40 = cp_int(c, 40);
	p->l_mtime = cp_long(c, UINT64_C(0xFFFFFF0000000123)); /* negative: before 1970 */
	p->s_file = cp_utf8(c, "/src/m.py");
}

static void decode_built(struct cb *c, const struct attr *attrs, size_t n, pyci_jclass *out)
{
	size_t len = cb_finish(c, attrs, n, 300);
	uint8_t *copy = malloc(len); /* exactly its size: ASan sees any read past it */
	assert_non_null(copy);
	memcpy(copy, c->out, len);
	assert_int_equal(pyci_jclass_decode_buf(copy, len, out), 0);
	free(copy);
}

static struct attr visible(const struct ab *a)
{
	return (struct attr){"RuntimeVisibleAnnotations", a->b, a->n};
}

static struct attr invisible(const struct ab *a)
{
	return (struct attr){"RuntimeInvisibleAnnotations", a->b, a->n};
}

static void test_built_jython(void **state)
{
	(void)state;
	struct cb c;
	struct pool p;
	pool_init(&c, &p);
	struct ab a = {0};
	a16(&a, 3);
	ann1(&a, p.api_t, p.value, 'I', p.i39);
	ann1(&a, p.mtime_t, p.value, 'J', p.l_mtime);
	ann1(&a, p.file_t, p.value, 's', p.s_file);
	struct attr at[] = {visible(&a)};
	pyci_jclass j;
	decode_built(&c, at, 1, &j);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_int_equal(j.api, 39);
	assert_true(j.mtime_ms == (int64_t)UINT64_C(0xFFFFFF0000000123));
	assert_true(j.mtime_ms < 0);
	assert_int_equal(j.filename_len, 9);
	assert_memory_equal(c.out + j.filename_off, "/src/m.py", 9);
}

static void test_built_order(void **state)
{
	(void)state;
	struct cb c;
	struct pool p;
	pyci_jclass j;

	/* invisible annotations come after the visible ones: theirs wins */
	pool_init(&c, &p);
	struct ab v = {0}, iv = {0};
	a16(&v, 1);
	ann1(&v, p.api_t, p.value, 'I', p.i39);
	a16(&iv, 1);
	ann1(&iv, p.api_t, p.value, 'I', p.i40);
	struct attr both[] = {invisible(&iv), visible(&v)};
	decode_built(&c, both, 2, &j);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_int_equal(j.api, 40);

	/* of two attributes of the same name, only the last is read */
	pool_init(&c, &p);
	struct ab first = {0}, last = {0};
	a16(&first, 1);
	ann1(&first, p.api_t, p.value, 'I', p.i39);
	a16(&last, 1);
	ann1(&last, p.other_t, p.value, 'I', p.i40);
	struct attr two[] = {visible(&first), visible(&last)};
	decode_built(&c, two, 2, &j);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_false(j.has_api);

	/* two APIVersion annotations: the last; two values in one: the first */
	pool_init(&c, &p);
	struct ab a = {0};
	a16(&a, 2);
	ann1(&a, p.api_t, p.value, 'I', p.i39);
	a16(&a, p.api_t);
	a16(&a, 2);
	a16(&a, p.value);
	a8(&a, 'I');
	a16(&a, p.i40);
	a16(&a, p.value);
	a8(&a, 'I');
	a16(&a, p.i39);
	struct attr one[] = {visible(&a)};
	decode_built(&c, one, 1, &j);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_int_equal(j.api, 40);

	/* an int in another annotation is not Jython's */
	pool_init(&c, &p);
	struct ab o = {0};
	a16(&o, 1);
	ann1(&o, p.other_t, p.value, 'I', p.i39);
	struct attr other[] = {visible(&o)};
	decode_built(&c, other, 1, &j);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_false(j.has_api || j.has_mtime || j.has_filename);
}

static void test_built_not_visited(void **state)
{
	(void)state;
	struct cb c;
	struct pool p;
	pool_init(&c, &p);
	uint16_t en = cp_utf8(&c, "Lx/E;"), ec = cp_utf8(&c, "A");
	/* APIVersion(e=E.A, a={40}, n=@Deprecated(value=40), c=...) then value=39: the enum, the
	 * array and the nested annotation are not visited, the int after them is */
	struct ab a = {0};
	a16(&a, 1);
	a16(&a, p.api_t);
	a16(&a, 4);
	a16(&a, p.value);
	a8(&a, 'e');
	a16(&a, en);
	a16(&a, ec);
	a16(&a, p.value);
	a8(&a, '[');
	a16(&a, 1);
	a8(&a, 'I');
	a16(&a, p.i40);
	a16(&a, p.value);
	a8(&a, '@');
	ann1(&a, p.other_t, p.value, 'I', p.i40);
	a16(&a, p.value);
	a8(&a, 'I');
	a16(&a, p.i39);
	struct attr at[] = {visible(&a)};
	pyci_jclass j;
	decode_built(&c, at, 1, &j);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_int_equal(j.api, 39);
}

/* An APIVersion, MTime or Filename annotation whose value is of tag `tag`, index idx. */
static void expect_malformed(uint16_t which, char tag, int idx_kind, const char *error)
{
	struct cb c;
	struct pool p;
	pool_init(&c, &p);
	uint16_t type = which == 0 ? p.api_t : which == 1 ? p.mtime_t : p.file_t;
	uint16_t idx = idx_kind == 0   ? p.i39
		       : idx_kind == 1 ? p.l_mtime
		       : idx_kind == 2 ? p.s_file
				       : (uint16_t)(c.count + 100);
	struct ab a = {0};
	a16(&a, 1);
	ann1(&a, type, p.value, tag, idx);
	struct attr at[] = {visible(&a)};
	pyci_jclass j;
	decode_built(&c, at, 1, &j);
	assert_int_equal(j.status, PYCI_JCLASS_MALFORMED);
	assert_string_equal(j.error, error);
}

static void test_built_wrong_kinds(void **state)
{
	(void)state;
	/* AnnotationReader casts the first visited value: another kind throws */
	expect_malformed(0, 'J', 1, "the APIVersion value is not an int");
	expect_malformed(0, 'S', 0, "the APIVersion value is not an int");
	expect_malformed(0, 'c', 2, "the APIVersion value is not an int");
	expect_malformed(1, 'I', 0, "the MTime value is not a long");
	expect_malformed(2, 'I', 0, "the Filename value is not a string");
	/* the tag is right but the pool entry is not of its kind, or not there */
	expect_malformed(0, 'I', 2, "constant pool entry of the wrong kind");
	expect_malformed(1, 'J', 0, "constant pool entry of the wrong kind");
	expect_malformed(0, 'I', 3, "constant pool index out of range");
	/* an unknown element tag */
	expect_malformed(0, 'x', 0, "unknown annotation element tag");
}

static void test_built_structure(void **state)
{
	(void)state;
	struct cb c;
	struct pool p;
	pyci_jclass j;

	/* nesting: 10 levels of arrays are fine, 70 are not */
	for (int depth = 10; depth <= 70; depth += 60) {
		pool_init(&c, &p);
		struct ab a = {0};
		a16(&a, 1);
		a16(&a, p.other_t);
		a16(&a, 1);
		a16(&a, p.value);
		for (int i = 0; i < depth; i++) {
			a8(&a, '[');
			a16(&a, 1);
		}
		a8(&a, 'I');
		a16(&a, p.i39);
		struct attr at[] = {visible(&a)};
		decode_built(&c, at, 1, &j);
		if (depth == 10) {
			assert_int_equal(j.status, PYCI_JCLASS_OK);
		} else {
			assert_int_equal(j.status, PYCI_JCLASS_MALFORMED);
			assert_string_equal(j.error, "annotations nested too deep");
		}
	}

	/* an annotation longer than its attribute says */
	pool_init(&c, &p);
	struct ab a = {0};
	a16(&a, 1);
	ann1(&a, p.api_t, p.value, 'I', p.i39);
	struct attr short_attr[] = {{"RuntimeVisibleAnnotations", a.b, a.n - 1}};
	size_t len = cb_finish(&c, short_attr, 1, 4);
	assert_int_equal(pyci_jclass_decode_buf(c.out, len, &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_MALFORMED);
	assert_string_equal(j.error, "an annotation runs past the end of its attribute");

	/* a class with no annotations, a long among its entries, and a string of 1300 bytes, whose
	 * length's first byte (5) is a long's tag */
	cb_init(&c);
	(void)cp_long(&c, 7);
	char big[1301];
	memset(big, 'x', 1300);
	big[1300] = '\0';
	(void)cp_utf8(&c, big);
	len = cb_finish(&c, NULL, 0, 0);
	assert_int_equal(pyci_jclass_decode_buf(c.out, len, &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_false(j.has_api);

	/* a long as the last entry, in slots 3 and 4 of a pool of count 5 */
	uint8_t tail[] = {0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 50, 0, 5, 7, 0, 2, 1,
			  0,    1,    'm',  5,    0, 0, 0, 0,  0, 0, 0, 9, 0, 0x21,
			  0,    1,    0,    0,    0, 0, 0, 0,  0, 0, 0, 0};
	assert_int_equal(pyci_jclass_decode_buf(tail, sizeof(tail), &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	/* this_class naming the long's unusable second slot */
	tail[29] = 4;
	assert_int_equal(pyci_jclass_decode_buf(tail, sizeof(tail), &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_MALFORMED);
	assert_string_equal(j.error, "constant pool index out of range");
	/* ... or naming the Utf8 */
	tail[29] = 2;
	assert_int_equal(pyci_jclass_decode_buf(tail, sizeof(tail), &j), 0);
	assert_string_equal(j.error, "constant pool entry of the wrong kind");
	/* a count that leaves the long's second slot outside the pool */
	tail[29] = 1;
	tail[9] = 4;
	assert_int_equal(pyci_jclass_decode_buf(tail, sizeof(tail), &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_MALFORMED);
	assert_string_equal(j.error, "a long or double in the last constant pool slot");

	/* constant_pool_count 0; and a count the file cannot hold (refused before allocating) */
	uint8_t zero[] = {0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 50, 0, 0, 0, 0};
	assert_int_equal(pyci_jclass_decode_buf(zero, sizeof(zero), &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_MALFORMED);
	zero[8] = 0xFF;
	zero[9] = 0xFF;
	assert_int_equal(pyci_jclass_decode_buf(zero, sizeof(zero), &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_TRUNCATED);
	assert_string_equal(j.error, "the file ends inside the constant pool");

	/* the method's code is skipped by its length, whatever it holds: 5000 bytes, more than
	 * the read window */
	pool_init(&c, &p);
	struct ab b = {0};
	a16(&b, 1);
	ann1(&b, p.api_t, p.value, 'I', p.i39);
	struct attr vis[] = {visible(&b)};
	len = cb_finish(&c, vis, 1, 5000);
	assert_int_equal(pyci_jclass_decode_buf(c.out, len, &j), 0);
	assert_int_equal(j.status, PYCI_JCLASS_OK);
	assert_int_equal(j.api, 39);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(pyci_jclass_status_name(PYCI_JCLASS_OK), "ok");
	assert_string_equal(pyci_jclass_status_name(PYCI_JCLASS_EMPTY), "empty");
	assert_string_equal(pyci_jclass_status_name(PYCI_JCLASS_SHORT_MAGIC), "short-magic");
	assert_string_equal(pyci_jclass_status_name(PYCI_JCLASS_BAD_MAGIC), "bad-magic");
	assert_string_equal(pyci_jclass_status_name(PYCI_JCLASS_TRUNCATED), "truncated");
	assert_string_equal(pyci_jclass_status_name(PYCI_JCLASS_MALFORMED), "malformed");
	assert_string_equal(pyci_jclass_status_name((pyci_jclass_status)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),          cmocka_unit_test(test_fixture_fd),
		cmocka_unit_test(test_every_truncation),  cmocka_unit_test(test_corrupt_fixture),
		cmocka_unit_test(test_read_errors),       cmocka_unit_test(test_built_jython),
		cmocka_unit_test(test_built_order),       cmocka_unit_test(test_built_not_visited),
		cmocka_unit_test(test_built_wrong_kinds), cmocka_unit_test(test_built_structure),
		cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
