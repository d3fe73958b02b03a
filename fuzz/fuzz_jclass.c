/*
 * fuzz_jclass.c - libFuzzer harness for the Jython class file decoder (jclass.h): the input is a
 * whole NAME$py.class.  Checks the decoder's contract (a status with a name; an error text and
 * an offset within the file exactly for TRUNCATED and MALFORMED; a version once the magic is
 * Java's and the file is OK; a Filename inside the file), and that reading the same bytes a few
 * at a time through a read function, as a short pread would give them, decodes to the same
 * result.  Built with -DPYCI_FUZZ=ON.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pycinspect/jclass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct trickle {
	const uint8_t *p;
	size_t len;
};

/* At most 7 bytes a call. */
static long trickle_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct trickle *t = ctx;
	if (off >= t->len)
		return 0;
	size_t n = t->len - off;
	if (n > len)
		n = len;
	if (n > 7)
		n = 7;
	memcpy(buf, t->p + off, n);
	return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pyci_jclass a, b;
	if (pyci_jclass_decode_buf(data, size, &a) != 0)
		return 0; /* out of memory */
	const char *name = pyci_jclass_status_name(a.status);
	if (!name || !strcmp(name, "unknown"))
		__builtin_trap();
	int problem = a.status == PYCI_JCLASS_TRUNCATED || a.status == PYCI_JCLASS_MALFORMED;
	if (problem != (a.error != NULL) || (problem && a.error_offset > size))
		__builtin_trap();
	if (a.status == PYCI_JCLASS_OK && !a.has_version)
		__builtin_trap();
	if (a.has_filename && (a.filename_off > size || a.filename_len > size - a.filename_off))
		__builtin_trap();
	struct trickle t = {data, size};
	if (pyci_jclass_decode(trickle_read, &t, size, &b) != 0)
		return 0;
	if (a.status != b.status || a.error != b.error || a.error_offset != b.error_offset ||
	    a.has_api != b.has_api || a.api != b.api || a.has_mtime != b.has_mtime ||
	    a.mtime_ms != b.mtime_ms || a.has_filename != b.has_filename ||
	    a.filename_off != b.filename_off || a.filename_len != b.filename_len)
		__builtin_trap();
	return 0;
}
