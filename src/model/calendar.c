/*
 * calendar: zones through ICU and the next fire of a cron line or an org
 * timestamp (calendar.h has the rules).
 *
 * Searching is done in local civil minutes (minutes since 1970-01-01
 * 00:00 local, no zone in them), which are plain integers: the cron
 * fields are bit masks tested there, and org repeaters add days, months
 * or hours there. Only the two ends cross a zone: the local minute of
 * `after`, and each candidate's instant.
 *
 * Those crossings are where the time goes, so the zone keeps a few
 * intervals of constant UTC offset that ICU reported, with the offsets
 * either side. A local time well inside one (not in the hours a
 * transition makes ambiguous or skips) is converted by subtracting the
 * offset; only local times next to a transition go through ICU's own
 * wall-time resolution (UCAL_WALLTIME_NEXT_VALID and UCAL_WALLTIME_FIRST),
 * so ICU stays the one authority on gaps and repeats.
 */
#include "calendar.h"
#include "table.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unicode/ucal.h>
#include <unicode/utypes.h>

#define MIN_MS		60000LL
#define DAY_MIN		1440LL
#define ZONE_NAME_MAX	64
#define SPANS		8	/* offset intervals a zone remembers */
#define SEARCH_YEARS	9	/* cron: Feb 29 may be 8 years away (2096-2104) */
#define YEAR_MAX	9999
/* Local minutes of 0001-01-01 and 10000-01-01: the years searched. */
#define LOCAL_MIN	(-719162LL * DAY_MIN)
#define LOCAL_END	(2932897LL * DAY_MIN)

/* [lo, hi) in unix ms has UTC offset off; off_prev holds just before lo,
 * off_next from hi. INT64_MIN / INT64_MAX: no transition that way. */
struct span {
	int64_t	lo, hi;
	int32_t	off, off_prev, off_next;
};

struct cal_zone {
	UCalendar	*cal;
	char		 name[ZONE_NAME_MAX];
	struct span	 span[SPANS];
	int		 nspan;
	int		 next;	/* the slot the next new span takes */
	int		 hit;	/* the span used last, tried first */
};

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- civil arithmetic, proleptic Gregorian ---- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int dim[13] = {
		0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};

	return m == 2 && is_leap(y) ? 29 : dim[m];
}

/* Days since 1970-01-01 (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
	return (int)(days - floor_div(days + 4, 7) * 7 + 4);
}

struct civil {
	int	y, m, d, h, mi;
};

static void
civil_from_minute(int64_t lm, struct civil *c)
{
	int64_t days = floor_div(lm, DAY_MIN);
	int mod = (int)(lm - days * DAY_MIN);

	civil_from_days(days, &c->y, &c->m, &c->d);
	c->h = mod / 60;
	c->mi = mod % 60;
}

static int64_t
minute_from_civil(int y, int m, int d, int h, int mi)
{
	return days_from_civil(y, m, d) * DAY_MIN + h * 60 + mi;
}

/* ---- zones ---- */

static int64_t
sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static int32_t
icu_offset(struct cal_zone *z, int64_t t)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t off;

	ucal_setMillis(z->cal, (UDate)t, &st);
	off = ucal_get(z->cal, UCAL_ZONE_OFFSET, &st);
	off += ucal_get(z->cal, UCAL_DST_OFFSET, &st);
	return U_FAILURE(st) ? 0 : off;
}

/* Ask ICU for the interval of constant offset around t and keep it. */
static const struct span *
learn_span(struct cal_zone *z, int64_t t)
{
	UErrorCode st = U_ZERO_ERROR;
	struct span s;
	UDate d;
	int i;

	s.off = icu_offset(z, t);
	s.lo = ucal_getTimeZoneTransitionDate(z->cal,
	    UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE, &d, &st) && U_SUCCESS(st) ?
	    (int64_t)d : INT64_MIN;
	st = U_ZERO_ERROR;
	s.hi = ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_NEXT,
	    &d, &st) && U_SUCCESS(st) ? (int64_t)d : INT64_MAX;
	s.off_prev = s.lo == INT64_MIN ? s.off : icu_offset(z, s.lo - 1);
	s.off_next = s.hi == INT64_MAX ? s.off : icu_offset(z, s.hi);
	i = z->next;
	z->span[i] = s;
	z->next = (i + 1) % SPANS;
	if (z->nspan < SPANS)
		z->nspan++;
	z->hit = i;
	return &z->span[i];
}

static const struct span *
span_at(struct cal_zone *z, int64_t t)
{
	const struct span *s = &z->span[z->hit];

	if (z->nspan && t >= s->lo && t < s->hi)
		return s;
	for (int i = 0; i < z->nspan; i++)
		if (t >= z->span[i].lo && t < z->span[i].hi) {
			z->hit = i;
			return &z->span[i];
		}
	return learn_span(z, t);
}

int32_t
cal_zone_offset_ms(struct cal_zone *z, int64_t t)
{
	return span_at(z, t)->off;
}

/*
 * Whether the local ms time l belongs to s alone: past the local times
 * the transition at lo skips or repeats, and before those of hi's.
 */
static int
span_owns_local(const struct span *s, int64_t l)
{
	int64_t from = sat_add(s->lo, s->off > s->off_prev ? s->off :
	    s->off_prev);
	int64_t to = sat_add(s->hi, s->off < s->off_next ? s->off :
	    s->off_next);

	return (s->lo == INT64_MIN || l >= from) &&
	    (s->hi == INT64_MAX || l < to);
}

/* Local civil minute of the instant t. */
static int64_t
local_minute(struct cal_zone *z, int64_t t)
{
	return floor_div(sat_add(t, span_at(z, t)->off), MIN_MS);
}

/* The instant of local minute lm, by the DST rules (calendar.h). */
static int64_t
local_to_utc(struct cal_zone *z, int64_t lm)
{
	int64_t l = lm * MIN_MS;
	const struct span *s = &z->span[z->hit];
	UErrorCode st = U_ZERO_ERROR;
	struct civil c;
	UDate d;

	if (z->nspan && span_owns_local(s, l))
		return l - s->off;
	for (int i = 0; i < z->nspan; i++)
		if (span_owns_local(&z->span[i], l)) {
			z->hit = i;
			return l - z->span[i].off;
		}
	/* Not seen yet: guess with the last offset, then with the offset
	 * found there (a guess may land across a transition). */
	for (int tries = 0; tries < 2; tries++) {
		s = span_at(z, l - (z->nspan ? z->span[z->hit].off : 0));
		if (span_owns_local(s, l))
			return l - s->off;
	}
	/* Next to a transition: ICU resolves the gap or the repeat. */
	civil_from_minute(lm, &c);
	ucal_clear(z->cal);
	ucal_setDateTime(z->cal, c.y, c.m - 1, c.d, c.h, c.mi, 0, &st);
	d = ucal_getMillis(z->cal, &st);
	return U_FAILURE(st) ? CAL_NONE : (int64_t)d;
}

static int
ascii_to_uchar(const char *s, UChar *out, size_t cap)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if ((unsigned char)s[i] > 0x7e || (unsigned char)s[i] <= ' ' ||
		    i + 1 >= cap)
			return -1;
		out[i] = (UChar)s[i];
	}
	out[i] = 0;
	return i ? 0 : -1;
}

/* The zone name in a path into a zoneinfo directory, else -1. */
static int
name_in_path(const char *path, char *out, size_t cap)
{
	const char *p = strstr(path, "/zoneinfo/");

	if (!p)
		return -1;
	p += strlen("/zoneinfo/");
	/* tzdata's posix/ and right/ trees hold the same zones. */
	if (strncmp(p, "posix/", 6) == 0 || strncmp(p, "right/", 6) == 0)
		p += 6;
	if (strlen(p) + 1 > cap)
		return -1;
	strcpy(out, p);
	return 0;
}

/* A zoneinfo path, or a link to one (one level, then all the way). */
static int
name_from_file(const char *path, char *out, size_t cap)
{
	char link[PATH_MAX], *real;
	ssize_t n;
	int rc;

	if (name_in_path(path, out, cap) == 0)
		return 0;
	n = readlink(path, link, sizeof link - 1);
	if (n > 0) {
		link[n] = '\0';
		if (name_in_path(link, out, cap) == 0)
			return 0;
	}
	if ((real = realpath(path, NULL)) == NULL)
		return -1;
	rc = name_in_path(real, out, cap);
	free(real);
	return rc;
}

/*
 * The machine's zone name as glibc finds it: tz ($TZ, which settings.c
 * read), else /etc/localtime
 * (a link into the zoneinfo tree on Debian; a copy is named by
 * /etc/timezone, else ICU's own search of the tree), else UTC.
 */
static void
machine_zone(const char *tz, char *out, size_t cap)
{
	UErrorCode st = U_ZERO_ERROR;
	UChar host[ZONE_NAME_MAX];
	FILE *f;
	int32_t n;

	if (tz) {
		if (*tz == ':')
			tz++;
		if (*tz == '\0')
			snprintf(out, cap, "UTC");
		else if (*tz != '/' || name_from_file(tz, out, cap) < 0)
			snprintf(out, cap, "%s", tz);
		return;
	}
	if (access("/etc/localtime", F_OK) != 0) {
		snprintf(out, cap, "UTC");
		return;
	}
	if (name_from_file("/etc/localtime", out, cap) == 0)
		return;
	if ((f = fopen("/etc/timezone", "r")) != NULL) {
		int ok = fgets(out, (int)cap, f) != NULL;

		fclose(f);
		out[strcspn(out, " \t\r\n")] = '\0';
		if (ok && *out)
			return;
	}
	n = ucal_getHostTimeZone(host, ZONE_NAME_MAX, &st);
	if (U_SUCCESS(st) && n > 0 && n < ZONE_NAME_MAX && (size_t)n < cap) {
		for (int32_t i = 0; i < n; i++)
			out[i] = (char)host[i];
		out[n] = '\0';
		return;
	}
	snprintf(out, cap, "UTC");
}

struct cal_zone *
cal_zone_open_machine(const char *tz, char *err, size_t errlen)
{
	char found[ZONE_NAME_MAX * 2];

	machine_zone(tz, found, sizeof found);
	return cal_zone_open(found, err, errlen);
}

int
cal_zone_known(const char *name)
{
	UChar id[ZONE_NAME_MAX], canon[ZONE_NAME_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UBool system = 0;

	if (strlen(name) < ZONE_NAME_MAX &&
	    ascii_to_uchar(name, id, ZONE_NAME_MAX) == 0)
		ucal_getCanonicalTimeZoneID(id, -1, canon, ZONE_NAME_MAX,
		    &system, &st);
	return U_SUCCESS(st) && system;
}

struct cal_zone *
cal_zone_open(const char *name, char *err, size_t errlen)
{
	UChar id[ZONE_NAME_MAX], canon[ZONE_NAME_MAX];
	UErrorCode st = U_ZERO_ERROR;
	UBool system = 0;
	struct cal_zone *z;

	if (name == NULL)
		return cal_zone_open_machine(NULL, err, errlen);
	/*
	 * ucal_open() maps an id it does not know to GMT without a word
	 * (Etc/Unknown in ICU's terms), so ask first whether the id is one
	 * of the zone database's. Custom ids such as GMT+05:00 are ICU's,
	 * not IANA's, and are refused the same way.
	 */
	if (strlen(name) < ZONE_NAME_MAX &&
	    ascii_to_uchar(name, id, ZONE_NAME_MAX) == 0)
		ucal_getCanonicalTimeZoneID(id, -1, canon, ZONE_NAME_MAX,
		    &system, &st);
	if (U_FAILURE(st) || !system) {
		set_err(err, errlen, "unknown time zone '%.*s'",
		    ZONE_NAME_MAX * 2, name);
		return NULL;
	}
	if ((z = calloc(1, sizeof *z)) == NULL) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	z->cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		set_err(err, errlen, "time zone '%s': %s", name,
		    u_errorName(st));
		free(z);
		return NULL;
	}
	ucal_setAttribute(z->cal, UCAL_LENIENT, 1);
	ucal_setAttribute(z->cal, UCAL_SKIPPED_WALL_TIME,
	    UCAL_WALLTIME_NEXT_VALID);
	ucal_setAttribute(z->cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	/* Proleptic Gregorian, as the civil arithmetic above. */
	ucal_setGregorianChange(z->cal, -184303902528000000.0, &st);
	/* Shorter than ZONE_NAME_MAX: checked before ICU was asked. */
	memcpy(z->name, name, strlen(name) + 1);
	return z;
}

void
cal_zone_free(struct cal_zone *z)
{
	if (z == NULL)
		return;
	ucal_close(z->cal);
	free(z);
}

const char *
cal_zone_name(const struct cal_zone *z)
{
	return z->name;
}

/* ---- schedules ---- */

void
cal_sched_cron(struct cal_sched *s, const struct cron *c, const char *text)
{
	memset(s, 0, sizeof *s);
	s->kind = CAL_CRON;
	s->cron = *c;
	snprintf(s->text, sizeof s->text, "%s", text ? text : "");
}

int
cal_sched_parse_cron(struct cal_sched *s, const char *expr, char *err,
    size_t errlen)
{
	struct cron c;

	size_t n;

	if (cron_parse(&c, expr, err, errlen) < 0)
		return -1;
	while (*expr == ' ' || *expr == '\t')
		expr++;
	cal_sched_cron(s, &c, expr);
	n = strlen(s->text);
	while (n && (s->text[n - 1] == ' ' || s->text[n - 1] == '\t'))
		s->text[--n] = '\0';
	return 0;
}

int
cal_sched_org(struct cal_sched *s, const struct cal_org *o, char *err,
    size_t errlen)
{
	if (o->year < 1 || o->year > YEAR_MAX) {
		set_err(err, errlen, "year %d is out of range 1-%d", o->year,
		    YEAR_MAX);
		return -1;
	}
	if (o->month < 1 || o->month > 12 || o->day < 1 ||
	    o->day > days_in_month(o->year, o->month)) {
		set_err(err, errlen, "%04d-%02d-%02d is not a date", o->year,
		    o->month, o->day);
		return -1;
	}
	if (o->hour < -1 || o->hour > 23 ||
	    (o->hour >= 0 && (o->minute < 0 || o->minute > 59))) {
		set_err(err, errlen, "%02d:%02d is not a time", o->hour,
		    o->minute);
		return -1;
	}
	if (o->repeat != CAL_REPEAT_NONE) {
		if (o->repeat != CAL_REPEAT_CUMULATE &&
		    o->repeat != CAL_REPEAT_CATCH_UP &&
		    o->repeat != CAL_REPEAT_RESTART) {
			set_err(err, errlen, "unknown repeater kind %d",
			    (int)o->repeat);
			return -1;
		}
		if (!o->unit || !strchr("hdwmy", o->unit)) {
			set_err(err, errlen, "repeater unit '%c' is not one of "
			    "h, d, w, m, y", o->unit ? o->unit : '?');
			return -1;
		}
		if (o->value < 1) {
			set_err(err, errlen, "repeater %d%c never moves (want 1 "
			    "or more)", o->value, o->unit);
			return -1;
		}
	}
	memset(s, 0, sizeof *s);
	s->kind = CAL_ORG;
	s->org = *o;
	if (s->org.hour < 0)
		s->org.minute = 0;
	return 0;
}

/* ---- next fire: cron ---- */

/* The lowest set bit at or above from, or -1. */
static int
next_bit(uint64_t mask, int from)
{
	if (from >= 64)
		return -1;
	mask >>= from;
	return mask ? from + __builtin_ctzll(mask) : -1;
}

/* The first local minute at or after lm that the cron fields match, or
 * CAL_NONE within SEARCH_YEARS. */
static int64_t
cron_next_local(const struct cron *c, int64_t lm)
{
	struct civil t;
	int last_year;

	civil_from_minute(lm, &t);
	last_year = t.y + SEARCH_YEARS;
	while (t.y <= last_year && t.y <= YEAR_MAX) {
		int64_t days;
		int h, mi;

		if (!(c->month >> t.m & 1) || t.d > days_in_month(t.y, t.m)) {
			t.d = 1;
			t.h = t.mi = 0;
			if (++t.m > 12) {
				t.m = 1;
				t.y++;
			}
			continue;
		}
		days = days_from_civil(t.y, t.m, t.d);
		if (!cron_day_matches(c, t.d, t.m, weekday(days)) ||
		    (h = next_bit(c->hour, t.h)) < 0) {
			t.d++;
			t.h = t.mi = 0;
			continue;
		}
		if (h != t.h) {
			t.h = h;
			t.mi = 0;
		}
		if ((mi = next_bit(c->minute, t.mi)) < 0) {
			t.h++;
			t.mi = 0;
			continue;
		}
		return days * DAY_MIN + t.h * 60 + mi;
	}
	return CAL_NONE;
}

static int64_t
cron_next(const struct cron *c, struct cal_zone *z, int64_t after)
{
	int64_t lm = local_minute(z, after) + 1;

	for (;;) {
		int64_t cand = cron_next_local(c, lm), t;

		if (cand == CAL_NONE)
			return CAL_NONE;
		t = local_to_utc(z, cand);
		/* A candidate before after_ms is a repeated local time's
		 * second pass, or a gap's time already fired at its end. */
		if (t > after)
			return t;
		lm = cand + 1;
	}
}

/* ---- next fire: org timestamps ---- */

static int
org_minute_of_day(const struct cal_org *o)
{
	return o->hour < 0 ? 0 : o->hour * 60 + o->minute;
}

/* Local minute of the day y-m-d, with day clamped to the month's end. */
static int64_t
clamped_local(int64_t y, int m, int day, int mod)
{
	int dim;

	if (y < 1 || y > YEAR_MAX)
		return CAL_NONE;
	dim = days_in_month((int)y, m);
	return days_from_civil(y, m, day < dim ? day : dim) * DAY_MIN + mod;
}

/* Local minute of fire k of a `+`/`++` repeater (k = 0: the timestamp). */
static int64_t
org_fire_local(const struct cal_org *o, int64_t k)
{
	int mod = org_minute_of_day(o);
	int64_t base = minute_from_civil(o->year, o->month, o->day, 0, 0) + mod;
	int64_t step = o->value, months;

	if (k == 0)
		return base;
	switch (o->unit) {
	case 'h':
		return base + k * step * 60;
	case 'd':
		return base + k * step * DAY_MIN;
	case 'w':
		return base + k * step * 7 * DAY_MIN;
	case 'm':
		months = (int64_t)o->year * 12 + (o->month - 1) + k * step;
		return clamped_local(floor_div(months, 12),
		    (int)(months - floor_div(months, 12) * 12) + 1, o->day, mod);
	default:	/* 'y' */
		return clamped_local(o->year + k * step, o->month, o->day, mod);
	}
}

/*
 * A fire index no later than the first fire after the local minute la
 * (after_ms's, rounded down). Turning local times into instants by the
 * DST rules never reverses their order, and la's own instant is at or
 * before after_ms, so a fire whose local time is at or before la is no
 * fire to return: the caller steps on from here.
 */
static int64_t
org_first_k(const struct cal_org *o, int64_t la)
{
	int64_t base = org_fire_local(o, 0), span, k;
	struct civil a;

	if (la <= base)
		return 0;
	switch (o->unit) {
	case 'h':
		span = (int64_t)o->value * 60;
		break;
	case 'd':
		span = (int64_t)o->value * DAY_MIN;
		break;
	case 'w':
		span = (int64_t)o->value * 7 * DAY_MIN;
		break;
	default:
		/* Whole months between, less one: a month before la's. */
		civil_from_minute(la, &a);
		k = ((int64_t)a.y * 12 + a.m - 1) -
		    ((int64_t)o->year * 12 + o->month - 1) - 1;
		if (o->unit == 'y')
			k /= 12;
		k /= o->value;
		return k > 0 ? k : 0;
	}
	return (la - base) / span;
}

static int64_t
org_grid_next(const struct cal_org *o, struct cal_zone *z, int64_t after)
{
	int64_t k = org_first_k(o, local_minute(z, after));

	for (;; k++) {
		int64_t lm = org_fire_local(o, k), t;

		if (lm == CAL_NONE || lm >= LOCAL_END)
			return CAL_NONE;
		t = local_to_utc(z, lm);
		if (t > after)
			return t;
	}
}

/* `.+N`: N after the last fire, counted from after_ms's local time. */
static int64_t
org_restart_next(const struct cal_org *o, struct cal_zone *z, int64_t after)
{
	int64_t first = local_to_utc(z, org_fire_local(o, 0));
	int64_t la, lm, t;
	int mod = org_minute_of_day(o);
	struct civil a;
	int64_t months;

	if (first > after)
		return first;
	la = local_minute(z, after);
	civil_from_minute(la, &a);
	for (int64_t n = o->value;; n += o->value) {
		switch (o->unit) {
		case 'h':
			lm = la + n * 60;
			break;
		case 'd':
			lm = minute_from_civil(a.y, a.m, a.d, 0, 0) +
			    n * DAY_MIN + mod;
			break;
		case 'w':
			lm = minute_from_civil(a.y, a.m, a.d, 0, 0) +
			    n * 7 * DAY_MIN + mod;
			break;
		case 'm':
			months = (int64_t)a.y * 12 + (a.m - 1) + n;
			lm = clamped_local(floor_div(months, 12),
			    (int)(months - floor_div(months, 12) * 12) + 1,
			    a.d, mod);
			break;
		default:
			lm = clamped_local(a.y + n, a.m, a.d, mod);
			break;
		}
		if (lm == CAL_NONE || lm >= LOCAL_END)
			return CAL_NONE;
		t = local_to_utc(z, lm);
		if (t > after)
			return t;
	}
}

int64_t
cal_next(const struct cal_sched *s, struct cal_zone *z, int64_t after)
{
	/* Outside years 1-9999 (a day's offset either side): nothing to
	 * find, or an `after` so early that the first fire is the answer. */
	if (after >= LOCAL_END * MIN_MS)
		return CAL_NONE;
	if (after < (LOCAL_MIN + DAY_MIN) * MIN_MS)
		after = (LOCAL_MIN + DAY_MIN) * MIN_MS;
	if (s->kind == CAL_CRON)
		return cron_next(&s->cron, z, after);
	switch (s->org.repeat) {
	case CAL_REPEAT_NONE: {
		int64_t t = local_to_utc(z, org_fire_local(&s->org, 0));

		return t > after ? t : CAL_NONE;
	}
	case CAL_REPEAT_RESTART:
		return org_restart_next(&s->org, z, after);
	default:
		return org_grid_next(&s->org, z, after);
	}
}

/* ---- in words ---- */

static const char *const month_long[13] = {
	"", "January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const day_long[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday",
};

static const char *
ordinal(int n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	switch (n % 10) {
	case 1:
		return "st";
	case 2:
		return "nd";
	case 3:
		return "rd";
	default:
		return "th";
	}
}

static int
popcount(uint64_t v)
{
	return __builtin_popcountll(v);
}

static int
lowest(uint64_t v)
{
	return v ? __builtin_ctzll(v) : -1;
}

/* A bounded appender: keeps the length the whole text needs. */
struct out {
	char	*buf;
	size_t	 cap;
	size_t	 len;
};

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
	    o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

#define ALL_MINUTES	((UINT64_C(1) << 60) - 1)
#define ALL_HOURS	((UINT32_C(1) << 24) - 1)
#define ALL_DOM		(((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MONTHS	((uint16_t)(((1u << 12) - 1) << 1))
#define ALL_DOW		((uint8_t)0x7f)
#define WEEKDAYS	((uint8_t)0x3e)
#define WEEKENDS	((uint8_t)0x41)

/* The step N when bits are exactly 0, N, 2N, ... below n and N divides
 * n (so the gap across the hour or the day is N too), else 0. */
static int
even_step(uint64_t bits, int n)
{
	int step;
	uint64_t want = 0;

	if (!(bits & 1) || popcount(bits) < 2)
		return 0;
	step = lowest(bits & ~UINT64_C(1));
	if (n % step != 0)
		return 0;
	for (int v = 0; v < n; v += step)
		want |= UINT64_C(1) << v;
	return want == bits ? step : 0;
}

/* "Mondays, Wednesdays and Fridays" for a set of days. */
static void
put_days(struct out *o, uint8_t dow)
{
	int n = popcount(dow), i = 0;

	for (int d = 1; d <= 7; d++) {
		if (!(dow >> (d % 7) & 1))
			continue;
		put(o, "%s%ss", i == 0 ? "" : i == n - 1 ? " and " : ", ",
		    day_long[d % 7]);
		i++;
	}
}

/* "06:00", "06:00 and 18:00": one minute at up to four hours, else 0. */
static int
put_times(struct out *o, const struct cron *c)
{
	int m = lowest(c->minute), n = popcount(c->hour), i = 0;

	if (popcount(c->minute) != 1 || n > 4)
		return 0;
	put(o, " at ");
	for (int h = 0; h < 24; h++)
		if (c->hour >> h & 1) {
			put(o, "%s%02d:%02d", i == 0 ? "" : i == n - 1 ?
			    " and " : ", ", h, m);
			i++;
		}
	return 1;
}

static int
describe_cron(struct out *o, const struct cron *c)
{
	int every_day = (c->flags & CRON_DOM_STAR) && (c->flags & CRON_DOW_STAR)
	    && c->dom == ALL_DOM && c->dow == ALL_DOW && c->month == ALL_MONTHS;
	int step;

	if (every_day && c->hour == ALL_HOURS) {
		if (c->minute == ALL_MINUTES)
			put(o, "every minute");
		else if ((step = even_step(c->minute, 60)) != 0)
			put(o, "every %d minutes", step);
		else if (c->minute == 1)	/* minute 0 alone */
			put(o, "every hour");
		else if (popcount(c->minute) == 1)
			put(o, "at minute %d of every hour", lowest(c->minute));
		else
			return 0;
		return 1;
	}
	if (popcount(c->minute) != 1)
		return 0;
	if (every_day && (step = even_step(c->hour, 24)) != 0) {
		put(o, "every %d hours", step);
		if (c->minute != 1)	/* not minute 0 */
			put(o, " at minute %d", lowest(c->minute));
		return 1;
	}
	if (popcount(c->hour) > 4)
		return 0;
	if (every_day) {
		put(o, "every day");
		return put_times(o, c);
	}
	if ((c->flags & CRON_DOM_STAR) && c->dom == ALL_DOM &&
	    c->month == ALL_MONTHS && !(c->flags & CRON_DOW_STAR)) {
		if (c->dow == WEEKDAYS)
			put(o, "weekdays");
		else if (c->dow == WEEKENDS)
			put(o, "weekends");
		else
			put_days(o, c->dow);
		return put_times(o, c);
	}
	if ((c->flags & CRON_DOW_STAR) && c->dow == ALL_DOW &&
	    !(c->flags & CRON_DOM_STAR) && popcount(c->dom) == 1) {
		int d = lowest(c->dom), mon = lowest(c->month);

		if (c->month == ALL_MONTHS)
			put(o, "on the %d%s of every month%s", d, ordinal(d),
			    d > 28 ? " that has one," : "");
		else if (popcount(c->month) == 1 && mon >= 1 && mon <= 12)
			/* 29 February: cron's rule skips common years. */
			put(o, "every %syear on %d %s", d == 29 && mon == 2 ?
			    "leap " : "", d, month_long[mon]);
		else
			return 0;
		return put_times(o, c);
	}
	return 0;
}

static void
describe_org(struct out *o, const struct cal_org *t)
{
	static const char *const unit_one[] = {
		['h'] = "hour", ['d'] = "day", ['w'] = "week", ['m'] = "month",
		['y'] = "year",
	};
	int h = t->hour < 0 ? 0 : t->hour, mi = t->hour < 0 ? 0 : t->minute;
	int wd = weekday(days_from_civil(t->year, t->month, t->day));
	const char *clamp = t->day > 28 ? " (or the month's last day)" : "";

	if (t->repeat == CAL_REPEAT_NONE) {
		put(o, "once, %04d-%02d-%02d %02d:%02d", t->year, t->month,
		    t->day, h, mi);
		return;
	}
	if (t->repeat == CAL_REPEAT_RESTART) {
		if (t->unit == 'h')
			put(o, "%d hour%s after the last fire, from "
			    "%04d-%02d-%02d %02d:%02d", t->value,
			    t->value == 1 ? "" : "s", t->year, t->month, t->day,
			    h, mi);
		else
			put(o, "%d %s%s after the last fire, at %02d:%02d, from "
			    "%04d-%02d-%02d", t->value, unit_one[(int)t->unit],
			    t->value == 1 ? "" : "s", h, mi, t->year, t->month,
			    t->day);
		return;
	}
	switch (t->unit) {
	case 'h':
		if (t->value == 1)
			put(o, "every hour");
		else
			put(o, "every %d hours", t->value);
		put(o, " from %04d-%02d-%02d %02d:%02d", t->year, t->month,
		    t->day, h, mi);
		return;
	case 'd':
		if (t->value == 1)
			put(o, "every day");
		else
			put(o, "every %d days", t->value);
		break;
	case 'w':
		if (t->value == 1)
			put(o, "%ss", day_long[wd]);
		else
			put(o, "every %d weeks on %s", t->value, day_long[wd]);
		break;
	case 'm':
		if (t->value == 1)
			put(o, "on the %d%s%s of every month", t->day,
			    ordinal(t->day), clamp);
		else
			put(o, "every %d months on the %d%s%s", t->value,
			    t->day, ordinal(t->day), clamp);
		break;
	default:
		if (t->value == 1)
			put(o, "every year on %d %s", t->day,
			    month_long[t->month]);
		else
			put(o, "every %d years on %d %s", t->value, t->day,
			    month_long[t->month]);
		if (t->month == 2 && t->day == 29)
			put(o, " (28 February in other years)");
		break;
	}
	put(o, " at %02d:%02d from %04d-%02d-%02d", h, mi, t->year, t->month,
	    t->day);
}

int
cal_describe(const struct cal_sched *s, const struct cal_zone *z, char *buf,
    size_t len)
{
	struct out o = { buf, len, 0 };

	if (len)
		buf[0] = '\0';
	if (s->kind == CAL_ORG)
		describe_org(&o, &s->org);
	else {
		if (!describe_cron(&o, &s->cron)) {
			o.len = 0;
			if (len)
				buf[0] = '\0';
			put(&o, "%s", s->text);
		}
	}
	if (z)
		put(&o, " %s", z->name);
	return o.len > INT_MAX ? INT_MAX : (int)o.len;
}

/* ---- jitter ---- */

int64_t
cal_jitter_ms(const char *crew, const char *agent, int64_t max_ms)
{
	const char *c = crew ? crew : "", *a = agent ? agent : "";
	uint64_t h;

	if (max_ms <= 0)
		return 0;
	/* The NUL between the names: ("ab", "c") is not ("a", "bc"). */
	h = table_fnv1a(TABLE_FNV_INIT, c, strlen(c) + 1);
	h = table_fnv1a(h, a, strlen(a));
	/* FNV's low bits mix poorly; murmur3's finaliser spreads them. */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (int64_t)(h % (uint64_t)max_ms);
}
