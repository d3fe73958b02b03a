/*
 * cmd_scan.c - `pycinspect scan`: judge every cache under the given paths and report.
 *
 * Text for people (one line per cache that is not fresh, then a summary) or JSON Lines for
 * machines (one "pyc" object per cache, fresh ones too, "error" objects, one "summary").  With
 * --check the exit status says whether anything needs attention.  scan's options are its own
 * two (-a, --check), the engine's (scanrun.c) and --help: scan_command, which args.c parses and
 * prints.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scanrun.h"

#define FLUSH_AT ((size_t)64 * 1024)

struct scan_cli {
	struct scanrun e; /* the scan's callbacks get &e as ctx; e.cmd is this struct */
	int all, check;
	unsigned check_statuses; /* --check=LIST: bits of pyci_status; 0 with check: every one */
	int check_unchecked;     /* --check=LIST named unchecked-stale */
	int check_same_second;   /* --check=LIST named same-second */
	unsigned long long unchecked_stale; /* stale caches Python still runs (unchecked hash) */
	unsigned long long same_second;     /* fresh caches whose source changed unseen */
	unsigned long long shipped;         /* caches shipped in a wheel or an sdist */
	int check_shipped;                  /* --check=LIST named shipped */
	unsigned long long listed;          /* records written as text lines */
	/* the findings line's counts: each cache in one of them (findings_bucket) */
	struct {
		unsigned long long harmless, unchecked, same_second, zip_stale, shipped;
		unsigned long long status[PYCI_STATUS_COUNT];
	} line;
};

/* What --check=LIST may name: the statuses but fresh, then unchecked-stale and same-second. */
static const char *const check_values[] = {"stale",       "orphaned", "sourceless",
					   "invalid",     "foreign",  "unchecked-stale",
					   "same-second", "shipped",  NULL};
#define CHECK_UNCHECKED 5   /* index of "unchecked-stale" in check_values */
#define CHECK_SAME_SECOND 6 /* index of "same-second" */
#define CHECK_SHIPPED 7     /* index of "shipped" */

enum { SCAN_ALL = 256, SCAN_CHECK };

static const struct cli_option scan_options[] = {
	{"all", 'a', CLI_NOARG, NULL, "list fresh caches too (--json always lists every cache)",
	 SCAN_ALL, NULL},
	{"check", 0, CLI_OPTARG, "LIST",
	 "exit 1 if any cache is not fresh or a directory was unreadable;\n"
	 "with LIST, only for those statuses (stale, orphaned, sourceless,\n"
	 "invalid, foreign), for unchecked-stale (caches Python still\n"
	 "runs though their source changed), same-second (fresh caches\n"
	 "whose source changed unseen in the second they were written),\n"
	 "shipped (caches in a wheel or sdist), and unreadable\n"
	 "directories",
	 SCAN_CHECK, check_values},
	{0},
};

static const struct cli_group scan_groups[] = {
	{"options:", scan_options, 0},
	{NULL, scanrun_json_option, 0},
	{NULL, scanrun_quiet_option, 0},
	{NULL, cli_color_option, 0},
	{NULL, scanrun_progress_option, 0},
	{NULL, scanrun_options, 0},
	{NULL, cli_help_option, 0},
	{"inputs:", scanrun_input_options, 0},
	{0},
};

const struct cli_command scan_command = {
	.name = "scan",
	.head = "usage: pycinspect scan [OPTIONS] [PATH...]\n"
		"\n"
		"Judge every .pyc/.pyo under each PATH (default: .) as the interpreter that owns it would,\n"
		"and every Jython NAME$py.class as Jython 2.7 would (target jython2.7).\n"
		"Statuses: fresh, stale, orphaned, sourceless, invalid, foreign.\n"
		"A PATH may be an archive, read in place: a zip on sys.path (.zip, .pyz, .egg), a wheel,\n"
		"an sdist or tarball, a docker save or OCI image tarball; ARCHIVE!/MEMBER names one\n"
		"cache in it (docs/archives.md).\n",
	.groups = scan_groups,
	.tail = "\n"
		"Symlinks are never followed (write DIR/ to scan the directory a symlink points to).\n"
		"exit status: 0 ok, 1 findings under --check, 2 usage or fatal error\n",
	.column = 28,
};

/* A status's name in its colour (--color), padded to width. */
static int status_word(pyci_buf *b, pyci_status st, int width)
{
	return cli_styled(b, cli_status_style(st), pyci_status_name(st), width);
}

static int emit_line_text(pyci_buf *b, const pyci_record *r)
{
	char version[24];
	if (pyci_record_version(r, version, sizeof(version)) != 0)
		strcpy(version, "-");
	if (status_word(b, r->verdict->status, 10) != 0 ||
	    pyci_buf_printf(b, " %-8s ", version) != 0 ||
	    cli_quote_path(b, r->path, r->path_len) != 0)
		return -1;
	const char *sep = ": ";
	for (int i = 0; i < PYCI_R_COUNT; i++) {
		if (!(r->verdict->reasons & PYCI_REASON_BIT(i)))
			continue;
		if (pyci_buf_puts(b, sep) != 0 ||
		    pyci_buf_puts(b, pyci_reason_text((pyci_reason)i)))
			return -1;
		sep = "; ";
	}
	const pyci_load *l = r->load;
	if (l && l->state == PYCI_LOAD_FAILS &&
	    pyci_buf_printf(b, " (%s: %s, at byte %llu)", l->exception, l->message,
			    (unsigned long long)l->offset) != 0)
		return -1;
	if (l && l->state == PYCI_LOAD_UNCHECKED && pyci_buf_printf(b, " (%s)", l->message) != 0)
		return -1;
	return pyci_buf_putc(b, '\n');
}

static int emit_line_json(pyci_buf *b, const pyci_record *r)
{
	pyci_jw w;
	pyci_jw_init(&w, b);
	pyci_jw_begin(&w, NULL);
	pyci_record_members(&w, r);
	pyci_jw_end(&w);
	return cli_json_line(&w);
}

/*
 * Which count of the findings line a cache goes in: one, so that the line adds up.  A cache
 * shipped in a wheel or an sdist is that, whatever its status (the status table has those); a
 * stale one is harmless but when it is never rewritten (an unchecked hash, run as it is; a zip
 * on sys.path, whose zipimport never writes caches); a fresh one only when same-second.
 */
static void findings_bucket(struct scan_cli *c, const pyci_record *r, int unseen, int shipped)
{
	pyci_status st = r->verdict->status;
	uint64_t reasons = r->verdict->reasons;
	if (shipped)
		c->line.shipped++;
	else if (st == PYCI_STALE && (reasons & PYCI_REASON_BIT(PYCI_R_UNCHECKED_STALE)))
		c->line.unchecked++;
	else if (st == PYCI_STALE && (reasons & PYCI_REASON_BIT(PYCI_R_ZIP_NOT_REWRITTEN)))
		c->line.zip_stale++;
	else if (st == PYCI_STALE)
		c->line.harmless++;
	else if (st == PYCI_FRESH)
		c->line.same_second += (unsigned long long)unseen;
	else
		c->line.status[st]++;
}

static int on_record(void *ctx, const pyci_record *r)
{
	struct scan_cli *c = scanrun_cmd(ctx);
	struct scanrun *e = &c->e;
	if (e->write_failed) {
		errno = EIO;
		return -1;
	}
	if (pyci_summary_add(&e->sum, r) != 0)
		return -1;
	if (r->verdict->status == PYCI_STALE &&
	    (r->verdict->reasons & PYCI_REASON_BIT(PYCI_R_UNCHECKED_STALE)))
		c->unchecked_stale++;
	int unseen = (r->verdict->reasons & PYCI_REASON_BIT(PYCI_R_SAME_SECOND)) != 0;
	c->same_second += unseen;
	int shipped = (r->verdict->reasons & (PYCI_REASON_BIT(PYCI_R_SHIPPED_WHEEL) |
					      PYCI_REASON_BIT(PYCI_R_SHIPPED_SDIST))) != 0;
	c->shipped += shipped;
	findings_bucket(c, r, unseen, shipped);
	if (e->quiet ||
	    (r->verdict->status == PYCI_FRESH && !unseen && !shipped && !c->all && !e->json))
		return 0; /* text is for people: what needs attention; JSON has every cache */
	int rc = e->json ? emit_line_json(&e->out, r) : emit_line_text(&e->out, r);
	if (rc != 0)
		return -1;
	c->listed += !e->json;
	if (e->out.len >= FLUSH_AT && cli_flush(&e->out) != 0) {
		e->write_failed = 1;
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Which findings are harmless and which are not: a stale cache is rewritten by the next import
 * that finds it (harmless), but an unchecked-hash cache whose source changed is run as it is,
 * a stale cache in a zip on sys.path is never rewritten, a cache shipped in a wheel or sdist is
 * installed as it is, and orphaned, sourceless, invalid and foreign caches are never rewritten
 * by these interpreters.  Each cache is counted once (findings_bucket).  One line, only when
 * there are findings.
 */
static int findings_text(struct scan_cli *c)
{
	unsigned long long harmless = c->line.harmless;
	unsigned long long look =
		c->line.unchecked + c->line.same_second + c->line.zip_stale + c->line.shipped;
	for (int i = PYCI_ORPHANED; i < PYCI_STATUS_COUNT; i++)
		look += c->line.status[i];
	if (!harmless && !look)
		return 0;
	pyci_buf *b = &c->e.out;
	int rc = pyci_buf_printf(
		b, "findings: %llu harmless (stale: rewritten on the next import), ", harmless);
	char n[48];
	(void)snprintf(n, sizeof(n), "%llu to look at", look); /* fits */
	rc |= cli_styled(b, look ? "1" : NULL, n, 0);
	const char *sep = " (";
	const struct {
		unsigned long long n;
		const char *what;
	} kinds[] = {
		{c->line.unchecked, "unchecked-stale: run as they are"},
		{c->line.same_second, "same-second: fresh, but the old code runs"},
		{c->line.zip_stale, "stale in a zip: never rewritten"},
		{c->line.shipped, "shipped in a wheel or sdist"},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!kinds[i].n)
			continue;
		rc |= pyci_buf_printf(b, "%s%llu %s", sep, kinds[i].n, kinds[i].what);
		sep = ", ";
	}
	for (int i = PYCI_ORPHANED; i < PYCI_STATUS_COUNT; i++) {
		if (!c->line.status[i])
			continue;
		rc |= pyci_buf_printf(b, "%s%llu ", sep, c->line.status[i]);
		rc |= status_word(b, (pyci_status)i, 0);
		sep = ", ";
	}
	rc |= pyci_buf_puts(b, *sep == ',' ? ")\n" : "\n");
	return rc ? -1 : 0;
}

/* Whether --check finds something: today's meaning, or the statuses of --check=LIST. */
static int check_fails(const struct scan_cli *c)
{
	const pyci_summary *s = &c->e.sum;
	if (s->errors)
		return 1; /* what could not be read cannot be said to be fine */
	if (!c->check_statuses && !c->check_unchecked && !c->check_same_second && !c->check_shipped)
		return s->status[PYCI_FRESH].count != s->total.count || c->shipped;
	for (int i = 0; i < PYCI_STATUS_COUNT; i++)
		if ((c->check_statuses & (1u << i)) && s->status[i].count)
			return 1;
	return (c->check_unchecked && c->unchecked_stale) ||
	       (c->check_same_second && c->same_second) || (c->check_shipped && c->shipped);
}

static int summary_text(struct scan_cli *c)
{
	pyci_buf *b = &c->e.out;
	const pyci_summary *s = &c->e.sum;
	int rc = 0;
	if (c->listed && !c->e.quiet)
		rc |= pyci_buf_putc(b, '\n'); /* after the lines of the caches */
	rc |= pyci_buf_printf(b, "%llu %s, ", (unsigned long long)s->total.count,
			      s->total.count == 1 ? "cache" : "caches");
	rc |= cli_human_bytes(b, s->total.bytes);
	rc |= pyci_buf_putc(b, '\n');
	for (int i = 0; i < PYCI_STATUS_COUNT; i++) {
		if (!s->status[i].count)
			continue;
		rc |= pyci_buf_puts(b, "  ");
		rc |= status_word(b, (pyci_status)i, 10);
		rc |= pyci_buf_printf(b, " %8llu  ", (unsigned long long)s->status[i].count);
		rc |= cli_human_bytes(b, s->status[i].bytes);
		rc |= pyci_buf_putc(b, '\n');
	}
	rc |= findings_text(c);
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
			rc |= pyci_buf_printf(b, "%s%llu ", sep,
					      (unsigned long long)vt->status[i].count);
			rc |= status_word(b, (pyci_status)i, 0);
			sep = ", ";
		}
		rc |= pyci_buf_puts(b, vt->total.count ? ")\n" : "\n");
	}
	rc |= scanrun_summary_text(&c->e);
	return rc ? -1 : 0;
}

static int summary_json(struct scan_cli *c)
{
	pyci_jw w;
	scanrun_summary_begin(&c->e, &w);
	pyci_jw_u64(&w, "unchecked_stale", c->unchecked_stale);
	pyci_jw_u64(&w, "same_second", c->same_second);
	if (c->e.archives) { /* only then: a walk's summary stays as it was */
		pyci_jw_u64(&w, "archives", c->e.archives);
		pyci_jw_u64(&w, "shipped", c->shipped);
	}
	scanrun_summary_members(&c->e, &w);
	pyci_jw_end(&w);
	return cli_json_line(&w);
}

/* cli_parse's on_option: the engine's options, then scan's own. */
static int on_option(void *ctx, int id, const char *arg)
{
	struct scan_cli *c = ctx;
	int mine = scanrun_option(&c->e, id, arg);
	if (mine)
		return mine < 0 ? -1 : 0;
	if (id == SCAN_ALL) {
		c->all = 1;
	} else if (id == SCAN_CHECK) {
		c->check = 1;
		for (const char *p = arg; p && *p;) {
			size_t len = strcspn(p, ",");
			int k = -1;
			for (int i = 0; check_values[i] && k < 0; i++)
				if (strlen(check_values[i]) == len &&
				    strncmp(p, check_values[i], len) == 0)
					k = i;
			if (k < 0) {
				cli_error(
					"invalid --check '%s' (a comma-separated list of stale, "
					"orphaned, sourceless, invalid, foreign, unchecked-stale, "
					"same-second, shipped)",
					arg);
				return -1;
			}
			if (k == CHECK_UNCHECKED)
				c->check_unchecked = 1;
			else if (k == CHECK_SAME_SECOND)
				c->check_same_second = 1;
			else if (k == CHECK_SHIPPED)
				c->check_shipped = 1;
			else
				c->check_statuses |= 1u << (PYCI_STALE + k);
			p += len + (p[len] == ',');
		}
	}
	return 0;
}

int cmd_scan(int argc, char **argv)
{
	struct scan_cli c = {0};
	int rc = EXIT_USAGE;

	int first = cli_parse(&scan_command, argc, argv, on_option, &c);
	if (first <= 0) {
		rc = first == 0 ? EXIT_OK : EXIT_USAGE;
		goto out;
	}
	if (scanrun_operands(&c.e, argv + first) != 0 || scanrun_ready(&c.e) != 0)
		goto out;

	c.e.cmd = &c;
	c.e.archive_lines = 1;
	c.e.progress = 1;
	pyci_scan_ops ops = {.record = on_record,
			     .error = scanrun_walk_error,
			     .dir_done = NULL,
			     .ctx = &c.e,
			     .venv = scanrun_venv,
			     .prepare = NULL};
	int fatal = scanrun_run(&c.e, argv + first, &ops, NULL);
	rc = fatal ? EXIT_USAGE : EXIT_OK;
	if (!c.e.write_failed) {
		pyci_summary_sort(&c.e.sum);
		int s = c.e.quiet > 1 ? 0 : c.e.json ? summary_json(&c) : summary_text(&c);
		if (s != 0 || cli_flush(&c.e.out) != 0)
			rc = EXIT_USAGE;
	} else {
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_OK && c.check && check_fails(&c))
		rc = EXIT_FINDINGS;
out:
	scanrun_free(&c.e);
	return rc;
}
