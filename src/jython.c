/*
 * jython.c - Jython's rule for NAME$py.class as a pure function, and its API versions as a table
 * (see jython.h).
 *
 * The questions come in the order imp.loadFromSource asks them, and the status is the most
 * urgent that applies, as in verdict.c: invalid (not a class file Jython can read), sourceless
 * (no NAME.py: the class is what an import gets), stale (Jython compiles the source and rewrites
 * the class), foreign, fresh.  There is no orphan: Jython imports a class without its source.
 */
#include "pycinspect/jython.h"

#include <errno.h>
#include <string.h>

#define BIT(r) PYCI_REASON_BIT(r)

/* imp.APIVersion at each final release's tag (git show vX.Y.Z:src/org/python/core/imp.java).
 * 2.5.4rc1 and 2.7.0a1-2.7b1 wrote 33 too, the other alphas and betas numbers of their own. */
static const pyci_jython_api api_table[] = {
	{23, 2, 5, "2.5.0"}, {26, 2, 5, "2.5.1"}, {32, 2, 5, "2.5.2"}, {33, 2, 5, "2.5.3"},
	{36, 2, 7, "2.7.0"}, {37, 2, 7, "2.7.1"}, {38, 2, 7, "2.7.2"}, {39, 2, 7, "2.7.3, 2.7.4"},
};

const pyci_jython_api *pyci_jython_api_table(size_t *count)
{
	*count = sizeof(api_table) / sizeof(api_table[0]);
	return api_table;
}

const pyci_jython_api *pyci_jython_api_lookup(int32_t api)
{
	for (size_t i = 0; i < sizeof(api_table) / sizeof(api_table[0]); i++)
		if (api_table[i].api == api)
			return &api_table[i];
	return NULL;
}

int pyci_jython_version_known(int major, int minor)
{
	return major == 2 && minor == 7;
}

int64_t pyci_java_mtime_ms(int64_t sec, long nsec)
{
	/* UnixFileSystem_md.c: (jlong)st_mtim.tv_sec * 1000 + (jlong)st_mtim.tv_nsec / 1000000;
	 * the product wraps in Java, so it is taken modulo 2^64 here too */
	return (int64_t)((uint64_t)sec * 1000u + (uint64_t)(nsec / 1000000));
}

static pyci_reason class_reason(pyci_jclass_status st)
{
	switch (st) {
	case PYCI_JCLASS_EMPTY:
		return PYCI_R_EMPTY;
	case PYCI_JCLASS_SHORT_MAGIC:
		return PYCI_R_SHORT_MAGIC;
	case PYCI_JCLASS_BAD_MAGIC:
		return PYCI_R_BAD_MAGIC;
	case PYCI_JCLASS_TRUNCATED:
		return PYCI_R_CLASS_TRUNCATED;
	default:
		return PYCI_R_CLASS_MALFORMED;
	}
}

void pyci_jython_judge(const pyci_jython_input *in, pyci_verdict *out)
{
	memset(out, 0, sizeof(*out));
	const pyci_jclass *c = in->jclass;
	const pyci_source_info *s = in->source;
	out->owner_impl = PYCI_IMPL_JYTHON;
	if (!in->regular) {
		out->status = PYCI_INVALID;
		out->reasons = BIT(PYCI_R_NOT_REGULAR);
		return;
	}
	if (in->read_err) {
		out->status = PYCI_INVALID;
		out->reasons = BIT(PYCI_R_UNREADABLE);
		return;
	}
	const pyci_jython_api *row = c->has_api ? pyci_jython_api_lookup(c->api) : NULL;
	if (row) {
		out->owner_major = row->major;
		out->owner_minor = row->minor;
	} else {
		out->owner_impl = PYCI_IMPL_UNKNOWN; /* no release writes it: whose is unknown */
	}
	/* the source is gone only when stat says so; anything else may be a source */
	int uncheckable = s->err != 0 && s->err != ENOENT && s->err != ENOTDIR;
	uint64_t why = 0;
	if (c->status != PYCI_JCLASS_OK) {
		out->status = PYCI_INVALID;
		out->reasons = BIT(class_reason(c->status)) |
			       (uncheckable ? BIT(PYCI_R_SOURCE_UNREADABLE) : 0);
		return;
	}
	if (uncheckable) {
		out->status = PYCI_INVALID;
		out->reasons = BIT(PYCI_R_SOURCE_UNREADABLE);
		return;
	}
	int api_ok = c->has_api && c->api == PYCI_JYTHON_API;
	uint64_t api_why = api_ok ? 0 : BIT(c->has_api ? PYCI_R_API_OTHER : PYCI_R_NO_API);
	if (s->err != 0 || !s->regular) {
		/* isFile() is false: the class alone, imported as it is if its API version is 39;
		 * another release's is not imported, but kept as that release's sourceless module */
		if (s->err == 0)
			why |= BIT(PYCI_R_SOURCE_NOT_FILE);
		out->status = PYCI_SOURCELESS;
		why |= BIT(api_ok ? PYCI_R_SOURCELESS : PYCI_R_NO_SOURCE) | api_why;
	} else {
		int64_t py_time = pyci_java_mtime_ms(s->mtime_sec, s->mtime_nsec);
		int64_t class_time = pyci_java_mtime_ms(in->mtime_sec, in->mtime_nsec);
		if (class_time < py_time)
			why |= BIT(PYCI_R_CLASS_OLDER);
		why |= api_why;
		if (api_ok) {
			/* AnnotationReader's mtime is -1 without the annotation; Java's subtraction
			 * wraps */
			int64_t mtime = c->has_mtime ? c->mtime_ms : -1;
			int64_t diff = (int64_t)((uint64_t)mtime - (uint64_t)py_time);
			if (diff > PYCI_JYTHON_MTIME_SLACK_MS)
				why |= BIT(PYCI_R_MTIME_RECORDED_LATER);
		}
		out->status = why ? PYCI_STALE : PYCI_FRESH;
	}
	if (in->targets) {
		/* an API version no release writes is judged as 2.7's: the only one judged */
		int major = row ? row->major : 2, minor = row ? row->minor : 7;
		if (!pyci_targets_contains(in->targets, PYCI_IMPL_JYTHON, major, minor)) {
			out->foreign = 1;
			why |= BIT(PYCI_R_NOT_TARGET);
		} else if (!api_ok) {
			out->foreign = 1; /* another release's class: the reason says which */
		}
		if (out->foreign && out->status == PYCI_FRESH)
			out->status = PYCI_FOREIGN;
	}
	out->reasons = why;
}
