/*
 * fuzz_marshal.c - libFuzzer harness for the marshal decoder (marshal.h).
 *
 * The input chooses its own Python (fuzzbody.h): a whole .pyc, so the fixtures are good seeds,
 * or two bytes picking a row of the magic table before the body.
 * Every body is decoded twice, with and without constants, and the result is checked against
 * the contract: 0 with a well-formed tree, or -1 with an error, a message and an offset inside
 * the body.  Every string handed out is read to its NUL, so that a bad pointer meets ASan.
 * Built with -DPYCI_FUZZ=ON (clang); see fuzz/make_corpus.sh for the seeds.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pycinspect/header.h"
#include "pycinspect/magic.h"
#include "pycinspect/marshal.h"

#include "fuzzbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const pyci_mstr *s)
{
	if (!s->data)
		return;
	if (s->data[s->len] != '\0')
		__builtin_trap();
	for (size_t i = 0; i < s->len; i++)
		sink += (unsigned char)s->data[i];
}

static void touch_all(const pyci_mstr *a, size_t n)
{
	if (n && !a)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		touch(&a[i]);
}

/* Whether code object i or one above it left names out of varnames, cellvars or freevars:
 * then the code objects below it get no derived qualname (marshal.h). */
static int vars_elided_above(const pyci_marshal *out, size_t i)
{
	for (size_t p = i; p != SIZE_MAX; p = out->codes[p].parent) {
		const pyci_mcode *c = &out->codes[p];
		if (c->varnames_elided || c->cellvars_elided || c->freevars_elided)
			return 1;
	}
	return 0;
}

static void check(const pyci_marshal *out, int r, size_t len)
{
	if (r == 0) {
		if (out->error || out->ncodes == 0 || out->consumed == 0 || out->consumed > len)
			__builtin_trap();
	} else {
		if (r != -1 || !out->error || !out->error_msg || out->error_offset > len)
			__builtin_trap();
		if (out->error != EINVAL && out->error != E2BIG && out->error != ENOMEM &&
		    out->error != ENOTSUP)
			__builtin_trap();
		sink += strlen(out->error_msg);
	}
	for (size_t i = 0; i < out->ncodes; i++) {
		const pyci_mcode *c = &out->codes[i];
		if (i == 0 ? c->parent != SIZE_MAX || c->depth != 0
			   : c->parent >= i || c->depth != out->codes[c->parent].depth + 1)
			__builtin_trap();
		if (r == 0 && (!c->name.data || !c->filename.data ||
			       (!c->qualname.data && !(i && vars_elided_above(out, c->parent)))))
			__builtin_trap();
		if (c->nnames > PYCI_MARSHAL_MAX_ITEMS || c->nvarnames > PYCI_MARSHAL_MAX_ITEMS ||
		    c->ncellvars > PYCI_MARSHAL_MAX_ITEMS ||
		    c->nfreevars > PYCI_MARSHAL_MAX_ITEMS || c->nconsts > PYCI_MARSHAL_MAX_ITEMS ||
		    (c->names_elided && !c->nnames) || (c->consts_elided && !c->consts))
			__builtin_trap();
		touch(&c->filename);
		touch(&c->name);
		touch(&c->qualname);
		touch_all(c->names, c->nnames);
		touch_all(c->varnames, c->nvarnames);
		touch_all(c->freevars, c->nfreevars);
		touch_all(c->cellvars, c->ncellvars);
		for (size_t k = 0; k < c->nconsts; k++)
			touch(&c->consts[k].text);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pyci_magic_info m;
	const uint8_t *body;
	size_t len;
	if (fuzz_body(data, size, &m, &body, &len) != 0)
		return 0;
	for (int want = 0; want < 2; want++) {
		pyci_marshal out;
		int r = pyci_marshal_decode(body, len, &m, want, &out);
		check(&out, r, len);
		pyci_marshal_free(&out);
	}
	return 0;
}
