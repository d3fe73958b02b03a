/*
 * codenames.c - imports and watched names of a code tree (codenames.h).
 *
 * Every code object of the tree is visited once, in source order (pre-order through co_consts,
 * however many references share it).  Its bytecode is walked with the version's instruction format: before
 * 3.6 an opcode of HAVE_ARGUMENT or more is followed by a 2-byte argument, later every
 * instruction is 2 bytes (3.11's inline caches are instructions of opcode 0, harmless here);
 * EXTENDED_ARG prefixes add high bits.  The opcode numbers are those each interpreter's own
 * opcode module gives (2.7, 3.6-3.15 checked on the interpreters the tests use; 3.0-3.5 as
 * their opcode.py has them); 3.15 keeps the lazy-import flags in IMPORT_NAME's two low bits.  Python 2's exec statement is an opcode (EXEC_STMT), not a name:
 * it counts as "exec".
 */
#include "pycinspect/codenames.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_NODE UINT32_MAX

const char *const pyci_codenames_watch[] = {
	"__import__",    "compile",   "ctypes",  "eval",   "exec",  "execfile",
	"import_module", "importlib", "marshal", "pickle", "popen", "socket",
	"subprocess",    "system",    "urlopen", NULL,
};

/* Instruction format of a version. */
typedef struct opset {
	int major, minor_from, minor_to;
	int import_name, extended_arg, exec_stmt;
	int wordcode;  /* 3.6+: 2 bytes an instruction */
	int arg_shift; /* IMPORT_NAME's argument is the name's index shifted by this (3.15: two
			* bits of lazy-import flags below it) */
} opset;

static const opset OPSETS[] = {
	{2, 7, 7, 108, 145, 85, 0, 0}, {3, 0, 1, 108, 143, -1, 0, 0},
	{3, 2, 5, 108, 144, -1, 0, 0}, {3, 6, 12, 108, 144, -1, 1, 0},
	{3, 13, 13, 75, 71, -1, 1, 0}, {3, 14, 14, 73, 69, -1, 1, 0},
	{3, 15, 15, 72, 67, -1, 1, 2},
};

#define HAVE_ARGUMENT 90 /* before 3.6 */

/* Add s[0 .. n) to list (names NUL-ended) unless it is there.  0, or -1 (ENOMEM). */
static int add(pyci_buf *list, size_t *count, size_t *more, const char *s, size_t n)
{
	for (size_t off = 0; off < list->len;) {
		size_t len = strlen(list->data + off);
		if (len == n && memcmp(list->data + off, s, n) == 0)
			return 0;
		off += len + 1;
	}
	if (memchr(s, '\0', n)) /* not a name a reviewer could read back from the list */
		return 0;
	if (*count >= PYCI_CODENAMES_MAX) {
		if (more)
			(*more)++;
		return 0;
	}
	if (pyci_buf_append(list, s, n) != 0 || pyci_buf_putc(list, '\0') != 0)
		return -1;
	(*count)++;
	return 0;
}

static int is_text(const pyci_mnode *n)
{
	return n->kind == PYCI_MV_STR || n->kind == PYCI_MV_BYTES;
}

static int watch(pyci_codenames *c, const pyci_mnode *n)
{
	if (!is_text(n))
		return 0;
	for (size_t k = 0; pyci_codenames_watch[k]; k++) {
		size_t len = strlen(pyci_codenames_watch[k]);
		if (n->n == len && memcmp(n->u.s, pyci_codenames_watch[k], len) == 0)
			return add(&c->watched, &c->nwatched, NULL, n->u.s, n->n);
	}
	return 0;
}

static const opset *opset_of(const pyci_mtree *t)
{
	for (size_t k = 0; k < sizeof(OPSETS) / sizeof(OPSETS[0]); k++)
		if (OPSETS[k].major == t->major && t->minor >= OPSETS[k].minor_from &&
		    t->minor <= OPSETS[k].minor_to)
			return &OPSETS[k];
	return NULL;
}

/* The imports of code object i: IMPORT_NAME's argument indexes co_names. */
static int imports_of(const pyci_mtree *t, const opset *o, uint32_t i, pyci_codenames *c)
{
	uint32_t code = pyci_mtree_field(t, i, "co_code");
	uint32_t names = pyci_mtree_field(t, i, "co_names");
	if (code == NO_NODE || names == NO_NODE || t->nodes[code].kind != PYCI_MV_BYTES ||
	    t->nodes[names].kind != PYCI_MV_TUPLE)
		return 0;
	const uint8_t *p = (const uint8_t *)t->nodes[code].u.s;
	size_t n = t->nodes[code].n;
	uint64_t ext = 0;
	for (size_t pc = 0; pc < n;) {
		int op = p[pc];
		uint64_t arg = 0;
		if (o->wordcode) {
			arg = pc + 1 < n ? p[pc + 1] : 0;
			pc += 2;
		} else if (op >= HAVE_ARGUMENT) {
			arg = pc + 2 < n ? (uint64_t)p[pc + 1] | (uint64_t)p[pc + 2] << 8 : 0;
			pc += 3;
		} else {
			pc += 1;
		}
		arg |= ext;
		if (op == o->extended_arg) {
			/* keep to 32 bits, as the interpreters do */
			ext = (arg << (o->wordcode ? 8 : 16)) & 0xFFFFFFFFu;
			continue;
		}
		ext = 0;
		if (op == o->exec_stmt && add(&c->watched, &c->nwatched, NULL, "exec", 4) != 0)
			return -1;
		arg >>= o->arg_shift;
		if (op != o->import_name || arg >= t->nodes[names].n)
			continue;
		const pyci_mnode *nm = &t->nodes[t->kids[t->nodes[names].u.kids + arg]];
		if (is_text(nm) && add(&c->imports, &c->nimports, &c->imports_more, nm->u.s, nm->n))
			return -1;
	}
	return 0;
}

/* The names of code object i. */
static int names_of_code(const pyci_mtree *t, const opset *o, uint32_t i, pyci_codenames *c)
{
	if (o && imports_of(t, o, i, c) != 0)
		return -1;
	static const char *const lists[] = {"co_names", "co_consts"};
	for (size_t l = 0; l < 2; l++) {
		uint32_t tu = pyci_mtree_field(t, i, lists[l]);
		if (tu == NO_NODE || t->nodes[tu].kind != PYCI_MV_TUPLE)
			continue;
		for (uint32_t k = 0; k < t->nodes[tu].n; k++)
			if (watch(c, &t->nodes[t->kids[t->nodes[tu].u.kids + k]]) != 0)
				return -1;
	}
	return 0;
}

int pyci_codenames_of(const pyci_mtree *t, pyci_codenames *c)
{
	memset(c, 0, sizeof(*c));
	const opset *o = opset_of(t);
	c->imports_known = o != NULL;
	if (t->root >= t->nnodes)
		return 0;
	/* code objects in source order: pre-order from the root through co_consts (and tuples in
	 * it), each once; an explicit stack, a bit per node for the ones seen */
	uint8_t *seen = calloc(t->nnodes / 8 + 1, 1);
	uint32_t *stack = malloc((t->nkids + 1) * sizeof(*stack));
	size_t n = 0;
	if (!seen || !stack)
		goto fail;
	stack[n++] = t->root;
	while (n) {
		uint32_t i = stack[--n];
		if (seen[i / 8] & (1u << (i % 8)))
			continue;
		seen[i / 8] |= (uint8_t)(1u << (i % 8));
		uint32_t members = i;
		if (t->nodes[i].kind == PYCI_MV_CODE) {
			if (names_of_code(t, o, i, c) != 0)
				goto fail;
			members = pyci_mtree_field(t, i, "co_consts");
		}
		if (members == NO_NODE || t->nodes[members].kind != PYCI_MV_TUPLE)
			continue;
		for (uint32_t k = t->nodes[members].n; k-- > 0;) {
			uint32_t m = t->kids[t->nodes[members].u.kids + k];
			int kind = t->nodes[m].kind;
			if ((kind == PYCI_MV_CODE || kind == PYCI_MV_TUPLE) && n < t->nkids + 1)
				stack[n++] = m;
		}
	}
	free(seen);
	free(stack);
	return 0;
fail:
	free(seen);
	free(stack);
	pyci_codenames_free(c);
	errno = ENOMEM;
	return -1;
}

void pyci_codenames_free(pyci_codenames *c)
{
	pyci_buf_free(&c->imports);
	pyci_buf_free(&c->watched);
	c->nimports = c->imports_more = c->nwatched = 0;
}
