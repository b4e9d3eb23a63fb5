/*
 * Unit tests for pause: when a pause holds, where a paused cadence
 * resumes (its fires in the pause skipped, never caught up), and when a
 * spent token budget allows again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pause.h"

#define T0	1800000000000LL

static void
active(void **state)
{
	struct pause p = { 0 };

	(void)state;
	assert_false(pause_active(&p, T0));
	pause_set(&p, 0, "deploy\nfreeze");
	assert_true(pause_active(&p, T0));
	assert_true(pause_active(&p, INT64_MAX / 4));
	assert_string_equal(p.why, "deploy freeze");
	pause_set(&p, T0 + 1000, NULL);
	assert_true(pause_active(&p, T0 + 999));
	assert_false(pause_active(&p, T0 + 1000));
	assert_string_equal(p.why, "");
	assert_false(pause_is_budget(&p));
	pause_set(&p, T0 + 1000, PAUSE_BUDGET_WHY);
	assert_true(pause_is_budget(&p));
}

static void
why_is_bounded(void **state)
{
	struct pause p = { 0 };
	char long_why[1000];

	(void)state;
	memset(long_why, 'x', sizeof(long_why) - 1);
	long_why[sizeof(long_why) - 1] = '\0';
	pause_set(&p, 0, long_why);
	assert_int_equal(strlen(p.why), PAUSE_WHY_MAX - 1);
}

/* An hourly member due at T0 + 30m, paused until T0 + 2h: the fires at
 * T0 + 30m and T0 + 1h30m are skipped; it next ticks at T0 + 2h30m. */
static void
fires_in_a_pause_are_skipped(void **state)
{
	int64_t h = 3600000;

	(void)state;
	assert_int_equal(pause_next_due(T0 + h / 2, h, T0 + 2 * h),
	    T0 + 2 * h + h / 2);
	/* A fire exactly at the end of the pause runs. */
	assert_int_equal(pause_next_due(T0, h, T0 + 2 * h), T0 + 2 * h);
	/* Due after the pause ends: unchanged. */
	assert_int_equal(pause_next_due(T0 + 3 * h, h, T0 + 2 * h), T0 + 3 * h);
	/* No cadence step known: at the end of the pause. */
	assert_int_equal(pause_next_due(T0, 0, T0 + 5), T0 + 5);
	assert_true(pause_next_due(0, 1, INT64_MAX / 2) <= INT64_MAX / 4);
}

/* 100 tokens a second, runs of 60: spent by the second run, allowed again
 * when that run (and the one before) left the window. */
static void
budget(void **state)
{
	(void)state;
	assert_int_equal(pause_budget_until(60, 100, T0, 1000, T0 + 10), 0);
	assert_int_equal(pause_budget_until(120, 100, T0 + 200, 1000,
	    T0 + 250), T0 + 1200);
	assert_int_equal(pause_budget_until(100, 100, T0 + 200, 1000,
	    T0 + 250), T0 + 1200);
	/* No budget: never paused. */
	assert_int_equal(pause_budget_until(1000, 0, T0, 1000, T0), 0);
	/* The crossing run from the future (a clock stepped back): still
	 * later than now. */
	assert_int_equal(pause_budget_until(200, 100, T0 - 5000, 1000, T0),
	    T0 + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(active),
		cmocka_unit_test(why_is_bounded),
		cmocka_unit_test(fires_in_a_pause_are_skipped),
		cmocka_unit_test(budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
