/*
 * http + snapshot: the server on a free loopback port with a fake
 * snapshot, spoken to over real sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "door.h"
#include "fence.h"
#include "http.h"
#include "snapshot.h"
#include "util.h"

struct fixture {
	struct snapshot_store	*store;
	struct http		*http;
	int			 port;
};

static void
publish(struct snapshot_store *st, const char *activity, int code)
{
	const char *health = code == 200 ? "{\"status\":\"ok\"}" :
	    "{\"status\":\"degraded\"}";

	snapshot_publish(st, snapshot_new(xstrdup(activity), strlen(activity),
	    xstrdup(health), strlen(health), code,
	    xstrdup("{\"commits\":[]}"), 14));
}

static int
setup_limits(void **state, const struct http_limits *lim)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[256] = "";
	const char *colon;

	f->store = snapshot_store_new();
	publish(f->store, "{\"agents\":[]}", 200);
	f->http = http_start("127.0.0.1:0", f->store, lim, err, sizeof(err));
	if (f->http == NULL)
		fail_msg("http_start: %s", err);
	colon = strrchr(http_addr(f->http), ':');
	assert_non_null(colon);
	f->port = atoi(colon + 1);
	assert_true(f->port > 0);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_limits(state, NULL);
}

static int
setup_small(void **state)
{
	struct http_limits lim;

	http_default_limits(&lim);
	lim.sse = 1;
	lim.keepalive_ms = 100;
	return setup_limits(state, &lim);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	http_stop(f->http);
	snapshot_store_free(f->store);
	free(f);
	return 0;
}

static int
dial(int port)
{
	struct sockaddr_in sin = { 0 };
	struct timeval tv = { 30, 0 };	/* a deadline: a loaded CI machine */
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;		/* the server may refuse midway */
		p += w;
		n -= (size_t)w;
	}
}

/* Sends raw bytes and reads until the server closes (or 5 s pass). */
static char *
exchange(int port, const char *raw, size_t len)
{
	struct sb b = { 0 };
	char buf[4096];
	ssize_t n;
	int fd = dial(port);

	send_all(fd, raw, len);
	shutdown(fd, SHUT_WR);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		sb_add(&b, buf, (size_t)n);
	close(fd);
	return sb_detach(&b);
}

static char *
request(int port, const char *method, const char *path)
{
	char *raw = xasprintf("%s %s HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n", method, path);
	char *r = exchange(port, raw, strlen(raw));

	free(raw);
	return r;
}

static void
assert_status(const char *resp, int code)
{
	char want[32];

	snprintf(want, sizeof(want), "HTTP/1.1 %d ", code);
	if (strncmp(resp, want, strlen(want)) != 0)
		fail_msg("want %d, got: %.80s", code, resp);
}

static const char *
body_of(const char *resp)
{
	const char *p = strstr(resp, "\r\n\r\n");

	assert_non_null(p);
	return p + 4;
}

static void
test_endpoints(void **state)
{
	struct fixture *f = *state;
	char *r;

	r = request(f->port, "GET", "/_activity");
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Type: application/json"));
	assert_non_null(strstr(r, "Cache-Control: no-store"));
	assert_string_equal(body_of(r), "{\"agents\":[]}");
	free(r);

	r = request(f->port, "GET", "/_health");
	assert_status(r, 200);
	assert_string_equal(body_of(r), "{\"status\":\"ok\"}");
	free(r);
	publish(f->store, "{\"agents\":[1]}", 503);
	r = request(f->port, "GET", "/_health");
	assert_status(r, 503);
	assert_string_equal(body_of(r), "{\"status\":\"degraded\"}");
	free(r);
	r = request(f->port, "GET", "/_activity?x=1");
	assert_string_equal(body_of(r), "{\"agents\":[1]}");
	free(r);

	r = request(f->port, "GET", "/_changes");
	assert_status(r, 200);
	assert_string_equal(body_of(r), "{\"commits\":[]}");
	free(r);

	r = request(f->port, "GET", "/");
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Type: text/html; charset=utf-8"));
	assert_non_null(strstr(r, "Content-Security-Policy: default-src"));
	assert_non_null(strstr(body_of(r), "<title>keeper"));
	free(r);
}

static void
test_head_404_405(void **state)
{
	struct fixture *f = *state;
	char *r;

	r = request(f->port, "HEAD", "/_activity");
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Length: 13\r\n"));
	assert_string_equal(body_of(r), "");
	free(r);

	r = request(f->port, "GET", "/nope");
	assert_status(r, 404);
	free(r);
	r = request(f->port, "GET", "/_activity/x");
	assert_status(r, 404);
	free(r);

	r = request(f->port, "POST", "/_activity");
	assert_status(r, 405);
	assert_non_null(strstr(r, "Allow: GET, HEAD"));
	free(r);
	r = request(f->port, "DELETE", "/");
	assert_status(r, 405);
	free(r);
	r = request(f->port, "PUT", "/nope");
	assert_status(r, 405);
	free(r);
}

static void
assert_still_answers(int port)
{
	char *r = request(port, "GET", "/_activity");

	assert_status(r, 200);
	free(r);
}

static void
test_hostile_requests(void **state)
{
	struct fixture *f = *state;
	struct sb b = { 0 };
	char *r;

	/* A 200 KB header: refused, never buffered whole. */
	sb_adds(&b, "GET /_activity HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (int i = 0; i < 200 * 1024; i++)
		sb_addc(&b, 'a');
	sb_adds(&b, "\r\n\r\n");
	r = exchange(f->port, b.buf, b.len);
	assert_null(strstr(r, "{\"agents\""));
	if (*r != '\0')
		assert_status(r, 431);
	free(r);
	sb_release(&b);
	assert_still_answers(f->port);

	/* Garbage bytes and an HTTP/0.9 line: no snapshot served. */
	r = exchange(f->port, "\x01\x02\xff\xfe garbage\r\n\r\n", 16);
	assert_status(r, 400);
	assert_null(strstr(r, "{\"agents\""));
	free(r);
	r = exchange(f->port, "GET /_activity\r\n", 16);
	assert_null(strstr(r, "{\"agents\""));
	free(r);
	assert_still_answers(f->port);
}

/* Reads from fd until buf holds needle (or the 30 s timeout). */
static int
read_until(int fd, struct sb *b, const char *needle)
{
	char buf[4096];
	ssize_t n;

	while (b->buf == NULL || strstr(b->buf, needle) == NULL) {
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
			return -1;
		sb_add(b, buf, (size_t)n);
	}
	return 0;
}

static void
test_events(void **state)
{
	struct fixture *f = *state;
	const char *req = "GET /_events HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sb b = { 0 };
	char *r;
	int fd = dial(f->port);

	send_all(fd, req, strlen(req));
	assert_int_equal(read_until(fd, &b, "data: {\"agents\":[]}\n\n"), 0);
	assert_non_null(strstr(b.buf, "Content-Type: text/event-stream"));
	assert_non_null(strstr(b.buf, "id: 1\nevent: activity\n"));

	/* Only one stream allowed here: the next one is turned away. */
	r = request(f->port, "GET", "/_events");
	assert_status(r, 503);
	free(r);

	/* Nothing new: keep-alive comments. */
	assert_int_equal(read_until(fd, &b, ": keep-alive\n\n"), 0);
	/* A publish is pushed at once. */
	publish(f->store, "{\"agents\":[\"new\"]}", 200);
	assert_int_equal(read_until(fd, &b,
	    "id: 2\nevent: activity\ndata: {\"agents\":[\"new\"]}\n\n"), 0);
	close(fd);
	sb_release(&b);
	assert_still_answers(f->port);
}

static atomic_int lease_live;

static int
fake_live(void *arg)
{
	(void)arg;
	return atomic_load(&lease_live);
}

static void
publish_role(struct snapshot_store *st, const char *activity, int active)
{
	struct snapshot *s = snapshot_new(xstrdup(activity), strlen(activity),
	    xstrdup("{}"), 2, 200, xstrdup("{\"commits\":[]}"), 14);

	s->role_active = active;
	snapshot_publish(st, s);
}

/* Two keep-alives in a row (each its own chunk), and no hidden. */
static void
read_quiet(int fd, struct sb *b, const char *hidden)
{
	int i;

	for (i = 0; i < 2; i++) {
		sb_release(b);
		*b = (struct sb){ 0 };
		assert_int_equal(read_until(fd, b, ": keep-alive\n\n"), 0);
		assert_null(strstr(b->buf, hidden));
	}
}

/* SPEC §12: a stream never carries "active" once the lease lapsed. */
static void
test_events_fenced(void **state)
{
	struct fixture *f = *state;
	struct fence fe = { fake_live, NULL, NULL };
	const char *req = "GET /_events HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sb b = { 0 };
	int fd;

	atomic_store(&lease_live, 0);
	http_set_fence(f->http, &fe);
	publish_role(f->store, "{\"role\":\"active\",\"n\":1}", 1);
	fd = dial(f->port);
	send_all(fd, req, strlen(req));
	/* Held back from the first event: keep-alives only. */
	read_quiet(fd, &b, "\"active\"");
	/* The standby's snapshot goes out at once. */
	publish_role(f->store, "{\"role\":\"standby\"}", 0);
	assert_int_equal(read_until(fd, &b,
	    "event: activity\ndata: {\"role\":\"standby\"}\n\n"), 0);
	/* Active again with a live lease: sent. Then one more active
	 * snapshot after a lapse: held, and the stream stays quiet. */
	atomic_store(&lease_live, 1);
	publish_role(f->store, "{\"role\":\"active\",\"n\":2}", 1);
	assert_int_equal(read_until(fd, &b, "\"n\":2}\n\n"), 0);
	atomic_store(&lease_live, 0);
	publish_role(f->store, "{\"role\":\"active\",\"n\":3}", 1);
	read_quiet(fd, &b, "\"n\":3");
	/* The lease renewed: the held snapshot follows. */
	atomic_store(&lease_live, 1);
	assert_int_equal(read_until(fd, &b, "\"n\":3}\n\n"), 0);
	close(fd);
	sb_release(&b);
	http_set_fence(f->http, NULL);
}

static void
test_stop_with_open_stream(void **state)
{
	struct fixture *f = *state;
	const char *req = "GET /_events HTTP/1.1\r\nHost: x\r\n\r\n";
	struct sb b = { 0 };
	int fd = dial(f->port);
	int64_t t0;

	send_all(fd, req, strlen(req));
	assert_int_equal(read_until(fd, &b, "\n\n"), 0);
	t0 = util_mono_ms();
	http_stop(f->http);
	f->http = NULL;
	/* The stream ends (the server closes) rather than hanging stop. */
	assert_true(util_mono_ms() - t0 < 4000);
	assert_int_equal(read_until(fd, &b, "never sent"), -1);
	close(fd);
	sb_release(&b);
}

static void
test_addr_file(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/keeper-http-XXXXXX", err[256], *want, *got, *path;
	size_t len;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(http_write_addr(f->http, dir, err, sizeof(err)), 0);
	path = xasprintf("%s/http.addr", dir);
	got = util_read_file(path, &len);
	want = xasprintf("127.0.0.1:%d\n", f->port);
	assert_string_equal(got, want);
	unlink(path);
	rmdir(dir);
	assert_int_equal(http_write_addr(f->http, "/nonexistent/dir", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/dir"));
	free(path);
	free(got);
	free(want);
}

static void
test_bad_listen(void **state)
{
	static const char *const bad[] = { "127.0.0.1", "127.0.0.1:",
	    "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:80x",
	    "" };
	struct snapshot_store *st = snapshot_store_new();
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(http_start(bad[i], st, NULL, err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
	snapshot_store_free(st);
}

static void
test_snapshot_refs(void **state)
{
	struct snapshot_store *st = snapshot_store_new();
	struct snapshot *a, *b;

	(void)state;
	a = snapshot_acquire(st);
	assert_int_equal(a->version, 0);
	assert_string_equal(a->activity, "{}");
	publish(st, "{\"v\":1}", 200);
	b = snapshot_acquire(st);
	assert_int_equal(b->version, 1);
	/* The old one stays readable while held. */
	assert_string_equal(a->activity, "{}");
	publish(st, "{\"v\":2}", 503);
	assert_string_equal(b->activity, "{\"v\":1}");
	assert_int_equal(snapshot_wait(st, 1, 0), 1);
	assert_int_equal(snapshot_wait(st, 2, 10), 0);
	snapshot_release(a);
	snapshot_release(b);
	snapshot_store_close(st);
	assert_int_equal(snapshot_wait(st, 2, 1000), -1);
	snapshot_store_free(st);
}

/* /metrics and /_timeline come from the same snapshot as the rest:
 * the exposition with Prometheus's content type, HEAD with no body. */
static void
test_metrics_and_timeline(void **state)
{
	struct fixture *f = *state;
	static const char m[] = "# HELP keeper_active x\n# TYPE keeper_active "
	    "gauge\nkeeper_active 1\n";
	struct snapshot *s;
	char *r;

	r = request(f->port, "GET", "/metrics");	/* before any */
	assert_status(r, 200);
	assert_string_equal(body_of(r), "");
	free(r);
	s = snapshot_new(xstrdup("{}"), 2, xstrdup("{}"), 2, 200,
	    xstrdup("{}"), 2);
	snapshot_set_more(s, xstrdup(m), strlen(m), xstrdup("{\"agents\":{}}"),
	    13);
	snapshot_publish(f->store, s);
	r = request(f->port, "GET", "/metrics");
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\n"));
	assert_string_equal(body_of(r), m);
	free(r);
	r = request(f->port, "HEAD", "/metrics");
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Length: 66\r\n"));
	assert_string_equal(body_of(r), "");
	free(r);
	r = request(f->port, "GET", "/_timeline");
	assert_status(r, 200);
	assert_non_null(strstr(r, "Content-Type: application/json"));
	assert_string_equal(body_of(r), "{\"agents\":{}}");
	free(r);
	r = request(f->port, "POST", "/metrics");
	assert_status(r, 405);
	free(r);
}

/* ---- issue 20, item 12: what is not HTTP, and idle sockets ---- */

static void
test_classify(void **state)
{
	(void)state;
	assert_int_equal(door_classify("GET / HTTP/1.1", 14, 0), DOOR_HTTP);
	assert_int_equal(door_classify("GET ", 4, 0), DOOR_HTTP);
	assert_int_equal(door_classify("\r\nGET /", 7, 0), DOOR_HTTP);
	assert_int_equal(door_classify("M-SEARCH *", 10, 0), DOOR_HTTP);
	assert_int_equal(door_classify("PRI * HTTP/2.0", 14, 0), DOOR_HTTP);
	/* A prefix of one: wait, unless the client is done. */
	assert_int_equal(door_classify("", 0, 0), DOOR_MORE);
	assert_int_equal(door_classify("GE", 2, 0), DOOR_MORE);
	assert_int_equal(door_classify("\r\n", 2, 0), DOOR_MORE);
	assert_int_equal(door_classify("GE", 2, 1), DOOR_BAD);
	/* What no request begins with. */
	assert_int_equal(door_classify("\x00\x01\x02\r\n\r\n", 7, 0),
	    DOOR_BAD);
	assert_int_equal(door_classify("\x16\x03\x01\x00\xa5", 5, 0),
	    DOOR_BAD);
	assert_int_equal(door_classify("garbage\r\n\r\n", 11, 0), DOOR_BAD);
	assert_int_equal(door_classify(" GET /", 6, 0), DOOR_BAD);
	assert_int_equal(door_classify("GET\t/", 5, 0), DOOR_BAD);
	assert_int_equal(door_classify("G\xc3\xa9T /", 6, 0), DOOR_BAD);
	assert_int_equal(door_classify(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 40, 0), DOOR_BAD);
	/* A peek buffer of empty lines is not waited on for ever. */
	{
		char nl[64];

		memset(nl, '\n', sizeof(nl));
		assert_int_equal(door_classify(nl, sizeof(nl), 0), DOOR_BAD);
	}
}

/* Sends raw bytes without closing our side and reads what comes back
 * until the server closes: a hang is the 5 s receive timeout, which is
 * shorter than the server's 10 s connection timeout. */
static char *
exchange_open(int port, const char *raw, size_t len, int *closed)
{
	struct sb b = { 0 };
	char buf[4096];
	ssize_t n;
	int fd = dial(port);

	send_all(fd, raw, len);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		sb_add(&b, buf, (size_t)n);
	*closed = n == 0;
	close(fd);
	sb_addc(&b, '\0');
	return sb_detach(&b);
}

static void
test_not_http_gets_400(void **state)
{
	static const struct {
		const char	*raw;
		size_t		 len;
	} cases[] = {
		{ "\x00\x01\x02\r\n\r\n", 7 },
		/* The start of a TLS 1.2 ClientHello. */
		{ "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11 },
		/* The rest are text: 0 is their strlen(). */
		{ "garbage\r\n\r\n", 0 },
		{ "GET /_activity HTTP/1.1\r\nHost: x\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", 0 },
		{ "GET /_activity HTTP/1.1\r\nHost: x\r\n"
		  "Content-Length: 5\r\n\r\n", 0 },
		{ "HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n",
		  0 },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].raw);
		int closed;
		char *r;

		r = exchange_open(f->port, cases[i].raw, len, &closed);
		if (strncmp(r, "HTTP/1.1 400 ", 13) != 0)
			fail_msg("case %zu: want 400, got: %.80s", i, r);
		assert_non_null(strstr(r, "Connection: close"));
		assert_true(closed);
		free(r);
	}
	/* A GET whose Content-Length is 0 has no body: served. */
	{
		const char *raw = "GET /_activity HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";
		int closed;
		char *r = exchange_open(f->port, raw, strlen(raw), &closed);

		assert_status(r, 200);
		free(r);
	}
	assert_still_answers(f->port);
}

/* A method that comes in pieces is waited for, not refused. */
static void
test_request_in_pieces(void **state)
{
	struct fixture *f = *state;
	const char *rest = "T /_activity HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	struct pollfd p;
	struct sb b = { 0 };
	int fd = dial(f->port);

	send_all(fd, "\r\nGE", 4);
	/* Nothing comes back for a prefix (a 400 would, at once). */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 300), 0);
	send_all(fd, rest, strlen(rest));
	assert_int_equal(read_until(fd, &b, "{\"agents\":[]}"), 0);
	assert_status(b.buf, 200);
	sb_release(&b);
	close(fd);
}

static int
setup_idle(void **state)
{
	struct http_limits lim;

	http_default_limits(&lim);
	lim.per_ip = 4;
	lim.timeout_s = 1;
	return setup_limits(state, &lim);
}

/* Waits (up to the 30 s receive timeout) for the server to close fd. */
static void
assert_closed_by_server(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		;
	assert_int_equal(n, 0);
}

/* Waits (up to 30 s) until the server holds exactly n slots. */
static void
wait_open(struct http *h, unsigned n)
{
	int64_t deadline = util_mono_ms() + 30000;

	while (http_open_connections(h) != n && util_mono_ms() < deadline)
		usleep(1000);
	assert_int_equal(http_open_connections(h), n);
}

/*
 * Idle sockets dropped after the connection timeout kept their
 * per-address slot a while longer, locking the operator's own curl out.
 * A socket that never sent a byte gives its slot back before it is
 * closed: the request right after must be served, first try.
 *
 * Each round starts once the last round's request is reaped (a served
 * slot comes back a moment after the client saw the close: counted, it
 * made the fourth idle socket the one refused, and the fifth taken), and
 * dials the fifth once the door holds the four.
 */
static void
test_idle_sockets_free_their_slot(void **state)
{
	struct fixture *f = *state;
	int fds[4], extra;
	char *r;

	for (int round = 0; round < 3; round++) {
		wait_open(f->http, 0);
		for (int i = 0; i < 4; i++)
			fds[i] = dial(f->port);
		wait_open(f->http, 4);
		/* The address is full: the next one is told so. */
		extra = dial(f->port);
		{
			struct sb b = { 0 };

			assert_int_equal(read_until(extra, &b,
			    "too many connections"), 0);
			assert_status(b.buf, 503);
			sb_release(&b);
		}
		close(extra);
		for (int i = 0; i < 4; i++)
			assert_closed_by_server(fds[i]);
		r = request(f->port, "GET", "/_activity");
		assert_status(r, 200);
		free(r);
		for (int i = 0; i < 4; i++)
			close(fds[i]);
	}
}

/* Connections the server holds (a request served, then idle): their
 * slots come back as the server reaps them, well before 20 s. */
static void
test_kept_alive_sockets_free_their_slot(void **state)
{
	const char *req = "GET /_activity HTTP/1.1\r\nHost: x\r\n\r\n";
	struct fixture *f = *state;
	int64_t deadline;
	int fds[4], ok = 0;

	for (int i = 0; i < 4; i++) {
		struct sb b = { 0 };

		fds[i] = dial(f->port);
		send_all(fds[i], req, strlen(req));
		assert_int_equal(read_until(fds[i], &b, "{\"agents\":[]}"), 0);
		sb_release(&b);
	}
	for (int i = 0; i < 4; i++)
		assert_closed_by_server(fds[i]);
	deadline = util_mono_ms() + 2000;
	while (!ok && util_mono_ms() < deadline) {
		char *r = request(f->port, "GET", "/_activity");

		ok = strncmp(r, "HTTP/1.1 200 ", 13) == 0;
		free(r);
	}
	assert_true(ok);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
}

static void
test_addr_removed(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/keeper-http-XXXXXX", err[256], *path;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/http.addr", dir);
	assert_int_equal(http_write_addr(f->http, dir, err, sizeof(err)), 0);
	http_remove_addr(f->http, dir);
	assert_int_equal(access(path, F_OK), -1);
	/* Another plane's address is left alone. */
	{
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		fputs("127.0.0.1:1\n", fp);
		fclose(fp);
	}
	http_remove_addr(f->http, dir);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	rmdir(dir);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_refs),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test_setup_teardown(test_metrics_and_timeline,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoints, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_head_404_405, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hostile_requests, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_events, setup_small,
		    teardown),
		cmocka_unit_test_setup_teardown(test_events_fenced, setup_small,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_open_stream,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_file, setup,
		    teardown),
		cmocka_unit_test(test_classify),
		cmocka_unit_test_setup_teardown(test_not_http_gets_400, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_request_in_pieces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_idle_sockets_free_their_slot,
		    setup_idle, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kept_alive_sockets_free_their_slot, setup_idle,
		    teardown),
		cmocka_unit_test_setup_teardown(test_addr_removed, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
