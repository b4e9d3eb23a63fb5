/*
 * agenda: see agenda.h. Each member's fires come in time order, so the
 * agenda is a k-way merge: a min-heap of each member's next fire, popped
 * AGENDA_MAX times at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agenda.h"
#include "fire.h"
#include "util.h"

struct head {
	int64_t	 at, base;	/* due time; calendar: its base */
	size_t	 i;		/* member */
};

static int
before(const struct head *a, const struct head *b)
{
	return a->at < b->at || (a->at == b->at && a->i < b->i);
}

static void
sift_down(struct head *h, size_t n, size_t k)
{
	for (;;) {
		size_t l = 2 * k + 1, r = l + 1, m = k;
		struct head t;

		if (l < n && before(&h[l], &h[m]))
			m = l;
		if (r < n && before(&h[r], &h[m]))
			m = r;
		if (m == k)
			return;
		t = h[k];
		h[k] = h[m];
		h[m] = t;
		k = m;
	}
}

void
agenda_local(struct cal_zone *z, int64_t t, char *buf, size_t len)
{
	int32_t off = z ? cal_zone_offset_ms(z, t) : 0;
	time_t s = (time_t)((t + off) / 1000);
	struct tm tm;
	int m = off / 60000, am = m < 0 ? -m : m;

	gmtime_r(&s, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, m < 0 ? '-' : '+', am / 60, am % 60);
}

/* The member's first fire at or after now (its next when known). */
static int
first(const struct agenda_src *s, int64_t now, struct head *h)
{
	if (s->calendar) {
		int64_t j = s->jitter_ms > 0 ? s->jitter_ms : 0, from;

		if (s->next_ms > 0) {
			h->at = s->next_ms;
			h->base = s->next_ms - j;
			return 1;
		}
		/* Bases after the cursor whose due is at or after now. */
		from = s->cursor_ms > now - j - 1 ? s->cursor_ms : now - j - 1;
		h->at = fire_next(s->sched, s->zone, j, from, &h->base);
		return h->at != FIRE_NONE;
	}
	if (s->base_ms <= 0)
		return 0;
	h->at = s->next_ms > 0 ? s->next_ms : now;
	return 1;
}

static int
step(const struct agenda_src *s, struct head *h)
{
	if (s->calendar) {
		h->at = fire_next(s->sched, s->zone, s->jitter_ms > 0 ?
		    s->jitter_ms : 0, h->base, &h->base);
		return h->at != FIRE_NONE;
	}
	h->at += s->base_ms;
	return 1;
}

json_t *
agenda_json(const struct agenda_src *src, size_t n, struct cal_zone *machine,
    int64_t now, int64_t until)
{
	struct head *h = xcalloc(n + 1, sizeof(*h));
	json_t *arr = json_array();
	size_t nh = 0, out = 0;
	char local[48];

	for (size_t i = 0; i < n; i++)
		if (first(&src[i], now, &h[nh]) && h[nh].at <= until) {
			h[nh].i = i;
			nh++;
		}
	for (size_t k = nh / 2; k-- > 0;)
		sift_down(h, nh, k);
	while (nh > 0 && out < AGENDA_MAX) {
		const struct agenda_src *s = &src[h[0].i];
		int64_t at = h[0].at;
		json_t *e = json_object();

		agenda_local(s->calendar ? s->zone : machine, at, local,
		    sizeof(local));
		json_object_set_new(e, "agent", json_string(s->name));
		json_object_set_new(e, "at", json_integer(at));
		json_object_set_new(e, "local", json_string(local));
		json_object_set_new(e, "kind", json_string(s->calendar ?
		    "calendar" : "interval"));
		json_object_set_new(e, "schedule", json_string(s->schedule ?
		    s->schedule : ""));
		json_object_set_new(e, "paused", json_boolean(s->paused &&
		    (s->paused_until_ms == 0 || at < s->paused_until_ms)));
		json_array_append_new(arr, e);
		out++;
		if (!step(s, &h[0]) || h[0].at > until)
			h[0] = h[--nh];
		sift_down(h, nh, 0);
	}
	free(h);
	return arr;
}
