/*
 * forward: run-once across the fleet (see forward.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "ctl.h"
#include "daemon.h"
#include "etcd.h"
#include "exitcode.h"
#include "forward.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#define FWD_POLL_MS	200	/* a question's wait for its answer */
#define FWD_RETRY_MS	200	/* the inbox after an etcd error */
#define FWD_TIMEOUT_MS	2000	/* one etcd request */

struct req {
	struct req	*next;
	char		*id, *agent;
};

struct forward {
	struct daemon	*d;
	uv_loop_t	*loop;
	char		*urls, *once, *done;	/* the key prefixes */
	int64_t		 pickup_ms;
	uint64_t	 seq;
	char		 host[128];

	uv_thread_t	 th;
	int		 th_up;
	uv_mutex_t	 mu;
	uv_cond_t	 cv;
	uv_async_t	 async;
	_Atomic int	 serving, quit, stop_watch;
	struct etcd	*claim;		/* the thread's, for deletes */
	struct req	*inbox;		/* under mu */
};

/* ---- the answer, put from the pool ---- */

struct answer {
	uv_work_t	 work;
	char		*urls, *key, *value;
};

static void
answer_work(uv_work_t *req)
{
	struct answer *a = req->data;
	struct etcd *e;
	char err[256];

	if ((e = etcd_new(a->urls, FWD_TIMEOUT_MS, err, sizeof(err))) == NULL)
		return;
	if (etcd_put(e, a->key, a->value, strlen(a->value), 0, err,
	    sizeof(err)) != 0)
		log_warnx("event=run-once-answer-failed msg=%s", log_qv(err));
	etcd_free(e);
}

static void
answer_done(uv_work_t *req, int status)
{
	struct answer *a = req->data;

	(void)status;
	free(a->urls);
	free(a->key);
	free(a->value);
	free(a);
}

static void
answer(struct forward *f, const char *id, int exit_status, const char *text)
{
	struct answer *a = xcalloc(1, sizeof(*a));
	json_t *o = json_pack("{s:i, s:s}", "exit", exit_status, "text",
	    text ? text : "");

	a->urls = xstrdup(f->urls);
	a->key = xasprintf("%s%s", f->done, id);
	a->value = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	a->work.data = a;
	if (uv_queue_work(f->loop, &a->work, answer_work, answer_done) != 0)
		answer_done(&a->work, 0);
}

/* ---- serving: the loop runs what the inbox took ---- */

struct job {
	struct worker_watch	 watch;
	struct forward		*f;
	char			*id;
};

static void
job_line(struct worker_watch *ww, const char *kind, const char *text)
{
	(void)ww;
	(void)kind;
	(void)text;
}

static void
job_end(struct worker_watch *ww, struct worker *w, enum outcome o,
    const char *summary)
{
	struct job *j = ww->arg;

	(void)w;
	answer(j->f, j->id, daemon_exit_for(o), summary);
	free(j->id);
	free(j);
}

static void
serve_one(struct forward *f, struct req *r)
{
	struct worker *w = NULL;
	struct job *j;
	char *s;

	log_info("agent=%s event=run-once-forwarded id=%s", r->agent, r->id);
	if (!atomic_load(&f->serving) || daemon_draining(f->d)) {
		answer(f, r->id, EXIT_LOCKED, "the keeper that took it is "
		    "standby now: ask again");
		return;
	}
	for (size_t i = 0; i < daemon_nworkers(f->d); i++)
		if (strcmp(worker_name(daemon_worker(f->d, i)), r->agent) == 0)
			w = daemon_worker(f->d, i);
	if (w == NULL || worker_removed(w)) {
		s = xasprintf("no agent named '%s' in the crew", r->agent);
		answer(f, r->id, EXIT_CONFIG, s);
		free(s);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->f = f;
	j->id = xstrdup(r->id);
	j->watch.on_line = job_line;
	j->watch.on_end = job_end;
	j->watch.arg = j;
	if (worker_tick(w, "run-once", &j->watch) == -1) {
		s = xasprintf("%s is mid-tick on the active keeper", r->agent);
		answer(f, r->id, EXIT_LOCKED, s);
		free(s);
		free(j->id);
		free(j);
	}
}

static void
on_async(uv_async_t *h)
{
	struct forward *f = h->data;
	struct req *list, *r, *prev = NULL, *next;

	uv_mutex_lock(&f->mu);
	list = f->inbox;
	f->inbox = NULL;
	uv_mutex_unlock(&f->mu);
	for (r = list; r; r = next) {	/* oldest first */
		next = r->next;
		r->next = prev;
		prev = r;
	}
	for (r = prev; r; r = next) {
		next = r->next;
		serve_one(f, r);
		free(r->id);
		free(r->agent);
		free(r);
	}
}

/* ---- the inbox thread ---- */

/* A request seen: claimed (deleted, so that it runs once) and queued. */
static void
take(struct forward *f, const struct etcd_kv *kv)
{
	json_t *o = json_loadb(kv->value, kv->vlen, 0, NULL);
	const char *agent = o ? json_string_value(json_object_get(o,
	    "agent")) : NULL;
	struct req *r;
	char err[256];

	if (etcd_delete(f->claim, kv->key, err, sizeof(err)) != 0 ||
	    agent == NULL) {
		json_decref(o);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->id = xstrdup(kv->key + strlen(f->once));
	r->agent = xstrdup(agent);
	json_decref(o);
	uv_mutex_lock(&f->mu);
	r->next = f->inbox;
	f->inbox = r;
	uv_mutex_unlock(&f->mu);
	uv_async_send(&f->async);
}

static void
on_pending(const struct etcd_kv *kv, void *arg)
{
	take(arg, kv);
}

static int
on_event(const struct etcd_event *ev, void *arg)
{
	if (ev->type == ETCD_PUT)
		take(arg, ev->kv);
	return 0;
}

static void
inbox_run(void *arg)
{
	struct forward *f = arg;
	struct etcd *e;
	int64_t rev;
	char err[256];

	e = etcd_new(f->urls, FWD_TIMEOUT_MS, err, sizeof(err));
	f->claim = etcd_new(f->urls, FWD_TIMEOUT_MS, err, sizeof(err));
	if (e == NULL || f->claim == NULL) {
		etcd_free(e);
		return;
	}
	while (!atomic_load(&f->quit)) {
		uv_mutex_lock(&f->mu);
		while (!atomic_load(&f->serving) && !atomic_load(&f->quit))
			uv_cond_wait(&f->cv, &f->mu);
		atomic_store(&f->stop_watch, 0);
		uv_mutex_unlock(&f->mu);
		if (atomic_load(&f->quit))
			break;
		/* What was asked while nobody served, then what comes. */
		if (etcd_get_prefix(e, f->once, on_pending, f, &rev, err,
		    sizeof(err)) != 0 || etcd_watch(e, f->once, 1, rev + 1,
		    on_event, f, &f->stop_watch, err, sizeof(err)) != 0) {
			log_debug("event=run-once-inbox-error msg=%s",
			    log_qv(err));
			usleep(FWD_RETRY_MS * 1000);
		}
	}
	etcd_free(e);
}

/* ---- asking: a standby's question, waited for on the pool ---- */

struct ask {
	uv_work_t		 work;
	struct forward		*f;
	struct ctl_client	*c;
	char			*key, *done_key, *name;
	int			 exit_status;
	char			*text;
	_Atomic int		 gone;	/* the client hung up */
	int			 ended;
};

static void
ask_work(uv_work_t *req)
{
	struct ask *a = req->data;
	struct etcd_kv kv;
	struct etcd *e;
	json_t *o;
	int64_t pickup = util_mono_ms() + a->f->pickup_ms;
	const char *t;
	char err[256], *v;
	int found, picked = 0;

	a->exit_status = EXIT_LOCKED;
	if ((e = etcd_new(a->f->urls, FWD_TIMEOUT_MS, err,
	    sizeof(err))) == NULL) {
		a->text = xstrdup(err);
		return;
	}
	o = json_pack("{s:s}", "agent", a->name);
	v = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (etcd_put(e, a->key, v, strlen(v), 0, err, sizeof(err)) != 0) {
		a->text = xasprintf("cannot ask the active keeper: %s", err);
		goto out;
	}
	while (!atomic_load(&a->gone)) {
		usleep(FWD_POLL_MS * 1000);
		if (etcd_get(e, a->done_key, &kv, &found, NULL, err,
		    sizeof(err)) == 0 && found) {
			o = json_loadb(kv.value, kv.vlen, 0, NULL);
			t = json_string_value(json_object_get(o, "text"));
			a->exit_status = (int)json_integer_value(
			    json_object_get(o, "exit"));
			a->text = xstrdup(t ? t : "");
			json_decref(o);
			etcd_kv_release(&kv);
			(void)etcd_delete(e, a->done_key, err, sizeof(err));
			goto out;
		}
		if (picked || util_mono_ms() < pickup)
			continue;
		/* Nobody took it in the time a takeover takes: withdrawn. */
		if (etcd_get(e, a->key, &kv, &found, NULL, err,
		    sizeof(err)) != 0)
			continue;
		etcd_kv_release(&kv);
		if (!found) {
			picked = 1;
			continue;
		}
		(void)etcd_delete(e, a->key, err, sizeof(err));
		a->text = xstrdup("no active keeper took the run-once: try "
		    "again once one is active");
		goto out;
	}
	(void)etcd_delete(e, a->key, err, sizeof(err));
out:
	free(v);
	etcd_free(e);
}

static void
ask_free(struct ask *a)
{
	free(a->key);
	free(a->done_key);
	free(a->name);
	free(a->text);
	free(a);
}

static void
ask_closed(struct ctl_client *c, void *arg)
{
	struct ask *a = arg;

	(void)c;
	atomic_store(&a->gone, 1);
	if (a->ended)
		ask_free(a);
}

static void
ask_done(uv_work_t *req, int status)
{
	struct ask *a = req->data;

	(void)status;
	a->ended = 1;
	if (atomic_load(&a->gone)) {
		ask_free(a);
		return;
	}
	/* The connection closes after this; ask_closed() frees. */
	ctl_send_text(a->c, a->text ? a->text : "", a->exit_status);
}

void
forward_ask(struct forward *f, struct ctl_client *c, const char *name)
{
	struct ask *a = xcalloc(1, sizeof(*a));
	char *id = xasprintf("%s-%ld-%llu", f->host, daemon_pid(f->d),
	    (unsigned long long)++f->seq);

	a->f = f;
	a->c = c;
	a->name = xstrdup(name);
	a->key = xasprintf("%s%s", f->once, id);
	a->done_key = xasprintf("%s%s", f->done, id);
	free(id);
	a->work.data = a;
	ctl_on_close(c, ask_closed, a);
	ctl_send_text(c, "standby: asking the active keeper", -1);
	if (uv_queue_work(f->loop, &a->work, ask_work, ask_done) != 0) {
		a->text = xstrdup("cannot ask the active keeper");
		a->exit_status = EXIT_LOCKED;
		ask_done(&a->work, 0);
	}
}

/* ---- life ---- */

struct forward *
forward_new(struct daemon *d, const char *urls, const char *crew,
    int64_t ttl_ms)
{
	struct forward *f = xcalloc(1, sizeof(*f));

	f->d = d;
	f->loop = daemon_loop(d);
	f->urls = xstrdup(urls);
	f->once = xasprintf("/keeper/%s/once/", crew);
	f->done = xasprintf("/keeper/%s/done/", crew);
	/* A takeover's bound (TTL + 2 s), and as much again. */
	f->pickup_ms = 2 * (ttl_ms + 2000);
	if (gethostname(f->host, sizeof(f->host)) != 0)
		snprintf(f->host, sizeof(f->host), "keeper");
	f->host[sizeof(f->host) - 1] = '\0';
	for (char *p = f->host; *p; p++)
		if (*p == '/')
			*p = '_';
	uv_mutex_init(&f->mu);
	uv_cond_init(&f->cv);
	uv_async_init(f->loop, &f->async, on_async);
	f->async.data = f;
	if (uv_thread_create(&f->th, inbox_run, f) == 0)
		f->th_up = 1;
	else
		log_warnx("event=run-once-inbox-failed msg=\"no thread\"");
	return f;
}

void
forward_serve(struct forward *f, int on)
{
	uv_mutex_lock(&f->mu);
	atomic_store(&f->serving, on);
	if (!on)
		atomic_store(&f->stop_watch, 1);
	uv_cond_broadcast(&f->cv);
	uv_mutex_unlock(&f->mu);
}

static void
closed(uv_handle_t *h)
{
	struct forward *f = h->data;
	struct req *r, *next;

	for (r = f->inbox; r; r = next) {
		next = r->next;
		free(r->id);
		free(r->agent);
		free(r);
	}
	etcd_free(f->claim);
	uv_mutex_destroy(&f->mu);
	uv_cond_destroy(&f->cv);
	free(f->urls);
	free(f->once);
	free(f->done);
	free(f);
}

void
forward_close(struct forward *f)
{
	if (f == NULL)
		return;
	uv_mutex_lock(&f->mu);
	atomic_store(&f->quit, 1);
	atomic_store(&f->serving, 0);
	atomic_store(&f->stop_watch, 1);
	uv_cond_broadcast(&f->cv);
	uv_mutex_unlock(&f->mu);
	if (f->th_up)
		uv_thread_join(&f->th);
	uv_close((uv_handle_t *)&f->async, closed);
}
