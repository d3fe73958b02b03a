/*
 * cmd_clean.c - `pycinspect clean`: remove the caches whose verdict was selected, and the
 * __pycache__ directories that this empties; nothing else, and nothing without its record.
 *
 * The scan engine reports the caches of one directory (and its __pycache__) together, then
 * calls dir_done while both directories are still open.  Each selected cache's record is
 * written first, saying what is about to happen; at dir_done the records are flushed to stdout
 * and only when that write succeeded are the files removed, one by one, each after a fresh
 * identity check (pyci_clean_remove).  A removal that then fails or finds the file changed gets
 * a second record for the same path with action "failed" or "kept", which supersedes the first.
 * A dry run takes exactly the same path; only the final unlinkat is skipped, inside
 * pyci_clean_remove and pyci_clean_rmdir.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "pycinspect/clean.h"
#include "pycinspect/json.h"

/* A cache to remove at dir_done: the record as judged, its paths copied. */
struct pending {
	pyci_record rec;
	size_t path_off, src_off; /* into clean_cli.arena; src_off SIZE_MAX: no source */
	int in_pycache;
};

struct clean_cli {
	struct engine_cli e; /* first: the engine's callbacks take this struct as theirs */
	unsigned selected;
	int dry_run;
	struct pending *pending;
	size_t npending, cap;
	pyci_buf arena;         /* paths of the pending removals */
	int writable_fd;        /* the last directory checked for write access, -1 none */
	int writable_err;
	pyci_summary removed;   /* what was (or would be) removed, per version */
	size_t unremoved_in_pycache; /* selected caches of the current __pycache__ left in it */
	unsigned long long dirs, failed, kept;
};

static const char clean_usage[] =
	"usage: pycinspect clean SELECTOR... [OPTIONS] [PATH...]\n"
	"\n"
	"Remove the caches under each PATH (default: .) whose verdict is selected, and the\n"
	"__pycache__ directories that this leaves empty.  Nothing is removed without a selector.\n"
	"\n"
	"selectors:\n"
	"      --stale               caches the owner interpreter would recompile (or, unchecked\n"
	"                            hash, runs outdated)\n"
	"      --orphaned            caches whose source is gone (a name no import looks up,\n"
	"                            such as __pycache__/x.pyc, is kept: remove it by hand)\n"
	"      --foreign             caches of interpreters that are not targets\n"
	"      --invalid             caches no interpreter can use\n"
	"      --all                 the four above\n"
	"      --sourceless          legacy NAME.pyc with no NAME.py: never implied, such a file may\n"
	"                            be a deliberate sourceless module\n"
	"\n"
	"options:\n"
	"  -n, --dry-run             say what would be removed, remove nothing\n" ENGINE_USAGE
	"  -h, --help                this help\n"
	"\n"
	"Only regular files with a cache name are removed, through the directory descriptors of the\n"
	"walk, after checking that each is still the file that was judged.  Symlinks are never\n"
	"followed, other filesystems are not entered, and '/' is refused as a PATH.\n"
	"exit status: 0 every selected cache removed, 1 some failed or were kept for safety (each\n"
	"one reported), 2 usage or fatal error (nothing more is removed once output fails)\n";

static const char *verb(const struct clean_cli *c)
{
	return c->dry_run ? "would-remove" : "removed";
}

/* 'path' for a person, as GNU rm prints it: in single quotes, or as $'...' when it must be. */
static int quoted(pyci_buf *b, const char *path, size_t len)
{
	size_t start = b->len;
	if (pyci_buf_putc(b, '\'') != 0 || cli_quote_path(b, path, len) != 0)
		return -1;
	if (b->len - start - 1 == len && memcmp(b->data + start + 1, path, len) == 0)
		return pyci_buf_putc(b, '\'');
	/* it needed $'...': drop the quote put in front */
	memmove(b->data + start, b->data + start + 1, b->len - start - 1);
	b->data[--b->len] = '\0';
	return 0;
}

/* A "pyc" record (JSON) or line (text) for r with its action. */
static int put_record(struct clean_cli *c, const pyci_record *r, const char *action,
		      const char *error)
{
	pyci_buf *b = &c->e.out;
	if (c->e.json) {
		pyci_buf extra = PYCI_BUF_INIT;
		int rc = pyci_buf_puts(&extra, ",\"action\":\"") || pyci_buf_puts(&extra, action) ||
			 pyci_buf_putc(&extra, '"');
		if (!rc && error)
			rc = pyci_buf_puts(&extra, ",\"error\":") ||
			     pyci_json_string(&extra, error, strlen(error));
		rc = rc || pyci_record_json(b, r, extra.data) || pyci_buf_putc(b, '\n');
		pyci_buf_free(&extra);
		return rc ? -1 : 0;
	}
	if (error) { /* kept and failed go to stderr with the reason */
		pyci_buf q = PYCI_BUF_INIT;
		if (quoted(&q, r->path, r->path_len) == 0)
			cli_error("%s %s: %s", strcmp(action, "kept") ? "cannot remove" : "kept",
				  q.data, error);
		pyci_buf_free(&q);
		return 0;
	}
	return pyci_buf_puts(b, c->dry_run ? "would remove " : "removed ") ||
	       quoted(b, r->path, r->path_len) || pyci_buf_putc(b, '\n');
}

/* Whether dirfd can be written into (cached for the directory last asked about). */
static int writable(struct clean_cli *c, int dirfd)
{
	if (dirfd != c->writable_fd) {
		c->writable_fd = dirfd;
		c->writable_err = faccessat(dirfd, ".", W_OK | X_OK, AT_EACCESS) == 0 ? 0 : errno;
	}
	return c->writable_err;
}

static int on_record(void *ctx, const pyci_record *r)
{
	struct clean_cli *c = ctx;
	const char *why;
	int elig = pyci_clean_eligible(r, c->selected, &why);
	if (elig == 0)
		return 0;
	int in_pycache = r->cname->kind != PYCI_NAME_LEGACY;
	if (elig < 0) {
		c->kept++;
		c->unremoved_in_pycache += in_pycache;
		return put_record(c, r, "kept", why);
	}
	int werr = writable(c, r->dirfd); /* a dry run asks too: it is the real run */
	if (werr) {
		c->failed++;
		c->unremoved_in_pycache += in_pycache;
		return put_record(c, r, "failed", strerror(werr));
	}
	if (c->npending == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct pending *p = realloc(c->pending, cap * sizeof(*p));
		if (!p)
			return -1;
		c->pending = p;
		c->cap = cap;
	}
	struct pending *p = &c->pending[c->npending];
	p->rec = *r;
	p->in_pycache = r->cname->kind == PYCI_NAME_PYCACHE;
	p->path_off = c->arena.len;
	if (pyci_buf_append(&c->arena, r->path, r->path_len + 1) != 0)
		return -1;
	p->src_off = SIZE_MAX;
	if (r->source_path) {
		p->src_off = c->arena.len;
		if (pyci_buf_append(&c->arena, r->source_path, r->source_path_len + 1) != 0)
			return -1;
	}
	c->npending++;
	return put_record(c, r, verb(c), NULL);
}

/* A "dir" record (JSON) or line (text). */
static int put_dir(struct clean_cli *c, const pyci_dir_done *d, size_t removed,
		   const char *action, const char *error)
{
	pyci_buf *b = &c->e.out;
	const char *path = d->pycache_path;
	size_t others = d->entries - d->caches;
	size_t unremoved = c->unremoved_in_pycache;           /* selected, but failed or kept */
	size_t not_selected = d->caches - removed - unremoved;
	if (c->e.json) {
		int rc = pyci_buf_puts(b, "{\"type\":\"dir\",\"path\":") ||
			 pyci_json_string(b, path, strlen(path)) ||
			 pyci_buf_printf(b, ",\"action\":\"%s\",\"entries\":%zu,\"kept_by\":[", action,
					 d->entries);
		const char *n = d->others;
		for (size_t i = 0; !rc && i < d->others_named; i++, n += strlen(n) + 1)
			rc = (i && pyci_buf_putc(b, ',')) || pyci_json_string(b, n, strlen(n));
		rc = rc || pyci_buf_printf(b,
					   "],\"other_entries\":%zu,\"caches_left\":%zu,"
					   "\"caches_not_removed\":%zu",
					   others, not_selected, unremoved);
		if (!rc && error)
			rc = pyci_buf_puts(b, ",\"error\":") || pyci_json_string(b, error, strlen(error));
		return rc || pyci_buf_puts(b, "}\n") ? -1 : 0;
	}
	if (error) {
		pyci_buf q = PYCI_BUF_INIT;
		if (quoted(&q, path, strlen(path)) == 0)
			cli_error("cannot remove directory %s: %s", q.data, error);
		pyci_buf_free(&q);
		return 0;
	}
	if (strcmp(action, "kept") != 0)
		return pyci_buf_puts(b, c->dry_run ? "would remove directory " : "removed directory ") ||
		       quoted(b, path, strlen(path)) || pyci_buf_putc(b, '\n');
	/* kept because of what else it holds: say what */
	int rc = pyci_buf_puts(b, "kept directory ") || quoted(b, path, strlen(path)) ||
		 pyci_buf_puts(b, ": it still holds ");
	if (!rc && not_selected)
		rc = pyci_buf_printf(b, "%zu cache%s not selected%s", not_selected,
				     not_selected == 1 ? "" : "s", unremoved || others ? ", " : "");
	if (!rc && unremoved)
		rc = pyci_buf_printf(b, "%zu that could not be removed%s", unremoved,
				     others ? ", " : "");
	if (!rc && others)
		rc = pyci_buf_printf(b, "%zu other entr%s", others, others == 1 ? "y" : "ies");
	const char *n = d->others;
	for (size_t i = 0; !rc && i < d->others_named; i++, n += strlen(n) + 1)
		rc = pyci_buf_puts(b, i ? ", " : " (") || quoted(b, n, strlen(n));
	if (!rc && d->others_named)
		rc = pyci_buf_puts(b, others > d->others_named ? ", ...)" : ")");
	return rc || pyci_buf_putc(b, '\n') ? -1 : 0;
}

/* Nothing is removed unless its record reached stdout. */
static int flush_or_stop(struct clean_cli *c)
{
	if (cli_flush(&c->e.out) != 0) {
		c->e.write_failed = 1;
		errno = EIO;
		return -1;
	}
	return 0;
}

static int on_dir_done(void *ctx, const pyci_dir_done *d)
{
	struct clean_cli *c = ctx;
	c->writable_fd = -1; /* descriptor numbers are reused by later directories */
	if (flush_or_stop(c) != 0) {
		c->npending = 0;
		pyci_buf_clear(&c->arena);
		return -1;
	}
	size_t removed_in_pycache = 0;
	for (size_t i = 0; i < c->npending; i++) {
		struct pending *p = &c->pending[i];
		p->rec.path = c->arena.data + p->path_off;
		p->rec.source_path = p->src_off == SIZE_MAX ? NULL : c->arena.data + p->src_off;
		if (pyci_clean_remove(p->rec.dirfd, p->rec.name, &p->rec.file, c->dry_run) == 0) {
			if (pyci_summary_add(&c->removed, &p->rec) != 0)
				return -1;
			removed_in_pycache += p->in_pycache;
			continue;
		}
		int err = errno;
		c->unremoved_in_pycache += p->in_pycache;
		if (err == ESTALE) {
			c->kept++;
			put_record(c, &p->rec, "kept", "changed since it was judged");
		} else {
			c->failed++;
			put_record(c, &p->rec, "failed", strerror(err));
		}
	}
	c->npending = 0;
	pyci_buf_clear(&c->arena);

	if (d->has_pycache && removed_in_pycache) {
		if (removed_in_pycache < d->entries) {
			if (put_dir(c, d, removed_in_pycache, "kept", NULL) != 0)
				return -1;
		} else {
			if (put_dir(c, d, removed_in_pycache, verb(c), NULL) != 0 ||
			    flush_or_stop(c) != 0)
				return -1;
			if (pyci_clean_rmdir(d->fd, d->pycache_name, d->pycache_fd, c->dry_run) == 0) {
				c->dirs++;
			} else {
				int err = errno;
				c->failed++;
				put_dir(c, d, removed_in_pycache, "failed",
					err == ESTALE ? "replaced since it was listed" : strerror(err));
			}
		}
	}
	c->unremoved_in_pycache = 0;
	return flush_or_stop(c);
}

static int summary(struct clean_cli *c)
{
	pyci_buf *b = &c->e.out;
	pyci_summary *s = &c->removed;
	pyci_summary_sort(s);
	int rc = 0;
	if (c->e.json) {
		rc |= pyci_buf_printf(b,
				      "{\"type\":\"summary\",\"dry_run\":%s,\"files\":%llu,\"bytes\":%llu,"
				      "\"directories\":%llu,\"failed\":%llu,\"kept\":%llu,",
				      c->dry_run ? "true" : "false",
				      (unsigned long long)s->total.count,
				      (unsigned long long)s->total.bytes, c->dirs, c->failed, c->kept);
		rc |= pyci_summary_json(b, s);
		rc |= engine_summary_json(&c->e);
		rc |= pyci_buf_puts(b, "}\n");
		return rc ? -1 : 0;
	}
	if (s->total.count || c->dirs)
		rc |= pyci_buf_putc(b, '\n');
	rc |= pyci_buf_printf(b, "%s %llu file%s (", c->dry_run ? "would remove" : "removed",
			      (unsigned long long)s->total.count, s->total.count == 1 ? "" : "s");
	rc |= cli_human_bytes(b, s->total.bytes);
	rc |= pyci_buf_printf(b, ") and %llu director%s\n", c->dirs, c->dirs == 1 ? "y" : "ies");
	for (size_t v = 0; v < s->nversions; v++) {
		rc |= pyci_buf_printf(b, "  %-10s %8llu  ", s->versions[v].version,
				      (unsigned long long)s->versions[v].total.count);
		rc |= cli_human_bytes(b, s->versions[v].total.bytes);
		rc |= pyci_buf_putc(b, '\n');
	}
	if (c->failed || c->kept)
		rc |= pyci_buf_printf(b, "not removed: %llu failed, %llu kept for safety (see stderr)\n",
				      c->failed, c->kept);
	rc |= engine_summary_text(&c->e);
	return rc ? -1 : 0;
}

static int refuse_root(const char *path)
{
	if (!pyci_clean_is_root(path))
		return 0;
	cli_error("refusing to clean '/'");
	return 1;
}

int cmd_clean(int argc, char **argv)
{
	enum { OPT_STALE = 256, OPT_ORPHANED, OPT_FOREIGN, OPT_INVALID, OPT_SOURCELESS, OPT_ALL };
	static const struct option longopts[] = {
		{"stale", no_argument, NULL, OPT_STALE},
		{"orphaned", no_argument, NULL, OPT_ORPHANED},
		{"foreign", no_argument, NULL, OPT_FOREIGN},
		{"invalid", no_argument, NULL, OPT_INVALID},
		{"sourceless", no_argument, NULL, OPT_SOURCELESS},
		{"all", no_argument, NULL, OPT_ALL},
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		ENGINE_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct clean_cli c = {0};
	c.writable_fd = -1;
	int rc = EXIT_USAGE;

	optind = 1;
	int ch;
	while ((ch = cli_getopt(argc, argv, "nh" ENGINE_SHORTOPTS, longopts)) != -1) {
		int mine = engine_option(&c.e, ch, optarg);
		if (mine < 0)
			goto out;
		if (mine)
			continue;
		switch (ch) {
		case OPT_STALE:
			c.selected |= PYCI_SELECT(PYCI_STALE);
			break;
		case OPT_ORPHANED:
			c.selected |= PYCI_SELECT(PYCI_ORPHANED);
			break;
		case OPT_FOREIGN:
			c.selected |= PYCI_SELECT(PYCI_FOREIGN);
			break;
		case OPT_INVALID:
			c.selected |= PYCI_SELECT(PYCI_INVALID);
			break;
		case OPT_SOURCELESS:
			c.selected |= PYCI_SELECT(PYCI_SOURCELESS);
			break;
		case OPT_ALL:
			c.selected |= PYCI_SELECT(PYCI_STALE) | PYCI_SELECT(PYCI_ORPHANED) |
				      PYCI_SELECT(PYCI_FOREIGN) | PYCI_SELECT(PYCI_INVALID);
			break;
		case 'n':
			c.dry_run = 1;
			break;
		case 'h':
			(void)fputs(clean_usage, stdout); /* checked at exit: cli_close_stdout */
			rc = EXIT_OK;
			goto out;
		default:
			(void)fputs("try 'pycinspect clean --help'\n", stderr);
			goto out;
		}
	}
	if (!c.selected) {
		cli_error("nothing selected: say what to remove (--stale, --orphaned, --foreign, "
			  "--invalid, --all, --sourceless)");
		goto out;
	}
	if (engine_ready(&c.e) != 0)
		goto out;
	/* --foreign (or --all) with targets guessed from PATH: every cache of an interpreter that
	 * is not on this PATH goes, even one another user or a service still runs.  Say so first. */
	if ((c.selected & PYCI_SELECT(PYCI_FOREIGN)) && engine_warn_guessed_targets(&c.e) != 0)
		goto out;

	/* the last close of each removed __pycache__ may wait for the device: not on this thread */
	c.e.opt.defer_close = 1;
	c.e.refuse_overlap = 1; /* the dry run could not foresee a second pass over the same files */
	pyci_scan_ops ops = {on_record, engine_walk_error, on_dir_done, &c, NULL};
	int fatal = engine_run(&c.e, argv + optind, &ops, refuse_root);
	if (c.e.write_failed || fatal < 0)
		goto out; /* nothing ran: no summary to give */
	rc = fatal ? EXIT_USAGE : (c.failed || c.kept || c.e.sum.errors) ? EXIT_FINDINGS : EXIT_OK;
	if (summary(&c) != 0 || cli_flush(&c.e.out) != 0)
		rc = EXIT_USAGE;
out:
	free(c.pending);
	pyci_buf_free(&c.arena);
	pyci_summary_free(&c.removed);
	engine_free(&c.e);
	return rc;
}
