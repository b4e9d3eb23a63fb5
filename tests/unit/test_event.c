/*
 * test_event: the run event protocol end to end: lines the writer makes
 * (cut at a character boundary, newlines folded), texts of step-end and
 * usage, and the reader splitting a stream fed in pieces of every size
 * back into the same kinds and texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "util.h"

static void
test_line(void **state)
{
	char buf[EVENT_LINE_MAX], big[10000];
	size_t n;

	(void)state;
	n = event_line(buf, EVENT_STEP, "hello", 5);
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "step hello\n", 11);

	n = event_line(buf, EVENT_THOUGHT, "a\nb\rc", 5);
	assert_memory_equal(buf, "thought a b c\n", n);

	memset(big, 'x', sizeof(big));
	n = event_line(buf, EVENT_STEP, big, sizeof(big));
	assert_int_equal(n, EVENT_LINE_MAX);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal(buf[n - 2], 'x');

	/* "é" is two bytes; one that straddles the limit is dropped whole. */
	for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	n = event_line(buf, EVENT_STEP, big, sizeof(big));	/* 5 + 4090 */
	assert_int_equal(n, EVENT_LINE_MAX);
	assert_int_equal((unsigned char)buf[n - 2], 0xa9);
	/* "thought " leaves 4087 bytes: the 2044th "é" would straddle. */
	n = event_line(buf, EVENT_THOUGHT, big, sizeof(big));
	assert_int_equal(n, 8 + 4086 + 1);
	assert_int_equal(buf[n - 1], '\n');
	assert_int_equal((unsigned char)buf[n - 2], 0xa9);
}

static void
test_texts(void **state)
{
	char buf[128];
	long p = 0, c = 0;
	int n;

	(void)state;
	n = event_step_end_text(buf, sizeof(buf), "fetch news", 5, "ok", 12);
	assert_string_equal(buf, "fetch ok 12");
	assert_int_equal(n, 11);
	n = event_usage_text(buf, sizeof(buf), 10, -1, 30);
	assert_string_equal(buf, "10 0 30");
	assert_int_equal(n, 7);
	assert_int_equal(event_usage(buf, &p, &c), 0);
	assert_int_equal(p, 10);
	assert_int_equal(c, 0);
	assert_int_equal(event_usage("12", &p, &c), -1);
	assert_int_equal(event_usage("x 1 2", &p, &c), -1);
}

/* What the reader reported: "kind|text\n" per event. */
static void
collect(const char *kind, const char *text, void *arg)
{
	sb_addf(arg, "%s|%s\n", kind, text);
}

static char *
read_all(const char *stream, size_t len, size_t piece)
{
	struct event_reader r = { 0 };
	struct sb got = { 0 };

	for (size_t at = 0; at < len; at += piece)
		event_feed(&r, stream + at, len - at < piece ? len - at : piece,
		    collect, &got);
	event_end(&r, collect, &got);
	return sb_detach(&got);
}

static void
test_reader(void **state)
{
	static const char stream[] = "step-begin fetch\n"
	    "step ::x:: y\r\n"
	    "\n"
	    "usage 1 2 3\n"
	    "bare\n"
	    "thought a\0b\n"
	    "step-end fetch ok 5\n"
	    "last without newline";
	static const char want[] = "step-begin|fetch\n"
	    "step|::x:: y\n"
	    "usage|1 2 3\n"
	    "bare|\n"
	    "thought|a b\n"
	    "step-end|fetch ok 5\n"
	    "last|without newline\n";

	(void)state;
	for (size_t piece = 1; piece <= sizeof(stream); piece++) {
		char *got = read_all(stream, sizeof(stream) - 1, piece);

		if (strcmp(got, want) != 0)
			fail_msg("pieces of %zu:\n%s", piece, got);
		free(got);
	}
}

static void
test_reader_bounds(void **state)
{
	struct sb in = { 0 }, want = { 0 };
	char buf[EVENT_LINE_MAX], text[EVENT_LINE_MAX], *got;
	size_t n;

	(void)state;
	/* The longest line the writer makes comes back whole. */
	memset(text, 'y', sizeof(text));
	n = event_line(buf, EVENT_STEP, text, sizeof(text));
	assert_int_equal(n, EVENT_LINE_MAX);
	sb_add(&in, buf, n);
	sb_adds(&want, "step|");
	sb_add(&want, text, n - 6);
	sb_addc(&want, '\n');
	/* A longer one (a word with no space) is cut to EVENT_LINE_MAX - 1
	 * bytes, and the line after it is read as usual. */
	for (int i = 0; i < 3 * EVENT_LINE_MAX; i++)
		sb_addc(&in, 'z');
	sb_adds(&in, "\nstep after\n");
	for (int i = 0; i < EVENT_LINE_MAX - 1; i++)
		sb_addc(&want, 'z');
	sb_adds(&want, "|\nstep|after\n");
	got = read_all(in.buf, in.len, 1000);
	assert_string_equal(got, want.buf);
	free(got);
	/* An over-long last line without its newline is reported once. */
	sb_reset(&in);
	sb_reset(&want);
	for (int i = 0; i < EVENT_LINE_MAX + 10; i++)
		sb_addc(&in, 'w');
	for (int i = 0; i < EVENT_LINE_MAX - 1; i++)
		sb_addc(&want, 'w');
	sb_adds(&want, "|\n");
	got = read_all(in.buf, in.len, 7);
	assert_string_equal(got, want.buf);
	free(got);
	sb_release(&in);
	sb_release(&want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
