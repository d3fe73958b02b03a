/*
 * jsonread.c - recursive descent over RFC 8259 JSON, bounded in depth and size (jsonread.h).
 *
 * A container's members are gathered in a growable list while it is read, then copied into one
 * allocation the document owns; strings likewise.  A failure leaves whatever was allocated in
 * the document, for jr_free.
 */
#include "jsonread.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *p, *end;
	jr_doc *doc;
	int depth;
};

/* Keep ptr in the document, so that jr_free frees it.  0, or -1 (ENOMEM; ptr freed). */
static int own(jr_doc *doc, void *ptr)
{
	if (doc->nallocs == doc->cap) {
		size_t cap = doc->cap ? doc->cap * 2 : 16;
		void **a = realloc(doc->allocs, cap * sizeof(*a));
		if (!a) {
			free(ptr);
			errno = ENOMEM;
			return -1;
		}
		doc->allocs = a;
		doc->cap = cap;
	}
	doc->allocs[doc->nallocs++] = ptr;
	return 0;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int fail(void)
{
	errno = EINVAL;
	return -1;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *q, unsigned cp)
{
	if (cp < 0x80) {
		q[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		q[0] = (char)(0xC0 | cp >> 6);
		q[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		q[0] = (char)(0xE0 | cp >> 12);
		q[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		q[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	q[0] = (char)(0xF0 | cp >> 18);
	q[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	q[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	q[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A string at ps->p (its opening quote), decoded into v.  The decoded text is never longer than
 * the escaped one (\uXXXX: 6 bytes for at most 3; a pair: 12 for 4). */
static int parse_string(struct parser *ps, jr_value *v)
{
	const char *s = ++ps->p;
	while (ps->p < ps->end && *ps->p != '"') {
		if ((unsigned char)*ps->p < 0x20 || (*ps->p == '\\' && ps->end - ps->p < 2))
			return fail();
		ps->p += *ps->p == '\\' ? 2 : 1;
	}
	if (ps->p >= ps->end)
		return fail();
	size_t n = (size_t)(ps->p - s);
	ps->p++;
	char *out = malloc(n + 1);
	if (!out || own(ps->doc, out) != 0) {
		errno = ENOMEM;
		return -1;
	}
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] != '\\') {
			out[k++] = s[i++];
			continue;
		}
		char e = s[i + 1];
		i += 2;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			out[k++] = e;
			break;
		case 'b':
			out[k++] = '\b';
			break;
		case 'f':
			out[k++] = '\f';
			break;
		case 'n':
			out[k++] = '\n';
			break;
		case 'r':
			out[k++] = '\r';
			break;
		case 't':
			out[k++] = '\t';
			break;
		case 'u': {
			unsigned cp, lo;
			if (i + 4 > n || hex4(s + i, &cp) != 0)
				return fail();
			i += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= n && s[i] == '\\' &&
			    s[i + 1] == 'u' && hex4(s + i + 2, &lo) == 0 && lo >= 0xDC00 &&
			    lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 6;
			}
			k += put_utf8(out + k, cp); /* a lone surrogate as its 3 bytes */
			break;
		}
		default:
			return fail();
		}
	}
	out[k] = '\0';
	*v = (jr_value){.type = JR_STRING, .str = out, .len = k};
	return 0;
}

static int parse_value(struct parser *ps, jr_value *v);

/* An array or object at ps->p; its members in one allocation of the document.  Recursive
 * with parse_value, JSON_READ_MAX_DEPTH levels at most: checked on entry. */
// NOLINTNEXTLINE(misc-no-recursion): bounded by JSON_READ_MAX_DEPTH, checked first
static int parse_container(struct parser *ps, jr_value *v, int object)
{
	char close = object ? '}' : ']';
	jr_value *items = NULL;
	size_t n = 0, cap = 0;
	if (++ps->depth > JSON_READ_MAX_DEPTH)
		return fail();
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		goto done;
	}
	for (;;) {
		if (n + 2 > cap) {
			size_t c = cap ? cap * 2 : 8;
			jr_value *a = realloc(items, c * sizeof(*a));
			if (!a) {
				free(items);
				errno = ENOMEM;
				return -1;
			}
			items = a;
			cap = c;
		}
		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps, &items[n]) != 0)
				goto bad;
			n++;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				goto bad;
			ps->p++;
		}
		if (parse_value(ps, &items[n]) != 0)
			goto bad;
		n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		errno = EINVAL;
		goto bad;
	}
done:
	if (items && own(ps->doc, items) != 0)
		return -1;
	*v = (jr_value){
		.type = object ? JR_OBJECT : JR_ARRAY, .items = items, .n = object ? n / 2 : n};
	ps->depth--;
	return 0;
bad:;
	int err = errno ? errno : EINVAL;
	free(items);
	errno = err;
	return -1;
}

static int literal(struct parser *ps, const char *word, jr_type t, jr_value *v)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail();
	ps->p += n;
	*v = (jr_value){.type = t};
	return 0;
}

static int parse_number(struct parser *ps, jr_value *v)
{
	const char *s = ps->p;
	while (ps->p < ps->end && strchr("+-0123456789.eE", *ps->p))
		ps->p++;
	size_t n = (size_t)(ps->p - s);
	if (n == 0)
		return fail();
	char *t = malloc(n + 1);
	if (!t || own(ps->doc, t) != 0) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(t, s, n);
	t[n] = '\0';
	*v = (jr_value){.type = JR_NUMBER, .str = t, .len = n};
	return 0;
}

// NOLINTNEXTLINE(misc-no-recursion): bounded by JSON_READ_MAX_DEPTH (parse_container)
static int parse_value(struct parser *ps, jr_value *v)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail();
	errno = 0;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, v, 1);
	case '[':
		return parse_container(ps, v, 0);
	case '"':
		return parse_string(ps, v);
	case 't':
		return literal(ps, "true", JR_TRUE, v);
	case 'f':
		return literal(ps, "false", JR_FALSE, v);
	case 'n':
		return literal(ps, "null", JR_NULL, v);
	default:
		return parse_number(ps, v);
	}
}

int jr_parse(const char *text, size_t len, jr_doc *doc)
{
	memset(doc, 0, sizeof(*doc));
	if (len > JSON_READ_MAX_TEXT) {
		errno = EFBIG;
		return -1;
	}
	struct parser ps = {text, text + len, doc, 0};
	if (parse_value(&ps, &doc->root) != 0)
		return -1;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail();
	return 0;
}

void jr_free(jr_doc *doc)
{
	for (size_t i = 0; i < doc->nallocs; i++)
		free(doc->allocs[i]);
	free(doc->allocs);
	memset(doc, 0, sizeof(*doc));
}

const jr_value *jr_get(const jr_value *v, const char *key)
{
	if (!v || v->type != JR_OBJECT)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < v->n; i++) {
		const jr_value *k = &v->items[2 * i];
		if (k->len == klen && memcmp(k->str, key, klen) == 0)
			return &v->items[2 * i + 1];
	}
	return NULL;
}

const char *jr_get_str(const jr_value *v, const char *key)
{
	const jr_value *s = jr_get(v, key);
	return s && s->type == JR_STRING ? s->str : NULL;
}
