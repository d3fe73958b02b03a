/*
 * fuzz_header.c - libFuzzer harness for the .pyc header decoder (header.h), and then for the
 * marshal decoder on whatever body the header leaves, as pycinspect reads a cache: the input is
 * a whole file.  Checks that the header decoder always gives a status with a name, that an OK
 * header has a size of 8, 12 or 16 within the file, and that the decoder's answer keeps its
 * contract (0 with a tree, or -1 with an error inside the body).  Built with -DPYCI_FUZZ=ON.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pycinspect/header.h"
#include "pycinspect/marshal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pyci_header h;
	pyci_header_status st = pyci_header_parse(data, size, size, &h);
	const char *name = pyci_header_status_name(st);
	if (!name || st != h.status)
		__builtin_trap();
	sink += strlen(name);
	if (h.mode != PYCI_MODE_NONE)
		sink += strlen(pyci_mode_name(h.mode));
	if (st != PYCI_HDR_OK)
		return 0;
	if ((h.size != 8 && h.size != 12 && h.size != 16) || h.size >= size)
		__builtin_trap();
	pyci_marshal out;
	int r = pyci_marshal_decode(data + h.size, size - h.size, &h.magic, (int)(size & 1), &out);
	if (r == 0 ? out.error != 0 || out.ncodes == 0 || out.consumed > size - h.size
		   : r != -1 || !out.error || !out.error_msg || out.error_offset > size - h.size)
		__builtin_trap();
	for (size_t i = 0; i < out.ncodes; i++)
		if (out.codes[i].qualname.data)
			sink += strlen(out.codes[i].qualname.data);
	pyci_marshal_free(&out);
	return 0;
}
