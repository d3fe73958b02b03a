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

int pyci_record_version(const pyci_record *r, char *buf, size_t n)
{
	const pyci_header *h = r->header;
	buf[0] = '\0';
	if (!h || h->status == PYCI_HDR_EMPTY || h->status == PYCI_HDR_SHORT_MAGIC ||
	    h->status == PYCI_HDR_BAD_MAGIC || h->magic.impl == PYCI_IMPL_UNKNOWN)
		return -1;
	pyci_target t = {h->magic.impl, h->magic.major, h->magic.minor};
	pyci_target_format(&t, buf, n);
	return 0;
}

static int put_bool(pyci_buf *b, const char *key, int v)
{
	return pyci_buf_printf(b, ",\"%s\":%s", key, v ? "true" : "false");
}

static int put_str(pyci_buf *b, const char *key, const char *s, size_t len)
{
	if (pyci_buf_printf(b, ",\"%s\":", key) != 0)
		return -1;
	if (!s)
		return pyci_buf_puts(b, "null");
	return pyci_json_string(b, s, len);
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
	    pyci_buf_printf(b, ",\"status\":\"%s\"", pyci_status_name(v->status)) != 0 ||
	    put_str(b, "version", have_version ? version : NULL, strlen(version)) != 0)
		return -1;
	const char *impl = have_version ? pyci_impl_name(h->magic.impl) : NULL;
	if (put_str(b, "implementation", impl, impl ? strlen(impl) : 0) != 0)
		return -1;
	if (have_magic ? pyci_buf_printf(b, ",\"magic\":%u", (unsigned)h->magic.number)
		       : pyci_buf_puts(b, ",\"magic\":null"))
		return -1;
	char range_label[48];
	const char *label = have_version && h->magic.label[0] ? h->magic.label : NULL;
	if (have_version && h->magic.match == PYCI_MAGIC_RANGE) {
		snprintf(range_label, sizeof(range_label), "%s-range, unknown", version);
		label = range_label;
	}
	if (put_str(b, "magic_label", label, label ? strlen(label) : 0) != 0 ||
	    put_str(b, "mode", mode, mode ? strlen(mode) : 0) != 0 ||
	    put_str(b, "source", r->source_path, r->source_path_len) != 0 ||
	    put_bool(b, "foreign", v->foreign) != 0 || pyci_buf_puts(b, ",\"reasons\":[") != 0)
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
	if (r->have_file ? pyci_buf_printf(b, ",\"size\":%llu", (unsigned long long)r->file.size)
			 : pyci_buf_puts(b, ",\"size\":null"))
		return -1;
	if (pyci_buf_printf(b, ",\"layout\":\"%s\"", layout_name(cn->kind)) != 0 ||
	    put_str(b, "tag", cn->tag_len ? r->name + cn->tag_off : NULL, cn->tag_len) != 0 ||
	    put_str(b, "optimization", cn->opt_len ? r->name + cn->opt_off : NULL, cn->opt_len) != 0)
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

int pyci_summary_add(pyci_summary *s, const pyci_record *r)
{
	char version[24];
	if (pyci_record_version(r, version, sizeof(version)) != 0)
		strcpy(version, "unknown");
	uint64_t bytes = r->have_file ? r->file.size : 0;
	pyci_status st = r->verdict->status;

	pyci_version_tally *vt = NULL;
	for (size_t i = 0; i < s->nversions; i++)
		if (strcmp(s->versions[i].version, version) == 0)
			vt = &s->versions[i];
	if (!vt) {
		if (s->nversions == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			pyci_version_tally *p = realloc(s->versions, cap * sizeof(*p));
			if (!p)
				return -1;
			s->versions = p;
			s->cap = cap;
		}
		vt = &s->versions[s->nversions++];
		memset(vt, 0, sizeof(*vt));
		snprintf(vt->version, sizeof(vt->version), "%s", version);
	}
	tally(&s->total, bytes);
	tally(&s->status[st], bytes);
	tally(&vt->total, bytes);
	tally(&vt->status[st], bytes);
	if (r->verdict->foreign)
		s->foreign++;
	return 0;
}

/* Sort key: CPython versions numerically, then PyPy, then "unknown". */
static int version_rank(const char *v, int *major, int *minor)
{
	int rank = 0;
	if (strncmp(v, "pypy", 4) == 0) {
		rank = 1;
		v += 4;
	}
	if (sscanf(v, "%d.%d", major, minor) != 2) {
		*major = *minor = 0;
		return 2;
	}
	return rank;
}

static int version_cmp(const void *a, const void *b)
{
	const pyci_version_tally *x = a, *y = b;
	int xa, xb, ya, yb;
	int rx = version_rank(x->version, &xa, &xb), ry = version_rank(y->version, &ya, &yb);
	if (rx != ry)
		return rx - ry;
	if (xa != ya)
		return xa - ya;
	return xb - yb;
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
