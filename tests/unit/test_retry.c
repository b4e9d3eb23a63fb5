/*
 * Unit tests for retry: SPEC §5b's retries as a pure decision: D, 2D,
 * 4D after each failed run, up to N; done or no_work ends the series; a
 * regular tick that comes due first replaces it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry.h"

#define T0	1800000000000LL

static void
doubling_delays(void **state)
{
	struct retry_params p = { 3, 1000 };

	(void)state;
	assert_int_equal(retry_delay(&p, 1), 1000);
	assert_int_equal(retry_delay(&p, 2), 2000);
	assert_int_equal(retry_delay(&p, 3), 4000);
	p.delay_ms = INT64_MAX / 8;
	assert_true(retry_delay(&p, 60) <= INT64_MAX / 4);
	assert_true(retry_delay(&p, 60) > 0);
}

/* A failing member with :RETRY: 2 runs three times: the tick, then two
 * retries at D and 2D after each failed run's end; then no more. */
static void
series_of_two(void **state)
{
	struct retry_params p = { 2, 300 };
	struct retry_plan r;

	(void)state;
	retry_next(&p, OUTCOME_FAILED, 0, T0, T0 + 3600000, &r);
	assert_int_equal(r.attempt, 1);
	assert_int_equal(r.due_ms, T0 + 300);
	retry_next(&p, OUTCOME_KILLED, 1, T0 + 400, T0 + 3600000, &r);
	assert_int_equal(r.attempt, 2);
	assert_int_equal(r.due_ms, T0 + 400 + 600);
	retry_next(&p, OUTCOME_FAILED, 2, T0 + 1100, T0 + 3600000, &r);
	assert_int_equal(r.attempt, 0);
	assert_int_equal(r.due_ms, 0);
}

static void
success_or_no_work_ends_it(void **state)
{
	struct retry_params p = { 5, 300 };
	struct retry_plan r;
	enum outcome ends[] = { OUTCOME_DONE, OUTCOME_NO_WORK, OUTCOME_GATED,
	    OUTCOME_ERROR, OUTCOME_DREAMED, OUTCOME_INTERRUPTED };

	(void)state;
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		retry_next(&p, ends[i], 1, T0, T0 + 3600000, &r);
		assert_int_equal(r.attempt, 0);
	}
}

/* The regular tick due first replaces the series: 400 ms after a failed
 * run comes before a tick due in a second, 800 ms after the next does
 * not. */
static void
regular_tick_comes_first(void **state)
{
	struct retry_params p = { 3, 400 };
	struct retry_plan r;

	(void)state;
	retry_next(&p, OUTCOME_FAILED, 0, T0, T0 + 1000, &r);
	assert_int_equal(r.attempt, 1);
	assert_int_equal(r.due_ms, T0 + 400);
	retry_next(&p, OUTCOME_FAILED, 1, T0 + 450, T0 + 1000, &r);
	assert_int_equal(r.attempt, 0);
	/* Due at the same moment: the regular one. */
	retry_next(&p, OUTCOME_FAILED, 0, T0, T0 + 400, &r);
	assert_int_equal(r.attempt, 0);
	/* No regular tick scheduled (a removed or oneshot member): the
	 * retry stands. */
	retry_next(&p, OUTCOME_FAILED, 0, T0, 0, &r);
	assert_int_equal(r.attempt, 1);
}

static void
no_retries_configured(void **state)
{
	struct retry_params p = { 0, 60000 };
	struct retry_plan r;

	(void)state;
	retry_next(&p, OUTCOME_FAILED, 0, T0, T0 + 3600000, &r);
	assert_int_equal(r.attempt, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doubling_delays),
		cmocka_unit_test(series_of_two),
		cmocka_unit_test(success_or_no_work_ends_it),
		cmocka_unit_test(regular_tick_comes_first),
		cmocka_unit_test(no_retries_configured),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
