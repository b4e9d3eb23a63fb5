/*
 * fire: see fire.h.
 */
#include <string.h>

#include "fire.h"

/* base + jitter, saturating (CAL_NONE stays CAL_NONE). */
static int64_t
due_of(int64_t base, int64_t jitter)
{
	if (base == CAL_NONE || base > CAL_NONE - jitter)
		return CAL_NONE;
	return base + jitter;
}

int64_t
fire_next(const struct cal_sched *s, struct cal_zone *z, int64_t jitter_ms,
    int64_t cursor_ms, int64_t *base_out)
{
	int64_t b = cal_next(s, z, cursor_ms);

	if (base_out != NULL)
		*base_out = b;
	return due_of(b, jitter_ms);
}

/* Add a missed due time, keeping the newest FIRE_MISSED_MAX in order. */
static void
add_missed(struct fire_plan *p, int64_t due)
{
	if (p->nmissed == FIRE_MISSED_MAX) {
		memmove(p->missed, p->missed + 1, (FIRE_MISSED_MAX - 1) *
		    sizeof(p->missed[0]));
		p->nmissed--;
	}
	p->missed[p->nmissed++] = due;
	p->nmissed_all++;
}

void
fire_plan(const struct fire_in *in, struct fire_plan *p)
{
	int64_t jitter = in->jitter_ms > 0 ? in->jitter_ms : 0;
	int64_t prev = FIRE_NONE, newest = FIRE_NONE, b, next;
	int held;

	p->run_base_ms = p->run_due_ms = p->run_at_ms = FIRE_NONE;
	p->catch_up = 0;
	p->nmissed = 0;
	p->nmissed_all = 0;
	p->missed_cursor_ms = FIRE_NONE;
	/* Walk the fires due now; all but the newest are missed. */
	b = cal_next(in->sched, in->zone, in->cursor_ms);
	while (b != CAL_NONE && due_of(b, jitter) <= in->now_ms) {
		if (newest != FIRE_NONE) {
			add_missed(p, due_of(newest, jitter));
			prev = newest;
		}
		newest = b;
		b = cal_next(in->sched, in->zone, b);
	}
	next = b;
	if (newest != FIRE_NONE) {
		int64_t due = due_of(newest, jitter);
		int on_time = newest == in->armed_base_ms;
		int in_window = in->catch_up_ms > 0 &&
		    in->now_ms - due <= in->catch_up_ms;

		held = in->hold_until_ms > in->now_ms;
		if (in->paused || (!on_time && !in_window)) {
			add_missed(p, due);
			prev = newest;
		} else {
			p->run_base_ms = newest;
			p->run_due_ms = due;
			p->catch_up = !on_time;
			p->run_at_ms = on_time || !held ? in->now_ms :
			    in->hold_until_ms;
		}
	}
	p->missed_cursor_ms = prev;
	p->next_base_ms = next;
	p->next_due_ms = due_of(next, jitter);
}
