/*
 * alertq: the alert delivery queue. One background thread owns the
 * network; the loop thread only pushes under the mutex, so a slow or dead
 * receiver never holds the event loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "alertq.h"
#include "log.h"
#include "util.h"

/*
 * The delivery queue. One thread owns the network; the loop thread only
 * pushes under the mutex. The head alert is retried until it is taken
 * (2xx), refused for good (4xx other than 408/429), pushed out by a full
 * queue, or the queue stops.
 */
struct item {
	char		*json;
	char		 id[17];
	uint64_t	 seq;
};

struct alert_queue {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 th;
	struct item	*ring;
	size_t		 cap, head, n;
	uint64_t	 next_seq;
	int		 stopping;
	struct alert_queue_stats st;
	char		*url;
	int64_t		 backoff_ms, backoff_cap_ms;
	long		 connect_timeout_ms, timeout_ms;
};

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

/* 0 taken, 1 retry later, -1 refused for good. */
static int
post(struct alert_queue *q, const char *json, const char *id, char *why,
    size_t whylen)
{
	CURL *c;
	CURLcode rc;
	struct curl_slist *h = NULL;
	char hdr[64];
	long code = 0;
	int ret;

	if ((c = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "curl_easy_init failed");
		return 1;
	}
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", id);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
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
		else
			ret = 1;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return ret;
}

static void
pop_head(struct alert_queue *q)
{
	free(q->ring[q->head].json);
	q->ring[q->head].json = NULL;
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
	char *json, id[17], why[CURL_ERROR_SIZE + 32];
	uint64_t seq;
	int attempt = 0, r;
	int64_t delay;

	pthread_mutex_lock(&q->mu);
	while (!q->stopping) {
		if (q->n == 0) {
			attempt = 0;
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		json = xstrdup(q->ring[q->head].json);
		memcpy(id, q->ring[q->head].id, sizeof(id));
		seq = q->ring[q->head].seq;
		pthread_mutex_unlock(&q->mu);

		r = post(q, json, id, why, sizeof(why));
		free(json);

		pthread_mutex_lock(&q->mu);
		/* The head may have been pushed out while we posted. */
		int still = q->n > 0 && q->ring[q->head].seq == seq;
		if (r == 0) {
			q->st.sent++;
			if (still)
				pop_head(q);
			log_debug("event=alert_sent id=%s", id);
			attempt = 0;
			continue;
		}
		if (r < 0) {
			log_warnx("event=alert_refused id=%s why=%s", id,
			    log_qv(why));
			q->st.dropped++;
			if (still)
				pop_head(q);
			attempt = 0;
			continue;
		}
		q->st.retries++;
		delay = q->backoff_ms;
		for (int i = 0; i < attempt && delay < q->backoff_cap_ms; i++)
			delay *= 2;
		if (delay > q->backoff_cap_ms)
			delay = q->backoff_cap_ms;
		attempt++;
		log_warnx("event=alert_retry id=%s attempt=%d delay_ms=%" PRId64
		    " why=%s", id, attempt, delay, log_qv(why));
		wait_ms(q, delay);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

struct alert_queue *
alert_queue_start(const struct alert_queue_opts *o, char *err, size_t errlen)
{
	struct alert_queue *q;
	pthread_condattr_t ca;
	int rc;

	if (o->url == NULL || *o->url == '\0') {
		snprintf(err, errlen, "no alert URL");
		return NULL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	q = xcalloc(1, sizeof(*q));
	q->cap = o->capacity > 0 ? o->capacity : 64;
	q->ring = xcalloc(q->cap, sizeof(*q->ring));
	q->url = xstrdup(o->url);
	q->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 500;
	q->backoff_cap_ms = o->backoff_cap_ms > 0 ? o->backoff_cap_ms :
	    5 * 60 * 1000;
	q->connect_timeout_ms = o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : 2000;
	q->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&q->th, NULL, worker, q)) != 0) {
		snprintf(err, errlen, "alert thread: %s", strerror(rc));
		pthread_cond_destroy(&q->cv);
		pthread_mutex_destroy(&q->mu);
		free(q->ring);
		free(q->url);
		free(q);
		return NULL;
	}
	return q;
}

void
alert_queue_push(struct alert_queue *q, const char *json, const char *id)
{
	struct item *it;

	pthread_mutex_lock(&q->mu);
	if (q->n == q->cap) {
		log_warnx("event=alert_dropped id=%s why=\"queue full\"",
		    q->ring[q->head].id);
		pop_head(q);
		q->st.dropped++;
	}
	it = &q->ring[(q->head + q->n) % q->cap];
	it->json = xstrdup(json);
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->seq = ++q->next_seq;
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

size_t
alert_queue_stop(struct alert_queue *q)
{
	size_t left;

	if (q == NULL)
		return 0;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	left = q->n;
	while (q->n > 0)
		pop_head(q);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->ring);
	free(q->url);
	free(q);
	return left;
}
