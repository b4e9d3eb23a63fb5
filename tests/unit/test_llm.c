/*
 * Unit tests for llm: the pure helpers exactly, then the real llm_chat()
 * against a tiny HTTP server on 127.0.0.1 run in a thread of this test,
 * answering a scripted sequence of responses and recording each request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "llm.h"
#include "util.h"

/* ---- pure helpers ---------------------------------------------------- */

static void
check_endpoint(const char *in, const char *want)
{
	char *got = llm_endpoint(in);

	assert_string_equal(got, want);
	free(got);
}

static void
test_endpoint(void **state)
{
	(void)state;
	check_endpoint("https://api.openai.com/v1/chat/completions",
	    "https://api.openai.com/v1/chat/completions");
	check_endpoint("https://api.openai.com/v1",
	    "https://api.openai.com/v1/chat/completions");
	check_endpoint("https://api.openai.com/v1/",
	    "https://api.openai.com/v1/chat/completions");
	check_endpoint("http://127.0.0.1:8080",
	    "http://127.0.0.1:8080/chat/completions");
	check_endpoint("http://h/openai/v1//?api-version=2024-06",
	    "http://h/openai/v1/chat/completions?api-version=2024-06");
	check_endpoint("http://h/v1/chat/completions?x=1",
	    "http://h/v1/chat/completions?x=1");
	/* Only the path's end counts, not a look-alike. */
	check_endpoint("http://h/v1/my/chat/completionsX",
	    "http://h/v1/my/chat/completionsX/chat/completions");
}

static void
test_request_body(void **state)
{
	char *s;

	(void)state;
	s = llm_request_body("gpt-x", "be brief", "say \"hi\"\n");
	assert_string_equal(s, "{\"model\":\"gpt-x\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"be brief\"},"
	    "{\"role\":\"user\",\"content\":\"say \\\"hi\\\"\\n\"}]}");
	free(s);
	s = llm_request_body(NULL, "", "p");
	assert_string_equal(s,
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"p\"}]}");
	free(s);
	/* Invalid UTF-8 (a stray byte, an overlong, a surrogate) becomes
	 * U+FFFD; valid multibyte text passes through. */
	s = llm_request_body("m", NULL, "a\xff" "b\xc0\xaf" "c\xed\xa0\x80"
	    "d\xc3\xa9\xe2\x82");
	assert_string_equal(s, "{\"model\":\"m\",\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d\xc3\xa9\xef\xbf\xbd"
	    "\xef\xbf\xbd\"}]}");
	free(s);
}

static int
parse(const char *body, struct llm_reply *r, char *err, size_t errlen)
{
	err[0] = '\0';
	return llm_parse_reply(body, strlen(body), r, err, errlen);
}

static void
test_parse_reply(void **state)
{
	struct llm_reply r;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"choices\":[{\"message\":{\"role\":"
	    "\"assistant\",\"content\":\"Hello.\"}}],\"usage\":{"
	    "\"prompt_tokens\":12,\"completion_tokens\":3,"
	    "\"total_tokens\":15}}", &r, err, sizeof(err)), 0);
	assert_string_equal(r.content, "Hello.");
	assert_int_equal(r.prompt_tokens, 12);
	assert_int_equal(r.completion_tokens, 3);
	assert_int_equal(r.total_tokens, 15);
	llm_reply_release(&r);
	assert_null(r.content);

	/* Content parts; no usage. */
	assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":["
	    "{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"x\"},"
	    "{\"type\":\"text\",\"text\":\"b\"}]}}]}", &r, err, sizeof(err)), 0);
	assert_string_equal(r.content, "ab");
	assert_int_equal(r.prompt_tokens, -1);
	assert_int_equal(r.total_tokens, -1);
	llm_reply_release(&r);

	assert_int_equal(parse("<html>502 Bad Gateway</html>", &r, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "llm: reply is not JSON");
	assert_null(r.content);
	assert_int_equal(parse("", &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: reply is not JSON");
	assert_int_equal(parse("{\"choices\":[]}", &r, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "llm: reply has no choices[0].message.content");
	assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":"
	    "null}}],\"usage\":{\"total_tokens\":9}}", &r, err, sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "llm: reply has no choices[0].message.content");
	assert_int_equal(r.total_tokens, 9);	/* still billed */
	assert_int_equal(parse("[1,2]", &r, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "llm: reply has no choices[0].message.content");
	assert_int_equal(parse("{\"error\":{\"message\":\"quota\\nexceeded\"}}",
	    &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: reply has no choices[0].message.content"
	    " (error: quota exceeded)");
}

static void
reason(long status, const char *body, const char *want)
{
	char buf[512];

	llm_error_reason(status, body, strlen(body), buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_error_reason(void **state)
{
	char big[1000], want[300];

	(void)state;
	reason(401, "{\"error\":{\"message\":\"Incorrect API key provided\","
	    "\"type\":\"invalid_request_error\"}}",
	    "HTTP 401: Incorrect API key provided");
	reason(400, "{\"error\":\"model not found\"}",
	    "HTTP 400: model not found");
	reason(422, "{\"detail\":\"bad field\"}", "HTTP 422: bad field");
	reason(502, "\n  <html>\r\n<body>bad gateway</body>",
	    "HTTP 502: <html>");
	reason(503, "", "HTTP 503");
	reason(500, "{\"error\":{\"message\":\"line one\\n\\tline two\"}}",
	    "HTTP 500: line one line two");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(want, sizeof(want), "HTTP 500: %.200s", big);
	reason(500, big, want);
}

static void
test_retry_after(void **state)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT */
	const int64_t date = 1445412480LL * 1000;

	(void)state;
	assert_int_equal(llm_retry_after_ms("3", 0), 3000);
	assert_int_equal(llm_retry_after_ms(" 0 ", 0), 0);
	assert_int_equal(llm_retry_after_ms("120\r\n", 0), 120000);
	assert_int_equal(llm_retry_after_ms(NULL, 0), -1);
	assert_int_equal(llm_retry_after_ms("", 0), -1);
	assert_int_equal(llm_retry_after_ms("soon", 0), -1);
	assert_int_equal(llm_retry_after_ms("-1", 0), -1);
	assert_int_equal(llm_retry_after_ms("1.5", 0), -1);
	assert_int_equal(llm_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT",
	    date - 5000), 5000);
	assert_int_equal(llm_retry_after_ms("Wednesday, 21-Oct-15 07:28:00 GMT",
	    date - 250), 250);
	assert_int_equal(llm_retry_after_ms("Wed Oct 21 07:28:00 2015",
	    date - 1000), 1000);
	/* A date in the past means now. */
	assert_int_equal(llm_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT",
	    date + 60000), 0);
	/* Absurd delays are clamped, not overflowed. */
	assert_true(llm_retry_after_ms("99999999999999999999999", 0) > 0);
}

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(llm_backoff_ms(1), 500);
	assert_int_equal(llm_backoff_ms(2), 1000);
	assert_int_equal(llm_backoff_ms(3), 2000);
	assert_int_equal(llm_backoff_ms(6), 16000);
	assert_int_equal(llm_backoff_ms(7), 30000);
	assert_int_equal(llm_backoff_ms(1000), 30000);
	assert_int_equal(llm_backoff_ms(0), 500);
	assert_true(llm_status_retryable(429));
	assert_true(llm_status_retryable(500));
	assert_true(llm_status_retryable(503));
	assert_true(llm_status_retryable(599));
	assert_false(llm_status_retryable(400));
	assert_false(llm_status_retryable(401));
	assert_false(llm_status_retryable(404));
	assert_false(llm_status_retryable(200));
	assert_false(llm_status_retryable(600));
}

/* ---- a loopback server ----------------------------------------------- */

struct resp {
	int		 status;
	const char	*headers;	/* extra lines, each ending \r\n */
	const char	*body;
	size_t		 bodylen;	/* 0: strlen(body) */
	int		 stall_ms;	/* pause after half the body */
	int		 hangup;	/* close without answering */
};

#define MAXREQ 16

struct server {
	int			 lfd;
	int			 port;
	int			 stop[2];
	pthread_t		 thr;
	const struct resp	*script;
	size_t			 nscript;
	pthread_mutex_t		 mu;
	char			*req[MAXREQ];
	int64_t			 req_at[MAXREQ];
	size_t			 nreq;
};

/* Wait up to ms (-1: forever) for fd (-1: none) to be readable: 1 when
 * it is, 0 when the stop pipe fired, -1 on timeout. */
static int
wait_fd(struct server *s, int fd, int ms)
{
	struct pollfd p[2] = {
		{ .fd = s->stop[0], .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
	};

	if (poll(p, fd >= 0 ? 2 : 1, ms) < 0 || (p[0].revents & POLLIN))
		return 0;
	if (fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
		return 1;
	return -1;
}

/* Read one request (head and Content-Length body). */
static char *
read_request(struct server *s, int fd)
{
	struct sb sb = { 0 };
	char buf[4096], *head, *cl;
	size_t want = 0;
	ssize_t n;

	for (;;) {
		if (wait_fd(s, fd, 3000) != 1)
			break;
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			break;
		sb_add(&sb, buf, (size_t)n);
		if (want == 0 && (head = strstr(sb.buf, "\r\n\r\n")) != NULL) {
			want = (size_t)(head - sb.buf) + 4;
			if ((cl = strcasestr(sb.buf, "\r\ncontent-length:")) &&
			    cl < head)
				want += strtoul(cl + 17, NULL, 10);
		}
		if (want != 0 && sb.len >= want)
			break;
	}
	return sb_detach(&sb);
}

static void
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0 && (w = send(fd, p, n, MSG_NOSIGNAL)) > 0) {
		p += w;
		n -= (size_t)w;
	}
}

static void *
server_main(void *arg)
{
	struct server *s = arg;
	const struct resp *r;
	size_t i = 0, blen;
	char *req, head[1024];
	int fd;

	for (;;) {
		if (wait_fd(s, s->lfd, -1) != 1)
			break;
		if ((fd = accept(s->lfd, NULL, NULL)) < 0)
			continue;
		req = read_request(s, fd);
		pthread_mutex_lock(&s->mu);
		if (s->nreq < MAXREQ) {
			s->req_at[s->nreq] = util_mono_ms();
			s->req[s->nreq++] = req;
		} else
			free(req);
		pthread_mutex_unlock(&s->mu);
		/* The last response repeats forever. */
		r = &s->script[i < s->nscript ? i : s->nscript - 1];
		i++;
		if (r->hangup) {
			close(fd);
			continue;
		}
		blen = r->bodylen ? r->bodylen : strlen(r->body);
		snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n%s\r\n", r->status, blen,
		    r->headers ? r->headers : "");
		send_all(fd, head, strlen(head));
		if (r->stall_ms > 0) {
			send_all(fd, r->body, blen / 2);
			if (wait_fd(s, -1, r->stall_ms) == 0) {
				close(fd);
				break;
			}
			send_all(fd, r->body + blen / 2, blen - blen / 2);
		} else
			send_all(fd, r->body, blen);
		close(fd);
	}
	return NULL;
}

static void
server_start(struct server *s, const struct resp *script, size_t n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->script = script;
	s->nscript = n;
	pthread_mutex_init(&s->mu, NULL);
	assert_int_equal(pipe(s->stop), 0);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thr, NULL, server_main, s), 0);
}

static void
server_stop(struct server *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->thr, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	pthread_mutex_destroy(&s->mu);
}

/* The recorded requests outlive server_stop() until this. */
static void
server_release(struct server *s)
{
	size_t i;

	for (i = 0; i < s->nreq; i++)
		free(s->req[i]);
	s->nreq = 0;
}

static char *
server_url(struct server *s, const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

/* The JSON body of a recorded request. */
static json_t *
req_json(const char *req)
{
	const char *b = strstr(req, "\r\n\r\n");

	assert_non_null(b);
	return json_loads(b + 4, 0, NULL);
}

static const char ok_body[] =
    "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
    "\"assistant\",\"content\":\"The answer.\"},\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":21,\"completion_tokens\":3,"
    "\"total_tokens\":24}}";

/* One call against a server playing script; err and reply returned. */
static int
call(struct server *s, const char *path, const char *key, int64_t timeout,
    struct llm_reply *r, char *err, size_t errlen)
{
	char *url = server_url(s, path);
	struct llm_request rq = {
		.url = url, .key = key, .model = "test-model",
		.system = "You are terse.", .prompt = "Say \"yes\".\n{{prev}}",
		.timeout_ms = timeout,
	};
	int rc;

	err[0] = '\0';
	rc = llm_chat(&rq, r, err, errlen);
	free(url);
	return rc;
}

static void
test_chat_request_shape(void **state)
{
	const struct resp script[] = { { 200, NULL, ok_body, 0, 0, 0 } };
	struct llm_reply r;
	struct server s;
	json_t *j, *m;
	char err[512];

	(void)state;
	server_start(&s, script, 1);
	assert_int_equal(call(&s, "/v1/", "sk-test-123", 5000, &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.content, "The answer.");
	assert_int_equal(r.prompt_tokens, 21);
	assert_int_equal(r.completion_tokens, 3);
	assert_int_equal(r.total_tokens, 24);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.attempts, 1);
	llm_reply_release(&r);
	server_stop(&s);

	assert_int_equal(s.nreq, 1);
	assert_true(strncmp(s.req[0], "POST /v1/chat/completions HTTP/1.1\r\n",
	    36) == 0);
	assert_non_null(strstr(s.req[0],
	    "\r\nAuthorization: Bearer sk-test-123\r\n"));
	assert_non_null(strcasestr(s.req[0],
	    "\r\nContent-Type: application/json\r\n"));
	j = req_json(s.req[0]);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "model")),
	    "test-model");
	m = json_object_get(j, "messages");
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 0), "role")), "system");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 0), "content")), "You are terse.");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 1), "role")), "user");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(m, 1), "content")), "Say \"yes\".\n{{prev}}");
	json_decref(j);
	server_release(&s);
}

static void
test_chat_no_key_full_url(void **state)
{
	const struct resp script[] = { { 200, NULL, ok_body, 0, 0, 0 } };
	struct llm_reply r;
	struct server s;
	char err[512];

	(void)state;
	server_start(&s, script, 1);
	assert_int_equal(call(&s, "/x/chat/completions", NULL, 5000, &r, err,
	    sizeof(err)), 0);
	llm_reply_release(&r);
	assert_int_equal(call(&s, "", "", 5000, &r, err, sizeof(err)), 0);
	llm_reply_release(&r);
	server_stop(&s);
	assert_int_equal(s.nreq, 2);
	assert_true(strncmp(s.req[0], "POST /x/chat/completions HTTP", 29) == 0);
	assert_true(strncmp(s.req[1], "POST /chat/completions HTTP", 27) == 0);
	assert_null(strcasestr(s.req[0], "\r\nAuthorization:"));
	assert_null(strcasestr(s.req[1], "\r\nAuthorization:"));
	server_release(&s);
}

static void
test_chat_429_retry_after(void **state)
{
	const struct resp script[] = {
		{ 429, "Retry-After: 1\r\n",
		  "{\"error\":{\"message\":\"slow down\"}}", 0, 0, 0 },
		{ 200, NULL, ok_body, 0, 0, 0 },
	};
	struct llm_reply r;
	struct server s;
	char err[512];

	(void)state;
	server_start(&s, script, 2);
	assert_int_equal(call(&s, "/v1", "k", 10000, &r, err, sizeof(err)), 0);
	assert_string_equal(r.content, "The answer.");
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.http_status, 200);
	llm_reply_release(&r);
	server_stop(&s);
	assert_int_equal(s.nreq, 2);
	/* Retry-After (1 s) beat the first backoff step (500 ms): the
	 * second request came no sooner than the server asked. */
	assert_true(s.req_at[1] - s.req_at[0] >= 1000);
	server_release(&s);
}

static void
test_chat_hangup_retried(void **state)
{
	const struct resp script[] = {
		{ 0, NULL, "", 0, 0, 1 },
		{ 200, NULL, ok_body, 0, 0, 0 },
	};
	struct llm_reply r;
	struct server s;
	char err[512];

	(void)state;
	server_start(&s, script, 2);
	/* A connection closed with no answer is worth another attempt. */
	assert_int_equal(call(&s, "/v1", "k", 5000, &r, err, sizeof(err)), 0);
	assert_string_equal(r.content, "The answer.");
	assert_int_equal(r.attempts, 2);
	llm_reply_release(&r);
	server_stop(&s);
	assert_int_equal(s.nreq, 2);
	server_release(&s);
}

static void
test_chat_500_forever(void **state)
{
	const struct resp script[] = {
		{ 500, NULL, "{\"error\":{\"message\":\"boom\"}}", 0, 0, 0 },
	};
	struct llm_reply r;
	struct server s;
	char err[512], want[512];

	(void)state;
	server_start(&s, script, 1);
	/* Attempts at 0, 0.5 and 1.5 s; the next would wait 2 s, past 3 s.
	 * A loaded machine may fit only two: count, do not assume. */
	assert_int_equal(call(&s, "/v1", "k", 3000, &r, err, sizeof(err)), -1);
	assert_true(r.attempts == 2 || r.attempts == 3);
	snprintf(want, sizeof(want), "llm: timed out after 3s (%d attempts, "
	    "last: HTTP 500: boom)", r.attempts);
	assert_string_equal(err, want);
	assert_null(r.content);
	assert_int_equal(r.http_status, 500);
	server_stop(&s);
	assert_int_equal(s.nreq, (size_t)r.attempts);
	server_release(&s);
}

static void
test_chat_retry_after_past_deadline(void **state)
{
	const struct resp script[] = {
		{ 503, "retry-after: 60\r\n", "overloaded\n", 0, 0, 0 },
		{ 200, NULL, ok_body, 0, 0, 0 },
	};
	struct llm_reply r;
	struct server s;
	char err[512];

	(void)state;
	server_start(&s, script, 2);
	assert_int_equal(call(&s, "/v1", "k", 2000, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: timed out after 2s (1 attempt, "
	    "last: HTTP 503: overloaded)");
	server_stop(&s);
	assert_int_equal(s.nreq, 1);
	server_release(&s);
}

static void
test_chat_errors(void **state)
{
	const struct resp script[] = {
		{ 401, NULL, "{\"error\":{\"message\":\"Incorrect API key "
		  "provided: sk-bad.\",\"type\":\"invalid_request_error\"}}",
		  0, 0, 0 },
		{ 200, NULL, "<html>hello</html>", 0, 0, 0 },
		{ 200, NULL, "{\"choices\":[{\"message\":{}}]}", 0, 0, 0 },
	};
	struct llm_reply r;
	struct server s;
	char err[512];

	(void)state;
	server_start(&s, script, 3);
	assert_int_equal(call(&s, "/v1", "sk-bad", 5000, &r, err,
	    sizeof(err)), -1);
	assert_string_equal(err,
	    "llm: HTTP 401: Incorrect API key provided: sk-bad.");
	assert_int_equal(r.attempts, 1);	/* a 4xx is not retried */
	assert_int_equal(r.http_status, 401);
	assert_int_equal(call(&s, "/v1", "k", 5000, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: reply is not JSON");
	assert_int_equal(r.attempts, 1);
	assert_int_equal(call(&s, "/v1", "k", 5000, &r, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "llm: reply has no choices[0].message.content");
	assert_null(r.content);
	server_stop(&s);
	assert_int_equal(s.nreq, 3);
	server_release(&s);
}

static void
test_chat_slow_body(void **state)
{
	/* Headers and half the body, then silence far past the timeout. */
	const struct resp script[] = { { 200, NULL, ok_body, 0, 20000, 0 } };
	struct llm_reply r;
	struct server s;
	char err[512];

	(void)state;
	server_start(&s, script, 1);
	assert_int_equal(call(&s, "/v1", "k", 400, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: timed out after 400ms (1 attempt)");
	assert_int_equal(r.attempts, 1);
	server_stop(&s);
	server_release(&s);
}

static void
test_chat_too_big(void **state)
{
	struct resp script[] = { { 200, NULL, NULL, 0, 0, 0 } };
	struct llm_reply r;
	struct server s;
	char err[512], *big;
	size_t n = LLM_MAX_REPLY + 4096;

	(void)state;
	big = xmalloc(n);
	memset(big, ' ', n);
	script[0].body = big;
	script[0].bodylen = n;
	server_start(&s, script, 1);
	assert_int_equal(call(&s, "/v1", "k", 10000, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: reply larger than 8 MiB");
	server_stop(&s);
	free(big);
	server_release(&s);
}

static void
test_chat_refused(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct llm_reply r;
	struct llm_request rq = { .prompt = "p", .timeout_ms = 800 };
	char err[512], *url;
	int fd;

	(void)state;
	/* A port that was just free: bound, never listened on. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	url = xasprintf("http://127.0.0.1:%d/v1", ntohs(sa.sin_port));
	rq.url = url;
	assert_int_equal(llm_chat(&rq, &r, err, sizeof(err)), -1);
	close(fd);
	free(url);
	/* Connection refused is retried (0 s, 0.5 s), then the deadline. */
	assert_true(strncmp(err, "llm: timed out after 800ms (2 attempts, "
	    "last: ", 40) == 0);
	assert_non_null(strstr(err, "onnect"));
	assert_int_equal(r.attempts, 2);
	assert_int_equal(r.http_status, 0);

	/* Bad requests fail before any network. */
	rq.url = "";
	assert_int_equal(llm_chat(&rq, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: no endpoint (set KEEPER_LLM_URL)");
	rq.url = "http://127.0.0.1:1/v1";
	rq.key = "abc\r\nX-Evil: 1";
	assert_int_equal(llm_chat(&rq, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "llm: the key contains a line break");
	rq.key = NULL;
	rq.url = "ftp://127.0.0.1/v1";
	assert_int_equal(llm_chat(&rq, &r, err, sizeof(err)), -1);
	assert_int_equal(r.attempts, 1);	/* not retried */
	assert_true(strncmp(err, "llm: ", 5) == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_request_body),
		cmocka_unit_test(test_parse_reply),
		cmocka_unit_test(test_error_reason),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_chat_request_shape),
		cmocka_unit_test(test_chat_no_key_full_url),
		cmocka_unit_test(test_chat_429_retry_after),
		cmocka_unit_test(test_chat_hangup_retried),
		cmocka_unit_test(test_chat_500_forever),
		cmocka_unit_test(test_chat_retry_after_past_deadline),
		cmocka_unit_test(test_chat_errors),
		cmocka_unit_test(test_chat_slow_body),
		cmocka_unit_test(test_chat_too_big),
		cmocka_unit_test(test_chat_refused),
	};

	if (llm_global_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
