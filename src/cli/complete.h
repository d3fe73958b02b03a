/*
 * complete.h - what the shell completions offer, read from the option tables (args.h) and the
 * list of commands (cli.h), for the generator that writes them at build time (complgen.c) and
 * its three writers: complete_bash.c, complete_zsh.c, complete_fish.c.  Nothing here is in
 * pycinspect itself.
 */
#ifndef PYCINSPECT_CLI_COMPLETE_H
#define PYCINSPECT_CLI_COMPLETE_H

#include <stdio.h>

#include "args.h"

/* What an option's value is, for completing it. */
enum compl_kind {
	COMPL_NONE,  /* free (a glob, a number): nothing to offer */
	COMPL_WORDS, /* one of a closed set of words */
	COMPL_FILE,  /* a file name */
	COMPL_DIR,   /* a directory name */
};

struct compl_value {
	enum compl_kind kind;
	int list;                 /* a comma-separated list of them: complete after each comma */
	const char *const *words; /* COMPL_WORDS: NULL-terminated */
};

/* The words that are not in the option tables: --target's, from the magic table. */
struct compl_data {
	char **targets; /* every version --target knows, as pyci_target_format writes it; NULL-ended */
};

/* Fill d.  0, or -1 with errno ENOMEM (d is then empty; compl_free is still safe). */
int compl_init(struct compl_data *d);

void compl_free(struct compl_data *d);

/* What o's value is (kind COMPL_NONE for an option without one).  Read from the row: its values,
 * its arg_name (FILE, DIR; LIST and TOPICS are comma-separated), and for --target the magic
 * table's versions, d->targets. */
struct compl_value compl_value_of(const struct compl_data *d, const struct cli_option *o);

/* The first line of help (an option's or a command's) for a completion's description, without
 * a parenthesis it leaves open or a ',', ';' or ':' that ends it, into buf (NUL-terminated, cut
 * to n). */
void compl_describe(const char *help, char *buf, size_t n);

/* The visible options of a command, in the order of its --help: calls fn(ctx, o) for each, and
 * stops at the first that returns non-zero (returned).  Hidden groups are left out: they are
 * accepted, not offered. */
int compl_each_option(const struct cli_command *cmd,
		      int (*fn)(void *ctx, const struct cli_option *o), void *ctx);

/* Write s to f in single quotes, for a POSIX shell (and zsh): a ' as '\''. */
void compl_put_squoted(FILE *f, const char *s);

/*
 * Each shell's completion script, to f.  0, or -1 when f has an error (errno from the stream
 * where there is one).
 */
int compl_write_bash(FILE *f, const struct compl_data *d);
int compl_write_zsh(FILE *f, const struct compl_data *d);
int compl_write_fish(FILE *f, const struct compl_data *d);

#endif
