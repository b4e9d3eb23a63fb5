/*
 * test_alertq: one delivery lane against an in-process loopback receiver
 * that refuses, then fails, then takes the request; what goes on the
 * wire; Retry-After; the bounds (capacity, age); stopping.
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

#include "alertq.h"
#include "util.h"

/*
 * A loopback receiver in a thread: refuses connections until listen(),
 * then answers each request with the next status in `codes` (and the
 * extra header line `extra`, if any), recording each whole request.
 */
struct recv_srv {
	int		 fd;
	int		 port;
	const int	*codes;
	int		 ncodes;
	const char	*extra;
	int		 served;
	char		 reqs[8][4096];
	pthread_t	 th;
};

static void *
srv_main(void *arg)
{
	struct recv_srv *s = arg;

	while (s->served < s->ncodes) {
		char buf[4096], *p, resp[256];
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
		if (s->served < 8)
			snprintf(s->reqs[s->served], sizeof(s->reqs[0]), "%s", buf);
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\n%sContent-Length:"
		    " 0\r\nConnection: close\r\n\r\n", s->codes[s->served],
		    s->extra ? s->extra : "");
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
srv_serve(struct recv_srv *s)
{
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static const char *
body_of(const char *req)
{
	const char *p = strstr(req, "\r\n\r\n");

	return p ? p + 4 : "";
}

/* The value of header name in req ("" when absent), into buf. */
static const char *
header_of(const char *req, const char *name, char *buf, size_t len)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	if ((p = strcasestr(req, pat)) == NULL)
		return "";
	p += strlen(pat);
	snprintf(buf, len, "%.*s", (int)strcspn(p, "\r\n"), p);
	return buf;
}

/* What the lane reported, in order (alertq.h's report callback). */
struct reports {
	pthread_mutex_t	 mu;
	int		 n;
	struct {
		char	 id[17];
		enum alert_queue_event e;
		int	 attempts;
		char	 why[64];
	} v[16];
};

static void
record(void *arg, const struct alert_req *r, enum alert_queue_event e,
    int attempts, const char *why)
{
	struct reports *rs = arg;

	pthread_mutex_lock(&rs->mu);
	if (rs->n < 16) {
		snprintf(rs->v[rs->n].id, sizeof(rs->v[0].id), "%s", r->id);
		rs->v[rs->n].e = e;
		rs->v[rs->n].attempts = attempts;
		snprintf(rs->v[rs->n].why, sizeof(rs->v[0].why), "%s", why);
		rs->n++;
	}
	pthread_mutex_unlock(&rs->mu);
}

static int
nreports(struct reports *rs)
{
	int n;

	pthread_mutex_lock(&rs->mu);
	n = rs->n;
	pthread_mutex_unlock(&rs->mu);
	return n;
}

static void
mkreq(struct alert_req *r, const char *url, const char *id,
    const char *body)
{
	memset(r, 0, sizeof(*r));
	r->url = xstrdup(url);
	r->content_type = "text/plain; charset=utf-8";
	r->body = xstrdup(body);
	r->bodylen = strlen(body);
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->hdr[r->nhdr++] = xasprintf("Idempotency-Key: %s", id);
	r->hdr[r->nhdr++] = xstrdup("Title: t");
}

static void
push(struct alert_queue *q, const char *url, const char *id,
    const char *body)
{
	struct alert_req r;

	mkreq(&r, url, id, body);
	alert_queue_push(q, &r);
	alert_fmt_req_release(&r);	/* the queue has its own copy */
}

static void
wait_for(struct alert_queue *q, int want_retries, uint64_t want_sent,
    uint64_t want_expired)
{
	struct alert_queue_stats st;

	for (int i = 0; i < 1000; i++) {	/* 10 s deadline */
		alert_queue_stats(q, &st);
		if (st.retries >= (uint64_t)want_retries &&
		    st.sent >= want_sent && st.expired >= want_expired)
			return;
		usleep(10000);
	}
	fail_msg("queue did not reach retries=%d sent=%d expired=%d",
	    want_retries, (int)want_sent, (int)want_expired);
}

static void
test_queue_retries_until_taken(void **state)
{
	static const int codes[] = { 500, 503, 200, 200 };
	struct recv_srv s = { .codes = codes, .ncodes = 4 };
	struct reports rs = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct alert_queue_opts o = { .name = "test", .backoff_ms = 10,
	    .backoff_cap_ms = 40, .report = record, .report_arg = &rs };
	struct alert_queue_stats st;
	struct alert_queue *q;
	char url[64], err[256], h[64];

	(void)state;
	srv_bind(&s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", s.port);
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	push(q, url, "aaaa", "first");
	/* Nobody listens yet: the connection is refused, and retried. */
	wait_for(q, 1, 0, 0);
	alert_queue_stats(q, &st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, 1);

	srv_serve(&s);
	wait_for(q, 3, 1, 0);		/* 500, 503, then 200 */
	push(q, url, "bbbb", "second");
	wait_for(q, 3, 2, 0);
	pthread_join(s.th, NULL);
	alert_queue_stats(q, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(alert_queue_stop(q), 0);
	close(s.fd);

	/* The same request each time until taken, then the next one. */
	for (int i = 0; i < 3; i++) {
		assert_string_equal(body_of(s.reqs[i]), "first");
		assert_string_equal(header_of(s.reqs[i], "Idempotency-Key", h,
		    sizeof(h)), "aaaa");
	}
	assert_string_equal(body_of(s.reqs[3]), "second");
	assert_string_equal(header_of(s.reqs[3], "Idempotency-Key", h,
	    sizeof(h)), "bbbb");
	/* The prepared request goes out as it is. */
	assert_non_null(strstr(s.reqs[0], "POST /hook HTTP/1.1\r\n"));
	assert_string_equal(header_of(s.reqs[0], "Content-Type", h,
	    sizeof(h)), "text/plain; charset=utf-8");
	assert_string_equal(header_of(s.reqs[0], "Title", h, sizeof(h)), "t");
	assert_string_equal(header_of(s.reqs[0], "Content-Length", h,
	    sizeof(h)), "5");
	assert_null(strcasestr(s.reqs[0], "\r\nExpect:"));
	/* Reported: the first failure only, then each delivery with the
	 * posts it took (the refused connections, 500, 503, 200). */
	assert_int_equal(nreports(&rs), 3);
	assert_string_equal(rs.v[0].id, "aaaa");
	assert_int_equal(rs.v[0].e, ALERT_QUEUE_RETRYING);
	assert_int_equal(rs.v[0].attempts, 1);
	assert_non_null(strstr(rs.v[0].why, "onnect"));
	assert_int_equal(rs.v[1].e, ALERT_QUEUE_SENT);
	assert_true(rs.v[1].attempts >= 4);
	assert_int_equal(rs.v[1].attempts, (int)st.retries + 1);
	assert_string_equal(rs.v[2].id, "bbbb");
	assert_int_equal(rs.v[2].e, ALERT_QUEUE_SENT);
	assert_int_equal(rs.v[2].attempts, 1);
	assert_string_equal(alert_queue_event_name(ALERT_QUEUE_SENT), "sent");
}

/* A body over 1 KiB goes out at once, without waiting on a 100
 * Continue the receiver never sends. */
static void
test_queue_big_body_no_expect(void **state)
{
	static const int codes[] = { 200 };
	struct recv_srv s = { .codes = codes, .ncodes = 1 };
	struct alert_queue_opts o = { .name = "test" };
	struct alert_queue *q;
	char url[64], err[256], body[1500];

	(void)state;
	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	srv_bind(&s);
	srv_serve(&s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", s.port);
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	push(q, url, "big", body);
	wait_for(q, 0, 1, 0);
	pthread_join(s.th, NULL);
	assert_int_equal(alert_queue_stop(q), 0);
	close(s.fd);
	assert_null(strcasestr(s.reqs[0], "\r\nExpect:"));
	assert_string_equal(body_of(s.reqs[0]), body);
}

/* 4xx other than 408/429 is refused for good: dropped, not retried. */
static void
test_queue_refused(void **state)
{
	static const int codes[] = { 400, 200 };
	struct recv_srv s = { .codes = codes, .ncodes = 2 };
	struct reports rs = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct alert_queue_opts o = { .name = "test", .backoff_ms = 10,
	    .report = record, .report_arg = &rs };
	struct alert_queue_stats st;
	struct alert_queue *q;
	char url[64], err[256];

	(void)state;
	srv_bind(&s);
	srv_serve(&s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	push(q, url, "bad", "x");
	push(q, url, "good", "y");
	wait_for(q, 0, 1, 0);
	pthread_join(s.th, NULL);
	alert_queue_stats(q, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.retries, 0);
	assert_int_equal(alert_queue_stop(q), 0);
	close(s.fd);
	assert_string_equal(body_of(s.reqs[1]), "y");
	assert_int_equal(nreports(&rs), 2);
	assert_int_equal(rs.v[0].e, ALERT_QUEUE_REFUSED);
	assert_string_equal(rs.v[0].why, "HTTP 400");
	assert_int_equal(rs.v[1].e, ALERT_QUEUE_SENT);
}

/* A 429 or 503 with Retry-After waits what the receiver asks, up to
 * the backoff cap, instead of the 10 ms backoff. The delay is read from
 * last_delay_ms, set with the retry count: retry_delay_ms is 0 again once
 * the wait is over, which a loaded machine may reach (40 ms) before the
 * test looks. */
static void
test_queue_retry_after(void **state)
{
	static const int codes[] = { 429, 503, 503, 200 };
	static const char *const extra[] = { "Retry-After: 1\r\n",
	    "Retry-After: 3600\r\n", "" };
	static const int64_t want[] = { 1000, 2000, 40 };
	struct recv_srv s = { .codes = codes, .ncodes = 4 };
	/* The retry after each wait connects and waits for the next
	 * answer; a long request timeout keeps it from failing on its own
	 * before the test serves that answer. */
	struct alert_queue_opts o = { .name = "test", .backoff_ms = 10,
	    .backoff_cap_ms = 2000, .timeout_ms = 60000 };
	struct alert_queue_stats st;
	struct alert_queue *q;
	char url[64], err[256];

	(void)state;
	srv_bind(&s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	for (int i = 0; i < 3; i++) {
		/* One answer at a time, so each failure's delay can be read
		 * before the next answer comes. */
		s.ncodes = i + 1;
		s.extra = extra[i];
		if (i == 0)
			srv_serve(&s);
		else
			assert_int_equal(pthread_create(&s.th, NULL,
			    srv_main, &s), 0);
		if (i == 0)
			push(q, url, "slow", "x");
		wait_for(q, i + 1, 0, 0);
		pthread_join(s.th, NULL);
		alert_queue_stats(q, &st);
		assert_int_equal(st.retries, (uint64_t)(i + 1));
		assert_int_equal(st.last_delay_ms, want[i]);
	}
	s.ncodes = 4;
	s.extra = NULL;
	assert_int_equal(pthread_create(&s.th, NULL, srv_main, &s), 0);
	wait_for(q, 3, 1, 0);
	pthread_join(s.th, NULL);
	alert_queue_stats(q, &st);
	assert_int_equal(st.retry_delay_ms, 0);
	assert_int_equal(alert_queue_stop(q), 0);
	close(s.fd);
}

/* A receiver down for longer than max_age: the request is given up,
 * once, and the lane goes on with the next. */
static void
test_queue_expires(void **state)
{
	struct recv_srv s = { 0 };
	struct reports rs = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct alert_queue_opts o = { .name = "test", .backoff_ms = 10,
	    .backoff_cap_ms = 20, .max_age_ms = 100, .report = record,
	    .report_arg = &rs };
	struct alert_queue_stats st;
	struct alert_queue *q;
	char url[64], err[256];

	(void)state;
	srv_bind(&s);		/* bound, never listening: refused */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	push(q, url, "old", "x");
	wait_for(q, 2, 0, 1);
	alert_queue_stats(q, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(alert_queue_stop(q), 0);
	close(s.fd);
	assert_int_equal(nreports(&rs), 2);
	assert_int_equal(rs.v[0].e, ALERT_QUEUE_RETRYING);
	assert_int_equal(rs.v[1].e, ALERT_QUEUE_EXPIRED);
	assert_true(rs.v[1].attempts >= 2);
}

static void
test_queue_bounded(void **state)
{
	struct reports rs = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct alert_queue_opts o = { .name = "test", .capacity = 2,
	    .backoff_ms = 60000, .report = record, .report_arg = &rs };
	struct alert_queue_stats st;
	struct alert_queue *q;
	char err[256];

	(void)state;
	q = alert_queue_start(&o, err, sizeof(err));
	assert_non_null(q);
	push(q, "http://127.0.0.1:9/", "1", "{}");
	push(q, "http://127.0.0.1:9/", "2", "{}");
	push(q, "http://127.0.0.1:9/", "3", "{}");
	push(q, "http://127.0.0.1:9/", "4", "{}");
	alert_queue_stats(q, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.dropped, 2);
	/* Stopping does not wait out the 60 s backoff. */
	assert_int_equal(alert_queue_stop(q), 2);
	/* 1 and 2 pushed out, 3 and 4 given up at the stop (and a first
	 * try that failed, if the lane got to one). */
	{
		int full = 0, stopped = 0;

		for (int i = 0; i < nreports(&rs); i++) {
			if (rs.v[i].e != ALERT_QUEUE_DROPPED)
				continue;
			if (strcmp(rs.v[i].why, "queue full") == 0)
				full += atoi(rs.v[i].id);
			else if (strcmp(rs.v[i].why, "keeper stopped") == 0)
				stopped += atoi(rs.v[i].id);
		}
		assert_int_equal(full, 1 + 2);
		assert_int_equal(stopped, 3 + 4);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_retries_until_taken),
		cmocka_unit_test(test_queue_big_body_no_expect),
		cmocka_unit_test(test_queue_refused),
		cmocka_unit_test(test_queue_retry_after),
		cmocka_unit_test(test_queue_expires),
		cmocka_unit_test(test_queue_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
