/*
 * arlayers.c - pass 1 of an image with its layers read on threads (arrun.h; archive.c has the
 * passes and the walk).
 *
 * The layers of an image are streams of their own, and in a tarball that is not compressed
 * each is a region of the file, read with pread.  So pass 1 walks the tarball on the calling
 * thread (the main run: headers, manifests, small members; each layer only sniffed) and leaves
 * each such layer to a job, taken largest first by up to options.threads threads (the calling
 * one included, at most 8), each job with a run of its own: its libarchive reader, locale,
 * scratch, table, member errors, and ordinals counted from 1.  Then the runs are merged as the
 * one walk would have made them: ordinals shifted by the entries of the layers before, members
 * appended to one table in the walk's order (so every later index, decision and record is the
 * one walk's), member errors said in that order, and the first failure in that order is the
 * run's (a job after a failure stops at its next block).
 *
 * The limits are the archive's: every run adds its bytes to sums shared by all (atomics) and
 * checks the sums, so that a bomb in any layer stops every thread early; the tables share one
 * budget (artable_share).  Where the walk stops then depends on the threads' pace, and with it
 * which member errors come before: so when a limit was passed (or memory ran short), or might
 * have been passed by the one walk (note_ratio), pass 1 is walked again on one thread, and its
 * answer is the archive's.  Memory: per thread one reader and 128 KiB of blocks; the tables
 * within the one budget, and the merged table beside them while it is made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arrun.h"
#include "preadall.h"

#define MAX_LAYER_THREADS 8 /* as for a directory (scan.h) */

/* A layer to read on a thread: pass 1 of an image whose tarball is not compressed. */
struct job {
	uint32_t layer;         /* its stream index */
	uint64_t at;            /* the ordinal of its entry in the main run's walk */
	uint64_t off, got, end; /* its bytes in the file, [off, end); got of them sniffed */
	struct run *sub;        /* its own run: table, member errors, outcome */
	int rc, err;            /* ar_read_layer's, and errno */
};

/* What the threads of pass 1 share. */
struct par {
	struct run *main;
	unsigned threads;
	_Atomic uint64_t out, raw; /* decompressed bytes, bytes of the file read: every run's */
	atomic_size_t table;       /* bytes of every run's table (artable_share) */
	_Atomic uint32_t failed;   /* the lowest layer whose job failed (UINT32_MAX: none) */
	atomic_int again;          /* one walk might end elsewhere: walk again, on one thread */
	atomic_size_t next;        /* the next job taken, in order */
	struct job *jobs;          /* in layer order */
	size_t njobs, jobs_cap;
	size_t *order;    /* jobs by size, largest first: the order they are taken */
	struct merr *say; /* the member errors to say, in the walk's order (merge; their
			   * paths are the runs') */
	size_t nsay;
	uint64_t unsaid; /* and those only counted */
};

/* Whether a layer's run is to stop: a layer before it failed, and the walk ends there. */
int ar_cancelled(const struct run *r)
{
	return r->job_layer && atomic_load(&r->par->failed) < r->job_layer;
}

/*
 * With layers on threads: whether the one walk might stop at the ratio's limit where the
 * threads did not.  The one walk's counts at any moment are sums of pieces (the layers before,
 * the tarball's bytes, the layer being read so far), and a sum of pieces passes the ratio only
 * when one of them does (a mediant is never above its largest part); so a run whose own bytes
 * never pass it (nor the tarball's: not compressed, at most 2:1) cannot make either walk stop.
 * One that does makes pass 1 walk again, on one thread.
 */
static void note_ratio(struct run *r, uint64_t out, uint64_t raw)
{
	out += r->lent; /* a layer's piece holds the bytes the tarball's reader sniffed */
	raw += r->lent;
	if (out > 0 && out / r->ao->limits.max_ratio >= raw)
		atomic_store(&r->par->again, 1);
}

/* With layers on threads: this run's count now into the sum of all, and the sum. */
static uint64_t publish(_Atomic uint64_t *sum, uint64_t *mine, uint64_t now)
{
	if (now >= *mine)
		atomic_fetch_add(sum, now - *mine);
	else
		atomic_fetch_sub(sum, *mine - now);
	*mine = now;
	return atomic_load(sum);
}

void ar_share_counts(struct run *r, uint64_t *out, uint64_t *raw)
{
	note_ratio(r, *out, *raw);
	*out = publish(&r->par->out, &r->pub_out, *out);
	*raw = publish(&r->par->raw, &r->pub_raw, *raw);
}

/* Leave layer l, bytes [off, end) of the file (got of them read to sniff it), to a job. */
int ar_queue_layer(struct run *r, uint32_t l, uint64_t off, uint64_t got, uint64_t end)
{
	struct par *p = r->par;
	if (p->njobs == p->jobs_cap) {
		size_t cap = p->jobs_cap ? p->jobs_cap * 2 : 16;
		struct job *j = realloc(p->jobs, cap * sizeof(*j));
		if (!j)
			return -1;
		p->jobs = j;
		p->jobs_cap = cap;
	}
	p->jobs[p->njobs++] =
		(struct job){.layer = l, .at = r->ordinal, .off = off, .got = got, .end = end};
	return 0;
}

static void note_failed(struct par *p, uint32_t layer)
{
	uint32_t f = atomic_load(&p->failed);
	while (layer < f && !atomic_compare_exchange_weak(&p->failed, &f, layer))
		;
}

/* A job: its layer read into a run of its own (j->sub, kept for the merge). */
static void run_job(struct par *p, struct job *j)
{
	const struct run *m = p->main;
	struct run *s = calloc(1, sizeof(*s));
	unsigned char *prefix = malloc(j->got ? (size_t)j->got : 1);
	unsigned char *block = malloc(BLOCK);
	j->rc = -1;
	j->err = ENOMEM;
	j->sub = s;
	if (s) {
		*s = (struct run){.path_arg = m->path_arg,
				  .ao = m->ao,
				  .opt = m->opt,
				  .ops = m->ops,
				  .aops = m->aops,
				  .fd = m->fd,
				  .pass = 1,
				  .par = p,
				  .job_layer = j->layer,
				  .lent = j->got};
		artable_init(&s->t, m->ao->limits.max_table);
		artable_share(&s->t, &p->table);
	}
	if (s && prefix && block) {
		ar_enter_locale(s);
		/* the bytes the tarball's reader sniffed (and counted) come first, as in the one
		 * walk */
		if (pyci_pread_exact(m->fd, prefix, (size_t)j->got, j->off) != 0) {
			ar_set_fatal(s, "archive not judged: cannot read it", NULL, errno);
		} else {
			struct nest ns = {.r = s,
					  .prefix = prefix,
					  .prefix_len = (size_t)j->got,
					  .block = block,
					  .region = 1,
					  .off = j->off + j->got,
					  .end = j->end};
			j->rc = ar_read_layer(s, &ns, j->layer, ar_keep_entry);
			j->err = errno;
			note_ratio(s, ar_decompressed(s), s->raw_region); /* its whole piece */
		}
		ar_leave_locale(s);
	}
	if (j->rc != 0 || !s || s->fatal) {
		note_failed(p, j->layer);
		/* a limit passed, or memory short: where the one walk stops is its to say */
		if (!s || (s->fatal ? s->fatal_err == EFBIG : j->err == EFBIG || j->err == ENOMEM))
			atomic_store(&p->again, 1);
	}
	free(prefix);
	free(block);
}

static void *job_thread(void *arg)
{
	struct par *p = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->njobs)
			return NULL;
		struct job *j = &p->jobs[p->order[i]];
		if (atomic_load(&p->failed) > j->layer) /* else the walk ends before it */
			run_job(p, j);
	}
}

static int by_size(const void *a, const void *b, void *ctx)
{
	const struct job *jobs = ctx;
	uint64_t x = jobs[*(const size_t *)a].end - jobs[*(const size_t *)a].off;
	uint64_t y = jobs[*(const size_t *)b].end - jobs[*(const size_t *)b].off;
	if (x != y)
		return x > y ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* The jobs, on the calling thread and up to p->threads - 1 more.  0, or -1 (ENOMEM). */
static int run_jobs(struct par *p)
{
	if (!p->njobs)
		return 0;
	if (!(p->order = malloc(p->njobs * sizeof(size_t))))
		return -1;
	for (size_t i = 0; i < p->njobs; i++)
		p->order[i] = i;
	qsort_r(p->order, p->njobs, sizeof(size_t), by_size, p->jobs);
	size_t n = p->threads < p->njobs ? p->threads : p->njobs;
	pthread_t tid[MAX_LAYER_THREADS];
	size_t started = 0;
	while (started + 1 < n && pthread_create(&tid[started], NULL, job_thread, p) == 0)
		started++; /* (a thread not started: the others do its share) */
	job_thread(p);
	for (size_t i = 0; i < started; i++)
		(void)pthread_join(tid[i], NULL);
	return 0;
}

/* A member error to say after the merge.  0, or -1 (ENOMEM). */
static int to_say(struct par *p, const struct merr *e)
{
	struct merr *a = realloc(p->say, (p->nsay + 1) * sizeof(*a));
	if (!a)
		return -1;
	p->say = a;
	p->say[p->nsay++] = *e;
	return 0;
}

/* Move the main run's members [*from, up to ordinal below) to f, shifted, and say its member
 * errors met before it.  0, or -1. */
static int merge_main(struct run *r, artable *f, size_t *from, size_t *said, uint64_t below,
		      uint64_t shift)
{
	size_t i = *from;
	while (i < r->t.n && r->t.m[i].ordinal < below)
		i++;
	if (artable_append(f, &r->t, *from, i, shift) != 0)
		return -1;
	*from = i;
	for (; *said < r->nmerr && r->merr[*said].at < below; ++*said)
		if (to_say(r->par, &r->merr[*said]) != 0)
			return -1;
	return 0;
}

/*
 * The runs of pass 1 as one: the main run's walk ended with rc (errno err), the jobs are done.
 * r's table, ordinals, layers and member errors become the one walk's; the first failure in
 * the walk's order is r's.  0, or -1 (fatal, said in r, or errno).
 */
static int merge_runs(struct run *r, int rc, int err)
{
	struct par *p = r->par;
	artable f;
	artable_init(&f, r->ao->limits.max_table);
	uint64_t shift = 0;
	size_t from = 0, said = 0, layer = 0;
	if (!p->njobs) { /* the main run's walk was the whole: its table is the one walk's */
		for (; said < r->nmerr; said++)
			if (to_say(p, &r->merr[said]) != 0)
				return -1;
		p->unsaid += r->member_errors - r->nmerr;
		errno = err;
		return rc;
	}
	if (artable_reserve(&f, r->t.extra) != 0)
		goto fail;
	for (size_t k = 0; k < p->njobs; k++) {
		struct job *j = &p->jobs[k];
		struct run *s = j->sub;
		if (merge_main(r, &f, &from, &said, j->at, shift) != 0)
			goto fail;
		for (; layer + 1 < j->layer; layer++)
			r->layers[layer].first += shift; /* read by the main run */
		layer++;
		uint64_t first = j->at + shift + 1;
		r->layers[j->layer - 1].first = first;
		if (s) {
			if (artable_append(&f, &s->t, 0, s->t.n, first - 1) != 0 ||
			    artable_append_events(&f, &s->t) != 0)
				goto fail;
			artable_free(&s->t); /* the merged table grows as the layers' go */
			for (size_t i = 0; i < s->nmerr; i++)
				if (to_say(p, &s->merr[i]) != 0)
					goto fail;
			p->unsaid += s->member_errors - s->nmerr;
		}
		if (j->rc != 0 || !s || s->fatal) { /* where the one walk would have stopped */
			free(r->fatal_detail);
			r->fatal = 0;
			r->fatal_detail = NULL;
			if (s && s->fatal)
				ar_set_fatal(r, s->fatal_msg, s->fatal_detail, s->fatal_err);
			artable_free(&f);
			errno = s && s->fatal ? EIO : j->err;
			return -1;
		}
		r->layers[j->layer - 1].count = s->ordinal;
		shift += s->ordinal;
	}
	if (merge_main(r, &f, &from, &said, UINT64_MAX, shift) != 0 ||
	    artable_append_events(&f, &r->t) != 0)
		goto fail;
	for (; layer < r->nlayers; layer++)
		r->layers[layer].first += shift;
	p->unsaid += r->member_errors - r->nmerr;
	if (rc != 0) { /* the main run's own failure, after every layer before it */
		artable_free(&f);
		errno = err;
		return -1;
	}
	r->ordinal += shift;
	artable_free(&r->t);
	r->t = f;
	/* every run's bytes, as each counted them at its end */
	return ar_over_limits(r, atomic_load(&p->out), atomic_load(&p->raw));
fail:
	artable_free(&f);
	return -1;
}

/* Threads for an image's layers: options.threads, 0 one per online CPU, at most 8. */
static unsigned layer_threads(const pyci_scan_options *o)
{
	long n = o->threads ? (long)o->threads : sysconf(_SC_NPROCESSORS_ONLN);
	return n <= 1 ? 1 : n > MAX_LAYER_THREADS ? MAX_LAYER_THREADS : (unsigned)n;
}

/* Pass 1 with the layers on threads (r->par).  0, or -1 (fatal, or errno), the member errors
 * not said yet (in r->par->say). */
static int table_on_threads(struct run *r)
{
	struct par *p = r->par;
	artable_share(&r->t, &p->table);
	int rc = ar_walk_table(r);
	int err = errno;
	if (rc != 0 && (r->fatal ? r->fatal_err == EFBIG : err == EFBIG || err == ENOMEM))
		atomic_store(&p->again, 1);
	if (run_jobs(p) != 0) { /* memory short: one thread may do */
		atomic_store(&p->again, 1);
		artable_unshare(&r->t);
		return -1;
	}
	rc = merge_runs(r, rc, err);
	err = errno;
	if (rc != 0 && (r->fatal ? r->fatal_err == EFBIG : err == EFBIG || err == ENOMEM))
		atomic_store(&p->again, 1);
	artable_unshare(&r->t);
	errno = err;
	return rc;
}

/*
 * Pass 1: the walk that makes the table, with the layers of an image on threads when there
 * are threads.  Where a limit was passed (or memory ran short), or might have been in the one
 * walk, pass 1 is walked again on one thread: where the walk stops, and so which member errors
 * are said before, is the one walk's.  0, or -1 (fatal, said in r, or errno).
 */
int ar_read_table(struct run *r)
{
	unsigned n = layer_threads(r->opt);
	if (n <= 1 || r->ao->limits.max_ratio <= 2) /* (note_ratio) */
		return ar_walk_table(r);
	struct par p = {.main = r, .threads = n};
	atomic_init(&p.out, 0);
	atomic_init(&p.raw, 0);
	atomic_init(&p.table, 0);
	atomic_init(&p.failed, UINT32_MAX);
	atomic_init(&p.again, 0);
	atomic_init(&p.next, 0);
	r->par = &p;
	int rc = table_on_threads(r);
	int err = errno;
	r->par = NULL;
	/* (with no layer left to a thread, the walk was the one walk: no second one) */
	if (atomic_load(&p.again) && p.njobs) {
		ar_forget_table(r);
		rc = ar_walk_table(r);
		err = errno;
	} else {
		r->member_errors = 0;
		for (size_t i = 0; i < p.nsay; i++)
			ar_say_error(r, p.say[i].path, p.say[i].msg, p.say[i].err);
		r->member_errors += p.unsaid;
	}
	for (size_t i = 0; i < p.njobs; i++)
		if (p.jobs[i].sub) {
			ar_run_free(p.jobs[i].sub);
			free(p.jobs[i].sub);
		}
	free(p.jobs);
	free(p.order);
	free(p.say);
	errno = err;
	return rc;
}
