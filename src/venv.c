/*
 * venv.c - read a pyvenv.cfg the way CPython's site.py does, for the interpreter it names
 * (see venv.h).
 *
 * The text is checked as UTF-8 first (what site.py decodes it as), then cut into lines at
 * "\n", "\r\n" and "\r", each line at its first '='; both sides are stripped of what Python's
 * str.strip() strips, which for UTF-8 text is a set of byte sequences (the table below), so no
 * decoding is needed.  Keys are compared ASCII-case-insensitively: of the characters str.lower()
 * maps to ASCII, only U+212A KELVIN SIGN is not ASCII itself, and it lowers to 'k', which none
 * of the keys read here holds.
 */
#define _GNU_SOURCE
#include "pycinspect/venv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readopen.h"
#include "pycinspect/json.h"

/* What Python's str.isspace() holds true (checked against CPython 3.12), as UTF-8: the ASCII
 * ones are single bytes, tested apart. */
static const char *const wide_spaces[] = {
	"\xc2\x85",     "\xc2\xa0",     "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81",
	"\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85", "\xe2\x80\x86",
	"\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89", "\xe2\x80\x8a", "\xe2\x80\xa8",
	"\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80",
};

static int ascii_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Bytes of the space that s[0 .. len) starts with (at_end: ends with), or 0. */
static size_t space_len(const char *s, size_t len, int at_end)
{
	if (len == 0)
		return 0;
	if (ascii_space((unsigned char)s[at_end ? len - 1 : 0]))
		return 1;
	for (size_t i = 0; i < sizeof(wide_spaces) / sizeof(wide_spaces[0]); i++) {
		size_t n = strlen(wide_spaces[i]);
		if (n <= len && memcmp(at_end ? s + len - n : s, wide_spaces[i], n) == 0)
			return n; /* valid UTF-8: a lead byte starts a character, never ends one */
	}
	return 0;
}

/* str.strip() of s[0 .. *len): the start moved, *len cut. */
static const char *strip(const char *s, size_t *len)
{
	size_t n;
	while ((n = space_len(s, *len, 0)) != 0) {
		s += n;
		*len -= n;
	}
	while ((n = space_len(s, *len, 1)) != 0)
		*len -= n;
	return s;
}

/* Whether s[0 .. len) is `key` in any ASCII case. */
static int key_is(const char *s, size_t len, const char *key)
{
	if (strlen(key) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)key[i])
			return 0;
	}
	return 1;
}

/* One value as the last line that set it left it; NULL when no line did. */
struct value {
	const char *s;
	size_t len;
};

/* A number of at most 3 digits at s[*i], moved past.  0, or -1 (none, or too long). */
static int number(const char *s, size_t len, size_t *i, int *out)
{
	size_t start = *i;
	int v = 0;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *i - start < 3)
		v = v * 10 + (s[(*i)++] - '0');
	if (*i == start || (*i < len && s[*i] >= '0' && s[*i] <= '9'))
		return -1;
	*out = v;
	return 0;
}

/* MAJOR.MINOR, then the end or '.' and anything (3.12.1, 3.12.1.final.0).  0, or -1. */
static int parse_version(const struct value *v, int *major, int *minor)
{
	size_t i = 0;
	if (number(v->s, v->len, &i, major) != 0 || i >= v->len || v->s[i++] != '.' ||
	    number(v->s, v->len, &i, minor) != 0)
		return -1;
	return i == v->len || v->s[i] == '.' ? 0 : -1;
}

/* Whether s[0 .. len) starts with prefix, in any ASCII case. */
static int starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && key_is(s, n, prefix);
}

/* The implementation the executable key's file name says: 1 named (*impl set), else 0. */
static int impl_of_executable(const struct value *v, pyci_impl *impl)
{
	const char *base = v->s;
	for (size_t i = 0; i < v->len; i++)
		if (v->s[i] == '/')
			base = v->s + i + 1;
	size_t n = v->len - (size_t)(base - v->s);
	if (starts_with(base, n, "pypy")) {
		*impl = PYCI_IMPL_PYPY;
		return 1;
	}
	if (starts_with(base, n, "python")) {
		*impl = PYCI_IMPL_CPYTHON;
		return 1;
	}
	return 0;
}

pyci_venv_status pyci_venv_parse(const char *text, size_t len, pyci_target *target, int *impl_named)
{
	struct value version = {0}, version_info = {0}, implementation = {0}, executable = {0};
	*impl_named = 0;
	if (!pyci_utf8_valid(text, len))
		return PYCI_VENV_NOT_UTF8;
	for (size_t at = 0; at < len;) {
		size_t end = at;
		while (end < len && text[end] != '\n' && text[end] != '\r')
			end++;
		const char *line = text + at;
		const char *eq = memchr(line, '=', end - at);
		at = end + (end < len && text[end] == '\r' && end + 1 < len && text[end + 1] == '\n'
				    ? 2
				    : 1);
		if (!eq)
			continue;
		size_t klen = (size_t)(eq - line), vlen = (size_t)(text + end - eq - 1);
		const char *key = strip(line, &klen);
		struct value v = {.len = vlen};
		v.s = strip(eq + 1, &v.len);
		if (key_is(key, klen, "version"))
			version = v;
		else if (key_is(key, klen, "version_info"))
			version_info = v;
		else if (key_is(key, klen, "implementation"))
			implementation = v;
		else if (key_is(key, klen, "executable"))
			executable = v;
	}
	const struct value *ver = version.s ? &version : version_info.s ? &version_info : NULL;
	if (!ver)
		return PYCI_VENV_NO_VERSION;
	if (parse_version(ver, &target->major, &target->minor) != 0)
		return PYCI_VENV_BAD_VERSION;
	target->impl = PYCI_IMPL_CPYTHON;
	if (implementation.s) {
		if (key_is(implementation.s, implementation.len, "pypy"))
			target->impl = PYCI_IMPL_PYPY;
		else if (!key_is(implementation.s, implementation.len, "cpython"))
			return PYCI_VENV_BAD_IMPLEMENTATION;
		*impl_named = 1;
	} else if (executable.s) {
		*impl_named = impl_of_executable(&executable, &target->impl);
	}
	return PYCI_VENV_OK;
}

/* Whether dirfd/bin holds pypy3 or pypy (PyPy's venv makes both; any file type counts, none
 * is followed). */
static int has_pypy_bin(int dirfd)
{
	int bin = openat(dirfd, "bin", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bin < 0)
		return 0;
	struct stat st;
	int r = fstatat(bin, "pypy3", &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		fstatat(bin, "pypy", &st, AT_SYMLINK_NOFOLLOW) == 0;
	close(bin);
	return r;
}

/* Read at most PYCI_VENV_CFG_MAX bytes of fd (a regular file) into a new buffer.  Its length in
 * *len; NULL with errno (EFBIG: larger than the bound). */
static char *read_bounded(int fd, size_t size_hint, size_t *len)
{
	size_t cap = (size_hint < PYCI_VENV_CFG_MAX ? size_hint : PYCI_VENV_CFG_MAX) + 1;
	char *buf = malloc(cap);
	size_t got = 0;
	if (!buf)
		return NULL;
	for (;;) {
		if (got == cap) {
			if (cap > PYCI_VENV_CFG_MAX) { /* it grew past the bound since its stat */
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			size_t ncap =
				cap * 2 > PYCI_VENV_CFG_MAX + 1 ? PYCI_VENV_CFG_MAX + 1 : cap * 2;
			char *p = realloc(buf, ncap);
			if (!p) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > PYCI_VENV_CFG_MAX) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	*len = got;
	return buf;
}

void pyci_venv_read(int dirfd, pyci_venv *v)
{
	int noatime = 1;
	struct stat st;
	v->err = 0;
	v->target = (pyci_target){PYCI_IMPL_CPYTHON, 0, 0};
	v->dev = v->ino = 0;
	int fd = pyci_openat_read(dirfd, PYCI_VENV_CFG,
				  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
				  &noatime);
	if (fd < 0) {
		v->status = errno == ELOOP ? PYCI_VENV_SYMLINK : PYCI_VENV_UNREADABLE;
		v->err = v->status == PYCI_VENV_UNREADABLE ? errno : 0;
		if (fstatat(dirfd, PYCI_VENV_CFG, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			v->dev = (uint64_t)st.st_dev;
			v->ino = (uint64_t)st.st_ino;
		}
		return;
	}
	size_t len = 0;
	char *text = NULL;
	int statted = fstat(fd, &st) == 0;
	if (statted) {
		v->dev = (uint64_t)st.st_dev;
		v->ino = (uint64_t)st.st_ino;
	}
	if (!statted) {
		v->status = PYCI_VENV_UNREADABLE;
		v->err = errno;
	} else if (!S_ISREG(st.st_mode)) {
		v->status = PYCI_VENV_NOT_REGULAR;
	} else if ((uint64_t)st.st_size > PYCI_VENV_CFG_MAX) {
		v->status = PYCI_VENV_TOO_LARGE;
	} else if (!(text = read_bounded(fd, (size_t)st.st_size, &len))) {
		v->status = errno == EFBIG ? PYCI_VENV_TOO_LARGE : PYCI_VENV_UNREADABLE;
		v->err = v->status == PYCI_VENV_UNREADABLE ? errno : 0;
	} else {
		int named;
		v->status = pyci_venv_parse(text, len, &v->target, &named);
		if (v->status == PYCI_VENV_OK && !named && has_pypy_bin(dirfd))
			v->target.impl = PYCI_IMPL_PYPY;
	}
	free(text);
	close(fd);
}

const char *pyci_venv_status_text(pyci_venv_status s)
{
	switch (s) {
	case PYCI_VENV_OK:
		return "ok";
	case PYCI_VENV_UNREADABLE:
		return "cannot be read";
	case PYCI_VENV_SYMLINK:
		return "a symbolic link, not followed";
	case PYCI_VENV_NOT_REGULAR:
		return "not a regular file";
	case PYCI_VENV_TOO_LARGE:
		return "larger than 64 KiB, not read";
	case PYCI_VENV_NOT_UTF8:
		return "not UTF-8";
	case PYCI_VENV_NO_VERSION:
		return "no 'version' or 'version_info' key";
	case PYCI_VENV_BAD_VERSION:
		return "its version is not MAJOR.MINOR";
	case PYCI_VENV_BAD_IMPLEMENTATION:
		return "its implementation is neither CPython nor PyPy";
	}
	return "?";
}
