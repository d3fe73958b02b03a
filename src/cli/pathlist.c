/*
 * pathlist.c - a sorted list of paths searched by bisection (pathlist.h).
 */
#include "pathlist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pathlist_add(struct pathlist *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return -1;
		l->items = p;
		l->cap = cap;
	}
	char *c = malloc(len + 1);
	if (!c)
		return -1;
	memcpy(c, s, len);
	c[len] = '\0';
	l->items[l->n++] = c;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void pathlist_sort(struct pathlist *l)
{
	if (l->n < 2)
		return;
	qsort(l->items, l->n, sizeof(*l->items), cmp);
	size_t k = 1;
	for (size_t i = 1; i < l->n; i++) {
		if (strcmp(l->items[i], l->items[k - 1]) == 0)
			free(l->items[i]);
		else
			l->items[k++] = l->items[i];
	}
	l->n = k;
}

/* strcmp of s[0 .. len) (no NUL inside) against the NUL-terminated t. */
static int cmp_n(const char *s, size_t len, const char *t)
{
	int c = strncmp(s, t, len);
	if (c != 0)
		return c;
	return t[len] == '\0' ? 0 : -1;
}

long pathlist_find(const struct pathlist *l, const char *s, size_t len)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_n(s, len, l->items[mid]);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

void pathlist_free(struct pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	*l = (struct pathlist)PATHLIST_INIT;
}
