/*
 * plane: snapshot building. Each publish renders /_activity, /_health and
 * /_changes, redacts them and swaps them in. The dashboard counts clocks
 * down by itself, so a publish whose bodies differ from the last one only
 * in "now" is skipped: Server-Sent Events streams then carry real changes,
 * and the daemon can republish on a timer (for health that decays with
 * time) without waking every client each second.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "crew.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "plane.h"
#include "redact.h"
#include "repo.h"
#include "service.h"
#include "util.h"
#include "worker.h"

struct plane {
	struct snapshot_store	*store;
	status_redact_fn	 redact;
	void			*redact_arg;
	json_t			*commits;	/* cached feed, an array */
	char			*key;		/* last bodies, sans clock */
};

struct plane *
plane_new(struct snapshot_store *st, status_redact_fn fn, void *arg)
{
	struct plane *p = xcalloc(1, sizeof(*p));

	p->store = st;
	p->redact = fn;
	p->redact_arg = arg;
	p->commits = json_array();
	return p;
}

void
plane_free(struct plane *p)
{
	if (p == NULL)
		return;
	json_decref(p->commits);
	free(p->key);
	free(p);
}

void
plane_set_redact(struct plane *p, status_redact_fn fn, void *arg)
{
	p->redact = fn;
	p->redact_arg = arg;
	free(p->key);		/* the same status may now render otherwise */
	p->key = NULL;
}

void
plane_set_commits(struct plane *p, json_t *commits)
{
	json_decref(p->commits);
	p->commits = json_is_array(commits) ? commits : json_array();
	if (!json_is_array(commits))
		json_decref(commits);
}

/* Dumps v without its clock field (obj.field), for the change key. */
static void
add_key(struct sb *k, json_t *obj, const char *field, json_t *v)
{
	json_t *clock = json_object_get(obj, field);
	char *s;

	json_incref(clock);
	json_object_del(obj, field);
	s = status_dump(v, NULL);
	sb_adds(k, s);
	sb_addc(k, '\n');
	free(s);
	if (clock != NULL)
		json_object_set_new(obj, field, clock);
}

/* The rendered activity is the key's text with "now" put back in front:
 * one dump of the whole crew per publish, not two. */
static char *
with_now(const char *obj, size_t len, int64_t now, size_t *outlen)
{
	struct sb b = { 0 };

	sb_addf(&b, "{\"now\":%lld", (long long)now);
	if (len > 2)
		sb_addc(&b, ',');
	sb_add(&b, obj + 1, len - 1);
	*outlen = b.len;
	return sb_detach(&b);
}

int
plane_publish(struct plane *p, const struct agent_status *as, size_t n,
    const struct status_crew *c, int64_t now)
{
	json_t *act, *health, *changes;
	struct sb key = { 0 };
	char *ak, *ab, *hb, *cb;
	size_t akl, al, hl, cl;
	int code = 200, rc = 0;

	act = status_activity(as, n, c, now);
	health = status_health_json(as, n, c, now, &code);
	changes = status_changes(json_deep_copy(p->commits), as, n, c, now);
	status_redact_json(act, p->redact, p->redact_arg);
	status_redact_json(health, p->redact, p->redact_arg);
	status_redact_json(changes, p->redact, p->redact_arg);

	json_object_del(act, "now");
	ak = status_dump(act, &akl);
	hb = status_dump(health, &hl);
	sb_add(&key, ak, akl);
	sb_addc(&key, '\n');
	sb_add(&key, hb, hl);
	sb_addc(&key, '\n');
	add_key(&key, json_object_get(changes, "keeper"), "now", changes);
	if (p->key != NULL && strcmp(p->key, key.buf) == 0) {
		sb_release(&key);
		free(ak);
		free(hb);
		goto done;
	}
	free(p->key);
	p->key = sb_detach(&key);
	ab = with_now(ak, akl, now, &al);
	free(ak);
	cb = status_dump(changes, &cl);
	snapshot_publish(p->store, snapshot_new(ab, al, hb, hl, code, cb, cl));
	rc = 1;
done:
	json_decref(act);
	json_decref(health);
	json_decref(changes);
	return rc;
}

/*
 * The daemon glue: snapshots are published on the daemon's coalesced
 * status-changed hook, and by a one-shot timer armed for the first moment
 * an agent's health can change with time alone (status_health_next()), so
 * an idle crew costs no wakeups; plane_publish() drops snapshots where
 * nothing but the clock moved. A big crew is rendered on the plane's own
 * thread (render()). The commit feed is re-read on the pool at start and
 * whenever a tick finishes (its commit, if any, is made before the tick
 * is rescheduled), never per request.
 */
#define WEB_TICK_MIN_MS	50	/* never re-arm sooner than this */
#define WEB_FEED_MAX	50
/* A crew this big is rendered on the plane's thread, so that timers
 * never wait behind a render (500 agents took 5-8 ms on the loop); a
 * smaller one on the loop, at once. */
#define WEB_THREAD_AGENTS	50
#define WEB_TRIM_AGENTS		1000	/* and after one this big, trim */

/*
 * A render on the plane's thread works on a deep copy of the statuses,
 * so the workers move on while it runs. One job is out at a time; while
 * it is, the plane, its redactor and its commit feed are the thread's,
 * else the loop's. One thread, not the pool: the render's memory stays
 * in one malloc arena, reused render after render (on the pool each
 * thread kept its own: 10,000 agents grew the daemon by 70 MB).
 */
struct render {
	struct plane_web	*w;
	struct agent_status	*st;
	size_t			 n;
	struct status_crew	 c;
	struct status_sentinel	 sentinel;
	char			*name, *error;
	int64_t			 now;
	uint64_t		 ns;	/* what it took */
};

struct plane_web {
	struct daemon		*d;
	struct snapshot_store	*store;
	struct plane		*plane;
	struct http		*http;
	uv_timer_t		 tick;
	int			 tick_open;
	char			*rkey;		/* patterns the redactor has */
	struct redactor		*redactor;
	uv_work_t		 feed;
	int			 feed_busy, feed_again;
	char			*feed_repo;
	json_t			*feed_out;
	char			 feed_err[256];
	uint64_t		 sched_seen;	/* sum of next ticks, last publish */
	struct agent_status	*st;
	size_t			 stcap;
	uv_thread_t		 th;
	int			 th_up;
	uv_async_t		 done;		/* the thread finished a job */
	int			 done_open;
	uv_mutex_t		 mu;
	uv_cond_t		 cv;
	struct render		*handed;	/* given to the thread (mu) */
	struct render		*ready;		/* rendered, not taken (mu) */
	int			 quit;		/* (mu) */
	struct render		*job;		/* out, until taken back */
	int			 again;		/* publish once it is back */
	size_t			 thread_agents;	/* crews this big go there */
	json_t			*commits_next;	/* feed that came meanwhile */
	int			 stopping;
};

static char *
web_redact(void *arg, const char *text, size_t len)
{
	struct plane_web *w = arg;
	size_t n = 0;
	char *r = redact_apply(w->redactor, text, len, &n);

	if (r != NULL && n == len && memcmp(r, text, len) == 0) {
		free(r);
		return NULL;
	}
	return r;
}

/* The crew's own #+REDACT: patterns, rebuilt when they change (compared
 * by text: a reloaded crew may reuse the old one's address); a NULL
 * redactor still applies the built-in ones. */
static void
web_redactor(struct plane_web *w)
{
	const struct crew *c = w->d->crew;
	size_t n = c != NULL ? c->nredact : 0;
	const char **pats = NULL;
	struct sb key = { 0 };
	struct redactor *r;
	char err[256] = "";

	sb_adds(&key, "redact\n");
	for (size_t i = 0; i < n; i++) {
		sb_adds(&key, c->redact[i].regex);
		sb_addc(&key, '\n');
	}
	if (w->rkey != NULL && strcmp(w->rkey, key.buf) == 0) {
		sb_release(&key);
		return;
	}
	free(w->rkey);
	w->rkey = sb_detach(&key);
	if (n > 0) {
		pats = xreallocarray(NULL, n, sizeof(*pats));
		for (size_t i = 0; i < n; i++)
			pats[i] = c->redact[i].regex;
	}
	r = redact_new(pats, n, err, sizeof(err));
	free(pats);
	if (r == NULL)
		log_warnx("event=redact-error error=\"%s\"", err);
	redact_free(w->redactor);
	w->redactor = r;
	plane_set_redact(w->plane, web_redact, w);
}

static void	feed_start(struct plane_web *);
static void	on_tick(uv_timer_t *);
static void	web_maybe_free(struct plane_web *);
static void	thread_stop(struct plane_web *);

static void
render_free(struct render *j)
{
	free(j->st);
	free(j->name);
	free(j->error);
	free(j);
}

static void
render_thread(void *arg)
{
	struct plane_web *w = arg;
	struct render *j;
	uint64_t t0;

	uv_mutex_lock(&w->mu);
	for (;;) {
		while (w->handed == NULL && !w->quit)
			uv_cond_wait(&w->cv, &w->mu);
		if (w->handed == NULL)
			break;
		j = w->handed;
		w->handed = NULL;
		uv_mutex_unlock(&w->mu);
		t0 = uv_hrtime();
		(void)plane_publish(w->plane, j->st, j->n, &j->c, j->now);
		/* A render's JSON is about 5 KiB an agent, all freed by now
		 * but for the bodies kept: give the pages back. */
		if (j->n >= WEB_TRIM_AGENTS)
			(void)malloc_trim(0);
		j->ns = uv_hrtime() - t0;
		uv_mutex_lock(&w->mu);
		w->ready = j;
		uv_cond_broadcast(&w->cv);
		uv_async_send(&w->done);
	}
	uv_mutex_unlock(&w->mu);
}

/* The loop takes the job back once it is rendered (wait: block until
 * then). Returns 1 when it did. */
static int
take_back(struct plane_web *w, int wait)
{
	struct render *j;

	if (w->job == NULL)
		return 0;
	uv_mutex_lock(&w->mu);
	while (wait && w->ready == NULL)
		uv_cond_wait(&w->cv, &w->mu);
	j = w->ready;
	w->ready = NULL;
	uv_mutex_unlock(&w->mu);
	if (j == NULL)
		return 0;
	w->job = NULL;
	if (!w->stopping)
		daemon_status_cost(w->d, j->ns);
	render_free(j);
	return 1;
}

static void
done_cb(uv_async_t *h)
{
	struct plane_web *w = h->data;

	if (!take_back(w, 0) || w->stopping)
		return;
	if (w->again) {
		w->again = 0;
		daemon_status_changed(w->d);
	}
}

/* A big crew's render goes to the plane's thread (sync: and is waited
 * for), a small one's runs here. */
static void
render(struct plane_web *w, size_t n, const struct status_crew *c,
    int64_t now, int sync)
{
	struct render *j;
	uint64_t t0;

	if (n < w->thread_agents || !w->th_up) {
		t0 = uv_hrtime();
		(void)plane_publish(w->plane, w->st, n, c, now);
		daemon_status_cost(w->d, uv_hrtime() - t0);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->w = w;
	j->st = status_clone(w->st, n);
	j->n = n;
	j->c = *c;
	j->name = c->name ? xstrdup(c->name) : NULL;
	j->error = c->error ? xstrdup(c->error) : NULL;
	j->c.name = j->name;
	j->c.error = j->error;
	if (c->sentinel != NULL) {
		j->sentinel = *c->sentinel;
		j->c.sentinel = &j->sentinel;
	}
	j->now = now;
	w->job = j;
	uv_mutex_lock(&w->mu);
	w->handed = j;
	uv_cond_broadcast(&w->cv);
	uv_mutex_unlock(&w->mu);
	if (sync)
		(void)take_back(w, 1);
}

static void
web_publish(struct plane_web *w, int sync)
{
	struct daemon *d = w->d;
	struct status_crew c = { 0 };
	size_t n = d->nworkers;
	uint64_t sched = 0;
	int64_t now, next = 0;

	if (w->stopping)
		return;
	if (w->job != NULL && !sync) {
		w->again = 1;		/* done_cb() asks again */
		return;
	}
	(void)take_back(w, 1);	/* sync: the plane is the loop's again */
	w->again = 0;		/* this one shows the latest */
	web_redactor(w);
	if (w->commits_next != NULL) {
		plane_set_commits(w->plane, w->commits_next);
		w->commits_next = NULL;
	}
	if (n > w->stcap) {
		w->st = xreallocarray(w->st, n, sizeof(*w->st));
		w->stcap = n;
	}
	for (size_t i = 0; i < n; i++) {
		worker_status(d->workers[i], &w->st[i]);
		sched += (uint64_t)w->st[i].next_tick_ms;
	}
	c.name = d->crew != NULL ? d->crew->title : NULL;
	c.error = d->crew_error;
	c.boot_ms = d->boot_ms;
	c.grace_ms = d->crew != NULL ? d->crew->boot_grace_ms : 0;
	c.sentinel = service_sentinel(d->svc);
	now = util_now_ms();
	render(w, n, &c, now, sync);
	for (size_t i = 0; i < n; i++) {
		int64_t t = status_health_next(&w->st[i], now, c.boot_ms,
		    c.grace_ms);

		if (t > 0 && (next == 0 || t < next))
			next = t;
	}
	if (w->tick_open) {
		if (next == 0)
			uv_timer_stop(&w->tick);
		else
			uv_timer_start(&w->tick, on_tick, (uint64_t)(next - now <
			    WEB_TICK_MIN_MS ? WEB_TICK_MIN_MS : next - now), 0);
	}
	/* A tick is rescheduled only once it has finished, its commit
	 * included: a changed schedule means the feed may have moved. */
	if (sched != w->sched_seen)
		feed_start(w);
	w->sched_seen = sched;
}

static void
on_status(struct daemon *d, int sync, void *arg)
{
	(void)d;
	web_publish(arg, sync);
}

static void
on_tick(uv_timer_t *t)
{
	struct plane_web *w = t->data;

	daemon_status_changed(w->d);	/* spaced like every other publish */
}

static void
web_maybe_free(struct plane_web *w)
{
	if (!w->stopping || w->tick_open || w->feed_busy || w->done_open)
		return;
	json_decref(w->feed_out);
	json_decref(w->commits_next);
	uv_mutex_destroy(&w->mu);
	uv_cond_destroy(&w->cv);
	free(w->feed_repo);
	free(w->st);
	free(w->rkey);
	redact_free(w->redactor);
	plane_free(w->plane);
	snapshot_store_free(w->store);
	free(w);
}

static void
tick_closed(uv_handle_t *h)
{
	struct plane_web *w = h->data;

	w->tick_open = 0;
	web_maybe_free(w);
}

static void
done_closed(uv_handle_t *h)
{
	struct plane_web *w = h->data;

	w->done_open = 0;
	web_maybe_free(w);
}

/* The thread finishes the render it has, if any, and is joined; the
 * struct is freed once the handles have closed. */
static void
thread_stop(struct plane_web *w)
{
	if (w->th_up) {
		uv_mutex_lock(&w->mu);
		w->quit = 1;
		uv_cond_broadcast(&w->cv);
		uv_mutex_unlock(&w->mu);
		uv_thread_join(&w->th);
		w->th_up = 0;
		(void)take_back(w, 0);
	}
	if (w->done_open)
		uv_close((uv_handle_t *)&w->done, done_closed);
	else
		web_maybe_free(w);
}

/* Thread pool: read the feed with the repo's own read-only handle. */
static void
feed_work(uv_work_t *req)
{
	struct plane_web *w = req->data;
	struct repo_change *v = NULL;
	size_t n = 0;
	json_t *a, *e;
	size_t i;

	w->feed_out = NULL;
	if (repo_changes_at(w->feed_repo, WEB_FEED_MAX, &v, &n, w->feed_err,
	    sizeof(w->feed_err)) != 0)
		return;
	a = repo_changes_json(v, n);
	repo_changes_free(v, n);
	/* The plane speaks unix milliseconds; the feed, git's seconds. */
	json_array_foreach(a, i, e) {
		json_t *t = json_object_get(e, "time");

		if (json_is_integer(t))
			json_object_set_new(e, "time",
			    json_integer(json_integer_value(t) * 1000));
	}
	w->feed_out = a;
}

static void
feed_done(uv_work_t *req, int status)
{
	struct plane_web *w = req->data;

	w->feed_busy = 0;
	if (w->stopping) {
		web_maybe_free(w);
		return;
	}
	if (status == 0 && w->feed_out != NULL) {
		if (w->job != NULL) {	/* a render has the plane: later */
			json_decref(w->commits_next);
			w->commits_next = w->feed_out;
		} else
			plane_set_commits(w->plane, w->feed_out);
		w->feed_out = NULL;
		daemon_status_changed(w->d);
	} else if (status == 0)
		log_debug("event=changes-failed error=%s", log_qv(w->feed_err));
	if (w->feed_again) {
		w->feed_again = 0;
		feed_start(w);
	}
}

static void
feed_start(struct plane_web *w)
{
	if (w->stopping)
		return;
	if (w->feed_busy) {
		w->feed_again = 1;
		return;
	}
	free(w->feed_repo);
	w->feed_repo = xstrdup(w->d->repo);
	w->feed.data = w;
	if (uv_queue_work(w->d->loop, &w->feed, feed_work, feed_done) == 0)
		w->feed_busy = 1;
}

int
plane_start(struct daemon *d, struct plane_web **out, char *err,
    size_t errlen)
{
	struct plane_web *w = xcalloc(1, sizeof(*w));

	*out = NULL;
	w->d = d;
	w->store = snapshot_store_new();
	w->plane = plane_new(w->store, NULL, NULL);
	uv_mutex_init(&w->mu);
	uv_cond_init(&w->cv);
	uv_async_init(d->loop, &w->done, done_cb);
	w->done.data = w;
	w->done_open = 1;
	w->th_up = uv_thread_create(&w->th, render_thread, w) == 0;
	/* TEST-ONLY: every render on the thread, however small the crew. */
	w->thread_agents = getenv("KEEPER_TEST_RENDER_THREAD") ? 0 :
	    WEB_THREAD_AGENTS;
	web_publish(w, 1);	/* no request ever sees an empty snapshot */
	w->http = http_start(d->opts.listen, w->store, NULL, err, errlen);
	if (w->http == NULL)
		goto fail;
	log_info("event=http-listen addr=%s", http_addr(w->http));
	uv_timer_init(d->loop, &w->tick);
	w->tick.data = w;
	w->tick_open = 1;
	web_publish(w, 1);	/* arms the tick */
	daemon_set_status_cb(d, on_status, w);
	feed_start(w);
	*out = w;
	return 0;
fail:
	http_stop(w->http);
	w->http = NULL;
	w->stopping = 1;
	thread_stop(w);
	return -1;
}

void
plane_ready(struct plane_web *w)
{
	char err[512];

	if (http_write_addr(w->http, w->d->data, err, sizeof(err)) != 0)
		log_warnx("event=http-addr-failed error=\"%s\"", err);
}

void
plane_stop(struct plane_web *w)
{
	if (w == NULL)
		return;
	daemon_set_status_cb(w->d, NULL, NULL);
	w->stopping = 1;
	http_stop(w->http);
	w->http = NULL;
	if (w->tick_open)
		uv_close((uv_handle_t *)&w->tick, tick_closed);
	thread_stop(w);
}
