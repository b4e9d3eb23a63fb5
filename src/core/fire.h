/*
 * fire (prefix fire_): the pure decision of a calendar member's fires,
 * SPEC §5a. No clock is read: now, the cursor and the zone come in.
 *
 * A fire has a base, the instant the schedule names (cal_next()), and is
 * due at base + JITTER. The cursor is the base of the newest fire already
 * handled, run or recorded as missed; it is kept in the data directory
 * (keeper-last-fire-NAME), so nothing at or before it ever fires again:
 * not after a restart, not after the clock is set back.
 *
 * Given the cursor and now, the fires due (cursor < base, due <= now):
 *
 * - none: nothing to do; next is the first fire after now.
 * - the newest is the one the timer was armed for (armed_base) and it is
 *   not held: it runs now, trigger `schedule`.
 * - otherwise they were missed (keeper was down, the previous run was
 *   still going, the clock was stepped forward): the newest runs once,
 *   trigger `catch-up`, if it is no older than the catch-up window
 *   (0: never), not before hold_until_ms (boot + BOOT-GRACE), and the
 *   member is not paused. Every other one is missed: a history row each.
 *
 * Paused, every due fire is missed (a pause's fires are never caught up).
 *
 * Ownership: plain values; missed points into the caller's array.
 */
#ifndef KEEPER_FIRE_H
#define KEEPER_FIRE_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

#define FIRE_NONE	CAL_NONE	/* no such fire */
/* History rows a plan records at most: the newest are kept, the rest are
 * only counted (a minutely line down for a year would be 525,600). */
#define FIRE_MISSED_MAX	1440

struct fire_in {
	const struct cal_sched	*sched;
	struct cal_zone		*zone;
	int64_t		 jitter_ms;	/* cal_jitter_ms()'s offset */
	int64_t		 cursor_ms;	/* newest base handled */
	int64_t		 now_ms;	/* the wall clock, unix ms */
	int64_t		 catch_up_ms;	/* window; 0 never; INT64_MAX all */
	int64_t		 hold_until_ms;	/* no catch-up before; 0 none */
	int64_t		 armed_base_ms;	/* the timer's fire, or FIRE_NONE */
	int		 paused;
};

struct fire_plan {
	/* The fire to run: its base and due time, FIRE_NONE when none;
	 * run_at_ms is when (now, or hold_until_ms when held). */
	int64_t		 run_base_ms, run_due_ms, run_at_ms;
	int		 catch_up;	/* trigger catch-up, else schedule */
	/* Missed fires' due times, oldest first: the newest
	 * FIRE_MISSED_MAX of nmissed_all. */
	int64_t		 missed[FIRE_MISSED_MAX];
	size_t		 nmissed;
	uint64_t	 nmissed_all;
	int64_t		 missed_cursor_ms; /* newest missed base, FIRE_NONE */
	/* The first fire after the ones above (after run_base_ms when one
	 * runs, else after the newest due): FIRE_NONE when there is none. */
	int64_t		 next_base_ms, next_due_ms;
};

/* The plan for in (see above). */
void	fire_plan(const struct fire_in *, struct fire_plan *);

/* The due time of the first fire after cursor_ms (for status and the
 * agenda without a plan); FIRE_NONE when none. *base_out may be NULL. */
int64_t	fire_next(const struct cal_sched *, struct cal_zone *,
	    int64_t jitter_ms, int64_t cursor_ms, int64_t *base_out);

#endif
