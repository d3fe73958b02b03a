/*
 * args.c - how every command reads its options (see cli.h, cli_getopt).
 *
 * GNU getopt_long with two rules of our own.  Options may come before or after the PATHs, as
 * with most GNU tools, and `--` ends them (a PATH that starts with '-' goes after it).  Long
 * options must be spelt in full: getopt_long would take any unique prefix, and with a command
 * that deletes, `clean --check` quietly becoming `--check-source` (and swallowing the next
 * word) is not a convenience.  A prefix gets "unrecognized option", with the option it would
 * have meant.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The argv element that held the long option getopt_long just returned. */
static const char *long_token(int argc, char **argv)
{
	int i = optind - 1;
	/* a separate argument ("--target 3.12") is the last element taken; the option is before */
	if (optarg && i >= 1 && i < argc && optarg == argv[i] && strncmp(argv[i - 1], "--", 2) == 0)
		i--;
	return (i >= 1 && i < argc) ? argv[i] : NULL;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int idx = -1;
	int ch = getopt_long(argc, argv, shortopts, longopts, &idx);
	if (ch == -1 || idx < 0)
		return ch;
	const char *tok = long_token(argc, argv);
	if (!tok || strncmp(tok, "--", 2) != 0)
		return ch; /* not a long option's element after all: nothing to check */
	const char *name = longopts[idx].name;
	size_t len = strcspn(tok + 2, "=");
	if (len == strlen(name) && strncmp(tok + 2, name, len) == 0)
		return ch;
	/* the same form as getopt_long's own messages: "pycinspect scan: ..." (see main.c) */
	(void)fprintf(stderr, "%s: unrecognized option '--%.*s' (long options are spelt in full: '--%s')\n", argv[0],
		      (int)len, tok + 2, name);
	return '?';
}
