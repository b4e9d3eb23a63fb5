/*
 * repo: the tenant git repository through libgit2 (SPEC §7): set-up, the
 * handle and the operation lock. The operations themselves are commit.c,
 * partial.c, remote.c and feed.c (repo-int.h says who has what).
 *
 * Serialisation. Every operation that may write runs between
 * repo__op_begin() and repo__op_end(): a pthread mutex for the threads
 * sharing this handle, and a flock(2) on .git/keeper-op for every other
 * handle and process on the same repository. While it runs,
 * .git/keeper-op holds "PID op"; a clean end empties it. Finding it
 * non-empty with the flock free therefore means a keeper died in the
 * middle of an operation (kill -9, power cut), and the lock files it may
 * have left (index.lock, HEAD.lock, the branch's .lock, packed-refs.lock)
 * are removed, but only those no live process has open. A lock without
 * that evidence belongs to someone else (a git command running now, or
 * one that crashed): keeper never removes it and reports it instead.
 *
 * Write order follows git: objects first, then the index, then the ref.
 * A crash at any point leaves a repository that fsck accepts; at worst the
 * index already holds what the next commit records.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "repo-int.h"
#include "repo.h"
#include "size.h"
#include "util.h"

/* ---- set-up ---- */

int
repo_init(void)
{
	return git_libgit2_init() < 0 ? -1 : 0;
}

void
repo_shutdown(void)
{
	git_libgit2_shutdown();
}

struct repo *
repo_open(const char *path, char *err, size_t errlen)
{
	git_repository *git = NULL;
	struct repo *r;
	struct stat st;

	if (path == NULL || stat(path, &st) == -1) {
		seterr(err, errlen, "cannot open repository '%s': %s",
		    path ? path : "", strerror(errno));
		return NULL;
	}
	if (repo_init() == -1) {
		giterr(err, errlen, "libgit2");
		return NULL;
	}
	if (git_repository_open_ext(&git, path, 0, NULL) < 0) {
		seterr(err, errlen, "'%s' is not a git repository", path);
		git_libgit2_shutdown();
		return NULL;
	}
	if (git_repository_is_bare(git)) {
		seterr(err, errlen, "'%s' is a bare repository: keeper needs "
		    "a work tree", path);
		git_repository_free(git);
		git_libgit2_shutdown();
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->git = git;
	r->workdir = xstrdup(git_repository_workdir(git));
	r->gitdir = xstrdup(git_repository_path(git));
	r->opfd = -1;
	if (stat(r->gitdir, &st) == 0) {
		r->git_dev = st.st_dev;
		r->git_ino = st.st_ino;
	}
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void
repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	git_repository_free(r->git);
	pthread_mutex_destroy(&r->mu);
	free(r->workdir);
	free(r->gitdir);
	free(r->keep_out);
	free(r);
	git_libgit2_shutdown();
}

const char *
repo_workdir(const struct repo *r)
{
	return r->workdir;
}

/* Compared as real paths: the data directory may be named through a
 * symbolic link, or relative to another directory than the work tree. */
void
repo_keep_out(struct repo *r, const char *dir)
{
	char *real, *wt;
	size_t n;

	free(r->keep_out);
	r->keep_out = NULL;
	if (dir == NULL || (real = realpath(dir, NULL)) == NULL)
		return;
	if ((wt = realpath(r->workdir, NULL)) != NULL) {
		n = strlen(wt);
		if (strncmp(real, wt, n) == 0 && real[n] == '/' &&
		    real[n + 1] != '\0')
			r->keep_out = xasprintf("%s/", real + n + 1);
	}
	free(wt);
	free(real);
}

/* The git directory gone (the work tree replaced by a plain directory,
 * or moved away), or another one in its place (re-created): either way
 * this handle's index and refs are not the repository's any more. */
int
repo_stale(const struct repo *r)
{
	struct stat st;

	if (stat(r->gitdir, &st) == -1)
		return 1;
	return st.st_dev != r->git_dev || st.st_ino != r->git_ino;
}

/* ---- locks ---- */

static int
holds(pid_t pid, void *want)
{
	return proc_has_open(pid, want);
}

/* Whether any live process has path open (a lock being written).
 * Processes we may not look into count as not holding it, which is why
 * this is only asked after a keeper of ours died mid-operation. */
static int
file_open_by_anyone(const char *path)
{
	struct stat want;

	if (stat(path, &want) == -1)
		return 0;
	/* -1: /proc cannot be read, so we cannot tell: assume someone has
	 * it. */
	return proc_each(holds, &want) != 0;
}

/* The lock files a keeper operation may take. */
static size_t
lock_paths(struct repo *r, char **out, size_t max)
{
	static const char *fixed[] = { "index.lock", "HEAD.lock",
	    "packed-refs.lock" };
	size_t n = 0;
	char *head, *p;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && n < max;
	    i++)
		out[n++] = xasprintf("%s%s", r->gitdir, fixed[i]);
	/* HEAD's branch, read as text: the ref machinery would want it. */
	p = xasprintf("%sHEAD", r->gitdir);
	head = util_read_file(p, NULL);
	free(p);
	if (head != NULL && strncmp(head, "ref: ", 5) == 0 && n < max) {
		head[strcspn(head, "\r\n")] = '\0';
		if (strstr(head, "..") == NULL)
			out[n++] = xasprintf("%s%s.lock", r->gitdir, head + 5);
	}
	free(head);
	return n;
}

static void
recover_stale(struct repo *r)
{
	char *paths[8];
	size_t n = lock_paths(r, paths, 8);

	for (size_t i = 0; i < n; i++) {
		if (access(paths[i], F_OK) == 0 &&
		    !file_open_by_anyone(paths[i]) && unlink(paths[i]) == 0)
			r->recovered = 1;
		free(paths[i]);
	}
}

/* A foreign index.lock: a clear error instead of libgit2's half-way one. */
int
repo__check_index_lock(struct repo *r, char *err, size_t errlen)
{
	char *p = xasprintf("%sindex.lock", r->gitdir);
	struct stat st;
	int rc = 0;

	if (lstat(p, &st) == 0) {
		long age = (long)(time(NULL) - st.st_mtime);

		seterr(err, errlen, "'%s' exists (%lds old): another git "
		    "process is running or crashed; keeper leaves it alone, "
		    "remove it if no git process is running", p,
		    age < 0 ? 0 : age);
		rc = -1;
	}
	free(p);
	return rc;
}

int
repo__op_begin(struct repo *r, const char *what, char *err, size_t errlen)
{
	char *p, buf[64];
	ssize_t got;
	int fd;

	pthread_mutex_lock(&r->mu);
	r->recovered = 0;
	p = xasprintf("%skeeper-op", r->gitdir);
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		/* The usual reason: the work tree is not a repository any
		 * more (replaced by a plain directory, or its .git moved
		 * away). Say that, not which file could not be opened. */
		if (errno == ENOENT && access(r->gitdir, F_OK) == -1)
			seterr(err, errlen, "'%s' is not a git repository "
			    "(any more): %s is gone", r->workdir, r->gitdir);
		else
			seterr(err, errlen, "cannot open '%s': %s", p,
			    strerror(errno));
		free(p);
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	free(p);
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			seterr(err, errlen, "cannot lock the repository: %s",
			    strerror(errno));
			close(fd);
			pthread_mutex_unlock(&r->mu);
			return -1;
		}
	}
	/* Holding the flock: leftover content is a dead keeper's op. */
	got = pread(fd, buf, sizeof(buf) - 1, 0);
	if (got > 0)
		recover_stale(r);
	snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), what);
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		seterr(err, errlen, "cannot write the repository's op marker: "
		    "%s", strerror(errno));
		close(fd);
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	r->opfd = fd;
	git_error_clear();
	return 0;
}

void
repo__op_end(struct repo *r)
{
	if (r->opfd != -1) {
		if (ftruncate(r->opfd, 0) == -1) {
			/* The next op then cleans locks that no one holds:
			 * harmless. */
		}
		close(r->opfd);		/* releases the flock */
		r->opfd = -1;
	}
	pthread_mutex_unlock(&r->mu);
}

/* ---- reads the writers share ---- */

/* HEAD's commit (NULL when unborn) and whether it is detached. */
int
repo__head_commit(struct repo *r, git_commit **out, int *flags, char *err,
    size_t errlen)
{
	git_oid oid;
	int rc;

	*out = NULL;
	rc = git_reference_name_to_id(&oid, r->git, "HEAD");
	if (rc == GIT_ENOTFOUND) {
		if (flags)
			*flags |= REPO_F_FIRST;
		return 0;
	}
	if (rc < 0 || git_commit_lookup(out, r->git, &oid) < 0) {
		giterr(err, errlen, "cannot read HEAD");
		return -1;
	}
	if (flags && git_repository_head_detached(r->git) == 1)
		*flags |= REPO_F_DETACHED;
	return 0;
}

int
repo__check_state(struct repo *r, char *err, size_t errlen)
{
	int st = git_repository_state(r->git);

	if (st != GIT_REPOSITORY_STATE_NONE) {
		seterr(err, errlen, "a merge, rebase or similar is in progress "
		    "in '%s': keeper does not commit until it is finished",
		    r->workdir);
		return -1;
	}
	return 0;
}

/* The work tree's status, untracked files included, submodules not. */
int
repo__status_list(struct repo *r, git_status_show_t show,
    git_status_list **sl, char *err, size_t errlen)
{
	git_status_options so;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = show;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
	    GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	    GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(sl, r->git, &so) < 0) {
		giterr(err, errlen, "cannot read the work tree's status");
		return -1;
	}
	return 0;
}

/* ---- what no writer records ---- */

int
repo__left_out(const struct repo *r, const struct repo_commit_info *ci,
    const char *path, const struct stat *st, struct repo_result *res)
{
	if (r->keep_out != NULL && strncmp(path, r->keep_out,
	    strlen(r->keep_out)) == 0) {
		res->flags |= REPO_F_KEPT_OUT;
		return 1;
	}
	if (st == NULL || ci->max_file_size <= 0 || !S_ISREG(st->st_mode) ||
	    st->st_size <= ci->max_file_size)
		return 0;
	res->flags |= REPO_F_TOO_BIG;
	if (res->nbig++ == 0 || st->st_size > res->big_size) {
		snprintf(res->big_path, sizeof(res->big_path), "%s", path);
		res->big_size = st->st_size;
	}
	return 1;
}

void
repo__note_left_out(const struct repo_commit_info *ci,
    const struct repo_result *res, char *note, size_t len)
{
	size_t n = strlen(note);
	char sz[32], lim[32], more[48] = "";

	if (res->flags & REPO_F_TOO_BIG && n < len) {
		if (res->nbig > 1)
			snprintf(more, sizeof(more), " and %zu more file%s",
			    res->nbig - 1, res->nbig == 2 ? "" : "s");
		snprintf(note + n, len - n, "; '%s' (%s)%s not committed: "
		    "over the %s MAX-COMMIT-SIZE", res->big_path,
		    size_format(res->big_size, sz, sizeof(sz)), more,
		    size_format(ci->max_file_size, lim, sizeof(lim)));
		n = strlen(note);
	}
	if (res->flags & REPO_F_KEPT_OUT && n < len)
		snprintf(note + n, len - n, "; keeper's data directory left "
		    "out (git does not ignore it)");
}
