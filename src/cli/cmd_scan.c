/*
 * cmd_scan.c - `pycinspect scan`: judge every cache under the given paths and report.
 *
 * Text for people (one line per cache that is not fresh, then a summary) or JSON Lines for
 * machines (one "pyc" object per cache, fresh ones too, "error" objects, one "summary").  With --check the exit
 * status says whether anything needs attention.  The engine options live in engine.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

#define FLUSH_AT ((size_t)64 * 1024)

struct scan_cli {
	struct engine_cli e; /* first: the engine's callbacks take this struct as theirs */
	int all, check;
};

static const char scan_usage[] =
	"usage: pycinspect scan [OPTIONS] [PATH...]\n"
	"\n"
	"Judge every .pyc/.pyo under each PATH (default: .) as the interpreter that owns it would.\n"
	"Statuses: fresh, stale, orphaned, sourceless, invalid, foreign.\n"
	"\n"
	"options:\n"
	"  -a, --all                 list fresh caches too (--json always lists every cache)\n"
	"      --check               exit 1 if any cache is not fresh or a directory was unreadable\n"
	ENGINE_USAGE
	"  -h, --help                this help\n"
	"\n"
	"Symlinks are never followed (write DIR/ to scan the directory a symlink points to).\n"
	"exit status: 0 ok, 1 findings under --check, 2 usage or fatal error\n";

static int emit_line_text(pyci_buf *b, const pyci_record *r)
{
	char version[24];
	if (pyci_record_version(r, version, sizeof(version)) != 0)
		strcpy(version, "-");
	if (pyci_buf_printf(b, "%-10s %-8s ", pyci_status_name(r->verdict->status), version) != 0 ||
	    cli_quote_path(b, r->path, r->path_len) != 0)
		return -1;
	const char *sep = ": ";
	for (int i = 0; i < PYCI_R_COUNT; i++) {
		if (!(r->verdict->reasons & PYCI_REASON_BIT(i)))
			continue;
		if (pyci_buf_puts(b, sep) != 0 || pyci_buf_puts(b, pyci_reason_text((pyci_reason)i)))
			return -1;
		sep = "; ";
	}
	return pyci_buf_putc(b, '\n');
}

static int on_record(void *ctx, const pyci_record *r)
{
	struct scan_cli *c = ctx;
	struct engine_cli *e = &c->e;
	if (e->write_failed) {
		errno = EIO;
		return -1;
	}
	if (pyci_summary_add(&e->sum, r) != 0)
		return -1;
	if (r->verdict->status == PYCI_FRESH && !c->all && !e->json)
		return 0; /* text is for people: what needs attention; JSON has every cache */
	int rc = e->json ? (pyci_record_json(&e->out, r, NULL) || pyci_buf_putc(&e->out, '\n'))
			 : emit_line_text(&e->out, r);
	if (rc != 0)
		return -1;
	if (e->out.len >= FLUSH_AT && cli_flush(&e->out) != 0) {
		e->write_failed = 1;
		errno = EIO;
		return -1;
	}
	return 0;
}

static int summary_text(struct scan_cli *c)
{
	pyci_buf *b = &c->e.out;
	const pyci_summary *s = &c->e.sum;
	int rc = 0;
	if (s->total.count && (c->all || s->status[PYCI_FRESH].count != s->total.count))
		rc |= pyci_buf_putc(b, '\n');
	rc |= pyci_buf_printf(b, "%llu %s, ", (unsigned long long)s->total.count,
			      s->total.count == 1 ? "cache" : "caches");
	rc |= cli_human_bytes(b, s->total.bytes);
	rc |= pyci_buf_putc(b, '\n');
	for (int i = 0; i < PYCI_STATUS_COUNT; i++) {
		if (!s->status[i].count)
			continue;
		rc |= pyci_buf_printf(b, "  %-10s %8llu  ", pyci_status_name((pyci_status)i),
				      (unsigned long long)s->status[i].count);
		rc |= cli_human_bytes(b, s->status[i].bytes);
		rc |= pyci_buf_putc(b, '\n');
	}
	if (s->nversions)
		rc |= pyci_buf_puts(b, "by version:\n");
	for (size_t v = 0; v < s->nversions; v++) {
		const pyci_version_tally *vt = &s->versions[v];
		rc |= pyci_buf_printf(b, "  %-10s %8llu  ", vt->version,
				      (unsigned long long)vt->total.count);
		rc |= cli_human_bytes(b, vt->total.bytes);
		const char *sep = "  (";
		for (int i = 0; i < PYCI_STATUS_COUNT; i++) {
			if (!vt->status[i].count)
				continue;
			rc |= pyci_buf_printf(b, "%s%llu %s", sep,
					      (unsigned long long)vt->status[i].count,
					      pyci_status_name((pyci_status)i));
			sep = ", ";
		}
		rc |= pyci_buf_puts(b, vt->total.count ? ")\n" : "\n");
	}
	rc |= engine_summary_text(&c->e);
	return rc ? -1 : 0;
}

static int summary_json(struct scan_cli *c)
{
	pyci_buf *b = &c->e.out;
	const pyci_summary *s = &c->e.sum;
	int rc = pyci_buf_printf(b, "{\"type\":\"summary\",\"caches\":%llu,\"bytes\":%llu,",
				 (unsigned long long)s->total.count,
				 (unsigned long long)s->total.bytes);
	rc |= pyci_summary_json(b, s);
	rc |= pyci_buf_printf(b, ",\"foreign\":%llu", (unsigned long long)s->foreign);
	rc |= engine_summary_json(&c->e);
	rc |= pyci_buf_puts(b, "}\n");
	return rc ? -1 : 0;
}

int cmd_scan(int argc, char **argv)
{
	enum { OPT_CHECK = 256 };
	static const struct option longopts[] = {
		{"all", no_argument, NULL, 'a'},
		{"check", no_argument, NULL, OPT_CHECK},
		{"help", no_argument, NULL, 'h'},
		ENGINE_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct scan_cli c = {0};
	int rc = EXIT_USAGE;

	optind = 1;
	int ch;
	while ((ch = cli_getopt(argc, argv, "ah" ENGINE_SHORTOPTS, longopts)) != -1) {
		int mine = engine_option(&c.e, ch, optarg);
		if (mine < 0)
			goto out;
		if (mine)
			continue;
		switch (ch) {
		case 'a':
			c.all = 1;
			break;
		case OPT_CHECK:
			c.check = 1;
			break;
		case 'h':
			(void)fputs(scan_usage, stdout); /* checked at exit: cli_close_stdout */
			rc = EXIT_OK;
			goto out;
		default:
			(void)fputs("try 'pycinspect scan --help'\n", stderr);
			goto out;
		}
	}
	if (engine_ready(&c.e) != 0)
		goto out;

	pyci_scan_ops ops = {on_record, engine_walk_error, NULL, &c, NULL};
	int fatal = engine_run(&c.e, argv + optind, &ops, NULL);
	rc = fatal ? EXIT_USAGE : EXIT_OK;
	if (!c.e.write_failed) {
		pyci_summary_sort(&c.e.sum);
		int s = c.e.json ? summary_json(&c) : summary_text(&c);
		if (s != 0 || cli_flush(&c.e.out) != 0)
			rc = EXIT_USAGE;
	} else {
		rc = EXIT_USAGE;
	}
	const pyci_summary *s = &c.e.sum;
	if (rc == EXIT_OK && c.check && (s->status[PYCI_FRESH].count != s->total.count || s->errors))
		rc = EXIT_FINDINGS;
out:
	engine_free(&c.e);
	return rc;
}
