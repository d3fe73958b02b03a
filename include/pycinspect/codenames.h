/*
 * codenames.h - the names a reviewer looks at first in code that cannot be checked against a
 * source: what it imports, and which names of a fixed watch list it uses.
 *
 * Imports are the modules named by the import opcode (IMPORT_NAME) of every code object: the
 * name `import x.y`, `from x import z` and `__import__`-free imports load, read from the
 * bytecode with the opcode numbers of the cache's version (known for 2.7 and 3.0-3.15; for
 * other versions imports_known is 0 and only the watch list is searched).  The watch list,
 * pyci_codenames_watch, is matched against co_names (global and attribute names: `exec`,
 * `os.system`'s `system`) and string constants (getattr(os, "system")) of every code object.
 * Both lists keep the order of first appearance (code objects in source order), without repeats, at most PYCI_CODENAMES_MAX
 * names each (the rest counted).
 */
#ifndef PYCINSPECT_CODENAMES_H
#define PYCINSPECT_CODENAMES_H

#include <stddef.h>

#include "pycinspect/buf.h"
#include "pycinspect/marshal.h"

#define PYCI_CODENAMES_MAX 64

/* The watch list, NULL-ended: __import__, compile, ctypes, eval, exec, execfile,
 * import_module, importlib, marshal, pickle, popen, socket, subprocess, system, urlopen. */
extern const char *const pyci_codenames_watch[];

typedef struct pyci_codenames {
	pyci_buf imports; /* each name followed by a NUL */
	size_t nimports, imports_more;
	int imports_known; /* the opcodes of this version are known: imports were read */
	pyci_buf watched;  /* the same, for names of the watch list */
	size_t nwatched;
} pyci_codenames;

/* The names of tree t (decoded without error) into *c (zeroed by the call; free it with
 * pyci_codenames_free).  0, or -1 (ENOMEM). */
int pyci_codenames_of(const pyci_mtree *t, pyci_codenames *c);

void pyci_codenames_free(pyci_codenames *c);

#endif
