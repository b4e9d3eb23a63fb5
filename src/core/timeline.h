/*
 * timeline: the dashboard's last day (keeper(1) HTTP, GET /_timeline), as
 * pure data kept from the runs the daemon reports: per agent, a strip of
 * the last 24 hours in 96 slots of 15 minutes, each counting the ticks
 * that began in it by outcome and keeping the one run a person hovering
 * over it is shown (the newest failure, else the newest run), and the
 * durations of its last runs for a sparkline; for the crew, the same
 * slots' use of the concurrency gate.
 *
 * Slots, not runs: an agent that ticks every second would otherwise keep
 * 86,400 of them, and a 390 px phone shows 96 marks as well as it shows
 * a thousand. A slot exists only once something happened in it, so an
 * hourly agent keeps 24, and memory is bounded by the window whatever
 * the cadence. Time is passed in: nothing here reads a clock.
 *
 * Ownership: a struct timeline is caller-allocated and zero-initialised;
 * it owns its slots and their error strings (timeline_release). The
 * gate's strip is plain data. JSON builders return new references.
 */
#ifndef KEEPER_TIMELINE_H
#define KEEPER_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "outcome.h"

#define TIMELINE_SLOTS		96
#define TIMELINE_SLOT_MS	(15 * 60 * 1000LL)
#define TIMELINE_WINDOW_MS	(TIMELINE_SLOTS * TIMELINE_SLOT_MS)
#define TIMELINE_SPARK		48	/* durations kept for the sparkline */
#define TIMELINE_ERROR_MAX	300	/* bytes of a shown run's error */
#define TIMELINE_RECENT		10	/* runs listed when an agent is opened */

/* One finished tick, as history has it. */
struct timeline_run {
	const char	*run_id;	/* or NULL */
	enum outcome	 outcome;
	int64_t		 at_ms;		/* started, else when it was due */
	int64_t		 duration_ms;	/* -1: nothing ran */
	const char	*error;		/* or NULL */
	const char	*trigger;	/* "schedule", ...; or NULL */
};

/* One of an agent's last runs, as the dashboard lists them. */
struct timeline_recent {
	char		 run[24], trigger[16];
	enum outcome	 outcome;
	int64_t		 at_ms, duration_ms;
	char		*error;
};

struct timeline_slot {
	int64_t		 index;		/* at_ms / TIMELINE_SLOT_MS */
	uint32_t	 n[OUTCOME_INTERRUPTED + 1];
	/* the run shown for the slot */
	enum outcome	 shown;
	int64_t		 shown_at_ms, shown_duration_ms;
	char		 shown_run[24];
	char		*shown_error;
};

struct timeline {
	struct timeline_slot *v;	/* ascending index, at most SLOTS */
	size_t		 n, cap;
	int64_t		 spark[TIMELINE_SPARK];	/* ms, a ring */
	size_t		 nspark, spark_next;
	struct timeline_recent recent[TIMELINE_RECENT];	/* a ring */
	size_t		 nrecent, recent_next;
};

/* Count run in its slot; slots that left the window at now go. */
void	 timeline_add(struct timeline *, const struct timeline_run *,
	    int64_t now_ms);
/* Drop the slots that left the window at now; 1 when any did. */
int	 timeline_trim(struct timeline *, int64_t now_ms);
void	 timeline_release(struct timeline *);
/* {"strip":[{"t","n":{OUTCOME:count...},"run":{"id","outcome","at",
 * "duration_ms","error"}}...],"spark":[ms...]}, oldest first, and
 * "recent":[{"id","trigger","at","outcome","duration_ms","error"}...],
 * the last TIMELINE_RECENT runs with a history row, newest first. */
json_t	*timeline_json(const struct timeline *);

/* The crew's gate, slot by slot: the share of slot time its runs held,
 * and the most slots used and ticks waiting seen at once. */
struct timeline_gate {
	struct {
		int64_t	 index;		/* -1: nothing yet */
		int64_t	 busy_ms;	/* slot-milliseconds held */
		int	 peak_used, peak_waiting;
	} v[TIMELINE_SLOTS];		/* a ring by index */
};

void	 timeline_gate_init(struct timeline_gate *);
/* A run held a slot from started for duration. */
void	 timeline_gate_run(struct timeline_gate *, int64_t started_ms,
	    int64_t duration_ms, int64_t now_ms);
/* The gate as it is at now; 1 when a peak rose. */
int	 timeline_gate_sample(struct timeline_gate *, int used, int waiting,
	    int64_t now_ms);
/* {"slots":N,"strip":[{"t","busy_ms","peak_used","peak_waiting"}...]},
 * the slots of the window at now that saw anything, oldest first; the
 * share of the gate used is busy_ms / (N x TIMELINE_SLOT_MS). */
json_t	*timeline_gate_json(const struct timeline_gate *, int slots,
	    int64_t now_ms);

#endif
