/*
 * cli.h - what the command-line modules share: exit codes, the output sink, the commands.
 */
#ifndef PYCINSPECT_CLI_H
#define PYCINSPECT_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "pycinspect/buf.h"
#include "pycinspect/json.h"
#include "pycinspect/verdict.h"
#include "pycinspect/verify.h"

/* Exit codes, documented in docs/exit-codes.md and the man page. */
enum {
	EXIT_OK = 0,
	EXIT_FINDINGS = 1, /* --check found caches that are not fresh, or a walk error */
	EXIT_USAGE = 2,    /* bad usage or a fatal error */
};

extern const char *pyci_progname;

/* "pycinspect: <message>" on stderr, printf-style. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Write b to stdout, flushed through to the kernel, and empty it.  Returns 0, or -1 after
 * printing why (closed pipe, full
 * disk): the caller stops, since nothing may happen without its record.
 */
int cli_flush(pyci_buf *b);

/*
 * Write b to stdout with write(2) and empty it, for a log whose every line records something
 * done (clean).  Returns 0, or -1 after saying on stderr "cannot write output: WHY; these N
 * records were not written (DONE):", followed by those lines of b (whole: a regular file is
 * first cut back to its last whole line); b is emptied.  done says what the records' acts were
 * ("the files they name are removed").
 */
int cli_flush_log(pyci_buf *b, const char *done);

/* The same for n bytes at p, written as they are (output too large to copy into a buffer
 * first). */
int cli_write(const char *p, size_t n);

/* All n bytes at p to fd, again after EINTR, nothing said.  0, or -1 with errno (EIO for a
 * write that took nothing). */
int cli_write_all(int fd, const char *p, size_t n);

/* From now on, output that fails because the reader closed the pipe (`scan | head`) fails
 * without a message on stderr; the exit status still says it.  For the commands that only
 * report: clean says it, since it then stops removing. */
void cli_quiet_epipe(void);

/* The end of a JSON line begun with pyci_jw_init: pyci_jw_finish, then the newline.  0, or -1
 * (ENOMEM, or EINVAL for a misuse of the writer) with w's buffer cut back to where the line
 * began: an output never holds half a record. */
int cli_json_line(pyci_jw *w);

/* Finish stdout: fflush + ferror + fclose checked.  0, or -1 after printing why. */
int cli_close_stdout(void);

/* Append path for a person to read: as is when it is UTF-8 holding no control, line or
 * paragraph separator, bidi control or noncharacter (output.c lists them and says why), else
 * as $'...' with those written as \xHH bytes (\n, \t, \r by name).  0, or -1 (ENOMEM). */
int cli_quote_path(pyci_buf *b, const char *path, size_t len);

/* Append s as one word for a POSIX shell (bash, for $'...'): as is when every byte is a plain
 * file-name character, else in single quotes, else (a single quote, a control, bytes that are
 * not UTF-8: what cli_quote_path quotes) as $'...'.  A copied command then names exactly
 * these bytes.  0, or -1 (ENOMEM). */
int cli_shell_quote(pyci_buf *b, const char *s, size_t len);

/* Append a byte count for a person: "512 B", "1.5 KiB", "12.3 MiB". */
int cli_human_bytes(pyci_buf *b, unsigned long long bytes);

/* --color=WHEN (auto, always, never: color.c says what each means).  0, or -1 after saying
 * that WHEN is none of them. */
int cli_color_choose(const char *when);

/* Whether text output is coloured: --color, and for auto stdout, NO_COLOR and TERM, looked at
 * on the first call. */
int cli_color(void);

/* The SGR parameters ("33") of status s's colour, or NULL for none. */
const char *cli_status_style(pyci_status s);

/* The same for verify's verdict v. */
const char *cli_verify_style(pyci_verify_verdict v);

/* The SGR parameters of what asks for attention in a summary (bold red), and of clean's acts:
 * what was done (green) and what a dry run would do (yellow). */
#define CLI_STYLE_ALERT "1;31"
#define CLI_STYLE_DONE "32"
#define CLI_STYLE_WOULD "33"

/* Append text in the colour sgr (SGR parameters; NULL or colour off: plain), then spaces to
 * width columns (width counts text's bytes; the escapes take none).  0, or -1 (ENOMEM). */
int cli_styled(pyci_buf *b, const char *sgr, const char *text, int width);

int cmd_scan(int argc, char **argv);
int cmd_clean(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_magic(int argc, char **argv);
int cmd_git(int argc, char **argv);
int cmd_verify(int argc, char **argv);

/* Each command's options and --help (args.h), beside its cmd_ function. */
struct cli_command;
extern const struct cli_command scan_command, clean_command, dump_command, magic_command,
	git_command, verify_command;

/*
 * One command, as `pycinspect --help` lists it: "  NAME ARGS  SUMMARY".  run is called with
 * argv[0] the command ("pycinspect NAME") and returns the exit status; run and options are
 * NULL for a command this build leaves out (git without libgit2), which is still listed.
 */
struct cli_entry {
	const char *name;
	const char *args;    /* what follows the name in the list: "[PATH...]" */
	const char *summary; /* one line */
	int (*run)(int argc, char **argv);
	const struct cli_command *options;
	int paths; /* 1: its operands are PATHs (file names to complete); 0: other words */
};

/* Every command, in the order of `pycinspect --help`; the last row's name is NULL.  main.c
 * dispatches from it, and the shell completions are made from it (complgen.c). */
extern const struct cli_entry cli_commands[];

#endif
