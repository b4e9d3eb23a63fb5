/*
 * timeline: see timeline.h. Runs arrive in about the order they ended,
 * which is about the order they began, so a run's slot is searched for
 * from the newest end: in practice the first or second one looked at.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeline.h"
#include "util.h"

static int64_t
slot_of(int64_t ms)
{
	return ms >= 0 ? ms / TIMELINE_SLOT_MS : -1;
}

/* The oldest slot index still in the window at now. */
static int64_t
first_index(int64_t now)
{
	return slot_of(now) - TIMELINE_SLOTS + 1;
}

static int
is_failure(enum outcome o)
{
	return o == OUTCOME_FAILED || o == OUTCOME_KILLED ||
	    o == OUTCOME_ERROR || o == OUTCOME_INTERRUPTED;
}

int
timeline_trim(struct timeline *t, int64_t now)
{
	int64_t first = first_index(now);
	size_t k = 0;

	while (k < t->n && t->v[k].index < first)
		free(t->v[k++].shown_error);
	if (k == 0)
		return 0;
	memmove(t->v, t->v + k, (t->n - k) * sizeof(*t->v));
	t->n -= k;
	return 1;
}

/* The slot of index, made (in order) when it is not there yet. */
static struct timeline_slot *
slot_at(struct timeline *t, int64_t index)
{
	size_t i = t->n;

	while (i > 0 && t->v[i - 1].index > index)
		i--;
	if (i > 0 && t->v[i - 1].index == index)
		return &t->v[i - 1];
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		if (t->cap > TIMELINE_SLOTS)
			t->cap = TIMELINE_SLOTS;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	memmove(t->v + i + 1, t->v + i, (t->n - i) * sizeof(*t->v));
	memset(&t->v[i], 0, sizeof(t->v[i]));
	t->v[i].index = index;
	t->n++;
	return &t->v[i];
}

/* error cut to TIMELINE_ERROR_MAX at a character boundary, or NULL. */
static char *
cut_error(const char *e)
{
	size_t len;

	if (e == NULL || *e == '\0')
		return NULL;
	len = strlen(e);
	if (len > TIMELINE_ERROR_MAX) {
		len = TIMELINE_ERROR_MAX;
		while (len > 0 && ((unsigned char)e[len] & 0xc0) == 0x80)
			len--;
	}
	return xstrndup(e, len);
}

static void
add_recent(struct timeline *t, const struct timeline_run *r)
{
	struct timeline_recent *e = &t->recent[t->recent_next];

	if (t->nrecent == TIMELINE_RECENT)
		free(e->error);
	else
		t->nrecent++;
	memset(e, 0, sizeof(*e));
	snprintf(e->run, sizeof(e->run), "%s", r->run_id);
	snprintf(e->trigger, sizeof(e->trigger), "%s", r->trigger ?
	    r->trigger : "");
	e->outcome = r->outcome;
	e->at_ms = r->at_ms;
	e->duration_ms = r->duration_ms;
	e->error = cut_error(r->error);
	t->recent_next = (t->recent_next + 1) % TIMELINE_RECENT;
}

/* Newest first by when they began: history's seed and the runs that end
 * meanwhile may arrive in either order. */
static int
recent_cmp(const void *a, const void *b)
{
	const struct timeline_recent *x = *(const struct timeline_recent *const *)a;
	const struct timeline_recent *y = *(const struct timeline_recent *const *)b;

	return x->at_ms < y->at_ms ? 1 : x->at_ms > y->at_ms ? -1 :
	    strcmp(y->run, x->run);
}

static json_t *
recent_json(const struct timeline *t)
{
	const struct timeline_recent *v[TIMELINE_RECENT];
	json_t *a = json_array(), *e;

	for (size_t i = 0; i < t->nrecent; i++)
		v[i] = &t->recent[i];
	qsort(v, t->nrecent, sizeof(v[0]), recent_cmp);
	for (size_t i = 0; i < t->nrecent; i++) {
		e = json_pack("{s:s, s:s, s:I, s:s}", "id", v[i]->run,
		    "trigger", v[i]->trigger, "at", (json_int_t)v[i]->at_ms,
		    "outcome", outcome_name(v[i]->outcome));
		json_object_set_new(e, "duration_ms", v[i]->duration_ms >= 0 ?
		    json_integer(v[i]->duration_ms) : json_null());
		json_object_set_new(e, "error", v[i]->error ?
		    json_string(v[i]->error) : json_null());
		if (v[i]->error && json_object_get(e, "error") == NULL)
			json_object_set_new(e, "error", json_string("?"));
		json_array_append_new(a, e);
	}
	return a;
}

/* The run a person is shown for a slot: the newest failure, else the
 * newest run. */
static int
shows(const struct timeline_slot *s, const struct timeline_run *r)
{
	int total = 0;

	for (size_t i = 0; i <= OUTCOME_INTERRUPTED; i++)
		total += s->n[i] > 0;
	if (total == 0)
		return 1;
	if (is_failure(r->outcome) != is_failure(s->shown))
		return is_failure(r->outcome);
	return r->at_ms >= s->shown_at_ms;
}

void
timeline_add(struct timeline *t, const struct timeline_run *r, int64_t now)
{
	struct timeline_slot *s;
	int64_t index = slot_of(r->at_ms);
	size_t len;

	(void)timeline_trim(t, now);
	if (index < first_index(now) || (size_t)r->outcome >
	    OUTCOME_INTERRUPTED || r->outcome == OUTCOME_NONE)
		return;
	/* Full: the window holds SLOTS indices, so a slot older than all
	 * of them cannot be in it; drop the oldest for a newer one. */
	if (t->n == TIMELINE_SLOTS && index > t->v[t->n - 1].index) {
		free(t->v[0].shown_error);
		memmove(t->v, t->v + 1, (t->n - 1) * sizeof(*t->v));
		t->n--;
	}
	s = slot_at(t, index);
	if (shows(s, r)) {
		s->shown = r->outcome;
		s->shown_at_ms = r->at_ms;
		s->shown_duration_ms = r->duration_ms;
		snprintf(s->shown_run, sizeof(s->shown_run), "%s",
		    r->run_id ? r->run_id : "");
		free(s->shown_error);
		s->shown_error = NULL;
		if (r->error != NULL && *r->error != '\0') {
			len = strlen(r->error);
			/* Cut at a character boundary, not inside one. */
			if (len > TIMELINE_ERROR_MAX) {
				len = TIMELINE_ERROR_MAX;
				while (len > 0 && ((unsigned char)r->error[len]
				    & 0xc0) == 0x80)
					len--;
			}
			s->shown_error = xstrndup(r->error, len);
		}
	}
	s->n[r->outcome]++;
	if (r->run_id != NULL && r->run_id[0] != '\0')
		add_recent(t, r);
	if (r->duration_ms >= 0) {
		t->spark[t->spark_next] = r->duration_ms;
		t->spark_next = (t->spark_next + 1) % TIMELINE_SPARK;
		if (t->nspark < TIMELINE_SPARK)
			t->nspark++;
	}
}

void
timeline_release(struct timeline *t)
{
	for (size_t i = 0; i < t->nrecent; i++)
		free(t->recent[i].error);
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].shown_error);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

json_t *
timeline_json(const struct timeline *t)
{
	json_t *o = json_object(), *strip = json_array(), *spark = json_array();
	size_t first;

	for (size_t i = 0; i < t->n; i++) {
		const struct timeline_slot *s = &t->v[i];
		json_t *e = json_object(), *n = json_object(), *run;

		for (int k = OUTCOME_DONE; k <= OUTCOME_INTERRUPTED; k++)
			if (s->n[k] > 0)
				json_object_set_new(n, outcome_name(
				    (enum outcome)k), json_integer(s->n[k]));
		run = json_pack("{s:s, s:s, s:I}", "id", s->shown_run,
		    "outcome", outcome_name(s->shown), "at",
		    (json_int_t)s->shown_at_ms);
		json_object_set_new(run, "duration_ms",
		    s->shown_duration_ms >= 0 ?
		    json_integer(s->shown_duration_ms) : json_null());
		json_object_set_new(run, "error", s->shown_error ?
		    json_string(s->shown_error) : json_null());
		/* An error that is not UTF-8: jansson refuses it. */
		if (s->shown_error && json_object_get(run, "error") == NULL)
			json_object_set_new(run, "error", json_string("?"));
		json_object_set_new(e, "t",
		    json_integer(s->index * TIMELINE_SLOT_MS));
		json_object_set_new(e, "n", n);
		json_object_set_new(e, "run", run);
		json_array_append_new(strip, e);
	}
	first = t->nspark < TIMELINE_SPARK ? 0 : t->spark_next;
	for (size_t i = 0; i < t->nspark; i++)
		json_array_append_new(spark, json_integer(
		    t->spark[(first + i) % TIMELINE_SPARK]));
	json_object_set_new(o, "strip", strip);
	json_object_set_new(o, "spark", spark);
	json_object_set_new(o, "recent", recent_json(t));
	return o;
}

/* ---- the gate ---- */

void
timeline_gate_init(struct timeline_gate *g)
{
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < TIMELINE_SLOTS; i++)
		g->v[i].index = -1;
}

/* The ring entry of index, reset when it held an older slot. */
static size_t
gate_at(struct timeline_gate *g, int64_t index)
{
	size_t k = (size_t)(index % TIMELINE_SLOTS);

	if (g->v[k].index != index) {
		g->v[k].index = index;
		g->v[k].busy_ms = 0;
		g->v[k].peak_used = g->v[k].peak_waiting = 0;
	}
	return k;
}

void
timeline_gate_run(struct timeline_gate *g, int64_t started, int64_t dur,
    int64_t now)
{
	int64_t end = started + dur, first = first_index(now), a, b;

	if (started <= 0 || dur <= 0)
		return;
	for (int64_t i = slot_of(started); i <= slot_of(end - 1); i++) {
		if (i < first || i > slot_of(now))
			continue;
		a = i * TIMELINE_SLOT_MS;
		b = a + TIMELINE_SLOT_MS;
		a = started > a ? started : a;
		b = end < b ? end : b;
		g->v[gate_at(g, i)].busy_ms += b - a;
	}
}

int
timeline_gate_sample(struct timeline_gate *g, int used, int waiting,
    int64_t now)
{
	size_t k = gate_at(g, slot_of(now));
	int rose = 0;

	if (used > g->v[k].peak_used) {
		g->v[k].peak_used = used;
		rose = 1;
	}
	if (waiting > g->v[k].peak_waiting) {
		g->v[k].peak_waiting = waiting;
		rose = 1;
	}
	return rose;
}

json_t *
timeline_gate_json(const struct timeline_gate *g, int slots, int64_t now)
{
	json_t *o = json_object(), *strip = json_array();
	int64_t first = first_index(now);

	for (int64_t i = first; i <= slot_of(now); i++) {
		size_t k = (size_t)(i % TIMELINE_SLOTS);
		json_t *e;

		if (g->v[k].index != i)
			continue;
		e = json_object();
		json_object_set_new(e, "t", json_integer(i * TIMELINE_SLOT_MS));
		json_object_set_new(e, "busy_ms",
		    json_integer(g->v[k].busy_ms));
		json_object_set_new(e, "peak_used",
		    json_integer(g->v[k].peak_used));
		json_object_set_new(e, "peak_waiting",
		    json_integer(g->v[k].peak_waiting));
		json_array_append_new(strip, e);
	}
	json_object_set_new(o, "slots", json_integer(slots));
	json_object_set_new(o, "strip", strip);
	return o;
}
