/*
 * inject.c - an LD_PRELOAD shim that makes pycinspect's deleting calls and its stdout fail on
 * demand, and records what it saw, for tests/cli/test_fault_*.py (in the spirit of jq's
 * tests/inject_errors.c).
 *
 * Environment (all optional; with none set the shim only counts):
 *   PYCI_FAIL_UNLINKAT=N          the Nth unlinkat(dirfd, name, 0) (a file) and every later one
 *                                 fail
 *   PYCI_FAIL_UNLINKAT_MATCH=S    file unlinkats whose path (the directory of dirfd, '/', name)
 *                                 contains S fail
 *   PYCI_FAIL_UNLINKAT_ERRNO=E    their errno: a name (EACCES, EROFS, ...) or a number;
 *                                 default EACCES
 *   PYCI_FAIL_RMDIR=N, PYCI_FAIL_RMDIR_MATCH=S, PYCI_FAIL_RMDIR_ERRNO=E
 *                                 the same for unlinkat(dirfd, name, AT_REMOVEDIR)
 *   PYCI_FAIL_WRITE=N             the Nth write(2) to descriptor 1 and every later one fail
 *   PYCI_FAIL_WRITE_ERRNO=E       their errno, default ENOSPC (EPIPE: a closed pipe)
 *   PYCI_TEE=FILE                 every byte that reached descriptor 1 is also appended to FILE
 *   PYCI_TRACE=FILE               one line per event, in order: "W <bytes written so far>" after
 *                                 each successful write to descriptor 1, "F <n>[ INJECTED]" for
 *                                 the nth write to it failing, "U <path>" / "R <path>" before
 *                                 each file / directory unlinkat (with " FAIL" when this shim
 *                                 makes it fail)
 *   PYCI_COUNT_FILE=FILE          at exit (from a destructor), "key value" lines:
 *                                 unlinkat_file, unlinkat_dir (calls made), unlinkat_failed
 *                                 (made to fail here), unlinkat_path (given AT_FDCWD, an absolute
 *                                 name or one with a '/'), unlink, rmdir, remove (path calls,
 *                                 passed through), write, write_failed, bytes (descriptor 1),
 *                                 then "end 1".  Writes to stdout after the destructor (a stream
 *                                 the program left for exit() to flush) are not counted.
 *
 * Why stdout is replaced: glibc's stdio writes through its internal __write, which an
 * interposed write() never sees (checked: a write() wrapper is not called for fwrite+fflush,
 * though strace shows write(1, ...)).  So a constructor swaps `stdout` for an fopencookie
 * stream over descriptor 1 with the buffering glibc would have given it (line buffered on a
 * terminal, else fully buffered with min(st_blksize, BUFSIZ) bytes), whose write function goes
 * through the same checks as an interposed write(1, ...).  Each call of that function is one
 * write(2) the real stream would have made.  fileno(stdout) is -1 under the shim.
 *
 * Counters are atomic; the wrappers take no locks and allocate nothing (paths longer than the
 * fixed buffers are cut short, which only matters to *_MATCH and the trace).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PATH_BUF 4096

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*unlinkat_fn)(int, const char *, int);
typedef int (*path_fn)(const char *);

static write_fn real_write;
static writev_fn real_writev;
static unlinkat_fn real_unlinkat;
static path_fn real_unlink, real_rmdir, real_remove;

/* A failure rule: from the Nth call on (0: never by count), or when the path holds `match`. */
struct rule {
	unsigned long from;
	const char *match;
	int err;
};

static struct rule fail_unlink, fail_rmdir, fail_write;
static int tee_fd = -1, trace_fd = -1;
static const char *count_file;

static atomic_ulong n_unlinkat_file, n_unlinkat_dir, n_unlinkat_failed, n_unlinkat_path;
static atomic_ulong n_unlink, n_rmdir, n_remove;
static atomic_ulong n_write, n_write_failed, n_bytes;

/* The libc function after this one, resolved on first use too (a constructor of another
 * library may call in before ours has run). */
static void *next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char msg[] = "pyci_inject: dlsym failed\n";
		(void)!syscall(SYS_write, 2, msg, sizeof(msg) - 1); /* not through this shim */
		_exit(127);
	}
	return p;
}

/* (memcpy: ISO C has no cast from an object pointer to a function pointer) */
#define RESOLVE(var, type, name)                                                        \
	do {                                                                            \
		if (!(var)) {                                                           \
			void *p_ = next(name);                                          \
			_Static_assert(sizeof(type) == sizeof(p_), "function pointers"); \
			memcpy(&(var), &p_, sizeof(var));                               \
		}                                                                       \
	} while (0)

static void resolve_all(void)
{
	RESOLVE(real_write, write_fn, "write");
	RESOLVE(real_writev, writev_fn, "writev");
	RESOLVE(real_unlinkat, unlinkat_fn, "unlinkat");
	RESOLVE(real_unlink, path_fn, "unlink");
	RESOLVE(real_rmdir, path_fn, "rmdir");
	RESOLVE(real_remove, path_fn, "remove");
}

/* --- small async-signal-safe string helpers ------------------------------------------- */

/* Append s to buf (of size cap, holding *len bytes), cutting it short; keeps a NUL. */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s && *len + 1 < cap)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

static void put_ulong(char *buf, size_t cap, size_t *len, unsigned long v)
{
	char digits[24];
	size_t n = sizeof(digits) - 1;
	digits[n] = '\0';
	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(buf, cap, len, digits + n);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = real_write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void trace(const char *kind, const char *what, const char *suffix)
{
	if (trace_fd < 0)
		return;
	char line[PATH_BUF + 32];
	size_t len = 0;
	put(line, sizeof(line) - 1, &len, kind);
	put(line, sizeof(line) - 1, &len, " ");
	put(line, sizeof(line) - 1, &len, what);
	put(line, sizeof(line) - 1, &len, suffix);
	line[len++] = '\n';
	int saved = errno;
	write_all(trace_fd, line, len); /* one write with O_APPEND: lines do not interleave */
	errno = saved;
}

/* "<directory of dirfd>/<name>", or name itself when it is absolute or dirfd is AT_FDCWD. */
static void full_path(int dirfd, const char *name, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	if (name[0] != '/' && dirfd != AT_FDCWD) {
		char proc[64];
		size_t plen = 0;
		put(proc, sizeof(proc), &plen, "/proc/self/fd/");
		put_ulong(proc, sizeof(proc), &plen, (unsigned long)dirfd);
		int saved = errno;
		ssize_t n = readlink(proc, out, cap - 2);
		errno = saved;
		if (n > 0) {
			len = (size_t)n;
			out[len] = '\0';
			put(out, cap, &len, "/");
		}
	}
	put(out, cap, &len, name);
}

/* --- configuration ---------------------------------------------------------------------- */

static int parse_errno(const char *s, int dflt)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
		{"EACCES", EACCES}, {"EPERM", EPERM},   {"EROFS", EROFS},     {"EIO", EIO},
		{"EBUSY", EBUSY},   {"ENOSPC", ENOSPC}, {"EPIPE", EPIPE},     {"EDQUOT", EDQUOT},
		{"EFBIG", EFBIG},   {"ENOENT", ENOENT}, {"ENOTEMPTY", ENOTEMPTY},
		{"EEXIST", EEXIST}, {"EINTR", EINTR},   {"EAGAIN", EAGAIN},   {"ENOMEM", ENOMEM},
		{"ESTALE", ESTALE}, {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR},
	};
	if (!s || !*s)
		return dflt;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].value;
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v <= 0 || v > 4095) {
		static const char msg[] = "pyci_inject: bad errno in the environment\n";
		write_all(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	return (int)v;
}

static void parse_rule(struct rule *r, const char *var, int dflt_err)
{
	char name[64];
	size_t len = 0;
	put(name, sizeof(name), &len, var);
	const char *n = getenv(name);
	r->from = n && *n ? strtoul(n, NULL, 10) : 0;
	put(name, sizeof(name), &len, "_MATCH");
	r->match = getenv(name);
	if (r->match && !*r->match)
		r->match = NULL;
	len = strlen(var);
	put(name, sizeof(name), &len, "_ERRNO");
	r->err = parse_errno(getenv(name), dflt_err);
}

static int open_out(const char *var)
{
	const char *path = getenv(var);
	if (!path || !*path)
		return -1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		static const char msg[] = "pyci_inject: cannot open PYCI_TEE or PYCI_TRACE\n";
		write_all(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	return fd;
}

/* Whether call number `nth` (from 1) on `path` fails under r. */
static int hits(const struct rule *r, unsigned long nth, const char *path)
{
	return (r->from && nth >= r->from) || (r->match && path && strstr(path, r->match));
}

/* --- stdout ----------------------------------------------------------------------------- */

/* One write(2) to descriptor 1, as the program would have made it. */
static ssize_t out_write(const void *buf, size_t n)
{
	unsigned long nth = atomic_fetch_add(&n_write, 1) + 1;
	char num[24];
	size_t len = 0;
	if (hits(&fail_write, nth, NULL)) {
		atomic_fetch_add(&n_write_failed, 1);
		put_ulong(num, sizeof(num), &len, nth);
		trace("F", num, " INJECTED");
		errno = fail_write.err;
		return -1;
	}
	ssize_t w = real_write(1, buf, n);
	if (w < 0) {
		put_ulong(num, sizeof(num), &len, nth);
		trace("F", num, "");
	}
	if (w > 0) {
		unsigned long total = atomic_fetch_add(&n_bytes, (unsigned long)w) + (unsigned long)w;
		if (tee_fd >= 0) {
			int saved = errno;
			write_all(tee_fd, buf, (size_t)w);
			errno = saved;
		}
		if (trace_fd >= 0) {
			put_ulong(num, sizeof(num), &len, total);
			trace("W", num, "");
		}
	}
	return w;
}

/* fopencookie's write: all of it, or 0 with errno (it must not return a negative value). */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	(void)cookie;
	size_t done = 0;
	while (done < n) {
		ssize_t w = out_write(buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return (ssize_t)done;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static int cookie_close(void *cookie)
{
	(void)cookie;
	return close(1);
}

static void replace_stdout(void)
{
	struct stat st;
	if (fstat(1, &st) != 0)
		return; /* no descriptor 1: leave stdio as it is */
	cookie_io_functions_t io = {NULL, cookie_write, NULL, cookie_close};
	FILE *f = fopencookie(NULL, "w", io);
	if (!f)
		return;
	if (isatty(1))
		setvbuf(f, NULL, _IOLBF, BUFSIZ);
	else
		setvbuf(f, NULL, _IOFBF,
			st.st_blksize > 0 && st.st_blksize < BUFSIZ ? (size_t)st.st_blksize : BUFSIZ);
	fflush(stdout);
	stdout = f;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	RESOLVE(real_write, write_fn, "write");
	if (fd == 1)
		return out_write(buf, n);
	return real_write(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	RESOLVE(real_writev, writev_fn, "writev");
	RESOLVE(real_write, write_fn, "write");
	if (fd != 1)
		return real_writev(fd, iov, cnt);
	/* as one write per buffer: good enough for counting, and stdio does not use it here */
	ssize_t total = 0;
	for (int i = 0; i < cnt; i++) {
		if (!iov[i].iov_len)
			continue;
		ssize_t w = out_write(iov[i].iov_base, iov[i].iov_len);
		if (w < 0)
			return total ? total : -1;
		total += w;
		if ((size_t)w < iov[i].iov_len)
			break;
	}
	return total;
}

/* --- deleting calls ----------------------------------------------------------------------- */

int unlinkat(int dirfd, const char *name, int flags)
{
	RESOLVE(real_unlinkat, unlinkat_fn, "unlinkat");
	RESOLVE(real_write, write_fn, "write");
	int is_dir = (flags & AT_REMOVEDIR) != 0;
	unsigned long nth = atomic_fetch_add(is_dir ? &n_unlinkat_dir : &n_unlinkat_file, 1) + 1;
	if (dirfd == AT_FDCWD || name[0] == '/' || strchr(name, '/'))
		atomic_fetch_add(&n_unlinkat_path, 1);
	char path[PATH_BUF];
	full_path(dirfd, name, path, sizeof(path));
	const struct rule *r = is_dir ? &fail_rmdir : &fail_unlink;
	int fail = hits(r, nth, path);
	trace(is_dir ? "R" : "U", path, fail ? " FAIL" : "");
	if (fail) {
		atomic_fetch_add(&n_unlinkat_failed, 1);
		errno = r->err;
		return -1;
	}
	return real_unlinkat(dirfd, name, flags);
}

/* Deleting calls that take a path: counted (pycinspect must never make them), not failed. */
int unlink(const char *path)
{
	RESOLVE(real_unlink, path_fn, "unlink");
	atomic_fetch_add(&n_unlink, 1);
	return real_unlink(path);
}

int rmdir(const char *path)
{
	RESOLVE(real_rmdir, path_fn, "rmdir");
	atomic_fetch_add(&n_rmdir, 1);
	return real_rmdir(path);
}

int remove(const char *path)
{
	RESOLVE(real_remove, path_fn, "remove");
	atomic_fetch_add(&n_remove, 1);
	return real_remove(path);
}

/* --- setup and report --------------------------------------------------------------------- */

__attribute__((constructor)) static void inject_init(void)
{
	resolve_all();
	parse_rule(&fail_unlink, "PYCI_FAIL_UNLINKAT", EACCES);
	parse_rule(&fail_rmdir, "PYCI_FAIL_RMDIR", EACCES);
	parse_rule(&fail_write, "PYCI_FAIL_WRITE", ENOSPC);
	fail_write.match = NULL; /* writes have no path */
	tee_fd = open_out("PYCI_TEE");
	trace_fd = open_out("PYCI_TRACE");
	count_file = getenv("PYCI_COUNT_FILE");
	if (count_file && !*count_file)
		count_file = NULL;
	replace_stdout();
}

static void put_count(char *buf, size_t cap, size_t *len, const char *key, atomic_ulong *v)
{
	put(buf, cap, len, key);
	put(buf, cap, len, " ");
	put_ulong(buf, cap, len, atomic_load(v));
	put(buf, cap, len, "\n");
}

__attribute__((destructor)) static void inject_fini(void)
{
	if (!count_file)
		return;
	char buf[1024];
	size_t len = 0;
	put_count(buf, sizeof(buf), &len, "unlinkat_file", &n_unlinkat_file);
	put_count(buf, sizeof(buf), &len, "unlinkat_dir", &n_unlinkat_dir);
	put_count(buf, sizeof(buf), &len, "unlinkat_failed", &n_unlinkat_failed);
	put_count(buf, sizeof(buf), &len, "unlinkat_path", &n_unlinkat_path);
	put_count(buf, sizeof(buf), &len, "unlink", &n_unlink);
	put_count(buf, sizeof(buf), &len, "rmdir", &n_rmdir);
	put_count(buf, sizeof(buf), &len, "remove", &n_remove);
	put_count(buf, sizeof(buf), &len, "write", &n_write);
	put_count(buf, sizeof(buf), &len, "write_failed", &n_write_failed);
	put_count(buf, sizeof(buf), &len, "bytes", &n_bytes);
	put(buf, sizeof(buf), &len, "end 1\n"); /* the file is complete */
	int fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	write_all(fd, buf, len);
	close(fd);
}
