/*
 * finder.h - how each interpreter's path finder picks a module in a directory, as data.
 *
 * Asked for module NAME in a directory, every finder tries a package first (a directory NAME
 * holding an __init__ file of one of its suffixes; a directory without one, a namespace
 * package, is tried last, never first), then the files NAME + SUFFIX of its suffixes in their
 * order: extension modules, then the source (.py), then bytecode (.pyc).  So NAME.py, and
 * every cache of it, is never loaded when the package NAME/ or an extension module NAME + EXT
 * is there: the finder takes it first.  Which suffixes, and what makes a name count, depend on
 * the interpreter (CPython's Python/import.c and Python/dynload_shlib.c up to 3.2,
 * Lib/importlib/_bootstrap_external.py FileFinder.find_spec from 3.3, PyPy's
 * pypy/module/imp/importing.py):
 *
 *   CPython 1.0-1.4   import.c   no packages; .so, module.so
 *   CPython 1.5-3.1   import.c   packages (__init__.py, or __init__.pyc / .pyo under -O);
 *                                .so, module.so
 *   CPython 3.2       import.c   .cpython-32m.so, module.cpython-32m.so, .abi3.so,
 *                                module.abi3.so, .so, module.so
 *   CPython 3.3-3.4   importlib  .cpython-3Xm.so, .abi3.so, .so; an __init__ of any suffix
 *   CPython 3.5-3.7   importlib  .cpython-3Xm-TRIPLET.so, .abi3.so, .so
 *   CPython 3.8-3.14  importlib  .cpython-3XY-TRIPLET.so, .abi3.so, .so
 *   CPython 3.15+     importlib  .cpython-3XY-TRIPLET.so, .abi3-TRIPLET.so, .abi3.so,
 *                                .abi3t-TRIPLET.so, .abi3t.so, .so
 *   PyPy3 3.7+        importlib  .pypy3X-pp73-TRIPLET.so, no other (every PyPy3 3.7+ release
 *                                is a 7.3.x, "pp73")
 *   PyPy2, PyPy3 < 3.7           only a package with a regular __init__.py (PyPy2 tries .py
 *                                before its extension modules; the suffixes of older PyPy3
 *                                changed with the PyPy release, which no tag or magic number
 *                                says, so none is assumed)
 *
 * What makes a name count: importlib stats it and wants a regular file (symlinks followed);
 * import.c takes a package when stat() finds its __init__ at all, and a module file when
 * fopen() opens it (a directory or a FIFO included).
 *
 * The suffixes are those of a default build (no debug "d", no free-threaded "t"; the "m" of
 * pymalloc up to 3.7), and TRIPLET is the platform this library is built for
 * (pyci_platform_triplet()): a cache is judged as the interpreter of its version on this
 * machine would.  Pyodide, for one, names its extension modules .cpython-314-wasm32-emscripten.so.
 */
#ifndef PYCINSPECT_FINDER_H
#define PYCINSPECT_FINDER_H

#include <stddef.h>

#include "pycinspect/magic.h"

#define PYCI_FINDER_SUFFIXES 8 /* the most extension module suffixes of any finder */
#define PYCI_SUFFIX_MAX 64     /* bytes of one suffix, the NUL included */

/* What makes a name count for a finder. */
typedef enum {
	PYCI_FIND_REGULAR = 0, /* importlib: stat(2) finds a regular file (symlinks followed) */
	PYCI_FIND_EXISTS,      /* import.c's package __init__: stat(2) finds anything */
	PYCI_FIND_OPENABLE,    /* import.c's module files: fopen(name, "rb") opens it: stat
				* finds it, it is not a socket, and it may be read */
} pyci_find_rule;

/* One interpreter's finder, for the caches of one kind (.pyc, or .pyo under -O). */
typedef struct pyci_finder {
	int packages;             /* a directory NAME with an __init__ is a package */
	pyci_find_rule init_rule; /* what makes NAME/__init__ + SUFFIX count */
	size_t ninit;             /* the __init__ suffixes, ".py" first */
	char init[PYCI_FINDER_SUFFIXES + 2][PYCI_SUFFIX_MAX];
	pyci_find_rule ext_rule; /* what makes NAME + SUFFIX count */
	size_t next;             /* the extension module suffixes, in the finder's order */
	char ext[PYCI_FINDER_SUFFIXES][PYCI_SUFFIX_MAX];
} pyci_finder;

/*
 * The finder of interpreter impl major.minor, for caches named .pyo (pyo != 0; read under -O
 * by 3.4 and earlier, whose bytecode suffix is then .pyo) or .pyc.  Never fails: an
 * interpreter not in the table (PyPy2, PyPy3 before 3.7, an unknown one) gets the finder every
 * one of them agrees with, a package with a regular __init__.py and no extension module.
 */
void pyci_finder_for(pyci_impl impl, int major, int minor, int pyo, pyci_finder *out);

/*
 * The platform triplet of this build, as CPython's configure names it in extension module
 * suffixes ("x86_64-linux-gnu", "aarch64-linux-musl"), or "" when it is not known (suffixes
 * that hold it are then left out: an extension module of the platform is not seen).  Set at
 * build time; cmake -DPYCI_PLATFORM_TRIPLET=... overrides it.  Static storage.
 */
const char *pyci_platform_triplet(void);

/* What shadows a module's source: the finder takes it before NAME.py. */
typedef enum {
	PYCI_SHADOW_NONE = 0,
	PYCI_SHADOW_PACKAGE,   /* the package NAME/ (an __init__ file in it) */
	PYCI_SHADOW_EXTENSION, /* an extension module NAME + EXT */
} pyci_shadow_kind;

typedef struct pyci_shadow {
	pyci_shadow_kind kind;
	pyci_find_rule rule; /* how it counted: asked again before a removal */
	/* what follows NAME in its name: "/__init__.py", ".cpython-312-x86_64-linux-gnu.so" */
	char suffix[PYCI_SUFFIX_MAX + 16];
} pyci_shadow;

#endif
