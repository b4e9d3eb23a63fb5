/*
 * Unit tests for dur: the duration grammar of SPEC §2 and its compact
 * formatting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dur.h"

static void
expect_ms(const char *s, int64_t want)
{
	int64_t got = -12345;

	if (dur_parse(s, &got) != 0)
		fail_msg("dur_parse(\"%s\") failed, want %lld", s,
		    (long long)want);
	if (got != want)
		fail_msg("dur_parse(\"%s\") = %lld, want %lld", s,
		    (long long)got, (long long)want);
}

static void
expect_bad(const char *s)
{
	int64_t got = -12345;

	if (dur_parse(s, &got) != -1)
		fail_msg("dur_parse(\"%s\") accepted (%lld)", s,
		    (long long)got);
	assert_int_equal(got, -12345);	/* untouched on error */
}

static void
test_units(void **state)
{
	(void)state;
	expect_ms("90s", 90000);
	expect_ms("15m", 900000);
	expect_ms("2h", 7200000);
	expect_ms("1d", 86400000);
	expect_ms("250ms", 250);
	expect_ms("0s", 0);
	expect_ms("0ms", 0);
	expect_ms("007s", 7000);
}

static void
test_bare_integer_is_ms(void **state)
{
	(void)state;
	expect_ms("200", 200);
	expect_ms("0", 0);
	expect_ms("1", 1);
	expect_ms("9223372036854775807", INT64_MAX);
}

static void
test_compounds(void **state)
{
	(void)state;
	expect_ms("1h30m", 5400000);
	expect_ms("1d2h3m4s5ms", 86400000 + 7200000 + 180000 + 4000 + 5);
	expect_ms("1m30s", 90000);
	expect_ms("2s500ms", 2500);
	expect_ms("1d1ms", 86400001);
	expect_ms("90m", 5400000);	/* a unit may exceed the next one up */
}

static void
test_white_space_around(void **state)
{
	(void)state;
	expect_ms("  15m", 900000);
	expect_ms("15m \t\n", 900000);
	expect_ms(" 200 ", 200);
}

static void
test_rejects(void **state)
{
	static const char *bad[] = {
		"", " ", "\t", "h", "ms", "s1", "1x", "-5s", "+5s", "1.5h",
		"1,5h", "1 h", "1h 30m", "1H", "1S", "15M", "1h1h", "30m1h",
		"1s1m", "1ms1s", "1h30", "1h30x", "1msx", "1mss", "1hm",
		"fast", "1e3", "0x10", "1d-1h", "--1", "1_000", "\xff",
		"9223372036854775808",		/* int64 overflow, bare */
		"106751991167301d",		/* days overflow */
		"106751991167300d23h59m59s999ms", /* just past INT64_MAX */
		"99999999999999999999999s",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i]);
	expect_bad(NULL);
}

static void
test_largest(void **state)
{
	(void)state;
	/* INT64_MAX ms = 106751991167d7h12m55s807ms exactly. */
	expect_ms("106751991167d7h12m55s807ms", INT64_MAX);
	expect_bad("106751991167d7h12m55s808ms");
}

static void
expect_fmt(int64_t ms, const char *want)
{
	char buf[64];

	assert_string_equal(dur_format(ms, buf, sizeof(buf)), want);
}

static void
test_format(void **state)
{
	(void)state;
	expect_fmt(0, "0s");
	expect_fmt(250, "250ms");
	expect_fmt(1000, "1s");
	expect_fmt(90000, "1m30s");
	expect_fmt(5400000, "1h30m");
	expect_fmt(86400000, "1d");
	expect_fmt(86400001, "1d1ms");
	expect_fmt(90061001, "1d1h1m1s1ms");
	expect_fmt(-1500, "-1s500ms");
	expect_fmt(INT64_MAX, "106751991167d7h12m55s807ms");
	expect_fmt(INT64_MIN, "-106751991167d7h12m55s808ms");
}

static void
test_format_truncates_safely(void **state)
{
	char buf[4];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	dur_format(90061001, buf, sizeof(buf));
	assert_int_equal(buf[3], '\0');
	assert_string_equal(buf, "1d1");
	assert_null(dur_format(1, NULL, 0));
	memset(buf, 'x', sizeof(buf));
	dur_format(5, buf, 1);
	assert_int_equal(buf[0], '\0');
}

static void
test_round_trip(void **state)
{
	static const int64_t v[] = {
		0, 1, 999, 1000, 1001, 59999, 60000, 3599999, 3600000,
		86399999, 86400000, 123456789012, INT64_MAX,
	};
	char buf[64];
	int64_t back;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		dur_format(v[i], buf, sizeof(buf));
		assert_int_equal(dur_parse(buf, &back), 0);
		assert_int_equal(back, v[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_bare_integer_is_ms),
		cmocka_unit_test(test_compounds),
		cmocka_unit_test(test_white_space_around),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_truncates_safely),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
