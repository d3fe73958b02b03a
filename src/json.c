/*
 * json.c - JSON strings with lossless bytes, and the writer that places them (see json.h).
 *
 * The writer keeps one byte per open container: whether it is an array, and whether a member
 * was written in it yet (the next one needs a comma).  Level 0 is the top level, where one
 * value goes.  A failure is kept in w->err and cuts the buffer back at once, so that the value
 * never shows half written, even to a caller that forgets pyci_jw_finish.
 */
#include "pycinspect/json.h"

#include <errno.h>
#include <string.h>

size_t pyci_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	uint32_t cp;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0; /* overlong or out of range */
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0; /* surrogates are not UTF-8 */
	return len;
}

int pyci_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t n = pyci_utf8_seq(p + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* prefix ("\\udc" or "\\u00") and the two hex digits of c, into tmp. */
static const char *u_escape(char tmp[8], const char prefix[5], unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	memcpy(tmp, prefix, 4);
	tmp[4] = hex[c >> 4];
	tmp[5] = hex[c & 15];
	tmp[6] = '\0';
	return tmp;
}

/* A byte written as it is, without looking further: printable ASCII but '"' and '\\'. */
static inline int plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

/* Whether none of the 8 bytes of x needs a look: all are plain_ascii.  Exact when it says so;
 * a word it refuses is looked at byte by byte (a borrow may flag a plain byte after one that
 * is not plain, never a word of plain bytes alone). */
static inline int word_plain(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\'), del = x ^ (ones * 0x7F);
	uint64_t flags = (x - ones * 0x20) & ~x; /* below 0x20 */
	flags |= (q - ones) & ~q;                /* '"' */
	flags |= (bs - ones) & ~bs;              /* '\\' */
	flags |= (del - ones) & ~del;            /* DEL */
	return ((flags | x) & highs) == 0;       /* ... or not ASCII */
}

/* The JSON string of s[0 .. len): appended to b, or with b NULL only counted into *size.
 * Inlined into both callers, so that each is compiled for its own b: the writer stays as fast
 * as a loop of its own. */
static inline __attribute__((always_inline)) int json_string(pyci_buf *b, const char *s, size_t len,
							     size_t *size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n_out = 2; /* the quotes */
	if (b && (pyci_buf_reserve(b, len + 2) != 0 || pyci_buf_putc(b, '"') != 0))
		return -1;
	size_t run = 0; /* start of a run of bytes copied as they are */
	for (size_t i = 0; i < len;) {
		/* printable ASCII but '"' and '\\': the common case, copied with its run, a word
		 * at a time while the words are plain */
		for (uint64_t x; len - i >= 8 && (memcpy(&x, p + i, 8), word_plain(x));)
			i += 8;
		while (i < len && plain_ascii(p[i]))
			i++;
		if (i == len)
			break;
		unsigned char c = p[i];
		size_t n = pyci_utf8_seq(p + i, len - i);
		const char *esc = NULL;
		char tmp[8];
		if (n == 0) {
			esc = u_escape(tmp, "\\udc", c); /* surrogateescape: one byte, losslessly */
			n = 1;
		} else if (c == '"') {
			esc = "\\\"";
		} else if (c == '\\') {
			esc = "\\\\";
		} else if (c == '\n') {
			esc = "\\n";
		} else if (c == '\t') {
			esc = "\\t";
		} else if (c == '\r') {
			esc = "\\r";
		} else if (c < 0x20 || c == 0x7F) {
			esc = u_escape(tmp, "\\u00", c);
		}
		if (esc) {
			if (!b)
				n_out += (i - run) + strlen(esc);
			else if (pyci_buf_append(b, s + run, i - run) != 0 ||
				 pyci_buf_puts(b, esc) != 0)
				return -1;
			run = i + n;
		}
		i += n;
	}
	if (!b) {
		if (size)
			*size = n_out + (len - run);
		return 0;
	}
	if (run == 0) { /* nothing escaped: the room reserved above holds it all */
		memcpy(b->data + b->len, s, len);
		b->len += len;
		b->data[b->len++] = '"';
		b->data[b->len] = '\0';
		return 0;
	}
	if (pyci_buf_append(b, s + run, len - run) != 0)
		return -1;
	return pyci_buf_putc(b, '"');
}

int pyci_json_string(pyci_buf *b, const char *s, size_t len)
{
	return json_string(b, s, len, NULL);
}

size_t pyci_json_string_size(const char *s, size_t len)
{
	size_t size = 0;
	(void)json_string(NULL, s, len, &size); /* counting allocates nothing: it cannot fail */
	return size;
}

int pyci_json_key(pyci_buf *b, const char *key)
{
	return pyci_json_string(b, key, strlen(key)) || pyci_buf_putc(b, ':') ? -1 : 0;
}

int pyci_json_next_key(pyci_buf *b, const char *key)
{
	return pyci_buf_putc(b, ',') || pyci_json_key(b, key) ? -1 : 0;
}

int pyci_json_field_str(pyci_buf *b, const char *key, const char *s, size_t len)
{
	if (pyci_json_next_key(b, key) != 0)
		return -1;
	return s ? pyci_json_string(b, s, len) : pyci_buf_puts(b, "null");
}

int pyci_json_field_bool(pyci_buf *b, const char *key, int v)
{
	return pyci_json_next_key(b, key) || pyci_buf_puts(b, v ? "true" : "false") ? -1 : 0;
}

/* ---- the writer ------------------------------------------------------------------------ */

enum {
	LEVEL_ARRAY = 1, /* an array (else an object, or the top level) */
	LEVEL_USED = 2,  /* holds a member: the next one needs a comma */
};

void pyci_jw_init(pyci_jw *w, pyci_buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->start = b->len;
}

static void jw_fail(pyci_jw *w, int err)
{
	if (w->err)
		return;
	w->err = err;
	pyci_buf_truncate(w->b, w->start);
}

/* The comma and the key before a value, once the key was found to fit where it goes.  0, or
 * -1 (failed: w->err set). */
static int jw_member(pyci_jw *w, const char *key)
{
	if (w->err)
		return -1;
	unsigned char *lv = &w->level[w->depth];
	int in_object = w->depth > 0 && !(*lv & LEVEL_ARRAY);
	if (!key != !in_object || (w->depth == 0 && (*lv & LEVEL_USED))) {
		jw_fail(w, EINVAL);
		return -1;
	}
	if (((*lv & LEVEL_USED) && pyci_buf_putc(w->b, ',') != 0) ||
	    (key && pyci_json_key(w->b, key) != 0)) {
		jw_fail(w, ENOMEM);
		return -1;
	}
	*lv |= LEVEL_USED;
	return 0;
}

/* The result of writing a value's text: a failure is the writer's. */
static void jw_check(pyci_jw *w, int rc)
{
	if (rc != 0)
		jw_fail(w, ENOMEM);
}

static void jw_open(pyci_jw *w, const char *key, int array)
{
	if (jw_member(w, key) != 0)
		return;
	if (w->depth == PYCI_JW_MAX_DEPTH) {
		jw_fail(w, EINVAL);
		return;
	}
	if (pyci_buf_putc(w->b, array ? '[' : '{') != 0) {
		jw_fail(w, ENOMEM);
		return;
	}
	w->level[++w->depth] = array ? LEVEL_ARRAY : 0;
}

static void jw_close(pyci_jw *w, int array)
{
	if (w->err)
		return;
	if (w->depth == 0 || !(w->level[w->depth] & LEVEL_ARRAY) != !array) {
		jw_fail(w, EINVAL);
		return;
	}
	w->depth--;
	jw_check(w, pyci_buf_putc(w->b, array ? ']' : '}'));
}

void pyci_jw_begin(pyci_jw *w, const char *key)
{
	jw_open(w, key, 0);
}

void pyci_jw_end(pyci_jw *w)
{
	jw_close(w, 0);
}

void pyci_jw_begin_array(pyci_jw *w, const char *key)
{
	jw_open(w, key, 1);
}

void pyci_jw_end_array(pyci_jw *w)
{
	jw_close(w, 1);
}

void pyci_jw_str(pyci_jw *w, const char *key, const char *s, size_t len)
{
	if (jw_member(w, key) == 0)
		jw_check(w, s ? pyci_json_string(w->b, s, len) : pyci_buf_puts(w->b, "null"));
}

void pyci_jw_cstr(pyci_jw *w, const char *key, const char *s)
{
	pyci_jw_str(w, key, s, s ? strlen(s) : 0);
}

void pyci_jw_bytes(pyci_jw *w, const char *key, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (jw_member(w, key) != 0)
		return;
	if (!p) {
		jw_check(w, pyci_buf_puts(w->b, "null"));
		return;
	}
	if (n > (SIZE_MAX - 2) / 2 || pyci_buf_reserve(w->b, 2 * n + 2) != 0) {
		jw_fail(w, ENOMEM);
		return;
	}
	/* reserved: none of these can fail */
	const unsigned char *q = p;
	int rc = pyci_buf_putc(w->b, '"');
	for (size_t i = 0; i < n && !rc; i++)
		rc = pyci_buf_putc(w->b, hex[q[i] >> 4]) || pyci_buf_putc(w->b, hex[q[i] & 15]);
	jw_check(w, rc || pyci_buf_putc(w->b, '"'));
}

void pyci_jw_u64(pyci_jw *w, const char *key, uint64_t v)
{
	if (jw_member(w, key) == 0)
		jw_check(w, pyci_buf_put_u64(w->b, v));
}

void pyci_jw_i64(pyci_jw *w, const char *key, int64_t v)
{
	if (jw_member(w, key) != 0)
		return;
	/* the magnitude of INT64_MIN too, without overflowing */
	uint64_t mag = v < 0 ? (uint64_t) - (v + 1) + 1 : (uint64_t)v;
	jw_check(w, (v < 0 && pyci_buf_putc(w->b, '-') != 0) || pyci_buf_put_u64(w->b, mag) != 0);
}

void pyci_jw_bool(pyci_jw *w, const char *key, int v)
{
	if (jw_member(w, key) == 0)
		jw_check(w, pyci_buf_puts(w->b, v ? "true" : "false"));
}

void pyci_jw_null(pyci_jw *w, const char *key)
{
	if (jw_member(w, key) == 0)
		jw_check(w, pyci_buf_puts(w->b, "null"));
}

void pyci_jw_decimal(pyci_jw *w, const char *key, const char *text)
{
	if (jw_member(w, key) != 0)
		return;
	const char *d = text + (text[0] == '-');
	size_t n = strspn(d, "0123456789");
	if (n == 0 || d[n] != '\0' || (d[0] == '0' && n > 1)) {
		jw_fail(w, EINVAL);
		return;
	}
	jw_check(w, pyci_buf_puts(w->b, text));
}

void pyci_jw_save(const pyci_jw *w, pyci_jw_mark *m)
{
	m->len = w->b->len;
	m->depth = w->depth;
	m->level = w->level[w->depth];
}

void pyci_jw_restore(pyci_jw *w, const pyci_jw_mark *m)
{
	if (w->err)
		return;
	if (w->depth < m->depth || m->len > w->b->len) {
		jw_fail(w, EINVAL);
		return;
	}
	pyci_buf_truncate(w->b, m->len);
	w->depth = m->depth;
	w->level[w->depth] = m->level;
}

int pyci_jw_finish(pyci_jw *w)
{
	if (!w->err && w->depth != 0)
		jw_fail(w, EINVAL); /* a container left open */
	if (w->err) {
		errno = w->err;
		return -1;
	}
	return 0;
}
