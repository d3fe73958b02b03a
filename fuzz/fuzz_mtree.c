/*
 * fuzz_mtree.c - libFuzzer harness for the value tree of marshal.h and what reads it: the
 * comparison of codecmp.h and the names of codenames.h.
 *
 * The input picks its Python as fuzz_marshal.c's does (a whole .pyc, or two bytes choosing a
 * row of the magic table, then the body).  The body is decoded into a tree, which must keep the
 * contract (0 with a root that is a code object, the last node, every member numbered before
 * its container and inside kids[]; or -1 with an error and an offset inside the body); then the
 * tree is compared with itself (the same code: 1), with the tree of the body with one byte
 * changed (0 with a path and two values, or 1), its root written with pyci_mtree_repr and its
 * names listed.  Built with -DPYCI_FUZZ=ON (clang).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pycinspect/codecmp.h"
#include "pycinspect/codenames.h"
#include "pycinspect/header.h"
#include "pycinspect/magic.h"
#include "pycinspect/marshal.h"

#include "fuzzbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const pyci_mtree *t, int r, size_t len)
{
	if (r != 0) {
		if (r != -1 || !t->error || !t->error_msg || t->error_offset > len ||
		    t->root != UINT32_MAX)
			__builtin_trap();
		return;
	}
	if (t->error || t->root != t->nnodes - 1 || t->nodes[t->root].kind != PYCI_MV_CODE ||
	    t->consumed == 0 || t->consumed > len || t->nfields == 0 ||
	    t->nfields > PYCI_MTREE_MAX_FIELDS)
		__builtin_trap();
	for (size_t i = 0; i < t->nnodes; i++) {
		const pyci_mnode *n = &t->nodes[i];
		if (n->kind >= PYCI_MV_KINDS)
			__builtin_trap();
		int members = n->kind >= PYCI_MV_COMPLEX && n->kind != PYCI_MV_STR &&
			      n->kind != PYCI_MV_BYTES;
		if (members && (size_t)n->u.kids + n->n > t->nkids)
			__builtin_trap();
		for (uint32_t k = 0; members && k < n->n; k++)
			if (t->kids[n->u.kids + k] >= i)
				__builtin_trap();
		if (n->kind == PYCI_MV_CODE && n->n != t->nfields)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pyci_magic_info m;
	const uint8_t *body;
	size_t len;
	if (fuzz_body(data, size, &m, &body, &len) != 0)
		return 0;
	pyci_mtree a, b;
	int r = pyci_mtree_decode(body, len, &m, &a);
	check(&a, r, len);
	if (r == 0) {
		pyci_codediff d;
		memset(&d, 0, sizeof(d));
		if (pyci_codecmp(&a, &a, &d) != 1)
			__builtin_trap();
		pyci_buf text = PYCI_BUF_INIT;
		if (pyci_mtree_repr(&a, a.root, SIZE_MAX, 300, &text) != 0 || !text.data ||
		    text.len > 303)
			__builtin_trap();
		pyci_buf_free(&text);
		pyci_codenames names;
		if (pyci_codenames_of(&a, &names) != 0)
			__builtin_trap();
		pyci_codenames_free(&names);
		/* the same body with its middle byte changed */
		uint8_t *copy = malloc(len);
		if (!copy)
			__builtin_trap();
		memcpy(copy, body, len);
		copy[len / 2] ^= 0x01;
		if (pyci_mtree_decode(copy, len, &m, &b) == 0) {
			check(&b, 0, len);
			int c = pyci_codecmp(&a, &b, &d);
			if (c == 0 && (!d.where.len || !d.a_value.data || !d.b_value.data))
				__builtin_trap();
			if (c != 0 && c != 1)
				__builtin_trap();
			pyci_codediff_free(&d);
		}
		pyci_mtree_free(&b);
		free(copy);
	}
	pyci_mtree_free(&a);
	return 0;
}
