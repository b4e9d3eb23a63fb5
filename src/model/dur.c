/*
 * dur: parse and format durations (SPEC §2).
 *
 * The grammar is deliberately strict so that a typo is an error rather than
 * a surprise: either a bare integer (milliseconds) or one or more NUMBER UNIT
 * pairs with units from d, h, m, s, ms, each used at most once and in that
 * order ("1h30m", not "30m1h" nor "1h1h"). Units are lower case; there is
 * no sign, no fraction and no white space inside. Surrounding white space
 * is allowed. Overflow of int64 milliseconds is an error.
 */
#include <stdio.h>
#include <string.h>

#include "dur.h"

static const struct {
	const char	*name;
	int64_t		 ms;
} units[] = {			/* in the only order they may appear */
	{ "d", 86400000 },
	{ "h", 3600000 },
	{ "m", 60000 },
	{ "s", 1000 },
	{ "ms", 1 },
};
#define NUNITS	(sizeof(units) / sizeof(units[0]))

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Which unit starts at p ("ms" before "m"), or -1. *n gets its length. */
static int
unit_at(const char *p, const char *end, size_t *n)
{
	if (p < end && *p == 'm' && p + 1 < end && p[1] == 's') {
		*n = 2;
		return 4;
	}
	if (p >= end)
		return -1;
	*n = 1;
	switch (*p) {
	case 'd': return 0;
	case 'h': return 1;
	case 'm': return 2;
	case 's': return 3;
	}
	return -1;
}

int
dur_parse(const char *s, int64_t *ms)
{
	const char *p, *end;
	int64_t total = 0, v;
	int next = 0, u;
	size_t n;

	if (s == NULL)
		return -1;
	end = s + strlen(s);
	while (s < end && is_space(*s))
		s++;
	while (end > s && is_space(end[-1]))
		end--;
	if (s == end)
		return -1;
	for (p = s; p < end;) {
		if (!is_digit(*p))
			return -1;
		for (v = 0; p < end && is_digit(*p); p++) {
			if (v > (INT64_MAX - (*p - '0')) / 10)
				return -1;
			v = v * 10 + (*p - '0');
		}
		if (p == end && next == 0) {
			*ms = v;	/* a bare integer: milliseconds */
			return 0;
		}
		if ((u = unit_at(p, end, &n)) == -1 || u < next)
			return -1;
		p += n;
		next = u + 1;
		if (v > INT64_MAX / units[u].ms)
			return -1;
		v *= units[u].ms;
		if (total > INT64_MAX - v)
			return -1;
		total += v;
	}
	*ms = total;
	return 0;
}

char *
dur_format(int64_t ms, char *buf, size_t len)
{
	uint64_t left;
	size_t off = 0;
	int n;

	if (buf == NULL || len == 0)
		return buf;
	buf[0] = '\0';
	/* Negative values are not durations, but format them readably. */
	if (ms < 0) {
		left = (uint64_t)0 - (uint64_t)ms;
		if (len > 1) {
			buf[off++] = '-';
			buf[off] = '\0';
		}
	} else
		left = (uint64_t)ms;
	if (left == 0) {
		snprintf(buf + off, len - off, "0s");
		return buf;
	}
	for (size_t i = 0; i < NUNITS && left > 0; i++) {
		uint64_t q = left / (uint64_t)units[i].ms;

		if (q == 0)
			continue;
		left %= (uint64_t)units[i].ms;
		if (off >= len)
			break;
		n = snprintf(buf + off, len - off, "%llu%s",
		    (unsigned long long)q, units[i].name);
		if (n < 0)
			break;
		off += (size_t)n;
		if (off >= len) {	/* truncated: snprintf kept it terminated */
			off = len;
			break;
		}
	}
	return buf;
}
