/*
 * commands.c - pycinspect's commands as data: each one's name, what `pycinspect --help` says of
 * it, the function that runs it and its option tables.  main.c dispatches from this table and
 * prints its list of commands from it; the shell completions (complgen.c) are made from the
 * same rows at build time, so that a new command cannot be missing from either.
 */
#include "cli.h"

#include <stddef.h>

#include "args.h"

const char *pyci_progname = "pycinspect";

const struct cli_entry cli_commands[] = {
	{"scan", "[PATH...]", "report caches that are stale, orphaned, foreign or broken", cmd_scan,
	 &scan_command, 1},
	{"clean", "SELECTOR... [PATH...]", "remove the selected caches (--stale, --all, ...)",
	 cmd_clean, &clean_command, 1},
	{"dump", "[PATH...]", "forensic JSON of each cache: hashes, header, source, code", cmd_dump,
	 &dump_command, 1},
	{"verify", "[PATH...]", "compile each cache's source and compare the code with it",
	 cmd_verify, &verify_command, 1},
	{"magic", "[NUMBER|VERSION...]", "the magic-number table, both ways", cmd_magic,
	 &magic_command, 0},
#ifdef PYCI_HAVE_GIT
	{"git", "[PATH...]", "caches a git repository tracks, its ignore rules, the fix", cmd_git,
	 &git_command, 1},
#else
	{"git", "[PATH...]", "caches a git repository tracks, its ignore rules, the fix", NULL,
	 NULL, 1},
#endif
	{0},
};
