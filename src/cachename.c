/*
 * cachename.c - split cache file names (see cachename.h for the forms).
 *
 * CPython's own source_from_cache() refuses names with more than three dots, yet compileall
 * writes a.tar.cpython-313.pyc for a.tar.py; splitting from the right maps both back.
 */
#include "pycinspect/cachename.h"

#include <string.h>

static int all_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * A level some import looks up: the interpreter asks for .opt-N with N = sys.flags.optimize
 * (the number of -O, or PYTHONOPTIMIZE), and for no level at all when that is 0.  So N is a
 * positive decimal without leading zeros.  source_from_cache() accepts any alphanumeric level
 * (cache_from_source(optimization="x") writes one), but no import ever loads .opt-0 or .opt-x.
 */
static int import_level(const char *s, size_t n)
{
	return all_digits(s, n) && s[0] != '0';
}

/* "312" -> 3, 12; the first digit is the major version, the rest the minor. */
static int split_version_digits(const char *s, size_t n, int *major, int *minor)
{
	if (!all_digits(s, n) || n < 2 || n > 4)
		return -1;
	*major = s[0] - '0';
	int m = 0;
	for (size_t i = 1; i < n; i++)
		m = m * 10 + (s[i] - '0');
	*minor = m;
	return 0;
}

int pyci_cache_tag_parse(const char *tag, size_t len, pyci_impl *impl, int *major, int *minor)
{
	if (len > 8 && memcmp(tag, "cpython-", 8) == 0 &&
	    split_version_digits(tag + 8, len - 8, major, minor) == 0) {
		*impl = PYCI_IMPL_CPYTHON;
		return 0;
	}
	if (len > 4 && memcmp(tag, "pypy", 4) == 0 &&
	    split_version_digits(tag + 4, len - 4, major, minor) == 0) {
		*impl = PYCI_IMPL_PYPY;
		return 0;
	}
	return -1;
}

/* Index of the last '.' in s[0 .. n), or n if none. */
static size_t last_dot(const char *s, size_t n)
{
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == '.')
			return i - 1;
	return n;
}

/*
 * A leftover of an interrupted cache write in __pycache__: NAME.TAG.pyc.<digits>.  CPython 3.3+
 * and PyPy write a cache as "{path}.{id(path)}" and rename it into place (importlib's
 * _write_atomic); a process killed in between leaves that file behind.  Its name as a cache
 * (parsed as one) is name[0 .. n) before the dot of the number.
 */
static int leftover_name(const char *name, size_t len, size_t *n)
{
	size_t dot = last_dot(name, len);
	if (dot == len || !all_digits(name + dot + 1, len - dot - 1) || dot < 5 ||
	    name[dot - 4] != '.' || name[dot - 3] != 'p' || name[dot - 2] != 'y' ||
	    (name[dot - 1] != 'c' && name[dot - 1] != 'o'))
		return 0;
	*n = dot;
	return 1;
}

/* name[0 .. stem) + ".pyc"/".pyo" (out->pyo) as a __pycache__ entry: kind PYCACHE with its tag
 * and level, or PYCACHE_BAD. */
static void parse_pycache(const char *name, size_t stem, pyci_cache_name *out)
{
	out->kind = PYCI_NAME_PYCACHE_BAD;
	out->stem_len = stem;
	size_t dot = last_dot(name, stem);
	if (dot == stem)
		return;
	if (stem - dot - 1 >= 4 && memcmp(name + dot + 1, "opt-", 4) == 0) {
		/* PEP 488, as imports use it: a level 1, 2, 3, ..., and only in .pyc names */
		if (out->pyo || !import_level(name + dot + 5, stem - dot - 5))
			return;
		out->opt_off = dot + 5;
		out->opt_len = stem - dot - 5;
		stem = dot;
		dot = last_dot(name, stem);
		if (dot == stem)
			return;
	}
	if (dot == 0 || dot + 1 == stem)
		return; /* empty NAME or empty TAG */
	out->tag_off = dot + 1;
	out->tag_len = stem - dot - 1;
	out->stem_len = dot;
	out->kind = PYCI_NAME_PYCACHE;
	if (pyci_cache_tag_parse(name + out->tag_off, out->tag_len, &out->tag_impl, &out->tag_major,
				 &out->tag_minor) != 0)
		out->tag_impl = PYCI_IMPL_UNKNOWN;
}

/* pyci_cache_name_parse but for leftovers. */
static int parse_name(const char *name, size_t len, int in_pycache, pyci_cache_name *out)
{
	memset(out, 0, sizeof(*out));
	size_t jy = sizeof(PYCI_JYTHON_SUFFIX) - 1;
	if (len > jy && memcmp(name + len - jy, PYCI_JYTHON_SUFFIX, jy) == 0) {
		/* Jython writes NAME$py.class beside NAME.py, and reads it only from there */
		if (in_pycache)
			return -1;
		out->kind = PYCI_NAME_JYTHON;
		out->stem_len = len - jy;
		return 0;
	}
	if (len < 5 || name[len - 4] != '.' || name[len - 3] != 'p' || name[len - 2] != 'y' ||
	    (name[len - 1] != 'c' && name[len - 1] != 'o'))
		return -1;
	out->pyo = name[len - 1] == 'o';
	size_t stem = len - 4;

	if (!in_pycache) {
		pyci_cache_name as = {.pyo = out->pyo};
		parse_pycache(name, stem, &as);
		out->kind = PYCI_NAME_LEGACY;
		out->stem_len = stem;
		out->prefix_name = as.kind == PYCI_NAME_PYCACHE && as.tag_impl != PYCI_IMPL_UNKNOWN;
		return 0;
	}
	parse_pycache(name, stem, out);
	return 0;
}

int pyci_cache_name_of_py(const pyci_cache_name *n)
{
	return n->kind == PYCI_NAME_PYCACHE || (n->kind == PYCI_NAME_LEGACY && !n->prefix_name);
}

int pyci_cache_name_parse(const char *name, size_t len, int in_pycache, pyci_cache_name *out)
{
	size_t n;
	if (in_pycache && leftover_name(name, len, &n)) {
		(void)parse_name(name, n, 1, out);
		out->kind = PYCI_NAME_PYCACHE_BAD;
		out->leftover = 1;
		return 0;
	}
	return parse_name(name, len, in_pycache, out);
}
