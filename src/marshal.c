/*
 * marshal.c - the marshal decoder of marshal.h: the code objects of a .pyc body, from bytes that
 * may be hostile (formats in the reference, section 6).
 *
 * The reader is a loop over an explicit stack of open containers instead of CPython's recursive
 * r_object(), so a deep body cannot exhaust the C stack; the depth is capped at 2000 like
 * CPython's.  Every object is turned into a small value (mval): scalars carry their number,
 * strings point at a NUL-terminated copy, tuples at their items, code objects at their index in
 * the output.  Values live until the end because back-references ('r', py2 'R') may name any
 * earlier one.  Values and results come from one arena, and the arena, the ref table and every
 * other array are charged against a budget of a constant times the input length, capped by a
 * constant (pyci_marshal_bound), so memory stays bounded even when references repeat large
 * objects (billion laughs).  Where a result could be shared by many code objects through
 * references (a names tuple, its sorted copy, its constants, a split of 3.11 localsplus), it is
 * computed once per tuple and shared.
 *
 * Only what may be looked at again is kept (wanted()): a code object's fields, an object with a
 * ref slot, and the members of a tuple that may become a field (keep_members()), of the kinds a
 * field can use.  Anything else is read, checked, counted and dropped without a copy or an
 * allocation, so a huge tuple of constants nested in co_consts costs nothing, and a kept tuple
 * keeps at most PYCI_MARSHAL_MAX_ITEMS members (the rest are counted as elided).
 *
 * Strictness follows CPython where it helps to tell a broken cache: unknown codes for the
 * version, sizes out of range or past the end, references out of range or to a slot not yet
 * filled, NULL where an object is needed, invalid UTF-8 (surrogates allowed, as surrogatepass),
 * bad long digits, text floats Python would not parse, and code object fields of the wrong type
 * (names must be tuples of str, co_code bytes, ...).  Numeric fields are reported as read.
 *
 * Qualnames before 3.11 are derived after the decode, from the finished tree, with CPython 3's
 * compiler rule (compiler_set_qualname), see derive_qualnames().
 *
 * Floats are formatted with snprintf/strtod and assume the "C" LC_NUMERIC locale (the library
 * never calls setlocale).
 */
#include "pycinspect/marshal.h"

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLAG_REF 0x80
#define NO_CODE SIZE_MAX

/* co_flags bit of functions (3.x: every function, lambda and comprehension; 2.x: functions
 * without a bare exec or import *). */
#define CO_OPTIMIZED 0x0001

/* 3.11+ localspluskinds bits. */
#define KIND_LOCAL 0x20
#define KIND_CELL 0x40
#define KIND_FREE 0x80

/* Longs up to this many 15-bit digits are given in decimal (about 4,516 decimal digits, past
 * CPython's int_max_str_digits of 4300); longer ones in hex, so that the quadratic conversion
 * costs at most about a hundred steps per input byte. */
#define LONG_DECIMAL_MAX_DIGITS 1000

/* Memory budget: BUDGET_PER_BYTE bytes per input byte plus a fixed allowance, at most
 * PYCI_MARSHAL_MAX_MEMORY. */
#define BUDGET_PER_BYTE 64u
#define BUDGET_FIXED ((size_t)1 << 20)
#define CHUNK_SIZE ((size_t)64 << 10)

/* ------------------------------------------------------------------------------------------ */
/* Values */

typedef enum {
	V_EMPTY = 0, /* a reserved ref slot, not filled yet */
	V_NULL,      /* TYPE_NULL: ends a dict, not a value */
	V_NONE,
	V_TRUE,
	V_FALSE,
	V_ELLIPSIS,
	V_STOPITER,
	V_INT,     /* fits int64: u.i */
	V_LONG,    /* larger 'l': u.lng (NULL when not wanted) */
	V_FLOAT,   /* u.f */
	V_COMPLEX, /* u.cx[2] (NULL when not wanted) */
	V_TEXT,    /* py3 str, py2 unicode: UTF-8 in u.s (arena copy, NUL-terminated; the raw
		    * bytes in the body when not wanted) */
	V_BSTR,    /* py3 bytes, py2 str: u.s (arena copy, or the body when not needed) */
	V_SEQ,     /* tuple, list, set, frozenset: u.seq (NULL when not wanted); type says which */
	V_OTHER,   /* dict, slice, frozendict: contents not kept */
	V_CODE,    /* u.code: index in codes */
} vkind;

struct mseq;
struct mlong;

typedef struct mval {
	uint8_t kind;
	uint8_t type; /* type code that produced it (FLAG_REF masked) */
	uint32_t len; /* V_TEXT, V_BSTR: bytes */
	union {
		int64_t i;
		double f;
		const char *s;
		struct mseq *seq;
		struct mlong *lng;
		double *cx;
		size_t code;
	} u;
} mval;

/* Results computed from a tuple once, shared by every code object that uses the tuple. */
typedef struct seqmemo {
	pyci_mstr *strs; /* the items as strings (NULL until asked; n == 0: never needed) */
	int strs_done;
	pyci_mstr *sorted; /* strs sorted by (len, bytes), for the qualname rule */
	int sorted_done;
	pyci_mconst *consts; /* kept constants (want_consts) */
	size_t nconsts;
	int consts_done;
	/* split of 3.11+ localsplusnames by the last kinds it was asked with */
	const char *kinds;
	pyci_mstr *lp[3]; /* varnames, cellvars, freevars */
	size_t nlp[3];
	size_t nel[3]; /* of each, names past the kept ones */
	int lp_done;
} seqmemo;

/* A sequence as kept: items[] holds its first members of the kinds a field can use (strings;
 * with want_consts, every single-value constant), at most PYCI_MARSHAL_MAX_ITEMS of them, and
 * only when the sequence may become a field (keep_members()).  A tuple that may become a field
 * and whose members are all strings keeps them all, up to the cap. */
typedef struct mseq {
	uint32_t n;     /* members */
	uint32_t nkept; /* of which in items[] */
	uint32_t kinds; /* 1 << kind of every member, kept or not */
	uint32_t more;  /* members past the cap that would have been kept */
	mval *items;
	seqmemo *memo;
} mseq;

typedef struct mlong {
	const uint8_t
		*digits; /* in the body: n little-endian 15-bit digits, least significant first */
	uint32_t n;
	int negative;
	const char *text; /* memo: decimal (or hex) text */
	size_t textlen;
} mlong;

/* ------------------------------------------------------------------------------------------ */
/* Code object layouts (reference 6.3) */

typedef enum {
	L_NONE = 0,
	L_PY2,   /* 2.3-2.7 */
	L_PY30,  /* 3.0-3.7 (and 3.8 alphas before 3410) */
	L_PY38,  /* 3.8-3.10 */
	L_PY311, /* 3.11+ (from 3460) */
} layout;

typedef enum {
	S_END = 0,
	/* i32 fields */
	S_ARGCOUNT,
	S_POSONLY,
	S_KWONLY,
	S_NLOCALS,
	S_STACKSIZE,
	S_FLAGS,
	S_FIRSTLINENO,
	/* objects */
	O_CODE,
	O_CONSTS,
	O_NAMES,
	O_VARNAMES,
	O_FREEVARS,
	O_CELLVARS,
	O_FILENAME,
	O_NAME,
	O_QUALNAME,
	O_LNOTAB, /* lnotab or linetable */
	O_LPNAMES,
	O_LPKINDS,
	O_EXCTABLE,
} step;

#define IS_INT_STEP(s) ((s) >= S_ARGCOUNT && (s) <= S_FIRSTLINENO)

static const uint8_t steps_py2[] = {
	S_ARGCOUNT, S_NLOCALS,  S_STACKSIZE, S_FLAGS, O_CODE,        O_CONSTS, O_NAMES, O_VARNAMES,
	O_FREEVARS, O_CELLVARS, O_FILENAME,  O_NAME,  S_FIRSTLINENO, O_LNOTAB, S_END,
};
static const uint8_t steps_py30[] = {
	S_ARGCOUNT, S_KWONLY,   S_NLOCALS,  S_STACKSIZE, S_FLAGS, O_CODE,        O_CONSTS, O_NAMES,
	O_VARNAMES, O_FREEVARS, O_CELLVARS, O_FILENAME,  O_NAME,  S_FIRSTLINENO, O_LNOTAB, S_END,
};
static const uint8_t steps_py38[] = {
	S_ARGCOUNT, S_POSONLY, S_KWONLY,      S_NLOCALS,  S_STACKSIZE, S_FLAGS,
	O_CODE,     O_CONSTS,  O_NAMES,       O_VARNAMES, O_FREEVARS,  O_CELLVARS,
	O_FILENAME, O_NAME,    S_FIRSTLINENO, O_LNOTAB,   S_END,
};
static const uint8_t steps_py311[] = {
	S_ARGCOUNT, S_POSONLY,     S_KWONLY,  S_STACKSIZE, S_FLAGS,    O_CODE,
	O_CONSTS,   O_NAMES,       O_LPNAMES, O_LPKINDS,   O_FILENAME, O_NAME,
	O_QUALNAME, S_FIRSTLINENO, O_LNOTAB,  O_EXCTABLE,  S_END,
};

/* ------------------------------------------------------------------------------------------ */
/* Decoder state */

typedef enum { F_SEQ, F_DICT, F_SKIP, F_CODE } fkind;

typedef struct frame {
	uint8_t kind;
	uint8_t type;
	uint8_t step;  /* F_CODE: index in the layout; F_DICT: 0 = key next, 1 = value next */
	int64_t ref;   /* reserved ref slot, or -1 */
	size_t start;  /* offset of the type byte */
	uint32_t n, i; /* F_SEQ, F_SKIP: children expected, children read */
	size_t vbase;  /* F_SEQ: first item on the value stack */
	uint8_t keep;  /* F_SEQ: members are kept (keep_members()) */
	uint8_t need;  /* F_SEQ: the sequence itself is wanted (wanted()) */
	uint32_t nkept, kinds, more; /* F_SEQ: as in mseq */
	size_t code;                 /* F_CODE: index in codes */
	size_t outer;  /* F_CODE: the enclosing code object, restored when this one ends */
	mseq *lpnames; /* F_CODE, 3.11+: localsplusnames until the kinds arrive */
} frame;

/* What the decoder keeps about a code object beside its pyci_mcode. */
typedef struct codeinfo {
	mseq *vars
		[3]; /* varnames, cellvars, freevars tuples (before 3.11), for the qualname rule */
	int complete;
} codeinfo;

typedef struct chunk {
	struct chunk *next;
	size_t size, used;
	max_align_t data[];
} chunk;

/* What pyci_marshal_free releases (out->priv_). */
typedef struct owned {
	chunk *chunks;
	pyci_mcode *codes;
} owned;

typedef struct dec {
	const uint8_t *p;
	size_t len, pos;
	int version, py2, want_consts;
	const uint8_t *steps;
	pyci_marshal *out;

	size_t budget, charged;
	chunk *chunks;

	frame *frames;
	size_t nframes, capframes;
	mval *vstack;
	size_t nv, capv;
	mval *refs;
	size_t nrefs, caprefs;
	mval *interned; /* py2 't' strings, for 'R' */
	size_t ninterned, capinterned;
	pyci_mcode *codes;
	codeinfo *ci;
	size_t ncodes, capcodes, capci;
	size_t cur;  /* innermost code object being read */
	mseq *empty; /* the one empty sequence */
} dec;

/* ------------------------------------------------------------------------------------------ */
/* Errors and memory */

static int fail(dec *d, int err, const char *msg, size_t off)
{
	if (!d->out->error) {
		d->out->error = err;
		d->out->error_msg = msg;
		d->out->error_offset = off;
	}
	return -1;
}

static int charge(dec *d, size_t n)
{
	if (n > d->budget - d->charged)
		return fail(d, ENOMEM, "decoded data would exceed the memory bound for this input",
			    d->pos);
	d->charged += n;
	return 0;
}

static void *arena_alloc(dec *d, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - align)
		goto nomem;
	n = (n + align - 1) / align * align;
	chunk *c = d->chunks;
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
		if (charge(d, size) != 0)
			return NULL;
		c = malloc(sizeof(chunk) + size);
		if (!c)
			goto nomem;
		c->size = size;
		c->used = 0;
		if (size == CHUNK_SIZE || !d->chunks) {
			c->next = d->chunks;
			d->chunks = c;
		} else {
			/* a large block gets its own chunk behind the current one, whose free space stays
			 * in use */
			c->next = d->chunks->next;
			d->chunks->next = c;
		}
	}
	void *r = (unsigned char *)c->data + c->used;
	c->used += n;
	return r;
nomem:
	fail(d, ENOMEM, "out of memory", d->pos);
	return NULL;
}

/* Grow *arr (of *cap elements of size elem) to hold at least need elements. */
static int grow(dec *d, void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return fail(d, ENOMEM, "out of memory", d->pos);
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return fail(d, ENOMEM, "out of memory", d->pos);
	if (charge(d, (ncap - *cap) * elem) != 0)
		return -1;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return fail(d, ENOMEM, "out of memory", d->pos);
	*arr = p;
	*cap = ncap;
	return 0;
}

/* A NUL-terminated copy of n bytes in the arena; latin1: widen bytes >= 0x80 to UTF-8. */
static char *copy_bytes(dec *d, const uint8_t *src, size_t n, int latin1, size_t *outlen)
{
	size_t extra = 0;
	if (latin1)
		for (size_t i = 0; i < n; i++)
			extra += src[i] >= 0x80;
	char *s = arena_alloc(d, n + extra + 1);
	if (!s)
		return NULL;
	if (!extra) {
		if (n)
			memcpy(s, src, n);
	} else {
		size_t j = 0;
		for (size_t i = 0; i < n; i++) {
			if (src[i] < 0x80) {
				s[j++] = (char)src[i];
			} else {
				s[j++] = (char)(0xC0 | (src[i] >> 6));
				s[j++] = (char)(0x80 | (src[i] & 0x3F));
			}
		}
	}
	s[n + extra] = '\0';
	*outlen = n + extra;
	return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Versions */

static int marshal_version(const pyci_magic_info *m)
{
	int v = m->major * 100 + m->minor;
	int cpy = m->impl == PYCI_IMPL_CPYTHON;
	if (v <= 203)
		return 0;
	if (v == 204)
		return 1;
	if (v <= 303)
		return 2;
	if (v == 304)
		return cpy && m->number < 3280 ? 3 : 4;
	if (v <= 313)
		return 4;
	if (v == 314)
		return cpy && m->number < 3608 ? 4 : 5;
	return 6;
}

static layout code_layout(const pyci_magic_info *m, const char **why)
{
	int v = m->major * 100 + m->minor;
	int cpy = m->impl == PYCI_IMPL_CPYTHON;
	if (m->impl == PYCI_IMPL_UNKNOWN || m->major < 1) {
		*why = "unsupported code layout: unknown Python version";
		return L_NONE;
	}
	if (v < 203) {
		*why = "unsupported code layout: Python before 2.3";
		return L_NONE;
	}
	if (m->major == 2)
		return L_PY2;
	if (v < 308 || (v == 308 && cpy && m->number < 3410))
		return L_PY30;
	if (v < 311)
		return L_PY38;
	if (v == 311 && cpy && m->number < 3460) {
		*why = "unsupported code layout: 3.11 alpha (magic 3450-3459)";
		return L_NONE;
	}
	return L_PY311;
}

/* The marshal version that introduced a type code; -1: not a type code of this family. */
static int min_version(int type, int py2)
{
	switch (type) {
	case '0':
	case 'N':
	case 'F':
	case 'T':
	case 'S':
	case '.':
	case 'i':
	case 'I':
	case 'l':
	case 'f':
	case 'x':
	case 's':
	case '(':
	case '[':
	case '{':
	case 'c':
	case 'u':
		return 0;
	case '<':
	case '>':
	case 't':
		return 1;
	case 'R':
		return py2 ? 1 : -1;
	case 'g':
	case 'y':
		return 2;
	case 'r':
		return 3;
	case 'a':
	case 'A':
	case 'z':
	case 'Z':
	case ')':
		return 4;
	case ':':
		return 5;
	case '}':
		return 6;
	default:
		return -1;
	}
}

const char *pyci_marshal_type_name(unsigned char type)
{
	switch (type & 0x7F) {
	case '0':
		return "null";
	case 'N':
		return "none";
	case 'F':
		return "false";
	case 'T':
		return "true";
	case 'S':
		return "stopiter";
	case '.':
		return "ellipsis";
	case 'i':
		return "int";
	case 'I':
		return "int64";
	case 'f':
		return "float";
	case 'g':
		return "binary_float";
	case 'x':
		return "complex";
	case 'y':
		return "binary_complex";
	case 'l':
		return "long";
	case 's':
		return "string";
	case 't':
		return "interned";
	case 'r':
		return "ref";
	case '(':
		return "tuple";
	case '[':
		return "list";
	case '{':
		return "dict";
	case 'c':
		return "code";
	case 'u':
		return "unicode";
	case '?':
		return "unknown";
	case '<':
		return "set";
	case '>':
		return "frozenset";
	case 'a':
		return "ascii";
	case 'A':
		return "ascii_interned";
	case ')':
		return "small_tuple";
	case 'z':
		return "short_ascii";
	case 'Z':
		return "short_ascii_interned";
	case 'R':
		return "stringref";
	case ':':
		return "slice";
	case '}':
		return "frozendict";
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Reading primitives: every read is checked against the bytes that remain. */

static int32_t le_i32(const uint8_t *p)
{
	uint32_t u =
		(uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

static uint64_t le_u64(const uint8_t *p)
{
	uint64_t u = 0;
	for (int i = 7; i >= 0; i--)
		u = u << 8 | p[i];
	return u;
}

static double le_double(const uint8_t *p)
{
	uint64_t u = le_u64(p);
	double x;
	memcpy(&x, &u, sizeof(x));
	return x;
}

static size_t remaining(const dec *d)
{
	return d->len - d->pos;
}

static int rd_i32(dec *d, int32_t *v)
{
	if (remaining(d) < 4)
		return fail(d, EINVAL, "marshal data too short", d->pos);
	*v = le_i32(d->p + d->pos);
	d->pos += 4;
	return 0;
}

/* A size: i32 in 0..2^31-1, and (times unit bytes) no more than what remains. */
static int rd_size(dec *d, size_t start, size_t unit, uint32_t *n)
{
	int32_t v = 0;
	if (rd_i32(d, &v) != 0)
		return -1;
	if (v < 0)
		return fail(d, EINVAL, "bad marshal data (size out of range)", start);
	if ((uint64_t)v * unit > remaining(d))
		return fail(d, EINVAL, "bad marshal data (size larger than the remaining data)",
			    start);
	*n = (uint32_t)v;
	return 0;
}

/* A one-byte size (short strings, small tuples, text floats). */
static int rd_byte_size(dec *d, size_t start, uint32_t *n)
{
	if (remaining(d) < 1)
		return fail(d, EINVAL, "marshal data too short", d->pos);
	*n = d->p[d->pos++];
	if (*n > remaining(d))
		return fail(d, EINVAL, "bad marshal data (size larger than the remaining data)",
			    start);
	return 0;
}

/* Valid UTF-8, allowing encoded surrogates (CPython decodes marshal's str with surrogatepass). */
static int utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t more;
		uint8_t lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			more = 1;
		} else if (c == 0xE0) {
			more = 2;
			lo = 0xA0;
		} else if (c >= 0xE1 && c <= 0xEF) {
			more = 2;
		} else if (c == 0xF0) {
			more = 3;
			lo = 0x90;
		} else if (c >= 0xF1 && c <= 0xF3) {
			more = 3;
		} else if (c == 0xF4) {
			more = 3;
			hi = 0x8F;
		} else {
			return 0;
		}
		if (n - i - 1 < more)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= more; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
		i += more + 1;
	}
	return 1;
}

/* Python's float syntax (PyOS_string_to_double without an end pointer): decimal with optional
 * exponent, or inf/infinity/nan, optional sign; nothing else, not even spaces. */
static int parse_float_text(const uint8_t *s, size_t n, double *out)
{
	char buf[256];
	size_t i = 0;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strlen(buf) != n)
		return -1;
	int neg = 0;
	if (i < n && (buf[i] == '+' || buf[i] == '-'))
		neg = buf[i++] == '-';
	const char *rest = buf + i;
	/* inf, infinity, nan: case-insensitive */
	{
		size_t rl = n - i;
		if (rl <= 8) {
			char low[10];
			for (size_t k = 0; k < rl; k++) {
				char c = rest[k];
				if (c >= 'A' && c <= 'Z')
					c = (char)(c - 'A' + 'a');
				low[k] = c;
			}
			low[rl] = '\0';
			if (!strcmp(low, "inf") || !strcmp(low, "infinity")) {
				*out = neg ? -HUGE_VAL : HUGE_VAL;
				return 0;
			}
			if (!strcmp(low, "nan")) {
				*out = NAN;
				return 0;
			}
		}
	}
	size_t digits = 0;
	while (i < n && buf[i] >= '0' && buf[i] <= '9')
		i++, digits++;
	if (i < n && buf[i] == '.') {
		i++;
		while (i < n && buf[i] >= '0' && buf[i] <= '9')
			i++, digits++;
	}
	if (!digits)
		return -1;
	if (i < n && (buf[i] == 'e' || buf[i] == 'E')) {
		i++;
		if (i < n && (buf[i] == '+' || buf[i] == '-'))
			i++;
		size_t ed = 0;
		while (i < n && buf[i] >= '0' && buf[i] <= '9')
			i++, ed++;
		if (!ed)
			return -1;
	}
	if (i != n)
		return -1;
	*out = strtod(buf, NULL);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Number formatting, for want_consts */

/* Parse "%.Ne" output: its digits (the decimal point is skipped, whatever it is) and exponent. */
static void split_e(const char *tmp, char *digs, int *nd, int *exp10)
{
	const char *p = tmp;
	int n = 0;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && n < 17)
			digs[n++] = *p;
	if (n == 0) /* not from printf, but never leave digs unset */
		digs[n++] = '0';
	*nd = n;
	*exp10 = *p == 'e' ? (int)strtol(p + 1, NULL, 10) : 0;
}

/* digs (nd digits, value d.ddd x 10^exp10) plus or minus one unit in the last place. */
static void step_digits(char *digs, int *nd, int *exp10, int up)
{
	int i = *nd - 1;
	if (up) {
		while (i >= 0 && digs[i] == '9')
			digs[i--] = '0';
		if (i >= 0) {
			digs[i]++;
		} else { /* 99.9 -> 100.0: one digit more in front, same length */
			memmove(digs + 1, digs, (size_t)*nd - 1);
			digs[0] = '1';
			(*exp10)++;
		}
	} else {
		while (i >= 0 && digs[i] == '0')
			digs[i--] = '9';
		if (i >= 0)
			digs[i]--;
		if (*nd > 1 && digs[0] == '0') { /* 100 -> 099: drop the leading zero */
			memmove(digs, digs + 1, (size_t)*nd - 1);
			(*nd)--;
			(*exp10)--;
		}
	}
}

static double digits_value(const char *digs, int nd, int exp10)
{
	char tmp[48];
	int k = 0;
	tmp[k++] = digs[0];
	tmp[k++] = '.';
	for (int i = 1; i < nd; i++)
		tmp[k++] = digs[i];
	(void)snprintf(tmp + k, sizeof(tmp) - (size_t)k, "e%d", exp10); /* fits: 48 bytes */
	return strtod(tmp, NULL);
}

/* The shortest digits that read back as x (x finite, > 0): what repr() prints (David Gay's
 * mode 0).  For each length, printf's correctly rounded %.Ne is the nearest candidate; when it
 * does not read back, its neighbour on the other side of x may (next to a power of two the
 * rounding interval is lopsided: 2**-24 is 5.960464477539063e-08, not ...062e-08). */
static void shortest_digits(double x, char *digs, int *nd, int *decpt)
{
	char tmp[48];
	int exp10 = 0;
	for (int prec = 0; prec <= 16; prec++) {
		(void)snprintf(tmp, sizeof(tmp), "%.*e", prec, x); /* fits: 48 bytes */
		split_e(tmp, digs, nd, &exp10);
		double r = strtod(tmp, NULL);
		if (r == x || prec == 16)
			break;
		char alt[20];
		int and_ = *nd, aexp = exp10;
		memcpy(alt, digs, (size_t)*nd);
		step_digits(alt, &and_, &aexp, r < x);
		if (digits_value(alt, and_, aexp) == x) {
			memcpy(digs, alt, (size_t)and_);
			*nd = and_;
			exp10 = aexp;
			break;
		}
	}
	while (*nd > 1 && digs[*nd - 1] == '0')
		(*nd)--;
	*decpt = exp10 + 1;
}

/* Python's repr of a double into buf (at least 40 bytes).  add_dot0: "1.0" for integral values
 * (float repr); complex parts go without.  always_sign: "+" for positive values (the imaginary
 * part of a complex).  Like CPython, a NaN's sign is ignored. */
static size_t float_repr(char *buf, double x, int add_dot0, int always_sign)
{
	char *p = buf;
	if (isnan(x)) {
		if (always_sign)
			*p++ = '+';
		memcpy(p, "nan", 4);
		return (size_t)(p - buf) + 3;
	}
	if (signbit(x))
		*p++ = '-';
	else if (always_sign)
		*p++ = '+';
	x = fabs(x);
	if (isinf(x)) {
		memcpy(p, "inf", 4);
		return (size_t)(p - buf) + 3;
	}
	char digs[20];
	int nd, decpt;
	if (x == 0) {
		digs[0] = '0';
		nd = 1;
		decpt = 1;
	} else {
		shortest_digits(x, digs, &nd, &decpt);
	}
	if (decpt <= -4 || decpt > 16) {
		*p++ = digs[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, digs + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		int e = decpt - 1;
		p += snprintf(p, 8, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	} else if (decpt <= 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -decpt; i++)
			*p++ = '0';
		memcpy(p, digs, (size_t)nd);
		p += nd;
	} else if (decpt < nd) {
		memcpy(p, digs, (size_t)decpt);
		p += decpt;
		*p++ = '.';
		memcpy(p, digs + decpt, (size_t)(nd - decpt));
		p += nd - decpt;
	} else {
		memcpy(p, digs, (size_t)nd);
		p += nd;
		for (int i = nd; i < decpt; i++)
			*p++ = '0';
		if (add_dot0) {
			*p++ = '.';
			*p++ = '0';
		}
	}
	*p = '\0';
	return (size_t)(p - buf);
}

static int text_const(dec *d, pyci_mstr *out, const char *s, size_t n)
{
	size_t len;
	char *c = copy_bytes(d, (const uint8_t *)s, n, 0, &len);
	if (!c)
		return -1;
	out->data = c;
	out->len = len;
	return 0;
}

/* complex repr: "2j" when the real part is +0.0, else "(1+2j)", as complex_repr() writes it. */
static int complex_text(dec *d, pyci_mstr *out, const double *cx)
{
	char buf[96];
	size_t n = 0;
	if (cx[0] == 0 && !signbit(cx[0])) {
		n = float_repr(buf, cx[1], 0, 0);
		buf[n++] = 'j';
	} else {
		buf[n++] = '(';
		n += float_repr(buf + n, cx[0], 0, 0);
		n += float_repr(buf + n, cx[1], 0, 1);
		buf[n++] = 'j';
		buf[n++] = ')';
	}
	return text_const(d, out, buf, n);
}

static int int_text(dec *d, pyci_mstr *out, int64_t v)
{
	char buf[24];
	char *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return text_const(d, out, p, (size_t)(buf + sizeof(buf) - p));
}

/* The value of n 15-bit digits (little-endian pairs of bytes, least significant first) in
 * decimal, or in hex with 0x beyond LONG_DECIMAL_MAX_DIGITS, into txt (room for n * 5 + 4
 * bytes), NUL-terminated.  Decimal as CPython's long_to_decimal_string does it: the digits,
 * most significant first and two at a time (30 bits), are pushed into little-endian limbs of
 * base 10^9.  Returns the length, or SIZE_MAX when memory for the limbs ran out. */
static size_t digits_text(const uint8_t *digits, size_t n, int negative, char *txt)
{
	const int hex = n > LONG_DECIMAL_MAX_DIGITS;
	size_t j = 0;
	if (negative)
		txt[j++] = '-';
	if (hex) {
		txt[j++] = '0';
		txt[j++] = 'x';
		/* nibbles from the most significant end, leading zeros skipped */
		size_t bits = n * 15;
		int started = 0;
		for (size_t b = (bits + 3) / 4; b-- > 0;) {
			unsigned nib = 0;
			for (int k = 3; k >= 0; k--) {
				size_t bit = b * 4 + (size_t)k;
				if (bit >= bits)
					continue;
				const uint8_t *dg = digits + 2 * (bit / 15);
				unsigned v = (unsigned)dg[0] | (unsigned)dg[1] << 8;
				nib |= ((v >> (bit % 15)) & 1u) << k;
			}
			if (nib || started || b == 0) {
				txt[j++] = "0123456789abcdef"[nib];
				started = 1;
			}
		}
	} else {
		uint32_t *limb = malloc((n / 2 + 2) * sizeof(*limb));
		if (!limb)
			return SIZE_MAX;
		size_t size = 0;
		for (size_t i = n; i > 0;) {
			const uint8_t *dg = digits;
			uint64_t hi = (uint64_t)dg[2 * (i - 1)] | (uint64_t)dg[2 * (i - 1) + 1]
									  << 8;
			unsigned shift = 15;
			if (i % 2 == 0) { /* z < 10^9 * 2^30 < 2^60 */
				hi = hi << 15 | (uint64_t)dg[2 * (i - 2)] |
				     (uint64_t)dg[2 * (i - 2) + 1] << 8;
				shift = 30;
				i--;
			}
			i--;
			for (size_t k = 0; k < size; k++) {
				uint64_t z = (uint64_t)limb[k] << shift | hi;
				hi = z / 1000000000u;
				limb[k] = (uint32_t)(z - hi * 1000000000u);
			}
			while (hi) {
				limb[size++] = (uint32_t)(hi % 1000000000u);
				hi /= 1000000000u;
			}
		}
		if (size == 0)
			limb[size++] = 0;
		j += (size_t)snprintf(txt + j, 11, "%u", (unsigned)limb[size - 1]);
		for (size_t k = size - 1; k-- > 0;)
			j += (size_t)snprintf(txt + j, 10, "%09u", (unsigned)limb[k]);
		free(limb);
	}
	txt[j] = '\0';
	return j;
}

/* The value of a long as digits_text writes it, once per long. */
static int long_text(dec *d, pyci_mstr *out, mlong *L)
{
	if (!L->text) {
		/* decimal: 15 bits are at most 4.52 digits; hex: 3.75 nibbles */
		char *txt = arena_alloc(d, (size_t)L->n * 5 + 4);
		if (!txt)
			return -1;
		size_t j = digits_text(L->digits, L->n, L->negative, txt);
		if (j == SIZE_MAX)
			return fail(d, ENOMEM, "out of memory", d->pos);
		L->text = txt;
		L->textlen = j;
	}
	out->data = L->text;
	out->len = L->textlen;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Tuples as code object fields */

/* The single-value constants (pyci_mconst): what want_consts keeps of co_consts. */
static int is_const_kind(int kind)
{
	return kind >= V_NONE && kind <= V_BSTR && kind != V_STOPITER;
}

static seqmemo *memo_of(dec *d, mseq *s)
{
	if (!s->memo) {
		s->memo = arena_alloc(d, sizeof(seqmemo));
		if (s->memo)
			memset(s->memo, 0, sizeof(seqmemo));
	}
	return s->memo;
}

/* A tuple as a field may be: every tuple that reaches a field was read as one, or has a ref
 * slot, so its members were kept (keep_members()) and u.seq is set. */
static int is_tuple(const mval *v)
{
	return v->kind == V_SEQ && (v->type == '(' || v->type == ')') && v->u.seq;
}

/* The members of a tuple as strings of kind want, into *arr and *n, and how many past
 * PYCI_MARSHAL_MAX_ITEMS were left out into *elided (set only on success: a code object never
 * shows a count without its array).  Returns 0, 1 when the value is not a tuple of such
 * strings, -1 on error. */
static int tuple_strs(dec *d, const mval *v, int want, pyci_mstr **arr, size_t *n, size_t *elided)
{
	if (!is_tuple(v))
		return 1;
	mseq *s = v->u.seq;
	if (s->n == 0) {
		*arr = NULL;
		*n = 0;
		*elided = 0;
		return 0;
	}
	if (s->kinds != 1u << want)
		return 1;
	seqmemo *mm = memo_of(d, s);
	if (!mm)
		return -1;
	if (!mm->strs_done) {
		/* all members are strings: the first nkept were kept (keep_members) */
		pyci_mstr *a = arena_alloc(d, s->nkept * sizeof(*a));
		if (!a)
			return -1;
		for (uint32_t i = 0; i < s->nkept; i++) {
			a[i].data = s->items[i].u.s;
			a[i].len = s->items[i].len;
		}
		mm->strs = a;
		mm->strs_done = 1;
	}
	*arr = mm->strs;
	*n = s->nkept;
	*elided = s->n - s->nkept;
	return 0;
}

/* Split 3.11+ localsplusnames by their kinds: varnames (LOCAL), cellvars (CELL), freevars
 * (FREE), in localsplus order; a captured argument (LOCAL|CELL) is in both of the first two, as
 * CPython's co_varnames and co_cellvars report it.  Names past the ones kept are counted by
 * their kinds (*_elided). */
static int split_localsplus(dec *d, mseq *s, const char *kinds, pyci_mcode *c)
{
	static const uint8_t bits[3] = {KIND_LOCAL, KIND_CELL, KIND_FREE};
	pyci_mstr *names;
	size_t n, elided;
	mval tv = {.kind = V_SEQ, .type = '(', .u.seq = s};
	if (tuple_strs(d, &tv, V_TEXT, &names, &n, &elided) != 0)
		return -1; /* the names were checked when they arrived */
	pyci_mstr *lp[3] = {NULL, NULL, NULL};
	size_t nlp[3] = {0, 0, 0}, nel[3] = {0, 0, 0};
	if (n) {
		seqmemo *mm = memo_of(d, s);
		if (!mm)
			return -1;
		/* the same kinds object as last time (a reference): reuse.  Otherwise split again,
		 * and charge the scan to the budget like memory, so that references alternating
		 * between kinds objects cannot make the work outgrow the input either. */
		if (!(mm->lp_done && mm->kinds == kinds)) {
			if (charge(d, n + elided) != 0)
				return -1;
			for (size_t k = 0; k < 3; k++) {
				size_t cnt = 0, el = 0;
				for (size_t i = 0; i < n; i++)
					cnt += ((uint8_t)kinds[i] & bits[k]) != 0;
				for (size_t i = n; i < n + elided; i++)
					el += ((uint8_t)kinds[i] & bits[k]) != 0;
				mm->lp[k] = NULL;
				mm->nlp[k] = cnt;
				mm->nel[k] = el;
				if (!cnt)
					continue;
				mm->lp[k] = arena_alloc(d, cnt * sizeof(pyci_mstr));
				if (!mm->lp[k]) {
					mm->lp_done = 0;
					return -1;
				}
				for (size_t i = 0, j = 0; i < n; i++)
					if ((uint8_t)kinds[i] & bits[k])
						mm->lp[k][j++] = names[i];
			}
			mm->kinds = kinds;
			mm->lp_done = 1;
		}
		for (size_t k = 0; k < 3; k++) {
			lp[k] = mm->lp[k];
			nlp[k] = mm->nlp[k];
			nel[k] = mm->nel[k];
		}
	}
	c->varnames = lp[0];
	c->nvarnames = nlp[0];
	c->varnames_elided = nel[0];
	c->cellvars = lp[1];
	c->ncellvars = nlp[1];
	c->cellvars_elided = nel[1];
	c->freevars = lp[2];
	c->nfreevars = nlp[2];
	c->freevars_elided = nel[2];
	c->nlocals = nlp[0] + nel[0] > INT32_MAX ? INT32_MAX : (int32_t)(nlp[0] + nel[0]);
	return 0;
}

/* The constants of co_consts kept with want_consts (nested tuples, frozensets and code objects
 * are left out, and the ones past PYCI_MARSHAL_MAX_ITEMS counted in *elided), once per tuple. */
static int tuple_consts(dec *d, mseq *s, pyci_mconst **arr, size_t *n, size_t *elided)
{
	*arr = NULL;
	*n = 0;
	*elided = s->more;
	if (s->nkept == 0)
		return 0;
	seqmemo *mm = memo_of(d, s);
	if (!mm)
		return -1;
	if (!mm->consts_done) {
		/* with want_consts a tuple keeps constants only (accept): one for each */
		pyci_mconst *a = arena_alloc(d, s->nkept * sizeof(*a));
		if (!a)
			return -1;
		size_t j = 0;
		for (uint32_t i = 0; i < s->nkept; i++) {
			mval *v = &s->items[i];
			pyci_mconst kept, *c = &kept;
			int r = 0;
			switch (v->kind) {
			case V_NONE:
				*c = (pyci_mconst){'N', {"None", 4}};
				break;
			case V_TRUE:
				*c = (pyci_mconst){'T', {"True", 4}};
				break;
			case V_FALSE:
				*c = (pyci_mconst){'F', {"False", 5}};
				break;
			case V_ELLIPSIS:
				*c = (pyci_mconst){'.', {"Ellipsis", 8}};
				break;
			case V_INT:
				c->type = 'i';
				r = int_text(d, &c->text, v->u.i);
				break;
			case V_LONG:
				c->type = 'i';
				r = long_text(d, &c->text, v->u.lng);
				break;
			case V_FLOAT: {
				char buf[48];
				size_t len = float_repr(buf, v->u.f, 1, 0);
				c->type = 'f';
				r = text_const(d, &c->text, buf, len);
				break;
			}
			case V_COMPLEX:
				c->type = 'c';
				r = complex_text(d, &c->text, v->u.cx);
				break;
			case V_TEXT:
			case V_BSTR:
				c->type = v->kind == V_TEXT || d->py2 ? 's' : 'b';
				c->text.data = v->u.s;
				c->text.len = v->len;
				break;
			default:
				continue;
			}
			if (r != 0)
				return -1;
			a[j++] = kept;
		}
		mm->consts = a;
		mm->nconsts = j;
		mm->consts_done = 1;
	}
	*arr = mm->consts;
	*n = mm->nconsts;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The stack */

static int ref_append(dec *d, const mval *v)
{
	if (d->nrefs >= 0x7ffffffe)
		return fail(d, EINVAL, "bad marshal data (index list too large)", d->pos);
	if (grow(d, (void **)&d->refs, &d->caprefs, d->nrefs + 1, sizeof(mval)) != 0)
		return -1;
	d->refs[d->nrefs++] = *v;
	return 0;
}

/* Reserve the ref slot of a container when its type byte is read (pre-order, reference 6.2). */
static int ref_reserve(dec *d, int flag, int64_t *slot)
{
	*slot = -1;
	if (!flag)
		return 0;
	mval e;
	memset(&e, 0, sizeof(e));
	e.kind = V_EMPTY;
	if (ref_append(d, &e) != 0)
		return -1;
	*slot = (int64_t)d->nrefs - 1;
	return 0;
}

static frame *push_frame(dec *d, fkind kind, int type, size_t start, int64_t ref)
{
	if (grow(d, (void **)&d->frames, &d->capframes, d->nframes + 1, sizeof(frame)) != 0)
		return NULL;
	frame *f = &d->frames[d->nframes++];
	memset(f, 0, sizeof(*f));
	f->kind = (uint8_t)kind;
	f->type = (uint8_t)type;
	f->start = start;
	f->ref = ref;
	return f;
}

/* Read the i32 fields of the code object in frame fi up to its next object field.
 * Returns 1 when the layout is done, 0 when an object comes next, -1 on error. */
static int code_advance(dec *d, size_t fi)
{
	frame *f = &d->frames[fi];
	pyci_mcode *c = &d->codes[f->code];
	for (;;) {
		uint8_t s = d->steps[f->step];
		if (s == S_END)
			return 1;
		if (!IS_INT_STEP(s))
			return 0;
		int32_t v = 0;
		if (rd_i32(d, &v) != 0)
			return -1;
		switch (s) {
		case S_ARGCOUNT:
			c->argcount = v;
			break;
		case S_POSONLY:
			c->posonlyargcount = v;
			break;
		case S_KWONLY:
			c->kwonlyargcount = v;
			break;
		case S_NLOCALS:
			c->nlocals = v;
			break;
		case S_STACKSIZE:
			c->stacksize = v;
			break;
		case S_FLAGS:
			c->flags = v;
			break;
		default:
			c->firstlineno = v;
			break;
		}
		f->step++;
	}
}

static int start_code(dec *d, size_t start, int64_t ref)
{
	if (grow(d, (void **)&d->codes, &d->capcodes, d->ncodes + 1, sizeof(pyci_mcode)) != 0 ||
	    grow(d, (void **)&d->ci, &d->capci, d->ncodes + 1, sizeof(codeinfo)) != 0)
		return -1;
	size_t idx = d->ncodes++;
	pyci_mcode *c = &d->codes[idx];
	memset(c, 0, sizeof(*c));
	memset(&d->ci[idx], 0, sizeof(codeinfo));
	c->depth = d->cur == NO_CODE ? 0 : d->codes[d->cur].depth + 1;
	c->parent = d->cur;
	c->firstlineno = c->argcount = c->posonlyargcount = c->kwonlyargcount = -1;
	c->nlocals = c->stacksize = c->flags = -1;
	frame *f = push_frame(d, F_CODE, 'c', start, ref);
	if (!f)
		return -1;
	f->code = idx;
	f->outer = d->cur;
	d->cur = idx;
	return code_advance(d, d->nframes - 1) < 0 ? -1 : 0;
}

/* Store object field v (whose type byte is at vstart) of the code object in frame fi. */
static int code_field(dec *d, size_t fi, const mval *v, size_t vstart)
{
	frame *f = &d->frames[fi];
	pyci_mcode *c = &d->codes[f->code];
	codeinfo *ci = &d->ci[f->code];
	const int strkind = d->py2 ? V_BSTR : V_TEXT;
	int r = 0;
	switch (d->steps[f->step]) {
	case O_CODE:
		if (v->kind != V_BSTR)
			goto wrong;
		c->code_size = v->len;
		break;
	case O_CONSTS:
		if (!is_tuple(v))
			goto wrong;
		if (d->want_consts &&
		    tuple_consts(d, v->u.seq, &c->consts, &c->nconsts, &c->consts_elided) != 0)
			return -1;
		break;
	case O_NAMES:
		r = tuple_strs(d, v, strkind, &c->names, &c->nnames, &c->names_elided);
		break;
	case O_VARNAMES:
		r = tuple_strs(d, v, strkind, &c->varnames, &c->nvarnames, &c->varnames_elided);
		ci->vars[0] = r == 0 ? v->u.seq : NULL;
		break;
	case O_CELLVARS:
		r = tuple_strs(d, v, strkind, &c->cellvars, &c->ncellvars, &c->cellvars_elided);
		ci->vars[1] = r == 0 ? v->u.seq : NULL;
		break;
	case O_FREEVARS:
		r = tuple_strs(d, v, strkind, &c->freevars, &c->nfreevars, &c->freevars_elided);
		ci->vars[2] = r == 0 ? v->u.seq : NULL;
		break;
	case O_FILENAME:
	case O_NAME:
	case O_QUALNAME: {
		if (v->kind != strkind)
			goto wrong;
		pyci_mstr s = {v->u.s, v->len};
		if (d->steps[f->step] == O_FILENAME) {
			c->filename = s;
		} else if (d->steps[f->step] == O_NAME) {
			c->name = s;
		} else {
			c->qualname = s;
			c->qualname_stored = 1;
		}
		break;
	}
	case O_LNOTAB:
	case O_EXCTABLE:
		if (v->kind != V_BSTR)
			goto wrong;
		break;
	case O_LPNAMES: {
		pyci_mstr *a;
		size_t n, elided;
		r = tuple_strs(d, v, V_TEXT, &a, &n, &elided);
		if (r == 0)
			f->lpnames = v->u.seq;
		break;
	}
	case O_LPKINDS:
		if (v->kind != V_BSTR)
			goto wrong;
		if (v->len != f->lpnames->n)
			return fail(
				d, EINVAL,
				"bad marshal data (localsplusnames and localspluskinds differ in length)",
				vstart);
		return split_localsplus(d, f->lpnames, v->u.s, c);
	default:
		break;
	}
	if (r < 0)
		return -1;
	if (r > 0)
		goto wrong;
	return 0;
wrong:
	return fail(d, EINVAL, "bad marshal data (code object field of the wrong type)", vstart);
}

/* Read a long: i32 digit count (sign = sign of the value), then 15-bit digits.  want: keep
 * it (a value too large for V_INT then gets its mlong; else u.lng stays NULL). */
static int read_long(dec *d, size_t start, int want, mval *v)
{
	int32_t n = 0;
	if (rd_i32(d, &n) != 0)
		return -1;
	if (n == INT32_MIN)
		return fail(d, EINVAL, "bad marshal data (long size out of range)", start);
	uint32_t an = n < 0 ? (uint32_t)-n : (uint32_t)n;
	if ((uint64_t)an * 2 > remaining(d))
		return fail(d, EINVAL, "bad marshal data (size larger than the remaining data)",
			    start);
	const uint8_t *dg = d->p + d->pos;
	for (size_t i = 0; i < an; i++) {
		unsigned md = (unsigned)dg[2 * i] | (unsigned)dg[2 * i + 1] << 8;
		if (md >= 0x8000)
			return fail(d, EINVAL, "bad marshal data (digit out of range in long)",
				    start);
		if (md == 0 && i == an - 1)
			return fail(d, EINVAL, "bad marshal data (unnormalized long data)", start);
	}
	d->pos += (size_t)an * 2;
	if (an <= 4) {
		uint64_t u = 0;
		for (size_t i = an; i-- > 0;)
			u = u << 15 | ((uint64_t)dg[2 * i] | (uint64_t)dg[2 * i + 1] << 8);
		v->kind = V_INT;
		v->u.i = n < 0 ? -(int64_t)u : (int64_t)u;
		return 0;
	}
	v->kind = V_LONG;
	v->u.lng = NULL;
	if (!want)
		return 0;
	mlong *L = arena_alloc(d, sizeof(*L));
	if (!L)
		return -1;
	L->digits = dg;
	L->n = an;
	L->negative = n < 0;
	L->text = NULL;
	L->textlen = 0;
	v->kind = V_LONG;
	v->u.lng = L;
	return 0;
}

static int read_float_text(dec *d, size_t start, double *x)
{
	uint32_t n;
	if (rd_byte_size(d, start, &n) != 0)
		return -1;
	if (parse_float_text(d->p + d->pos, n, x) != 0)
		return fail(d, EINVAL, "bad marshal data (invalid float text)", start);
	d->pos += n;
	return 0;
}

/* A string of n bytes at the current position.  kind V_TEXT (utf8: check UTF-8; latin1: widen)
 * or V_BSTR.  Copied only when wanted (see wanted()) and of a kind that may be looked at: text
 * (a name), py2 str (a name), py3 bytes only as a constant. */
static int read_str(dec *d, size_t start, uint32_t n, int kind, int utf8, int latin1, int want,
		    mval *v)
{
	const uint8_t *src = d->p + d->pos;
	if (utf8 && !utf8_ok(src, n))
		return fail(d, EINVAL, "bad marshal data (invalid UTF-8 in str)", start);
	d->pos += n;
	v->kind = (uint8_t)kind;
	if (!want || (kind == V_BSTR && !d->py2 && !d->want_consts)) {
		v->u.s = (const char *)src;
		v->len = n;
		return 0;
	}
	size_t len;
	char *s = copy_bytes(d, src, n, latin1, &len);
	if (!s)
		return -1;
	v->u.s = s;
	v->len = (uint32_t)len;
	return 0;
}

/* The step of the code object whose field comes next, or S_END when the innermost container
 * is not a code object. */
static uint8_t field_step(const dec *d)
{
	if (d->nframes == 0 || d->frames[d->nframes - 1].kind != F_CODE)
		return S_END;
	return d->steps[d->frames[d->nframes - 1].step];
}

/*
 * Whether the object about to be read (flag: it has FLAG_REF; container: a tuple, list or set)
 * may be looked at again, and so must be kept whole (strings copied, longs and complexes
 * allocated, a sequence's own record): a reference may name it; it is a code object field that
 * is more than a type and a length (not co_code, the line and exception tables,
 * localspluskinds); or, not a container, the innermost sequence keeps its members and has room
 * for one more (a sequence keeps no containers).  Everything else is only read and checked.
 */
static int wanted(const dec *d, int flag, int container)
{
	if (flag)
		return 1;
	switch (field_step(d)) {
	case O_CONSTS:
	case O_NAMES:
	case O_VARNAMES:
	case O_FREEVARS:
	case O_CELLVARS:
	case O_FILENAME:
	case O_NAME:
	case O_QUALNAME:
	case O_LPNAMES:
		return 1;
	default:
		break;
	}
	if (d->nframes == 0 || container)
		return 0;
	const frame *f = &d->frames[d->nframes - 1];
	return f->kind == F_SEQ && f->keep && f->nkept < PYCI_MARSHAL_MAX_ITEMS;
}

/* Whether a sequence of this type (flag: with a ref slot) may become a code object field and so
 * keeps its members: a tuple read as co_consts (with want_consts) or as names, or one that a
 * reference may name later as anything. */
static int keep_members(const dec *d, int type, int flag)
{
	if (type != '(' && type != ')')
		return 0;
	if (flag)
		return 1;
	switch (field_step(d)) {
	case O_CONSTS:
		return d->want_consts;
	case O_NAMES:
	case O_VARNAMES:
	case O_FREEVARS:
	case O_CELLVARS:
	case O_LPNAMES:
		return 1;
	default:
		return 0;
	}
}

/*
 * One object's type byte and what follows it up to its members, read the same way by both
 * readers (read_one for the code objects, tread for the whole tree): the checks on the byte
 * (a code the version knows, FLAG_REF only from version 3, the depth), the scalars' values,
 * where a string's bytes start and how to take them, a container's size.  A long's digits, a
 * string's bytes and a container's members are left at d->pos for the reader, which keeps them
 * its own way.
 */
typedef enum {
	X_SINGLE,  /* '0' and the singletons: single is the index in SINGLES */
	X_INT,     /* 'i', 'I': i */
	X_LONG,    /* 'l': the count and digits at d->pos (read_long) */
	X_FLOAT,   /* 'g', 'f': re */
	X_COMPLEX, /* 'y', 'x': re, im */
	X_STR,     /* n bytes at d->pos: text (str) or not (bytes), utf8 checked, latin1 widened;
		    * interned: py2 't', appended to the list 'R' indexes */
	X_IREF,    /* 'R': i */
	X_REF,     /* 'r': i */
	X_SEQ,     /* tuple, list, set, frozenset: n members */
	X_DICT,    /* dict, frozendict (pairs up to a NULL), slice (three members) */
	X_CODE,
} xclass;

/* TYPE_NULL, then the singletons in the order of V_NONE.. and PYCI_MV_NONE.. */
static const char SINGLES[] = "0NTF.S";

typedef struct lexeme {
	xclass cls;
	int type, flag;
	size_t start; /* offset of the type byte */
	int single;
	int64_t i;
	double re, im;
	uint32_t n;
	uint8_t text, utf8, latin1, interned;
} lexeme;

/* Read the object's head at d->pos into *x (depth: containers open around it).  0, or -1
 * with the error set. */
static int lex(dec *d, size_t depth, lexeme *x)
{
	size_t start = d->pos;
	memset(x, 0, sizeof(*x));
	x->start = start;
	if (start >= d->len)
		return fail(d, EINVAL, "EOF read where object expected", start);
	uint8_t byte = d->p[start];
	int flag = byte & FLAG_REF, type = byte & 0x7F;
	int minv = min_version(type, d->py2);
	if (minv < 0 || minv > d->version || (flag && d->version < 3))
		return fail(d, EINVAL, "bad marshal data (unknown type code)", start);
	if (depth >= PYCI_MARSHAL_MAX_DEPTH)
		return fail(d, E2BIG, "too deep: objects nested over 2000 levels", start);
	d->pos++;
	d->out->type_counts[type]++;
	x->type = type;
	x->flag = flag;
	int32_t i32 = 0;
	switch (type) {
	case '0':
	case 'N':
	case 'T':
	case 'F':
	case '.':
	case 'S':
		x->cls = X_SINGLE;
		x->single = (int)(strchr(SINGLES, type) - SINGLES);
		return 0;
	case 'i':
		if (rd_i32(d, &i32) != 0)
			return -1;
		x->cls = X_INT;
		x->i = i32;
		return 0;
	case 'I': {
		if (remaining(d) < 8)
			return fail(d, EINVAL, "marshal data too short", d->pos);
		uint64_t u = le_u64(d->p + d->pos);
		d->pos += 8;
		x->cls = X_INT;
		x->i = u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
		return 0;
	}
	case 'l':
		x->cls = X_LONG;
		return 0;
	case 'g':
		if (remaining(d) < 8)
			return fail(d, EINVAL, "marshal data too short", d->pos);
		x->cls = X_FLOAT;
		x->re = le_double(d->p + d->pos);
		d->pos += 8;
		return 0;
	case 'f':
		x->cls = X_FLOAT;
		return read_float_text(d, start, &x->re);
	case 'y':
		if (remaining(d) < 16)
			return fail(d, EINVAL, "marshal data too short", d->pos);
		x->cls = X_COMPLEX;
		x->re = le_double(d->p + d->pos);
		x->im = le_double(d->p + d->pos + 8);
		d->pos += 16;
		return 0;
	case 'x':
		x->cls = X_COMPLEX;
		if (read_float_text(d, start, &x->re) != 0 ||
		    read_float_text(d, start, &x->im) != 0)
			return -1;
		return 0;
	case 's': /* py3 bytes, py2 str */
	case 't': /* py3 str (interned), py2 str appended to the interned list */
	case 'u':
		x->cls = X_STR;
		x->text = type != 's' && !(type == 't' && d->py2);
		x->utf8 = x->text;
		x->interned = type == 't' && d->py2;
		return rd_size(d, start, 1, &x->n);
	case 'a':
	case 'A':
	case 'z':
	case 'Z':
		/* read as latin-1, like PyUnicode_FromKindAndData(1BYTE_KIND) */
		x->cls = X_STR;
		x->text = 1;
		x->latin1 = 1;
		return type == 'a' || type == 'A' ? rd_size(d, start, 1, &x->n)
						  : rd_byte_size(d, start, &x->n);
	case 'R':
	case 'r':
		if (rd_i32(d, &i32) != 0)
			return -1;
		x->cls = type == 'R' ? X_IREF : X_REF;
		x->i = i32;
		return 0;
	case '(':
	case '[':
	case '<':
	case '>':
	case ')':
		x->cls = X_SEQ;
		return type == ')' ? rd_byte_size(d, start, &x->n) : rd_size(d, start, 1, &x->n);
	case '{':
	case '}':
	case ':':
		x->cls = X_DICT;
		return 0;
	case 'c':
		x->cls = X_CODE;
		return 0;
	default:
		return fail(d, EINVAL, "bad marshal data (unknown type code)", start);
	}
}

/* Read the object at d->pos.  Returns 1 with *v complete, 0 when it opened a container (a frame
 * was pushed), -1 on error. */
static int read_one(dec *d, mval *v, size_t *vstart)
{
	lexeme x;
	*vstart = d->pos;
	memset(v, 0, sizeof(*v));
	if (lex(d, d->nframes, &x) != 0)
		return -1;
	size_t start = x.start;
	int flag = x.flag, type = x.type;
	v->type = (uint8_t)type;
	const int want = wanted(d, flag, 0);

	int64_t slot;
	switch (x.cls) {
	case X_SINGLE: /* no ref slot even with FLAG_REF, as in CPython */
		v->kind = (uint8_t)(V_NULL + x.single);
		return 1;
	case X_INT:
		v->kind = V_INT;
		v->u.i = x.i;
		break;
	case X_LONG:
		if (read_long(d, start, want, v) != 0)
			return -1;
		break;
	case X_FLOAT:
		v->kind = V_FLOAT;
		v->u.f = x.re;
		break;
	case X_COMPLEX: {
		v->kind = V_COMPLEX;
		if (!want)
			break;
		double *cx = arena_alloc(d, 2 * sizeof(double));
		if (!cx)
			return -1;
		cx[0] = x.re;
		cx[1] = x.im;
		v->u.cx = cx;
		break;
	}
	case X_STR:
		if (read_str(d, start, x.n, x.text ? V_TEXT : V_BSTR, x.utf8, x.latin1,
			     want || x.interned, v) != 0)
			return -1;
		if (x.interned) {
			if (grow(d, (void **)&d->interned, &d->capinterned, d->ninterned + 1,
				 sizeof(mval)) != 0)
				return -1;
			d->interned[d->ninterned++] = *v;
		}
		break;
	case X_IREF:
		if (x.i < 0 || (size_t)x.i >= d->ninterned)
			return fail(d, EINVAL, "bad marshal data (string ref out of range)", start);
		*v = d->interned[x.i];
		return 1;
	case X_REF:
		if (x.i < 0 || (size_t)x.i >= d->nrefs || d->refs[x.i].kind == V_EMPTY)
			return fail(d, EINVAL, "bad marshal data (invalid reference)", start);
		*v = d->refs[x.i];
		return 1;
	case X_SEQ:
		if (ref_reserve(d, flag, &slot) != 0)
			return -1;
		if (x.n == 0) {
			v->kind = V_SEQ;
			v->u.seq = d->empty;
			if (slot >= 0)
				d->refs[slot] = *v;
			return 1;
		} else {
			int keep = keep_members(d, type, flag), need = wanted(d, flag, 1);
			frame *f = push_frame(d, F_SEQ, type, start, slot);
			if (!f)
				return -1;
			f->n = x.n;
			f->vbase = d->nv;
			f->keep = (uint8_t)keep;
			f->need = (uint8_t)need;
		}
		return 0;
	case X_DICT:
		/* contents not kept; a frozendict's slot is filled like the others (CPython main
		 * reserves it and never fills it, gh-155315: a reference to it fails there) */
		if (ref_reserve(d, flag, &slot) != 0)
			return -1;
		{
			frame *f = push_frame(d, type == ':' ? F_SKIP : F_DICT, type, start, slot);
			if (!f)
				return -1;
			f->n = 3;
		}
		return 0;
	case X_CODE:
		if (ref_reserve(d, flag, &slot) != 0 || start_code(d, start, slot) != 0)
			return -1;
		return 0;
	}
	if (flag && ref_append(d, v) != 0)
		return -1;
	return 1;
}

/* Hand the finished object v (type byte at *vstart) to the innermost open container.
 * Returns 1 when that container is finished too (*v, *vstart are then the container), 0 when it
 * wants more, -1 on error. */
static int accept(dec *d, mval *v, size_t *vstart)
{
	size_t fi = d->nframes - 1;
	frame *f = &d->frames[fi];
	if (v->kind == V_NULL && f->kind != F_DICT)
		return fail(d, EINVAL, "bad marshal data (NULL object)", *vstart);
	switch (f->kind) {
	case F_SEQ: {
		f->kinds |= 1u << v->kind;
		if (f->keep) {
			int str = v->kind == V_TEXT || v->kind == V_BSTR;
			if (!str && !d->want_consts) {
				/* not a tuple of names, and nothing else of it is wanted */
				f->keep = 0;
				f->nkept = 0;
				d->nv = f->vbase;
			} else if (str || is_const_kind(v->kind)) {
				if (f->nkept >= PYCI_MARSHAL_MAX_ITEMS) {
					f->more++;
				} else {
					if (grow(d, (void **)&d->vstack, &d->capv, d->nv + 1,
						 sizeof(mval)) != 0)
						return -1;
					d->vstack[d->nv++] = *v;
					f->nkept++;
				}
			}
		}
		if (++f->i < f->n)
			return 0;
		mseq *s = NULL;
		if (f->need) {
			s = arena_alloc(d, sizeof(*s));
			mval *items = s ? arena_alloc(d, (size_t)f->nkept * sizeof(mval)) : NULL;
			if (!items)
				return -1;
			if (f->nkept)
				memcpy(items, d->vstack + f->vbase,
				       (size_t)f->nkept * sizeof(mval));
			s->n = f->n;
			s->nkept = f->nkept;
			s->kinds = f->kinds;
			s->more = f->more;
			s->items = items;
			s->memo = NULL;
		}
		d->nv = f->vbase;
		memset(v, 0, sizeof(*v));
		v->kind = V_SEQ;
		v->type = f->type;
		v->u.seq = s;
		break;
	}
	case F_DICT:
		/* pairs until a NULL key; like CPython, a NULL value ends the dict too */
		if (v->kind != V_NULL) {
			f->step ^= 1;
			return 0;
		}
		memset(v, 0, sizeof(*v));
		v->kind = V_OTHER;
		v->type = f->type;
		break;
	case F_SKIP:
		if (++f->i < f->n)
			return 0;
		memset(v, 0, sizeof(*v));
		v->kind = V_OTHER;
		v->type = f->type;
		break;
	default: {
		if (code_field(d, fi, v, *vstart) != 0)
			return -1;
		f = &d->frames[fi];
		f->step++;
		int r = code_advance(d, fi);
		if (r <= 0)
			return r;
		f = &d->frames[fi];
		d->ci[f->code].complete = 1;
		d->cur = f->outer;
		memset(v, 0, sizeof(*v));
		v->kind = V_CODE;
		v->type = 'c';
		v->u.code = f->code;
		break;
	}
	}
	*vstart = f->start;
	if (f->ref >= 0)
		d->refs[f->ref] = *v;
	d->nframes--;
	return 1;
}

/*
 * A run of None, True, False, Ellipsis or StopIteration in a sequence that keeps none of them:
 * what read_one and accept would do for each (count its type and its kind), in one loop, so
 * that a tuple of 200 million None takes a fraction of a second.  The last member is left to
 * them, which close the sequence; so is anything else, and so is every byte read_one would
 * refuse (too deep, FLAG_REF before marshal version 3).
 */
static void skip_singletons(dec *d)
{
	if (d->nframes == 0 || d->nframes >= PYCI_MARSHAL_MAX_DEPTH)
		return;
	frame *f = &d->frames[d->nframes - 1];
	if (f->kind != F_SEQ ||
	    (f->keep && !(d->want_consts && f->nkept >= PYCI_MARSHAL_MAX_ITEMS)))
		return;
	const uint8_t *p = d->p;
	size_t pos = d->pos;
	uint32_t i = f->i;
	while (i + 1 < f->n && pos < d->len) {
		uint8_t byte = p[pos];
		int kind;
		if ((byte & FLAG_REF) && d->version < 3)
			break;
		switch (byte & 0x7F) {
		case 'N':
			kind = V_NONE;
			break;
		case 'T':
			kind = V_TRUE;
			break;
		case 'F':
			kind = V_FALSE;
			break;
		case '.':
			kind = V_ELLIPSIS;
			break;
		case 'S':
			kind = V_STOPITER;
			break;
		default:
			goto out;
		}
		/* the same byte again: counted at once */
		size_t same = 1, most = (size_t)(f->n - 1 - i);
		if (most > d->len - pos)
			most = d->len - pos;
		while (same < most && p[pos + same] == byte)
			same++;
		d->out->type_counts[byte & 0x7F] += same;
		f->kinds |= 1u << kind;
		if (f->keep && is_const_kind(kind)) /* past the kept ones (see accept) */
			f->more += (uint32_t)same;
		pos += same;
		i += (uint32_t)same;
	}
out:
	d->pos = pos;
	f->i = i;
}

static int run(dec *d)
{
	mval v;
	size_t vstart;
	for (;;) {
		skip_singletons(d);
		int r = read_one(d, &v, &vstart);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		for (;;) {
			if (d->nframes == 0)
				return 0;
			r = accept(d, &v, &vstart);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Qualnames before 3.11 */

static int mstr_eq(const pyci_mstr *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->data && s->len == n && memcmp(s->data, lit, n) == 0;
}

static int is_comprehension(const pyci_mstr *name)
{
	return mstr_eq(name, "<listcomp>") || mstr_eq(name, "<setcomp>") ||
	       mstr_eq(name, "<dictcomp>") || mstr_eq(name, "<genexpr>");
}

static int cmp_mstr(const void *a, const void *b)
{
	const pyci_mstr *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->len ? memcmp(x->data, y->data, x->len) : 0;
}

/* A name made of up to three pieces, compared against sorted (len, bytes) strings. */
typedef struct pieces {
	const char *p[3];
	size_t n[3];
	size_t len;
} pieces;

static int cmp_pieces(const pieces *k, const pyci_mstr *s)
{
	if (k->len != s->len)
		return k->len < s->len ? -1 : 1;
	size_t off = 0;
	for (int i = 0; i < 3; i++) {
		if (!k->n[i])
			continue;
		int c = memcmp(k->p[i], s->data + off, k->n[i]);
		if (c)
			return c;
		off += k->n[i];
	}
	return 0;
}

/* *found: 1 when the names of s hold k, 0 when not, -1 when s left names out (elided), so
 * that it cannot tell. */
static int seq_contains(dec *d, mseq *s, const pieces *k, int *found)
{
	*found = 0;
	if (!s || s->n == 0)
		return 0;
	if (s->nkept != s->n) {
		*found = -1;
		return 0;
	}
	seqmemo *mm = s->memo; /* the strings were made when the tuple became a field */
	if (!mm || !mm->strs_done)
		return 0;
	if (!mm->sorted_done) {
		pyci_mstr *a = arena_alloc(d, s->n * sizeof(*a));
		if (!a)
			return -1;
		memcpy(a, mm->strs, s->n * sizeof(*a));
		qsort(a, s->n, sizeof(*a), cmp_mstr);
		mm->sorted = a;
		mm->sorted_done = 1;
	}
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_pieces(k, &mm->sorted[mid]);
		if (c == 0) {
			*found = 1;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

static int is_function(const pyci_mcode *c)
{
	return c->flags != -1 && (c->flags & CO_OPTIMIZED);
}

/* The class name CPython mangles private names with inside code object i: the nearest class
 * body among i and its ancestors (the compiler's u_private), or NULL. */
static const pyci_mstr *private_name(const dec *d, size_t i)
{
	while (i != NO_CODE && d->codes[i].depth > 0) {
		if (!is_function(&d->codes[i]))
			return &d->codes[i].name;
		i = d->codes[i].parent;
	}
	return NULL;
}

/* _Py_Mangle: "__x" inside class "_C" is "_C__x"; not dunder names, dotted names, or when the
 * class name is all underscores. */
static void mangle(const pyci_mstr *priv, const pyci_mstr *name, pieces *k)
{
	memset(k, 0, sizeof(*k));
	k->p[0] = name->data;
	k->n[0] = k->len = name->len;
	if (!priv || !priv->data || name->len < 2 || name->data[0] != '_' || name->data[1] != '_')
		return;
	if ((name->data[name->len - 1] == '_' && name->data[name->len - 2] == '_') ||
	    memchr(name->data, '.', name->len))
		return;
	size_t skip = 0;
	while (skip < priv->len && priv->data[skip] == '_')
		skip++;
	if (skip == priv->len)
		return;
	k->p[0] = "_";
	k->n[0] = 1;
	k->p[1] = priv->data + skip;
	k->n[1] = priv->len - skip;
	k->p[2] = name->data;
	k->n[2] = name->len;
	k->len = 1 + k->n[1] + name->len;
}

/*
 * CPython 3's compiler_set_qualname, on the finished tree (3.11+ stores co_qualname instead):
 *   - depth 0 and 1: the name;
 *   - a function or class (not a lambda or comprehension) whose parent is a function and which
 *     is not a local, cell or free variable of that parent was declared global there: the name;
 *   - otherwise the parent's qualname, ".<locals>" when the parent is a function or lambda (not
 *     a comprehension), ".", the name.
 * A function is a code object with CO_OPTIMIZED; anything else below the top is a class body.
 * Limits: a def/class declared global in a class body gets "C.f" (CPython: "f"); in 2.x a
 * function with a bare exec or import * lacks CO_OPTIMIZED and counts as a class.  Only complete
 * code objects below complete parents get one.
 */
static int derive_qualnames(dec *d)
{
	for (size_t i = 0; i < d->ncodes; i++) {
		pyci_mcode *c = &d->codes[i];
		if (c->qualname_stored || !d->ci[i].complete)
			continue;
		if (c->depth <= 1) {
			c->qualname = c->name;
			continue;
		}
		size_t pi = c->parent;
		const pyci_mcode *p = &d->codes[pi];
		if (!d->ci[pi].complete || !p->qualname.data)
			continue;
		int pfunc = is_function(p);
		if (pfunc && !is_comprehension(&c->name) && !mstr_eq(&c->name, "<lambda>")) {
			pieces k;
			int found = 0;
			mangle(private_name(d, pi), &c->name, &k);
			for (int v = 0; v < 3 && !found; v++)
				if (seq_contains(d, d->ci[pi].vars[v], &k, &found) != 0)
					return -1;
			if (found < 0)
				continue; /* among the names left out, or not: no qualname */
			if (!found) {
				c->qualname = c->name;
				continue;
			}
		}
		const char *locals = pfunc && !is_comprehension(&p->name) ? ".<locals>" : "";
		size_t ll = strlen(locals);
		size_t len = p->qualname.len + ll + 1 + c->name.len;
		char *q = arena_alloc(d, len + 1);
		if (!q)
			return -1;
		memcpy(q, p->qualname.data, p->qualname.len);
		memcpy(q + p->qualname.len, locals, ll);
		q[p->qualname.len + ll] = '.';
		memcpy(q + p->qualname.len + ll + 1, c->name.data, c->name.len);
		q[len] = '\0';
		c->qualname.data = q;
		c->qualname.len = len;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points */

size_t pyci_marshal_bound(size_t len)
{
	if (len > (PYCI_MARSHAL_MAX_MEMORY - BUDGET_FIXED) / BUDGET_PER_BYTE)
		return PYCI_MARSHAL_MAX_MEMORY;
	return len * BUDGET_PER_BYTE + BUDGET_FIXED;
}

int pyci_marshal_supported(const pyci_magic_info *m)
{
	const char *why = "";
	return m && code_layout(m, &why) != L_NONE;
}

int pyci_marshal_decode(const uint8_t *body, size_t len, const pyci_magic_info *m, int want_consts,
			pyci_marshal *out)
{
	memset(out, 0, sizeof(*out));
	dec d;
	memset(&d, 0, sizeof(d));
	d.p = body;
	d.len = body ? len : 0;
	d.out = out;
	d.cur = NO_CODE;
	d.want_consts = want_consts != 0;
	d.budget = pyci_marshal_bound(d.len);

	/* the first allocation: how pyci_marshal_free finds the rest */
	owned *pv = arena_alloc(&d, sizeof(owned));
	d.empty = pv ? arena_alloc(&d, sizeof(mseq)) : NULL;
	if (!d.empty)
		goto done;
	memset(d.empty, 0, sizeof(mseq));
	if (!m) {
		fail(&d, ENOTSUP, "unsupported code layout: unknown Python version", 0);
		goto done;
	}
	out->version = marshal_version(m);
	d.version = out->version;
	d.py2 = m->major < 3;
	const char *why = "";
	switch (code_layout(m, &why)) {
	case L_PY2:
		d.steps = steps_py2;
		break;
	case L_PY30:
		d.steps = steps_py30;
		break;
	case L_PY38:
		d.steps = steps_py38;
		break;
	case L_PY311:
		d.steps = steps_py311;
		break;
	default:
		fail(&d, ENOTSUP, why, 0);
		goto done;
	}
	if (d.len == 0) {
		fail(&d, EINVAL, "EOF read where object expected", 0);
		goto done;
	}
	if ((d.p[0] & 0x7F) != 'c') {
		fail(&d, EINVAL, "bad marshal data (the body is not a code object)", 0);
		goto done;
	}
	if (run(&d) == 0)
		out->consumed = d.pos;
	if (d.steps != steps_py311 && derive_qualnames(&d) != 0)
		out->consumed = 0;

done:
	free(d.frames);
	free(d.vstack);
	free(d.refs);
	free(d.interned);
	free(d.ci);
	out->codes = d.codes;
	out->ncodes = d.ncodes;
	if (pv) {
		pv->chunks = d.chunks;
		pv->codes = d.codes;
		out->priv_ = pv;
	} else {
		free(d.codes); /* nothing was allocated before pv */
		out->codes = NULL;
		out->ncodes = 0;
	}
	return out->error ? -1 : 0;
}

void pyci_marshal_free(pyci_marshal *out)
{
	owned *pv = out->priv_;
	if (pv) {
		free(pv->codes);
		chunk *c = pv->chunks;
		while (c) {
			chunk *next = c->next;
			free(c);
			c = next;
		}
	}
	out->priv_ = NULL;
	out->codes = NULL;
	out->ncodes = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The whole value tree (pyci_mtree)
 *
 * A second reader over the same primitives (rd_*, utf8_ok, parse_float_text, read_long, the
 * layouts, the budget), for callers that need every value: verify compares two bodies node by
 * node.  Each object becomes a node when it is complete, so members are numbered before their
 * containers; a container's members wait on a stack (pend) until it is complete, then move to
 * kids[] in one piece.  References are the node they name, so the tree is a DAG no larger than
 * the input; a reference to a container not yet complete is refused as by the first reader
 * (a slot not filled), so there are no cycles. */

#define NO_NODE UINT32_MAX
#define TNULL (UINT32_MAX - 1) /* TYPE_NULL: ends a dict, not a value */
#define MTREE_PER_BYTE 40u

typedef struct tframe {
	uint8_t kind; /* pyci_mvkind of the node it makes */
	uint8_t type;
	uint8_t step;  /* CODE: index in the layout; DICT: 1 when a value comes next */
	int64_t ref;   /* reserved ref slot, or -1 */
	uint32_t n, i; /* members expected (not DICT), read */
	size_t pbase;  /* its first member on the pending stack */
} tframe;

typedef struct tdec {
	dec d;            /* input, layout, budget and arena; fail() writes into err */
	pyci_marshal err; /* only the error fields are used */
	pyci_mnode *nodes;
	size_t nnodes, capnodes;
	uint32_t *kids;
	size_t nkids, capkids;
	uint32_t *pend;
	size_t npend, cappend;
	tframe *tf;
	size_t ntf, captf;
	uint32_t *refs;
	size_t nrefs, caprefs;
	uint32_t *interned; /* py2 't' strings, for 'R' */
	size_t ninterned, capinterned;
	uint32_t single[PYCI_MV_STOPITER + 1];
} tdec;

size_t pyci_mtree_bound(size_t len)
{
	if (len > (PYCI_MTREE_MAX_MEMORY - BUDGET_FIXED) / MTREE_PER_BYTE)
		return PYCI_MTREE_MAX_MEMORY;
	return len * MTREE_PER_BYTE + BUDGET_FIXED;
}

static int tnode(tdec *t, const pyci_mnode *n, uint32_t *idx)
{
	if (t->nnodes >= TNULL)
		return fail(&t->d, ENOMEM, "too many objects", t->d.pos);
	if (grow(&t->d, (void **)&t->nodes, &t->capnodes, t->nnodes + 1, sizeof(pyci_mnode)) != 0)
		return -1;
	t->nodes[t->nnodes] = *n;
	*idx = (uint32_t)t->nnodes++;
	return 0;
}

static int tpush(tdec *t, uint32_t **arr, size_t *n, size_t *cap, uint32_t v)
{
	if (grow(&t->d, (void **)arr, cap, *n + 1, sizeof(uint32_t)) != 0)
		return -1;
	(*arr)[(*n)++] = v;
	return 0;
}

static int tref_append(tdec *t, uint32_t v, int64_t *slot)
{
	if (t->nrefs >= 0x7ffffffe)
		return fail(&t->d, EINVAL, "bad marshal data (index list too large)", t->d.pos);
	if (slot)
		*slot = (int64_t)t->nrefs;
	return tpush(t, &t->refs, &t->nrefs, &t->caprefs, v);
}

/* None, True, False, Ellipsis, StopIteration: one node each. */
static int tsingle(tdec *t, int kind, int type, uint32_t *v)
{
	if (t->single[kind] == NO_NODE) {
		pyci_mnode n = {.kind = (uint8_t)kind, .type = (uint8_t)type};
		if (tnode(t, &n, &t->single[kind]) != 0)
			return -1;
	}
	*v = t->single[kind];
	return 1;
}

/* An int read by read_long (count at p0), as INT/LONG: in u.i when it fits in 64 bits. */
static void tlong(tdec *t, size_t p0, const mval *mv, pyci_mnode *n)
{
	n->kind = t->d.py2 ? PYCI_MV_LONG : PYCI_MV_INT;
	if (mv->kind == V_INT) {
		n->u.i = mv->u.i;
		return;
	}
	const uint8_t *dg = t->d.p + p0 + 4;
	uint32_t cnt = (uint32_t)((t->d.pos - p0 - 4) / 2);
	int neg = le_i32(t->d.p + p0) < 0;
	if (cnt == 5 && ((unsigned)dg[8] | (unsigned)dg[9] << 8) < 16) { /* below 2^64 */
		uint64_t u = 0;
		for (size_t i = cnt; i-- > 0;)
			u = u << 15 | ((uint64_t)dg[2 * i] | (uint64_t)dg[2 * i + 1] << 8);
		if (u <= (uint64_t)INT64_MAX) {
			n->u.i = neg ? -(int64_t)u : (int64_t)u;
			return;
		}
		if (neg && u == (uint64_t)INT64_MAX + 1) {
			n->u.i = INT64_MIN;
			return;
		}
	}
	n->negative = (uint8_t)neg;
	n->n = cnt;
	n->u.s = (const char *)dg;
}

static int tfloat(tdec *t, double x, uint32_t *idx)
{
	pyci_mnode n = {.kind = PYCI_MV_FLOAT, .type = 'g', .u.f = x};
	return tnode(t, &n, idx);
}

/* A string of len bytes at the current position: STR (utf8: checked; latin1: widened) or
 * BYTES, pointing into the body unless it had to be widened. */
static int tstr(tdec *t, size_t start, uint32_t len, int kind, int utf8, int latin1, pyci_mnode *n)
{
	dec *d = &t->d;
	const uint8_t *src = d->p + d->pos;
	if (utf8 && !utf8_ok(src, len))
		return fail(d, EINVAL, "bad marshal data (invalid UTF-8 in str)", start);
	d->pos += len;
	n->kind = (uint8_t)kind;
	n->n = len;
	n->u.s = (const char *)src;
	int wide = 0;
	for (uint32_t i = 0; latin1 && i < len && !wide; i++)
		wide = src[i] >= 0x80;
	if (wide) {
		size_t outlen;
		char *s = copy_bytes(d, src, len, 1, &outlen);
		if (!s)
			return -1;
		n->u.s = s;
		n->n = (uint32_t)outlen;
	}
	return 0;
}

static int tframe_push(tdec *t, int kind, int type, int64_t ref, uint32_t n)
{
	if (grow(&t->d, (void **)&t->tf, &t->captf, t->ntf + 1, sizeof(tframe)) != 0)
		return -1;
	tframe *f = &t->tf[t->ntf++];
	memset(f, 0, sizeof(*f));
	f->kind = (uint8_t)kind;
	f->type = (uint8_t)type;
	f->ref = ref;
	f->n = n;
	f->pbase = t->npend;
	return 0;
}

/* The integer fields of the innermost code object up to its next object field: INT nodes of
 * type 0.  1 when the layout is done, 0 when an object comes next, -1 on error. */
static int tcode_advance(tdec *t)
{
	tframe *f = &t->tf[t->ntf - 1];
	for (;;) {
		uint8_t s = t->d.steps[f->step];
		if (s == S_END)
			return 1;
		if (!IS_INT_STEP(s))
			return 0;
		int32_t v;
		uint32_t idx;
		if (rd_i32(&t->d, &v) != 0)
			return -1;
		pyci_mnode n = {.kind = PYCI_MV_INT, .type = 0, .u.i = v};
		if (tnode(t, &n, &idx) != 0 || tpush(t, &t->pend, &t->npend, &t->cappend, idx) != 0)
			return -1;
		f->step++;
	}
}

static int tref_reserve(tdec *t, int flag, int64_t *slot)
{
	*slot = -1;
	return flag ? tref_append(t, NO_NODE, slot) : 0;
}

/* Read the object at the current position.  1 with *v complete (a node, or TNULL), 0 when a
 * container was opened, -1 on error. */
static int tread(tdec *t, uint32_t *v)
{
	dec *d = &t->d;
	lexeme x;
	if (lex(d, t->ntf, &x) != 0)
		return -1;
	size_t start = x.start;
	int flag = x.flag, type = x.type;
	pyci_mnode n;
	memset(&n, 0, sizeof(n));
	n.type = (uint8_t)type;
	int64_t slot;
	switch (x.cls) {
	case X_SINGLE:
		if (x.single == 0) {
			*v = TNULL;
			return 1;
		}
		return tsingle(t, PYCI_MV_NONE + x.single - 1, type, v);
	case X_INT:
		n.kind = PYCI_MV_INT;
		n.u.i = x.i;
		break;
	case X_LONG: {
		size_t p0 = d->pos;
		mval mv;
		if (read_long(d, start, 0, &mv) != 0)
			return -1;
		tlong(t, p0, &mv, &n);
		break;
	}
	case X_FLOAT:
		n.kind = PYCI_MV_FLOAT;
		n.u.f = x.re;
		break;
	case X_COMPLEX: {
		uint32_t a, b;
		if (tfloat(t, x.re, &a) != 0 || tfloat(t, x.im, &b) != 0)
			return -1;
		n.kind = PYCI_MV_COMPLEX;
		n.n = 2;
		n.u.kids = (uint32_t)t->nkids;
		if (tpush(t, &t->kids, &t->nkids, &t->capkids, a) != 0 ||
		    tpush(t, &t->kids, &t->nkids, &t->capkids, b) != 0)
			return -1;
		break;
	}
	case X_STR:
		if (tstr(t, start, x.n, x.text ? PYCI_MV_STR : PYCI_MV_BYTES, x.utf8, x.latin1,
			 &n) != 0)
			return -1;
		break;
	case X_IREF:
		if (x.i < 0 || (size_t)x.i >= t->ninterned)
			return fail(d, EINVAL, "bad marshal data (string ref out of range)", start);
		*v = t->interned[x.i];
		return 1;
	case X_REF:
		if (x.i < 0 || (size_t)x.i >= t->nrefs || t->refs[x.i] == NO_NODE)
			return fail(d, EINVAL, "bad marshal data (invalid reference)", start);
		*v = t->refs[x.i];
		return 1;
	case X_SEQ: {
		static const char kinds[] = "([<>)";
		static const uint8_t mk[] = {PYCI_MV_TUPLE, PYCI_MV_LIST, PYCI_MV_SET,
					     PYCI_MV_FROZENSET, PYCI_MV_TUPLE};
		int kind = mk[strchr(kinds, type) - kinds];
		if (tref_reserve(t, flag, &slot) != 0)
			return -1;
		if (x.n) {
			if (tframe_push(t, kind, type, slot, x.n) != 0)
				return -1;
			return 0;
		}
		n.kind = (uint8_t)kind;
		n.u.kids = (uint32_t)t->nkids;
		if (tnode(t, &n, v) != 0)
			return -1;
		if (slot >= 0)
			t->refs[slot] = *v;
		return 1;
	}
	case X_DICT:
		if (tref_reserve(t, flag, &slot) != 0 ||
		    tframe_push(t,
				type == '{'   ? PYCI_MV_DICT
				: type == '}' ? PYCI_MV_FROZENDICT
					      : PYCI_MV_SLICE,
				type, slot, 3) != 0)
			return -1;
		return 0;
	case X_CODE:
		if (tref_reserve(t, flag, &slot) != 0 ||
		    tframe_push(t, PYCI_MV_CODE, type, slot, 0) != 0)
			return -1;
		return tcode_advance(t) < 0 ? -1 : 0;
	}
	if (tnode(t, &n, v) != 0)
		return -1;
	if (flag && tref_append(t, *v, NULL) != 0)
		return -1;
	if (x.interned && tpush(t, &t->interned, &t->ninterned, &t->capinterned, *v) != 0)
		return -1;
	return 1;
}

/* Give the finished value v to the innermost container.  1 when that container is finished
 * too (*v is then its node), 0 when it wants more, -1 on error. */
static int taccept(tdec *t, uint32_t *v)
{
	tframe *f = &t->tf[t->ntf - 1];
	int dict = f->kind == PYCI_MV_DICT || f->kind == PYCI_MV_FROZENDICT;
	if (*v == TNULL && !dict)
		return fail(&t->d, EINVAL, "bad marshal data (NULL object)", t->d.pos - 1);
	if (dict && *v == TNULL) {
		if (f->step) /* a key without a value: dropped, as CPython does */
			t->npend--;
	} else {
		if (tpush(t, &t->pend, &t->npend, &t->cappend, *v) != 0)
			return -1;
		if (dict) {
			f->step ^= 1;
			return 0;
		}
		if (f->kind == PYCI_MV_CODE) {
			f->step++;
			int r = tcode_advance(t);
			if (r <= 0)
				return r;
			f = &t->tf[t->ntf - 1];
		} else if (++f->i < f->n) {
			return 0;
		}
	}
	size_t m = t->npend - f->pbase;
	pyci_mnode n = {.kind = f->kind, .type = f->type, .n = (uint32_t)m};
	n.u.kids = (uint32_t)t->nkids;
	if (t->nkids + m >= TNULL)
		return fail(&t->d, ENOMEM, "too many objects", t->d.pos);
	if (grow(&t->d, (void **)&t->kids, &t->capkids, t->nkids + m, sizeof(uint32_t)) != 0)
		return -1;
	if (m)
		memcpy(t->kids + t->nkids, t->pend + f->pbase, m * sizeof(uint32_t));
	t->nkids += m;
	t->npend = f->pbase;
	if (tnode(t, &n, v) != 0)
		return -1;
	if (f->ref >= 0)
		t->refs[f->ref] = *v;
	t->ntf--;
	return 1;
}

static int trun(tdec *t, uint32_t *root)
{
	for (;;) {
		uint32_t v;
		int r = tread(t, &v);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		for (;;) {
			if (t->ntf == 0) {
				*root = v;
				return 0;
			}
			r = taccept(t, &v);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
		}
	}
}

/* The names of a layout's fields, in its order. */
static size_t field_names(const uint8_t *steps, int lnotab, const char **names)
{
	static const char *const by_step[] = {
		[S_ARGCOUNT] = "co_argcount",
		[S_POSONLY] = "co_posonlyargcount",
		[S_KWONLY] = "co_kwonlyargcount",
		[S_NLOCALS] = "co_nlocals",
		[S_STACKSIZE] = "co_stacksize",
		[S_FLAGS] = "co_flags",
		[S_FIRSTLINENO] = "co_firstlineno",
		[O_CODE] = "co_code",
		[O_CONSTS] = "co_consts",
		[O_NAMES] = "co_names",
		[O_VARNAMES] = "co_varnames",
		[O_FREEVARS] = "co_freevars",
		[O_CELLVARS] = "co_cellvars",
		[O_FILENAME] = "co_filename",
		[O_NAME] = "co_name",
		[O_QUALNAME] = "co_qualname",
		[O_LNOTAB] = "co_linetable",
		[O_LPNAMES] = "co_localsplusnames",
		[O_LPKINDS] = "co_localspluskinds",
		[O_EXCTABLE] = "co_exceptiontable",
	};
	size_t k = 0;
	for (; k < PYCI_MTREE_MAX_FIELDS && steps[k] != S_END; k++)
		names[k] = steps[k] == O_LNOTAB && lnotab ? "co_lnotab" : by_step[steps[k]];
	return k;
}

int pyci_mtree_decode(const uint8_t *body, size_t len, const pyci_magic_info *m, pyci_mtree *out)
{
	memset(out, 0, sizeof(*out));
	out->root = NO_NODE;
	tdec *t = calloc(1, sizeof(*t));
	if (!t) {
		out->error = ENOMEM;
		out->error_msg = "out of memory";
		return -1;
	}
	dec *d = &t->d;
	d->out = &t->err;
	d->p = body;
	d->len = body ? len : 0;
	d->cur = NO_CODE;
	d->budget = pyci_mtree_bound(d->len);
	for (size_t k = 0; k < sizeof(t->single) / sizeof(t->single[0]); k++)
		t->single[k] = NO_NODE;
	uint32_t root = NO_NODE;
	const char *why = "unsupported code layout: unknown Python version";
	layout lay = m ? code_layout(m, &why) : L_NONE;
	if (lay == L_NONE) {
		fail(d, ENOTSUP, why, 0);
		goto done;
	}
	d->version = out->version = marshal_version(m);
	d->py2 = out->py2 = m->major < 3;
	out->major = m->major;
	out->minor = m->minor;
	d->steps = lay == L_PY2    ? steps_py2
		   : lay == L_PY30 ? steps_py30
		   : lay == L_PY38 ? steps_py38
				   : steps_py311;
	out->nfields = field_names(d->steps, m->major < 3 || (m->major == 3 && m->minor < 10),
				   out->fields);
	if (d->len == 0) {
		fail(d, EINVAL, "EOF read where object expected", 0);
		goto done;
	}
	if ((d->p[0] & 0x7F) != 'c') {
		fail(d, EINVAL, "bad marshal data (the body is not a code object)", 0);
		goto done;
	}
	if (trun(t, &root) == 0)
		out->consumed = d->pos;
done:
	free(t->pend);
	free(t->tf);
	free(t->refs);
	free(t->interned);
	t->pend = NULL;
	t->tf = NULL;
	t->refs = NULL;
	t->interned = NULL;
	out->nodes = t->nodes;
	out->nnodes = t->nnodes;
	out->kids = t->kids;
	out->nkids = t->nkids;
	out->error = t->err.error;
	out->error_msg = t->err.error_msg;
	out->error_offset = t->err.error_offset;
	out->root = out->error ? NO_NODE : root;
	out->priv_ = t;
	return out->error ? -1 : 0;
}

void pyci_mtree_free(pyci_mtree *tree)
{
	tdec *t = tree->priv_;
	if (t) {
		free(t->nodes);
		free(t->kids);
		chunk *c = t->d.chunks;
		while (c) {
			chunk *next = c->next;
			free(c);
			c = next;
		}
		free(t);
	}
	memset(tree, 0, sizeof(*tree));
	tree->root = NO_NODE;
}

uint32_t pyci_mtree_field(const pyci_mtree *t, uint32_t code, const char *field)
{
	if (code >= t->nnodes || t->nodes[code].kind != PYCI_MV_CODE)
		return NO_NODE;
	const pyci_mnode *c = &t->nodes[code];
	for (size_t k = 0; k < t->nfields && k < c->n; k++)
		if (strcmp(t->fields[k], field) == 0)
			return t->kids[c->u.kids + k];
	return NO_NODE;
}

/* ---- a person's view of a node ---- */

#define REPR_DEPTH 8

/* One code point of UTF-8 at s (n bytes left), into *cp; its length, or 1 with *cp = -1 for a
 * byte that starts no sequence (only widened or checked text reaches here, but a view never
 * trusts that). */
static size_t utf8_cp(const uint8_t *s, size_t n, long *cp)
{
	uint8_t c = s[0];
	size_t more = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 4;
	if (more == 0) {
		*cp = c;
		return 1;
	}
	if (more > 3 || more >= n) {
		*cp = -1;
		return 1;
	}
	long v = c & (0x3F >> more);
	for (size_t k = 1; k <= more; k++) {
		if ((s[k] & 0xC0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = v << 6 | (s[k] & 0x3F);
	}
	*cp = v;
	return more + 1;
}

/* Text or bytes [from, to) of s, escaped as ascii() would; text: decode UTF-8. */
static int repr_chars(pyci_buf *b, const uint8_t *s, size_t from, size_t to, int text)
{
	int rc = 0;
	for (size_t i = from; i < to && !rc;) {
		long cp = s[i];
		size_t adv = 1;
		if (text && cp >= 0x80)
			adv = utf8_cp(s + i, to - i, &cp);
		if (cp < 0)
			cp = s[i]; /* not UTF-8: the byte, escaped below */
		i += adv;
		if (cp == '\\' || cp == '\'')
			rc = pyci_buf_printf(b, "\\%c", (char)cp);
		else if (cp == '\n')
			rc = pyci_buf_puts(b, "\\n");
		else if (cp == '\r')
			rc = pyci_buf_puts(b, "\\r");
		else if (cp == '\t')
			rc = pyci_buf_puts(b, "\\t");
		else if (cp >= 0x20 && cp < 0x7F)
			rc = pyci_buf_putc(b, (char)cp);
		else if (cp < 0x100)
			rc = pyci_buf_printf(b, "\\x%02lx", cp);
		else if (cp < 0x10000)
			rc = pyci_buf_printf(b, "\\u%04lx", cp);
		else
			rc = pyci_buf_printf(b, "\\U%08lx", cp);
	}
	return rc;
}

/* A str or bytes value, whole or as a window around byte `at`. */
static int repr_string(const pyci_mtree *t, const pyci_mnode *n, size_t at, pyci_buf *b)
{
	int text = n->kind == PYCI_MV_STR;
	const uint8_t *s = (const uint8_t *)n->u.s;
	size_t from = 0, to = n->n;
	if (at != SIZE_MAX && n->n > 64) {
		from = at > 24 ? at - 24 : 0;
		to = n->n - from > 64 ? from + 64 : n->n;
		while (text && from > 0 && (s[from] & 0xC0) == 0x80)
			from--;
		while (text && to < n->n && (s[to] & 0xC0) == 0x80)
			to++;
	}
	const char *prefix = text ? (t->py2 ? "u'" : "'") : t->py2 ? "'" : "b'";
	int rc = pyci_buf_puts(b, from ? "..." : "");
	rc |= pyci_buf_puts(b, prefix);
	rc |= repr_chars(b, s, from, to, text);
	rc |= pyci_buf_putc(b, '\'');
	rc |= pyci_buf_puts(b, to < n->n ? "..." : "");
	return rc ? -1 : 0;
}

static int repr_int(const pyci_mtree *t, const pyci_mnode *n, pyci_buf *b)
{
	int rc;
	if (n->n == 0) {
		rc = pyci_buf_printf(b, "%lld", (long long)n->u.i);
	} else {
		char *txt = malloc((size_t)n->n * 5 + 4);
		size_t len = txt ? digits_text((const uint8_t *)n->u.s, n->n, n->negative, txt)
				 : SIZE_MAX;
		rc = len == SIZE_MAX ? -1 : pyci_buf_append(b, txt, len);
		free(txt);
		if (rc)
			errno = ENOMEM;
	}
	if (!rc && n->kind == PYCI_MV_LONG && t->py2)
		rc = pyci_buf_putc(b, 'L');
	return rc;
}

/* A value without members worth opening: everything but tuples, lists, sets, dicts, slices. */
static int repr_leaf(const pyci_mtree *t, const pyci_mnode *n, size_t at, pyci_buf *b)
{
	char buf[96];
	switch (n->kind) {
	case PYCI_MV_NONE:
		return pyci_buf_puts(b, "None");
	case PYCI_MV_TRUE:
		return pyci_buf_puts(b, "True");
	case PYCI_MV_FALSE:
		return pyci_buf_puts(b, "False");
	case PYCI_MV_ELLIPSIS:
		return pyci_buf_puts(b, "Ellipsis");
	case PYCI_MV_STOPITER:
		return pyci_buf_puts(b, "StopIteration");
	case PYCI_MV_INT:
	case PYCI_MV_LONG:
		return repr_int(t, n, b);
	case PYCI_MV_FLOAT:
		return pyci_buf_append(b, buf, float_repr(buf, n->u.f, 1, 0));
	case PYCI_MV_COMPLEX: {
		double cx[2] = {t->nodes[t->kids[n->u.kids]].u.f,
				t->nodes[t->kids[n->u.kids + 1]].u.f};
		size_t k = 0;
		if (cx[0] == 0 && !signbit(cx[0])) {
			k = float_repr(buf, cx[1], 0, 0);
			buf[k++] = 'j';
		} else {
			buf[k++] = '(';
			k += float_repr(buf + k, cx[0], 0, 0);
			k += float_repr(buf + k, cx[1], 0, 1);
			buf[k++] = 'j';
			buf[k++] = ')';
		}
		return pyci_buf_append(b, buf, k);
	}
	case PYCI_MV_STR:
	case PYCI_MV_BYTES:
		return repr_string(t, n, at, b);
	default: { /* CODE */
		uint32_t name = pyci_mtree_field(t, (uint32_t)(n - t->nodes), "co_name");
		uint32_t line = pyci_mtree_field(t, (uint32_t)(n - t->nodes), "co_firstlineno");
		int rc = pyci_buf_puts(b, "<code ");
		if (name != NO_NODE &&
		    (t->nodes[name].kind == PYCI_MV_STR || t->nodes[name].kind == PYCI_MV_BYTES))
			rc |= repr_chars(b, (const uint8_t *)t->nodes[name].u.s, 0,
					 t->nodes[name].n, t->nodes[name].kind == PYCI_MV_STR);
		if (line != NO_NODE && t->nodes[line].kind == PYCI_MV_INT)
			rc |= pyci_buf_printf(b, ", line %lld", (long long)t->nodes[line].u.i);
		rc |= pyci_buf_putc(b, '>');
		return rc ? -1 : 0;
	}
	}
}

static const char *repr_open(int kind)
{
	switch (kind) {
	case PYCI_MV_TUPLE:
		return "(";
	case PYCI_MV_LIST:
		return "[";
	case PYCI_MV_SET:
		return "{";
	case PYCI_MV_FROZENSET:
		return "frozenset({";
	case PYCI_MV_DICT:
		return "{";
	case PYCI_MV_FROZENDICT:
		return "frozendict({";
	default:
		return "slice(";
	}
}

static const char *repr_close(int kind, uint32_t n)
{
	switch (kind) {
	case PYCI_MV_TUPLE:
		return n == 1 ? ",)" : ")";
	case PYCI_MV_LIST:
		return "]";
	case PYCI_MV_SET:
	case PYCI_MV_DICT:
		return "}";
	case PYCI_MV_FROZENSET:
	case PYCI_MV_FROZENDICT:
		return "})";
	default:
		return ")";
	}
}

static int is_container(int kind)
{
	return kind >= PYCI_MV_TUPLE && kind <= PYCI_MV_SLICE;
}

int pyci_mtree_repr(const pyci_mtree *t, uint32_t i, size_t at, size_t limit, pyci_buf *b)
{
	struct {
		uint32_t node, next;
	} st[REPR_DEPTH];
	size_t depth = 0, start = b->len;
	int rc = 0;
	uint32_t cur = i;
	if (i >= t->nnodes)
		return pyci_buf_puts(b, "?");
	for (;;) {
		/* write cur: a leaf, or open a container */
		const pyci_mnode *n = &t->nodes[cur];
		if (!is_container(n->kind)) {
			rc = repr_leaf(t, n, depth ? SIZE_MAX : at, b);
		} else if (depth == REPR_DEPTH) {
			rc = pyci_buf_puts(b, "...");
		} else if (n->n == 0 && (n->kind == PYCI_MV_SET || n->kind == PYCI_MV_FROZENSET)) {
			rc = pyci_buf_puts(b, n->kind == PYCI_MV_SET ? "set()" : "frozenset()");
		} else {
			rc = pyci_buf_puts(b, repr_open(n->kind));
			st[depth].node = cur;
			st[depth].next = 0;
			depth++;
		}
		/* the next member to write, closing what is done */
		while (!rc && depth) {
			const pyci_mnode *c = &t->nodes[st[depth - 1].node];
			uint32_t k = st[depth - 1].next;
			if (k < c->n && b->len - start <= limit) {
				int dict = c->kind == PYCI_MV_DICT || c->kind == PYCI_MV_FROZENDICT;
				if (k)
					rc = pyci_buf_puts(b, dict && (k & 1) ? ": " : ", ");
				st[depth - 1].next++;
				cur = t->kids[c->u.kids + k];
				break;
			}
			rc = pyci_buf_puts(b, repr_close(c->kind, c->n));
			depth--;
		}
		if (rc || !depth)
			break;
	}
	if (rc)
		return -1;
	if (b->len - start > limit + 3) {
		pyci_buf_truncate(b, start + limit);
		return pyci_buf_puts(b, "...");
	}
	return 0;
}
