/*
 * firing (prefix firing_): the effects around a calendar member's fires
 * (SPEC §5a), for its worker: the zone, the cursor kept in
 * DATA/keeper-last-fire-NAME (through the daemon's group commit), the
 * `missed` history rows, and fire.h's plan over them. The decision itself
 * is fire.c's; this is the edge that reads and writes.
 *
 * Calendar fires follow the wall clock: the worker arms its libuv timer
 * (monotonic) for the wall-clock delay to the next fire, and re-plans
 * when the timer fires, when a run ends, and when the daemon's clock
 * watch (clockwatch.h) says the realtime clock was set. A timer that
 * fires before its fire is due on the wall clock (the clock was set
 * back) only re-arms.
 *
 * Zones are shared: struct firing_zones caches each zone opened once by
 * name (10,000 members in three zones hold three ICU calendars). Both are
 * used on the loop thread only.
 *
 * Ownership: firing_zones_new() / firing_zones_free(); a zone returned by
 * firing_zone() is the cache's. struct firing is embedded in its worker:
 * firing_bind() fills it, firing_release() frees what it holds.
 */
#ifndef KEEPER_FIRING_H
#define KEEPER_FIRING_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "crew.h"
#include "fire.h"

struct firing_zones;
struct statesync;
struct store;

/* tz: $TZ as settings.c read it (NULL unset), the machine's zone. */
struct firing_zones *firing_zones_new(const char *tz);
void	 firing_zones_free(struct firing_zones *);
/* The zone name (NULL: the machine's), opened once; NULL with err. */
struct cal_zone *firing_zone(struct firing_zones *, const char *name,
	    char *err, size_t errlen);

struct firing {
	int		 on;		/* the member is on the calendar */
	struct cal_sched sched;
	struct cal_zone	*zone;		/* the cache's */
	char		 zone_name[64];	/* the member's, "" the machine's */
	int64_t		 jitter_ms;	/* cal_jitter_ms() of JITTER */
	uint64_t	 sig;		/* of schedule, zone and jitter */
	int64_t		 catch_up_ms;
	char		*cursor_path;
	int64_t		 cursor_ms;	/* newest base handled */
	int		 loaded;	/* cursor_ms read (or started) */
	int64_t		 armed_base_ms;	/* the timer's fire, FIRE_NONE */
	int64_t		 hold_until_ms;	/* boot + BOOT-GRACE */
	/* The fire the tick about to start runs (firing_take()). */
	int64_t		 run_base_ms, run_due_ms;
	int		 run_catch_up;
};

/* Who the rows and files are for. */
struct firing_ctx {
	const char		*data;		/* data directory */
	const char		*name;		/* the member */
	int			 singleton;	/* keeper-last-fire */
	struct firing_zones	*zones;
	struct statesync	*sync;		/* NULL: read only (a command
						   without a daemon) */
	struct store		*store;		/* or NULL */
	long			 pid;		/* the daemon's, in rows */
};

/*
 * Bind f to member m of crew c (again after each reload: 1 when the
 * schedule, zone or jitter changed, so the worker re-plans). A changed
 * schedule starts its calendar at now: the fires the old one would have
 * had are nobody's (the same at boot, by the cursor file's signature).
 * A member that is not on the calendar turns f off. An unknown zone
 * (checked by the loader, so only a zone ICU lost) leaves f off, with
 * err.
 */
int	 firing_bind(struct firing *, const struct firing_ctx *,
	    const struct crew *, const struct crew_member *, int64_t now_ms,
	    char *err, size_t errlen);
/*
 * Plan at now (fire.h) and carry out what needs no run: the missed
 * fires get their history rows and the cursor moves past them. Reads the
 * cursor first if it has not been (a member with none starts its
 * calendar now, and keeps that). out is the plan; returns the count of
 * missed fires recorded.
 */
unsigned firing_plan(struct firing *, const struct firing_ctx *,
	    int64_t now_ms, int paused, struct fire_plan *out);
/* The tick that runs plan's fire is starting: the cursor moves to it,
 * kept before the run so a restart never runs it again. */
void	 firing_take(struct firing *, const struct firing_ctx *,
	    const struct fire_plan *);
/* The next fire's due time after the cursor, without planning (status,
 * the agenda); FIRE_NONE when none. */
int64_t	 firing_next_due(struct firing *, const struct firing_ctx *,
	    int64_t now_ms);
void	 firing_release(struct firing *);

#endif
