/*
 * alerthub: the daemon's side of alerts. One track per agent, found
 * through a small hash table; each observation is stepped, logged and
 * queued for delivery.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerthub.h"
#include "settings.h"
#include "table.h"
#include "dur.h"
#include "log.h"
#include "util.h"

/* A receiver gets its own lane (and thread), so one that is down or slow
 * holds up only its own deliveries. Lanes are keyed by URL: two
 * destinations at one URL (two chats of one bot) share one. */
#define HUB_MAX_LANES	32
/* Delivery reports kept until the daemon takes them (each second): a
 * burst beyond this is counted, not kept. */
#define HUB_MAX_REPORTS	1024

struct lane {
	char			*url;
	struct alert_queue	*q;
};

struct alert_hub {
	char			*crew;
	struct alert_policy	 policy;
	struct alert_dests	 dests;		/* where alerts go; none: log */
	struct lane		 lanes[HUB_MAX_LANES];
	size_t			 nlanes;
	struct table		 tracks;	/* agent -> struct alert_track * */
	pthread_mutex_t		 rmu;		/* guards the reports */
	struct alert_hub_report	*reports;
	size_t			 nreports;
	uint64_t		 lost_reports;
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

int
alert_hub_dests_config(const char *url, const char *format,
    struct alert_dests *dests, char *err, size_t errlen)
{
	enum alert_format f = ALERT_FMT_JSON;
	char why[256];

	if (format != NULL && *format != '\0' &&
	    alert_dest_format_parse(format, &f, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "KEEPER_ALERT_FORMAT: %s", why);
		return -1;
	}
	if (url == NULL || *url == '\0')
		return 0;
	if (alert_dest_parse(dests, url, f, NULL, why, sizeof(why)) ==
	    -1) {
		snprintf(err, errlen, "KEEPER_ALERT_URL: %s", why);
		return -1;
	}
	return 0;
}

/* A lane's thread reports what became of a result; alerts are in the
 * alerts table and the log already. */
static void
hub_report(void *arg, const struct alert_req *req, enum alert_queue_event e,
    int attempts, const char *why)
{
	struct alert_hub *h = arg;
	struct alert_hub_report *r;
	char origin[128];

	if (req->result_run[0] == '\0')
		return;
	pthread_mutex_lock(&h->rmu);
	if (h->nreports == HUB_MAX_REPORTS) {
		h->lost_reports++;
		pthread_mutex_unlock(&h->rmu);
		return;
	}
	if (h->reports == NULL)
		h->reports = xcalloc(HUB_MAX_REPORTS, sizeof(*h->reports));
	r = &h->reports[h->nreports++];
	memset(r, 0, sizeof(*r));
	alert_dest_origin(req->url, origin, sizeof(origin));
	snprintf(r->run_id, sizeof(r->run_id), "%s", req->result_run);
	snprintf(r->dest, sizeof(r->dest), "%s %s",
	    alert_dest_format_name(req->format), origin);
	r->event = e;
	r->attempts = attempts;
	snprintf(r->why, sizeof(r->why), "%s", why);
	pthread_mutex_unlock(&h->rmu);
}

static int
hub_uses(const struct alert_hub *h, const char *url)
{
	for (size_t i = 0; i < h->dests.n; i++)
		if (strcmp(h->dests.v[i].url, url) == 0)
			return 1;
	return 0;
}

/* All lanes taken: stop one that has nothing queued and no destination
 * of the hub's own (a receiver a reload took away, or a member's that
 * is quiet), so its slot serves the new receiver. 0, or -1 none. */
static int
hub_evict(struct alert_hub *h)
{
	struct alert_queue_stats st;

	for (size_t i = 0; i < h->nlanes; i++) {
		if (hub_uses(h, h->lanes[i].url))
			continue;
		alert_queue_stats(h->lanes[i].q, &st);
		if (st.queued > 0)
			continue;
		(void)alert_queue_stop(h->lanes[i].q);
		free(h->lanes[i].url);
		h->lanes[i] = h->lanes[--h->nlanes];
		return 0;
	}
	return -1;
}

static struct alert_queue *
hub_lane(struct alert_hub *h, const char *url, char *err, size_t errlen)
{
	struct alert_queue_opts o = { 0 };
	struct alert_queue *q;
	char origin[128];

	for (size_t i = 0; i < h->nlanes; i++)
		if (strcmp(h->lanes[i].url, url) == 0)
			return h->lanes[i].q;
	if (h->nlanes == HUB_MAX_LANES && hub_evict(h) == -1) {
		snprintf(err, errlen, "more than %d alert receivers",
		    HUB_MAX_LANES);
		return NULL;
	}
	alert_dest_origin(url, origin, sizeof(origin));
	o.name = origin;
	o.report = hub_report;
	o.report_arg = h;
	if ((q = alert_queue_start(&o, err, errlen)) == NULL)
		return NULL;
	h->lanes[h->nlanes].url = xstrdup(url);
	h->lanes[h->nlanes++].q = q;
	return q;
}

struct alert_hub *
alert_hub_new_dests(const char *crew, const struct alert_dests *dests,
    const struct alert_policy *p, char *err, size_t errlen)
{
	struct alert_hub *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->rmu, NULL);
	h->crew = crew ? xstrdup(crew) : NULL;
	h->tracks.flags = TABLE_COPY;
	h->policy = *p;
	if (dests != NULL)
		alert_dest_copy(&h->dests, dests);
	for (size_t i = 0; i < h->dests.n; i++)
		if (hub_lane(h, h->dests.v[i].url, err, errlen) == NULL) {
			alert_hub_free(h);
			return NULL;
		}
	return h;
}

struct alert_hub *
alert_hub_new(const char *crew, const char *url, const struct alert_policy *p,
    char *err, size_t errlen)
{
	struct alert_dests d = { 0 };
	struct alert_hub *h = NULL;

	if (alert_hub_dests_config(url, NULL, &d, err, errlen) == 0)
		h = alert_hub_new_dests(crew, &d, p, err, errlen);
	alert_dest_release(&d);
	return h;
}

struct alert_hub *
alert_hub_from_settings(const char *crew, const struct settings *s,
    char *err, size_t errlen)
{
	struct alert_policy p;
	struct alert_dests d = { 0 };
	struct alert_hub *h = NULL;

	if (alert_hub_config(s->alert_after, s->alert_gap, &p, err,
	    errlen) == 0 && alert_hub_dests_config(s->alert_url,
	    s->alert_format, &d, err, errlen) == 0)
		h = alert_hub_new_dests(crew, &d, &p, err, errlen);
	alert_dest_release(&d);
	return h;
}

/* The agent's track, made on first sight. The housekeeping timer observes
 * every agent every second, so a crew of thousands finds tracks through
 * the string table, not a search. */
static struct alert_track *
hub_track(struct alert_hub *h, const char *agent)
{
	struct table_ent *e;
	int added;

	e = table_put(&h->tracks, agent, &added);
	if (added)
		e->v.ptr = xcalloc(1, sizeof(struct alert_track));
	return e->v.ptr;
}

/* Queue req on the lane of d's URL; 0, or -1 logged. */
static int
hub_push(struct alert_hub *h, const struct alert_dest *d,
    const struct alert_req *req)
{
	struct alert_queue *q;
	char err[256], origin[128];

	if ((q = hub_lane(h, d->url, err, sizeof(err))) == NULL) {
		alert_dest_origin(d->url, origin, sizeof(origin));
		log_warnx("event=alert_dropped id=%s dest=%s why=%s", req->id,
		    log_qv(origin), log_qv(err));
		return -1;
	}
	alert_queue_push(q, req);
	return 0;
}

/* Log the alert and queue a copy for each destination, in its format. */
static void
hub_send(struct alert_hub *h, const struct alert *out)
{
	struct alert_req req;
	char *text;

	text = alert_text(out);
	log_warnx("agent=%s event=alert id=%s from=%s to=%s suppressed=%d "
	    "text=%s", log_qv(out->agent), out->id,
	    alert_state_name(out->from), alert_state_name(out->to),
	    out->suppressed, log_qv(text));
	free(text);
	/* Each destination its own copy, in its own format. */
	for (size_t i = 0; i < h->dests.n; i++) {
		if (alert_fmt_alert(&req, &h->dests.v[i], out, h->crew) == -1)
			continue;
		(void)hub_push(h, &h->dests.v[i], &req);
		alert_fmt_req_release(&req);
	}
}

int
alert_hub_observe(struct alert_hub *h, const struct alert_input *in,
    struct alert *out)
{
	if (!alert_step(hub_track(h, in->agent), &h->policy, in, out))
		return 0;
	hub_send(h, out);
	return 1;
}

void
alert_hub_budget(struct alert_hub *h, const char *agent, int64_t tokens,
    int64_t budget, int64_t window_ms, int64_t until_ms, int64_t now_ms,
    struct alert *out)
{
	alert_budget(out, agent, hub_track(h, agent)->told, tokens, budget,
	    window_ms, until_ms, now_ms);
	hub_send(h, out);
}

int
alert_hub_result(struct alert_hub *h, const struct alert_result *res,
    const struct alert_dests *dests)
{
	const struct alert_dests *l = dests ? dests : &h->dests;
	struct alert_req req;
	int queued = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (alert_fmt_result(&req, &l->v[i], res, h->crew) == -1)
			continue;
		if (hub_push(h, &l->v[i], &req) == 0)
			queued++;
		alert_fmt_req_release(&req);
	}
	return queued;
}

void
alert_hub_forget(struct alert_hub *h, const char *agent)
{
	struct table_ent *e = table_get(&h->tracks, agent);

	if (e == NULL)
		return;
	free(e->v.ptr);
	(void)table_del(&h->tracks, agent);
}

void
alert_hub_stats(struct alert_hub *h, struct alert_queue_stats *st)
{
	struct alert_queue_stats one;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < h->nlanes; i++) {
		alert_queue_stats(h->lanes[i].q, &one);
		st->sent += one.sent;
		st->retries += one.retries;
		st->dropped += one.dropped;
		st->expired += one.expired;
		st->queued += one.queued;
	}
}

int
alert_hub_reconfigure(struct alert_hub *h, const char *crew,
    const struct alert_dests *dests, char *err, size_t errlen)
{
	struct alert_dests old = h->dests;
	int rc = 0;

	free(h->crew);
	h->crew = crew ? xstrdup(crew) : NULL;
	memset(&h->dests, 0, sizeof(h->dests));
	if (dests != NULL)
		alert_dest_copy(&h->dests, dests);
	alert_dest_release(&old);
	/* Lanes of receivers still named keep their queues (a delivery
	 * waiting for a receiver that is down survives the reload); new
	 * ones start now, so a receiver that cannot get one is said at
	 * once. */
	for (size_t i = 0; i < h->dests.n; i++)
		if (hub_lane(h, h->dests.v[i].url, err, errlen) == NULL)
			rc = -1;
	return rc;
}

size_t
alert_hub_take_reports(struct alert_hub *h, struct alert_hub_report **out,
    uint64_t *lost)
{
	size_t n;

	pthread_mutex_lock(&h->rmu);
	n = h->nreports;
	*out = NULL;
	if (n > 0) {
		*out = xreallocarray(NULL, n, sizeof(**out));
		memcpy(*out, h->reports, n * sizeof(**out));
	}
	h->nreports = 0;
	if (lost != NULL)
		*lost = h->lost_reports;
	h->lost_reports = 0;
	pthread_mutex_unlock(&h->rmu);
	return n;
}

void
alert_hub_stop(struct alert_hub *h)
{
	size_t left = 0;

	/* Every lane stops at once; then each is joined. */
	for (size_t i = 0; i < h->nlanes; i++)
		alert_queue_cancel(h->lanes[i].q);
	for (size_t i = 0; i < h->nlanes; i++) {
		left += alert_queue_stop(h->lanes[i].q);
		free(h->lanes[i].url);
	}
	h->nlanes = 0;
	if (left > 0)
		log_warnx("event=alert_dropped count=%zu why=\"shutting "
		    "down\"", left);
}

void
alert_hub_free(struct alert_hub *h)
{
	struct table_ent *e;
	size_t pos;

	if (h == NULL)
		return;
	alert_hub_stop(h);
	alert_dest_release(&h->dests);
	pos = 0;
	while ((e = table_next(&h->tracks, &pos)) != NULL)
		free(e->v.ptr);
	table_release(&h->tracks);
	free(h->crew);
	free(h->reports);
	pthread_mutex_destroy(&h->rmu);
	free(h);
}
