/*
 * statefile: the state files' names, formats and tolerant readers; the
 * atomic write itself is fs_write_atomic().
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "statefile.h"
#include "util.h"

char *
statefile_path(const char *data, enum statefile_kind k, const char *name)
{
	const char *base = k == SF_LAST_RUN ? "keeper-last-run" :
	    k == SF_POS ? "lifecycle-pos" : k == SF_LAST_FIRE ?
	    "keeper-last-fire" : "pause";

	if (name == NULL)
		return xasprintf("%s/%s", data, base);
	return xasprintf("%s/%s-%s", data, base, name);
}

int
statefile_format_last_run(int64_t ms, char *buf, size_t len)
{
	return snprintf(buf, len, "%" PRId64 ".%03d\n", ms / 1000,
	    (int)(ms % 1000));
}

int
statefile_write_last_run(const char *path, int64_t ms, char *err,
    size_t errlen)
{
	char buf[64];
	int n;

	n = statefile_format_last_run(ms, buf, sizeof(buf));
	return fs_write_atomic(path, buf, (size_t)n, err, errlen);
}

/*
 * The last-run and last-fire files: a unix time in seconds with its
 * fraction, then (last-fire only) a hex signature, then white space.
 * 1 when the file is missing, 2 with err filled when it cannot be read
 * or is not that; 0 with *ms (and *sig, 0 when absent) set.
 */
static int
read_time_file(const char *path, int64_t *ms, uint64_t *sig, char *err,
    size_t errlen)
{
	char *buf, *end;
	size_t len;
	double v;
	int rc = 2;

	if ((buf = util_read_file(path, &len)) == NULL) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 2;
	}
	errno = 0;
	v = strtod(buf, &end);
	if (end != buf && errno == 0 && isfinite(v) && v >= 0 && v <= 1e13 &&
	    memchr(buf, 0, len) == NULL) {
		uint64_t h = 0;

		while (*end == ' ' || *end == '\t')
			end++;
		if (sig != NULL && *end != '\n' && *end != '\r' &&
		    *end != '\0') {
			char *e2;

			h = strtoull(end, &e2, 16);
			end = e2;
		}
		while (*end == ' ' || *end == '\n' || *end == '\t' ||
		    *end == '\r')
			end++;
		if (*end == '\0') {
			*ms = (int64_t)llround(v * 1000.0);
			if (sig != NULL)
				*sig = h;
			rc = 0;
		}
	}
	if (rc != 0)
		snprintf(err, errlen, "%s: not a unix time, ignored", path);
	free(buf);
	return rc;
}

int
statefile_read_last_run(const char *path, int64_t *ms, char *err,
    size_t errlen)
{
	return read_time_file(path, ms, NULL, err, errlen);
}

int
statefile_format_last_fire(int64_t ms, uint64_t sig, char *buf, size_t len)
{
	return snprintf(buf, len, "%" PRId64 ".%03d %016" PRIx64 "\n",
	    ms / 1000, (int)(ms % 1000), sig);
}

int
statefile_read_last_fire(const char *path, int64_t *ms, uint64_t *sig,
    char *err, size_t errlen)
{
	return read_time_file(path, ms, sig, err, errlen);
}

int
statefile_write_pos(const char *path, const struct lc_pos *p, char *err,
    size_t errlen)
{
	char *s = lc_pos_format(p);
	int rc = fs_write_atomic(path, s, strlen(s), err, errlen);

	free(s);
	return rc;
}

int
statefile_read_pos(const char *path, struct lc_pos *p, char *err,
    size_t errlen)
{
	char *buf;
	size_t len;
	int rc = 0;

	lc_pos_release(p);
	if ((buf = util_read_file(path, &len)) == NULL) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 2;
	}
	if (lc_pos_parse(p, buf, len) == -1) {
		snprintf(err, errlen, "%s: not a lifecycle position, ignored",
		    path);
		rc = 2;
	}
	free(buf);
	return rc;
}

int
statefile_format_pause(const struct pause *p, char *buf, size_t len)
{
	int n;

	if (!p->on) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	n = snprintf(buf, len, "%" PRId64 " %s\n", p->until_ms, p->why);
	return n < 0 ? 0 : (size_t)n >= len ? (int)len - 1 : n;
}

int
statefile_read_pause(const char *path, struct pause *p, char *err,
    size_t errlen)
{
	char *buf, *end, *why;
	size_t len;
	long long until;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	if ((buf = util_read_file(path, &len)) == NULL) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 2;
	}
	if (len == 0) {
		free(buf);
		return 1;
	}
	errno = 0;
	until = strtoll(buf, &end, 10);
	if (end == buf || errno != 0 || until < 0 || until > 100000000000000LL ||
	    (*end != ' ' && *end != '\n' && *end != '\0') ||
	    memchr(buf, 0, len) != NULL) {
		snprintf(err, errlen, "%s: not a pause, ignored", path);
		rc = 2;
	} else {
		why = *end == ' ' ? end + 1 : end;
		why[strcspn(why, "\n")] = '\0';
		pause_set(p, until, why);
	}
	free(buf);
	return rc;
}

int
statefile_paused(const char *data, const char *name, int64_t now,
    struct pause *out)
{
	char *path = statefile_path(data, SF_PAUSE, name), err[512];
	struct pause p;
	int on;

	on = statefile_read_pause(path, &p, err, sizeof(err)) == 0 &&
	    pause_active(&p, now);
	free(path);
	if (on && out != NULL)
		*out = p;
	return on;
}
