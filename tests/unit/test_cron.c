/* Unit tests for cron: SPEC §5a's five fields into bits, and every
 * error message word for word. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cron.h"

#define BIT(n)	(UINT64_C(1) << (n))

static struct cron
parsed(const char *expr)
{
	struct cron c;
	char err[256] = "";

	if (cron_parse(&c, expr, err, sizeof err) != 0)
		fail_msg("'%s' did not parse: %s", expr, err);
	return c;
}

static void
expect_error(const char *expr, const char *want)
{
	struct cron c;
	char err[256] = "";

	assert_int_equal(cron_parse(&c, expr, err, sizeof err), -1);
	if (strcmp(err, want) != 0)
		fail_msg("'%s'\n got:  %s\n want: %s", expr, err, want);
}

static uint64_t
bits(int lo, int hi, int step)
{
	uint64_t b = 0;

	for (int v = lo; v <= hi; v += step)
		b |= BIT(v);
	return b;
}

static void
stars(void **state)
{
	struct cron c = parsed("* * * * *");

	(void)state;
	assert_true(c.minute == bits(0, 59, 1));
	assert_true(c.hour == bits(0, 23, 1));
	assert_true(c.dom == bits(1, 31, 1));
	assert_true(c.month == bits(1, 12, 1));
	assert_true(c.dow == bits(0, 6, 1));
	assert_int_equal(c.flags, CRON_DOM_STAR | CRON_DOW_STAR);
}

static void
values_lists_ranges_steps(void **state)
{
	struct cron c = parsed("1-30/5 */6 1,15,31 2-4 1-5");

	(void)state;
	assert_true(c.minute == bits(1, 26, 5));
	assert_true(c.hour == (BIT(0) | BIT(6) | BIT(12) | BIT(18)));
	assert_true(c.dom == (BIT(1) | BIT(15) | BIT(31)));
	assert_true(c.month == (BIT(2) | BIT(3) | BIT(4)));
	assert_true(c.dow == bits(1, 5, 1));
	assert_int_equal(c.flags, 0);
	c = parsed("*/15 0 * * *");
	assert_true(c.minute == (BIT(0) | BIT(15) | BIT(30) | BIT(45)));
	/* A single value with a step runs to the field's end. */
	c = parsed("5/20 0 * * *");
	assert_true(c.minute == (BIT(5) | BIT(25) | BIT(45)));
	/* A step larger than the field leaves the start alone, as cron. */
	c = parsed("*/90 0 * * *");
	assert_true(c.minute == BIT(0));
	/* Leading zeros, tabs and surrounding space. */
	c = parsed("  05\t06 * *  * ");
	assert_true(c.minute == BIT(5) && c.hour == BIT(6));
}

static void
names_any_case_and_sunday_seven(void **state)
{
	struct cron c = parsed("0 0 * JAN,mar-May,Dec mon-FRI");

	(void)state;
	assert_true(c.month == (BIT(1) | BIT(3) | BIT(4) | BIT(5) | BIT(12)));
	assert_true(c.dow == bits(1, 5, 1));
	assert_true(parsed("0 0 * * 7").dow == BIT(0));
	assert_true(parsed("0 0 * * sun").dow == BIT(0));
	assert_true(parsed("0 0 * * Sat,SUN").dow == (BIT(0) | BIT(6)));
	/* 5-7 is Friday to Sunday; 0-7 is every day. */
	assert_true(parsed("0 0 * * 5-7").dow == (BIT(5) | BIT(6) | BIT(0)));
	assert_true(parsed("0 0 * * 0-7").dow == bits(0, 6, 1));
	assert_true(parsed("0 0 * * */2").dow == (BIT(0) | BIT(2) | BIT(4) |
	    BIT(6)));
}

static void
shorthands(void **state)
{
	struct cron c;

	(void)state;
	c = parsed("@hourly");
	assert_true(c.minute == BIT(0) && c.hour == bits(0, 23, 1));
	c = parsed("@daily");
	assert_true(c.minute == BIT(0) && c.hour == BIT(0));
	assert_true(c.dom == bits(1, 31, 1) && c.month == bits(1, 12, 1) &&
	    c.dow == bits(0, 6, 1));
	assert_int_equal(c.flags, CRON_DOM_STAR | CRON_DOW_STAR);
	c = parsed("@midnight");
	assert_true(c.minute == BIT(0) && c.hour == BIT(0));
	c = parsed("@weekly");
	assert_true(c.dow == BIT(0) && c.dom == bits(1, 31, 1));
	assert_int_equal(c.flags, CRON_DOM_STAR);
	c = parsed("@monthly");
	assert_true(c.dom == BIT(1) && c.month == bits(1, 12, 1));
	assert_int_equal(c.flags, CRON_DOW_STAR);
	c = parsed("@yearly");
	assert_true(c.dom == BIT(1) && c.month == BIT(1));
	c = parsed(" @Annually ");
	assert_true(c.dom == BIT(1) && c.month == BIT(1));
}

static void
vixie_day_rule(void **state)
{
	struct cron c;

	(void)state;
	/* Both restricted: the 13th, or any Friday. 2026-02-13 is a Friday,
	 * 2026-02-06 a Friday, 2026-03-13 a Friday, 2026-04-13 a Monday. */
	c = parsed("0 12 13 * 5");
	assert_true(cron_day_matches(&c, 13, 4, 1));
	assert_true(cron_day_matches(&c, 6, 2, 5));
	assert_false(cron_day_matches(&c, 7, 2, 6));
	/* Day-of-week unrestricted: only the month day counts. */
	c = parsed("0 12 13 * *");
	assert_true(cron_day_matches(&c, 13, 4, 1));
	assert_false(cron_day_matches(&c, 6, 2, 5));
	/* Day-of-month unrestricted: only the weekday counts. */
	c = parsed("0 12 * * 5");
	assert_false(cron_day_matches(&c, 13, 4, 1));
	assert_true(cron_day_matches(&c, 6, 2, 5));
	/* A field starting with '*' is unrestricted even with a step (as in
	 * Vixie's parser): odd days that are Fridays, not either. */
	c = parsed("0 12 */2 * 5");
	assert_int_equal(c.flags, CRON_DOM_STAR);
	assert_true(cron_day_matches(&c, 13, 2, 5));
	assert_false(cron_day_matches(&c, 6, 2, 5));
	assert_false(cron_day_matches(&c, 13, 4, 1));
	/* 1-31 does not start with '*': restricted, so either matches. */
	c = parsed("0 12 1-31 * 5");
	assert_true(cron_day_matches(&c, 14, 4, 2));
	/* The month always has to match. */
	c = parsed("0 12 13 jan 5");
	assert_false(cron_day_matches(&c, 13, 2, 5));
	assert_true(cron_day_matches(&c, 9, 1, 5));
}

static void
errors_fields(void **state)
{
	(void)state;
	expect_error("", "want 5 fields (minute hour day-of-month month "
	    "day-of-week), got 0");
	expect_error("   ", "want 5 fields (minute hour day-of-month month "
	    "day-of-week), got 0");
	expect_error("0 6 * *", "want 5 fields (minute hour day-of-month "
	    "month day-of-week), got 4");
	expect_error("0 0 6 * * 1-5", "want 5 fields (minute hour "
	    "day-of-month month day-of-week), got 6");
	expect_error("@often", "unknown '@often' (want @hourly, @daily, "
	    "@midnight, @weekly, @monthly, @yearly or @annually)");
	expect_error("@reboot", "unknown '@reboot' (want @hourly, @daily, "
	    "@midnight, @weekly, @monthly, @yearly or @annually)");
	expect_error("@daily 5", "unexpected '5' after '@daily'");
}

static void
errors_values(void **state)
{
	(void)state;
	expect_error("0 25 * * *", "field 2 (hour): 25 is out of range 0-23");
	expect_error("60 0 * * *", "field 1 (minute): 60 is out of range 0-59");
	expect_error("0 0 0 * *",
	    "field 3 (day-of-month): 0 is out of range 1-31");
	expect_error("0 0 32 * *",
	    "field 3 (day-of-month): 32 is out of range 1-31");
	expect_error("0 0 * 13 *", "field 4 (month): 13 is out of range 1-12");
	expect_error("0 0 * * 8",
	    "field 5 (day-of-week): 8 is out of range 0-7");
	expect_error("0 0 * * 1-9",
	    "field 5 (day-of-week): 9 is out of range 0-7");
	expect_error("0 99999999999 * * *",
	    "field 2 (hour): 99999999999 is out of range 0-23");
	expect_error("x5 0 * * *", "field 1 (minute): 'x5' is not a number");
	expect_error("0 6pm * * *", "field 2 (hour): '6pm' is not a number");
	expect_error("0 mon * * *", "field 2 (hour): 'mon' is not a number");
	expect_error("*/x 0 * * *", "field 1 (minute): 'x' is not a number");
	expect_error("0 0 * foo *",
	    "field 4 (month): 'foo' is not a month name (jan..dec)");
	expect_error("0 0 * january *",
	    "field 4 (month): 'january' is not a month name (jan..dec)");
	expect_error("0 0 * * fry",
	    "field 5 (day-of-week): 'fry' is not a day name (sun..sat)");
	expect_error("0 0 * * mon-fry",
	    "field 5 (day-of-week): 'fry' is not a day name (sun..sat)");
}

static void
errors_shapes(void **state)
{
	(void)state;
	expect_error("1,,2 0 * * *", "field 1 (minute): empty item in '1,,2'");
	expect_error("0 0 * * 1,", "field 5 (day-of-week): empty item in '1,'");
	expect_error("0 ,6 * * *", "field 2 (hour): empty item in ',6'");
	expect_error("0 0 20-10 * *",
	    "field 3 (day-of-month): range 20-10 is backwards");
	expect_error("0 0 * * fri-mon",
	    "field 5 (day-of-week): range 5-1 is backwards");
	expect_error("*/0 0 * * *",
	    "field 1 (minute): step 0 in '*/0' (want 1 or more)");
	expect_error("0 1-5/0 * * *",
	    "field 2 (hour): step 0 in '1-5/0' (want 1 or more)");
	expect_error("1- 0 * * *", "field 1 (minute): malformed item '1-'");
	expect_error("-5 0 * * *", "field 1 (minute): malformed item '-5'");
	expect_error("*/ 0 * * *", "field 1 (minute): malformed item '*/'");
	expect_error("1-2-3 0 * * *",
	    "field 1 (minute): malformed item '1-2-3'");
	expect_error("*5 0 * * *", "field 1 (minute): malformed item '*5'");
	expect_error("1/2/3 0 * * *",
	    "field 1 (minute): malformed item '1/2/3'");
	/* A month day no month of the line has would never fire... */
	expect_error("0 0 30 2 *", "field 3 (day-of-month): '30' never falls "
	    "in month '2', so it would never fire");
	expect_error("0 0 31 apr,jun,sep,nov *", "field 3 (day-of-month): "
	    "'31' never falls in month 'apr,jun,sep,nov', so it would never "
	    "fire");
	/* ...but 29 February does (leap years), and with a weekday the
	 * Vixie rule fires on the weekday. */
	parsed("0 0 29 2 *");
	parsed("0 0 30 2 1");
}

static void
error_buffer_small(void **state)
{
	struct cron c;
	char err[12];

	(void)state;
	/* Cut short, never overrun; a NULL buffer is allowed. */
	assert_int_equal(cron_parse(&c, "0 25 * * *", err, sizeof err), -1);
	assert_string_equal(err, "field 2 (ho");
	assert_int_equal(cron_parse(&c, "0 25 * * *", NULL, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stars),
		cmocka_unit_test(values_lists_ranges_steps),
		cmocka_unit_test(names_any_case_and_sunday_seven),
		cmocka_unit_test(shorthands),
		cmocka_unit_test(vixie_day_rule),
		cmocka_unit_test(errors_fields),
		cmocka_unit_test(errors_values),
		cmocka_unit_test(errors_shapes),
		cmocka_unit_test(error_buffer_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
