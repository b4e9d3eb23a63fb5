/*
 * status: health verdicts and the JSON bodies of the HTTP plane, as pure
 * functions of the agents' status, the crew and `now`.
 *
 * Times are unix milliseconds everywhere on the plane (JSON integers, null
 * when there is none): the dashboard does countdown arithmetic on them and
 * the daemon's clocks are already in milliseconds.
 */
#include <stdlib.h>
#include <string.h>

#include "lcspec.h"
#include "status.h"
#include "utf8.h"
#include "util.h"

/*
 * Lateness is never judged closer than this: loop timers, a slow tick
 * and a busy machine must not flap a millisecond-interval agent to "late".
 */
#define HEALTH_SLACK_MS	1000
#define FAILING_STREAK	3

static const char *const health_names[] = {
	[HEALTH_OK] = "ok",
	[HEALTH_LATE] = "late",
	[HEALTH_STALE] = "stale",
	[HEALTH_FAILING] = "failing",
	[HEALTH_NEVER] = "never",
	[HEALTH_PAUSED] = "paused",
};

int
status_paused(const struct agent_status *a, int64_t now)
{
	return a->paused && (a->paused_until_ms == 0 ||
	    now < a->paused_until_ms);
}

const char *
status_health_name(enum health h)
{
	if ((unsigned)h >= sizeof(health_names) / sizeof(health_names[0]))
		return "ok";
	return health_names[h];
}

/*
 * The verdict, in order of precedence:
 *   paused   the operator paused it, or its token budget did (SPEC §5b):
 *            it is not expected to run, so nothing else is judged;
 *   failing  3 or more consecutive failed/killed runs, or 3 or more runs
 *            in a row whose work could not be committed;
 *   ok       a tick is under way (running, or waiting at the gate: the
 *            run's own timeout bounds it);
 *   never    no run on record, and boot grace plus its first gap (the
 *            delay it scheduled) have passed since boot;
 *   stale    more than 2 gaps past the time the tick was due (next_tick,
 *            else last_run + gap), i.e. more than 3 gaps since the tick
 *            before it;
 *   late     more than half a gap past due, i.e. more than 1.5 gaps since
 *            the tick before it;
 *   ok       otherwise, and whenever the gap is unknown.
 * Neither late nor stale is reported less than HEALTH_SLACK_MS past due.
 */
enum health
status_health(const struct agent_status *a, int64_t now, int64_t boot,
    int64_t grace)
{
	int64_t gap = a->expected_gap_ms, due, over;

	if (status_paused(a, now))
		return HEALTH_PAUSED;
	if (a->fail_streak >= FAILING_STREAK ||
	    a->git_fail_streak >= FAILING_STREAK)
		return HEALTH_FAILING;
	if (a->running || a->queue_place > 0)
		return HEALTH_OK;
	if (a->last_run_ms <= 0) {
		if (now > boot + grace + (gap > 0 ? gap : 0))
			return HEALTH_NEVER;
		return HEALTH_OK;
	}
	if (gap <= 0)
		return HEALTH_OK;
	due = a->next_tick_ms > 0 ? a->next_tick_ms : a->last_run_ms + gap;
	over = now - due;
	if (over <= HEALTH_SLACK_MS)
		return HEALTH_OK;
	if (over > 2 * gap)
		return HEALTH_STALE;
	if (over > gap / 2)
		return HEALTH_LATE;
	return HEALTH_OK;
}

const char *
status_health_why(const struct agent_status *a)
{
	if (a->git_fail_streak >= FAILING_STREAK && a->git != NULL)
		return a->git;
	return NULL;
}

int64_t
status_health_next(const struct agent_status *a, int64_t now, int64_t boot,
    int64_t grace)
{
	int64_t gap = a->expected_gap_ms, due, t, next = 0;
	int64_t over[3];

	/* A pause with an end changes the verdict then. */
	if (status_paused(a, now))
		return a->paused_until_ms > 0 ? a->paused_until_ms : 0;
	if (a->fail_streak >= FAILING_STREAK ||
	    a->git_fail_streak >= FAILING_STREAK || a->running ||
	    a->queue_place > 0)
		return 0;
	if (a->last_run_ms <= 0) {
		t = boot + grace + (gap > 0 ? gap : 0) + 1;
		return t > now ? t : 0;
	}
	if (gap <= 0)
		return 0;
	due = a->next_tick_ms > 0 ? a->next_tick_ms : a->last_run_ms + gap;
	/* status_health() compares "over" with strict >: the verdict moves
	 * one millisecond past each threshold. */
	over[0] = HEALTH_SLACK_MS;
	over[1] = gap / 2;
	over[2] = 2 * gap;
	for (int i = 0; i < 3; i++) {
		t = due + over[i] + 1;
		if (t > now && (next == 0 || t < next))
			next = t;
	}
	return next;
}

json_t *
status_json_str(const char *s, size_t len)
{
	json_t *v;
	char *c;
	size_t n;

	if (s == NULL)
		return json_null();
	/* Agent output need not be UTF-8, but JSON must be: the common,
	 * valid case costs no copy. */
	if ((v = json_stringn(s, len)) != NULL)
		return v;
	c = utf8_clean(s, len, 0, &n);
	v = json_stringn(c, n);
	free(c);
	return v != NULL ? v : json_string("");
}

static json_t *
jstr(const char *s)
{
	return status_json_str(s, s != NULL ? strlen(s) : 0);
}

/* An empty string means "none" in the structs; null on the plane. */
static json_t *
jstr_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? jstr(s) : json_null();
}

static json_t *
jtime(int64_t ms)
{
	return ms > 0 ? json_integer(ms) : json_null();
}

/* SPEC §5b: {"until","why"} (until null: until resumed), or null when
 * a is not paused at now (held says a is, as its filler saw it). */
static json_t *
paused_json(const struct agent_status *a, int held, int64_t now)
{
	json_t *o;

	if (!(held ? a->paused : status_paused(a, now)))
		return json_null();
	o = json_object();
	json_object_set_new(o, "until", jtime(a->paused_until_ms));
	json_object_set_new(o, "why", jstr_or_null(a->paused_why));
	return o;
}

/* The next tick is a retry: {"attempt","of"}, or null. */
static json_t *
retry_json(const struct agent_status *a)
{
	if (a->retry_attempt <= 0)
		return json_null();
	return json_pack("{s:i, s:i}", "attempt", a->retry_attempt, "of",
	    a->retry_of);
}

/* A member with a token budget: {"used","budget","window"}, or null. */
static json_t *
tokens_json(const struct agent_status *a)
{
	if (a->token_budget <= 0)
		return json_null();
	return json_pack("{s:I, s:I, s:I}", "used", (json_int_t)a->tokens_used,
	    "budget", (json_int_t)a->token_budget, "window",
	    (json_int_t)a->token_window_ms);
}

static json_t *
agent_json(const struct agent_status *a, const struct status_crew *c,
    int64_t now)
{
	json_t *o = json_object(), *lc = json_object(), *st = json_array();
	json_t *steps = json_array();

	if (a->states != NULL)
		for (size_t i = 0; i < a->nstates; i++)
			json_array_append_new(st, jstr(a->states[i]));
	else if (a->spec != NULL)
		for (size_t i = 0; i < a->spec->nstates; i++)
			json_array_append_new(st, jstr(a->spec->states[i].name));
	json_object_set_new(lc, "state", jstr_or_null(a->state));
	json_object_set_new(lc, "hits", json_integer(a->hits));
	json_object_set_new(lc, "repeat", json_integer(a->repeat));
	json_object_set_new(lc, "states", st);
	for (size_t i = 0; i < a->nsteps && i < STATUS_STEPS; i++) {
		json_t *s = json_object();

		json_object_set_new(s, "at", jtime(a->steps[i].at_ms));
		json_object_set_new(s, "text", jstr(a->steps[i].text));
		json_array_append_new(steps, s);
	}
	json_object_set_new(o, "name", jstr(a->name));
	json_object_set_new(o, "running", json_boolean(a->running));
	json_object_set_new(o, "queue_place", a->queue_place > 0 ?
	    json_integer(a->queue_place) : json_null());
	json_object_set_new(o, "lifecycle", lc);
	json_object_set_new(o, "steps", steps);
	json_object_set_new(o, "thought", jstr_or_null(a->thought));
	json_object_set_new(o, "last_run", jtime(a->last_run_ms));
	json_object_set_new(o, "next_tick", jtime(a->next_tick_ms));
	json_object_set_new(o, "last_outcome",
	    jstr_or_null(outcome_name(a->last_outcome)));
	json_object_set_new(o, "no_work_streak",
	    json_integer(a->no_work_streak));
	json_object_set_new(o, "health", json_string(status_health_name(
	    status_health(a, now, c->boot_ms, c->grace_ms))));
	json_object_set_new(o, "health_why", jstr_or_null(status_health_why(
	    a)));
	json_object_set_new(o, "paused", paused_json(a, 0, now));
	json_object_set_new(o, "retry", retry_json(a));
	json_object_set_new(o, "priority", jstr_or_null(a->priority));
	json_object_set_new(o, "tokens", tokens_json(a));
	/* Beyond SPEC §10, for the dashboard. */
	json_object_set_new(o, "fail_streak", json_integer(a->fail_streak));
	json_object_set_new(o, "gap", json_integer(a->expected_gap_ms));
	json_object_set_new(o, "run_started",
	    jtime(a->running ? a->run_started_ms : 0));
	/* The run in flight, for GET /_runs/ID. */
	json_object_set_new(o, "run_id", jstr_or_null(a->running ?
	    a->run_id : NULL));
	json_object_set_new(o, "error", jstr_or_null(a->error));
	json_object_set_new(o, "last_commit", jstr_or_null(a->last_commit));
	json_object_set_new(o, "git", jstr_or_null(a->git));
	json_object_set_new(o, "schedule_text", jstr_or_null(a->schedule_text));
	/* SPEC §5a: the calendar's line or timestamp as written; next_tick
	 * is then its next fire. */
	json_object_set_new(o, "calendar", jstr_or_null(a->calendar));
	return o;
}

struct wire_ref {
	size_t	 agent, step;
	int64_t	 at;
};

/* Newest first; equal times keep manifest order, later steps first. */
static int
wire_cmp(const void *pa, const void *pb)
{
	const struct wire_ref *a = pa, *b = pb;

	if (a->at != b->at)
		return a->at > b->at ? -1 : 1;
	if (a->agent != b->agent)
		return a->agent < b->agent ? -1 : 1;
	if (a->step != b->step)
		return a->step > b->step ? -1 : 1;
	return 0;
}

static json_t *
wire_json(const struct agent_status *as, size_t n)
{
	struct wire_ref *refs;
	size_t nrefs = 0;
	json_t *w = json_array();

	refs = xreallocarray(NULL, n * STATUS_STEPS + 1, sizeof(*refs));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < as[i].nsteps && k < STATUS_STEPS; k++)
			refs[nrefs++] = (struct wire_ref){ i, k,
			    as[i].steps[k].at_ms };
	qsort(refs, nrefs, sizeof(*refs), wire_cmp);
	for (size_t i = 0; i < nrefs && i < STATUS_WIRE; i++) {
		const struct agent_status *a = &as[refs[i].agent];
		json_t *o = json_object();

		json_object_set_new(o, "agent", jstr(a->name));
		json_object_set_new(o, "at", jtime(refs[i].at));
		json_object_set_new(o, "text",
		    jstr(a->steps[refs[i].step].text));
		json_array_append_new(w, o);
	}
	free(refs);
	return w;
}

/*
 * The agent the page puts in front: among running agents the one most
 * recently active (its newest step, else when its run started); with none
 * running, the one that ran last; first in manifest order on ties; -1
 * when no agent has ever run.
 */
static long
busiest(const struct agent_status *as, size_t n)
{
	long best = -1;
	int64_t best_at = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t at = as[i].run_started_ms;

		if (!as[i].running)
			continue;
		if (as[i].nsteps > 0 &&
		    as[i].steps[as[i].nsteps - 1].at_ms > at)
			at = as[i].steps[as[i].nsteps - 1].at_ms;
		if (best < 0 || at > best_at) {
			best = (long)i;
			best_at = at;
		}
	}
	if (best >= 0)
		return best;
	for (size_t i = 0; i < n; i++)
		if (as[i].last_run_ms > 0 && (best < 0 ||
		    as[i].last_run_ms > best_at)) {
			best = (long)i;
			best_at = as[i].last_run_ms;
		}
	return best;
}

static json_t *
crew_json(const struct status_crew *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", jstr_or_null(c->name));
	json_object_set_new(o, "error", jstr_or_null(c->error));
	json_object_set_new(o, "boot", jtime(c->boot_ms));
	json_object_set_new(o, "notice", jstr_or_null(c->notice));
	json_object_set_new(o, "history_error", jstr_or_null(c->history_error));
	return o;
}

/* SPEC §12, with a lease only: "role", and "active", the active
 * keeper's identity (null while none is known). */
static void
role_json(json_t *o, const struct status_crew *c)
{
	json_t *a;

	if (c->role == NULL)
		return;
	json_object_set_new(o, "role", json_string(c->role));
	a = c->active ? json_loads(c->active, 0, NULL) : NULL;
	json_object_set_new(o, "active", a ? a : json_null());
}

int
status_standby(const struct status_crew *c)
{
	return c->role != NULL && strcmp(c->role, "standby") == 0;
}

json_t *
status_activity(const struct agent_status *as, size_t n,
    const struct status_crew *c, int64_t now)
{
	json_t *o = json_object(), *agents = json_array();
	long b;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(agents, agent_json(&as[i], c, now));
	json_object_set_new(o, "now", json_integer(now));
	json_object_set_new(o, "crew", crew_json(c));
	json_object_set_new(o, "agents", agents);
	json_object_set_new(o, "wire", wire_json(as, n));
	role_json(o, c);
	b = busiest(as, n);
	json_object_set_new(o, "agent", b >= 0 ?
	    json_deep_copy(json_array_get(agents, (size_t)b)) : json_null());
	return o;
}

/* A paused agent is not expected to run: it does not make the answer
 * 503 (SPEC §10). */
static int
all_ok(const struct agent_status *as, size_t n, const struct status_crew *c,
    int64_t now)
{
	if (c->history_error != NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		enum health h = status_health(&as[i], now, c->boot_ms,
		    c->grace_ms);

		if (h != HEALTH_OK && h != HEALTH_PAUSED)
			return 0;
	}
	return 1;
}

json_t *
status_health_json(const struct agent_status *as, size_t n,
    const struct status_crew *c, int64_t now, int *code)
{
	json_t *o = json_object(), *agents = json_object();
	int ok = all_ok(as, n, c, now);

	/* A standby runs nothing by design: its agents' verdicts are the
	 * active keeper's to give (SPEC §12). It answers 200, "standby". */
	if (status_standby(c)) {
		json_decref(agents);
		json_object_set_new(o, "status", json_string("standby"));
		role_json(o, c);
		*code = 200;
		return o;
	}
	for (size_t i = 0; i < n; i++)
		json_object_set_new(agents, as[i].name, json_string(
		    status_health_name(status_health(&as[i], now, c->boot_ms,
		    c->grace_ms))));
	json_object_set_new(o, "status", json_string(ok ? "ok" : "degraded"));
	json_object_set_new(o, "agents", agents);
	role_json(o, c);
	for (size_t i = 0; i < n; i++) {
		const char *why = status_health_why(&as[i]);

		if (why == NULL)
			continue;
		if (json_object_get(o, "why") == NULL)
			json_object_set_new(o, "why", json_object());
		json_object_set_new(json_object_get(o, "why"), as[i].name,
		    jstr(why));
	}
	/* A history that cannot be written is the crew's failure: runs go
	 * on, but nothing records them until it can (the rows wait). */
	if (c->history_error != NULL)
		json_object_set_new(o, "history", json_pack("{s:o, s:I}",
		    "error", jstr(c->history_error), "waiting",
		    (json_int_t)c->history_waiting));
	if (c->notice != NULL)
		json_object_set_new(o, "notice", jstr(c->notice));
	if (c->sentinel != NULL)
		json_object_set_new(o, "sentinel", json_pack("{s:I, s:I, s:I, "
		    "s:I}", "missed_timer", (json_int_t)c->sentinel->missed_timer,
		    "overdue_run", (json_int_t)c->sentinel->overdue_run,
		    "leaked_slot", (json_int_t)c->sentinel->leaked_slot,
		    "lost_slot", (json_int_t)c->sentinel->lost_slot));
	*code = ok ? 200 : 503;
	return o;
}

json_t *
status_changes(json_t *commits, const struct agent_status *as, size_t n,
    const struct status_crew *c, int64_t now)
{
	json_t *o = json_object(), *k = json_object();
	int running = 0, waiting = 0;

	for (size_t i = 0; i < n; i++) {
		running += as[i].running != 0;
		waiting += as[i].queue_place > 0;
	}
	json_object_set_new(o, "commits", commits != NULL ? commits :
	    json_array());
	json_object_set_new(k, "status", json_string(all_ok(as, n, c, now) ?
	    "ok" : "degraded"));
	json_object_set_new(k, "crew", jstr_or_null(c->name));
	json_object_set_new(k, "error", jstr_or_null(c->error));
	json_object_set_new(k, "agents", json_integer((json_int_t)n));
	json_object_set_new(k, "running", json_integer(running));
	json_object_set_new(k, "waiting", json_integer(waiting));
	json_object_set_new(k, "boot", jtime(c->boot_ms));
	json_object_set_new(k, "now", json_integer(now));
	json_object_set_new(o, "keeper", k);
	return o;
}

void
status_redact_json(json_t *v, status_redact_fn fn, void *arg)
{
	const char *key;
	json_t *e;
	size_t i;
	char *r;

	if (fn == NULL || v == NULL)
		return;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, key, e)
			status_redact_json(e, fn, arg);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, e)
			status_redact_json(e, fn, arg);
		break;
	case JSON_STRING:
		r = fn(arg, json_string_value(v), json_string_length(v));
		if (r != NULL) {
			size_t n;
			char *c = utf8_clean(r, strlen(r), 0, &n);

			json_string_setn(v, c, n);
			free(c);
			free(r);
		}
		break;
	default:
		break;
	}
}

json_t *
status_cli(const struct agent_status *as, size_t n,
    const struct status_crew *c, long pid, const char *data)
{
	json_t *arr = json_array(), *o;

	for (size_t i = 0; i < n; i++) {
		const struct agent_status *a = &as[i];

		o = json_object();
		json_object_set_new(o, "name", jstr(a->name));
		json_object_set_new(o, "state", jstr(a->state ? a->state : ""));
		json_object_set_new(o, "hits", json_integer(a->hits));
		json_object_set_new(o, "repeat", json_integer(a->repeat));
		json_object_set_new(o, "last_run", json_integer(a->last_run_ms));
		json_object_set_new(o, "next_tick",
		    json_integer(a->next_tick_ms));
		json_object_set_new(o, "last_outcome",
		    json_string(outcome_name(a->last_outcome)));
		json_object_set_new(o, "streak",
		    json_integer(a->no_work_streak));
		json_object_set_new(o, "running", json_boolean(a->running));
		json_object_set_new(o, "queue_place",
		    json_integer(a->queue_place));
		json_object_set_new(o, "run_started",
		    json_integer(a->run_started_ms));
		json_object_set_new(o, "paused", paused_json(a, 1, 0));
		json_object_set_new(o, "retry", retry_json(a));
		json_object_set_new(o, "priority", jstr_or_null(a->priority));
		json_object_set_new(o, "tokens", tokens_json(a));
		if (a->error)
			json_object_set_new(o, "error", jstr(a->error));
		if (a->thought)
			json_object_set_new(o, "thought", jstr(a->thought));
		/* SPEC §5a: next_tick is then the calendar's next fire. */
		if (a->calendar)
			json_object_set_new(o, "calendar", jstr(a->calendar));
		/* What git could not do for its last runs (a detached HEAD,
		 * a foreign lock): said before it makes the agent failing. */
		if (a->git_fail_streak > 0 && a->git != NULL)
			json_object_set_new(o, "git_problem", jstr(a->git));
		json_array_append_new(arr, o);
	}
	o = json_object();
	json_object_set_new(o, "agents", arr);
	json_object_set_new(o, "pid", pid > 0 ? json_integer(pid) :
	    json_null());
	json_object_set_new(o, "data", jstr(data));
	if (c != NULL && c->error != NULL)
		json_object_set_new(o, "crew_error", jstr(c->error));
	return o;
}

char *
status_dump(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL)
		s = xstrdup("null");
	if (len != NULL)
		*len = strlen(s);
	return s;
}

/* ---- deep copies, for rendering away from the loop ---------------------- */

struct arena {
	char	*p;
	size_t	 need;		/* sizing pass: p is NULL, bytes are counted */
};

static const char *
arena_str(struct arena *a, const char *s)
{
	size_t n;
	char *d;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	if (a->p == NULL) {
		a->need += n;
		return NULL;
	}
	d = memcpy(a->p, s, n);
	a->p += n;
	return d;
}

/* One agent into d, its strings into the arena and its states (resolved
 * from the spec) into names. The sizing pass passes a scratch d and NULL
 * names: the same walk then only counts bytes. */
static void
clone_one(struct agent_status *d, const struct agent_status *s,
    const char **names, struct arena *a)
{
	size_t ns = s->states != NULL ? s->nstates : s->spec != NULL ?
	    s->spec->nstates : 0;

	*d = *s;
	for (size_t i = 0; i < ns; i++) {
		const char *v = arena_str(a, s->states != NULL ?
		    s->states[i] : s->spec->states[i].name);

		if (names != NULL)
			names[i] = v;
	}
	d->states = ns > 0 ? names : NULL;
	d->nstates = ns;
	d->spec = NULL;
	d->name = arena_str(a, s->name);
	d->state = arena_str(a, s->state);
	for (size_t i = 0; i < s->nsteps; i++)
		d->steps[i].text = arena_str(a, s->steps[i].text);
	d->thought = arena_str(a, s->thought);
	d->run_id = arena_str(a, s->run_id);
	d->error = arena_str(a, s->error);
	d->last_commit = arena_str(a, s->last_commit);
	d->git = arena_str(a, s->git);
	d->schedule_text = arena_str(a, s->schedule_text);
	d->calendar = arena_str(a, s->calendar);
	d->paused_why = arena_str(a, s->paused_why);
	d->priority = arena_str(a, s->priority);
}

struct agent_status *
status_clone(const struct agent_status *as, size_t n)
{
	struct arena a = { NULL, 0 };
	size_t nnames = 0, head;
	struct agent_status *out;
	const char **names;
	char *block;

	for (size_t i = 0; i < n; i++) {
		struct agent_status scratch;

		clone_one(&scratch, &as[i], NULL, &a);
		nnames += scratch.nstates;
	}
	head = (n > 0 ? n : 1) * sizeof(*out) + nnames * sizeof(*names);
	block = xmalloc(head + a.need);
	out = (struct agent_status *)(void *)block;
	names = (const char **)(void *)(block + n * sizeof(*out));
	a.p = block + head;
	for (size_t i = 0; i < n; i++) {
		clone_one(&out[i], &as[i], names, &a);
		names += out[i].nstates;
	}
	return out;
}
