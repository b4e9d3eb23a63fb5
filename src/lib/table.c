/*
 * table: open addressing with linear probing and backward-shift removal
 * (see table.h).
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

#define FNV_PRIME	0x100000001b3ULL

uint64_t
table_fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *u = p;

	for (size_t i = 0; i < len; i++) {
		h ^= u[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t
hash_key(const char *key)
{
	return table_fnv1a(TABLE_FNV_INIT, key, strlen(key));
}

/* Where key is, or the empty slot where it would go; cap > 0. */
static size_t
slot_of(const struct table *t, const char *key, uint64_t h)
{
	size_t m = t->cap - 1, i = (size_t)h & m;

	while (t->slots[i].key != NULL && (t->slots[i].hash != h ||
	    strcmp(t->slots[i].key, key) != 0))
		i = (i + 1) & m;
	return i;
}

static void
grow(struct table *t)
{
	struct table_ent *old = t->slots;
	size_t n = t->cap, m, i;

	t->cap = n ? 2 * n : 16;
	t->slots = xcalloc(t->cap, sizeof(*t->slots));
	m = t->cap - 1;
	for (size_t k = 0; k < n; k++) {
		if (old[k].key == NULL)
			continue;
		for (i = (size_t)old[k].hash & m; t->slots[i].key != NULL;
		    i = (i + 1) & m)
			;
		t->slots[i] = old[k];
	}
	free(old);
}

struct table_ent *
table_get(const struct table *t, const char *key)
{
	size_t i;

	if (t->n == 0)
		return NULL;
	i = slot_of(t, key, hash_key(key));
	return t->slots[i].key != NULL ? &t->slots[i] : NULL;
}

struct table_ent *
table_put(struct table *t, const char *key, int *added)
{
	uint64_t h = hash_key(key);
	size_t i;

	if (t->cap > 0) {
		i = slot_of(t, key, h);
		if (t->slots[i].key != NULL) {
			if (added != NULL)
				*added = 0;
			return &t->slots[i];
		}
	}
	if (2 * (t->n + 1) > t->cap)
		grow(t);
	i = slot_of(t, key, h);
	t->slots[i].key = t->flags & TABLE_COPY ? xstrdup(key) : key;
	t->slots[i].hash = h;
	memset(&t->slots[i].v, 0, sizeof(t->slots[i].v));
	t->n++;
	if (added != NULL)
		*added = 1;
	return &t->slots[i];
}

int
table_del(struct table *t, const char *key)
{
	size_t m, i, j, home;

	if (t->n == 0)
		return 0;
	m = t->cap - 1;
	i = slot_of(t, key, hash_key(key));
	if (t->slots[i].key == NULL)
		return 0;
	if (t->flags & TABLE_COPY)
		free((char *)t->slots[i].key);
	t->n--;
	/* Move back every later entry of the run whose home slot does not
	 * lie between the hole and it, so that no probe meets a gap. */
	for (j = (i + 1) & m; t->slots[j].key != NULL; j = (j + 1) & m) {
		home = (size_t)t->slots[j].hash & m;
		if (((j - home) & m) >= ((j - i) & m)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	return 1;
}

struct table_ent *
table_next(const struct table *t, size_t *pos)
{
	while (*pos < t->cap) {
		struct table_ent *e = &t->slots[(*pos)++];

		if (e->key != NULL)
			return e;
	}
	return NULL;
}

void
table_clear(struct table *t)
{
	if (t->n == 0)
		return;
	if (t->flags & TABLE_COPY)
		for (size_t i = 0; i < t->cap; i++)
			free((char *)t->slots[i].key);
	memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->n = 0;
}

void
table_release(struct table *t)
{
	table_clear(t);
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
}
