/*
 * cmd_scan.c - `pycinspect scan`: judge every cache under the given paths and report.
 *
 * Text for people (one line per cache that is not fresh, then a summary) or JSON Lines for
 * machines (one "pyc" object per cache, "error" objects, one "summary").  With --check the exit
 * status says whether anything needs attention.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "pycinspect/json.h"
#include "pycinspect/record.h"
#include "pycinspect/scan.h"
#include "pycinspect/target.h"

#define FLUSH_AT (64 * 1024)

struct scan_cli {
	int all, json, check;
	pyci_buf out;
	pyci_summary sum;
	int write_failed;
};

static const char scan_usage[] =
	"usage: pycinspect scan [OPTIONS] [PATH...]\n"
	"\n"
	"Judge every .pyc/.pyo under each PATH (default: .) as the interpreter that owns it would.\n"
	"Statuses: fresh, stale, orphaned, sourceless, invalid, foreign.\n"
	"\n"
	"options:\n"
	"  -a, --all                 list fresh caches too\n"
	"      --json                JSON Lines on stdout (see docs/json.md)\n"
	"      --check               exit 1 if any cache is not fresh or a directory was unreadable\n"
	"  -t, --target LIST         interpreters the tree is for, comma-separated, repeatable:\n"
	"                            3.12, cpython-312, pypy310, pypy3.10 (default: those on PATH)\n"
	"      --check-source MODE   hash-based caches: default, always or never, as CPython's\n"
	"                            --check-hash-based-pycs (default also reports unchecked\n"
	"                            caches whose source changed)\n"
	"      --cross-mounts        descend into other mounted filesystems\n"
	"  -j, --jobs N              worker threads (default: one per CPU, at most 8; 1: none);\n"
	"                            the output is the same for any N\n"
	"  -h, --help                this help\n"
	"\n"
	"Symlinks are never followed (write DIR/ to scan the directory a symlink points to).\n"
	"exit status: 0 ok, 1 findings under --check, 2 usage or fatal error\n";

static int emit_line_text(struct scan_cli *c, const pyci_record *r)
{
	char version[24];
	if (pyci_record_version(r, version, sizeof(version)) != 0)
		strcpy(version, "-");
	pyci_buf *b = &c->out;
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
	if (c->write_failed) {
		errno = EIO;
		return -1;
	}
	if (pyci_summary_add(&c->sum, r) != 0)
		return -1;
	if (r->verdict->status == PYCI_FRESH && !c->all)
		return 0;
	int rc = c->json ? (pyci_record_json(&c->out, r, NULL) || pyci_buf_putc(&c->out, '\n'))
			 : emit_line_text(c, r);
	if (rc != 0)
		return -1;
	if (c->out.len >= FLUSH_AT && cli_flush(&c->out) != 0) {
		c->write_failed = 1;
		errno = EIO;
		return -1;
	}
	return 0;
}

static const char *walk_err_text(pyci_walk_err kind)
{
	switch (kind) {
	case PYCI_WALK_ERR_OPEN:
		return "cannot open directory";
	case PYCI_WALK_ERR_READ:
		return "cannot read directory";
	case PYCI_WALK_ERR_CHANGED:
		return "directory changed during the walk, skipped";
	default:
		return "mount point not crossed (use --cross-mounts)";
	}
}

static void on_error(void *ctx, const char *path, pyci_walk_err kind, int err)
{
	struct scan_cli *c = ctx;
	pyci_buf q = PYCI_BUF_INIT;
	/* keep stdout and stderr in order for a person watching both */
	if (!c->json && !c->write_failed && cli_flush(&c->out) != 0)
		c->write_failed = 1;
	if (kind == PYCI_WALK_ERR_MOUNT)
		c->sum.mounts++;
	else
		c->sum.errors++;
	if (cli_quote_path(&q, path, strlen(path)) == 0) {
		if (kind == PYCI_WALK_ERR_MOUNT || kind == PYCI_WALK_ERR_CHANGED)
			cli_error("'%s': %s", q.data, walk_err_text(kind));
		else
			cli_error("%s '%s': %s", walk_err_text(kind), q.data, strerror(err));
	}
	pyci_buf_free(&q);
	if (c->json) {
		pyci_buf *b = &c->out;
		if (pyci_buf_puts(b, "{\"type\":\"error\",\"path\":") == 0 &&
		    pyci_json_string(b, path, strlen(path)) == 0) {
			const char *msg = walk_err_text(kind);
			pyci_buf_puts(b, ",\"message\":");
			pyci_json_string(b, msg, strlen(msg));
			pyci_buf_printf(b, ",\"errno\":%d}\n", err);
		}
	}
}

static int parse_check_source(const char *s, pyci_check_source *out)
{
	if (strcmp(s, "default") == 0)
		*out = PYCI_CHECK_DEFAULT;
	else if (strcmp(s, "always") == 0)
		*out = PYCI_CHECK_ALWAYS;
	else if (strcmp(s, "never") == 0)
		*out = PYCI_CHECK_NEVER;
	else
		return -1;
	return 0;
}

/* The targets as "3.11, 3.12" (text) or "\"3.11\",\"3.12\"" (JSON array items). */
static int targets_list(pyci_buf *b, const pyci_targets *t, int json)
{
	for (size_t i = 0; i < t->count; i++) {
		char name[24];
		pyci_target_format(&t->items[i], name, sizeof(name));
		if (pyci_buf_printf(b, json ? "%s\"%s\"" : "%s%s", i ? (json ? "," : ", ") : "",
				    name) != 0)
			return -1;
	}
	return 0;
}

static int summary_text(struct scan_cli *c, const pyci_targets *t, const char *from)
{
	pyci_buf *b = &c->out;
	const pyci_summary *s = &c->sum;
	int rc = 0;
	if (c->sum.total.count && (c->all || c->sum.status[PYCI_FRESH].count != c->sum.total.count))
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
	if (t) {
		rc |= pyci_buf_puts(b, "targets: ");
		rc |= targets_list(b, t, 0);
		rc |= pyci_buf_printf(b, " (from %s)\n", strcmp(from, "PATH") ? "--target" : "PATH");
	} else {
		rc |= pyci_buf_puts(b, "targets: none found on PATH, so no cache is judged foreign "
				       "(use --target)\n");
	}
	if (s->errors)
		rc |= pyci_buf_printf(b, "errors: %llu (see stderr)\n",
				      (unsigned long long)s->errors);
	if (s->mounts)
		rc |= pyci_buf_printf(b, "mount points not crossed: %llu\n",
				      (unsigned long long)s->mounts);
	return rc ? -1 : 0;
}

static int summary_json(struct scan_cli *c, const pyci_targets *t, const char *from,
			pyci_check_source check)
{
	pyci_buf *b = &c->out;
	static const char *const modes[] = {"default", "always", "never"};
	int rc = pyci_buf_printf(b, "{\"type\":\"summary\",\"caches\":%llu,\"bytes\":%llu,",
				 (unsigned long long)c->sum.total.count,
				 (unsigned long long)c->sum.total.bytes);
	rc |= pyci_summary_json(b, &c->sum);
	rc |= pyci_buf_printf(b, ",\"foreign\":%llu,\"targets\":", (unsigned long long)c->sum.foreign);
	if (t) {
		rc |= pyci_buf_putc(b, '[');
		rc |= targets_list(b, t, 1);
		rc |= pyci_buf_printf(b, "],\"targets_from\":\"%s\"", from);
	} else {
		rc |= pyci_buf_puts(b, "null,\"targets_from\":null");
	}
	rc |= pyci_buf_printf(b, ",\"check_source\":\"%s\",\"errors\":%llu,\"mounts_not_crossed\":%llu}\n",
			      modes[check], (unsigned long long)c->sum.errors,
			      (unsigned long long)c->sum.mounts);
	return rc ? -1 : 0;
}

int cmd_scan(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_CHECK, OPT_CHECK_SOURCE, OPT_CROSS };
	static const struct option longopts[] = {
		{"all", no_argument, NULL, 'a'},
		{"json", no_argument, NULL, OPT_JSON},
		{"check", no_argument, NULL, OPT_CHECK},
		{"target", required_argument, NULL, 't'},
		{"check-source", required_argument, NULL, OPT_CHECK_SOURCE},
		{"cross-mounts", no_argument, NULL, OPT_CROSS},
		{"jobs", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct scan_cli c = {0};
	pyci_targets targets;
	pyci_targets_init(&targets);
	int have_targets = 0;
	pyci_scan_options opt = {0};

	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "+at:j:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			c.all = 1;
			break;
		case OPT_JSON:
			c.json = 1;
			break;
		case OPT_CHECK:
			c.check = 1;
			break;
		case 't':
			if (pyci_targets_add_list(&targets, optarg) != 0) {
				cli_error("invalid target in '%s' (expected e.g. 3.12, cpython-312, "
					  "pypy310)",
					  optarg);
				return EXIT_USAGE;
			}
			have_targets = 1;
			break;
		case OPT_CHECK_SOURCE:
			if (parse_check_source(optarg, &opt.check) != 0) {
				cli_error("invalid --check-source '%s' (default, always or never)",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_CROSS:
			opt.cross_mounts = 1;
			break;
		case 'j': {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > 64 || optarg[0] == '-') {
				cli_error("invalid --jobs '%s' (a number from 1 to 64)", optarg);
				return EXIT_USAGE;
			}
			opt.threads = (unsigned)n;
			break;
		}
		case 'h':
			fputs(scan_usage, stdout);
			return EXIT_OK;
		default:
			fputs("try 'pycinspect scan --help'\n", stderr);
			return EXIT_USAGE;
		}
	}

	const char *from = "option";
	if (!have_targets) {
		from = "PATH";
		have_targets = pyci_targets_from_path(&targets, getenv("PATH")) > 0;
	}
	opt.targets = have_targets ? &targets : NULL;

	pyci_scan_ops ops = {on_record, on_error, &c};
	int fatal = 0;
	char *dot[] = {".", NULL};
	char **paths = optind < argc ? argv + optind : dot;
	for (char **p = paths; *p; p++) {
		if (pyci_scan_path(*p, &opt, &ops) == 0)
			continue;
		int e = errno;
		if (c.write_failed)
			break;
		pyci_buf q = PYCI_BUF_INIT;
		cli_quote_path(&q, *p, strlen(*p));
		struct stat st;
		if (e == ELOOP && lstat(*p, &st) == 0 && S_ISLNK(st.st_mode))
			cli_error("'%s' is a symbolic link, not followed (write '%s/' to scan "
				  "the directory it points to)",
				  q.data, q.data);
		else if (e == EINVAL)
			cli_error("'%s' is not a directory or a .pyc/.pyo file", q.data);
		else
			cli_error("cannot scan '%s': %s", q.data, strerror(e));
		pyci_buf_free(&q);
		fatal = 1;
		if (e == ENOMEM)
			break;
	}

	int rc = fatal ? EXIT_USAGE : EXIT_OK;
	if (!c.write_failed) {
		pyci_summary_sort(&c.sum);
		const char *src = have_targets ? from : NULL;
		int s = c.json ? summary_json(&c, opt.targets, src, opt.check)
			       : summary_text(&c, opt.targets, src);
		if (s != 0 || cli_flush(&c.out) != 0)
			rc = EXIT_USAGE;
	} else {
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_OK && c.check &&
	    (c.sum.status[PYCI_FRESH].count != c.sum.total.count || c.sum.errors))
		rc = EXIT_FINDINGS;
	pyci_summary_free(&c.sum);
	pyci_buf_free(&c.out);
	return rc;
}
