/*
 * Helpers shared by the unit tests of calendar time (calendar, fire,
 * agenda): the units in milliseconds, a UTC instant from its fields, and
 * a zone that must open. Included after <cmocka.h>; static inline, so a
 * test that does not use one is not warned about it.
 */
#ifndef TESTCAL_H
#define TESTCAL_H

#include <stdint.h>
#include <time.h>

#include "calendar.h"

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/* Unix ms of y-mo-d h:mi UTC. */
static inline int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi };

	return (int64_t)timegm(&tm) * 1000;
}

static inline struct cal_zone *
zone(const char *name)
{
	char err[128] = "";
	struct cal_zone *z = cal_zone_open(name, err, sizeof err);

	if (z == NULL)
		fail_msg("zone %s: %s", name, err);
	return z;
}

#endif
