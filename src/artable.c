/*
 * artable.c - the members of an archive that a verdict needs, by path (see artable.h).
 *
 * Members go in one array in the order they are read; an open-addressing index over it finds a
 * path in a layer.  An image's layers are read in the order the tarball holds them, which is not
 * the order they stack in: each layer's entries leave events (what is at a path: a directory,
 * anything else, a whiteout, an opaque directory), and once the manifest has said the order,
 * artable_flatten keeps of each path what the top layer that has it says, as overlayfs and
 * `docker export` do: the events are gathered by path into the highest layers that did
 * something there, and each member looks up its path and its directories once.  Paths are
 * compared there by a 64-bit hash (XXH3); the index also compares the bytes.
 */
#define _GNU_SOURCE
#include "artable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xxhash.h>

#define MAX_LINKS 40 /* Linux's MAXSYMLINKS */

void artable_init(artable *t, size_t budget)
{
	memset(t, 0, sizeof(*t));
	t->budget = budget;
}

void artable_share(artable *t, atomic_size_t *counter)
{
	t->shared = counter;
	t->charged = artable_bytes(t);
	atomic_fetch_add(counter, t->charged);
}

void artable_unshare(artable *t)
{
	if (t->shared)
		atomic_fetch_sub(t->shared, t->charged);
	t->shared = NULL;
	t->charged = 0;
}

void artable_free(artable *t)
{
	if (t->shared)
		atomic_fetch_sub(t->shared, t->charged);
	free(t->m);
	pyci_buf_free(&t->names);
	free(t->index);
	free(t->ev);
	memset(t, 0, sizeof(*t));
}

size_t artable_bytes(const artable *t)
{
	return t->cap * sizeof(ar_member) + t->names.cap + t->index_cap * sizeof(uint32_t) +
	       t->evcap * sizeof(ar_event) + t->extra;
}

/* Whether growing by n bytes stays within the budget; a shared one's growth is taken from it
 * here (settle gives back what was not used). */
static int fits(artable *t, size_t n)
{
	size_t have = t->shared ? atomic_fetch_add(t->shared, n) : artable_bytes(t);
	if (n > t->budget || have > t->budget - n) {
		if (t->shared)
			atomic_fetch_sub(t->shared, n);
		errno = EFBIG;
		return 0;
	}
	t->charged += t->shared ? n : 0;
	return 1;
}

/* A shared budget's count brought to what the table holds. */
static void settle(artable *t)
{
	if (!t->shared)
		return;
	size_t now = artable_bytes(t);
	if (now > t->charged)
		atomic_fetch_add(t->shared, now - t->charged);
	else
		atomic_fetch_sub(t->shared, t->charged - now);
	t->charged = now;
}

int artable_reserve(artable *t, size_t n)
{
	if (!fits(t, n))
		return -1;
	t->extra += n;
	return 0;
}

uint64_t artable_hash(const char *path, size_t len)
{
	return XXH3_64bits(path, len);
}

static size_t slot_of(uint64_t h, uint32_t layer, size_t cap)
{
	h ^= (uint64_t)layer * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static int same(const artable *t, size_t i, const char *path, size_t len, uint32_t layer)
{
	const ar_member *m = &t->m[i];
	return m->layer == layer && m->path_len == len &&
	       memcmp(t->names.data + m->path_off, path, len) == 0;
}

/* Index member i (not hidden) by its path and layer, replacing whatever had both. */
static void index_put(artable *t, size_t i)
{
	const ar_member *m = &t->m[i];
	const char *p = t->names.data + m->path_off;
	size_t s = slot_of(artable_hash(p, m->path_len), m->layer, t->index_cap);
	while (t->index[s]) {
		if (same(t, t->index[s] - 1, p, m->path_len, m->layer)) {
			t->m[t->index[s] - 1].hidden = 1;
			break;
		}
		s = (s + 1) & (t->index_cap - 1);
	}
	t->index[s] = (uint32_t)i + 1;
}

/* An index of cap slots over the members not hidden.  0, or -1 (EFBIG, ENOMEM). */
static int reindex(artable *t, size_t cap)
{
	if (cap > t->index_cap && !fits(t, (cap - t->index_cap) * sizeof(uint32_t)))
		return -1;
	uint32_t *ix = calloc(cap, sizeof(uint32_t));
	if (!ix) {
		errno = ENOMEM;
		return -1;
	}
	free(t->index);
	t->index = ix;
	t->index_cap = cap;
	for (size_t i = 0; i < t->n; i++)
		if (!t->m[i].hidden)
			index_put(t, i);
	return 0;
}

long artable_add(artable *t, const ar_member *m, const char *path, size_t len, const char *link,
		 size_t link_len)
{
	if (t->n >= UINT32_MAX - 1 || len >= UINT32_MAX || link_len >= UINT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		if (!fits(t, (cap - t->cap) * sizeof(ar_member)))
			return -1;
		ar_member *a = realloc(t->m, cap * sizeof(*a));
		if (!a) {
			errno = ENOMEM;
			return -1;
		}
		t->m = a;
		t->cap = cap;
	}
	if ((t->n + 1) * 2 > t->index_cap && reindex(t, t->index_cap ? t->index_cap * 2 : 128))
		return -1;
	size_t need = len + 1 + (link ? link_len + 1 : 0);
	if (t->names.len + need > t->names.cap && !fits(t, t->names.cap + need))
		return -1; /* (the buffer at most doubles) */
	size_t off = t->names.len;
	if (pyci_buf_append(&t->names, path, len) != 0 || pyci_buf_putc(&t->names, '\0') != 0)
		return -1;
	ar_member *e = &t->m[t->n];
	*e = *m;
	e->path_off = off;
	e->path_len = (uint32_t)len;
	e->hidden = 0;
	e->link_off = 0;
	e->link_len = 0;
	if (link) {
		e->link_off = t->names.len;
		e->link_len = (uint32_t)link_len;
		if (pyci_buf_append(&t->names, link, link_len) != 0 ||
		    pyci_buf_putc(&t->names, '\0') != 0)
			return -1;
	}
	index_put(t, t->n);
	settle(t);
	return (long)t->n++;
}

int artable_append(artable *t, const artable *src, size_t from, size_t to, uint64_t base)
{
	for (size_t i = from; i < to; i++) {
		ar_member m = src->m[i];
		m.ordinal += base;
		const char *link = m.link_off ? src->names.data + m.link_off : NULL;
		if (artable_add(t, &m, artable_path(src, i), m.path_len, link, m.link_len) < 0)
			return -1;
	}
	return 0;
}

long artable_find(const artable *t, const char *path, size_t len, uint32_t layer)
{
	if (!t->index_cap)
		return -1;
	size_t s = slot_of(artable_hash(path, len), layer, t->index_cap);
	while (t->index[s]) {
		size_t i = t->index[s] - 1;
		if (same(t, i, path, len, layer))
			return t->m[i].hidden ? -1 : (long)i;
		s = (s + 1) & (t->index_cap - 1);
	}
	return -1;
}

static int push_event(artable *t, ar_event ev)
{
	if (t->nev == t->evcap) {
		size_t cap = t->evcap ? t->evcap * 2 : 256;
		if (!fits(t, (cap - t->evcap) * sizeof(ar_event)))
			return -1;
		ar_event *a = realloc(t->ev, cap * sizeof(*a));
		if (!a) {
			errno = ENOMEM;
			return -1;
		}
		t->ev = a;
		t->evcap = cap;
	}
	t->ev[t->nev++] = ev;
	settle(t);
	return 0;
}

int artable_event(artable *t, const char *path, size_t len, uint32_t layer, uint32_t what)
{
	return push_event(t, (ar_event){artable_hash(path, len), layer, what});
}

int artable_append_events(artable *t, const artable *src)
{
	for (size_t i = 0; i < src->nev; i++)
		if (push_event(t, src->ev[i]) != 0)
			return -1;
	return 0;
}

/* What the layers did at one path, by rank: the highest that put anything there, and the
 * highest that hides what is below it (a whiteout, an opaque directory, a non-directory). */
struct top {
	uint64_t hash;
	uint32_t any, hide; /* 0: none */
};

#define HIDING (AR_EV_NONDIR | AR_EV_WHITEOUT | AR_EV_OPAQUE)

static struct top *top_of(struct top *map, size_t cap, uint64_t h)
{
	size_t s = (size_t)(h ^ (h >> 29)) & (cap - 1);
	while (map[s].any && map[s].hash != h)
		s = (s + 1) & (cap - 1);
	return &map[s];
}

int artable_flatten(artable *t, const uint32_t *rank, size_t nlayers, uint32_t *layer_of)
{
	/* the events by path, each path's highest ranks kept: one lookup per path after */
	size_t cap = 16;
	while (cap < 2 * t->nev)
		cap *= 2;
	size_t bytes = cap * sizeof(struct top);
	if (artable_reserve(t, bytes) != 0)
		return -1;
	struct top *map = calloc(cap, sizeof(*map));
	if (!map) {
		t->extra -= bytes;
		settle(t);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < t->nev; i++) {
		const ar_event *e = &t->ev[i];
		uint32_t r = e->layer < nlayers ? rank[e->layer] : 0;
		if (!r)
			continue; /* a layer of no image */
		struct top *p = top_of(map, cap, e->hash);
		p->hash = e->hash;
		if (r > p->any)
			p->any = r;
		if ((e->what & HIDING) && r > p->hide)
			p->hide = r;
	}
	for (size_t i = 0; i < t->n; i++) {
		ar_member *m = &t->m[i];
		layer_of[i] = m->layer;
		if (m->hidden)
			continue;
		uint32_t r = m->layer < nlayers ? rank[m->layer] : 0;
		const char *p = t->names.data + m->path_off;
		if (r == 0 || top_of(map, cap, artable_hash(p, m->path_len))->any > r) {
			m->hidden = 1; /* not in the image, or replaced at its path */
			continue;
		}
		for (size_t k = 0; k < m->path_len && !m->hidden; k++)
			if (p[k] == '/' && top_of(map, cap, artable_hash(p, k))->hide > r)
				m->hidden = 1; /* deleted or replaced above, with its directory */
	}
	free(map);
	t->extra -= bytes;
	settle(t);
	for (size_t i = 0; i < t->n; i++)
		t->m[i].layer = 0;
	/* the same path in one place now: the highest layer's is the one not hidden */
	return reindex(t, t->index_cap);
}

/* Append component c (len n) to path b with a '/'. */
static int push(pyci_buf *b, const char *c, size_t n)
{
	if (b->len && pyci_buf_putc(b, '/') != 0)
		return -1;
	return pyci_buf_append(b, c, n);
}

static void pop(pyci_buf *b)
{
	size_t k = b->len;
	while (k > 0 && b->data[k - 1] != '/')
		k--;
	pyci_buf_truncate(b, k ? k - 1 : 0);
}

long artable_resolve(const artable *t, const char *path, size_t len, pyci_buf *scratch, int *err)
{
	pyci_buf *cur = scratch; /* the path resolved so far */
	pyci_buf rest = PYCI_BUF_INIT, next = PYCI_BUF_INIT;
	long found = -1;
	int links = 0;
	*err = 0;
	found = artable_find(t, path, len, 0);
	if (found >= 0 && !S_ISLNK(t->m[found].mode))
		return found; /* a member at that very path: no link on the way */
	found = -1;
	*err = ENOMEM;
	pyci_buf_clear(cur);
	if (pyci_buf_append(&rest, path, len) != 0)
		goto out;
	size_t pos = 0;
	while (pos < rest.len) {
		size_t end = pos;
		while (end < rest.len && rest.data[end] != '/')
			end++;
		const char *c = rest.data + pos;
		size_t n = end - pos;
		pos = end + (end < rest.len);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			pop(cur);
			continue;
		}
		size_t mark = cur->len;
		if (push(cur, c, n) != 0)
			goto out;
		long i = artable_find(t, cur->data, cur->len, 0);
		if (i < 0 || !S_ISLNK(t->m[i].mode))
			continue;
		if (++links > MAX_LINKS) {
			*err = ELOOP;
			goto out;
		}
		/* the rest of the path now goes on from the link's target */
		const char *target = t->names.data + t->m[i].link_off;
		pyci_buf_truncate(cur, mark);
		if (target[0] == '/')
			pyci_buf_clear(cur);
		pyci_buf_clear(&next);
		if (pyci_buf_append(&next, target, t->m[i].link_len) != 0 ||
		    pyci_buf_putc(&next, '/') != 0 ||
		    pyci_buf_append(&next, rest.data + pos, rest.len - pos) != 0)
			goto out;
		pyci_buf tmp = rest;
		rest = next;
		next = tmp;
		pos = 0;
	}
	found = cur->len ? artable_find(t, cur->data, cur->len, 0) : -1;
	*err = found < 0 ? ENOENT : 0;
out:
	pyci_buf_free(&rest);
	pyci_buf_free(&next);
	return found;
}
