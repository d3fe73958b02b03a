/*
 * jclass.h - what a Jython class file (NAME$py.class) records about the source it was compiled
 * from, decoded from bytes that are not trusted.
 *
 * Jython 2.5 and later compile NAME.py to NAME$py.class beside it: a Java class file (the JVM
 * specification, chapter 4) whose class carries three annotations, written by
 * org.python.compiler.ClassFile.write():
 *   org.python.compiler.APIVersion  int value: the compiler's API version (39 for 2.7.3/2.7.4)
 *   org.python.compiler.MTime       long value: the source's File.lastModified(), in ms
 *   org.python.compiler.Filename    String value: the source's path as the compiler was given it
 * Jython reads them back with ASM (org.python.core.AnnotationReader) before it trusts the class:
 * for each class annotation, visible ones first and then invisible ones, the first constant
 * element of an annotation of one of those types sets its value, so the last such annotation
 * wins.  This decoder takes the values the same way.  On the way it walks the whole structure:
 * magic, version, constant pool, interfaces, the fields' and methods' attributes (by their
 * lengths: the bytecode itself is not read), and the class attributes, which must end exactly
 * at the end of the file (the JVM refuses extra bytes).  Every offset is checked against the
 * file's size before it is read; the memory is 8 bytes per constant pool entry (at most 512 KiB)
 * and a read window, whatever the file.
 */
#ifndef PYCINSPECT_JCLASS_H
#define PYCINSPECT_JCLASS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	PYCI_JCLASS_OK = 0,
	PYCI_JCLASS_EMPTY,       /* 0 bytes */
	PYCI_JCLASS_SHORT_MAGIC, /* 1-3 bytes */
	PYCI_JCLASS_BAD_MAGIC,   /* not 0xCAFEBABE: not a Java class file */
	PYCI_JCLASS_TRUNCATED,   /* a structure runs past the end of the file */
	PYCI_JCLASS_MALFORMED,   /* a structure the format does not allow (error says which) */
} pyci_jclass_status;

typedef struct pyci_jclass {
	pyci_jclass_status status;
	const char *error;     /* TRUNCATED, MALFORMED: what is wrong (static storage), else NULL */
	uint64_t error_offset; /* TRUNCATED, MALFORMED: where the decoder stopped */
	int has_version;       /* the class file version below was read */
	uint16_t minor, major;
	int has_api; /* an APIVersion annotation gave its value */
	int32_t api;
	int has_mtime; /* an MTime annotation gave its value */
	int64_t mtime_ms;
	int has_filename;      /* a Filename annotation gave its value: its bytes (Java's */
	uint64_t filename_off; /* modified UTF-8) are filename_len bytes at filename_off */
	uint16_t filename_len;
} pyci_jclass;

/*
 * Read up to len bytes at offset off of the file into buf.  Returns the number read (fewer only
 * at the end of the file), or -1 with errno.
 */
typedef long (*pyci_jclass_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

/*
 * Decode the class file of `size` bytes that `read` reads.  Always fills *out.  Returns 0 when
 * out->status says what the bytes are (a file that is shorter than size when read is
 * TRUNCATED); -1 with errno when reading failed or memory ran out (ENOMEM), and then out->status
 * is meaningless.
 */
int pyci_jclass_decode(pyci_jclass_read_fn read, void *ctx, uint64_t size, pyci_jclass *out);

/* The same for the len bytes at buf.  Fails only with ENOMEM. */
int pyci_jclass_decode_buf(const uint8_t *buf, size_t len, pyci_jclass *out);

/* The same for the open file fd of `size` bytes, read with pread(2) (its offset is not moved). */
int pyci_jclass_decode_fd(int fd, uint64_t size, pyci_jclass *out);

/* "ok", "empty", "short-magic", "bad-magic", "truncated", "malformed".  Static storage. */
const char *pyci_jclass_status_name(pyci_jclass_status st);

#endif
