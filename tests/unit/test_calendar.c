/*
 * Unit tests for calendar: next fires exact to the millisecond across
 * real transitions (the zone is always named, never the machine's), the
 * org repeaters, zones, cal_describe and cal_jitter_ms.
 *
 * Expected instants are written in UTC through timegm(), with the local
 * time they stand for beside them; the transitions were read from the
 * tz database (Python's zoneinfo) independently of ICU:
 *   Europe/Stockholm 2026-03-29 01:00Z (CET+1 -> CEST+2, 02:00-02:59 do
 *     not exist) and 2026-10-25 01:00Z (CEST -> CET, 02:00-02:59 twice);
 *   America/New_York 2026-03-08 07:00Z (02:00-02:59 do not exist) and
 *     2026-11-01 06:00Z (01:00-01:59 twice);
 *   Australia/Lord_Howe 2026-04-04 15:00Z (+11 -> +10:30, 01:30-01:59
 *     twice) and 2026-10-03 15:30Z (+10:30 -> +11, 02:00-02:29 do not
 *     exist);
 *   Pacific/Apia 2011-12-30 10:00Z (-10 -> +14: 2011-12-30 does not
 *     exist);
 *   Asia/Kolkata +5:30 all year.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "calendar.h"

#include "testcal.h"

static struct cal_sched
cron(const char *expr)
{
	struct cal_sched s;
	char err[256] = "";

	if (cal_sched_parse_cron(&s, expr, err, sizeof err) != 0)
		fail_msg("'%s': %s", expr, err);
	return s;
}

static struct cal_sched
org(int y, int mo, int d, int h, int mi, enum cal_repeat rep, int value,
    char unit)
{
	struct cal_org o = { .year = y, .month = mo, .day = d, .hour = h,
	    .minute = mi, .repeat = rep, .value = value, .unit = unit };
	struct cal_sched s;
	char err[256] = "";

	if (cal_sched_org(&s, &o, err, sizeof err) != 0)
		fail_msg("org timestamp: %s", err);
	return s;
}

static void
print_ms(const char *label, int64_t t)
{
	time_t s = (time_t)(t / 1000);
	struct tm tm;
	char buf[40];

	if (t == CAL_NONE) {
		fprintf(stderr, "%s CAL_NONE\n", label);
		return;
	}
	gmtime_r(&s, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s (+%lld ms)\n", label, buf,
	    (long long)(t % 1000));
}

/* The fires after `after`, one after the other, are exactly want[]. */
static void
expect_fires(const struct cal_sched *s, struct cal_zone *z, int64_t after,
    const int64_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t got = cal_next(s, z, after);

		if (got != want[i]) {
			fprintf(stderr, "fire %zu:\n", i);
			print_ms("  after", after);
			print_ms("  got  ", got);
			print_ms("  want ", want[i]);
			fail();
		}
		after = got;
	}
}

#define FIRES(s, z, after, ...) do {					\
	const int64_t want_[] = { __VA_ARGS__ };			\
	expect_fires((s), (z), (after), want_,				\
	    sizeof want_ / sizeof want_[0]);				\
} while (0)

/* ---- Europe/Stockholm ---- */

static void
stockholm_spring_gap(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = cron("30 2 * * *");

	(void)state;
	/* 02:30 CET on the 28th; on the 29th 02:30 does not exist, so the
	 * fire is the first instant after the gap, 03:00 CEST; then 02:30
	 * CEST on the 30th. */
	FIRES(&s, z, utc(2026, 3, 27, 12, 0),
	    utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0),
	    utc(2026, 3, 30, 0, 30));
	/* 02:00, 02:30 (both in the gap) and 03:00 fall on one instant:
	 * one fire, then 03:30 CEST. */
	s = cron("0,30 2-3 * * *");
	FIRES(&s, z, utc(2026, 3, 28, 3, 0),
	    utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 1, 30),
	    utc(2026, 3, 30, 0, 0));
	/* Every 15 minutes: 01:45 CET, then 03:00 CEST for all of the gap. */
	s = cron("*/15 * * * *");
	FIRES(&s, z, utc(2026, 3, 29, 0, 30),
	    utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1, 0),
	    utc(2026, 3, 29, 1, 15));
	/* Hourly: 01:00 CET, 03:00 CEST (02:00 folded onto it), 04:00. */
	s = cron("@hourly");
	FIRES(&s, z, utc(2026, 3, 28, 23, 30),
	    utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0),
	    utc(2026, 3, 29, 2, 0));
	cal_zone_free(z);
}

static void
stockholm_fall_repeat(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = cron("30 2 * * *");

	(void)state;
	/* 02:30 happens at 00:30Z (CEST) and 01:30Z (CET): only the first
	 * fires; the next is 02:30 CET on the 26th. */
	FIRES(&s, z, utc(2026, 10, 24, 12, 0),
	    utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30));
	/* Asked during the second 02:00-02:59 (02:10 CET): not again. */
	FIRES(&s, z, utc(2026, 10, 25, 1, 10), utc(2026, 10, 26, 1, 30));
	/* Hourly: 02:00 CEST, then 03:00 CET two hours later. */
	s = cron("0 * * * *");
	FIRES(&s, z, utc(2026, 10, 24, 23, 30),
	    utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0),
	    utc(2026, 10, 25, 3, 0));
	/* Every 15 minutes: 02:45 CEST, then 03:00 CET. */
	s = cron("*/15 * * * *");
	FIRES(&s, z, utc(2026, 10, 25, 0, 40),
	    utc(2026, 10, 25, 0, 45), utc(2026, 10, 25, 2, 0),
	    utc(2026, 10, 25, 2, 15));
	cal_zone_free(z);
}

/* The fires of expr in [from, end), into walked[]; how many. */
static int64_t walked[40000];

static size_t
walk(const char *expr, struct cal_zone *z, int64_t from, int64_t end)
{
	struct cal_sched s = cron(expr);
	int64_t t = from;
	size_t n = 0;

	while ((t = cal_next(&s, z, t)) < end) {
		assert_true(n < sizeof walked / sizeof walked[0]);
		walked[n++] = t;
	}
	return n;
}

/* How many steps between walked fires are not `step`; each of those
 * must be `odd`. */
static long
odd_steps(size_t n, int64_t step, int64_t odd)
{
	long odds = 0;

	for (size_t i = 1; i < n; i++) {
		int64_t d = walked[i] - walked[i - 1];

		if (d == step)
			continue;
		if (d != odd) {
			print_ms("unexpected step after", walked[i - 1]);
			print_ms("to", walked[i]);
			fail();
		}
		odds++;
	}
	return odds;
}

/* Local minute of the day of an instant. */
static int
local_mod(struct cal_zone *z, int64_t t)
{
	int64_t l = (t + cal_zone_offset_ms(z, t)) / MIN;

	return (int)(l % 1440);
}

static void
stockholm_year_nothing_lost_or_doubled(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	int64_t from = utc(2025, 12, 31, 23, 0) - 1;
	int64_t end = utc(2026, 12, 31, 23, 0);
	size_t n;
	int at_three = 0;

	(void)state;
	/* 35,040 quarter hours less the four that fold onto 03:00 in
	 * spring; 15 minutes apart in real time, but for 02:45 CEST to
	 * 03:00 CET in autumn (75 minutes: the repeated hour fires once). */
	n = walk("*/15 * * * *", z, from, end);
	assert_int_equal(n, 35036);
	assert_int_equal(odd_steps(n, 15 * MIN, 75 * MIN), 1);
	/* 8,760 hours less the spring one; one two-hour step in autumn. */
	n = walk("0 * * * *", z, from, end);
	assert_int_equal(n, 8759);
	assert_int_equal(odd_steps(n, HOUR, 2 * HOUR), 1);
	/* A daily 02:30: every day once, at 02:30 local but on 29 March,
	 * when 02:30 does not exist and it fires at 03:00. */
	n = walk("30 2 * * *", z, from, end);
	assert_int_equal(n, 365);
	for (size_t i = 0; i < n; i++) {
		int mod = local_mod(z, walked[i]);

		if (mod == 3 * 60) {
			assert_int_equal(walked[i], utc(2026, 3, 29, 1, 0));
			at_three++;
		} else
			assert_int_equal(mod, 2 * 60 + 30);
	}
	assert_int_equal(at_three, 1);
	cal_zone_free(z);
}

static void
fresh_zone_agrees_with_warm_one(void **state)
{
	struct cal_zone *warm = zone("Europe/Stockholm");
	struct cal_sched s = cron("0 * * * *");
	int64_t t = utc(2025, 12, 31, 23, 0) - 1;

	(void)state;
	/* The offset cache must never change an answer: every hour of the
	 * year again, each from a zone that has learnt nothing yet. */
	for (int i = 0; i < 8759; i++) {
		struct cal_zone *cold = zone("Europe/Stockholm");
		int64_t a = cal_next(&s, warm, t), b = cal_next(&s, cold, t);

		cal_zone_free(cold);
		if (a != b) {
			print_ms("warm", a);
			print_ms("cold", b);
			fail();
		}
		t = a;
	}
	cal_zone_free(warm);
}

/* ---- other zones ---- */

static void
new_york_2026(void **state)
{
	struct cal_zone *z = zone("America/New_York");
	struct cal_sched s = cron("30 2 * * *");

	(void)state;
	/* 02:30 EST on the 7th, 03:00 EDT on the 8th, 02:30 EDT on the 9th. */
	FIRES(&s, z, utc(2026, 3, 7, 0, 0),
	    utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0),
	    utc(2026, 3, 9, 6, 30));
	/* 01:30 on 1 November: 01:30 EDT only, then 01:30 EST on the 2nd. */
	s = cron("30 1 * * *");
	FIRES(&s, z, utc(2026, 10, 31, 12, 0),
	    utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30));
	/* Weekdays at 06:00: Friday 6 March EST, then Monday 9 March EDT. */
	s = cron("0 6 * * mon-fri");
	FIRES(&s, z, utc(2026, 3, 6, 0, 0),
	    utc(2026, 3, 6, 11, 0), utc(2026, 3, 9, 10, 0),
	    utc(2026, 3, 10, 10, 0));
	cal_zone_free(z);
}

static void
lord_howe_half_hour(void **state)
{
	struct cal_zone *z = zone("Australia/Lord_Howe");
	struct cal_sched s = cron("45 1 * * *");

	(void)state;
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 1, 15, 0, 0)),
	    11 * HOUR);
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 6, 15, 0, 0)),
	    10 * HOUR + 30 * MIN);
	/* 01:45 on 5 April happens at +11 (14:45Z) and at +10:30 (15:15Z):
	 * the first only, then 01:45 +10:30 on the 6th. */
	FIRES(&s, z, utc(2026, 4, 4, 0, 0),
	    utc(2026, 4, 4, 14, 45), utc(2026, 4, 5, 15, 15));
	/* 02:15 on 4 October does not exist (02:00 -> 02:30): 02:30 +11. */
	s = cron("15 2 * * *");
	FIRES(&s, z, utc(2026, 10, 3, 0, 0),
	    utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15));
	/* Quarter hours: 01:45 +10:30, then 02:00 and 02:15 (the gap) and
	 * 02:30 on one instant, then 02:45 +11. */
	s = cron("*/15 * * * *");
	FIRES(&s, z, utc(2026, 10, 3, 15, 0),
	    utc(2026, 10, 3, 15, 15), utc(2026, 10, 3, 15, 30),
	    utc(2026, 10, 3, 15, 45));
	cal_zone_free(z);
}

static void
kolkata_no_dst(void **state)
{
	struct cal_zone *z = zone("Asia/Kolkata");
	struct cal_sched s = cron("30 2 * * *");

	(void)state;
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 3, 29, 1, 0)),
	    5 * HOUR + 30 * MIN);
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 10, 25, 1, 0)),
	    5 * HOUR + 30 * MIN);
	/* 02:30 IST is 21:00Z the day before, on the days Europe moves. */
	FIRES(&s, z, utc(2026, 3, 28, 0, 0),
	    utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 21, 0));
	FIRES(&s, z, utc(2026, 10, 24, 0, 0),
	    utc(2026, 10, 24, 21, 0), utc(2026, 10, 25, 21, 0));
	assert_int_equal(walk("30 2 * * *", z, utc(2025, 12, 31, 23, 0),
	    utc(2026, 12, 31, 23, 0)), 365);
	assert_int_equal(odd_steps(365, DAY, DAY), 0);
	cal_zone_free(z);
}

static void
apia_skipped_day(void **state)
{
	struct cal_zone *z = zone("Pacific/Apia");
	struct cal_sched s = cron("0 6 * * *");

	(void)state;
	/*
	 * Samoa went from 2011-12-29 23:59:59 -10 to 2011-12-31 00:00 +14.
	 * 06:00 on the 30th does not exist, so by the rule it fires at the
	 * first instant after the gap, 00:00 on the 31st (10:00Z); the
	 * 31st's own 06:00 follows six hours later. One fire per calendar
	 * day: none lost, none doubled.
	 */
	FIRES(&s, z, utc(2011, 12, 28, 12, 0),
	    utc(2011, 12, 28, 16, 0), utc(2011, 12, 29, 16, 0),
	    utc(2011, 12, 30, 10, 0), utc(2011, 12, 30, 16, 0),
	    utc(2011, 12, 31, 16, 0));
	/* A daily 00:00: the 30th's (in the gap) and the 31st's are the
	 * same instant, so that instant fires once. */
	s = cron("@daily");
	FIRES(&s, z, utc(2011, 12, 28, 12, 0),
	    utc(2011, 12, 29, 10, 0), utc(2011, 12, 30, 10, 0),
	    utc(2011, 12, 31, 10, 0));
	cal_zone_free(z);
}

/* ---- cron's calendar rules ---- */

static void
month_ends(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = cron("0 9 31 * *");

	(void)state;
	/* Only months with a 31st; 09:00 CET is 08:00Z, CEST 07:00Z. */
	FIRES(&s, z, utc(2026, 1, 1, 0, 0),
	    utc(2026, 1, 31, 8, 0), utc(2026, 3, 31, 7, 0),
	    utc(2026, 5, 31, 7, 0), utc(2026, 7, 31, 7, 0),
	    utc(2026, 8, 31, 7, 0), utc(2026, 10, 31, 8, 0),
	    utc(2026, 12, 31, 8, 0), utc(2027, 1, 31, 8, 0));
	cal_zone_free(z);
}

static void
leap_days(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = cron("0 0 29 2 *");

	(void)state;
	/* 00:00 CET on 29 February is 23:00Z on the 28th. */
	FIRES(&s, z, utc(2026, 1, 1, 0, 0),
	    utc(2028, 2, 28, 23, 0), utc(2032, 2, 28, 23, 0));
	/* 2100 is not a leap year: eight years from 2096 to 2104. */
	FIRES(&s, z, utc(2096, 3, 1, 0, 0), utc(2104, 2, 28, 23, 0));
	cal_zone_free(z);
}

static void
yearly_across_leap_year(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = cron("@yearly");

	(void)state;
	FIRES(&s, z, utc(2027, 6, 1, 0, 0),
	    utc(2027, 12, 31, 23, 0), utc(2028, 12, 31, 23, 0),
	    utc(2029, 12, 31, 23, 0));
	/* 2028 has 366 days between its New Year fires. */
	assert_int_equal(utc(2028, 12, 31, 23, 0) - utc(2027, 12, 31, 23, 0),
	    366 * DAY);
	cal_zone_free(z);
}

static void
vixie_either_day(void **state)
{
	struct cal_zone *z = zone("UTC");
	struct cal_sched s = cron("0 12 13 * 5");

	(void)state;
	/* The 13th or any Friday; Friday 13 March fires once. */
	FIRES(&s, z, utc(2026, 2, 28, 0, 0),
	    utc(2026, 3, 6, 12, 0), utc(2026, 3, 13, 12, 0),
	    utc(2026, 3, 20, 12, 0), utc(2026, 3, 27, 12, 0),
	    utc(2026, 4, 3, 12, 0), utc(2026, 4, 10, 12, 0),
	    utc(2026, 4, 13, 12, 0), utc(2026, 4, 17, 12, 0));
	/* `*` first in day-of-month: both must match (odd Fridays). */
	s = cron("0 12 */2 * 5");
	FIRES(&s, z, utc(2026, 2, 28, 0, 0),
	    utc(2026, 3, 13, 12, 0), utc(2026, 3, 27, 12, 0),
	    utc(2026, 4, 3, 12, 0), utc(2026, 4, 17, 12, 0));
	cal_zone_free(z);
}

static void
strictly_after_to_the_ms(void **state)
{
	struct cal_zone *z = zone("Asia/Kolkata");
	struct cal_sched s = cron("0 6 * * *");
	int64_t fire = utc(2026, 5, 1, 0, 30);

	(void)state;
	assert_int_equal(cal_next(&s, z, fire - 1), fire);
	assert_int_equal(cal_next(&s, z, fire), fire + DAY);
	assert_int_equal(cal_next(&s, z, fire + 1), fire + DAY);
	assert_int_equal(cal_next(&s, z, fire - DAY), fire);
	/* Nothing after the year 9999. */
	assert_true(cal_next(&s, z, utc(9999, 12, 31, 18, 30)) == CAL_NONE);
	assert_true(cal_next(&s, z, INT64_MAX) == CAL_NONE);
	cal_zone_free(z);
}

/* ---- org timestamps ---- */

static void
org_once(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = org(2026, 12, 5, 6, 0, CAL_REPEAT_NONE, 0, 0);
	int64_t fire = utc(2026, 12, 5, 5, 0);

	(void)state;
	assert_int_equal(cal_next(&s, z, fire - DAY), fire);
	assert_int_equal(cal_next(&s, z, fire - 1), fire);
	assert_true(cal_next(&s, z, fire) == CAL_NONE);
	assert_true(cal_next(&s, z, fire + DAY) == CAL_NONE);
	/* A date without a time means 00:00 (CET: 23:00Z the day before). */
	s = org(2026, 12, 5, -1, 0, CAL_REPEAT_NONE, 0, 0);
	assert_int_equal(cal_next(&s, z, 0), utc(2026, 12, 4, 23, 0));
	/* A one-shot inside the spring gap fires at its end. */
	s = org(2026, 3, 29, 2, 30, CAL_REPEAT_NONE, 0, 0);
	assert_int_equal(cal_next(&s, z, 0), utc(2026, 3, 29, 1, 0));
	cal_zone_free(z);
}

static void
org_days_keep_local_time(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = org(2026, 3, 27, 6, 0, CAL_REPEAT_CUMULATE, 1, 'd');

	(void)state;
	/* 06:00 local every day, whatever the offset: no drift. */
	FIRES(&s, z, 0,
	    utc(2026, 3, 27, 5, 0), utc(2026, 3, 28, 5, 0),
	    utc(2026, 3, 29, 4, 0), utc(2026, 3, 30, 4, 0));
	/* Far from the timestamp, still on the grid. */
	FIRES(&s, z, utc(2026, 10, 24, 12, 0),
	    utc(2026, 10, 25, 5, 0), utc(2026, 10, 26, 5, 0));
	/* 02:30 daily: the gap's end on the 29th, then 02:30 again. */
	s = org(2026, 3, 28, 2, 30, CAL_REPEAT_CUMULATE, 1, 'd');
	FIRES(&s, z, 0,
	    utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0),
	    utc(2026, 3, 30, 0, 30));
	/* +2d from a Saturday; `++` fires on the same grid as `+`. */
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CUMULATE, 2, 'd');
	FIRES(&s, z, utc(2026, 12, 6, 0, 0),
	    utc(2026, 12, 7, 5, 0), utc(2026, 12, 9, 5, 0));
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CATCH_UP, 1, 'w');
	FIRES(&s, z, utc(2026, 1, 1, 0, 0),
	    utc(2026, 12, 5, 5, 0), utc(2026, 12, 12, 5, 0),
	    utc(2026, 12, 19, 5, 0));
	FIRES(&s, z, utc(2027, 4, 1, 0, 0), utc(2027, 4, 3, 4, 0));
	cal_zone_free(z);
}

static void
org_months_and_years_clamp(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = org(2026, 1, 31, 9, 0, CAL_REPEAT_CUMULATE, 1, 'm');

	(void)state;
	/* Jan 31 + 1m: the month's last day, each counted from Jan 31. */
	FIRES(&s, z, 0,
	    utc(2026, 1, 31, 8, 0), utc(2026, 2, 28, 8, 0),
	    utc(2026, 3, 31, 7, 0), utc(2026, 4, 30, 7, 0),
	    utc(2026, 5, 31, 7, 0));
	FIRES(&s, z, utc(2027, 2, 1, 0, 0), utc(2027, 2, 28, 8, 0));
	FIRES(&s, z, utc(2028, 2, 1, 0, 0), utc(2028, 2, 29, 8, 0));
	/* +3m from 2026-11-30: Feb 28, May 30, Aug 30, Nov 30. */
	s = org(2026, 11, 30, 12, 0, CAL_REPEAT_CUMULATE, 3, 'm');
	FIRES(&s, z, utc(2026, 11, 30, 11, 0),
	    utc(2027, 2, 28, 11, 0), utc(2027, 5, 30, 10, 0),
	    utc(2027, 8, 30, 10, 0), utc(2027, 11, 30, 11, 0));
	/* Feb 29 + 1y: Feb 28 in common years, Feb 29 in 2032. */
	s = org(2028, 2, 29, -1, 0, CAL_REPEAT_CUMULATE, 1, 'y');
	FIRES(&s, z, 0,
	    utc(2028, 2, 28, 23, 0), utc(2029, 2, 27, 23, 0),
	    utc(2030, 2, 27, 23, 0), utc(2031, 2, 27, 23, 0),
	    utc(2032, 2, 28, 23, 0));
	cal_zone_free(z);
}

static void
org_hours_are_wall_clock(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = org(2026, 3, 29, 0, 0, CAL_REPEAT_CUMULATE, 1, 'h');

	(void)state;
	/* 00:00, 01:00 CET; 02:00 (gap) and 03:00 CEST on one instant. */
	FIRES(&s, z, 0,
	    utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 0, 0),
	    utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0));
	/* Autumn: 02:00 CEST, then 03:00 CET; the repeat is not fired. */
	s = org(2026, 10, 25, 0, 0, CAL_REPEAT_CUMULATE, 1, 'h');
	FIRES(&s, z, 0,
	    utc(2026, 10, 24, 22, 0), utc(2026, 10, 24, 23, 0),
	    utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0),
	    utc(2026, 10, 25, 3, 0));
	/* +3h from New Year, half a year on: 03:00 CEST (01:00Z). */
	s = org(2026, 1, 1, 0, 0, CAL_REPEAT_CUMULATE, 3, 'h');
	FIRES(&s, z, utc(2026, 7, 1, 0, 0),
	    utc(2026, 7, 1, 1, 0), utc(2026, 7, 1, 4, 0));
	cal_zone_free(z);
}

static void
org_restart_counts_from_last_fire(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");
	struct cal_sched s = org(2026, 12, 5, 6, 0, CAL_REPEAT_RESTART, 1, 'd');

	(void)state;
	/* Before the timestamp: the timestamp. */
	assert_int_equal(cal_next(&s, z, utc(2026, 12, 1, 0, 0)),
	    utc(2026, 12, 5, 5, 0));
	/* After it: a day after the last fire's date, at 06:00. */
	assert_int_equal(cal_next(&s, z, utc(2026, 12, 5, 5, 0)),
	    utc(2026, 12, 6, 5, 0));
	assert_int_equal(cal_next(&s, z, utc(2026, 12, 9, 10, 17)),
	    utc(2026, 12, 10, 5, 0));
	/* A month after 31 January is the last of February. */
	s = org(2026, 1, 10, 9, 0, CAL_REPEAT_RESTART, 1, 'm');
	assert_int_equal(cal_next(&s, z, utc(2026, 1, 31, 12, 0)),
	    utc(2026, 2, 28, 8, 0));
	/* Hours count from the last fire's local time, to the minute. */
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_RESTART, 2, 'h');
	assert_int_equal(cal_next(&s, z, utc(2026, 12, 6, 10, 17) + 30000),
	    utc(2026, 12, 6, 12, 17));
	/* A week, date only: 00:00 seven days after the last fire's date. */
	s = org(2026, 12, 5, -1, 0, CAL_REPEAT_RESTART, 1, 'w');
	assert_int_equal(cal_next(&s, z, utc(2026, 12, 10, 15, 0)),
	    utc(2026, 12, 16, 23, 0));
	/* Years. */
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_RESTART, 1, 'y');
	assert_int_equal(cal_next(&s, z, utc(2027, 3, 2, 12, 0)),
	    utc(2028, 3, 2, 5, 0));
	cal_zone_free(z);
}

static void
org_errors(void **state)
{
	struct cal_sched s;
	char err[128];
	struct {
		struct cal_org o;
		const char *want;
	} cases[] = {
		{ { 2026, 2, 30, 6, 0, CAL_REPEAT_NONE, 0, 0 },
		    "2026-02-30 is not a date" },
		{ { 2026, 13, 1, 6, 0, CAL_REPEAT_NONE, 0, 0 },
		    "2026-13-01 is not a date" },
		{ { 2027, 2, 29, -1, 0, CAL_REPEAT_NONE, 0, 0 },
		    "2027-02-29 is not a date" },
		{ { 0, 1, 1, 6, 0, CAL_REPEAT_NONE, 0, 0 },
		    "year 0 is out of range 1-9999" },
		{ { 2026, 1, 1, 24, 0, CAL_REPEAT_NONE, 0, 0 },
		    "24:00 is not a time" },
		{ { 2026, 1, 1, 6, 60, CAL_REPEAT_NONE, 0, 0 },
		    "06:60 is not a time" },
		{ { 2026, 1, 1, 6, 0, CAL_REPEAT_CUMULATE, 1, 'x' },
		    "repeater unit 'x' is not one of h, d, w, m, y" },
		{ { 2026, 1, 1, 6, 0, CAL_REPEAT_CUMULATE, 0, 'd' },
		    "repeater 0d never moves (want 1 or more)" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		assert_int_equal(cal_sched_org(&s, &cases[i].o, err, sizeof err),
		    -1);
		assert_string_equal(err, cases[i].want);
	}
	/* A date without a time ignores the minute. */
	assert_int_equal(cal_sched_org(&s, &(struct cal_org){ 2026, 2, 28, -1,
	    77, CAL_REPEAT_NONE, 0, 0 }, err, sizeof err), 0);
}

/* ---- zones ---- */

static void
zone_unknown(void **state)
{
	const char *bad[] = {
		"Mars/Olympus", "GMT+05:00", "Etc/Unknown", "europe/stockholm",
		"", "Europe/Stockholm ", "Europe/Stöckholm",
	};
	char err[128], want[128];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_null(cal_zone_open(bad[i], err, sizeof err));
		snprintf(want, sizeof want, "unknown time zone '%s'", bad[i]);
		assert_string_equal(err, want);
	}
	assert_null(cal_zone_open("Mars/Olympus", NULL, 0));
}

static void
zone_names_and_offsets(void **state)
{
	struct cal_zone *z = zone("Europe/Stockholm");

	(void)state;
	assert_string_equal(cal_zone_name(z), "Europe/Stockholm");
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 1, 1, 0, 0)), HOUR);
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 7, 1, 0, 0)),
	    2 * HOUR);
	/* The transition instant itself belongs to the new offset. */
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 3, 29, 1, 0) - 1),
	    HOUR);
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 3, 29, 1, 0)),
	    2 * HOUR);
	cal_zone_free(z);
	z = zone("UTC");
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 7, 1, 0, 0)), 0);
	cal_zone_free(z);
	/* A link name is kept as written. */
	z = zone("Asia/Calcutta");
	assert_string_equal(cal_zone_name(z), "Asia/Calcutta");
	assert_int_equal(cal_zone_offset_ms(z, 0), 5 * HOUR + 30 * MIN);
	cal_zone_free(z);
	cal_zone_free(NULL);
}

/* cal_zone_open_machine() under a given TZ. */
static void
machine_zone_is(const char *tz, const char *want_name, int64_t want_off)
{
	char err[128] = "";
	struct cal_zone *z;

	z = cal_zone_open_machine(tz, err, sizeof err);
	if (want_name == NULL) {
		assert_null(z);
		return;
	}
	if (z == NULL)
		fail_msg("TZ=%s: %s", tz, err);
	assert_string_equal(cal_zone_name(z), want_name);
	assert_int_equal(cal_zone_offset_ms(z, utc(2026, 7, 1, 0, 0)), want_off);
	cal_zone_free(z);
}

static void
machine_zone_from_tz(void **state)
{
	char err[128];

	(void)state;
	machine_zone_is("America/New_York", "America/New_York", -4 * HOUR);
	machine_zone_is(":Asia/Kolkata", "Asia/Kolkata", 5 * HOUR + 30 * MIN);
	machine_zone_is("", "UTC", 0);
	machine_zone_is("/usr/share/zoneinfo/Asia/Tokyo", "Asia/Tokyo",
	    9 * HOUR);
	machine_zone_is(":/usr/share/zoneinfo/posix/Europe/Stockholm",
	    "Europe/Stockholm", 2 * HOUR);
	/* A POSIX rule string is not a zone keeper can name. */
	machine_zone_is("CET-1CEST,M3.5.0,M10.5.0/3", NULL, 0);
	assert_null(cal_zone_open_machine("Mars/Olympus", err, sizeof err));
	assert_string_equal(err, "unknown time zone 'Mars/Olympus'");
	assert_true(cal_zone_known("Europe/Stockholm"));
	assert_false(cal_zone_known("Mars/Olympus"));
	assert_false(cal_zone_known("GMT+05:00"));
}

/* ---- in words ---- */

static void
expect_words(const struct cal_sched *s, const char *zname, const char *want)
{
	struct cal_zone *z = zname ? zone(zname) : NULL;
	char buf[160];
	int n = cal_describe(s, z, buf, sizeof buf);

	cal_zone_free(z);
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void
describe_cron_lines(void **state)
{
	static const char *const cases[][3] = {
		{ "0 6 * * 1-5", "Europe/Stockholm",
		    "weekdays at 06:00 Europe/Stockholm" },
		{ "30 2 * * *", NULL, "every day at 02:30" },
		{ "*/15 * * * *", NULL, "every 15 minutes" },
		{ "0,30 * * * *", NULL, "every 30 minutes" },
		{ "* * * * *", NULL, "every minute" },
		{ "5 * * * *", NULL, "at minute 5 of every hour" },
		{ "@hourly", NULL, "every hour" },
		{ "0 */6 * * *", NULL, "every 6 hours" },
		{ "30 */6 * * *", NULL, "every 6 hours at minute 30" },
		{ "0 3 * * 0", NULL, "Sundays at 03:00" },
		{ "0 3 * * 7", NULL, "Sundays at 03:00" },
		{ "@weekly", NULL, "Sundays at 00:00" },
		{ "0 8 * * mon,wed,fri", NULL,
		    "Mondays, Wednesdays and Fridays at 08:00" },
		{ "0 8 * * 2,4", NULL, "Tuesdays and Thursdays at 08:00" },
		{ "0 10 * * sat,sun", NULL, "weekends at 10:00" },
		{ "0 6,18 * * *", NULL, "every day at 06:00 and 18:00" },
		{ "0 9 1 * *", NULL, "on the 1st of every month at 09:00" },
		{ "0 9 22 * *", NULL, "on the 22nd of every month at 09:00" },
		{ "0 9 13 * *", NULL, "on the 13th of every month at 09:00" },
		{ "0 9 31 * *", NULL,
		    "on the 31st of every month that has one, at 09:00" },
		{ "@yearly", NULL, "every year on 1 January at 00:00" },
		{ "0 0 29 2 *", NULL, "every leap year on 29 February at 00:00" },
		/* No short phrase: as written, trimmed. */
		{ "0 12 13 * 5", NULL, "0 12 13 * 5" },
		{ "  0 12 13 * 5  ", "Asia/Kolkata", "0 12 13 * 5 Asia/Kolkata" },
		{ "*/7 * * * *", NULL, "*/7 * * * *" },
		{ "0 9-17 * * 1-5", NULL, "0 9-17 * * 1-5" },
		{ "0 0 1 1,7 *", NULL, "0 0 1 1,7 *" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cal_sched s = cron(cases[i][0]);

		expect_words(&s, cases[i][1], cases[i][2]);
	}
}

static void
describe_org_timestamps(void **state)
{
	struct cal_sched s;

	(void)state;
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_NONE, 0, 0);
	expect_words(&s, NULL, "once, 2026-12-05 06:00");
	s = org(2026, 12, 5, -1, 0, CAL_REPEAT_NONE, 0, 0);
	expect_words(&s, "Europe/Stockholm",
	    "once, 2026-12-05 00:00 Europe/Stockholm");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CUMULATE, 1, 'd');
	expect_words(&s, NULL, "every day at 06:00 from 2026-12-05");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CUMULATE, 2, 'd');
	expect_words(&s, NULL, "every 2 days at 06:00 from 2026-12-05");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CATCH_UP, 1, 'w');
	expect_words(&s, NULL, "Saturdays at 06:00 from 2026-12-05");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CUMULATE, 2, 'w');
	expect_words(&s, NULL,
	    "every 2 weeks on Saturday at 06:00 from 2026-12-05");
	s = org(2026, 1, 31, 9, 0, CAL_REPEAT_CUMULATE, 1, 'm');
	expect_words(&s, NULL, "on the 31st (or the month's last day) of "
	    "every month at 09:00 from 2026-01-31");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CUMULATE, 3, 'm');
	expect_words(&s, NULL,
	    "every 3 months on the 5th at 06:00 from 2026-12-05");
	s = org(2028, 2, 29, -1, 0, CAL_REPEAT_CUMULATE, 1, 'y');
	expect_words(&s, NULL, "every year on 29 February (28 February in "
	    "other years) at 00:00 from 2028-02-29");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CUMULATE, 10, 'y');
	expect_words(&s, NULL,
	    "every 10 years on 5 December at 06:00 from 2026-12-05");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_CUMULATE, 1, 'h');
	expect_words(&s, NULL, "every hour from 2026-12-05 06:00");
	s = org(2026, 12, 5, 6, 30, CAL_REPEAT_CUMULATE, 2, 'h');
	expect_words(&s, NULL, "every 2 hours from 2026-12-05 06:30");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_RESTART, 1, 'd');
	expect_words(&s, NULL,
	    "1 day after the last fire, at 06:00, from 2026-12-05");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_RESTART, 3, 'w');
	expect_words(&s, NULL,
	    "3 weeks after the last fire, at 06:00, from 2026-12-05");
	s = org(2026, 12, 5, 6, 0, CAL_REPEAT_RESTART, 2, 'h');
	expect_words(&s, NULL,
	    "2 hours after the last fire, from 2026-12-05 06:00");
}

static void
describe_small_buffer(void **state)
{
	struct cal_sched s = cron("0 6 * * 1-5");
	char buf[8];

	(void)state;
	/* Like snprintf: cut and terminated, the full length returned. */
	assert_int_equal(cal_describe(&s, NULL, buf, sizeof buf),
	    (int)strlen("weekdays at 06:00"));
	assert_string_equal(buf, "weekday");
	assert_int_equal(cal_describe(&s, NULL, NULL, 0), 17);
	s = cron("0 12 13 * 5");
	assert_int_equal(cal_describe(&s, NULL, buf, sizeof buf), 11);
	assert_string_equal(buf, "0 12 13");
}

/* ---- jitter ---- */

static void
jitter_stable_and_spread(void **state)
{
	char agent[24];
	static int64_t seen[1000];
	int distinct = 0;

	(void)state;
	/* Pinned: the same on every machine and in every release (these
	 * values were computed apart from this code, in Python). */
	assert_int_equal(cal_jitter_ms("newsroom", "desk", 60000), 52282);
	assert_int_equal(cal_jitter_ms("newsroom", "wren", 60000), 23233);
	assert_int_equal(cal_jitter_ms("newsroom", "desk", 3600000), 412282);
	/* The names are kept apart: ("ab", "c") is not ("a", "bc"). */
	assert_int_equal(cal_jitter_ms("ab", "c", INT64_C(1) << 40),
	    INT64_C(995829938589));
	assert_int_equal(cal_jitter_ms("a", "bc", INT64_C(1) << 40),
	    INT64_C(756446277063));
	assert_int_equal(cal_jitter_ms("newsroom", "desk", 0), 0);
	assert_int_equal(cal_jitter_ms("newsroom", "desk", -5), 0);
	assert_int_equal(cal_jitter_ms("newsroom", "desk", 1), 0);
	assert_int_equal(cal_jitter_ms("newsroom", "desk", 60000),
	    cal_jitter_ms("newsroom", "desk", 60000));
	/* A thousand agents of one crew: in range, and spread out. */
	for (int i = 0; i < 1000; i++) {
		int64_t j;
		int dup = 0;

		snprintf(agent, sizeof agent, "agent-%d", i);
		j = cal_jitter_ms("big", agent, 60000);
		assert_true(j >= 0 && j < 60000);
		for (int k = 0; k < i; k++)
			dup |= seen[k] == j;
		distinct += !dup;
		seen[i] = j;
	}
	assert_true(distinct >= 990);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stockholm_spring_gap),
		cmocka_unit_test(stockholm_fall_repeat),
		cmocka_unit_test(stockholm_year_nothing_lost_or_doubled),
		cmocka_unit_test(fresh_zone_agrees_with_warm_one),
		cmocka_unit_test(new_york_2026),
		cmocka_unit_test(lord_howe_half_hour),
		cmocka_unit_test(kolkata_no_dst),
		cmocka_unit_test(apia_skipped_day),
		cmocka_unit_test(month_ends),
		cmocka_unit_test(leap_days),
		cmocka_unit_test(yearly_across_leap_year),
		cmocka_unit_test(vixie_either_day),
		cmocka_unit_test(strictly_after_to_the_ms),
		cmocka_unit_test(org_once),
		cmocka_unit_test(org_days_keep_local_time),
		cmocka_unit_test(org_months_and_years_clamp),
		cmocka_unit_test(org_hours_are_wall_clock),
		cmocka_unit_test(org_restart_counts_from_last_fire),
		cmocka_unit_test(org_errors),
		cmocka_unit_test(zone_unknown),
		cmocka_unit_test(zone_names_and_offsets),
		cmocka_unit_test(machine_zone_from_tz),
		cmocka_unit_test(describe_cron_lines),
		cmocka_unit_test(describe_org_timestamps),
		cmocka_unit_test(describe_small_buffer),
		cmocka_unit_test(jitter_stable_and_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
