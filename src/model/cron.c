/*
 * cron: the parser of cron expressions (cron.h). One pass over each
 * field, each comma item parsed as [`*` | value [`-` value]] [`/` step],
 * and one error message per kind of mistake, naming the field by number
 * and name so that an operator finds it in a five-field line.
 */
#include "cron.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NFIELDS	5
#define ITEM_MAX 64	/* an item longer than this is quoted cut short */

struct field {
	const char	*name;
	int		 lo, hi;	/* accepted values (day-of-week: 0-7) */
	const char *const *names;	/* index + lo is the value, or NULL */
	const char	*names_hint;
};

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL,
};
static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL,
};

static const struct field fields[NFIELDS] = {
	{ "minute", 0, 59, NULL, NULL },
	{ "hour", 0, 23, NULL, NULL },
	{ "day-of-month", 1, 31, NULL, NULL },
	{ "month", 1, 12, month_names, "a month name (jan..dec)" },
	{ "day-of-week", 0, 7, day_names, "a day name (sun..sat)" },
};

static const struct {
	const char	*word;
	const char	*fields;
} shorthands[] = {
	{ "@hourly", "0 * * * *" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@monthly", "0 0 1 * *" },
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
};

/* The most days each month can have (February in a leap year). */
static const int month_max_days[13] = {
	0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
};

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "field 2 (hour): " then the message. */
static int
field_fail(char *err, size_t errlen, int f, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fail(err, errlen, "field %d (%s): %s", f + 1, fields[f].name,
	    msg);
}

static int
is_delim(int ch)
{
	return ch == '\0' || ch == ',' || ch == '-' || ch == '/';
}

/*
 * One value at *pp: digits, or a name in a field that has names. The
 * token runs to the next delimiter, so that `5x` or `fry` is quoted whole
 * in the message. Range checks are left to the caller, which knows
 * whether 7 is allowed (day-of-week) and says the field's range.
 */
static int
parse_value(int f, const char **pp, const char *end, int *out, char *err,
    size_t errlen)
{
	const char *s = *pp, *t = s;
	int digits = 1, v = 0;
	size_t n;

	while (t < end && !is_delim(*t)) {
		if (!isdigit((unsigned char)*t))
			digits = 0;
		t++;
	}
	n = (size_t)(t - s);
	if (n == 0)
		return 1;	/* nothing here: the caller says what is wrong */
	if (n > ITEM_MAX)
		n = ITEM_MAX;
	if (digits) {
		for (const char *d = s; d < t; d++)
			v = v > 100000 ? v : v * 10 + (*d - '0');
		if (v < fields[f].lo || v > fields[f].hi)
			return field_fail(err, errlen, f,
			    "%.*s is out of range %d-%d", (int)n, s,
			    fields[f].lo, fields[f].hi);
		*out = v;
		*pp = t;
		return 0;
	}
	if (fields[f].names && isalpha((unsigned char)*s)) {
		for (int i = 0; fields[f].names[i]; i++)
			if (t - s == 3 && strncasecmp(s, fields[f].names[i], 3) == 0) {
				*out = i + fields[f].lo;
				*pp = t;
				return 0;
			}
		return field_fail(err, errlen, f, "'%.*s' is not %s", (int)n, s,
		    fields[f].names_hint);
	}
	return field_fail(err, errlen, f, "'%.*s' is not a number", (int)n, s);
}

/* Set the bits lo..hi by step; day-of-week 7 lands on Sunday's bit. */
static void
set_range(uint64_t *bits, int lo, int hi, int step, int dow)
{
	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64_C(1) << (dow && v == 7 ? 0 : v);
}

/* One comma item [s, end) of field f into *bits. */
static int
parse_item(int f, const char *s, const char *end, const char *field_text,
    size_t field_len, uint64_t *bits, char *err, size_t errlen)
{
	const char *p = s;
	int lo, hi, step = 1, star = 0, rc;
	int dow = f == 4;
	int field_hi = dow ? 6 : fields[f].hi;
	int n = end - s > ITEM_MAX ? ITEM_MAX : (int)(end - s);

	if (s == end)
		return field_fail(err, errlen, f, "empty item in '%.*s'",
		    field_len > ITEM_MAX ? ITEM_MAX : (int)field_len,
		    field_text);
	if (*p == '*') {
		star = 1;
		p++;
		lo = fields[f].lo;
		hi = field_hi;
	} else {
		if ((rc = parse_value(f, &p, end, &lo, err, errlen)) < 0)
			return -1;
		if (rc > 0)
			goto malformed;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			if ((rc = parse_value(f, &p, end, &hi, err, errlen)) < 0)
				return -1;
			if (rc > 0)
				goto malformed;
			if (hi < lo)
				return field_fail(err, errlen, f,
				    "range %d-%d is backwards", lo, hi);
		}
	}
	if (p < end && *p == '/') {
		const char *q = ++p;
		int v = 0;

		while (p < end && !is_delim(*p))
			p++;
		if (p == q)
			goto malformed;
		for (const char *d = q; d < p; d++) {
			if (!isdigit((unsigned char)*d))
				return field_fail(err, errlen, f,
				    "'%.*s' is not a number",
				    (int)(p - q > ITEM_MAX ? ITEM_MAX : p - q),
				    q);
			v = v > 100000 ? v : v * 10 + (*d - '0');
		}
		if (v == 0)
			return field_fail(err, errlen, f,
			    "step 0 in '%.*s' (want 1 or more)", n, s);
		step = v;
		/* `5/15` is `5-max/15`, as croniter and cronie read it. */
		if (!star && hi == lo)
			hi = field_hi;
	}
	if (p != end)
		goto malformed;
	set_range(bits, lo, hi, step, dow);
	return 0;
malformed:
	return field_fail(err, errlen, f, "malformed item '%.*s'", n, s);
}

static int
parse_field(int f, const char *s, size_t len, uint64_t *bits, char *err,
    size_t errlen)
{
	const char *end = s + len, *p = s;

	*bits = 0;
	for (;;) {
		const char *q = p;

		while (q < end && *q != ',')
			q++;
		if (parse_item(f, p, q, s, len, bits, err, errlen) < 0)
			return -1;
		if (q == end)
			return 0;
		p = q + 1;
	}
}

/* Whether some day in dom falls in some month of months. */
static int
dom_possible(uint32_t dom, uint16_t months)
{
	for (int m = 1; m <= 12; m++)
		if ((months >> m & 1) &&
		    (dom & ((UINT32_C(2) << month_max_days[m]) - 2)))
			return 1;
	return 0;
}

int
cron_parse(struct cron *c, const char *expr, char *err, size_t errlen)
{
	const char *start[NFIELDS + 1], *p = expr;
	size_t len[NFIELDS + 1];
	uint64_t bits[NFIELDS];
	int n = 0;

	memset(c, 0, sizeof *c);
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '@') {
		const char *w = p;
		size_t wl;

		while (*p && !isspace((unsigned char)*p))
			p++;
		wl = (size_t)(p - w);
		while (isspace((unsigned char)*p))
			p++;
		for (size_t i = 0; i < sizeof shorthands / sizeof shorthands[0]; i++)
			if (strlen(shorthands[i].word) == wl &&
			    strncasecmp(w, shorthands[i].word, wl) == 0) {
				if (*p)
					return fail(err, errlen,
					    "unexpected '%.*s' after '%.*s'",
					    ITEM_MAX, p, (int)wl, w);
				return cron_parse(c, shorthands[i].fields, err,
				    errlen);
			}
		return fail(err, errlen, "unknown '%.*s' (want @hourly, "
		    "@daily, @midnight, @weekly, @monthly, @yearly or "
		    "@annually)", wl > ITEM_MAX ? ITEM_MAX : (int)wl, w);
	}
	while (*p) {
		const char *s = p;

		while (*p && !isspace((unsigned char)*p))
			p++;
		if (n < NFIELDS + 1) {
			start[n] = s;
			len[n] = (size_t)(p - s);
		}
		n++;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (n != NFIELDS)
		return fail(err, errlen, "want 5 fields (minute hour "
		    "day-of-month month day-of-week), got %d", n);
	for (int f = 0; f < NFIELDS; f++)
		if (parse_field(f, start[f], len[f], &bits[f], err, errlen) < 0)
			return -1;
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->dow = (uint8_t)bits[4];
	if (start[2][0] == '*')
		c->flags |= CRON_DOM_STAR;
	if (start[4][0] == '*')
		c->flags |= CRON_DOW_STAR;
	/* With day-of-week restricted, either day field may match (Vixie),
	 * so only an unrestricted day-of-week leaves the month days alone. */
	if ((c->flags & CRON_DOW_STAR) && !dom_possible(c->dom, c->month))
		return fail(err, errlen, "field 3 (day-of-month): '%.*s' never "
		    "falls in month '%.*s', so it would never fire",
		    len[2] > ITEM_MAX ? ITEM_MAX : (int)len[2], start[2],
		    len[3] > ITEM_MAX ? ITEM_MAX : (int)len[3], start[3]);
	return 0;
}

int
cron_day_matches(const struct cron *c, int mday, int month, int wday)
{
	int dom, dow;

	if (!(c->month >> month & 1))
		return 0;
	dom = c->dom >> mday & 1;
	dow = c->dow >> wday & 1;
	if (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
		return dom && dow;
	return dom || dow;
}
