/*
 * cachename.h - what a cache file's name says: where its source is and who it is for.
 *
 *   DIR/__pycache__/NAME.TAG.pyc         PEP 3147 (3.2+); TAG is cpython-312, pypy39, ...
 *   DIR/__pycache__/NAME.TAG.opt-N.pyc   PEP 488 (3.5+), -O / -OO (N = 1, 2, 3, ...: the levels
 *                                        an import looks up; opt-0 and opt-x are no cache name)
 *   DIR/__pycache__/NAME.TAG.pyo         3.2-3.4, -O and -OO
 *   DIR/NAME.pyc, DIR/NAME.pyo           legacy (1.x-3.1, PyPy2, compileall -b, sourceless)
 *   DIR/__pycache__/NAME.TAG.pyc.<digits> a leftover of an interrupted write (3.3+, PyPy: the
 *                                        temporary name a cache is written under, then renamed)
 *   DIR/NAME$py.class                    Jython 2.5+ (imp.makeCompiledFilename: the source's
 *                                        name without ".py", then "$py.class"), never in
 *                                        __pycache__; a package's is NAME/__init__$py.class
 * The name is split from the right, so dotted names keep their dots: a.tar.cpython-313.pyc is the
 * cache of a.tar.py.  The source of a __pycache__ entry is DIR/NAME.py; of a legacy or Jython one
 * NAME.py beside it.
 */
#ifndef PYCINSPECT_CACHENAME_H
#define PYCINSPECT_CACHENAME_H

#include <stddef.h>

#include "pycinspect/magic.h"

typedef enum {
	PYCI_NAME_NOT_CACHE = 0, /* does not end in .pyc / .pyo (nor $py.class outside
				  * __pycache__) */
	PYCI_NAME_PYCACHE,       /* NAME.TAG[.opt-N].pyc or NAME.TAG.pyo in __pycache__ */
	PYCI_NAME_PYCACHE_BAD,   /* ends in .pyc/.pyo inside __pycache__ but has no usable tag,
				  * or is a leftover (debris: no import looks it up) */
	PYCI_NAME_LEGACY,        /* NAME.pyc / NAME.pyo outside __pycache__ */
	PYCI_NAME_JYTHON,        /* NAME$py.class outside __pycache__: a Java class file */
} pyci_name_kind;

/* The suffix of a Jython cache name. */
#define PYCI_JYTHON_SUFFIX "$py.class"

typedef struct pyci_cache_name {
	pyci_name_kind kind;
	size_t stem_len;         /* NAME is name[0 .. stem_len) */
	size_t tag_off, tag_len; /* TAG, PYCACHE only; tag_len 0 otherwise */
	size_t opt_off, opt_len; /* N of opt-N, PYCACHE only; opt_len 0 when absent */
	int pyo;                 /* extension is .pyo */
	pyci_impl tag_impl;      /* from the tag; PYCI_IMPL_UNKNOWN if not cpython-/pypy */
	int tag_major, tag_minor;
	int leftover; /* PYCACHE_BAD: NAME.TAG.pyc.<digits>; the fields above are those of
		       * NAME.TAG.pyc (a PYCACHE name, or not, as it parses) */
	/* LEGACY: the name is NAME.TAG[.opt-N].pyc or NAME.TAG.pyo with a known TAG, a __pycache__
	 * name outside __pycache__, as a PYTHONPYCACHEPREFIX tree holds them.  No import looks it
	 * up where it is: a finder looks for the last part of a module's name, which has no dot. */
	int prefix_name;
} pyci_cache_name;

/*
 * Classify file name `name` (len bytes, no '/'; need not be UTF-8 or NUL-terminated) found in a
 * directory called __pycache__ (in_pycache != 0) or elsewhere.  Always fills *out; returns 0
 * when out->kind is not PYCI_NAME_NOT_CACHE, -1 otherwise.
 */
int pyci_cache_name_parse(const char *name, size_t len, int in_pycache, pyci_cache_name *out);

/* Whether n is the cache of a source NAME.py it names: a __pycache__ entry or a legacy name,
 * but not a __pycache__ name outside __pycache__ (prefix_name), nor a Jython class file. */
int pyci_cache_name_of_py(const pyci_cache_name *n);

/*
 * Parse a cache tag: "cpython-312" -> CPython 3.12, "cpython-36" -> CPython 3.6,
 * "pypy39" / "pypy310" -> PyPy 3.9 / 3.10.  Returns 0 on success, -1 if the text is not such a tag.
 */
int pyci_cache_tag_parse(const char *tag, size_t len, pyci_impl *impl, int *major, int *minor);

#endif
