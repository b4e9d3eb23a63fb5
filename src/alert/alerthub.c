/*
 * alerthub: the daemon's side of alerts. One track per agent, found
 * through a small hash table; each observation is stepped, logged and
 * queued for delivery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerthub.h"
#include "dur.h"
#include "log.h"
#include "util.h"

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
	return (size_t)alert_fnv1a(ALERT_FNV_BASIS, s);
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
