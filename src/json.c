/*
 * json.c - JSON strings with lossless bytes (see json.h).
 */
#include "pycinspect/json.h"

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

/* The JSON string of s[0 .. len): appended to b, or with b NULL only counted into *size.
 * Inlined into both callers, so that each is compiled for its own b: the writer stays as fast
 * as a loop of its own. */
static inline __attribute__((always_inline)) int json_string(pyci_buf *b, const char *s,
							     size_t len, size_t *size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n_out = 2; /* the quotes */
	if (b && (pyci_buf_reserve(b, len + 2) != 0 || pyci_buf_putc(b, '"') != 0))
		return -1;
	size_t run = 0; /* start of a run of bytes copied as they are */
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
			i++; /* printable ASCII: the common case, copied with its run */
			continue;
		}
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
			else if (pyci_buf_append(b, s + run, i - run) != 0 || pyci_buf_puts(b, esc) != 0)
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
	return pyci_buf_printf(b, "\"%s\":", key);
}

int pyci_json_next_key(pyci_buf *b, const char *key)
{
	return pyci_buf_puts(b, ",\"") || pyci_buf_puts(b, key) || pyci_buf_puts(b, "\":") ? -1 : 0;
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
