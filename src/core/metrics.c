/*
 * metrics: see metrics.h. One family at a time, every agent in each, as
 * the exposition format wants a family's samples together.
 */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "promtext.h"

const double metrics_buckets[METRICS_NBUCKETS] = {
	0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600,
};

static const char *const trigger_names[METRICS_NTRIGGERS] = {
	[METRICS_TRIGGER_SCHEDULE] = "schedule",
	[METRICS_TRIGGER_RUN_ONCE] = "run-once",
	[METRICS_TRIGGER_CATCH_UP] = "catch-up",
	[METRICS_TRIGGER_RETRY] = "retry",
};

/* The health label's values: status_health()'s verdicts, then paused. */
static const enum health healths[] = { HEALTH_OK, HEALTH_LATE, HEALTH_STALE,
	HEALTH_FAILING, HEALTH_NEVER };
#define NHEALTHS	(sizeof(healths) / sizeof(healths[0]))

void
metrics_hist_observe(struct metrics_hist *h, double s)
{
	size_t i = 0;

	if (!(s > 0))
		s = 0;		/* a clock step back, or NaN */
	while (i < METRICS_NBUCKETS && s > metrics_buckets[i])
		i++;
	h->counts[i]++;
	h->sum += s;
}

uint64_t
metrics_hist_count(const struct metrics_hist *h)
{
	uint64_t n = 0;

	for (size_t i = 0; i <= METRICS_NBUCKETS; i++)
		n += h->counts[i];
	return n;
}

int
metrics_trigger_parse(const char *s)
{
	for (int i = 0; i < METRICS_NTRIGGERS; i++)
		if (strcmp(s, trigger_names[i]) == 0)
			return i;
	return -1;
}

static double
secs(int64_t ms)
{
	return (double)ms / 1000.0;
}

/* One gauge or counter per agent, from a field picked by f. */
static void
per_agent(struct sb *b, const char *name, const char *type, const char *help,
    const struct metrics_agent *a, size_t n,
    double (*f)(const struct metrics_agent *))
{
	struct promtext_label l = { "agent", NULL };

	promtext_family(b, name, type, help);
	for (size_t i = 0; i < n; i++) {
		l.value = a[i].name;
		promtext_sample(b, name, &l, 1, f(&a[i]));
	}
}

static double
f_last(const struct metrics_agent *a)
{
	return secs(a->last_run_ms);
}

static double
f_next(const struct metrics_agent *a)
{
	return secs(a->next_run_ms);
}

static double
f_missed(const struct metrics_agent *a)
{
	return (double)a->missed_fires;
}

static double
f_commits(const struct metrics_agent *a)
{
	return (double)a->commits;
}

static void
hist(struct sb *b, const char *name, const char *help,
    const struct metrics_agent *a, size_t n, int lateness)
{
	struct promtext_label l = { "agent", NULL };
	const struct metrics_hist *h;

	promtext_family(b, name, "histogram", help);
	for (size_t i = 0; i < n; i++) {
		l.value = a[i].name;
		h = lateness ? &a[i].lateness : &a[i].duration;
		promtext_histogram(b, name, &l, 1, metrics_buckets, h->counts,
		    METRICS_NBUCKETS, h->sum);
	}
}

static void
crew_gauge(struct sb *b, const char *name, const char *help, double v)
{
	promtext_family(b, name, "gauge", help);
	promtext_sample(b, name, NULL, 0, v);
}

void
metrics_render(struct sb *b, const struct metrics_agent *a, size_t n,
    const struct metrics_crew *c)
{
	struct promtext_label l[2] = { { "agent", NULL }, { NULL, NULL } };
	const char *verdict;

	promtext_family(b, "keeper_runs_total", "counter",
	    "Runs that ended, by agent and outcome.");
	l[1].name = "outcome";
	for (size_t i = 0; i < n; i++)
		for (int o = OUTCOME_DONE; o <= OUTCOME_INTERRUPTED; o++) {
			l[0].value = a[i].name;
			l[1].value = outcome_name((enum outcome)o);
			promtext_sample(b, "keeper_runs_total", l, 2,
			    (double)a[i].runs[o]);
		}

	promtext_family(b, "keeper_ticks_total", "counter",
	    "Ticks started, by agent and what started them.");
	l[1].name = "trigger";
	for (size_t i = 0; i < n; i++)
		for (int t = 0; t < METRICS_NTRIGGERS; t++) {
			l[0].value = a[i].name;
			l[1].value = trigger_names[t];
			promtext_sample(b, "keeper_ticks_total", l, 2,
			    (double)a[i].ticks[t]);
		}

	hist(b, "keeper_run_duration_seconds",
	    "Wall-clock time of each run, start to end.", a, n, 0);
	hist(b, "keeper_start_lateness_seconds",
	    "How long after it was due each run started (gate waits, "
	    "stagger, catch-up).", a, n, 1);
	per_agent(b, "keeper_last_run_timestamp_seconds", "gauge",
	    "When the agent's last tick began (its last-run file), unix "
	    "seconds; 0 never.", a, n,
	    f_last);
	per_agent(b, "keeper_next_run_timestamp_seconds", "gauge",
	    "When the agent is next due, unix seconds; 0 nothing scheduled.",
	    a, n, f_next);

	promtext_family(b, "keeper_agent_health", "gauge",
	    "1 for the agent's health verdict (as /_health), 0 for the "
	    "others.");
	l[1].name = "health";
	for (size_t i = 0; i < n; i++) {
		verdict = a[i].paused ? "paused" :
		    status_health_name(a[i].health);
		l[0].value = a[i].name;
		for (size_t k = 0; k <= NHEALTHS; k++) {
			l[1].value = k < NHEALTHS ?
			    status_health_name(healths[k]) : "paused";
			promtext_sample(b, "keeper_agent_health", l, 2,
			    strcmp(l[1].value, verdict) == 0);
		}
	}

	per_agent(b, "keeper_missed_fires_total", "counter",
	    "Scheduled fires that passed without a run (the agent was "
	    "running, or keeper was down, and catch-up skipped them).", a, n,
	    f_missed);
	per_agent(b, "keeper_commits_total", "counter",
	    "Commits keeper made for the agent's runs.", a, n, f_commits);

	promtext_family(b, "keeper_llm_tokens_total", "counter",
	    "LLM tokens the agent's runs used, by kind.");
	l[1].name = "kind";
	for (size_t i = 0; i < n; i++) {
		l[0].value = a[i].name;
		l[1].value = "prompt";
		promtext_sample(b, "keeper_llm_tokens_total", l, 2,
		    (double)a[i].tokens_prompt);
		l[1].value = "completion";
		promtext_sample(b, "keeper_llm_tokens_total", l, 2,
		    (double)a[i].tokens_completion);
	}

	crew_gauge(b, "keeper_gate_slots", "Runs the crew may have at once "
	    "(#+CONCURRENCY:); 0 without a gate.", c->gate_slots);
	crew_gauge(b, "keeper_gate_slots_used", "Gate slots held by runs now.",
	    c->gate_used);
	crew_gauge(b, "keeper_gate_waiting", "Ticks queued at the gate for a "
	    "slot.", (double)c->gate_waiting);
	crew_gauge(b, "keeper_active", "1 when this keeper runs the crew, 0 "
	    "when it stands by.", c->active != 0);
	crew_gauge(b, "keeper_start_time_seconds", "When this keeper started, "
	    "unix seconds.", secs(c->boot_ms));

	promtext_family(b, "keeper_build_info", "gauge",
	    "Always 1; the version is in the label.");
	l[0].name = "version";
	l[0].value = c->version ? c->version : "unknown";
	promtext_sample(b, "keeper_build_info", l, 1, 1);
}
