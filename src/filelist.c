/*
 * filelist.c - the caches of a list of paths (pyci_scan_list, see scan.h): what each listed
 * path names or brings, a directory at a time, for the scan engine.
 *
 * `git ls-files -z`, `dpkg -L`, `rpm -ql` and `find -print0` name sources, caches, directories
 * and every other kind of file, in any order, some twice, some in several spellings.  A path is
 * read by its name alone: NAME.py is a source, a cache name is a cache, anything else is
 * counted and never looked at (directories are not walked: dpkg -L and find name every one).
 * The sources and caches are sorted by the directory that holds their sources (the directory
 * named, a __pycache__'s parent; with a prefix, the directory a prefix-tree directory mirrors),
 * and each such directory (a site) is handled once, in the order it was first named: opened as
 * a path is opened (following symlinks), each listed source and legacy cache looked up in it
 * without following the last component, its __pycache__ (never followed) or its prefix-tree
 * directory (reached from the prefix one component at a time, never following a symlink)
 * listed once, and the entries that were named, or whose names map to a named source,
 * selected.  A directory named in two spellings (a/b, ./a/b, a symlink to it) is one site, by
 * its identity, so no cache is judged twice, and clean never meets one twice.  The engine then
 * judges and reports a site's caches as it does a walked directory's (scan.c, scanner_site),
 * against the targets a walk would give them there: those of the pyvenv.cfg found in the
 * sources' directory or above it (scanner_venv, once per directory however many sites are
 * below it).
 */
#define _GNU_SOURCE
#include "filelist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirio.h"
#include "pycinspect/prefix.h"
#include "pycinspect/sysroot.h"

#define PYCACHE "__pycache__"
#define PYCACHE_LEN (sizeof(PYCACHE) - 1)
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)

enum kind {
	K_SOURCE,  /* NAME.py */
	K_LEGACY,  /* NAME.pyc/.pyo outside a __pycache__, Jython's NAME$py.class */
	K_PYCACHE, /* any cache name in a __pycache__ */
	K_PREFIX,  /* a cache name inside the prefix tree */
};

/* A listed source or cache, and its site. */
struct lent {
	const char *path; /* as listed */
	const char *base; /* its last component (NUL-terminated: the path's end) */
	size_t base_len;
	const char *key; /* the site: the sources' directory as listed (display; "" for names
			  * without '/'), or for a prefix site its path below the root */
	size_t key_len;
	size_t key_off; /* a key in the arena (in_arena), until the arena settles */
	size_t idx;     /* its place in the list */
	int err;        /* a staging root's path whose directory does not resolve in it: why */
	unsigned char kind, prefix, in_arena;
};

struct site {
	size_t first, n; /* lents[first .. first + n) */
	size_t idx;      /* where in the list it was first named */
	size_t into;     /* the site it is part of (itself, or the first of its spellings) */
	size_t next;     /* the next spelling of the same directory, SIZE_MAX none */
	size_t last;     /* the first spelling's: the last one chained to it */
	int have_id;     /* dev, ino valid */
	dev_t dev;
	ino_t ino;
};

/* A name of a site's listing that was listed, with the entry that listed it. */
struct named {
	const char *name;
	size_t len;
	const struct lent *by;
};

struct lister {
	struct scanner *sc;
	const char *prefix;  /* as given, or NULL */
	size_t prefix_len;   /* without its trailing '/' */
	int prefixfd;        /* opened when first needed */
	pyci_buf prefix_rel; /* the prefix normalised (prefix.h) */
	const char *cwd;     /* the working directory (filelist_scan's) */
	const char *root;    /* a staging root's display path (pyci_scan_options.root), or NULL */
	size_t root_len;
	int rootfd;
	pyci_buf last_dir; /* a staging root: the directory text resolved last, */
	size_t last_off;   /* ...its key in the arena, */
	size_t last_len;   /* ...and that key's length */
	int last_err;      /* ...or why it did not resolve */
	pyci_list_stats *st;
	struct lent *l;
	size_t nl, capl;
	struct site *s;
	size_t ns;
	pyci_buf arena; /* the keys of prefix sites, and of a staging root's sites */
	/* one site's work */
	pyci_buf a, b, names;
	struct named *stems, *listed;
	size_t nstems, nlisted, capstems, caplisted;
	pyci_entry *legacy;
	size_t *legacy_off; /* where each legacy name is in names, until names settles */
	size_t nlegacy, caplegacy;
	unsigned char *select;
	size_t capselect;
	dirio_listing listing; /* the directory of the site's other caches */
	dirio_listing srclist; /* the sources' directory (do_site) */
};

/* ---- reading the list ------------------------------------------------------------------- */

/* Whether the directory part dir[0..n) ends in a component __pycache__. */
static int in_pycache(const char *dir, size_t n)
{
	return n >= PYCACHE_LEN && memcmp(dir + n - PYCACHE_LEN, PYCACHE, PYCACHE_LEN) == 0 &&
	       (n == PYCACHE_LEN || dir[n - PYCACHE_LEN - 1] == '/');
}

/* The length of the directory part of the path of a cache in the __pycache__ whose path is n
 * bytes long: its parent's ("" for "__pycache__", "/" for "/__pycache__"). */
static size_t pycache_parent(size_t n)
{
	if (n == PYCACHE_LEN)
		return 0;
	size_t p = n - PYCACHE_LEN - 1;
	return p == 0 ? 1 : p; /* "/__pycache__": the root */
}

/* The normalised path of directory dir[0..n) ("" is the working directory) into L->a. */
static int rel_of(struct lister *L, const char *dir, size_t n)
{
	pyci_buf_clear(&L->b);
	pyci_buf_clear(&L->a);
	if (pyci_buf_append(&L->b, n ? dir : ".", n ? n : 1) != 0)
		return -1;
	return pyci_prefix_rel_from(&L->a, L->cwd, L->b.data);
}

/* The key of a prefix site for directory dir[0..n): its path below the root (a source
 * directory) or, for a directory inside the prefix tree (below 1), its path below the prefix;
 * into the arena at e->key_off.  1 done, 0 (below) not inside the tree, -1 ENOMEM. */
static int prefix_key(struct lister *L, struct lent *e, const char *dir, size_t n, int below)
{
	if (rel_of(L, dir, n) != 0)
		return -1;
	const char *r = L->a.data;
	size_t len = L->a.len;
	if (below) {
		size_t p = L->prefix_rel.len;
		if (len < p || memcmp(r, L->prefix_rel.data, p) != 0 ||
		    (p && len > p && r[p] != '/'))
			return 0;
		r += p && len > p ? p + 1 : p;
		len -= (size_t)(r - L->a.data);
	}
	e->key_off = L->arena.len;
	e->key_len = len;
	e->prefix = 1;
	e->in_arena = 1;
	return pyci_buf_append(&L->arena, r, len) != 0 || pyci_buf_putc(&L->arena, '\0') ? -1 : 1;
}

/*
 * A staging root's site for the directory dir[0..n) of a listed path (a path of the installed
 * system): the display path of where it resolves inside the root (sysroot.h), into the arena at
 * e->key_off, or why it does not resolve, in e->err.  The same text as the last one is not
 * resolved again (a list names the files of a directory together).  0, or -1 (ENOMEM).
 */
static int root_key(struct lister *L, struct lent *e, const char *dir, size_t n)
{
	if (L->last_dir.data && L->last_dir.len == n && memcmp(L->last_dir.data, dir, n) == 0)
		goto known;
	pyci_buf_clear(&L->last_dir);
	pyci_buf_clear(&L->a);
	if (pyci_buf_append(&L->last_dir, dir, n) != 0 || pyci_buf_append(&L->last_dir, "", 0))
		return -1;
	L->last_err = 0;
	if (pyci_sysroot_resolve(L->rootfd, L->last_dir.data, &L->a) != 0) {
		if (errno == ENOMEM)
			return -1;
		L->last_err = errno;
		goto known;
	}
	L->last_off = L->arena.len;
	if (pyci_buf_append(&L->arena, L->root, L->root_len) != 0 ||
	    (L->a.len && L->root[L->root_len - 1] != '/' && pyci_buf_putc(&L->arena, '/') != 0) ||
	    pyci_buf_append(&L->arena, L->a.data, L->a.len) != 0)
		return -1;
	L->last_len = L->arena.len - L->last_off;
	if (pyci_buf_putc(&L->arena, '\0') != 0)
		return -1;
known:
	e->err = L->last_err;
	if (!e->err) {
		e->key_off = L->last_off;
		e->key_len = L->last_len;
		e->in_arena = 1;
	}
	return 0;
}

/* The path inside the staging root of a site's key (a display path that starts with it). */
static const char *key_in_root(const struct lister *L, const char *key, size_t key_len)
{
	if (key_len <= L->root_len)
		return "";
	return key + L->root_len + (key[L->root_len] == '/');
}

/* Classify one listed path and keep it when it is a source or a cache.  0, or -1 (ENOMEM). */
static int classify(struct lister *L, const char *path, size_t idx)
{
	size_t len = strlen(path);
	if (len == 0)
		return 0;
	L->st->paths++;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t blen = len - (size_t)(base - path);
	size_t dlen = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
	struct lent e = {.path = path,
			 .base = base,
			 .base_len = blen,
			 .key = path,
			 .key_len = dlen,
			 .idx = idx};
	int pc = in_pycache(path, dlen);
	pyci_cache_name cn;
	int rc = 0;
	if (blen > 3 && memcmp(base + blen - 3, ".py", 3) == 0) {
		L->st->sources++;
		e.kind = K_SOURCE;
		if (L->prefix)
			rc = prefix_key(L, &e, path, dlen, 0);
	} else if (pyci_cache_name_parse(base, blen, pc, &cn) == 0) {
		L->st->caches++;
		e.kind = pc ? K_PYCACHE : K_LEGACY;
		if (L->prefix && (rc = prefix_key(L, &e, path, dlen, 1)) == 1)
			e.kind = K_PREFIX;
		else if (pc)
			e.key_len = pycache_parent(dlen);
	} else {
		L->st->others++;
		return 0;
	}
	if (rc >= 0 && L->root)
		rc = root_key(L, &e, path, e.key_len);
	if (rc < 0)
		return -1;
	if (L->nl == L->capl) {
		size_t cap = L->capl ? L->capl * 2 : 256;
		struct lent *p = realloc(L->l, cap * sizeof(*p));
		if (!p)
			return -1;
		L->l = p;
		L->capl = cap;
	}
	L->l[L->nl++] = e;
	return 0;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static int cmp_site_of(const struct lent *a, const struct lent *b)
{
	if (a->prefix != b->prefix)
		return a->prefix - b->prefix;
	if ((a->err != 0) != (b->err != 0))
		return (a->err != 0) - (b->err != 0);
	return cmp_bytes(a->key, a->key_len, b->key, b->key_len);
}

static int cmp_lent(const void *pa, const void *pb)
{
	const struct lent *a = pa, *b = pb;
	int c = cmp_site_of(a, b);
	if (c)
		return c;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_site_idx(const void *pa, const void *pb)
{
	const struct site *a = pa, *b = pb;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Sites by identity, then by first mention (an index array into L->s, via qsort_r). */
static int cmp_site_id(const void *pa, const void *pb, void *ctx)
{
	const struct site *s = ctx;
	const struct site *a = &s[*(const size_t *)pa], *b = &s[*(const size_t *)pb];
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* The lents in site order, and the sites: one per directory spelling, in the order each was
 * first named; spellings of the same directory chained to the first.  0, or -1 (ENOMEM). */
static int make_sites(struct lister *L)
{
	for (size_t i = 0; i < L->nl; i++)
		if (L->l[i].in_arena)
			L->l[i].key = L->arena.data + L->l[i].key_off;
	if (L->nl)
		qsort(L->l, L->nl, sizeof(*L->l), cmp_lent);
	if (!(L->s = calloc(L->nl ? L->nl : 1, sizeof(*L->s))))
		return -1;
	for (size_t i = 0; i < L->nl; i++) {
		if (i == 0 || cmp_site_of(&L->l[i - 1], &L->l[i]) != 0)
			L->s[L->ns++] = (struct site){.first = i, .idx = L->l[i].idx};
		L->s[L->ns - 1].n++; /* the first lent has the smallest idx of its site */
	}
	qsort(L->s, L->ns, sizeof(*L->s), cmp_site_idx);
	/* the spellings of one directory (not for prefix sites, whose keys are normalised) */
	size_t *ord = malloc((L->ns ? L->ns : 1) * sizeof(*ord));
	if (!ord)
		return -1;
	size_t nid = 0;
	for (size_t i = 0; i < L->ns; i++) {
		struct site *s = &L->s[i];
		const struct lent *e = &L->l[s->first];
		struct stat st;
		s->into = s->last = i;
		s->next = SIZE_MAX;
		pyci_buf_clear(&L->a);
		if (e->prefix || e->err)
			continue;
		if (L->root ? pyci_sysroot_stat(L->rootfd, key_in_root(L, e->key, e->key_len), &st)
			    : pyci_buf_append(&L->a, e->key_len ? e->key : ".",
					      e->key_len ? e->key_len : 1) != 0 ||
				      stat(L->a.data, &st) != 0)
			continue;
		s->have_id = 1;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		ord[nid++] = i;
	}
	qsort_r(ord, nid, sizeof(*ord), cmp_site_id, L->s);
	for (size_t k = 1; k < nid; k++) {
		struct site *first = &L->s[ord[k - 1]], *s = &L->s[ord[k]];
		if (first->dev != s->dev || first->ino != s->ino)
			continue;
		s->into = first->into;
		/* chained in order of mention: ord is sorted so within an identity */
		struct site *head = &L->s[s->into];
		L->s[head->last].next = ord[k];
		head->last = ord[k];
	}
	free(ord);
	return 0;
}

/* ---- one site --------------------------------------------------------------------------- */

static int report(struct lister *L, const struct lent *e, int err)
{
	L->st->missing++;
	return scanner_error(L->sc, e->path, PYCI_WALK_ERR_LISTED, err);
}

static int add_named(struct named **v, size_t *n, size_t *cap, const char *name, size_t len,
		     const struct lent *by)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct named *p = realloc(*v, c * sizeof(*p));
		if (!p)
			return -1;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = (struct named){name, len, by};
	return 0;
}

static int cmp_named(const void *pa, const void *pb)
{
	const struct named *a = pa, *b = pb;
	return cmp_bytes(a->name, a->len, b->name, b->len);
}

/* Whether name[0..len) is among the sorted v[0..n). */
static const struct named *find_named(const struct named *v, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_bytes(v[mid].name, v[mid].len, name, len);
		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A legacy cache found in the sources' directory, its name kept in L->names (entry_name set
 * once the names settle). */
static int add_legacy(struct lister *L, const char *name, size_t len, unsigned char type)
{
	if (L->nlegacy == L->caplegacy) {
		size_t c = L->caplegacy ? L->caplegacy * 2 : 16;
		pyci_entry *p = realloc(L->legacy, c * sizeof(*p));
		if (p)
			L->legacy = p;
		size_t *o = p ? realloc(L->legacy_off, c * sizeof(*o)) : NULL;
		if (!o)
			return -1;
		L->legacy_off = o;
		L->caplegacy = c;
	}
	L->legacy_off[L->nlegacy] = L->names.len;
	L->legacy[L->nlegacy++] = (pyci_entry){NULL, len, type};
	return pyci_buf_append(&L->names, name, len) != 0 || pyci_buf_putc(&L->names, '\0') ? -1
											    : 0;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const pyci_entry *a = pa, *b = pb;
	return cmp_bytes(a->name, a->len, b->name, b->len);
}

/*
 * Whether name[0..len) (NUL-terminated) is an entry of the sources' directory srcfd: looked up
 * in L->srclist when it holds that directory's listing (list), else with fstatat, not
 * following a symlink.  0 and its type, or the errno that says why not.
 */
static int entry_of(struct lister *L, int srcfd, int list, const char *name, size_t len,
		    unsigned char *type)
{
	if (!list) {
		struct stat st;
		if (fstatat(srcfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return errno;
		*type = (unsigned char)IFTODT(st.st_mode);
		return 0;
	}
	size_t lo = 0, hi = L->srclist.count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const pyci_entry *e = &L->srclist.entries[mid];
		int c = cmp_bytes(e->name, e->len, name, len);
		if (c == 0) {
			*type = e->type;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return ENOENT;
}

/*
 * The legacy caches of the site whose sources are in srcfd (list: as entry_of): the listed
 * ones that exist (one that does not is reported), and NAME.pyc, NAME.pyo and Jython's
 * NAME$py.class of each named source, sorted, each once.  0, or -1 (errno: ENOMEM, or the
 * scan stopped).
 */
static int find_legacy(struct lister *L, int srcfd, int list, const struct named *legacy,
		       size_t nlegacy)
{
	unsigned char type = DT_UNKNOWN;
	L->nlegacy = 0;
	pyci_buf_clear(&L->names);
	for (size_t i = 0; i < nlegacy; i++) {
		int err = entry_of(L, srcfd, list, legacy[i].name, legacy[i].len, &type);
		if (err) {
			if (report(L, legacy[i].by, err) != 0)
				return -1;
		} else if (add_legacy(L, legacy[i].name, legacy[i].len, type) != 0) {
			return -1;
		}
	}
	static const char *const ext[] = {".pyc", ".pyo", PYCI_JYTHON_SUFFIX};
	for (size_t i = 0; i < L->nstems; i++) {
		for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
			pyci_buf_clear(&L->a);
			if (pyci_buf_append(&L->a, L->stems[i].name, L->stems[i].len) != 0 ||
			    pyci_buf_puts(&L->a, ext[k]) != 0)
				return -1;
			if (entry_of(L, srcfd, list, L->a.data, L->a.len, &type) == 0 &&
			    add_legacy(L, L->a.data, L->a.len, type) != 0)
				return -1;
		}
	}
	for (size_t i = 0; i < L->nlegacy; i++)
		L->legacy[i].name = L->names.data + L->legacy_off[i];
	if (L->nlegacy)
		qsort(L->legacy, L->nlegacy, sizeof(*L->legacy), cmp_entry);
	size_t n = 0;
	for (size_t i = 0; i < L->nlegacy; i++)
		if (n == 0 || cmp_entry(&L->legacy[n - 1], &L->legacy[i]) != 0)
			L->legacy[n++] = L->legacy[i];
	L->nlegacy = n;
	return 0;
}

/*
 * Select in L->listing (the directory of the site's other caches) the entries that were listed
 * (L->listed; one not there is reported) and those whose names map to a named source
 * (L->stems).  0, or -1 (errno).
 */
static int select_entries(struct lister *L)
{
	const dirio_listing *d = &L->listing;
	if (d->count > L->capselect) {
		unsigned char *p = realloc(L->select, d->count);
		if (!p)
			return -1;
		L->select = p;
		L->capselect = d->count;
	}
	if (d->count)
		memset(L->select, 0, d->count);
	for (size_t i = 0; i < L->nlisted; i++) {
		const struct named *n = &L->listed[i];
		if (i && cmp_named(&L->listed[i - 1], n) == 0)
			continue;
		size_t lo = 0, hi = d->count;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (cmp_bytes(d->entries[mid].name, d->entries[mid].len, n->name, n->len) <
			    0)
				lo = mid + 1;
			else
				hi = mid;
		}
		const pyci_entry *e = lo < d->count ? &d->entries[lo] : NULL;
		if (e && cmp_bytes(e->name, e->len, n->name, n->len) != 0)
			e = NULL;
		if (!e || e->type == DT_DIR) {
			if (report(L, n->by, e ? EISDIR : ENOENT) != 0)
				return -1;
			continue;
		}
		L->select[lo] = 1;
	}
	for (size_t i = 0; L->nstems && i < d->count; i++) {
		const pyci_entry *e = &d->entries[i];
		pyci_cache_name cn;
		if (e->type != DT_DIR && pyci_cache_name_parse(e->name, e->len, 1, &cn) == 0 &&
		    find_named(L->stems, L->nstems, e->name, cn.stem_len))
			L->select[i] = 1;
	}
	return 0;
}

/* Report every listed name of L->listed, with err. */
static int report_listed(struct lister *L, int err)
{
	for (size_t i = 0; i < L->nlisted; i++)
		if (report(L, L->listed[i].by, err) != 0)
			return -1;
	return 0;
}

/*
 * Open and list the directory of the site's other caches, pcfd (opened by the caller, or -1
 * with open_err), and select its entries.  A directory that is not there (or is a symlink,
 * which is not followed) has nothing for the named sources; the listed caches in it are
 * reported.  *listed: 1 when L->listing holds it.  0, or -1 (errno).
 */
static int list_caches(struct lister *L, int pcfd, int open_err, const char *pcpath, int *listed)
{
	*listed = 0;
	int err = open_err;
	if (pcfd >= 0 && dirio_list(pcfd, &L->listing) == 0) {
		*listed = 1;
		return select_entries(L);
	}
	if (pcfd >= 0)
		err = errno;
	if (err == ENOMEM)
		return -1;
	if (L->nlisted)
		return report_listed(L, err);
	if (err == ENOENT || err == ENOTDIR || err == ELOOP)
		return 0;
	return scanner_error(L->sc, pcpath, pcfd >= 0 ? PYCI_WALK_ERR_READ : PYCI_WALK_ERR_OPEN,
			     err);
}

/* The sorted, deduplicated stems of the named sources, and the listed names, sorted. */
static void sort_names(struct lister *L)
{
	if (L->nstems) /* qsort's array may not be NULL, even for 0 elements */
		qsort(L->stems, L->nstems, sizeof(*L->stems), cmp_named);
	size_t n = 0;
	for (size_t i = 0; i < L->nstems; i++)
		if (n == 0 || cmp_named(&L->stems[n - 1], &L->stems[i]) != 0)
			L->stems[n++] = L->stems[i];
	L->nstems = n;
	if (L->nlisted)
		qsort(L->listed, L->nlisted, sizeof(*L->listed), cmp_named);
}

/* The directory of the prefix tree at rel (below the prefix), reached one component at a time
 * without following a symlink.  A descriptor, or -1 with errno. */
static int open_in_tree(struct lister *L, const char *rel)
{
	if (L->prefixfd < 0 && (L->prefixfd = open(L->prefix, DIR_FLAGS)) < 0)
		return -1;
	int fd = fcntl(L->prefixfd, F_DUPFD_CLOEXEC, 0);
	for (const char *p = rel; fd >= 0 && *p;) {
		size_t n = strcspn(p, "/");
		pyci_buf_clear(&L->b);
		if (pyci_buf_append(&L->b, p, n) != 0) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		int next = openat(fd, L->b.data, DIR_FLAGS | O_NOFOLLOW);
		int e = errno;
		close(fd);
		errno = e;
		fd = next;
		p += n;
		while (*p == '/')
			p++;
	}
	return fd;
}

/*
 * One site and the other spellings of its directory: the named sources looked up (a missing
 * one is reported, and its caches still judged: they are orphans), the caches found, and the
 * site handed to the engine.  0, or -1 (errno: ENOMEM, the scan stopped, the prefix).
 */
static int do_site(struct lister *L, size_t si)
{
	const struct site *s0 = &L->s[si];
	const struct lent *e0 = &L->l[s0->first];
	int prefix = e0->prefix;
	L->nstems = L->nlisted = 0;
	struct named *legacy = NULL;
	size_t nlegacy = 0, caplegacy = 0;
	pyci_buf srcpath = PYCI_BUF_INIT, pcpath = PYCI_BUF_INIT;
	int srcfd = -1, pcfd = -1, rc = -1, listed = 0;

	if (e0->err) { /* a staging root's directory that does not resolve inside it */
		for (size_t i = 0; i < s0->n; i++)
			if (report(L, &L->l[s0->first + i], L->l[s0->first + i].err) != 0)
				return -1;
		return 0;
	}
	/* the sources' directory: as listed, or for a prefix site "/" and its key */
	if ((prefix && pyci_buf_putc(&srcpath, '/') != 0) ||
	    pyci_buf_append(&srcpath, e0->key, e0->key_len) != 0)
		goto out;
	srcfd = L->root ? pyci_sysroot_open(L->rootfd, key_in_root(L, e0->key, e0->key_len),
					    DIR_FLAGS)
			: open(srcpath.len ? srcpath.data : ".", DIR_FLAGS);
	int src_err = srcfd < 0 ? errno : 0;
	const struct venv_scope *scope = NULL; /* a prefix tree's sources: the options' targets */
	if (srcfd >= 0 && !prefix &&
	    scanner_venv(L->sc, srcfd, srcpath.len ? srcpath.data : ".", &scope) != 0)
		goto out;
	for (size_t k = si; k != SIZE_MAX; k = L->s[k].next) {
		for (size_t i = 0; i < L->s[k].n; i++) {
			const struct lent *e = &L->l[L->s[k].first + i];
			int r = 0;
			if (srcfd < 0 && e->kind != K_PREFIX && !(prefix && e->kind == K_SOURCE))
				r = report(L, e, src_err); /* no caches to look for there */
			else if (e->kind == K_SOURCE)      /* looked up below */
				r = add_named(&L->stems, &L->nstems, &L->capstems, e->base,
					      e->base_len - 3, e);
			else if (e->kind == K_LEGACY)
				r = add_named(&legacy, &nlegacy, &caplegacy, e->base, e->base_len,
					      e);
			else
				r = add_named(&L->listed, &L->nlisted, &L->caplisted, e->base,
					      e->base_len, e);
			if (r != 0)
				goto out;
		}
	}
	/* each named source that is not there is reported; its caches are still judged */
	/* the sources' directory, read once: for the lookups below and for what shadows a
	 * module (shadow.h), which the engine would read it for otherwise */
	int list = srcfd >= 0 && dirio_list(srcfd, &L->srclist) == 0;
	for (size_t i = 0; i < L->nstems; i++) {
		unsigned char type = DT_UNKNOWN;
		const struct named *n = &L->stems[i];
		int err = srcfd < 0 ? src_err
				    : entry_of(L, srcfd, list, n->by->base, n->by->base_len, &type);
		if (err && report(L, n->by, err) != 0)
			goto out;
	}
	sort_names(L);
	L->nlegacy = 0;
	if (srcfd >= 0 && !prefix && find_legacy(L, srcfd, list, legacy, nlegacy) != 0)
		goto out;
	if (L->nstems || L->nlisted) {
		int open_err = 0;
		if (prefix) {
			if (pyci_buf_append(&pcpath, L->prefix, L->prefix_len) != 0 ||
			    (e0->key_len &&
			     ((L->prefix_len && L->prefix[L->prefix_len - 1] != '/' &&
			       pyci_buf_putc(&pcpath, '/') != 0) ||
			      pyci_buf_append(&pcpath, e0->key, e0->key_len) != 0)))
				goto out;
			/* a prefix that cannot be opened fails the whole list */
			if ((pcfd = open_in_tree(L, e0->key)) < 0 && L->prefixfd < 0)
				goto out;
		} else {
			if (pyci_buf_append(&pcpath, srcpath.data, srcpath.len) != 0 ||
			    (srcpath.len && srcpath.data[srcpath.len - 1] != '/' &&
			     pyci_buf_putc(&pcpath, '/') != 0) ||
			    pyci_buf_puts(&pcpath, PYCACHE) != 0)
				goto out;
			pcfd = openat(srcfd, PYCACHE, DIR_FLAGS | O_NOFOLLOW);
		}
		if (pcfd < 0)
			open_err = errno;
		if (list_caches(L, pcfd, open_err, pcpath.data, &listed) != 0)
			goto out;
	}
	scan_site site = {.srcfd = srcfd,
			  .src_err = src_err,
			  .srcpath = srcpath.len ? srcpath.data : "",
			  .src = list ? L->srclist.entries : NULL,
			  .nsrc = list ? L->srclist.count : 0,
			  .legacy = L->legacy,
			  .nlegacy = L->nlegacy,
			  .pcfd = listed ? pcfd : -1,
			  .pcpath = pcpath.data,
			  .pc = L->listing.entries,
			  .npc = listed ? L->listing.count : 0,
			  .pc_select = L->select,
			  .prefix = prefix,
			  .scope = scope};
	rc = L->nlegacy || listed ? scanner_site(L->sc, &site) : 0;
out:;
	int e = errno;
	if (srcfd >= 0)
		close(srcfd);
	if (pcfd >= 0)
		close(pcfd);
	free(legacy);
	pyci_buf_free(&srcpath);
	pyci_buf_free(&pcpath);
	errno = e;
	return rc;
}

/* ---- the list --------------------------------------------------------------------------- */

static void lister_free(struct lister *L)
{
	if (L->prefixfd >= 0)
		close(L->prefixfd);
	pyci_buf_free(&L->prefix_rel);
	pyci_buf_free(&L->last_dir);
	free(L->l);
	free(L->s);
	pyci_buf_free(&L->arena);
	pyci_buf_free(&L->a);
	pyci_buf_free(&L->b);
	pyci_buf_free(&L->names);
	free(L->stems);
	free(L->listed);
	free(L->legacy);
	free(L->legacy_off);
	free(L->select);
	dirio_listing_free(&L->listing);
	dirio_listing_free(&L->srclist);
}

int filelist_scan(struct scanner *sc, const char *const *paths, size_t n, const char *prefix,
		  const pyci_scan_options *opt, pyci_list_stats *stats)
{
	pyci_list_stats none = {0};
	char *cwd = NULL;
	struct lister L = {.sc = sc, .prefix = prefix, .prefixfd = -1, .st = stats ? stats : &none};
	int rc = -1;
	*L.st = (pyci_list_stats){0};
	if (opt->root) {
		if (prefix) { /* not done: a prefix tree's sources inside a root */
			errno = EINVAL;
			goto out;
		}
		L.root = opt->root;
		L.root_len = strlen(opt->root);
		L.rootfd = opt->root_fd;
	}
	if (prefix) {
		L.prefix_len = strlen(prefix);
		while (L.prefix_len > 1 && prefix[L.prefix_len - 1] == '/')
			L.prefix_len--;
		if (L.prefix_len == 0) {
			errno = EINVAL;
			goto out;
		}
		/* the tree must be there: a mistyped prefix would make every cache look missing */
		if ((L.prefixfd = open(prefix, DIR_FLAGS)) < 0 || !(cwd = dirio_working_dir()) ||
		    pyci_prefix_rel_from(&L.prefix_rel, cwd, prefix) != 0)
			goto out;
		L.cwd = cwd;
	}
	for (size_t i = 0; i < n; i++)
		if (classify(&L, paths[i], i) != 0)
			goto out;
	if (make_sites(&L) != 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < L.ns && rc == 0; i++)
		if (L.s[i].into == i)
			rc = do_site(&L, i);
out:;
	int e = errno;
	lister_free(&L);
	free(cwd);
	errno = rc ? e : 0;
	return rc;
}
