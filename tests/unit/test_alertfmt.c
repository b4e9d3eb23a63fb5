/*
 * test_alertfmt: each format's exact body and headers for an alert and a
 * result, the cuts to each receiver's limit (the destinations are
 * test_alertdest.c's).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alertfmt.h"

#define AT_MS	1795317247000LL		/* 2026-11-22T03:14:07Z */

static struct alert
failing_alert(void)
{
	struct alert a = { .from = ALERT_OK, .to = ALERT_FAILING,
	    .fail_streak = 3, .at_ms = AT_MS };

	snprintf(a.id, sizeof(a.id), "6f1c0e9a2b7d4c11");
	snprintf(a.agent, sizeof(a.agent), "wren");
	snprintf(a.run_id, sizeof(a.run_id), "412");
	return a;
}

static const struct alert_result briefing = { .agent = "desk",
	.run_id = "77", .outcome = "done",
	.text = "Morning briefing: <3 items> & more", .at_ms = AT_MS };

static void
check_req(const struct alert_req *r, const char *url, const char *ct,
    const char *body, const char *const *hdr, int nhdr)
{
	assert_string_equal(r->url, url);
	assert_string_equal(r->content_type, ct);
	assert_string_equal(r->body, body);
	assert_int_equal(r->bodylen, strlen(body));
	assert_int_equal(r->nhdr, nhdr);
	for (int i = 0; i < nhdr; i++)
		assert_string_equal(r->hdr[i], hdr[i]);
}

static void
test_alert_json(void **state)
{
	struct alert a = failing_alert();
	struct alert_dest d = { ALERT_FMT_JSON, "http://h/hook", NULL };
	struct alert_req r;
	char *today;
	const char *hdr[] = { "Idempotency-Key: 6f1c0e9a2b7d4c11" };

	(void)state;
	assert_int_equal(alert_fmt_alert(&r, &d, &a, "newsroom"), 0);
	check_req(&r, "http://h/hook", "application/json",
	    "{\"agent\":\"wren\",\"at\":\"2026-11-22T03:14:07Z\","
	    "\"at_ms\":1795317247000,\"crew\":\"newsroom\","
	    "\"event\":\"failing\",\"fail_streak\":3,\"from\":\"ok\","
	    "\"id\":\"6f1c0e9a2b7d4c11\",\"run\":\"412\",\"suppressed\":0,"
	    "\"text\":\"wren is failing (3 consecutive failures)\","
	    "\"to\":\"failing\"}", hdr, 1);
	/* Exactly today's body. */
	today = alert_json(&a, "newsroom");
	assert_string_equal(r.body, today);
	free(today);
	assert_string_equal(r.id, "6f1c0e9a2b7d4c11");
	alert_fmt_req_release(&r);
}

static void
test_alert_ntfy(void **state)
{
	struct alert a = failing_alert();
	struct alert_dest d = { ALERT_FMT_NTFY, "https://ntfy.sh/ops", NULL };
	struct alert_req r;
	const char *hdr[] = { "Idempotency-Key: 6f1c0e9a2b7d4c11",
	    "Title: newsroom: wren failing", "Priority: high",
	    "Tags: rotating_light,wren" };
	const char *ok_hdr[] = { "Idempotency-Key: 6f1c0e9a2b7d4c11",
	    "Title: wren recovered", "Priority: default",
	    "Tags: white_check_mark,wren" };

	(void)state;
	assert_int_equal(alert_fmt_alert(&r, &d, &a, "newsroom"), 0);
	check_req(&r, "https://ntfy.sh/ops", "text/plain; charset=utf-8",
	    "wren is failing (3 consecutive failures)\n"
	    "run 412 at 2026-11-22T03:14:07Z", hdr, 4);
	alert_fmt_req_release(&r);

	/* The recovery, no crew, no run (a stale agent runs again). */
	a.from = ALERT_STALE;
	a.to = ALERT_OK;
	a.run_id[0] = '\0';
	assert_int_equal(alert_fmt_alert(&r, &d, &a, NULL), 0);
	check_req(&r, "https://ntfy.sh/ops", "text/plain; charset=utf-8",
	    "wren recovered (was stale)\nat 2026-11-22T03:14:07Z", ok_hdr, 4);
	alert_fmt_req_release(&r);

	a.to = ALERT_STALE;
	a.from = ALERT_OK;
	assert_int_equal(alert_fmt_alert(&r, &d, &a, NULL), 0);
	assert_string_equal(r.hdr[2], "Priority: high");
	assert_string_equal(r.hdr[3], "Tags: warning,wren");
	alert_fmt_req_release(&r);
}

/* A header carries no line break a crew title could smuggle in, and
 * UTF-8 travels as an RFC 2047 encoded word. */
static void
test_ntfy_title_safe(void **state)
{
	struct alert a = failing_alert();
	struct alert_dest d = { ALERT_FMT_NTFY, "https://ntfy.sh/ops", NULL };
	struct alert_req r;

	(void)state;
	assert_int_equal(alert_fmt_alert(&r, &d, &a, "R\xc3\xa9" "daction"),
	    0);
	assert_string_equal(r.hdr[1],
	    "Title: =?UTF-8?B?UsOpZGFjdGlvbjogd3JlbiBmYWlsaW5n?=");
	alert_fmt_req_release(&r);
	assert_int_equal(alert_fmt_alert(&r, &d, &a, "a\r\nX-Evil: 1"), 0);
	assert_string_equal(r.hdr[1], "Title: a  X-Evil: 1: wren failing");
	assert_int_equal(r.nhdr, 4);
	alert_fmt_req_release(&r);
}

static void
test_alert_chat_formats(void **state)
{
	struct alert a = failing_alert();
	struct alert_dest slack = { ALERT_FMT_SLACK, "https://hooks/s", NULL };
	struct alert_dest discord = { ALERT_FMT_DISCORD, "https://d/api", NULL };
	struct alert_dest tg = { ALERT_FMT_TELEGRAM,
	    "https://api.telegram.org/bot1:T/sendMessage", "-100123" };
	struct alert_req r;
	const char *hdr[] = { "Idempotency-Key: 6f1c0e9a2b7d4c11" };

	(void)state;
	assert_int_equal(alert_fmt_alert(&r, &slack, &a, "newsroom"), 0);
	check_req(&r, "https://hooks/s", "application/json",
	    "{\"text\":\"newsroom: wren is failing (3 consecutive failures)"
	    "\\nrun 412 at 2026-11-22T03:14:07Z\"}", hdr, 1);
	alert_fmt_req_release(&r);

	assert_int_equal(alert_fmt_alert(&r, &discord, &a, "newsroom"), 0);
	check_req(&r, "https://d/api", "application/json",
	    "{\"allowed_mentions\":{\"parse\":[]},\"content\":\"newsroom: "
	    "wren is failing (3 consecutive failures)\\nrun 412 at "
	    "2026-11-22T03:14:07Z\"}", hdr, 1);
	alert_fmt_req_release(&r);

	assert_int_equal(alert_fmt_alert(&r, &tg, &a, "newsroom"), 0);
	check_req(&r, "https://api.telegram.org/bot1:T/sendMessage",
	    "application/json", "{\"chat_id\":\"-100123\",\"text\":"
	    "\"newsroom: wren is failing (3 consecutive failures)\\nrun 412 "
	    "at 2026-11-22T03:14:07Z\"}", hdr, 1);
	alert_fmt_req_release(&r);

	/* A telegram destination without a chat cannot be built. */
	tg.chat = NULL;
	assert_int_equal(alert_fmt_alert(&r, &tg, &a, "newsroom"), -1);
	assert_null(r.url);
}

static void
test_result_formats(void **state)
{
	struct alert_dest d = { ALERT_FMT_JSON, "http://h/r", NULL };
	struct alert_req r;
	char id[17], key[40], want[512];
	struct alert_result failed = briefing;

	(void)state;
	alert_make_result_id(id, "desk", "77");
	snprintf(key, sizeof(key), "Idempotency-Key: %s", id);
	const char *hdr[] = { key };

	assert_int_equal(alert_fmt_result(&r, &d, &briefing, "newsroom"), 0);
	snprintf(want, sizeof(want), "{\"agent\":\"desk\",\"at\":"
	    "\"2026-11-22T03:14:07Z\",\"at_ms\":1795317247000,\"crew\":"
	    "\"newsroom\",\"id\":\"%s\",\"kind\":\"result\",\"outcome\":"
	    "\"done\",\"run\":\"77\",\"text\":\"Morning briefing: <3 items> "
	    "& more\"}", id);
	check_req(&r, "http://h/r", "application/json", want, hdr, 1);
	alert_fmt_req_release(&r);

	d.format = ALERT_FMT_SLACK;
	assert_int_equal(alert_fmt_result(&r, &d, &briefing, "newsroom"), 0);
	check_req(&r, "http://h/r", "application/json",
	    "{\"text\":\"newsroom: desk done (run 77)\\nMorning briefing: "
	    "&lt;3 items&gt; &amp; more\"}", hdr, 1);
	alert_fmt_req_release(&r);

	d.format = ALERT_FMT_DISCORD;
	assert_int_equal(alert_fmt_result(&r, &d, &briefing, NULL), 0);
	check_req(&r, "http://h/r", "application/json",
	    "{\"allowed_mentions\":{\"parse\":[]},\"content\":\"desk done "
	    "(run 77)\\nMorning briefing: <3 items> & more\"}", hdr, 1);
	alert_fmt_req_release(&r);

	d.format = ALERT_FMT_NTFY;
	failed.outcome = "failed";
	{
		const char *nh[] = { key, "Title: newsroom: desk failed "
		    "(run 77)", "Priority: high", "Tags: x,desk" };

		assert_int_equal(alert_fmt_result(&r, &d, &failed,
		    "newsroom"), 0);
		check_req(&r, "http://h/r", "text/plain; charset=utf-8",
		    "Morning briefing: <3 items> & more", nh, 4);
		alert_fmt_req_release(&r);
	}
	/* An empty result still says something. */
	failed.text = NULL;
	failed.outcome = "no_work";
	assert_int_equal(alert_fmt_result(&r, &d, &failed, NULL), 0);
	assert_string_equal(r.body, "(no output)");
	assert_string_equal(r.hdr[2], "Priority: low");
	alert_fmt_req_release(&r);

	/* The same run has the same id; another run another. */
	alert_make_result_id(key, "desk", "78");
	assert_string_not_equal(id, key);
}

static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t k = strlen(unit);
	char *s = malloc(k * n + strlen(tail) + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * k, unit, k);
	strcpy(s + k * n, tail);
	return s;
}

/* UTF-16 code units of valid UTF-8 s. */
static size_t
units(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			n += *p >= 0xf0 ? 2 : 1;
	return n;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcmp(s + a - b, tail) == 0;
}

static void
test_cut(void **state)
{
	char *s, *c;

	(void)state;
	/* Within the limit: unchanged. */
	c = alert_fmt_cut("abc", 3, 1);
	assert_string_equal(c, "abc");
	free(c);
	/* Invalid UTF-8 becomes U+FFFD, and is counted as such. */
	c = alert_fmt_cut("a\xff" "b\xc3", 100, 1);
	assert_string_equal(c, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	free(c);

	/* Bytes (ntfy): 3000 two-byte characters into 4096 bytes, the mark
	 * (9 bytes) inside, no character split. */
	s = repeat("\xc3\xa9", 3000, "");
	c = alert_fmt_cut(s, 4096, 1);
	assert_int_equal(strlen(c), 2043 * 2 + 9);
	assert_true(ends_with(c, "\xc3\xa9" ALERT_FMT_CUT_MARK));
	free(c);
	free(s);

	/* UTF-16 units (Discord): an emoji is two. */
	s = repeat("\xf0\x9f\x98\x80", 1500, "");
	c = alert_fmt_cut(s, 2000, 0);
	assert_int_equal(units(c), 996 * 2 + 7);
	assert_true(ends_with(c, "\x80" ALERT_FMT_CUT_MARK));
	free(c);
	free(s);

	/* Exactly at the limit is not cut; one more is. */
	s = repeat("a", 2000, "");
	c = alert_fmt_cut(s, 2000, 0);
	assert_string_equal(c, s);
	free(c);
	free(s);
	s = repeat("a", 2001, "");
	c = alert_fmt_cut(s, 2000, 0);
	assert_int_equal(units(c), 2000);
	assert_true(ends_with(c, "a" ALERT_FMT_CUT_MARK));
	free(c);
	free(s);
}

/* Each format cuts its message at its receiver's limit. */
static void
test_cut_per_format(void **state)
{
	struct alert_result big = briefing;
	struct alert_dest d = { ALERT_FMT_DISCORD, "http://h/", "42" };
	struct alert_req r;
	json_t *o;
	const char *text;
	static const struct { enum alert_format f; const char *key;
	    size_t limit; int bytes; } cases[] = {
		{ ALERT_FMT_DISCORD, "content", 2000, 0 },
		{ ALERT_FMT_TELEGRAM, "text", 4096, 0 },
		{ ALERT_FMT_SLACK, "text", 16383, 0 },
		{ ALERT_FMT_JSON, "text", 65536, 1 },
	};
	char *s = repeat("word ", 20000, "");

	(void)state;
	big.text = s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d.format = cases[i].f;
		assert_int_equal(alert_fmt_result(&r, &d, &big, "newsroom"),
		    0);
		o = json_loads(r.body, 0, NULL);
		assert_non_null(o);
		text = json_string_value(json_object_get(o, cases[i].key));
		assert_non_null(text);
		assert_int_equal(cases[i].bytes ? strlen(text) : units(text),
		    cases[i].limit);
		assert_true(ends_with(text, ALERT_FMT_CUT_MARK));
		json_decref(o);
		alert_fmt_req_release(&r);
	}
	d.format = ALERT_FMT_NTFY;
	assert_int_equal(alert_fmt_result(&r, &d, &big, "newsroom"), 0);
	assert_int_equal(r.bodylen, 4096);
	assert_true(ends_with(r.body, ALERT_FMT_CUT_MARK));
	alert_fmt_req_release(&r);
	free(s);
}

/* Slack's escapes are never cut in half. */
static void
test_cut_slack_entity(void **state)
{
	struct alert_result amp = briefing;
	struct alert_dest d = { ALERT_FMT_SLACK, "http://h/", NULL };
	struct alert_req r;
	json_t *o;
	const char *text, *head = "desk done (run 77)\n";
	char *s;
	size_t before;

	(void)state;
	/* The head (19) and "x" put the limit (16,383 less the mark's 7)
	 * one character into an "&amp;". */
	before = strlen(head) + 1;
	s = repeat("&", 4000, "");
	s = realloc(s, strlen(s) + 2);
	memmove(s + 1, s, strlen(s) + 1);
	s[0] = 'x';
	amp.text = s;
	assert_int_equal(alert_fmt_result(&r, &d, &amp, NULL), 0);
	o = json_loads(r.body, 0, NULL);
	text = json_string_value(json_object_get(o, "text"));
	assert_true(ends_with(text, "&amp;" ALERT_FMT_CUT_MARK));
	assert_true(units(text) <= 16383);
	assert_int_equal((strlen(text) - before - strlen(ALERT_FMT_CUT_MARK))
	    % 5, 0);
	json_decref(o);
	alert_fmt_req_release(&r);
	free(s);
}

static void
test_req_copy(void **state)
{
	struct alert a = failing_alert();
	struct alert_dest d = { ALERT_FMT_NTFY, "https://ntfy.sh/ops", NULL };
	struct alert_req r, c;

	(void)state;
	assert_int_equal(alert_fmt_alert(&r, &d, &a, "newsroom"), 0);
	alert_fmt_req_copy(&c, &r);
	alert_fmt_req_release(&r);
	assert_string_equal(c.url, "https://ntfy.sh/ops");
	assert_int_equal(c.nhdr, 4);
	assert_string_equal(c.hdr[3], "Tags: rotating_light,wren");
	assert_string_equal(c.id, "6f1c0e9a2b7d4c11");
	alert_fmt_req_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_alert_ntfy),
		cmocka_unit_test(test_ntfy_title_safe),
		cmocka_unit_test(test_alert_chat_formats),
		cmocka_unit_test(test_result_formats),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_cut_per_format),
		cmocka_unit_test(test_cut_slack_entity),
		cmocka_unit_test(test_req_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
