/*
 * cmd_magic.c - `pycinspect magic`: the magic-number table, looked up both ways.
 *
 *   pycinspect magic               every row
 *   pycinspect magic 3531 0x0a0d0dcb cb0d0d0a   numbers (decimal, LE word, or the four bytes)
 *   pycinspect magic 3.12 pypy3.9 cpython-312   every number of a version
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pycinspect/json.h"
#include "pycinspect/magic.h"
#include "pycinspect/srchash.h"
#include "pycinspect/target.h"

static const char magic_usage[] =
	"usage: pycinspect magic [--json] [NUMBER|VERSION...]\n"
	"\n"
	"Without arguments, print every known magic number.  NUMBER is the 16-bit magic (3531),\n"
	"the little-endian word (0x0a0d0dcb) or the first four bytes of a .pyc as eight hex\n"
	"digits (cb0d0d0a, 02999900);\n"
	"VERSION is 3.12, cpython-312, pypy3.9 or pypy39.\n"
	"\n"
	"options:\n"
	"      --json      one JSON object per row\n"
	"  -h, --help      this help\n"
	"\n"
	"exit status: 0 all found, 1 some NUMBER or VERSION unknown, 2 usage error\n";

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
		int rc = pyci_buf_printf(b,
					 "{\"type\":\"magic\",\"magic\":%u,\"bytes\":\"%02x%02x%02x%02x\","
					 "\"implementation\":\"%s\",\"version\":\"%s\",\"label\":",
					 (unsigned)m->number, w & 255, (w >> 8) & 255, (w >> 16) & 255,
					 w >> 24, pyci_impl_name(m->impl), version);
		rc |= pyci_json_string(b, label, strlen(label));
		rc |= pyci_buf_printf(b, ",\"final\":%s,\"final_for\":", m->final ? "true" : "false");
		rc |= m->final ? pyci_json_string(b, m->final_for, strlen(m->final_for))
			       : pyci_buf_puts(b, "null");
		rc |= pyci_buf_printf(b, ",\"match\":\"%s\",\"header_size\":%zu,\"source_hash\":",
				      match_name(m->match), hsize);
		rc |= hash ? pyci_buf_printf(b, "\"%s\"", hash) : pyci_buf_puts(b, "null");
		rc |= pyci_buf_puts(b, ",\"note\":");
		rc |= pyci_json_string(b, m->note, strlen(m->note));
		rc |= pyci_buf_puts(b, "}\n");
		return rc ? -1 : 0;
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

/*
 * A number argument as a magic word: eight hex digits are the first four bytes of a .pyc
 * (cb0d0d0a, 02999900); otherwise decimal (3531) or 0x-prefixed hex, the LE word.
 */
static int parse_number(const char *s, uint32_t *word)
{
	size_t n = strlen(s);
	if (n == 8) {
		int all_hex = 1;
		for (size_t i = 0; i < 8; i++)
			all_hex &= hexval((unsigned char)s[i]) >= 0;
		if (all_hex) {
			uint32_t w = 0;
			for (size_t i = 0; i < 4; i++) {
				int byte = hexval((unsigned char)s[2 * i]) * 16 +
					   hexval((unsigned char)s[2 * i + 1]);
				w |= (uint32_t)byte << (8 * i);
			}
			/* 10066178 is both bytes and 1.0's word in decimal, as the table prints it:
			 * take the reading that names a known magic, bytes first */
			pyci_magic_info m;
			unsigned long dec = strtoul(s, NULL, 10);
			if (strspn(s, "0123456789") == 8 && pyci_magic_lookup_word(w, &m) != 0 &&
			    pyci_magic_lookup_word((uint32_t)dec, &m) == 0)
				w = (uint32_t)dec;
			*word = w;
			return 0;
		}
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

int cmd_magic(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int json = 0, ch;
	optind = 1;
	while ((ch = cli_getopt(argc, argv, "h", longopts)) != -1) {
		if (ch == 'j') {
			json = 1;
		} else if (ch == 'h') {
			(void)fputs(magic_usage, stdout); /* checked at exit: cli_close_stdout */
			return EXIT_OK;
		} else {
			(void)fputs("try 'pycinspect magic --help'\n", stderr);
			return EXIT_USAGE;
		}
	}
	pyci_buf b = PYCI_BUF_INIT;
	int rc = EXIT_OK;
	size_t count;
	const pyci_magic_row *rows = pyci_magic_table(&count);
	if (!json && pyci_buf_printf(&b, "%-8s %-12s %-8s %-9s %-22s %s\n", "magic", "bytes",
				     "impl", "version", "label", "final for") != 0)
		goto nomem;

	if (optind >= argc) {
		for (size_t i = 0; i < count; i++) {
			pyci_magic_info m;
			pyci_magic_lookup_word(rows[i].word, &m);
			if (emit(&b, &m, json) != 0)
				goto nomem;
		}
	}
	for (int a = optind; a < argc; a++) {
		uint32_t word;
		pyci_targets want;
		pyci_targets_init(&want);
		if (parse_number(argv[a], &word) == 0 && strchr(argv[a], '.') == NULL) {
			pyci_magic_info m;
			if (pyci_magic_lookup_word(word, &m) != 0) {
				cli_error("'%s' is not a known Python magic number", argv[a]);
				rc = EXIT_FINDINGS;
				continue;
			}
			if (emit(&b, &m, json) != 0)
				goto nomem;
		} else if (pyci_targets_add_spec(&want, argv[a], strlen(argv[a])) == 0) {
			int found = 0;
			for (size_t i = 0; i < count; i++) {
				if (!pyci_targets_contains(&want, rows[i].impl, rows[i].major,
							   rows[i].minor))
					continue;
				pyci_magic_info m;
				pyci_magic_lookup_word(rows[i].word, &m);
				if (emit(&b, &m, json) != 0)
					goto nomem;
				found = 1;
			}
			if (!found) {
				cli_error("no magic number known for '%s'", argv[a]);
				rc = EXIT_FINDINGS;
			}
		} else {
			cli_error("'%s' is neither a magic number nor a version", argv[a]);
			pyci_buf_free(&b);
			return EXIT_USAGE;
		}
	}
	if (cli_flush(&b) != 0)
		rc = EXIT_USAGE;
	pyci_buf_free(&b);
	return rc;
nomem:
	cli_error("out of memory");
	pyci_buf_free(&b);
	return EXIT_USAGE;
}
