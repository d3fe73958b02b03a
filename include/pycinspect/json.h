/*
 * json.h - JSON text for the records pycinspect emits.
 *
 * File names are bytes, not text.  Strings are written as UTF-8; any byte that is not part of a
 * valid UTF-8 sequence is written as the lone surrogate \udcXX (XX = the byte, 80-ff), which is
 * Python's "surrogateescape": os.fsencode(json.loads(line)["path"]) gives back the exact bytes.
 * Control characters and '"' '\\' are escaped; everything else valid is written as is.
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

/* Append "key": (with the quotes and colon; key must be plain ASCII). */
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

#endif
