/*
 * record.c - JSON form of a judged cache and the per-status, per-version summary.
 *
 * The JSON fields are documented in docs/json.md; keep the two in step.
 */
#include "pycinspect/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pycinspect/json.h"

/* The interpreter a record's magic names; -1 when the magic is unknown. */
static int record_key(const pyci_record *r, pyci_target *t)
{
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

static const char *layout_name(pyci_name_kind k)
{
	return k == PYCI_NAME_LEGACY ? "legacy" : "pycache";
}

int pyci_record_json(pyci_buf *b, const pyci_record *r, const char *extra)
{
	const pyci_header *h = r->header;
	const pyci_verdict *v = r->verdict;
	const pyci_cache_name *cn = r->cname;
	char version[24];
	int have_version = pyci_record_version(r, version, sizeof(version)) == 0;
	/* non-regular and unreadable caches were never read: their header is 0 bytes long */
	int have_magic = h->status != PYCI_HDR_EMPTY && h->status != PYCI_HDR_SHORT_MAGIC;
	/* the mode is known once the flags were read and found valid */
	const char *mode = h->size && h->status != PYCI_HDR_TRUNCATED &&
					   h->status != PYCI_HDR_BAD_FLAGS
				   ? pyci_mode_name(h->mode)
				   : NULL;

	if (pyci_buf_puts(b, "{\"type\":\"pyc\",\"path\":") != 0 ||
	    pyci_json_string(b, r->path, r->path_len) != 0 ||
	    pyci_buf_puts(b, ",\"status\":\"") != 0 ||
	    pyci_buf_puts(b, pyci_status_name(v->status)) != 0 || pyci_buf_putc(b, '"') != 0 ||
	    pyci_json_field_str(b, "version", have_version ? version : NULL, strlen(version)) != 0)
		return -1;
	const char *impl = have_version ? pyci_impl_name(h->magic.impl) : NULL;
	if (pyci_json_field_str(b, "implementation", impl, impl ? strlen(impl) : 0) != 0)
		return -1;
	if (pyci_json_next_key(b, "magic") != 0 ||
	    (have_magic ? pyci_buf_put_u64(b, h->magic.number) : pyci_buf_puts(b, "null")) != 0)
		return -1;
	char range_label[48]; /* version is at most 23 bytes: this cannot truncate */
	const char *label = have_version && h->magic.label[0] ? h->magic.label : NULL;
	if (have_version && h->magic.match == PYCI_MAGIC_RANGE) {
		(void)snprintf(range_label, sizeof(range_label), "%s-range, unknown", version);
		label = range_label;
	}
	if (pyci_json_field_str(b, "magic_label", label, label ? strlen(label) : 0) != 0 ||
	    pyci_json_field_str(b, "mode", mode, mode ? strlen(mode) : 0) != 0 ||
	    pyci_json_field_str(b, "source", r->source_path, r->source_path_len) != 0 ||
	    pyci_json_field_bool(b, "foreign", v->foreign) != 0 || pyci_buf_puts(b, ",\"reasons\":[") != 0)
		return -1;
	int first = 1;
	for (int i = 0; i < PYCI_R_COUNT; i++) {
		if (!(v->reasons & PYCI_REASON_BIT(i)))
			continue;
		if (!first && pyci_buf_putc(b, ',') != 0)
			return -1;
		const char *t = pyci_reason_text((pyci_reason)i);
		if (pyci_json_string(b, t, strlen(t)) != 0)
			return -1;
		first = 0;
	}
	if (pyci_buf_putc(b, ']') != 0)
		return -1;
	if (pyci_json_next_key(b, "size") != 0 ||
	    (r->have_file ? pyci_buf_put_u64(b, r->file.size) : pyci_buf_puts(b, "null")) != 0)
		return -1;
	if (pyci_json_next_key(b, "layout") != 0 || pyci_buf_putc(b, '"') != 0 ||
	    pyci_buf_puts(b, layout_name(cn->kind)) != 0 || pyci_buf_putc(b, '"') != 0 ||
	    pyci_json_field_str(b, "tag", cn->tag_len ? r->name + cn->tag_off : NULL, cn->tag_len) != 0 ||
	    pyci_json_field_str(b, "optimization", cn->opt_len ? r->name + cn->opt_off : NULL, cn->opt_len) != 0)
		return -1;
	if (extra && pyci_buf_puts(b, extra) != 0)
		return -1;
	return pyci_buf_putc(b, '}');
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

static int tally_json(pyci_buf *b, const pyci_tally *t)
{
	return pyci_buf_printf(b, "{\"count\":%llu,\"bytes\":%llu}", (unsigned long long)t->count,
			       (unsigned long long)t->bytes);
}

int pyci_summary_json(pyci_buf *b, const pyci_summary *s)
{
	if (pyci_buf_puts(b, "\"by_status\":{") != 0)
		return -1;
	for (int i = 0; i < PYCI_STATUS_COUNT; i++) {
		if (pyci_buf_printf(b, "%s\"%s\":", i ? "," : "", pyci_status_name((pyci_status)i)) ||
		    tally_json(b, &s->status[i]))
			return -1;
	}
	if (pyci_buf_puts(b, "},\"by_version\":{") != 0)
		return -1;
	for (size_t i = 0; i < s->nversions; i++) {
		const pyci_version_tally *vt = &s->versions[i];
		if (pyci_buf_printf(b, "%s\"%s\":{\"count\":%llu,\"bytes\":%llu", i ? "," : "",
				    vt->version, (unsigned long long)vt->total.count,
				    (unsigned long long)vt->total.bytes) != 0)
			return -1;
		for (int st = 0; st < PYCI_STATUS_COUNT; st++) {
			if (!vt->status[st].count)
				continue;
			if (pyci_buf_printf(b, ",\"%s\":", pyci_status_name((pyci_status)st)) ||
			    tally_json(b, &vt->status[st]))
				return -1;
		}
		if (pyci_buf_putc(b, '}') != 0)
			return -1;
	}
	return pyci_buf_putc(b, '}');
}
