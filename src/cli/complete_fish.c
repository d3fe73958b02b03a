/*
 * complete_fish.c - the fish completions (pycinspect.fish, for vendor_completions.d): a
 * `complete` line per command and per option, conditioned on the command seen.  An option
 * whose value is only attached (--check=LIST) is declared without -r, which is how fish reads
 * an optional value: offered after "--check=" only.  Written by complgen at build time, never
 * by hand.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "complete.h"

struct fish_ctx {
	FILE *f;
	const struct compl_data *d;
	const char *cmd;
};

/* s in fish's single quotes: \ and ' escaped. */
static void put_fquoted(FILE *f, const char *s)
{
	(void)fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			(void)fputc('\\', f);
		(void)fputc(*s, f);
	}
	(void)fputc('\'', f);
}

/* A list's words come from a function, which __fish_complete_list calls after each comma. */
static int put_list_function(void *ctx, const struct cli_option *o)
{
	const struct fish_ctx *c = ctx;
	struct compl_value v = compl_value_of(c->d, o);
	if (v.kind != COMPL_WORDS || !v.list)
		return 0;
	(void)fprintf(c->f, "function __pycinspect_%s_%s\n\tprintf '%%s\\n'", c->cmd, o->long_name);
	for (size_t i = 0; v.words[i]; i++)
		(void)fprintf(c->f, " %s", v.words[i]);
	(void)fputs("\nend\n", c->f);
	return 0;
}

static int put_option(void *ctx, const struct cli_option *o)
{
	const struct fish_ctx *c = ctx;
	FILE *f = c->f;
	(void)fprintf(f, "complete -c pycinspect -n '__fish_seen_subcommand_from %s'", c->cmd);
	if (o->short_name)
		(void)fprintf(f, " -s %c", o->short_name);
	(void)fprintf(f, " -l %s", o->long_name);
	if (o->arg != CLI_NOARG) {
		struct compl_value v = compl_value_of(c->d, o);
		/* -r: the value may be the next word; without it, only after '=' */
		const char *req = o->arg == CLI_ARG ? "r" : "";
		switch (v.kind) {
		case COMPL_WORDS:
			if (v.list) {
				(void)fprintf(
					f, " -%sf -a '(__fish_complete_list , __pycinspect_%s_%s)'",
					req, c->cmd, o->long_name);
			} else {
				(void)fprintf(f, " -%sf -a '", req);
				for (size_t i = 0; v.words[i]; i++)
					(void)fprintf(f, "%s%s", i ? " " : "", v.words[i]);
				(void)fputc('\'', f);
			}
			break;
		case COMPL_FILE:
			(void)fprintf(f, " -%sF", req);
			break;
		case COMPL_DIR:
			(void)fprintf(f, " -%sf -a '(__fish_complete_directories)'", req);
			break;
		case COMPL_NONE:
			(void)fprintf(f, " -%sf", req);
			break;
		}
	}
	char text[256];
	compl_describe(o->help, text, sizeof(text));
	(void)fputs(" -d ", f);
	put_fquoted(f, text);
	(void)fputc('\n', f);
	return 0;
}

int compl_write_fish(FILE *f, const struct compl_data *d)
{
	(void)fputs(
		"# fish completion for pycinspect\n"
		"# Written by pycinspect-complgen from pycinspect's option tables: do not edit.\n"
		"\n"
		"complete -c pycinspect -f\n"
		"complete -c pycinspect -n __fish_use_subcommand -s h -l help -d 'this help'\n"
		"complete -c pycinspect -n __fish_use_subcommand -s V -l version -d 'the version'\n",
		f);
	for (const struct cli_entry *e = cli_commands; e->name; e++) {
		if (!e->options)
			continue;
		char text[256];
		compl_describe(e->summary, text, sizeof(text));
		(void)fprintf(f, "complete -c pycinspect -n __fish_use_subcommand -a %s -d ",
			      e->name);
		put_fquoted(f, text);
		(void)fputc('\n', f);
	}
	for (const struct cli_entry *e = cli_commands; e->name; e++) {
		if (!e->options)
			continue;
		struct fish_ctx c = {f, d, e->name};
		(void)fprintf(f, "\n# %s\n", e->name);
		(void)compl_each_option(e->options, put_list_function, &c);
		/* PATHs: file names, but not in a word that is an option (--check=) */
		if (e->paths)
			(void)fprintf(
				f,
				"complete -c pycinspect -n '__fish_seen_subcommand_from %s; and "
				"not string match -q -- \"-*\" (commandline -ct)' -F\n",
				e->name);
		(void)compl_each_option(e->options, put_option, &c);
	}
	if (ferror(f)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
