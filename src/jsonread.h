/*
 * jsonread.h - a small JSON reader, for the manifests of container images (archive.c):
 * docker save's manifest.json, OCI's index.json and the manifests it points to.
 *
 * The text comes from the archive, so it is read as hostile: at most JSON_READ_MAX_TEXT bytes
 * and JSON_READ_MAX_DEPTH levels of nesting, every allocation checked, strings decoded (escapes,
 * \uXXXX pairs) into UTF-8.  Numbers are kept as their text.  Internal to the library.
 */
#ifndef PYCI_JSONREAD_H
#define PYCI_JSONREAD_H

#include <stddef.h>

#define JSON_READ_MAX_TEXT ((size_t)4 << 20)
#define JSON_READ_MAX_DEPTH 32

typedef enum { JR_NULL, JR_FALSE, JR_TRUE, JR_NUMBER, JR_STRING, JR_ARRAY, JR_OBJECT } jr_type;

typedef struct jr_value {
	jr_type type;
	const char *str; /* JR_STRING: decoded, NUL-terminated (len without it); JR_NUMBER: text */
	size_t len;
	struct jr_value *items; /* JR_ARRAY: n values; JR_OBJECT: n keys (JR_STRING) each
				 * followed by its value, 2n in all */
	size_t n;
} jr_value;

typedef struct jr_doc {
	jr_value root;
	void **allocs; /* everything the values point to */
	size_t nallocs, cap;
} jr_doc;

/* Parse text[0 .. len) into doc (which the caller frees with jr_free, whatever the result).
 * 0, or -1 with errno: EINVAL not JSON (or trailing garbage, or too deep), EFBIG longer than
 * JSON_READ_MAX_TEXT, ENOMEM. */
int jr_parse(const char *text, size_t len, jr_doc *doc);

void jr_free(jr_doc *doc);

/* The value of key in object v, or NULL (v not an object, or no such key). */
const jr_value *jr_get(const jr_value *v, const char *key);

/* The string value of key in object v, or NULL. */
const char *jr_get_str(const jr_value *v, const char *key);

#endif
