/*
 * pacer: publishes spaced by ten times their cost, capped; renders on the
 * web's thread count when they cost more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pacer.h"

#define MS	1000000ULL	/* ns */

static void
test_gap_is_ten_times_the_cost(void **state)
{
	(void)state;
	assert_int_equal(pacer_gap_for(0), 0);
	assert_int_equal(pacer_gap_for(1), 1);	/* rounded up */
	assert_int_equal(pacer_gap_for(MS / 10), 1);
	assert_int_equal(pacer_gap_for(3 * MS), 30);
	assert_int_equal(pacer_gap_for(49 * MS + MS / 2), 495);
	assert_int_equal(pacer_gap_for(60 * MS), PACER_GAP_MAX_MS);
}

static void
test_first_publish_is_due_at_once(void **state)
{
	struct pacer p = { 0 };

	(void)state;
	assert_true(pacer_due(&p, 5));
	assert_int_equal(pacer_wait(&p, 5), 0);
}

static void
test_spaced_after_a_costly_publish(void **state)
{
	struct pacer p = { 0 };

	(void)state;
	pacer_published(&p, 2 * MS, 1000);	/* gap 20 ms */
	assert_false(pacer_due(&p, 1000));
	assert_int_equal(pacer_wait(&p, 1005), 15);
	assert_false(pacer_due(&p, 1019));
	assert_true(pacer_due(&p, 1020));
	/* A cheap one shrinks the gap again. */
	pacer_published(&p, 0, 1020);
	assert_true(pacer_due(&p, 1020));
}

static void
test_thread_render_cost_widens_the_gap(void **state)
{
	struct pacer p = { 0 };

	(void)state;
	pacer_published(&p, MS / 10, 1000);	/* the loop's part: 1 ms */
	pacer_render_cost(&p, 8 * MS);		/* the thread's: 80 ms */
	assert_int_equal(pacer_wait(&p, 1000), 80);
	/* It holds for the next publishes too, until a cheaper render. */
	pacer_published(&p, 0, 2000);
	assert_int_equal(pacer_wait(&p, 2000), 80);
	pacer_render_cost(&p, MS / 10);
	pacer_published(&p, 0, 3000);
	assert_int_equal(pacer_wait(&p, 3000), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_is_ten_times_the_cost),
		cmocka_unit_test(test_first_publish_is_due_at_once),
		cmocka_unit_test(test_spaced_after_a_costly_publish),
		cmocka_unit_test(test_thread_render_cost_widens_the_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
