/*
 * table: the one string-keyed hash table, and the one string hash.
 *
 * Open addressing with linear probing in a power-of-two array that is
 * never more than half full; it doubles when it would be, so n adds cost
 * O(n) in all. Each slot keeps its key's hash: a probe compares hashes
 * before strings, and growing rehashes no key. Removal shifts the entries
 * after it back, so there are no tombstones and a table that lives long
 * (the alert hub's, the state writer's) never slows down.
 *
 * The hash is FNV-1a, 64 bits: stable across builds and machines (an
 * idempotency key may be built from it), quick on the short names keeper
 * keys by, and not a defence against keys chosen to collide, which keeper
 * does not need: keys come from the operator's own config.
 *
 * Ownership: a zero-initialised table is empty and borrows its keys: each
 * key must stay valid, unchanged, while its entry is in the table. Set
 * TABLE_COPY in flags before the first table_put() and the table copies
 * keys instead and frees them. Values are the caller's. An entry pointer
 * is valid until the next table_put() or table_del() on that table.
 */
#ifndef KEEPER_TABLE_H
#define KEEPER_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define TABLE_FNV_INIT	0xcbf29ce484222325ULL	/* FNV-1a offset basis */

#define TABLE_COPY	0x01	/* the table owns copies of its keys */

struct table_ent {
	const char	*key;		/* NULL: an empty slot */
	uint64_t	 hash;
	union {
		void	*ptr;
		size_t	 num;
	}		 v;		/* the caller's */
};

struct table {
	struct table_ent *slots;
	size_t		  cap;		/* 0 or a power of two */
	size_t		  n;		/* entries */
	int		  flags;	/* TABLE_* */
};

/* FNV-1a of len bytes at p, continuing from h (TABLE_FNV_INIT to start). */
uint64_t table_fnv1a(uint64_t h, const void *p, size_t len);

/* key's entry, or NULL. */
struct table_ent *table_get(const struct table *, const char *key);
/* key's entry, made (value zeroed) when there was none; *added (may be
 * NULL) says which. */
struct table_ent *table_put(struct table *, const char *key, int *added);
/* Remove key's entry; 1 when there was one. */
int	 table_del(struct table *, const char *key);
/* The entry in the first used slot at or after *pos, moving *pos past it;
 * NULL at the end. Start with *pos = 0; order is the table's own. */
struct table_ent *table_next(const struct table *, size_t *pos);
/* Empty it, keeping its memory for the next adds. */
void	 table_clear(struct table *);
/* Free it; it is then empty (flags kept). */
void	 table_release(struct table *);

#endif
