/*
 * metrics: keeper's Prometheus series (SPEC §10, GET /metrics) as a pure
 * function of plain structs the daemon fills from what it already keeps.
 * Every series exists from boot: each agent gets every outcome, trigger,
 * health and token kind, at zero until something happens, and the label
 * values come from those fixed lists and the crew's member names, so
 * nothing is unbounded.
 *
 * The series (seconds and _total as Prometheus names them):
 *
 *   keeper_runs_total{agent,outcome}		counter
 *   keeper_ticks_total{agent,trigger}		counter, what started each
 *   keeper_run_duration_seconds{agent}		histogram
 *   keeper_start_lateness_seconds{agent}	histogram, start - due
 *   keeper_last_run_timestamp_seconds{agent}	gauge, 0 never
 *   keeper_next_run_timestamp_seconds{agent}	gauge, 0 none due
 *   keeper_agent_health{agent,health}		gauge, 1 for the verdict
 *   keeper_missed_fires_total{agent}		counter
 *   keeper_commits_total{agent}		counter
 *   keeper_llm_tokens_total{agent,kind}	counter, prompt|completion
 *   keeper_gate_slots				gauge, CONCURRENCY
 *   keeper_gate_slots_used			gauge
 *   keeper_gate_waiting			gauge, ticks queued
 *   keeper_active				gauge, 1 this keeper runs the
 *						crew (§12), 0 standby
 *   keeper_start_time_seconds			gauge
 *   keeper_build_info{version}			gauge, always 1
 *
 * Both histograms use one set of buckets, METRICS_BUCKETS: 10 ms, 50 ms,
 * 250 ms, 1 s, 5 s, 15 s, 1 min, 5 min, 15 min, 1 h. Steps of about x4
 * keep a 10 ms shell run and a 15-minute LLM run (the default #+TIMEOUT:)
 * each a bucket of their own and any quantile within a factor of two,
 * in 13 series per agent rather than the 20-odd of finer steps; the same
 * steps fit lateness, which is milliseconds of loop jitter, the 30 s
 * stagger, minutes of a full gate and hours of a catch-up.
 *
 * Ownership: the structs are caller-owned values (names borrowed for the
 * call); metrics_render() appends to a caller-owned struct sb.
 */
#ifndef KEEPER_METRICS_H
#define KEEPER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"
#include "status.h"
#include "util.h"

#define METRICS_NBUCKETS	10
extern const double metrics_buckets[METRICS_NBUCKETS];

struct metrics_hist {
	uint64_t	 counts[METRICS_NBUCKETS + 1]; /* last: over 1 h */
	double		 sum;			/* seconds */
};

/* Count one observation, in seconds (a negative one counts as 0). */
void	 metrics_hist_observe(struct metrics_hist *, double seconds);
uint64_t metrics_hist_count(const struct metrics_hist *);

/* What starts a tick, as the runs table records it (SPEC §8). */
enum metrics_trigger {
	METRICS_TRIGGER_SCHEDULE = 0,
	METRICS_TRIGGER_RUN_ONCE,
	METRICS_TRIGGER_CATCH_UP,
	METRICS_TRIGGER_RETRY,
	METRICS_NTRIGGERS
};
/* "schedule", "run-once", "catch-up", "retry"; -1 for anything else. */
int	 metrics_trigger_parse(const char *);

struct metrics_agent {
	const char	*name;
	uint64_t	 runs[OUTCOME_INTERRUPTED + 1];	/* by enum outcome */
	uint64_t	 ticks[METRICS_NTRIGGERS];
	struct metrics_hist duration;
	struct metrics_hist lateness;
	int64_t		 last_run_ms;	/* unix ms its last tick began, 0 */
	int64_t		 next_run_ms;	/* unix ms of its next fire, 0 */
	enum health	 health;
	int		 paused;	/* reported as health "paused" */
	uint64_t	 missed_fires;
	uint64_t	 commits;
	uint64_t	 tokens_prompt;
	uint64_t	 tokens_completion;
};

struct metrics_crew {
	int		 gate_slots;	/* 0: no gate (singleton) */
	int		 gate_used;
	size_t		 gate_waiting;
	int		 active;
	int64_t		 boot_ms;	/* unix ms keeper started */
	const char	*version;	/* NULL: "unknown" */
};

/* The whole exposition, every family once, agents in the order given. */
void	 metrics_render(struct sb *, const struct metrics_agent *, size_t n,
	    const struct metrics_crew *);

#endif
