/*
 * buf.c - growable byte buffer (see buf.h).  Doubling growth, checked for overflow.
 */
#include "pycinspect/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pyci_buf_free(pyci_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void pyci_buf_clear(pyci_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int pyci_buf_reserve(pyci_buf *b, size_t n)
{
	if (n > SIZE_MAX - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int pyci_buf_append(pyci_buf *b, const void *data, size_t len)
{
	if (pyci_buf_reserve(b, len) != 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int pyci_buf_puts(pyci_buf *b, const char *s)
{
	return pyci_buf_append(b, s, strlen(s));
}

int pyci_buf_put_u64(pyci_buf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return pyci_buf_append(b, tmp + sizeof(tmp) - n, n);
}

int pyci_buf_printf(pyci_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)n < sizeof(small))
		return pyci_buf_append(b, small, (size_t)n);
	if (pyci_buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	int m = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (m != n) { /* the same format and arguments gave another length: append nothing */
		b->data[b->len] = '\0';
		errno = EINVAL;
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

void pyci_buf_truncate(pyci_buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}
