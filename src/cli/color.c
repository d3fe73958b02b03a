/*
 * color.c - --color, and the few words of text output that are coloured.
 *
 * The rule is ripgrep's and fd's: --color=auto (the default) colours only when stdout is a
 * terminal, NO_COLOR is unset or empty (no-color.org) and TERM is set and not "dumb" (ripgrep's
 * termcolor also treats an unset TERM as a terminal that takes no escapes); --color=always
 * colours whatever the environment says, NO_COLOR included, as both do; --color=never never.
 * JSON is never coloured: the commands style only their text.
 *
 * What is coloured: a cache's status word (in scan's records and summary, in git's lines),
 * verify's verdict, clean's act ("removed", "would remove") and the counts of a summary that
 * call for attention; paths never are, so that a copied path holds no escape.  One colour per status, the same everywhere (cli_status_style).  Padding is
 * written outside the escapes, so that the columns of a coloured line are those of a plain one.
 *
 * The choice is the process's: a command parses its options once, and the output functions
 * read it from here (the library knows nothing of it).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"

static const char *const color_values[] = {"auto", "always", "never", NULL};

const struct cli_option cli_color_option[] = {
	{"color", 0, CLI_ARG, "WHEN",
	 "colour the status words and counts: auto (when stdout is a\n"
	 "terminal, NO_COLOR is unset or empty and TERM is not dumb),\n"
	 "always or never (default: auto; docs/output.md)",
	 CLI_COLOR, color_values},
	{0},
};

enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

static int color_when = COLOR_AUTO;
static int color_known = -1; /* the decision, made once: -1 not yet */

int cli_color_choose(const char *when)
{
	int i = cli_value_index(color_values, when);
	if (i < 0) {
		cli_error("invalid --color '%s' (auto, always or never)", when);
		return -1;
	}
	color_when = i;
	color_known = -1;
	return 0;
}

int cli_color(void)
{
	if (color_known >= 0)
		return color_known;
	if (color_when != COLOR_AUTO) {
		color_known = color_when == COLOR_ALWAYS;
		return color_known;
	}
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	color_known =
		isatty(STDOUT_FILENO) && !(no && *no) && term && *term && strcmp(term, "dumb") != 0;
	return color_known;
}

/* SGR parameters: green for what is fine, yellow for what an import repairs, red for what is
 * broken, and the others apart (docs/statuses.md). */
static const char *const status_sgr[PYCI_STATUS_COUNT] = {
	[PYCI_FRESH] = "32",      [PYCI_STALE] = "33",     [PYCI_ORPHANED] = "35",
	[PYCI_SOURCELESS] = "36", [PYCI_INVALID] = "1;31", [PYCI_FOREIGN] = "34",
};

const char *cli_status_style(pyci_status s)
{
	return (unsigned)s < PYCI_STATUS_COUNT ? status_sgr[s] : NULL;
}

/* verify's verdicts: a match is fine, a difference is the poisoning verify is for, and an
 * unverifiable cache asks for a look. */
static const char *const verify_sgr[PYCI_VERIFY_COUNT] = {
	[PYCI_VERIFY_MATCHES] = "32",
	[PYCI_VERIFY_DIFFERS] = "1;31",
	[PYCI_VERIFY_UNVERIFIABLE] = "33",
};

const char *cli_verify_style(pyci_verify_verdict v)
{
	return (unsigned)v < PYCI_VERIFY_COUNT ? verify_sgr[v] : NULL;
}

int cli_styled(pyci_buf *b, const char *sgr, const char *text, int width)
{
	int on = sgr && cli_color();
	size_t len = strlen(text);
	if ((on && pyci_buf_printf(b, "\033[%sm", sgr) != 0) ||
	    pyci_buf_append(b, text, len) != 0 || (on && pyci_buf_puts(b, "\033[0m") != 0))
		return -1;
	for (size_t i = len; width > 0 && i < (size_t)width; i++)
		if (pyci_buf_putc(b, ' ') != 0)
			return -1;
	return 0;
}
