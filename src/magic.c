/*
 * magic.c - look magic numbers up in the table generated from data/magic_numbers.tsv.
 *
 * The order of questions follows the reference: the exact row first (PyPy's 3187 sits inside
 * CPython 3.2's range and must win), then CPython's -U variant (row + 1, 1.6-2.7 only), then the
 * 3.x ranges in which CPython assigned numbers, so that a patched build's 3496 still reads as
 * "3.11-range, unknown".
 */
#include "pycinspect/magic.h"

#include <string.h>

static const pyci_magic_row magic_rows[] = {
#include "magic_table.inc"
};

#define MAGIC_ROWS (sizeof(magic_rows) / sizeof(magic_rows[0]))
#define CRLF_WORD(w) (((w) >> 16) == 0x0A0Du)

/* 3.0-3.10 assigned numbers by hand in these ranges; 3.11+ follow 2900 + 50 * minor. */
static const struct {
	uint16_t lo, hi;
	int minor;
} cpython3_ranges[] = {
	{3000, 3139, 0}, {3140, 3159, 1}, {3160, 3189, 2},  {3190, 3249, 3},
	{3250, 3319, 4}, {3320, 3359, 5}, {3360, 3389, 6},  {3390, 3399, 7},
	{3400, 3419, 8}, {3420, 3429, 9}, {3430, 3449, 10},
};

const pyci_magic_row *pyci_magic_table(size_t *count)
{
	*count = MAGIC_ROWS;
	return magic_rows;
}

const char *pyci_impl_name(pyci_impl impl)
{
	switch (impl) {
	case PYCI_IMPL_CPYTHON:
		return "cpython";
	case PYCI_IMPL_PYPY:
		return "pypy";
	case PYCI_IMPL_JYTHON:
		return "jython";
	default:
		return NULL;
	}
}

static const pyci_magic_row *find_row(uint32_t word)
{
	size_t lo = 0, hi = MAGIC_ROWS;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (magic_rows[mid].word < word)
			lo = mid + 1;
		else if (magic_rows[mid].word > word)
			hi = mid;
		else
			return &magic_rows[mid];
	}
	return NULL;
}

static void fill_from_row(pyci_magic_info *out, const pyci_magic_row *row, pyci_magic_match match)
{
	out->impl = row->impl;
	out->major = row->major;
	out->minor = row->minor;
	out->match = match;
	out->final = match == PYCI_MAGIC_EXACT && row->final_for[0] != '\0';
	out->label = row->label;
	out->final_for = match == PYCI_MAGIC_EXACT ? row->final_for : "";
	out->note = row->note;
	out->version_final = row->version_final;
}

int pyci_magic_lookup_word(uint32_t word, pyci_magic_info *out)
{
	memset(out, 0, sizeof(*out));
	out->word = word;
	out->number = CRLF_WORD(word) ? (word & 0xFFFFu) : word;
	out->label = out->final_for = out->note = "";

	const pyci_magic_row *row = find_row(word);
	if (row) {
		fill_from_row(out, row, PYCI_MAGIC_EXACT);
		return 0;
	}
	if (!CRLF_WORD(word))
		return -1;

	uint32_t m = word & 0xFFFFu;
	/* -U: "unicode" interpreters of 1.6-2.7 wrote their magic plus one. */
	row = find_row(word - 1);
	if (row && row->impl == PYCI_IMPL_CPYTHON &&
	    (row->major == 2 || (row->major == 1 && row->minor == 6))) {
		fill_from_row(out, row, PYCI_MAGIC_UNICODE);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cpython3_ranges) / sizeof(cpython3_ranges[0]); i++) {
		if (m >= cpython3_ranges[i].lo && m <= cpython3_ranges[i].hi) {
			out->impl = PYCI_IMPL_CPYTHON;
			out->major = 3;
			out->minor = cpython3_ranges[i].minor;
			out->match = PYCI_MAGIC_RANGE;
			goto range;
		}
	}
	if (m >= 3450 && m < 4000) {
		out->impl = PYCI_IMPL_CPYTHON;
		out->major = 3;
		out->minor = (int)(m - 2900) / 50;
		out->match = PYCI_MAGIC_RANGE;
		goto range;
	}
	return -1;
range:
	if (pyci_magic_final_word(out->impl, out->major, out->minor, &out->version_final) != 0)
		out->version_final = 0;
	return 0;
}

int pyci_magic_lookup(const uint8_t bytes[4], pyci_magic_info *out)
{
	uint32_t word = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
			(uint32_t)bytes[3] << 24;
	return pyci_magic_lookup_word(word, out);
}

int pyci_magic_final_word(pyci_impl impl, int major, int minor, uint32_t *word)
{
	/* every row carries its version's final word (the last one: 3.5.2 moved to 3351) */
	for (size_t i = 0; i < MAGIC_ROWS; i++) {
		const pyci_magic_row *r = &magic_rows[i];
		if (r->impl == impl && r->major == major && r->minor == minor) {
			*word = r->version_final;
			return r->version_final ? 0 : -1;
		}
	}
	return -1;
}

/* A decimal number at *p (at most 9999), advancing *p; -1 when there is none. */
static int release_number(const char **p)
{
	int v = 0, n = 0;
	while (**p >= '0' && **p <= '9' && n < 4) {
		v = v * 10 + (*(*p)++ - '0');
		n++;
	}
	return n && !(**p >= '0' && **p <= '9') ? v : -1;
}

int pyci_magic_release_writes(const pyci_magic_row *r, pyci_impl impl, int major, int minor,
			      int patch)
{
	if (r->impl != impl)
		return 0;
	const char *p = r->final_for;
	while (*p != '\0' && *p != ' ') {
		int a = release_number(&p);
		if (a < 0 || *p != '.')
			return 0; /* not the documented form: claim nothing */
		p++;
		int b = release_number(&p);
		if (b < 0)
			return 0;
		int every = 1, from = 0, upward = 0;
		if (*p == '.') {
			p++;
			if (*p == 'x') {
				p++;
			} else {
				every = 0;
				if ((from = release_number(&p)) < 0)
					return 0;
				if (*p == '+') {
					upward = 1;
					p++;
				}
			}
		}
		if (a == major && b == minor &&
		    (every || patch == from || (upward && patch > from)))
			return 1;
		if (*p == ',')
			p++;
		else if (*p != '\0' && *p != ' ')
			return 0;
	}
	return 0;
}

size_t pyci_magic_header_size(const pyci_magic_info *m)
{
	if (m->impl == PYCI_IMPL_CPYTHON && m->major == 3 && m->number >= 3000 &&
	    m->number < 4000) {
		if (m->number >= 3392)
			return 16;
		if (m->number >= 3210)
			return 12;
		return 8;
	}
	/* PyPy and anything else: the layout of the language version it implements. */
	if (m->major > 3 || (m->major == 3 && m->minor >= 7))
		return 16;
	if (m->major == 3 && m->minor >= 3)
		return 12;
	return 8;
}

void pyci_magic_siphash_rounds(const pyci_magic_info *m, int *c_rounds, int *d_rounds)
{
	if (m->impl == PYCI_IMPL_CPYTHON && (m->major > 3 || (m->major == 3 && m->minor >= 11))) {
		*c_rounds = 1;
		*d_rounds = 3;
	} else {
		*c_rounds = 2;
		*d_rounds = 4;
	}
}
