/*
 * test_pwalk.c - unit tests for pwalk.h (internal): the parallel walk emits exactly what the
 * one-thread walk (walk.h) visits, in the same order, for any number of threads, window and
 * depth limit; a stop from emit, a failing visit and a skip behave as documented, and a walk
 * stopped halfway gives every result back (emitted or discarded; the sanitizer builds check
 * that nothing leaks).  The scope a visit leaves is what every directory below it starts with,
 * across __pycache__ and into the subtrees handed to ops->deep.
 *
 * The tree, made under a temporary directory: directories with and without __pycache__, a
 * __pycache__ with subdirectories of its own, a __pycache__ inside a __pycache__, a chain
 * 12 levels deep with a sibling at every level, wide directories, and directories named "x*"
 * for the skip test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/walk.h"
#include "../../src/pwalk.h"

static char root[64];

static void mkdirs(const char *rel)
{
	char path[512], *p;
	assert_true(snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path));
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void touch(const char *rel)
{
	char path[512];
	assert_true(snprintf(path, sizeof(path), "%s/%s", root, rel) < (int)sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static int make_tree(void **state)
{
	(void)state;
	strcpy(root, "/tmp/pyci-pwalk-XXXXXX");
	assert_non_null(mkdtemp(root));
	char rel[256];
	for (int a = 0; a < 6; a++)
		for (int b = 0; b < 5; b++) {
			snprintf(rel, sizeof(rel), "a%d/b%d/__pycache__", a, b);
			if ((a + b) % 3)
				mkdirs(rel);
			snprintf(rel, sizeof(rel), "a%d/b%d/m.py", a, b);
			mkdirs(rel); /* a directory named m.py: only names matter here */
		}
	mkdirs("a1/b1/__pycache__/extra/__pycache__");
	mkdirs("a1/b1/__pycache__/__pycache__");
	mkdirs("a1/b1/__pycache__/zz/deeper");
	touch("a1/b1/__pycache__/m.cpython-312.pyc");
	for (int w = 0; w < 40; w++) {
		snprintf(rel, sizeof(rel), "wide/w%02d", w);
		mkdirs(rel);
	}
	mkdirs("xskip/a/b");
	mkdirs("a2/xhidden/__pycache__");
	char chain[200] = "deep";
	for (int level = 0; level < 12; level++) {
		assert_true(snprintf(rel, sizeof(rel), "%s/side/__pycache__", chain) <
			    (int)sizeof(rel));
		mkdirs(rel);
		size_t len = strlen(chain);
		snprintf(chain + len, sizeof(chain) - len, "/d%d", level);
	}
	mkdirs(chain);
	return 0;
}

static int remove_tree(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- what a walk saw: "dir|pycache" lines, in order --------------------------------------- */

struct seen {
	pthread_mutex_t lock;
	char **v;
	size_t n, cap;
	int skip_x; /* leave out directories whose name starts with 'x' */
	/* pwalk runs */
	size_t stop_after;   /* emit fails (EIO) at this result; 0 never */
	const char *fail_at; /* visit fails (ENOMEM) at this directory (a suffix); NULL never */
	size_t visits, emitted, discarded, deep_calls;
	pwalk_options popt;
	int helps_offered;
	size_t scope_errors,
		scopes_set; /* visits and deep calls given the wrong scope; scopes set */
	char **scopes;      /* the scopes set, to free */
};

/* The scope of the root; a directory whose name ends with '1', or is "zz", sets its own path as
 * the scope below it. */
static const char root_scope[] = "ROOT";

static int sets_scope(const char *name, size_t len)
{
	return (len && name[len - 1] == '1') || (len == 2 && memcmp(name, "zz", 2) == 0);
}

/* The scope the directory `path` must start with: the path of its nearest ancestor below the
 * root that sets one, as a length of path; 0 for the root's scope. */
static size_t expected_scope(const char *path)
{
	size_t best = 0;
	const char *p = path + strlen(root);
	while (*p == '/') {
		const char *name = p + 1;
		const char *end = strchr(name, '/');
		if (!end)
			break; /* the directory itself */
		if (sets_scope(name, (size_t)(end - name)))
			best = (size_t)(end - path);
		p = end;
	}
	return best;
}

/* Count a wrong scope given to the directory `path`. */
static void check_scope(struct seen *s, const char *path, const void *scope)
{
	size_t want = expected_scope(path);
	const char *got = scope;
	int ok = want ? got && got != root_scope && strlen(got) == want &&
				 memcmp(got, path, want) == 0
		      : got == root_scope;
	if (!ok) {
		pthread_mutex_lock(&s->lock);
		s->scope_errors++;
		pthread_mutex_unlock(&s->lock);
	}
}

static char *line_for(const pyci_dir *dir, const pyci_dir *pc)
{
	char *s = NULL;
	assert_true(asprintf(&s, "%s|%s|%zu", dir->path, pc ? pc->path : "-", dir->count) >= 0);
	return s;
}

static void push(struct seen *s, char *line)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(char *));
		assert_non_null(s->v);
	}
	s->v[s->n++] = line;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	for (size_t i = 0; i < s->scopes_set; i++)
		free(s->scopes[i]);
	free(s->scopes);
}

static int skip_x(const struct seen *s, const pyci_entry *e)
{
	return s->skip_x && e->name[0] == 'x';
}

/* walk.h ops */
static int wvisit(void *ctx, const pyci_dir *dir, const pyci_dir *pc)
{
	push(ctx, line_for(dir, pc));
	return 0;
}

static int wskip(void *ctx, const pyci_dir *parent, const pyci_entry *e)
{
	(void)parent;
	return skip_x(ctx, e);
}

static void werror(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	char *s = NULL;
	assert_true(asprintf(&s, "error %s %d %d", path, (int)kind, err) >= 0);
	push(ctx, s);
}

/* pwalk ops; the visitor context of every thread is the struct seen itself */
static void *pvisit(void *wctx, struct pwalk *walk, const pyci_dir *dir, const pyci_dir *pc,
		    const void **scope, int *err)
{
	struct seen *s = wctx;
	check_scope(s, dir->path, *scope);
	const char *base = strrchr(dir->path, '/') + 1;
	if (dir->depth > 0 && sets_scope(base, strlen(base))) {
		char *mine = strdup(dir->path);
		assert_non_null(mine);
		pthread_mutex_lock(&s->lock);
		s->scopes = realloc(s->scopes, (s->scopes_set + 1) * sizeof(char *));
		assert_non_null(s->scopes);
		s->scopes[s->scopes_set++] = mine;
		pthread_mutex_unlock(&s->lock);
		*scope = mine;
	}
	pthread_mutex_lock(&s->lock);
	s->visits++;
	int offer = s->visits % 7 == 0;
	pthread_mutex_unlock(&s->lock);
	if (s->fail_at) {
		size_t n = strlen(s->fail_at);
		if (dir->path_len >= n && strcmp(dir->path + dir->path_len - n, s->fail_at) == 0) {
			*err = ENOMEM;
			return NULL;
		}
	}
	if (offer) {
		pthread_mutex_lock(&s->lock);
		s->helps_offered++;
		pthread_mutex_unlock(&s->lock);
		pwalk_wake(walk);
	}
	return line_for(dir, pc);
}

static int phelp(void *wctx)
{
	(void)wctx;
	return 0; /* nothing to share: the thread must then sleep, not spin */
}

static int pskip(void *wctx, const pyci_dir *parent, const pyci_entry *e)
{
	(void)parent;
	return skip_x(wctx, e);
}

static int pemit(void *ctx, void *result)
{
	struct seen *s = ctx;
	s->emitted++;
	push(s, result);
	if (s->stop_after && s->emitted == s->stop_after) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void pdiscard(void *result)
{
	free(result);
}

static struct seen *discard_counter;

static void pdiscard_counted(void *result)
{
	pthread_mutex_lock(&discard_counter->lock);
	discard_counter->discarded++;
	pthread_mutex_unlock(&discard_counter->lock);
	free(result);
}

static int pdeep(void *ctx, int parentfd, const char *name, const char *display, int depth,
		 const void *scope)
{
	struct seen *s = ctx;
	s->deep_calls++;
	check_scope(s, display, scope);
	pyci_walk_options wopt = {0, 8, 0};
	pyci_walk_ops wops = {wvisit, werror, wskip, NULL, s, NULL};
	return pyci_walk_at(parentfd, name, display, depth, &wopt, &wops);
}

static void walk_one_thread(struct seen *s)
{
	pyci_walk_ops ops = {wvisit, werror, wskip, NULL, s, NULL};
	assert_int_equal(pyci_walk(root, NULL, &ops), 0);
}

static int walk_parallel(struct seen *s, unsigned threads, unsigned window, int max_depth)
{
	void *wctx[9];
	for (unsigned i = 0; i <= threads; i++)
		wctx[i] = s;
	s->popt = (pwalk_options){0, threads, window, max_depth, 0, wctx, root_scope};
	pwalk_ops ops = {pvisit, phelp, pskip, pemit, werror, pdiscard, pdeep, s};
	if (discard_counter == s)
		ops.discard = pdiscard_counted;
	return pwalk(root, &s->popt, &ops);
}

static void assert_same(const struct seen *a, const struct seen *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_same_order_as_one_thread(void **state)
{
	(void)state;
	struct seen ref = {.lock = PTHREAD_MUTEX_INITIALIZER};
	walk_one_thread(&ref);
	assert_true(ref.n > 90);
	static const unsigned threads[] = {0, 1, 2, 4, 8};
	static const unsigned windows[] = {1, 2, 64};
	static const int depths[] = {0, 1, 3, 40};
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++)
		for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++)
			for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
				struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
				assert_int_equal(
					walk_parallel(&s, threads[t], windows[w], depths[d]), 0);
				assert_same(&ref, &s);
				assert_int_equal(s.scope_errors, 0);
				assert_true(s.scopes_set > 0 ||
					    depths[d] == 0); /* 0: the root alone */
				/* depth 40 leaves nothing to walk.c; lower limits hand subtrees over */
				if (depths[d] == 40)
					assert_int_equal(s.deep_calls, 0);
				else
					assert_true(s.deep_calls > 0);
				seen_free(&s);
			}
	seen_free(&ref);
}

static void test_skip(void **state)
{
	(void)state;
	struct seen ref = {.lock = PTHREAD_MUTEX_INITIALIZER, .skip_x = 1};
	struct seen all = {.lock = PTHREAD_MUTEX_INITIALIZER};
	walk_one_thread(&ref);
	walk_one_thread(&all);
	assert_true(ref.n + 4 <= all.n); /* xskip, xskip/a, xskip/a/b, a2/xhidden */
	for (unsigned threads = 0; threads <= 3; threads++) {
		struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .skip_x = 1};
		assert_int_equal(walk_parallel(&s, threads, 8, 40), 0);
		assert_same(&ref, &s);
		seen_free(&s);
	}
	seen_free(&ref);
	seen_free(&all);
}

static void test_emit_stops_the_walk(void **state)
{
	(void)state;
	struct seen ref = {.lock = PTHREAD_MUTEX_INITIALIZER};
	walk_one_thread(&ref);
	for (unsigned threads = 0; threads <= 4; threads += 2)
		for (size_t stop = 1; stop < ref.n; stop += 17) {
			struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_after = stop};
			discard_counter = &s;
			errno = 0;
			assert_int_equal(walk_parallel(&s, threads, 16, 40), -1);
			assert_int_equal(errno, EIO);
			assert_int_equal(s.emitted, stop);
			/* what was emitted is the start of the walk; every other visit's result was
			 * given back */
			for (size_t i = 0; i < s.n; i++)
				assert_string_equal(s.v[i], ref.v[i]);
			assert_int_equal(s.emitted + s.discarded, s.visits);
			discard_counter = NULL;
			seen_free(&s);
		}
	seen_free(&ref);
}

static void test_failing_visit_stops_the_walk(void **state)
{
	(void)state;
	for (unsigned threads = 0; threads <= 4; threads += 2) {
		struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .fail_at = "/a3/b2"};
		discard_counter = &s;
		errno = 0;
		assert_int_equal(walk_parallel(&s, threads, 16, 40), -1);
		assert_int_equal(errno, ENOMEM);
		for (size_t i = 0; i < s.n; i++)
			assert_null(strstr(s.v[i], "/a3/b2|"));
		/* the failed visit returned nothing; every other result was emitted or given back */
		assert_int_equal(s.emitted + s.discarded + 1, s.visits);
		discard_counter = NULL;
		seen_free(&s);
	}
}

static void test_missing_root(void **state)
{
	(void)state;
	struct seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	void *wctx[3] = {&s, &s, &s};
	pwalk_options o = {0, 2, 8, 40, 0, wctx, root_scope};
	pwalk_ops ops = {pvisit, phelp, pskip, pemit, werror, pdiscard, pdeep, &s};
	errno = 0;
	assert_int_equal(pwalk("/nonexistent/pyci-pwalk", &o, &ops), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_order_as_one_thread),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_emit_stops_the_walk),
		cmocka_unit_test(test_failing_visit_stops_the_walk),
		cmocka_unit_test(test_missing_root),
	};
	return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
