/*
 * test_alertdest: the destination parser's answers and errors (the crew's
 * #+ALERT-URL: lines, :NOTIFY-URL: and KEEPER_ALERT_URL all go through
 * it), the format names, origins, and the merge of two lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertdest.h"

static void
test_dests_parse(void **state)
{
	struct alert_dests l = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(alert_dest_parse(&l, "https://ntfy.sh/ops",
	    ALERT_FMT_NTFY, NULL, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].format, ALERT_FMT_NTFY);
	assert_string_equal(l.v[0].url, "https://ntfy.sh/ops");
	assert_null(l.v[0].chat);
	/* Several in one value (KEEPER_ALERT_URL), spaces and tabs. */
	assert_int_equal(alert_dest_parse(&l, "  https://a.example/x "
	    "format=slack\thttps://api.telegram.org/botT/sendMessage "
	    "chat=-100123 format=telegram  ", ALERT_FMT_JSON, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[1].format, ALERT_FMT_SLACK);
	assert_int_equal(l.v[2].format, ALERT_FMT_TELEGRAM);
	assert_string_equal(l.v[2].chat, "-100123");
	assert_string_equal(l.v[2].url,
	    "https://api.telegram.org/botT/sendMessage");
	/* The default chat (#+ALERT-CHAT:) fills a telegram one only. */
	assert_int_equal(alert_dest_parse(&l, "HTTP://t.example/b "
	    "format=telegram http://j.example/", ALERT_FMT_JSON,
	    "@ops_room", err, sizeof(err)), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.v[3].chat, "@ops_room");
	assert_null(l.v[4].chat);
	alert_dest_release(&l);
	assert_int_equal(l.n, 0);
}

static void
test_dests_errors(void **state)
{
	static const struct { const char *value; const char *err; } bad[] = {
		{ "", "no alert URL" },
		{ "   ", "no alert URL" },
		{ "ntfy.sh/secret-topic",
		    "'ntfy.sh' is not an http:// or https:// URL" },
		{ "format=ntfy https://x.example",
		    "'format=' comes before any URL" },
		{ "https://x.example format=teams", "unknown alert format "
		    "'teams' (json, ntfy, slack, discord, telegram)" },
		{ "https://x.example format=ntfy format=json",
		    "alert destination 3: format= given twice" },
		{ "https://x.example prio=high",
		    "unknown alert option 'prio=' (format=, chat=)" },
		{ "https://api.telegram.org/botSECRET/sendMessage "
		    "format=telegram", "alert destination 3 "
		    "(https://api.telegram.org): telegram needs a chat "
		    "(chat=ID or #+ALERT-CHAT:)" },
		{ "https://x.example/y chat=5", "alert destination 3 "
		    "(https://x.example): chat= is only for telegram" },
		{ "https://x.example format=telegram chat=abc",
		    "bad telegram chat id 'abc' (a number, or @channelname)" },
		{ "https://x.example format=telegram chat=5 chat=6",
		    "alert destination 3: chat= given twice" },
		{ "https://", "alert destination 3: URL has no host" },
		{ "https://user:pw@/x", "alert destination 3: URL has no "
		    "host" },
		{ "https://x.example/\x01", "alert destination 3: a URL "
		    "holds only printable ASCII (percent-encode the rest)" },
		{ "https://ok.example https://x.example format=telegram",
		    "alert destination 4 (https://x.example): telegram needs "
		    "a chat (chat=ID or #+ALERT-CHAT:)" },
	};
	struct alert_dests l = { 0 };
	char err[256], v[512];

	(void)state;
	/* Two good destinations first: places count across values, and a
	 * refused value leaves the list as it was. */
	assert_int_equal(alert_dest_parse(&l, "https://a.example "
	    "https://b.example", ALERT_FMT_JSON, NULL, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(alert_dest_parse(&l, bad[i].value,
		    ALERT_FMT_JSON, NULL, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].err);
		assert_null(strstr(err, "SECRET"));
		assert_null(strstr(err, "secret"));
		assert_int_equal(l.n, 2);
	}
	/* A bad default chat is found when it is used. */
	assert_int_equal(alert_dest_parse(&l, "https://t.example "
	    "format=telegram", ALERT_FMT_JSON, "no spaces", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "bad telegram chat id 'no spaces' (a number, "
	    "or @channelname)");
	/* At most 16. */
	v[0] = '\0';
	for (int i = 0; i < 14; i++)
		strcat(v, "https://c.example ");
	assert_int_equal(alert_dest_parse(&l, v, ALERT_FMT_JSON, NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(l.n, 16);
	assert_int_equal(alert_dest_parse(&l, "https://d.example",
	    ALERT_FMT_JSON, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 16 alert destinations");
	alert_dest_release(&l);
}

static void
test_names_and_origin(void **state)
{
	enum alert_format f;
	char err[128], o[64];

	(void)state;
	for (int i = ALERT_FMT_JSON; i <= ALERT_FMT_TELEGRAM; i++) {
		assert_int_equal(alert_dest_format_parse(alert_dest_format_name(
		    (enum alert_format)i), &f, err, sizeof(err)), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(alert_dest_format_parse("JSON", &f, err, sizeof(err)),
	    -1);
	alert_dest_origin("https://u:p@h.example:8443/x?y", o, sizeof(o));
	assert_string_equal(o, "https://h.example:8443");
	alert_dest_origin("http://h?token=1", o, sizeof(o));
	assert_string_equal(o, "http://h");
}

static void
test_append_and_equal(void **state)
{
	struct alert_dests a = { 0 }, b = { 0 }, c = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(alert_dest_parse(&a, "https://ntfy.sh/ops "
	    "https://h.example/x format=slack", ALERT_FMT_NTFY, NULL, err,
	    sizeof(err)), 0);
	/* The same URL in another format is another destination; the same
	 * one twice is one. */
	assert_int_equal(alert_dest_parse(&b, "https://ntfy.sh/ops "
	    "https://ntfy.sh/ops format=json https://t.example/b chat=5 "
	    "format=telegram", ALERT_FMT_NTFY, NULL, err, sizeof(err)), 0);
	alert_dest_copy(&c, &a);
	assert_true(alert_dest_equal(&a, &c));
	alert_dest_append(&c, &b);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.v[2].url, "https://ntfy.sh/ops");
	assert_int_equal(c.v[2].format, ALERT_FMT_JSON);
	assert_string_equal(c.v[3].chat, "5");
	assert_false(alert_dest_equal(&a, &c));
	alert_dest_append(&c, &b);	/* nothing new */
	assert_int_equal(c.n, 4);
	alert_dest_release(&a);
	assert_true(alert_dest_equal(&a, &(struct alert_dests){ 0 }));
	assert_true(alert_dest_chat_ok("-1001234567890"));
	assert_true(alert_dest_chat_ok("@ops_room"));
	assert_false(alert_dest_chat_ok("@"));
	assert_false(alert_dest_chat_ok("12 3"));
	alert_dest_release(&b);
	alert_dest_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dests_parse),
		cmocka_unit_test(test_dests_errors),
		cmocka_unit_test(test_names_and_origin),
		cmocka_unit_test(test_append_and_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
