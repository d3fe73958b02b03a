/*
 * deep.c - the body of a cache, loaded as its interpreter would load it (see deep.h).
 *
 * The decoder (marshal.c) stops at the first byte CPython's marshal.loads would refuse, with a
 * message of its own; the table below says which exception the interpreter raises there
 * (Python/marshal.c: r_object, r_string, r_long; the code object's constructor for fields of
 * the wrong type; importlib's _compile_bytecode for a body that is not a code object).  A
 * string, bytes or tuple whose size runs past the end is EOFError "marshal data too short" in
 * CPython, which reads the size and then finds too few bytes; the decoder says so at the size.
 * Trailing bytes after a complete code object are ignored by the interpreter, and here.
 *
 * The conformance test (tests/conformance/deep.py) cuts and corrupts real caches of every
 * interpreter and imports them: each predicted failure must fail with the same exception.
 */
#define _GNU_SOURCE
#include "deep.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readopen.h"
#include "pycinspect/marshal.h"

/* A decoder message, and what the interpreter raises where the decoder stops with it. */
static const struct {
	const char *decoder;
	const char *exception;
	const char *message; /* NULL: the decoder's own */
} raised[] = {
	{"marshal data too short", "EOFError", NULL},
	{"EOF read where object expected", "EOFError", NULL},
	{"bad marshal data (size larger than the remaining data)", "EOFError",
	 "marshal data too short"},
	{"bad marshal data (unknown type code)", "ValueError", NULL},
	{"bad marshal data (invalid reference)", "ValueError", NULL},
	{"bad marshal data (string ref out of range)", "ValueError", NULL},
	{"bad marshal data (size out of range)", "ValueError", NULL},
	{"bad marshal data (long size out of range)", "ValueError", NULL},
	{"bad marshal data (digit out of range in long)", "ValueError", NULL},
	{"bad marshal data (unnormalized long data)", "ValueError", NULL},
	{"bad marshal data (index list too large)", "ValueError", NULL},
	{"bad marshal data (invalid float text)", "ValueError",
	 "could not convert string to float"},
	{"bad marshal data (invalid UTF-8 in str)", "UnicodeDecodeError",
	 "'utf-8' codec can't decode a string of the code"},
	{"bad marshal data (NULL object)", "TypeError", "NULL object in marshal data for object"},
	{"too deep: objects nested over 2000 levels", "ValueError", "recursion limit exceeded"},
	{"bad marshal data (code object field of the wrong type)", "SystemError",
	 "bad argument to internal function"},
	{"bad marshal data (localsplusnames and localspluskinds differ in length)", "SystemError",
	 "bad argument to internal function"},
	{"bad marshal data (the body is not a code object)", "ImportError", "Non-code object"},
};

int deep_would_load(const pyci_verdict *v, const pyci_header *h)
{
	if (h->status != PYCI_HDR_OK)
		return 0;
	switch (v->status) {
	case PYCI_FRESH:
	case PYCI_FOREIGN:
	case PYCI_SOURCELESS:
		return 1;
	case PYCI_STALE:
		return (v->reasons & PYCI_REASON_BIT(PYCI_R_UNCHECKED_STALE)) != 0;
	default:
		return 0;
	}
}

static void unchecked(pyci_load *out, const char *why)
{
	*out = (pyci_load){.state = PYCI_LOAD_UNCHECKED, .message = why};
}

/* The whole file into buf: 0, or -1 with *why. */
static int read_all(int dirfd, const char *name, const pyci_file_info *file, pyci_buf *buf,
		    int *noatime, const char **why)
{
	int fd = pyci_openat_read(
		dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, noatime);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) != 0) {
		*why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != file->dev ||
	    (uint64_t)st.st_ino != file->ino || (uint64_t)st.st_size != file->size ||
	    st.st_mtim.tv_sec != file->mtime_sec || st.st_mtim.tv_nsec != file->mtime_nsec) {
		*why = "changed since it was judged";
		goto out;
	}
	pyci_buf_clear(buf);
	if (pyci_buf_reserve(buf, (size_t)file->size + 1) != 0) {
		*why = strerror(ENOMEM);
		goto out;
	}
	while (buf->len < file->size) {
		ssize_t n = read(fd, buf->data + buf->len, (size_t)file->size - buf->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*why = n < 0 ? strerror(errno) : "changed since it was judged";
			goto out;
		}
		buf->len += (size_t)n;
	}
	rc = 0;
out:
	(void)close(fd);
	return rc;
}

void deep_load(int dirfd, const char *name, const pyci_file_info *file, const pyci_header *h,
	       pyci_buf *buf, int *noatime, pyci_load *out)
{
	if (!pyci_marshal_supported(&h->magic)) {
		unchecked(out, "the decoder does not read this version's code objects");
		return;
	}
	if (file->size > DEEP_MAX_FILE) {
		unchecked(out, "too large to check");
		return;
	}
	const char *why = NULL;
	if (read_all(dirfd, name, file, buf, noatime, &why) != 0) {
		unchecked(out, why);
		return;
	}
	pyci_marshal m;
	int rc = pyci_marshal_decode((const uint8_t *)buf->data + h->size, buf->len - h->size,
				     &h->magic, 0, &m);
	if (rc == 0) {
		*out = (pyci_load){.state = PYCI_LOAD_OK};
	} else if (m.error != EINVAL && m.error != E2BIG) {
		unchecked(out, m.error == ENOMEM ? "too large to decode within the memory bound"
						 : m.error_msg);
	} else {
		*out = (pyci_load){.state = PYCI_LOAD_FAILS,
				   .exception = "ValueError",
				   .message = m.error_msg,
				   .offset = h->size + m.error_offset};
		for (size_t i = 0; i < sizeof(raised) / sizeof(raised[0]); i++) {
			if (strcmp(raised[i].decoder, m.error_msg) == 0) {
				out->exception = raised[i].exception;
				if (raised[i].message)
					out->message = raised[i].message;
				break;
			}
		}
	}
	pyci_marshal_free(&m);
	if (buf->cap > ((size_t)1 << 20))
		pyci_buf_free(buf); /* a large one: do not keep it for the next */
}

void deep_apply(pyci_verdict *v, const pyci_load *l)
{
	if (l->state == PYCI_LOAD_FAILS) {
		v->status = PYCI_INVALID;
		/* what does not load runs no code, old or new */
		v->reasons &= ~PYCI_REASON_BIT(PYCI_R_SAME_SECOND);
		v->reasons |= PYCI_REASON_BIT(PYCI_R_LOAD_FAILS);
	} else if (l->state == PYCI_LOAD_UNCHECKED) {
		v->reasons |= PYCI_REASON_BIT(PYCI_R_LOAD_UNCHECKED);
	}
}
