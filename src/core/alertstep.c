/*
 * alertstep: the health transition function, the alert ids and the alert
 * as JSON and text. Pure: all inputs, time included, are arguments, so
 * tests are exact.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alertstep.h"
#include "dur.h"
#include "table.h"
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
	case ALERT_BUDGET:
		return "budget";
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

	/* Failing for a reason of its own (the history cannot be written,
	 * commits keep failing) is failing now: no streak to wait for. */
	if (in->fail_streak >= threshold || (in->health == HEALTH_FAILING &&
	    in->why != NULL))
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
	int changed = 0, recovery;
	char trigger[32];
	const char *trig;

	tgt = target_state(t, p, in);
	if (tgt != t->cur) {
		t->cur = tgt;
		changed = 1;
	}
	if (!changed && !t->pending)
		return 0;
	/* The gap folds flapping, never the good news of an incident the
	 * receiver was told about: an operator paged for a failure hears
	 * of its fix when it happens. */
	recovery = t->cur == ALERT_OK && t->told != ALERT_OK;
	if (!recovery && t->last_alert_ms != 0 &&
	    in->now_ms - t->last_alert_ms < p->min_gap_ms) {
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
	if (out->to == ALERT_FAILING && in->why != NULL)
		snprintf(out->why, sizeof(out->why), "%s", in->why);
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

/* One field of an id: its bytes, then a separator byte no name holds, so
 * "ab"+"c" differs from "a"+"bc". */
static uint64_t
id_field(uint64_t h, const char *s)
{
	static const unsigned char sep = 0xff;

	h = table_fnv1a(h, s, strlen(s));
	return table_fnv1a(h, &sep, 1);
}

void
alert_make_id(char buf[17], const char *agent, enum alert_state from,
    enum alert_state to, const char *trigger)
{
	uint64_t h = TABLE_FNV_INIT;

	h = id_field(h, agent);
	h = id_field(h, alert_state_name(from));
	h = id_field(h, alert_state_name(to));
	h = id_field(h, trigger ? trigger : "");
	snprintf(buf, 17, "%016" PRIx64, h);
}

void
alert_make_result_id(char buf[17], const char *agent, const char *run_id)
{
	uint64_t h = TABLE_FNV_INIT;

	h = id_field(h, "result");
	h = id_field(h, agent);
	h = id_field(h, run_id ? run_id : "");
	snprintf(buf, 17, "%016" PRIx64, h);
}

void
alert_budget(struct alert *out, const char *agent, enum alert_state from,
    int64_t tokens, int64_t budget, int64_t window_ms, int64_t until_ms,
    int64_t now_ms)
{
	char trigger[32];

	memset(out, 0, sizeof(*out));
	snprintf(out->agent, sizeof(out->agent), "%s", agent);
	out->from = from;
	out->to = ALERT_BUDGET;
	out->at_ms = now_ms;
	out->tokens = tokens;
	out->budget = budget;
	out->window_ms = window_ms;
	out->until_ms = until_ms;
	snprintf(trigger, sizeof(trigger), "u%" PRId64, until_ms);
	alert_make_id(out->id, agent, from, ALERT_BUDGET, trigger);
}

const char *
alert_event_name(const struct alert *a)
{
	switch (a->to) {
	case ALERT_FAILING:
		return "failing";
	case ALERT_STALE:
		return "stale";
	case ALERT_BUDGET:
		return "budget";
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
		if (a->why[0])
			sb_addf(&b, "%s is failing: %s", a->agent, a->why);
		else
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
	case ALERT_BUDGET: {
		char win[32], until[32];
		time_t secs = (time_t)(a->until_ms / 1000);
		struct tm tm;

		dur_format(a->window_ms, win, sizeof(win));
		gmtime_r(&secs, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		sb_addf(&b, "%s paused itself: its token budget is spent "
		    "(%" PRId64 " of %" PRId64 " tokens in %s); it resumes at "
		    "%s", a->agent, a->tokens, a->budget, win, until);
		break;
	}
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
	    "id", a->id, "agent", a->agent, "event", alert_event_name(a),
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
	if (a->to == ALERT_BUDGET)
		json_object_set_new(o, "budget", json_pack("{s:I, s:I, s:I, "
		    "s:I}", "tokens", (json_int_t)a->tokens, "budget",
		    (json_int_t)a->budget, "window_ms",
		    (json_int_t)a->window_ms, "until_ms",
		    (json_int_t)a->until_ms));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}
