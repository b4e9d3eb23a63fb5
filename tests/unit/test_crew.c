/*
 * Unit tests for crew: the manifest model of SPEC §3, parsed from strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crew.h"
#include "diag.h"
#include "testutil.h"

static struct crew *
parse(const char *path, const char *text, struct diag *d)
{
	struct crew *c = (struct crew *)1;
	int rc = crew_parse(path, text, strlen(text), &c, d);

	expect_parsed(rc, c);
	return c;
}

/* Parse text expecting failure with exactly one error, msg. */
static void
expect_error(const char *text, const char *msg)
{
	struct diag d = { 0 };

	assert_null(parse("crew.org", text, &d));
	expect_one(&d, msg);
}

static void
test_spec_example(void **state)
{
	const char *text =
	    "#+TITLE: newsroom\n"
	    "#+REPO: ../site\n"
	    "#+CONCURRENCY: 2\n"
	    "* desk\n"
	    ":PROPERTIES:\n"
	    ":DEF: agents/desk.org\n"
	    ":INTERVAL: 45m\n"
	    ":END:\n"
	    "* wren\n"
	    ":PROPERTIES:\n"
	    ":DEF: agents/writer.org\n"
	    ":INTERVAL: 15m\n"
	    ":LIFECYCLE: crews/writer-loop.org\n"
	    ":END:\n";
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("/srv/news/crew.org", text, &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->title, "newsroom");
	assert_string_equal(c->path, "/srv/news/crew.org");
	assert_string_equal(c->dir, "/srv/news");
	assert_string_equal(c->repo, "/srv/news/../site");
	assert_int_equal(c->concurrency, 2);
	assert_int_equal(c->nmembers, 2);
	assert_string_equal(c->members[0].name, "desk");
	assert_int_equal(c->members[0].line, 4);
	assert_string_equal(c->members[0].def, "/srv/news/agents/desk.org");
	assert_int_equal(c->members[0].def_line, 6);
	assert_int_equal(c->members[0].interval_ms, 45 * 60000);
	assert_null(c->members[0].lifecycle);
	assert_int_equal(c->members[0].lifecycle_line, 0);
	assert_string_equal(c->members[1].name, "wren");
	assert_int_equal(c->members[1].interval_ms, 15 * 60000);
	assert_string_equal(c->members[1].lifecycle,
	    "/srv/news/crews/writer-loop.org");
	assert_int_equal(c->members[1].lifecycle_line, 13);
	assert_ptr_equal(crew_find(c, "wren"), &c->members[1]);
	assert_null(crew_find(c, "nobody"));
	crew_free(c);
}

static void
test_defaults(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crews/mine.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->title, "mine");
	assert_string_equal(c->dir, "crews");
	assert_null(c->repo);
	assert_int_equal(c->concurrency, 2);
	assert_int_equal(c->stagger_ms, 30000);
	assert_int_equal(c->boot_grace_ms, 60000);
	assert_int_equal(c->breather_ms, 45000);
	assert_int_equal(c->timeout_ms, 15 * 60000);
	assert_int_equal(c->backoff_base_ms, 60000);
	assert_int_equal(c->backoff_cap_ms, 30 * 60000);
	assert_int_equal(c->retention_ms, 90LL * 86400000);
	assert_string_equal(c->author_domain, "keeper.invalid");
	assert_null(c->step_pattern);
	assert_null(c->thought_pattern);
	assert_int_equal(c->nredact, 0);
	assert_string_equal(c->members[0].def, "crews/a.org");
	assert_int_equal(c->members[0].interval_ms, 3600000);
	assert_int_equal(c->members[0].timeout_ms, 15 * 60000);
	assert_int_equal(c->members[0].continuous, 0);
	assert_null(c->members[0].author);
	crew_free(c);

	/* A manifest in the current directory keeps paths as written. */
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n", &d);
	assert_string_equal(c->members[0].def, "a.org");
	assert_string_equal(c->title, "crew");
	crew_free(c);
	/* Absolute paths stay absolute. */
	c = parse("x/crew.org", "* a\n:PROPERTIES:\n:DEF: /a.org\n:END:\n",
	    &d);
	assert_string_equal(c->members[0].def, "/a.org");
	crew_free(c);
	assert_int_equal(d.n, 0);
}

static void
test_all_keywords(void **state)
{
	const char *text =
	    "#+TITLE: all\n"
	    "#+REPO: /srv/site\n"
	    "#+CONCURRENCY: 5\n"
	    "#+STAGGER: 1s\n"
	    "#+BOOT-GRACE: 200\n"
	    "#+BREATHER: 2m\n"
	    "#+TIMEOUT: 1h30m\n"
	    "#+BACKOFF-BASE: 10s\n"
	    "#+BACKOFF-CAP: 1h\n"
	    "#+RETENTION: 7d\n"
	    "#+AUTHOR-DOMAIN: bots.example.org\n"
	    "#+STEP-PATTERN: ^STEP (.*)$\n"
	    "#+THOUGHT-PATTERN: ^THINK (.*)$\n"
	    "#+REDACT: xoxb-[0-9a-z-]+\n"
	    "#+REDACT: hunter2\n"
	    "#+OPTIONS: toc:nil\n"
	    "* a\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":CONTINUOUS: t\n"
	    ":AUTHOR: Ann Writer <ann@example.org>\n"
	    ":ID: 1234\n"
	    ":END:\n"
	    "* b\n"
	    ":PROPERTIES:\n"
	    ":DEF: b.org\n"
	    ":TIMEOUT: 90s\n"
	    ":CONTINUOUS: nil\n"
	    ":END:\n";
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", text, &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->title, "all");
	assert_string_equal(c->repo, "/srv/site");
	assert_int_equal(c->concurrency, 5);
	assert_int_equal(c->stagger_ms, 1000);
	assert_int_equal(c->boot_grace_ms, 200);
	assert_int_equal(c->breather_ms, 120000);
	assert_int_equal(c->timeout_ms, 5400000);
	assert_int_equal(c->backoff_base_ms, 10000);
	assert_int_equal(c->backoff_cap_ms, 3600000);
	assert_int_equal(c->retention_ms, 7LL * 86400000);
	assert_string_equal(c->author_domain, "bots.example.org");
	assert_string_equal(c->step_pattern, "^STEP (.*)$");
	assert_string_equal(c->thought_pattern, "^THINK (.*)$");
	assert_int_equal(c->nredact, 2);
	assert_string_equal(c->redact[0].regex, "xoxb-[0-9a-z-]+");
	assert_int_equal(c->redact[0].line, 14);
	assert_string_equal(c->redact[1].regex, "hunter2");
	assert_int_equal(c->members[0].continuous, 1);
	assert_string_equal(c->members[0].author,
	    "Ann Writer <ann@example.org>");
	/* A member's timeout defaults to the crew's, wherever it is set. */
	assert_int_equal(c->members[0].timeout_ms, 5400000);
	assert_int_equal(c->members[1].timeout_ms, 90000);
	assert_int_equal(c->members[1].continuous, 0);
	crew_free(c);
}

static void
test_keywords_after_members_apply(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n"
	    "#+TIMEOUT: 5m\n", &d);
	assert_int_equal(c->timeout_ms, 300000);
	assert_int_equal(c->members[0].timeout_ms, 300000);
	crew_free(c);
	diag_release(&d);
}

static void
test_disabled_and_comment(void **state)
{
	const char *text =
	    "* COMMENT old\n"
	    ":PROPERTIES:\n"
	    ":DEF: old.org\n"
	    ":INTERVAL: bogus\n"
	    ":END:\n"
	    "* paused\n"
	    ":PROPERTIES:\n"
	    ":DEF: p.org\n"
	    ":DISABLED: t\n"
	    ":END:\n"
	    "* live\n"
	    ":PROPERTIES:\n"
	    ":DEF: l.org\n"
	    ":DISABLED: nil\n"
	    ":END:\n"
	    "* old\n"
	    ":PROPERTIES:\n"
	    ":DEF: new.org\n"
	    ":END:\n";
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", text, &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->nmembers, 2);
	assert_string_equal(c->members[0].name, "live");
	/* A commented member neither runs nor claims its name. */
	assert_string_equal(c->members[1].name, "old");
	assert_string_equal(c->members[1].def, "new.org");
	crew_free(c);
}

static void
test_missing_def_is_skipped_with_warning(void **state)
{
	const char *text =
	    "* a\n"
	    ":PROPERTIES:\n"
	    ":INTERVAL: 5m\n"
	    ":END:\n"
	    "* b\n"
	    ":PROPERTIES:\n"
	    ":DEF: b.org\n"
	    ":END:\n"
	    "* c\n";
	const char *want[] = {
		"crew.org:1: warning: member 'a' has no :DEF: and is skipped",
		"crew.org:9: warning: member 'c' has no :DEF: and is skipped",
		NULL
	};
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", text, &d);
	expect_diag(&d, want);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(c->nmembers, 1);
	assert_string_equal(c->members[0].name, "b");
	crew_free(c);
	diag_release(&d);
}

static void
test_no_runnable_member_is_valid(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "", &d);
	assert_int_equal(c->nmembers, 0);
	assert_int_equal(d.n, 0);
	crew_free(c);
	c = parse("crew.org", "#+TITLE: idle\nSome notes.\n", &d);
	assert_int_equal(c->nmembers, 0);
	assert_string_equal(c->title, "idle");
	crew_free(c);
	assert_int_equal(d.n, 0);
}

static void
test_duplicate_member(void **state)
{
	(void)state;
	expect_error(
	    "* wren\n:PROPERTIES:\n:DEF: a.org\n:END:\n"
	    "* desk\n:PROPERTIES:\n:DEF: b.org\n:END:\n"
	    "* wren\n:PROPERTIES:\n:DEF: c.org\n:END:\n",
	    "crew.org:9: duplicate member 'wren' (first at line 1)");
}

static void
test_bad_names(void **state)
{
	(void)state;
	expect_error("* two words\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: invalid member name 'two words' (letters, digits, "
	    "'.', '_' and '-' only, not starting with '.' or '-')");
	expect_error("* a/b\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: invalid member name 'a/b' (letters, digits, "
	    "'.', '_' and '-' only, not starting with '.' or '-')");
	expect_error("* .hidden\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: invalid member name '.hidden' (letters, digits, "
	    "'.', '_' and '-' only, not starting with '.' or '-')");
	expect_error("* a..b\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: invalid member name 'a..b' (letters, digits, "
	    "'.', '_' and '-' only, not starting with '.' or '-')");
	expect_error("* "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: member name '"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "' too long (limit 63 characters)");
}

static void
test_good_names(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "* A-z_0.9\n:PROPERTIES:\n:DEF: a.org\n:END:\n"
	    "* x\n:PROPERTIES:\n:DEF: a.org\n:END:\n", &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->members[0].name, "A-z_0.9");
	assert_string_equal(c->members[1].name, "x");
	crew_free(c);
}

static void
test_bad_values(void **state)
{
	(void)state;
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:INTERVAL: fast\n:END:\n",
	    "crew.org:4: invalid duration 'fast' for :INTERVAL:");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:INTERVAL: 0s\n:END:\n",
	    "crew.org:4: :INTERVAL: must be more than zero");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:TIMEOUT: -1m\n:END:\n",
	    "crew.org:4: invalid duration '-1m' for :TIMEOUT:");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:CONTINUOUS: yes\n"
	    ":END:\n",
	    "crew.org:4: invalid :CONTINUOUS: 'yes' (expected t or nil)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:DISABLED: maybe\n"
	    ":END:\n",
	    "crew.org:4: invalid :DISABLED: 'maybe' (expected t or nil)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:AUTHOR: Ann\n:END:\n",
	    "crew.org:4: invalid :AUTHOR: 'Ann' (expected 'Name <email>')");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:AUTHOR: <a@b>\n:END:\n",
	    "crew.org:4: invalid :AUTHOR: '<a@b>' (expected 'Name <email>')");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:AUTHOR: A <> \n:END:\n",
	    "crew.org:4: invalid :AUTHOR: 'A <>' (expected 'Name <email>')");
	expect_error("#+CONCURRENCY: 0\n",
	    "crew.org:1: invalid #+CONCURRENCY: '0' (expected an integer "
	    "from 1 to 1024)");
	expect_error("#+CONCURRENCY: two\n",
	    "crew.org:1: invalid #+CONCURRENCY: 'two' (expected an integer "
	    "from 1 to 1024)");
	expect_error("#+STAGGER: 1.5s\n",
	    "crew.org:1: invalid duration '1.5s' for #+STAGGER:");
	expect_error("#+TIMEOUT: 0\n",
	    "crew.org:1: #+TIMEOUT: must be more than zero");
	expect_error("\n#+RETENTION: forever\n",
	    "crew.org:2: invalid duration 'forever' for #+RETENTION:");
	expect_error("#+REPO:\n", "crew.org:1: empty #+REPO:");
	expect_error("#+CADENCE: start\n",
	    "crew.org:1: invalid #+CADENCE: 'start' (expected after or fixed)");
	expect_error("#+AUTHOR-DOMAIN: a b\n",
	    "crew.org:1: invalid #+AUTHOR-DOMAIN: 'a b' (expected a domain "
	    "name)");
	expect_error("#+REDACT: (unclosed\n",
	    "crew.org:1: invalid regex '(unclosed' in #+REDACT: missing "
	    "closing parenthesis at offset 9");
	expect_error("#+REDACT: x*\n",
	    "crew.org:1: invalid regex 'x*' in #+REDACT: it matches the "
	    "empty string");
	expect_error("#+STEP-PATTERN: [a\n",
	    "crew.org:1: invalid regex '[a' in #+STEP-PATTERN: missing "
	    "terminating ] for character class at offset 2");
}

static void
test_every_error_reported(void **state)
{
	const char *text =
	    "#+STAGGER: soon\n"
	    "* a\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":INTERVAL: 1x\n"
	    ":TIMEOUT: 1y\n"
	    ":END:\n"
	    "* a\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":END:\n";
	const char *want[] = {
		"crew.org:1: invalid duration 'soon' for #+STAGGER:",
		"crew.org:5: invalid duration '1x' for :INTERVAL:",
		"crew.org:6: invalid duration '1y' for :TIMEOUT:",
		"crew.org:8: duplicate member 'a' (first at line 2)",
		NULL
	};
	struct diag d = { 0 };

	(void)state;
	assert_null(parse("crew.org", text, &d));
	expect_diag(&d, want);
	assert_int_equal(d.nerrors, 4);
	diag_release(&d);
}

static void
test_unknown_things_warn(void **state)
{
	const char *text =
	    "#+CONCURENCY: 3\n"
	    "#+STARTUP: overview\n"
	    "#+ATTR_HTML: :width 10\n"
	    "* a\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":INTERVALL: 5m\n"
	    ":CUSTOM_ID: a\n"
	    ":END:\n"
	    "#+CONCURRENCY: 3\n"
	    "#+CONCURRENCY: 4\n";
	const char *want[] = {
		"crew.org:1: warning: unknown keyword '#+CONCURENCY:'",
		"crew.org:11: warning: duplicate #+CONCURRENCY: (overrides "
		    "line 10)",
		"crew.org:7: warning: unknown property ':INTERVALL:'",
		NULL
	};
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", text, &d);
	expect_diag(&d, want);
	assert_int_equal(c->concurrency, 4);
	crew_free(c);
	diag_release(&d);
}

static void
test_backoff_cap_below_base_warns(void **state)
{
	const char *want[] = {
		"crew.org:2: warning: #+BACKOFF-CAP: is less than "
		    "#+BACKOFF-BASE:; the backoff never grows",
		NULL
	};
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "#+BACKOFF-BASE: 10m\n#+BACKOFF-CAP: 1m\n", &d);
	expect_diag(&d, want);
	crew_free(c);
	diag_release(&d);
}

static void
test_nested_headings_are_not_members(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n"
	    "** notes about a\n:PROPERTIES:\n:DEF: n.org\n:END:\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->nmembers, 1);
	crew_free(c);
}

static void
test_binary_input(void **state)
{
	static const char bin[] = "* a\0b\n:PROPERTIES:\n:DEF: x\n:END:\n"
	    "\xff\xfe* \x01\n#+REDACT: \x80\n";
	struct diag d = { 0 };
	struct crew *c = NULL;
	int rc;

	(void)state;
	/* A NUL in a member's name makes it invalid; the bytes after it are
	 * not headings and the pattern compiles: one problem, no crew. */
	rc = crew_parse("crew.org", bin, sizeof(bin) - 1, &c, &d);
	expect_parsed(rc, c);
	assert_int_equal(rc, -1);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.items[0].line, 1);
	assert_non_null(strstr(d.items[0].msg, "invalid member name"));
	crew_free(c);
	diag_release(&d);
}

static void
test_singleton(void **state)
{
	struct crew *c;

	(void)state;
	c = crew_singleton("agents/writer.org", "crews/loop.org", 900000, 0);
	assert_int_equal(c->concurrency, 0);
	assert_int_equal(c->nmembers, 1);
	assert_string_equal(c->members[0].name, "writer");
	assert_string_equal(c->members[0].def, "agents/writer.org");
	assert_string_equal(c->members[0].lifecycle, "crews/loop.org");
	assert_int_equal(c->members[0].interval_ms, 900000);
	assert_int_equal(c->members[0].timeout_ms, 15 * 60000);
	assert_null(c->repo);
	crew_free(c);

	c = crew_singleton("/x/my agent.org", NULL, 0, 5000);
	assert_string_equal(c->members[0].name, "my-agent");
	assert_null(c->members[0].lifecycle);
	assert_int_equal(c->members[0].interval_ms, 3600000);
	assert_int_equal(c->members[0].timeout_ms, 5000);
	assert_int_equal(c->timeout_ms, 5000);
	crew_free(c);

	c = crew_singleton(".org", NULL, 0, 0);
	assert_string_equal(c->members[0].name, "agent");
	crew_free(c);
}

static void
test_load_errors(void **state)
{
	struct diag d = { 0 };
	struct crew *c = (struct crew *)1;

	(void)state;
	assert_int_equal(crew_load("/nonexistent/crew.org", &c, &d), -1);
	assert_null(c);
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.items[0].msg,
	    "cannot open: No such file or directory");
	diag_release(&d);
	assert_int_equal(crew_load("/", &c, &d), -1);
	assert_string_equal(d.items[0].msg, "is a directory");
	diag_release(&d);
}

static void
test_cadence(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n", &d);
	assert_int_equal(c->cadence_fixed, 1);		/* SPEC §5: fixed */
	assert_int_equal(c->members[0].cadence_fixed, 1);
	crew_free(c);
	c = parse("crew.org", "#+CADENCE: fixed\n", &d);
	assert_int_equal(c->cadence_fixed, 1);
	crew_free(c);
	c = parse("crew.org", "#+CADENCE: after\n", &d);
	assert_int_equal(c->cadence_fixed, 0);
	crew_free(c);
	assert_int_equal(d.nerrors, 0);
	diag_release(&d);
}

static void
test_alerts_and_notify(void **state)
{
	/* The defaults apply to every #+ALERT-URL: line, wherever they
	 * stand; a member's :NOTIFY-URL: takes them too. */
	const char *text =
	    "#+ALERT-URL: https://ntfy.sh/ops\n"
	    "#+ALERT-URL: https://api.telegram.org/botT/sendMessage "
	    "format=telegram\n"
	    "#+ALERT-URL: https://hooks.example/x format=slack\n"
	    "#+ALERT-FORMAT: ntfy\n"
	    "#+ALERT-CHAT: -100123\n"
	    "* brief\n:PROPERTIES:\n:DEF: b.org\n:NOTIFY: done\n"
	    ":NOTIFY-URL: https://api.telegram.org/botU/sendMessage "
	    "format=telegram chat=@me\n:END:\n"
	    "* watch\n:PROPERTIES:\n:DEF: w.org\n:NOTIFY: failed\n:END:\n"
	    "* all\n:PROPERTIES:\n:DEF: a.org\n:NOTIFY: always\n:END:\n"
	    "* quiet\n:PROPERTIES:\n:DEF: q.org\n:END:\n";
	struct diag d = { 0 };
	struct crew *c;
	char buf[64];

	(void)state;
	c = parse("crew.org", text, &d);
	assert_non_null(c);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->alerts.n, 3);
	assert_int_equal(c->alerts.v[0].format, ALERT_FMT_NTFY);
	assert_int_equal(c->alerts.v[1].format, ALERT_FMT_TELEGRAM);
	assert_string_equal(c->alerts.v[1].chat, "-100123");
	assert_int_equal(c->alerts.v[2].format, ALERT_FMT_SLACK);
	assert_int_equal(c->members[0].notify, CREW_NOTIFY_DONE);
	assert_int_equal(c->members[0].notify_dests.n, 1);
	assert_string_equal(c->members[0].notify_dests.v[0].chat, "@me");
	assert_int_equal(c->members[1].notify, CREW_NOTIFY_FAILED);
	assert_int_equal(c->members[1].notify_dests.n, 0);
	assert_int_equal(c->members[2].notify, CREW_NOTIFY_ALWAYS);
	assert_int_equal(c->members[3].notify, CREW_NOTIFY_NONE);
	assert_string_equal(crew_member_schedule_text(c, &c->members[0], buf,
	    sizeof(buf)), "every 1h");
	crew_free(c);

	assert_true(crew_notify_wants(CREW_NOTIFY_DONE, OUTCOME_DONE));
	assert_false(crew_notify_wants(CREW_NOTIFY_DONE, OUTCOME_FAILED));
	assert_true(crew_notify_wants(CREW_NOTIFY_FAILED, OUTCOME_KILLED));
	assert_false(crew_notify_wants(CREW_NOTIFY_FAILED, OUTCOME_NO_WORK));
	assert_true(crew_notify_wants(CREW_NOTIFY_ALWAYS, OUTCOME_NO_WORK));
	assert_false(crew_notify_wants(CREW_NOTIFY_ALWAYS, OUTCOME_GATED));
	assert_false(crew_notify_wants(CREW_NOTIFY_ALWAYS, OUTCOME_ERROR));
	assert_false(crew_notify_wants(CREW_NOTIFY_NONE, OUTCOME_DONE));
}

static void
test_alert_errors(void **state)
{
	struct diag d = { 0 };
	struct crew *c;
	char buf[64];

	(void)state;
	expect_error("#+ALERT-FORMAT: teams\n",
	    "crew.org:1: invalid #+ALERT-FORMAT: unknown alert format "
	    "'teams' (json, ntfy, slack, discord, telegram)");
	expect_error("#+TITLE: t\n#+ALERT-URL: https://api.telegram.org/"
	    "botSECRET/sendMessage format=telegram\n",
	    "crew.org:2: invalid #+ALERT-URL: alert destination 1 "
	    "(https://api.telegram.org): telegram needs a chat (chat=ID or "
	    "#+ALERT-CHAT:)");
	expect_error("#+ALERT-URL: ntfy.sh/topic\n",
	    "crew.org:1: invalid #+ALERT-URL: 'ntfy.sh' is not an "
	    "http:// or https:// URL");
	expect_error("#+ALERT-URL:\n", "crew.org:1: empty "
	    "#+ALERT-URL:");
	expect_error("#+ALERT-CHAT: ops room\n",
	    "crew.org:1: invalid #+ALERT-CHAT: 'ops room' (a telegram "
	    "chat: a number, or @channelname)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:NOTIFY: yes\n:END:\n",
	    "crew.org:4: invalid :NOTIFY: 'yes' (expected done, failed "
	    "or always)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:NOTIFY: done\n"
	    ":NOTIFY-URL: https://x.example/y chat=1\n:END:\n",
	    "crew.org:5: invalid :NOTIFY-URL: alert destination 1 "
	    "(https://x.example): chat= is only for telegram");
	/* A URL with nothing to send is only a warning. */
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n"
	    ":NOTIFY-URL: https://x.example/y\n:END:\n", &d);
	assert_non_null(c);
	expect_one(&d, "crew.org:4: warning: :NOTIFY-URL: without :NOTIFY: "
	    "sends nothing");
	/* A continuous member's schedule in words. */
	crew_free(c);
	c = parse("crew.org", "#+BREATHER: 90s\n* a\n:PROPERTIES:\n:DEF: "
	    "a.org\n:CONTINUOUS: t\n:END:\n", &d);
	assert_non_null(c);
	assert_string_equal(crew_member_schedule_text(c, &c->members[0], buf,
	    sizeof(buf)), "continuous, 1m30s breather");
	crew_free(c);
}

/* The git stage's keywords (issue 20): #+DETACHED: and
 * #+MAX-COMMIT-SIZE:, their defaults and their errors. */
static void
test_git_keywords(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n", &d);
	assert_int_equal(c->detached_commit, 0);	/* refuse */
	assert_int_equal(c->max_commit_size, 50LL * 1024 * 1024);
	crew_free(c);
	c = parse("crew.org", "#+DETACHED: commit\n#+MAX-COMMIT-SIZE: 1GB\n",
	    &d);
	assert_int_equal(c->detached_commit, 1);
	assert_int_equal(c->max_commit_size, 1024LL * 1024 * 1024);
	crew_free(c);
	c = parse("crew.org", "#+DETACHED: refuse\n#+MAX-COMMIT-SIZE: none\n",
	    &d);
	assert_int_equal(c->detached_commit, 0);
	assert_int_equal(c->max_commit_size, 0);
	crew_free(c);
	assert_int_equal(d.nerrors, 0);
	diag_release(&d);
	expect_error("#+DETACHED: yes\n",
	    "crew.org:1: invalid #+DETACHED: 'yes' (expected refuse or "
	    "commit)");
	expect_error("#+MAX-COMMIT-SIZE: 5 MB\n",
	    "crew.org:1: invalid size '5 MB' for #+MAX-COMMIT-SIZE: "
	    "(expected e.g. 50MB, 512k, 1GB or none)");
	expect_error("#+MAX-COMMIT-SIZE: 0\n",
	    "crew.org:1: invalid size '0' for #+MAX-COMMIT-SIZE: "
	    "(expected e.g. 50MB, 512k, 1GB or none)");
}

/* SPEC §5b: retries, priorities and a token budget, with the crew's
 * defaults. */
static void
test_hands(void **state)
{
	const char *text =
	    "#+RETRY: 2\n"
	    "#+RETRY-DELAY: 30s\n"
	    "* [#A] a\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":RETRY: 0\n"
	    ":TOKEN-BUDGET: 200000/1d\n"
	    ":END:\n"
	    "* TODO [#C] b\n"
	    ":PROPERTIES:\n"
	    ":DEF: b.org\n"
	    ":RETRY-DELAY: 250ms\n"
	    ":END:\n"
	    "* c\n"
	    ":PROPERTIES:\n"
	    ":DEF: c.org\n"
	    ":END:\n";
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", text, &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(c->members[0].name, "a");
	assert_int_equal(c->members[0].retry, 0);
	assert_int_equal(c->members[0].retry_delay_ms, 30000);
	assert_int_equal(c->members[0].token_budget, 200000);
	assert_int_equal(c->members[0].token_window_ms, 86400000);
	assert_int_equal(c->members[0].priority, 0);
	assert_string_equal(c->members[0].priority_name, "A");
	assert_string_equal(c->members[1].name, "b");
	assert_int_equal(c->members[1].retry, 2);
	assert_int_equal(c->members[1].retry_delay_ms, 250);
	assert_int_equal(c->members[1].priority, 2);
	assert_string_equal(c->members[1].priority_name, "C");
	assert_int_equal(c->members[1].token_budget, 0);
	/* No cookie: org's default, B. */
	assert_int_equal(c->members[2].priority, 1);
	assert_string_equal(c->members[2].priority_name, "B");
	assert_int_equal(c->members[2].retry, 2);
	crew_free(c);

	/* The defaults without any of it. */
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->members[0].retry, 0);
	assert_int_equal(c->members[0].retry_delay_ms, 60000);
	assert_int_equal(c->members[0].priority, 1);
	crew_free(c);
}

/* SPEC §12: the lease's TTL, 10s unless the crew says; never zero (the
 * fleet raises one under etcd's 2 s minimum, keeper(1) FAILOVER). */
static void
test_lease_ttl(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n:END:\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->lease_ttl_ms, 10000);
	crew_free(c);
	c = parse("crew.org", "#+LEASE-TTL: 3s\n* a\n:PROPERTIES:\n"
	    ":DEF: a.org\n:END:\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->lease_ttl_ms, 3000);
	crew_free(c);
	expect_error("#+LEASE-TTL: 0\n* a\n:PROPERTIES:\n:DEF: a.org\n"
	    ":END:\n", "crew.org:1: #+LEASE-TTL: must be more than zero");
}

/* #+PRIORITIES: is org's own (highest lowest default), letters or
 * numbers; a member without a cookie has the default. */
static void
test_priorities_keyword(void **state)
{
	struct diag d = { 0 };
	struct crew *c;

	(void)state;
	c = parse("crew.org", "#+PRIORITIES: A E C\n"
	    "* [#E] a\n:PROPERTIES:\n:DEF: a.org\n:END:\n"
	    "* b\n:PROPERTIES:\n:DEF: b.org\n:END:\n"
	    "* [#A] c\n:PROPERTIES:\n:DEF: c.org\n:END:\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->members[0].priority, 4);
	assert_int_equal(c->members[1].priority, 2);
	assert_string_equal(c->members[1].priority_name, "C");
	assert_int_equal(c->members[2].priority, 0);
	crew_free(c);

	c = parse("crew.org", "#+PRIORITIES: 1 10 5\n"
	    "* [#1] a\n:PROPERTIES:\n:DEF: a.org\n:END:\n"
	    "* b\n:PROPERTIES:\n:DEF: b.org\n:END:\n"
	    "* [#9] c\n:PROPERTIES:\n:DEF: c.org\n:END:\n", &d);
	assert_int_equal(d.n, 0);
	assert_int_equal(c->members[0].priority, 0);
	assert_string_equal(c->members[0].priority_name, "1");
	assert_int_equal(c->members[1].priority, 4);
	assert_string_equal(c->members[1].priority_name, "5");
	assert_int_equal(c->members[2].priority, 8);
	crew_free(c);
}

/* SPEC §5a: the two calendar forms, the zones, catch-up and jitter. */
static void
test_calendar(void **state)
{
	const char *text =
	    "#+TZ: Europe/Stockholm\n"
	    "#+CATCH-UP: 6h\n"
	    "* cron\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":SCHEDULE: 0 6 * * 1-5\n"
	    ":JITTER: 5m\n"
	    ":END:\n"
	    "* org\n"
	    "SCHEDULED: <2026-12-05 Sat 06:00 +1d>\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":TZ: America/New_York\n"
	    ":CATCH-UP: 0\n"
	    ":END:\n"
	    "* daily\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":SCHEDULE: @daily\n"
	    ":CATCH-UP: unlimited\n"
	    ":CADENCE: after\n"
	    ":END:\n"
	    "* plain\n"
	    ":PROPERTIES:\n"
	    ":DEF: a.org\n"
	    ":END:\n";
	struct diag d = { 0 };
	struct crew *c;
	char buf[128];

	(void)state;
	c = parse("crew.org", text, &d);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(c->nmembers, 4);
	assert_string_equal(c->tz, "Europe/Stockholm");
	assert_int_equal(c->catch_up_ms, 6 * 3600000LL);
	assert_true(c->members[0].calendar);
	assert_int_equal(c->members[0].cal.kind, CAL_CRON);
	assert_string_equal(c->members[0].schedule, "0 6 * * 1-5");
	assert_int_equal(c->members[0].schedule_line, 6);
	assert_string_equal(c->members[0].tz, "Europe/Stockholm");
	assert_int_equal(c->members[0].jitter_ms, 300000);
	assert_int_equal(c->members[0].catch_up_ms, 6 * 3600000LL);
	assert_string_equal(crew_member_schedule_text(c, &c->members[0], buf,
	    sizeof(buf)), "weekdays at 06:00 Europe/Stockholm");
	assert_true(c->members[1].calendar);
	assert_int_equal(c->members[1].cal.kind, CAL_ORG);
	assert_int_equal(c->members[1].cal.org.year, 2026);
	assert_int_equal(c->members[1].cal.org.hour, 6);
	assert_int_equal(c->members[1].cal.org.repeat, CAL_REPEAT_CUMULATE);
	assert_int_equal(c->members[1].cal.org.unit, 'd');
	assert_string_equal(c->members[1].schedule,
	    "<2026-12-05 Sat 06:00 +1d>");
	assert_int_equal(c->members[1].schedule_line, 10);
	assert_string_equal(c->members[1].tz, "America/New_York");
	assert_int_equal(c->members[1].catch_up_ms, 0);
	assert_int_equal(c->members[2].catch_up_ms, CREW_CATCH_UP_ALL);
	assert_int_equal(c->members[2].cadence_fixed, 0);
	assert_false(c->members[3].calendar);
	assert_null(c->members[3].schedule);
	assert_int_equal(c->members[3].interval_ms, 3600000);
	crew_free(c);
	/* Defaults: the machine's zone, unlimited catch-up, no jitter. */
	c = parse("crew.org", "* a\n:PROPERTIES:\n:DEF: a.org\n"
	    ":SCHEDULE: 30 2 * * *\n:END:\n", &d);
	assert_null(c->tz);
	assert_null(c->members[0].tz);
	assert_int_equal(c->members[0].catch_up_ms, CREW_CATCH_UP_ALL);
	assert_int_equal(c->members[0].jitter_ms, 0);
	crew_free(c);
	/* A date without a time means 00:00. */
	c = parse("crew.org", "* a\nSCHEDULED: <2026-12-05 Sat>\n"
	    ":PROPERTIES:\n:DEF: a.org\n:END:\n", &d);
	assert_int_equal(c->members[0].cal.org.hour, -1);
	assert_int_equal(c->members[0].cal.org.repeat, CAL_REPEAT_NONE);
	crew_free(c);
	assert_int_equal(d.nerrors, 0);
	diag_release(&d);
}

static void
test_calendar_errors(void **state)
{
	(void)state;
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:SCHEDULE: 0 25 * * *\n"
	    ":END:\n", "crew.org:4: :SCHEDULE: field 2 (hour): 25 is out of "
	    "range 0-23");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:INTERVAL: 1h\n"
	    ":SCHEDULE: @daily\n:END:\n", "crew.org:5: member 'a' has more "
	    "than one of :INTERVAL:, :SCHEDULE: and SCHEDULED: (give one)");
	expect_error("* a\nSCHEDULED: <2026-12-05 Sat 06:00>\n:PROPERTIES:\n"
	    ":DEF: a.org\n:INTERVAL: 1h\n:END:\n", "crew.org:2: member 'a' "
	    "has more than one of :INTERVAL:, :SCHEDULE: and SCHEDULED: "
	    "(give one)");
	expect_error("* a\nSCHEDULED: <2026-02-30 Mon 06:00>\n:PROPERTIES:\n"
	    ":DEF: a.org\n:END:\n", "crew.org:2: SCHEDULED: 2026-02-30 is "
	    "not a date");
	expect_error("* a\nSCHEDULED: [2026-12-05 Sat 06:00]\n:PROPERTIES:\n"
	    ":DEF: a.org\n:END:\n", "crew.org:2: SCHEDULED: "
	    "'[2026-12-05 Sat 06:00]' is not an active timestamp (expected "
	    "e.g. <2026-12-05 Sat 06:00 +1d>)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:SCHEDULE: @daily\n"
	    ":TZ: Mars/Olympus\n:END:\n", "crew.org:5: unknown time zone "
	    "'Mars/Olympus' in :TZ: (expected an IANA name such as "
	    "Europe/Stockholm)");
	expect_error("#+TZ: Europe/Stokholm\n", "crew.org:1: unknown time "
	    "zone 'Europe/Stokholm' in #+TZ: (expected an IANA name such as "
	    "Europe/Stockholm)");
	expect_error("#+CATCH-UP: forever\n", "crew.org:1: invalid "
	    "#+CATCH-UP: 'forever' (expected a duration, 0 or unlimited)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:SCHEDULE: @daily\n"
	    ":JITTER: lots\n:END:\n",
	    "crew.org:5: invalid duration 'lots' for :JITTER:");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:SCHEDULE: @daily\n"
	    ":CONTINUOUS: t\n:END:\n", "crew.org:4: member 'a' is "
	    ":CONTINUOUS: and on the calendar (give one)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:CADENCE: drift\n"
	    ":END:\n", "crew.org:4: invalid :CADENCE: 'drift' (expected "
	    "after or fixed)");
}

static void
test_hands_errors(void **state)
{
	(void)state;
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:RETRY: many\n:END:\n",
	    "crew.org:4: invalid :RETRY: 'many' (expected an integer from 0 "
	    "to 100)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:RETRY: -1\n:END:\n",
	    "crew.org:4: invalid :RETRY: '-1' (expected an integer from 0 "
	    "to 100)");
	expect_error("#+RETRY: 101\n",
	    "crew.org:1: invalid #+RETRY: '101' (expected an integer from 0 "
	    "to 100)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:RETRY-DELAY: 0\n"
	    ":END:\n", "crew.org:4: :RETRY-DELAY: must be more than zero");
	expect_error("#+RETRY-DELAY: soon\n",
	    "crew.org:1: invalid duration 'soon' for #+RETRY-DELAY:");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:TOKEN-BUDGET: 100\n"
	    ":END:\n", "crew.org:4: invalid :TOKEN-BUDGET: '100' (expected "
	    "TOKENS/DURATION, e.g. 200000/1d)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:TOKEN-BUDGET: 0/1d\n"
	    ":END:\n", "crew.org:4: invalid :TOKEN-BUDGET: '0/1d' (expected "
	    "TOKENS/DURATION, e.g. 200000/1d)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:TOKEN-BUDGET: 10/0\n"
	    ":END:\n", "crew.org:4: invalid :TOKEN-BUDGET: '10/0' (expected "
	    "TOKENS/DURATION, e.g. 200000/1d)");
	expect_error("* a\n:PROPERTIES:\n:DEF: a.org\n:TOKEN-BUDGET: x/1h\n"
	    ":END:\n", "crew.org:4: invalid :TOKEN-BUDGET: 'x/1h' (expected "
	    "TOKENS/DURATION, e.g. 200000/1d)");
	expect_error("* [#D] a\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: priority [#D] is outside the range A to C of "
	    "#+PRIORITIES:");
	expect_error("* [#7] a\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: priority [#7] is outside the range A to C of "
	    "#+PRIORITIES:");
	expect_error("* [#a] a\n:PROPERTIES:\n:DEF: a.org\n:END:\n",
	    "crew.org:1: invalid priority cookie '[#a]' (expected a letter A "
	    "to Z or a digit)");
	expect_error("#+PRIORITIES: A B\n",
	    "crew.org:1: invalid #+PRIORITIES: 'A B' (expected the highest, "
	    "lowest and default priority, letters or numbers, e.g. A C B)");
	expect_error("#+PRIORITIES: C A B\n",
	    "crew.org:1: invalid #+PRIORITIES: 'C A B' (expected the highest, "
	    "lowest and default priority, letters or numbers, e.g. A C B)");
	expect_error("#+PRIORITIES: A 5 B\n",
	    "crew.org:1: invalid #+PRIORITIES: 'A 5 B' (expected the highest, "
	    "lowest and default priority, letters or numbers, e.g. A C B)");
	expect_error("#+PRIORITIES: 1 65 5\n",
	    "crew.org:1: invalid #+PRIORITIES: '1 65 5' (expected the highest, "
	    "lowest and default priority, letters or numbers, e.g. A C B)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_git_keywords),
		cmocka_unit_test(test_cadence),
		cmocka_unit_test(test_hands),
		cmocka_unit_test(test_lease_ttl),
		cmocka_unit_test(test_priorities_keyword),
		cmocka_unit_test(test_hands_errors),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_calendar_errors),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keywords),
		cmocka_unit_test(test_keywords_after_members_apply),
		cmocka_unit_test(test_disabled_and_comment),
		cmocka_unit_test(test_missing_def_is_skipped_with_warning),
		cmocka_unit_test(test_no_runnable_member_is_valid),
		cmocka_unit_test(test_duplicate_member),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_good_names),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_unknown_things_warn),
		cmocka_unit_test(test_backoff_cap_below_base_warns),
		cmocka_unit_test(test_nested_headings_are_not_members),
		cmocka_unit_test(test_binary_input),
		cmocka_unit_test(test_singleton),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_alerts_and_notify),
		cmocka_unit_test(test_alert_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
