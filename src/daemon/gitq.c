/*
 * gitq: git jobs on the thread pool, one at a time (see gitq.h).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fence.h"
#include "gitq.h"
#include "util.h"

struct gitq {
	uv_loop_t	*loop;
	char		*path;		/* the tenant work tree */
	char		*keep_out;	/* the data directory, or NULL */
	pthread_mutex_t	 open_mu;	/* guards r: opened on the pool */
	struct repo	*r;		/* NULL until a job opened it */
	struct gate	 turn;		/* one job on the pool at a time */
	const struct fence *fence;	/* SPEC §12, or NULL */
};

void
gitq_fence(struct gitq *q, const struct fence *f)
{
	q->fence = f;
}

struct gitq *
gitq_new(uv_loop_t *loop, const char *repo)
{
	struct gitq *q = xcalloc(1, sizeof(*q));

	q->loop = loop;
	q->path = xstrdup(repo);
	pthread_mutex_init(&q->open_mu, NULL);
	gate_init(&q->turn, 1);
	return q;
}

void
gitq_free(struct gitq *q)
{
	if (q == NULL)
		return;
	repo_close(q->r);
	pthread_mutex_destroy(&q->open_mu);
	free(q->path);
	free(q->keep_out);
	free(q);
}

void
gitq_keep_out(struct gitq *q, const char *dir)
{
	pthread_mutex_lock(&q->open_mu);
	free(q->keep_out);
	q->keep_out = dir ? xstrdup(dir) : NULL;
	if (q->r != NULL)
		repo_keep_out(q->r, q->keep_out);
	pthread_mutex_unlock(&q->open_mu);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct gitq_job *
gitq_job_new(enum gitq_kind kind, const struct repo_commit_info *ci, int push)
{
	struct gitq_job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	j->push = push;
	j->ci = *ci;
	j->ci.agent = j->agent = dup_or_null(ci->agent);
	j->ci.state = j->state = dup_or_null(ci->state);
	j->ci.run_id = j->run_id = dup_or_null(ci->run_id);
	j->ci.result = j->result = dup_or_null(ci->result);
	j->ci.author = j->author = dup_or_null(ci->author);
	j->ci.domain = j->domain = dup_or_null(ci->domain);
	j->ci.outcome = j->outcome = dup_or_null(ci->outcome);
	return j;
}

void
gitq_job_free(struct gitq_job *j)
{
	if (j == NULL)
		return;
	free(j->agent);
	free(j->state);
	free(j->run_id);
	free(j->result);
	free(j->author);
	free(j->domain);
	free(j->outcome);
	free(j);
}

/* The handle on the tenant repo, opened on first use. NULL with err when
 * the tenant directory is not a git work tree; tried again by the next
 * job, so a repository created later is picked up. A handle whose
 * repository went away (replaced by a plain directory, or re-created) is
 * opened again, so the error names what happened and a new repository
 * is used as it is. Jobs run one at a time: none holds the old handle. */
static struct repo *
handle(struct gitq *q, char *err, size_t errlen)
{
	struct repo *r;

	pthread_mutex_lock(&q->open_mu);
	if (q->r != NULL && repo_stale(q->r)) {
		repo_close(q->r);
		q->r = NULL;
	}
	if (q->r == NULL && (q->r = repo_open(q->path, err, errlen)) != NULL)
		repo_keep_out(q->r, q->keep_out);
	r = q->r;
	pthread_mutex_unlock(&q->open_mu);
	return r;
}

/*
 * A commit's push. With a lease (SPEC §12): never from a keeper whose
 * lease may have lapsed; a rejected push (someone moved origin's branch)
 * fetches and merges origin when that is clean and pushes again, never
 * forced; a commit that still did not reach origin is kept on its
 * partial ref.
 */
static void
push_commit(struct gitq_job *j, struct repo *r)
{
	const struct fence *f = j->q->fence;
	struct repo_integrate_result ir;
	char e[256];

	if (!fence_live(f)) {
		j->push_rc = -1;
		snprintf(j->push_err, sizeof(j->push_err), "this keeper's "
		    "lease lapsed: it pushes nothing");
	} else
		j->push_rc = repo_push(r, j->push_err, sizeof(j->push_err));
	if (f == NULL || j->push_rc == 0)
		return;
	if (fence_live(f) && repo_integrate(r, j->ci.domain, 1, &ir, e,
	    sizeof(e)) == 0) {
		if (ir.pushed) {
			j->push_rc = 0;
			return;
		}
		if (ir.what == REPO_INT_CONFLICT)
			snprintf(j->push_err, sizeof(j->push_err), "%s",
			    ir.note);
	}
	if (repo_keep_partial(r, j->ci.agent, j->ci.run_id, j->res.id, e,
	    sizeof(e)) == 0) {
		size_t n = strlen(j->push_err);

		snprintf(j->push_err + n, sizeof(j->push_err) - n, "; kept "
		    "on refs/keeper/partial/%s/%s", j->ci.agent,
		    j->ci.run_id);
	}
}

static void
work(uv_work_t *req)
{
	struct gitq_job *j = req->data;
	struct repo *r;

	j->rc = -1;
	if ((r = handle(j->q, j->err, sizeof(j->err))) == NULL)
		return;
	switch (j->kind) {
	case GITQ_COMMIT:
		j->rc = repo_commit(r, &j->ci, &j->res, j->err,
		    sizeof(j->err));
		if (j->rc == 0 && j->push && j->res.status == REPO_COMMITTED)
			push_commit(j, r);
		break;
	case GITQ_PARTIAL:
		j->rc = repo_partial(r, &j->ci, &j->res, j->err,
		    sizeof(j->err));
		break;
	case GITQ_INTEGRATE:
		j->rc = repo_integrate(r, j->ci.domain, j->push &&
		    fence_live(j->q->fence), &j->ir,
		    j->err, sizeof(j->err));
		break;
	}
}

static void
after(uv_work_t *req, int status)
{
	struct gitq_job *j = req->data;

	gate_release(&j->q->turn, 0);	/* the next job goes to the pool */
	if (status != 0) {
		j->rc = -1;
		snprintf(j->err, sizeof(j->err), "%s", uv_strerror(status));
	}
	j->done(j, j->arg);		/* may free j */
}

static void
queue(struct gitq_job *j)
{
	int rc;

	if ((rc = uv_queue_work(j->q->loop, &j->work, work, after)) != 0)
		after(&j->work, rc);
}

static void
granted(struct gate_waiter *gw)
{
	queue((struct gitq_job *)((char *)gw - offsetof(struct gitq_job, gw)));
}

void
gitq_submit(struct gitq *q, struct gitq_job *j, gitq_done_fn done, void *arg)
{
	j->q = q;
	j->done = done;
	j->arg = arg;
	j->work.data = j;
	/* One priority and no clock (every time 0, so nobody starves): the
	 * turn is a plain FIFO mutex. */
	j->gw.prio = 0;
	j->gw.base_ms = 0;
	if (gate_acquire(&q->turn, &j->gw, granted, 0))
		queue(j);
}

void
gitq_cancel(struct gitq *q, struct gitq_job *j)
{
	gate_cancel(&q->turn, &j->gw);
}
