/*
 * shadow.c - a module's source shadowed by a package or an extension module (see shadow.h).
 *
 * The common case costs no system call: a source directory with no entry named like a module
 * but for NAME.py and its caches gives no candidate, and a listed regular file NAME.EXT.so
 * shadows without a stat under importlib's rule.  Only a directory (or symlink) named NAME, a
 * symlink named like an extension module, and the import.c interpreters (<= 3.2), whose rule
 * depends on what fopen() would do, cost a stat or two.
 */
#define _GNU_SOURCE
#include "shadow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pycinspect/sysroot.h"

/* The first entry not before key (key_len bytes), in the walk's bytewise order. */
static size_t lower_bound(const pyci_entry *e, size_t n, const char *key, size_t key_len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t m = e[mid].len < key_len ? e[mid].len : key_len;
		int c = memcmp(e[mid].name, key, m);
		if (c < 0 || (c == 0 && e[mid].len < key_len))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int keep(pyci_buf *out, const pyci_entry *e)
{
	char type = (char)e->type;
	return pyci_buf_append(out, &type, 1) || pyci_buf_append(out, e->name, e->len + 1) ? -1 : 0;
}

/* Keep the entries that start with prefix and end in ".so" (the prefix "NAME." and the ".so"
 * of "NAME.so" share the dot: at least min_len bytes). */
static int keep_so(const pyci_entry *e, size_t n, const char *prefix, size_t plen, size_t min_len,
		   pyci_buf *out)
{
	for (size_t i = lower_bound(e, n, prefix, plen);
	     i < n && e[i].len >= plen && memcmp(e[i].name, prefix, plen) == 0; i++)
		if (e[i].len >= min_len && memcmp(e[i].name + e[i].len - 3, ".so", 3) == 0 &&
		    keep(out, &e[i]) != 0)
			return -1;
	return 0;
}

long shadow_collect(const pyci_entry *entries, size_t count, const char *stem, size_t stem_len,
		    pyci_buf *out)
{
	char prefix[NAME_MAX + sizeof("module")];
	size_t start = out->len;
	if (stem_len == 0 || stem_len > NAME_MAX || memchr(stem, '.', stem_len))
		return 0;
	size_t i = lower_bound(entries, count, stem, stem_len);
	const pyci_entry *e = i < count ? &entries[i] : NULL;
	if (e && e->len == stem_len && memcmp(e->name, stem, stem_len) == 0 &&
	    (e->type == DT_DIR || e->type == DT_LNK || e->type == DT_UNKNOWN) && keep(out, e) != 0)
		goto nomem;
	memcpy(prefix, stem, stem_len);
	prefix[stem_len] = '.';
	if (keep_so(entries, count, prefix, stem_len + 1, stem_len + 3, out) != 0)
		goto nomem;
	memcpy(prefix + stem_len, "module", 6);
	if (keep_so(entries, count, prefix, stem_len + 6, stem_len + 9, out) != 0)
		goto nomem;
	return (long)(out->len - start);
nomem:
	pyci_buf_truncate(out, start);
	errno = ENOMEM;
	return -1;
}

/* Whether name in a staging root's directory d counts by rule: stat'ed inside the root, and for
 * fopen() readable where it resolves.  The lookups fail as a finder's stat would on failure. */
static int counts_in_root(const shadow_dir *d, const char *name, pyci_find_rule rule)
{
	char path[PATH_MAX];
	struct stat st;
	size_t n = strlen(d->dir);
	int k = snprintf(path, sizeof(path), "%s%s%s", d->dir, n && d->dir[n - 1] != '/' ? "/" : "",
			 name);
	if (k < 0 || (size_t)k >= sizeof(path) || pyci_sysroot_stat(d->rootfd, path, &st) != 0)
		return 0;
	if (rule != PYCI_FIND_OPENABLE)
		return rule == PYCI_FIND_EXISTS || S_ISREG(st.st_mode);
	if (S_ISSOCK(st.st_mode))
		return 0;
	pyci_buf rel = PYCI_BUF_INIT;
	int ok = pyci_sysroot_resolve(d->rootfd, path, &rel) == 0 &&
		 faccessat(d->rootfd, rel.len ? rel.data : ".", R_OK,
			   AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
	pyci_buf_free(&rel);
	return ok;
}

/* Whether name in d counts by rule, as the finder asks it: following symlinks (stat). */
static int counts(const shadow_dir *d, const char *name, pyci_find_rule rule)
{
	struct stat st;
	if (d->rootfd >= 0)
		return counts_in_root(d, name, rule);
	if (fstatat(d->dirfd, name, &st, 0) != 0)
		return 0;
	switch (rule) {
	case PYCI_FIND_REGULAR:
		return S_ISREG(st.st_mode);
	case PYCI_FIND_EXISTS:
		return 1;
	default: /* fopen(name, "rb"): open(2) for reading, which a socket refuses */
		return !S_ISSOCK(st.st_mode) && faccessat(d->dirfd, name, R_OK, AT_EACCESS) == 0;
	}
}

/* NAME + suffix into buf (NAME_MAX + sizeof(pyci_shadow.suffix) bytes); 0, or -1: too long. */
static int join(char *buf, const char *stem, size_t stem_len, const char *suffix)
{
	size_t n = strlen(suffix);
	if (stem_len > NAME_MAX || n >= sizeof(((pyci_shadow *)0)->suffix))
		return -1;
	memcpy(buf, stem, stem_len);
	memcpy(buf + stem_len, suffix, n + 1);
	return 0;
}

static void found(pyci_shadow *out, pyci_shadow_kind kind, pyci_find_rule rule, const char *suffix)
{
	out->kind = kind;
	out->rule = rule;
	memcpy(out->suffix, suffix, strlen(suffix) + 1); /* join() checked its length */
}

/* The package NAME/ of f, if one of its __init__ suffixes counts. */
static int find_package(const shadow_dir *d, const char *stem, size_t stem_len,
			const pyci_finder *f, pyci_shadow *out)
{
	for (size_t k = 0; k < f->ninit; k++) {
		char suffix[sizeof(out->suffix)], name[NAME_MAX + sizeof(out->suffix)];
		int n = snprintf(suffix, sizeof(suffix), "/__init__%s", f->init[k]);
		if (n < 0 || (size_t)n >= sizeof(suffix) || join(name, stem, stem_len, suffix) != 0)
			continue;
		if (counts(d, name, f->init_rule)) {
			found(out, PYCI_SHADOW_PACKAGE, f->init_rule, suffix);
			return 1;
		}
	}
	return 0;
}

void shadow_find(const shadow_dir *d, const char *stem, size_t stem_len, const char *cand,
		 size_t cand_len, const pyci_finder *f, pyci_shadow *out)
{
	memset(out, 0, sizeof(*out));
	const char *end = cand + cand_len;
	int is_init = stem_len == 8 && memcmp(stem, "__init__", 8) == 0;
	for (const char *c = cand; f->packages && !is_init && c < end; c += strlen(c + 1) + 2)
		if (strlen(c + 1) == stem_len && find_package(d, stem, stem_len, f, out))
			return;
	for (size_t k = 0; k < f->next; k++) {
		char name[NAME_MAX + sizeof(out->suffix)];
		if (join(name, stem, stem_len, f->ext[k]) != 0)
			continue;
		for (const char *c = cand; c < end; c += strlen(c + 1) + 2) {
			if (strcmp(c + 1, name) != 0)
				continue;
			if ((f->ext_rule == PYCI_FIND_REGULAR && (unsigned char)c[0] == DT_REG) ||
			    counts(d, name, f->ext_rule)) {
				found(out, PYCI_SHADOW_EXTENSION, f->ext_rule, f->ext[k]);
				return;
			}
		}
	}
}

int shadow_still(const shadow_dir *d, const char *stem, size_t stem_len, const pyci_shadow *s)
{
	char name[NAME_MAX + sizeof(s->suffix)];
	if (s->kind == PYCI_SHADOW_NONE || join(name, stem, stem_len, s->suffix) != 0)
		return 0;
	return counts(d, name, s->rule);
}
