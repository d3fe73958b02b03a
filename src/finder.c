/*
 * finder.c - each interpreter's path finder as a row of data (see finder.h).
 *
 * A row names a range of versions of one implementation, what makes a name count, and the
 * extension module suffixes as templates: {V} is the version's digits ("312", "39"), {T} the
 * platform triplet.  The __init__ suffixes of a package follow from the row: ".py", then the
 * extension suffixes when the finder loads an __init__ of any suffix (importlib), then the
 * bytecode suffix (.pyc; .pyo for the -O caches of 3.4 and earlier).
 *
 * The triplet is the build's own, worked out below from the compiler's predefined macros the
 * way CPython's configure does for the common Linux ports (Debian's multiarch names, which
 * `gcc -print-multiarch` prints); a port not listed gets "" unless the build sets
 * PYCI_PLATFORM_TRIPLET (CMakeLists.txt).
 */
#include "pycinspect/finder.h"

#include <stdio.h>
#include <string.h>

#if defined(PYCI_PLATFORM_TRIPLET)
#define TRIPLET PYCI_PLATFORM_TRIPLET
#elif defined(__linux__) && !defined(__ANDROID__)
#if defined(__GLIBC__)
#define LIBC "gnu"
#else
#define LIBC "musl" /* CPython's configure: linux-gnu becomes linux-musl on a musl build */
#endif
#if defined(__x86_64__) && defined(__LP64__)
#define TRIPLET "x86_64-linux-" LIBC
#elif defined(__x86_64__)
#define TRIPLET "x86_64-linux-" LIBC "x32"
#elif defined(__i386__)
#define TRIPLET "i386-linux-" LIBC
#elif defined(__aarch64__) && defined(__AARCH64EL__) && !defined(__ILP32__)
#define TRIPLET "aarch64-linux-" LIBC
#elif defined(__ARM_EABI__) && defined(__ARMEL__) && defined(__ARM_PCS_VFP)
#define TRIPLET "arm-linux-" LIBC "eabihf"
#elif defined(__ARM_EABI__) && defined(__ARMEL__)
#define TRIPLET "arm-linux-" LIBC "eabi"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define TRIPLET "powerpc64le-linux-" LIBC
#elif defined(__powerpc64__)
#define TRIPLET "powerpc64-linux-" LIBC
#elif defined(__s390x__)
#define TRIPLET "s390x-linux-" LIBC
#elif defined(__riscv) && defined(__riscv_xlen) && __riscv_xlen == 64
#define TRIPLET "riscv64-linux-" LIBC
#elif defined(__loongarch_lp64) && defined(__loongarch_double_float)
#define TRIPLET "loongarch64-linux-" LIBC
#endif
#endif
#ifndef TRIPLET
#define TRIPLET ""
#endif

const char *pyci_platform_triplet(void)
{
	return TRIPLET;
}

#define V(major, minor) ((major)*100 + (minor))

struct finder_row {
	pyci_impl impl;
	int from, to; /* V(major, minor), both included */
	int packages;
	pyci_find_rule init_rule, ext_rule;
	int init_ext; /* an extension module may be a package's __init__ */
	const char *ext[PYCI_FINDER_SUFFIXES];
};

/* clang-format off: a table */
static const struct finder_row rows[] = {
	{PYCI_IMPL_CPYTHON,
	 V(1, 0),
	 V(1, 4),
	 0,
	 PYCI_FIND_EXISTS,
	 PYCI_FIND_OPENABLE,
	 0,
	 {".so", "module.so"}},
	{PYCI_IMPL_CPYTHON,
	 V(1, 5),
	 V(3, 1),
	 1,
	 PYCI_FIND_EXISTS,
	 PYCI_FIND_OPENABLE,
	 0,
	 {".so", "module.so"}},
	{PYCI_IMPL_CPYTHON,
	 V(3, 2),
	 V(3, 2),
	 1,
	 PYCI_FIND_EXISTS,
	 PYCI_FIND_OPENABLE,
	 0,
	 {".cpython-{V}m.so", "module.cpython-{V}m.so", ".abi3.so", "module.abi3.so", ".so",
	  "module.so"}},
	{PYCI_IMPL_CPYTHON,
	 V(3, 3),
	 V(3, 4),
	 1,
	 PYCI_FIND_REGULAR,
	 PYCI_FIND_REGULAR,
	 1,
	 {".cpython-{V}m.so", ".abi3.so", ".so"}},
	{PYCI_IMPL_CPYTHON,
	 V(3, 5),
	 V(3, 7),
	 1,
	 PYCI_FIND_REGULAR,
	 PYCI_FIND_REGULAR,
	 1,
	 {".cpython-{V}m-{T}.so", ".abi3.so", ".so"}},
	{PYCI_IMPL_CPYTHON,
	 V(3, 8),
	 V(3, 14),
	 1,
	 PYCI_FIND_REGULAR,
	 PYCI_FIND_REGULAR,
	 1,
	 {".cpython-{V}-{T}.so", ".abi3.so", ".so"}},
	{PYCI_IMPL_CPYTHON,
	 V(3, 15),
	 V(99, 99),
	 1,
	 PYCI_FIND_REGULAR,
	 PYCI_FIND_REGULAR,
	 1,
	 {".cpython-{V}-{T}.so", ".abi3-{T}.so", ".abi3.so", ".abi3t-{T}.so", ".abi3t.so", ".so"}},
	{PYCI_IMPL_PYPY,
	 V(3, 7),
	 V(99, 99),
	 1,
	 PYCI_FIND_REGULAR,
	 PYCI_FIND_REGULAR,
	 1,
	 {".pypy{V}-pp73-{T}.so"}},
};
/* clang-format on */

/* What every finder agrees with: a package with a regular __init__.py, no extension module. */
static const struct finder_row fallback = {PYCI_IMPL_UNKNOWN, 0, 0,     1, PYCI_FIND_REGULAR,
					   PYCI_FIND_REGULAR, 0, {NULL}};

/* Append len bytes of s to out (n bytes used of PYCI_SUFFIX_MAX); 0, or -1: no room. */
static int put(char *out, size_t *n, const char *s, size_t len)
{
	if (*n + len >= PYCI_SUFFIX_MAX)
		return -1;
	memcpy(out + *n, s, len);
	*n += len;
	return 0;
}

/* Expand template t into out (PYCI_SUFFIX_MAX bytes).  0, or -1 when it needs a triplet this
 * build does not know, or does not fit. */
static int expand(const char *t, int major, int minor, char *out)
{
	size_t n = 0;
	while (*t) {
		int rc;
		if (strncmp(t, "{V}", 3) == 0) {
			char v[16];
			int w = snprintf(v, sizeof(v), "%d%d", major, minor);
			rc = w > 0 && (size_t)w < sizeof(v) ? put(out, &n, v, (size_t)w) : -1;
			t += 3;
		} else if (strncmp(t, "{T}", 3) == 0) {
			const char *triplet = pyci_platform_triplet();
			rc = *triplet ? put(out, &n, triplet, strlen(triplet)) : -1;
			t += 3;
		} else {
			rc = put(out, &n, t++, 1);
		}
		if (rc != 0)
			return -1;
	}
	out[n] = '\0';
	return 0;
}

static void add(char (*list)[PYCI_SUFFIX_MAX], size_t *n, const char *s)
{
	memcpy(list[*n], s, strlen(s) + 1);
	(*n)++;
}

void pyci_finder_for(pyci_impl impl, int major, int minor, int pyo, pyci_finder *out)
{
	const struct finder_row *row = &fallback;
	int v = V(major, minor);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].impl == impl && v >= rows[i].from && v <= rows[i].to)
			row = &rows[i];
	memset(out, 0, sizeof(*out));
	out->packages = row->packages;
	out->init_rule = row->init_rule;
	out->ext_rule = row->ext_rule;
	for (size_t i = 0; i < PYCI_FINDER_SUFFIXES && row->ext[i]; i++)
		if (expand(row->ext[i], major, minor, out->ext[out->next]) == 0)
			out->next++;
	add(out->init, &out->ninit, ".py");
	if (row->init_ext)
		for (size_t i = 0; i < out->next; i++)
			add(out->init, &out->ninit, out->ext[i]);
	if (row != &fallback)
		add(out->init, &out->ninit, pyo && v <= V(3, 4) ? ".pyo" : ".pyc");
}
