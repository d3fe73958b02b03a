/*
 * test_sysroot.c - unit tests for sysroot.h: paths resolved inside a staging root.
 *
 * The kernel is the oracle: for every path of a small tree (absolute and relative symlinks, a
 * link that climbs above the root with "..", chains, a directory through a link), the text walk
 * pyci_sysroot_resolve (what runs where openat2 is missing) must land on the very file that
 * openat2(RESOLVE_IN_ROOT) opens, compared by identity; the errors (a loop, a dangling link, a
 * file used as a directory) must be the kernel's too.  pyci_sysroot_open and pyci_sysroot_stat
 * are checked to never reach the host's file of the same name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/sysroot.h"

static char top[64];
static int rootfd = -1;

static void put(const char *rel, const char *text)
{
	int fd = openat(rootfd, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	strcpy(top, "/tmp/pyci-sysroot-XXXXXX");
	assert_non_null(mkdtemp(top));
	rootfd = open(top, O_PATH | O_DIRECTORY);
	assert_true(rootfd >= 0);
	assert_int_equal(mkdirat(rootfd, "usr", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "usr/lib", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "usr/lib/python3.12", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "usr/lib/python3.12/pkg", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "etc", 0755), 0);
	put("usr/lib/python3.12/os.py", "ROOT = 1\n");
	put("etc/hostname", "inside\n");
	/* python3 -> python3.12 (relative), and the same absolute */
	assert_int_equal(symlinkat("python3.12", rootfd, "usr/lib/python3"), 0);
	assert_int_equal(symlinkat("/usr/lib/python3.12", rootfd, "usr/lib/py-abs"), 0);
	assert_int_equal(
		symlinkat("/usr/lib/python3.12/os.py", rootfd, "usr/lib/python3.12/pkg/a.py"), 0);
	assert_int_equal(symlinkat("../../../../../../../../etc/hostname", rootfd,
				   "usr/lib/python3.12/pkg/esc.py"),
			 0);
	assert_int_equal(
		symlinkat("../../python3/os.py", rootfd, "usr/lib/python3.12/pkg/chain.py"), 0);
	assert_int_equal(symlinkat("loop2", rootfd, "usr/loop1"), 0);
	assert_int_equal(symlinkat("loop1", rootfd, "usr/loop2"), 0);
	assert_int_equal(symlinkat("/nowhere", rootfd, "usr/dangling"), 0);
	assert_int_equal(symlinkat("/", rootfd, "usr/top"), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", top);
	assert_int_equal(system(cmd), 0);
	close(rootfd);
	return 0;
}

/* What the kernel opens for path inside the root ("" is the top, as sysroot.h says): 0 and its
 * stat, or -errno. */
static int kernel(const char *path, struct stat *st)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	long fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));
	if (fd < 0)
		return -errno;
	int rc = fstat((int)fd, st);
	close((int)fd);
	return rc;
}

/* The text walk lands where the kernel does, and gives want as the path. */
static void same_as_kernel(const char *path, const char *want)
{
	struct stat k, mine;
	pyci_buf b = PYCI_BUF_INIT;
	if (kernel(path, &k) != 0)
		fail_msg("the kernel does not open '%s'", path);
	assert_int_equal(pyci_sysroot_resolve(rootfd, path, &b), 0);
	assert_string_equal(b.data, want);
	assert_int_equal(fstatat(rootfd, *b.data ? b.data : ".", &mine, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(mine.st_dev == k.st_dev && mine.st_ino == k.st_ino);
	/* and the open and stat of the library agree */
	assert_int_equal(pyci_sysroot_stat(rootfd, path, &mine), 0);
	assert_true(mine.st_dev == k.st_dev && mine.st_ino == k.st_ino);
	pyci_buf_free(&b);
}

static void fails_as_kernel(const char *path)
{
	struct stat k;
	pyci_buf b = PYCI_BUF_INIT;
	int want = kernel(path, &k);
	assert_true(want < 0);
	assert_int_equal(pyci_sysroot_resolve(rootfd, path, &b), -1);
	assert_int_equal(-errno, want);
	assert_int_equal(pyci_sysroot_stat(rootfd, path, &k), -1);
	assert_int_equal(-errno, want);
	pyci_buf_free(&b);
}

static void test_resolves_inside(void **state)
{
	(void)state;
	same_as_kernel("/usr/lib/python3.12/os.py", "usr/lib/python3.12/os.py");
	same_as_kernel("usr/lib/python3/os.py", "usr/lib/python3.12/os.py");
	same_as_kernel("/usr/lib/py-abs/pkg/", "usr/lib/python3.12/pkg");
	same_as_kernel("/usr/lib/python3.12/pkg/a.py", "usr/lib/python3.12/os.py");
	same_as_kernel("/usr/lib/python3.12/pkg/esc.py", "etc/hostname");
	same_as_kernel("/usr/lib/python3.12/pkg/chain.py", "usr/lib/python3.12/os.py");
	same_as_kernel("/../../../usr//lib/./python3", "usr/lib/python3.12");
	same_as_kernel("/usr/top/usr/top/etc/hostname", "etc/hostname");
	same_as_kernel("", "");
	same_as_kernel("/", "");
	same_as_kernel("/..", "");
}

static void test_errors(void **state)
{
	(void)state;
	fails_as_kernel("/usr/loop1");
	fails_as_kernel("/usr/dangling");
	fails_as_kernel("/usr/lib/missing/x");
	fails_as_kernel("/etc/hostname/x");
}

/* The host's /etc/hostname is never what a path inside the root leads to. */
static void test_never_the_host(void **state)
{
	(void)state;
	char buf[32] = {0};
	int fd = pyci_sysroot_open(rootfd, "/usr/lib/python3.12/pkg/esc.py", O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "inside\n");
}

static void test_appends(void **state)
{
	(void)state;
	pyci_buf b = PYCI_BUF_INIT;
	assert_int_equal(pyci_buf_puts(&b, "x:"), 0);
	assert_int_equal(pyci_sysroot_resolve(rootfd, "/usr/lib/python3", &b), 0);
	assert_string_equal(b.data, "x:usr/lib/python3.12");
	pyci_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolves_inside),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_never_the_host),
		cmocka_unit_test(test_appends),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
