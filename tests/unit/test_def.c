/*
 * Unit tests for def: the agent def model of SPEC §6, and the org-babel
 * header argument parser (reached through def.c itself).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "def.c"
#include "testutil.h"

static struct agent_def *
parse(const char *text, struct diag *d)
{
	struct agent_def *df = (struct agent_def *)1;
	int rc = def_parse("a.org", text, strlen(text), &df, d);

	expect_parsed(rc, df);
	return df;
}

static void
expect_error(const char *text, const char *msg)
{
	struct diag d = { 0 };

	assert_null(parse(text, &d));
	expect_one(&d, msg);
}

static void
test_steps_in_order(void **state)
{
	const char *text =
	    "#+TITLE: writer\n"
	    "#+MODEL: gpt-x\n"
	    "#+SYSTEM: You write news.\n"
	    "#+SYSTEM: Be brief.\n"
	    "* Gather\n"
	    "Some prose first.\n"
	    "#+BEGIN_SRC sh :timeout 30s :dir sub\n"
	    "git log -1\n"
	    "#+END_SRC\n"
	    "#+BEGIN_EXAMPLE\n"
	    "not a step\n"
	    "#+END_EXAMPLE\n"
	    "* Draft\n"
	    "** Details\n"
	    "#+begin_src llm :model other :system \"Be: terse\"\n"
	    "Summarise {{Gather}} for {{agent}}.\n"
	    "#+end_src\n"
	    "* Publish\n"
	    "#+BEGIN_SRC bash\n"
	    "cat > out.md\n"
	    "#+END_SRC\n";
	struct diag d = { 0 };
	struct agent_def *df;

	(void)state;
	df = parse(text, &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(df->path, "a.org");
	assert_string_equal(df->title, "writer");
	assert_string_equal(df->model, "gpt-x");
	assert_string_equal(df->system, "You write news.\nBe brief.");
	assert_int_equal(df->nsteps, 3);

	assert_string_equal(df->steps[0].name, "Gather");
	assert_int_equal(df->steps[0].line, 7);
	assert_int_equal(df->steps[0].lang, DEF_SH);
	assert_string_equal(df->steps[0].body, "git log -1\n");
	assert_int_equal(df->steps[0].timeout_ms, 30000);
	assert_string_equal(df->steps[0].dir, "sub");
	assert_null(df->steps[0].model);
	assert_string_equal(def_arg(&df->steps[0], "timeout"), "30s");
	assert_null(def_arg(&df->steps[0], "model"));

	/* The nearest heading above names the step, whatever its level. */
	assert_string_equal(df->steps[1].name, "Details");
	assert_int_equal(df->steps[1].lang, DEF_LLM);
	assert_string_equal(df->steps[1].model, "other");
	assert_string_equal(df->steps[1].system, "Be: terse");
	assert_string_equal(df->steps[1].body,
	    "Summarise {{Gather}} for {{agent}}.\n");
	assert_int_equal(df->steps[1].timeout_ms, 0);

	assert_string_equal(df->steps[2].name, "Publish");
	assert_int_equal(df->steps[2].lang, DEF_BASH);
	assert_int_equal(df->steps[2].nargs, 0);
	def_free(df);
}

static void
test_unnamed_and_named_blocks(void **state)
{
	const char *text =
	    "#+BEGIN_SRC sh\n"
	    "echo one\n"
	    "#+END_SRC\n"
	    "#+NAME: second\n"
	    "#+BEGIN_SRC sh\n"
	    "echo two\n"
	    "#+END_SRC\n"
	    "* Head\n"
	    "#+BEGIN_SRC sh\n"
	    "echo three\n"
	    "#+END_SRC\n"
	    "#+NAME: four\n"
	    "#+HEADER: :timeout 5s :dir up\n"
	    "#+header: :timeout 6s :model m\n"
	    "#+BEGIN_SRC sh :dir x\n"
	    "echo four\n"
	    "#+END_SRC\n"
	    "* Five\n"
	    "#+NAME: detached\n"
	    "\n"
	    "#+BEGIN_SRC sh\n"
	    "echo five\n"
	    "#+END_SRC\n";
	struct diag d = { 0 };
	struct agent_def *df;

	(void)state;
	const char *want[] = {
		"a.org:15: warning: :model is ignored in sh blocks",
		NULL
	};

	df = parse(text, &d);
	expect_diag(&d, want);
	diag_release(&d);
	assert_int_equal(df->nsteps, 5);
	assert_string_equal(df->steps[0].name, "step-1");
	assert_string_equal(df->steps[1].name, "second");
	assert_string_equal(df->steps[2].name, "Head");
	/* #+NAME: beats the heading, so two blocks can share one. */
	assert_string_equal(df->steps[3].name, "four");
	/* Lower #+HEADER: lines win over upper ones, the BEGIN line over
	 * both. */
	assert_int_equal(df->steps[3].timeout_ms, 6000);
	assert_string_equal(df->steps[3].dir, "x");
	assert_string_equal(df->steps[3].model, "m");
	/* A blank line detaches a #+NAME: from the block. */
	assert_string_equal(df->steps[4].name, "Five");
	def_free(df);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("", "a.org: no steps (an agent def needs at least one "
	    "sh, bash or llm src block)");
	expect_error("* A\n#+BEGIN_EXAMPLE\nx\n#+END_EXAMPLE\n",
	    "a.org: no steps (an agent def needs at least one sh, bash or llm "
	    "src block)");
	expect_error("* A\n#+BEGIN_SRC python\nprint(1)\n#+END_SRC\n",
	    "a.org:2: unsupported language 'python' (expected sh, bash or "
	    "llm)");
	expect_error("* A\n#+BEGIN_SRC\nx\n#+END_SRC\n",
	    "a.org:2: src block without a language");
	expect_error("* A\n#+BEGIN_SRC sh :timeout soon\nx\n#+END_SRC\n",
	    "a.org:2: invalid duration 'soon' for :timeout");
	expect_error("* A\n#+BEGIN_SRC sh :timeout 0\nx\n#+END_SRC\n",
	    "a.org:2: invalid duration '0' for :timeout");
	expect_error("* A\n#+BEGIN_SRC llm :system \"oops\nx\n#+END_SRC\n",
	    "a.org:2: unterminated quote in header argument ':system'");
	expect_error("* A\n#+BEGIN_SRC llm\n\n  \n#+END_SRC\n",
	    "a.org:2: empty llm template");
	expect_error("* prev\n#+BEGIN_SRC sh\nx\n#+END_SRC\n",
	    "a.org:2: step name 'prev' is reserved for {{prev}}");
	expect_error("* A\n#+BEGIN_SRC sh\nx\n#+END_SRC\n"
	    "* B\n#+BEGIN_SRC sh\ny\n#+END_SRC\n"
	    "* A\n#+BEGIN_SRC sh\nz\n#+END_SRC\n",
	    "a.org:10: duplicate step name 'A' (first at line 2)");
	expect_error("* A\n#+BEGIN_SRC sh\nx\n#+END_SRC\n"
	    "#+BEGIN_SRC sh\ny\n#+END_SRC\n",
	    "a.org:5: duplicate step name 'A' (first at line 2)");
}

static void
test_warnings(void **state)
{
	const char *text =
	    "#+MODLE: x\n"
	    "#+STARTUP: showall\n"
	    "* A\n"
	    "#+BEGIN_SRC sh :model m :system s\n"
	    "#+END_SRC\n"
	    "* B\n"
	    "#+BEGIN_SRC llm :dir d\n"
	    "hi\n"
	    "#+END_SRC\n";
	const char *want[] = {
		"a.org:1: warning: unknown keyword '#+MODLE:'",
		"a.org:4: warning: :model is ignored in sh blocks",
		"a.org:4: warning: :system is ignored in sh blocks",
		"a.org:4: warning: empty sh block",
		"a.org:7: warning: :dir is ignored in llm blocks",
		NULL
	};
	struct diag d = { 0 };
	struct agent_def *df;

	(void)state;
	df = parse(text, &d);
	expect_diag(&d, want);
	assert_int_equal(df->nsteps, 2);
	def_free(df);
	diag_release(&d);
}

static void
test_commented_subtree_skipped(void **state)
{
	struct diag d = { 0 };
	struct agent_def *df;

	(void)state;
	df = parse("* COMMENT Off\n** Inner\n#+BEGIN_SRC python\nx\n#+END_SRC\n"
	    "* On\n#+BEGIN_SRC sh\ny\n#+END_SRC\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(df->nsteps, 1);
	assert_string_equal(df->steps[0].name, "On");
	def_free(df);
}

/* Header arguments parsed alone, as org-babel splits them. */
static struct def_step
args(const char *s, int *rc)
{
	struct def_step st;
	struct diag d = { 0 };

	memset(&st, 0, sizeof(st));
	*rc = parse_args(&st, s, "a.org", 1, &d);
	diag_release(&d);
	return st;
}

static void
test_header_args(void **state)
{
	struct def_step st;
	int rc;

	(void)state;
	st = args(":timeout 30s :dir sub :model gpt-x", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(st.nargs, 3);
	assert_string_equal(st.args[0].key, "timeout");
	assert_string_equal(st.args[0].value, "30s");
	assert_string_equal(st.args[1].key, "dir");
	assert_string_equal(st.args[1].value, "sub");
	assert_string_equal(st.args[2].value, "gpt-x");
	step_release(&st);

	/* Unquoted values run to the next " :"; quotes keep " :" inside. */
	st = args("-n -r :system You are a careful editor :results "
	    "output :system2 \"a :b \\\"c\\\" \\\\ d\"  :flag", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(st.nargs, 4);
	assert_string_equal(st.args[0].value, "You are a careful editor");
	assert_string_equal(st.args[1].key, "results");
	assert_string_equal(st.args[1].value, "output");
	assert_string_equal(st.args[2].value, "a :b \"c\" \\ d");
	assert_string_equal(st.args[3].key, "flag");
	assert_string_equal(st.args[3].value, "");
	assert_string_equal(def_arg(&st, "flag"), "");
	assert_null(def_arg(&st, "nope"));
	step_release(&st);

	/* A value that only starts with a quote is taken as written. */
	st = args(":var x=\"1\" y=2 :dir \"a b\"", &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(st.args[0].value, "x=\"1\" y=2");
	assert_string_equal(st.args[1].value, "a b");
	step_release(&st);

	st = args(":x \"a\"b :y 1", &rc);
	assert_string_equal(st.args[0].value, "\"a\"b");
	assert_string_equal(st.args[1].value, "1");
	step_release(&st);

	/* The last of a repeated argument wins. */
	st = args(":dir a :dir b", &rc);
	assert_string_equal(def_arg(&st, "dir"), "b");
	step_release(&st);

	st = args(":system \"never closed", &rc);
	assert_int_equal(rc, -1);
	step_release(&st);

	st = args("", &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(st.nargs, 0);
	step_release(&st);
}

static void
test_binary_input(void **state)
{
	static const char bin[] = "* \x01\x02\n#+BEGIN_SRC sh :x \"\\\n\0\xff"
	    "\n#+END_SRC\n#+BEGIN_SRC llm\n\0\n#+END_SRC\n";
	static const char *const want[] = {
		"a.org:2: unterminated quote in header argument ':x'",
		"a.org:5: empty llm template",
		NULL
	};
	struct diag d = { 0 };
	struct agent_def *df = NULL;
	int rc;

	(void)state;
	/* Control bytes, NULs and invalid UTF-8 are problems found at their
	 * lines, never a crash or a def. */
	rc = def_parse("a.org", bin, sizeof(bin) - 1, &df, &d);
	assert_int_equal(rc, -1);
	assert_null(df);
	expect_diag(&d, want);
	def_free(df);
	diag_release(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_in_order),
		cmocka_unit_test(test_unnamed_and_named_blocks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_commented_subtree_skipped),
		cmocka_unit_test(test_header_args),
		cmocka_unit_test(test_binary_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
