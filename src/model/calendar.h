/*
 * calendar (prefix cal_): time zones and calendar schedules, SPEC §5a. A
 * model module, as dur and cron are, so the crew loader can check zones
 * and schedules. Pure but for cal_zone_open_machine(), which reads
 * /etc/localtime to find the machine's zone when $TZ (handed in by the
 * caller, from settings.c) is unset: no clock or environment variable is
 * read, `after` is an argument.
 *
 * Zones come from ICU's C calendar API (ucal), not from glibc's TZ
 * switching: ICU takes the zone as an argument and each UCalendar is its
 * own object, where tzset() and localtime() read one process-wide TZ that
 * every thread shares. A member's zone is just a value here.
 *
 * The rules, the same for cron lines and org timestamps:
 *
 * - A schedule names local civil times (year, month, day, hour, minute)
 *   in its zone. Each is turned into an instant by ICU with
 *   UCAL_SKIPPED_WALL_TIME = UCAL_WALLTIME_NEXT_VALID and
 *   UCAL_REPEATED_WALL_TIME = UCAL_WALLTIME_FIRST: a local time that does
 *   not exist (clocks go forward) fires at the first instant after the
 *   gap; one that happens twice (clocks go back) fires at its first
 *   occurrence only. Civil times that land on the same instant (02:30
 *   and 03:00 on a spring-forward night) fire once. So no fire is lost
 *   and none is doubled; an hourly line fires at 02:00 summer time and
 *   then at 03:00 winter time on the night the clocks go back.
 * - Pacific/Apia skipped the whole of 2011-12-30: a daily 06:00 fired
 *   that day at the first instant after the gap, 2011-12-31 00:00 local,
 *   then at 06:00 on the 31st as usual (one fire per calendar day, none
 *   lost, none doubled); a daily 00:00 had its 30th and 31st on the one
 *   instant, so it fired once.
 * - A date without a time means 00:00.
 * - cron day-of-month 31 fires only in months that have a 31st (cron's
 *   rule); 29 in February only in leap years.
 * - Org repeaters step on the local calendar from the timestamp: fire k
 *   is the timestamp + k x N in civil fields, each resolved by the DST
 *   rule above, so nothing drifts. `+` and `++` both fire on that grid.
 *   `h` steps wall-clock hours (on the night clocks go back, the
 *   repeated hour is not fired twice). A month or year step that lands
 *   on a day the month lacks (Jan 31 + 1m, Feb 29 + 1y) is clamped to
 *   the month's last day, each fire counted from the timestamp, so Jan 31
 *   + 1m fires Feb 28, Mar 31, Apr 30.
 * - `.+N` is N after the last fire: the first fire is the timestamp;
 *   after that, cal_next() counts N from after_ms's local date (d/w/m/y,
 *   at the timestamp's time of day) or local time to the minute (h). The
 *   caller passes the last fire as after_ms.
 *
 * Ownership: a struct cal_zone is opened by cal_zone_open() and freed by
 * cal_zone_free(). It holds an ICU calendar and a small cache of offset
 * intervals, both changed by every call that takes it, so one zone may be
 * used by one thread at a time (open one per thread, or lock). A
 * struct cal_sched is a plain value with no pointers, copied freely.
 *
 * ICU carries its own copy of the zone rules (ucal_getTZDataVersion():
 * 2022e in Debian 12's ICU 72), older than the system's tzdata. Debian's
 * ICU first looks for newer rules in /usr/share/zoneinfo-icu/44/le/
 * (Debian 12 has no package that fills it; later releases' tzdata-icu
 * does), and ICU_TIMEZONE_FILES_DIR points it elsewhere.
 */
#ifndef KEEPER_CALENDAR_H
#define KEEPER_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "cron.h"

#define CAL_NONE	INT64_MAX	/* no fire after the given time */
#define CAL_TEXT_MAX	128		/* a cron line kept for cal_describe */

struct cal_zone;

/*
 * Open the IANA zone name ("Europe/Stockholm"); NULL is the machine's
 * zone with TZ unset (cal_zone_open_machine(NULL)). NULL with `unknown
 * time zone 'Mars/Olympus'` in err when ICU does not know the zone (ICU
 * itself would silently use GMT).
 */
struct cal_zone	*cal_zone_open(const char *name, char *err, size_t errlen);
/*
 * The machine's zone: tz is $TZ's value as settings.c read it (NULL when
 * unset), read as glibc reads it (a zone name, with or without a leading
 * ':', or a path into a zoneinfo directory; empty means UTC); unset, the
 * zone /etc/localtime names, else UTC. POSIX rule strings
 * ("CET-1CEST,M3.5.0,M10.5.0/3") are not zones and are refused.
 */
struct cal_zone	*cal_zone_open_machine(const char *tz, char *err,
		    size_t errlen);
/* 1 when name is a zone of the IANA database as ICU has it (the crew
 * loader's check; cheaper than opening it). */
int		 cal_zone_known(const char *name);
void		 cal_zone_free(struct cal_zone *);
/* The zone's name as given, or as found for the machine's zone. */
const char	*cal_zone_name(const struct cal_zone *);
/* UTC offset (standard + daylight) at the instant t_ms, in ms. */
int32_t		 cal_zone_offset_ms(struct cal_zone *, int64_t t_ms);

enum cal_repeat {
	CAL_REPEAT_NONE,	/* fires once */
	CAL_REPEAT_CUMULATE,	/* `+N`: on the grid from the timestamp */
	CAL_REPEAT_CATCH_UP,	/* `++N`: the same grid (see above) */
	CAL_REPEAT_RESTART,	/* `.+N`: N after the last fire */
};

/* An org timestamp as plain fields: the crew layer maps orgparse's
 * timestamp onto this, so this module does not depend on orgparse. */
struct cal_org {
	int		year, month, day;	/* month 1-12, day 1-31 */
	int		hour;	/* 0-23, or -1 for a date without a time */
	int		minute;	/* 0-59 (ignored when hour is -1) */
	enum cal_repeat	repeat;
	int		value;	/* N >= 1 of the repeater */
	char		unit;	/* 'h', 'd', 'w', 'm' (month) or 'y' */
};

enum cal_kind { CAL_CRON, CAL_ORG };

struct cal_sched {
	enum cal_kind	kind;
	struct cron	cron;
	struct cal_org	org;
	char		text[CAL_TEXT_MAX];	/* the cron line as written */
};

/* A schedule from a parsed cron line and its text (kept, cut to
 * CAL_TEXT_MAX - 1 bytes, for cal_describe's fallback). */
void	cal_sched_cron(struct cal_sched *, const struct cron *,
	    const char *text);
/* cron_parse() and cal_sched_cron() in one; errors as cron_parse(). */
int	cal_sched_parse_cron(struct cal_sched *, const char *expr, char *err,
	    size_t errlen);
/* A schedule from an org timestamp; -1 with a message in err when a
 * field is out of range (`2026-02-30 is not a date`). */
int	cal_sched_org(struct cal_sched *, const struct cal_org *, char *err,
	    size_t errlen);

/*
 * The first fire strictly after after_ms (unix ms) in zone z, in unix ms
 * (fires fall on whole minutes of local time, or on the instant a gap
 * ends); CAL_NONE when there is none (a one-shot timestamp already past,
 * or none before the year 9999).
 */
int64_t	cal_next(const struct cal_sched *, struct cal_zone *z,
	    int64_t after_ms);

/*
 * The schedule in words for the dashboard: `weekdays at 06:00`, `every
 * 15 minutes`, `every 2 days at 06:00 from 2026-12-05`, `once,
 * 2026-12-05 06:00`; followed by the zone's name when z is not NULL. A
 * cron line with no short phrase is given as written. Returns the length
 * the whole text needs, like snprintf.
 */
int	cal_describe(const struct cal_sched *, const struct cal_zone *z,
	    char *buf, size_t len);

/*
 * SPEC §5a's JITTER: a fixed offset in [0, max_ms) from a hash of the
 * crew's and the agent's names, the same on every machine and every run
 * (FNV-1a over the bytes, then a 64-bit finaliser); 0 when max_ms <= 0.
 */
int64_t	cal_jitter_ms(const char *crew, const char *agent, int64_t max_ms);

#endif
