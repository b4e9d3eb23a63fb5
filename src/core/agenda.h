/*
 * agenda (prefix agenda_): every member's coming fires in time order, as
 * `keeper agenda --json` and GET /_agenda show them (SPEC §9, §10): a
 * calendar member's from its schedule (fire.h), an interval member's
 * projected from its next tick at base cadence. Pure: now and the zones
 * come in.
 *
 * Each entry is {"agent", "at" (unix ms), "local" (ISO 8601 in the
 * member's zone with its offset; an interval member's in the machine's),
 * "kind" ("calendar" or "interval"), "schedule" (as written), "paused"}.
 * Equal times keep manifest order. At most AGENDA_MAX entries: the
 * earliest (a crew of minutely lines would otherwise list millions).
 *
 * Ownership: sources are borrowed for the call; the document returned is
 * the caller's (json_decref()).
 */
#ifndef KEEPER_AGENDA_H
#define KEEPER_AGENDA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "calendar.h"

#define AGENDA_MAX	10000

struct agenda_src {
	const char		*name;
	const char		*schedule;	/* as written */
	int			 calendar;
	/* Calendar: the schedule, its zone, JITTER's offset and the cursor
	 * (fire.h); next_ms its next fire when known (0: from the cursor,
	 * the first due after now). */
	const struct cal_sched	*sched;
	struct cal_zone		*zone;
	int64_t			 jitter_ms;
	int64_t			 cursor_ms;
	/* Interval: the next tick (0: now) and the base cadence. */
	int64_t			 next_ms;
	int64_t			 base_ms;
	/* A pause holds from now until paused_until_ms (0: until resumed). */
	int			 paused;
	int64_t			 paused_until_ms;
};

/* The fires in [now_ms, until_ms] (a fire already due and not yet run is
 * listed at its time); machine is the zone for interval members. */
json_t	*agenda_json(const struct agenda_src *, size_t n,
	    struct cal_zone *machine, int64_t now_ms, int64_t until_ms);

/* ISO 8601 with the offset of z at t_ms ("2026-03-29T03:00:00+02:00")
 * into buf (at least 32 bytes). */
void	 agenda_local(struct cal_zone *z, int64_t t_ms, char *buf, size_t len);

#endif
