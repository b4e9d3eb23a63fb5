/*
 * gitq: the daemon's queue of git jobs (SPEC §7, man keeper(1) GIT).
 *
 * libgit2 blocks, so every commit, partial ref and gitops integration runs
 * on libuv's thread pool. One git operation runs at a time per repository
 * (repo.c's lock), so jobs wait their turn at a one-slot gate and go to
 * the pool one by one: waiting ones hold no pool thread, and spawns and
 * state writes, which share the pool, never queue behind a row of commits
 * waiting for the lock. The queue owns the tenant repository's handle,
 * opened by the first job (on the pool: opening reads the disk) and again
 * by a later one when the tenant was not a work tree yet.
 *
 * Ownership: gitq_new() allocates, gitq_free() releases (no job may be in
 * flight). A job is allocated by gitq_job_new(), filled by the caller,
 * handed to gitq_submit() and given back, results filled, to its done
 * callback on the loop thread; the caller then frees it with
 * gitq_job_free(). Everything a job reads on the pool is copied into it
 * first (a manifest reload may free the crew meanwhile).
 */
#ifndef KEEPER_GITQ_H
#define KEEPER_GITQ_H

#include <uv.h>

#include "gate.h"
#include "repo.h"

struct gitq;

enum gitq_kind { GITQ_COMMIT, GITQ_PARTIAL, GITQ_INTEGRATE };

struct gitq_job;
typedef void (*gitq_done_fn)(struct gitq_job *, void *arg);

struct gitq_job {
	enum gitq_kind	 kind;
	struct repo_commit_info ci;	/* its strings point into the job */
	int		 push;		/* push after a commit / integrate */
	/* Results. rc is 0 when the job ran, else err says why (the queue
	 * could not run it, the tenant is not a repository, git failed). */
	int		 rc;
	char		 err[512];
	struct repo_result res;
	struct repo_integrate_result ir;
	int		 push_rc;
	char		 push_err[512];
	/* private */
	char		*agent, *state, *run_id, *result, *author, *domain,
			*outcome;
	struct gitq	*q;
	uv_work_t	 work;
	struct gate_waiter gw;
	gitq_done_fn	 done;
	void		*arg;
};

struct gitq	*gitq_new(uv_loop_t *, const char *repo);
void		 gitq_free(struct gitq *);
/* Every job leaves out dir (the data directory) when it lies inside the
 * work tree (repo_keep_out()): keeper's own files are never committed,
 * whatever .gitignore says by then. */
void		 gitq_keep_out(struct gitq *, const char *dir);

/* The fleet's fence (fence.h): pushes only while it is live. */
struct fence;
void		 gitq_fence(struct gitq *, const struct fence *);

/* A job of kind about ci, whose strings are copied into the job. */
struct gitq_job	*gitq_job_new(enum gitq_kind, const struct repo_commit_info *,
		    int push);
void		 gitq_job_free(struct gitq_job *);

/* Run j when its turn comes; done is called on the loop thread, once. */
void		 gitq_submit(struct gitq *, struct gitq_job *, gitq_done_fn,
		    void *arg);
/* Drop a job still waiting for its turn (done is not called). */
void		 gitq_cancel(struct gitq *, struct gitq_job *);

#endif
