/*
 * statefile: atomic small files and their tolerant readers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statefile.h"
#include "util.h"

char *
statefile_path(const char *data, enum statefile_kind k, const char *name)
{
	const char *base = k == SF_LAST_RUN ? "keeper-last-run" :
	    "lifecycle-pos";

	if (name == NULL)
		return xasprintf("%s/%s", data, base);
	return xasprintf("%s/%s-%s", data, base, name);
}

int
statefile_write(const char *path, const void *buf, size_t len, char *err,
    size_t errlen)
{
	char *tmp = NULL, *dir = NULL;
	const char *p = buf;
	int fd = -1, dfd, rc = -1;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
		goto fail;
	}
	/* The rename itself is durable only once the directory is synced. */
	dir = util_dirname(path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
	goto done;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
done:
	free(tmp);
	free(dir);
	return rc;
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
	return statefile_write(path, buf, (size_t)n, err, errlen);
}

int
statefile_read_last_run(const char *path, int64_t *ms, char *err,
    size_t errlen)
{
	char *buf, *end;
	size_t len;
	double v;
	int rc;

	if ((buf = util_read_file(path, &len)) == NULL) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 2;
	}
	errno = 0;
	v = strtod(buf, &end);
	while (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r')
		end++;
	if (end == buf || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < 0 || v > 1e13 || memchr(buf, 0, len) != NULL) {
		snprintf(err, errlen, "%s: not a unix time, ignored", path);
		rc = 2;
	} else {
		*ms = (int64_t)llround(v * 1000.0);
		rc = 0;
	}
	free(buf);
	return rc;
}

int
statefile_write_pos(const char *path, const struct lc_pos *p, char *err,
    size_t errlen)
{
	char *s = lc_pos_format(p);
	int rc = statefile_write(path, s, strlen(s), err, errlen);

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
