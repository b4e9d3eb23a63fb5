/*
 * Unit tests for lcspec: the lifecycle spec model of SPEC §4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"
#include "lcspec.h"
#include "testutil.h"

static const char spec_example[] =
    "#+START: wake_add\n"
    "* wake_add\n"
    ":PROPERTIES:\n"
    ":KIND: wake\n"
    ":REPEAT: 3\n"
    ":NEXT: wake_audit\n"
    ":END:\n"
    "* wake_audit\n"
    ":PROPERTIES:\n"
    ":NEXT: rem\n"
    ":END:\n"
    "* rem\n"
    ":PROPERTIES:\n"
    ":KIND: rem\n"
    ":NEXT: wake_plan\n"
    ":MIN-INTERVAL: 10m\n"
    ":END:\n"
    "* wake_plan\n"
    ":PROPERTIES:\n"
    ":NEXT: wake_add\n"
    ":DEF: ../agents/planner.org\n"
    ":END:\n";

static struct lc_spec *
parse(const char *path, const char *text, struct diag *d)
{
	struct lc_spec *sp = (struct lc_spec *)1;
	int rc = lc_spec_parse(path, text, strlen(text), &sp, d);

	expect_parsed(rc, sp);
	return sp;
}

static void
expect_error(const char *text, const char *msg)
{
	struct diag d = { 0 };

	assert_null(parse("lc.org", text, &d));
	expect_one(&d, msg);
}

static void
test_spec_example(void **state)
{
	struct diag d = { 0 };
	struct lc_spec *sp;

	(void)state;
	sp = parse("crews/writer-loop.org", spec_example, &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(sp->path, "crews/writer-loop.org");
	assert_int_equal(sp->nstates, 4);
	assert_int_equal(sp->start, 0);
	assert_string_equal(sp->states[0].name, "wake_add");
	assert_int_equal(sp->states[0].line, 2);
	assert_int_equal(sp->states[0].kind, LC_WAKE);
	assert_int_equal(sp->states[0].repeat, 3);
	assert_int_equal(sp->states[0].next, 1);
	assert_int_equal(sp->states[0].min_interval_ms, 0);
	assert_null(sp->states[0].def);
	assert_int_equal(sp->states[1].kind, LC_WAKE);
	assert_int_equal(sp->states[1].repeat, 1);
	assert_int_equal(sp->states[1].next, 2);
	assert_int_equal(sp->states[2].kind, LC_REM);
	assert_int_equal(sp->states[2].next, 3);
	assert_int_equal(sp->states[2].min_interval_ms, 600000);
	assert_int_equal(sp->states[3].next, 0);
	assert_string_equal(sp->states[3].def, "crews/../agents/planner.org");
	assert_int_equal(sp->states[3].def_line, 21);
	assert_int_equal(lc_spec_find(sp, "rem"), 2);
	assert_int_equal(lc_spec_find(sp, "wake_plan"), 3);
	assert_int_equal(lc_spec_find(sp, "nope"), -1);
	assert_int_equal(lc_spec_find(NULL, "rem"), -1);
	lc_spec_free(sp);
}

static void
test_start_defaults_to_first_and_may_be_later(void **state)
{
	struct diag d = { 0 };
	struct lc_spec *sp;

	(void)state;
	sp = parse("lc.org", "* a\n:PROPERTIES:\n:NEXT: b\n:END:\n"
	    "* b\n:PROPERTIES:\n:NEXT: a\n:END:\n", &d);
	assert_int_equal(sp->start, 0);
	lc_spec_free(sp);
	sp = parse("lc.org", "* a\n:PROPERTIES:\n:NEXT: b\n:END:\n"
	    "* b\n:PROPERTIES:\n:NEXT: a\n:END:\n#+START: b\n", &d);
	assert_int_equal(sp->start, 1);
	lc_spec_free(sp);
	/* A state may loop on itself. */
	sp = parse("lc.org", "* only\n:PROPERTIES:\n:NEXT: only\n:END:\n", &d);
	assert_int_equal(sp->states[0].next, 0);
	lc_spec_free(sp);
	assert_int_equal(d.n, 0);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("", "lc.org: no states (each level-1 heading is a state)");
	expect_error("#+START: a\nJust text.\n** not level one\n",
	    "lc.org: no states (each level-1 heading is a state)");
	expect_error("* a\n:PROPERTIES:\n:KIND: wake\n:END:\n",
	    "lc.org:1: state 'a' has no :NEXT:");
	expect_error("* a\n", "lc.org:1: state 'a' has no :NEXT:");
	expect_error("* a\n:PROPERTIES:\n:NEXT: b\n:END:\n",
	    "lc.org:3: unknown state 'b' in :NEXT:");
	expect_error("* a\n:PROPERTIES:\n:NEXT:\n:END:\n",
	    "lc.org:3: empty :NEXT:");
	expect_error("#+START: zz\n* a\n:PROPERTIES:\n:NEXT: a\n:END:\n",
	    "lc.org:1: unknown state 'zz' in #+START:");
	expect_error("* a\n:PROPERTIES:\n:NEXT: a\n:KIND: nap\n:END:\n",
	    "lc.org:4: invalid :KIND: 'nap' (expected wake or rem)");
	expect_error("* a\n:PROPERTIES:\n:NEXT: a\n:REPEAT: 0\n:END:\n",
	    "lc.org:4: invalid :REPEAT: '0' (expected an integer from 1 to "
	    "1000000)");
	expect_error("* a\n:PROPERTIES:\n:NEXT: a\n:REPEAT: 2x\n:END:\n",
	    "lc.org:4: invalid :REPEAT: '2x' (expected an integer from 1 to "
	    "1000000)");
	expect_error("* a\n:PROPERTIES:\n:NEXT: a\n:MIN-INTERVAL: 1.5h\n"
	    ":END:\n",
	    "lc.org:4: invalid duration '1.5h' for :MIN-INTERVAL:");
	expect_error("* a b\n:PROPERTIES:\n:NEXT: a b\n:END:\n",
	    "lc.org:1: invalid state name 'a b' (letters, digits, '.', '_' "
	    "and '-' only, not starting with '.' or '-')");
}

static void
test_duplicate_state(void **state)
{
	const char *want[] = {
		"lc.org:5: duplicate state 'a' (first at line 1)",
		NULL
	};
	struct diag d = { 0 };

	(void)state;
	assert_null(parse("lc.org", "* a\n:PROPERTIES:\n:NEXT: a\n:END:\n"
	    "* a\n:PROPERTIES:\n:NEXT: a\n:END:\n", &d));
	expect_diag(&d, want);
	diag_release(&d);
}

static void
test_long_name(void **state)
{
	char text[256], name[LC_NAME_MAX + 1];
	struct diag d = { 0 };
	struct lc_spec *sp;

	(void)state;
	memset(name, 'n', LC_NAME_MAX - 1);
	name[LC_NAME_MAX - 1] = '\0';
	snprintf(text, sizeof(text), "* %s\n:PROPERTIES:\n:NEXT: %s\n:END:\n",
	    name, name);
	sp = parse("lc.org", text, &d);	/* 63 characters: fine */
	assert_int_equal(d.n, 0);
	lc_spec_free(sp);
	name[LC_NAME_MAX - 1] = 'n';
	name[LC_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "* %s\n:PROPERTIES:\n:NEXT: %s\n:END:\n",
	    name, name);
	assert_null(parse("lc.org", text, &d));
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.items[0].msg, "too long"));
	diag_release(&d);
}

static void
test_every_error_reported(void **state)
{
	const char *want[] = {
		"lc.org:1: warning: unknown keyword '#+STRAT:'",
		"lc.org:5: invalid :KIND: 'x' (expected wake or rem)",
		"lc.org:7: state 'b' has no :NEXT:",
		"lc.org:4: unknown state 'c' in :NEXT:",
		NULL
	};
	struct diag d = { 0 };

	(void)state;
	assert_null(parse("lc.org", "#+STRAT: a\n* a\n:PROPERTIES:\n"
	    ":NEXT: c\n:KIND: x\n:END:\n* b\n", &d));
	expect_diag(&d, want);
	assert_int_equal(d.nerrors, 3);
	diag_release(&d);
}

static void
test_warnings(void **state)
{
	const char *text =
	    "* a\n"
	    ":PROPERTIES:\n"
	    ":NEXT: r\n"
	    ":NXET: x\n"
	    ":END:\n"
	    "* r\n"
	    ":PROPERTIES:\n"
	    ":KIND: REM\n"
	    ":REPEAT: 2\n"
	    ":DEF: x.org\n"
	    ":NEXT: a\n"
	    ":END:\n"
	    "* lost\n"
	    ":PROPERTIES:\n"
	    ":NEXT: a\n"
	    ":END:\n";
	const char *want[] = {
		"lc.org:4: warning: unknown property ':NXET:'",
		"lc.org:9: warning: rem state 'r' ignores :REPEAT:",
		"lc.org:10: warning: rem state 'r' never uses its :DEF:",
		"lc.org:13: warning: state 'lost' is never reached from 'a'",
		NULL
	};
	struct diag d = { 0 };
	struct lc_spec *sp;

	(void)state;
	sp = parse("lc.org", text, &d);
	expect_diag(&d, want);
	assert_int_equal(sp->states[1].kind, LC_REM);
	lc_spec_free(sp);
	diag_release(&d);
}

static void
test_all_rem_warns(void **state)
{
	const char *want[] = {
		"lc.org:1: warning: no wake state: the agent never runs",
		NULL
	};
	struct diag d = { 0 };
	struct lc_spec *sp;

	(void)state;
	sp = parse("lc.org", "* r\n:PROPERTIES:\n:KIND: rem\n:NEXT: r\n:END:\n",
	    &d);
	expect_diag(&d, want);
	lc_spec_free(sp);
	diag_release(&d);
}

static void
test_commented_state_is_not_a_state(void **state)
{
	struct diag d = { 0 };

	(void)state;
	assert_null(parse("lc.org", "* a\n:PROPERTIES:\n:NEXT: old\n:END:\n"
	    "* COMMENT old\n:PROPERTIES:\n:NEXT: a\n:END:\n", &d));
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.items[0].msg, "unknown state 'old' in :NEXT:");
	diag_release(&d);
}

static void
test_many_states_linear(void **state)
{
	/* 20000 states in a ring: resolution must not be quadratic-slow
	 * enough to matter, and every NEXT must resolve. */
	struct diag d = { 0 };
	struct lc_spec *sp;
	char *text, *p;
	size_t n = 20000;

	(void)state;
	text = malloc(n * 64);
	p = text;
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "* s%zu\n:PROPERTIES:\n:NEXT: s%zu\n:END:\n",
		    i, (i + 1) % n);
	sp = parse("lc.org", text, &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(sp->nstates, n);
	assert_int_equal(sp->states[n - 1].next, 0);
	assert_int_equal(sp->states[17].next, 18);
	lc_spec_free(sp);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_start_defaults_to_first_and_may_be_later),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_duplicate_state),
		cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_all_rem_warns),
		cmocka_unit_test(test_commented_state_is_not_a_state),
		cmocka_unit_test(test_many_states_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
