/*
 * complete_bash.c - the bash completion script, for bash-completion (its _init_completion,
 * _filedir).  Per command, the options it offers and a case over the options whose value is
 * being completed; the rest is one function that finds the command, the option and the word,
 * the same for every command.  Written by complgen at build time, never by hand.
 */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "complete.h"

/* Words as one single-quoted shell word, separated by spaces. */
static void put_words(FILE *f, const char *const *words)
{
	(void)fputc('\'', f);
	for (size_t i = 0; words[i]; i++)
		(void)fprintf(f, "%s%s", i ? " " : "", words[i]);
	(void)fputc('\'', f);
}

struct bash_ctx {
	FILE *f;
	const struct compl_data *d;
	int n; /* spellings written */
};

/* One option's spellings in the list offered after '-': --check and --check= for a value
 * that is only attached. */
static int put_spellings(void *ctx, const struct cli_option *o)
{
	struct bash_ctx *c = ctx;
	(void)fprintf(c->f, "%s--%s", c->n++ ? " " : "", o->long_name);
	if (o->arg == CLI_OPTARG)
		(void)fprintf(c->f, " --%s=", o->long_name);
	if (o->short_name)
		(void)fprintf(c->f, " -%c", o->short_name);
	return 0;
}

/* One option's branch in the case over $opt, when its value has something to complete, or is
 * free (then nothing is offered: not a PATH either). */
static int put_value_case(void *ctx, const struct cli_option *o)
{
	const struct bash_ctx *c = ctx;
	FILE *f = c->f;
	if (o->arg == CLI_NOARG)
		return 0;
	struct compl_value v = compl_value_of(c->d, o);
	(void)fprintf(f, "\t\t--%s", o->long_name);
	if (o->short_name && o->arg == CLI_ARG)
		(void)fprintf(f, " | -%c", o->short_name);
	/* a value that may only be attached (--check=LIST): after "--check " comes a PATH */
	(void)fputs(o->arg == CLI_OPTARG ? ") [[ $split == true ]] && kind=" : ") kind=", f);
	switch (v.kind) {
	case COMPL_WORDS:
		(void)fprintf(f, "words list=%s vals=", v.list ? "1" : "");
		put_words(f, v.words);
		break;
	case COMPL_FILE:
		(void)fputs("file", f);
		break;
	case COMPL_DIR:
		(void)fputs("dir", f);
		break;
	case COMPL_NONE:
		(void)fputs("none", f);
		break;
	}
	(void)fputs(" ;;\n", f);
	return 0;
}

/* The part that is the same for every command. */
static const char body[] =
	"\tif [[ $kind ]]; then\n"
	"\t\tcase $kind in\n"
	"\t\twords)\n"
	"\t\t\tlocal pre=\"\"\n"
	"\t\t\t[[ $list && $cur == *,* ]] && pre=${cur%,*},\n"
	"\t\t\tCOMPREPLY=($(compgen -P \"$pre\" -W \"$vals\" -- \"${cur#\"$pre\"}\"))\n"
	"\t\t\t;;\n"
	"\t\tfile) _filedir ;;\n"
	"\t\tdir) _filedir -d ;;\n"
	"\t\tesac\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t[[ $split == true ]] && return\n"
	"\tif [[ ! $dashdash && $cur == -* ]]; then\n"
	"\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	"\t\t[[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace\n"
	"\t\treturn\n"
	"\tfi\n"
	"\t[[ $paths ]] && _filedir\n"
	"} &&\n"
	"\tcomplete -F _pycinspect pycinspect\n";

int compl_write_bash(FILE *f, const struct compl_data *d)
{
	(void)fputs(
		"# bash completion for pycinspect                          -*- shell-script -*-\n"
		"# Written by pycinspect-complgen from pycinspect's option tables: do not edit.\n"
		"\n"
		"_pycinspect()\n"
		"{\n"
		"\tlocal cur prev words cword split\n"
		"\t_init_completion -s || return\n"
		"\n"
		"\tif ((cword == 1)); then\n"
		"\t\tif [[ $cur == -* ]]; then\n"
		"\t\t\tCOMPREPLY=($(compgen -W '--help -h --version -V' -- \"$cur\"))\n"
		"\t\telse\n"
		"\t\t\tCOMPREPLY=($(compgen -W '",
		f);
	int n = 0;
	for (const struct cli_entry *c = cli_commands; c->name; c++)
		if (c->options)
			(void)fprintf(f, "%s%s", n++ ? " " : "", c->name);
	(void)fputs("' -- \"$cur\"))\n"
		    "\t\tfi\n"
		    "\t\treturn\n"
		    "\tfi\n"
		    "\n"
		    "\t# the option whose value this word is: --opt=WORD, or WORD after --opt\n"
		    "\tlocal opt=\"\" i dashdash=\"\"\n"
		    "\tfor ((i = 2; i < cword; i++)); do\n"
		    "\t\t[[ ${words[i]} == -- ]] && dashdash=1\n"
		    "\tdone\n"
		    "\t[[ $split == true || (! $dashdash && $prev == -?*) ]] && opt=$prev\n"
		    "\tlocal opts=\"\" kind=\"\" list=\"\" vals=\"\" paths=\"\"\n"
		    "\tcase ${words[1]} in\n",
		    f);
	for (const struct cli_entry *c = cli_commands; c->name; c++) {
		if (!c->options)
			continue;
		(void)fprintf(f, "\t%s)\n\t\topts='", c->name);
		struct bash_ctx bc = {f, d, 0};
		(void)compl_each_option(c->options, put_spellings, &bc);
		(void)fprintf(f, "'\n\t\tpaths=%s\n\t\tcase $opt in\n", c->paths ? "1" : "");
		(void)compl_each_option(c->options, put_value_case, &bc);
		(void)fputs("\t\tesac\n\t\t;;\n", f);
	}
	(void)fputs("\t*) return ;;\n\tesac\n", f);
	(void)fputs(body, f);
	if (ferror(f)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}
