/*
 * tally: what the HTTP plane keeps of finished ticks, beside the status
 * the workers hold: per agent the counters and histograms of /metrics
 * (SPEC §10) and the last day of the dashboard (timeline.h), and the
 * crew's gate use. web.c feeds it from DAEMON_TICK_DONE (worker_last())
 * and from its publishes (the gate), seeds the day from history once at
 * start (read on the thread pool), and renders from it at each publish:
 * nothing here reads SQLite, a clock or a worker.
 *
 * Counters start at zero with this keeper (Prometheus's rule for a
 * process's counters; rate() bridges a restart), and every agent's
 * series exist from the first publish. The day is seeded from history,
 * so a restart does not blank the dashboard.
 *
 * Loop thread only. Ownership: tally_new() allocates, tally_free()
 * releases; agents are kept by name, strings copied. Bodies returned are
 * the caller's to free.
 */
#ifndef KEEPER_TALLY_H
#define KEEPER_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "status.h"
#include "timeline.h"

struct tally;

/* A finished tick, as the daemon reports it (worker.h's worker_last()). */
struct tally_run {
	const char	*run_id;
	const char	*trigger;
	enum outcome	 outcome;
	int64_t		 scheduled_ms;
	int64_t		 started_ms;	/* 0: nothing ran */
	int64_t		 duration_ms;
	long		 tokens_prompt, tokens_completion;	/* -1 unknown */
	int		 committed;
	unsigned	 missed;	/* fires it recorded as missed */
	const char	*error;
	int		 in_gate;	/* its run held a gate slot */
};

struct tally	*tally_new(void);
void		 tally_free(struct tally *);

/* A tick of agent ended; now is the wall clock. */
void		 tally_tick(struct tally *, const char *agent,
		    const struct tally_run *, int64_t now_ms);
/* A run from history, for the dashboard's day only (no counter moves):
 * in_gate when it held a gate slot. */
void		 tally_seed(struct tally *, const char *agent,
		    const struct timeline_run *, int64_t started_ms,
		    int in_gate, int64_t now_ms);
/* The gate as the publish sees it. */
void		 tally_gate(struct tally *, int used, int waiting,
		    int64_t now_ms);
/* Moves whenever what tally_metrics() or tally_timeline() would give
 * changed by more than the clock. */
uint64_t	 tally_version(const struct tally *);

/* out[i] gets agent st[i]'s series: the counters kept here, the gauges
 * from its status (health as status_health() at now). Names borrowed
 * from st. */
void		 tally_metrics(struct tally *, const struct agent_status *st,
		    size_t n, struct metrics_agent *out, int64_t now_ms,
		    int64_t boot_ms, int64_t grace_ms);
/* Render every agent's part of /_timeline again: the redactor changed
 * (a reload's #+REDACT: lines). */
void		 tally_redo(struct tally *);
/*
 * GET /_timeline: {"now","slot_ms","slots","agents":{NAME:{"strip",
 * "spark"}...},"gate":{"slots","strip"}}, for the agents of st in their
 * order; gate_slots 0 (no gate) leaves "gate" null. Every string passes
 * through redact (may be NULL). Each agent's part is rendered again only
 * when it changed. Returns the body (malloc'd), its length in *len.
 */
char		*tally_timeline(struct tally *, const struct agent_status *st,
		    size_t n, int gate_slots, int64_t now_ms,
		    status_redact_fn redact, void *redact_arg, size_t *len);

#endif
