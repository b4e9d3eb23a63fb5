/*
 * alertq: one delivery lane (alertq.h). One background thread owns the
 * network; the loop thread only pushes under the mutex, so a slow or dead
 * receiver never holds the event loop. The head request is retried until
 * it is taken (2xx), refused for good (4xx other than 408/429), pushed
 * out by a full queue, too old, or the queue stops.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "alertq.h"
#include "log.h"
#include "util.h"

struct item {
	struct alert_req req;
	uint64_t	 seq;
	int64_t		 pushed_ms;	/* monotonic */
};

struct alert_queue {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 th;
	struct item	*ring;
	size_t		 cap, head, n;
	uint64_t	 next_seq;
	int		 stopping;	/* under mu */
	struct alert_queue_stats st;
	char		*name;
	int64_t		 backoff_ms, backoff_cap_ms, max_age_ms;
	long		 connect_timeout_ms, timeout_ms;
	alert_queue_report_fn report;
	void		*report_arg;
};

static const char *const event_names[] = {
	[ALERT_QUEUE_SENT] = "sent",
	[ALERT_QUEUE_RETRYING] = "retrying",
	[ALERT_QUEUE_REFUSED] = "refused",
	[ALERT_QUEUE_EXPIRED] = "expired",
	[ALERT_QUEUE_DROPPED] = "dropped",
};

const char *
alert_queue_event_name(enum alert_queue_event e)
{
	return (size_t)e < sizeof(event_names) / sizeof(event_names[0]) ?
	    event_names[e] : "?";
}

/* Under q->mu. */
static void
report(struct alert_queue *q, const struct alert_req *r,
    enum alert_queue_event e, int attempts, const char *why)
{
	if (q->report != NULL)
		q->report(q->report_arg, r, e, attempts, why ? why : "");
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

/* 0 taken, 1 retry later (*retry_ms set when the receiver asked for a
 * delay with Retry-After), -1 refused for good. */
static int
post(struct alert_queue *q, const struct alert_req *r, int64_t *retry_ms,
    char *why, size_t whylen)
{
	CURL *c;
	CURLcode rc;
	struct curl_slist *h = NULL;
	char *ct;
	long code = 0;
	curl_off_t ra = 0;
	int ret;

	*retry_ms = 0;
	if ((c = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "curl_easy_init failed");
		return 1;
	}
	ct = xasprintf("Content-Type: %s", r->content_type);
	h = curl_slist_append(h, ct);
	free(ct);
	for (int i = 0; i < r->nhdr; i++)
		h = curl_slist_append(h, r->hdr[i]);
	/* No "Expect: 100-continue" wait on a body over 1 KiB: receivers
	 * that do not answer it would cost a second per delivery. */
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->bodylen);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "keeper-alert/1");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, q->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		ret = 1;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		snprintf(why, whylen, "HTTP %ld", code);
		if (code >= 200 && code < 300)
			ret = 0;
		else if (code >= 400 && code < 500 && code != 408 &&
		    code != 429)
			ret = -1;
		else {
			ret = 1;
			if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) ==
			    CURLE_OK && ra > 0)
				*retry_ms = (int64_t)ra * 1000;
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return ret;
}

static void
pop_head(struct alert_queue *q)
{
	alert_fmt_req_release(&q->ring[q->head].req);
	q->head = (q->head + 1) % q->cap;
	q->n--;
}

static void
wait_ms(struct alert_queue *q, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!q->stopping && pthread_cond_timedwait(&q->cv, &q->mu, &ts) !=
	    ETIMEDOUT)
		;
}

static void *
worker(void *arg)
{
	struct alert_queue *q = arg;
	struct alert_req req;
	char why[CURL_ERROR_SIZE + 32];
	uint64_t seq;
	int attempt = 0, r, still;
	int64_t delay, retry_ms;

	pthread_mutex_lock(&q->mu);
	while (!q->stopping) {
		if (q->n == 0) {
			attempt = 0;
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		if (util_mono_ms() - q->ring[q->head].pushed_ms >=
		    q->max_age_ms) {
			log_warnx("event=alert_expired id=%s dest=%s "
			    "attempts=%d", q->ring[q->head].req.id,
			    log_qv(q->name), attempt);
			q->st.expired++;
			report(q, &q->ring[q->head].req, ALERT_QUEUE_EXPIRED,
			    attempt, "waited 24 hours");
			pop_head(q);
			attempt = 0;
			continue;
		}
		alert_fmt_req_copy(&req, &q->ring[q->head].req);
		seq = q->ring[q->head].seq;
		pthread_mutex_unlock(&q->mu);

		r = post(q, &req, &retry_ms, why, sizeof(why));

		pthread_mutex_lock(&q->mu);
		/* The head may have been pushed out while we posted. */
		still = q->n > 0 && q->ring[q->head].seq == seq;
		if (r == 0) {
			q->st.sent++;
			if (still)
				pop_head(q);
			log_debug("event=alert_sent id=%s dest=%s", req.id,
			    log_qv(q->name));
			report(q, &req, ALERT_QUEUE_SENT, attempt + 1, NULL);
			attempt = 0;
		} else if (r < 0) {
			log_warnx("event=alert_refused id=%s dest=%s why=%s",
			    req.id, log_qv(q->name), log_qv(why));
			q->st.dropped++;
			report(q, &req, ALERT_QUEUE_REFUSED, attempt + 1, why);
			if (still)
				pop_head(q);
			attempt = 0;
		} else {
			q->st.retries++;
			delay = q->backoff_ms;
			for (int i = 0; i < attempt && delay < q->backoff_cap_ms;
			    i++)
				delay *= 2;
			if (retry_ms > delay)
				delay = retry_ms;
			if (delay > q->backoff_cap_ms)
				delay = q->backoff_cap_ms;
			attempt++;
			/* The first failure only: a receiver down for a day
			 * is one report, not one per retry. */
			if (attempt == 1)
				report(q, &req, ALERT_QUEUE_RETRYING, attempt,
				    why);
			q->st.retry_delay_ms = delay;
			q->st.last_delay_ms = delay;
			log_warnx("event=alert_retry id=%s dest=%s attempt=%d "
			    "delay_ms=%" PRId64 " why=%s", req.id,
			    log_qv(q->name), attempt, delay, log_qv(why));
			wait_ms(q, delay);
			q->st.retry_delay_ms = 0;
		}
		alert_fmt_req_release(&req);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

struct alert_queue *
alert_queue_start(const struct alert_queue_opts *o, char *err, size_t errlen)
{
	struct alert_queue *q;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	q = xcalloc(1, sizeof(*q));
	q->cap = o->capacity > 0 ? o->capacity : 64;
	q->ring = xcalloc(q->cap, sizeof(*q->ring));
	q->name = xstrdup(o->name ? o->name : "-");
	q->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 500;
	q->backoff_cap_ms = o->backoff_cap_ms > 0 ? o->backoff_cap_ms :
	    5 * 60 * 1000;
	q->max_age_ms = o->max_age_ms > 0 ? o->max_age_ms :
	    ALERT_QUEUE_MAX_AGE_MS;
	q->connect_timeout_ms = o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : 2000;
	q->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	q->report = o->report;
	q->report_arg = o->report_arg;
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* The lane takes no signals: they stay with the loop thread, and a
	 * peer that closes mid-write cannot SIGPIPE the process here. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->th, NULL, worker, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "alert thread: %s", strerror(rc));
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q->ring);
		free(q->name);
		free(q);
		return NULL;
	}
	return q;
}

void
alert_queue_push(struct alert_queue *q, const struct alert_req *r)
{
	struct item *it;

	pthread_mutex_lock(&q->mu);
	if (q->n == q->cap) {
		log_warnx("event=alert_dropped id=%s dest=%s why=\"queue "
		    "full\"", q->ring[q->head].req.id, log_qv(q->name));
		report(q, &q->ring[q->head].req, ALERT_QUEUE_DROPPED, 0,
		    "queue full");
		pop_head(q);
		q->st.dropped++;
	}
	it = &q->ring[(q->head + q->n) % q->cap];
	alert_fmt_req_copy(&it->req, r);
	it->seq = ++q->next_seq;
	it->pushed_ms = util_mono_ms();
	q->n++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void
alert_queue_stats(struct alert_queue *q, struct alert_queue_stats *st)
{
	pthread_mutex_lock(&q->mu);
	*st = q->st;
	st->queued = q->n;
	pthread_mutex_unlock(&q->mu);
}

void
alert_queue_cancel(struct alert_queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

size_t
alert_queue_stop(struct alert_queue *q)
{
	size_t left;

	if (q == NULL)
		return 0;
	alert_queue_cancel(q);
	pthread_join(q->th, NULL);
	left = q->n;
	while (q->n > 0) {
		report(q, &q->ring[q->head].req, ALERT_QUEUE_DROPPED, 0,
		    "keeper stopped");
		pop_head(q);
	}
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q->name);
	free(q);
	return left;
}
