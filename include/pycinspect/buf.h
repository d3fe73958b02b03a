/*
 * buf.h - a growable byte buffer, the one way the library builds text.
 *
 * Every append returns 0, or -1 with errno = ENOMEM and the buffer unchanged but for a
 * possible larger capacity.  The contents are kept NUL-terminated (not counted in len).
 */
#ifndef PYCINSPECT_BUF_H
#define PYCINSPECT_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct pyci_buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
} pyci_buf;

/* clang-format off: an initializer, not a block */
#define PYCI_BUF_INIT      \
	{                  \
		NULL, 0, 0 \
	}
/* clang-format on */

/* Release the storage; the buffer can be reused after. */
void pyci_buf_free(pyci_buf *b);

/* Make room for n more bytes. */
int pyci_buf_reserve(pyci_buf *b, size_t n);

int pyci_buf_append(pyci_buf *b, const void *data, size_t len);
int pyci_buf_puts(pyci_buf *b, const char *s);

/* Append one byte.  Inline: the JSON writer puts a quote, a colon or a comma a few hundred
 * times per record, and a call each was a tenth of scan --json's own instructions. */
static inline int pyci_buf_putc(pyci_buf *b, char c)
{
	if (b->data && b->cap - b->len > 1) { /* room for c and the NUL */
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return pyci_buf_append(b, &c, 1);
}

/* Append the decimal digits of v (no printf on hot paths). */
int pyci_buf_put_u64(pyci_buf *b, uint64_t v);

int pyci_buf_printf(pyci_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empty the buffer, keeping its storage. */
void pyci_buf_clear(pyci_buf *b);

/* Cut b back to its first len bytes (len <= b->len; no effect otherwise), keeping its memory:
 * how a writer undoes what it half wrote when an append failed. */
void pyci_buf_truncate(pyci_buf *b, size_t len);

#endif
