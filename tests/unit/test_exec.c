/*
 * Unit tests for the def interpreter: {{placeholder}} templates, and one
 * run's events with and without exec_warm() (the event lines themselves
 * are test_event's).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "interp.c"

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

/* ev with the last field of each step-end line (the step's duration in
 * ms) cut: what is left must not depend on timing. */
static char *
without_durations(const char *ev)
{
	struct sb out = { 0 };
	const char *p, *eol, *sp;

	for (p = ev; *p != '\0'; p = *eol ? eol + 1 : eol) {
		eol = p + strcspn(p, "\n");
		sp = eol;
		if (strncmp(p, "step-end ", 9) == 0)
			while (sp > p && sp[-1] != ' ')
				sp--;
		sb_add(&out, p, (size_t)(sp - p));
		sb_addc(&out, '\n');
	}
	return out.buf ? sb_detach(&out) : xstrdup("");
}

/* The events of one run of a def that reports a step with a key in it
 * and a thought (durations cut); *out gets the run's result. */
static char *
run_events(char **out)
{
	static const char text[] = "* s\n#+BEGIN_SRC sh\n"
	    "echo '::step::fetch sk-abcdefghijklmnopqrstu1234'\n"
	    "echo '::thought::hmm'\necho done\n#+END_SRC\n";
	struct agent_def *def = NULL;
	struct diag d = { 0 };
	struct exec_opts o = { .repo = "/", .agent = "t", .state = "s",
	    .hits = "0" };
	char err[512], buf[4096];
	char rtmpl[] = "/tmp/keeper-test-exec-XXXXXX";
	int ev[2], rfd;
	size_t len = 0;
	ssize_t n;

	assert_int_equal(def_parse("t.org", text, sizeof(text) - 1, &def,
	    &d), 0);
	assert_int_equal(pipe(ev), 0);
	assert_true((rfd = mkstemp(rtmpl)) != -1);
	(void)unlink(rtmpl);
	o.event_fd = ev[1];
	assert_int_equal(exec_run(def, &o, rfd, err, sizeof(err)), EXEC_OK);
	close(ev[1]);
	while ((n = read(ev[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(ev[0]);
	n = pread(rfd, err, sizeof(err) - 1, 0);
	assert_true(n >= 0);
	err[n] = '\0';
	*out = xstrdup(err);
	close(rfd);
	def_free(def);
	diag_release(&d);
	return without_durations(buf);
}

static void
test_warm_runs_like_cold(void **state)
{
	char *cold, *warm, *again, *res;

	(void)state;
	assert_null(warm_step_re);
	cold = run_events(&res);
	assert_non_null(strstr(cold, "fetch [REDACTED]"));
	assert_null(strstr(cold, "sk-abc"));
	assert_non_null(strstr(cold, "thought hmm"));
	assert_non_null(strstr(cold, "step-end s ok \n"));
	assert_string_equal(res, "::step::fetch sk-abcdefghijklmnopqrstu1234\n"
	    "::thought::hmm\ndone\n");
	free(res);
	exec_warm();
	assert_non_null(warm_step_re);
	assert_non_null(warm_thought_re);
	warm = run_events(&res);
	free(res);
	/* A run must not free what it did not compile: a second one would
	 * use it after free (ASan). */
	again = run_events(&res);
	free(res);
	assert_string_equal(cold, warm);
	assert_string_equal(warm, again);
	free(cold);
	free(warm);
	free(again);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_warm_runs_like_cold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
