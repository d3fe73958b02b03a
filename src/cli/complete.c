/*
 * complete.c - what the shell completions offer, from the same rows as the parser and --help
 * (complete.h).  --target's versions are the one set of words that is not in a row: they are
 * the versions of the magic table, and Jython's, as the parser accepts them (scanrun.c).
 */
#include "complete.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pycinspect/jython.h"
#include "pycinspect/magic.h"
#include "pycinspect/target.h"
#include "scanrun.h"

/* Jython's language versions are few: those asked of pyci_jython_version_known. */
#define JYTHON_MAJOR_MAX 3
#define JYTHON_MINOR_MAX 12

static int target_cmp(const void *pa, const void *pb)
{
	const pyci_target *a = pa, *b = pb;
	if (a->impl != b->impl)
		return a->impl < b->impl ? -1 : 1;
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	return a->minor < b->minor ? -1 : a->minor > b->minor;
}

int compl_init(struct compl_data *d)
{
	d->targets = NULL;
	size_t n;
	const pyci_magic_row *rows = pyci_magic_table(&n);
	size_t max = n + (size_t)(JYTHON_MAJOR_MAX + 1) * (JYTHON_MINOR_MAX + 1);
	pyci_target *t = calloc(max, sizeof(*t));
	if (!t)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		t[k++] = (pyci_target){rows[i].impl, rows[i].major, rows[i].minor};
	for (int major = 0; major <= JYTHON_MAJOR_MAX; major++)
		for (int minor = 0; minor <= JYTHON_MINOR_MAX; minor++)
			if (pyci_jython_version_known(major, minor))
				t[k++] = (pyci_target){PYCI_IMPL_JYTHON, major, minor};
	qsort(t, k, sizeof(*t), target_cmp);
	d->targets = calloc(k + 1, sizeof(*d->targets));
	if (!d->targets)
		goto fail;
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m > 0 && target_cmp(&t[i], &t[i - 1]) == 0)
			continue;
		char name[24];
		pyci_target_format(&t[i], name, sizeof(name));
		d->targets[m] = strdup(name);
		if (!d->targets[m])
			goto fail;
		m++;
	}
	free(t);
	return 0;
fail:
	free(t);
	compl_free(d);
	errno = ENOMEM;
	return -1;
}

void compl_free(struct compl_data *d)
{
	for (size_t i = 0; d->targets && d->targets[i]; i++)
		free(d->targets[i]);
	free((void *)d->targets);
	d->targets = NULL;
}

struct compl_value compl_value_of(const struct compl_data *d, const struct cli_option *o)
{
	struct compl_value v = {COMPL_NONE, 0, NULL};
	if (o->arg == CLI_NOARG)
		return v;
	if (o->id == ENGINE_TARGET) {
		v.kind = COMPL_WORDS;
		v.words = (const char *const *)d->targets;
	} else if (o->values) {
		v.kind = COMPL_WORDS;
		v.words = o->values;
	} else if (strcmp(o->arg_name, "FILE") == 0) {
		v.kind = COMPL_FILE;
	} else if (strcmp(o->arg_name, "DIR") == 0) {
		v.kind = COMPL_DIR;
	}
	v.list = v.kind == COMPL_WORDS &&
		 (strcmp(o->arg_name, "LIST") == 0 || strcmp(o->arg_name, "TOPICS") == 0);
	return v;
}

void compl_describe(const char *help, char *buf, size_t n)
{
	size_t len = strcspn(help, "\n");
	/* a parenthesis the line leaves open ("... (the exit status,") goes, from its '(' */
	size_t open = len;
	int depth = 0;
	for (size_t i = 0; i < len; i++) {
		if (help[i] == '(' && depth++ == 0)
			open = i;
		else if (help[i] == ')' && depth > 0)
			depth--;
	}
	if (depth > 0)
		len = open;
	while (len > 0 && strchr(",;: ", help[len - 1]))
		len--;
	if (n == 0)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(buf, help, len);
	buf[len] = '\0';
}

int compl_each_option(const struct cli_command *cmd,
		      int (*fn)(void *ctx, const struct cli_option *o), void *ctx)
{
	for (const struct cli_group *g = cmd->groups; g->options; g++) {
		if (g->hidden)
			continue;
		for (const struct cli_option *o = g->options; o->long_name; o++) {
			int rc = fn(ctx, o);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

void compl_put_squoted(FILE *f, const char *s)
{
	(void)fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			(void)fputs("'\\''", f);
		else
			(void)fputc(*s, f);
	}
	(void)fputc('\'', f);
}
