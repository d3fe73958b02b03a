/*
 * record.c - JSON form of a judged cache and the per-status, per-version summary.
 *
 * Both are written as members of an object the caller has open in a JSON writer (json.h), so
 * that scan, clean and dump can add their own members around them; pyci_record_json and
 * pyci_summary_json are the same text in a plain buffer.  The JSON fields are documented in
 * docs/json.md; keep the two in step.
 */
#include "pycinspect/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pycinspect/archive.h"
#include "pycinspect/json.h"
#include "pycinspect/jython.h"

/* The Jython release that writes a class file's API version, or NULL. */
static const pyci_jython_api *class_api(const pyci_jclass *c)
{
	return c->has_api ? pyci_jython_api_lookup(c->api) : NULL;
}

/* The interpreter a record's magic (a class file's API version) names; -1 when unknown. */
static int record_key(const pyci_record *r, pyci_target *t)
{
	if (r->jclass) {
		const pyci_jython_api *a = class_api(r->jclass);
		if (!a)
			return -1;
		*t = (pyci_target){PYCI_IMPL_JYTHON, a->major, a->minor};
		return 0;
	}
	const pyci_header *h = r->header;
	if (!h || h->status == PYCI_HDR_EMPTY || h->status == PYCI_HDR_SHORT_MAGIC ||
	    h->status == PYCI_HDR_BAD_MAGIC || h->magic.impl == PYCI_IMPL_UNKNOWN)
		return -1;
	*t = (pyci_target){h->magic.impl, h->magic.major, h->magic.minor};
	return 0;
}

int pyci_record_version(const pyci_record *r, char *buf, size_t n)
{
	pyci_target t;
	buf[0] = '\0';
	if (record_key(r, &t) != 0)
		return -1;
	pyci_target_format(&t, buf, n);
	return 0;
}

static const char *layout_name(const pyci_record *r)
{
	if (r->in_prefix)
		return "prefix";
	pyci_name_kind k = r->cname->kind;
	return k == PYCI_NAME_LEGACY ? "legacy" : k == PYCI_NAME_JYTHON ? "jython" : "pycache";
}

void pyci_record_reasons(pyci_jw *w, uint64_t reasons)
{
	pyci_jw_begin_array(w, "reasons");
	for (int i = 0; i < PYCI_R_COUNT; i++)
		if (reasons & PYCI_REASON_BIT(i))
			pyci_jw_cstr(w, NULL, pyci_reason_text((pyci_reason)i));
	pyci_jw_end_array(w);
}

void pyci_record_members(pyci_jw *w, const pyci_record *r)
{
	const pyci_header *h = r->header;
	const pyci_verdict *v = r->verdict;
	const pyci_cache_name *cn = r->cname;
	char version[24];
	int have_version = pyci_record_version(r, version, sizeof(version)) == 0;
	/* a Jython class file's version comes from its API version: it has no magic number, and
	 * its header is that of 0 bytes */
	int magic_version = have_version && !r->jclass;
	/* non-regular and unreadable caches were never read: their header is 0 bytes long */
	int have_magic = h->status != PYCI_HDR_EMPTY && h->status != PYCI_HDR_SHORT_MAGIC;
	/* the mode is known once the flags were read and found valid */
	const char *mode =
		h->size && h->status != PYCI_HDR_TRUNCATED && h->status != PYCI_HDR_BAD_FLAGS
			? pyci_mode_name(h->mode)
			: NULL;
	char range_label[48]; /* version is at most 23 bytes: this cannot truncate */
	const char *label = magic_version && h->magic.label[0] ? h->magic.label : NULL;
	if (magic_version && h->magic.match == PYCI_MAGIC_RANGE) {
		(void)snprintf(range_label, sizeof(range_label), "%s-range, unknown", version);
		label = range_label;
	}

	pyci_jw_cstr(w, "type", "pyc");
	pyci_jw_str(w, "path", r->path, r->path_len);
	pyci_jw_cstr(w, "status", pyci_status_name(v->status));
	pyci_jw_cstr(w, "version", have_version ? version : NULL);
	pyci_jw_cstr(w, "implementation",
		     !have_version ? NULL
		     : r->jclass   ? pyci_impl_name(PYCI_IMPL_JYTHON)
				   : pyci_impl_name(h->magic.impl));
	if (have_magic)
		pyci_jw_u64(w, "magic", h->magic.number);
	else
		pyci_jw_null(w, "magic");
	pyci_jw_cstr(w, "magic_label", label);
	pyci_jw_cstr(w, "mode", mode);
	pyci_jw_str(w, "source", r->source_path, r->source_path_len);
	pyci_jw_bool(w, "foreign", v->foreign);
	pyci_record_reasons(w, v->reasons);
	if (r->have_file)
		pyci_jw_u64(w, "size", r->file.size);
	else
		pyci_jw_null(w, "size");
	pyci_jw_cstr(w, "layout", layout_name(r));
	pyci_jw_str(w, "tag", cn->tag_len ? r->name + cn->tag_off : NULL, cn->tag_len);
	pyci_jw_str(w, "optimization", cn->opt_len ? r->name + cn->opt_off : NULL, cn->opt_len);
	if (r->member)
		pyci_record_member(w, r->member);
	if (r->load) {
		static const char *const results[] = {"not-checked", "loads", "fails", "unchecked"};
		const pyci_load *l = r->load;
		pyci_jw_begin(w, "load");
		pyci_jw_cstr(w, "result", results[l->state]);
		if (l->state == PYCI_LOAD_FAILS) {
			pyci_jw_cstr(w, "exception", l->exception);
			pyci_jw_cstr(w, "message", l->message);
			pyci_jw_u64(w, "offset", l->offset);
		} else if (l->state == PYCI_LOAD_UNCHECKED) {
			pyci_jw_cstr(w, "message", l->message);
		}
		pyci_jw_end(w);
	}
	if (r->path_in_root) { /* --root: the paths the installed system will see */
		pyci_jw_begin(w, "installed");
		pyci_jw_cstr(w, "path", r->path_in_root);
		pyci_jw_cstr(w, "source", r->source_in_root);
		pyci_jw_end(w);
	}
	if (r->jclass) { /* Jython's records only: the others stay as they were */
		if (r->jclass->has_api)
			pyci_jw_i64(w, "api_version", r->jclass->api);
		else
			pyci_jw_null(w, "api_version");
	}
}

void pyci_record_member(pyci_jw *w, const struct pyci_member *m)
{
	pyci_jw_begin(w, "archive");
	pyci_jw_cstr(w, "path", m->archive);
	pyci_jw_cstr(w, "kind", pyci_archive_kind_name(m->kind));
	pyci_jw_str(w, "member", m->path, m->path_len);
	if (m->kind == PYCI_ARCHIVE_IMAGE)
		pyci_jw_cstr(w, "layer", m->layer);
	pyci_jw_end(w);
}

int pyci_record_json(pyci_buf *b, const pyci_record *r, const char *extra)
{
	pyci_jw w;
	pyci_jw_init(&w, b);
	pyci_jw_begin(&w, NULL);
	pyci_record_members(&w, r);
	pyci_jw_end(&w);
	if (pyci_jw_finish(&w) != 0)
		return -1;
	if (!extra)
		return 0;
	/* extra goes inside the braces, as it is */
	pyci_buf_truncate(b, b->len - 1);
	if (pyci_buf_puts(b, extra) != 0 || pyci_buf_putc(b, '}') != 0) {
		pyci_buf_truncate(b, w.start);
		return -1;
	}
	return 0;
}

/* ---- summary ------------------------------------------------------------------------------ */

static void tally(pyci_tally *t, uint64_t bytes)
{
	t->count++;
	t->bytes += bytes;
}

int pyci_summary_reserve(pyci_summary *s)
{
	if (s->nversions < s->cap)
		return 0;
	size_t cap = s->cap ? s->cap * 2 : 16;
	pyci_version_tally *p = realloc(s->versions, cap * sizeof(*p));
	if (!p)
		return -1;
	s->versions = p;
	s->cap = cap;
	return 0;
}

int pyci_summary_add(pyci_summary *s, const pyci_record *r)
{
	pyci_target key = {PYCI_IMPL_UNKNOWN, 0, 0};
	int known = record_key(r, &key) == 0;
	uint64_t bytes = r->have_file ? r->file.size : 0;
	pyci_status st = r->verdict->status;

	pyci_version_tally *vt = NULL;
	for (size_t i = 0; i < s->nversions && !vt; i++)
		if (s->versions[i].key.impl == key.impl && s->versions[i].key.major == key.major &&
		    s->versions[i].key.minor == key.minor)
			vt = &s->versions[i];
	if (!vt) {
		if (pyci_summary_reserve(s) != 0)
			return -1;
		vt = &s->versions[s->nversions++];
		memset(vt, 0, sizeof(*vt));
		vt->key = key;
		if (known)
			pyci_target_format(&key, vt->version, sizeof(vt->version));
		else
			strcpy(vt->version, "unknown");
	}
	tally(&s->total, bytes);
	tally(&s->status[st], bytes);
	tally(&vt->total, bytes);
	tally(&vt->status[st], bytes);
	if (r->verdict->foreign)
		s->foreign++;
	return 0;
}

/* CPython versions in order, then PyPy's, then "unknown". */
static int version_cmp(const void *a, const void *b)
{
	const pyci_target *x = &((const pyci_version_tally *)a)->key;
	const pyci_target *y = &((const pyci_version_tally *)b)->key;
	int rx = x->impl == PYCI_IMPL_UNKNOWN ? 99 : (int)x->impl;
	int ry = y->impl == PYCI_IMPL_UNKNOWN ? 99 : (int)y->impl;
	if (rx != ry)
		return rx - ry;
	if (x->major != y->major)
		return x->major - y->major;
	return x->minor - y->minor;
}

void pyci_summary_sort(pyci_summary *s)
{
	if (s->nversions > 1)
		qsort(s->versions, s->nversions, sizeof(s->versions[0]), version_cmp);
}

void pyci_summary_free(pyci_summary *s)
{
	free(s->versions);
	s->versions = NULL;
	s->nversions = s->cap = 0;
}

static void tally_members(pyci_jw *w, const char *key, const pyci_tally *t)
{
	pyci_jw_begin(w, key);
	pyci_jw_u64(w, "count", t->count);
	pyci_jw_u64(w, "bytes", t->bytes);
	pyci_jw_end(w);
}

void pyci_summary_members(pyci_jw *w, const pyci_summary *s)
{
	pyci_jw_begin(w, "by_status");
	for (int i = 0; i < PYCI_STATUS_COUNT; i++)
		tally_members(w, pyci_status_name((pyci_status)i), &s->status[i]);
	pyci_jw_end(w);
	pyci_jw_begin(w, "by_version");
	for (size_t i = 0; i < s->nversions; i++) {
		const pyci_version_tally *vt = &s->versions[i];
		pyci_jw_begin(w, vt->version);
		pyci_jw_u64(w, "count", vt->total.count);
		pyci_jw_u64(w, "bytes", vt->total.bytes);
		for (int st = 0; st < PYCI_STATUS_COUNT; st++)
			if (vt->status[st].count)
				tally_members(w, pyci_status_name((pyci_status)st),
					      &vt->status[st]);
		pyci_jw_end(w);
	}
	pyci_jw_end(w);
}

int pyci_summary_json(pyci_buf *b, const pyci_summary *s)
{
	pyci_jw w;
	pyci_jw_init(&w, b);
	pyci_jw_begin(&w, NULL);
	pyci_summary_members(&w, s);
	pyci_jw_end(&w);
	if (pyci_jw_finish(&w) != 0)
		return -1;
	/* the members without the braces of the object they were written in */
	memmove(b->data + w.start, b->data + w.start + 1, b->len - w.start - 2);
	pyci_buf_truncate(b, b->len - 2);
	return 0;
}
