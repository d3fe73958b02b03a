/*
 * output.c - the CLI's one way to stdout, and text for people (quoted paths, sizes).
 *
 * Output is built in a pyci_buf and written with write(2)-like checks, so that a closed pipe or
 * a full disk is noticed at once (SIGPIPE is ignored in main), not at exit.
 */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "progress.h"
#include "pycinspect/json.h"

/* The (void) casts: a failed flush of stdout stays in its error flag, which cli_close_stdout
 * reports at exit; nothing useful can be done about a failed write to stderr. */
void cli_error(const char *fmt, ...)
{
	va_list ap;
	(void)fflush(stdout);
	int held = progress_hold(STDERR_FILENO);
	(void)fprintf(stderr, "%s: ", pyci_progname);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	progress_release(held);
}

int cli_json_line(pyci_jw *w)
{
	if (pyci_jw_finish(w) != 0)
		return -1;
	if (pyci_buf_putc(w->b, '\n') != 0) {
		pyci_buf_truncate(w->b, w->start);
		return -1;
	}
	return 0;
}

/* Set once a write error has been reported, so that it is said once, with its first cause. */
static int output_failed;
/* A reader that stopped reading (`| head`) is not worth a message: see cli_quiet_epipe. */
static int epipe_quiet;

void cli_quiet_epipe(void)
{
	epipe_quiet = 1;
}

static int output_error(int err)
{
	if (!output_failed && !(epipe_quiet && err == EPIPE)) {
		int held = progress_hold(STDERR_FILENO);
		(void)fprintf(stderr, "%s: cannot write output: %s\n", pyci_progname,
			      strerror(err));
		progress_release(held);
	}
	output_failed = 1;
	return -1;
}

int cli_write(const char *p, size_t n)
{
	if (output_failed)
		return -1;
	/* through to the kernel: clean removes nothing before its record is out */
	int held = progress_hold(STDOUT_FILENO);
	int failed = (n && fwrite(p, 1, n, stdout) != n) || fflush(stdout) != 0 || ferror(stdout);
	int err = errno;
	progress_release(held);
	return failed ? output_error(err) : 0;
}

int cli_flush(pyci_buf *b)
{
	if (cli_write(b->data, b->len) != 0)
		return -1;
	pyci_buf_clear(b);
	return 0;
}

int cli_close_stdout(void)
{
	int failed = fflush(stdout) != 0 || ferror(stdout);
	int e = errno;
	if (fclose(stdout) != 0 && !failed) {
		failed = 1;
		e = errno;
	}
	if (failed || output_failed)
		return output_error(e);
	return 0;
}

/*
 * clean's log: write(2) straight to descriptor 1, so that what reached the kernel is known to
 * the byte.  When a write fails part way, a regular file is cut back to its last whole line
 * (every line of the log stays valid JSON), and what was not written (whole lines of records
 * whose acts were done) goes to stderr after a line that says why and how many: the truth is
 * told somewhere.
 */
int cli_flush_log(pyci_buf *b, const char *done)
{
	if (output_failed)
		return -1;
	if (fflush(stdout) != 0) /* nothing should be there; if it is, it goes first */
		return output_error(errno);
	struct stat st;
	off_t start = -1;
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		start = lseek(STDOUT_FILENO, 0, SEEK_CUR);
	size_t done_bytes = 0;
	int err = 0;
	int held = progress_hold(STDOUT_FILENO);
	while (done_bytes < b->len) {
		ssize_t n = write(STDOUT_FILENO, b->data + done_bytes, b->len - done_bytes);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a non-blocking pipe from the parent: wait until it takes more */
			struct pollfd pfd = {.fd = STDOUT_FILENO, .events = POLLOUT};
			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			break;
		}
		done_bytes += (size_t)n;
	}
	progress_release(held);
	if (!err) {
		pyci_buf_clear(b);
		return 0;
	}
	size_t whole = done_bytes;
	while (whole > 0 && b->data[whole - 1] != '\n')
		whole--;
	/* a regular file is cut back to its last whole line; a pipe's reader keeps what it got */
	if (whole < done_bytes && start >= 0 && ftruncate(STDOUT_FILENO, start + (off_t)whole) != 0)
		cli_error("cannot cut the output back to its last whole line: %s", strerror(errno));
	size_t lines = 0;
	for (size_t i = whole; i < b->len; i++)
		lines += b->data[i] == '\n';
	output_failed = 1;
	held = progress_hold(STDERR_FILENO);
	(void)fprintf(stderr,
		      "%s: cannot write output: %s; these %zu record%s %s not written (%s):\n",
		      pyci_progname, strerror(err), lines, lines == 1 ? "" : "s",
		      lines == 1 ? "was" : "were", done);
	(void)fwrite(b->data + whole, 1, b->len - whole, stderr);
	(void)fflush(stderr);
	progress_release(held);
	pyci_buf_clear(b);
	return -1;
}

/*
 * Which names are written as $'...', and why.  A path is printed as it is only when every
 * character in it shows as itself and keeps the record on its line; otherwise it is quoted the
 * way GNU ls and rm quote it (gnulib's quotearg, shell-escape style), so that one line is one
 * record and what a person sees is what is there.  Quoted are:
 *   - bytes that are not UTF-8 (the name is bytes, whatever the locale: see below);
 *   - C0 controls U+0000-U+001F, DEL and the single quote (which the quoting itself needs);
 *   - C1 controls U+0080-U+009F: U+009B (CSI) starts an escape sequence on terminals that take
 *     8-bit controls, and U+0085 (NEL) is a line break to Unicode;
 *   - U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR, line breaks too: editors and
 *     libraries that follow Unicode (Python's str.splitlines) split a record there;
 *   - noncharacters U+FDD0-U+FDEF and U+xxFFFE/U+xxFFFF;
 *   - bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: they
 *     reorder the rest of the line, so a name can display as another one (the "Trojan Source"
 *     CVE-2021-42574).  GNU prints these as they are; quoting them is our addition.
 * GNU decides with iswprint in the user's locale; in glibc's UTF-8 locales the code points it
 * finds unprintable are the above (bidi controls aside) and the unassigned ones.  Unassigned
 * code points are not quoted here: that set changes with each Unicode version, and a terminal
 * shows them as a placeholder, it does not act on them.  pycinspect never calls setlocale, so the rule
 * is written out below by code point and is the same under any LANG or LC_ALL.
 *
 * Inside $'...' a quoted character is written byte by byte as \xHH (U+0085 as \xc2\x85), as
 * this function writes every byte it escapes; GNU writes the same bytes in octal (\302\205),
 * which bash reads the same.
 */
static int unsafe_code_point(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) /* C0, DEL, C1 */
		return 1;
	if (cp < 0x061C)
		return 0; /* the common case: Latin, Greek, Cyrillic, Hebrew, ... */
	return cp == 0x061C || cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
	       (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

/* The code point of the n-byte sequence at s, which pyci_utf8_seq accepted (n 1 to 4). */
static uint32_t utf8_decode(const unsigned char *s, size_t n)
{
	static const unsigned char lead_bits[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
	uint32_t cp = s[0] & lead_bits[n];
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3Fu);
	return cp;
}

static int needs_quoting(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		if (p[i] == '\'')
			return 1;
		size_t n = pyci_utf8_seq(p + i, len - i);
		if (n == 0 || unsafe_code_point(utf8_decode(p + i, n)))
			return 1;
		i += n;
	}
	return 0;
}

/* path as $'...' (see above). */
static int dollar_quote(pyci_buf *b, const char *path, size_t len)
{
	if (pyci_buf_puts(b, "$'") != 0)
		return -1;
	const unsigned char *p = (const unsigned char *)path;
	for (size_t i = 0; i < len;) {
		size_t n = pyci_utf8_seq(p + i, len - i);
		unsigned char c = p[i];
		int rc = 0;
		if (n == 0) { /* not UTF-8: this byte alone */
			rc = pyci_buf_printf(b, "\\x%02x", c);
			n = 1;
		} else if (unsafe_code_point(utf8_decode(p + i, n))) {
			switch (c) {
			case '\n':
				rc = pyci_buf_puts(b, "\\n");
				break;
			case '\t':
				rc = pyci_buf_puts(b, "\\t");
				break;
			case '\r':
				rc = pyci_buf_puts(b, "\\r");
				break;
			default:
				for (size_t k = 0; k < n && rc == 0; k++)
					rc = pyci_buf_printf(b, "\\x%02x", p[i + k]);
			}
		} else if (c == '\'' || c == '\\') {
			rc = pyci_buf_putc(b, '\\') || pyci_buf_putc(b, (char)c);
		} else {
			rc = pyci_buf_append(b, path + i, n);
		}
		if (rc != 0)
			return -1;
		i += n;
	}
	return pyci_buf_putc(b, '\'');
}

int cli_quote_path(pyci_buf *b, const char *path, size_t len)
{
	if (!needs_quoting(path, len))
		return pyci_buf_append(b, path, len);
	return dollar_quote(b, path, len);
}

/* Bytes a shell takes as themselves in a word (POSIX's portable file name characters, and
 * '/', ',', ':', '@', '%', '+', '='): no quotes needed. */
static int shell_plain(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr("/._-,:@%+=", c))))
			return 0;
	}
	return s[0] != '~' && s[0] != '=';
}

int cli_shell_quote(pyci_buf *b, const char *s, size_t len)
{
	if (shell_plain(s, len))
		return pyci_buf_append(b, s, len);
	if (needs_quoting(s, len))
		return dollar_quote(b, s, len);
	/* printable UTF-8 with no single quote: '...' takes every byte as it is */
	if (pyci_buf_putc(b, '\'') != 0 || pyci_buf_append(b, s, len) != 0)
		return -1;
	return pyci_buf_putc(b, '\'');
}

int cli_human_bytes(pyci_buf *b, unsigned long long bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	if (bytes < 1024)
		return pyci_buf_printf(b, "%llu B", bytes);
	double v = (double)bytes / 1024.0;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	return pyci_buf_printf(b, "%.1f %s", v, units[u]);
}

int cli_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
