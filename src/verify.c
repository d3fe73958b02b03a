/*
 * verify.c - one cache against its source, compiled afresh (verify.h).
 *
 * The order of the work: the header must have decoded; the body is decoded into a tree (an
 * error there is unverifiable, and so is a layout the decoder does not read); its names are
 * read for the reviewer; without a source that is all.  With one, the source goes to the
 * caller's compile callback once per interpreter of the cache's magic number and level the
 * name allows, until one compile matches; each answer is decoded with the cache's own magic
 * and compared.  A source the interpreter refuses ends the search: it is the source that
 * does not compile, not the interpreter.  An interpreter that fails does not: another may
 * still answer.  When none matches, the first difference found is reported.
 *
 * pyci_verify_read reads a record's cache and source through the scan's directory descriptors,
 * each whole: the cache without following a symlink (the file the scan judged), the source as
 * CPython opens it.
 */
#include "pycinspect/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pycinspect/marshal.h"
#include "readopen.h"

#define NO_NODE UINT32_MAX

const char *pyci_verify_name(pyci_verify_verdict v)
{
	switch (v) {
	case PYCI_VERIFY_MATCHES:
		return "matches";
	case PYCI_VERIFY_DIFFERS:
		return "differs";
	default:
		return "unverifiable";
	}
}

size_t pyci_verify_levels(const pyci_cache_name *cn, const char *name, int levels[2])
{
	if (cn->pyo) {
		levels[0] = 1;
		levels[1] = 2;
		return 2;
	}
	if (cn->kind == PYCI_NAME_PYCACHE && cn->opt_len) {
		/* opt-N: written by an interpreter running at level N (-O, -OO, -OOO,
		 * PYTHONOPTIMIZE=N); its compiler does at N > 2 what it does at 2 (it tests
		 * optimize >= 2 and optimize != 0), and compile() takes no more than 2 */
		int n = 0;
		for (size_t k = 0; k < cn->opt_len; k++) {
			char c = name[cn->opt_off + k];
			if (c < '0' || c > '9')
				return 0;
			n = n < 2 ? n * 10 + (c - '0') : 2;
		}
		if (n == 0)
			return 0; /* opt-0 is no level an import writes (cachename.h) */
		levels[0] = n > 2 ? 2 : n;
		return 1;
	}
	levels[0] = 0;
	return 1;
}

/* out->why, emptied for a new text. */
static pyci_buf *why(pyci_verify_result *out)
{
	pyci_buf_clear(&out->why);
	return &out->why;
}

/* One compile's answer against the cache's tree.  1 matched, 0 differs (kept in out when it is
 * the first), 2 the answer did not decode (*failed set), -1 error. */
static int judge_answer(const pyci_mtree *cache, const pyci_buf *ans, const pyci_header *h,
			pyci_verify_result *out, int *have_diff, pyci_buf *failed, const void *who,
			int level)
{
	pyci_mtree fresh;
	if (pyci_mtree_decode((const uint8_t *)ans->data, ans->len, &h->magic, &fresh) != 0) {
		pyci_buf_clear(failed);
		int rc = pyci_buf_printf(failed,
					 "the interpreter's code does not decode: %s (at byte %zu)",
					 fresh.error_msg, fresh.error_offset);
		pyci_mtree_free(&fresh);
		return rc ? -1 : 2;
	}
	pyci_codediff d = {.offset = SIZE_MAX};
	int r = pyci_codecmp(cache, &fresh, &d);
	pyci_mtree_free(&fresh);
	if (r == 0 && !*have_diff) {
		out->diff = d;
		out->who = who;
		out->level = level;
		*have_diff = 1;
	} else {
		pyci_codediff_free(&d);
	}
	return r;
}

int pyci_verify(const pyci_verify_input *in, pyci_verify_result *out)
{
	memset(out, 0, sizeof(*out));
	out->verdict = PYCI_VERIFY_UNVERIFIABLE;
	out->level = -1;
	out->diff.offset = SIZE_MAX;
	const pyci_header *h = in->header;
	pyci_mtree cache;
	pyci_buf ans = PYCI_BUF_INIT, failed = PYCI_BUF_INIT;
	int have_tree = 0, have_diff = 0, rc = -1;
	if (h->status != PYCI_HDR_OK || in->len < h->size) {
		if (pyci_buf_printf(why(out), "the header does not decode (%s)",
				    pyci_header_status_name(h->status)) != 0)
			goto fail;
		return 0;
	}
	int dr = pyci_mtree_decode(in->file + h->size, in->len - h->size, &h->magic, &cache);
	have_tree = 1;
	if (dr != 0) {
		const char *msg = cache.error_msg ? cache.error_msg : "?";
		if (cache.error == ENOTSUP
			    ? pyci_buf_puts(why(out), msg)
			    : pyci_buf_printf(why(out),
					      "the body does not decode: %s (at byte %zu)", msg,
					      h->size + cache.error_offset))
			goto fail;
		goto done;
	}
	if (pyci_codenames_of(&cache, &out->names) != 0)
		goto fail;
	out->have_names = 1;
	if (!in->src) {
		const char *ns = in->no_source ? in->no_source : "no source";
		if (pyci_buf_puts(why(out), ns) != 0)
			goto fail;
		goto done;
	}
	uint32_t f = pyci_mtree_field(&cache, cache.root, "co_filename");
	const pyci_mnode *fn = f == NO_NODE ? NULL : &cache.nodes[f];
	if (!fn || (fn->kind != PYCI_MV_STR && fn->kind != PYCI_MV_BYTES)) {
		if (pyci_buf_puts(why(out), "co_filename is not a string") != 0)
			goto fail;
		goto done;
	}
	if (in->nlevels == 0) {
		if (pyci_buf_puts(why(out), "the name says an optimisation level no interpreter "
					    "compiles at") != 0)
			goto fail;
		goto done;
	}
	for (unsigned attempt = 0;; attempt++) {
		for (size_t l = 0; l < in->nlevels; l++) {
			const void *who = NULL;
			int r = in->compile(in->ctx, h->magic.word, attempt, in->levels[l], fn->u.s,
					    fn->n, in->src, in->srclen, &ans, &who);
			if (r == 2) {
				if (attempt == 0 &&
				    pyci_buf_append(why(out), ans.data ? ans.data : "", ans.len) !=
					    0)
					goto fail;
				goto searched;
			}
			if (r < 0 && errno == ENOMEM)
				goto fail;
			if (r < 0) {
				if (!failed.len &&
				    pyci_buf_append(&failed, ans.data ? ans.data : "", ans.len) !=
					    0)
					goto fail;
				if (!out->who)
					out->who = who;
				break; /* this interpreter is gone: the next one */
			}
			if (r == 1) {
				out->who = who;
				out->level = in->levels[l];
				if (pyci_buf_puts(why(out), "the source does not compile: ") != 0 ||
				    pyci_buf_append(&out->why, ans.data ? ans.data : "", ans.len) !=
					    0)
					goto fail;
				goto done;
			}
			int j = judge_answer(&cache, &ans, h, out, &have_diff, &failed, who,
					     in->levels[l]);
			if (j < 0)
				goto fail;
			if (j == 1) {
				out->verdict = PYCI_VERIFY_MATCHES;
				out->who = who;
				out->level = in->levels[l];
				pyci_codediff_free(&out->diff);
				pyci_codenames_free(&out->names);
				out->have_names = 0;
				pyci_buf_clear(&out->why);
				goto done;
			}
		}
	}
searched:
	if (have_diff) {
		out->verdict = PYCI_VERIFY_DIFFERS;
		pyci_buf_clear(&out->why);
	} else if (failed.len) {
		pyci_buf_clear(&out->why);
		if (pyci_buf_append(&out->why, failed.data, failed.len) != 0)
			goto fail;
	}
done:
	rc = 0;
	if (have_tree)
		pyci_mtree_free(&cache);
	pyci_buf_free(&ans);
	pyci_buf_free(&failed);
	return rc;
fail:;
	int e = errno ? errno : ENOMEM;
	if (have_tree)
		pyci_mtree_free(&cache);
	pyci_buf_free(&ans);
	pyci_buf_free(&failed);
	pyci_verify_result_free(out);
	errno = e;
	return -1;
}

void pyci_verify_result_free(pyci_verify_result *r)
{
	pyci_buf_free(&r->why);
	pyci_codediff_free(&r->diff);
	pyci_codenames_free(&r->names);
	r->have_names = 0;
	r->who = NULL;
	r->level = -1;
}

/* ---- reading a record's files ---- */

/* Read fd whole into *out (at most PYCI_VERIFY_MAX_FILE bytes).  0; 1 too large; -1 errno. */
static int read_all(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st.st_size > PYCI_VERIFY_MAX_FILE)
		return 1;
	size_t cap = (size_t)st.st_size + 1, n = 0; /* + 1: to see a file that grew */
	uint8_t *b = malloc(cap);
	if (!b)
		return -1;
	for (;;) {
		if (n == cap) {
			if (cap > PYCI_VERIFY_MAX_FILE) {
				free(b);
				return 1;
			}
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				errno = ENOMEM;
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, b + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(b);
			errno = e;
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > PYCI_VERIFY_MAX_FILE) {
		free(b);
		return 1;
	}
	*out = b;
	*len = n;
	return 0;
}

/* Open name in dirfd and read it; a failure is said in f->why as "the WHAT ...". */
static int read_one(int dirfd, const char *name, int flags, const char *what, uint8_t **out,
		    size_t *len, pyci_verify_files *f)
{
	int noatime = 1;
	int fd = pyci_openat_read(dirfd, name, flags, &noatime);
	int r = fd < 0 ? -1 : read_all(fd, out, len);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (r == 0)
		return 0;
	if (r < 0 && e == ENOMEM)
		return -1;
	if (r > 0)
		return pyci_buf_printf(&f->why, "the %s is larger than %zu MiB", what,
				       PYCI_VERIFY_MAX_FILE >> 20);
	if (e == EINVAL || e == ELOOP)
		return pyci_buf_printf(&f->why, "the %s is not a regular file", what);
	return pyci_buf_printf(&f->why, "the %s cannot be read: %s", what, strerror(e));
}

int pyci_verify_read(const pyci_record *r, pyci_verify_files *f)
{
	memset(f, 0, sizeof(*f));
	const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	int rc = 0;
	if (!r->have_file || r->file_errno || !S_ISREG(r->file.mode)) {
		rc = r->file_errno ? pyci_buf_printf(&f->why, "the cache cannot be read: %s",
						     strerror(r->file_errno))
				   : pyci_buf_puts(&f->why, "the cache is not a regular file");
		goto out;
	}
	if (r->cname->kind == PYCI_NAME_JYTHON) {
		rc = pyci_buf_puts(&f->why,
				   "a Jython class file: Java bytecode, not marshalled code");
		goto out;
	}
	if (read_one(r->dirfd, r->name, flags | O_NOFOLLOW, "cache", &f->file, &f->len, f) != 0) {
		rc = -1;
		goto out;
	}
	if (f->why.len)
		goto out;
	const pyci_source_info *s = r->source;
	if (!r->source_path || !s) {
		f->no_source = "no source: no source file maps to this name";
	} else if (r->verdict->status == PYCI_ORPHANED) {
		f->no_source = "no source: orphaned (its source is gone)";
	} else if (r->verdict->status == PYCI_SOURCELESS) {
		f->no_source = "no source: sourceless (a module shipped as bytecode alone)";
	} else if (s->err == ENOENT || s->err == ENOTDIR) {
		f->no_source = "no source: the source is gone";
	} else if (s->err) {
		rc = pyci_buf_printf(&f->why, "the source cannot be read: %s", strerror(s->err));
	} else if (!s->regular) {
		rc = pyci_buf_puts(&f->why, "the source is not a regular file");
	} else {
		size_t stem = r->cname->stem_len;
		char *name = malloc(stem + sizeof(".py"));
		if (!name) {
			rc = -1;
			goto out;
		}
		memcpy(name, r->name, stem);
		memcpy(name + stem, ".py", sizeof(".py"));
		rc = read_one(r->srcdirfd, name, flags, "source", &f->src, &f->srclen, f);
		free(name);
	}
out:
	if (rc != 0) {
		pyci_verify_files_free(f);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void pyci_verify_files_free(pyci_verify_files *f)
{
	free(f->file);
	free(f->src);
	pyci_buf_free(&f->why);
	f->file = f->src = NULL;
	f->len = f->srclen = 0;
	f->no_source = NULL;
}
