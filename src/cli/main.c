/*
 * main.c - pycinspect's entry point: picks the command.
 *
 * Map of the sources (a .c's internal header is named beside it):
 *   include/pycinspect/  the public library API (one header per module below)
 *   src/magic.c          magic numbers, from data/magic_numbers.tsv via magic_table.inc
 *   src/header.c         .pyc header layouts and PEP 552 flags
 *   src/cachename.c      __pycache__/NAME.TAG[.opt-N].pyc and legacy names
 *   src/srchash.c        PEP 552 source hash (SipHash via OpenSSL EVP_MAC); sslerr.h: what
 *                        OpenSSL's error queue says, as an errno
 *   src/verdict.c        CPython's freshness rules per version -> status + reasons
 *   src/finder.c         each interpreter's module finder as data: packages, extension
 *                        suffixes, the build's platform triplet
 *   src/shadow.c, .h     a module shadowed by a package or an extension module beside it
 *   src/target.c         target interpreters (--target, PATH, a staging root's)
 *   src/sysroot.c        paths resolved inside a staging root (--root): openat2
 *                        RESOLVE_IN_ROOT, or the same one component at a time
 *   src/walk.c           descriptor-relative tree walk, bounded descriptors, no symlinks
 *   src/pwalk.c, .h      the same walk with directories on worker threads, output in order
 *   src/dirio.c, .h      opening (mount rule, no symlinks) and listing directories, for both;
 *                        readopen.h: opening without changing access times
 *   src/judge.c, .h      one cache: read its header, stat and hash its source, judge it;
 *                        srcinfo.h: a source's stat as the judge and clean's re-check see it
 *   src/exclude.c        what a walk leaves out (default excludes, --exclude globs)
 *   src/scan.c           the engine: walk, group each directory's caches, judge, report
 *   src/filelist.c, .h   the caches of a list of paths (--files-from), a directory at a time
 *   src/prefix.c         pycache-prefix trees: a source directory's place in the tree
 *   src/record.c         JSON of a record, summary tallies
 *   src/json.c, buf.c    JSON strings (lossless bytes), growable buffers
 *   src/clean.c          removal behind identity checks, through directory descriptors
 *   src/debris.c         pyclean's debris topics (data/debris.tsv via debris_table.inc), and
 *                        their removal bottom-up
 *   src/roots.c          PATHs of one run that name the same files
 *   src/mountinfo.c, .h  /proc/self/mountinfo, for bind mounts
 *   src/archive.c        archives and images judged in place, through libarchive (passes,
 *                        kinds, limits); arrun.h: one judging, as its passes share it;
 *                        arlayers.c: an image's layers read on threads; artable.c, .h: their
 *                        members by path, an image's layers flattened; zipdir.c, .h: a zip's
 *                        central directory as zipimport reads it; jsonread.c, .h: manifests
 *   src/dump.c           forensic JSON of one cache (hashes, header, source, code objects)
 *   src/marshal.c        the marshal decoder, hostile input in mind; also into a whole
 *                        value tree (pyci_mtree), for verify
 *   src/codecmp.c        two code trees compared by digests; where they first differ
 *   src/codenames.c      a code tree's imports and watched names (exec, system...)
 *   src/verify.c         one cache against its source compiled afresh
 *   src/pyworker.c       an interpreter kept as a compiler behind a socket pair
 *   src/pyfind.c         interpreters on PATH and in pyenv, and their isolating options
 *   src/pool.c, .h       ordered pool of worker threads (one-thread walks, named files)
 *   src/closer.c, .h     closes directories on a helper thread (clean)
 *   src/cli/main.c       this file: picks the command
 *   src/cli/commands.c   the commands as data: name, summary, function, option tables
 *   src/cli/cli.h        what the command-line modules share: exit codes, output, commands
 *   src/cli/args.c, .h   option tables -> getopt and --help
 *   src/cli/output.c     the one way to stdout; clean's log; paths and sizes for people
 *   src/cli/scanrun.c, .h  a scan run over PATHs: the options, PATH loop and reports that
 *                        scan, clean and dump share
 *   src/cli/roots.c      what is said of PATHs that overlap
 *   src/cli/interps.c, .h  verify's interpreters: --python, discovery, pooled workers
 *   src/cli/filesfrom.c  the list of --files-from, cut into paths
 *   src/cli/cmd_scan.c, cmd_clean.c, cmd_dump.c, cmd_magic.c, cmd_verify.c   the commands
 *   src/cli/clean_debris.c, .h  clean's debris records and counts per topic
 *   src/cli/cmd_git.c    `git`: the caches a repository tracks, its ignore rules, the fix;
 *                        the only part that uses libgit2 (PYCI_GIT), with:
 *   src/cli/gitrepo.c, .h  a repository through libgit2: open, index, HEAD, ignore answers
 *   src/cli/gitfind.c, .h  what one repository holds: tracked caches, rules, at risk
 *   src/cli/gitwalk.c    the work tree's untracked caches and sources
 *   src/cli/gitfix.c, .h   --fix, and the git commands that do the same
 *   src/cli/pathlist.c, .h  sorted lists of paths
 *   src/cli/complgen.c   pycinspect-complgen, run by the build (not installed): the bash, zsh
 *                        and fish completions from the tables above; complete.c, .h: what
 *                        they offer; complete_bash.c, complete_zsh.c, complete_fish.c: each
 *                        shell's script
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The width of "NAME ARGS" in the list of commands, before two spaces and the summary. */
#define COMMAND_COLUMN 20

/* (void): on stdout a failure is caught at exit by cli_close_stdout; on stderr it cannot be
 * helped. */
static void usage(FILE *f)
{
	(void)fputs(
		"usage: pycinspect COMMAND [OPTIONS] [ARGS...]\n"
		"\n"
		"Find Python bytecode caches (.pyc, and Jython's $py.class) and judge each one as\n"
		"the interpreter that wrote it would.\n"
		"\n"
		"commands:\n",
		f);
	for (const struct cli_entry *c = cli_commands; c->name; c++) {
		int w = (int)(strlen(c->name) + 1 + strlen(c->args));
		(void)fprintf(f, "  %s %s%*s  %s\n", c->name, c->args,
			      w < COMMAND_COLUMN ? COMMAND_COLUMN - w : 0, "", c->summary);
	}
	(void)fputs(
		"\n"
		"  pycinspect COMMAND --help   options of a command\n"
		"  pycinspect --version\n"
		"\n"
		"exit status: 0 ok, 1 findings (scan --check, git --check, verify --check),\n"
		"removals not done (clean), caches not read or decoded (dump) or unknown numbers\n"
		"(magic), 2 usage or fatal error\n",
		f);
}

int main(int argc, char **argv)
{
	/* A closed pipe must be an error we report, not a silent death.  (signal() fails only
	 * for an invalid signal number or action.) */
	(void)signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	/* the command's argv[0], which getopt_long's messages start with: "pycinspect scan" */
	char name[32];
	if (strlen(cmd) < sizeof(name) - sizeof("pycinspect ")) {
		(void)snprintf(name, sizeof(name), "pycinspect %s", cmd);
		argv[1] = name;
	}
	if (strcmp(cmd, "clean") != 0)
		cli_quiet_epipe();
	/* Options may follow the PATHs (cli_parse); under POSIXLY_CORRECT getopt would take
	 * `clean --stale x -n` for a PATH "-n" after a real run.  The order is ours to define. */
	if (unsetenv("POSIXLY_CORRECT") != 0) {
		cli_error("cannot clear POSIXLY_CORRECT: %s", strerror(errno));
		return EXIT_USAGE;
	}
	const struct cli_entry *c = cli_commands;
	while (c->name && strcmp(c->name, cmd) != 0)
		c++;
	int rc;
	if (c->name && c->run) {
		rc = c->run(argc - 1, argv + 1);
	} else if (c->name) {
		cli_error("this pycinspect was built without libgit2 (PYCI_GIT=OFF): no %s command",
			  c->name);
		return EXIT_USAGE;
	} else if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
		   strcmp(cmd, "help") == 0) {
		usage(stdout);
		rc = EXIT_OK;
	} else if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("pycinspect %s\n", PYCI_VERSION);
		rc = EXIT_OK;
	} else {
		cli_error("unknown command '%s' (try 'pycinspect --help')", cmd);
		return EXIT_USAGE;
	}
	if (cli_close_stdout() != 0)
		return EXIT_USAGE;
	return rc;
}
