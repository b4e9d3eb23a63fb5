/*
 * preflight: see preflight.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <git2.h>

#include "fs.h"
#include "preflight.h"
#include "settings.h"
#include "util.h"

char *
preflight_data_dir(const char *opt, const char *title,
    const struct settings *s)
{
	if (opt && *opt)
		return fs_absolute(opt);
	if (s->data)
		return fs_absolute(s->data);
	if (s->xdg_state_home && *s->xdg_state_home == '/')
		return xasprintf("%s/keeper/%s", s->xdg_state_home, title);
	if (s->home)
		return xasprintf("%s/.local/state/keeper/%s", s->home, title);
	return NULL;
}

/* Git ignores a directory when its own path is ignored ("data/"), or
 * when everything in it is ("data/" then a star): probed with a name no pattern for
 * keeper's own files would single out. */
static int
dir_ignored(git_repository *r, const char *rel)
{
	char *probe;
	int ign = 0;

	probe = xasprintf("%s/", rel);
	if (git_ignore_path_is_ignored(&ign, r, probe) != 0)
		ign = 0;
	free(probe);
	if (ign)
		return 1;
	probe = xasprintf("%s/.keeper-ignore-probe", rel);
	if (git_ignore_path_is_ignored(&ign, r, probe) != 0)
		ign = 0;
	free(probe);
	return ign;
}

enum preflight_tree
preflight_data_in_tree(const char *repo, const char *data, char **workdir,
    char **rel)
{
	git_repository *r = NULL;
	enum preflight_tree t = PF_OUTSIDE;
	char real[PATH_MAX], wt[PATH_MAX];
	const char *wd;
	size_t n;

	if (workdir)
		*workdir = NULL;
	if (rel)
		*rel = NULL;
	git_libgit2_init();
	if (git_repository_open_ext(&r, repo, 0, NULL) != 0)
		goto done;		/* not a git repo: nothing to commit */
	if ((wd = git_repository_workdir(r)) == NULL)
		goto done;
	if (realpath(data, real) == NULL || realpath(wd, wt) == NULL)
		goto done;
	n = strlen(wt);
	while (n > 1 && wt[n - 1] == '/')
		wt[--n] = '\0';
	if (strncmp(real, wt, n) != 0 || (real[n] != '/' && real[n] != '\0'))
		goto done;
	if (workdir)
		*workdir = xstrdup(wt);
	if (real[n] == '\0') {
		t = PF_IS_TREE;
		goto done;
	}
	if (rel)
		*rel = xstrdup(real + n + 1);
	t = dir_ignored(r, real + n + 1) ? PF_IGNORED : PF_NOT_IGNORED;
done:
	git_repository_free(r);
	git_libgit2_shutdown();
	return t;
}

int
preflight_repo_lock(const char *repo, const char *data, int *fdp, char *err,
    size_t errlen)
{
	git_repository *r = NULL;
	char *path = NULL, buf[PATH_MAX + 64];
	ssize_t n;
	int fd = -1, rc = -1;

	*fdp = -1;
	git_libgit2_init();
	if (git_repository_open_ext(&r, repo, 0, NULL) != 0 ||
	    git_repository_is_bare(r)) {
		rc = 0;			/* not a work tree: no commits */
		goto done;
	}
	path = xasprintf("%skeeper-daemon.lock", git_repository_path(r));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "tenant repository %s is in use by keeper "
		    "pid %s; one keeper per work tree (give this one a clone "
		    "of its own)", git_repository_workdir(r), *buf ? buf :
		    "?");
		goto done;
	}
	n = snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), data);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	*fdp = fd;
	fd = -1;
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	free(path);
	git_repository_free(r);
	git_libgit2_shutdown();
	return rc;
}

long
preflight_lock_holder(const char *data)
{
	char *path = xasprintf("%s/keeper.lock", data), buf[32];
	long pid = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		goto done;
	if (flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		pid = strtol(buf, NULL, 10);
		if (pid <= 0)
			pid = -1;	/* held, pid not yet written */
	}
	close(fd);
done:
	free(path);
	return pid;
}
