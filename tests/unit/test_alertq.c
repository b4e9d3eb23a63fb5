/*
 * test_alertq: the delivery queue against an in-process loopback receiver
 * that refuses, then fails, then takes the alert; and its bound.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_retries_until_taken),
		cmocka_unit_test(test_queue_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
