/*
 * Unit tests for fire: the calendar member's fire decision (SPEC §5a),
 * exact to the millisecond. Instants are written in UTC with the local
 * time beside them; Europe/Stockholm changes 2026-03-29 01:00Z (02:00 to
 * 02:59 do not exist) and 2026-10-25 01:00Z (02:00 to 02:59 twice).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fire.h"

#include "testcal.h"

struct fx {
	struct cal_zone	*z;
	struct cal_sched s;
	struct fire_in	 in;
	struct fire_plan p;
};

static struct fx *
setup_cron(struct fx *f, const char *expr, const char *zone)
{
	char err[200] = "";

	memset(f, 0, sizeof(*f));
	if ((f->z = cal_zone_open(zone, err, sizeof err)) == NULL)
		fail_msg("%s: %s", zone, err);
	if (cal_sched_parse_cron(&f->s, expr, err, sizeof err) != 0)
		fail_msg("%s: %s", expr, err);
	f->in.sched = &f->s;
	f->in.zone = f->z;
	f->in.catch_up_ms = INT64_MAX;
	f->in.armed_base_ms = FIRE_NONE;
	return f;
}

static void
plan(struct fx *f)
{
	fire_plan(&f->in, &f->p);
}

/* Down for three days with a daily member: the newest fire runs once as
 * catch-up, the two before it are missed; the next is tomorrow's. */
static void
three_days_down(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "30 2 * * *", "Europe/Stockholm");
	f.in.cursor_ms = utc(2026, 1, 10, 1, 30);	/* 02:30 CET, ran */
	f.in.now_ms = utc(2026, 1, 13, 9, 0);		/* 10:00 on the 13th */
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 1, 13, 1, 30));
	assert_int_equal(f.p.run_due_ms, utc(2026, 1, 13, 1, 30));
	assert_int_equal(f.p.run_at_ms, f.in.now_ms);
	assert_true(f.p.catch_up);
	assert_int_equal(f.p.nmissed, 2);
	assert_int_equal(f.p.nmissed_all, 2);
	assert_int_equal(f.p.missed[0], utc(2026, 1, 11, 1, 30));
	assert_int_equal(f.p.missed[1], utc(2026, 1, 12, 1, 30));
	assert_int_equal(f.p.missed_cursor_ms, utc(2026, 1, 12, 1, 30));
	assert_int_equal(f.p.next_due_ms, utc(2026, 1, 14, 1, 30));
	cal_zone_free(f.z);
}

/* :CATCH-UP: 0: none runs, all three are missed. */
static void
catch_up_zero(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "30 2 * * *", "Europe/Stockholm");
	f.in.cursor_ms = utc(2026, 1, 10, 1, 30);
	f.in.now_ms = utc(2026, 1, 13, 9, 0);
	f.in.catch_up_ms = 0;
	plan(&f);
	assert_int_equal(f.p.run_base_ms, FIRE_NONE);
	assert_int_equal(f.p.nmissed, 3);
	assert_int_equal(f.p.missed[2], utc(2026, 1, 13, 1, 30));
	assert_int_equal(f.p.missed_cursor_ms, utc(2026, 1, 13, 1, 30));
	assert_int_equal(f.p.next_due_ms, utc(2026, 1, 14, 1, 30));
	/* Even CATCH-UP 0 runs the fire its timer was armed for. */
	f.in.cursor_ms = utc(2026, 1, 12, 1, 30);
	f.in.now_ms = utc(2026, 1, 13, 1, 30) + 3;
	f.in.armed_base_ms = utc(2026, 1, 13, 1, 30);
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 1, 13, 1, 30));
	assert_false(f.p.catch_up);
	assert_int_equal(f.p.nmissed, 0);
	cal_zone_free(f.z);
}

/* A window: the newest fire runs when it is no older than CATCH-UP. */
static void
catch_up_window(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "30 2 * * *", "Europe/Stockholm");
	f.in.cursor_ms = utc(2026, 1, 12, 1, 30);
	f.in.now_ms = utc(2026, 1, 13, 7, 30);		/* 6 h after */
	f.in.catch_up_ms = 6 * HOUR;
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 1, 13, 1, 30));
	assert_true(f.p.catch_up);
	f.in.now_ms += 1;
	plan(&f);
	assert_int_equal(f.p.run_base_ms, FIRE_NONE);
	assert_int_equal(f.p.nmissed, 1);
	cal_zone_free(f.z);
}

/* BOOT-GRACE holds a catch-up, never an on-time fire. */
static void
boot_grace_holds_catch_up_only(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "0 6 * * *", "UTC");
	f.in.cursor_ms = utc(2026, 5, 1, 6, 0);
	f.in.now_ms = utc(2026, 5, 2, 7, 0);
	f.in.hold_until_ms = f.in.now_ms + MIN;
	plan(&f);
	assert_true(f.p.catch_up);
	assert_int_equal(f.p.run_at_ms, f.in.now_ms + MIN);
	assert_int_equal(f.p.nmissed, 0);
	f.in.now_ms = utc(2026, 5, 3, 6, 0);
	f.in.cursor_ms = utc(2026, 5, 2, 6, 0);
	f.in.hold_until_ms = f.in.now_ms + MIN;
	f.in.armed_base_ms = utc(2026, 5, 3, 6, 0);
	plan(&f);
	assert_false(f.p.catch_up);
	assert_int_equal(f.p.run_at_ms, f.in.now_ms);
	cal_zone_free(f.z);
}

/* Nothing due: the next fire; at or before the cursor nothing fires
 * again, which is what a clock set back sees. */
static void
clock_set_back_fires_nothing_again(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "30 2 * * *", "Europe/Stockholm");
	f.in.cursor_ms = utc(2026, 1, 13, 1, 30);	/* ran at 02:30 */
	f.in.now_ms = utc(2026, 1, 13, 0, 45);		/* set back to 01:45 */
	plan(&f);
	assert_int_equal(f.p.run_base_ms, FIRE_NONE);
	assert_int_equal(f.p.nmissed_all, 0);
	assert_int_equal(f.p.missed_cursor_ms, FIRE_NONE);
	assert_int_equal(f.p.next_due_ms, utc(2026, 1, 14, 1, 30));
	cal_zone_free(f.z);
}

/* Stepped forward a day past the armed fire: it fires once, on time by
 * its timer; a second day ahead makes the first missed. */
static void
clock_set_forward_fires_once(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "30 2 * * *", "Europe/Stockholm");
	f.in.cursor_ms = utc(2026, 1, 13, 1, 30);
	f.in.armed_base_ms = utc(2026, 1, 14, 1, 30);
	f.in.now_ms = utc(2026, 1, 15, 0, 0);		/* 01:00, a day on */
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 1, 14, 1, 30));
	assert_false(f.p.catch_up);
	assert_int_equal(f.p.nmissed_all, 0);
	assert_int_equal(f.p.next_due_ms, utc(2026, 1, 15, 1, 30));
	f.in.now_ms = utc(2026, 1, 16, 0, 0);
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 1, 15, 1, 30));
	assert_true(f.p.catch_up);
	assert_int_equal(f.p.nmissed, 1);
	assert_int_equal(f.p.missed[0], utc(2026, 1, 14, 1, 30));
	cal_zone_free(f.z);
}

/* Daily 02:30 in Stockholm, stepped fire by fire through both 2026
 * changes: one fire a day, at 03:00 CEST on the night 02:30 does not
 * exist, at the first 02:30 on the night it happens twice. */
static void
dst_both_ways(void **state)
{
	static struct fx f;
	static const struct { int mo, d, h, mi; } want[] = {
		{ 3, 28, 1, 30 },	/* 02:30 CET */
		{ 3, 29, 1, 0 },	/* 03:00 CEST: the gap's end */
		{ 3, 30, 0, 30 },	/* 02:30 CEST */
		{ 10, 24, 0, 30 },	/* 02:30 CEST */
		{ 10, 25, 0, 30 },	/* the first 02:30, CEST */
		{ 10, 26, 1, 30 },	/* 02:30 CET */
	};

	(void)state;
	setup_cron(&f, "30 2 * * *", "Europe/Stockholm");
	for (size_t k = 0; k < 2; k++) {
		size_t i0 = k * 3;

		f.in.cursor_ms = utc(2026, want[i0].mo, want[i0].d - 1, 12, 0);
		for (size_t i = i0; i < i0 + 3; i++) {
			int64_t at = utc(2026, want[i].mo, want[i].d, want[i].h,
			    want[i].mi);

			/* A minute early nothing; on time the fire, once. */
			f.in.now_ms = at - MIN;
			plan(&f);
			assert_int_equal(f.p.run_base_ms, FIRE_NONE);
			assert_int_equal(f.p.next_due_ms, at);
			f.in.armed_base_ms = f.p.next_base_ms;
			f.in.now_ms = at + 2;
			plan(&f);
			assert_int_equal(f.p.run_base_ms, at);
			assert_false(f.p.catch_up);
			assert_int_equal(f.p.nmissed_all, 0);
			f.in.cursor_ms = f.p.run_base_ms;
			/* The hour after, the repeated one included: none. */
			f.in.now_ms = at + HOUR + MIN;
			plan(&f);
			assert_int_equal(f.p.run_base_ms, FIRE_NONE);
			assert_int_equal(f.p.nmissed_all, 0);
		}
	}
	cal_zone_free(f.z);
}

/* JITTER moves the due time, never the base the cursor keeps. */
static void
jitter_moves_due(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "0 6 * * *", "UTC");
	f.in.jitter_ms = 90 * SEC;
	f.in.cursor_ms = utc(2026, 5, 1, 6, 0);
	f.in.now_ms = utc(2026, 5, 2, 6, 1);
	plan(&f);
	assert_int_equal(f.p.run_base_ms, FIRE_NONE);
	assert_int_equal(f.p.next_base_ms, utc(2026, 5, 2, 6, 0));
	assert_int_equal(f.p.next_due_ms, utc(2026, 5, 2, 6, 1) + 30 * SEC);
	f.in.armed_base_ms = f.p.next_base_ms;
	f.in.now_ms = f.p.next_due_ms;
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 5, 2, 6, 0));
	assert_int_equal(f.p.run_due_ms, utc(2026, 5, 2, 6, 1) + 30 * SEC);
	assert_int_equal(fire_next(&f.s, f.z, f.in.jitter_ms,
	    f.p.run_base_ms, NULL), utc(2026, 5, 3, 6, 1) + 30 * SEC);
	cal_zone_free(f.z);
}

/* Paused: every due fire is missed, none caught up. */
static void
paused_fires_are_missed(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "0 * * * *", "UTC");
	f.in.cursor_ms = utc(2026, 5, 1, 6, 0);
	f.in.now_ms = utc(2026, 5, 1, 9, 30);
	f.in.paused = 1;
	f.in.armed_base_ms = utc(2026, 5, 1, 9, 0);
	plan(&f);
	assert_int_equal(f.p.run_base_ms, FIRE_NONE);
	assert_int_equal(f.p.nmissed, 3);
	assert_int_equal(f.p.missed_cursor_ms, utc(2026, 5, 1, 9, 0));
	assert_int_equal(f.p.next_due_ms, utc(2026, 5, 1, 10, 0));
	cal_zone_free(f.z);
}

/* A one-shot timestamp fires once; then there is no next. */
static void
one_shot(void **state)
{
	static struct fx f;
	struct cal_org o = { 2026, 12, 5, 6, 0, CAL_REPEAT_NONE, 0, 0 };
	char err[100];

	(void)state;
	setup_cron(&f, "@daily", "UTC");
	assert_int_equal(cal_sched_org(&f.s, &o, err, sizeof err), 0);
	f.in.cursor_ms = utc(2026, 12, 1, 0, 0);
	f.in.now_ms = utc(2026, 12, 9, 0, 0);
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 12, 5, 6, 0));
	assert_true(f.p.catch_up);
	assert_int_equal(f.p.next_due_ms, FIRE_NONE);
	f.in.cursor_ms = f.p.run_base_ms;
	plan(&f);
	assert_int_equal(f.p.run_base_ms, FIRE_NONE);
	assert_int_equal(f.p.next_base_ms, FIRE_NONE);
	cal_zone_free(f.z);
}

/* A minutely line down two days: 2,879 missed, the newest 1,440 kept. */
static void
missed_rows_are_bounded(void **state)
{
	static struct fx f;

	(void)state;
	setup_cron(&f, "* * * * *", "UTC");
	f.in.cursor_ms = utc(2026, 5, 1, 0, 0);
	f.in.now_ms = utc(2026, 5, 3, 0, 0);
	plan(&f);
	assert_int_equal(f.p.run_base_ms, utc(2026, 5, 3, 0, 0));
	assert_int_equal(f.p.nmissed_all, 2 * 1440 - 1);
	assert_int_equal(f.p.nmissed, FIRE_MISSED_MAX);
	assert_int_equal(f.p.missed[FIRE_MISSED_MAX - 1],
	    utc(2026, 5, 2, 23, 59));
	assert_int_equal(f.p.missed[0], utc(2026, 5, 2, 0, 0));
	cal_zone_free(f.z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(three_days_down),
		cmocka_unit_test(catch_up_zero),
		cmocka_unit_test(catch_up_window),
		cmocka_unit_test(boot_grace_holds_catch_up_only),
		cmocka_unit_test(clock_set_back_fires_nothing_again),
		cmocka_unit_test(clock_set_forward_fires_once),
		cmocka_unit_test(dst_both_ways),
		cmocka_unit_test(jitter_moves_due),
		cmocka_unit_test(paused_fires_are_missed),
		cmocka_unit_test(one_shot),
		cmocka_unit_test(missed_rows_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
