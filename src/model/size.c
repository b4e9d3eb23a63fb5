/*
 * size: parse and format byte sizes (keeper-crew(5)).
 *
 * NUMBER then an optional unit, nothing between them: b (bytes), k, m or g,
 * each optionally followed by b or ib ("50MB", "50m", "50MiB" are one
 * size). Units count in powers of 1024, as git's own configuration does
 * (core.bigFileThreshold=512m), and are case-insensitive because sizes are
 * written "MB" as often as "mb". No sign, no fraction, no compound: a typo
 * is an error, not a surprise. Zero is refused: a limit that lets nothing
 * through is never what was meant; "none" says there is no limit.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "size.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* The multiplier the unit [p, end) names, or 0. */
static int64_t
unit_of(const char *p, const char *end)
{
	size_t n = (size_t)(end - p);
	int64_t mul;

	if (n == 0)
		return 1;
	switch (*p) {
	case 'b': case 'B':
		return n == 1 ? 1 : 0;
	case 'k': case 'K':
		mul = 1024;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		break;
	case 'g': case 'G':
		mul = 1024 * 1024 * 1024;
		break;
	default:
		return 0;
	}
	p++;
	n--;
	if (n == 0 || (n == 1 && (*p == 'b' || *p == 'B')) ||
	    (n == 2 && strncasecmp(p, "ib", 2) == 0))
		return mul;
	return 0;
}

int
size_parse(const char *s, int64_t *bytes)
{
	const char *end, *p;
	int64_t v = 0, mul;

	if (s == NULL)
		return -1;
	end = s + strlen(s);
	while (s < end && is_space(*s))
		s++;
	while (end > s && is_space(end[-1]))
		end--;
	if (end - s == 4 && strncmp(s, "none", 4) == 0) {
		*bytes = 0;
		return 0;
	}
	for (p = s; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (p == s || v == 0 || (mul = unit_of(p, end)) == 0 ||
	    v > INT64_MAX / mul)
		return -1;
	*bytes = v * mul;
	return 0;
}

char *
size_format(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%lld byte%s", (long long)bytes,
		    bytes == 1 ? "" : "s");
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	/* One decimal below ten ("1.5 GB"), none above ("200 MB"). */
	snprintf(buf, len, v < 10 && v != (double)(int64_t)v ? "%.1f %s" :
	    "%.0f %s", v, units[u]);
	return buf;
}
