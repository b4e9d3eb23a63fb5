/*
 * test_alert: the pure transition / rate-limit / id logic with injected
 * time, and the delivery queue against an in-process loopback receiver
 * that refuses, then fails, then takes the alert.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"

#define MIN	(60 * 1000)

struct sim {
	struct alert_track	 t;
	struct alert_policy	 p;
	struct alert		 a;
	int			 streak;
	int64_t			 now;
	int			 run;
};

static void
sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	alert_policy_default(&s->p);
	s->now = 1700000000000;
}

/* One tick with the given outcome; returns 1 when it alerted. */
static int
sim_tick(struct sim *s, int ok, int64_t advance)
{
	char run[32];
	struct alert_input in;

	s->now += advance;
	s->run++;
	s->streak = ok ? 0 : s->streak + 1;
	snprintf(run, sizeof(run), "r%d", s->run);
	in = (struct alert_input){ .agent = "wren",
	    .health = ok ? HEALTH_OK : HEALTH_FAILING,
	    .fail_streak = s->streak, .run_id = run, .last_run_ms = s->now,
	    .now_ms = s->now };
	return alert_step(&s->t, &s->p, &in, &s->a);
}

static int
sim_look(struct sim *s, enum health h, int64_t advance)
{
	struct alert_input in = { .agent = "wren", .health = h,
	    .fail_streak = s->streak, .run_id = NULL,
	    .last_run_ms = 1234, .now_ms = (s->now += advance) };

	return alert_step(&s->t, &s->p, &in, &s->a);
}

static void
test_fail_fail_fail_ok(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	assert_int_equal(sim_tick(&s, 1, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	assert_int_equal(s.a.from, ALERT_OK);
	assert_int_equal(s.a.to, ALERT_FAILING);
	assert_int_equal(s.a.fail_streak, 3);
	assert_string_equal(s.a.run_id, "r4");
	assert_int_equal(s.a.suppressed, 0);
	/* Steady failing: never again. */
	assert_int_equal(sim_tick(&s, 0, 20 * MIN), 0);
	assert_int_equal(sim_tick(&s, 0, 20 * MIN), 0);
	/* Recovery, past the gap. */
	assert_int_equal(sim_tick(&s, 1, 20 * MIN), 1);
	assert_int_equal(s.a.from, ALERT_FAILING);
	assert_int_equal(s.a.to, ALERT_OK);
	/* Steady ok: never again. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(sim_tick(&s, 1, 20 * MIN), 0);
}

static void
test_threshold_is_policy(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	assert_int_equal(s.a.to, ALERT_FAILING);

	/* Two failures then ok at the default threshold: nothing at all. */
	sim_init(&s);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 0, MIN), 0);
	assert_int_equal(sim_tick(&s, 1, MIN), 0);
}

static void
test_stale(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	assert_int_equal(sim_look(&s, HEALTH_LATE, MIN), 0);
	assert_int_equal(sim_look(&s, HEALTH_STALE, MIN), 1);
	assert_int_equal(s.a.to, ALERT_STALE);
	assert_string_equal(s.a.run_id, "");
	assert_int_equal(sim_look(&s, HEALTH_STALE, 30 * MIN), 0);
	assert_int_equal(sim_look(&s, HEALTH_OK, 30 * MIN), 1);
	assert_int_equal(s.a.from, ALERT_STALE);
	assert_int_equal(s.a.to, ALERT_OK);
	/* A never-run agent is not an alert. */
	sim_init(&s);
	assert_int_equal(sim_look(&s, HEALTH_NEVER, MIN), 0);
}

static void
test_failing_then_stale_stays_failing(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	s.streak = 0;	/* e.g. the streak got reset by a restart */
	assert_int_equal(sim_look(&s, HEALTH_STALE, 30 * MIN), 0);
	assert_int_equal(s.t.cur, ALERT_FAILING);
}

static void
test_flapping_is_rate_limited(void **state)
{
	struct sim s;
	int alerts = 0;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);	/* ok -> failing */
	/* Flap every minute for 9 minutes: all inside the 10 min gap. */
	for (int i = 0; i < 9; i++)
		alerts += sim_tick(&s, i % 2 == 0, MIN);
	assert_int_equal(alerts, 0);
	assert_int_equal(s.t.suppressed, 9);
	/* The 9th flap left it ok; the gap ends at +10 min; the first step
	 * after that reports where it settled, with the count. */
	assert_int_equal(sim_look(&s, HEALTH_OK, MIN), 1);
	assert_int_equal(s.a.from, ALERT_FAILING);
	assert_int_equal(s.a.to, ALERT_OK);
	assert_int_equal(s.a.suppressed, 8);
	assert_int_equal(sim_look(&s, HEALTH_OK, MIN), 0);
}

static void
test_flap_back_within_gap_carries_count(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);	/* -> failing */
	assert_int_equal(sim_tick(&s, 1, MIN), 0);	/* -> ok, held */
	assert_int_equal(sim_tick(&s, 0, MIN), 0);	/* -> failing, held */
	/* After the gap: it is where the receiver thinks; no alert. */
	assert_int_equal(sim_tick(&s, 0, 10 * MIN), 0);
	assert_int_equal(s.t.pending, 0);
	/* The next real change carries the two hidden flaps. */
	assert_int_equal(sim_tick(&s, 1, MIN), 1);
	assert_int_equal(s.a.to, ALERT_OK);
	assert_int_equal(s.a.suppressed, 2);
}

static void
test_gap_boundary_exact(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s);
	s.p.fail_threshold = 1;
	assert_int_equal(sim_tick(&s, 0, MIN), 1);
	/* One ms short of the gap: held; exactly at it: sent. */
	assert_int_equal(sim_tick(&s, 1, 10 * MIN - 1), 0);
	assert_int_equal(sim_look(&s, HEALTH_OK, 1), 1);
	assert_int_equal(s.a.suppressed, 0);
}

static void
test_ids(void **state)
{
	char a[17], b[17], c[17], d[17], e[17];

	(void)state;
	alert_make_id(a, "wren", ALERT_OK, ALERT_FAILING, "r4");
	alert_make_id(b, "wren", ALERT_OK, ALERT_FAILING, "r4");
	alert_make_id(c, "wren", ALERT_FAILING, ALERT_OK, "r4");
	alert_make_id(d, "wren", ALERT_OK, ALERT_FAILING, "r5");
	alert_make_id(e, "desk", ALERT_OK, ALERT_FAILING, "r4");
	assert_int_equal(strlen(a), 16);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_string_not_equal(a, e);
	/* Field boundaries count. */
	alert_make_id(c, "wre", ALERT_OK, ALERT_FAILING, "nr4");
	assert_string_not_equal(a, c);

	/* Two simulations of the same history give the same ids. */
	struct sim s1, s2;
	sim_init(&s1);
	sim_init(&s2);
	for (int i = 0; i < 3; i++) {
		sim_tick(&s1, 0, MIN);
		sim_tick(&s2, 0, MIN);
	}
	assert_string_equal(s1.a.id, s2.a.id);
}

static void
test_json(void **state)
{
	struct sim s;
	json_t *o;
	json_error_t je;
	char *js;

	(void)state;
	sim_init(&s);
	for (int i = 0; i < 3; i++)
		sim_tick(&s, 0, MIN);
	js = alert_json(&s.a, "newsroom");
	assert_non_null(js);
	o = json_loads(js, 0, &je);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    s.a.id);
	assert_string_equal(json_string_value(json_object_get(o, "agent")),
	    "wren");
	assert_string_equal(json_string_value(json_object_get(o, "event")),
	    "failing");
	assert_string_equal(json_string_value(json_object_get(o, "from")),
	    "ok");
	assert_string_equal(json_string_value(json_object_get(o, "to")),
	    "failing");
	assert_string_equal(json_string_value(json_object_get(o, "crew")),
	    "newsroom");
	assert_string_equal(json_string_value(json_object_get(o, "run")),
	    "r3");
	assert_int_equal(json_integer_value(json_object_get(o,
	    "fail_streak")), 3);
	assert_string_equal(json_string_value(json_object_get(o, "text")),
	    "wren is failing (3 consecutive failures)");
	assert_string_equal(json_string_value(json_object_get(o, "at")),
	    "2023-11-14T22:16:20Z");
	json_decref(o);
	free(js);
}

/*
 * A loopback receiver in a thread: refuses connections until listen(),
 * then answers each request with the next status in `codes`, recording
 * request bodies and Idempotency-Key headers.
 */
struct recv_srv {
	int		 fd;
	int		 port;
	const int	*codes;
	int		 ncodes;
	int		 served;
	char		 bodies[8][512];
	char		 keys[8][32];
	pthread_t	 th;
};

static void *
srv_main(void *arg)
{
	struct recv_srv *s = arg;

	while (s->served < s->ncodes) {
		char buf[4096], *p, resp[128];
		size_t len = 0;
		ssize_t r;
		long clen = -1;
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		for (;;) {
			r = read(c, buf + len, sizeof(buf) - 1 - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			buf[len] = '\0';
			if ((p = strstr(buf, "\r\n\r\n")) != NULL) {
				char *cl = strcasestr(buf, "content-length:");
				if (cl)
					clen = strtol(cl + 15, NULL, 10);
				if (clen >= 0 && (size_t)(p + 4 - buf) +
				    (size_t)clen <= len)
					break;
			}
		}
		if (s->served < 8 && (p = strstr(buf, "\r\n\r\n")) != NULL) {
			char *k = strcasestr(buf, "idempotency-key: ");
			snprintf(s->bodies[s->served], 512, "%s", p + 4);
			if (k)
				snprintf(s->keys[s->served], 32, "%.*s",
				    (int)strcspn(k + 17, "\r\n"), k + 17);
		}
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length:"
		    " 0\r\nConnection: close\r\n\r\n", s->codes[s->served]);
		if (write(c, resp, strlen(resp)) < 0)
			break;
		s->served++;
		close(c);
	}
	return NULL;
}

static void
srv_bind(struct recv_srv *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
}

static void
wait_for(struct alert_queue *q, int want_retries, uint64_t want_sent)
{
	struct alert_queue_stats st;

	for (int i = 0; i < 1000; i++) {	/* 10 s deadline */
		alert_queue_stats(q, &st);
		if (st.retries >= (uint64_t)want_retries &&
		    st.sent >= want_sent)
			return;
		usleep(10000);
	}
	fail_msg("queue did not reach retries=%d sent=%d", want_retries,
	    (int)want_sent);
}

static void
test_queue_retries_until_taken(void **state)
{
	static const int codes[] = { 500, 503, 200, 200 };
	struct recv_srv s = { .codes = codes, .ncodes = 4 };
	struct alert_queue_opts o = { .backoff_ms = 10,
	    .backoff_cap_ms = 40 };
	struct alert_queue_stats st;
	struct alert_queue *q;
	char url[64], err[256];

	(void)state;
	srv_bind(&s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", s.port);
	o.url = url;
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	alert_queue_push(q, "{\"id\":\"aaaa\"}", "aaaa");
	/* Nobody listens yet: the connection is refused, and retried. */
	wait_for(q, 1, 0);
	alert_queue_stats(q, &st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, 1);

	assert_int_equal(listen(s.fd, 8), 0);
	assert_int_equal(pthread_create(&s.th, NULL, srv_main, &s), 0);
	wait_for(q, 3, 1);		/* 500, 503, then 200 */
	alert_queue_push(q, "{\"id\":\"bbbb\"}", "bbbb");
	wait_for(q, 3, 2);
	pthread_join(s.th, NULL);
	alert_queue_stats(q, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(alert_queue_stop(q), 0);
	close(s.fd);

	/* The same alert each time until taken, then the next one. */
	assert_string_equal(s.bodies[0], "{\"id\":\"aaaa\"}");
	assert_string_equal(s.bodies[1], "{\"id\":\"aaaa\"}");
	assert_string_equal(s.bodies[2], "{\"id\":\"aaaa\"}");
	assert_string_equal(s.keys[2], "aaaa");
	assert_string_equal(s.bodies[3], "{\"id\":\"bbbb\"}");
	assert_string_equal(s.keys[3], "bbbb");
}

static void
test_queue_bounded(void **state)
{
	struct alert_queue_opts o = { .url = "http://127.0.0.1:9/",
	    .capacity = 2, .backoff_ms = 60000 };
	struct alert_queue_stats st;
	struct alert_queue *q;
	char err[256];

	(void)state;
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	alert_queue_push(q, "{}", "1");
	alert_queue_push(q, "{}", "2");
	alert_queue_push(q, "{}", "3");
	alert_queue_push(q, "{}", "4");
	alert_queue_stats(q, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.dropped, 2);
	/* Stopping does not wait out the 60 s backoff. */
	assert_int_equal(alert_queue_stop(q), 2);
}

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
		cmocka_unit_test(test_fail_fail_fail_ok),
		cmocka_unit_test(test_threshold_is_policy),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_failing_then_stale_stays_failing),
		cmocka_unit_test(test_flapping_is_rate_limited),
		cmocka_unit_test(test_flap_back_within_gap_carries_count),
		cmocka_unit_test(test_gap_boundary_exact),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_queue_retries_until_taken),
		cmocka_unit_test(test_queue_bounded),
		cmocka_unit_test(test_hub_config),
		cmocka_unit_test(test_hub_tracks_per_agent),
		cmocka_unit_test(test_hub_many_agents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
