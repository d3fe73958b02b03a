/*
 * output.c - the CLI's one way to stdout, and text for people (quoted paths, sizes).
 *
 * Output is built in a pyci_buf and written with write(2)-like checks, so that a closed pipe or
 * a full disk is noticed at once (SIGPIPE is ignored in main), not at exit.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pycinspect/json.h"

/* The (void) casts: a failed flush of stdout stays in its error flag, which cli_close_stdout
 * reports at exit; nothing useful can be done about a failed write to stderr. */
void cli_error(const char *fmt, ...)
{
	va_list ap;
	(void)fflush(stdout);
	(void)fprintf(stderr, "%s: ", pyci_progname);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
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
	if (!output_failed && !(epipe_quiet && err == EPIPE))
		(void)fprintf(stderr, "%s: cannot write output: %s\n", pyci_progname, strerror(err));
	output_failed = 1;
	return -1;
}

int cli_flush(pyci_buf *b)
{
	if (output_failed)
		return -1;
	/* through to the kernel: clean removes nothing before its record is out */
	if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
		return output_error(errno);
	pyci_buf_clear(b);
	if (fflush(stdout) != 0 || ferror(stdout))
		return output_error(errno);
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
 * whose acts were done) goes to stderr after saying so: the truth is told somewhere.
 */
int cli_flush_log(pyci_buf *b)
{
	if (output_failed)
		return -1;
	if (fflush(stdout) != 0) /* nothing should be there; if it is, it goes first */
		return output_error(errno);
	struct stat st;
	off_t start = -1;
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		start = lseek(STDOUT_FILENO, 0, SEEK_CUR);
	size_t done = 0;
	int err = 0;
	while (done < b->len) {
		ssize_t n = write(STDOUT_FILENO, b->data + done, b->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			break;
		}
		done += (size_t)n;
	}
	if (!err) {
		pyci_buf_clear(b);
		return 0;
	}
	size_t whole = done;
	while (whole > 0 && b->data[whole - 1] != '\n')
		whole--;
	/* a regular file is cut back to its last whole line; a pipe's reader keeps what it got */
	if (whole < done && start >= 0 && ftruncate(STDOUT_FILENO, start + (off_t)whole) != 0)
		cli_error("cannot cut the output back to its last whole line: %s", strerror(errno));
	output_error(err);
	(void)fprintf(stderr, "%s: these records were not written to the output, and what they "
			      "record was done:\n",
		      pyci_progname);
	(void)fwrite(b->data + whole, 1, b->len - whole, stderr);
	(void)fflush(stderr);
	pyci_buf_clear(b);
	return -1;
}

static int needs_quoting(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F || c == '\'')
			return 1;
	}
	return !pyci_utf8_valid(s, len);
}

int cli_quote_path(pyci_buf *b, const char *path, size_t len)
{
	if (!needs_quoting(path, len))
		return pyci_buf_append(b, path, len);
	if (pyci_buf_puts(b, "$'") != 0)
		return -1;
	const unsigned char *p = (const unsigned char *)path;
	for (size_t i = 0; i < len;) {
		size_t n = pyci_utf8_seq(p + i, len - i);
		unsigned char c = p[i];
		int rc;
		if (n == 0 || c < 0x20 || c == 0x7F) {
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
				rc = pyci_buf_printf(b, "\\x%02x", c);
			}
			n = 1;
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
