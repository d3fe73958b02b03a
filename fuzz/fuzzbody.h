/*
 * fuzzbody.h - how a marshal harness's input chooses its Python (fuzz_marshal.c, fuzz_mtree.c).
 *
 * When the input starts with a known magic number it is a whole .pyc, and the body starts after
 * that magic's header size, so the fixtures are good seeds; otherwise its first two bytes pick a
 * row of pyci_magic_table() and the rest is the body.
 */
#ifndef PYCI_FUZZBODY_H
#define PYCI_FUZZBODY_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/magic.h"

/* The body of data[0..size) in *body, *len, read under *m.  0, or -1 when the input is too
 * short to choose. */
static inline int fuzz_body(const uint8_t *data, size_t size, pyci_magic_info *m,
			    const uint8_t **body, size_t *len)
{
	if (size >= 4 && pyci_magic_lookup(data, m) == 0) {
		size_t h = pyci_magic_header_size(m);
		if (size < h)
			return -1;
		*body = data + h;
		*len = size - h;
		return 0;
	}
	size_t count;
	const pyci_magic_row *rows = pyci_magic_table(&count);
	if (size < 2 || count == 0)
		return -1;
	const pyci_magic_row *row = &rows[(size_t)(data[0] | data[1] << 8) % count];
	if (pyci_magic_lookup_word(row->word, m) != 0)
		__builtin_trap(); /* every row of the table is a known magic */
	*body = data + 2;
	*len = size - 2;
	return 0;
}

#endif
