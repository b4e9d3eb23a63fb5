/*
 * test_timeline: the dashboard's day. Runs land in their 15-minute slot,
 * a slot shows its newest failure else its newest run, slots leave the
 * window after 24 hours, the sparkline keeps the last durations, and the
 * gate's use is split across the slots a run spans.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeline.h"

#define SLOT	TIMELINE_SLOT_MS
#define T0	1800000000000LL		/* a slot's start */

static char *
dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	return s;
}

static void
add(struct timeline *t, const char *id, enum outcome o, int64_t at,
    int64_t dur, const char *err, int64_t now)
{
	struct timeline_run r = { id, o, at, dur, err, NULL };

	timeline_add(t, &r, now);
}

static void
test_slots_and_shown_run(void **state)
{
	struct timeline t = { 0 };
	char *s;

	(void)state;
	add(&t, "1", OUTCOME_DONE, T0 + 1000, 200, NULL, T0 + 2000);
	add(&t, "2", OUTCOME_FAILED, T0 + 5000, 300, "work: exit status 2",
	    T0 + 6000);
	add(&t, "3", OUTCOME_DONE, T0 + 9000, 100, NULL, T0 + 9500);
	/* The next slot, and a gated tick that ran nothing. */
	add(&t, "4", OUTCOME_GATED, T0 + SLOT + 10, -1, NULL, T0 + SLOT + 20);
	s = dump(timeline_json(&t));
	assert_string_equal(s, "{\"strip\":["
	    "{\"t\":1800000000000,\"n\":{\"done\":2,\"failed\":1},"
	    "\"run\":{\"id\":\"2\",\"outcome\":\"failed\","
	    "\"at\":1800000005000,\"duration_ms\":300,"
	    "\"error\":\"work: exit status 2\"}},"
	    "{\"t\":1800000900000,\"n\":{\"gated\":1},"
	    "\"run\":{\"id\":\"4\",\"outcome\":\"gated\","
	    "\"at\":1800000900010,\"duration_ms\":null,\"error\":null}}],"
	    "\"spark\":[200,300,100],"
	    /* the last runs, newest first, for an agent opened */
	    "\"recent\":["
	    "{\"id\":\"4\",\"trigger\":\"\",\"at\":1800000900010,"
	    "\"outcome\":\"gated\",\"duration_ms\":null,\"error\":null},"
	    "{\"id\":\"3\",\"trigger\":\"\",\"at\":1800000009000,"
	    "\"outcome\":\"done\",\"duration_ms\":100,\"error\":null},"
	    "{\"id\":\"2\",\"trigger\":\"\",\"at\":1800000005000,"
	    "\"outcome\":\"failed\",\"duration_ms\":300,"
	    "\"error\":\"work: exit status 2\"},"
	    "{\"id\":\"1\",\"trigger\":\"\",\"at\":1800000001000,"
	    "\"outcome\":\"done\",\"duration_ms\":200,\"error\":null}]}");
	free(s);
	/* A newer failure replaces the shown one; a newer done does not. */
	add(&t, "5", OUTCOME_KILLED, T0 + 9900, 900, "killed after the 900 "
	    "ms timeout", T0 + 10000);
	add(&t, "6", OUTCOME_DONE, T0 + 9990, 10, NULL, T0 + 10000);
	assert_string_equal(t.v[0].shown_run, "5");
	assert_int_equal(t.v[0].n[OUTCOME_DONE], 3);
	assert_int_equal(t.v[0].n[OUTCOME_KILLED], 1);
	/* A run reported late lands in its own (older) slot. */
	add(&t, "7", OUTCOME_NO_WORK, T0 + 50, 5, NULL, T0 + SLOT + 30);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[0].n[OUTCOME_NO_WORK], 1);
	timeline_release(&t);
	assert_int_equal(t.n, 0);
}

static void
test_window_and_spark(void **state)
{
	struct timeline t = { 0 };
	char err[400];
	int64_t now = T0;

	(void)state;
	/* One run a slot for two days: only the last 96 slots stay. */
	for (int i = 0; i < 2 * TIMELINE_SLOTS; i++) {
		now = T0 + i * SLOT;
		add(&t, "x", OUTCOME_DONE, now + 1, i, NULL, now + 2);
	}
	assert_int_equal(t.n, TIMELINE_SLOTS);
	assert_int_equal(t.v[0].index, (now - (TIMELINE_SLOTS - 1) * SLOT) /
	    SLOT);
	assert_int_equal(t.nspark, TIMELINE_SPARK);
	{
		json_t *j = timeline_json(&t);
		json_t *sp = json_object_get(j, "spark");

		/* Oldest first: the last 48 durations. */
		assert_int_equal(json_array_size(sp), TIMELINE_SPARK);
		assert_int_equal(json_integer_value(json_array_get(sp, 0)),
		    2 * TIMELINE_SLOTS - TIMELINE_SPARK);
		assert_int_equal(json_integer_value(json_array_get(sp,
		    TIMELINE_SPARK - 1)), 2 * TIMELINE_SLOTS - 1);
		json_decref(j);
	}
	/* Too old to show: dropped. */
	add(&t, "old", OUTCOME_FAILED, now - 2 * TIMELINE_WINDOW_MS, 1, NULL,
	    now);
	assert_int_equal(t.n, TIMELINE_SLOTS);
	/* Nothing for a day: everything leaves. */
	assert_int_equal(timeline_trim(&t, now + TIMELINE_WINDOW_MS), 1);
	assert_int_equal(t.n, 0);
	assert_int_equal(timeline_trim(&t, now + TIMELINE_WINDOW_MS), 0);
	/* A long error is cut, at a character boundary. */
	memset(err, 'e', sizeof(err));
	memcpy(err + TIMELINE_ERROR_MAX - 1, "\xc3\xa9", 2);
	err[sizeof(err) - 1] = '\0';
	add(&t, "y", OUTCOME_FAILED, now, 1, err, now);
	assert_int_equal(strlen(t.v[0].shown_error), TIMELINE_ERROR_MAX - 1);
	timeline_release(&t);
}

static void
test_gate(void **state)
{
	struct timeline_gate g;
	char *s;

	(void)state;
	timeline_gate_init(&g);
	/* Two slots for half of the first slot and a quarter of the next. */
	timeline_gate_run(&g, T0 + SLOT / 2, SLOT * 3 / 4, T0 + 2 * SLOT);
	timeline_gate_run(&g, T0 + SLOT / 2, SLOT * 3 / 4, T0 + 2 * SLOT);
	assert_int_equal(timeline_gate_sample(&g, 2, 3, T0 + SLOT + 5), 1);
	assert_int_equal(timeline_gate_sample(&g, 1, 1, T0 + SLOT + 6), 0);
	/* Nothing ran: no slot held. */
	timeline_gate_run(&g, 0, 100, T0 + SLOT);
	timeline_gate_run(&g, T0, 0, T0 + SLOT);
	s = dump(timeline_gate_json(&g, 2, T0 + 2 * SLOT - 1));
	assert_string_equal(s, "{\"slots\":2,\"strip\":["
	    "{\"t\":1800000000000,\"busy_ms\":900000,\"peak_used\":0,"
	    "\"peak_waiting\":0},"
	    "{\"t\":1800000900000,\"busy_ms\":450000,\"peak_used\":2,"
	    "\"peak_waiting\":3}]}");
	free(s);
	/* A day later the first slot's ring entry holds a new one; the
	 * second is the window's oldest. */
	assert_int_equal(timeline_gate_sample(&g, 1, 0, T0 +
	    TIMELINE_WINDOW_MS), 1);
	s = dump(timeline_gate_json(&g, 2, T0 + TIMELINE_WINDOW_MS));
	assert_string_equal(s, "{\"slots\":2,\"strip\":["
	    "{\"t\":1800000900000,\"busy_ms\":450000,\"peak_used\":2,"
	    "\"peak_waiting\":3},"
	    "{\"t\":1800086400000,\"busy_ms\":0,\"peak_used\":1,"
	    "\"peak_waiting\":0}]}");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_and_shown_run),
		cmocka_unit_test(test_window_and_spark),
		cmocka_unit_test(test_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
