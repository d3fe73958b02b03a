/*
 * cmd_dump.c - `pycinspect dump`: forensic JSON of every cache under the given paths.
 *
 * One object per cache (pyci_dump_json), as JSON Lines, or with --pretty one indented document
 * per cache.  The engine's options apply (targets for the verdict, excludes, threads; --json is
 * taken but not listed: dump_groups).  The objects are built by the engine's prepare hook on
 * the threads that judge (hashing and decoding are most of the work); on_record only writes
 * them, in order.
 *
 * Memory in all, whatever --jobs (docs/dump.md): each cache is dumped within pyci_dump_bound.
 * The threads that prepare objects share WORKERS_MEMORY: one takes its cache's bound before it
 * starts, gives back all but its object's buffer when it is done, and the rest once on_record
 * has written the object.  A cache whose bound does not fit is left to on_record, on the
 * writing thread, which dumps it there within its own bound, one at a time, and never waits:
 * at most WORKERS_MEMORY plus one cache's bound (PYCI_DUMP_MAX_MEMORY).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "cli.h"
#include "scanrun.h"
#include "pycinspect/dump.h"

/* What the threads that prepare objects may hold at once: caches being dumped (their
 * pyci_dump_bound) and objects waiting to be written (their buffers). */
#define WORKERS_MEMORY ((size_t)512 << 20)

struct dump_cli {
	struct scanrun e; /* the scan's callbacks get &e as ctx; e.cmd is this struct */
	pyci_dump_options dopt;
	int pretty;
	pyci_buf one; /* the current object, compact, when on_record builds it */
	unsigned long long problems;
	atomic_size_t held; /* of WORKERS_MEMORY */
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
	{"inputs:", scanrun_input_options, 0},
	{0},
};

const struct cli_command dump_command = {
	.name = "dump",
	.head = "usage: pycinspect dump [--pretty] [--consts] [OPTIONS] [PATH...]\n"
		"\n"
		"Everything that can be known about each .pyc/.pyo under PATH (files or trees, default .)\n"
		"without running Python, as JSON: file metadata, SHA-256 and XXH3-128, the header field by\n"
		"field, the source and the SipHash its header would need, the verdict, and every code\n"
		"object (docs/dump.md).  For Jython's $py.class, the header is what its annotations record:\n"
		"API version, the source's mtime, its file name.  A PATH may be an archive, or\n"
		"ARCHIVE!/MEMBER for one cache in it (docs/archives.md).\n",
	.groups = dump_groups,
	.tail = "\n"
		"exit status: 0 every cache read and decoded, 1 some could not be (each one says why in\n"
		"its object), 2 usage or fatal error\n",
	.column = 28,
};

#define FLUSH_AT ((size_t)64 * 1024)

/* Take n bytes of WORKERS_MEMORY, or -1 when they are not there (nothing is taken). */
static int take(atomic_size_t *held, size_t n)
{
	size_t cur = atomic_load(held);
	do {
		if (n > WORKERS_MEMORY || cur > WORKERS_MEMORY - n)
			return -1;
	} while (!atomic_compare_exchange_weak(held, &cur, cur + n));
	return 0;
}

/* What a prepared object keeps of its cache's bound until it is written: its buffer. */
static size_t kept_by(const pyci_buf *b, size_t bound)
{
	return b->cap < bound ? b->cap : bound;
}

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

/* The scan engine's prepare: the object, built on the thread that judged the cache, when its
 * bound fits in what is left of WORKERS_MEMORY (reads c->dopt and changes c->held atomically
 * only, so any number of threads at once). */
static int prepare(void *ctx, const pyci_record *r, pyci_buf *out)
{
	struct dump_cli *c = scanrun_cmd(ctx);
	size_t bound = pyci_dump_bound(r);
	if (take(&c->held, bound) != 0)
		return -1; /* on_record dumps it, on the writing thread */
	int rc = pyci_dump_json(out, r, &c->dopt);
	atomic_fetch_sub(&c->held, bound - (rc < 0 ? 0 : kept_by(out, bound)));
	return rc;
}

/* Write one object: compact, or re-indented; a large compact one as it is, not copied into the
 * output buffer first.  0, -1 out of memory, -2 when the output could not be written. */
static int write_object(struct dump_cli *c, const pyci_buf *one)
{
	if (c->pretty) {
		int p = pretty(&c->e.out, one->data, one->len);
		return p ? p : pyci_buf_putc(&c->e.out, '\n');
	}
	if (one->len >= FLUSH_AT)
		return cli_flush(&c->e.out) != 0 || cli_write(one->data, one->len) != 0
			       ? -2
			       : pyci_buf_putc(&c->e.out, '\n');
	return pyci_buf_append(&c->e.out, one->data, one->len) || pyci_buf_putc(&c->e.out, '\n')
		       ? -1
		       : 0;
}

static int on_record(void *ctx, const pyci_record *r)
{
	struct dump_cli *c = scanrun_cmd(ctx);
	const pyci_buf *one = r->prepared;
	int rc = r->prepared_rc;
	if (!one) { /* not prepared (over a budget, or out of memory there): here */
		pyci_buf_clear(&c->one);
		rc = pyci_dump_json(&c->one, r, &c->dopt);
		one = &c->one;
	}
	int p = rc < 0 ? -1 : write_object(c, one);
	int err = errno;
	if (r->prepared) /* written (or failed): its buffer goes with the record */
		atomic_fetch_sub(&c->held, kept_by(r->prepared, pyci_dump_bound(r)));
	else if (c->one.cap > FLUSH_AT) /* a large object: not kept for the next one */
		pyci_buf_free(&c->one);
	errno = err;
	if (rc < 0)
		return -1;
	c->problems += rc;
	if (p == -2) {
		c->e.write_failed = 1;
		errno = EIO;
		return -1;
	}
	if (p != 0)
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
	atomic_init(&c.held, 0);
	int rc = EXIT_USAGE;
	c.e.json = 1;        /* walk errors as {"type":"error"} lines */
	c.e.aopt.stream = 1; /* an archive's caches come with their bytes */
	int first = cli_parse(&dump_command, argc, argv, on_option, &c);
	if (first <= 0) {
		rc = first == 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (scanrun_operands(&c.e, argv + first) != 0 || scanrun_ready(&c.e) != 0)
		goto out;
	c.e.cmd = &c;
	pyci_scan_ops ops = {.record = on_record,
			     .error = scanrun_walk_error,
			     .dir_done = NULL,
			     .ctx = &c.e,
			     .venv = scanrun_venv,
			     .prepare = prepare};
	int fatal = scanrun_run(&c.e, argv + first, &ops, NULL);
	if (c.e.write_failed || cli_flush(&c.e.out) != 0)
		goto out;
	rc = fatal ? EXIT_USAGE : (c.problems || c.e.sum.errors) ? EXIT_FINDINGS : EXIT_OK;
out:
	pyci_buf_free(&c.one);
	scanrun_free(&c.e);
	return rc;
}
