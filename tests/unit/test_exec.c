/*
 * Unit tests for the pure parts of the def interpreter: the NO-WORK rule,
 * event lines and {{placeholder}} templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/exec.c"

static void
test_no_work(void **state)
{
	(void)state;
	assert_true(exec_is_no_work("NO-WORK", 7));
	assert_true(exec_is_no_work("no-work: queue empty\n", 21));
	assert_true(exec_is_no_work(" \n\t No-Work\n", 12));
	assert_true(exec_is_no_work("NO-WORK-today", 13));
	assert_true(exec_is_no_work("NO-WORK.", 8));
	assert_false(exec_is_no_work("NO-WORKER", 9));
	assert_false(exec_is_no_work("NO-WORK_x", 9));
	assert_false(exec_is_no_work("NO-WOR", 6));
	assert_false(exec_is_no_work("", 0));
	assert_false(exec_is_no_work("  ", 2));
	assert_false(exec_is_no_work("x NO-WORK", 9));
	assert_false(exec_is_no_work("NOWORK", 6));
	/* len bounds the look, not a NUL */
	assert_false(exec_is_no_work("NO-WORKER", 6));
}

static void
test_no_work_in_pieces(void **state)
{
	struct exec_nowork nw = { 0 };

	(void)state;
	exec_nowork_feed(&nw, "  ", 2);
	exec_nowork_feed(&nw, "\n", 1);
	exec_nowork_feed(&nw, "no", 2);
	exec_nowork_feed(&nw, "-wo", 3);
	assert_false(exec_nowork_result(&nw));
	exec_nowork_feed(&nw, "rk", 2);
	assert_true(exec_nowork_result(&nw));
	exec_nowork_feed(&nw, "er and more", 11);
	assert_false(exec_nowork_result(&nw));

	memset(&nw, 0, sizeof(nw));
	exec_nowork_feed(&nw, "NO-WORK", 7);
	exec_nowork_feed(&nw, ": x", 3);
	assert_true(exec_nowork_result(&nw));
}

static void
test_event_line(void **state)
{
	char buf[EXEC_EVENT_MAX], big[10000];
	size_t n;

	(void)state;
	n = exec_event_line(buf, "step", "hello", 5);
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "step hello\n", 11);

	n = exec_event_line(buf, "thought", "a\nb\rc", 5);
	assert_memory_equal(buf, "thought a b c\n", n);

	memset(big, 'x', sizeof(big));
	n = exec_event_line(buf, "step", big, sizeof(big));
	assert_int_equal(n, EXEC_EVENT_MAX);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(buf[n - 2], 'x');

	/* "é" is two bytes; one that straddles the limit is dropped whole */
	for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	n = exec_event_line(buf, "step", big, sizeof(big));	/* 5 + 4090 */
	assert_true(n <= EXEC_EVENT_MAX);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal((unsigned char)buf[n - 2], 0xa9);
	assert_int_equal((n - 1 - 5) % 2, 0);
}

static int
lookup(void *arg, const char *name, char **val, size_t *len, char *err,
    size_t errlen)
{
	(void)arg;
	if (strcmp(name, "prev") == 0)
		*val = xstrdup("PREV");
	else if (strcmp(name, "gather notes") == 0)
		*val = xstrdup("notes{{prev}}");
	else if (strcmp(name, "broken") == 0) {
		snprintf(err, errlen, "step \"broken\" has no output");
		return -2;
	} else
		return -1;
	*len = strlen(*val);
	return 0;
}

static void
expect(const char *tmpl, const char *want)
{
	struct sb out = { 0 };
	char err[256] = "";

	assert_int_equal(exec_template(tmpl, lookup, NULL, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.buf ? out.buf : "", want);
	sb_release(&out);
}

static void
expect_err(const char *tmpl, const char *want)
{
	struct sb out = { 0 };
	char err[256] = "";

	assert_int_equal(exec_template(tmpl, lookup, NULL, &out, err,
	    sizeof(err)), -1);
	assert_string_equal(err, want);
	sb_release(&out);
}

static void
test_template(void **state)
{
	(void)state;
	expect("", "");
	expect("plain", "plain");
	expect("a {{prev}} b", "a PREV b");
	expect("{{ prev }}{{prev}}", "PREVPREV");
	/* values are not expanded again */
	expect("[{{gather notes}}]", "[notes{{prev}}]");
	/* not placeholders: unclosed, across lines, braces inside, empty */
	expect("{{prev", "{{prev");
	expect("{{pr\nev}}", "{{pr\nev}}");
	expect("{{{prev}}}", "{PREV}");
	expect("{{a{{prev}}", "{{aPREV");
	expect("{{}} {{ }}", "{{}} {{ }}");
	expect_err("x {{nope}} y", "unknown placeholder {{nope}}");
	expect_err("{{broken}}", "step \"broken\" has no output");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_work),
		cmocka_unit_test(test_no_work_in_pieces),
		cmocka_unit_test(test_event_line),
		cmocka_unit_test(test_template),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
