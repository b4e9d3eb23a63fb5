/*
 * repo-int: what the files of src/git/ share, and nothing outside it
 * includes. struct repo is here because every operation reads its git
 * handle and directories; only repo.c makes, locks and frees one. The
 * error helpers format into the caller's buffer as repo.h promises; the
 * repo__ functions are repo.c's lock and the reads several operations
 * make (repo__op_begin() and repo__op_end() keep the contract at the top
 * of repo.c: a writer runs between them).
 *
 *   repo.c     set-up, the handle, the operation lock and its crash
 *              contract, the reads the writers share
 *   commit.c   the commit message and signature, repo_commit()
 *   partial.c  repo_partial(): a failed run's work on a side ref
 *   remote.c   gitops: repo_integrate(), repo_push()
 *   feed.c     the changes feed and its JSON
 */
#ifndef KEEPER_REPO_INT_H
#define KEEPER_REPO_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <git2.h>

/* repo.h's, named here without including it: each file of src/git/
 * includes repo.h itself, and this header stays below it. */
struct repo_commit_info;
struct repo_result;

struct repo {
	git_repository	*git;
	char		*workdir;	/* with a trailing slash */
	char		*gitdir;	/* with a trailing slash */
	pthread_mutex_t	 mu;
	int		 opfd;		/* .git/keeper-op while an op runs */
	int		 push_pending;
	int		 recovered;	/* op_begin removed stale locks */
	char		*keep_out;	/* "DIR/" relative to workdir: never
					   recorded (repo_keep_out()), or NULL */
	dev_t		 git_dev;	/* the git directory opened, for */
	ino_t		 git_ino;	/* repo_stale() */
};

/* Tests set these to act inside repo_commit() (commit.c): between the
 * two looks at a file being staged, and at each moment of its write
 * order ("locked": the op marker written; "staged": blobs written, the
 * index changed in memory; "objects": the tree written; "index": the
 * index written; "ref": HEAD's branch moved, the op not yet ended). */
extern void (*repo__stage_hook)(const char *path);
extern void (*repo__commit_hook)(const char *moment);

/* ---- errors: git-style lines into the caller's buffer ---- */

static inline void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "what: libgit2's message" */
static inline void
giterr(char *err, size_t errlen, const char *what)
{
	const git_error *e = git_error_last();

	seterr(err, errlen, "%s: %s", what,
	    e != NULL && e->message != NULL ? e->message : "unknown error");
}

static inline void
setnote(char *note, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note, len, fmt, ap);
	va_end(ap);
}

/* The same file, unchanged: a writer did not touch it in between. */
static inline int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* ---- repo.c ---- */

/* The operation lock (repo.c's opening comment): 0 holding it, or -1
 * with err set and nothing held. */
int	 repo__op_begin(struct repo *, const char *what, char *err,
	    size_t errlen);
void	 repo__op_end(struct repo *);
/* -1 with a clear error when a foreign index.lock exists. */
int	 repo__check_index_lock(struct repo *, char *err, size_t errlen);
/* -1 when a merge, rebase or the like is in progress. */
int	 repo__check_state(struct repo *, char *err, size_t errlen);
/* HEAD's commit (NULL when unborn), flags |= REPO_F_FIRST or
 * REPO_F_DETACHED when flags is not NULL. */
int	 repo__head_commit(struct repo *, git_commit **, int *flags,
	    char *err, size_t errlen);
/* The work tree's status, untracked files included, submodules not. */
int	 repo__status_list(struct repo *, git_status_show_t,
	    git_status_list **, char *err, size_t errlen);
/* The rules every writer applies to a path status reports, before it
 * records it: 1 when path (relative to the work tree) is keeper's own
 * (repo_keep_out()), flagging res; 1 when the file, st->st_size bytes, is
 * over ci's max_file_size, counting and naming it in res; else 0. st may
 * be NULL (the path is gone: a deletion is always recorded). */
int	 repo__left_out(const struct repo *, const struct repo_commit_info *,
	    const char *path, const struct stat *st, struct repo_result *);
/* Appends to res->note what repo__left_out() left out, if anything. */
void	 repo__note_left_out(const struct repo_commit_info *,
	    const struct repo_result *, char *note, size_t len);

/* ---- commit.c ---- */

/* Author and committer for ci: its :AUTHOR:, else who@domain. */
int	 repo__make_sig(git_signature **, const struct repo_commit_info *,
	    const char *who, char *err, size_t errlen);

/* ---- partial.c ---- */

/* repo_partial()'s work, the operation lock already held (repo_commit()
 * keeps a detached HEAD's run this way). res is filled, not cleared. */
int	 repo__partial_locked(struct repo *, const struct repo_commit_info *,
	    struct repo_result *, char *err, size_t errlen);

#endif
