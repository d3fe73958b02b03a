/*
 * gitfind.c - the findings of `pycinspect git` in one repository (gitfind.h).
 *
 * One pass over the index finds the tracked caches, the directories that hold tracked sources
 * and every directory the index knows (for the walk of the work tree, gitwalk.c, which adds what
 * the index does not know).  Each tracked cache is then looked up in HEAD's tree, and its
 * work-tree file judged by the engine of `scan` (pyci_scan_path on that one file).  Each
 * directory that holds sources is asked the four questions of the ignore rules (gitrepo.c):
 * those the index names while the work tree is walked, those the walk found after it.
 *
 * The exception.  Python imports a NAME.pyc (or NAME$py.class, Jython) without its source only
 * from the directory where NAME.py would be, never from __pycache__.  A tracked cache of that
 * legacy layout whose NAME.py is neither in the index nor in the work tree is what a sourceless
 * distribution looks like: it is reported apart as possibly deliberate, --check does not fail
 * on it, and --fix leaves it tracked unless a PATH names it.
 */
#define _GNU_SOURCE /* memrchr */
#include "gitfind.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "pycinspect/record.h"

const char *const gitfind_probe_names[PROBE_COUNT] = {"__pycache__/", "pycinspect-probe.pyc",
						      "pycinspect-probe.pyo",
						      "pycinspect-probe$py.class"};
const char *const gitfind_probe_rules[PROBE_COUNT] = {"__pycache__/", "*.py[cod]", "*.py[cod]",
						      "*$py.class"};
const char *const gitfind_rules[GITFIND_RULES] = {"__pycache__/", "*.py[cod]", "*$py.class"};

int gitfind_rule_of_probe(int probe)
{
	return probe == PROBE_PYCACHE ? 0 : probe == PROBE_CLASS ? 2 : 1;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The length of the part of path before its first "__pycache__" directory component (the
 * directory that holds that __pycache__), or -1 when no directory is called so. */
static long pycache_parent(const char *path, size_t len)
{
	static const char pc[] = "__pycache__/";
	const size_t n = sizeof(pc) - 1;
	for (size_t i = 0; i + n <= len; i++) {
		if ((i == 0 || path[i - 1] == '/') && memcmp(path + i, pc, n) == 0)
			return i ? (long)i - 1 : 0;
		const char *slash = memchr(path + i, '/', len - i);
		if (!slash)
			break;
		i = (size_t)(slash - path); /* the loop's i++ steps past it */
	}
	return -1;
}

/* The legacy suffix of a cache name that has one, else NULL. */
static const char *legacy_suffix(const char *path, size_t len)
{
	static const char *const sfx[] = {".pyc", ".pyo", "$py.class"};
	for (size_t i = 0; i < sizeof(sfx) / sizeof(*sfx); i++)
		if (ends_with(path, len, sfx[i]))
			return sfx[i];
	return NULL;
}

int gitfind_is_cache(const char *path, size_t len)
{
	return legacy_suffix(path, len) || pycache_parent(path, len) >= 0;
}

/* ---- scope ------------------------------------------------------------------------------- */

/* Whether path[0 .. len) is dir or below it ("" holds everything). */
static int under(const char *dir, const char *path, size_t len)
{
	size_t n = strlen(dir);
	if (n == 0)
		return 1;
	return len >= n && memcmp(path, dir, n) == 0 && (len == n || path[n] == '/');
}

int gitscope_has_file(const struct gitscope *s, const char *path, size_t len)
{
	for (size_t i = 0; i < s->dirs.n; i++)
		if (under(s->dirs.items[i], path, len))
			return 1;
	return pathlist_find(&s->files, path, len) >= 0;
}

int gitscope_has_dir(const struct gitscope *s, const char *dir, size_t len)
{
	for (size_t i = 0; i < s->dirs.n; i++)
		if (under(s->dirs.items[i], dir, len))
			return 1;
	return 0;
}

int gitscope_names(const struct gitscope *s, const char *path, size_t len)
{
	for (size_t i = 0; i < s->dirs.n; i++)
		if (s->dirs.items[i][0] && under(s->dirs.items[i], path, len))
			return 1;
	return pathlist_find(&s->files, path, len) >= 0;
}

/* ---- the index --------------------------------------------------------------------------- */

static int add_tracked(struct gitfindings *f, const git_index_entry *e, size_t len)
{
	if (f->ntracked == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		struct gittracked *p = realloc(f->tracked, cap * sizeof(*p));
		if (!p)
			return -1;
		f->tracked = p;
		f->cap = cap;
	}
	struct gittracked *t = &f->tracked[f->ntracked];
	*t = (struct gittracked){.len = len, .mode = e->mode, .stage = GIT_INDEX_ENTRY_STAGE(e)};
	if (!(t->path = malloc(len + 1)))
		return -1;
	memcpy(t->path, e->path, len + 1);
	git_oid_tostr(t->id, sizeof(t->id), &e->id);
	if (e->flags_extended & GIT_INDEX_ENTRY_SKIP_WORKTREE)
		t->wt = GITWT_SPARSE;
	f->ntracked++;
	return 0;
}

/* The length of the longest directory that holds both a and b (or is one of them), "" (0) when
 * none does. */
static size_t common_dir(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;
	while (i < n && a[i] == b[i])
		i++;
	if (i == n && (alen == blen || (alen > blen ? a : b)[n] == '/'))
		return n;                /* the same, or one holds the other */
	while (i > 0 && a[i - 1] != '/') /* a[0 .. i) is b's too: its last '/' */
		i--;
	return i > 0 ? i - 1 : 0;
}

/* Add dir[0 .. len) and the directories above it to l, but for those that also hold prev (the
 * directory of the entry before, whose own were added then; NULL for the first entry).
 * Duplicates are dropped when l is sorted. */
static int add_dir_and_parents(struct pathlist *l, const char *dir, size_t len, const char *prev,
			       size_t prev_len)
{
	size_t known = prev ? common_dir(dir, len, prev, prev_len) : 0;
	while (!prev || len > known) {
		if (pathlist_add(l, dir, len) != 0)
			return -1;
		if (len == 0)
			return 0;
		while (len > 0 && dir[len - 1] != '/')
			len--;
		if (len > 0)
			len--; /* the '/' */
	}
	return 0;
}

/* Whether a file exists at the top-relative path (any type: a source may be a symlink). */
static int in_work_tree(const struct gitrepo *r, const char *path, pyci_buf *scratch)
{
	pyci_buf_clear(scratch);
	struct stat st;
	return pyci_buf_append(scratch, r->top, r->top_len) == 0 &&
	       pyci_buf_puts(scratch, path) == 0 && lstat(scratch->data, &st) == 0;
}

/* Whether t is the exception: a legacy-layout cache with no NAME.py beside it. */
static int find_exception(struct gitrepo *r, struct gittracked *t, int staged, pyci_buf *scratch)
{
	const char *sfx = legacy_suffix(t->path, t->len);
	if (!sfx || pycache_parent(t->path, t->len) >= 0)
		return 0;
	pyci_buf src = PYCI_BUF_INIT;
	if (pyci_buf_append(&src, t->path, t->len - strlen(sfx)) != 0 ||
	    pyci_buf_puts(&src, ".py") != 0) {
		pyci_buf_free(&src);
		return -1;
	}
	size_t at;
	int found = git_index_find(&at, r->index, src.data) == 0;
	if (!found && !staged)
		found = in_work_tree(r, src.data, scratch);
	t->exception = !found;
	pyci_buf_free(&src);
	return 0;
}

static int read_index(struct gitrepo *r, const struct gitscope *scope, int staged,
		      struct gitfindings *f)
{
	size_t n = git_index_entrycount(r->index);
	const char *last_dir = NULL, *last_src = NULL;
	size_t last_dir_len = 0, last_src_len = 0;
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(r->index, i);
		if (!e)
			continue;
		const char *path = e->path;
		size_t len = strlen(path);
		const char *slash = memrchr(path, '/', len);
		size_t dlen = slash ? (size_t)(slash - path) : 0;
		if (!staged &&
		    (!last_dir || dlen != last_dir_len || memcmp(path, last_dir, dlen) != 0)) {
			if (add_dir_and_parents(&f->index_dirs, path, dlen, last_dir,
						last_dir_len) != 0)
				return -1;
			last_dir = path;
			last_dir_len = dlen;
		}
		if (e->mode == GIT_FILEMODE_COMMIT) { /* a submodule */
			if (!staged && GIT_INDEX_ENTRY_STAGE(e) == 0 &&
			    gitscope_has_dir(scope, path, len) &&
			    (pathlist_add(&f->submodules, path, len) != 0 ||
			     pathlist_add(&f->gitlinks, path, len) != 0))
				return -1;
			continue;
		}
		if (!staged && ends_with(path, len, ".py") && gitscope_has_dir(scope, path, dlen) &&
		    (!last_src || dlen != last_src_len || memcmp(path, last_src, dlen) != 0)) {
			if (pathlist_add(&f->source_dirs, path, dlen) != 0)
				return -1;
			last_src = path;
			last_src_len = dlen;
		}
		if (gitfind_is_cache(path, len) && gitscope_has_file(scope, path, len) &&
		    add_tracked(f, e, len) != 0)
			return -1;
	}
	pathlist_sort(&f->index_dirs);
	pathlist_sort(&f->gitlinks);
	pathlist_sort(&f->source_dirs);
	return 0;
}

/* ---- judging ----------------------------------------------------------------------------- */

static int capture(void *ctx, const pyci_record *rec)
{
	struct gittracked *t = ctx;
	t->judged = 1;
	t->status = rec->verdict->status;
	t->reasons = rec->verdict->reasons;
	if (pyci_record_version(rec, t->version, sizeof(t->version)) != 0)
		t->version[0] = '\0';
	return 0;
}

/* A file named on its own is never walked: nothing to report. */
static void no_walk_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	(void)ctx;
	(void)path;
	(void)kind;
	(void)err;
}

/* The work-tree file of t: there or not, and its verdict. */
static int judge(struct gitrepo *r, struct gittracked *t, const pyci_scan_options *opt,
		 pyci_buf *scratch)
{
	if (t->wt == GITWT_SPARSE)
		return 0;
	pyci_buf_clear(scratch);
	if (pyci_buf_append(scratch, r->top, r->top_len) != 0 ||
	    pyci_buf_append(scratch, t->path, t->len) != 0)
		return -1;
	struct stat st;
	if (lstat(scratch->data, &st) != 0) {
		if (errno != ENOENT && errno != ENOTDIR) {
			t->wt = GITWT_NOT_FILE;
			t->judge_errno = errno;
			return 0;
		}
		t->wt = GITWT_DELETED;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		t->wt = GITWT_NOT_FILE;
		return 0;
	}
	t->wt = GITWT_PRESENT;
	pyci_scan_ops ops = {.record = capture, .error = no_walk_error, .ctx = t};
	if (pyci_scan_path(scratch->data, opt, &ops) != 0) {
		if (errno == ENOMEM)
			return -1;
		t->judge_errno = errno; /* EINVAL: not a .pyc/.pyo name (a $py.class, ...) */
	}
	return 0;
}

/* ---- the ignore rules -------------------------------------------------------------------- */

/* The directory whose caches t is one of: the one holding its __pycache__, or its own. */
static size_t source_dir_len(const struct gittracked *t)
{
	long pc = pycache_parent(t->path, t->len);
	if (pc >= 0)
		return (size_t)pc;
	const char *slash = memrchr(t->path, '/', t->len);
	return slash ? (size_t)(slash - t->path) : 0;
}

/* The four questions of directory d.  0, -1 (out of memory, not said) or -2 (libgit2, said). */
static int ask_dir(struct gitrepo *r, const char *d, unsigned char answers[PROBE_COUNT],
		   pyci_buf *scratch)
{
	for (int p = 0; p < PROBE_COUNT; p++) {
		pyci_buf_clear(scratch);
		if ((*d && pyci_buf_printf(scratch, "%s/", d) != 0) ||
		    pyci_buf_puts(scratch, gitfind_probe_names[p]) != 0)
			return -1;
		enum gitign ans;
		if (gitrepo_ignore(r, scratch->data, &ans) != 0)
			return -2;
		answers[p] = (unsigned char)ans;
	}
	return 0;
}

/*
 * The questions about the directories the index knows to hold sources, asked while the work
 * tree is walked: on a thread of their own, with a repository object of their own (libgit2's
 * are not shared between threads).  The two take about as long on a large repository, and
 * neither waits for the other: the walk adds directories (found_dirs) that are asked about
 * after it.  When the walk is done first, this thread takes its share of what is left to ask
 * (the next directory is an atomic counter): the two threads never ask about the same one.
 * One thread only when libgit2 was built without threads, or for few directories.
 */
#define ASK_ON_THREAD_MIN 64

struct asker {
	struct gitrepo view;
	const struct pathlist *dirs;
	unsigned char (*answers)[PROBE_COUNT];
	atomic_size_t next; /* the next directory to ask about */
	int rc;
	int started;
	pthread_t thread;
};

/* Ask r about a's directories, taking them one by one from a->next.  0, or -1 (said). */
static int ask_dirs(struct gitrepo *r, struct asker *a)
{
	pyci_buf scratch = PYCI_BUF_INIT;
	int rc = 0;
	while (rc == 0) {
		size_t i = atomic_fetch_add(&a->next, 1);
		if (i >= a->dirs->n)
			break;
		rc = ask_dir(r, a->dirs->items[i], a->answers[i], &scratch);
	}
	pyci_buf_free(&scratch);
	if (rc == -1)
		cli_error("out of memory");
	return rc ? -1 : 0;
}

static void *asker_run(void *arg)
{
	struct asker *a = arg;
	a->rc = ask_dirs(&a->view, a);
	return NULL;
}

/* Start asking about f->source_dirs into a->answers (allocated here).  0, or -1 (said). */
static int asker_start(struct gitrepo *r, struct gitfindings *f, struct asker *a)
{
	*a = (struct asker){.dirs = &f->source_dirs};
	atomic_init(&a->next, 0);
	/* one row at least: never NULL, whatever the count */
	if (!(a->answers = calloc(f->source_dirs.n + 1, sizeof(*a->answers)))) {
		cli_error("out of memory");
		return -1;
	}
	if (f->source_dirs.n < ASK_ON_THREAD_MIN || !(git_libgit2_features() & GIT_FEATURE_THREADS))
		return 0;
	if (gitrepo_open_view(&a->view, r) != 0)
		return -1;
	if (pthread_create(&a->thread, NULL, asker_run, a) != 0) {
		gitrepo_close(&a->view); /* then on this thread, after the walk */
		return 0;
	}
	a->started = 1;
	return 0;
}

/* Ask what is left on this thread (all of it if no thread was started), then wait for the
 * thread.  walked: the walk succeeded (else nothing more is asked here).  0, or -1 (said). */
static int asker_finish(struct gitrepo *r, struct asker *a, int walked)
{
	int rc = walked ? ask_dirs(r, a) : -1;
	if (!a->started)
		return rc;
	if (rc != 0) /* the thread stops at its next directory */
		atomic_store(&a->next, a->dirs->n);
	a->started = 0;
	int e = pthread_join(a->thread, NULL);
	gitrepo_close(&a->view);
	if (e != 0) {
		cli_error("cannot wait for a thread: %s", strerror(e));
		return -1;
	}
	return rc ? rc : a->rc;
}

/* Every directory asked about: the index's (answered by the asker) and the walk's. */
static int merge_dirs(struct gitrepo *r, struct gitfindings *f, const struct asker *a)
{
	for (size_t i = 0; i < f->source_dirs.n; i++)
		if (pathlist_add(&f->dirs, f->source_dirs.items[i],
				 strlen(f->source_dirs.items[i])) != 0)
			goto oom;
	for (size_t i = 0; i < f->found_dirs.n; i++)
		if (pathlist_add(&f->dirs, f->found_dirs.items[i],
				 strlen(f->found_dirs.items[i])) != 0)
			goto oom;
	pathlist_sort(&f->dirs);
	if (!(f->answers = calloc(f->dirs.n + 1, sizeof(*f->answers))))
		goto oom;
	pyci_buf scratch = PYCI_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < f->dirs.n && rc == 0; i++) {
		const char *d = f->dirs.items[i];
		long j = pathlist_find(&f->source_dirs, d, strlen(d));
		if (j >= 0)
			memcpy(f->answers[i], a->answers[j], sizeof(f->answers[i]));
		else
			rc = ask_dir(r, d, f->answers[i], &scratch);
	}
	pyci_buf_free(&scratch);
	if (rc == -1)
		goto oom;
	return rc ? -1 : 0;
oom:
	cli_error("out of memory");
	return -1;
}

/* Keep the submodules that are checked out (their work tree holds a .git). */
static int read_submodules(struct gitrepo *r, struct gitfindings *f, pyci_buf *scratch)
{
	size_t k = 0;
	pyci_buf p = PYCI_BUF_INIT;
	for (size_t i = 0; i < f->submodules.n; i++) {
		char *s = f->submodules.items[i];
		pyci_buf_clear(&p);
		if (pyci_buf_printf(&p, "%s/.git", s) != 0) {
			pyci_buf_free(&p);
			return -1;
		}
		if (in_work_tree(r, p.data, scratch))
			f->submodules.items[k++] = s;
		else
			free(s);
	}
	f->submodules.n = k;
	pyci_buf_free(&p);
	return 0;
}

int gitfind_run(struct gitrepo *r, const struct gitscope *scope, int staged,
		const pyci_scan_options *opt, struct gitfindings *f)
{
	*f = (struct gitfindings){0};
	pyci_buf scratch = PYCI_BUF_INIT;
	int rc = -1;
	if (read_index(r, scope, staged, f) != 0)
		goto oom;
	size_t keep = 0;
	for (size_t i = 0; i < f->ntracked; i++) {
		struct gittracked *t = &f->tracked[i];
		const git_index_entry *e = git_index_get_bypath(r->index, t->path, t->stage);
		if (e && gitrepo_in_head(r, e, &t->in_head, &t->modified) != 0)
			goto out;
		if (staged && (t->stage != 0 || (t->in_head && !t->modified)))
			continue; /* not a staged change: dropped below */
		keep++;
		if (find_exception(r, t, staged, &scratch) != 0)
			goto oom;
		t->named = gitscope_names(scope, t->path, t->len);
		if (!staged) {
			if (judge(r, t, opt, &scratch) != 0)
				goto oom;
			if (gitrepo_ignore(r, t->path, &t->ignored) != 0)
				goto out;
			size_t dl = source_dir_len(t);
			if (!t->exception && gitscope_has_dir(scope, t->path, dl) &&
			    pathlist_add(&f->found_dirs, t->path, dl) != 0)
				goto oom;
		}
	}
	if (keep < f->ntracked) { /* --staged: only the staged changes */
		size_t k = 0;
		for (size_t i = 0; i < f->ntracked; i++) {
			struct gittracked *t = &f->tracked[i];
			if (t->stage != 0 || (t->in_head && !t->modified))
				free(t->path);
			else
				f->tracked[k++] = *t;
		}
		f->ntracked = k;
	}
	if (read_submodules(r, f, &scratch) != 0)
		goto oom;
	if (staged) {
		rc = 0;
		goto out;
	}
	struct asker a;
	if (asker_start(r, f, &a) != 0) {
		free(a.answers);
		goto out;
	}
	int walked = gitwalk_run(r, scope, f);
	int asked = asker_finish(r, &a, walked == 0);
	if (walked == 0 && asked == 0)
		rc = merge_dirs(r, f, &a);
	free(a.answers);
	goto out;
oom:
	cli_error("out of memory");
out:
	pyci_buf_free(&scratch);
	return rc;
}

void gitfindings_free(struct gitfindings *f)
{
	for (size_t i = 0; i < f->ntracked; i++)
		free(f->tracked[i].path);
	free(f->tracked);
	free(f->answers);
	pathlist_free(&f->dirs);
	pathlist_free(&f->at_risk);
	pathlist_free(&f->submodules);
	pathlist_free(&f->negations);
	pathlist_free(&f->index_dirs);
	pathlist_free(&f->gitlinks);
	pathlist_free(&f->source_dirs);
	pathlist_free(&f->found_dirs);
	*f = (struct gitfindings){0};
}
