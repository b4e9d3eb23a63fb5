/*
 * test_lines: a stream cut into bounded lines, whatever the chunks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lines.h"
#include "util.h"

struct got {
	struct sb	 text;	/* each line and its end offset */
};

static void
collect(const char *line, size_t len, size_t end, void *arg)
{
	struct got *g = arg;

	sb_add(&g->text, line, len);
	sb_addf(&g->text, "@%zu|", end);
}

static void
feed_all(struct lines *l, const char *s, size_t chunk, struct got *g)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i += chunk)
		lines_feed(l, s + i, n - i < chunk ? n - i : chunk, collect, g);
}

/* The same lines whatever the chunks; end is within the chunk fed. */
static void
split_in_any_chunks(void **state)
{
	const char *in = "one\ntwo\n\nthree";
	const char *line;

	(void)state;
	for (size_t chunk = 1; chunk <= 16; chunk++) {
		struct lines l;
		struct got g = { { 0 } };
		char *want;

		lines_init(&l, 64);
		feed_all(&l, in, chunk, &g);
		assert_non_null(g.text.buf);
		/* chunk 16 holds it all: the ends are offsets in it */
		if (chunk == 16)
			assert_string_equal(g.text.buf, "one@4|two@8|@9|");
		else {
			want = strstr(g.text.buf, "one@");
			assert_ptr_equal(want, g.text.buf);
			assert_non_null(strstr(g.text.buf, "|two@"));
		}
		assert_int_equal(lines_pending(&l, &line), 5);
		assert_memory_equal(line, "three", 5);
		lines_reset(&l);
		assert_int_equal(lines_pending(&l, &line), 0);
		lines_release(&l);
		sb_release(&g.text);
	}
}

/* A line longer than max keeps its start; the next is whole again. */
static void
long_line_cut(void **state)
{
	struct lines l;
	struct got g = { { 0 } };

	(void)state;
	lines_init(&l, 4);
	feed_all(&l, "abcdefgh\nxy\nabcd\n", 3, &g);
	assert_string_equal(g.text.buf, "abcd@3|xy@3|abcd@2|");
	lines_release(&l);
	sb_release(&g.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_in_any_chunks),
		cmocka_unit_test(long_line_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
