/*
 * scan.c - the scan engine: walk, group each directory's caches, have them judged, report.
 *
 * Each directory visited makes one or two groups: the names of its caches and of its
 * __pycache__'s, with the descriptors of both directories.  Each cache of a group is judged by
 * judge.c (its header read, its source stat'ed once for the caches that share it, hashed only
 * when the verdict needs it), with the group's directory as the place of its sources.  Groups
 * are reported on the calling thread in the walk's order, while their directories are open
 * (ops->record may act through them: clean), so the output is the same for any number of
 * threads.  The excludes are exclude.c's.
 *
 * Two ways to get there.  With threads and enough descriptors, pwalk.c walks: each directory is
 * listed, grouped and judged on a worker, and the calling thread reports; subtrees deeper than
 * MAX_PAR_DEPTH are handed to walk.c on the calling thread.  Otherwise (one thread, a tight
 * RLIMIT_NOFILE, a single file named) walk.c walks on the calling thread and the groups go to
 * an ordered pool (pool.c), inline when it has no threads.
 *
 * Sources are looked up the way CPython does, following symlinks; caches and directories never
 * are followed.
 */
#define _GNU_SOURCE
#include "pycinspect/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirio.h"
#include "exclude.h"
#include "filelist.h"
#include "judge.h"
#include "peek.h"
#include "pool.h"
#include "pwalk.h"
#include "readopen.h"
#include "shadow.h"
#include "venvup.h"
#include "pycinspect/buf.h"
#include "pycinspect/prefix.h"
#include "pycinspect/sysroot.h"

#define MAX_THREADS 8
#define BATCH_ITEMS 256 /* caches per job, about */
#define OTHERS_NAMED 8  /* names kept of what else a __pycache__ holds */

/* ---- jobs --------------------------------------------------------------------------------- */

/* One cache of a job: its name, and after the job ran, everything judged about it. */
struct item {
	size_t name_off, name_len;
	unsigned char type;
	int in_pycache;
	judge_result res;              /* res.cname from the listing, the rest from the judge */
	size_t shadow_off, shadow_len; /* its candidates in the group's shadow (shadow.h) */
	int have_prepared;             /* ops->prepare ran: its output and return value */
	pyci_buf prepared;
	int prepared_rc;
};

/* Debris found among a directory's entries: its name in the group's names. */
struct debris_item {
	size_t name_off, name_len;
	unsigned char type;
	const pyci_debris_rule *rule;
};

/*
 * The caches of one directory and of its __pycache__.  Legacy items are read from srcfd, the
 * others from pcfd; every source is looked up in srcfd.  A descriptor is either held open by
 * the walker for the job (pyci_walk_hold) or, when the walker did not open it, owned.
 */
struct group {
	int is_error; /* a directory not walked, reported in its place in the order */
	pyci_walk_err err_kind;
	int err;
	const struct venv_scope *notice; /* a pyvenv.cfg found: told in its place in the order */
	const pyci_targets *targets;     /* what the caches are judged against... */
	const pyci_venv *venv;           /* ...from this venv's pyvenv.cfg, or NULL: the options */
	int srcfd, pcfd;
	int src_err; /* srcfd -1: why the sources' directory could not be opened */
	int prefix;  /* the caches of a pycache-prefix tree (pcfd is a directory of it) */
	pyci_walk_node *src_hold, *pc_hold; /* NULL: the descriptor is the job's to close... */
	int src_borrowed, pc_borrowed;      /* ...unless pwalk keeps it open until emitted */
	pyci_buf path, pcpath;              /* display paths of the two directories */
	pyci_buf names;                     /* the items' names, each NUL-terminated */
	pyci_buf shadow;    /* what could shadow the items' modules (shadow_collect) */
	size_t pc_entries;  /* entries of the __pycache__ listing */
	int partial;        /* the listing is not a whole __pycache__ that clean may remove once
			     * empty (one file named by the caller, a directory of a prefix tree) */
	pyci_buf pc_others; /* names of its entries that are not items (at most OTHERS_NAMED) */
	size_t pc_others_named;
	struct item *items;
	size_t n, cap;
	/* debris (sc->opt->debris) among the directory's entries, and the directory itself */
	struct debris_item *debris;
	size_t ndebris, debris_cap;
	size_t dir_entries;               /* entries of the directory when listed */
	const pyci_debris_rule *if_empty; /* it is debris if it ends up empty, or NULL */
	size_t name_off;                  /* its name in path, when if_empty */
	/* when shared between threads (run_group_shared): items[runs[r]..runs[r+1]) are the
	 * caches of one source, taken a run at a time */
	size_t *runs, nruns;
	atomic_size_t next_run;
	unsigned helpers; /* threads helping, under the board's lock */
};

static void group_free(struct group *j)
{
	if (!j)
		return;
	if (j->src_hold)
		pyci_walk_unhold(j->src_hold);
	else if (j->srcfd >= 0 && !j->src_borrowed)
		close(j->srcfd);
	if (j->pc_hold)
		pyci_walk_unhold(j->pc_hold);
	else if (j->pcfd >= 0 && !j->pc_borrowed)
		close(j->pcfd);
	pyci_buf_free(&j->path);
	pyci_buf_free(&j->pcpath);
	pyci_buf_free(&j->names);
	pyci_buf_free(&j->shadow);
	pyci_buf_free(&j->pc_others);
	for (size_t i = 0; i < j->n; i++)
		pyci_buf_free(&j->items[i].prepared);
	free(j->items);
	free(j->debris);
	free(j->runs);
	free(j);
}

/*
 * A pyvenv.cfg found (scan.h, venv_targets): what it says, and when it names an interpreter,
 * the scope of the directory holding it: the targets of that directory and of everything below
 * it, down to a nested one.  The serial walk keeps the scopes of the directories above the one
 * it visits on a stack (sc->scopes); the parallel walk hands each directory its parent's
 * (pwalk.h).  Made by whichever thread lists the directory, freed with the scanner.
 */
struct venv_scope {
	pyci_venv venv;          /* root and config point into paths */
	pyci_targets targets;    /* venv.target alone, when venv.status is PYCI_VENV_OK */
	struct venv_scope *next; /* the scanner's list of them all */
	char paths[];            /* root, then config, each NUL-terminated */
};

struct scanner;

/* Buffers of one thread for building the jobs of a directory. */
struct scratch {
	pyci_buf rel;          /* a path below the root, for excludes */
	pyci_buf parent;       /* the display path of a __pycache__'s parent */
	dirio_listing listing; /* a sources' directory the walk did not list */
};

static void scratch_free(struct scratch *s)
{
	pyci_buf_free(&s->rel);
	pyci_buf_free(&s->parent);
	dirio_listing_free(&s->listing);
}

static int excluded(const struct scanner *sc, struct scratch *x, const pyci_dir *parent,
		    const char *name, int dir);

/*
 * Add the cache names of a listing to j, only those whose byte in `select` is set when select is
 * not NULL (file lists); `pc`: it is the __pycache__ listing, whose other entries are
 * remembered for dir_done.  0, or -1 (ENOMEM).
 */
static int group_add_listing(const struct scanner *sc, struct scratch *x, struct group *j,
			     const pyci_dir *dir, int in_pycache, int pc,
			     const unsigned char *select)
{
	if (pc)
		j->pc_entries = dir->count;
	for (size_t i = 0; i < dir->count; i++) {
		const pyci_entry *e = &dir->entries[i];
		pyci_cache_name cname;
		if (e->type == DT_DIR || (select && !select[i]) ||
		    pyci_cache_name_parse(e->name, e->len, in_pycache, &cname) != 0 ||
		    excluded(sc, x, dir, e->name, 0)) {
			if (pc && j->pc_others_named < OTHERS_NAMED) {
				if (pyci_buf_append(&j->pc_others, e->name, e->len + 1) != 0)
					return -1;
				j->pc_others_named++;
			}
			continue;
		}
		if (j->n == j->cap) {
			size_t cap = j->cap ? j->cap * 2 : 16;
			struct item *p = realloc(j->items, cap * sizeof(*p));
			if (!p)
				return -1;
			j->items = p;
			j->cap = cap;
		}
		struct item *it = &j->items[j->n++];
		memset(it, 0, sizeof(*it));
		it->name_off = j->names.len;
		it->name_len = e->len;
		it->type = e->type;
		it->in_pycache = in_pycache;
		it->res.cname = cname;
		if (pyci_buf_append(&j->names, e->name, e->len + 1) != 0)
			return -1;
	}
	return 0;
}

/*
 * A job: consecutive groups in walk order, handed to a worker together so that threads meet
 * once per batch of directories rather than once per directory.
 */
struct job {
	struct group **groups;
	size_t n, cap;
	size_t items; /* caches in all groups */
};

static void job_free(struct job *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		group_free(b->groups[i]);
	free(b->groups);
	free(b);
}

/* Append group j to job b.  0, or -1 (ENOMEM; j freed). */
static int job_add(struct job *b, struct group *j)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct group **g = realloc(b->groups, cap * sizeof(struct group *));
		if (!g) {
			group_free(j);
			errno = ENOMEM;
			return -1;
		}
		b->groups = g;
		b->cap = cap;
	}
	b->groups[b->n++] = j;
	b->items += j->n;
	return 0;
}

/* A scope of the serial walk: the venv's, from the directory at this depth down. */
struct scope_frame {
	const struct venv_scope *scope;
	int depth;
};

/* The scanner: the calling thread's state for one pyci_scan_path (see the section below). */
struct scanner {
	const pyci_scan_options *opt;
	const pyci_scan_ops *ops;
	struct pool *pool;
	struct job *open;    /* groups not yet handed to the pool */
	size_t batch_groups; /* hand a job over at this many groups... */
	pyci_buf path, srcpath;
	int stopped; /* ops->record asked to stop, or memory ran out */
	int stop_errno;
	int root_is_pycache;
	size_t root_len; /* strlen of the root's display path (a prefix
					      * tree's: of the directory of its scope) */
	int named_file;  /* the root is a single cache file, or a file
					      * list's: nothing is left out */
	/* A pycache-prefix tree (pyci_scan_prefix): the root's display path ends in '/' and is
	 * tree_len long; only the directories at or below `scope` (a path below the root, "" for
	 * all) are judged, and those on the way to it walked. */
	int prefix;
	const char *scope;
	size_t scope_len, tree_len;
	struct scratch scratch;              /* the calling thread's */
	atomic_size_t prepared_bytes;        /* ops->prepare output not yet reported */
	_Atomic(struct venv_scope *) venvs;  /* every pyvenv.cfg found, to free at the end */
	const struct venv_scope *base_scope; /* above what the serial walk walks: the scanned
					      * path's (its ancestors'), or a deep subtree's */
	struct scope_frame *scopes;          /* the serial walk's, below base_scope */
	size_t nscopes, scopes_cap;
	venv_memo memo; /* a file list's directories whose scope is known (scanner_venv) */
	int no_debris;  /* the root is among installed packages: no debris */
};

/* ---- a worker: what it knows of the sources of the job it runs ----------------------------- */

struct board;

struct worker {
	const pyci_scan_options *opt;
	const struct scanner *sc;
	atomic_size_t *prepared_bytes; /* the scanner's: prepared output not yet reported */
	pyci_buf path, srcpath;        /* a record's paths, for ops->prepare */
	struct board *board;           /* parallel walk: groups offered for help */
	struct scratch x;              /* for building groups (parallel walk) */
	struct judge *judge;
	int srcfd;                           /* the sources' directory of the group being judged */
	int src_err;                         /* or why it could not be opened (srcfd -1) */
	judge_root_src rsrc;                 /* the same in a staging root (opt->root) */
	_Atomic(struct venv_scope *) *venvs; /* the scanner's, for the pyvenv.cfg found */
};

/* arg: the scanner. */
static void *worker_new(void *arg)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (w) {
		struct scanner *sc = arg;
		w->sc = sc;
		w->opt = sc->opt;
		w->prepared_bytes = &sc->prepared_bytes;
		w->venvs = &sc->venvs;
		if (!(w->judge = judge_new(sc->opt))) {
			free(w);
			return NULL;
		}
	}
	return w;
}

static void worker_free(void *ctx)
{
	struct worker *w = ctx;
	if (!w)
		return;
	judge_free(w->judge);
	scratch_free(&w->x);
	pyci_buf_free(&w->rsrc.path);
	pyci_buf_free(&w->path);
	pyci_buf_free(&w->srcpath);
	free(w);
}

static void prepare_item(struct worker *w, const struct group *j, struct item *it);

/* Judge the caches [from, to) of group j together (their I/O batched), then do ops->prepare's
 * work for each. */
static void judge_items(struct worker *w, const struct group *j, size_t from, size_t to)
{
	judge_req req[PEEK_MAX_BATCH];
	while (from < to) {
		size_t n = to - from;
		if (n > PEEK_MAX_BATCH)
			n = PEEK_MAX_BATCH;
		for (size_t k = 0; k < n; k++) {
			struct item *it = &j->items[from + k];
			req[k] = (judge_req){
				.dirfd = it->in_pycache ? j->pcfd : j->srcfd,
				.name = j->names.data + it->name_off,
				.d_type = it->type,
				.res = &it->res,
				.shadow = it->shadow_len ? j->shadow.data + it->shadow_off : NULL,
				.shadow_len = it->shadow_len,
				.targets = j->targets};
		}
		judge_batch(w->judge, req, n);
		for (size_t k = 0; k < n; k++)
			if (!j->items[from + k].res.mount_root)
				prepare_item(w, j, &j->items[from + k]);
		from += n;
	}
}

/* The path inside the staging root o->root of the directory displayed as `dir` (a walk's, which
 * starts with the root's display path), or of a prefix tree's source directory `dir` ("/R"). */
static const char *in_root(const pyci_scan_options *o, const char *dir, int prefix)
{
	size_t n = strlen(o->root);
	if (prefix || strncmp(dir, o->root, n) != 0 || (n == 1 && dir[0] == '/'))
		return dir; /* with the root "/", the path is the system's already */
	return dir + n;
}

/* The caches about to be judged have their sources in j's directory. */
static void judge_in(struct worker *w, const struct group *j)
{
	w->srcfd = j->srcfd;
	w->src_err = j->src_err;
	if (j->srcfd >= 0 && w->opt->root) {
		w->rsrc.dirfd = j->srcfd;
		w->rsrc.rootfd = w->opt->root_fd;
		w->rsrc.dir = in_root(w->opt, j->path.data, j->prefix);
		judge_sources(w->judge, &judge_source_root, &w->rsrc);
	} else if (j->srcfd >= 0)
		judge_sources(w->judge, &judge_source_dir, &w->srcfd);
	else
		judge_sources(w->judge, &judge_source_none, &w->src_err);
}

static void run_group(struct worker *w, struct group *j);

/* pool_run_fn */
static void run_job(void *ctx, void *job)
{
	struct job *b = job;
	for (size_t i = 0; i < b->n; i++)
		run_group(ctx, b->groups[i]);
}

static void run_group(struct worker *w, struct group *j)
{
	if (j->is_error || j->notice)
		return;
	judge_in(w, j);
	judge_items(w, j, 0, j->n);
}

/* ---- sharing a big directory between threads (parallel walk) ------------------------------ */

/*
 * A directory is one task of the parallel walk, and a single directory can hold most of a tree's
 * work (a stdlib's top level: hundreds of caches and megabytes of source to hash).  Its worker
 * offers such a group on the board and takes its caches RUNS_PER_TAKE runs at a time (a run
 * is the caches of one source, so that they still share one stat of it); threads with nothing
 * else to do (pwalk's help) take runs too.  The worker returns once every run is judged and no helper holds it.
 */
#define SHARE_MIN_RUNS 8 /* fewer sources: one thread judges the group */
#define RUNS_PER_TAKE 8  /* runs a thread takes at once: their I/O is one batch */
#define BOARD_SLOTS 16

struct board {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* a group's helpers went down to 0 */
	struct group *g[BOARD_SLOTS];
};

static int same_source(const struct group *j, const struct item *a, const struct item *b)
{
	return a->res.cname.stem_len == b->res.cname.stem_len &&
	       memcmp(j->names.data + a->name_off, j->names.data + b->name_off,
		      a->res.cname.stem_len) == 0;
}

/* Judge the runs of j not yet taken, one at a time, each with a fresh memo. */
static void judge_runs(struct worker *w, struct group *j)
{
	size_t r;
	while ((r = atomic_fetch_add(&j->next_run, RUNS_PER_TAKE)) < j->nruns) {
		size_t end = r + RUNS_PER_TAKE < j->nruns ? r + RUNS_PER_TAKE : j->nruns;
		judge_in(w, j);
		judge_items(w, j, j->runs[r], j->runs[end]);
	}
}

/* run_group for the parallel walk: a group of many sources is offered to idle threads. */
static void run_group_shared(struct worker *w, struct pwalk *walk, struct group *j)
{
	struct board *bd = w->board;
	size_t nruns = 0;
	if (j->is_error || j->notice)
		return;
	for (size_t i = 0; i < j->n; i++)
		nruns += i == 0 || !same_source(j, &j->items[i - 1], &j->items[i]);
	if (nruns < SHARE_MIN_RUNS || !bd || !(j->runs = malloc((nruns + 1) * sizeof(size_t)))) {
		run_group(w, j);
		return;
	}
	for (size_t i = 0, r = 0; i < j->n; i++)
		if (i == 0 || !same_source(j, &j->items[i - 1], &j->items[i]))
			j->runs[r++] = i;
	j->runs[nruns] = j->n;
	j->nruns = nruns;
	atomic_init(&j->next_run, 0);
	int posted = 0;
	pthread_mutex_lock(&bd->lock);
	for (unsigned k = 0; k < BOARD_SLOTS && !posted; k++)
		if (!bd->g[k]) {
			bd->g[k] = j;
			posted = 1;
		}
	pthread_mutex_unlock(&bd->lock);
	if (posted)
		pwalk_wake(walk);
	judge_runs(w, j);
	if (posted) {
		pthread_mutex_lock(&bd->lock);
		for (unsigned k = 0; k < BOARD_SLOTS; k++)
			if (bd->g[k] == j)
				bd->g[k] = NULL;
		while (j->helpers)
			pthread_cond_wait(&bd->idle, &bd->lock);
		pthread_mutex_unlock(&bd->lock);
	}
}

/* pwalk's help: judge runs of a group on the board. */
static int help(void *wctx)
{
	struct worker *w = wctx;
	struct board *bd = w->board;
	struct group *j = NULL;
	pthread_mutex_lock(&bd->lock);
	for (unsigned k = 0; k < BOARD_SLOTS && !j; k++)
		if (bd->g[k] && atomic_load(&bd->g[k]->next_run) < bd->g[k]->nruns) {
			j = bd->g[k];
			j->helpers++;
		}
	pthread_mutex_unlock(&bd->lock);
	if (!j)
		return 0;
	judge_runs(w, j);
	pthread_mutex_lock(&bd->lock);
	if (--j->helpers == 0)
		pthread_cond_broadcast(&bd->idle);
	pthread_mutex_unlock(&bd->lock);
	return 1;
}

/* ---- the scanner: walk, make jobs, report them in order ------------------------------------ */

/* Whether `name` in `parent` is left out (pyci_scan_excluded), counted in the caller's
 * exclude_hits; never in a root that is a file. */
static int excluded(const struct scanner *sc, struct scratch *x, const pyci_dir *parent,
		    const char *name, int dir)
{
	if (sc->named_file)
		return 0; /* a file named by the caller is never left out */
	const char *below = parent->path_len > sc->root_len ? parent->path + sc->root_len : "";
	int which = pyci_exclude_match(sc->opt, below, name, dir, &x->rel);
	if (which >= 0 && sc->opt->exclude_hits)
		atomic_fetch_add_explicit(&sc->opt->exclude_hits[which], 1, memory_order_relaxed);
	return which != PYCI_EXCLUDE_NONE;
}

/* ---- a pycache-prefix tree: which directories, and where their sources are ---------------- */

/* The path below a prefix tree's root of its directory at `path` ("" for the root). */
static const char *tree_rel(const struct scanner *sc, const char *path, size_t len)
{
	if (len <= sc->tree_len)
		return "";
	const char *r = path + sc->tree_len;
	while (*r == '/')
		r++;
	return r;
}

/* Whether the directory at rel (below the tree's root) is the scope or below it. */
static int in_scope(const struct scanner *sc, const char *rel)
{
	return sc->scope_len == 0 || (strncmp(rel, sc->scope, sc->scope_len) == 0 &&
				      (rel[sc->scope_len] == '\0' || rel[sc->scope_len] == '/'));
}

/* skip for a prefix tree: below the scope, the excludes; above it, every name but the next
 * one on the way to it (never left out, as a PATH is not). */
static int prefix_skip(const struct scanner *sc, struct scratch *x, const pyci_dir *parent,
		       const char *name)
{
	const char *rel = tree_rel(sc, parent->path, parent->path_len);
	if (in_scope(sc, rel))
		return excluded(sc, x, parent, name, 1);
	size_t n = strlen(rel);
	const char *next = sc->scope + (n ? n + 1 : 0);
	size_t len = strcspn(next, "/");
	return strlen(name) != len || memcmp(name, next, len) != 0;
}

static const pyci_debris_rule *debris_rule(const struct scanner *sc, const pyci_dir *dir,
					   const pyci_entry *e);

/* walk's skip: directories left out by excludes, and debris (reported and removed whole, by
 * the caller: never walked); in a prefix tree, what prefix_skip leaves out. */
static int skip_dir(void *ctx, const pyci_dir *parent, const pyci_entry *e)
{
	struct scanner *sc = ctx;
	if (sc->prefix)
		return prefix_skip(sc, &sc->scratch, parent, e->name);
	return excluded(sc, &sc->scratch, parent, e->name, 1) || debris_rule(sc, parent, e);
}

static int join(pyci_buf *b, const char *dir, size_t dir_len, const char *name, size_t len)
{
	pyci_buf_clear(b);
	if (pyci_buf_append(b, dir, dir_len) != 0)
		return -1;
	if (dir_len && dir[dir_len - 1] != '/' && pyci_buf_putc(b, '/') != 0)
		return -1;
	return pyci_buf_append(b, name, len);
}

static void stop(struct scanner *sc, int err)
{
	if (!sc->stopped) {
		sc->stopped = 1;
		sc->stop_errno = err;
	}
}

/*
 * The record of item it of group j, its paths built in path and srcpath (which must outlive
 * the record's use).  0, or -1 (ENOMEM).
 */
static int fill_record(const pyci_scan_options *o, const struct group *j, const struct item *it,
		       pyci_buf *path, pyci_buf *srcpath, pyci_record *rec)
{
	const char *name = j->names.data + it->name_off;
	const pyci_buf *dir = it->in_pycache ? &j->pcpath : &j->path;
	*rec = (pyci_record){0};
	if (join(path, dir->data, dir->len, name, it->name_len) != 0)
		return -1;
	rec->path = path->data;
	rec->path_len = path->len;
	rec->name = name;
	rec->name_len = it->name_len;
	rec->dirfd = it->in_pycache ? j->pcfd : j->srcfd;
	rec->srcdirfd = j->srcfd;
	rec->in_prefix = j->prefix;
	if (o->root)
		rec->path_in_root = in_root(o, path->data, 0);
	if (it->res.have_source) {
		if (join(srcpath, j->path.data, j->path.len, name, it->res.cname.stem_len) ||
		    pyci_buf_puts(srcpath, ".py"))
			return -1;
		rec->source_path = srcpath->data;
		rec->source_path_len = srcpath->len;
		rec->source = &it->res.source;
		if (o->root) {
			rec->source_in_root = in_root(o, srcpath->data, j->prefix);
			rec->root_fd = o->root_fd;
		}
	}
	rec->cname = &it->res.cname;
	rec->header = &it->res.header;
	rec->jclass = it->res.cname.kind == PYCI_NAME_JYTHON ? &it->res.jclass : NULL;
	rec->verdict = &it->res.verdict;
	rec->have_file = it->res.have_file;
	rec->file = it->res.file;
	rec->file_errno = it->res.file_errno;
	rec->load = it->res.load.state != PYCI_LOAD_NOT_CHECKED ? &it->res.load : NULL;
	rec->venv = j->venv;
	return 0;
}

/* ops->prepare for a judged item, on the thread that judged it, within the budget. */
static void prepare_item(struct worker *w, const struct group *j, struct item *it)
{
	const pyci_scan_ops *ops = w->sc->ops;
	pyci_record rec;
	size_t budget = w->opt->prepared_budget ? w->opt->prepared_budget : PYCI_PREPARED_BUDGET;
	if (!ops->prepare || atomic_load(w->prepared_bytes) >= budget ||
	    fill_record(w->opt, j, it, &w->path, &w->srcpath, &rec) != 0)
		return;
	int rc = ops->prepare(ops->ctx, &rec, &it->prepared);
	if (rc < 0) {
		pyci_buf_free(&it->prepared);
		return;
	}
	it->have_prepared = 1;
	it->prepared_rc = rc;
	atomic_fetch_add(w->prepared_bytes, it->prepared.len);
}

/* Report the items of a finished group, then free it. */
static void emit_group(struct scanner *sc, struct group *j)
{
	if (j->notice) {
		if (!sc->stopped && sc->ops->venv && sc->ops->venv(sc->ops->ctx, &j->notice->venv))
			stop(sc, errno);
		group_free(j);
		return;
	}
	if (j->is_error) {
		if (!sc->stopped && sc->ops->error)
			sc->ops->error(sc->ops->ctx, j->path.data, j->err_kind, j->err);
		group_free(j);
		return;
	}
	for (size_t i = 0; i < j->n && !sc->stopped; i++) {
		struct item *it = &j->items[i];
		pyci_record rec;
		if (fill_record(sc->opt, j, it, &sc->path, &sc->srcpath, &rec) != 0) {
			stop(sc, ENOMEM);
			break;
		}
		if (it->res.mount_root) {
			if (sc->ops->error)
				sc->ops->error(sc->ops->ctx, rec.path, PYCI_WALK_ERR_MOUNT_FILE, 0);
			continue;
		}
		if (it->have_prepared) {
			rec.prepared = &it->prepared;
			rec.prepared_rc = it->prepared_rc;
		}
		pyci_scan_progress_record(sc->opt->progress, &rec);
		if (sc->ops->record(sc->ops->ctx, &rec) != 0)
			stop(sc, errno);
		if (it->have_prepared) {
			atomic_fetch_sub(&sc->prepared_bytes, it->prepared.len);
			it->have_prepared = 0;
		}
	}
	for (size_t i = 0; i < j->ndebris && sc->ops->debris && !sc->stopped; i++) {
		const struct debris_item *d = &j->debris[i];
		const char *name = j->names.data + d->name_off;
		if (join(&sc->path, j->path.data, j->path.len, name, d->name_len) != 0) {
			stop(sc, ENOMEM);
			break;
		}
		pyci_debris_found f = {.dirfd = j->srcfd,
				       .name = name,
				       .path = sc->path.data,
				       .path_len = sc->path.len,
				       .root_len = sc->root_len,
				       .type = d->type,
				       .rule = d->rule};
		if (sc->ops->debris(sc->ops->ctx, &f) != 0)
			stop(sc, errno);
	}
	if (sc->ops->dir_done && !sc->stopped) {
		size_t caches = 0;
		for (size_t i = 0; i < j->n; i++)
			caches += j->items[i].in_pycache && !j->items[i].res.mount_root;
		pyci_dir_done d = {
			.fd = j->srcfd,
			.path = j->path.data,
			.has_pycache = j->pcfd >= 0 && !j->partial,
			.pycache_fd = j->pcfd,
			.pycache_name = "__pycache__",
			.pycache_path = j->pcpath.data,
			.entries = j->pc_entries,
			.caches = caches,
			.others = j->pc_others.data,
			.others_named = j->pc_others_named,
			.name = j->if_empty ? j->path.data + j->name_off : NULL,
			.dir_entries = j->dir_entries,
			.if_empty = j->if_empty,
		};
		if (sc->ops->dir_done(sc->ops->ctx, &d) != 0)
			stop(sc, errno);
	}
	group_free(j);
}

/* Report a finished job, group by group, then free it. */
static void emit(struct scanner *sc, struct job *b)
{
	for (size_t i = 0; i < b->n; i++) {
		emit_group(sc, b->groups[i]);
		b->groups[i] = NULL;
	}
	b->n = 0;
	job_free(b);
}

/* Hand the open job to the pool, reporting finished ones first so that at most max_pending
 * wait; then report whatever else has finished. */
static void flush(struct scanner *sc)
{
	struct job *b = sc->open, *done;
	sc->open = NULL;
	if (b) {
		while (pool_full(sc->pool))
			emit(sc, pool_take(sc->pool, 1));
		if (pool_submit(sc->pool, b) != 0) {
			stop(sc, errno);
			job_free(b);
		}
	}
	while ((done = pool_take(sc->pool, 0)) != NULL)
		emit(sc, done);
}

/* Add a group to the open job; the job goes to the pool when big enough. */
static void submit(struct scanner *sc, struct group *j)
{
	struct job *b = sc->open;
	if (!b && !(b = sc->open = calloc(1, sizeof(*b)))) {
		stop(sc, ENOMEM);
		group_free(j);
		return;
	}
	if (job_add(b, j) != 0) {
		stop(sc, ENOMEM);
		return;
	}
	if (b->n >= sc->batch_groups || b->items >= BATCH_ITEMS)
		flush(sc);
}

static int dup_fd(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/*
 * The descriptor of d for a job: held open by the walker, borrowed (pwalk keeps it open until
 * the job is emitted), or (a directory not the walker's) duplicated.
 */
static int group_fd(const pyci_dir *d, int borrow, pyci_walk_node **hold, int *borrowed)
{
	if (d->node) {
		*hold = pyci_walk_hold(d);
		return d->fd;
	}
	if (borrow) {
		*borrowed = 1;
		return d->fd;
	}
	return dup_fd(d->fd);
}

/* What the groups of one directory are made with: the scanner, a thread's scratch buffers,
 * whether descriptors are borrowed, and the job they are added to. */
struct collect {
	const struct scanner *sc;
	struct scratch *x;
	int borrow;
	struct job *out;
	const struct venv_scope *scope;      /* the directory's (NULL: the options' targets);
					     * collect sets it when the directory holds a
					     * pyvenv.cfg that names an interpreter */
	_Atomic(struct venv_scope *) *venvs; /* the scanner's list, for a new one */
};

static int has_source(const struct item *it)
{
	return pyci_cache_name_of_py(&it->res.cname);
}

/*
 * What could shadow each item's module (shadow.h), from the listing of the sources' directory:
 * `src`, the walk's, or when NULL one read here (a __pycache__ named as the root, or nested in
 * another; a single file named): rare, and one listing per group.  A directory that cannot be
 * listed shadows nothing, as for the finder.  0, or -1 (ENOMEM).
 */
static int group_shadows(struct group *j, const pyci_dir *src, struct scratch *x)
{
	const pyci_entry *entries = src ? src->entries : NULL;
	size_t count = src ? src->count : 0, last = j->n;
	int any = 0;
	for (size_t i = 0; i < j->n && !any; i++)
		any = has_source(&j->items[i]);
	if (!any)
		return 0;
	if (!src) {
		int noatime = 1; /* as the walk lists: its atime unchanged where allowed */
		int fd = pyci_openat_read(j->srcfd, ".", DIRIO_OPEN_FLAGS, &noatime);
		if (fd < 0)
			return 0;
		int rc = dirio_list(fd, &x->listing), e = errno;
		close(fd);
		if (rc != 0) {
			errno = e;
			return e == ENOMEM ? -1 : 0;
		}
		entries = x->listing.entries;
		count = x->listing.count;
	}
	for (size_t i = 0; i < j->n; i++) {
		struct item *it = &j->items[i];
		if (!has_source(it))
			continue;
		if (last < j->n && same_source(j, &j->items[last], it)) {
			it->shadow_off = j->items[last].shadow_off;
			it->shadow_len = j->items[last].shadow_len;
			continue;
		}
		long n = shadow_collect(entries, count, j->names.data + it->name_off,
					it->res.cname.stem_len, &j->shadow);
		if (n < 0)
			return -1;
		it->shadow_off = j->shadow.len - (size_t)n;
		it->shadow_len = (size_t)n;
		last = i;
	}
	return 0;
}

/* ---- debris ------------------------------------------------------------------------------ */

/*
 * Whether debris is searched for among the entries of the directory at display path `path`
 * (depth 0: the root given): not in a __pycache__ or below one, not below a directory that
 * pyci_debris_stops names (the path below the root is read), not in a root among installed
 * packages, not when a single file was named.
 */
static int debris_searched(const struct scanner *sc, const char *path, size_t len, int depth)
{
	if (!sc->opt->debris || sc->no_debris || sc->named_file)
		return 0;
	if (depth == 0)
		return !sc->root_is_pycache;
	const char *p = path + (len > sc->root_len ? sc->root_len : len), *end = path + len;
	while (p < end) {
		while (p < end && *p == '/')
			p++;
		const char *q = memchr(p, '/', (size_t)(end - p));
		size_t n = (size_t)((q ? q : end) - p);
		if ((n == 11 && memcmp(p, "__pycache__", 11) == 0) ||
		    (n && pyci_debris_stops(p, n, sc->opt->no_default_excludes)))
			return 0;
		p += n;
	}
	return 1;
}

/* The name of the directory at display path `path` (not a root) in its parent. */
static const char *dir_name(const char *path, size_t len)
{
	const char *slash = memrchr(path, '/', len);
	return slash ? slash + 1 : path;
}

/* The debris rule entry e of dir falls under, without the excludes (asked apart), or NULL.
 * The name first: it rules out nearly every entry at the cost of a few compares. */
static const pyci_debris_rule *debris_rule(const struct scanner *sc, const pyci_dir *dir,
					   const pyci_entry *e)
{
	if (!sc->opt->debris)
		return NULL;
	const pyci_debris_rule *r = pyci_debris_match(
		sc->opt->debris, dir->depth ? dir_name(dir->path, dir->path_len) : NULL, e->name,
		e->type);
	return r && debris_searched(sc, dir->path, dir->path_len, dir->depth) ? r : NULL;
}

/*
 * The debris among the entries of dir (not excluded ones), and whether dir itself is debris
 * once empty (an if-empty rule, in a parent where debris is searched for), into j, whose path
 * is dir's.  0, or -1 (ENOMEM).
 */
static int group_add_debris(const struct collect *c, struct group *j, const pyci_dir *dir)
{
	const struct scanner *sc = c->sc;
	j->dir_entries = dir->count;
	if (!sc->opt->debris)
		return 0;
	if (dir->depth > 0) {
		const char *name = dir_name(dir->path, dir->path_len);
		size_t up = (size_t)(name - dir->path);
		if (debris_searched(sc, dir->path, up ? up - 1 : 0, dir->depth - 1) &&
		    (j->if_empty = pyci_debris_if_empty(sc->opt->debris, name)) != NULL)
			j->name_off = up;
	}
	if (!debris_searched(sc, dir->path, dir->path_len, dir->depth))
		return 0;
	const char *parent = dir->depth ? dir_name(dir->path, dir->path_len) : NULL;
	for (size_t i = 0; i < dir->count; i++) {
		const pyci_entry *e = &dir->entries[i];
		const pyci_debris_rule *r =
			pyci_debris_match(sc->opt->debris, parent, e->name, e->type);
		if (!r || excluded(sc, c->x, dir, e->name, e->type == DT_DIR))
			continue;
		if (j->ndebris == j->debris_cap) {
			size_t cap = j->debris_cap ? j->debris_cap * 2 : 4;
			struct debris_item *p = realloc(j->debris, cap * sizeof(*p));
			if (!p)
				return -1;
			j->debris = p;
			j->debris_cap = cap;
		}
		j->debris[j->ndebris++] = (struct debris_item){j->names.len, e->len, e->type, r};
		if (pyci_buf_append(&j->names, e->name, e->len + 1) != 0)
			return -1;
	}
	return 0;
}

/*
 * What a group is made of.  The caches of `legacy` (read as __pycache__ entries when
 * legacy_in_pycache) and of `pycache` (only those selected by pc_select when it is not NULL),
 * whose sources are in `src`, or, when src is NULL, in srcfd, which the group owns from here
 * on, even on failure (-1: the directory could not be opened, src_err says why); srcpath is
 * the display path of the sources' directory, and `listing` its whole listing, for what shadows a
 * module (shadow.h; NULL: make_group reads it from the sources' directory).  The debris among src's entries too (none
 * without src).  partial: the __pycache__ is not one that clean may remove once empty (see
 * struct group); prefix: the caches are a prefix tree's.
 */
struct group_spec {
	const pyci_dir *src;
	int srcfd, src_err;
	const char *srcpath;
	const pyci_dir *listing;
	const pyci_dir *legacy;
	int legacy_in_pycache;
	const pyci_dir *pycache;
	const unsigned char *pc_select;
	int partial, prefix;
};

/* The group g describes, added to c->out unless it has nothing to report.  0, or -1 with
 * errno. */
static int make_group(const struct collect *c, const struct group_spec *g)
{
	struct group *j = calloc(1, sizeof(*j));
	if (!j) {
		if (!g->src && g->srcfd >= 0)
			close(g->srcfd);
		errno = ENOMEM;
		return -1;
	}
	j->srcfd = g->src ? -1 : g->srcfd;
	j->src_err = g->src || g->srcfd >= 0 ? 0 : g->src_err;
	j->pcfd = -1;
	j->partial = g->partial;
	j->prefix = g->prefix;
	j->targets = c->scope ? &c->scope->targets : c->sc->opt->targets;
	j->venv = c->scope ? &c->scope->venv : NULL;
	int rc = pyci_buf_puts(&j->path, g->srcpath);
	if (rc == 0 && g->legacy)
		rc = group_add_listing(c->sc, c->x, j, g->legacy, g->legacy_in_pycache,
				       g->legacy_in_pycache, NULL);
	if (rc == 0 && g->pycache)
		rc = group_add_listing(c->sc, c->x, j, g->pycache, 1, 1, g->pc_select);
	if (rc == 0 && g->src)
		rc = group_add_debris(c, j, g->src);
	if (rc != 0) {
		group_free(j);
		errno = ENOMEM;
		return -1;
	}
	/* the directory the __pycache__ items are read from */
	const pyci_dir *pc = g->legacy_in_pycache ? g->legacy : g->pycache;
	int empty_pc = c->sc->opt->empty_pycache && pc && pc->count == 0 && !j->partial;
	if (j->n == 0 && j->ndebris == 0 && !j->if_empty && !empty_pc) {
		group_free(j);
		return 0;
	}
	if (g->src &&
	    (j->srcfd = group_fd(g->src, c->borrow, &j->src_hold, &j->src_borrowed)) < 0) {
		int e = errno;
		group_free(j);
		errno = e;
		return -1;
	}
	/* a prefix tree's sources are listed from srcfd here (none when it was not opened) */
	if (group_shadows(j, g->listing, c->x) != 0) {
		group_free(j);
		errno = ENOMEM;
		return -1;
	}
	if (pc) {
		if ((j->pcfd = group_fd(pc, c->borrow, &j->pc_hold, &j->pc_borrowed)) < 0 ||
		    pyci_buf_puts(&j->pcpath, pc->path) != 0) {
			int e = j->pcfd < 0 ? errno : ENOMEM;
			group_free(j);
			errno = e;
			return -1;
		}
	}
	return job_add(c->out, j);
}

/* The group of a walked directory's own caches and its __pycache__'s. */
static int dir_group(const struct collect *c, const pyci_dir *dir, const pyci_dir *pycache)
{
	/* a single file named: its listing is that file alone, not the directory's */
	struct group_spec g = {.src = dir,
			       .srcfd = -1,
			       .srcpath = dir->path,
			       .listing = c->sc->named_file ? NULL : dir,
			       .legacy = dir,
			       .pycache = pycache,
			       .partial = c->sc->named_file};
	return make_group(c, &g);
}

/* The group of the caches of a __pycache__ `dir` (read as its entries), whose sources are in
 * srcfd (owned from here on, as make_group says), the directory at srcpath. */
static int pycache_group(const struct collect *c, const pyci_dir *dir, int srcfd,
			 const char *srcpath)
{
	struct group_spec g = {.srcfd = srcfd,
			       .srcpath = srcpath,
			       .legacy = dir,
			       .legacy_in_pycache = 1,
			       .partial = c->sc->named_file};
	return make_group(c, &g);
}

/* A group that reports a directory not walked, in its place in the order.  0, or -1. */
static int error_group(struct job *out, const char *path, pyci_walk_err kind, int err)
{
	struct group *j = calloc(1, sizeof(*j));
	if (!j || pyci_buf_puts(&j->path, path) != 0) {
		free(j);
		errno = ENOMEM;
		return -1;
	}
	j->is_error = 1;
	j->err_kind = kind;
	j->err = err;
	j->srcfd = j->pcfd = -1;
	return job_add(out, j);
}

static int parent_path(pyci_buf *out, const char *path);

/*
 * A venv_scope for the pyvenv.cfg of the directory displayed as root (root_len bytes), not yet
 * read, put on the list *venvs (from any thread).  NULL on ENOMEM.
 */
static struct venv_scope *venv_scope_new(_Atomic(struct venv_scope *) *venvs, const char *root,
					 size_t root_len)
{
	int slash = root_len && root[root_len - 1] != '/';
	size_t size = 2 * (root_len + 1) + (size_t)slash + sizeof(PYCI_VENV_CFG);
	struct venv_scope *v = calloc(1, sizeof(*v) + size);
	if (!v)
		return NULL;
	char *config = v->paths + root_len + 1;
	memcpy(v->paths, root, root_len);
	memcpy(config, root, root_len);
	if (slash)
		config[root_len] = '/';
	memcpy(config + root_len + slash, PYCI_VENV_CFG, sizeof(PYCI_VENV_CFG));
	v->venv.root = v->paths;
	v->venv.config = config;
	struct venv_scope *head = atomic_load(venvs);
	do
		v->next = head;
	while (!atomic_compare_exchange_weak(venvs, &head, v));
	return v;
}

/* The targets below v: its interpreter alone, when its pyvenv.cfg names one. */
static void venv_scope_ready(struct venv_scope *v)
{
	pyci_targets_init(&v->targets);
	if (v->venv.status == PYCI_VENV_OK)
		v->targets.items[v->targets.count++] = v->venv.target;
}

/* The entry named pyvenv.cfg of a listing (sorted bytewise: a binary search), or NULL. */
static const pyci_entry *venv_cfg_entry(const pyci_dir *dir)
{
	static const char name[] = PYCI_VENV_CFG;
	size_t n = sizeof(name) - 1, lo = 0, hi = dir->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const pyci_entry *e = &dir->entries[mid];
		int cmp = memcmp(e->name, name, e->len < n ? e->len : n);
		if (cmp == 0)
			cmp = (e->len > n) - (e->len < n);
		if (cmp == 0)
			return e;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A group that tells v in its place in the order, added to out.  0, or -1 (ENOMEM). */
static int notice_group(struct job *out, const struct venv_scope *v)
{
	struct group *j = calloc(1, sizeof(*j));
	if (!j) {
		errno = ENOMEM;
		return -1;
	}
	j->notice = v;
	j->srcfd = j->pcfd = -1;
	return job_add(out, j);
}

/*
 * The pyvenv.cfg of a visited directory, if it holds one (a regular file, or a symlink, which
 * is told and not followed): a group that tells it in its place, and when it names an
 * interpreter, the directory's new scope in c->scope.  0, or -1 (ENOMEM).
 */
static int venv_in(struct collect *c, const pyci_dir *dir)
{
	const pyci_entry *e = venv_cfg_entry(dir);
	if (!e || (e->type != DT_REG && e->type != DT_LNK))
		return 0;
	struct venv_scope *v = venv_scope_new(c->venvs, dir->path, dir->path_len);
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	pyci_venv_read(dir->fd, &v->venv); /* a symlink is not followed: PYCI_VENV_SYMLINK */
	venv_scope_ready(v);
	if (notice_group(c->out, v) != 0)
		return -1;
	if (v->venv.status == PYCI_VENV_OK)
		c->scope = v;
	return 0;
}

/* Whether a visited directory is itself a __pycache__: the root named so, or one nested in
 * another __pycache__ (an ordinary directory's own __pycache__ comes with it, not alone). */
static int visiting_pycache(const struct scanner *sc, const pyci_dir *dir)
{
	static const char tail[] = "/__pycache__";
	size_t n = sizeof(tail) - 1;
	if (dir->depth == 0)
		return sc->root_is_pycache;
	return dir->path_len >= n && memcmp(dir->path + dir->path_len - n, tail, n) == 0;
}

/*
 * The group of a prefix tree's directory d, when it is in the scope and holds more than
 * directories: its entries are read as __pycache__ entries, and the sources of
 * PREFIX/R/NAME.TAG.pyc are in /R, opened as CPython finds them (following symlinks).  When
 * that directory cannot be opened, the group says why (gone: its caches are orphans).
 */
static int prefix_group(const struct collect *c, const pyci_dir *d)
{
	const char *rel = tree_rel(c->sc, d->path, d->path_len);
	size_t i = 0;
	while (i < d->count && d->entries[i].type == DT_DIR)
		i++;
	if (!in_scope(c->sc, rel) || i == d->count)
		return 0;
	pyci_buf *src = &c->x->parent;
	pyci_buf_clear(src);
	if (pyci_buf_putc(src, '/') != 0 || pyci_buf_puts(src, rel) != 0) {
		errno = ENOMEM;
		return -1;
	}
	int fd = c->sc->opt->root
			 ? pyci_sysroot_open(c->sc->opt->root_fd, src->data, O_RDONLY | O_DIRECTORY)
			 : open(src->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct group_spec g = {.srcfd = fd,
			       .src_err = fd < 0 ? errno : 0,
			       .srcpath = src->data,
			       .legacy = d,
			       .legacy_in_pycache = 1,
			       .partial = 1,
			       .prefix = 1};
	return make_group(c, &g);
}

/*
 * The groups of a visited directory and its __pycache__, added to c->out, after the one of its
 * pyvenv.cfg (venv_targets; the root's was looked at with its ancestors).  In a prefix tree,
 * the group of each directory, a __pycache__ there mirroring a source directory of that name,
 * with the options' targets (a pyvenv.cfg is not looked for there).  0, or -1 (errno).
 */
static int collect(struct collect *c, const pyci_dir *dir, const pyci_dir *pycache)
{
	if (c->sc->prefix)
		return prefix_group(c, dir) != 0 || (pycache && prefix_group(c, pycache) != 0) ? -1
											       : 0;
	int pyc = visiting_pycache(c->sc, dir);
	if (c->sc->opt->venv_targets && dir->depth > 0 && !pyc && venv_in(c, dir) != 0)
		return -1;
	if (!pyc)
		return dir_group(c, dir, pycache);
	/* its caches' sources are one level up */
	int up = openat(dir->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up < 0) {
		if (error_group(c->out, dir->path, PYCI_WALK_ERR_OPEN, errno) != 0)
			return -1;
	} else if (parent_path(&c->x->parent, dir->path) != 0) {
		close(up);
		errno = ENOMEM;
		return -1;
	} else if (pycache_group(c, dir, up, c->x->parent.data) != 0) {
		return -1;
	}
	/* and a __pycache__ inside it has its sources here */
	if (!pycache)
		return 0;
	struct group_spec g = {.src = dir,
			       .srcfd = -1,
			       .srcpath = dir->path,
			       .listing = c->sc->named_file ? NULL : dir,
			       .pycache = pycache,
			       .partial = c->sc->named_file};
	return make_group(c, &g);
}

/* Hand the groups collected in `groups` to the pool, in order (or free them once stopped). */
static void submit_all(struct scanner *sc, struct job *groups)
{
	for (size_t i = 0; i < groups->n; i++) {
		if (sc->stopped)
			group_free(groups->groups[i]);
		else
			submit(sc, groups->groups[i]);
	}
	free(groups->groups);
	*groups = (struct job){0};
}

/* submit_all, then whether the scan goes on: 0, or -1 with errno (why it stopped). */
static int submit_checked(struct scanner *sc, struct job *groups)
{
	submit_all(sc, groups);
	if (sc->stopped) {
		errno = sc->stop_errno;
		return -1;
	}
	return 0;
}

/*
 * The serial walk's scope for a directory at `depth`: that of its nearest ancestor that holds
 * a pyvenv.cfg naming an interpreter.  The walk is depth first, so the scopes kept of
 * directories at this depth or deeper are of directories that are not its ancestors: the walk
 * has left them.
 */
static const struct venv_scope *serial_scope(struct scanner *sc, int depth)
{
	while (sc->nscopes && sc->scopes[sc->nscopes - 1].depth >= depth)
		sc->nscopes--;
	return sc->nscopes ? sc->scopes[sc->nscopes - 1].scope : sc->base_scope;
}

/* The scope of the directory at `depth` and below.  0, or -1 (ENOMEM). */
static int serial_push(struct scanner *sc, const struct venv_scope *scope, int depth)
{
	if (sc->nscopes == sc->scopes_cap) {
		size_t cap = sc->scopes_cap ? sc->scopes_cap * 2 : 8;
		struct scope_frame *p = realloc(sc->scopes, cap * sizeof(*p));
		if (!p)
			return -1;
		sc->scopes = p;
		sc->scopes_cap = cap;
	}
	sc->scopes[sc->nscopes++] = (struct scope_frame){scope, depth};
	return 0;
}

/* A directory listed, for a caller watching the scan (pyci_scan_progress). */
static void count_dir(const pyci_scan_options *o)
{
	if (o->progress)
		atomic_fetch_add_explicit(&o->progress->dirs, 1, memory_order_relaxed);
}

void pyci_scan_progress_record(pyci_scan_progress *p, const pyci_record *r)
{
	if (!p)
		return;
	atomic_fetch_add_explicit(&p->caches, 1, memory_order_relaxed);
	if (r->have_file)
		atomic_fetch_add_explicit(&p->bytes, r->file.size, memory_order_relaxed);
}

/* walk's visit (one thread): the directory's groups go to the pool in order. */
static int visit(void *ctx, const pyci_dir *dir, const pyci_dir *pycache)
{
	struct scanner *sc = ctx;
	struct job groups = {0};
	const struct venv_scope *scope = serial_scope(sc, dir->depth);
	struct collect c = {sc, &sc->scratch, 0, &groups, scope, &sc->venvs};
	count_dir(sc->opt);
	if (!sc->stopped && collect(&c, dir, pycache) != 0)
		stop(sc, errno);
	else if (c.scope != scope && serial_push(sc, c.scope, dir->depth) != 0)
		stop(sc, ENOMEM);
	return submit_checked(sc, &groups);
}

/* ops->done: report every job still in flight; their holds go back before the walk ends. */
static void drain(void *ctx)
{
	struct scanner *sc = ctx;
	struct job *b;
	flush(sc);
	while ((b = pool_take(sc->pool, 1)) != NULL)
		emit(sc, b);
}

/* ---- roots -------------------------------------------------------------------------------- */

/* The parent directory of `path` as text: "a/b/" -> "a", "b" -> ".", "/b" -> "/". */
static int parent_path(pyci_buf *out, const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t slash = len;
	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	pyci_buf_clear(out);
	if (slash == 0) {
		/* "." or ".." cannot be named by text; say where it is from here */
		if ((len == 1 && path[0] == '.') || (len == 2 && path[0] == '.' && path[1] == '.'))
			return pyci_buf_append(out, path, len) || pyci_buf_puts(out, "/..");
		return pyci_buf_puts(out, ".");
	}
	while (slash > 1 && path[slash - 1] == '/')
		slash--;
	return pyci_buf_append(out, path, slash);
}

/* 1 if the directory dirfd is named __pycache__ in its parent, judged by identity. */
static int is_pycache_dir(int dirfd)
{
	struct stat self, named;
	if (fstat(dirfd, &self) != 0)
		return 0;
	int up = openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		return 0;
	int r = fstatat(up, "__pycache__", &named, AT_SYMLINK_NOFOLLOW) == 0 &&
		named.st_dev == self.st_dev && named.st_ino == self.st_ino;
	close(up);
	return r;
}

/* venv_found_fn of the search above a scanned path or a listed directory: a scope for each
 * pyvenv.cfg found, put on the scanner's list. */
static int found_above(void *ctx, const pyci_venv *v, const void **scope)
{
	struct scanner *sc = ctx;
	struct venv_scope *s = venv_scope_new(&sc->venvs, v->root, strlen(v->root));
	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	s->venv.status = v->status;
	s->venv.err = v->err;
	s->venv.target = v->target;
	s->venv.dev = v->dev;
	s->venv.ino = v->ino;
	venv_scope_ready(s);
	if (s->venv.status == PYCI_VENV_OK)
		*scope = s;
	return 0;
}

/*
 * With venv_targets, before anything is reported: the pyvenv.cfg files in the directory dirfd
 * (displayed as `display`) and above it, told to ops->venv outermost first, as a walk from
 * above would have met them.  0, or -1 (ENOMEM).
 */
static int venvs_above(struct scanner *sc, int dirfd, const char *display)
{
	if (!sc->opt->venv_targets)
		return 0;
	const void *scope;
	if (venv_above(dirfd, display, sc->opt->cross_mounts, sc->opt->root ? sc->opt->root_fd : -1,
		       NULL, found_above, sc, &scope) != 0)
		return -1;
	sc->base_scope = scope;
	/* the list holds these alone, the last found (the outermost) first */
	for (const struct venv_scope *v = atomic_load(&sc->venvs); v && sc->ops->venv; v = v->next)
		if (sc->ops->venv(sc->ops->ctx, &v->venv) != 0)
			return -1;
	return 0;
}

/* A single file named on the command line: a job of one item. */
static int scan_file(struct scanner *sc, const char *path)
{
	pyci_buf dir = PYCI_BUF_INIT, srcdir = PYCI_BUF_INIT;
	int dfd = -1, rc = -1;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (parent_path(&dir, path) != 0)
		goto out;
	dfd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto out;
	int in_pycache = is_pycache_dir(dfd);
	pyci_entry e = {base, strlen(base), DT_UNKNOWN};
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		goto out;
	e.type = IFTODT(st.st_mode);
	pyci_cache_name cname;
	if (pyci_cache_name_parse(e.name, e.len, in_pycache, &cname) != 0) {
		errno = EINVAL;
		goto out;
	}
	if (venvs_above(sc, dfd, dir.data) != 0)
		goto out;
	/* report the path exactly as given: its directory part is the listing's path */
	size_t dirpart = slash ? (size_t)(slash - path) : 0;
	if (slash == path)
		dirpart = 1; /* "/x.pyc" */
	pyci_buf shown = PYCI_BUF_INIT;
	if (pyci_buf_append(&shown, path, dirpart) != 0)
		goto out;
	pyci_dir one = {dfd, shown.data ? shown.data : "", dirpart, &e, 1, 0, NULL};
	struct job groups = {0};
	struct collect c = {sc, &sc->scratch, 0, &groups, sc->base_scope, &sc->venvs};
	if (in_pycache) {
		int up = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || parent_path(&srcdir, dir.data) != 0) {
			if (up >= 0)
				close(up);
			pyci_buf_free(&shown);
			goto out;
		}
		rc = pycache_group(&c, &one, up, srcdir.data);
	} else {
		rc = dir_group(&c, &one, NULL);
	}
	if (rc != 0)
		stop(sc, errno);
	submit_all(sc, &groups);
	pyci_buf_free(&shown);
out:;
	int err = errno;
	if (dfd >= 0)
		close(dfd);
	pyci_buf_free(&dir);
	pyci_buf_free(&srcdir);
	errno = err;
	return rc;
}

/* A walk error waits its turn behind the jobs before it, so reports keep the walk's order. */
static void walk_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct scanner *sc = ctx;
	struct job groups = {0};
	if (error_group(&groups, path, kind, err) != 0)
		stop(sc, ENOMEM);
	submit_all(sc, &groups);
}

/* ---- the parallel walk: a directory's groups are made and judged on a worker -------------- */

/*
 * Descriptors of the parallel walk (pwalk.h): a directory and its __pycache__ for each of the
 * WINDOW + 1 directories being visited or waiting to be emitted (and the ".." of a nested
 * __pycache__'s group), the same for each level above the emission point, PWALK_CLOSER_CAP
 * waiting for the closer (clean), DEEP_FDS for walk.c below MAX_PAR_DEPTH, PYCI_DEBRIS_FDS for
 * the removal of debris during an emit (clean), and for every thread a cache, a source being
 * hashed, a directory and its __pycache__ being opened.
 */
#define WINDOW 64
#define MAX_PAR_DEPTH 40
#define DEEP_FDS 64
#define PARALLEL_FDS                                                                \
	(3 * (WINDOW + 1) + 2 * (MAX_PAR_DEPTH + 1) + PWALK_CLOSER_CAP + DEEP_FDS + \
	 PYCI_DEBRIS_FDS + 4 * (MAX_THREADS + 1))

/* pwalk's visit. */
static void *pvisit(void *wctx, struct pwalk *walk, const pyci_dir *dir, const pyci_dir *pycache,
		    const void **scope, int *err)
{
	struct worker *w = wctx;
	struct job *b = calloc(1, sizeof(*b));
	if (!b) {
		*err = ENOMEM;
		return NULL;
	}
	struct collect c = {w->sc, &w->x, 1, b, *scope, w->venvs};
	count_dir(w->opt);
	if (collect(&c, dir, pycache) != 0) {
		*err = errno ? errno : ENOMEM;
		job_free(b);
		return NULL;
	}
	*scope = c.scope;
	if (b->n == 0) {
		job_free(b);
		return NULL;
	}
	for (size_t i = 0; i < b->n; i++)
		run_group_shared(w, walk, b->groups[i]);
	return b;
}

static int pskip(void *wctx, const pyci_dir *parent, const pyci_entry *e)
{
	struct worker *w = wctx;
	if (w->sc->prefix)
		return prefix_skip(w->sc, &w->x, parent, e->name);
	return excluded(w->sc, &w->x, parent, e->name, 1) || debris_rule(w->sc, parent, e);
}

static int pemit(void *ctx, void *result)
{
	struct scanner *sc = ctx;
	emit(sc, result);
	if (sc->stopped) {
		errno = sc->stop_errno;
		return -1;
	}
	return 0;
}

static void pdiscard(void *result)
{
	job_free(result);
}

/* A subtree deeper than MAX_PAR_DEPTH: walk.c on this thread, jobs run inline, in the scope
 * of the subtree's parent. */
static int pdeep(void *ctx, int parentfd, const char *name, const char *display, int depth,
		 const void *scope)
{
	struct scanner *sc = ctx;
	const struct venv_scope *outer = sc->base_scope;
	sc->base_scope = scope;
	sc->nscopes = 0;
	pyci_walk_options wopt = {.cross_mounts = sc->opt->cross_mounts,
				  .max_fds = DEEP_FDS,
				  .defer_close = sc->opt->defer_close};
	pyci_walk_ops wops = {
		.visit = visit, .error = walk_error, .skip = skip_dir, .done = drain, .ctx = sc};
	int rc = pyci_walk_at(parentfd, name, display, depth, &wopt, &wops);
	sc->base_scope = outer;
	if (rc != 0) {
		stop(sc, errno);
		return -1;
	}
	if (sc->stopped) {
		errno = sc->stop_errno;
		return -1;
	}
	return 0;
}

/* Walk the directory `path` with pwalk and `threads` workers. */
static int scan_parallel(struct scanner *sc, const char *path, unsigned threads)
{
	void **wctx = calloc((size_t)threads + 1, sizeof(*wctx));
	struct board bd = {0};
	int rc = -1, locks = 0;
	if (!wctx) {
		errno = ENOMEM;
		return -1;
	}
	if ((errno = pthread_mutex_init(&bd.lock, NULL)) != 0)
		goto out;
	locks = 1;
	if ((errno = pthread_cond_init(&bd.idle, NULL)) != 0)
		goto out;
	locks = 2;
	for (unsigned i = 0; i <= threads; i++) {
		if (!(wctx[i] = worker_new(sc)))
			goto out;
		((struct worker *)wctx[i])->board = &bd;
	}
	pwalk_options popt = {sc->opt->cross_mounts, threads, WINDOW,        MAX_PAR_DEPTH,
			      sc->opt->defer_close,  wctx,    sc->base_scope};
	pwalk_ops pops = {pvisit, help, pskip, pemit, walk_error, pdiscard, pdeep, sc};
	rc = pwalk(path, &popt, &pops);
out:;
	int e = errno;
	for (unsigned i = 0; i <= threads; i++)
		worker_free(wctx[i]);
	free(wctx);
	if (locks >= 2)
		pthread_cond_destroy(&bd.idle);
	if (locks >= 1)
		pthread_mutex_destroy(&bd.lock);
	errno = rc ? e : 0;
	return rc;
}

/*
 * Threads, the walker's descriptor budget, jobs in flight and groups per job, from opt and
 * RLIMIT_NOFILE.  The walker's budget includes the directories held open for groups not yet
 * reported (two per group); they may take at most half of it, so that it always has descriptors
 * to evict.  Every worker also holds up to two descriptors at a time (a cache and a source being
 * hashed).  Under a tight limit everything runs on the calling thread, one group at a time.
 */
struct plan {
	unsigned threads, walker_fds;
	size_t jobs, groups;
	int parallel; /* directories walked by pwalk, threads workers */
};

#define MIN_WALKER_FDS 6   /* walk.c's least: a root, its __pycache__ and a few levels */
#define MAX_WALKER_FDS 384 /* the most the walk itself holds open */
#define RLIMIT_CAP 4096    /* descriptors planned for, whatever RLIMIT_NOFILE allows */
#define RESERVED_FDS 8     /* stdio, the root's probes, the caller's own */
#define MIN_POOL_FDS 64    /* fewer: everything on the calling thread */
#define GROUPS_PER_JOB 16
#define GROUPS_PER_JOB_TIGHT 4 /* when descriptors are short */
#define MIN_JOBS 2
#define MAX_JOBS 16

/* One thread, walk.c, one job of one group at a time: the plan that needs the least. */
static const struct plan serial_plan = {
	.threads = 0,
	.walker_fds = MIN_WALKER_FDS,
	.jobs = 1,
	.groups = 1,
	.parallel = 0,
};

static struct plan make_plan(const pyci_scan_options *opt)
{
	struct plan p = serial_plan;
	long avail = opt->max_fds;
	if (!avail) {
		struct rlimit rl;
		rlim_t cur = 1024;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			cur = rl.rlim_cur;
		if (cur > RLIMIT_CAP)
			cur = RLIMIT_CAP;
		avail = (long)cur - RESERVED_FDS;
	}
	if (opt->debris)
		avail -= PYCI_DEBRIS_FDS; /* the removal of debris during an emit (clean) */
	long n = opt->threads ? (long)opt->threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 1 || avail < MIN_POOL_FDS)
		n = 0;
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	long w = avail - 2 * (n ? n : 1);
	if (w > MAX_WALKER_FDS)
		w = MAX_WALKER_FDS;
	p.walker_fds = w < MIN_WALKER_FDS ? MIN_WALKER_FDS : (unsigned)w;
	if (n) {
		/* held: 2 x groups x (jobs in the pool + the open one) <= w / 2 */
		p.threads = (unsigned)n;
		p.groups = GROUPS_PER_JOB;
		long j = w / 4 / (long)p.groups - 1;
		if (j < MIN_JOBS) {
			p.groups = GROUPS_PER_JOB_TIGHT;
			j = w / 4 / (long)p.groups - 1;
		}
		p.jobs = j < MIN_JOBS ? MIN_JOBS : j > MAX_JOBS ? MAX_JOBS : (size_t)j;
		p.parallel = avail >= PARALLEL_FDS;
	}
	return p;
}

/* The end of a run: report what is still in flight, free the scanner, and the result. */
static int scan_end(struct scanner *sc, int rc)
{
	int err = errno;
	if (sc->pool) {
		drain(sc);
		pool_free(sc->pool);
	}
	if (sc->stopped) {
		rc = -1;
		err = sc->stop_errno;
	}
	pyci_buf_free(&sc->path);
	pyci_buf_free(&sc->srcpath);
	scratch_free(&sc->scratch);
	for (struct venv_scope *v = atomic_load(&sc->venvs), *next; v; v = next) {
		next = v->next;
		free(v);
	}
	free(sc->scopes);
	venv_memo_free(&sc->memo);
	errno = rc ? err : 0;
	return rc;
}

/* Walk the directory, or judge the single cache, at path (see pyci_scan_path) with sc, whose
 * opt, ops and mode are set. */
static int scan_root(struct scanner *sc, const char *path)
{
	const pyci_scan_options *opt = sc->opt;
	int rc = -1;
	struct stat st;
	struct plan plan = make_plan(opt);
	sc->batch_groups = plan.groups;

	if (lstat(path, &st) != 0)
		return scan_end(sc, -1);
	if (S_ISLNK(st.st_mode) || (sc->prefix && !S_ISDIR(st.st_mode))) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
		return scan_end(sc, -1);
	}
	int parallel = S_ISDIR(st.st_mode) && plan.parallel;
	if (parallel) /* the pool only runs the subtrees too deep for pwalk, inline */
		plan = (struct plan){.threads = plan.threads,
				     .walker_fds = MIN_WALKER_FDS,
				     .jobs = 1,
				     .groups = 1,
				     .parallel = 1};
	sc->batch_groups = plan.groups;
	/* threads in all: the walking thread and plan.threads - 1 workers */
	sc->pool = pool_new(S_ISDIR(st.st_mode) && !parallel && plan.threads ? plan.threads - 1 : 0,
			    plan.jobs, run_job, worker_new, worker_free, sc);
	if (!sc->pool)
		return scan_end(sc, -1);
	if (!S_ISDIR(st.st_mode)) {
		sc->named_file = 1;
		return scan_end(sc, scan_file(sc, path));
	}
	int probe = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (probe < 0)
		return scan_end(sc, -1);
	sc->root_is_pycache = !sc->prefix && is_pycache_dir(probe);
	/* installed packages hold build/, dist/, *.egg-info of their own: never debris (a root
	 * whose real path cannot be told is not searched either); a prefix tree holds none */
	sc->no_debris = sc->prefix || (opt->debris && pyci_debris_installed_path(path) != 0);
	/* a prefix tree's directories are no source directories: no pyvenv.cfg is looked for */
	int found = sc->prefix ? 0 : venvs_above(sc, probe, path);
	close(probe);
	if (found != 0)
		return scan_end(sc, -1);
	sc->root_len = strlen(path) + sc->scope_len;
	if (parallel) {
		rc = scan_parallel(sc, path, plan.threads - 1);
	} else {
		pyci_walk_options wopt = {.cross_mounts = opt->cross_mounts,
					  .max_fds = plan.walker_fds,
					  .defer_close = opt->defer_close};
		pyci_walk_ops wops = {.visit = visit,
				      .error = walk_error,
				      .skip = skip_dir,
				      .done = drain,
				      .ctx = sc};
		rc = pyci_walk(path, &wopt, &wops);
	}
	return scan_end(sc, rc);
}

int pyci_scan_path(const char *path, const pyci_scan_options *opt, const pyci_scan_ops *ops)
{
	struct scanner sc = {0};
	sc.opt = opt;
	sc.ops = ops;
	return scan_root(&sc, path);
}

int pyci_scan_prefix(const char *prefix, const char *dir, const pyci_scan_options *opt,
		     const pyci_scan_ops *ops)
{
	pyci_buf root = PYCI_BUF_INIT, scope = PYCI_BUF_INIT;
	size_t n = strlen(prefix);
	int rc = -1;
	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	/* a trailing '/': the prefix itself is followed when it is a symlink, as Python follows
	 * it; the walk follows nothing below it */
	if (pyci_buf_append(&root, prefix, n) != 0 ||
	    (root.data[root.len - 1] != '/' && pyci_buf_putc(&root, '/') != 0) ||
	    (dir && pyci_prefix_rel(&scope, dir) != 0) || pyci_buf_append(&scope, "", 0) != 0)
		goto out;
	struct scanner sc = {0};
	sc.opt = opt;
	sc.ops = ops;
	sc.prefix = 1;
	sc.scope = scope.data;
	sc.scope_len = scope.len;
	sc.tree_len = root.len;
	rc = scan_root(&sc, root.data);
out:;
	int e = errno;
	pyci_buf_free(&root);
	pyci_buf_free(&scope);
	errno = rc ? e : 0;
	return rc;
}

/* ---- file lists: groups made by filelist.c -------------------------------------------------- */

int scanner_site(struct scanner *sc, const scan_site *s)
{
	struct job groups = {0};
	struct collect c = {sc, &sc->scratch, 0, &groups, s->scope, &sc->venvs};
	pyci_dir legacy = {s->srcfd, s->srcpath, strlen(s->srcpath), s->legacy, s->nlegacy,
			   0,        NULL};
	pyci_dir pc = {s->pcfd, s->pcpath, s->pcpath ? strlen(s->pcpath) : 0, s->pc, s->npc,
		       0,       NULL};
	pyci_dir src = {s->srcfd, s->srcpath, strlen(s->srcpath), s->src, s->nsrc, 0, NULL};
	struct group_spec g = {.srcfd = s->srcfd >= 0 ? dup_fd(s->srcfd) : -1,
			       .src_err = s->src_err,
			       .srcpath = s->srcpath,
			       .listing = s->src ? &src : NULL,
			       .legacy = s->nlegacy && s->srcfd >= 0 ? &legacy : NULL,
			       .pycache = s->pcfd >= 0 ? &pc : NULL,
			       .pc_select = s->pc_select,
			       .partial = s->prefix,
			       .prefix = s->prefix};
	if (sc->stopped) {
		errno = sc->stop_errno;
		return -1;
	}
	if ((s->srcfd >= 0 && g.srcfd < 0) || make_group(&c, &g) != 0)
		stop(sc, errno);
	return submit_checked(sc, &groups);
}

int scanner_venv(struct scanner *sc, int dirfd, const char *display,
		 const struct venv_scope **scope)
{
	*scope = NULL;
	if (!sc->opt->venv_targets)
		return 0;
	const struct venv_scope *known = atomic_load(&sc->venvs);
	const void *found;
	if (venv_above(dirfd, display, sc->opt->cross_mounts, sc->opt->root ? sc->opt->root_fd : -1,
		       &sc->memo, found_above, sc, &found) != 0) {
		stop(sc, errno);
		return -1;
	}
	*scope = found;
	/* the ones this climb found are on the list before those known, the outermost first:
	 * told in that order, behind the records already in flight */
	struct job groups = {0};
	for (const struct venv_scope *v = atomic_load(&sc->venvs); v != known && !sc->stopped;
	     v = v->next)
		if (notice_group(&groups, v) != 0)
			stop(sc, ENOMEM);
	return submit_checked(sc, &groups);
}

int scanner_error(struct scanner *sc, const char *path, pyci_walk_err kind, int err)
{
	walk_error(sc, path, kind, err);
	if (sc->stopped) {
		errno = sc->stop_errno;
		return -1;
	}
	return 0;
}

int pyci_scan_list(const char *const *paths, size_t n, const char *prefix,
		   const pyci_scan_options *opt, const pyci_scan_ops *ops, pyci_list_stats *stats)
{
	struct scanner sc = {0};
	sc.opt = opt;
	sc.ops = ops;
	sc.named_file = 1; /* nothing listed is left out */
	struct plan plan = make_plan(opt);
	sc.batch_groups = plan.groups;
	sc.pool = pool_new(plan.threads ? plan.threads - 1 : 0, plan.jobs, run_job, worker_new,
			   worker_free, &sc);
	if (!sc.pool)
		return scan_end(&sc, -1);
	return scan_end(&sc, filelist_scan(&sc, paths, n, prefix, opt, stats));
}
