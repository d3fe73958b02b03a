/*
 * progress.h - the progress line of a long walk on stderr (progress.c says how and when).
 *
 * The calling thread starts it before the walk and stops it after; in between it names the
 * PATH being walked (progress_root), passes each record's path (progress_top), and holds the
 * line around everything it writes to stderr, or to stdout on the same terminal
 * (progress_hold), so that what it writes never lands on the line.  Every function does
 * nothing while no line is running.
 */
#ifndef PYCINSPECT_CLI_PROGRESS_H
#define PYCINSPECT_CLI_PROGRESS_H

#include <stddef.h>

#include "pycinspect/scan.h"

/* Run the line over counters (which must outlive progress_stop) when stderr is a terminal
 * that takes "\r" and ESC [K; otherwise do nothing.  0, or -1 when it could not start (no
 * thread: the run goes on without it). */
int progress_start(const pyci_scan_progress *counters);

/* The PATH now walked (NULL: none to show), whose top-level directories the line names. */
void progress_root(const char *root);

/* A record's display path: its top-level directory below the root is the one shown. */
void progress_top(const char *path, size_t len);

/* Stop the thread; the line is erased. */
void progress_stop(void);

/* Before writing to fd (STDOUT_FILENO or STDERR_FILENO): the line is erased and held off until
 * progress_release.  Returns what progress_release wants. */
int progress_hold(int fd);
void progress_release(int held);

#endif
