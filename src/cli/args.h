/*
 * args.h - every command's options as data: one table per command, from which args.c builds
 * the getopt_long tables, runs the parse and prints the --help text.
 *
 * An option is listed once, in a struct cli_option row: its spellings, its argument, its help
 * and its value set.  A command is a struct cli_command: the prose of its --help around a list
 * of option tables (groups), some of them shared (the engine's, scanrun.c; --help, here).  The
 * shell completions are written from the same rows at build time (complgen.c, complete.h), so
 * that help, parser and completions cannot disagree.
 */
#ifndef PYCINSPECT_CLI_ARGS_H
#define PYCINSPECT_CLI_ARGS_H

#include <stdio.h>

enum cli_arg {
	CLI_NOARG,  /* a flag: --all; "--all=x" is an error */
	CLI_ARG,    /* takes a value: "--target 3.12", "--target=3.12", "-t3.12", "-t 3.12" */
	CLI_OPTARG, /* may take one, attached only: "--check", "--check=orphaned" (long only) */
};

/*
 * One option.  A table is an array of these ended by a row whose long_name is NULL.
 *   long_name   spelt after "--"; every option has one, and it must be spelt in full
 *   short_name  the letter after "-", or 0 for none
 *   arg         whether it takes a value
 *   arg_name    the value's name in --help ("LIST"), NULL for CLI_NOARG; the completions read
 *               it too: FILE is a file name, DIR a directory, and LIST or TOPICS a
 *               comma-separated list of values
 *   help        its text in --help; a '\n' starts a new line at the help column, where the
 *               current texts break their lines (the breaks are chosen by hand, not by width)
 *   id          what the command's on_option receives: unique among the tables a command
 *               uses (CLI_HELP for --help; the engine's from 300, a command's own from 256)
 *   values      the only values it takes (NULL-terminated), for parsers and completions; NULL
 *               when the value is free (a glob, a number) or comes from elsewhere (--target's
 *               versions are the rows of the magic table, pyci_magic_table)
 */
struct cli_option {
	const char *long_name;
	int short_name;
	enum cli_arg arg;
	const char *arg_name;
	const char *help;
	int id;
	const char *const *values;
};

/* The ids of --help and --color, which cli_parse handles itself. */
enum { CLI_HELP = 1, CLI_COLOR };

/* The -h, --help row every command ends its list with ("this help"). */
extern const struct cli_option cli_help_option[];

/* The --color=WHEN row of the commands that colour their text (color.c): cli_parse gives its
 * value to cli_color_choose. */
extern const struct cli_option cli_color_option[];

/*
 * A table of options in a command's list.  title, when not NULL, starts a new list in --help
 * ("selectors:", "options:"), after a blank line; NULL continues the list above.  A hidden group
 * is accepted but not shown (dump takes scan's --json, but its output is always JSON).  A
 * command's groups end with a row whose options is NULL.
 */
struct cli_group {
	const char *title;
	const struct cli_option *options;
	int hidden;
};

/*
 * A command's options and its --help: head (the usage line and what it does, ending with a
 * newline), the groups, then tail (from the blank line after the options to the end).  column
 * is where the help texts of the options start.
 */
struct cli_command {
	const char *name;
	const char *head;
	const struct cli_group *groups;
	const char *tail;
	int column;
};

/*
 * Parse the options of cmd from argv (argv[0] is "pycinspect CMD", as getopt's messages start
 * with it; optind is reset here).  Options and PATHs come in any order (GNU getopt_long
 * permutes argv so that the PATHs end up last), `--` ends the options, and a long option must be
 * spelt in full: a prefix is refused, naming the option it would have meant.  For each option, in
 * order, on_option(ctx, id, arg) is called, arg being its value or NULL; it returns 0, or -1
 * after saying why the value is bad.
 * Returns the index in argv of the first PATH (argc when none) once every option is taken; 0
 * after --help, whose text went to stdout (exit 0); -1 on a usage error, said on stderr: getopt's
 * message and "try 'pycinspect CMD --help'", or on_option's own, or out of memory.
 */
int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      int (*on_option)(void *ctx, int id, const char *arg), void *ctx);

/*
 * Print cmd's --help to f.  The option lines are "  -t, --target LIST" (or six spaces where no
 * letter is) padded to cmd->column with at least one space, then the help, each further line of
 * it indented to the column.  Write errors stay in f's error flag (stdout: cli_close_stdout).
 */
void cli_usage(const struct cli_command *cmd, FILE *f);

/*
 * The index of arg among values (NULL-terminated), or -1 when it is none of them.
 */
int cli_value_index(const char *const *values, const char *arg);

#endif
