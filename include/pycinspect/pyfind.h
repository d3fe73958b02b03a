/*
 * pyfind.h - where the interpreters verify can ask are, and how to start them isolated.
 *
 * Candidates are found by name, as the conformance test finds them: pyenv's versions
 * (${PYENV_ROOT:-$HOME/.pyenv}/versions/NAME/bin/python, in name order), then every python2.N,
 * python3.N and pypy3.N (and pypy2.N) in the directories of PATH, in PATH's order (pyenv's shims
 * directory is skipped: the versions behind it are already listed); each file once, by its
 * real path.  Nothing is run here: what a candidate is, is asked by starting it (pyworker.h).
 */
#ifndef PYCINSPECT_PYFIND_H
#define PYCINSPECT_PYFIND_H

#include <stddef.h>

#include "pycinspect/buf.h"
#include "pycinspect/pyworker.h"

/*
 * Append the candidates' paths to out, each followed by a NUL, and count them in *count.
 * path_env is PATH's value (NULL: none), pyenv_root PYENV_ROOT's (NULL or empty: home's
 * .pyenv), home HOME's (NULL: no pyenv unless pyenv_root).  Directories that cannot be read
 * are skipped.  0, or -1 (ENOMEM).
 */
int pyci_pyfind(const char *path_env, const char *pyenv_root, const char *home, pyci_buf *out,
		size_t *count);

/* The options that start no user code: "-E", "-s", "-S", which every interpreter takes (for
 * asking one what it is before its version is known), NULL-ended. */
extern const char *const pyci_pyfind_probe_options[];

/*
 * The options to start the interpreter `info` describes as a worker compiling at `level`,
 * NULL-ended, into opts (room for 6): "-I", "-S" where the interpreter has -I (CPython 3.4+,
 * PyPy 3), else "-E", "-s", "-S"; and "-O" or "-OO" for level 1 or 2 when compile() does not
 * take a level (2.x, 3.0-3.1), whose workers compile at their own level only.  Returns the
 * number of options.
 */
size_t pyci_pyfind_options(const pyci_pyinfo *info, int level, const char *opts[6]);

#endif
