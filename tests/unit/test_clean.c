/*
 * test_clean.c - the deleting calls of clean.c: a file is removed only while it is the regular
 * file that was judged (device, inode, size, mtime), a dry run removes nothing, a directory only
 * while it is the one that was listed; and pyci_clean_eligible's rules.
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
	pyci_file_info f = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint32_t)st.st_mode,
			    (uint64_t)st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
	return f;
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
	assert_int_equal(pyci_clean_remove(d->fd, "a.pyc", &f, 1), 0); /* dry run */
	assert_true(exists(d->fd, "a.pyc"));
	assert_int_equal(pyci_clean_remove(d->fd, "a.pyc", &f, 0), 0);
	assert_false(exists(d->fd, "a.pyc"));
	errno = 0;
	assert_int_equal(pyci_clean_remove(d->fd, "a.pyc", &f, 0), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_changed_file_is_kept(void **state)
{
	struct dir *d = *state;
	write_at(d->fd, "b.pyc", "0123456789abcdefgh");
	pyci_file_info f = identity(d->fd, "b.pyc");

	pyci_file_info g = f;
	g.size++; /* rewritten with another size */
	errno = 0;
	assert_int_equal(pyci_clean_remove(d->fd, "b.pyc", &g, 0), -1);
	assert_int_equal(errno, ESTALE);
	g = f;
	g.mtime_nsec ^= 1; /* touched */
	assert_int_equal(pyci_clean_remove(d->fd, "b.pyc", &g, 0), -1);
	assert_int_equal(errno, ESTALE);
	g = f;
	g.ino++; /* replaced by another file */
	assert_int_equal(pyci_clean_remove(d->fd, "b.pyc", &g, 1), -1);
	assert_int_equal(errno, ESTALE);
	assert_true(exists(d->fd, "b.pyc"));

	/* replaced by a symlink to the judged file: not followed, kept */
	assert_int_equal(renameat(d->fd, "b.pyc", d->fd, "real.pyc"), 0);
	assert_int_equal(symlinkat("real.pyc", d->fd, "b.pyc"), 0);
	assert_int_equal(pyci_clean_remove(d->fd, "b.pyc", &f, 0), -1);
	assert_int_equal(errno, ESTALE);
	assert_true(exists(d->fd, "b.pyc"));
	assert_true(exists(d->fd, "real.pyc"));
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
	pyci_cache_name pycache = {.kind = PYCI_NAME_PYCACHE}, bad = {.kind = PYCI_NAME_PYCACHE_BAD};
	pyci_verdict stale = {.status = PYCI_STALE}, fifo = {.status = PYCI_INVALID,
						       .reasons = PYCI_REASON_BIT(PYCI_R_NOT_REGULAR)};
	pyci_record r = {.cname = &pycache, .verdict = &stale, .have_file = 1};
	r.file.mode = S_IFREG | 0644;
	const char *why = NULL;
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_ORPHANED), &why), 0);
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_STALE), &why), 1);
	r.cname = &bad;
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_STALE), &why), -1);
	assert_string_equal(why, "not a cache name");
	r.cname = &pycache;
	r.verdict = &fifo;
	r.file.mode = S_IFIFO | 0644;
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_INVALID), &why), -1);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(pyci_clean_eligible(&r, PYCI_SELECT(PYCI_STALE), &why), 0);
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
		cmocka_unit_test_setup_teardown(test_rmdir_only_the_listed_directory, setup, teardown),
		cmocka_unit_test(test_eligible),
		cmocka_unit_test(test_is_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
