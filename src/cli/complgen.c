/*
 * complgen.c - pycinspect-complgen, run by the build: writes the bash, zsh and fish completions
 * of pycinspect from the tables the command itself parses and prints --help from (commands.c,
 * the option rows of cmd_*.c and scanrun.c, the magic and debris tables), so that the three
 * cannot disagree with the command.  Not installed; its outputs are.
 *
 *   pycinspect-complgen BASH-FILE ZSH-FILE FISH-FILE
 *
 * Exit status 0, or 2 after saying on stderr which file could not be written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"

/* Write one file with fn: into PATH.tmp, renamed to path once whole, so that a failed run
 * leaves no file the build would take for done (and removes only what it created).  0, or -1
 * after saying why. */
static int write_file(const char *path, int (*fn)(FILE *, const struct compl_data *),
		      const struct compl_data *d)
{
	char tmp[4096];
	int len = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (len < 0 || (size_t)len >= sizeof(tmp)) {
		(void)fprintf(stderr, "pycinspect-complgen: path too long: '%s'\n", path);
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f) {
		(void)fprintf(stderr, "pycinspect-complgen: cannot create '%s': %s\n", tmp,
			      strerror(errno));
		return -1;
	}
	errno = 0;
	int rc = fn(f, d);
	int err = errno;
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		err = errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		err = errno;
	}
	if (rc != 0) {
		(void)fprintf(stderr, "pycinspect-complgen: cannot write '%s': %s\n", path,
			      strerror(err ? err : EIO));
		(void)remove(tmp);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		(void)fputs("usage: pycinspect-complgen BASH-FILE ZSH-FILE FISH-FILE\n", stderr);
		return 2;
	}
	struct compl_data d;
	if (compl_init(&d) != 0) {
		(void)fputs("pycinspect-complgen: out of memory\n", stderr);
		return 2;
	}
	int rc = write_file(argv[1], compl_write_bash, &d) != 0 ||
		 write_file(argv[2], compl_write_zsh, &d) != 0 ||
		 write_file(argv[3], compl_write_fish, &d) != 0;
	compl_free(&d);
	return rc ? 2 : 0;
}
