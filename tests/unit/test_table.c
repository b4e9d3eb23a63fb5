/*
 * test_table: the hash table against a plain array that knows the
 * answers: adds, look-ups, removals in every order (backward shift must
 * leave no entry unreachable), clearing, iteration, borrowed and copied
 * keys; and FNV-1a against its published test vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util.h"

#define N	5000

static void
test_fnv1a(void **state)
{
	(void)state;
	/* The FNV authors' vectors for FNV-1a 64. */
	assert_true(table_fnv1a(TABLE_FNV_INIT, "", 0) ==
	    0xcbf29ce484222325ULL);
	assert_true(table_fnv1a(TABLE_FNV_INIT, "a", 1) ==
	    0xaf63dc4c8601ec8cULL);
	assert_true(table_fnv1a(TABLE_FNV_INIT, "foobar", 6) ==
	    0x85944171f73967e8ULL);
	/* Continuing a hash is hashing the concatenation. */
	assert_true(table_fnv1a(table_fnv1a(TABLE_FNV_INIT, "foo", 3), "bar",
	    3) == 0x85944171f73967e8ULL);
}

static void
test_put_get(void **state)
{
	struct table t = { .flags = TABLE_COPY };
	struct table_ent *e;
	char key[32];
	int added = -1;

	(void)state;
	assert_null(table_get(&t, "x"));
	assert_int_equal(table_del(&t, "x"), 0);
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		e = table_put(&t, key, &added);
		assert_int_equal(added, 1);
		assert_int_equal(e->v.num, 0);	/* a new value is zeroed */
		e->v.num = i * 2;
	}
	assert_int_equal(t.n, N);
	/* Never more than half full. */
	assert_true(2 * t.n <= t.cap);
	for (size_t i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_non_null(e = table_get(&t, key));
		assert_string_equal(e->key, key);
		assert_int_equal(e->v.num, i * 2);
	}
	/* A second put finds the first entry and keeps its value. */
	e = table_put(&t, "k17", &added);
	assert_int_equal(added, 0);
	assert_int_equal(e->v.num, 34);
	assert_int_equal(t.n, N);
	assert_non_null(table_put(&t, "k18", NULL));
	assert_null(table_get(&t, "k5000"));
	assert_null(table_get(&t, ""));
	/* The empty string is a key like any other. */
	table_put(&t, "", &added)->v.num = 7;
	assert_int_equal(added, 1);
	assert_int_equal(table_get(&t, "")->v.num, 7);
	table_release(&t);
	assert_int_equal(t.n, 0);
	assert_null(t.slots);
	assert_int_equal(t.flags, TABLE_COPY);
}

/* Remove keys in an order given by stride, checking after each removal
 * that every key still present is found and every removed one is not. */
static void
remove_in_order(size_t n, size_t stride)
{
	struct table t = { .flags = TABLE_COPY };
	char key[32];
	unsigned char *in = xcalloc(n, 1);
	size_t i, k, j;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key-%zu", i);
		table_put(&t, key, NULL)->v.num = i;
		in[i] = 1;
	}
	for (k = 0, i = 0; k < n; k++, i = (i + stride) % n) {
		snprintf(key, sizeof(key), "key-%zu", i);
		assert_int_equal(table_del(&t, key), 1);
		assert_int_equal(table_del(&t, key), 0);
		in[i] = 0;
		assert_int_equal(t.n, n - k - 1);
		/* Checking everything after every removal is quadratic:
		 * do it for the small tables and now and then for the big. */
		if (n > 300 && k % 97 != 0)
			continue;
		for (j = 0; j < n; j++) {
			struct table_ent *e;

			snprintf(key, sizeof(key), "key-%zu", j);
			e = table_get(&t, key);
			if (in[j]) {
				assert_non_null(e);
				assert_int_equal(e->v.num, j);
			} else
				assert_null(e);
		}
	}
	/* The memory is kept and works again. */
	table_put(&t, "again", NULL);
	assert_non_null(table_get(&t, "again"));
	table_release(&t);
	free(in);
}

static void
test_del(void **state)
{
	(void)state;
	/* Strides coprime with n visit every key once, in scattered order,
	 * so removals hit the start, middle and end of probe runs. */
	remove_in_order(1, 1);
	remove_in_order(7, 1);
	remove_in_order(7, 3);
	remove_in_order(100, 1);
	remove_in_order(100, 37);
	remove_in_order(257, 128);
	remove_in_order(3000, 1);
	remove_in_order(3001, 1000);
}

static void
test_clear_next_borrowed(void **state)
{
	static const char *const keys[] = { "ann", "bob", "cyd", "dee" };
	struct table t = { 0 };
	struct table_ent *e;
	size_t pos = 0, seen = 0, cap;

	(void)state;
	for (size_t i = 0; i < 4; i++)
		table_put(&t, keys[i], NULL)->v.ptr = (void *)keys[i];
	/* Borrowed: the table holds the caller's pointers themselves. */
	assert_ptr_equal(table_get(&t, "cyd")->key, keys[2]);
	while ((e = table_next(&t, &pos)) != NULL) {
		assert_ptr_equal(e->v.ptr, e->key);
		seen++;
	}
	assert_int_equal(seen, 4);
	assert_null(table_next(&t, &pos));
	cap = t.cap;
	table_clear(&t);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.cap, cap);
	assert_null(table_get(&t, "ann"));
	pos = 0;
	assert_null(table_next(&t, &pos));
	table_put(&t, "bob", NULL);
	assert_non_null(table_get(&t, "bob"));
	table_release(&t);
	/* An empty table is fine to clear and release. */
	table_clear(&t);
	table_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fnv1a),
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_del),
		cmocka_unit_test(test_clear_next_borrowed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
