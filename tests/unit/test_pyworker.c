/*
 * test_pyworker.c - unit tests for pyworker.h and pyfind.h: an interpreter as a compiler, and
 * what is found by name.
 *
 * The real python3 on PATH (tools/install-deps.sh installs it) starts, says what it is and
 * compiles; a SyntaxError comes back as the exception.  Then programs that are not the driver:
 * one that exits, one that is not executable, one that never answers (the deadline holds),
 * one that answers nonsense, one that says hello and then dies, or hangs, when asked to
 * compile: each gives NULL or -1 and says what happened, and nothing is left running.
 * pyfind: a fake pyenv root and PATH directory, with duplicates, non-matching names, a file
 * that is not executable and pyenv's shims, give exactly the expected list, in order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pycinspect/pyfind.h"
#include "pycinspect/pyworker.h"

static char tmp[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/pyci_pyworker_XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[320];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write an executable script; its path in out. */
static void script(const char *name, const char *text, mode_t mode, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", tmp, name);
	FILE *f = fopen(out, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(out, mode), 0);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The python3 of PATH, as a path (posix_spawn does not search). */
static const char *python3(void)
{
	static char path[512];
	const char *dirs[] = {"/usr/bin", "/usr/local/bin", "/bin"};
	for (size_t k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "%s/python3", dirs[k]);
		if (access(path, X_OK) == 0)
			return path;
	}
	fail_msg("no python3 in /usr/bin, /usr/local/bin or /bin");
	return NULL;
}

static void test_real_python(void **state)
{
	(void)state;
	const char *argv[] = {python3(), "-I", "-S", NULL};
	pyci_buf why = PYCI_BUF_INIT, out = PYCI_BUF_INIT;
	pyci_pyworker *w = pyci_pyworker_start(argv, 30000, &why);
	if (!w)
		fail_msg("python3 did not start: %s", why.data);
	const pyci_pyinfo *i = pyci_pyworker_info(w);
	assert_string_equal(i->impl, "cpython");
	assert_int_equal(i->major, 3);
	assert_int_equal(i->per_call_optimize, 1);
	assert_int_equal(i->optimize, 0);
	assert_int_equal(i->magic_word >> 16, 0x0A0D);
	const char *src = "# -*- coding: latin-1 -*-\nx = '\xe9'\nassert x\n";
	assert_int_equal(pyci_pyworker_compile(w, 0, "f.py", 4, (const uint8_t *)src, strlen(src),
					       30000, 1 << 20, &out),
			 0);
	assert_true(out.len > 20);
	assert_int_equal((unsigned char)out.data[0] & 0x7F, 'c');
	size_t plain = out.len;
	/* -O drops the assert: other, shorter code */
	assert_int_equal(pyci_pyworker_compile(w, 1, "f.py", 4, (const uint8_t *)src, strlen(src),
					       30000, 1 << 20, &out),
			 0);
	assert_true(out.len < plain);
	const char *bad = "x = (\n";
	assert_int_equal(pyci_pyworker_compile(w, 0, "bad.py", 6, (const uint8_t *)bad, strlen(bad),
					       30000, 1 << 20, &out),
			 1);
	assert_non_null(strstr(out.data, "SyntaxError: "));
	assert_non_null(strstr(out.data, "bad.py"));
	/* an answer larger than allowed is nonsense: the worker is gone */
	assert_int_equal(pyci_pyworker_compile(w, 0, "f.py", 4, (const uint8_t *)src, strlen(src),
					       30000, 10, &out),
			 -1);
	assert_non_null(strstr(out.data, "answered nonsense"));
	assert_int_equal(pyci_pyworker_dead(w), 1);
	assert_int_equal(pyci_pyworker_compile(w, 0, "f.py", 4, (const uint8_t *)src, strlen(src),
					       30000, 1 << 20, &out),
			 -1);
	pyci_pyworker_stop(w);
	pyci_buf_free(&why);
	pyci_buf_free(&out);
}

/* Start argv and expect NULL with errno err and `want` in the reason, within `secs`. */
static void assert_no_start(const char *path, int err, const char *want, int timeout_ms,
			    double secs)
{
	const char *argv[] = {path, "-I", NULL};
	pyci_buf why = PYCI_BUF_INIT;
	double t0 = now();
	pyci_pyworker *w = pyci_pyworker_start(argv, timeout_ms, &why);
	double took = now() - t0;
	assert_null(w);
	assert_int_equal(errno, err);
	if (!why.data || !strstr(why.data, want))
		fail_msg("%s: <%s>, want <%s>", path, why.data, want);
	assert_true(took < secs);
	pyci_buf_free(&why);
}

static void test_not_python(void **state)
{
	(void)state;
	char p[300];
	script("exits", "#!/bin/sh\necho 'no python here' >&2\nexit 3\n", 0755, p, sizeof(p));
	assert_no_start(p, ECHILD, "exited with status 3: no python here", 10000, 5);
	script("plain", "x = 1\n", 0644, p, sizeof(p));
	assert_no_start(p, EACCES, "cannot be run: Permission denied", 10000, 5);
	assert_no_start("/nonexistent/python", ENOENT, "cannot be run: No such file or directory",
			10000, 5);
	script("sleeps", "#!/bin/sh\nexec sleep 30\n", 0755, p, sizeof(p));
	assert_no_start(p, ETIMEDOUT, "did not start and answer within 0.300 s", 300, 5);
	script("noise", "#!/bin/sh\nprintf 'garbage, not a frame'\nexec sleep 30\n", 0755, p,
	       sizeof(p));
	assert_no_start(p, EPROTO, "answered nonsense", 10000, 5);
	script("segv", "#!/bin/sh\nkill -SEGV $$\n", 0755, p, sizeof(p));
	assert_no_start(p, ECHILD, "was killed by signal 11 SIGSEGV", 10000, 5);
}

/* A driver of our own that says hello as 3.12 would, then, asked to compile, does `then`. */
static void fake_driver(const char *name, const char *then, char *out, size_t n)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "#!%s\n"
		 "import os, signal, struct, sys, time\n"
		 "def send(kind, data):\n"
		 "    os.write(1, struct.pack('<I', len(data) + 1) + kind + data)\n"
		 "send(b'H', bytes([0xcb, 0x0d, 0x0d, 0x0a, 1, 0]) + b'cpython 3.12.9')\n"
		 "n = struct.unpack('<I', os.read(0, 4))[0]\n"
		 "while n > 0:\n"
		 "    n -= len(os.read(0, n))\n"
		 "%s\n",
		 python3(), then);
	script(name, text, 0755, out, n);
}

static void test_dies_when_asked(void **state)
{
	(void)state;
	static const struct {
		const char *name, *then, *want;
		int timeout_ms;
	} rows[] = {
		{"crash", "os.kill(os.getpid(), signal.SIGSEGV)", "was killed by signal 11 SIGSEGV",
		 10000},
		{"quits", "sys.stderr.write('bye\\n'); sys.exit(4)", "exited with status 4: bye",
		 10000},
		{"hangs", "time.sleep(30)", "did not answer within 0.500 s", 500},
		{"babbles", "send(b'X', b'what')", "answered nonsense: an unknown kind of frame",
		 10000},
	};
	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		char p[300];
		fake_driver(rows[k].name, rows[k].then, p, sizeof(p));
		const char *argv[] = {p, NULL};
		pyci_buf why = PYCI_BUF_INIT, out = PYCI_BUF_INIT;
		pyci_pyworker *w = pyci_pyworker_start(argv, 10000, &why);
		if (!w)
			fail_msg("%s: %s", rows[k].name, why.data);
		assert_int_equal(pyci_pyworker_info(w)->minor, 12);
		assert_int_equal(pyci_pyworker_info(w)->micro, 9);
		double t0 = now();
		assert_int_equal(pyci_pyworker_compile(w, 0, "f.py", 4, (const uint8_t *)"x", 1,
						       rows[k].timeout_ms, 1 << 20, &out),
				 -1);
		assert_true(now() - t0 < 8);
		if (!strstr(out.data, rows[k].want))
			fail_msg("%s: <%s>, want <%s>", rows[k].name, out.data, rows[k].want);
		assert_int_equal(pyci_pyworker_dead(w), 1);
		pyci_pyworker_stop(w);
		pyci_buf_free(&why);
		pyci_buf_free(&out);
	}
}

static void touch(const char *rel, mode_t mode)
{
	char p[512], cmd[600];
	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
	assert_int_equal(system(cmd), 0);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void test_pyfind(void **state)
{
	(void)state;
	touch("root/versions/3.99.1/bin/python", 0755);
	touch("root/versions/2.7.99/bin/python", 0755);
	touch("root/versions/empty/bin/nothing", 0755);
	touch("root/shims/python3.99", 0755);
	touch("bin/python3.99", 0755);
	touch("bin/python3", 0755);   /* no minor version: not a candidate */
	touch("bin/python3.x", 0755); /* not a version */
	touch("bin/python2.6", 0644); /* not executable */
	touch("bin/pypy3.10", 0755);
	touch("bin/python3.99-config", 0755);
	char link[600], target[600];
	snprintf(target, sizeof(target), "%s/root/versions/3.99.1/bin/python", tmp);
	snprintf(link, sizeof(link), "%s/bin/python3.98", tmp);
	assert_int_equal(symlink(target, link), 0); /* the same file as a pyenv version */
	char path_env[1200], root[600];
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(path_env, sizeof(path_env), "%s/root/shims:%s/bin:/nonexistent:%s/bin", tmp, tmp,
		 tmp);
	pyci_buf out = PYCI_BUF_INIT;
	size_t n = 0;
	assert_int_equal(pyci_pyfind(path_env, root, NULL, &out, &n), 0);
	const char *want[] = {"root/versions/2.7.99/bin/python", "root/versions/3.99.1/bin/python",
			      "bin/pypy3.10", "bin/python3.99"};
	assert_int_equal(n, 4);
	size_t off = 0;
	for (size_t k = 0; k < n; k++) {
		char full[600];
		snprintf(full, sizeof(full), "%s/%s", tmp, want[k]);
		assert_string_equal(out.data + off, full);
		off += strlen(out.data + off) + 1;
	}
	pyci_buf_free(&out);
	/* no pyenv root, no HOME: PATH only */
	n = 0;
	assert_int_equal(pyci_pyfind(path_env, NULL, NULL, &out, &n), 0);
	assert_int_equal(
		n, 4); /* shims/python3.99, pypy3.10, python3.98 (its target unseen), python3.99 */
	pyci_buf_free(&out);

	const char *opts[6];
	pyci_pyinfo i = {.impl = "cpython", .major = 3, .minor = 12, .per_call_optimize = 1};
	assert_int_equal(pyci_pyfind_options(&i, 2, opts), 2);
	assert_string_equal(opts[0], "-I");
	assert_string_equal(opts[1], "-S");
	assert_null(opts[2]);
	pyci_pyinfo old = {.impl = "cpython", .major = 2, .minor = 7};
	assert_int_equal(pyci_pyfind_options(&old, 2, opts), 4);
	assert_string_equal(opts[0], "-E");
	assert_string_equal(opts[2], "-S");
	assert_string_equal(opts[3], "-OO");
	pyci_pyinfo p33 = {.impl = "cpython", .major = 3, .minor = 3, .per_call_optimize = 1};
	assert_int_equal(pyci_pyfind_options(&p33, 1, opts), 3);
	pyci_pyinfo pypy = {.impl = "pypy", .major = 3, .minor = 3, .per_call_optimize = 1};
	assert_int_equal(pyci_pyfind_options(&pypy, 0, opts), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_python),
		cmocka_unit_test(test_not_python),
		cmocka_unit_test(test_dies_when_asked),
		cmocka_unit_test(test_pyfind),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
