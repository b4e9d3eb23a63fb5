/*
 * repo: the tenant git repository, through libgit2 only (SPEC §7). Commits a
 * done run's work, records a failed run's work on a side ref, integrates
 * origin (gitops), pushes, and reads the recent history back as the changes
 * feed.
 *
 * Every function here blocks on disk (and, for fetch and push, network): the
 * daemon calls them on libuv's thread pool, never on the loop. One git
 * operation runs at a time per repository: repo handles opened on the same
 * path share one mutex, so agents that share a work tree (and its index)
 * queue behind each other. repo_changes_at() opens its own read-only handle
 * and takes no lock, so a reader never waits for a commit.
 *
 * Errors: functions return a negative value and write a one-line message
 * (git-style: lower case, no full stop) into the caller's buffer.
 *
 * Ownership: repo_open() returns a handle the caller releases with
 * repo_close(). Strings in the info structs are borrowed for the call.
 * repo_changes_at() fills an array the caller releases with
 * repo_changes_free().
 *
 * Behind it, one file a concern (repo-int.h, private to src/git/, says
 * who has what): repo.c the handle and the operation lock, commit.c,
 * partial.c, remote.c and feed.c the operations.
 */
#ifndef KEEPER_REPO_H
#define KEEPER_REPO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define REPO_ID_LEN		40	/* hex object id */
#define REPO_SUBJECT_COLS	72
#define REPO_BODY_MAX		4096	/* bytes of result kept in the body */
#define REPO_DEFAULT_DOMAIN	"keeper.invalid"

struct repo;

/* What the commit is about. */
struct repo_commit_info {
	const char	*agent;		/* NAME, required */
	const char	*state;		/* lifecycle state, "" or NULL without */
	int		 hits;		/* this run's ordinal in the state, 1.. */
	int		 repeat;	/* the state's REPEAT */
	const char	*run_id;	/* Keeper-Run trailer, required */
	const char	*result;	/* the run's result, already redacted */
	const char	*author;	/* ":AUTHOR:" "Name <mail>", or NULL */
	const char	*domain;	/* #+AUTHOR-DOMAIN:, NULL = keeper.invalid */
	const char	*outcome;	/* repo_partial(): "failed", "killed" */
	int64_t		 when_ms;	/* commit time, 0 = now */
	/* A file modified less than settle_ms before the commit is left for a
	 * later commit: the worker sets it while another run is live in the
	 * same work tree (man keeper(1), GIT). 0 disables. */
	int64_t		 settle_ms;
	/* #+DETACHED: commit. Without it repo_commit() on a detached HEAD
	 * commits nothing and keeps the work on the run's partial ref: a
	 * commit there is orphaned once someone checks the branch out. */
	int		 detached_commit;
	/* #+MAX-COMMIT-SIZE: a new or changed file larger than this many
	 * bytes is not recorded (it stays in the work tree and the result
	 * names it). 0: no limit. */
	int64_t		 max_file_size;
	/* The etcd lease the keeper held when the run started (SPEC §12):
	 * a Keeper-Lease trailer, so the remote's history says which
	 * keeper made each commit. 0: none (no fleet). */
	int64_t		 lease;
};

/* What repo_commit() and repo_partial() did. */
enum repo_status {
	REPO_COMMITTED = 0,	/* a commit (or partial ref) was made */
	REPO_NO_CHANGE = 1,	/* nothing to record */
	REPO_KEPT = 2		/* repo_commit() on a detached HEAD without
				   detached_commit: not committed, the work
				   recorded on its partial ref instead */
};

#define REPO_F_FIRST		0x01	/* first commit on an unborn branch */
#define REPO_F_DETACHED		0x02	/* committed on a detached HEAD */
#define REPO_F_SKIPPED		0x04	/* some paths were left unstaged */
#define REPO_F_STALE_LOCK	0x08	/* removed a lock keeper itself left */
#define REPO_F_REFUSED		0x10	/* detached HEAD: see REPO_KEPT */
#define REPO_F_TOO_BIG		0x20	/* files over max_file_size left out */
#define REPO_F_KEPT_OUT		0x40	/* keeper's own files showed up (git
					   does not ignore them) and were
					   left out */

struct repo_result {
	enum repo_status status;
	char		 id[REPO_ID_LEN + 1];	/* commit id, "" when none */
	int		 flags;			/* REPO_F_* */
	size_t		 nfiles;		/* paths recorded */
	size_t		 nskipped;		/* paths left for later */
	size_t		 nbig;			/* paths over max_file_size */
	char		 big_path[256];		/* the largest of them */
	int64_t		 big_size;		/* its size in bytes */
	char		 ref[192];		/* REPO_KEPT: the partial ref */
	char		 note[320];		/* human summary of the above */
};

/* Process-wide libgit2 set-up; call once before any other repo_ function
 * (repo_open() calls it too) and repo_shutdown() at exit. */
int	 repo_init(void);
void	 repo_shutdown(void);

/* Open the work tree at path (or any directory inside it). NULL with err
 * filled when path is not a git work tree or is a bare repository. */
struct repo *repo_open(const char *path, char *err, size_t errlen);
void	 repo_close(struct repo *);
const char *repo_workdir(const struct repo *);
/* Keeper's own files are never recorded, whatever .gitignore says: when
 * dir (the data directory) lies inside the work tree, repo_commit() and
 * repo_partial() leave out every path under it. A dir outside the work
 * tree, or NULL, changes nothing. */
void	 repo_keep_out(struct repo *, const char *dir);
/* 1 when the repository this handle opened is gone (its git directory
 * removed, or replaced by another): the caller opens it again. */
int	 repo_stale(const struct repo *);

/* After a done run: stage every change in the work tree (honouring
 * .gitignore and the repo's config) and commit it as the agent. -1 on
 * error (nothing committed, the repo as it was). */
int	 repo_commit(struct repo *, const struct repo_commit_info *,
	    struct repo_result *, char *err, size_t errlen);

/* After a failed or killed run: record the work tree on
 * refs/keeper/partial/NAME/RUN as a commit whose parent is HEAD, leaving
 * the work tree, the index and HEAD untouched. */
int	 repo_partial(struct repo *, const struct repo_commit_info *,
	    struct repo_result *, char *err, size_t errlen);
/* Point refs/keeper/partial/AGENT/RUN at commit id (hex), which is
 * already made: a commit that could not be pushed (SPEC §12) is kept
 * there, whatever becomes of the branch. */
int	 repo_keep_partial(struct repo *, const char *agent,
	    const char *run_id, const char *id, char *err, size_t errlen);

/* Gitops (SPEC §7). repo_integrate() fetches origin and brings its branch
 * in: fast-forward, else a clean merge commit, else nothing (local work is
 * kept and the conflict reported). When push is set and an earlier push was
 * rejected, it pushes again after integrating. */
enum repo_integration {
	REPO_INT_UP_TO_DATE,
	REPO_INT_FAST_FORWARD,
	REPO_INT_MERGED,
	REPO_INT_CONFLICT,	/* skipped: note says why */
	REPO_INT_SKIPPED	/* nothing to integrate with (no upstream...) */
};

struct repo_integrate_result {
	enum repo_integration what;
	char		 id[REPO_ID_LEN + 1];	/* HEAD afterwards */
	int		 pushed;		/* a pending push went out */
	char		 note[256];
};

int	 repo_integrate(struct repo *, const char *domain, int push,
	    struct repo_integrate_result *, char *err, size_t errlen);
/* Push HEAD's branch to origin, never forced. A rejected push returns -1
 * and is remembered, so the next repo_integrate() with push set retries. */
int	 repo_push(struct repo *, char *err, size_t errlen);
int	 repo_push_pending(const struct repo *);
const char *repo_integration_name(enum repo_integration);

/* The changes feed: the newest commits reachable from HEAD. */
#define REPO_CHANGES_MAX	1000

struct repo_change {
	char	 id[REPO_ID_LEN + 1];
	char	*author;	/* "Name <mail>" */
	int64_t	 time;		/* unix seconds */
	char	*subject;
	char	*agent;		/* from Keeper-Agent:, or NULL */
	char	*state;		/* from Keeper-State:, or NULL */
	char	*run;		/* from Keeper-Run:, or NULL */
};

int	 repo_changes_at(const char *path, size_t limit,
	    struct repo_change **out, size_t *n, char *err, size_t errlen);
void	 repo_changes_free(struct repo_change *, size_t n);
/* {"changes":[{"id","author","time","subject","agent","state","run"}]}
 * entries; returns a new reference to a JSON array. */
json_t	*repo_changes_json(const struct repo_change *, size_t n);

/* The commit message for info: subject (utf8_cut_cols() to
 * REPO_SUBJECT_COLS), bounded body, trailers. Pure, exposed for tests.
 * Caller frees. */
char	*repo_message(const struct repo_commit_info *);

#endif
