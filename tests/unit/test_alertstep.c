/*
 * test_alertstep: the pure transition / rate-limit / id logic with
 * injected time, and the alert as JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alertstep.h"

#define MIN	(60 * 1000)

struct sim {
	struct alert_track	 t;
	struct alert_policy	 p;
	struct alert		 a;
	int			 streak;
	int64_t			 now;
	int			 run;
};

static void
sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	alert_policy_default(&s->p);
	s->now = 1700000000000;
}

/* One tick with the given outcome; returns 1 when it alerted. */
static int
sim_tick(struct sim *s, int ok, int64_t advance)
{
	char run[32];
	struct alert_input in;

	s->now += advance;
	s->run++;
	s->streak = ok ? 0 : s->streak + 1;
	snprintf(run, sizeof(run), "r%d", s->run);
	in = (struct alert_input){ .agent = "wren",
	    .health = ok ? HEALTH_OK : HEALTH_FAILING,
	    .fail_streak = s->streak, .run_id = run, .last_run_ms = s->now,
	    .now_ms = s->now };
	return alert_step(&s->t, &s->p, &in, &s->a);
}

static int
sim_look(struct sim *s, enum health h, int64_t advance)
{
	struct alert_input in = { .agent = "wren", .health = h,
	    .fail_streak = s->streak, .run_id = NULL,
	    .last_run_ms = 1234, .now_ms = (s->now += advance) };

	return alert_step(&s->t, &s->p, &in, &s->a);
}

static void
test_fail_fail_fail_ok(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	assert_int_equal(sim_tick(&s, 1, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	assert_int_equal(s.a.from, ALERT_OK);
	assert_int_equal(s.a.to, ALERT_FAILING);
	assert_int_equal(s.a.fail_streak, 3);
	assert_string_equal(s.a.run_id, "r4");
	assert_int_equal(s.a.suppressed, 0);
	/* Steady failing: never again. */
	assert_int_equal(sim_tick(&s, 0, 20 * MIN), 0);
	assert_int_equal(sim_tick(&s, 0, 20 * MIN), 0);
	/* Recovery, past the gap. */
	assert_int_equal(sim_tick(&s, 1, 20 * MIN), 1);
	assert_int_equal(s.a.from, ALERT_FAILING);
	assert_int_equal(s.a.to, ALERT_OK);
	/* Steady ok: never again. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(sim_tick(&s, 1, 20 * MIN), 0);
}

static void
test_threshold_is_policy(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	assert_int_equal(s.a.to, ALERT_FAILING);

	/* Two failures then ok at the default threshold: nothing at all. */
	sim_init(&s);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 1, MIN), 0);
}

static void
test_stale(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	assert_int_equal(sim_look(&s, HEALTH_LATE, MIN), 0);
	assert_int_equal(sim_look(&s, HEALTH_STALE, MIN), 1);
	assert_int_equal(s.a.to, ALERT_STALE);
	assert_string_equal(s.a.run_id, "");
	assert_int_equal(sim_look(&s, HEALTH_STALE, 30 * MIN), 0);
	assert_int_equal(sim_look(&s, HEALTH_OK, 30 * MIN), 1);
	assert_int_equal(s.a.from, ALERT_STALE);
	assert_int_equal(s.a.to, ALERT_OK);
	/* A never-run agent is not an alert. */
	sim_init(&s);
	assert_int_equal(sim_look(&s, HEALTH_NEVER, MIN), 0);
}

static void
test_failing_then_stale_stays_failing(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	s.streak = 0;	/* e.g. the streak got reset by a restart */
	assert_int_equal(sim_look(&s, HEALTH_STALE, 30 * MIN), 0);
	assert_int_equal(s.t.cur, ALERT_FAILING);
}

/*
 * The incident of issue 18: paged at 03:14, fixed at 03:16. The recovery
 * goes out at 03:16, not when the gap of the 03:14 alert ends at 03:24;
 * the incident is exactly two messages, each when it happened.
 */
static void
test_recovery_goes_out_at_once(void **state)
{
	struct sim s;
	char *js;
	json_t *o;

	(void)state;
	sim_init(&s);
	s.now = 1795317247000 - 3 * MIN;	/* 2026-11-22T03:11:07Z */
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 1);	/* 03:14:07 */
	assert_int_equal(s.a.to, ALERT_FAILING);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);	/* still down */
	assert_int_equal(sim_tick(&s, 1, MIN), 1);	/* 03:16:07, fixed */
	assert_int_equal(s.a.from, ALERT_FAILING);
	assert_int_equal(s.a.to, ALERT_OK);
	assert_int_equal(s.a.suppressed, 0);
	assert_int_equal(s.a.at_ms, 1795317247000 + 2 * MIN);
	js = alert_json(&s.a, NULL);
	o = json_loads(js, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "at")),
	    "2026-11-22T03:16:07Z");
	assert_string_equal(json_string_value(json_object_get(o, "event")),
	    "recovered");
	json_decref(o);
	free(js);
	/* Steady ok afterwards: nothing more, through and past the gap. */
	for (int i = 0; i < 15; i++)
		assert_int_equal(sim_tick(&s, 1, MIN), 0);
}

/* A stale agent that runs again is a recovery too: at once. */
static void
test_stale_recovery_at_once(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	assert_int_equal(sim_look(&s, HEALTH_STALE, MIN), 1);
	assert_int_equal(sim_look(&s, HEALTH_OK, MIN), 1);
	assert_int_equal(s.a.from, ALERT_STALE);
	assert_int_equal(s.a.to, ALERT_OK);
}

/* The gap folds the flapping after a recovery: held and counted, and the
 * first alert after the gap says where the agent settled and how many
 * changes it stands for. Its own recovery goes out at once again. */
static void
test_flapping_after_recovery_is_folded(void **state)
{
	struct sim s;
	int alerts = 0;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);	/* ok -> failing */
	assert_int_equal(sim_tick(&s, 1, MIN), 1);	/* -> ok, at once */
	/* Flap every minute for 9 minutes, ending failing: all inside the
	 * 10 min gap that began with the recovery. */
	for (int i = 0; i < 9; i++)
		alerts += sim_tick(&s, i % 2 == 1, MIN);
	assert_int_equal(alerts, 0);
	assert_int_equal(s.t.suppressed, 9);
	assert_int_equal(s.t.cur, ALERT_FAILING);
	/* The gap ends 10 min after the recovery; the first step after it
	 * reports the last held change itself, counting the 8 before. */
	assert_int_equal(sim_look(&s, HEALTH_FAILING, MIN), 1);
	assert_int_equal(s.a.from, ALERT_OK);
	assert_int_equal(s.a.to, ALERT_FAILING);
	assert_int_equal(s.a.suppressed, 8);
	assert_int_equal(sim_look(&s, HEALTH_FAILING, MIN), 0);
	/* That failure is alerted, so its recovery is not held by the gap
	 * the failing alert just opened. */
	assert_int_equal(sim_tick(&s, 1, MIN), 1);
	assert_int_equal(s.a.to, ALERT_OK);
	assert_int_equal(s.a.suppressed, 0);
}

static void
test_flap_back_within_gap_carries_count(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);	/* -> failing */
	assert_int_equal(sim_tick(&s, 1, MIN), 1);	/* -> ok, at once */
	assert_int_equal(sim_tick(&s, 0, MIN), 0);	/* -> failing, held */
	/* Back to ok: the receiver was told ok, so this is no recovery of
	 * an alerted failure; held like any flap. */
	assert_int_equal(sim_tick(&s, 1, MIN), 0);
	/* After the gap: it is where the receiver thinks; no alert. */
	assert_int_equal(sim_tick(&s, 1, 10 * MIN), 0);
	assert_int_equal(s.t.pending, 0);
	/* The next real change carries the two hidden flaps. */
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	assert_int_equal(s.a.to, ALERT_FAILING);
	assert_int_equal(s.a.suppressed, 2);
}

static void
test_gap_boundary_exact(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	assert_int_equal(sim_tick(&s, 1, MIN), 1);	/* recovery */
	/* One ms short of the recovery's gap: held; exactly at it: sent. */
	assert_int_equal(sim_tick(&s, 0, 10 * MIN - 1), 0);
	assert_int_equal(sim_look(&s, HEALTH_FAILING, 1), 1);
	assert_int_equal(s.a.to, ALERT_FAILING);
	assert_int_equal(s.a.suppressed, 0);
}

/* A gap of zero (the integration tests' setting) holds nothing. */
static void
test_zero_gap(void **state)
{
	struct sim s;
	int alerts = 0;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	s.p.min_gap_ms = 0;
	for (int i = 0; i < 6; i++)
		alerts += sim_tick(&s, i % 2 == 1, 1);
	assert_int_equal(alerts, 6);
	assert_int_equal(s.a.suppressed, 0);
}

static void
test_ids(void **state)
{
	char a[17], b[17], c[17], d[17], e[17];

	(void)state;
	alert_make_id(a, "wren", ALERT_OK, ALERT_FAILING, "r4");
	alert_make_id(b, "wren", ALERT_OK, ALERT_FAILING, "r4");
	alert_make_id(c, "wren", ALERT_FAILING, ALERT_OK, "r4");
	alert_make_id(d, "wren", ALERT_OK, ALERT_FAILING, "r5");
	alert_make_id(e, "desk", ALERT_OK, ALERT_FAILING, "r4");
	assert_int_equal(strlen(a), 16);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_string_not_equal(a, e);
	/* Field boundaries count. */
	alert_make_id(c, "wre", ALERT_OK, ALERT_FAILING, "nr4");
	assert_string_not_equal(a, c);

	/* Two simulations of the same history give the same ids. */
	struct sim s1, s2;
	sim_init(&s1);
	sim_init(&s2);
	for (int i = 0; i < 3; i++) {
		sim_tick(&s1, 0, MIN);
		sim_tick(&s2, 0, MIN);
	}
	assert_string_equal(s1.a.id, s2.a.id);
}

static void
test_json(void **state)
{
	struct sim s;
	json_t *o;
	json_error_t je;
	char *js;

	(void)state;
	sim_init(&s);
	for (int i = 0; i < 3; i++)
		sim_tick(&s, 0, MIN);
	js = alert_json(&s.a, "newsroom");
	assert_non_null(js);
	o = json_loads(js, 0, &je);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    s.a.id);
	assert_string_equal(json_string_value(json_object_get(o, "agent")),
	    "wren");
	assert_string_equal(json_string_value(json_object_get(o, "event")),
	    "failing");
	assert_string_equal(json_string_value(json_object_get(o, "from")),
	    "ok");
	assert_string_equal(json_string_value(json_object_get(o, "to")),
	    "failing");
	assert_string_equal(json_string_value(json_object_get(o, "crew")),
	    "newsroom");
	assert_string_equal(json_string_value(json_object_get(o, "run")),
	    "r3");
	assert_int_equal(json_integer_value(json_object_get(o,
	    "fail_streak")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "text")),
	    "wren is failing (3 consecutive failures)");
	assert_string_equal(json_string_value(json_object_get(o, "at")),
	    "2023-11-14T22:16:20Z");
	json_decref(o);
	free(js);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail_fail_fail_ok),
		cmocka_unit_test(test_threshold_is_policy),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_failing_then_stale_stays_failing),
		cmocka_unit_test(test_recovery_goes_out_at_once),
		cmocka_unit_test(test_stale_recovery_at_once),
		cmocka_unit_test(test_flapping_after_recovery_is_folded),
		cmocka_unit_test(test_flap_back_within_gap_carries_count),
		cmocka_unit_test(test_gap_boundary_exact),
		cmocka_unit_test(test_zero_gap),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
