/*
 * test_reason: the words of a run that was not done (reason.h), the last
 * log line of the failing step, and where a step's start lies in the
 * kept text of a log that overflowed; with the run documents (rundoc.h)
 * and the runs in flight (runlive.h) that show them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "reason.h"
#include "rundoc.h"
#include "runlive.h"

static void
check(const struct reason_in *in, const char *want)
{
	char *got = reason_text(in);

	assert_string_equal(got, want);
	free(got);
}

static void
test_said_with_and_without_line(void **state)
{
	struct reason_in in = { .outcome = OUTCOME_FAILED, .step = "work",
	    .said = "work: exit status 2", .said_log = 1,
	    .line = "fatal: cannot reach the database", .exited = 1,
	    .exit_code = 2 };

	(void)state;
	check(&in, "work: exit status 2: fatal: cannot reach the database");
	in.line = NULL;
	check(&in, "work: exit status 2");
	/* An llm answer is whole: a log line of an earlier step is not
	 * added to it. */
	in.said = "narrate: HTTP 500 from 127.0.0.1:8000 after 3 tries: boom";
	in.said_log = 0;
	in.line = "an earlier step's warning";
	check(&in, "narrate: HTTP 500 from 127.0.0.1:8000 after 3 tries: boom");
}

static void
test_without_an_interpreter(void **state)
{
	struct reason_in in = { .outcome = OUTCOME_FAILED, .step = "run",
	    .line = "oops", .exited = 1, .exit_code = 3 };

	(void)state;
	check(&in, "run: exit status 3: oops");
	in.exited = 0;
	in.term_signal = 9;
	in.line = NULL;
	check(&in, "run: killed by signal 9 (Killed)");
	in.step = NULL;
	in.exited = 1;
	in.exit_code = 65;
	in.line = "keeper exec-def: agents/x.org:3: bad block";
	check(&in, "exit status 65: keeper exec-def: agents/x.org:3: bad block");
}

static void
test_timeout_beats_what_was_said(void **state)
{
	struct reason_in in = { .outcome = OUTCOME_KILLED, .step = "work",
	    .said = "work: killed by signal 9 (Killed)", .said_log = 1,
	    .line = "still going", .timeout_ms = 2000 };

	(void)state;
	check(&in, "work: killed after the 2000 ms timeout: still going");
}

static void
test_last_line(void **state)
{
	const char *log = "first\nsecond  \n\n  \r\n";
	char *l;

	(void)state;
	l = reason_last_line(log, strlen(log), 0);
	assert_string_equal(l, "second");
	free(l);
	/* only what the step printed, from where it began */
	assert_null(reason_last_line(log, strlen(log), 13));
	l = reason_last_line("a\n\x1b[31mred\x1b[0m\n", 14, 0);
	assert_string_equal(l, " [31mred [0m");
	free(l);
	l = reason_last_line("no newline at all", 17, 3);
	assert_string_equal(l, "newline at all");
	free(l);
	assert_null(reason_last_line("", 0, 0));
	assert_null(reason_last_line(NULL, 0, 0));
}

static void
test_long_line_is_cut(void **state)
{
	char buf[1000], *l;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	l = reason_last_line(buf, sizeof(buf), 0);
	assert_int_equal(strlen(l), REASON_LINE_MAX);
	free(l);
}

static void
test_log_from(void **state)
{
	(void)state;
	/* nothing skipped: offsets are the text's */
	assert_int_equal(reason_log_from(5, 100, 100, 0), 5);
	assert_int_equal(reason_log_from(100, 100, 100, 0), 100);
	/* 1000 bytes kept as 100 of text with a 40 byte tail */
	assert_int_equal(reason_log_from(990, 1000, 100, 40), 90);
	assert_int_equal(reason_log_from(960, 1000, 100, 40), 60);
	assert_int_equal(reason_log_from(10, 1000, 100, 40), 60);
	assert_int_equal(reason_log_from(1000, 1000, 100, 40), 100);
}

static void
test_url_host(void **state)
{
	char h[64];

	(void)state;
	llm_url_host("http://127.0.0.1:8000/v1/chat/completions", h, sizeof(h));
	assert_string_equal(h, "127.0.0.1:8000");
	llm_url_host("https://user:pw@api.example.com/v1?x=1", h, sizeof(h));
	assert_string_equal(h, "api.example.com");
	llm_url_host("http://[::1]:9/v1", h, sizeof(h));
	assert_string_equal(h, "[::1]:9");
}

static void
test_rundoc(void **state)
{
	struct run_rec r = { .id = 7, .agent = "w", .trigger = "schedule",
	    .state = "", .started_ms = 1000, .ended_ms = 1500,
	    .duration_ms = 500, .outcome = OUTCOME_FAILED, .exit_code = 2,
	    .output_head = "a\0b\xff", .output_head_len = 4,
	    .error = "work: exit status 2", .steps = "prep ok 3\nmy work "
	    "failed 12\n", .log = "bad \xfe byte\n", .committed_ms = 1600,
	    .tokens_prompt = -1, .tokens_completion = -1 };
	json_t *d = rundoc_json(&r, 1), *s;
	const char *t;

	(void)state;
	t = json_string_value(json_object_get(d, "result"));
	assert_int_equal(json_string_length(json_object_get(d, "result")), 6);
	assert_memory_equal(t, "a\0b\xef\xbf\xbd", 6);
	assert_string_equal(json_string_value(json_object_get(d, "log")),
	    "bad \xef\xbf\xbd byte\n");
	assert_int_equal(json_integer_value(json_object_get(d, "committed")),
	    1600);
	assert_true(json_is_false(json_object_get(d, "running")));
	s = json_object_get(d, "steps");
	assert_int_equal(json_array_size(s), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    s, 1), "name")), "my work");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    s, 1), "status")), "failed");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    s, 1), "ms")), 12);
	json_decref(d);
	d = rundoc_json(&r, 0);
	assert_null(json_object_get(d, "log"));
	assert_true(json_is_string(json_object_get(d, "steps")));
	assert_true(json_is_string(json_object_get(d, "output_head")));
	json_decref(d);
}

static void
test_runlive(void **state)
{
	struct runlive *l = runlive_new();
	char *steps, *cur, *log;

	(void)state;
	assert_int_equal(runlive_get(l, "1", &steps, &cur, &log), 0);
	runlive_begin(l, "1", NULL);
	runlive_begin(l, "2", NULL);
	runlive_step_begin(l, "1", "prep");
	runlive_log(l, "1", "hello token=abcdef123456 xyz", 5);
	runlive_step_end(l, "1", "prep ok 3");
	runlive_step_begin(l, "1", "work");
	runlive_log(l, "2", "other token=abcdef123456", 24);
	assert_int_equal(runlive_get(l, "1", &steps, &cur, &log), 1);
	assert_string_equal(steps, "prep ok 3\n");
	assert_string_equal(cur, "work");
	assert_string_equal(log, "hello\n");
	free(steps);
	free(cur);
	free(log);
	runlive_end(l, "1");
	assert_int_equal(runlive_get(l, "1", &steps, &cur, &log), 0);
	assert_int_equal(runlive_get(l, "2", &steps, &cur, &log), 1);
	/* redacted as it is read */
	assert_string_equal(log, "other token=[REDACTED]\n");
	free(steps);
	free(cur);
	free(log);
	runlive_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_said_with_and_without_line),
		cmocka_unit_test(test_without_an_interpreter),
		cmocka_unit_test(test_timeout_beats_what_was_said),
		cmocka_unit_test(test_last_line),
		cmocka_unit_test(test_long_line_is_cut),
		cmocka_unit_test(test_log_from),
		cmocka_unit_test(test_url_host),
		cmocka_unit_test(test_rundoc),
		cmocka_unit_test(test_runlive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
