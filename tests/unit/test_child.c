/* Unit tests for child's pure parts: outcome mapping (the NO-WORK rule
 * itself is test_nowork's) and bounded capture (included .c to reach the
 * static capture code). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "child.c"

/* Token usage from the event pipe adds up; "none yet" is -1. */
static void
usage_adds_up(void **state)
{
	static const char ev[] = "usage 3 4 7\nstep x\nusage 1 1 2\nusage z\n";
	struct child c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.res.tokens_prompt = c.res.tokens_completion = -1;
	event_feed(&c.ev, ev, sizeof(ev) - 1, on_line, &c);
	assert_int_equal(c.res.tokens_prompt, 4);
	assert_int_equal(c.res.tokens_completion, 5);
}

static void
outcomes(void **state)
{
	struct child_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.exited = 1;
	assert_int_equal(child_outcome(&r), OUTCOME_DONE);
	r.out.head = "  NO-WORK: idle";
	r.out.hlen = strlen(r.out.head);
	assert_int_equal(child_outcome(&r), OUTCOME_NO_WORK);
	r.exit_code = 2;	/* a failing exit wins over NO-WORK */
	assert_int_equal(child_outcome(&r), OUTCOME_FAILED);
	r.exit_code = 0;
	r.exited = 0;
	r.term_signal = 9;
	assert_int_equal(child_outcome(&r), OUTCOME_FAILED);
	r.timed_out = 1;
	assert_int_equal(child_outcome(&r), OUTCOME_KILLED);
	r.spawn_error = 2;
	assert_int_equal(child_outcome(&r), OUTCOME_FAILED);
}

static void
capture_is_bounded(void **state)
{
	struct child_capture c;
	char chunk[4096];
	char *t;
	size_t n = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	/* 10 MB in 4 KiB writes, each chunk stamped with its index */
	for (int i = 0; i < 2560; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		cap_add(&c, chunk, sizeof(chunk));
		n += sizeof(chunk);
	}
	cap_add(&c, "THE-END", 7);
	assert_int_equal(c.total, n + 7);
	assert_int_equal(c.hlen, CHILD_HEAD);
	t = child_capture_text(&c);
	assert_true(strlen(t) < CHILD_HEAD + CHILD_TAIL + 100);
	assert_int_equal(t[0], 'a');
	assert_non_null(strstr(t, "bytes skipped"));
	assert_int_equal(strcmp(t + strlen(t) - 7, "THE-END"), 0);
	free(t);
	cap_release(&c);
	/* small output: exactly what was written, no marker */
	cap_add(&c, "hello\n", 6);
	t = child_capture_text(&c);
	assert_string_equal(t, "hello\n");
	free(t);
	cap_release(&c);
	/* one write larger than the tail ring */
	char *big = xmalloc(CHILD_HEAD + 3 * CHILD_TAIL);
	memset(big, 'x', CHILD_HEAD + 3 * CHILD_TAIL);
	big[CHILD_HEAD + 3 * CHILD_TAIL - 1] = 'Z';
	cap_add(&c, big, CHILD_HEAD + 3 * CHILD_TAIL);
	t = child_capture_text(&c);
	assert_int_equal(t[strlen(t) - 1], 'Z');
	free(t);
	free(big);
	cap_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(usage_adds_up),
		cmocka_unit_test(outcomes),
		cmocka_unit_test(capture_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
