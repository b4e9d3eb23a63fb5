/*
 * test_alerthub: the hub's settings, its per-agent tracks, and its fan
 * out of alerts and results to every destination.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerthub.h"
#include "settings.h"

#define MIN	(60 * 1000)

static void
test_hub_config(void **state)
{
	struct alert_policy p;
	char err[256];

	(void)state;
	assert_int_equal(alert_hub_config(NULL, NULL, &p, err, sizeof(err)),
	    0);
	assert_int_equal(p.fail_threshold, 3);
	assert_int_equal(p.min_gap_ms, 10 * MIN);
	assert_int_equal(alert_hub_config("5", "90s", &p, err, sizeof(err)),
	    0);
	assert_int_equal(p.fail_threshold, 5);
	assert_int_equal(p.min_gap_ms, 90000);
	assert_int_equal(alert_hub_config("0", NULL, &p, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "KEEPER_ALERT_AFTER"));
	assert_int_equal(alert_hub_config("2x", NULL, &p, err, sizeof(err)),
	    -1);
	assert_int_equal(alert_hub_config(NULL, "soon", &p, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'soon'"));
}

static void
test_hub_tracks_per_agent(void **state)
{
	struct alert_policy p;
	struct alert_hub *h;
	struct alert a;
	struct alert_queue_stats st;
	char err[256];
	struct alert_input in = { .health = HEALTH_FAILING, .fail_streak = 1,
	    .run_id = "r1", .now_ms = 1000 };

	(void)state;
	alert_policy_default(&p);
	p.fail_threshold = 1;
	h = alert_hub_new("crew", NULL, &p, err, sizeof(err));
	assert_non_null(h);
	in.agent = "wren";
	assert_int_equal(alert_hub_observe(h, &in, &a), 1);
	assert_string_equal(a.agent, "wren");
	/* Another agent has its own track and its own rate limit. */
	in.agent = "desk";
	assert_int_equal(alert_hub_observe(h, &in, &a), 1);
	in.agent = "wren";
	assert_int_equal(alert_hub_observe(h, &in, &a), 0);
	/* Forgotten: it starts over as ok, so failing alerts again. */
	alert_hub_forget(h, "wren");
	assert_int_equal(alert_hub_observe(h, &in, &a), 1);
	alert_hub_stats(h, &st);
	assert_int_equal(st.sent, 0);
	alert_hub_free(h);
}

/* Many agents: every one keeps its own track through table growth and
 * through forgetting others. */
static void
test_hub_many_agents(void **state)
{
	struct alert_policy p;
	struct alert_hub *h;
	struct alert a;
	char err[256], name[32];
	struct alert_input in = { .health = HEALTH_FAILING, .fail_streak = 1,
	    .run_id = "r1", .now_ms = 1000, .agent = name };
	enum { N = 300 };

	(void)state;
	alert_policy_default(&p);
	p.fail_threshold = 1;
	h = alert_hub_new("crew", NULL, &p, err, sizeof(err));
	assert_non_null(h);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		assert_int_equal(alert_hub_observe(h, &in, &a), 1);
	}
	for (int i = 0; i < N; i += 3) {
		snprintf(name, sizeof(name), "a%d", i);
		alert_hub_forget(h, name);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		assert_int_equal(alert_hub_observe(h, &in, &a), i % 3 == 0);
	}
	alert_hub_free(h);
}

static void
test_hub_dests_config(void **state)
{
	struct alert_dests d = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(alert_hub_dests_config(NULL, NULL, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(alert_hub_dests_config("https://a.example/x "
	    "https://b.example/y format=slack", "ntfy", &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].format, ALERT_FMT_NTFY);
	assert_int_equal(d.v[1].format, ALERT_FMT_SLACK);
	alert_dest_release(&d);
	/* Without KEEPER_ALERT_FORMAT, today's JSON. */
	assert_int_equal(alert_hub_dests_config("http://h/", "", &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.v[0].format, ALERT_FMT_JSON);
	alert_dest_release(&d);

	assert_int_equal(alert_hub_dests_config("http://h/", "teams", &d, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "KEEPER_ALERT_FORMAT: unknown alert format "
	    "'teams' (json, ntfy, slack, discord, telegram)");
	assert_int_equal(alert_hub_dests_config("ntfy.sh/topic", NULL, &d,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "KEEPER_ALERT_URL: 'ntfy.sh' is not an "
	    "http:// or https:// URL");
	assert_int_equal(d.n, 0);
}

static void
test_hub_from_settings(void **state)
{
	struct settings s = { 0 };
	struct alert_hub *h;
	char err[256];

	(void)state;
	s.alert_url = "http://127.0.0.1:9/ format=telegram";
	h = alert_hub_from_settings("crew", &s, err, sizeof(err));
	assert_null(h);
	assert_string_equal(err, "KEEPER_ALERT_URL: alert destination 1 "
	    "(http://127.0.0.1:9): telegram needs a chat (chat=ID or "
	    "#+ALERT-CHAT:)");
	s.alert_url = "http://127.0.0.1:9/";
	s.alert_format = "ntfy";
	h = alert_hub_from_settings("crew", &s, err, sizeof(err));
	assert_non_null(h);
	alert_hub_free(h);
	/* A bad URL refuses the hub (the daemon then alerts without
	 * delivery, and says so). */
	assert_null(alert_hub_new("crew", "nope", &(struct alert_policy){ 3,
	    0 }, err, sizeof(err)));
	assert_string_equal(err, "KEEPER_ALERT_URL: 'nope' is not an http:// "
	    "or https:// URL");
}

/* Every destination gets its own copy of an alert and of a result;
 * receivers that refuse connections keep them queued for later. */
static void
test_hub_fans_out(void **state)
{
	struct alert_policy p;
	struct alert_dests d = { 0 }, own = { 0 };
	struct alert_hub *h;
	struct alert a;
	struct alert_queue_stats st;
	char err[256];
	struct alert_input in = { .agent = "wren", .health = HEALTH_FAILING,
	    .fail_streak = 1, .run_id = "r1", .now_ms = 1000 };
	struct alert_result res = { .agent = "wren", .run_id = "r1",
	    .outcome = "done", .text = "hello", .at_ms = 1000 };

	(void)state;
	alert_policy_default(&p);
	p.fail_threshold = 1;
	assert_int_equal(alert_dest_parse(&d, "http://127.0.0.1:9/bot/x "
	    "format=telegram chat=1 http://127.0.0.1:9/bot/x format=telegram "
	    "chat=2 http://127.0.0.1:9/n format=ntfy", ALERT_FMT_JSON, NULL,
	    err, sizeof(err)), 0);
	h = alert_hub_new_dests("crew", &d, &p, err, sizeof(err));
	alert_dest_release(&d);	/* the hub has its copy */
	assert_non_null(h);
	assert_int_equal(alert_hub_observe(h, &in, &a), 1);
	alert_hub_stats(h, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(alert_hub_result(h, &res, NULL), 3);
	/* A member's own destination gets a lane of its own. */
	assert_int_equal(alert_dest_parse(&own, "http://127.0.0.1:9/me",
	    ALERT_FMT_SLACK, NULL, err, sizeof(err)), 0);
	assert_int_equal(alert_hub_result(h, &res, &own), 1);
	alert_dest_release(&own);
	alert_hub_stats(h, &st);
	assert_int_equal(st.queued, 7);
	assert_int_equal(st.sent, 0);
	alert_hub_free(h);

	/* No destinations: logged and recorded only. */
	h = alert_hub_new_dests("crew", NULL, &p, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(alert_hub_result(h, &res, NULL), 0);
	alert_hub_stats(h, &st);
	assert_int_equal(st.queued, 0);
	alert_hub_free(h);
}

/* A reload's new destinations: the agents' tracks stay (a failing agent
 * does not alert again), results go to the new list, and what became of
 * each result's copy is reported with its run and a secret-free name. */
static void
test_hub_reconfigure_and_reports(void **state)
{
	struct alert_policy p;
	struct alert_hub *h;
	struct alert_dests d = { 0 };
	struct alert_hub_report *rep = NULL;
	struct alert_queue_stats st;
	struct alert a;
	char err[256];
	size_t n = 0;
	uint64_t lost = 1;
	struct alert_input in = { .agent = "wren", .health = HEALTH_FAILING,
	    .fail_streak = 1, .run_id = "r1", .now_ms = 1000 };
	struct alert_result res = { .agent = "wren", .run_id = "77",
	    .outcome = "done", .text = "hello", .at_ms = 1000 };

	(void)state;
	alert_policy_default(&p);
	p.fail_threshold = 1;
	h = alert_hub_new("crew", NULL, &p, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(alert_hub_observe(h, &in, &a), 1);
	assert_int_equal(alert_hub_result(h, &res, NULL), 0);
	assert_int_equal(alert_dest_parse(&d, "http://127.0.0.1:9/SECRET "
	    "format=slack", ALERT_FMT_JSON, NULL, err, sizeof(err)), 0);
	assert_int_equal(alert_hub_reconfigure(h, "crew2", &d, err,
	    sizeof(err)), 0);
	alert_dest_release(&d);
	in.now_ms = 2000;
	assert_int_equal(alert_hub_observe(h, &in, &a), 0);
	assert_int_equal(alert_hub_result(h, &res, NULL), 1);
	/* Nobody listens on port 9: the first try fails, and says so. */
	for (int i = 0; i < 1000 && n == 0; i++) {
		n = alert_hub_take_reports(h, &rep, &lost);
		if (n == 0)
			usleep(10000);
	}
	assert_int_equal(n, 1);
	assert_int_equal(lost, 0);
	assert_string_equal(rep[0].run_id, "77");
	assert_string_equal(rep[0].dest, "slack http://127.0.0.1:9");
	assert_int_equal(rep[0].event, ALERT_QUEUE_RETRYING);
	assert_int_equal(rep[0].attempts, 1);
	free(rep);
	alert_hub_stats(h, &st);
	assert_int_equal(st.queued, 1);
	/* Back to none: the lane keeps what it holds until the hub goes. */
	assert_int_equal(alert_hub_reconfigure(h, NULL, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(alert_hub_result(h, &res, NULL), 0);
	alert_hub_stats(h, &st);
	assert_int_equal(st.queued, 1);
	alert_hub_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hub_config),
		cmocka_unit_test(test_hub_tracks_per_agent),
		cmocka_unit_test(test_hub_many_agents),
		cmocka_unit_test(test_hub_dests_config),
		cmocka_unit_test(test_hub_from_settings),
		cmocka_unit_test(test_hub_fans_out),
		cmocka_unit_test(test_hub_reconfigure_and_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
