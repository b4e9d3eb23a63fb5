/*
 * sentinel: the runtime checking itself (keeper(1) HOUSEKEEPING). From
 * the housekeeping timer the daemon describes each worker and the gate as
 * plain facts; sentinel_check() (pure, time is an argument) lists what is
 * wrong:
 *
 *  - SENT_MISSED_TIMER: a worker idle and scheduled whose due time passed
 *    more than grace ago: its timer should have fired and did not.
 *    Repair: tick it now.
 *  - SENT_OVERDUE_RUN: a run past its deadline by more than grace that
 *    was not killed and reaped. Repair: kill its process group again.
 *  - SENT_LEAKED_SLOT: the gate counts more slots in use than workers
 *    hold (a slot held by nobody). Repair: give the difference back.
 *    SENT_LOST_SLOT is the converse (more holders than the count).
 *
 * The daemon repairs, logs (event=sentinel) and counts each finding in
 * struct sentinel_counts, which /_health shows.
 *
 * sentinel_fault() is a TEST-ONLY hook: $KEEPER_TEST_FAULT names faults
 * (comma-separated: skip-timer, no-reap, leak-slot) that the daemon
 * injects once each so integration tests can force each condition. It is
 * never set in production and documented as such.
 */
#ifndef KEEPER_SENTINEL_H
#define KEEPER_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

#define SENTINEL_GRACE_MS	2000

enum sentinel_kind {
	SENT_MISSED_TIMER,
	SENT_OVERDUE_RUN,
	SENT_LEAKED_SLOT,
	SENT_LOST_SLOT,
	SENT_NKINDS
};

struct sentinel_worker {
	int	 idle;		/* not running, not waiting at the gate */
	int64_t	 due_ms;	/* when its timer should fire, 0 none */
	int	 running;
	int64_t	 deadline_ms;	/* running: started + timeout, 0 none */
	int	 holds_slot;
};

struct sentinel_gate {
	int	 slots;		/* 0: no gate */
	int	 used;
};

struct sentinel_finding {
	enum sentinel_kind kind;
	size_t		 worker;	/* index, for the per-worker kinds */
	int		 slots;		/* for the slot kinds */
	int64_t		 late_ms;	/* how far past due/deadline */
};

struct sentinel_counts {
	uint64_t	 n[SENT_NKINDS];
	uint64_t	 checks;
};

/* Fills up to max findings, returns how many there are in all. */
size_t		 sentinel_check(const struct sentinel_worker *, size_t n,
		    const struct sentinel_gate *, int64_t now_ms,
		    int64_t grace_ms, struct sentinel_finding *, size_t max);
const char	*sentinel_kind_name(enum sentinel_kind);

/* TEST-ONLY: the faults to inject, as $KEEPER_TEST_FAULT names them (the
 * daemon passes its settings' value at start), and 1 once for a fault
 * named there, then 0. */
void		 sentinel_faults(const char *spec);
int		 sentinel_fault(const char *name);

#endif
