/*
 * interps.c - the interpreters of a verify run and their pools of workers (interps.h).
 *
 * Asking an interpreter what it is (a probe) is starting it as a worker: first with -I -S,
 * which every Python 3.4+ and PyPy 3 takes, then, if it exited (Python 2 and 3.0-3.3 exit with
 * status 2 at -I), with -E -s -S.  The probe's worker is not wasted: it becomes the first idle
 * worker of its pool.  Probes run under the lock, one after the other: they are few and short,
 * and a thread that needs an interpreter must wait for it anyway.  Workers start and compile
 * outside the lock; the lock guards the pools, the counts and the states.
 */
#include "interps.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "cli.h"
#include "pycinspect/magic.h"
#include "pycinspect/pyfind.h"

/* Failures in a row after which an interpreter is given up. */
#define FAILS_MAX 3
/* The largest answer a worker may give (marshalled code). */
#define MAX_ANSWER ((size_t)256 << 20)
/* An interpreter that took longer than this to start is not started again while one of its
 * workers is busy: waiting for that one is quicker (Pyodide takes seconds). */
#define SLOW_START_MS 1000

static int64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int interps_init(struct interps *s, int timeout_ms)
{
	memset(s, 0, sizeof(*s));
	s->timeout_ms = timeout_ms;
	s->max_workers = 1;
	int e = pthread_mutex_init(&s->mu, NULL);
	if (!e && (e = pthread_cond_init(&s->returned, NULL)) != 0)
		(void)pthread_mutex_destroy(&s->mu);
	if (e) {
		cli_error("cannot set up a lock: %s", strerror(e));
		return -1;
	}
	return 0;
}

/* A new entry at the end of s->v.  NULL when memory ran out. */
static struct interp *add_interp(struct interps *s, const char *path, const char *from)
{
	struct interp **v = realloc(s->v, (s->n + 1) * sizeof(struct interp *));
	if (!v)
		return NULL;
	s->v = v;
	struct interp *i = calloc(1, sizeof(*i));
	char *p = strdup(path);
	if (!i || !p) {
		free(i);
		free(p);
		return NULL;
	}
	i->path = p;
	i->from = from;
	s->v[s->n++] = i;
	return i;
}

int interps_add_given(struct interps *s, const char *spec)
{
	const char *eq = strchr(spec, '=');
	pyci_targets t;
	pyci_targets_init(&t);
	if (!eq || eq == spec || eq[1] != '/' ||
	    pyci_targets_add_spec(&t, spec, (size_t)(eq - spec)) != 0) {
		cli_error("invalid --python '%s' (VERSION=/PATH, e.g. 3.12=/usr/bin/python3.12)",
			  spec);
		return -1;
	}
	struct interp *i = add_interp(s, eq + 1, "--python");
	if (!i) {
		cli_error("out of memory");
		return -1;
	}
	i->want = t.items[0];
	return 0;
}

void interp_label(const struct interp *i, char *buf, size_t n)
{
	const char *impl = strcmp(i->info.impl, "cpython") == 0 ? "CPython"
			   : strcmp(i->info.impl, "pypy") == 0  ? "PyPy"
								: i->info.impl;
	(void)snprintf(buf, n, "%s %d.%d.%d", impl, i->info.major, i->info.minor, i->info.micro);
}

static int given(const struct interp *i)
{
	return strcmp(i->from, "--python") == 0;
}

static int wants(const struct interp *i, const pyci_magic_info *m)
{
	return given(i) && i->want.impl == m->impl && i->want.major == m->major &&
	       i->want.minor == m->minor;
}

static pyci_impl impl_of(const pyci_pyinfo *info)
{
	return strcmp(info->impl, "cpython") == 0 ? PYCI_IMPL_CPYTHON
	       : strcmp(info->impl, "pypy") == 0  ? PYCI_IMPL_PYPY
						  : PYCI_IMPL_UNKNOWN;
}

/* Put w in i's pool of idle workers at `level` (under the lock).  0, or -1 (ENOMEM: w is
 * stopped and no longer counted). */
static int give_back(struct interps *s, struct interp *i, int level, pyci_pyworker *w)
{
	pyci_pyworker **v =
		realloc(i->idle[level], (i->nidle[level] + 1) * sizeof(pyci_pyworker *));
	if (!v) {
		pyci_pyworker_stop(w);
		i->running[level]--;
		(void)pthread_cond_broadcast(&s->returned);
		return -1;
	}
	i->idle[level] = v;
	v[i->nidle[level]++] = w;
	(void)pthread_cond_broadcast(&s->returned);
	return 0;
}

/* Ask interpreter i what it is, without the lock (i is marked probing: nobody else reads or
 * writes it meanwhile).  Sets usable or why, and *keep to the probe's worker when it may serve
 * as a worker (for the caller to give back under the lock), else NULL.  -1 only when memory ran
 * out. */
static int probe_unlocked(struct interps *s, struct interp *i, pyci_pyworker **keep)
{
	static const char *const with_isolate[] = {"-I", "-S", NULL};
	const char *argv[8];
	pyci_buf why = PYCI_BUF_INIT;
	pyci_pyworker *w = NULL;
	*keep = NULL;
	int64_t t0 = now_ms();
	for (int pass = 0; pass < 2 && !w; pass++) {
		const char *const *opts = pass ? pyci_pyfind_probe_options : with_isolate;
		size_t k = 0;
		argv[k++] = i->path;
		for (size_t o = 0; opts[o]; o++)
			argv[k++] = opts[o];
		argv[k] = NULL;
		pyci_buf_clear(&why);
		w = pyci_pyworker_start(argv, s->timeout_ms, &why);
		if (!w && errno != ECHILD)
			break; /* only an exit (Python 2's at -I) is worth the second try */
	}
	if (!w) {
		int rc = errno == ENOMEM ? -1
					 : pyci_buf_printf(&i->why, "'%s' %s", i->path, why.data);
		pyci_buf_free(&why);
		return rc;
	}
	pyci_buf_free(&why);
	i->start_ms = now_ms() - t0;
	i->info = *pyci_pyworker_info(w);
	if (given(i) && (impl_of(&i->info) != i->want.impl || i->info.major != i->want.major ||
			 i->info.minor != i->want.minor)) {
		char label[64], want[24];
		interp_label(i, label, sizeof(label));
		pyci_target_format(&i->want, want, sizeof(want));
		pyci_pyworker_stop(w);
		return pyci_buf_printf(&i->why, "'%s' given for %s is %s", i->path, want, label);
	}
	i->usable = 1;
	/* a worker of it would get the same options (-I where it has it): keep this one */
	const char *opts[6];
	pyci_pyfind_options(&i->info, i->info.optimize, opts);
	if (strcmp(opts[0], argv[1]) == 0)
		*keep = w;
	else
		pyci_pyworker_stop(w);
	return 0;
}

/* The level of the pool a probe's worker goes to. */
static int own_level(const struct interp *i)
{
	return i->info.per_call_optimize ? 0 : i->info.optimize > 2 ? 2 : i->info.optimize;
}

/* Probe i (called and returning with the lock held; it is let go meanwhile, other threads that
 * need i wait for the answer).  0, or -1 (ENOMEM). */
static int probe(struct interps *s, struct interp *i)
{
	while (i->probing)
		(void)pthread_cond_wait(&s->returned, &s->mu);
	if (i->probed)
		return 0;
	i->probing = 1;
	(void)pthread_mutex_unlock(&s->mu);
	pyci_pyworker *w;
	int rc = probe_unlocked(s, i, &w);
	(void)pthread_mutex_lock(&s->mu);
	i->probing = 0;
	i->probed = 1;
	if (w) {
		i->running[own_level(i)]++;
		if (give_back(s, i, own_level(i), w) != 0)
			rc = -1;
	}
	(void)pthread_cond_broadcast(&s->returned);
	return rc;
}

/* Stop i's idle workers (under the lock). */
static void stop_idle(struct interp *i)
{
	for (int l = 0; l < 3; l++) {
		for (size_t k = 0; k < i->nidle[l]; k++)
			pyci_pyworker_close(i->idle[l][k]);
		for (size_t k = 0; k < i->nidle[l]; k++)
			pyci_pyworker_stop(i->idle[l][k]);
		i->running[l] -= i->nidle[l];
		i->nidle[l] = 0;
	}
}

/* Find the candidates by name and ask each what it is (under the lock, let go during each
 * probe; other threads wait for the end); the workers of those not of magic `magic` are not
 * kept.  -1 (ENOMEM). */
static int discover(struct interps *s, uint32_t magic)
{
	s->discovering = 1;
	pyci_buf paths = PYCI_BUF_INIT, pyenv = PYCI_BUF_INIT;
	size_t count = 0;
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	int rc = pyci_pyfind(getenv("PATH"), root, home, &paths, &count);
	if (!rc)
		rc = root && *root   ? pyci_buf_printf(&pyenv, "%s/versions/", root)
		     : home && *home ? pyci_buf_printf(&pyenv, "%s/.pyenv/versions/", home)
				     : pyci_buf_puts(&pyenv, "");
	for (size_t off = 0, k = 0; !rc && k < count; k++) {
		const char *p = paths.data + off;
		off += strlen(p) + 1;
		int in_pyenv = pyenv.len && strncmp(p, pyenv.data, pyenv.len) == 0;
		struct interp *i = add_interp(s, p, in_pyenv ? "pyenv" : "PATH");
		rc = !i || probe(s, i) != 0;
		/* the probes of interpreters no cache asked for yet: not kept running */
		if (!rc && i->info.magic_word != magic)
			stop_idle(i);
	}
	pyci_buf_free(&paths);
	pyci_buf_free(&pyenv);
	s->discovering = 0;
	s->discovered = 1;
	(void)pthread_cond_broadcast(&s->returned);
	return rc ? -1 : 0;
}

/*
 * The attempt-th interpreter for caches of magic `magic` (m: what it means): among the --python
 * entries for m's version when there are some, else among those found (searched for now if not
 * yet).  0 with *idx; 2 when there is no attempt-th one, with why in `why` for attempt 0; -1
 * (ENOMEM).  Under the lock.
 */
static int pick(struct interps *s, uint32_t magic, const pyci_magic_info *m, unsigned attempt,
		size_t *idx, pyci_buf *why)
{
	int by_option = 0;
	for (size_t k = 0; k < s->n; k++) {
		if (!wants(s->v[k], m))
			continue;
		by_option = 1;
		if (!s->v[k]->probed && probe(s, s->v[k]) != 0)
			return -1;
	}
	while (!by_option && s->discovering) /* another thread is at it (probes let the lock go) */
		(void)pthread_cond_wait(&s->returned, &s->mu);
	if (!by_option && !s->discovered && discover(s, magic) != 0)
		return -1;
	unsigned seen = 0;
	for (size_t k = 0; k < s->n; k++) {
		const struct interp *i = s->v[k];
		if ((by_option ? wants(i, m) : !given(i)) && i->usable &&
		    i->info.magic_word == magic && seen++ == attempt) {
			*idx = k;
			return 0;
		}
	}
	if (attempt > 0)
		return 2;
	pyci_target t = {m->impl, m->major, m->minor};
	char version[24];
	pyci_target_format(&t, version, sizeof(version));
	pyci_buf_clear(why);
	int rc = 0;
	const char *sep = "";
	for (size_t k = 0; by_option && k < s->n; k++) {
		const struct interp *i = s->v[k];
		if (!wants(i, m))
			continue;
		if (i->usable)
			rc |= pyci_buf_printf(
				why, "%s'%s' given for %s has magic %u, not this cache's %u", sep,
				i->path, version, i->info.magic_word & 0xFFFF, magic & 0xFFFF);
		else
			rc |= pyci_buf_printf(why, "%s%s", sep, i->why.data ? i->why.data : "");
		sep = "; ";
	}
	if (!by_option) {
		rc |= pyci_buf_printf(why,
				      "no interpreter of %s (magic %u) on PATH or in pyenv's "
				      "versions (name one with --python %s=PATH)",
				      version, magic & 0xFFFF, version);
		for (size_t k = 0; k < s->n; k++) {
			const struct interp *i = s->v[k];
			pyci_impl impl = i->usable ? impl_of(&i->info) : PYCI_IMPL_UNKNOWN;
			if (given(i) || impl != m->impl || i->info.major != m->major ||
			    i->info.minor != m->minor)
				continue;
			char label[64];
			interp_label(i, label, sizeof(label));
			rc |= pyci_buf_printf(why, "; %s '%s' has magic %u", label, i->path,
					      i->info.magic_word & 0xFFFF);
		}
	}
	return rc ? -1 : 2;
}

/* "the interpreter CPython 3.12.1 '/usr/bin/python3.12' " + what went wrong, in out. */
static int describe_failure(const struct interp *i, const char *what, size_t len, pyci_buf *out)
{
	char label[64];
	interp_label(i, label, sizeof(label));
	pyci_buf tmp = PYCI_BUF_INIT;
	int rc = pyci_buf_printf(&tmp, "the interpreter %s '%s' ", label, i->path) ||
		 pyci_buf_append(&tmp, what, len);
	if (!rc) {
		pyci_buf_free(out);
		*out = tmp;
		return 0;
	}
	pyci_buf_free(&tmp);
	return -1;
}

/* Borrow a worker of i at `level` (under the lock; may wait on it): an idle one (*w set), or
 * the right to start one (*w NULL, counted as running).  -1 when i was given up meanwhile. */
static int borrow(struct interps *s, struct interp *i, int level, pyci_pyworker **w)
{
	for (;;) {
		if (i->broken)
			return -1;
		if (i->nidle[level]) {
			*w = i->idle[level][--i->nidle[level]];
			return 0;
		}
		int slow = i->start_ms > SLOW_START_MS && i->running[level] > 0;
		if (i->running[level] < s->max_workers && !slow) {
			i->running[level]++;
			*w = NULL;
			return 0;
		}
		(void)pthread_cond_wait(&s->returned, &s->mu);
	}
}

int interps_compile(void *ctx, uint32_t magic, unsigned attempt, int optimize, const char *fn,
		    size_t fnlen, const uint8_t *src, size_t len, pyci_buf *out, const void **who)
{
	struct interps *s = ctx;
	pyci_magic_info m;
	if (pyci_magic_lookup_word(magic, &m) != 0) {
		pyci_buf_clear(out);
		return pyci_buf_puts(out, "unknown magic number") ? -1 : 2;
	}
	(void)pthread_mutex_lock(&s->mu);
	size_t idx = 0;
	int r = pick(s, magic, &m, attempt, &idx, out);
	struct interp *i = r == 0 ? s->v[idx] : NULL;
	int level = 0;
	pyci_pyworker *w = NULL;
	if (i) {
		*who = i;
		level = i->info.per_call_optimize ? 0 : optimize > 2 ? 2 : optimize;
		if (borrow(s, i, level, &w) != 0) {
			pyci_buf_clear(out);
			r = pyci_buf_puts(out, i->why.data ? i->why.data : "") ? -1 : -2;
		}
	}
	(void)pthread_mutex_unlock(&s->mu);
	if (r == -2) { /* given up */
		errno = ECHILD;
		return -1;
	}
	if (r != 0 || !i) {
		if (r <= 0)
			errno = ENOMEM;
		return r ? r : -1;
	}

	int e = 0;
	if (!w) { /* path and info do not change once probed: read without the lock */
		const char *argv[8], *opts[6];
		size_t n = pyci_pyfind_options(&i->info, level, opts);
		argv[0] = i->path;
		for (size_t k = 0; k <= n; k++)
			argv[k + 1] = opts[k];
		pyci_buf why = PYCI_BUF_INIT;
		w = pyci_pyworker_start(argv, s->timeout_ms, &why);
		e = errno;
		if (!w) {
			(void)pthread_mutex_lock(&s->mu);
			i->running[level]--;
			if (e != ENOMEM && !i->broken) {
				i->broken = 1;
				pyci_buf_clear(&i->why);
				if (describe_failure(i, why.data, why.len, &i->why) != 0)
					e = ENOMEM;
			}
			pyci_buf_clear(out);
			if (e != ENOMEM && pyci_buf_puts(out, i->why.data) != 0)
				e = ENOMEM;
			(void)pthread_cond_broadcast(&s->returned);
			(void)pthread_mutex_unlock(&s->mu);
			pyci_buf_free(&why);
			errno = e;
			return -1;
		}
		pyci_buf_free(&why);
	}
	r = pyci_pyworker_compile(w, optimize, fn, fnlen, src, len, s->timeout_ms, MAX_ANSWER, out);
	e = errno;
	int failed = r < 0 && pyci_pyworker_dead(w);
	if (failed) {
		pyci_pyworker_stop(w);
		w = NULL;
		if (describe_failure(i, out->data ? out->data : "", out->len, out) != 0)
			e = ENOMEM;
	}
	(void)pthread_mutex_lock(&s->mu);
	i->compiles += r >= 0;
	if (!failed) {
		i->fails_in_a_row = 0;
		if (give_back(s, i, level, w) != 0)
			e = ENOMEM;
	} else {
		i->running[level]--;
		(void)pthread_cond_broadcast(&s->returned);
		if (++i->fails_in_a_row >= FAILS_MAX && !i->broken) {
			i->broken = 1;
			pyci_buf_clear(&i->why);
			if (pyci_buf_printf(&i->why,
					    "given up after %d failures in a row; the last: %s",
					    FAILS_MAX, out->data) != 0)
				e = ENOMEM;
		}
	}
	(void)pthread_mutex_unlock(&s->mu);
	errno = e;
	return r;
}

void interps_free(struct interps *s)
{
	for (size_t k = 0; k < s->n; k++) /* all inputs closed first: they exit together */
		for (int l = 0; l < 3; l++)
			for (size_t j = 0; j < s->v[k]->nidle[l]; j++)
				pyci_pyworker_close(s->v[k]->idle[l][j]);
	for (size_t k = 0; k < s->n; k++) {
		stop_idle(s->v[k]);
		for (int l = 0; l < 3; l++)
			free(s->v[k]->idle[l]);
		pyci_buf_free(&s->v[k]->why);
		free(s->v[k]->path);
		free(s->v[k]);
	}
	free(s->v);
	(void)pthread_cond_destroy(&s->returned);
	(void)pthread_mutex_destroy(&s->mu);
	memset(s, 0, sizeof(*s));
}

/* The interpreters the summary names: given, or asked to compile. */
static int shown(const struct interp *i)
{
	return given(i) || i->compiles || i->broken;
}

int interps_summary_text(struct interps *s, pyci_buf *b)
{
	int rc = 0, any = 0;
	for (size_t k = 0; k < s->n; k++) {
		const struct interp *i = s->v[k];
		if (!shown(i))
			continue;
		if (!any++)
			rc |= pyci_buf_puts(b, "interpreters:\n");
		if (i->usable) {
			char label[64];
			interp_label(i, label, sizeof(label));
			rc |= pyci_buf_printf(b, "  %-16s %s (%s, magic %u): %lu compiled", label,
					      i->path, i->from, i->info.magic_word & 0xFFFF,
					      i->compiles);
		} else {
			rc |= pyci_buf_printf(b, "  %-16s %s (%s)",
					      i->probed ? "not usable" : "not asked", i->path,
					      i->from);
		}
		if (i->broken || (!i->usable && i->probed))
			rc |= pyci_buf_printf(b, ": %s", i->why.data ? i->why.data : "");
		rc |= pyci_buf_putc(b, '\n');
	}
	return rc ? -1 : 0;
}

void interps_summary_members(struct interps *s, pyci_jw *w)
{
	pyci_jw_begin_array(w, "interpreters");
	for (size_t k = 0; k < s->n; k++) {
		const struct interp *i = s->v[k];
		if (!shown(i))
			continue;
		pyci_jw_begin(w, NULL);
		pyci_jw_cstr(w, "path", i->path);
		pyci_jw_cstr(w, "from", i->from);
		if (i->usable) {
			char version[32];
			(void)snprintf(version, sizeof(version), "%d.%d.%d", i->info.major,
				       i->info.minor, i->info.micro);
			pyci_jw_cstr(w, "implementation", i->info.impl);
			pyci_jw_cstr(w, "version", version);
			pyci_jw_u64(w, "magic", i->info.magic_word & 0xFFFF);
		} else {
			pyci_jw_null(w, "implementation");
			pyci_jw_null(w, "version");
			pyci_jw_null(w, "magic");
		}
		pyci_jw_u64(w, "compiled", i->compiles);
		pyci_jw_cstr(w, "error",
			     i->broken || (!i->usable && i->probed) ? i->why.data : NULL);
		pyci_jw_end(w);
	}
	pyci_jw_end_array(w);
}
