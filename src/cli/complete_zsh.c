/*
 * complete_zsh.c - the zsh completion function (_pycinspect, for a directory of $fpath): one
 * _arguments call per command, made from its option rows, and _describe for the commands.
 * Written by complgen at build time, never by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "complete.h"

struct zsh_ctx {
	FILE *f;
	const struct compl_data *d;
};

/* An explanation for inside _arguments' [...] (']' and '\' escaped), single-quoted. */
static void put_explanation(FILE *f, const char *help)
{
	char text[256], esc[2 * sizeof(text)];
	compl_describe(help, text, sizeof(text));
	size_t k = 0;
	for (const char *p = text; *p; p++) {
		if (strchr("[]\\", *p))
			esc[k++] = '\\';
		esc[k++] = *p;
	}
	esc[k] = '\0';
	(void)fputs("'[", f);
	for (const char *p = esc; *p; p++)
		(void)fputs(*p == '\'' ? "'\\''" : (char[2]){*p, '\0'}, f);
	(void)fputs("]'", f);
}

/* One option's _arguments specs: '*'{-t+,--target=}'[...]:LIST:ACTION'.  Every option may
 * be repeated, as the parser allows. */
static int put_spec(void *ctx, const struct cli_option *o)
{
	const struct zsh_ctx *c = ctx;
	FILE *f = c->f;
	/* -t+: the value attached or the next word; --target=: after '=' or the next word;
	 * --check=-: after '=' only, and optional (::) */
	const char *lsuf = o->arg == CLI_ARG ? "=" : o->arg == CLI_OPTARG ? "=-" : "";
	if (o->short_name)
		(void)fprintf(f, "\t\t'*'{-%c%s,--%s%s}", o->short_name,
			      o->arg == CLI_ARG ? "+" : "", o->long_name, lsuf);
	else
		(void)fprintf(f, "\t\t'*--%s%s'", o->long_name, lsuf);
	put_explanation(f, o->help);
	if (o->arg != CLI_NOARG) {
		struct compl_value v = compl_value_of(c->d, o);
		(void)fprintf(f, "'%s%s:", o->arg == CLI_OPTARG ? "::" : ":", o->arg_name);
		switch (v.kind) {
		case COMPL_WORDS:
			(void)fputs(v.list ? "_sequence compadd -" : "(", f);
			for (size_t i = 0; v.words[i]; i++)
				(void)fprintf(f, "%s%s", i || v.list ? " " : "", v.words[i]);
			(void)fputs(v.list ? "" : ")", f);
			break;
		case COMPL_FILE:
			(void)fputs("_files", f);
			break;
		case COMPL_DIR:
			(void)fputs("_files -/", f);
			break;
		case COMPL_NONE:
			(void)fputs(" ", f); /* the message, no candidates */
			break;
		}
		(void)fputc('\'', f);
	}
	(void)fputs(" \\\n", f);
	return 0;
}

int compl_write_zsh(FILE *f, const struct compl_data *d)
{
	struct zsh_ctx c = {f, d};
	(void)fputs(
		"#compdef pycinspect\n"
		"# zsh completion for pycinspect\n"
		"# Written by pycinspect-complgen from pycinspect's option tables: do not edit.\n",
		f);
	for (const struct cli_entry *e = cli_commands; e->name; e++) {
		if (!e->options)
			continue;
		(void)fprintf(f, "\n_pycinspect_%s() {\n\t_arguments -s -S \\\n", e->name);
		(void)compl_each_option(e->options, put_spec, &c);
		(void)fputs(e->paths ? "\t\t'*:PATH:_files'\n}\n" : "\t\t'*: :'\n}\n", f);
	}
	(void)fputs("\n_pycinspect() {\n"
		    "\tlocal curcontext=$curcontext state state_descr line ret=1\n"
		    "\ttypeset -A opt_args\n"
		    "\t_arguments -C \\\n"
		    "\t\t'(- : *)'{-h,--help}'[this help]' \\\n"
		    "\t\t'(- : *)'{-V,--version}'[the version]' \\\n"
		    "\t\t'1: :->command' \\\n"
		    "\t\t'*:: :->argument' && ret=0\n"
		    "\tcase $state in\n"
		    "\tcommand)\n"
		    "\t\tlocal -a commands=(\n",
		    f);
	for (const struct cli_entry *e = cli_commands; e->name; e++) {
		if (!e->options)
			continue;
		(void)fprintf(f, "\t\t\t%s:", e->name);
		char text[256];
		compl_describe(e->summary, text, sizeof(text));
		compl_put_squoted(f, text);
		(void)fputc('\n', f);
	}
	(void)fputs("\t\t)\n"
		    "\t\t_describe -t commands 'pycinspect command' commands && ret=0\n"
		    "\t\t;;\n"
		    "\targument)\n"
		    "\t\tcurcontext=${curcontext%:*:*}:pycinspect-$words[1]:\n"
		    "\t\tcase $words[1] in\n",
		    f);
	for (const struct cli_entry *e = cli_commands; e->name; e++)
		if (e->options)
			(void)fprintf(f, "\t\t%s) _pycinspect_%s && ret=0 ;;\n", e->name, e->name);
	(void)fputs("\t\tesac\n"
		    "\t\t;;\n"
		    "\tesac\n"
		    "\treturn ret\n"
		    "}\n"
		    "\n"
		    "_pycinspect \"$@\"\n",
		    f);
	if (ferror(f)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
