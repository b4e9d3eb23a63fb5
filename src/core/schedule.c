/*
 * sched: delay arithmetic (SPEC §5), pure and overflow-safe.
 */
#include "schedule.h"

#define SCHED_MAX	(INT64_MAX / 4)

static int64_t
clamp(int64_t v)
{
	if (v < 0)
		return 0;
	if (v > SCHED_MAX)
		return SCHED_MAX;
	return v;
}

int64_t
sched_base(const struct sched_params *p)
{
	return clamp(p->continuous ? p->breather_ms : p->interval_ms);
}

int64_t
sched_first_delay(const struct sched_params *p, int64_t now_ms,
    int64_t last_run_ms, size_t index)
{
	int64_t base = sched_base(p), grace = clamp(p->boot_grace_ms);
	int64_t wait = 0, stagger = clamp(p->stagger_ms), d;

	/* A last run in the future (clock stepped back) counts as just now. */
	if (last_run_ms != SCHED_NEVER) {
		int64_t elapsed = now_ms > last_run_ms ? now_ms - last_run_ms : 0;
		wait = elapsed >= base ? 0 : base - elapsed;
	}
	d = wait > grace ? wait : grace;
	if (stagger > 0 && index > 0) {
		if ((uint64_t)index > (uint64_t)(SCHED_MAX / stagger))
			return SCHED_MAX;
		d = clamp(d + (int64_t)index * stagger);
	}
	return d;
}

int64_t
sched_streak_delay(const struct sched_params *p, int streak)
{
	int64_t base = sched_base(p), cap = clamp(p->backoff_cap_ms);
	int64_t d = clamp(p->backoff_base_ms);

	if (streak <= 0)
		return base;
	/* BACKOFF-BASE * 2^(streak-1), saturating at the cap. */
	for (int i = 1; i < streak && d < cap; i++)
		d = d > SCHED_MAX / 2 ? SCHED_MAX : d * 2;
	if (d > cap)
		d = cap;
	return d > base ? d : base;
}

int64_t
sched_resume_delay(const struct sched_params *p, int64_t now_ms,
    int64_t last_run_ms, int streak)
{
	int64_t gap = sched_streak_delay(p, streak), elapsed;

	if (last_run_ms == SCHED_NEVER)
		return 0;
	/* A last run in the future (clock stepped back) counts as just now. */
	elapsed = now_ms > last_run_ms ? now_ms - last_run_ms : 0;
	return elapsed >= gap ? 0 : gap - elapsed;
}

int64_t
sched_next_delay(const struct sched_params *p, enum outcome o, int *streak)
{
	switch (o) {
	case OUTCOME_DONE:
		*streak = 0;
		return sched_base(p);
	case OUTCOME_NO_WORK:
		if (*streak < 1 << 20)
			(*streak)++;
		return sched_streak_delay(p, *streak);
	default:
		return sched_base(p);
	}
}

int64_t
sched_next_due(const struct sched_params *p, int64_t due_ms, int64_t now_ms,
    int64_t delay)
{
	int64_t next;

	delay = clamp(delay);
	if (!p->fixed || p->continuous || due_ms <= 0 || due_ms > now_ms)
		return now_ms > SCHED_MAX - delay ? SCHED_MAX : now_ms + delay;
	next = due_ms > SCHED_MAX - delay ? SCHED_MAX : due_ms + delay;
	return next > now_ms ? next : now_ms;
}
