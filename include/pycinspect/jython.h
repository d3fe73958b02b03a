/*
 * jython.h - the judgement Jython's import makes about NAME$py.class, and the API versions of
 * its releases.
 *
 * The rule is org.python.core.imp of Jython 2.7.3, unchanged in 2.7.4 (docs/statuses.md links
 * the lines).  For a module (or a package's __init__), loadFromSource() looks at NAME.py and
 * NAME$py.class in the same directory:
 *   - with the source (a regular file): pyTime = source.lastModified(), classTime =
 *     class.lastModified() (Java: tv_sec * 1000 + tv_nsec / 10^6, following symlinks); the
 *     class is used when classTime >= pyTime and readCodeData() accepts it: its APIVersion
 *     annotation equals the running Jython's (39), and its MTime annotation is at most 2000 ms
 *     after pyTime (MTime - pyTime > 2000 is refused; an earlier MTime is not, since a source
 *     installed from a jar has its mtime rounded down to 2 s).  Otherwise the source is
 *     compiled and the class rewritten: stale.
 *   - without it: the class is imported as it is (sourceless), if its API version is 39;
 *     otherwise the import fails with "compiled unit contains version N code (39 required)".
 * A class file ASM cannot read, or the JVM refuses, fails the import or makes Jython recompile
 * the source: invalid either way.  2.7.2 (API 38) had the same rule; 2.7.0 and 2.7.1 (36, 37)
 * required MTime to equal pyTime; each release accepts only its own API version.  The release
 * judged is the current one, 2.7.3/2.7.4, which is what a jython2.7 target means.
 *
 * Pure: no I/O here.
 */
#ifndef PYCINSPECT_JYTHON_H
#define PYCINSPECT_JYTHON_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/jclass.h"
#include "pycinspect/target.h"
#include "pycinspect/verdict.h"

/* The API version of the Jython release whose rule is applied (2.7.3 and 2.7.4). */
#define PYCI_JYTHON_API 39

/* MTime may be this much later than the source's lastModified() (imp.readCodeData). */
#define PYCI_JYTHON_MTIME_SLACK_MS 2000

/* A final release's API version (imp.APIVersion at its tag). */
typedef struct pyci_jython_api {
	int32_t api;
	int major, minor;     /* the language version of those releases */
	const char *releases; /* "2.7.3, 2.7.4"; static storage */
} pyci_jython_api;

/*
 * The releases that write API version api: returns the row, or NULL when no final release does
 * (an alpha's or beta's number, or one never used).
 */
const pyci_jython_api *pyci_jython_api_lookup(int32_t api);

/* The table, by API version; *count receives the number of rows.  Static storage. */
const pyci_jython_api *pyci_jython_api_table(size_t *count);

/* 1 when jython major.minor's caches are judged (2.7: the rule above), else 0. */
int pyci_jython_version_known(int major, int minor);

/* Java's File.lastModified() of a file with mtime sec, nsec: sec * 1000 + nsec / 10^6, in
 * Java's wrapping arithmetic. */
int64_t pyci_java_mtime_ms(int64_t sec, long nsec);

typedef struct pyci_jython_input {
	const pyci_jclass *jclass; /* the class file decoded; ignored when !regular or read_err */
	int regular;               /* the cache is a regular file */
	int read_err;              /* errno of opening/reading it, or 0 */
	int64_t mtime_sec;         /* the class file's own mtime */
	long mtime_nsec;
	const pyci_source_info *source; /* NAME.py beside it (never NULL) */
	const pyci_targets *targets;    /* NULL: every interpreter counts as a target */
} pyci_jython_input;

/*
 * Judge one NAME$py.class by the rule above.  Never fails.  The owner in *out is Jython of the
 * language version of the class's API version (unknown when no release writes it).  Foreign:
 * there are targets, and that version (2.7 for an unknown API version) is not one of them, or
 * the class's API version is not 39, which a jython2.7 target cannot use.
 */
void pyci_jython_judge(const pyci_jython_input *in, pyci_verdict *out);

#endif
