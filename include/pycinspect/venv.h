/*
 * venv.h - the interpreter a virtual environment is for, as its pyvenv.cfg says.
 *
 * `python -m venv` (CPython 3.3+, PyPy) and virtualenv write a pyvenv.cfg at the root of every
 * environment they make, one "key = value" a line.  CPython's site.py reads it back by
 * splitting each line at its first '=' and stripping both sides (str.strip: the whitespace of
 * str.isspace), the key lowered; a line without '=' is ignored, and so is a key nobody asks for:
 * there are no comments or sections, only keys that match or not.  The lines are those of a text
 * file read as UTF-8 (universal newlines: "\n", "\r\n" and "\r" end a line); a file that is not
 * UTF-8 makes site.py fail.  pyci_venv_parse reads the same way, with these keys:
 *   version         venv: sys.version_info[:3], "3.12.1"; PyPy's venv writes its language
 *                   version ("3.9.16"), which is what its caches are tagged with (pypy39)
 *   version_info    virtualenv ("3.12.1.final.0") and uv ("3.12.1"): used when there is no
 *                   version key
 *   implementation  virtualenv and uv: "CPython" or "PyPy", in any case
 *   executable      venv 3.11+: the real path of the interpreter, whose name starts with
 *                   "python" or "pypy"
 * A version is MAJOR.MINOR, optionally followed by '.' and anything.  When no key names the
 * implementation (venv before 3.11, and PyPy's venv, which writes neither), pyci_venv_read looks
 * at the environment itself: PyPy's venv puts bin/pypy3 and bin/pypy in it, CPython's never.
 * home (the base interpreter's directory) and include-system-site-packages say nothing of the
 * version and are not read.  When a key appears twice the last one counts, as in site.py.
 */
#ifndef PYCINSPECT_VENV_H
#define PYCINSPECT_VENV_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/target.h"

#define PYCI_VENV_CFG "pyvenv.cfg"
/* The largest pyvenv.cfg read; a larger one is refused (venv and virtualenv write < 1 KiB). */
#define PYCI_VENV_CFG_MAX ((size_t)64 * 1024)

/* What came of reading a pyvenv.cfg. */
typedef enum {
	PYCI_VENV_OK = 0,
	PYCI_VENV_UNREADABLE,         /* could not be opened or read (err says why) */
	PYCI_VENV_SYMLINK,            /* a symbolic link: not followed */
	PYCI_VENV_NOT_REGULAR,        /* not a regular file (replaced since it was listed) */
	PYCI_VENV_TOO_LARGE,          /* larger than PYCI_VENV_CFG_MAX */
	PYCI_VENV_NOT_UTF8,           /* site.py reads it as UTF-8, and fails */
	PYCI_VENV_NO_VERSION,         /* neither a version nor a version_info key */
	PYCI_VENV_BAD_VERSION,        /* the version is not MAJOR.MINOR[.anything] */
	PYCI_VENV_BAD_IMPLEMENTATION, /* implementation is neither CPython nor PyPy */
} pyci_venv_status;

/* A pyvenv.cfg found by a scan (scan.h), or read by pyci_venv_read. */
typedef struct pyci_venv {
	const char *root;   /* display path of the directory holding it (the environment) */
	const char *config; /* display path of the file itself */
	pyci_venv_status status;
	int err;            /* errno, for PYCI_VENV_UNREADABLE; else 0 */
	pyci_target target; /* PYCI_VENV_OK: the interpreter the environment is for */
	uint64_t dev, ino;  /* the identity of the file (of the symlink itself for
			     * PYCI_VENV_SYMLINK), or 0, 0 when it could not be had: the same
			     * file met through two paths is the same */
} pyci_venv;

/*
 * What the text of a pyvenv.cfg says (see the top of this file).  Pure: no I/O.  Returns
 * PYCI_VENV_OK and fills *target, or one of NOT_UTF8, NO_VERSION, BAD_VERSION,
 * BAD_IMPLEMENTATION.  *impl_named: whether a key named the implementation; when not,
 * target->impl is CPython, unless the environment says otherwise (pyci_venv_read).
 */
pyci_venv_status pyci_venv_parse(const char *text, size_t len, pyci_target *target,
				 int *impl_named);

/*
 * Read the pyvenv.cfg of the directory dirfd (O_PATH will do): opened without following a
 * symlink or blocking on a FIFO, at most PYCI_VENV_CFG_MAX bytes, parsed by pyci_venv_parse,
 * and when no key names the implementation, bin/pypy3 or bin/pypy in dirfd make it PyPy.
 * Fills v->status, v->err, v->target, v->dev and v->ino; leaves v->root and v->config alone.
 * Never fails otherwise: every trouble is a status (ENOMEM too: UNREADABLE).
 */
void pyci_venv_read(int dirfd, pyci_venv *v);

/* "cannot be read", "larger than 64 KiB", ...: what a status says (static storage). */
const char *pyci_venv_status_text(pyci_venv_status s);

#endif
