/*
 * test_metrics: the histogram's buckets, and keeper's exposition: every
 * series present at zero from boot, one group per family, the values
 * where they belong.
 *
 * Run as `test_metrics --render` it prints a sample exposition instead,
 * for tests/integration/test_s10_metrics.py to hand to promtool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static size_t
count_lines(const char *s, const char *prefix)
{
	size_t n = 0, k = strlen(prefix);

	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 :
	    NULL)
		if (strncmp(p, prefix, k) == 0)
			n++;
	return n;
}

static int
has_line(const char *s, const char *line)
{
	size_t k = strlen(line);

	for (const char *p = s; p && *p; p = strchr(p, '\n'), p = p ? p + 1 :
	    NULL)
		if (strncmp(p, line, k) == 0 && (p[k] == '\n' || p[k] == '\0'))
			return 1;
	return 0;
}

static void
test_hist_buckets(void **state)
{
	struct metrics_hist h = { 0 };

	(void)state;
	metrics_hist_observe(&h, 0.004);	/* a fast shell run */
	metrics_hist_observe(&h, 0.01);		/* le is inclusive */
	metrics_hist_observe(&h, 0.0100001);
	metrics_hist_observe(&h, 870);		/* a long LLM run */
	metrics_hist_observe(&h, 3600.5);	/* past the last bound */
	metrics_hist_observe(&h, -2);		/* a clock step: 0 */
	assert_int_equal(h.counts[0], 3);
	assert_int_equal(h.counts[1], 1);
	assert_int_equal(h.counts[8], 1);	/* (300, 900] */
	assert_int_equal(h.counts[METRICS_NBUCKETS], 1);
	assert_int_equal(metrics_hist_count(&h), 6);
	assert_true(h.sum > 4470.5239 && h.sum < 4470.5241);
	/* Ascending, and the two runs keeper must tell apart. */
	for (int i = 1; i < METRICS_NBUCKETS; i++)
		assert_true(metrics_buckets[i] > metrics_buckets[i - 1]);
	assert_true(metrics_buckets[0] <= 0.01);
	assert_true(metrics_buckets[METRICS_NBUCKETS - 1] >= 900);
}

static void
test_triggers(void **state)
{
	(void)state;
	assert_int_equal(metrics_trigger_parse("schedule"),
	    METRICS_TRIGGER_SCHEDULE);
	assert_int_equal(metrics_trigger_parse("run-once"),
	    METRICS_TRIGGER_RUN_ONCE);
	assert_int_equal(metrics_trigger_parse("catch-up"),
	    METRICS_TRIGGER_CATCH_UP);
	assert_int_equal(metrics_trigger_parse("retry"), METRICS_TRIGGER_RETRY);
	assert_int_equal(metrics_trigger_parse("cron"), -1);
}

/* At boot: nothing has happened, and every series is there at 0. */
static void
test_every_series_from_boot(void **state)
{
	struct metrics_agent a[2] = { { .name = "desk",
	    .health = HEALTH_NEVER }, { .name = "wren",
	    .health = HEALTH_NEVER } };
	struct metrics_crew c = { .gate_slots = 2, .active = 1,
	    .boot_ms = 1795317247000, .version = "0.9" };
	struct sb b = { 0 };
	static const char *const outcomes[] = { "done", "no_work", "failed",
	    "killed", "gated", "dreamed", "error", "interrupted" };
	static const char *const families[] = { "keeper_runs_total",
	    "keeper_ticks_total", "keeper_run_duration_seconds",
	    "keeper_start_lateness_seconds",
	    "keeper_last_run_timestamp_seconds",
	    "keeper_next_run_timestamp_seconds", "keeper_agent_health",
	    "keeper_missed_fires_total", "keeper_commits_total",
	    "keeper_llm_tokens_total", "keeper_gate_slots",
	    "keeper_gate_slots_used", "keeper_gate_waiting", "keeper_active",
	    "keeper_start_time_seconds", "keeper_build_info" };
	char line[160];

	(void)state;
	metrics_render(&b, a, 2, &c);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(line, sizeof(line), "# TYPE %s ", families[i]);
		assert_int_equal(count_lines(b.buf, line), 1);
		snprintf(line, sizeof(line), "# HELP %s ", families[i]);
		assert_int_equal(count_lines(b.buf, line), 1);
	}
	for (size_t i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "keeper_runs_total{agent=\"wren\","
		    "outcome=\"%s\"} 0", outcomes[i]);
		assert_true(has_line(b.buf, line));
	}
	assert_int_equal(count_lines(b.buf, "keeper_runs_total{"), 16);
	assert_int_equal(count_lines(b.buf, "keeper_ticks_total{"), 8);
	assert_true(has_line(b.buf, "keeper_ticks_total{agent=\"desk\","
	    "trigger=\"run-once\"} 0"));
	/* 10 bounds and +Inf, per agent. */
	assert_int_equal(count_lines(b.buf,
	    "keeper_run_duration_seconds_bucket{agent=\"desk\""), 11);
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_bucket{"
	    "agent=\"desk\",le=\"0.01\"} 0"));
	assert_true(has_line(b.buf, "keeper_start_lateness_seconds_bucket{"
	    "agent=\"wren\",le=\"+Inf\"} 0"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_count{"
	    "agent=\"wren\"} 0"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_sum{"
	    "agent=\"wren\"} 0"));
	assert_true(has_line(b.buf, "keeper_last_run_timestamp_seconds{"
	    "agent=\"wren\"} 0"));
	/* Health one-hot over all six verdicts. */
	assert_int_equal(count_lines(b.buf, "keeper_agent_health{"), 12);
	assert_true(has_line(b.buf, "keeper_agent_health{agent=\"wren\","
	    "health=\"never\"} 1"));
	assert_true(has_line(b.buf, "keeper_agent_health{agent=\"wren\","
	    "health=\"paused\"} 0"));
	assert_true(has_line(b.buf, "keeper_llm_tokens_total{agent=\"desk\","
	    "kind=\"completion\"} 0"));
	assert_true(has_line(b.buf, "keeper_missed_fires_total{agent=\"desk\"}"
	    " 0"));
	assert_true(has_line(b.buf, "keeper_commits_total{agent=\"desk\"} 0"));
	assert_true(has_line(b.buf, "keeper_gate_slots 2"));
	assert_true(has_line(b.buf, "keeper_gate_slots_used 0"));
	assert_true(has_line(b.buf, "keeper_gate_waiting 0"));
	assert_true(has_line(b.buf, "keeper_active 1"));
	assert_true(has_line(b.buf, "keeper_start_time_seconds 1795317247"));
	assert_true(has_line(b.buf, "keeper_build_info{version=\"0.9\"} 1"));
	/* Nothing else: 8 + 4 outcomes and triggers, 2 x 13 histogram
	 * series, 6 health, 2 tokens and 4 single gauges/counters per
	 * agent; 6 crew series; 2 comment lines per family. */
	assert_int_equal(count_lines(b.buf, ""), 2 * (12 + 26 + 6 + 2 + 4) +
	    6 + 2 * 16);
	sb_release(&b);
}

static void
test_values(void **state)
{
	struct metrics_agent a = { .name = "wren", .health = HEALTH_FAILING,
	    .last_run_ms = 1795317247250, .next_run_ms = 1795317307000,
	    .missed_fires = 2, .commits = 5, .tokens_prompt = 1200,
	    .tokens_completion = 300 };
	struct metrics_crew c = { .gate_slots = 2, .gate_used = 1,
	    .gate_waiting = 3 };
	struct sb b = { 0 };

	(void)state;
	a.runs[OUTCOME_DONE] = 7;
	a.runs[OUTCOME_FAILED] = 3;
	a.ticks[METRICS_TRIGGER_SCHEDULE] = 9;
	a.ticks[METRICS_TRIGGER_RUN_ONCE] = 1;
	metrics_hist_observe(&a.duration, 0.008);
	metrics_hist_observe(&a.duration, 0.75);
	metrics_hist_observe(&a.duration, 840);
	metrics_hist_observe(&a.lateness, 0.02);
	metrics_render(&b, &a, 1, &c);
	assert_true(has_line(b.buf, "keeper_runs_total{agent=\"wren\","
	    "outcome=\"done\"} 7"));
	assert_true(has_line(b.buf, "keeper_runs_total{agent=\"wren\","
	    "outcome=\"failed\"} 3"));
	assert_true(has_line(b.buf, "keeper_ticks_total{agent=\"wren\","
	    "trigger=\"schedule\"} 9"));
	/* Cumulative buckets. */
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_bucket{"
	    "agent=\"wren\",le=\"0.01\"} 1"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_bucket{"
	    "agent=\"wren\",le=\"0.25\"} 1"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_bucket{"
	    "agent=\"wren\",le=\"1\"} 2"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_bucket{"
	    "agent=\"wren\",le=\"300\"} 2"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_bucket{"
	    "agent=\"wren\",le=\"900\"} 3"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_bucket{"
	    "agent=\"wren\",le=\"+Inf\"} 3"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_sum{"
	    "agent=\"wren\"} 840.758"));
	assert_true(has_line(b.buf, "keeper_run_duration_seconds_count{"
	    "agent=\"wren\"} 3"));
	assert_true(has_line(b.buf, "keeper_start_lateness_seconds_bucket{"
	    "agent=\"wren\",le=\"0.05\"} 1"));
	assert_true(has_line(b.buf, "keeper_last_run_timestamp_seconds{"
	    "agent=\"wren\"} 1795317247.25"));
	assert_true(has_line(b.buf, "keeper_next_run_timestamp_seconds{"
	    "agent=\"wren\"} 1795317307"));
	assert_true(has_line(b.buf, "keeper_agent_health{agent=\"wren\","
	    "health=\"failing\"} 1"));
	assert_true(has_line(b.buf, "keeper_agent_health{agent=\"wren\","
	    "health=\"ok\"} 0"));
	assert_true(has_line(b.buf, "keeper_missed_fires_total{agent=\"wren\"}"
	    " 2"));
	assert_true(has_line(b.buf, "keeper_commits_total{agent=\"wren\"} 5"));
	assert_true(has_line(b.buf, "keeper_llm_tokens_total{agent=\"wren\","
	    "kind=\"prompt\"} 1200"));
	assert_true(has_line(b.buf, "keeper_gate_slots_used 1"));
	assert_true(has_line(b.buf, "keeper_gate_waiting 3"));
	assert_true(has_line(b.buf, "keeper_active 0"));
	assert_true(has_line(b.buf, "keeper_build_info{version=\"unknown\"} "
	    "1"));
	sb_release(&b);

	/* A paused agent says so, whatever its verdict. */
	a.paused = 1;
	metrics_render(&b, &a, 1, &c);
	assert_true(has_line(b.buf, "keeper_agent_health{agent=\"wren\","
	    "health=\"paused\"} 1"));
	assert_true(has_line(b.buf, "keeper_agent_health{agent=\"wren\","
	    "health=\"failing\"} 0"));
	sb_release(&b);
}

/* The sample promtool checks: every kind of value keeper writes. */
static int
render_sample(void)
{
	struct metrics_agent a[3] = {
		{ .name = "desk", .health = HEALTH_OK,
		    .last_run_ms = 1795317247250,
		    .next_run_ms = 1795317307000, .commits = 4,
		    .tokens_prompt = 52000, .tokens_completion = 1800 },
		{ .name = "wren.writer-2", .health = HEALTH_FAILING,
		    .missed_fires = 1 },
		{ .name = "idle", .health = HEALTH_NEVER, .paused = 1 },
	};
	struct metrics_crew c = { .gate_slots = 2, .gate_used = 2,
	    .gate_waiting = 1, .active = 1, .boot_ms = 1795317000000,
	    .version = "0.9 \"dev\" \\x" };
	struct sb b = { 0 };

	a[0].runs[OUTCOME_DONE] = 40;
	a[0].runs[OUTCOME_NO_WORK] = 2;
	a[0].ticks[METRICS_TRIGGER_SCHEDULE] = 42;
	a[1].runs[OUTCOME_FAILED] = 3;
	a[1].ticks[METRICS_TRIGGER_RETRY] = 1;
	a[1].ticks[METRICS_TRIGGER_SCHEDULE] = 2;
	for (int i = 0; i < 40; i++) {
		metrics_hist_observe(&a[0].duration, 0.009 + i * 0.0003);
		metrics_hist_observe(&a[0].lateness, 0.002 * i);
	}
	metrics_hist_observe(&a[1].duration, 912.5);
	metrics_hist_observe(&a[1].lateness, 31.2);
	metrics_render(&b, a, 3, &c);
	fputs(b.buf, stdout);
	sb_release(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_triggers),
		cmocka_unit_test(test_every_series_from_boot),
		cmocka_unit_test(test_values),
	};

	if (argc == 2 && strcmp(argv[1], "--render") == 0)
		return render_sample();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
