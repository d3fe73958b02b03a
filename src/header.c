/*
 * header.c - decode .pyc headers (layouts in header.h, facts in the reference, section 2).
 *
 * Pure: bytes in, struct out.  The walker reads PYCI_HEADER_MAX bytes of each cache and the
 * verdict works from what this decoder says; the marshal body is not touched here.
 */
#include "pycinspect/header.h"

#include <string.h>

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The marshal type byte of a code object, FLAG_REF (0x80) masked off. */
static int is_code_type(const pyci_magic_info *m, uint8_t b)
{
	uint8_t type = b & 0x7F;
	if (m->major == 1 && m->minor <= 2)
		return type == 'c' || type == 'C';
	return type == 'c';
}

/*
 * The smallest marshalled code object of the layout (reference section 6.3): the type byte,
 * the fixed integers, and one byte at least for each nested object.  Alpha-only layouts
 * (3.8 before 3410, 3.11 before 3460) get the smaller bound of their neighbours.
 */
static uint64_t min_code_size(const pyci_magic_info *m)
{
	int v = m->major * 100 + m->minor;
	int cpy3 = m->impl == PYCI_IMPL_CPYTHON && m->major == 3;
	if (v >= 311) /* 5 x i32, firstlineno, 10 objects (qualname, exception table) */
		return cpy3 && m->number < 3460 ? 1 + 4 * 4 + 4 + 9 : 1 + 5 * 4 + 4 + 10;
	if (v >= 308) /* posonlyargcount: 6 x i32 */
		return cpy3 && m->number < 3410 ? 1 + 5 * 4 + 4 + 9 : 1 + 6 * 4 + 4 + 9;
	if (v >= 300) /* kwonlyargcount: 5 x i32 */
		return 1 + 5 * 4 + 4 + 9;
	if (v >= 203) /* 4 x i32 */
		return 1 + 4 * 4 + 4 + 9;
	if (v >= 201) /* 4 x i16, i16 firstlineno, 9 objects (freevars, cellvars) */
		return 1 + 4 * 2 + 2 + 9;
	if (v >= 105)
		return 1 + 4 * 2 + 2 + 7;
	if (v >= 103)
		return 1 + 3 * 2 + 6;
	return 1 + 5;
}

pyci_header_status pyci_header_parse(const uint8_t *buf, size_t len, uint64_t file_size,
				     pyci_header *out)
{
	memset(out, 0, sizeof(*out));
	out->magic.label = out->magic.final_for = out->magic.note = "";
	if (len > file_size)
		len = (size_t)file_size;
	if (file_size == 0)
		return out->status = PYCI_HDR_EMPTY;
	if (len < 4)
		return out->status = PYCI_HDR_SHORT_MAGIC;
	if (pyci_magic_lookup(buf, &out->magic) != 0)
		return out->status = PYCI_HDR_BAD_MAGIC;

	out->size = pyci_magic_header_size(&out->magic);
	if (len < out->size)
		return out->status = PYCI_HDR_TRUNCATED;

	if (out->size == 16) {
		out->flags = le32(buf + 4);
		if (out->flags & ~3u)
			return out->status = PYCI_HDR_BAD_FLAGS;
		if (out->flags & 1u) {
			out->mode = (out->flags & 2u) ? PYCI_MODE_CHECKED_HASH
						      : PYCI_MODE_UNCHECKED_HASH;
			out->has_hash = 1;
			memcpy(out->hash, buf + 8, 8);
		} else {
			out->mode = PYCI_MODE_TIMESTAMP;
			out->has_mtime = out->has_source_size = 1;
			out->mtime = le32(buf + 8);
			out->source_size = le32(buf + 12);
		}
	} else {
		out->mode = PYCI_MODE_TIMESTAMP;
		out->has_mtime = 1;
		out->mtime = le32(buf + 4);
		if (out->size == 12) {
			out->has_source_size = 1;
			out->source_size = le32(buf + 8);
		}
	}
	if (file_size <= out->size)
		return out->status = PYCI_HDR_NO_BODY;
	if (len > out->size && !is_code_type(&out->magic, buf[out->size]))
		return out->status = PYCI_HDR_NOT_CODE;
	if (file_size - out->size < min_code_size(&out->magic))
		return out->status = PYCI_HDR_SHORT_BODY;
	return out->status = PYCI_HDR_OK;
}

const char *pyci_header_status_name(pyci_header_status st)
{
	static const char *const names[] = {
		[PYCI_HDR_OK] = "ok",
		[PYCI_HDR_EMPTY] = "empty",
		[PYCI_HDR_SHORT_MAGIC] = "short-magic",
		[PYCI_HDR_BAD_MAGIC] = "bad-magic",
		[PYCI_HDR_TRUNCATED] = "truncated",
		[PYCI_HDR_BAD_FLAGS] = "bad-flags",
		[PYCI_HDR_NO_BODY] = "no-body",
		[PYCI_HDR_NOT_CODE] = "not-code",
		[PYCI_HDR_SHORT_BODY] = "short-body",
	};
	if ((unsigned)st < sizeof(names) / sizeof(names[0]) && names[st])
		return names[st];
	return "unknown";
}

const char *pyci_mode_name(pyci_mode mode)
{
	switch (mode) {
	case PYCI_MODE_TIMESTAMP:
		return "timestamp";
	case PYCI_MODE_CHECKED_HASH:
		return "checked-hash";
	case PYCI_MODE_UNCHECKED_HASH:
		return "unchecked-hash";
	default:
		return NULL;
	}
}
