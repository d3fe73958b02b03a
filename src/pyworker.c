/*
 * pyworker.c - an interpreter kept as a compiler behind a socket pair (pyworker.h).
 *
 * The interpreter is started with posix_spawn: its stdin and stdout are one end of a socket
 * pair, its stderr a pipe we drain while we wait (the last line of it explains a failure), and
 * it runs in "/" with the default disposition of SIGPIPE and an empty signal mask.  Our end of
 * the socket is non-blocking, and every exchange is a loop over poll(2) with a deadline on the
 * monotonic clock, reading stderr as it comes, so that a worker can neither block us by not
 * reading nor by filling its stderr.  Sends use MSG_NOSIGNAL: a dead worker is an EPIPE, not a
 * signal (the library sets no signal handler).  When anything goes wrong the worker is killed
 * and reaped at once, and the call describes it: how it ended, and what it last said.
 */
#define _GNU_SOURCE
#include "pycinspect/pyworker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The tail of stderr kept to explain a failure. */
#define ERR_KEEP 2048
/* How long a worker whose input was closed may take to exit before it is killed. */
#define STOP_GRACE_MS 200
/* A first frame larger than this is not a hello. */
#define HELLO_MAX 256

/* Written for Python 2.7 and every Python 3, PyPy and Pyodide: built-in modules only, no
 * f-strings, no bytes literals with escapes that 2.7 reads differently. */
const char pyci_pyworker_driver[] =
	"import sys\n"
	"if sys.path and sys.path[0] in ('', '.'):\n"
	"    del sys.path[0]\n"
	"import marshal\n"
	"try:\n"
	"    from posix import read, write\n"
	"except ImportError:\n"
	"    from os import read, write\n"
	"def rd(n):\n"
	"    b = bytearray()\n"
	"    while len(b) < n:\n"
	"        c = read(0, min(n - len(b), 1 << 20))\n"
	"        if not c:\n"
	"            raise SystemExit(0)\n"
	"        b += c\n"
	"    return b\n"
	"def u32(b, i):\n"
	"    return b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24\n"
	"def send(kind, data):\n"
	"    n = len(data) + 1\n"
	"    b = bytes(bytearray([n & 255, n >> 8 & 255, n >> 16 & 255, n >> 24 & 255,"
	" ord(kind)])) + data\n"
	"    while b:\n"
	"        b = b[write(1, b):]\n"
	"try:\n"
	"    from _frozen_importlib_external import MAGIC_NUMBER as magic\n"
	"except ImportError:\n"
	"    try:\n"
	"        from _frozen_importlib import MAGIC_NUMBER as magic\n"
	"    except ImportError:\n"
	"        try:\n"
	"            from imp import get_magic\n"
	"            magic = get_magic()\n"
	"        except ImportError:\n"
	"            from importlib.util import MAGIC_NUMBER as magic\n"
	"try:\n"
	"    compile('', '', 'exec', 0, True, 0)\n"
	"    per_call = 1\n"
	"except TypeError:\n"
	"    per_call = 0\n"
	"impl = getattr(getattr(sys, 'implementation', None), 'name', '') or"
	" getattr(sys, 'subversion', ('cpython',))[0].lower()\n"
	"send('H', bytes(magic) + bytes(bytearray([per_call, sys.flags.optimize])) +"
	" ('%s %d.%d.%d' % ((impl,) + tuple(sys.version_info[:3]))).encode('ascii'))\n"
	"py3 = sys.version_info[0] >= 3\n"
	"while 1:\n"
	"    req = rd(u32(rd(4), 0))\n"
	"    level = req[0]\n"
	"    n = u32(req, 1)\n"
	"    fn = bytes(req[5:5 + n])\n"
	"    src = bytes(req[5 + n:])\n"
	"    if py3:\n"
	"        fn = fn.decode('utf-8', 'surrogatepass')\n"
	"    try:\n"
	"        if per_call:\n"
	"            code = compile(src, fn, 'exec', 0, True, level)\n"
	"        elif level != sys.flags.optimize:\n"
	"            raise ValueError('this worker compiles at level %d only' % sys.flags.optimize)\n"
	"        else:\n"
	"            code = compile(src, fn, 'exec', 0, True)\n"
	"        out = marshal.dumps(code)\n"
	"        kind = 'C'\n"
	"    except Exception:\n"
	"        e = sys.exc_info()[1]\n"
	"        try:\n"
	"            out = ('%s: %s' % (type(e).__name__, e)).encode('utf-8', 'replace')\n"
	"        except Exception:\n"
	"            out = type(e).__name__.encode('ascii')\n"
	"        kind = 'E'\n"
	"    code = None\n"
	"    send(kind, out)\n";

struct pyci_pyworker {
	pid_t pid;
	int sock;   /* our end, non-blocking */
	int errfd;  /* the read end of its stderr, non-blocking; -1 once at EOF */
	int dead;   /* killed and reaped */
	int status; /* its wait status, when dead */
	char err[ERR_KEEP];
	size_t nerr;
	pyci_pyinfo info;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for CLOCK_MONOTONIC */
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep what the worker writes to stderr: the last ERR_KEEP bytes. */
static void drain_stderr(pyci_pyworker *w)
{
	char buf[4096];
	while (w->errfd >= 0) {
		ssize_t n = read(w->errfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN) {
				close(w->errfd);
				w->errfd = -1;
			}
			return;
		}
		size_t k = (size_t)n;
		if (k >= ERR_KEEP) {
			memcpy(w->err, buf + k - ERR_KEEP, ERR_KEEP);
			w->nerr = ERR_KEEP;
		} else {
			if (w->nerr + k > ERR_KEEP) {
				size_t drop = w->nerr + k - ERR_KEEP;
				memmove(w->err, w->err + drop, w->nerr - drop);
				w->nerr -= drop;
			}
			memcpy(w->err + w->nerr, buf, k);
			w->nerr += k;
		}
	}
}

/* Kill (unless it is gone) and reap the worker; its status is kept. */
static void reap(pyci_pyworker *w, int kill_it)
{
	if (w->dead)
		return;
	if (kill_it)
		(void)kill(w->pid, SIGKILL);
	for (;;) {
		pid_t r = waitpid(w->pid, &w->status, 0);
		if (r >= 0 || errno != EINTR)
			break;
	}
	drain_stderr(w);
	w->dead = 1;
}

/* The last non-empty line of what the worker wrote to stderr, printable ASCII only. */
static int put_last_line(pyci_buf *b, const pyci_pyworker *w)
{
	size_t end = w->nerr;
	while (end &&
	       (w->err[end - 1] == '\n' || w->err[end - 1] == '\r' || w->err[end - 1] == ' '))
		end--;
	size_t start = end;
	while (start && w->err[start - 1] != '\n')
		start--;
	if (start == end)
		return 0;
	if (end - start > 160)
		start = end - 160;
	int rc = pyci_buf_puts(b, ": ");
	for (size_t i = start; i < end && !rc; i++) {
		unsigned char c = (unsigned char)w->err[i];
		rc = pyci_buf_putc(b, (char)(c >= 0x20 && c < 0x7F ? c : '?'));
	}
	return rc;
}

/* Kill the worker and say why into b: `what` ("did not answer within 5 s"), or how it ended.
 * errno: err (what's kind: ETIMEDOUT, EPROTO), or ECHILD for an end of its own. */
static int fail_worker(pyci_pyworker *w, pyci_buf *b, const char *what, int err)
{
	int was_running = !w->dead;
	reap(w, 1);
	int rc;
	if (what) {
		rc = pyci_buf_puts(b, what);
	} else if (WIFEXITED(w->status)) {
		rc = pyci_buf_printf(b, "exited with status %d", WEXITSTATUS(w->status));
	} else if (WIFSIGNALED(w->status)) {
		int sig = WTERMSIG(w->status);
		const char *name = sigabbrev_np(sig);
		rc = was_running && sig == SIGKILL
			     ? pyci_buf_puts(b, "was killed")
			     : pyci_buf_printf(b, "was killed by signal %d%s%s", sig,
					       name ? " SIG" : "", name ? name : "");
	} else {
		rc = pyci_buf_puts(b, "ended");
	}
	rc |= put_last_line(b, w);
	errno = rc ? ENOMEM : what ? err : ECHILD;
	return -1;
}

/* Wait until the socket is ready for `events` or the deadline passes, draining stderr.
 * 0 ready, 1 deadline passed, -1 poll failed (errno). */
static int wait_ready(pyci_pyworker *w, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = {{w->sock, events, 0}, {w->errfd, POLLIN, 0}};
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 1;
		int r = poll(p, w->errfd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w->errfd >= 0 && p[1].revents)
			drain_stderr(w);
		if (p[0].revents)
			return 0;
	}
}

/* Send n bytes by the deadline.  0; 1 deadline; -1 the worker is gone (EPIPE...) */
static int send_all(pyci_pyworker *w, const void *data, size_t n, int64_t deadline)
{
	const char *p = data;
	while (n) {
		ssize_t k = send(w->sock, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN)
			return -1;
		int r = wait_ready(w, POLLOUT, deadline);
		if (r != 0)
			return r;
	}
	return 0;
}

/* Read exactly n bytes by the deadline.  0; 1 deadline; 2 end of file; -1 error. */
static int recv_all(pyci_pyworker *w, void *data, size_t n, int64_t deadline)
{
	char *p = data;
	while (n) {
		ssize_t k = recv(w->sock, p, n, 0);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0)
			return 2;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		int r = wait_ready(w, POLLIN, deadline);
		if (r != 0)
			return r;
	}
	return 0;
}

static int timeout_text(pyci_pyworker *w, pyci_buf *b, const char *doing, int timeout_ms)
{
	char what[96];
	(void)snprintf(what, sizeof(what), "did not %s within %d.%03d s", doing, timeout_ms / 1000,
		       timeout_ms % 1000);
	return fail_worker(w, b, what, ETIMEDOUT);
}

/* One frame: its kind in *kind and its payload in out (at most max bytes).  0, or -1 with the
 * worker failed and why in why. */
static int read_frame(pyci_pyworker *w, char *kind, size_t max, pyci_buf *out, int64_t deadline,
		      int timeout_ms, const char *doing, pyci_buf *why)
{
	unsigned char h[5];
	int r = recv_all(w, h, 4, deadline);
	if (r == 0) {
		uint32_t n = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
			     (uint32_t)h[3] << 24;
		if (n == 0 || n - 1 > max) {
			char what[96];
			(void)snprintf(what, sizeof(what),
				       "answered nonsense (a frame of %lu bytes)",
				       (unsigned long)n);
			return fail_worker(w, why, what, EPROTO);
		}
		r = recv_all(w, h + 4, 1, deadline);
		pyci_buf_clear(out);
		if (r == 0 && pyci_buf_reserve(out, n - 1) != 0) {
			reap(w, 1);
			(void)pyci_buf_puts(why, "out of memory for its answer");
			errno = ENOMEM;
			return -1;
		}
		if (r == 0)
			r = recv_all(w, out->data, n - 1, deadline);
		if (r == 0) {
			out->len = n - 1;
			out->data[out->len] = '\0';
			*kind = (char)h[4];
			return 0;
		}
	}
	if (r == 1)
		return timeout_text(w, why, doing, timeout_ms);
	if (r == 2 || errno == ECONNRESET || errno == EPIPE)
		return fail_worker(w, why, NULL, ECHILD);
	int e = errno;
	char what[96];
	(void)snprintf(what, sizeof(what), "could not be read: %s", strerror(e));
	return fail_worker(w, why, what, e);
}

/* Parse the hello frame into w->info.  0, or -1 (not a hello). */
static int parse_hello(pyci_pyworker *w, char kind, const pyci_buf *b)
{
	pyci_pyinfo *i = &w->info;
	const unsigned char *p = (const unsigned char *)b->data;
	if (kind != 'H' || b->len < 7 || b->len > HELLO_MAX)
		return -1;
	i->magic_word =
		(uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	i->per_call_optimize = p[4];
	i->optimize = p[5];
	/* "IMPL MAJOR.MINOR.MICRO": a lowercase name, three numbers */
	const char *t = (const char *)p + 6, *end = (const char *)p + b->len;
	size_t k = 0;
	while (t < end && *t >= 'a' && *t <= 'z' && k < sizeof(i->impl) - 1)
		i->impl[k++] = *t++;
	i->impl[k] = '\0';
	if (!k || t == end || *t++ != ' ')
		return -1;
	int *nums[3] = {&i->major, &i->minor, &i->micro};
	for (int f = 0; f < 3; f++) {
		long v = 0;
		const char *start = t;
		while (t < end && *t >= '0' && *t <= '9' && v < 100000)
			v = v * 10 + (*t++ - '0');
		if (t == start || (f < 2 && (t == end || *t++ != '.')))
			return -1;
		*nums[f] = (int)v;
	}
	return t == end && i->major >= 2 ? 0 : -1;
}

pyci_pyworker *pyci_pyworker_start(const char *const *argv, int timeout_ms, pyci_buf *why)
{
	size_t nargs = 0;
	while (argv[nargs])
		nargs++;
	if (!nargs) {
		(void)pyci_buf_puts(why, "no program to run");
		errno = EINVAL;
		return NULL;
	}
	const char **args = calloc(nargs + 5, sizeof(*args));
	pyci_pyworker *w = calloc(1, sizeof(*w));
	int sv[2] = {-1, -1}, ep[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int have_fa = 0, have_at = 0, e = ENOMEM;
	if (!args || !w)
		goto fail;
	w->sock = w->errfd = -1;
	w->dead = 1; /* until it runs */
	for (size_t k = 0; k < nargs; k++)
		args[k] = argv[k];
	args[nargs] = "-W";
	args[nargs + 1] = "ignore";
	args[nargs + 2] = "-c";
	args[nargs + 3] = pyci_pyworker_driver;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(ep, O_CLOEXEC) != 0) {
		e = errno;
		(void)pyci_buf_printf(why, "cannot make its pipes: %s", strerror(e));
		goto fail;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail;
	have_fa = 1;
	if ((e = posix_spawnattr_init(&at)) != 0)
		goto fail;
	have_at = 1;
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	if ((e = posix_spawn_file_actions_adddup2(&fa, sv[1], 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, sv[1], 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, ep[1], 2)) != 0 ||
	    (e = posix_spawn_file_actions_addchdir_np(&fa, "/")) != 0 ||
	    (e = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&at, &def)) != 0 ||
	    (e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) !=
		    0)
		goto fail;
	e = posix_spawn(&w->pid, argv[0], &fa, &at, (char *const *)args, environ);
	if (e != 0) {
		(void)pyci_buf_printf(why, "cannot be run: %s", strerror(e));
		goto fail;
	}
	w->dead = 0;
	close(sv[1]);
	close(ep[1]);
	sv[1] = ep[1] = -1;
	w->sock = sv[0];
	w->errfd = ep[0];
	sv[0] = ep[0] = -1;
	if (fcntl(w->sock, F_SETFL, O_NONBLOCK) != 0 || fcntl(w->errfd, F_SETFL, O_NONBLOCK) != 0) {
		e = errno;
		(void)pyci_buf_printf(why, "cannot set up its pipes: %s", strerror(e));
		goto fail;
	}
	pyci_buf hello = PYCI_BUF_INIT;
	char kind = 0;
	if (read_frame(w, &kind, HELLO_MAX, &hello, now_ms() + timeout_ms, timeout_ms,
		       "start and answer", why) != 0) {
		e = errno;
		pyci_buf_free(&hello);
		goto fail;
	}
	int bad = parse_hello(w, kind, &hello);
	pyci_buf_free(&hello);
	if (bad) {
		(void)fail_worker(w, why, "answered nonsense: not the driver's first frame",
				  EPROTO);
		e = EPROTO;
		goto fail;
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(args);
	return w;
fail:
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	if (have_at)
		posix_spawnattr_destroy(&at);
	for (int k = 0; k < 2; k++) {
		if (sv[k] >= 0)
			close(sv[k]);
		if (ep[k] >= 0)
			close(ep[k]);
	}
	free(args);
	pyci_pyworker_stop(w);
	errno = e;
	return NULL;
}

const pyci_pyinfo *pyci_pyworker_info(const pyci_pyworker *w)
{
	return &w->info;
}

int pyci_pyworker_dead(const pyci_pyworker *w)
{
	return w->dead;
}

int pyci_pyworker_compile(pyci_pyworker *w, int optimize, const char *filename, size_t fnlen,
			  const uint8_t *src, size_t len, int timeout_ms, size_t max_answer,
			  pyci_buf *out)
{
	pyci_buf_clear(out);
	if (w->dead) {
		(void)pyci_buf_puts(out, "is not running");
		errno = ECHILD;
		return -1;
	}
	if (len > UINT32_MAX - 16 - fnlen || fnlen > UINT32_MAX - 16 || optimize < 0 ||
	    optimize > 255) {
		(void)pyci_buf_puts(out, "source too large for the protocol (4 GiB)");
		errno = EFBIG;
		return 1;
	}
	int64_t deadline = now_ms() + timeout_ms;
	uint32_t n = (uint32_t)(1 + 4 + fnlen + len);
	unsigned char head[9] = {(unsigned char)n,
				 (unsigned char)(n >> 8),
				 (unsigned char)(n >> 16),
				 (unsigned char)(n >> 24),
				 (unsigned char)optimize,
				 (unsigned char)fnlen,
				 (unsigned char)(fnlen >> 8),
				 (unsigned char)(fnlen >> 16),
				 (unsigned char)(fnlen >> 24)};
	int r = send_all(w, head, sizeof(head), deadline);
	if (r == 0)
		r = send_all(w, filename, fnlen, deadline);
	if (r == 0)
		r = send_all(w, src, len, deadline);
	if (r == 1)
		return timeout_text(w, out, "read the source", timeout_ms);
	if (r < 0)
		return fail_worker(w, out, NULL, ECHILD);
	char kind = 0;
	pyci_buf why = PYCI_BUF_INIT;
	if (read_frame(w, &kind, max_answer, out, deadline, timeout_ms, "answer", &why) != 0) {
		int e = errno;
		pyci_buf_clear(out);
		if (pyci_buf_append(out, why.data ? why.data : "", why.len) != 0)
			e = ENOMEM;
		pyci_buf_free(&why);
		errno = e;
		return -1;
	}
	pyci_buf_free(&why);
	if (kind == 'C')
		return 0;
	if (kind == 'E')
		return 1;
	pyci_buf_clear(out);
	return fail_worker(w, out, "answered nonsense: an unknown kind of frame", EPROTO);
}

void pyci_pyworker_close(pyci_pyworker *w)
{
	if (w && w->sock >= 0) {
		close(w->sock); /* the driver reads the end of its input and exits */
		w->sock = -1;
	}
}

void pyci_pyworker_stop(pyci_pyworker *w)
{
	if (!w)
		return;
	pyci_pyworker_close(w);
	if (!w->dead) {
		int64_t deadline = now_ms() + STOP_GRACE_MS;
		int status;
		for (;;) {
			pid_t r = waitpid(w->pid, &status, WNOHANG);
			if (r == w->pid || (r < 0 && errno != EINTR)) {
				w->dead = 1;
				break;
			}
			if (now_ms() >= deadline)
				break;
			struct timespec ts = {0, 5000000L};
			(void)nanosleep(&ts, NULL);
		}
		reap(w, 1);
	}
	if (w->errfd >= 0)
		close(w->errfd);
	free(w);
}
