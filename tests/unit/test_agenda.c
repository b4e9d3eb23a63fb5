/*
 * Unit tests for agenda: the coming fires of calendar and interval
 * members merged in time order, the local times with their offsets,
 * pauses, the bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "agenda.h"

#include "testcal.h"

static const char *
field(json_t *arr, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(arr, i), key));
}

static int64_t
at(json_t *arr, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(arr, i),
	    "at"));
}

/* A daily 02:30 in Stockholm through the spring change, an 8h interval
 * member and a paused one, merged in time order. */
static void
merged_in_order(void **state)
{
	struct cal_zone *sto = zone("Europe/Stockholm"), *u = zone("UTC");
	struct cal_sched s;
	char err[100];
	int64_t now = utc(2026, 3, 28, 12, 0);
	struct agenda_src src[3];
	json_t *a;

	(void)state;
	assert_int_equal(cal_sched_parse_cron(&s, "30 2 * * *", err,
	    sizeof err), 0);
	memset(src, 0, sizeof src);
	src[0] = (struct agenda_src){ .name = "night",
	    .schedule = "30 2 * * *", .calendar = 1, .sched = &s,
	    .zone = sto, .cursor_ms = now - HOUR };
	src[1] = (struct agenda_src){ .name = "slow", .schedule = "8h",
	    .next_ms = now + HOUR, .base_ms = 8 * HOUR };
	src[2] = (struct agenda_src){ .name = "held", .schedule = "8h",
	    .next_ms = now + 2 * HOUR, .base_ms = 8 * HOUR, .paused = 1,
	    .paused_until_ms = now + 5 * HOUR };
	a = agenda_json(src, 3, u, now, now + 24 * HOUR);
	assert_int_equal(json_array_size(a), 7);
	assert_string_equal(field(a, 0, "agent"), "slow");
	assert_int_equal(at(a, 0), now + HOUR);
	assert_string_equal(field(a, 0, "kind"), "interval");
	assert_string_equal(field(a, 0, "local"), "2026-03-28T13:00:00+00:00");
	assert_string_equal(field(a, 1, "agent"), "held");
	assert_true(json_is_true(json_object_get(json_array_get(a, 1),
	    "paused")));
	assert_string_equal(field(a, 2, "agent"), "slow");	/* 20:00 */
	assert_string_equal(field(a, 3, "agent"), "held");	/* 21:00 */
	assert_true(json_is_false(json_object_get(json_array_get(a, 3),
	    "paused")));
	/* 02:30 does not exist on the 29th: 03:00 CEST, 01:00 UTC. */
	assert_string_equal(field(a, 4, "agent"), "night");
	assert_int_equal(at(a, 4), utc(2026, 3, 29, 1, 0));
	assert_string_equal(field(a, 4, "local"), "2026-03-29T03:00:00+02:00");
	assert_string_equal(field(a, 4, "kind"), "calendar");
	assert_string_equal(field(a, 4, "schedule"), "30 2 * * *");
	assert_string_equal(field(a, 5, "agent"), "slow");	/* 04:00 */
	assert_string_equal(field(a, 6, "agent"), "held");	/* 05:00 */
	for (size_t i = 1; i < json_array_size(a); i++)
		assert_true(at(a, i - 1) <= at(a, i));
	json_decref(a);
	cal_zone_free(sto);
	cal_zone_free(u);
}

/* Equal times keep manifest order; the bound keeps the earliest. */
static void
ties_and_bound(void **state)
{
	static struct agenda_src src[3];
	struct cal_zone *u = zone("UTC");
	struct cal_sched s;
	char err[100], local[48];
	int64_t now = utc(2026, 5, 1, 0, 0);
	json_t *a;

	(void)state;
	assert_int_equal(cal_sched_parse_cron(&s, "* * * * *", err,
	    sizeof err), 0);
	for (size_t i = 0; i < 3; i++)
		src[i] = (struct agenda_src){ .name = i == 0 ? "c" : i == 1 ?
		    "a" : "b", .schedule = "* * * * *", .calendar = 1,
		    .sched = &s, .zone = u, .cursor_ms = now };
	a = agenda_json(src, 3, u, now, now + 30 * 24 * HOUR);
	assert_int_equal(json_array_size(a), AGENDA_MAX);
	assert_string_equal(field(a, 0, "agent"), "c");
	assert_string_equal(field(a, 1, "agent"), "a");
	assert_string_equal(field(a, 2, "agent"), "b");
	assert_int_equal(at(a, 0), now + MIN);
	assert_int_equal(at(a, AGENDA_MAX - 1), now + (AGENDA_MAX / 3 + 1) *
	    MIN);
	json_decref(a);
	agenda_local(u, utc(2026, 5, 1, 0, 0), local, sizeof local);
	assert_string_equal(local, "2026-05-01T00:00:00+00:00");
	cal_zone_free(u);
	u = zone("America/St_Johns");		/* -2:30 in summer */
	agenda_local(u, utc(2026, 7, 1, 12, 0), local, sizeof local);
	assert_string_equal(local, "2026-07-01T09:30:00-02:30");
	cal_zone_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merged_in_order),
		cmocka_unit_test(ties_and_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
