/* Unit tests for gate: FIFO order, slot return, cancel, no-gate mode;
 * priorities, FIFO within one, and no starvation (SPEC §5b). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate.h"

#define T0	1800000000000LL
#define HOUR	3600000

struct w {
	struct gate_waiter	gw;	/* first: the callback casts back */
	int			id;
};

/* A waiter of priority rank prio with an hour's base: it never starves
 * in these tests unless the clock says so. */
static void
prep(struct w *w, int id, int prio, int64_t base)
{
	w->id = id;
	w->gw.prio = prio;
	w->gw.base_ms = base;
}

static int order[16], norder;
static struct gate *cur;

static void
granted(struct gate_waiter *gw)
{
	order[norder++] = ((struct w *)gw)->id;
}

static void
fifo_order(void **state)
{
	struct gate g;
	struct w w[6] = { 0 };

	(void)state;
	norder = 0;
	gate_init(&g, 2);
	for (int i = 0; i < 6; i++)
		w[i].id = i;
	assert_int_equal(gate_acquire(&g, &w[0].gw, granted, T0), 1);
	assert_int_equal(gate_acquire(&g, &w[1].gw, granted, T0), 1);
	for (int i = 2; i < 6; i++)
		assert_int_equal(gate_acquire(&g, &w[i].gw, granted, T0), 0);
	assert_int_equal(gate_place(&g, &w[2].gw, T0), 1);
	assert_int_equal(gate_place(&g, &w[5].gw, T0), 4);
	assert_int_equal(gate_place(&g, &w[0].gw, T0), 0);
	assert_int_equal(g.used, 2);
	gate_release(&g, T0);
	assert_int_equal(norder, 1);
	assert_int_equal(order[0], 2);
	assert_int_equal(gate_place(&g, &w[5].gw, T0), 3);
	gate_release(&g, T0);
	gate_release(&g, T0);
	gate_release(&g, T0);
	assert_int_equal(norder, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(order[i], i + 2);
	assert_int_equal(g.used, 2);
	gate_release(&g, T0);
	gate_release(&g, T0);
	assert_int_equal(g.used, 0);
	assert_int_equal(g.nwait, 0);
}

static void
newcomer_cannot_overtake(void **state)
{
	struct gate g;
	struct w a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };

	(void)state;
	norder = 0;
	gate_init(&g, 1);
	assert_int_equal(gate_acquire(&g, &a.gw, granted, T0), 1);
	assert_int_equal(gate_acquire(&g, &b.gw, granted, T0), 0);
	gate_release(&g, T0);		/* b gets it, in the callback */
	assert_int_equal(order[0], 2);
	/* c arrives while b holds: it must queue. */
	assert_int_equal(gate_acquire(&g, &c.gw, granted, T0), 0);
	gate_release(&g, T0);
	assert_int_equal(order[1], 3);
	gate_release(&g, T0);
	assert_int_equal(g.used, 0);
}

/* A grantee that fails at once and gives the slot back from inside its
 * callback: the next waiter still gets the slot and none is lost. */
static void
failing_grantee(struct gate_waiter *gw)
{
	order[norder++] = ((struct w *)gw)->id;
	if (((struct w *)gw)->id == 2)
		gate_release(cur, T0);
}

static void
slot_returned_on_failure(void **state)
{
	struct gate g;
	struct w a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };

	(void)state;
	norder = 0;
	cur = &g;
	gate_init(&g, 1);
	assert_int_equal(gate_acquire(&g, &a.gw, failing_grantee, T0), 1);
	assert_int_equal(gate_acquire(&g, &b.gw, failing_grantee, T0), 0);
	assert_int_equal(gate_acquire(&g, &c.gw, failing_grantee, T0), 0);
	gate_release(&g, T0);
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 3);
	assert_int_equal(g.used, 1);	/* c holds it */
	assert_int_equal(g.nwait, 0);
	gate_release(&g, T0);
	assert_int_equal(g.used, 0);
}

static void
cancel_and_resize(void **state)
{
	struct gate g;
	struct w a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 },
	    d = { .id = 4 };

	(void)state;
	norder = 0;
	gate_init(&g, 1);
	gate_acquire(&g, &a.gw, granted, T0);
	gate_acquire(&g, &b.gw, granted, T0);
	gate_acquire(&g, &c.gw, granted, T0);
	gate_acquire(&g, &d.gw, granted, T0);
	gate_cancel(&g, &c.gw);
	assert_int_equal(gate_place(&g, &d.gw, T0), 2);
	gate_cancel(&g, &d.gw);		/* the tail */
	assert_int_equal(g.nwait, 1);
	gate_acquire(&g, &c.gw, granted, T0);
	assert_int_equal(gate_place(&g, &c.gw, T0), 2);
	gate_resize(&g, 3, T0);
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 3);
	assert_int_equal(g.used, 3);
}

static void
no_gate(void **state)
{
	struct gate g;
	struct w w[10] = { 0 };

	(void)state;
	gate_init(&g, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(gate_acquire(&g, &w[i].gw, granted, T0), 1);
	gate_release(&g, T0);
	assert_int_equal(g.nwait, 0);
}

/* Places are counted once per change to the queue and must follow every
 * kind of change: a join, a cancel in the middle, a grant, a resize. */
static void
places_follow_every_change(void **state)
{
	struct gate g;
	struct w w[7] = { 0 };

	(void)state;
	norder = 0;
	gate_init(&g, 1);
	for (int i = 0; i < 7; i++)
		w[i].id = i;
	assert_int_equal(gate_acquire(&g, &w[0].gw, granted, T0), 1);
	for (int i = 1; i < 6; i++)
		assert_int_equal(gate_acquire(&g, &w[i].gw, granted, T0), 0);
	for (int i = 1; i < 6; i++)
		assert_int_equal(gate_place(&g, &w[i].gw, T0), i);
	gate_cancel(&g, &w[3].gw);		/* from the middle */
	assert_int_equal(gate_place(&g, &w[3].gw, T0), 0);
	assert_int_equal(gate_place(&g, &w[2].gw, T0), 2);
	assert_int_equal(gate_place(&g, &w[4].gw, T0), 3);
	assert_int_equal(gate_place(&g, &w[5].gw, T0), 4);
	assert_int_equal(gate_acquire(&g, &w[6].gw, granted, T0), 0);
	assert_int_equal(gate_place(&g, &w[6].gw, T0), 5);
	gate_release(&g, T0);			/* w1 is granted */
	assert_int_equal(gate_place(&g, &w[1].gw, T0), 0);
	assert_int_equal(gate_place(&g, &w[2].gw, T0), 1);
	assert_int_equal(gate_place(&g, &w[6].gw, T0), 4);
	gate_resize(&g, 3, T0);			/* w2 and w4 are granted */
	assert_int_equal(gate_place(&g, &w[5].gw, T0), 1);
	assert_int_equal(gate_place(&g, &w[6].gw, T0), 2);
	assert_int_equal(norder, 3);
}

/* The sentinel's repairs: a count that drifted is set to what the
 * holders say, and a slot that frees goes to the oldest waiter. */
static void
recount(void **state)
{
	struct gate g;
	struct w w[3] = { 0 };

	(void)state;
	norder = 0;
	gate_init(&g, 2);
	for (int i = 0; i < 3; i++)
		w[i].id = i;
	assert_int_equal(gate_acquire(&g, &w[0].gw, granted, T0), 1);
	assert_int_equal(gate_acquire(&g, &w[1].gw, granted, T0), 1);
	assert_int_equal(gate_acquire(&g, &w[2].gw, granted, T0), 0);
	gate_recount(&g, 3, T0);		/* lost: more holders than counted */
	assert_int_equal(g.used, 3);
	assert_int_equal(norder, 0);
	gate_recount(&g, 1, T0);		/* leaked: two slots held by nobody */
	assert_int_equal(norder, 1);
	assert_int_equal(order[0], 2);
	assert_int_equal(g.used, 2);
	assert_int_equal(gate_place(&g, &w[2].gw, T0), 0);
}

/* SPEC §5b: with one slot and four waiting members [#C], [#B], [#A],
 * [#A] (arriving in that order), the runs start A, A, B, C; the places
 * the plane shows are that order before any is granted. */
static void
priority_order(void **state)
{
	struct gate g;
	struct w hog, w[4];
	int prio[4] = { 2, 1, 0, 0 };

	(void)state;
	norder = 0;
	gate_init(&g, 1);
	prep(&hog, 9, 0, HOUR);
	assert_int_equal(gate_acquire(&g, &hog.gw, granted, T0), 1);
	for (int i = 0; i < 4; i++) {
		prep(&w[i], i, prio[i], HOUR);
		assert_int_equal(gate_acquire(&g, &w[i].gw, granted, T0 + i),
		    0);
	}
	assert_int_equal(gate_place(&g, &w[2].gw, T0 + 10), 1);
	assert_int_equal(gate_place(&g, &w[3].gw, T0 + 10), 2);
	assert_int_equal(gate_place(&g, &w[1].gw, T0 + 10), 3);
	assert_int_equal(gate_place(&g, &w[0].gw, T0 + 10), 4);
	for (int i = 0; i < 5; i++)
		gate_release(&g, T0 + 10 + i);
	assert_int_equal(norder, 4);
	assert_int_equal(order[0], 2);	/* A, the first */
	assert_int_equal(order[1], 3);	/* A */
	assert_int_equal(order[2], 1);	/* B */
	assert_int_equal(order[3], 0);	/* C */
	assert_int_equal(g.used, 0);
}

/* A [#C] waiter whose base is a second is overtaken by an [#A] that
 * arrives while it is young, and by nobody who arrives once it has
 * waited longer than that; an [#A] that was there before it still goes
 * first. Its place follows the clock alone, without a change to the
 * queue. */
static void
no_starvation(void **state)
{
	struct gate g;
	struct w hog, old_a, c, a1, a2, b;

	(void)state;
	norder = 0;
	gate_init(&g, 1);
	prep(&hog, 9, 1, HOUR);
	prep(&old_a, 0, 0, HOUR);
	prep(&c, 1, 2, 1000);
	prep(&a1, 2, 0, HOUR);
	prep(&a2, 3, 0, HOUR);
	prep(&b, 4, 1, HOUR);
	assert_int_equal(gate_acquire(&g, &hog.gw, granted, T0), 1);
	assert_int_equal(gate_acquire(&g, &old_a.gw, granted, T0), 0);
	assert_int_equal(gate_acquire(&g, &c.gw, granted, T0 + 1), 0);
	assert_int_equal(gate_acquire(&g, &a1.gw, granted, T0 + 500), 0);
	/* Young: the [#A] that came later is ahead of it. */
	assert_int_equal(gate_place(&g, &c.gw, T0 + 600), 3);
	assert_int_equal(gate_place(&g, &a1.gw, T0 + 600), 2);
	/* Past its base delay (1 s after it came), with no change to the
	 * queue: only old_a, there before it, is still ahead. */
	assert_int_equal(gate_place(&g, &c.gw, T0 + 1002), 2);
	assert_int_equal(gate_place(&g, &a1.gw, T0 + 1002), 3);
	assert_int_equal(gate_place(&g, &old_a.gw, T0 + 1002), 1);
	assert_int_equal(gate_acquire(&g, &a2.gw, granted, T0 + 1100), 0);
	assert_int_equal(gate_acquire(&g, &b.gw, granted, T0 + 1200), 0);
	assert_int_equal(gate_place(&g, &c.gw, T0 + 1300), 2);
	assert_int_equal(gate_place(&g, &b.gw, T0 + 1300), 5);
	for (int i = 0; i < 6; i++)
		gate_release(&g, T0 + 1300 + i);
	assert_int_equal(norder, 5);
	assert_int_equal(order[0], 0);	/* old_a: it was there first */
	assert_int_equal(order[1], 1);	/* c: nobody later overtakes it */
	assert_int_equal(order[2], 2);	/* a1 */
	assert_int_equal(order[3], 3);	/* a2 */
	assert_int_equal(order[4], 4);	/* b */
}

/* Two starving waiters keep their arrival order, whatever their
 * priorities; a starving waiter of one priority does not pass an older
 * one of the same priority that does not starve. */
static void
starving_in_arrival_order(void **state)
{
	struct gate g;
	struct w hog, c1, b1, c2, cslow;

	(void)state;
	norder = 0;
	gate_init(&g, 1);
	prep(&hog, 9, 0, HOUR);
	prep(&cslow, 0, 2, HOUR);
	prep(&c1, 1, 2, 100);
	prep(&b1, 2, 1, 100);
	prep(&c2, 3, 2, 100);
	assert_int_equal(gate_acquire(&g, &hog.gw, granted, T0), 1);
	assert_int_equal(gate_acquire(&g, &cslow.gw, granted, T0), 0);
	assert_int_equal(gate_acquire(&g, &c1.gw, granted, T0 + 1), 0);
	assert_int_equal(gate_acquire(&g, &b1.gw, granted, T0 + 2), 0);
	assert_int_equal(gate_acquire(&g, &c2.gw, granted, T0 + 3), 0);
	assert_int_equal(gate_place(&g, &cslow.gw, T0 + 5000), 1);
	assert_int_equal(gate_place(&g, &c1.gw, T0 + 5000), 2);
	assert_int_equal(gate_place(&g, &b1.gw, T0 + 5000), 3);
	assert_int_equal(gate_place(&g, &c2.gw, T0 + 5000), 4);
	for (int i = 0; i < 5; i++)
		gate_release(&g, T0 + 5000);
	assert_int_equal(norder, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(order[i], i);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_order),
		cmocka_unit_test(newcomer_cannot_overtake),
		cmocka_unit_test(slot_returned_on_failure),
		cmocka_unit_test(cancel_and_resize),
		cmocka_unit_test(no_gate),
		cmocka_unit_test(places_follow_every_change),
		cmocka_unit_test(recount),
		cmocka_unit_test(priority_order),
		cmocka_unit_test(no_starvation),
		cmocka_unit_test(starving_in_arrival_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
