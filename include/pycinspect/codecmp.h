/*
 * codecmp.h - are two decoded code trees the same code, and if not, where do they first differ.
 *
 * verify compares the code tree of a cache with the one its source compiles to.  Both are
 * pyci_mtree trees of the same magic number, so everything marshal says in two ways (reference
 * flags, object sharing, interned and short strings, 'i' or 'l' for one int) is already gone;
 * what is left is compared exactly: every field of every code object (bytecode, constants of
 * every type, names, variables, line and exception tables, flags, counts, stack size, first
 * line, name, qualified name, file name).  Floats are compared by their bits (0.0 is not -0.0).
 * The one relaxation: a set or frozenset is the same set whatever the order of its members
 * (CPython's order follows string hashes, randomised per process) and whatever exact
 * repetitions it holds.
 *
 * How: every node of both trees gets a SHA-256 digest of its kind and contents (a short
 * scalar is its own digest, written out, not hashed), members before containers, so a node is
 * hashed once however many references share it: the work follows the trees' sizes, not what
 * their references would expand to.  Equal digests at the roots mean the same code; otherwise
 * the walk goes down, from the roots, into the first member whose digests differ.  Memory: 32
 * bytes per node of each tree, and 32 per member of the largest set.
 */
#ifndef PYCINSPECT_CODECMP_H
#define PYCINSPECT_CODECMP_H

#include <stddef.h>

#include "pycinspect/buf.h"
#include "pycinspect/marshal.h"

/* How much of each value a difference shows (pyci_mtree_repr's limit). */
#define PYCI_CODEDIFF_VALUE_MAX 200

typedef struct pyci_codediff {
	/* Where, as a path in the code tree of a: code objects by their co_name joined by '.'
	 * ("<module>.Client.fetch"; a name two code objects of one co_consts share gets
	 * "@LINE", its co_firstlineno), then the field and the indexes into it:
	 * "<module>.fetch.co_consts[3]", "<module>.co_names[2]", "<module>.main.co_code". */
	pyci_buf where;
	pyci_buf a_value, b_value; /* the two values there (pyci_mtree_repr), or "(absent)" */
	size_t offset;             /* a str or bytes value: the first byte that differs (the
				    * length of the shorter when one is the other's start);
				    * SIZE_MAX otherwise */
} pyci_codediff;

/*
 * Compare the root code objects of a and b, two trees decoded without error from bodies of the
 * same magic number.  Returns 1 when they are the same code (d is left empty), 0 when they
 * differ (d says where), -1 with errno: ENOMEM, or EIO when SHA-256 failed (OpenSSL), EINVAL
 * for a tree that holds no root.  d must be zeroed (or freed) before; free it with
 * pyci_codediff_free.
 */
int pyci_codecmp(const pyci_mtree *a, const pyci_mtree *b, pyci_codediff *d);

void pyci_codediff_free(pyci_codediff *d);

#endif
