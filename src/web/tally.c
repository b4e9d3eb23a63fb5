/*
 * tally: see tally.h. Agents are found by name through the hash table
 * (table.h: a publish asks for every agent, and a crew may have
 * thousands); each keeps its rendered part of /_timeline until a
 * run or the window's edge changes it, so a publish of a big crew
 * copies most of that body instead of building it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "table.h"
#include "tally.h"
#include "util.h"

struct entry {
	char			*name;
	uint64_t		 runs[OUTCOME_INTERRUPTED + 1];
	uint64_t		 ticks[METRICS_NTRIGGERS];
	struct metrics_hist	 duration, lateness;
	uint64_t		 missed, commits, tok_p, tok_c;
	struct timeline		 tl;
	char			*part;		/* its /_timeline JSON */
	int			 stale;		/* part must be rendered */
};

struct tally {
	struct entry		*v;
	size_t			 n, cap;
	struct table		 by_name;	/* name -> index in v */
	struct timeline_gate	 gate;
	uint64_t		 version;
	status_redact_fn	 redact;	/* the parts were redacted so */
	void			*redact_arg;
};

static struct entry *
entry(struct tally *t, const char *name)
{
	struct table_ent *te;
	int added;

	te = table_put(&t->by_name, name, &added);
	if (!added)
		return &t->v[te->v.num];
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	t->v[t->n].name = xstrdup(name);
	t->v[t->n].stale = 1;
	te->v.num = t->n++;
	t->version++;
	return &t->v[t->n - 1];
}

struct tally *
tally_new(void)
{
	struct tally *t = xcalloc(1, sizeof(*t));

	t->by_name.flags = TABLE_COPY;
	timeline_gate_init(&t->gate);
	return t;
}

void
tally_free(struct tally *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].part);
		timeline_release(&t->v[i].tl);
	}
	free(t->v);
	table_release(&t->by_name);
	free(t);
}

uint64_t
tally_version(const struct tally *t)
{
	return t->version;
}

static double
secs(int64_t ms)
{
	return (double)ms / 1000.0;
}

void
tally_tick(struct tally *t, const char *agent, const struct tally_run *l,
    int64_t now)
{
	struct entry *e = entry(t, agent);
	struct timeline_run r = { .run_id = l->run_id, .outcome = l->outcome,
	    .at_ms = l->started_ms ? l->started_ms : l->scheduled_ms,
	    .duration_ms = l->started_ms ? l->duration_ms : -1,
	    .error = l->error, .trigger = l->trigger };
	int trig = metrics_trigger_parse(l->trigger ? l->trigger : "");

	if (l->outcome > OUTCOME_NONE && l->outcome <= OUTCOME_INTERRUPTED)
		e->runs[l->outcome]++;
	if (trig >= 0)
		e->ticks[trig]++;
	if (l->started_ms > 0) {
		metrics_hist_observe(&e->duration, secs(l->duration_ms));
		metrics_hist_observe(&e->lateness, secs(l->started_ms -
		    l->scheduled_ms));
	}
	/* The calendar's missed fires (SPEC §5a) arrive as the count the
	 * tick recorded. */
	e->missed += l->missed;
	e->commits += l->committed != 0;
	if (l->tokens_prompt > 0)
		e->tok_p += (uint64_t)l->tokens_prompt;
	if (l->tokens_completion > 0)
		e->tok_c += (uint64_t)l->tokens_completion;
	timeline_add(&e->tl, &r, now);
	if (l->in_gate && l->started_ms > 0)
		timeline_gate_run(&t->gate, l->started_ms, l->duration_ms, now);
	e->stale = 1;
	t->version++;
}

void
tally_seed(struct tally *t, const char *agent, const struct timeline_run *r,
    int64_t started, int in_gate, int64_t now)
{
	struct entry *e = entry(t, agent);

	timeline_add(&e->tl, r, now);
	if (in_gate && started > 0 && r->duration_ms > 0)
		timeline_gate_run(&t->gate, started, r->duration_ms, now);
	e->stale = 1;
	t->version++;
}

void
tally_gate(struct tally *t, int used, int waiting, int64_t now)
{
	if (timeline_gate_sample(&t->gate, used, waiting, now))
		t->version++;
}

void
tally_metrics(struct tally *t, const struct agent_status *st, size_t n,
    struct metrics_agent *out, int64_t now, int64_t boot, int64_t grace)
{
	for (size_t i = 0; i < n; i++) {
		struct entry *e = entry(t, st[i].name);
		struct metrics_agent *m = &out[i];

		memset(m, 0, sizeof(*m));
		m->name = st[i].name;
		memcpy(m->runs, e->runs, sizeof(m->runs));
		memcpy(m->ticks, e->ticks, sizeof(m->ticks));
		m->duration = e->duration;
		m->lateness = e->lateness;
		m->last_run_ms = st[i].last_run_ms;
		m->next_run_ms = st[i].next_tick_ms;
		m->health = status_health(&st[i], now, boot, grace);
		/* Fires missed outside a tick (at boot with CATCH-UP 0, in a
		 * pause) count now, not at the next tick's end. */
		m->missed_fires = e->missed + st[i].missed_waiting;
		m->commits = e->commits;
		m->tokens_prompt = e->tok_p;
		m->tokens_completion = e->tok_c;
	}
}

void
tally_redo(struct tally *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->v[i].stale = 1;
	t->version++;
}

static void
render_part(struct tally *t, struct entry *e)
{
	json_t *j = timeline_json(&e->tl);

	status_redact_json(j, t->redact, t->redact_arg);
	free(e->part);
	e->part = status_dump(j, NULL);
	json_decref(j);
	e->stale = 0;
}

char *
tally_timeline(struct tally *t, const struct agent_status *st, size_t n,
    int gate_slots, int64_t now, status_redact_fn redact, void *redact_arg,
    size_t *len)
{
	struct sb b = { 0 };
	json_t *gj;
	char *g;

	if (redact != t->redact || redact_arg != t->redact_arg) {
		t->redact = redact;
		t->redact_arg = redact_arg;
		tally_redo(t);
	}
	sb_addf(&b, "{\"now\":%lld,\"slot_ms\":%lld,\"slots\":%d,\"agents\":{",
	    (long long)now, (long long)TIMELINE_SLOT_MS, TIMELINE_SLOTS);
	for (size_t i = 0; i < n; i++) {
		struct entry *e = entry(t, st[i].name);

		if (timeline_trim(&e->tl, now) || e->stale)
			render_part(t, e);
		/* Member names are [A-Za-z0-9._-]: no escape needed. */
		sb_addf(&b, "%s\"%s\":", i ? "," : "", e->name);
		sb_adds(&b, e->part);
	}
	sb_adds(&b, "},\"gate\":");
	if (gate_slots > 0) {
		gj = timeline_gate_json(&t->gate, gate_slots, now);
		g = status_dump(gj, NULL);
		json_decref(gj);
		sb_adds(&b, g);
		free(g);
	} else
		sb_adds(&b, "null");
	sb_addc(&b, '}');
	*len = b.len;
	return sb_detach(&b);
}
