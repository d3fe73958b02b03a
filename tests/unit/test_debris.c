/*
 * test_debris.c - debris.c: the topics and what --debris=LIST means, which entries each rule
 * matches (by type, by parent, globs), where the search stops, and pyci_debris_remove on a real
 * tree: bottom-up (every entry before its directory), a symlink removed as the link (its target
 * untouched), an excluded entry kept with every directory above it, and a dry run that acts on
 * the same entries in the same order and removes nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/debris.h"
#include "pycinspect/scan.h"

static unsigned topic(const char *name)
{
	size_t n;
	const pyci_debris_topic *t = pyci_debris_topics(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return PYCI_DEBRIS_TOPIC_BIT(i);
	fail_msg("no topic %s", name);
	return 0;
}

static void test_parse(void **state)
{
	(void)state;
	unsigned set = 0;
	assert_int_equal(pyci_debris_parse("pytest,ruff", &set), 0);
	assert_int_equal(set, topic("pytest") | topic("ruff"));
	set = 0;
	assert_int_equal(pyci_debris_parse("all", &set), 0);
	size_t n;
	(void)pyci_debris_topics(&n);
	assert_int_equal(set, (1u << n) - 1);
	set = topic("tox");
	errno = 0;
	assert_int_equal(pyci_debris_parse("pytest,nope", &set), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(set, topic("tox")); /* nothing added */
	assert_int_equal(pyci_debris_parse("", &set), -1);
	assert_int_equal(pyci_debris_parse("pytest,", &set), -1);
	assert_int_equal(pyci_debris_parse("Pytest", &set), -1);
	assert_int_equal(pyci_debris_default_topics(), topic("cache") | topic("coverage") |
							       topic("package") | topic("pytest") |
							       topic("ruff"));
}

static void test_match(void **state)
{
	(void)state;
	unsigned all = 0;
	assert_int_equal(pyci_debris_parse("all", &all), 0);
	const pyci_debris_rule *r = pyci_debris_match(all, NULL, ".pytest_cache", DT_DIR);
	assert_non_null(r);
	assert_int_equal(r->kind, PYCI_DEBRIS_TREE);
	assert_int_equal(PYCI_DEBRIS_TOPIC_BIT(r->topic), topic("pytest"));
	assert_null(pyci_debris_match(all, NULL, ".pytest_cache", DT_REG));     /* a file: not it */
	assert_non_null(pyci_debris_match(all, NULL, ".pytest_cache", DT_LNK)); /* the link */
	assert_null(pyci_debris_match(all & ~topic("pytest"), NULL, ".pytest_cache", DT_DIR));
	r = pyci_debris_match(all, "x", "pytestdebug.log", DT_REG);
	assert_non_null(r);
	assert_int_equal(r->kind, PYCI_DEBRIS_FILE);
	assert_null(pyci_debris_match(all, NULL, "pytestdebug.log", DT_DIR));
	assert_null(pyci_debris_match(all, NULL, ".coverage", DT_FIFO));
	assert_null(pyci_debris_match(all, NULL, ".coverage.host.1", DT_REG)); /* not pyclean's */
	/* build/lib and build/bdist.*: only in a directory named build, not in a PATH */
	assert_non_null(pyci_debris_match(all, "build", "lib", DT_DIR));
	assert_non_null(pyci_debris_match(all, "build", "bdist.linux-x86_64", DT_DIR));
	assert_null(pyci_debris_match(all, "build", "bdist", DT_DIR));
	assert_null(pyci_debris_match(all, NULL, "lib", DT_DIR));
	assert_null(pyci_debris_match(all, "src", "lib", DT_DIR));
	assert_null(pyci_debris_match(all, "build", "scripts-3.12", DT_DIR));
	/* suffix and prefix globs */
	assert_non_null(pyci_debris_match(all, NULL, "pkg.egg-info", DT_DIR));
	assert_null(pyci_debris_match(all, NULL, "pkg.egg-info.d", DT_DIR));
	assert_non_null(pyci_debris_match(all, NULL, ".pyright-stubs-x", DT_DIR));
	/* if-empty names are walked, not matched; their symlinks go as links */
	assert_null(pyci_debris_match(all, NULL, "build", DT_DIR));
	assert_null(pyci_debris_match(all, NULL, ".pyright", DT_DIR));
	r = pyci_debris_match(all, NULL, "build", DT_LNK);
	assert_non_null(r);
	assert_int_equal(r->kind, PYCI_DEBRIS_IF_EMPTY);
	r = pyci_debris_if_empty(all, "build");
	assert_non_null(r);
	assert_string_equal(r->pattern, "build");
	assert_null(pyci_debris_if_empty(all & ~topic("package"), "build"));
	assert_non_null(pyci_debris_if_empty(all, ".pyright"));
	assert_null(pyci_debris_if_empty(all, "dist"));
}

static void test_stops(void **state)
{
	(void)state;
	assert_int_equal(pyci_debris_stops(".venv", 5, 0), 1);
	assert_int_equal(pyci_debris_stops(".venv", 5, 1), 0);
	assert_int_equal(pyci_debris_stops("site-packages", 13, 1), 1);
	assert_int_equal(pyci_debris_stops("dist-packages", 13, 0), 1);
	assert_int_equal(pyci_debris_stops("venvs", 4, 0), 1); /* len says "venv" */
	assert_int_equal(pyci_debris_stops("venvs", 5, 0), 0);
	assert_int_equal(pyci_debris_stops("src", 3, 0), 0);
}

/* ---- removal ------------------------------------------------------------------------------ */

struct seen {
	char acts[64][256]; /* "R path" removed, "K path: why" kept, "F path" failed */
	size_t n;
	int dry_run;
	size_t errors;
};

static int act(void *ctx, const pyci_debris_entry *e)
{
	struct seen *s = ctx;
	assert_true(s->n < 64);
	const char *why = e->keep;
	int rc = 1;
	if (!why) {
		rc = pyci_debris_unlink(e, s->dry_run, &why);
		if (rc < 0)
			why = strerror(errno);
	}
	snprintf(s->acts[s->n++], sizeof(s->acts[0]), "%c %s%s%s", rc == 0 ? 'R' : 'K', e->path,
		 why && rc ? ": " : "", why && rc ? why : "");
	return rc == 0;
}

static void on_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct seen *s = ctx;
	(void)path;
	(void)kind;
	(void)err;
	s->errors++;
}

static void make(const char *path, int dir)
{
	if (dir) {
		assert_int_equal(mkdir(path, 0755), 0);
	} else {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		assert_true(fd >= 0);
		close(fd);
	}
}

/* Index of the act on path (the first letter aside), or -1. */
static long act_index(const struct seen *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strncmp(s->acts[i] + 2, path, strlen(path)) == 0 &&
		    (s->acts[i][2 + strlen(path)] == '\0' || s->acts[i][2 + strlen(path)] == ':'))
			return (long)i;
	return -1;
}

static void remove_tree(const char *top, int dry_run, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	s->dry_run = dry_run;
	int topfd = open(top, O_RDONLY | O_DIRECTORY);
	assert_true(topfd >= 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/.cache", top);
	pyci_debris_found f = {.dirfd = topfd,
			       .name = ".cache",
			       .path = path,
			       .path_len = strlen(path),
			       .root_len = strlen(top),
			       .type = DT_DIR,
			       .rule = pyci_debris_match(topic("cache"), NULL, ".cache", DT_DIR)};
	assert_non_null(f.rule);
	pyci_scan_options o = {0};
	pyci_debris_ops ops = {.act = act, .error = on_error, .dir_end = NULL, .ctx = s};
	int rc = pyci_debris_remove(&f, &o, &ops);
	assert_int_equal(rc, 0); /* .cache keeps .git */
	close(topfd);
}

static void test_remove_bottom_up(void **state)
{
	(void)state;
	char top[] = "/tmp/pyci-debris-XXXXXX", p[300];
	assert_non_null(mkdtemp(top));
	const char *dirs[] = {"outside",     ".cache",           ".cache/a",     ".cache/a/b",
			      ".cache/keep", ".cache/keep/.git", ".cache/keep/x"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", top, dirs[i]);
		make(p, 1);
	}
	const char *files[] = {"outside/target", ".cache/a/b/f", ".cache/a/g", ".cache/keep/x/y",
			       ".cache/keep/.git/HEAD"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", top, files[i]);
		make(p, 0);
	}
	char target[300];
	snprintf(target, sizeof(target), "%s/outside", top);
	snprintf(p, sizeof(p), "%s/.cache/a/link", top);
	assert_int_equal(symlink(target, p), 0);

	struct seen dry, real;
	remove_tree(top, 1, &dry);
	struct stat st;
	snprintf(p, sizeof(p), "%s/.cache/a/b/f", top);
	assert_int_equal(lstat(p, &st), 0); /* the dry run removed nothing */
	remove_tree(top, 0, &real);
	assert_int_equal(dry.n, real.n);
	for (size_t i = 0; i < real.n; i++)
		assert_string_equal(dry.acts[i], real.acts[i]);

	char a[300], b[300], f[300], l[300], keep[300], x[300], y[300], c[300];
	snprintf(c, sizeof(c), "%s/.cache", top);
	snprintf(a, sizeof(a), "%s/.cache/a", top);
	snprintf(b, sizeof(b), "%s/.cache/a/b", top);
	snprintf(f, sizeof(f), "%s/.cache/a/b/f", top);
	snprintf(l, sizeof(l), "%s/.cache/a/link", top);
	snprintf(keep, sizeof(keep), "%s/.cache/keep", top);
	snprintf(x, sizeof(x), "%s/.cache/keep/x", top);
	snprintf(y, sizeof(y), "%s/.cache/keep/x/y", top);
	/* every entry before its directory */
	assert_true(act_index(&real, f) >= 0 && act_index(&real, f) < act_index(&real, b));
	assert_true(act_index(&real, b) < act_index(&real, a));
	assert_true(act_index(&real, l) >= 0 && act_index(&real, l) < act_index(&real, a));
	assert_true(act_index(&real, y) < act_index(&real, x));
	assert_true(act_index(&real, x) < act_index(&real, keep));
	assert_true(act_index(&real, keep) < act_index(&real, c));
	assert_int_equal(real.acts[act_index(&real, a)][0], 'R');
	assert_int_equal(real.acts[act_index(&real, l)][0], 'R');
	assert_int_equal(real.acts[act_index(&real, x)][0], 'R');
	/* .git is left out (a default exclude), so keep/ and .cache/ stay */
	assert_int_equal(act_index(&real, "/.git"), -1);
	assert_string_equal(real.acts[act_index(&real, keep)] + 2 + strlen(keep),
			    ": " PYCI_DEBRIS_NOT_EMPTY);
	assert_int_equal(real.acts[act_index(&real, c)][0], 'K');
	assert_int_equal(real.errors, 0);
	assert_int_equal(lstat(a, &st), -1);
	snprintf(p, sizeof(p), "%s/.cache/keep/.git/HEAD", top);
	assert_int_equal(lstat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/outside/target", top);
	assert_int_equal(lstat(p, &st), 0); /* the link went, not what it points to */

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_stops),
		cmocka_unit_test(test_remove_bottom_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
