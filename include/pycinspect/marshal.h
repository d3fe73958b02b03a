/*
 * marshal.h - decode the marshalled code objects after a .pyc header, treating every byte as
 * hostile.
 *
 * The decoder reads the body of a pyc (the bytes after its header) with the code-object layout
 * of the version its magic names (reference section 6.3: 2.3-2.7, 3.0-3.7, 3.8-3.10, 3.11+; PyPy
 * uses its language version's), and returns every code object, the top one first, in pre-order
 * (a code object, then the code objects in its co_consts, depth first, in co_consts order).
 * A code object reached twice (a reference to it) is listed once, where it is first reached.
 * Layouts before 2.3 and the 3.11 alphas (magic 3450-3459) are not supported (ENOTSUP).
 *
 * Safety: lengths are checked against the bytes that remain before anything is allocated;
 * nesting is capped at PYCI_MARSHAL_MAX_DEPTH (CPython's 2000) with an explicit stack, not
 * recursion; references must point at a slot already filled; memory is bounded by
 * pyci_marshal_bound(len): 64 bytes per input byte plus 1 MiB, and never more than
 * PYCI_MARSHAL_MAX_MEMORY, whatever the length (past it, ENOMEM).  A body that cannot be decoded
 * gives an error and the offset (from the start of the body) where decoding stopped; whatever
 * was decoded before stays available: code objects whose end was not reached are listed with
 * the fields read so far (the rest absent, or -1).
 *
 * Memory follows what is kept, not what is read: an object is kept only when it can be looked
 * at again (a field of a code object, a member of a tuple that may be one, or an object a
 * reference may name), and a tuple keeps at most PYCI_MARSHAL_MAX_ITEMS members, of the kinds
 * a code object's fields can use (strings, and with want_consts the single-value constants).
 * The other members are read, checked and counted (type_counts), then dropped: a tuple of 200
 * million None nested in co_consts costs no memory.  A code object field from a tuple with more
 * members than that lists the first ones and counts the rest (pyci_mcode's *_elided).
 *
 * Derived qualnames (before 3.11), CPython 3's compiler_set_qualname on the finished tree:
 *   - depth 0 and 1: the name ("<module>", "f", "C");
 *   - a function or class (not "<lambda>" or a comprehension) whose parent is a function and
 *     is none of the parent's varnames, cellvars or freevars (after private-name mangling with
 *     the nearest enclosing class) was declared global there: just its name;
 *   - otherwise the parent's qualname, ".<locals>" if the parent is a function or lambda but
 *     not a comprehension (<listcomp> <setcomp> <dictcomp> <genexpr>), ".", the name.
 * A function is a code object with CO_OPTIMIZED (flags & 1); any other one below the top is a
 * class body.  It equals co_qualname on every code object of 3.11's standard library.  Limits:
 * a def/class declared global inside a class body gets "C.f" (CPython says "f"); a 2.x function
 * with a bare exec or import * has no CO_OPTIMIZED and counts as a class.  2.x uses the same
 * rule.  A code object gets one only when it and its parent were decoded to the end, and no
 * name of the parent's varnames, cellvars and freevars was left out (elided, below).
 */
#ifndef PYCINSPECT_MARSHAL_H
#define PYCINSPECT_MARSHAL_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/buf.h"
#include "pycinspect/magic.h"

#define PYCI_MARSHAL_MAX_DEPTH 2000

/* Members a tuple keeps for the code object fields it may become (names, consts). */
#define PYCI_MARSHAL_MAX_ITEMS ((size_t)1 << 20)

/* The decoder's memory, whatever the length of the body (see pyci_marshal_bound). */
#define PYCI_MARSHAL_MAX_MEMORY ((size_t)128 << 20)

/* A string as stored: bytes (UTF-8 for py3 str, latin-1 for py2 str), NUL-terminated copy. */
typedef struct pyci_mstr {
	const char *data; /* NULL when absent */
	size_t len;
} pyci_mstr;

/*
 * A constant kept with want_consts: the str, bytes, int, float, complex, None, True, False and
 * Ellipsis members of co_consts, in order, as text (members of nested tuples and frozensets are
 * not kept; code objects are in codes[]).  py3 bytes are 'b'; py2 str and unicode are 's'.
 * Ints of more than 1000 15-bit digits (about 4,516 decimal digits) are written in hex
 * ("0x...", "-0x...").  None, True, False and Ellipsis carry their names as text.
 */
typedef struct pyci_mconst {
	char type;      /* 's' str, 'b' bytes, 'i' int, 'f' float, 'c' complex, 'N' None,
			 * 'T' True, 'F' False, '.' Ellipsis */
	pyci_mstr text; /* the value: the string itself, or the number in decimal (floats as
			 * repr() would print them, ints of any size) */
} pyci_mconst;

typedef struct pyci_mcode {
	int depth;          /* 0 for the top-level code object */
	size_t parent;      /* index of the enclosing code object; SIZE_MAX for the top */
	pyci_mstr filename; /* co_filename as compiled (often the build machine's path) */
	pyci_mstr name;
	pyci_mstr qualname; /* stored (3.11+), else derived: parents' qualnames joined with
			     * '.', "<locals>" after functions, as CPython 3 would name it
			     * (the exact rule is at the top of this file) */
	int qualname_stored;
	int32_t firstlineno;
	/* -1 when the layout has no such field; 3.11+ has no nlocals field, it is given as
	 * CPython computes co_nlocals: the number of varnames */
	int32_t argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags;
	size_t code_size; /* bytes of co_code */
	/* 3.11+: varnames, cellvars, freevars are localsplusnames split by their kinds: LOCAL
	 * (0x20), CELL (0x40), FREE (0x80); an argument captured by a closure (0x60) is in both
	 * varnames and cellvars, as CPython reports co_varnames and co_cellvars.  Arrays may be
	 * shared between code objects. */
	pyci_mstr *names, *varnames, *freevars, *cellvars;
	size_t nnames, nvarnames, nfreevars, ncellvars;
	pyci_mconst *consts; /* with want_consts; NULL otherwise */
	size_t nconsts;
	/* members left out of the arrays above because their tuple had more than
	 * PYCI_MARSHAL_MAX_ITEMS of them (0 unless so; consts: with want_consts).  nlocals still
	 * counts every local.  A code object whose parent left out varnames, cellvars or freevars
	 * gets no derived qualname (it could depend on the names left out). */
	size_t names_elided, varnames_elided, freevars_elided, cellvars_elided, consts_elided;
} pyci_mcode;

typedef struct pyci_marshal {
	pyci_mcode *codes; /* pre-order, codes[0] is the top-level code object */
	size_t ncodes;
	int version;               /* marshal version the magic implies (0-6, reference 6.1) */
	uint64_t type_counts[128]; /* objects read, by type code (FLAG_REF masked off) */
	int error;                 /* 0, or an errno-like code: EINVAL (bad or truncated data),
				    * E2BIG (too deep), ENOMEM (out of memory, or past the bound),
				    * ENOTSUP (a code layout not supported, see above) */
	const char *error_msg;     /* static text, e.g. "bad marshal data (invalid reference)" */
	size_t error_offset;       /* offset in the body where decoding stopped: the type byte of
				    * the object found bad, or where a missing object or field was
				    * expected */
	size_t consumed;           /* bytes of the body the top object took (trailing bytes after it
				    * are not an error); 0 on error */
	void *priv_;               /* arena; freed by pyci_marshal_free */
} pyci_marshal;

/*
 * Decode `len` bytes of body written by the interpreter of magic m.  want_consts: keep the
 * single-value constants (strings, bytes, numbers, None, True, False, Ellipsis; docs/dump.md).  Always fills *out (free it with pyci_marshal_free); returns 0 when the
 * whole top object decoded, -1 when out->error is set (out->codes holds what was decoded).
 */
int pyci_marshal_decode(const uint8_t *body, size_t len, const pyci_magic_info *m, int want_consts,
			pyci_marshal *out);

void pyci_marshal_free(pyci_marshal *out);

/* The most memory pyci_marshal_decode allocates for a body of len bytes (malloc's own overhead
 * aside): 64 bytes per byte plus 1 MiB, at most PYCI_MARSHAL_MAX_MEMORY. */
size_t pyci_marshal_bound(size_t len);

/* 1 when the code layout of m is one the decoder reads, else 0 (pyci_marshal_decode would stop
 * with ENOTSUP before reading the body: a caller need not read it). */
int pyci_marshal_supported(const pyci_magic_info *m);

/* The name of a marshal type code ("code", "tuple", "short_ascii_interned", ...), or NULL.
 * FLAG_REF (0x80) is ignored. */
const char *pyci_marshal_type_name(unsigned char type);

/* ---- the whole value tree --------------------------------------------------------------- */

/*
 * pyci_mtree_decode reads the same bodies as pyci_marshal_decode, with the same checks, but
 * keeps everything, as a tree of values that two bodies can be compared by (verify.h): every
 * object, every member of every container, every field of every code object.  What the format
 * says twice is said once: a type code and its interned, short or ASCII variants are one kind
 * of value ('a', 'A', 'z', 'Z', 'u' and py3 't' are all PYCI_MV_STR, in UTF-8); 'i', 'I' and
 * 'l' are one int (in i when it fits in 64 bits, else as digits: never both ways); 'g' and 'f'
 * one float; '(' and ')' one tuple.  A reference ('r', py2 'R') is the node it names, shared:
 * the tree is a directed acyclic graph whose size follows the input, not what the references
 * would expand to.  Marshal's reference flags, object sharing and interning leave no trace.
 *
 * Nodes are numbered in the order they were completed, so every node's members come before it
 * (the root is last): a forward loop over nodes[] sees members before their containers.
 * None, True, False, Ellipsis and StopIteration are one node each, however often they appear.
 *
 * Memory is bounded by pyci_mtree_bound(len) (40 bytes per input byte plus 1 MiB, at most
 * PYCI_MTREE_MAX_MEMORY), nesting by PYCI_MARSHAL_MAX_DEPTH, both with an explicit stack.
 */

#define PYCI_MTREE_MAX_MEMORY ((size_t)256 << 20)

typedef enum {
	PYCI_MV_NONE = 0,
	PYCI_MV_TRUE,
	PYCI_MV_FALSE,
	PYCI_MV_ELLIPSIS,
	PYCI_MV_STOPITER,
	PYCI_MV_INT,     /* py3 int, py2 int ('i', 'I'; py3 'l') */
	PYCI_MV_LONG,    /* py2 long ('l'): the same representation as INT */
	PYCI_MV_FLOAT,   /* u.f */
	PYCI_MV_COMPLEX, /* two members, FLOAT nodes: the real and the imaginary part */
	PYCI_MV_STR,     /* py3 str, py2 unicode: n bytes of UTF-8 at u.s (surrogates encoded
			  * as CPython's surrogatepass does) */
	PYCI_MV_BYTES,   /* py3 bytes, py2 str: n bytes at u.s */
	PYCI_MV_TUPLE,
	PYCI_MV_LIST,
	PYCI_MV_SET,
	PYCI_MV_FROZENSET,
	PYCI_MV_DICT,       /* members: key, value, key, value, ... */
	PYCI_MV_FROZENDICT, /* the same */
	PYCI_MV_SLICE,      /* three members: start, stop, step */
	PYCI_MV_CODE,       /* members: the fields, in the layout's order (pyci_mtree.fields) */
	PYCI_MV_KINDS
} pyci_mvkind;

typedef struct pyci_mnode {
	uint8_t kind;     /* pyci_mvkind */
	uint8_t type;     /* the type code it was read from, FLAG_REF masked ('Z', 'l', ...); 0
			   * for the integer fields of a code object, which are not objects */
	uint8_t negative; /* INT, LONG given as digits: the sign */
	uint32_t n;       /* STR, BYTES: bytes; INT, LONG: 15-bit digits, or 0 when the value is
			   * in u.i; containers, COMPLEX, CODE: members */
	union {
		int64_t i;     /* INT, LONG that fit in 64 bits */
		double f;      /* FLOAT */
		const char *s; /* STR, BYTES: the bytes (not NUL-terminated); INT, LONG as digits:
				* n little-endian 15-bit digits of 2 bytes, least significant
				* first, the last not 0 */
		uint32_t kids; /* containers, COMPLEX, CODE: index in kids[] of the first member */
	} u;
} pyci_mnode;

/* The names of a code object's fields, at most this many in any layout. */
#define PYCI_MTREE_MAX_FIELDS 20

typedef struct pyci_mtree {
	const pyci_mnode *nodes; /* completion order: members before containers */
	size_t nnodes;
	const uint32_t *kids; /* members of the nodes that have some: node indices */
	size_t nkids;
	uint32_t root;    /* the top code object; UINT32_MAX on error */
	int py2;          /* a Python 2 body: BYTES are str, STR are unicode, LONG exists */
	int version;      /* marshal version the magic implies (0-6) */
	int major, minor; /* language version of the magic */
	/* the names of a CODE node's members, in order: "co_argcount", ..., "co_code", ... */
	const char *fields[PYCI_MTREE_MAX_FIELDS];
	size_t nfields;
	int error;             /* as pyci_marshal's: 0, EINVAL, E2BIG, ENOMEM, ENOTSUP */
	const char *error_msg; /* static text */
	size_t error_offset;   /* in the body */
	size_t consumed;       /* bytes of the body the top object took; 0 on error */
	void *priv_;
} pyci_mtree;

/*
 * Decode `len` bytes of body written by the interpreter of m into a tree.  Strings and digits
 * point into `body` where they need no conversion: the body must outlive the tree.  Always
 * fills *out (free it with pyci_mtree_free); returns 0 when the whole top object decoded, -1
 * when out->error is set (the tree then holds nothing usable: root is UINT32_MAX).
 */
int pyci_mtree_decode(const uint8_t *body, size_t len, const pyci_magic_info *m, pyci_mtree *out);

void pyci_mtree_free(pyci_mtree *tree);

/* The most memory pyci_mtree_decode allocates for a body of len bytes (malloc's overhead
 * aside): 40 bytes per byte plus 1 MiB, at most PYCI_MTREE_MAX_MEMORY. */
size_t pyci_mtree_bound(size_t len);

/* The member of CODE node `code` that is the field named `field` ("co_filename"), or
 * UINT32_MAX when the layout has no such field. */
uint32_t pyci_mtree_field(const pyci_mtree *t, uint32_t code, const char *field);

/*
 * Append a person's view of node i to b, as Python's ascii() would write the value, to about
 * `limit` bytes: str and py2 unicode quoted with every non-ASCII character escaped (\xe9,
 * \u20ac), bytes as b'...', py2 str as '...', ints of any size in decimal (past 4,300 digits in
 * hex), floats as repr(), containers with their members (nested at most 8 deep, then ...),
 * code objects as <code NAME, line N>.  Past the limit the text ends with "...".  When at is
 * not SIZE_MAX and i is a str or bytes value, the text is a window around byte `at`: "..."
 * marks what is left out on either side.  0, or -1 (ENOMEM).
 */
int pyci_mtree_repr(const pyci_mtree *t, uint32_t i, size_t at, size_t limit, pyci_buf *b);

#endif
