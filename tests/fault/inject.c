/*
 * inject.c - an LD_PRELOAD shim that makes pycinspect's deleting calls, its stdout and its
 * allocations fail on demand, runs a command at a chosen stat of a chosen name, and records what
 * it saw, for tests/cli/test_fault_*.py (in the spirit of jq's tests/inject_errors.c).
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
 *   PYCI_FAIL_MALLOC=N            the Nth allocation and every later one fail with ENOMEM.
 *                                 Allocations are the calls of malloc, calloc, realloc (to a
 *                                 non-zero size), reallocarray, strdup, strndup, posix_memalign,
 *                                 aligned_alloc, memalign, valloc and pvalloc made from the
 *                                 program's main() on, by the program or by the libraries it
 *                                 calls (glibc's own opendir or pthread_create included); those
 *                                 of the loader and of library constructors before main() are
 *                                 not counted and never fail: they are not pycinspect's; nor are
 *                                 those made inside pthread_getattr_np, which only a sanitizer
 *                                 runtime calls (see exempt())
 *   PYCI_HOOK_FSTATAT_MATCH=S     stat calls (fstatat, fstatat64, statx, stat, lstat, stat64,
 *                                 lstat64) whose name argument contains S are counted ...
 *   PYCI_HOOK_FSTATAT_NTH=N       ... and before the Nth of them (default 1) ...
 *   PYCI_HOOK_RUN=CMD             ... CMD is run once by /bin/sh -c and waited for, as
 *                                 system(3) would, but with LD_PRELOAD and every PYCI_ variable
 *                                 removed from its environment (so the shim is not loaded into
 *                                 the shell, where its constructor would truncate PYCI_TEE and
 *                                 PYCI_TRACE).  The stat then goes on as asked.
 *   PYCI_NO_OPENAT2=1             syscall(SYS_openat2, ...) fails with ENOSYS, as on a kernel
 *                                 before 5.6 (or under a seccomp filter that does not know it):
 *                                 the code that uses openat2 must fall back (sysroot.c, dirio.c)
 *   PYCI_TEE=FILE                 every byte that reached descriptor 1 is also appended to FILE
 *   PYCI_TRACE=FILE               one line per event, in order: "W <bytes written so far>" after
 *                                 each successful write to descriptor 1, "F <n>[ INJECTED]" for
 *                                 the nth write to it failing, "U <path>" / "R <path>" before
 *                                 each file / directory unlinkat (with " FAIL" when this shim
 *                                 makes it fail), "M <n>" for the first allocation made to fail,
 *                                 "H <n> <name>" before the hook's command runs, at the nth
 *                                 matching stat
 *   PYCI_COUNT_FILE=FILE          at exit (from a destructor), "key value" lines:
 *                                 unlinkat_file, unlinkat_dir (calls made), unlinkat_failed
 *                                 (made to fail here), unlinkat_path (given AT_FDCWD, an absolute
 *                                 name or one with a '/'), unlink, rmdir, remove (path calls,
 *                                 passed through), write, write_failed, bytes (descriptor 1),
 *                                 alloc (allocations counted, failed ones included),
 *                                 alloc_failed, hook_stat (stats of a name holding
 *                                 PYCI_HOOK_FSTATAT_MATCH), hook_ran (1 once the command ran),
 *                                 hook_status (its wait status), openat2_refused
 *                                 (openat2 calls refused under PYCI_NO_OPENAT2), then "end 1".  Writes to stdout
 *                                 after the destructor (a stream the program left for exit() to
 *                                 flush) are not counted.
 *
 * Why stdout is replaced: glibc's stdio writes through its internal __write, which an
 * interposed write() never sees (checked: a write() wrapper is not called for fwrite+fflush,
 * though strace shows write(1, ...)).  So a constructor swaps `stdout` for an fopencookie
 * stream over descriptor 1 with the buffering glibc would have given it (line buffered on a
 * terminal, else fully buffered with min(st_blksize, BUFSIZ) bytes), whose write function goes
 * through the same checks as an interposed write(1, ...).  Each call of that function is one
 * write(2) the real stream would have made.  fileno(stdout) is -1 under the shim.
 *
 * Allocations: glibc lets a preloaded malloc replace its own, and calls the replacement from
 * inside (strdup, opendir, fopen...), so wrapping the allocating functions sees them all.  The
 * wrappers pass every call on to the next definition (glibc's, or a sanitizer's when the shim is
 * preloaded before it, with ASAN_OPTIONS=verify_asan_link_order=0), except the ones made to
 * fail; strdup and strndup are wrapped too because a sanitizer runtime implements them without
 * calling malloc.  Resolving the next malloc with dlsym may itself allocate (dlerror's buffer):
 * while the shim resolves, such calls are served from a small static arena, which free() and
 * realloc() recognise and never hand to the real allocator.  Counting starts when main() is
 * called (the shim wraps __libc_start_main's main), so that a count taken in one run names the
 * same allocation in the next one (with --jobs 1: worker threads allocate in any order).
 *
 * Counters are atomic; the wrappers take no locks and allocate nothing (paths longer than the
 * fixed buffers are cut short, which only matters to *_MATCH and the trace).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_BUF 4096

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*unlinkat_fn)(int, const char *, int);
typedef int (*path_fn)(const char *);

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*reallocarray_fn)(void *, size_t, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef char *(*strdup_fn)(const char *);
typedef char *(*strndup_fn)(const char *, size_t);
typedef int (*fstatat_fn)(int, const char *, struct stat *, int);
typedef int (*fstatat64_fn)(int, const char *, struct stat64 *, int);
typedef int (*statx_fn)(int, const char *, int, unsigned int, struct statx *);
typedef int (*stat_fn)(const char *, struct stat *);
typedef int (*stat64_fn)(const char *, struct stat64 *);
typedef int (*main_fn)(int, char **, char **);
typedef int (*start_main_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
			     void *);

static write_fn real_write;
static writev_fn real_writev;
static unlinkat_fn real_unlinkat;
static path_fn real_unlink, real_rmdir, real_remove;
static malloc_fn real_malloc, real_valloc, real_pvalloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static reallocarray_fn real_reallocarray;
static free_fn real_free;
static posix_memalign_fn real_posix_memalign;
static memalign_fn real_memalign, real_aligned_alloc;
static strdup_fn real_strdup;
static strndup_fn real_strndup;
static fstatat_fn real_fstatat;
static fstatat64_fn real_fstatat64;
static statx_fn real_statx;
static stat_fn real_stat, real_lstat;
static stat64_fn real_stat64, real_lstat64;

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
static atomic_ulong n_alloc, n_alloc_failed, n_hook_stat, hook_status;
static atomic_int hook_ran;

/* PYCI_FAIL_MALLOC (0: never); counting starts once main() is called. */
static unsigned long fail_alloc_from;
static atomic_int in_main;

/* The hook: the name to watch (NULL: none), at which matching stat, and the command. */
static const char *hook_match, *hook_cmd;
static unsigned long hook_nth = 1;

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
#define RESOLVE(var, type, name)                                                         \
	do {                                                                             \
		if (!(var)) {                                                            \
			void *p_ = next(name);                                           \
			_Static_assert(sizeof(type) == sizeof(p_), "function pointers"); \
			memcpy(&(var), &p_, sizeof(var));                                \
		}                                                                        \
	} while (0)

static void resolve_all(void)
{
	RESOLVE(real_write, write_fn, "write");
	RESOLVE(real_writev, writev_fn, "writev");
	RESOLVE(real_unlinkat, unlinkat_fn, "unlinkat");
	RESOLVE(real_unlink, path_fn, "unlink");
	RESOLVE(real_rmdir, path_fn, "rmdir");
	RESOLVE(real_remove, path_fn, "remove");
	RESOLVE(real_fstatat, fstatat_fn, "fstatat");
	RESOLVE(real_fstatat64, fstatat64_fn, "fstatat64");
	RESOLVE(real_statx, statx_fn, "statx");
	RESOLVE(real_stat, stat_fn, "stat");
	RESOLVE(real_lstat, stat_fn, "lstat");
	RESOLVE(real_stat64, stat64_fn, "stat64");
	RESOLVE(real_lstat64, stat64_fn, "lstat64");
}

/* --- openat2 refused (PYCI_NO_OPENAT2) ---------------------------------------------------- */

typedef long (*syscall_fn)(long, ...);
static syscall_fn real_syscall;
static int no_openat2;
static atomic_ulong n_openat2_refused;

/* syscall(2) passed on with all six argument registers (what glibc's own reads), but openat2
 * under PYCI_NO_OPENAT2. */
long syscall(long nr, ...)
{
	va_list ap;
	long a[6];
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_openat2 && no_openat2) {
		atomic_fetch_add(&n_openat2_refused, 1);
		errno = ENOSYS;
		return -1;
	}
	RESOLVE(real_syscall, syscall_fn, "syscall");
	return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
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
		{"EACCES", EACCES}, {"EPERM", EPERM},         {"EROFS", EROFS},
		{"EIO", EIO},       {"EBUSY", EBUSY},         {"ENOSPC", ENOSPC},
		{"EPIPE", EPIPE},   {"EDQUOT", EDQUOT},       {"EFBIG", EFBIG},
		{"ENOENT", ENOENT}, {"ENOTEMPTY", ENOTEMPTY}, {"EEXIST", EEXIST},
		{"EINTR", EINTR},   {"EAGAIN", EAGAIN},       {"ENOMEM", ENOMEM},
		{"ESTALE", ESTALE}, {"ENOTDIR", ENOTDIR},     {"EISDIR", EISDIR},
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
		unsigned long total =
			atomic_fetch_add(&n_bytes, (unsigned long)w) + (unsigned long)w;
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
			st.st_blksize > 0 && st.st_blksize < BUFSIZ ? (size_t)st.st_blksize
								    : BUFSIZ);
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

/* --- allocations ------------------------------------------------------------------------- */

/* What dlsym allocates while the allocators are being resolved: served from here and never
 * given back.  Each block starts 16 bytes after its size (kept for realloc). */
#define BOOT_SIZE 65536
static _Alignas(16) unsigned char boot_arena[BOOT_SIZE];
static atomic_size_t boot_used;
static _Thread_local int resolving __attribute__((tls_model("initial-exec")));
static atomic_int allocs_ready;

static void *boot_alloc(size_t n)
{
	size_t need = (n + 15) / 16 * 16 + 16;
	if (need < n) {
		errno = ENOMEM;
		return NULL;
	}
	size_t at = atomic_fetch_add(&boot_used, need);
	if (at > BOOT_SIZE || need > BOOT_SIZE - at) {
		errno = ENOMEM;
		return NULL;
	}
	unsigned char *p = boot_arena + at;
	memcpy(p, &n, sizeof(n));
	return p + 16; /* zeroed: the arena is static and never reused */
}

static int from_boot(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)boot_arena;
	return a >= lo && a < lo + BOOT_SIZE;
}

static size_t boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const unsigned char *)p - 16, sizeof(n));
	return n;
}

static void resolve_allocs(void)
{
	if (atomic_load(&allocs_ready))
		return;
	resolving = 1;
	RESOLVE(real_free, free_fn, "free"); /* first: dlsym may free what it allocated */
	RESOLVE(real_malloc, malloc_fn, "malloc");
	RESOLVE(real_calloc, calloc_fn, "calloc");
	RESOLVE(real_realloc, realloc_fn, "realloc");
	RESOLVE(real_reallocarray, reallocarray_fn, "reallocarray");
	RESOLVE(real_posix_memalign, posix_memalign_fn, "posix_memalign");
	RESOLVE(real_aligned_alloc, memalign_fn, "aligned_alloc");
	RESOLVE(real_memalign, memalign_fn, "memalign");
	RESOLVE(real_valloc, malloc_fn, "valloc");
	RESOLVE(real_pvalloc, malloc_fn, "pvalloc");
	RESOLVE(real_strdup, strdup_fn, "strdup");
	RESOLVE(real_strndup, strndup_fn, "strndup");
	resolving = 0;
	atomic_store(&allocs_ready, 1);
}

/* Allocations made inside pthread_getattr_np are neither counted nor failed: ASan's runtime
 * calls it as each thread starts and aborts (a CHECK) when it fails.  pycinspect does not call
 * it; its threads start once pthread_create has returned, so failing there would only test
 * ASan.  (The allocation may come from a static function of glibc, so its caller's name cannot
 * tell: the wrapper below marks the thread while it runs.) */
typedef int (*getattr_fn)(pthread_t, pthread_attr_t *);
static _Thread_local int in_getattr __attribute__((tls_model("initial-exec")));

int pthread_getattr_np(pthread_t t, pthread_attr_t *attr)
{
	static getattr_fn real_getattr;
	RESOLVE(real_getattr, getattr_fn, "pthread_getattr_np");
	in_getattr++;
	int rc = real_getattr(t, attr);
	in_getattr--;
	return rc;
}

static int exempt(void)
{
	return in_getattr > 0;
}

/* Whether the allocation being made is to fail: counted from main() on, the Nth and every
 * later one (PYCI_FAIL_MALLOC=N).  Sets errno when it does. */
static int alloc_fails(void)
{
	if (!atomic_load_explicit(&in_main, memory_order_relaxed) || exempt())
		return 0;
	unsigned long nth = atomic_fetch_add(&n_alloc, 1) + 1;
	if (!fail_alloc_from || nth < fail_alloc_from)
		return 0;
	if (atomic_fetch_add(&n_alloc_failed, 1) == 0 && trace_fd >= 0) {
		char num[24];
		size_t len = 0;
		put_ulong(num, sizeof(num), &len, nth);
		trace("M", num, "");
	}
	errno = ENOMEM;
	return 1;
}

void *malloc(size_t n)
{
	if (resolving)
		return boot_alloc(n);
	resolve_allocs();
	return alloc_fails() ? NULL : real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (resolving) {
		if (size && n > SIZE_MAX / size) {
			errno = ENOMEM;
			return NULL;
		}
		return boot_alloc(n * size);
	}
	resolve_allocs();
	return alloc_fails() ? NULL : real_calloc(n, size);
}

/* A block of the arena moved to the real allocator (or to the arena while resolving). */
static void *out_of_boot(void *p, size_t n)
{
	void *q = resolving ? boot_alloc(n) : alloc_fails() ? NULL : real_malloc(n);
	if (q) {
		size_t old = boot_size(p);
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

void *realloc(void *p, size_t n)
{
	if (p && from_boot(p))
		return out_of_boot(p, n ? n : 1);
	if (resolving)
		return boot_alloc(n);
	resolve_allocs();
	if (p && n == 0)
		return real_realloc(p, n); /* a free, not an allocation */
	return alloc_fails() ? NULL : real_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p && from_boot(p)) || resolving)
		return realloc(p, n * size);
	resolve_allocs();
	if (p && n * size == 0)
		return real_reallocarray(p, n, size);
	return alloc_fails() ? NULL : real_reallocarray(p, n, size);
}

void free(void *p)
{
	if (!p || from_boot(p))
		return;
	if (!real_free) {
		if (resolving)
			return; /* while free itself is being resolved: leak it */
		resolve_allocs();
	}
	real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	resolve_allocs();
	if (alloc_fails())
		return ENOMEM; /* errno is not part of its contract, but set anyway */
	return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	resolve_allocs();
	return alloc_fails() ? NULL : real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
	resolve_allocs();
	return alloc_fails() ? NULL : real_memalign(align, n);
}

void *valloc(size_t n)
{
	resolve_allocs();
	return alloc_fails() ? NULL : real_valloc(n);
}

void *pvalloc(size_t n)
{
	resolve_allocs();
	return alloc_fails() ? NULL : real_pvalloc(n);
}

char *strdup(const char *s)
{
	if (resolving) {
		size_t n = strlen(s) + 1;
		char *p = boot_alloc(n);
		if (p)
			memcpy(p, s, n);
		return p;
	}
	resolve_allocs();
	return alloc_fails() ? NULL : real_strdup(s);
}

char *strndup(const char *s, size_t max)
{
	if (resolving) {
		size_t n = strnlen(s, max);
		char *p = boot_alloc(n + 1);
		if (p) {
			memcpy(p, s, n);
			p[n] = '\0';
		}
		return p;
	}
	resolve_allocs();
	return alloc_fails() ? NULL : real_strndup(s, max);
}

/* Allocations are counted from here: main() is called by __libc_start_main. */
static main_fn program_main;

static int counting_main(int argc, char **argv, char **envp)
{
	atomic_store(&in_main, 1);
	return program_main(argc, argv, envp);
}

int __libc_start_main(main_fn m, int argc, char **argv, void (*init)(void), void (*fini)(void),
		      void (*rtld_fini)(void), void *stack_end)
{
	static start_main_fn real_start_main;
	RESOLVE(real_start_main, start_main_fn, "__libc_start_main");
	program_main = m;
	return real_start_main(counting_main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* --- the stat hook ------------------------------------------------------------------------ */

/* The environment of the hook's command: the program's, without LD_PRELOAD and PYCI_*.  Made
 * in the constructor, before the program can change its environment or start threads. */
#define HOOK_ENV_MAX 1024
static char *hook_env[HOOK_ENV_MAX];
static atomic_int hook_started;
extern char **environ;

static void hook_prepare(void)
{
	size_t k = 0;
	for (char **e = environ; e && *e && k + 1 < HOOK_ENV_MAX; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0 && strncmp(*e, "PYCI_", 5) != 0)
			hook_env[k++] = *e;
	hook_env[k] = NULL;
}

/* Called with the name of every stat: counts the matching ones, runs the command before the
 * chosen one.  Keeps errno. */
static void hook_stat(const char *name)
{
	if (!hook_match || !name || !strstr(name, hook_match))
		return;
	unsigned long nth = atomic_fetch_add(&n_hook_stat, 1) + 1;
	int expected = 0;
	if (nth != hook_nth || !hook_cmd ||
	    !atomic_compare_exchange_strong(&hook_started, &expected, 1))
		return;
	int saved = errno;
	char num[24];
	size_t len = 0;
	put_ulong(num, sizeof(num), &len, nth);
	put(num, sizeof(num), &len, " ");
	trace("H", num, name);
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {"sh", "-c", (char *)hook_cmd, NULL};
		execve("/bin/sh", argv, hook_env);
		_exit(127);
	}
	int status = -1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			; /* a signal the program handles (the tests send some) */
	atomic_store(&hook_status, (unsigned long)(unsigned)status);
	atomic_store(&hook_ran, 1);
	errno = saved;
}

int fstatat(int dirfd, const char *name, struct stat *st, int flags)
{
	RESOLVE(real_fstatat, fstatat_fn, "fstatat");
	hook_stat(name);
	return real_fstatat(dirfd, name, st, flags);
}

int fstatat64(int dirfd, const char *name, struct stat64 *st, int flags)
{
	RESOLVE(real_fstatat64, fstatat64_fn, "fstatat64");
	hook_stat(name);
	return real_fstatat64(dirfd, name, st, flags);
}

int statx(int dirfd, const char *name, int flags, unsigned int mask, struct statx *st)
{
	RESOLVE(real_statx, statx_fn, "statx");
	hook_stat(name);
	return real_statx(dirfd, name, flags, mask, st);
}

int stat(const char *path, struct stat *st)
{
	RESOLVE(real_stat, stat_fn, "stat");
	hook_stat(path);
	return real_stat(path, st);
}

int lstat(const char *path, struct stat *st)
{
	RESOLVE(real_lstat, stat_fn, "lstat");
	hook_stat(path);
	return real_lstat(path, st);
}

int stat64(const char *path, struct stat64 *st)
{
	RESOLVE(real_stat64, stat64_fn, "stat64");
	hook_stat(path);
	return real_stat64(path, st);
}

int lstat64(const char *path, struct stat64 *st)
{
	RESOLVE(real_lstat64, stat64_fn, "lstat64");
	hook_stat(path);
	return real_lstat64(path, st);
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
	const char *n = getenv("PYCI_FAIL_MALLOC");
	fail_alloc_from = n && *n ? strtoul(n, NULL, 10) : 0;
	hook_match = getenv("PYCI_HOOK_FSTATAT_MATCH");
	if (hook_match && !*hook_match)
		hook_match = NULL;
	n = getenv("PYCI_HOOK_FSTATAT_NTH");
	if (n && *n)
		hook_nth = strtoul(n, NULL, 10);
	hook_cmd = getenv("PYCI_HOOK_RUN");
	if (hook_cmd && !*hook_cmd)
		hook_cmd = NULL;
	n = getenv("PYCI_NO_OPENAT2");
	no_openat2 = n && *n && strcmp(n, "0") != 0;
	hook_prepare();
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
	put_count(buf, sizeof(buf), &len, "alloc", &n_alloc);
	put_count(buf, sizeof(buf), &len, "alloc_failed", &n_alloc_failed);
	put_count(buf, sizeof(buf), &len, "hook_stat", &n_hook_stat);
	put(buf, sizeof(buf), &len, atomic_load(&hook_ran) ? "hook_ran 1\n" : "hook_ran 0\n");
	put_count(buf, sizeof(buf), &len, "hook_status", &hook_status);
	put_count(buf, sizeof(buf), &len, "openat2_refused", &n_openat2_refused);
	put(buf, sizeof(buf), &len, "end 1\n"); /* the file is complete */
	int fd = open(count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	write_all(fd, buf, len);
	close(fd);
}
