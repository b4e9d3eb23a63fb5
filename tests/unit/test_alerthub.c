/*
 * test_alerthub: the hub's settings and its per-agent tracks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alerthub.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hub_config),
		cmocka_unit_test(test_hub_tracks_per_agent),
		cmocka_unit_test(test_hub_many_agents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
