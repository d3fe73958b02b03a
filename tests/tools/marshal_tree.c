/*
 * marshal_tree.c - a test driver for the marshal decoder: print the code-object tree of .pyc
 * files, so that tests/conformance/marshal_vs_interpreters.py can hold it against what each
 * interpreter's own marshal.loads() sees.  It exists because `pycinspect dump` is being written
 * separately; it is not installed.
 *
 * Usage: marshal_tree [--full] [--consts] FILE...
 *
 * One line per code object, in the decoder's pre-order, fields separated by tabs:
 *   depth, filename, name, qualname, firstlineno
 * --full adds argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags, len(co_code),
 * then names, varnames, freevars, cellvars (each joined with ","); --consts adds the kept
 * constants as TYPE:TEXT joined with ",".  Bytes outside 0x20-0x7e, and "\", "," and ":" are
 * written as \xNN, so any name fits on one line.  With several files, each tree follows a line
 * "# PATH".  A file that cannot be read, whose header is unusable, or whose body does not decode
 * gives the line "ERROR<tab>PATH<tab>message" and makes the exit status 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pycinspect/header.h"
#include "pycinspect/marshal.h"

static void put_escaped(const char *s, size_t n)
{
	if (!s) {
		fputs("<absent>", stdout);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || c == '\\' || c == ',' || c == ':')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void put_list(const pyci_mstr *a, size_t n)
{
	putchar('\t');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		put_escaped(a[i].data, a[i].len);
	}
}

static int read_file(const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 1 << 16, n = 0;
	unsigned char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			fclose(f);
			return -1;
		}
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		unsigned char *nb = realloc(buf, cap * 2);
		if (!nb)
			free(buf);
		buf = nb;
		cap *= 2;
	}
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(buf);
		return -1;
	}
	*data = buf;
	*len = n;
	return 0;
}

static int tree(const char *path, int full, int consts)
{
	unsigned char *data;
	size_t len;
	if (read_file(path, &data, &len) != 0) {
		printf("ERROR\t%s\tcannot read: %s\n", path, strerror(errno));
		return 1;
	}
	pyci_header h;
	pyci_header_status st = pyci_header_parse(data, len, len, &h);
	if (st != PYCI_HDR_OK && st != PYCI_HDR_NOT_CODE && st != PYCI_HDR_SHORT_BODY) {
		printf("ERROR\t%s\theader: %s\n", path, pyci_header_status_name(st));
		free(data);
		return 1;
	}
	pyci_marshal m;
	int r = pyci_marshal_decode(data + h.size, len - h.size, &h.magic, consts, &m);
	for (size_t i = 0; r == 0 && i < m.ncodes; i++) {
		const pyci_mcode *c = &m.codes[i];
		printf("%d\t", c->depth);
		put_escaped(c->filename.data, c->filename.len);
		putchar('\t');
		put_escaped(c->name.data, c->name.len);
		putchar('\t');
		put_escaped(c->qualname.data, c->qualname.len);
		printf("\t%ld", (long)c->firstlineno);
		if (full) {
			printf("\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%zu", (long)c->argcount,
			       (long)c->posonlyargcount, (long)c->kwonlyargcount, (long)c->nlocals,
			       (long)c->stacksize, (long)c->flags, c->code_size);
			put_list(c->names, c->nnames);
			put_list(c->varnames, c->nvarnames);
			put_list(c->freevars, c->nfreevars);
			put_list(c->cellvars, c->ncellvars);
		}
		if (consts) {
			putchar('\t');
			for (size_t k = 0; k < c->nconsts; k++) {
				if (k)
					putchar(',');
				printf("%c:", c->consts[k].type);
				put_escaped(c->consts[k].text.data, c->consts[k].text.len);
			}
		}
		putchar('\n');
	}
	if (r != 0)
		printf("ERROR\t%s\t%s (%s) at body offset %zu\n", path, m.error_msg,
		       m.error == E2BIG ? "E2BIG" : m.error == ENOMEM ? "ENOMEM"
					       : m.error == ENOTSUP ? "ENOTSUP" : "EINVAL",
		       m.error_offset);
	pyci_marshal_free(&m);
	free(data);
	return r != 0;
}

int main(int argc, char **argv)
{
	int full = 0, consts = 0, first = 1, status = 0;
	while (first < argc && argv[first][0] == '-' && argv[first][1] == '-') {
		if (!strcmp(argv[first], "--full")) {
			full = 1;
		} else if (!strcmp(argv[first], "--consts")) {
			consts = 1;
		} else if (!strcmp(argv[first], "--")) {
			first++;
			break;
		} else {
			fprintf(stderr, "marshal_tree: unknown option %s\n", argv[first]);
			return 2;
		}
		first++;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: marshal_tree [--full] [--consts] FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		if (argc - first > 1)
			printf("# %s\n", argv[i]);
		status |= tree(argv[i], full, consts);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return 2;
	return status;
}
