/*
 * test_clean.c - the deleting calls of clean.c: a file is removed only while it is the regular
 * file that was judged (device, inode, size, mtime) and its source is as it was judged, a dry
 * run removes nothing, a directory only while it is the one that was listed; and
 * pyci_clean_eligible's rules.
 */
#define _GNU_SOURCE
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

#include "pycinspect/clean.h"

struct dir {
	char path[64];
	int fd;
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	strcpy(d->path, "/tmp/pyci-clean-XXXXXX");
	if (!d || !mkdtemp(d->path))
		return -1;
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY);
	*state = d;
	return d->fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	close(d->fd);
	int rc = system(cmd);
	free(d);
	return rc == 0 ? 0 : -1;
}

static void write_at(int dirfd, const char *name, const char *data)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static pyci_file_info identity(int dirfd, const char *name)
{
	struct stat st;
	assert_int_equal(fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	pyci_file_info f = {(uint64_t)st.st_dev,  (uint64_t)st.st_ino, (uint32_t)st.st_mode,
			    (uint64_t)st.st_size, st.st_mtim.tv_sec,   st.st_mtim.tv_nsec};
	return f;
}

/* pyci_clean_remove of `name` in d as a cache with no source name, judged as f. */
static int remove_judged(int dirfd, const char *name, const pyci_file_info *f, int dry_run,
			 const char **why)
{
	static const pyci_cache_name bad = {.kind = PYCI_NAME_PYCACHE_BAD};
	pyci_record r = {.name = name,
			 .dirfd = dirfd,
			 .srcdirfd = dirfd,
			 .cname = &bad,
			 .have_file = 1,
			 .file = *f};
	return pyci_clean_remove(&r, dry_run, why);
}

static int exists(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_removes_the_judged_file(void **state)
{
	struct dir *d = *state;
	write_at(d->fd, "a.pyc", "0123456789abcdefgh");
	pyci_file_info f = identity(d->fd, "a.pyc");
	const char *why = NULL;
	assert_int_equal(remove_judged(d->fd, "a.pyc", &f, 1, &why), 0); /* dry run */
	assert_true(exists(d->fd, "a.pyc"));
	assert_int_equal(remove_judged(d->fd, "a.pyc", &f, 0, &why), 0);
	assert_false(exists(d->fd, "a.pyc"));
	errno = 0;
	assert_int_equal(remove_judged(d->fd, "a.pyc", &f, 0, &why), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_changed_file_is_kept(void **state)
{
	struct dir *d = *state;
	write_at(d->fd, "b.pyc", "0123456789abcdefgh");
	pyci_file_info f = identity(d->fd, "b.pyc");

	pyci_file_info g = f;
	const char *why = NULL;
	g.size++; /* rewritten with another size */
	assert_int_equal(remove_judged(d->fd, "b.pyc", &g, 0, &why), 1);
	assert_string_equal(why, PYCI_CLEAN_CHANGED);
	g = f;
	g.mtime_nsec ^= 1; /* touched */
	why = NULL;
	assert_int_equal(remove_judged(d->fd, "b.pyc", &g, 0, &why), 1);
	assert_string_equal(why, PYCI_CLEAN_CHANGED);
	g = f;
	g.ino++; /* replaced by another file */
	why = NULL;
	assert_int_equal(remove_judged(d->fd, "b.pyc", &g, 1, &why), 1);
	assert_string_equal(why, PYCI_CLEAN_CHANGED);
	assert_true(exists(d->fd, "b.pyc"));

	/* replaced by a symlink to the judged file: not followed, kept */
	assert_int_equal(renameat(d->fd, "b.pyc", d->fd, "real.pyc"), 0);
	assert_int_equal(symlinkat("real.pyc", d->fd, "b.pyc"), 0);
	why = NULL;
	assert_int_equal(remove_judged(d->fd, "b.pyc", &f, 0, &why), 1);
	assert_string_equal(why, PYCI_CLEAN_CHANGED);
	assert_true(exists(d->fd, "b.pyc"));
	assert_true(exists(d->fd, "real.pyc"));
}

/* The record of __pycache__/m.cpython-312.pyc in d, judged with m.py as it is now. */
struct judged {
	pyci_cache_name cname;
	pyci_source_info src;
	pyci_record r;
	int pc;
};

static void judge_now(struct dir *d, struct judged *j)
{
	*j = (struct judged){0};
	j->pc = openat(d->fd, "__pycache__", O_RDONLY | O_DIRECTORY);
	assert_true(j->pc >= 0);
	j->cname.kind = PYCI_NAME_PYCACHE;
	j->cname.stem_len = 1;
	struct stat st;
	if (fstatat(d->fd, "m.py", &st, 0) != 0) {
		j->src.err = errno;
	} else {
		j->src.regular = S_ISREG(st.st_mode);
		j->src.size = (uint64_t)st.st_size;
		j->src.mtime_sec = st.st_mtim.tv_sec;
		j->src.mtime_nsec = st.st_mtim.tv_nsec;
		j->src.ctime_sec = st.st_ctim.tv_sec;
		j->src.ctime_nsec = st.st_ctim.tv_nsec;
		j->src.dev = (uint64_t)st.st_dev;
		j->src.ino = (uint64_t)st.st_ino;
	}
	j->r = (pyci_record){.name = "m.cpython-312.pyc",
			     .dirfd = j->pc,
			     .srcdirfd = d->fd,
			     .cname = &j->cname,
			     .source = &j->src,
			     .have_file = 1,
			     .file = identity(j->pc, "m.cpython-312.pyc")};
}

/* A source restored with its old bytes and mtime (rsync -a, tar x) between the judgement and
 * the removal, or one that appears for an orphan: the cache is kept. */
static void test_changed_source_keeps_the_cache(void **state)
{
	struct dir *d = *state;
	assert_int_equal(mkdirat(d->fd, "__pycache__", 0755), 0);
	int pc = openat(d->fd, "__pycache__", O_RDONLY | O_DIRECTORY);
	assert_true(pc >= 0);
	write_at(pc, "m.cpython-312.pyc", "0123456789abcdefgh");
	write_at(d->fd, "m.py", "x = 1\n");
	struct judged j;
	const char *why = NULL;

	/* the same bytes and mtime put back: only the ctime (or the inode) tells */
	judge_now(d, &j);
	struct stat st;
	assert_int_equal(fstatat(d->fd, "m.py", &st, 0), 0);
	struct timespec times[2] = {st.st_atim, st.st_mtim};
	usleep(10000);
	write_at(d->fd, "m.py", "x = 1\n");
	assert_int_equal(utimensat(d->fd, "m.py", times, 0), 0);
	assert_int_equal(pyci_clean_remove(&j.r, 1, &why), 1);
	assert_string_equal(why, PYCI_CLEAN_SOURCE_CHANGED);
	why = NULL;
	assert_int_equal(pyci_clean_remove(&j.r, 0, &why), 1);
	assert_string_equal(why, PYCI_CLEAN_SOURCE_CHANGED);
	assert_true(exists(pc, "m.cpython-312.pyc"));
	close(j.pc);

	/* orphaned when judged, the source back before the removal */
	assert_int_equal(renameat(d->fd, "m.py", d->fd, "away"), 0);
	judge_now(d, &j);
	assert_int_equal(j.src.err, ENOENT);
	assert_int_equal(renameat(d->fd, "away", d->fd, "m.py"), 0);
	why = NULL;
	assert_int_equal(pyci_clean_remove(&j.r, 0, &why), 1);
	assert_string_equal(why, PYCI_CLEAN_SOURCE_CHANGED);
	assert_true(exists(pc, "m.cpython-312.pyc"));
	close(j.pc);

	/* still gone, or unchanged: removed */
	assert_int_equal(renameat(d->fd, "m.py", d->fd, "away"), 0);
	judge_now(d, &j);
	assert_int_equal(pyci_clean_remove(&j.r, 1, &why), 0);
	assert_int_equal(renameat(d->fd, "away", d->fd, "m.py"), 0);
	close(j.pc);
	judge_now(d, &j);
	assert_int_equal(pyci_clean_remove(&j.r, 0, &why), 0);
	assert_false(exists(pc, "m.cpython-312.pyc"));
	close(j.pc);
	close(pc);
}

/* The dry run predicts what unlinkat would answer: here, a directory we may not write to
 * (as root, only a read-only mount or an attribute would refuse; as another user, the mode). */
static void test_dry_run_predicts_permission(void **state)
{
	struct dir *d = *state;
	write_at(d->fd, "c.pyc", "0123456789abcdefgh");
	pyci_file_info f = identity(d->fd, "c.pyc");
	const char *why = NULL;
	assert_int_equal(fchmod(d->fd, 0555), 0);
	int dry = remove_judged(d->fd, "c.pyc", &f, 1, &why);
	int dry_err = errno;
	int real = remove_judged(d->fd, "c.pyc", &f, 0, &why);
	int real_err = errno;
	assert_int_equal(dry, real);
	if (real != 0)
		assert_int_equal(dry_err, real_err); /* EACCES as another user */
	assert_int_equal(fchmod(d->fd, 0755), 0);
}

static void test_rmdir_only_the_listed_directory(void **state)
{
	struct dir *d = *state;
	assert_int_equal(mkdirat(d->fd, "__pycache__", 0755), 0);
	int pc = openat(d->fd, "__pycache__", O_RDONLY | O_DIRECTORY);
	assert_true(pc >= 0);
	write_at(pc, "x", "x");
	errno = 0;
	assert_int_equal(pyci_clean_rmdir(d->fd, "__pycache__", pc, 0), -1);
	assert_int_equal(errno, ENOTEMPTY);
	assert_int_equal(unlinkat(pc, "x", 0), 0);

	/* swapped for another (empty) directory: kept */
	assert_int_equal(renameat(d->fd, "__pycache__", d->fd, "moved"), 0);
	assert_int_equal(mkdirat(d->fd, "__pycache__", 0755), 0);
	assert_int_equal(pyci_clean_rmdir(d->fd, "__pycache__", pc, 0), -1);
	assert_int_equal(errno, ESTALE);
	assert_true(exists(d->fd, "__pycache__"));
	assert_int_equal(unlinkat(d->fd, "__pycache__", AT_REMOVEDIR), 0);
	assert_int_equal(renameat(d->fd, "moved", d->fd, "__pycache__"), 0);

	assert_int_equal(pyci_clean_rmdir(d->fd, "__pycache__", pc, 1), 0); /* dry run */
	assert_true(exists(d->fd, "__pycache__"));
	assert_int_equal(pyci_clean_rmdir(d->fd, "__pycache__", pc, 0), 0);
	assert_false(exists(d->fd, "__pycache__"));
	close(pc);
}

static void test_eligible(void **state)
{
	(void)state;
	pyci_cache_name pycache = {.kind = PYCI_NAME_PYCACHE},
			bad = {.kind = PYCI_NAME_PYCACHE_BAD};
	pyci_verdict stale = {.status = PYCI_STALE},
		     fifo = {.status = PYCI_INVALID,
			     .reasons = PYCI_REASON_BIT(PYCI_R_NOT_REGULAR)};
	pyci_record r = {.cname = &pycache, .verdict = &stale, .have_file = 1};
	r.file.mode = S_IFREG | 0644;
	const char *why = NULL;
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_ORPHANED), &why), 0);
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_STALE), &why), 1);
	/* debris (a __pycache__ name no import looks up): only PYCI_SELECT_DEBRIS takes it */
	r.cname = &bad;
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_STALE), &why), 0);
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_ORPHANED), &why), 0);
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT_DEBRIS, &why), 1);
	r.cname = &pycache;
	r.verdict = &fifo;
	r.file.mode = S_IFIFO | 0644;
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_INVALID), &why), -1);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_STALE), &why), 0);

	/* a source that exists but could not be stat'ed keeps its cache, whatever is selected */
	pyci_verdict unchecked = {.status = PYCI_INVALID,
				  .reasons = PYCI_REASON_BIT(PYCI_R_SOURCE_UNREADABLE)};
	pyci_source_info denied = {.err = EACCES};
	r.verdict = &unchecked;
	r.source = &denied;
	r.file.mode = S_IFREG | 0644;
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_ORPHANED), &why), 0);
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_INVALID), &why), -1);
	assert_string_equal(why, PYCI_CLEAN_SOURCE_UNCHECKED);
	assert_int_equal(pyci_clean_source_errno(&r), EACCES);
}

static void test_is_root(void **state)
{
	(void)state;
	assert_true(pyci_clean_is_root("/"));
	assert_true(pyci_clean_is_root("//"));
	assert_true(pyci_clean_is_root("/../"));
	assert_false(pyci_clean_is_root("/tmp"));
	assert_false(pyci_clean_is_root("/nonexistent-pyci"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_removes_the_judged_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_file_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_source_keeps_the_cache, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_predicts_permission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rmdir_only_the_listed_directory, setup,
						teardown),
		cmocka_unit_test(test_eligible),
		cmocka_unit_test(test_is_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
