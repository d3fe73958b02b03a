/*
 * cmd_magic.c - `pycinspect magic`: the magic-number table, looked up both ways.
 *
 *   pycinspect magic               every row
 *   pycinspect magic 3531 0x0a0d0dcb cb0d0d0a   numbers (decimal, LE word, or the four bytes)
 *   pycinspect magic cb0d 0d0a                  the four bytes as xxd prints them (or cb 0d 0d 0a)
 *   pycinspect magic 3.12 pypy3.9 cpython-312   every number of a version
 *   pycinspect magic 3.12.1 3.5.2               the number a release writes
 *
 * Each argument is looked up on its own: one that is unknown or malformed is said on stderr and
 * the others are still printed.  The exit status is the worst: 2 when some argument is neither
 * a number nor a version (as for a PATH scan cannot read), else 1 when one is not known.  The
 * table's header line is printed only above rows.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "cli.h"
#include "pycinspect/json.h"
#include "pycinspect/magic.h"
#include "pycinspect/srchash.h"
#include "pycinspect/target.h"

enum { MAGIC_JSON = 256 };

/* magic takes no engine option: its --json is its own (no -j, which is scan's --jobs). */
static const struct cli_option magic_options[] = {
	{"json", 0, CLI_NOARG, NULL, "one JSON object per row", MAGIC_JSON, NULL},
	{0},
};

static const struct cli_group magic_groups[] = {
	{"options:", magic_options, 0},
	{NULL, cli_help_option, 0},
	{0},
};

const struct cli_command magic_command = {
	.name = "magic",
	.head = "usage: pycinspect magic [--json] [NUMBER|VERSION...]\n"
		"\n"
		"Without arguments, print every known magic number.  NUMBER is the 16-bit magic (3531),\n"
		"the little-endian word (0x0a0d0dcb) or the first four bytes of a .pyc as eight hex\n"
		"digits (cb0d0d0a, 02999900), also as xxd -l4 prints them (cb0d 0d0a, cb 0d 0d 0a);\n"
		"VERSION is 3.12, cpython-312, pypy3.9 or pypy39 (every number of that version), or a\n"
		"release such as 3.12.1 or 3.5.2 (the number its final release writes).\n",
	.groups = magic_groups,
	.tail = "\n"
		"Every argument is looked up; the rows of those found are printed even when others fail.\n"
		"exit status: 0 all found, 1 some NUMBER or VERSION unknown, 2 some argument is neither\n"
		"a NUMBER nor a VERSION, or another usage error\n",
	.column = 18,
};

static const char *match_name(pyci_magic_match m)
{
	return m == PYCI_MAGIC_EXACT ? "exact" : m == PYCI_MAGIC_UNICODE ? "unicode" : "range";
}

static int emit(pyci_buf *b, const pyci_magic_info *m, int json)
{
	char version[24];
	pyci_target t = {m->impl, m->major, m->minor};
	pyci_target_format(&t, version, sizeof(version));
	/* cannot truncate: versions fit in 24 bytes, the table's labels are under 24 */
	char label[64];
	if (m->match == PYCI_MAGIC_RANGE)
		(void)snprintf(label, sizeof(label), "%s-range, unknown", version);
	else if (m->match == PYCI_MAGIC_UNICODE)
		(void)snprintf(label, sizeof(label), "%s -U", m->label);
	else
		(void)snprintf(label, sizeof(label), "%s", m->label);
	size_t hsize = pyci_magic_header_size(m);
	const char *hash = NULL;
	if (hsize == 16) {
		int c, d;
		pyci_srchash_rounds(m, &c, &d);
		hash = c == 1 ? "siphash13" : "siphash24";
	}
	unsigned w = m->word;
	if (json) {
		unsigned char bytes[4] = {(unsigned char)w, (unsigned char)(w >> 8),
					  (unsigned char)(w >> 16), (unsigned char)(w >> 24)};
		pyci_jw j;
		pyci_jw_init(&j, b);
		pyci_jw_begin(&j, NULL);
		pyci_jw_cstr(&j, "type", "magic");
		pyci_jw_u64(&j, "magic", m->number);
		pyci_jw_bytes(&j, "bytes", bytes, sizeof(bytes));
		pyci_jw_cstr(&j, "implementation", pyci_impl_name(m->impl));
		pyci_jw_cstr(&j, "version", version);
		pyci_jw_cstr(&j, "label", label);
		pyci_jw_bool(&j, "final", m->final);
		pyci_jw_cstr(&j, "final_for", m->final ? m->final_for : NULL);
		pyci_jw_cstr(&j, "match", match_name(m->match));
		pyci_jw_u64(&j, "header_size", hsize);
		pyci_jw_cstr(&j, "source_hash", hash);
		pyci_jw_cstr(&j, "note", m->note);
		pyci_jw_end(&j);
		return cli_json_line(&j);
	}
	return pyci_buf_printf(b, "%-8u %02x %02x %02x %02x  %-8s %-9s %-22s %s\n",
			       (unsigned)m->number, w & 255, (w >> 8) & 255, (w >> 16) & 255,
			       w >> 24, pyci_impl_name(m->impl), version, label,
			       m->final ? m->final_for : "");
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Whether s is n hex digits. */
static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval((unsigned char)s[i]) < 0)
			return 0;
	return s[n] == '\0';
}

/*
 * Bytes as people paste them (xxd -l4 prints "cb0d 0d0a", the table "cb 0d 0d 0a"): the words
 * args[0 .. k) of 2 or 4 hex digits, or one argument holding such groups separated by spaces,
 * that together make 8 hex digits whose bytes end in "\r\n" as every magic number's do.  Fills
 * hex (9 bytes) with the 8 digits and returns how many arguments they took, or 0.
 */
static int pasted_bytes(char *const *args, int nargs, char hex[9])
{
	size_t got = 0;
	int used = 0;
	if (nargs > 0 && strchr(args[0], ' ')) {
		for (const char *p = args[0]; *p && got <= 8; p++) {
			if (*p == ' ')
				continue;
			if (hexval((unsigned char)*p) < 0)
				return 0;
			hex[got++] = *p;
		}
		used = 1;
	} else {
		while (used < nargs && got < 8) {
			size_t n = strlen(args[used]);
			if ((n != 2 && n != 4) || !all_hex(args[used], n) || got + n > 8)
				break;
			memcpy(hex + got, args[used], n);
			got += n;
			used++;
		}
		if (used < 2)
			return 0; /* one word of 8 digits is parse_number's */
	}
	if (got != 8)
		return 0;
	hex[8] = '\0';
	return strncasecmp(hex + 4, "0d0a", 4) == 0 ? used : 0;
}

/*
 * A number argument as a magic word: eight hex digits are the first four bytes of a .pyc
 * (cb0d0d0a, 02999900); otherwise decimal (3531) or 0x-prefixed hex, the LE word.
 */
static int parse_number(const char *s, uint32_t *word)
{
	size_t n = strlen(s);
	if (n == 8 && all_hex(s, 8)) {
		uint32_t w = 0;
		for (size_t i = 0; i < 4; i++) {
			int byte = hexval((unsigned char)s[2 * i]) * 16 +
				   hexval((unsigned char)s[2 * i + 1]);
			w |= (uint32_t)byte << (8 * i);
		}
		/* 10066178 is both bytes and 1.0's word in decimal, as the table prints it: take the
		 * reading that names a known magic, bytes first */
		pyci_magic_info m;
		unsigned long dec = strtoul(s, NULL, 10);
		if (strspn(s, "0123456789") == 8 && pyci_magic_lookup_word(w, &m) != 0 &&
		    pyci_magic_lookup_word((uint32_t)dec, &m) == 0)
			w = (uint32_t)dec;
		*word = w;
		return 0;
	}
	int hex = n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (n == 0 || s[0] == '-' || s[0] == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, hex ? 16 : 10);
	if (errno || end == s || *end || v > 0xFFFFFFFFul)
		return -1;
	*word = v <= 0xFFFF ? (uint32_t)v | 0x0A0D0000u : (uint32_t)v;
	return 0;
}

/*
 * "3.12.1", "python3.12.1", "pypy3.9.18": a version followed by a patch level.  Sets *t and
 * *patch; -1 when s is not that form.
 */
static int parse_release(const char *s, pyci_target *t, int *patch)
{
	const char *dot = strrchr(s, '.');
	if (!dot || !memchr(s, '.', (size_t)(dot - s)))
		return -1; /* the version before it must be dotted too: "3.12", not "cpython-312" */
	size_t digits = strspn(dot + 1, "0123456789");
	if (digits == 0 || digits > 4 || dot[1 + digits] != '\0')
		return -1;
	pyci_targets one;
	pyci_targets_init(&one);
	if (pyci_targets_add_spec(&one, s, (size_t)(dot - s)) != 0 || one.count != 1)
		return -1;
	*t = one.items[0];
	*patch = (int)strtol(dot + 1, NULL, 10); /* at most 4 digits */
	return 0;
}

struct magic_out {
	pyci_buf b;
	int json;
	int header_done; /* text: the header line goes above the first row, never alone */
};

static int emit_row(struct magic_out *o, const pyci_magic_info *m)
{
	if (!o->json && !o->header_done) {
		if (pyci_buf_printf(&o->b, "%-8s %-12s %-8s %-9s %-22s %s\n", "magic", "bytes",
				    "impl", "version", "label", "final for") != 0)
			return -1;
		o->header_done = 1;
	}
	return emit(&o->b, m, o->json);
}

/* emit_row for a row of the table (its word always looks up). */
static int emit_table_row(struct magic_out *o, const pyci_magic_row *row)
{
	pyci_magic_info m;
	if (pyci_magic_lookup_word(row->word, &m) != 0)
		return -1;
	return emit_row(o, &m);
}

/* Print the rows of one argument.  1 printed, 0 nothing known (said on stderr), -1 not a
 * number nor a version (said), -2 out of memory. */
static int look_up(struct magic_out *o, const char *arg)
{
	size_t count;
	const pyci_magic_row *rows = pyci_magic_table(&count);
	uint32_t word;
	pyci_targets want;
	pyci_target rel;
	int patch, found = 0;
	pyci_targets_init(&want);
	if (parse_number(arg, &word) == 0 && strchr(arg, '.') == NULL) {
		pyci_magic_info m;
		if (pyci_magic_lookup_word(word, &m) == 0)
			return emit_row(o, &m) != 0 ? -2 : 1;
		/* read the wrong way round (a big-endian dump, a reversed paste)? */
		uint32_t swapped = (word >> 24) | ((word >> 8) & 0xFF00u) |
				   ((word << 8) & 0xFF0000u) | (word << 24);
		if (pyci_magic_lookup_word(swapped, &m) == 0)
			cli_error(
				"'%s' is not a known Python magic number; with its bytes reversed "
				"(%02x%02x%02x%02x) it is %u (%s %d.%d)",
				arg, swapped & 255, (swapped >> 8) & 255, (swapped >> 16) & 255,
				swapped >> 24, (unsigned)m.number, pyci_impl_name(m.impl), m.major,
				m.minor);
		else
			cli_error("'%s' is not a known Python magic number", arg);
		return 0;
	}
	/* a release first: pyci_targets_add_spec takes 3.12.1 for all of 3.12 */
	if (parse_release(arg, &rel, &patch) == 0) {
		int series = 0;
		for (size_t i = 0; i < count; i++) {
			series |= rows[i].impl == rel.impl && rows[i].major == rel.major &&
				  rows[i].minor == rel.minor;
			if (!pyci_magic_release_writes(&rows[i], rel.impl, rel.major, rel.minor,
						       patch))
				continue;
			if (emit_table_row(o, &rows[i]) != 0)
				return -2;
			found = 1;
		}
		if (!found) {
			char version[24];
			pyci_target_format(&rel, version, sizeof(version));
			if (series)
				cli_error(
					"no magic number known for '%s': %s has no final release yet "
					"('pycinspect magic %s' lists its numbers)",
					arg, version, version);
			else
				cli_error("no magic number known for '%s'", arg);
		}
		return found;
	}
	if (pyci_targets_add_spec(&want, arg, strlen(arg)) == 0) {
		for (size_t i = 0; i < count; i++) {
			if (!pyci_targets_contains(&want, rows[i].impl, rows[i].major,
						   rows[i].minor))
				continue;
			if (emit_table_row(o, &rows[i]) != 0)
				return -2;
			found = 1;
		}
		if (!found)
			cli_error("no magic number known for '%s'", arg);
		return found;
	}
	cli_error("'%s' is neither a magic number nor a version", arg);
	return -1;
}

/* cli_parse's on_option: --json, the only one (--help is cli_parse's). */
static int on_option(void *ctx, int id, const char *arg)
{
	struct magic_out *o = ctx;
	(void)arg; /* a flag */
	if (id == MAGIC_JSON)
		o->json = 1;
	return 0;
}

int cmd_magic(int argc, char **argv)
{
	struct magic_out o = {PYCI_BUF_INIT, 0, 0};
	int first = cli_parse(&magic_command, argc, argv, on_option, &o);
	if (first <= 0)
		return first == 0 ? EXIT_OK : EXIT_USAGE;
	int rc = EXIT_OK;
	if (first >= argc) {
		size_t count;
		const pyci_magic_row *rows = pyci_magic_table(&count);
		for (size_t i = 0; i < count; i++)
			if (emit_table_row(&o, &rows[i]) != 0)
				goto nomem;
	}
	for (int a = first; a < argc; a++) {
		char hex[9];
		int took = pasted_bytes(argv + a, argc - a, hex);
		int found = look_up(&o, took ? hex : argv[a]);
		if (took)
			a += took - 1;
		if (found == -2)
			goto nomem;
		if (found == -1)
			rc = EXIT_USAGE;
		else if (found == 0 && rc == EXIT_OK)
			rc = EXIT_FINDINGS;
	}
	if (cli_flush(&o.b) != 0)
		rc = EXIT_USAGE;
	pyci_buf_free(&o.b);
	return rc;
nomem:
	cli_error("out of memory");
	pyci_buf_free(&o.b);
	return EXIT_USAGE;
}
