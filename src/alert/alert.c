/*
 * alert: the health transition function and the delivery queue. The
 * transition is pure (all inputs, time included, are arguments) so tests
 * are exact; delivery is a single background thread so the event loop
 * never waits on a slow or dead alert receiver.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alert.h"
#include "dur.h"
#include "log.h"
#include "util.h"

void
alert_policy_default(struct alert_policy *p)
{
	p->fail_threshold = ALERT_FAIL_THRESHOLD;
	p->min_gap_ms = ALERT_MIN_GAP_MS;
}

const char *
alert_state_name(enum alert_state s)
{
	switch (s) {
	case ALERT_OK:
		return "ok";
	case ALERT_FAILING:
		return "failing";
	case ALERT_STALE:
		return "stale";
	}
	return "?";
}

/* Where the agent is now, seen through the alerting rules: failing only
 * after the threshold, stale only from ok (a failing agent that also
 * stopped running is still reported as failing), ok only with no failure
 * in a row. Late, never and failing-below-threshold change nothing. */
static enum alert_state
target_state(const struct alert_track *t, const struct alert_policy *p,
    const struct alert_input *in)
{
	int threshold = p->fail_threshold > 0 ? p->fail_threshold : 1;

	if (in->fail_streak >= threshold)
		return ALERT_FAILING;
	switch (in->health) {
	case HEALTH_STALE:
		return t->cur == ALERT_FAILING ? ALERT_FAILING : ALERT_STALE;
	case HEALTH_OK:
		return in->fail_streak == 0 ? ALERT_OK : t->cur;
	default:
		return t->cur;
	}
}

int
alert_step(struct alert_track *t, const struct alert_policy *p,
    const struct alert_input *in, struct alert *out)
{
	enum alert_state tgt;
	int changed = 0;
	char trigger[32];
	const char *trig;

	tgt = target_state(t, p, in);
	if (tgt != t->cur) {
		t->cur = tgt;
		changed = 1;
	}
	if (!changed && !t->pending)
		return 0;
	if (t->last_alert_ms != 0 && in->now_ms - t->last_alert_ms <
	    p->min_gap_ms) {
		if (changed) {
			t->suppressed++;
			t->pending = 1;
		}
		return 0;
	}
	if (t->cur == t->told) {
		/* It flapped back to what the receiver already knows; the
		 * flaps are carried into the next alert's count. */
		t->pending = 0;
		return 0;
	}

	memset(out, 0, sizeof(*out));
	snprintf(out->agent, sizeof(out->agent), "%s", in->agent);
	out->from = t->told;
	out->to = t->cur;
	out->fail_streak = in->fail_streak;
	out->at_ms = in->now_ms;
	/* A delayed alert reports the last held-back transition itself;
	 * the count is of the ones it stands in for. */
	out->suppressed = changed ? t->suppressed : t->suppressed - 1;
	if (out->suppressed < 0)
		out->suppressed = 0;
	if (in->run_id != NULL && *in->run_id != '\0') {
		snprintf(out->run_id, sizeof(out->run_id), "%s", in->run_id);
		trig = in->run_id;
	} else {
		snprintf(trigger, sizeof(trigger), "t%" PRId64,
		    in->last_run_ms);
		trig = trigger;
	}
	alert_make_id(out->id, in->agent, out->from, out->to, trig);

	t->told = t->cur;
	t->last_alert_ms = in->now_ms;
	t->suppressed = 0;
	t->pending = 0;
	return 1;
}

/* FNV-1a, 64 bits: stable across builds and machines, which is all an
 * idempotency key needs (it is not a security boundary). */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff;	/* field separator: "ab"+"c" differs from "a"+"bc" */
	h *= 0x100000001b3ULL;
	return h;
}

void
alert_make_id(char buf[17], const char *agent, enum alert_state from,
    enum alert_state to, const char *trigger)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv1a(h, agent);
	h = fnv1a(h, alert_state_name(from));
	h = fnv1a(h, alert_state_name(to));
	h = fnv1a(h, trigger ? trigger : "");
	snprintf(buf, 17, "%016" PRIx64, h);
}

static const char *
event_name(const struct alert *a)
{
	switch (a->to) {
	case ALERT_FAILING:
		return "failing";
	case ALERT_STALE:
		return "stale";
	case ALERT_OK:
		return "recovered";
	}
	return "?";
}

char *
alert_text(const struct alert *a)
{
	struct sb b = { 0 };

	switch (a->to) {
	case ALERT_FAILING:
		sb_addf(&b, "%s is failing (%d consecutive failures)",
		    a->agent, a->fail_streak);
		break;
	case ALERT_STALE:
		sb_addf(&b, "%s is stale (no run when one was due)",
		    a->agent);
		break;
	case ALERT_OK:
		sb_addf(&b, "%s recovered (was %s)", a->agent,
		    alert_state_name(a->from));
		break;
	}
	if (a->suppressed > 0)
		sb_addf(&b, "; %d more change%s held back by the rate limit",
		    a->suppressed, a->suppressed == 1 ? "" : "s");
	return sb_detach(&b);
}

char *
alert_json(const struct alert *a, const char *crew)
{
	json_t *o;
	char at[32], *text, *s;
	time_t secs = (time_t)(a->at_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	text = alert_text(a);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:I, s:s}",
	    "id", a->id, "agent", a->agent, "event", event_name(a),
	    "from", alert_state_name(a->from), "to", alert_state_name(a->to),
	    "fail_streak", a->fail_streak, "suppressed", a->suppressed,
	    "at", at, "at_ms", (json_int_t)a->at_ms, "text", text);
	free(text);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "run", a->run_id[0] ? json_string(a->run_id) :
	    json_null());
	if (crew != NULL)
		json_object_set_new(o, "crew", json_string(crew));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

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

struct hub_track {
	char			*agent;
	struct alert_track	 t;
};

struct alert_hub {
	char			*crew;
	struct alert_policy	 policy;
	struct alert_queue	*q;		/* NULL: no URL */
	struct hub_track	*tracks;
	size_t			 ntracks, cap;
	size_t			*slots;		/* name -> index + 1, 0 empty */
	size_t			 nslots;	/* a power of two */
};

int
alert_hub_config(const char *after, const char *gap, struct alert_policy *p,
    char *err, size_t errlen)
{
	char *end;
	long n;
	int64_t ms;

	alert_policy_default(p);
	if (after != NULL && *after != '\0') {
		n = strtol(after, &end, 10);
		if (*end != '\0' || n < 1 || n > 1000) {
			snprintf(err, errlen, "KEEPER_ALERT_AFTER '%s' is not "
			    "a count from 1 to 1000", after);
			return -1;
		}
		p->fail_threshold = (int)n;
	}
	if (gap != NULL && *gap != '\0') {
		if (dur_parse(gap, &ms) != 0 || ms < 0) {
			snprintf(err, errlen, "KEEPER_ALERT_GAP '%s' is not a "
			    "duration", gap);
			return -1;
		}
		p->min_gap_ms = ms;
	}
	return 0;
}

struct alert_hub *
alert_hub_new(const char *crew, const char *url, const struct alert_policy *p,
    char *err, size_t errlen)
{
	struct alert_hub *h = xcalloc(1, sizeof(*h));
	struct alert_queue_opts o = { .url = url };

	h->crew = crew ? xstrdup(crew) : NULL;
	h->policy = *p;
	if (url != NULL && *url != '\0' &&
	    (h->q = alert_queue_start(&o, err, errlen)) == NULL) {
		free(h->crew);
		free(h);
		return NULL;
	}
	return h;
}

struct alert_hub *
alert_hub_from_env(const char *crew, char *err, size_t errlen)
{
	struct alert_policy p;

	if (alert_hub_config(getenv("KEEPER_ALERT_AFTER"),
	    getenv("KEEPER_ALERT_GAP"), &p, err, errlen) == -1)
		return NULL;
	return alert_hub_new(crew, getenv("KEEPER_ALERT_URL"), &p, err,
	    errlen);
}

/*
 * The housekeeping timer observes every agent every second, so a crew of
 * thousands must not pay a linear search per agent: tracks are found
 * through an open-addressing table of their indices, rebuilt when it
 * fills or a track is forgotten (both rare).
 */
static size_t
hub_hash(const char *s)
{
	uint64_t x = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)x;
}

static void
hub_reindex(struct alert_hub *h)
{
	size_t want = 16, j;

	while (want < 2 * h->ntracks + 2)
		want *= 2;
	if (want != h->nslots) {
		free(h->slots);
		h->slots = xcalloc(want, sizeof(*h->slots));
		h->nslots = want;
	} else
		memset(h->slots, 0, want * sizeof(*h->slots));
	for (size_t i = 0; i < h->ntracks; i++) {
		j = hub_hash(h->tracks[i].agent) & (h->nslots - 1);
		while (h->slots[j] != 0)
			j = (j + 1) & (h->nslots - 1);
		h->slots[j] = i + 1;
	}
}

static struct alert_track *
hub_track(struct alert_hub *h, const char *agent)
{
	size_t j, k;

	if (h->nslots == 0)
		hub_reindex(h);
	j = hub_hash(agent) & (h->nslots - 1);
	while ((k = h->slots[j]) != 0) {
		if (strcmp(h->tracks[k - 1].agent, agent) == 0)
			return &h->tracks[k - 1].t;
		j = (j + 1) & (h->nslots - 1);
	}
	if (h->ntracks == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->tracks = xreallocarray(h->tracks, h->cap,
		    sizeof(*h->tracks));
	}
	memset(&h->tracks[h->ntracks], 0, sizeof(h->tracks[0]));
	h->tracks[h->ntracks].agent = xstrdup(agent);
	h->slots[j] = ++h->ntracks;
	if (2 * h->ntracks + 2 > h->nslots)
		hub_reindex(h);
	return &h->tracks[h->ntracks - 1].t;
}

int
alert_hub_observe(struct alert_hub *h, const struct alert_input *in,
    struct alert *out)
{
	char *text, *json;

	if (!alert_step(hub_track(h, in->agent), &h->policy, in, out))
		return 0;
	text = alert_text(out);
	log_warnx("agent=%s event=alert id=%s from=%s to=%s suppressed=%d "
	    "text=%s", log_qv(out->agent), out->id,
	    alert_state_name(out->from), alert_state_name(out->to),
	    out->suppressed, log_qv(text));
	free(text);
	if (h->q != NULL && (json = alert_json(out, h->crew)) != NULL) {
		alert_queue_push(h->q, json, out->id);
		free(json);
	}
	return 1;
}

void
alert_hub_forget(struct alert_hub *h, const char *agent)
{
	for (size_t i = 0; i < h->ntracks; i++)
		if (strcmp(h->tracks[i].agent, agent) == 0) {
			free(h->tracks[i].agent);
			h->tracks[i] = h->tracks[--h->ntracks];
			hub_reindex(h);
			return;
		}
}

void
alert_hub_stats(struct alert_hub *h, struct alert_queue_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (h->q != NULL)
		alert_queue_stats(h->q, st);
}

void
alert_hub_free(struct alert_hub *h)
{
	size_t left;

	if (h == NULL)
		return;
	if ((left = alert_queue_stop(h->q)) > 0)
		log_warnx("event=alert_dropped count=%zu why=\"shutting "
		    "down\"", left);
	for (size_t i = 0; i < h->ntracks; i++)
		free(h->tracks[i].agent);
	free(h->tracks);
	free(h->slots);
	free(h->crew);
	free(h);
}
