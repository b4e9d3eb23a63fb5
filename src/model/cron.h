/*
 * cron (prefix cron_): a cron expression as SPEC §5a defines it, parsed
 * into a set of bits per field. Pure: no clock, no zone, no allocation.
 *
 *   minute hour day-of-month month day-of-week
 *
 * Each field is `*`, a number, a name (months jan..dec, days sun..sat, in
 * any case), a range `a-b`, any of those with a step (`*\/15`, `1-30/5`,
 * and `5/15` meaning `5-max/15`), or a comma list of them. Day of week 7
 * is Sunday, as 0 is. `@hourly`, `@daily` (`@midnight`), `@weekly`,
 * `@monthly` and `@yearly` (`@annually`) stand for their five fields.
 *
 * The day rule is Vixie cron's: when both day fields are restricted, a
 * day matches if either does; when one is unrestricted, only the other
 * counts. A field is unrestricted when its text starts with `*`, as in
 * Vixie's parser, so `*\/2` in day-of-month leaves the rule to
 * day-of-week (crontab.guru documents the same quirk).
 *
 * Ownership: struct cron is a plain value, copied freely; the parser
 * writes only into the caller's struct and error buffer.
 */
#ifndef KEEPER_CRON_H
#define KEEPER_CRON_H

#include <stddef.h>
#include <stdint.h>

#define CRON_DOM_STAR	0x01	/* day-of-month text starts with '*' */
#define CRON_DOW_STAR	0x02	/* day-of-week text starts with '*' */

struct cron {
	uint64_t	minute;	/* bits 0-59 */
	uint32_t	hour;	/* bits 0-23 */
	uint32_t	dom;	/* bits 1-31 */
	uint16_t	month;	/* bits 1-12 */
	uint8_t		dow;	/* bits 0-6, Sunday 0 (7 is folded onto 0) */
	uint8_t		flags;	/* CRON_DOM_STAR, CRON_DOW_STAR */
};

/*
 * Parse expr into *c. 0 on success; -1 with one line in err (lower case,
 * no full stop; the crew loader prefixes `FILE:LINE: :SCHEDULE: `), e.g.
 * `field 2 (hour): 25 is out of range 0-23`. A day-of-month that no
 * month of the month field has (`0 0 30 2 *`) is an error too, as it
 * would never fire. *c is unspecified after a failure.
 */
int	cron_parse(struct cron *c, const char *expr, char *err, size_t errlen);

/*
 * Whether the day (mday 1-31, month 1-12, wday 0-6 with Sunday 0)
 * matches the day fields and the month, by the rule above.
 */
int	cron_day_matches(const struct cron *c, int mday, int month, int wday);

#endif
