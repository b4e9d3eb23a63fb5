/* Unit tests for gate: FIFO order, slot return, cancel, no-gate mode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gate.h"

struct w {
	struct gate_waiter	gw;	/* first: the callback casts back */
	int			id;
};

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
	struct w w[6];

	(void)state;
	norder = 0;
	gate_init(&g, 2);
	for (int i = 0; i < 6; i++)
		w[i].id = i;
	assert_int_equal(gate_acquire(&g, &w[0].gw, granted), 1);
	assert_int_equal(gate_acquire(&g, &w[1].gw, granted), 1);
	for (int i = 2; i < 6; i++)
		assert_int_equal(gate_acquire(&g, &w[i].gw, granted), 0);
	assert_int_equal(gate_place(&g, &w[2].gw), 1);
	assert_int_equal(gate_place(&g, &w[5].gw), 4);
	assert_int_equal(gate_place(&g, &w[0].gw), 0);
	assert_int_equal(g.used, 2);
	gate_release(&g);
	assert_int_equal(norder, 1);
	assert_int_equal(order[0], 2);
	assert_int_equal(gate_place(&g, &w[5].gw), 3);
	gate_release(&g);
	gate_release(&g);
	gate_release(&g);
	assert_int_equal(norder, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(order[i], i + 2);
	assert_int_equal(g.used, 2);
	gate_release(&g);
	gate_release(&g);
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
	assert_int_equal(gate_acquire(&g, &a.gw, granted), 1);
	assert_int_equal(gate_acquire(&g, &b.gw, granted), 0);
	gate_release(&g);		/* b gets it, in the callback */
	assert_int_equal(order[0], 2);
	/* c arrives while b holds: it must queue. */
	assert_int_equal(gate_acquire(&g, &c.gw, granted), 0);
	gate_release(&g);
	assert_int_equal(order[1], 3);
	gate_release(&g);
	assert_int_equal(g.used, 0);
}

/* A grantee that fails at once and gives the slot back from inside its
 * callback: the next waiter still gets the slot and none is lost. */
static void
failing_grantee(struct gate_waiter *gw)
{
	order[norder++] = ((struct w *)gw)->id;
	if (((struct w *)gw)->id == 2)
		gate_release(cur);
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
	assert_int_equal(gate_acquire(&g, &a.gw, failing_grantee), 1);
	assert_int_equal(gate_acquire(&g, &b.gw, failing_grantee), 0);
	assert_int_equal(gate_acquire(&g, &c.gw, failing_grantee), 0);
	gate_release(&g);
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 3);
	assert_int_equal(g.used, 1);	/* c holds it */
	assert_int_equal(g.nwait, 0);
	gate_release(&g);
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
	gate_acquire(&g, &a.gw, granted);
	gate_acquire(&g, &b.gw, granted);
	gate_acquire(&g, &c.gw, granted);
	gate_acquire(&g, &d.gw, granted);
	gate_cancel(&g, &c.gw);
	assert_int_equal(gate_place(&g, &d.gw), 2);
	gate_cancel(&g, &d.gw);		/* the tail */
	assert_int_equal(g.nwait, 1);
	gate_acquire(&g, &c.gw, granted);
	assert_int_equal(gate_place(&g, &c.gw), 2);
	gate_resize(&g, 3);
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 3);
	assert_int_equal(g.used, 3);
}

static void
no_gate(void **state)
{
	struct gate g;
	struct w w[10];

	(void)state;
	gate_init(&g, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(gate_acquire(&g, &w[i].gw, granted), 1);
	gate_release(&g);
	assert_int_equal(g.nwait, 0);
}

/* Places are counted once per change to the queue and must follow every
 * kind of change: a join, a cancel in the middle, a grant, a resize. */
static void
places_follow_every_change(void **state)
{
	struct gate g;
	struct w w[7];

	(void)state;
	norder = 0;
	gate_init(&g, 1);
	for (int i = 0; i < 7; i++)
		w[i].id = i;
	assert_int_equal(gate_acquire(&g, &w[0].gw, granted), 1);
	for (int i = 1; i < 6; i++)
		assert_int_equal(gate_acquire(&g, &w[i].gw, granted), 0);
	for (int i = 1; i < 6; i++)
		assert_int_equal(gate_place(&g, &w[i].gw), i);
	gate_cancel(&g, &w[3].gw);		/* from the middle */
	assert_int_equal(gate_place(&g, &w[3].gw), 0);
	assert_int_equal(gate_place(&g, &w[2].gw), 2);
	assert_int_equal(gate_place(&g, &w[4].gw), 3);
	assert_int_equal(gate_place(&g, &w[5].gw), 4);
	assert_int_equal(gate_acquire(&g, &w[6].gw, granted), 0);
	assert_int_equal(gate_place(&g, &w[6].gw), 5);
	gate_release(&g);			/* w1 is granted */
	assert_int_equal(gate_place(&g, &w[1].gw), 0);
	assert_int_equal(gate_place(&g, &w[2].gw), 1);
	assert_int_equal(gate_place(&g, &w[6].gw), 4);
	gate_resize(&g, 3);			/* w2 and w4 are granted */
	assert_int_equal(gate_place(&g, &w[5].gw), 1);
	assert_int_equal(gate_place(&g, &w[6].gw), 2);
	assert_int_equal(norder, 3);
}

/* The sentinel's repairs: a count that drifted is set to what the
 * holders say, and a slot that frees goes to the oldest waiter. */
static void
recount(void **state)
{
	struct gate g;
	struct w w[3];

	(void)state;
	norder = 0;
	gate_init(&g, 2);
	for (int i = 0; i < 3; i++)
		w[i].id = i;
	assert_int_equal(gate_acquire(&g, &w[0].gw, granted), 1);
	assert_int_equal(gate_acquire(&g, &w[1].gw, granted), 1);
	assert_int_equal(gate_acquire(&g, &w[2].gw, granted), 0);
	gate_recount(&g, 3);		/* lost: more holders than counted */
	assert_int_equal(g.used, 3);
	assert_int_equal(norder, 0);
	gate_recount(&g, 1);		/* leaked: two slots held by nobody */
	assert_int_equal(norder, 1);
	assert_int_equal(order[0], 2);
	assert_int_equal(g.used, 2);
	assert_int_equal(gate_place(&g, &w[2].gw), 0);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
