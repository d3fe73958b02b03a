/*
 * cmd_dump.c - `pycinspect dump`: forensic JSON of every cache under the given paths.
 *
 * One object per cache (pyci_dump_json), as JSON Lines, or with --pretty one indented document
 * per cache.  The engine's options apply (targets for the verdict, excludes, threads; --json is
 * taken but not listed: dump_groups).  The objects are built by the engine's prepare hook on
 * the threads that judge (hashing and decoding are most of the work); on_record only writes
 * them, in order.
 */
#include <errno.h>

#include "cli.h"
#include "scanrun.h"
#include "pycinspect/dump.h"

struct dump_cli {
	struct scanrun e; /* the scan's callbacks get &e as ctx; e.cmd is this struct */
	pyci_dump_options dopt;
	int pretty;
	pyci_buf one;        /* the current object, compact */
	unsigned long long problems;
};

enum { DUMP_PRETTY = 256, DUMP_CONSTS };

static const struct cli_option dump_options[] = {
	{"pretty", 0, CLI_NOARG, NULL, "one indented JSON document per cache", DUMP_PRETTY, NULL},
	{"consts", 0, CLI_NOARG, NULL,
	 "include the constants of every code object: str, bytes,\n"
	 "numbers, None, True, False, Ellipsis (docs/dump.md)",
	 DUMP_CONSTS, NULL},
	{0},
};

/* The engine's options as scan and clean list them, less --json: dump's output is always JSON,
 * so --json is accepted, for scripts that pass it as to scan, but does nothing and is not
 * offered. */
static const struct cli_group dump_groups[] = {
	{"options:", dump_options, 0},
	{NULL, scanrun_json_option, 1},
	{NULL, scanrun_options, 0},
	{NULL, cli_help_option, 0},
	{0},
};

static const struct cli_command dump_command = {
	.name = "dump",
	.head = "usage: pycinspect dump [--pretty] [--consts] [OPTIONS] [PATH...]\n"
		"\n"
		"Everything that can be known about each .pyc/.pyo under PATH (files or trees, default .)\n"
		"without running Python, as JSON: file metadata, SHA-256 and XXH3-128, the header field by\n"
		"field, the source and the SipHash its header would need, the verdict, and every code\n"
		"object (docs/dump.md).\n",
	.groups = dump_groups,
	.tail = "\n"
		"exit status: 0 every cache read and decoded, 1 some could not be (each one says why in\n"
		"its object), 2 usage or fatal error\n",
	.column = 28,
};

#define FLUSH_AT ((size_t)64 * 1024)

/* Re-indent compact JSON (strings are copied untouched) into out, written out every FLUSH_AT
 * bytes: the indented text of a large object is several times its size and is never held whole.
 * Returns 0, -1 out of memory, -2 when the output could not be written. */
static int pretty(pyci_buf *out, const char *s, size_t len)
{
	int depth = 0, in_str = 0, rc = 0;
	for (size_t i = 0; i < len && !rc; i++) {
		if (out->len >= FLUSH_AT && cli_flush(out) != 0)
			return -2;
		char c = s[i];
		if (in_str) {
			rc = pyci_buf_putc(out, c);
			if (c == '\\' && i + 1 < len)
				rc = rc || pyci_buf_putc(out, s[++i]);
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			rc = pyci_buf_putc(out, c);
			break;
		case '{':
		case '[':
			/* keep empty containers on one line */
			if (i + 1 < len && (s[i + 1] == '}' || s[i + 1] == ']')) {
				rc = pyci_buf_putc(out, c) || pyci_buf_putc(out, s[++i]);
				break;
			}
			depth++;
			rc = pyci_buf_putc(out, c) || pyci_buf_printf(out, "\n%*s", 2 * depth, "");
			break;
		case '}':
		case ']':
			depth--;
			rc = pyci_buf_printf(out, "\n%*s", 2 * depth, "") || pyci_buf_putc(out, c);
			break;
		case ',':
			rc = pyci_buf_printf(out, ",\n%*s", 2 * depth, "");
			break;
		case ':':
			rc = pyci_buf_puts(out, ": ");
			break;
		default:
			rc = pyci_buf_putc(out, c);
		}
	}
	return rc ? -1 : 0;
}

/* The scan engine's prepare: the object, built on the thread that judged the cache (reads
 * only c->dopt, so any number of threads at once). */
static int prepare(void *ctx, const pyci_record *r, pyci_buf *out)
{
	const struct dump_cli *c = scanrun_cmd(ctx);
	return pyci_dump_json(out, r, &c->dopt);
}

static int on_record(void *ctx, const pyci_record *r)
{
	struct dump_cli *c = scanrun_cmd(ctx);
	const pyci_buf *one = r->prepared;
	int rc = r->prepared_rc;
	if (!one) { /* not prepared (over the engine's budget, or out of memory there): here */
		pyci_buf_clear(&c->one);
		rc = pyci_dump_json(&c->one, r, &c->dopt);
		one = &c->one;
	}
	if (rc < 0)
		return -1;
	c->problems += rc;
	int p = c->pretty ? pretty(&c->e.out, one->data, one->len)
			  : pyci_buf_append(&c->e.out, one->data, one->len);
	if (p == -2) {
		c->e.write_failed = 1;
		errno = EIO;
		return -1;
	}
	if (p != 0 || pyci_buf_putc(&c->e.out, '\n') != 0)
		return -1;
	if (c->e.out.len >= FLUSH_AT && cli_flush(&c->e.out) != 0) {
		c->e.write_failed = 1;
		errno = EIO;
		return -1;
	}
	return 0;
}

/* cli_parse's on_option: the engine's options, then dump's own. */
static int on_option(void *ctx, int id, const char *arg)
{
	struct dump_cli *c = ctx;
	int mine = scanrun_option(&c->e, id, arg);
	if (mine)
		return mine < 0 ? -1 : 0;
	if (id == DUMP_PRETTY)
		c->pretty = 1;
	else if (id == DUMP_CONSTS)
		c->dopt.consts = 1;
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	struct dump_cli c = {0};
	int rc = EXIT_USAGE;
	c.e.json = 1; /* walk errors as {"type":"error"} lines */
	int first = cli_parse(&dump_command, argc, argv, on_option, &c);
	if (first <= 0) {
		rc = first == 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (scanrun_ready(&c.e) != 0)
		goto out;
	c.e.cmd = &c;
	pyci_scan_ops ops = {.record = on_record, .error = scanrun_walk_error, .dir_done = NULL,
			     .ctx = &c.e, .prepare = prepare};
	int fatal = scanrun_run(&c.e, argv + first, &ops, NULL);
	if (c.e.write_failed || cli_flush(&c.e.out) != 0)
		goto out;
	rc = fatal ? EXIT_USAGE : (c.problems || c.e.sum.errors) ? EXIT_FINDINGS : EXIT_OK;
out:
	pyci_buf_free(&c.one);
	scanrun_free(&c.e);
	return rc;
}
