/*
 * schedule (prefix sched_): the pure delay arithmetic of SPEC §5. Named
 * schedule.h, not sched.h, so that -Isrc never shadows <sched.h>. No
 * clock is read here: the caller passes now and the last-run time, so
 * every edge is unit-testable.
 * All times are milliseconds; results are clamped to [0, INT64_MAX/4].
 */
#ifndef KEEPER_SCHEDULE_H
#define KEEPER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"

#define SCHED_NEVER	INT64_MIN	/* no last-run file: infinitely long ago */

struct sched_params {
	int64_t	interval_ms;
	int	continuous;
	int64_t	breather_ms;
	int64_t	boot_grace_ms;
	int64_t	stagger_ms;
	int64_t	backoff_base_ms;
	int64_t	backoff_cap_ms;
	int	fixed;		/* #+CADENCE: fixed */
};

/* INTERVAL, or BREATHER for a continuous member. */
int64_t	sched_base(const struct sched_params *);
/* First delay of worker index after boot:
 * max(BOOT-GRACE, base - (now - last_run)) + index * STAGGER. */
int64_t	sched_first_delay(const struct sched_params *, int64_t now_ms,
	    int64_t last_run_ms, size_t index);
/* The delay a no-work streak of streak calls for (SPEC §5): base when
 * it is 0, else max(base, min(BACKOFF-CAP, BACKOFF-BASE * 2^(streak-1))). */
int64_t	sched_streak_delay(const struct sched_params *, int streak);
/* First delay of a keeper that took the crew over (SPEC §12), from the
 * imported last run and no-work streak: what is left of
 * sched_streak_delay() since last_run_ms, 0 when it has passed (the tick
 * missed in the handover, caught up at once). No boot grace, no stagger. */
int64_t	sched_resume_delay(const struct sched_params *, int64_t now_ms,
	    int64_t last_run_ms, int streak);
/* Delay after a tick with outcome o; *streak is the no-work streak and is
 * updated (done resets it, no_work increments it). */
int64_t	sched_next_delay(const struct sched_params *, enum outcome o,
	    int *streak);
/*
 * When the next tick is due, delay (sched_next_delay()) after the tick
 * that was due at due_ms and ends at now_ms. SPEC §5: delay after the
 * tick's end, now_ms + delay. With #+CADENCE: fixed (an INTERVAL member,
 * not a continuous one, whose BREATHER is a pause after each run):
 * due_ms + delay, so the cadence does not drift by each tick's length;
 * now_ms when the tick overran that.
 */
int64_t	sched_next_due(const struct sched_params *, int64_t due_ms,
	    int64_t now_ms, int64_t delay);

#endif
