/*
 * json.h - JSON text for the records pycinspect emits.
 *
 * File names are bytes, not text.  Strings are written as UTF-8; any byte that is not part of a
 * valid UTF-8 sequence is written as the lone surrogate \udcXX (XX = the byte, 80-ff), which is
 * Python's "surrogateescape": os.fsencode(json.loads(line)["path"]) gives back the exact bytes.
 * Control characters and '"' '\\' are escaped; everything else valid is written as is.
 *
 * Records are built with the writer (pyci_jw): the caller says key and value, the writer puts
 * the commas, quotes and escapes every string, keys included, and checks the nesting.  It stops
 * at its first failure, so a caller makes its calls and looks at one result, pyci_jw_finish's;
 * and a record that failed is taken back out of the buffer whole, so that no half record ever
 * reaches an output.  pyci_json_string and the pyci_json_* helpers are the pieces for text
 * built by hand; the writer uses pyci_json_string for every string it writes.
 */
#ifndef PYCINSPECT_JSON_H
#define PYCINSPECT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "pycinspect/buf.h"

/* Append s[0 .. len) as a quoted JSON string.  0, or -1 (ENOMEM). */
int pyci_json_string(pyci_buf *b, const char *s, size_t len);

/* The bytes pyci_json_string would append for s[0 .. len), without writing them (at most
 * 6 * len + 2). */
size_t pyci_json_string_size(const char *s, size_t len);

/* Append "key": (the NUL-terminated key as a JSON string, then the colon).  0, or -1 (ENOMEM). */
int pyci_json_key(pyci_buf *b, const char *key);

/* The fields after an object's first one, each with its leading comma: ,"key": then, for
 * _str, the JSON string of s[0 .. len) or null when s is NULL, and for _bool, true or false.
 * 0, or -1 (ENOMEM). */
int pyci_json_next_key(pyci_buf *b, const char *key);
int pyci_json_field_str(pyci_buf *b, const char *key, const char *s, size_t len);
int pyci_json_field_bool(pyci_buf *b, const char *key, int v);

/* 1 if s[0 .. len) is valid UTF-8 (no overlongs, no surrogates), else 0. */
int pyci_utf8_valid(const char *s, size_t len);

/*
 * Length of the valid UTF-8 sequence starting at s (1-4), or 0 if the byte at s does not start
 * one that fits in n bytes.
 */
size_t pyci_utf8_seq(const unsigned char *s, size_t n);

/* ---- the writer ------------------------------------------------------------------------ */

/* How deep containers may nest: one more pyci_jw_begin fails (EINVAL). */
#define PYCI_JW_MAX_DEPTH 32

/*
 * A JSON value being appended to a buffer.  The caller owns it (usually on the stack) and the
 * buffer; the fields are the writer's, but for `err`, which the caller may read: 0, or the
 * errno of the first failure, after which every call does nothing.
 */
typedef struct pyci_jw {
	pyci_buf *b;
	size_t start; /* b->len when the value began: where a failure cuts back */
	int err;
	unsigned depth; /* containers open; level[0] is the top level */
	unsigned char level[PYCI_JW_MAX_DEPTH + 1];
} pyci_jw;

/* Start one value (usually an object) at the end of b, which must outlive the writer's use.
 * Nothing is written yet. */
void pyci_jw_init(pyci_jw *w, pyci_buf *b);

/*
 * Values.  `key` names the member inside an object, and must be NULL at the top level and in
 * an array (a NUL-terminated string, written escaped like any string); each call writes the
 * comma before it when needed.  The top level takes one value.  None returns anything: a
 * failure, ENOMEM, or EINVAL for a misuse (a key where none belongs or none where one does, a
 * second top-level value, an end that does not match its begin, nesting deeper than
 * PYCI_JW_MAX_DEPTH), is kept in w->err, the value written so far is cut from the buffer, and
 * every later call does nothing.  pyci_jw_finish gives the result.
 *
 * _begin/_end: an object, _begin_array/_end_array: an array.
 * _str: s[0 .. len) as a JSON string (pyci_json_string), or null when s is NULL.
 * _cstr: the NUL-terminated s, or null when s is NULL.
 * _bytes: p[0 .. n) as a string of lowercase hex digits (two per byte, as sha256sum prints a
 *   digest), or null when p is NULL.
 * _u64, _i64: the decimal number.  _bool: true or false.  _null: null.
 */
void pyci_jw_begin(pyci_jw *w, const char *key);
void pyci_jw_end(pyci_jw *w);
void pyci_jw_begin_array(pyci_jw *w, const char *key);
void pyci_jw_end_array(pyci_jw *w);
void pyci_jw_str(pyci_jw *w, const char *key, const char *s, size_t len);
void pyci_jw_cstr(pyci_jw *w, const char *key, const char *s);
void pyci_jw_bytes(pyci_jw *w, const char *key, const void *p, size_t n);
void pyci_jw_u64(pyci_jw *w, const char *key, uint64_t v);
void pyci_jw_i64(pyci_jw *w, const char *key, int64_t v);
void pyci_jw_bool(pyci_jw *w, const char *key, int v);
void pyci_jw_null(pyci_jw *w, const char *key);

/* An integer of any size, given as its decimal text: -?(0|[1-9][0-9]*), as JSON writes it (a
 * count of nanoseconds past 64 bits); anything else is EINVAL. */
void pyci_jw_decimal(pyci_jw *w, const char *key, const char *text);

/* A point in the value being written, to come back to. */
typedef struct pyci_jw_mark {
	size_t len;
	unsigned depth;
	unsigned char level;
} pyci_jw_mark;

/* Save in m the point w has reached: where its next member or element begins, comma included. */
void pyci_jw_save(const pyci_jw *w, pyci_jw_mark *m);

/*
 * Take back what was written since m was saved (a member that turned out too large): the
 * buffer is cut back to m, and w is as it was then.  The container open at m must still be
 * open (w no less deep than at m, else EINVAL; one closed and another opened in its place
 * cannot be told and must not be).  Does nothing once w has failed.
 */
void pyci_jw_restore(pyci_jw *w, const pyci_jw_mark *m);

/*
 * The end of the value: 0 when it is complete in the buffer (every container closed), else -1
 * with errno (w->err, or EINVAL for a container left open), the buffer cut back to its length at
 * pyci_jw_init.  The writer can be given to pyci_jw_init again for the next value.
 */
int pyci_jw_finish(pyci_jw *w);

#endif
