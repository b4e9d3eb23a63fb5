/*
 * test_tally: finished ticks become /metrics counters and the day of
 * /_timeline; the seed from history draws the day but moves no counter;
 * every agent of the crew has its series from the first publish; the
 * gauges come from the status; strings in the day pass through redaction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tally.h"
#include "util.h"

#define NOW	1800000000000LL

static struct agent_status
status_of(const char *name)
{
	struct agent_status a = { .name = name, .state = "",
	    .last_run_ms = NOW - 1000, .next_tick_ms = NOW + 59000,
	    .expected_gap_ms = 60000, .last_outcome = OUTCOME_DONE };

	return a;
}

static char *
hide_secret(void *arg, const char *text, size_t len)
{
	const char *p = strstr(text, "hunter2");
	struct sb b = { 0 };

	(void)arg;
	if (p == NULL || (size_t)(p - text) >= len)
		return NULL;
	sb_add(&b, text, (size_t)(p - text));
	sb_adds(&b, "[REDACTED]");
	sb_adds(&b, p + 7);
	return sb_detach(&b);
}

static void
test_counts_and_series(void **state)
{
	struct tally *t = tally_new();
	struct agent_status st[2] = { status_of("desk"), status_of("wren") };
	struct metrics_agent m[2];
	struct tally_run done = { .run_id = "1", .trigger = "schedule",
	    .outcome = OUTCOME_DONE, .scheduled_ms = NOW - 5000,
	    .started_ms = NOW - 4000, .duration_ms = 2000,
	    .tokens_prompt = 100, .tokens_completion = 20, .committed = 1,
	    .in_gate = 1 };
	struct tally_run failed = { .run_id = "2", .trigger = "run-once",
	    .outcome = OUTCOME_FAILED, .scheduled_ms = NOW - 900,
	    .started_ms = NOW - 900, .duration_ms = 30, .tokens_prompt = -1,
	    .tokens_completion = -1, .error = "work: the password is hunter2",
	    .in_gate = 1 };
	struct tally_run gated = { .run_id = "3", .trigger = "catch-up",
	    .outcome = OUTCOME_GATED, .scheduled_ms = NOW - 100,
	    .tokens_prompt = -1, .tokens_completion = -1, .missed = 2 };
	uint64_t v;
	size_t len;
	char *body;

	(void)state;
	/* Before anything: every series of both agents at zero. */
	tally_metrics(t, st, 2, m, NOW, NOW - 60000, 0);
	assert_string_equal(m[1].name, "wren");
	assert_int_equal(m[1].runs[OUTCOME_DONE], 0);
	assert_int_equal(metrics_hist_count(&m[1].duration), 0);
	assert_int_equal(m[0].last_run_ms, NOW - 1000);
	assert_int_equal(m[0].next_run_ms, NOW + 59000);
	assert_int_equal(m[0].health, HEALTH_OK);

	v = tally_version(t);
	tally_tick(t, "desk", &done, NOW);
	tally_tick(t, "desk", &failed, NOW);
	tally_tick(t, "desk", &gated, NOW);
	assert_true(tally_version(t) > v);
	tally_metrics(t, st, 2, m, NOW, NOW - 60000, 0);
	assert_int_equal(m[0].runs[OUTCOME_DONE], 1);
	assert_int_equal(m[0].runs[OUTCOME_FAILED], 1);
	assert_int_equal(m[0].runs[OUTCOME_GATED], 1);
	assert_int_equal(m[0].ticks[METRICS_TRIGGER_SCHEDULE], 1);
	assert_int_equal(m[0].ticks[METRICS_TRIGGER_RUN_ONCE], 1);
	assert_int_equal(m[0].ticks[METRICS_TRIGGER_CATCH_UP], 1);
	/* Only runs that ran are timed: 2 s and 30 ms; 1 s and 0 late. */
	assert_int_equal(metrics_hist_count(&m[0].duration), 2);
	assert_int_equal(m[0].duration.counts[1], 1);	/* <= 50 ms */
	assert_int_equal(m[0].duration.counts[4], 1);	/* <= 5 s */
	assert_true(m[0].lateness.sum > 0.999 && m[0].lateness.sum < 1.001);
	assert_int_equal(m[0].commits, 1);
	assert_int_equal(m[0].missed_fires, 2);
	assert_int_equal(m[0].tokens_prompt, 100);
	assert_int_equal(m[0].tokens_completion, 20);
	assert_int_equal(m[1].runs[OUTCOME_DONE], 0);

	/* The day: desk's slot shows the failure, redacted; wren has an
	 * empty strip; the gate was held 2.03 s of the slot. */
	body = tally_timeline(t, st, 2, 2, NOW, hide_secret, NULL, &len);
	assert_int_equal(len, strlen(body));
	assert_non_null(strstr(body, "\"slot_ms\":900000,\"slots\":96,"));
	assert_non_null(strstr(body, "\"desk\":{\"strip\":[{\"t\":"
	    "1799999100000,\"n\":{\"done\":1,\"failed\":1,\"gated\":1},"
	    "\"run\":{\"id\":\"2\",\"outcome\":\"failed\",\"at\":1799999999100,"
	    "\"duration_ms\":30,\"error\":\"work: the password is "
	    "[REDACTED]\"}}],\"spark\":[2000,30],\"recent\":[{\"id\":"));
	assert_null(strstr(body, "hunter2"));
	assert_non_null(strstr(body, "\"wren\":{\"strip\":[],\"spark\":[],"
	    "\"recent\":[]}"));
	assert_non_null(strstr(body, "\"gate\":{\"slots\":2,\"strip\":[{\"t\":"
	    "1799999100000,\"busy_ms\":2030,"));
	free(body);
	/* No gate (a singleton): null. */
	body = tally_timeline(t, st, 2, 0, NOW, NULL, NULL, &len);
	assert_non_null(strstr(body, "\"gate\":null}"));
	free(body);
	tally_free(t);
}

static void
test_seed_draws_only(void **state)
{
	struct tally *t = tally_new();
	struct agent_status st = status_of("desk");
	struct metrics_agent m;
	struct timeline_run r = { "9", OUTCOME_KILLED, NOW - 3600000, 900000,
	    "killed after the 900000 ms timeout", NULL };
	size_t len;
	char *body;

	(void)state;
	tally_seed(t, "desk", &r, NOW - 3600000, 1, NOW);
	tally_metrics(t, &st, 1, &m, NOW, NOW, 0);
	assert_int_equal(m.runs[OUTCOME_KILLED], 0);
	body = tally_timeline(t, &st, 1, 1, NOW, NULL, NULL, &len);
	assert_non_null(strstr(body, "\"outcome\":\"killed\""));
	/* The run held the one slot for the whole of its slot. */
	assert_non_null(strstr(body, "\"busy_ms\":900000,"));
	free(body);
	/* A day later the seeded run has left the window. */
	body = tally_timeline(t, &st, 1, 1, NOW + 86400000, NULL, NULL,
	    &len);
	assert_non_null(strstr(body, "\"desk\":{\"strip\":[],\"spark\":"
	    "[900000],\"recent\":[{\"id\":\"9\","));
	free(body);
	tally_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_series),
		cmocka_unit_test(test_seed_draws_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
