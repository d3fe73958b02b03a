/*
 * codecmp.c - two code trees compared by digests, and the first place they differ (codecmp.h).
 *
 * Each tree gets an array of 32-byte digests, one per node, filled in one forward pass: nodes
 * are numbered after their members (marshal.h), so a container's members are digested before
 * it.  A scalar that fits is its own digest, written out after a zero byte (kind, then value):
 * None, True, False, Ellipsis, ints that fit in 64 bits, floats by their bits, strings of at
 * most 29 bytes.  Anything else is SHA-256 of a header (1, kind, sign, count) and its contents:
 * the bytes of a string, the digits of a large int, the digests of the members in order, or for
 * a set the digests of its members sorted and without repeats.  A written-out digest could equal
 * a hashed one only by a SHA-256 preimage, and two hashed ones only by a collision.
 *
 * The first difference is found by walking down from the roots into the first member pair whose
 * digests differ, so each step is a comparison of 32 bytes.  Code objects are searched field by
 * field in the order a reviewer reads them (FIELD_ORDER): name and signature first, constants
 * and names next, then bytecode and tables, so that a changed constant is reported as the
 * constant, not as the bytecode that loads it.
 */
#include "pycinspect/codecmp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sslerr.h"

#define NO_NODE UINT32_MAX
#define DIGEST 32
#define INLINE_STR 29 /* bytes of a string written out as its own digest */

typedef uint8_t digest[DIGEST];

/* Fields of a code object in the order a difference is looked for (those of the layout only;
 * any field not named here comes after, in the layout's order). */
static const char *const FIELD_ORDER[] = {
	"co_name",
	"co_qualname",
	"co_argcount",
	"co_posonlyargcount",
	"co_kwonlyargcount",
	"co_flags",
	"co_consts",
	"co_names",
	"co_varnames",
	"co_cellvars",
	"co_freevars",
	"co_localsplusnames",
	"co_localspluskinds",
	"co_nlocals",
	"co_code",
	"co_stacksize",
	"co_filename",
	"co_firstlineno",
	"co_lnotab",
	"co_linetable",
	"co_exceptiontable",
	NULL,
};

static int cmp_digest(const void *x, const void *y)
{
	return memcmp(x, y, DIGEST);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int k = 0; k < n; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* SHA-256 of head[0 .. nh) then p[0 .. n) into out.  0, or -1 with errno. */
static int sha(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *head, size_t nh, const void *p,
	       size_t n, uint8_t *out)
{
	unsigned int len = 0;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		(void)pyci_ssl_errno(ENOMEM); /* the one allocation it may make (see dump.c) */
		return -1;
	}
	if (EVP_DigestUpdate(ctx, head, nh) != 1 || (n && EVP_DigestUpdate(ctx, p, n) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != DIGEST) {
		(void)pyci_ssl_errno(EIO);
		return -1;
	}
	return 0;
}

/* The digests of every node of t, in a new array (*out, to free). */
static int digests(const pyci_mtree *t, EVP_MD_CTX *ctx, const EVP_MD *md, digest **out)
{
	digest *dg = malloc((t->nnodes ? t->nnodes : 1) * sizeof(digest));
	digest *tmp = NULL; /* a set's members, sorted */
	size_t captmp = 0;
	if (!dg)
		return -1;
	for (size_t i = 0; i < t->nnodes; i++) {
		const pyci_mnode *n = &t->nodes[i];
		uint8_t *o = dg[i];
		memset(o, 0, DIGEST);
		o[1] = n->kind;
		const void *p = NULL;
		size_t len = 0, count = n->n;
		switch (n->kind) {
		case PYCI_MV_NONE:
		case PYCI_MV_TRUE:
		case PYCI_MV_FALSE:
		case PYCI_MV_ELLIPSIS:
		case PYCI_MV_STOPITER:
			continue;
		case PYCI_MV_INT:
		case PYCI_MV_LONG:
			if (n->n == 0) {
				put_le(o + 2, (uint64_t)n->u.i, 8);
				continue;
			}
			p = n->u.s;
			len = (size_t)n->n * 2;
			break;
		case PYCI_MV_FLOAT: {
			uint64_t bits;
			memcpy(&bits, &n->u.f, sizeof(bits));
			put_le(o + 2, bits, 8);
			continue;
		}
		case PYCI_MV_STR:
		case PYCI_MV_BYTES:
			if (n->n <= INLINE_STR) {
				o[2] = (uint8_t)n->n;
				if (n->n)
					memcpy(o + 3, n->u.s, n->n);
				continue;
			}
			p = n->u.s;
			len = n->n;
			break;
		case PYCI_MV_SET:
		case PYCI_MV_FROZENSET:
			if (n->n > captmp) {
				free(tmp);
				tmp = malloc((size_t)n->n * sizeof(digest));
				captmp = tmp ? n->n : 0;
				if (!tmp)
					goto fail;
			}
			for (uint32_t k = 0; k < n->n; k++)
				memcpy(tmp[k], dg[t->kids[n->u.kids + k]], DIGEST);
			if (n->n)
				qsort(tmp, n->n, sizeof(digest), cmp_digest);
			count = 0;
			for (uint32_t k = 0; k < n->n; k++)
				if (count == 0 || memcmp(tmp[count - 1], tmp[k], DIGEST) != 0)
					memmove(tmp[count++], tmp[k], DIGEST);
			p = tmp;
			len = count * sizeof(digest);
			break;
		default: /* the members' digests, in order: contiguous only per member, so hashed
			  * through a small loop */
			break;
		}
		uint8_t head[7] = {1, n->kind, n->negative, 0, 0, 0, 0};
		put_le(head + 3, count, 4);
		if (p || n->kind == PYCI_MV_SET || n->kind == PYCI_MV_FROZENSET) {
			if (sha(ctx, md, head, sizeof(head), p, len, o) != 0)
				goto fail;
			continue;
		}
		unsigned int dlen = 0;
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
			(void)pyci_ssl_errno(ENOMEM);
			goto fail;
		}
		int ok = EVP_DigestUpdate(ctx, head, sizeof(head)) == 1;
		for (uint32_t k = 0; ok && k < n->n; k++)
			ok = EVP_DigestUpdate(ctx, dg[t->kids[n->u.kids + k]], DIGEST) == 1;
		if (!ok || EVP_DigestFinal_ex(ctx, o, &dlen) != 1 || dlen != DIGEST) {
			(void)pyci_ssl_errno(EIO);
			goto fail;
		}
	}
	free(tmp);
	*out = dg;
	return 0;
fail:;
	int e = errno;
	free(tmp);
	free(dg);
	errno = e;
	return -1;
}

/* The k-th member of node i. */
static uint32_t kid(const pyci_mtree *t, uint32_t i, uint32_t k)
{
	return t->kids[t->nodes[i].u.kids + k];
}

/* A name for a path: printable ASCII as it is, other bytes as \xNN.  0, or -1 (ENOMEM). */
static int put_name(pyci_buf *b, const pyci_mtree *t, uint32_t i)
{
	if (i == NO_NODE || (t->nodes[i].kind != PYCI_MV_STR && t->nodes[i].kind != PYCI_MV_BYTES))
		return pyci_buf_puts(b, "?");
	const unsigned char *s = (const unsigned char *)t->nodes[i].u.s;
	for (uint32_t k = 0; k < t->nodes[i].n; k++) {
		int rc = s[k] >= 0x20 && s[k] < 0x7F ? pyci_buf_putc(b, (char)s[k])
						     : pyci_buf_printf(b, "\\x%02x", s[k]);
		if (rc)
			return -1;
	}
	return 0;
}

/* ".NAME" for code object c, a member of the tuple `consts` of t; "@LINE" added when another
 * code object there has the same name. */
static int put_label(pyci_buf *b, const pyci_mtree *t, const digest *dg, uint32_t consts,
		     uint32_t c)
{
	uint32_t name = pyci_mtree_field(t, c, "co_name");
	int twin = 0;
	for (uint32_t k = 0; consts != NO_NODE && k < t->nodes[consts].n && !twin; k++) {
		uint32_t o = kid(t, consts, k);
		if (o == c || t->nodes[o].kind != PYCI_MV_CODE)
			continue;
		uint32_t on = pyci_mtree_field(t, o, "co_name");
		twin = name != NO_NODE && on != NO_NODE && memcmp(dg[name], dg[on], DIGEST) == 0;
	}
	if (pyci_buf_putc(b, '.') != 0 || put_name(b, t, name) != 0)
		return -1;
	uint32_t line = pyci_mtree_field(t, c, "co_firstlineno");
	if (twin && line != NO_NODE && t->nodes[line].kind == PYCI_MV_INT)
		return pyci_buf_printf(b, "@%lld", (long long)t->nodes[line].u.i);
	return 0;
}

/* The first k < min(count) where the members of x and y differ; the smaller count when one is
 * the start of the other. */
static uint32_t first_diff(const pyci_mtree *a, const digest *da, uint32_t x, const pyci_mtree *b,
			   const digest *db, uint32_t y)
{
	uint32_t m = a->nodes[x].n < b->nodes[y].n ? a->nodes[x].n : b->nodes[y].n;
	uint32_t k = 0;
	while (k < m && memcmp(da[kid(a, x, k)], db[kid(b, y, k)], DIGEST) == 0)
		k++;
	return k;
}

/* The field of code objects x (in a) and y (in b) to go down into: the first of FIELD_ORDER,
 * then of the layout, whose digests differ; its index, or -1 when none does. */
static int pick_field(const pyci_mtree *a, const digest *da, uint32_t x, const digest *db,
		      const pyci_mtree *b, uint32_t y)
{
	size_t nf = a->nfields < a->nodes[x].n ? a->nfields : a->nodes[x].n;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t o = 0; pass || FIELD_ORDER[o]; o++) {
			if (pass && o >= nf)
				break;
			for (size_t k = 0; k < nf; k++) {
				if (pass ? k != o : strcmp(a->fields[k], FIELD_ORDER[o]) != 0)
					continue;
				if (memcmp(da[kid(a, x, (uint32_t)k)], db[kid(b, y, (uint32_t)k)],
					   DIGEST) != 0)
					return (int)k;
			}
		}
	}
	return -1;
}

static int is_seq(int kind)
{
	return kind == PYCI_MV_TUPLE || kind == PYCI_MV_LIST || kind == PYCI_MV_DICT ||
	       kind == PYCI_MV_FROZENDICT || kind == PYCI_MV_SLICE;
}

static int report(pyci_codediff *d, const pyci_mtree *a, uint32_t x, const pyci_mtree *b,
		  uint32_t y, size_t at)
{
	d->offset = at;
	int rc = x == NO_NODE ? pyci_buf_puts(&d->a_value, "(absent)")
			      : pyci_mtree_repr(a, x, at, PYCI_CODEDIFF_VALUE_MAX, &d->a_value);
	if (!rc)
		rc = y == NO_NODE ? pyci_buf_puts(&d->b_value, "(absent)")
				  : pyci_mtree_repr(b, y, at, PYCI_CODEDIFF_VALUE_MAX, &d->b_value);
	return rc ? -1 : 0;
}

/* Walk down from the roots to the first difference (the roots' digests differ). */
static int locate(const pyci_mtree *a, const digest *da, const pyci_mtree *b, const digest *db,
		  pyci_codediff *d)
{
	uint32_t x = a->root, y = b->root;
	if (put_name(&d->where, a, pyci_mtree_field(a, x, "co_name")) != 0)
		return -1;
	for (;;) {
		const pyci_mnode *nx = &a->nodes[x], *ny = &b->nodes[y];
		if (nx->kind != ny->kind)
			return report(d, a, x, b, y, SIZE_MAX);
		if (nx->kind == PYCI_MV_CODE) {
			int k = nx->n == ny->n ? pick_field(a, da, x, db, b, y) : -1;
			if (k < 0)
				return report(d, a, x, b, y, SIZE_MAX);
			uint32_t fx = kid(a, x, (uint32_t)k), fy = kid(b, y, (uint32_t)k);
			/* a code object among the constants: named by its name, not its index */
			if (strcmp(a->fields[k], "co_consts") == 0 &&
			    a->nodes[fx].kind == PYCI_MV_TUPLE &&
			    b->nodes[fy].kind == PYCI_MV_TUPLE) {
				uint32_t j = first_diff(a, da, fx, b, db, fy);
				if (j < a->nodes[fx].n && j < b->nodes[fy].n &&
				    a->nodes[kid(a, fx, j)].kind == PYCI_MV_CODE &&
				    b->nodes[kid(b, fy, j)].kind == PYCI_MV_CODE) {
					if (put_label(&d->where, a, da, fx, kid(a, fx, j)) != 0)
						return -1;
					x = kid(a, fx, j);
					y = kid(b, fy, j);
					continue;
				}
			}
			if (pyci_buf_printf(&d->where, ".%s", a->fields[k]) != 0)
				return -1;
			x = fx;
			y = fy;
			continue;
		}
		if (is_seq(nx->kind)) {
			uint32_t j = first_diff(a, da, x, b, db, y);
			if (pyci_buf_printf(&d->where, "[%u]", (unsigned)j) != 0)
				return -1;
			if (j >= nx->n || j >= ny->n)
				return report(d, a, j < nx->n ? kid(a, x, j) : NO_NODE, b,
					      j < ny->n ? kid(b, y, j) : NO_NODE, SIZE_MAX);
			x = kid(a, x, j);
			y = kid(b, y, j);
			continue;
		}
		if (nx->kind == PYCI_MV_STR || nx->kind == PYCI_MV_BYTES) {
			size_t m = nx->n < ny->n ? nx->n : ny->n, j = 0;
			while (j < m && nx->u.s[j] == ny->u.s[j])
				j++;
			return report(d, a, x, b, y, j);
		}
		return report(d, a, x, b, y, SIZE_MAX);
	}
}

int pyci_codecmp(const pyci_mtree *a, const pyci_mtree *b, pyci_codediff *d)
{
	if (a->root >= a->nnodes || b->root >= b->nnodes) {
		errno = EINVAL;
		return -1;
	}
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = md ? EVP_MD_CTX_new() : NULL;
	digest *da = NULL, *db = NULL;
	int rc = -1;
	if (!md) {
		(void)pyci_ssl_errno(ENOSYS);
		goto out;
	}
	if (!ctx) {
		(void)pyci_ssl_errno(ENOMEM);
		goto out;
	}
	if (digests(a, ctx, md, &da) != 0 || digests(b, ctx, md, &db) != 0)
		goto out;
	d->offset = SIZE_MAX;
	if (memcmp(da[a->root], db[b->root], DIGEST) == 0) {
		rc = 1;
		goto out;
	}
	rc = locate(a, (const digest *)da, b, (const digest *)db, d) != 0 ? -1 : 0;
	if (rc)
		errno = ENOMEM;
out:;
	int e = errno;
	free(da);
	free(db);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	errno = e;
	return rc;
}

void pyci_codediff_free(pyci_codediff *d)
{
	pyci_buf_free(&d->where);
	pyci_buf_free(&d->a_value);
	pyci_buf_free(&d->b_value);
	d->offset = SIZE_MAX;
}
