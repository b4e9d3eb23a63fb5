/*
 * fs: atomic writes, directories and PATH (see fs.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "util.h"

int
fs_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	struct pollfd pfd;
	ssize_t n;

	while (len > 0) {
		n = write(fd, c, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			(void)poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The temporary file beside path. Named by pid and a counter, not by
 * mkstemp(): mkstemp makes mode 0600 whatever the umask, and the file
 * must get what open(2) with 0644 gives. O_EXCL still refuses a name
 * that a dead process of the same pid left behind: the next number is
 * tried.
 */
static int
open_temp(const char *path, char **tmp)
{
	static atomic_uint counter;
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path + 1) : 0, fd = -1;

	for (int tries = 0; tries < 100 && fd == -1; tries++) {
		*tmp = xasprintf("%.*s.%s.tmp.%ld.%u", dirlen, path,
		    path + dirlen, (long)getpid(), atomic_fetch_add(&counter,
		    1));
		fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd == -1) {
			int saved = errno;

			free(*tmp);
			*tmp = NULL;
			errno = saved;
			if (saved != EEXIST)
				break;
		}
	}
	return fd;
}

int
fs_write_atomicv(const char *path, const struct fs_piece *pieces, size_t n,
    char *err, size_t errlen)
{
	char *tmp = NULL, *dir;
	int fd, rc = -1, saved;

	if ((fd = open_temp(path, &tmp)) == -1) {
		saved = errno;
		dir = util_dirname(path);
		snprintf(err, errlen, "cannot create a file in '%s': %s", dir,
		    strerror(saved));
		free(dir);
		errno = saved;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (fs_write_all(fd, pieces[i].buf, pieces[i].len) == -1) {
			snprintf(err, errlen, "cannot write '%s': %s", tmp,
			    strerror(errno));
			goto fail;
		}
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "cannot sync '%s': %s", tmp,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "cannot write '%s': %s", tmp,
		    strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp,
		    path, strerror(errno));
		goto fail;
	}
	/* The rename itself is durable only once the directory is synced;
	 * the content is in place either way, so that is not a failure. */
	dir = util_dirname(path);
	(void)fs_sync_dir(dir);
	free(dir);
	rc = 0;
	goto done;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	errno = saved;
done:
	free(tmp);
	return rc;
}

int
fs_write_atomic(const char *path, const void *buf, size_t len, char *err,
    size_t errlen)
{
	struct fs_piece one = { buf, len };

	return fs_write_atomicv(path, &one, 1, err, errlen);
}

int
fs_sync_dir(const char *dir)
{
	int fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fs_exchange(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0)
		return 0;
	return rename(from, to);
}

int
fs_mkdir_p(const char *dir)
{
	char *p, *s, c;
	struct stat st;
	int rc = 0;

	if (*dir == '\0') {
		errno = ENOENT;
		return -1;
	}
	/* Each parent, then dir itself: EEXIST is what most of them say. */
	p = xstrdup(dir);
	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (rc == 0 && stat(dir, &st) == -1)
		rc = -1;
	else if (rc == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		rc = -1;
	}
	return rc;
}

char *
fs_absolute(const char *path)
{
	char *cwd, *r;

	if (path[0] == '/')
		return xstrdup(path);
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return xstrdup(path);
	r = util_resolve(cwd, path);
	free(cwd);
	return r;
}

int
fs_which(const char *prog, const char *path, char *buf, size_t len)
{
	const char *p, *end;
	int n;

	if (strchr(prog, '/') != NULL) {
		if ((size_t)snprintf(buf, len, "%s", prog) >= len)
			return ENAMETOOLONG;
		return 0;
	}
	if (path == NULL || *path == '\0')
		path = "/bin:/usr/bin";
	for (p = path; ; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		n = snprintf(buf, len, "%.*s%s%s", (int)(end - p), p,
		    end > p ? "/" : "", prog);
		if (n > 0 && (size_t)n < len && access(buf, X_OK) == 0)
			return 0;
		if (*end == '\0')
			return ENOENT;
	}
}
