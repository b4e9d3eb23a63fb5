/*
 * llm: one chat completion through libcurl, retried on 429 and 5xx with
 * exponential backoff, all inside one deadline.
 *
 * The pure parts (the endpoint rule, the request body, reply parsing,
 * error reasons, Retry-After, the backoff schedule) are separate functions
 * so tests check them exactly; llm_chat() is the loop that drives curl and
 * sleeps between attempts. Every attempt gets the time left before the
 * deadline as its total timeout, and no wait is started that would end
 * past the deadline: the caller's step timeout is never overrun by us.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "dlcurl.h"
#include "llm.h"
#include "utf8.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS	10000
#define BACKOFF_FIRST_MS	500
#define BACKOFF_MAX_MS		30000
#define MAX_ATTEMPTS		10
#define REASON_MAX		200	/* bytes of a server's message kept */

static const char completions[] = "/chat/completions";

/* ---- pure helpers ---------------------------------------------------- */

char *
llm_endpoint(const char *url)
{
	size_t n = strcspn(url, "?#"), slen = strlen(completions);
	struct sb sb = { 0 };

	if (n >= slen && memcmp(url + n - slen, completions, slen) == 0)
		return xstrdup(url);
	sb_add(&sb, url, n);
	while (sb.len > 0 && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = '\0';
	sb_adds(&sb, completions);
	sb_adds(&sb, url + n);
	return sb_detach(&sb);
}

/* A JSON string for s, with invalid UTF-8 replaced by U+FFFD (jansson
 * refuses invalid UTF-8, and agents' output may hold any bytes). */
static json_t *
json_text(const char *s)
{
	size_t n;
	char *c = utf8_clean(s, strlen(s), 0, &n);
	json_t *j = json_stringn(c, n);

	free(c);
	return j;
}

static json_t *
message(const char *role, const char *content)
{
	json_t *m = json_object();

	json_object_set_new(m, "role", json_string(role));
	json_object_set_new(m, "content", json_text(content));
	return m;
}

char *
llm_request_body(const char *model, const char *system, const char *prompt)
{
	json_t *root = json_object(), *msgs = json_array();
	char *s;

	if (model != NULL && model[0] != '\0')
		json_object_set_new(root, "model", json_text(model));
	if (system != NULL && system[0] != '\0')
		json_array_append_new(msgs, message("system", system));
	json_array_append_new(msgs, message("user", prompt ? prompt : ""));
	json_object_set_new(root, "messages", msgs);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL) {
		fprintf(stderr, "keeper: out of memory building a request\n");
		abort();
	}
	return s;
}

static long
usage_field(json_t *usage, const char *name)
{
	json_t *v = json_object_get(usage, name);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (long)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0)
		return (long)json_real_value(v);
	return -1;
}

/* The content as text: a string, or the text parts of an array of
 * content parts (some servers answer that way). NULL when neither. */
static char *
content_text(json_t *content)
{
	struct sb sb = { 0 };
	json_t *part, *text;
	size_t i;
	int any = 0;

	if (json_is_string(content))
		return xstrndup(json_string_value(content),
		    json_string_length(content));
	if (!json_is_array(content))
		return NULL;
	json_array_foreach(content, i, part) {
		text = json_object_get(part, "text");
		if (json_is_string(text)) {
			sb_add(&sb, json_string_value(text),
			    json_string_length(text));
			any = 1;
		}
	}
	if (!any) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

/* Copy s (n bytes) into buf as one printable line of at most REASON_MAX
 * bytes: control characters become spaces, runs of them one space. */
static void
one_line(const char *s, size_t n, char *buf, size_t buflen)
{
	size_t i, o = 0, max = buflen - 1;
	int space = 1;

	if (buflen == 0)
		return;
	if (max > REASON_MAX)
		max = REASON_MAX;
	for (i = 0; i < n && o < max; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space)
				buf[o++] = ' ';
			space = 1;
			continue;
		}
		buf[o++] = (char)c;
		space = 0;
	}
	while (o > 0 && buf[o - 1] == ' ')
		o--;
	buf[o] = '\0';
}

/* The server's own words in an error body: error.message, error (a
 * string), message or detail; NULL when the body says nothing usable. */
static json_t *
error_message(json_t *root)
{
	json_t *e = json_object_get(root, "error"), *m;

	if (json_is_object(e) && json_is_string(m = json_object_get(e,
	    "message")))
		return m;
	if (json_is_string(e))
		return e;
	if (json_is_string(m = json_object_get(root, "message")))
		return m;
	if (json_is_string(m = json_object_get(root, "detail")))
		return m;
	return NULL;
}

int
llm_parse_reply(const char *body, size_t len, struct llm_reply *r,
    char *err, size_t errlen)
{
	json_t *root, *usage, *msg, *em;
	json_error_t je;
	char why[REASON_MAX + 1];
	int rc = -1;

	r->content = NULL;
	r->prompt_tokens = r->completion_tokens = r->total_tokens = -1;
	root = json_loadb(body, len, JSON_DECODE_ANY, &je);
	if (root == NULL) {
		snprintf(err, errlen, "llm: reply is not JSON");
		return -1;
	}
	usage = json_object_get(root, "usage");
	r->prompt_tokens = usage_field(usage, "prompt_tokens");
	r->completion_tokens = usage_field(usage, "completion_tokens");
	r->total_tokens = usage_field(usage, "total_tokens");
	msg = json_object_get(json_array_get(json_object_get(root, "choices"),
	    0), "message");
	r->content = content_text(json_object_get(msg, "content"));
	if (r->content != NULL) {
		rc = 0;
		goto done;
	}
	if ((em = error_message(root)) != NULL) {
		one_line(json_string_value(em), json_string_length(em), why,
		    sizeof(why));
		snprintf(err, errlen, "llm: reply has no "
		    "choices[0].message.content (error: %s)", why);
	} else
		snprintf(err, errlen,
		    "llm: reply has no choices[0].message.content");
done:
	json_decref(root);
	return rc;
}

void
llm_error_reason(long status, const char *body, size_t len, char *buf,
    size_t buflen)
{
	char why[REASON_MAX + 1] = "";
	json_t *root, *m;
	size_t n;

	root = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	if (root != NULL && (m = error_message(root)) != NULL)
		one_line(json_string_value(m), json_string_length(m), why,
		    sizeof(why));
	else {
		/* Not JSON: the first non-blank line of whatever came. */
		while (len > 0 && isspace((unsigned char)*body)) {
			body++;
			len--;
		}
		for (n = 0; n < len && body[n] != '\n' && body[n] != '\r'; n++)
			;
		one_line(body, n, why, sizeof(why));
	}
	json_decref(root);
	if (why[0] != '\0')
		snprintf(buf, buflen, "HTTP %ld: %s", status, why);
	else
		snprintf(buf, buflen, "HTTP %ld", status);
}

void
llm_url_host(const char *url, char *buf, size_t buflen)
{
	const char *p = strstr(url, "://"), *at, *end;
	size_t n;

	p = p ? p + 3 : url;
	n = strcspn(p, "/?#");
	end = p + n;
	/* user:password@host: the password is nobody's business. */
	if ((at = memchr(p, '@', n)) != NULL)
		p = at + 1;
	snprintf(buf, buflen, "%.*s", (int)(end - p), p);
}

int64_t
llm_retry_after_ms(const char *v, int64_t now_ms)
{
	int64_t secs = 0;
	size_t n;
	time_t t;

	if (v == NULL)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (n == 0)
		return -1;
	if (strspn(v, "0123456789") >= n) {
		for (size_t i = 0; i < n; i++) {
			secs = secs * 10 + (v[i] - '0');
			if (secs > 86400 * 365)	/* a year is forever */
				break;
		}
		return secs * 1000;
	}
	/* An HTTP-date: curl_getdate() reads all three forms of RFC 9110. */
	{
		const struct dlcurl *lc = dlcurl_get(NULL, 0);
		char *d;

		if (lc == NULL)
			return -1;
		d = xstrndup(v, n);
		t = lc->getdate(d, NULL);
		free(d);
	}
	if (t == -1)
		return -1;
	if ((int64_t)t * 1000 <= now_ms)
		return 0;
	return (int64_t)t * 1000 - now_ms;
}

int64_t
llm_backoff_ms(int failures)
{
	int64_t ms = BACKOFF_FIRST_MS;

	while (--failures > 0 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

int
llm_status_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

/* ---- the call -------------------------------------------------------- */

int
llm_global_init(void)
{
	return dlcurl_get(NULL, 0) != NULL ? 0 : -1;
}

void
llm_reply_release(struct llm_reply *r)
{
	if (r == NULL)
		return;
	free(r->content);
	r->content = NULL;
}

struct xfer {
	struct sb	body;
	int		too_big;
	char		retry_after[64];
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (n > LLM_MAX_REPLY - x->body.len) {
		x->too_big = 1;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	sb_add(&x->body, p, n);
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "retry-after:";
	struct xfer *x = arg;
	size_t n = size * nmemb, k = sizeof(name) - 1, i;

	/* A new status line (after a 1xx) starts a new set of headers. */
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
		x->retry_after[0] = '\0';
	if (n > k && strncasecmp(p, name, k) == 0) {
		for (i = 0; k + i < n && i < sizeof(x->retry_after) - 1 &&
		    p[k + i] != '\r' && p[k + i] != '\n'; i++)
			x->retry_after[i] = p[k + i];
		x->retry_after[i] = '\0';
	}
	return n;
}

/* Transport failures worth another attempt: the server may be restarting
 * or a proxy dropped the connection. */
static int
curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_OPERATION_TIMEDOUT:	/* the connect timeout */
		return 1;
	default:
		return 0;
	}
}

/*
 * curl_easy_perform() with SIGPIPE blocked in this thread. With
 * CURLOPT_NOSIGNAL libcurl leaves SIGPIPE alone, and a TLS library writing
 * to a peer that hung up would otherwise kill the process; blocked, the
 * write fails with EPIPE instead and the signal it left pending is taken
 * off before the mask is restored. Per thread, so safe beside others.
 */
static CURLcode
perform(const struct dlcurl *lc, CURL *curl)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe_set, old;
	CURLcode cc;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) != 0)
		return lc->easy_perform(curl);
	cc = lc->easy_perform(curl);
	if (!sigismember(&old, SIGPIPE)) {
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return cc;
}

static void
fmt_ms(int64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
}

static void
sleep_until(int64_t mono_ms)
{
	struct timespec ts;
	int64_t left;

	while ((left = mono_ms - util_mono_ms()) > 0) {
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		nanosleep(&ts, NULL);	/* EINTR: the loop measures again */
	}
}

/* "HTTP 500: message" as "HTTP 500 from HOST after N tries: message";
 * a transport error as "cannot reach HOST after N tries: error". */
static void
why_failed(struct llm_reply *rp, const char *host, const char *last)
{
	const char *colon = strchr(last, ':');
	char tries[48];

	snprintf(tries, sizeof(tries), "after %d tr%s", rp->attempts,
	    rp->attempts == 1 ? "y" : "ies");
	if (strncmp(last, "HTTP ", 5) == 0 && colon != NULL)
		snprintf(rp->why, sizeof(rp->why), "%.*s from %s %s%s",
		    (int)(colon - last), last, host, tries, colon);
	else if (strncmp(last, "HTTP ", 5) == 0)
		snprintf(rp->why, sizeof(rp->why), "%s from %s %s", last, host,
		    tries);
	else
		snprintf(rp->why, sizeof(rp->why), "cannot reach %s %s: %s",
		    host, tries, last);
}

/* What the watcher sees while we wait: "HTTP 500 from HOST, try 3 in
 * 4s". */
static void
tell_retry(const struct llm_request *rq, const char *host, const char *last,
    int next, int64_t wait)
{
	const char *colon = strchr(last, ':');
	char t[32], *msg;

	if (rq->on_retry == NULL)
		return;
	fmt_ms(wait, t, sizeof(t));
	if (strncmp(last, "HTTP ", 5) == 0)
		msg = xasprintf("%.*s from %s, try %d in %s", colon ?
		    (int)(colon - last) : (int)strlen(last), last, host, next,
		    t);
	else
		msg = xasprintf("cannot reach %s (%s), try %d in %s", host,
		    last, next, t);
	rq->on_retry(rq->retry_arg, msg);
	free(msg);
}

static void
timed_out(char *err, size_t errlen, int64_t timeout_ms, int attempts,
    const char *last)
{
	char t[32];

	fmt_ms(timeout_ms, t, sizeof(t));
	if (last[0] != '\0')
		snprintf(err, errlen, "llm: timed out after %s (%d attempt%s, "
		    "last: %s)", t, attempts, attempts == 1 ? "" : "s", last);
	else
		snprintf(err, errlen, "llm: timed out after %s (%d attempt%s)",
		    t, attempts, attempts == 1 ? "" : "s");
}

int
llm_chat(const struct llm_request *rq, struct llm_reply *reply, char *err,
    size_t errlen)
{
	struct curl_slist *hdrs = NULL;
	struct xfer x = { 0 };
	char cerr[CURL_ERROR_SIZE], last[REASON_MAX + 64] = "";
	char *endpoint = NULL, *body = NULL, *auth = NULL, host[256];
	int64_t deadline, left, wait, ra;
	CURL *curl = NULL;
	const struct dlcurl *lc;
	CURLcode cc;
	long status;
	int rc = -1, failures = 0;

	memset(reply, 0, sizeof(*reply));
	reply->prompt_tokens = reply->completion_tokens =
	    reply->total_tokens = -1;
	if (rq->url == NULL || rq->url[0] == '\0') {
		snprintf(err, errlen, "llm: no endpoint (set KEEPER_LLM_URL)");
		return -1;
	}
	if (rq->timeout_ms <= 0) {
		snprintf(err, errlen, "llm: timeout must be positive");
		return -1;
	}
	if (rq->key != NULL && rq->key[strcspn(rq->key, "\r\n")] != '\0') {
		snprintf(err, errlen, "llm: the key contains a line break");
		return -1;
	}
	deadline = util_mono_ms() + rq->timeout_ms;
	if ((lc = dlcurl_get(cerr, sizeof(cerr))) == NULL) {
		snprintf(err, errlen, "llm: %s", cerr);
		return -1;
	}
	if ((curl = lc->easy_init()) == NULL) {
		snprintf(err, errlen, "llm: cannot initialise libcurl");
		return -1;
	}
	endpoint = llm_endpoint(rq->url);
	llm_url_host(endpoint, host, sizeof(host));
	body = llm_request_body(rq->model, rq->system, rq->prompt);
	hdrs = lc->slist_append(hdrs, "Content-Type: application/json");
	hdrs = lc->slist_append(hdrs, "Accept: application/json");
	/* No "Expect: 100-continue" round trip before a large prompt. */
	hdrs = lc->slist_append(hdrs, "Expect:");
	if (rq->key != NULL && rq->key[0] != '\0') {
		auth = xasprintf("Authorization: Bearer %s", rq->key);
		hdrs = lc->slist_append(hdrs, auth);
	}
	lc->easy_setopt(curl, CURLOPT_URL, endpoint);
	lc->easy_setopt(curl, CURLOPT_POST, 1L);
	lc->easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	lc->easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)strlen(body));
	lc->easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	lc->easy_setopt(curl, CURLOPT_USERAGENT, "keeper");
	/* Timeouts must not use signals: we may run beside other threads. */
	lc->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	lc->easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	lc->easy_setopt(curl, CURLOPT_WRITEDATA, &x);
	lc->easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	lc->easy_setopt(curl, CURLOPT_HEADERDATA, &x);
	lc->easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
#if LIBCURL_VERSION_NUM >= 0x075500
	lc->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif

	for (;;) {
		left = deadline - util_mono_ms();
		if (left <= 0) {
			timed_out(err, errlen, rq->timeout_ms,
			    reply->attempts, last);
			goto done;
		}
		lc->easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)left);
		lc->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
		    (long)(left < CONNECT_TIMEOUT_MS ? left :
		    CONNECT_TIMEOUT_MS));
		sb_reset(&x.body);
		x.too_big = 0;
		x.retry_after[0] = '\0';
		cerr[0] = '\0';
		reply->attempts++;
		reply->http_status = 0;
		cc = perform(lc, curl);
		wait = llm_backoff_ms(failures + 1);
		if (cc == CURLE_OK) {
			lc->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
			reply->http_status = status;
			if (status >= 200 && status <= 299) {
				rc = llm_parse_reply(x.body.buf ? x.body.buf :
				    "", x.body.len, reply, err, errlen);
				goto done;
			}
			llm_error_reason(status, x.body.buf ? x.body.buf : "",
			    x.body.len, last, sizeof(last));
			if (!llm_status_retryable(status)) {
				snprintf(err, errlen, "llm: %s", last);
				goto done;
			}
			ra = llm_retry_after_ms(x.retry_after, util_now_ms());
			if (ra > wait)
				wait = ra;
		} else if (x.too_big) {
			snprintf(err, errlen, "llm: reply larger than %u MiB",
			    LLM_MAX_REPLY >> 20);
			goto done;
		} else if (cc == CURLE_OPERATION_TIMEDOUT &&
		    util_mono_ms() >= deadline - 10) {
			timed_out(err, errlen, rq->timeout_ms,
			    reply->attempts, last);
			goto done;
		} else {
			snprintf(last, sizeof(last), "%s",
			    cerr[0] ? cerr : lc->easy_strerror(cc));
			if (!curl_retryable(cc)) {
				snprintf(err, errlen, "llm: %s", last);
				goto done;
			}
		}
		failures++;
		if (reply->attempts >= MAX_ATTEMPTS) {
			snprintf(err, errlen, "llm: gave up after %d attempts "
			    "(last: %s)", reply->attempts, last);
			goto done;
		}
		/* Never start a wait that ends past the deadline: fail now
		 * with what the last attempt said. */
		if (util_mono_ms() + wait >= deadline) {
			timed_out(err, errlen, rq->timeout_ms,
			    reply->attempts, last);
			goto done;
		}
		tell_retry(rq, host, last, reply->attempts + 1, wait);
		sleep_until(util_mono_ms() + wait);
	}
done:
	if (rc == -1) {
		llm_reply_release(reply);
		char t[32];

		fmt_ms(rq->timeout_ms, t, sizeof(t));
		if (strncmp(err, "llm: timed out", 14) == 0 &&
		    strncmp(last, "HTTP ", 5) == 0) {
			/* Out of time between answers: the last answer is
			 * the reason, and the clock why it stopped there. */
			why_failed(reply, host, last);
			snprintf(reply->why + strlen(reply->why),
			    sizeof(reply->why) - strlen(reply->why),
			    " (out of time: %s)", t);
		} else if (strncmp(err, "llm: timed out", 14) == 0) {
			/* Bounded so the whole fits why: a long host or last
			 * answer is cut, the reason's head says what
			 * happened. */
			snprintf(reply->why, sizeof(reply->why),
			    "timed out after %s waiting for %.100s (%d tr%s%s"
			    "%.300s)", t, host, reply->attempts,
			    reply->attempts == 1 ? "y" : "ies",
			    last[0] ? ", last: " : "", last);
		} else if (last[0] != '\0' && (reply->http_status < 200 ||
		    reply->http_status > 299))
			why_failed(reply, host, last);
		else
			snprintf(reply->why, sizeof(reply->why), "%s from %s",
			    strncmp(err, "llm: ", 5) == 0 ? err + 5 : err, host);
	}
	lc->easy_cleanup(curl);
	lc->slist_free_all(hdrs);
	sb_release(&x.body);
	free(auth);
	free(body);
	free(endpoint);
	return rc;
}
