/*
 * Helpers shared by the unit tests of the parsed models (crew, lcspec,
 * def). Each tests/unit/test_*.c is its own binary, so these are static
 * and the header is included after <cmocka.h> and "diag.h".
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

/*
 * A model parser returns 0 with a model, or -1 with none: check that the
 * pair (rc, p) is one of the two.
 */
static void
expect_parsed(int rc, const void *p)
{
	if (rc == 0)
		assert_non_null(p);
	else {
		assert_int_equal(rc, -1);
		assert_null(p);
	}
}

/* The diag holds exactly the formatted messages in want, in order. */
static void
expect_diag(const struct diag *d, const char *const *want)
{
	size_t n = 0;

	for (; want[n]; n++) {
		char *s;

		if (n >= d->n)
			fail_msg("missing problem: %s", want[n]);
		s = diag_format(&d->items[n]);
		if (strcmp(s, want[n]) != 0) {
			fprintf(stderr, "got:  %s\nwant: %s\n", s, want[n]);
			free(s);
			fail();
		}
		free(s);
	}
	if (d->n != n) {
		char *s = diag_format(&d->items[n]);

		fprintf(stderr, "unexpected problem: %s\n", s);
		free(s);
		fail();
	}
}

/* The diag holds exactly one problem, msg; release it. */
static void
expect_one(struct diag *d, const char *msg)
{
	const char *want[] = { msg, NULL };

	expect_diag(d, want);
	diag_release(d);
}

#endif
