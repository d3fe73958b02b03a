/*
 * pathlist.h - a list of paths (byte strings without NUL, as git stores them), for `pycinspect
 * git`: the directories the index holds, the directories to ask the ignore rules about, the
 * untracked caches.  Built by appending, then sorted bytewise with duplicates dropped, then
 * searched by bisection.
 */
#ifndef PYCINSPECT_CLI_PATHLIST_H
#define PYCINSPECT_CLI_PATHLIST_H

#include <stddef.h>

struct pathlist {
	char **items; /* each owned, NUL-terminated */
	size_t n, cap;
};

/* clang-format off: an initializer, not a block */
#define PATHLIST_INIT      \
	{                  \
		NULL, 0, 0 \
	}
/* clang-format on */

/* Append a copy of s[0 .. len).  0, or -1 (ENOMEM) with the list unchanged. */
int pathlist_add(struct pathlist *l, const char *s, size_t len);

/* Sort bytewise (strcmp) and drop duplicates. */
void pathlist_sort(struct pathlist *l);

/* The index of s[0 .. len) in a sorted list, or -1. */
long pathlist_find(const struct pathlist *l, const char *s, size_t len);

void pathlist_free(struct pathlist *l);

#endif
