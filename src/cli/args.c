/*
 * args.c - how every command reads its options and prints its --help, both from the command's
 * option tables (args.h), as git's parse-options does: one row per option, so that the getopt
 * tables, the help text and (later) the shell completions are made from the same data.
 *
 * The parse is GNU getopt_long with two rules of our own.  Options may come before or after the
 * PATHs, as with most GNU tools, and `--` ends them (a PATH that starts with '-' goes after it).
 * Long options must be spelt in full: getopt_long would take any unique prefix, and with a
 * command that deletes, `clean --check` quietly becoming `--check-source` (and swallowing the
 * next word) is not a convenience.  A prefix gets "unrecognized option", with the option it
 * would have meant.  The getopt tables are built in the order of the command's groups, which is
 * also the order getopt names the candidates of an ambiguous prefix in.
 */
#include "args.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const struct cli_option cli_help_option[] = {
	{"help", 'h', CLI_NOARG, NULL, "this help", CLI_HELP, NULL},
	{0},
};

/* What getopt_long returns for the long option of row k: above every short option's letter. */
#define LONG_VAL_BASE 256

/* The argv element that held the long option getopt_long just returned. */
static const char *long_token(int argc, char **argv)
{
	int i = optind - 1;
	/* a separate argument ("--target 3.12") is the last element taken; the option is before */
	if (optarg && i >= 1 && i < argc && optarg == argv[i] && strncmp(argv[i - 1], "--", 2) == 0)
		i--;
	return (i >= 1 && i < argc) ? argv[i] : NULL;
}

/* getopt_long, and a long option spelt in part reported and returned as '?'. */
static int getopt_full(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int idx = -1;
	int ch = getopt_long(argc, argv, shortopts, longopts, &idx);
	if (ch == -1 || idx < 0 || !longopts[idx].name)
		return ch; /* not a long option (idx is only set for one, never to the end row) */
	const char *tok = long_token(argc, argv);
	if (!tok || strncmp(tok, "--", 2) != 0)
		return ch; /* not a long option's element after all: nothing to check */
	const char *name = longopts[idx].name;
	size_t len = strcspn(tok + 2, "=");
	if (len == strlen(name) && strncmp(tok + 2, name, len) == 0)
		return ch;
	/* the same form as getopt_long's own messages: "pycinspect scan: ..." (see main.c) */
	(void)fprintf(stderr,
		      "%s: unrecognized option '--%.*s' (long options are spelt in full: '--%s')\n",
		      argv[0], (int)len, tok + 2, name);
	return '?';
}

/* The number of options in cmd's groups, hidden ones included. */
static size_t count_options(const struct cli_command *cmd)
{
	size_t n = 0;
	for (const struct cli_group *g = cmd->groups; g->options; g++)
		for (const struct cli_option *o = g->options; o->long_name; o++)
			n++;
	return n;
}

/* The row getopt_long's answer ch stands for, in cmd's groups: the k-th row for
 * LONG_VAL_BASE + k, else the row with that letter; NULL for '?' (an error it has reported). */
static const struct cli_option *row_of(const struct cli_command *cmd, int ch)
{
	int k = LONG_VAL_BASE;
	for (const struct cli_group *g = cmd->groups; ch != '?' && g->options; g++)
		for (const struct cli_option *o = g->options; o->long_name; o++, k++)
			if (ch == k || (ch < LONG_VAL_BASE && ch == o->short_name))
				return o;
	return NULL;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      int (*on_option)(void *ctx, int id, const char *arg), void *ctx)
{
	size_t n = count_options(cmd);
	struct option *longopts =
		calloc(n + 1, sizeof(*longopts)); /* + the zero row that ends it */
	char *shortopts = malloc(2 * n + 1);      /* a letter, and ':' when it takes a value */
	int rc = -1;
	if (!longopts || !shortopts) {
		cli_error("out of memory");
		goto out;
	}
	size_t k = 0, s = 0;
	for (const struct cli_group *g = cmd->groups; g->options; g++) {
		for (const struct cli_option *o = g->options; o->long_name; o++, k++) {
			longopts[k].name = o->long_name;
			longopts[k].has_arg = o->arg == CLI_ARG      ? required_argument
					      : o->arg == CLI_OPTARG ? optional_argument
								     : no_argument;
			longopts[k].val = LONG_VAL_BASE + (int)k;
			if (!o->short_name)
				continue;
			shortopts[s++] = (char)o->short_name;
			if (o->arg == CLI_ARG)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';

	optind = 1;
	int ch;
	while ((ch = getopt_full(argc, argv, shortopts, longopts)) != -1) {
		const struct cli_option *o = row_of(cmd, ch);
		if (!o) {
			(void)fprintf(stderr, "try 'pycinspect %s --help'\n", cmd->name);
			goto out;
		}
		if (o->id == CLI_HELP) {
			cli_usage(cmd, stdout); /* checked at exit: cli_close_stdout */
			rc = 0;
			goto out;
		}
		if (o->id == CLI_COLOR) {
			if (cli_color_choose(optarg) != 0)
				goto out;
			continue;
		}
		if (on_option(ctx, o->id, o->arg != CLI_NOARG ? optarg : NULL) != 0)
			goto out;
	}
	rc = optind;
out:
	free(shortopts);
	free(longopts);
	return rc;
}

/* One option's lines of --help.  (void): see cli_usage. */
static void put_option(FILE *f, const struct cli_option *o, int column)
{
	int w = o->short_name ? fprintf(f, "  -%c, --%s", o->short_name, o->long_name)
			      : fprintf(f, "      --%s", o->long_name);
	if (w >= 0 && o->arg != CLI_NOARG) {
		int a = fprintf(f, o->arg == CLI_ARG ? " %s" : "[=%s]", o->arg_name);
		w = a < 0 ? a : w + a;
	}
	if (w < 0)
		return; /* the stream's error flag has it */
	(void)fprintf(f, "%*s", w < column ? column - w : 1, "");
	for (const char *p = o->help;;) {
		size_t len = strcspn(p, "\n");
		(void)fprintf(f, "%.*s\n", (int)len, p);
		if (p[len] == '\0')
			break;
		p += len + 1;
		(void)fprintf(f, "%*s", column, "");
	}
}

/* (void): on stdout a failure is caught at exit by cli_close_stdout; on stderr it cannot be
 * helped. */
void cli_usage(const struct cli_command *cmd, FILE *f)
{
	(void)fputs(cmd->head, f);
	for (const struct cli_group *g = cmd->groups; g->options; g++) {
		if (g->hidden)
			continue;
		if (g->title)
			(void)fprintf(f, "\n%s\n", g->title);
		for (const struct cli_option *o = g->options; o->long_name; o++)
			put_option(f, o, cmd->column);
	}
	(void)fputs(cmd->tail, f);
}

int cli_value_index(const char *const *values, const char *arg)
{
	for (int i = 0; values[i]; i++)
		if (strcmp(values[i], arg) == 0)
			return i;
	return -1;
}
