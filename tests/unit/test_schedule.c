/* Unit tests for sched: SPEC §5 delay arithmetic at its edges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "schedule.h"

#define S	1000LL
#define M	(60 * S)

static struct sched_params
params(void)
{
	struct sched_params p = {
		.interval_ms = 15 * M, .continuous = 0, .breather_ms = 45 * S,
		.boot_grace_ms = 60 * S, .stagger_ms = 30 * S,
		.backoff_base_ms = 60 * S, .backoff_cap_ms = 30 * M,
	};
	return p;
}

static void
first_no_last_run(void **state)
{
	struct sched_params p = params();

	(void)state;
	/* Never ran: due at once, but not before the boot grace. */
	assert_int_equal(sched_first_delay(&p, 1000 * S, SCHED_NEVER, 0),
	    60 * S);
	assert_int_equal(sched_first_delay(&p, 1000 * S, SCHED_NEVER, 3),
	    60 * S + 3 * 30 * S);
	p.boot_grace_ms = 0;
	assert_int_equal(sched_first_delay(&p, 1000 * S, SCHED_NEVER, 0), 0);
}

static void
first_resumes_cadence(void **state)
{
	struct sched_params p = params();
	int64_t now = 100000 * S;

	(void)state;
	/* Ran 5 min ago with a 15 min interval: 10 min left. */
	assert_int_equal(sched_first_delay(&p, now, now - 5 * M, 0), 10 * M);
	assert_int_equal(sched_first_delay(&p, now, now - 5 * M, 2),
	    10 * M + 60 * S);
	/* Elapsed beyond the interval: only the grace remains. */
	assert_int_equal(sched_first_delay(&p, now, now - 20 * M, 0), 60 * S);
	/* Ran 14.5 min ago: 30 s left, below the grace, so the grace. */
	assert_int_equal(sched_first_delay(&p, now, now - 14 * M - 30 * S, 0),
	    60 * S);
	/* Last run in the future (clock stepped back): a full interval. */
	assert_int_equal(sched_first_delay(&p, now, now + 5 * M, 0), 15 * M);
}

static void
first_continuous(void **state)
{
	struct sched_params p = params();
	int64_t now = 100000 * S;

	(void)state;
	p.continuous = 1;
	p.boot_grace_ms = 0;
	assert_int_equal(sched_base(&p), 45 * S);
	assert_int_equal(sched_first_delay(&p, now, now - 15 * S, 0), 30 * S);
	assert_int_equal(sched_first_delay(&p, now, now - 15 * M, 0), 0);
}

/* SPEC §12: a keeper that takes over counts the imported streak's
 * backed-off delay from the last run, not INTERVAL. */
static void
resume_backed_off(void **state)
{
	struct sched_params p = params();
	int64_t now = 100000 * S;
	int streak = 0;

	(void)state;
	assert_int_equal(sched_streak_delay(&p, 0), 15 * M);
	assert_int_equal(sched_streak_delay(&p, 1), 15 * M);
	assert_int_equal(sched_streak_delay(&p, 5), 16 * M);
	assert_int_equal(sched_streak_delay(&p, 6), 30 * M);
	assert_int_equal(sched_streak_delay(&p, 1 << 20), 30 * M);
	/* The same numbers sched_next_delay() gives streak by streak. */
	for (int k = 1; k <= 12; k++)
		assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK,
		    &streak), sched_streak_delay(&p, k));
	assert_int_equal(sched_resume_delay(&p, now, now - 5 * M, 0), 10 * M);
	assert_int_equal(sched_resume_delay(&p, now, now - 5 * M, 5), 11 * M);
	assert_int_equal(sched_resume_delay(&p, now, now - 5 * M, 6), 25 * M);
	assert_int_equal(sched_resume_delay(&p, now, now - 31 * M, 6), 0);
	assert_int_equal(sched_resume_delay(&p, now, SCHED_NEVER, 6), 0);
	assert_int_equal(sched_resume_delay(&p, now, now + 5 * M, 6), 30 * M);
	p.continuous = 1;	/* base is BREATHER: the backoff still rules */
	assert_int_equal(sched_resume_delay(&p, now, now - 10 * S, 3),
	    230 * S);
}

static void
next_done_and_other(void **state)
{
	struct sched_params p = params();
	int streak = 5;

	(void)state;
	assert_int_equal(sched_next_delay(&p, OUTCOME_FAILED, &streak), 15 * M);
	assert_int_equal(streak, 5);
	assert_int_equal(sched_next_delay(&p, OUTCOME_GATED, &streak), 15 * M);
	assert_int_equal(sched_next_delay(&p, OUTCOME_KILLED, &streak), 15 * M);
	assert_int_equal(streak, 5);
	assert_int_equal(sched_next_delay(&p, OUTCOME_DONE, &streak), 15 * M);
	assert_int_equal(streak, 0);
}

static void
next_backoff_doubles_to_cap(void **state)
{
	struct sched_params p = params();
	/* base 1 s so the backoff shows: 60 s, 120, 240, ... capped at 30m. */
	int64_t want[] = { 60 * S, 120 * S, 240 * S, 480 * S, 960 * S,
	    30 * M, 30 * M, 30 * M };
	int streak = 0;

	(void)state;
	p.interval_ms = 1 * S;
	for (int i = 0; i < 8; i++) {
		assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK, &streak),
		    want[i]);
		assert_int_equal(streak, i + 1);
	}
	/* The base is a floor: with a 15m interval the first gaps are 15m. */
	p = params();
	streak = 0;
	assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK, &streak), 15 * M);
	assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK, &streak), 15 * M);
	assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK, &streak), 15 * M);
	assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK, &streak), 15 * M);
	assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK, &streak), 16 * M);
	assert_int_equal(sched_next_delay(&p, OUTCOME_NO_WORK, &streak), 30 * M);
}

static void
next_overflow_safe(void **state)
{
	struct sched_params p = params();
	int streak = 1000;

	(void)state;
	p.interval_ms = 1;
	p.backoff_cap_ms = INT64_MAX;
	p.backoff_base_ms = INT64_MAX / 2;
	int64_t d = sched_next_delay(&p, OUTCOME_NO_WORK, &streak);
	assert_true(d > 0);
	assert_true(d <= INT64_MAX / 4);
	p = params();
	p.stagger_ms = INT64_MAX;
	assert_true(sched_first_delay(&p, 0, SCHED_NEVER, 5) > 0);
}

static void
next_due_after_or_fixed(void **state)
{
	struct sched_params p = params();
	int64_t due = 1000 * S;

	(void)state;
	/* SPEC: the delay counts from the tick's end, so the cadence moves
	 * by the tick's length (here 4 s late and 40 s long). */
	assert_int_equal(sched_next_due(&p, due, due + 44 * S, 15 * M),
	    due + 44 * S + 15 * M);
	/* #+CADENCE: fixed: from the due time, whatever the tick took ... */
	p.fixed = 1;
	assert_int_equal(sched_next_due(&p, due, due + 44 * S, 15 * M),
	    due + 15 * M);
	/* ... and a backoff delay the same way */
	assert_int_equal(sched_next_due(&p, due, due + 44 * S, 30 * M),
	    due + 30 * M);
	/* a tick that overran its delay: the next is due at once */
	assert_int_equal(sched_next_due(&p, due, due + 16 * M, 15 * M),
	    due + 16 * M);
	/* a continuous member's BREATHER is a pause after each run */
	p.continuous = 1;
	assert_int_equal(sched_next_due(&p, due, due + 44 * S, 45 * S),
	    due + 44 * S + 45 * S);
	p.continuous = 0;
	/* no due time, or one in the future (clock stepped back): from now */
	assert_int_equal(sched_next_due(&p, 0, due, 15 * M), due + 15 * M);
	assert_int_equal(sched_next_due(&p, due + 5 * S, due, 15 * M),
	    due + 15 * M);
	/* saturates rather than overflows */
	assert_true(sched_next_due(&p, due, due + S, INT64_MAX) > due);
	p.fixed = 0;
	assert_true(sched_next_due(&p, due, INT64_MAX - S, 15 * M) > due);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_no_last_run),
		cmocka_unit_test(first_resumes_cadence),
		cmocka_unit_test(first_continuous),
		cmocka_unit_test(resume_backed_off),
		cmocka_unit_test(next_done_and_other),
		cmocka_unit_test(next_backoff_doubles_to_cap),
		cmocka_unit_test(next_overflow_safe),
		cmocka_unit_test(next_due_after_or_fixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
