/* Unit tests for lifecycle: every SPEC §4 rule and the worked trace. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lifecycle.h"

#define M	60000LL

/* The writer loop of SPEC §4, built by hand so this test needs no loader:
 * wake_add (REPEAT 3) -> wake_audit -> rem (MIN-INTERVAL 10m) -> wake_plan
 * -> wake_add. */
static struct lc_state writer_states[] = {
	{ .name = "wake_add", .kind = LC_WAKE, .repeat = 3, .next = 1 },
	{ .name = "wake_audit", .kind = LC_WAKE, .repeat = 1, .next = 2 },
	{ .name = "rem", .kind = LC_REM, .repeat = 1, .next = 3,
	  .min_interval_ms = 10 * M },
	{ .name = "wake_plan", .kind = LC_WAKE, .repeat = 1, .next = 0,
	  .def = "/agents/plan.org" },
};
static struct lc_spec writer = { .path = "writer-loop.org",
	.states = writer_states, .nstates = 4, .start = 0 };

static void
expect(const struct lc_pos *p, const char *state, int hits)
{
	assert_string_equal(p->state, state);
	assert_int_equal(p->hits, hits);
}

static enum lc_verdict
tick(struct lc_pos *p, int64_t now, enum outcome o)
{
	struct lc_decision d;

	lc_decide(&writer, p, now, &d);
	if (d.verdict == LC_GATED)
		o = OUTCOME_GATED;
	else if (d.verdict == LC_DREAM)
		o = OUTCOME_DREAMED;
	lc_apply(&writer, p, o, now);
	return d.verdict;
}

static void
worked_trace(void **state)
{
	struct lc_pos p = { 0 };
	int64_t t = 1700000000000LL;

	(void)state;
	assert_int_equal(tick(&p, t, OUTCOME_DONE), LC_RUN);
	expect(&p, "wake_add", 1);
	assert_int_equal(tick(&p, t += M, OUTCOME_FAILED), LC_RUN);
	expect(&p, "wake_add", 1);			/* failed holds */
	assert_int_equal(tick(&p, t += M, OUTCOME_DONE), LC_RUN);
	expect(&p, "wake_add", 2);
	assert_int_equal(tick(&p, t += M, OUTCOME_NO_WORK), LC_RUN);
	expect(&p, "wake_audit", 0);			/* repeats collapse */
	assert_int_equal(tick(&p, t += M, OUTCOME_DONE), LC_RUN);
	expect(&p, "rem", 0);
	assert_int_equal(tick(&p, t += M, OUTCOME_NONE), LC_DREAM);
	expect(&p, "wake_plan", 0);
	assert_int_equal(p.last_dream_ms, t);
	int64_t dreamt = t;
	/* Round the loop fast: back at rem within 10 minutes -> gated. */
	assert_int_equal(tick(&p, t += M, OUTCOME_DONE), LC_RUN);
	expect(&p, "wake_add", 0);
	assert_int_equal(tick(&p, t += M, OUTCOME_NO_WORK), LC_RUN);
	assert_int_equal(tick(&p, t += M, OUTCOME_DONE), LC_RUN);
	expect(&p, "rem", 0);
	assert_int_equal(tick(&p, t += M, OUTCOME_NONE), LC_GATED);
	expect(&p, "rem", 0);				/* gated holds */
	struct lc_decision d;
	lc_decide(&writer, &p, t, &d);
	assert_int_equal(d.gate_left_ms, 10 * M - (t - dreamt));
	/* Exactly MIN-INTERVAL after the dream: open again. */
	assert_int_equal(tick(&p, dreamt + 10 * M, OUTCOME_NONE), LC_DREAM);
	expect(&p, "wake_plan", 0);
	lc_pos_release(&p);
}

/* Issue 20: a keeper that ran a day ahead (faketime +1d) left a dream
 * time in the future. It counts as now: the rem state is gated for its
 * MIN-INTERVAL from here, not for a day. */
static void
future_times_count_as_now(void **state)
{
	struct lc_pos p = { 0 };
	struct lc_decision d;
	int64_t now = 1700000000000LL, day = 24 * 60 * M;

	(void)state;
	lc_pos_set(&p, "rem", 0);
	p.last_dream_ms = now + day;
	lc_pos_set(&p, "rem", 0);
	lc_decide(&writer, &p, now, &d);
	assert_int_equal(d.clamped, 1);
	assert_int_equal(p.last_dream_ms, now);
	assert_int_equal(d.verdict, LC_GATED);
	assert_int_equal(d.gate_left_ms, 10 * M);
	lc_decide(&writer, &p, now + 10 * M, &d);
	assert_int_equal(d.clamped, 0);
	assert_int_equal(d.verdict, LC_DREAM);
	/* a wake state's own last run too */
	lc_pos_set(&p, "wake_add", 0);
	lc_apply(&writer, &p, OUTCOME_DONE, now + day);
	assert_int_equal(lc_pos_clamp(&p, now), 1);
	assert_int_equal(lc_pos_last_ran(&p, "wake_add"), now);
	assert_int_equal(lc_pos_clamp(&p, now), 0);
	lc_pos_release(&p);
}

static void
repeat_moves_at_count(void **state)
{
	struct lc_pos p = { 0 };

	(void)state;
	lc_pos_set(&p, "wake_add", 2);
	assert_int_equal(lc_apply(&writer, &p, OUTCOME_DONE, 1), 1);
	expect(&p, "wake_audit", 0);
	/* killed holds, like failed */
	assert_int_equal(lc_apply(&writer, &p, OUTCOME_KILLED, 2), 0);
	expect(&p, "wake_audit", 0);
	/* error / interrupted / gated hold */
	lc_apply(&writer, &p, OUTCOME_ERROR, 3);
	lc_apply(&writer, &p, OUTCOME_INTERRUPTED, 3);
	lc_apply(&writer, &p, OUTCOME_GATED, 3);
	expect(&p, "wake_audit", 0);
	/* hits above a lowered REPEAT still move on the next done */
	lc_pos_set(&p, "wake_add", 7);
	lc_apply(&writer, &p, OUTCOME_DONE, 4);
	expect(&p, "wake_audit", 0);
	lc_pos_release(&p);
}

static void
unknown_state_restarts(void **state)
{
	struct lc_pos p = { 0 };
	struct lc_decision d;

	(void)state;
	lc_pos_set(&p, "gone", 2);
	lc_decide(&writer, &p, 0, &d);
	assert_int_equal(d.reset, 1);
	assert_int_equal(d.verdict, LC_RUN);
	expect(&p, "wake_add", 0);
	/* empty position: start quietly */
	lc_pos_release(&p);
	lc_decide(&writer, &p, 0, &d);
	assert_int_equal(d.reset, 0);
	expect(&p, "wake_add", 0);
	assert_int_equal(d.repeat, 3);
	lc_pos_release(&p);
}

static void
invalid_spec_holds(void **state)
{
	struct lc_pos p = { 0 };
	struct lc_decision d;

	(void)state;
	lc_pos_set(&p, "wake_audit", 0);
	lc_decide(NULL, &p, 0, &d);
	assert_int_equal(d.verdict, LC_INVALID);
	assert_int_equal(lc_apply(NULL, &p, OUTCOME_DONE, 0), 0);
	expect(&p, "wake_audit", 0);
	lc_pos_release(&p);
}

static void
def_override_and_wake_gate(void **state)
{
	struct lc_state st[] = {
		{ .name = "a", .repeat = 1, .next = 0, .min_interval_ms = 5 * M },
	};
	struct lc_spec s = { .states = st, .nstates = 1 };
	struct lc_pos p = { 0 };
	struct lc_decision d;

	(void)state;
	lc_pos_set(&p, "wake_plan", 0);
	lc_decide(&writer, &p, 0, &d);
	assert_string_equal(d.def, "/agents/plan.org");
	lc_pos_release(&p);
	/* a wake state's MIN-INTERVAL counts from when it last ran */
	lc_decide(&s, &p, 100 * M, &d);
	assert_int_equal(d.verdict, LC_RUN);
	lc_apply(&s, &p, OUTCOME_FAILED, 100 * M);
	lc_decide(&s, &p, 104 * M, &d);
	assert_int_equal(d.verdict, LC_GATED);
	assert_int_equal(d.gate_left_ms, 1 * M);
	lc_decide(&s, &p, 105 * M, &d);
	assert_int_equal(d.verdict, LC_RUN);
	lc_pos_release(&p);
}

static void
pos_roundtrip_and_garbage(void **state)
{
	struct lc_pos p = { 0 }, q = { 0 };
	char *s;
	static const char *bad[] = { "", "\n", "wake_add\n", "wake_add x\n",
	    "wake_add -1\n", " 2\n", "a b c\n", "wake_add 99999999999\n" };

	(void)state;
	lc_pos_set(&p, "wake_add", 2);
	p.last_dream_ms = 123456;
	lc_apply(&writer, &p, OUTCOME_FAILED, 777);
	s = lc_pos_format(&p);
	assert_string_equal(s, "wake_add 2\ndream 123456\nran wake_add 777\n");
	assert_int_equal(lc_pos_parse(&q, s, strlen(s)), 0);
	expect(&q, "wake_add", 2);
	assert_int_equal(q.last_dream_ms, 123456);
	assert_int_equal(lc_pos_last_ran(&q, "wake_add"), 777);
	free(s);
	/* the SPEC form, first line only, without a newline */
	assert_int_equal(lc_pos_parse(&q, "rem 0", 5), 0);
	expect(&q, "rem", 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lc_pos_parse(&q, bad[i], strlen(bad[i])), -1);
		assert_string_equal(q.state, "");
	}
	lc_pos_release(&p);
	lc_pos_release(&q);
}

static void
dream_entry(void **state)
{
	struct lc_dream_stats s = { .runs = 4, .done = 2, .no_work = 1,
	    .failed = 1, .commits = 2, .total_ms = 900, .max_ms = 500 };
	char *org = lc_dream_org("wren", "rem", 0, 1700000000000LL, &s);
	char *sum = lc_dream_summary(&s);

	(void)state;
	assert_non_null(strstr(org, "* wren dreamed in rem [2023-11-14"));
	assert_non_null(strstr(org, ":RUNS: 4\n"));
	assert_non_null(strstr(org, ":COMMITS: 2\n"));
	assert_non_null(strstr(sum, "runs=4 done=2 no_work=1 failed=1"));
	free(org);
	free(sum);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(worked_trace),
		cmocka_unit_test(future_times_count_as_now),
		cmocka_unit_test(repeat_moves_at_count),
		cmocka_unit_test(unknown_state_restarts),
		cmocka_unit_test(invalid_spec_holds),
		cmocka_unit_test(def_override_and_wake_gate),
		cmocka_unit_test(pos_roundtrip_and_garbage),
		cmocka_unit_test(dream_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
