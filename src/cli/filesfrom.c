/*
 * filesfrom.c - the list of --files-from: read whole, from a file or from stdin ("-"), and cut
 * into paths at each newline, or with -0 at each NUL byte (find -print0, git ls-files -z), the
 * only byte no path holds.  A newline-separated list that holds a NUL byte was meant for -0:
 * refused, rather than cut into paths no one listed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "scanrun.h"

#define READ_CHUNK ((size_t)64 * 1024)

/* Read all of fd into b.  0, or -1 with errno. */
static int read_all(int fd, pyci_buf *b)
{
	for (;;) {
		if (pyci_buf_reserve(b, READ_CHUNK) != 0)
			return -1;
		ssize_t n = read(fd, b->data + b->len, READ_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
}

int files_from_read(const char *file, int nul, struct file_list *out)
{
	*out = (struct file_list){0};
	pyci_buf q = PYCI_BUF_INIT;
	int stdin_ = strcmp(file, "-") == 0;
	int fd = stdin_ ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	const char *shown = stdin_ ? "standard input" : file;
	if (cli_quote_path(&q, shown, strlen(shown)) != 0) {
		cli_error("out of memory");
		goto fail;
	}
	if (fd < 0 || read_all(fd, &out->data) != 0) {
		cli_error("--files-from: cannot read '%s': %s", q.data, strerror(errno));
		goto fail;
	}
	char sep = nul ? '\0' : '\n';
	if (!nul && out->data.len && memchr(out->data.data, '\0', out->data.len)) {
		cli_error("--files-from: '%s' holds NUL bytes: a NUL-separated list is read with "
			  "-0 (--null)",
			  q.data);
		goto fail;
	}
	size_t n = 0;
	for (size_t i = 0; i < out->data.len; i++)
		n += out->data.data[i] == sep;
	n += out->data.len && out->data.data[out->data.len - 1] != sep; /* a last unended one */
	if (!(out->paths = malloc((n ? n : 1) * sizeof(*out->paths)))) {
		cli_error("out of memory");
		goto fail;
	}
	char *p = out->data.data, *end = p + out->data.len;
	while (p && p < end) {
		char *e = memchr(p, sep, (size_t)(end - p));
		if (!e)
			e = end; /* the buffer's own NUL ends the last path */
		*e = '\0';
		out->paths[out->n++] = p;
		p = e + 1;
	}
	if (!stdin_)
		close(fd);
	pyci_buf_free(&q);
	return 0;
fail:
	if (fd >= 0 && !stdin_)
		close(fd);
	pyci_buf_free(&q);
	file_list_free(out);
	return -1;
}

void file_list_free(struct file_list *l)
{
	pyci_buf_free(&l->data);
	free(l->paths);
	*l = (struct file_list){0};
}
