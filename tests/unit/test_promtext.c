/*
 * test_promtext: numbers as Prometheus parses them, escaping, and the
 * exact lines of families, samples and histograms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

static void
check_double(double v, const char *want)
{
	char buf[32];

	promtext_double(buf, v);
	assert_string_equal(buf, want);
}

static void
test_double(void **state)
{
	char buf[32];

	(void)state;
	check_double(0, "0");
	check_double(-0.0, "0");
	check_double(1, "1");
	check_double(-3, "-3");
	check_double(0.1, "0.1");
	check_double(0.25, "0.25");
	check_double(1.0 / 3, "0.3333333333333333");
	check_double(1795317247.123, "1795317247.123");
	check_double(18446744073709551616.0, "1.8446744073709552e+19");
	check_double(1e-7, "1e-07");
	check_double(NAN, "NaN");
	check_double(INFINITY, "+Inf");
	check_double(-INFINITY, "-Inf");
	/* Whatever it writes reads back as the same double. */
	srand(7);
	for (int i = 0; i < 10000; i++) {
		double v = (double)rand() / RAND_MAX * pow(10, rand() % 30 -
		    15);

		promtext_double(buf, v);
		assert_true(strtod(buf, NULL) == v);
	}
}

static void
test_escape(void **state)
{
	struct sb b = { 0 };

	(void)state;
	promtext_escape(&b, "a\\b\"c\nd", 1);
	assert_string_equal(b.buf, "a\\\\b\\\"c\\nd");
	sb_reset(&b);
	/* HELP text keeps its quotes. */
	promtext_escape(&b, "say \"hi\"\\\n", 0);
	assert_string_equal(b.buf, "say \"hi\"\\\\\\n");
	sb_release(&b);
}

static void
test_lines(void **state)
{
	struct sb b = { 0 };
	struct promtext_label l[] = { { "agent", "wr\"en" },
	    { "outcome", "done" } };

	(void)state;
	promtext_family(&b, "keeper_runs_total", "counter", "Runs.\nAll.");
	promtext_sample(&b, "keeper_runs_total", l, 2, 3);
	promtext_sample(&b, "keeper_up", NULL, 0, 1);
	assert_string_equal(b.buf,
	    "# HELP keeper_runs_total Runs.\\nAll.\n"
	    "# TYPE keeper_runs_total counter\n"
	    "keeper_runs_total{agent=\"wr\\\"en\",outcome=\"done\"} 3\n"
	    "keeper_up 1\n");
	sb_release(&b);
}

static void
test_histogram(void **state)
{
	struct sb b = { 0 };
	struct promtext_label l = { "agent", "wren" };
	static const double bounds[] = { 0.5, 1 };
	static const uint64_t counts[] = { 1, 2, 3 };

	(void)state;
	promtext_histogram(&b, "keeper_d_seconds", &l, 1, bounds, counts, 2,
	    10.5);
	promtext_histogram(&b, "keeper_e_seconds", NULL, 0, bounds, counts, 2,
	    0);
	assert_string_equal(b.buf,
	    "keeper_d_seconds_bucket{agent=\"wren\",le=\"0.5\"} 1\n"
	    "keeper_d_seconds_bucket{agent=\"wren\",le=\"1\"} 3\n"
	    "keeper_d_seconds_bucket{agent=\"wren\",le=\"+Inf\"} 6\n"
	    "keeper_d_seconds_sum{agent=\"wren\"} 10.5\n"
	    "keeper_d_seconds_count{agent=\"wren\"} 6\n"
	    "keeper_e_seconds_bucket{le=\"0.5\"} 1\n"
	    "keeper_e_seconds_bucket{le=\"1\"} 3\n"
	    "keeper_e_seconds_bucket{le=\"+Inf\"} 6\n"
	    "keeper_e_seconds_sum 0\n"
	    "keeper_e_seconds_count 6\n");
	sb_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
