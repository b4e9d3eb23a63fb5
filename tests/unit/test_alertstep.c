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

static void
test_flapping_is_rate_limited(void **state)
{
	struct sim s;
	int alerts = 0;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);	/* ok -> failing */
	/* Flap every minute for 9 minutes: all inside the 10 min gap. */
	for (int i = 0; i < 9; i++)
		alerts += sim_tick(&s, i % 2 == 0, MIN);
	assert_int_equal(alerts, 0);
	assert_int_equal(s.t.suppressed, 9);
	/* The 9th flap left it ok; the gap ends at +10 min; the first step
	 * after that reports where it settled, with the count. */
	assert_int_equal(sim_look(&s, HEALTH_OK, MIN), 1);
	assert_int_equal(s.a.from, ALERT_FAILING);
	assert_int_equal(s.a.to, ALERT_OK);
	assert_int_equal(s.a.suppressed, 8);
	assert_int_equal(sim_look(&s, HEALTH_OK, MIN), 0);
}

static void
test_flap_back_within_gap_carries_count(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);	/* -> failing */
	assert_int_equal(sim_tick(&s, 1, MIN), 0);	/* -> ok, held */
	assert_int_equal(sim_tick(&s, 0, MIN), 0);	/* -> failing, held */
	/* After the gap: it is where the receiver thinks; no alert. */
	assert_int_equal(sim_tick(&s, 0, 10 * MIN), 0);
	assert_int_equal(s.t.pending, 0);
	/* The next real change carries the two hidden flaps. */
	assert_int_equal(sim_tick(&s, 1, MIN), 1);
	assert_int_equal(s.a.to, ALERT_OK);
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
	/* One ms short of the gap: held; exactly at it: sent. */
	assert_int_equal(sim_tick(&s, 1, 10 * MIN - 1), 0);
	assert_int_equal(sim_look(&s, HEALTH_OK, 1), 1);
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
		cmocka_unit_test(test_flapping_is_rate_limited),
		cmocka_unit_test(test_flap_back_within_gap_carries_count),
		cmocka_unit_test(test_gap_boundary_exact),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
