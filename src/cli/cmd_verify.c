/*
 * cmd_verify.c - `pycinspect verify`: is the code in each cache the code its source compiles
 * to (verify.h; the threat and the limits: docs/security.md).
 *
 * The scan engine finds and judges the caches as for `scan`; for each, on the thread that gets
 * the records, the cache and its source are read through the walk's directories
 * (pyci_verify_read) into a job.  Jobs go to a queue served by one thread per CPU (--jobs),
 * which compile, with workers borrowed from the interpreters' pools (interps.h), and compare
 * (pyci_verify);
 * the results come back in the walk's order and are written by the record thread, as they
 * complete at the head of the queue.  The queue holds at most QUEUE_SLOTS jobs and
 * QUEUE_BYTES of files (one larger job alone), so memory stays bounded however large the tree.
 *
 * Text for people (what does not match, with --all every cache, then a summary) or JSON Lines
 * (every cache, then the summary).  With --check the exit status says whether every cache
 * matched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "interps.h"
#include "scanrun.h"
#include "pycinspect/verify.h"

#define FLUSH_AT ((size_t)64 * 1024)
#define QUEUE_BYTES ((size_t)256 << 20)
#define DEFAULT_TIMEOUT_S 60

struct vjob {
	size_t bytes; /* of files held */
	/* the record, copied: its JSON and text are written later */
	char *path, *name, *source_path;
	size_t path_len, name_len, source_path_len;
	pyci_cache_name cname;
	pyci_header header;
	pyci_jclass jclass; /* a Jython class file's */
	int have_jclass;
	pyci_load load; /* --deep's */
	int have_load;
	pyci_verdict verdict;
	pyci_source_info source;
	int have_source;
	int have_file, file_errno;
	pyci_file_info file;
	pyci_verify_files files;
	int levels[2];
	size_t nlevels;
	/* the result */
	int done;
	int err; /* pyci_verify failed: its errno */
	pyci_verify_result res;
};

struct vversion {
	char version[24];
	unsigned long long n[PYCI_VERIFY_COUNT];
};

struct verify_cli;

struct verify_cli {
	struct scanrun e; /* the scan's callbacks get &e as ctx; e.cmd is this struct */
	int all, check;
	long timeout_s;
	struct interps interps;
	/* the queue: jobs by sequence number, ring[seq % slots] */
	pthread_mutex_t mu;
	pthread_cond_t work, progress;
	struct vjob **ring;
	size_t slots;
	uint64_t first, next, tail; /* oldest not written, next to take, next to add */
	size_t bytes;
	int closing, abort;
	int locks; /* mu, work and progress are set up */
	pthread_t *threads;
	size_t nthreads;
	/* counts */
	unsigned long long n[PYCI_VERIFY_COUNT], no_source, failed;
	struct vversion *versions;
	size_t nversions;
};

enum { VERIFY_ALL = 256, VERIFY_CHECK, VERIFY_PYTHON, VERIFY_TIMEOUT };

static const struct cli_option verify_options[] = {
	{"all", 'a', CLI_NOARG, NULL,
	 "list the caches that match too (--json always lists every\n"
	 "cache)",
	 VERIFY_ALL, NULL},
	{"check", 0, CLI_NOARG, NULL,
	 "exit 1 unless every cache matches its source (and every\n"
	 "directory was read)",
	 VERIFY_CHECK, NULL},
	{"python", 0, CLI_ARG, "VERSION=PATH",
	 "the interpreter to compile the sources of VERSION's caches\n"
	 "with (3.12=/usr/bin/python3.12, pypy3.9=/usr/bin/pypy3),\n"
	 "repeatable; instead of those found on PATH and in pyenv's\n"
	 "versions",
	 VERIFY_PYTHON, NULL},
	{"timeout", 0, CLI_ARG, "SECONDS",
	 "the most an interpreter may take to start or to compile one\n"
	 "source (default 60); one that takes longer is killed and its\n"
	 "caches are unverifiable",
	 VERIFY_TIMEOUT, NULL},
	{0},
};

static const struct cli_group verify_groups[] = {
	{"options:", verify_options, 0},
	{NULL, scanrun_json_option, 0},
	{NULL, scanrun_quiet_option, 0},
	{NULL, cli_color_option, 0},
	{NULL, scanrun_options, 0},
	{NULL, cli_help_option, 0},
	{0},
};

const struct cli_command verify_command = {
	.name = "verify",
	.head = "usage: pycinspect verify [OPTIONS] [PATH...]\n"
		"\n"
		"Compile the source of every .pyc/.pyo under each PATH (default: .) with an interpreter\n"
		"of the cache's own version, at its optimisation level, and compare the code with the\n"
		"cache's, field by field.  Verdicts: matches, differs (where, and both values),\n"
		"unverifiable (why: no source, no interpreter, a body or source that does not compile).\n"
		"A header can lie; this reads the code (docs/security.md).\n",
	.groups = verify_groups,
	.tail = "\n"
		"The interpreters only compile (compile(), marshal.dumps), isolated (-I, or -E -s -S);\n"
		"they never import or run the code.  --jobs sets the threads, and so the most workers\n"
		"of one interpreter.\n"
		"exit status: 0 done, 1 under --check: a cache that does not match or an unreadable\n"
		"directory, 2 usage or fatal error\n",
	.column = 28,
};

/* ---- jobs ------------------------------------------------------------------------------- */

static void job_free(struct vjob *j)
{
	if (!j)
		return;
	free(j->path);
	free(j->name);
	free(j->source_path);
	pyci_verify_files_free(&j->files);
	pyci_verify_result_free(&j->res);
	free(j);
}

static char *dup_bytes(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* A job for record r, its files read.  NULL (ENOMEM). */
static struct vjob *job_new(const pyci_record *r)
{
	struct vjob *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->res.level = -1;
	j->path = dup_bytes(r->path, r->path_len);
	j->name = dup_bytes(r->name, r->name_len);
	j->source_path = r->source_path ? dup_bytes(r->source_path, r->source_path_len) : NULL;
	if (!j->path || !j->name || (r->source_path && !j->source_path))
		goto fail;
	j->path_len = r->path_len;
	j->name_len = r->name_len;
	j->source_path_len = r->source_path ? r->source_path_len : 0;
	j->cname = *r->cname;
	j->header = *r->header;
	if (r->jclass) {
		j->jclass = *r->jclass;
		j->have_jclass = 1;
	}
	if (r->load) {
		j->load = *r->load;
		j->have_load = 1;
	}
	j->verdict = *r->verdict;
	if (r->source) {
		j->source = *r->source;
		j->have_source = 1;
	}
	j->have_file = r->have_file;
	j->file = r->file;
	j->file_errno = r->file_errno;
	j->nlevels = pyci_verify_levels(r->cname, r->name, j->levels);
	if (pyci_verify_read(r, &j->files) != 0)
		goto fail;
	j->bytes = j->files.len + j->files.srclen;
	return j;
fail:
	job_free(j);
	errno = ENOMEM;
	return NULL;
}

/* The record a job was made from, for pyci_record_members and the summary. */
static void job_record(const struct vjob *j, pyci_record *r)
{
	memset(r, 0, sizeof(*r));
	r->path = j->path;
	r->path_len = j->path_len;
	r->name = j->name;
	r->name_len = j->name_len;
	r->dirfd = r->srcdirfd = -1;
	r->source_path = j->source_path;
	r->source_path_len = j->source_path_len;
	r->cname = &j->cname;
	r->header = &j->header;
	r->jclass = j->have_jclass ? &j->jclass : NULL;
	r->load = j->have_load ? &j->load : NULL;
	r->verdict = &j->verdict;
	r->source = j->have_source ? &j->source : NULL;
	r->have_file = j->have_file;
	r->file = j->file;
	r->file_errno = j->file_errno;
}

/* The work of one job, on a verify thread. */
static void job_run(struct verify_cli *c, struct vjob *j)
{
	pyci_verify_input in = {
		.header = &j->header,
		.file = j->files.file,
		.len = j->files.len,
		.src = j->files.src,
		.srclen = j->files.srclen,
		.no_source = j->files.no_source,
		.levels = j->levels,
		.nlevels = j->nlevels,
		.compile = interps_compile,
		.ctx = &c->interps,
	};
	if (!j->files.file || j->files.why.len) {
		/* not read: the reason is the verdict's */
		j->res.verdict = PYCI_VERIFY_UNVERIFIABLE;
		if (pyci_buf_append(&j->res.why, j->files.why.data, j->files.why.len) != 0)
			j->err = ENOMEM;
	} else if (pyci_verify(&in, &j->res) != 0) {
		j->err = errno;
	}
	/* the files are not needed any more: memory back to the queue's bound now */
	free(j->files.file);
	free(j->files.src);
	j->files.file = j->files.src = NULL;
}

static void *thread_main(void *arg)
{
	struct verify_cli *c = arg;
	for (;;) {
		(void)pthread_mutex_lock(&c->mu);
		while (!c->closing && c->next == c->tail)
			(void)pthread_cond_wait(&c->work, &c->mu);
		if (c->next == c->tail) {
			(void)pthread_mutex_unlock(&c->mu);
			break;
		}
		struct vjob *j = c->ring[c->next % c->slots];
		c->next++;
		int skip = c->abort;
		(void)pthread_mutex_unlock(&c->mu);
		if (!skip)
			job_run(c, j);
		(void)pthread_mutex_lock(&c->mu);
		j->done = 1;
		c->bytes -= j->bytes;
		j->bytes = 0;
		(void)pthread_cond_broadcast(&c->progress);
		(void)pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

/* ---- output ----------------------------------------------------------------------------- */

static struct vversion *version_row(struct verify_cli *c, const char *version)
{
	for (size_t k = 0; k < c->nversions; k++)
		if (strcmp(c->versions[k].version, version) == 0)
			return &c->versions[k];
	struct vversion *v = realloc(c->versions, (c->nversions + 1) * sizeof(*v));
	if (!v)
		return NULL;
	c->versions = v;
	v = &c->versions[c->nversions++];
	memset(v, 0, sizeof(*v));
	(void)snprintf(v->version, sizeof(v->version), "%s", version);
	return v;
}

/* A list of names ("a, b") for people, each quoted as paths are. */
static int names_text(pyci_buf *b, const char *label, const pyci_buf *list, size_t n, size_t more)
{
	if (!n)
		return 0;
	int rc = pyci_buf_printf(b, "; %s: ", label);
	size_t off = 0;
	for (size_t k = 0; k < n && !rc; k++) {
		size_t len = strlen(list->data + off);
		rc = (k && pyci_buf_puts(b, ", ")) || cli_quote_path(b, list->data + off, len);
		off += len + 1;
	}
	if (!rc && more)
		rc = pyci_buf_printf(b, " and %zu more", more);
	return rc;
}

static int line_text(pyci_buf *b, const struct vjob *j, const char *version)
{
	const pyci_verify_result *v = &j->res;
	int rc = cli_styled(b, cli_verify_style(v->verdict), pyci_verify_name(v->verdict), 12) ||
		 pyci_buf_printf(b, " %-8s ", version) || cli_quote_path(b, j->path, j->path_len);
	if (rc)
		return -1;
	if (v->verdict == PYCI_VERIFY_DIFFERS) {
		rc = pyci_buf_printf(b, ": %s: the cache has %s, the source compiles to %s",
				     v->diff.where.data, v->diff.a_value.data,
				     v->diff.b_value.data);
		if (!rc && v->diff.offset != SIZE_MAX)
			rc = pyci_buf_printf(b, " (byte %zu)", v->diff.offset);
	} else if (v->verdict == PYCI_VERIFY_UNVERIFIABLE) {
		rc = pyci_buf_printf(b, ": %s", v->why.data ? v->why.data : "");
	}
	if (!rc && v->have_names) {
		rc = names_text(b, "imports", &v->names.imports, v->names.nimports,
				v->names.imports_more) ||
		     names_text(b, "uses", &v->names.watched, v->names.nwatched, 0);
	}
	if (!rc && j->verdict.status != PYCI_FRESH && v->verdict != PYCI_VERIFY_UNVERIFIABLE)
		rc = pyci_buf_printf(b, " (scan: %s)", pyci_status_name(j->verdict.status));
	return rc || pyci_buf_putc(b, '\n') ? -1 : 0;
}

static void names_json(pyci_jw *w, const char *key, const pyci_buf *list, size_t n, int known)
{
	if (!known) {
		pyci_jw_null(w, key);
		return;
	}
	pyci_jw_begin_array(w, key);
	size_t off = 0;
	for (size_t k = 0; k < n; k++) {
		size_t len = strlen(list->data + off);
		pyci_jw_str(w, NULL, list->data + off, len);
		off += len + 1;
	}
	pyci_jw_end_array(w);
}

static int line_json(pyci_buf *b, const struct vjob *j)
{
	const pyci_verify_result *v = &j->res;
	pyci_record r;
	job_record(j, &r);
	pyci_jw w;
	pyci_jw_init(&w, b);
	pyci_jw_begin(&w, NULL);
	pyci_record_members(&w, &r);
	pyci_jw_begin(&w, "verify");
	pyci_jw_cstr(&w, "verdict", pyci_verify_name(v->verdict));
	pyci_jw_str(&w, "why", v->verdict == PYCI_VERIFY_UNVERIFIABLE ? v->why.data : NULL,
		    v->why.len);
	int differs = v->verdict == PYCI_VERIFY_DIFFERS;
	pyci_jw_str(&w, "where", differs ? v->diff.where.data : NULL, v->diff.where.len);
	pyci_jw_str(&w, "cache", differs ? v->diff.a_value.data : NULL, v->diff.a_value.len);
	pyci_jw_str(&w, "source", differs ? v->diff.b_value.data : NULL, v->diff.b_value.len);
	if (differs && v->diff.offset != SIZE_MAX)
		pyci_jw_u64(&w, "offset", v->diff.offset);
	else
		pyci_jw_null(&w, "offset");
	const struct interp *i = v->who;
	if (i && i->usable) {
		char version[32];
		(void)snprintf(version, sizeof(version), "%d.%d.%d", i->info.major, i->info.minor,
			       i->info.micro);
		pyci_jw_begin(&w, "interpreter");
		pyci_jw_cstr(&w, "path", i->path);
		pyci_jw_cstr(&w, "implementation", i->info.impl);
		pyci_jw_cstr(&w, "version", version);
		pyci_jw_end(&w);
	} else {
		pyci_jw_null(&w, "interpreter");
	}
	if (v->level >= 0)
		pyci_jw_i64(&w, "optimize", v->level);
	else
		pyci_jw_null(&w, "optimize");
	names_json(&w, "imports", &v->names.imports, v->names.nimports,
		   v->have_names && v->names.imports_known);
	names_json(&w, "watched", &v->names.watched, v->names.nwatched, v->have_names);
	pyci_jw_end(&w);
	pyci_jw_end(&w);
	return cli_json_line(&w);
}

/* Write a finished job and count it.  0, or -1 (out of memory or output failed: said, or
 * e.write_failed). */
static int emit(struct verify_cli *c, struct vjob *j)
{
	struct scanrun *e = &c->e;
	if (j->err) {
		errno = j->err;
		cli_error("cannot verify '%s': %s", j->path, strerror(j->err));
		c->failed++;
		return -1;
	}
	pyci_record r;
	job_record(j, &r);
	char version[24];
	int known = pyci_record_version(&r, version, sizeof(version)) == 0;
	struct vversion *vv = version_row(c, known ? version : "unknown");
	if (!known)
		strcpy(version, "-");
	if (!vv || pyci_summary_add(&e->sum, &r) != 0) {
		cli_error("out of memory");
		return -1;
	}
	pyci_verify_verdict verdict = j->res.verdict;
	c->n[verdict]++;
	vv->n[verdict]++;
	c->no_source += verdict == PYCI_VERIFY_UNVERIFIABLE && j->files.no_source != NULL;
	if (e->quiet || (!e->json && !c->all && verdict == PYCI_VERIFY_MATCHES))
		return 0;
	if (e->json ? line_json(&e->out, j) : line_text(&e->out, j, version)) {
		cli_error("out of memory");
		return -1;
	}
	if (e->out.len >= FLUSH_AT && scanrun_flush(e) != 0)
		return -1;
	return 0;
}

/* Write the finished jobs at the head of the queue (wait: until the queue is empty).  Called
 * with the lock held; writes without it.  0, or -1 (said). */
static int drain(struct verify_cli *c, int wait)
{
	for (;;) {
		struct vjob *done[64];
		size_t n = 0;
		while (n < 64 && c->first < c->next && c->ring[c->first % c->slots]->done) {
			done[n++] = c->ring[c->first % c->slots];
			c->ring[c->first % c->slots] = NULL;
			c->first++;
		}
		if (n) {
			(void)pthread_cond_broadcast(&c->progress);
			(void)pthread_mutex_unlock(&c->mu);
			int rc = 0;
			for (size_t k = 0; k < n; k++) {
				if (!rc && !c->abort)
					rc = emit(c, done[k]);
				job_free(done[k]);
			}
			(void)pthread_mutex_lock(&c->mu);
			if (rc) {
				c->abort = 1;
				return -1;
			}
			continue;
		}
		if (!wait || c->first == c->tail)
			return 0;
		(void)pthread_cond_wait(&c->progress, &c->mu);
	}
}

static int on_record(void *ctx, const pyci_record *r)
{
	struct verify_cli *c = scanrun_cmd(ctx);
	if (c->e.write_failed || c->abort) {
		errno = EIO;
		return -1;
	}
	struct vjob *j = job_new(r);
	if (!j) {
		cli_error("out of memory");
		c->e.stopped = 1;
		return -1;
	}
	(void)pthread_mutex_lock(&c->mu);
	int rc = 0;
	/* room: a slot, and the bytes (a job larger than the bound goes alone) */
	while (!rc && (c->tail - c->first == c->slots ||
		       (c->bytes + j->bytes > QUEUE_BYTES && c->tail > c->first))) {
		rc = drain(c, 0);
		if (!rc && (c->tail - c->first == c->slots ||
			    (c->bytes + j->bytes > QUEUE_BYTES && c->tail > c->first)))
			(void)pthread_cond_wait(&c->progress, &c->mu);
	}
	if (!rc) {
		c->ring[c->tail % c->slots] = j;
		c->tail++;
		c->bytes += j->bytes;
		(void)pthread_cond_signal(&c->work);
		rc = drain(c, 0);
	} else {
		job_free(j);
	}
	(void)pthread_mutex_unlock(&c->mu);
	if (rc) {
		c->e.stopped = 1;
		errno = EIO;
		return -1;
	}
	return 0;
}

/* ---- the run ---------------------------------------------------------------------------- */

static int start_threads(struct verify_cli *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = c->e.opt.threads ? c->e.opt.threads : cpus > 0 ? (size_t)cpus : 1;
	if (n > 64)
		n = 64;
	c->slots = 4 * n + 4;
	c->ring = calloc(c->slots, sizeof(struct vjob *));
	c->threads = calloc(n, sizeof(*c->threads));
	c->interps.max_workers = n;
	if (!c->ring || !c->threads) {
		cli_error("out of memory");
		return -1;
	}
	int e;
	if ((e = pthread_mutex_init(&c->mu, NULL)) != 0 ||
	    (e = pthread_cond_init(&c->work, NULL)) != 0 ||
	    (e = pthread_cond_init(&c->progress, NULL)) != 0) {
		cli_error("cannot set up the threads: %s", strerror(e));
		return -1;
	}
	c->locks = 1;
	for (size_t k = 0; k < n; k++) {
		if ((e = pthread_create(&c->threads[k], NULL, thread_main, c)) != 0) {
			cli_error("cannot start a thread: %s", strerror(e));
			return -1;
		}
		c->nthreads++;
	}
	return 0;
}

/* Let the threads finish the queue (writing it unless aborted), join them, stop the workers. */
static int stop_threads(struct verify_cli *c)
{
	int rc = 0;
	if (c->nthreads) {
		(void)pthread_mutex_lock(&c->mu);
		c->closing = 1;
		(void)pthread_cond_broadcast(&c->work);
		rc = drain(c, 1);
		if (rc) { /* the rest is only waited for */
			while (c->first < c->tail) {
				while (c->first < c->next && c->ring[c->first % c->slots]->done) {
					job_free(c->ring[c->first % c->slots]);
					c->first++;
				}
				if (c->first < c->tail)
					(void)pthread_cond_wait(&c->progress, &c->mu);
			}
		}
		(void)pthread_mutex_unlock(&c->mu);
	}
	for (size_t k = 0; k < c->nthreads; k++)
		(void)pthread_join(c->threads[k], NULL);
	return rc;
}

/* The k-th row in the summary's version order (pyci_summary_sort's, once sorted: every version
 * counted here was counted there too, under the same name). */
static const struct vversion *sorted_row(const struct verify_cli *c, size_t k)
{
	size_t seen = 0;
	for (size_t s = 0; s < c->e.sum.nversions; s++) {
		const char *name = c->e.sum.versions[s].version;
		for (size_t r = 0; r < c->nversions; r++) {
			const char *mine = c->versions[r].version;
			if (strcmp(mine, name) == 0) {
				if (seen++ == k)
					return &c->versions[r];
				break;
			}
		}
	}
	return &c->versions[k]; /* not reached: every row has its version there */
}

static int summary_text(struct verify_cli *c)
{
	pyci_buf *b = &c->e.out;
	unsigned long long total = c->n[0] + c->n[1] + c->n[2];
	int rc = 0;
	if (total && !c->e.quiet && (c->all || c->n[PYCI_VERIFY_MATCHES] != total))
		rc |= pyci_buf_putc(b, '\n');
	rc |= pyci_buf_printf(b, "%llu %s: %llu %s, ", total, total == 1 ? "cache" : "caches",
			      c->n[PYCI_VERIFY_MATCHES],
			      c->n[PYCI_VERIFY_MATCHES] == 1 ? "matches" : "match");
	/* the counts that ask for a look, in their verdict's colour when not 0 */
	char n[64];
	unsigned long long d = c->n[PYCI_VERIFY_DIFFERS], u = c->n[PYCI_VERIFY_UNVERIFIABLE];
	(void)snprintf(n, sizeof(n), "%llu %s", d, d == 1 ? "differs" : "differ"); /* fits */
	rc |= cli_styled(b, d ? cli_verify_style(PYCI_VERIFY_DIFFERS) : NULL, n, 0);
	rc |= pyci_buf_puts(b, ", ");
	(void)snprintf(n, sizeof(n), "%llu unverifiable", u); /* fits */
	rc |= cli_styled(b, u ? cli_verify_style(PYCI_VERIFY_UNVERIFIABLE) : NULL, n, 0);
	if (c->no_source)
		rc |= pyci_buf_printf(b, " (%llu without a source)", c->no_source);
	rc |= pyci_buf_putc(b, '\n');
	if (c->nversions)
		rc |= pyci_buf_puts(b, "by version:\n");
	for (size_t k = 0; k < c->nversions; k++) {
		const struct vversion *v = sorted_row(c, k);
		rc |= pyci_buf_printf(b, "  %-10s %8llu  (", v->version,
				      v->n[0] + v->n[1] + v->n[2]);
		const char *sep = "";
		for (int i = 0; i < PYCI_VERIFY_COUNT; i++) {
			if (!v->n[i])
				continue;
			rc |= pyci_buf_printf(b, "%s%llu ", sep, v->n[i]);
			rc |= cli_styled(b, cli_verify_style((pyci_verify_verdict)i),
					 pyci_verify_name((pyci_verify_verdict)i), 0);
			sep = ", ";
		}
		rc |= pyci_buf_puts(b, ")\n");
	}
	rc |= interps_summary_text(&c->interps, b);
	rc |= scanrun_summary_text(&c->e);
	return rc ? -1 : 0;
}

static int summary_json(struct verify_cli *c)
{
	pyci_jw w;
	scanrun_summary_begin(&c->e, &w);
	pyci_jw_begin(&w, "verify");
	for (int i = 0; i < PYCI_VERIFY_COUNT; i++)
		pyci_jw_u64(&w, pyci_verify_name((pyci_verify_verdict)i), c->n[i]);
	pyci_jw_u64(&w, "no_source", c->no_source);
	pyci_jw_begin(&w, "by_version");
	for (size_t k = 0; k < c->nversions; k++) {
		const struct vversion *v = sorted_row(c, k);
		pyci_jw_begin(&w, v->version);
		for (int i = 0; i < PYCI_VERIFY_COUNT; i++)
			pyci_jw_u64(&w, pyci_verify_name((pyci_verify_verdict)i), v->n[i]);
		pyci_jw_end(&w);
	}
	pyci_jw_end(&w);
	pyci_jw_end(&w);
	interps_summary_members(&c->interps, &w);
	scanrun_summary_members(&c->e, &w);
	pyci_jw_end(&w);
	return cli_json_line(&w);
}

static int on_option(void *ctx, int id, const char *arg)
{
	struct verify_cli *c = ctx;
	int mine = scanrun_option(&c->e, id, arg);
	if (mine)
		return mine < 0 ? -1 : 0;
	switch (id) {
	case VERIFY_ALL:
		c->all = 1;
		return 0;
	case VERIFY_CHECK:
		c->check = 1;
		return 0;
	case VERIFY_PYTHON:
		return interps_add_given(&c->interps, arg);
	case VERIFY_TIMEOUT: {
		char *end;
		errno = 0;
		long n = strtol(arg, &end, 10);
		if (errno || end == arg || *end || n < 1 || n > 86400) {
			cli_error("invalid --timeout '%s' (seconds, from 1 to 86400)", arg);
			return -1;
		}
		c->timeout_s = n;
		return 0;
	}
	default:
		return 0;
	}
}

int cmd_verify(int argc, char **argv)
{
	struct verify_cli c;
	memset(&c, 0, sizeof(c));
	int rc = EXIT_USAGE;
	c.timeout_s = DEFAULT_TIMEOUT_S;
	if (interps_init(&c.interps, 0) != 0)
		return EXIT_USAGE;
	int first = cli_parse(&verify_command, argc, argv, on_option, &c);
	if (first <= 0) {
		rc = first == 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	c.interps.timeout_ms = (int)(c.timeout_s * 1000);
	if (scanrun_ready(&c.e) != 0 || start_threads(&c) != 0) {
		c.abort = 1;
		(void)stop_threads(&c);
		goto out;
	}
	c.e.cmd = &c;
	pyci_scan_ops ops = {.record = on_record,
			     .error = scanrun_walk_error,
			     .dir_done = NULL,
			     .ctx = &c.e,
			     .prepare = NULL};
	int fatal = scanrun_run(&c.e, argv + first, &ops, NULL);
	if (stop_threads(&c) != 0 || c.failed)
		fatal = 1;
	rc = fatal ? EXIT_USAGE : EXIT_OK;
	if (!c.e.write_failed && !c.abort) {
		pyci_summary_sort(&c.e.sum);
		int s = c.e.quiet > 1 ? 0 : c.e.json ? summary_json(&c) : summary_text(&c);
		if (s != 0 || cli_flush(&c.e.out) != 0)
			rc = EXIT_USAGE;
	} else {
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_OK && c.check &&
	    (c.n[PYCI_VERIFY_MATCHES] != c.n[0] + c.n[1] + c.n[2] || c.e.sum.errors))
		rc = EXIT_FINDINGS;
out:
	if (c.locks) {
		(void)pthread_mutex_destroy(&c.mu);
		(void)pthread_cond_destroy(&c.work);
		(void)pthread_cond_destroy(&c.progress);
	}
	free(c.ring);
	free(c.threads);
	free(c.versions);
	interps_free(&c.interps);
	scanrun_free(&c.e);
	return rc;
}
