/*
 * test_nowork: the NO-WORK rule's one table, asked whole (nowork_match)
 * and in pieces of every size (nowork_feed), which must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "nowork.h"

/* Each text with where its rest begins, 0 when it is not NO-WORK. */
static const struct {
	const char	*text;
	size_t		 len;
	size_t		 rest;
} cases[] = {
	{ "NO-WORK", 7, 7 },
	{ "no-work: queue empty\n", 21, 7 },
	{ " \n\t No-Work\n", 12, 11 },
	{ "  \n\tno-work: nothing new", 24, 11 },
	{ "No-Work.", 8, 7 },
	{ "NO-WORK-today", 13, 7 },
	{ "NO-WORK today", 13, 7 },
	{ "NO-WORK\xc3\xa9", 9, 7 },		/* not an ASCII word byte */
	{ "NO-WORK\0x", 9, 7 },
	{ "NO-WORKER", 9, 0 },
	{ "NO-WORK_x", 9, 0 },
	{ "NO-WORK_1", 9, 0 },
	{ "NO-WORK2", 8, 0 },
	{ "NO-WORKER", 6, 0 },			/* only "NO-WOR" given */
	{ "NO-WOR", 6, 0 },
	{ "NOWORK", 6, 0 },
	{ "NO WORK", 7, 0 },
	{ "x NO-WORK", 9, 0 },
	{ "\0NO-WORK", 8, 0 },
	{ "", 0, 0 },
	{ "  ", 2, 0 },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

static void
test_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		size_t got = nowork_match(cases[i].text, cases[i].len);

		if (got != cases[i].rest)
			fail_msg("case %zu \"%s\": %zu, want %zu", i,
			    cases[i].text, got, cases[i].rest);
	}
}

static void
test_in_pieces(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++)
		for (size_t piece = 1; piece <= cases[i].len + 1; piece++) {
			struct nowork nw = { 0 };

			for (size_t at = 0; at < cases[i].len; at += piece)
				nowork_feed(&nw, cases[i].text + at,
				    cases[i].len - at < piece ?
				    cases[i].len - at : piece);
			if (nowork_result(&nw) != (cases[i].rest > 0))
				fail_msg("case %zu \"%s\" in pieces of %zu",
				    i, cases[i].text, piece);
		}
}

static void
test_answer_so_far(void **state)
{
	struct nowork nw = { 0 };

	(void)state;
	nowork_feed(&nw, "  ", 2);
	nowork_feed(&nw, "\n", 1);
	nowork_feed(&nw, "no", 2);
	nowork_feed(&nw, "-wo", 3);
	assert_false(nowork_result(&nw));
	nowork_feed(&nw, "rk", 2);
	assert_true(nowork_result(&nw));
	nowork_feed(&nw, "er and more", 11);
	assert_false(nowork_result(&nw));
	/* Whatever comes after the first bytes changes nothing. */
	memset(&nw, 0, sizeof(nw));
	nowork_feed(&nw, "NO-WORK", 7);
	nowork_feed(&nw, ": x", 3);
	nowork_feed(&nw, "WORKER", 6);
	assert_true(nowork_result(&nw));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_in_pieces),
		cmocka_unit_test(test_answer_so_far),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
