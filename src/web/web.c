/*
 * web: the HTTP plane glued to the daemon (see web.h). Snapshots are
 * published when the daemon says something changed, spaced by the pacer
 * (pacer.h), and by a one-shot timer armed for the first moment an
 * agent's health can change with time alone (status_health_next()), so an
 * idle crew costs no wakeups; render_publish() drops snapshots where
 * nothing but the clock moved. A big crew is rendered on the web's own
 * thread (render()). The commit feed is re-read on the pool at start and
 * whenever a tick finishes (its commit, if any, is made before the tick
 * is rescheduled), never per request.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "daemon.h"
#include "gate.h"
#include "http.h"
#include "log.h"
#include "pacer.h"
#include "redact.h"
#include "render.h"
#include "repo.h"
#include "runview.h"
#include "settings.h"
#include "store.h"
#include "tally.h"
#include "util.h"
#include "version.h"
#include "web.h"
#include "worker.h"

#define WEB_TICK_MIN_MS	50	/* never re-arm sooner than this */
#define WEB_FEED_MAX	50
/* A crew this big is rendered on the web's thread, so that timers never
 * wait behind a render (500 agents took 5-8 ms on the loop); a smaller one
 * on the loop, at once. */
#define WEB_THREAD_AGENTS	50
#define WEB_TRIM_AGENTS		1000	/* and after one this big, trim */

/*
 * A render on the web's thread works on a deep copy of the statuses, so
 * the workers move on while it runs. One job is out at a time; while it
 * is, the render, its redactor and its commit feed are the thread's, else
 * the loop's. One thread, not the pool: the render's memory stays in one
 * malloc arena, reused render after render (on the pool each thread kept
 * its own: 10,000 agents grew the daemon by 70 MB).
 */
struct job {
	struct web		*w;
	struct agent_status	*st;
	size_t			 n;
	struct status_crew	 c;
	struct status_sentinel	 sentinel;
	char			*name, *error, *notice, *history_error,
				*role, *active;
	struct metrics_agent	*ma;	/* names point into st */
	struct metrics_crew	 mc;
	char			*timeline;
	char			*agenda;
	struct render_more	 more;
	int64_t			 now;
	uint64_t		 ns;	/* what it took */
};

/* The history of the last day, read on the pool at start for the
 * dashboard (tally_seed()): plain copies of the rows. */
struct seed_row {
	char			*agent, *run_id, *error, *trigger;
	enum outcome		 outcome;
	int64_t			 scheduled_ms, started_ms, duration_ms;
};

struct web {
	struct daemon		*d;
	uv_loop_t		*loop;
	struct snapshot_store	*store;
	struct render		*render;
	struct http		*http;
	struct runview		*runs;		/* GET /_runs/ID */
	struct pacer		 pacer;
	uv_timer_t		 pace;		/* a publish held by the pacer */
	int			 pace_open, pending;
	uv_timer_t		 tick;		/* health that decays with time */
	int			 tick_open;
	struct redactor		*redactor;	/* referenced: the daemon's */
	web_sentinel_fn		 sentinel;
	void			*sentinel_arg;
	int			 addr_written;
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
	struct job		*handed;	/* given to the thread (mu) */
	struct job		*ready;		/* rendered, not taken (mu) */
	int			 quit;		/* (mu) */
	struct job		*job;		/* out, until taken back */
	int			 again;		/* publish once it is back */
	size_t			 thread_agents;	/* crews this big go there */
	json_t			*commits_next;	/* feed that came meanwhile */
	int			 stopping;

	/* /metrics and /_timeline (tally.h). */
	struct tally		*tally;
	struct metrics_agent	*ma;
	size_t			 macap;
	char			*tl_body;	/* the last /_timeline built */
	size_t			 tl_len;
	uint64_t		 tl_version;
	int64_t			 tl_slot;
	/* /_agenda (agenda.h): built again when a next tick moved or the
	 * minute did, at most once a second. */
	char			*ag_body;
	size_t			 ag_len;
	uint64_t		 ag_key, ag_version;
	int64_t			 ag_built;
	uv_work_t		 seed;
	int			 seed_busy;
	char			*seed_db;
	int64_t			 seed_since, seed_before;
	struct seed_row		*seed_rows;
	size_t			 nseed, seedcap;
};

static void	changed(struct web *);
static void	feed_start(struct web *);
static void	on_tick(uv_timer_t *);
static void	web_maybe_free(struct web *);
static void	thread_stop(struct web *);

static char *
web_redact(void *arg, const char *text, size_t len)
{
	struct web *w = arg;
	size_t n = 0;
	char *r = redact_apply(w->redactor, text, len, &n);

	if (r != NULL && n == len && memcmp(r, text, len) == 0) {
		free(r);
		return NULL;
	}
	return r;
}

/* The daemon's redactor (the built-ins and the crew's #+REDACT:), taken
 * again when a reload replaced it. Only while no job is out. */
static void
take_redactor(struct web *w)
{
	struct redactor *r = daemon_redactor(w->d);

	if (r == w->redactor)
		return;
	redact_free(w->redactor);
	w->redactor = redact_ref(r);
	render_set_redact(w->render, web_redact, w);
	tally_redo(w->tally);	/* the day's errors, with the new patterns */
}

static void
job_free(struct job *j)
{
	free(j->st);
	free(j->name);
	free(j->error);
	free(j->notice);
	free(j->history_error);
	free(j->role);
	free(j->active);
	free(j->ma);
	free(j->timeline);
	free(j->agenda);
	free(j);
}

static void
render_thread(void *arg)
{
	struct web *w = arg;
	struct job *j;
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
		(void)render_publish(w->render, j->st, j->n, &j->c, &j->more,
		    j->now);
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
take_back(struct web *w, int wait)
{
	struct job *j;

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
		pacer_render_cost(&w->pacer, j->ns);
	job_free(j);
	return 1;
}

static void
done_cb(uv_async_t *h)
{
	struct web *w = h->data;

	if (!take_back(w, 0) || w->stopping)
		return;
	if (w->again) {
		w->again = 0;
		changed(w);
	}
}

/* A big crew's render goes to the web's thread (sync: and is waited for),
 * a small one's runs here. */
static void
render(struct web *w, size_t n, const struct status_crew *c,
    const struct render_more *more, int64_t now, int sync)
{
	struct job *j;
	uint64_t t0;

	if (n < w->thread_agents || !w->th_up) {
		t0 = uv_hrtime();
		(void)render_publish(w->render, w->st, n, c, more, now);
		pacer_render_cost(&w->pacer, uv_hrtime() - t0);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->w = w;
	j->st = status_clone(w->st, n);
	j->n = n;
	/* The thread's own copies: the series name the cloned agents. */
	j->ma = xreallocarray(NULL, n ? n : 1, sizeof(*j->ma));
	memcpy(j->ma, more->metrics, n * sizeof(*j->ma));
	for (size_t i = 0; i < n; i++)
		j->ma[i].name = j->st[i].name;
	j->mc = *more->crew;
	j->timeline = xmalloc(more->timeline_len + 1);
	memcpy(j->timeline, more->timeline, more->timeline_len);
	j->timeline[more->timeline_len] = '\0';
	j->more = *more;
	j->more.metrics = j->ma;
	j->more.crew = &j->mc;
	j->more.timeline = j->timeline;
	if (more->agenda != NULL) {
		j->agenda = xmalloc(more->agenda_len + 1);
		memcpy(j->agenda, more->agenda, more->agenda_len);
		j->agenda[more->agenda_len] = '\0';
		j->more.agenda = j->agenda;
	}
	j->c = *c;
	/* The crew's strings are the loop's: the job takes copies. */
	j->name = c->name ? xstrdup(c->name) : NULL;
	j->error = c->error ? xstrdup(c->error) : NULL;
	j->notice = c->notice ? xstrdup(c->notice) : NULL;
	j->history_error = c->history_error ? xstrdup(c->history_error) :
	    NULL;
	j->c.name = j->name;
	j->c.error = j->error;
	j->c.notice = j->notice;
	j->c.history_error = j->history_error;
	j->role = c->role ? xstrdup(c->role) : NULL;
	j->active = c->active ? xstrdup(c->active) : NULL;
	j->c.role = j->role;
	j->c.active = j->active;
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

static const struct status_sentinel *
sentinel_counts(struct web *w)
{
	/* Before housekeeping starts nothing has been repaired: zeros, so
	 * /_health has one shape from the first snapshot on. */
	static const struct status_sentinel none;

	return w->sentinel ? w->sentinel(w->sentinel_arg) : &none;
}

/* GET /_agenda's body: the next 24 hours (SPEC §10). */
static void
agenda_of(struct web *w, size_t n, int64_t now)
{
	uint64_t key = (uint64_t)(now / 60000);
	json_t *doc;

	for (size_t i = 0; i < n; i++)
		key = key * 31 + (uint64_t)w->st[i].next_tick_ms +
		    (uint64_t)w->st[i].paused;
	if (w->ag_body != NULL && (key == w->ag_key || now - w->ag_built <
	    1000))
		return;
	doc = daemon_agenda(w->d, now, now + 24 * 3600000LL);
	free(w->ag_body);
	w->ag_body = status_dump(doc, &w->ag_len);
	json_decref(doc);
	w->ag_key = key;
	w->ag_built = now;
	w->ag_version++;
}

/* What the snapshot carries beside the status (render.h): the agents'
 * series and the day's body, built again only when the tally moved or
 * the window's slot did. */
static void
more_of(struct web *w, size_t n, const struct status_crew *c, int64_t now,
    struct metrics_crew *mc, struct render_more *more)
{
	struct gate *g = daemon_gate(w->d);
	int64_t slot = now / TIMELINE_SLOT_MS;

	if (n > w->macap) {
		w->ma = xreallocarray(w->ma, n, sizeof(*w->ma));
		w->macap = n;
	}
	tally_gate(w->tally, g->used, (int)g->nwait, now);
	tally_metrics(w->tally, w->st, n, w->ma, now, c->boot_ms,
	    c->grace_ms);
	memset(mc, 0, sizeof(*mc));
	mc->gate_slots = g->slots;
	mc->gate_used = g->used;
	mc->gate_waiting = g->nwait;
	/* SPEC §12: without a lease this keeper is the active one. */
	mc->active = !status_standby(c);
	mc->boot_ms = c->boot_ms;
	mc->version = keeper_version;
	if (w->tl_body == NULL || tally_version(w->tally) != w->tl_version ||
	    slot != w->tl_slot) {
		free(w->tl_body);
		w->tl_body = tally_timeline(w->tally, w->st, n, g->slots, now,
		    web_redact, w, &w->tl_len);
		w->tl_version = tally_version(w->tally);
		w->tl_slot = slot;
	}
	more->metrics = w->ma;
	more->crew = mc;
	more->timeline = w->tl_body;
	more->timeline_len = w->tl_len;
	agenda_of(w, n, now);
	more->agenda = w->ag_body;
	more->agenda_len = w->ag_len;
	more->version = w->tl_version ^ ((uint64_t)slot << 40) ^
	    (w->ag_version << 20);
}

static void
publish_now(struct web *w, int sync)
{
	size_t n = daemon_nworkers(w->d);
	struct status_crew c;
	struct metrics_crew mc;
	struct render_more more;
	uint64_t sched = 0;
	int64_t now, next = 0;

	if (w->stopping)
		return;
	if (w->job != NULL && !sync) {
		w->again = 1;		/* done_cb() asks again */
		return;
	}
	(void)take_back(w, 1);	/* sync: the render is the loop's again */
	w->again = 0;		/* this one shows the latest */
	take_redactor(w);
	if (w->commits_next != NULL) {
		render_set_commits(w->render, w->commits_next);
		w->commits_next = NULL;
	}
	if (n > w->stcap) {
		w->st = xreallocarray(w->st, n, sizeof(*w->st));
		w->stcap = n;
	}
	for (size_t i = 0; i < n; i++) {
		worker_status(daemon_worker(w->d, i), &w->st[i]);
		sched += (uint64_t)w->st[i].next_tick_ms;
	}
	daemon_status_crew(w->d, &c);
	c.sentinel = sentinel_counts(w);
	now = util_now_ms();
	more_of(w, n, &c, now, &mc, &more);
	render(w, n, &c, &more, now, sync);
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

/* One publish, and the pacer told what it cost. */
static void
publish(struct web *w, int sync)
{
	uint64_t t0 = uv_hrtime();

	w->pending = 0;
	publish_now(w, sync);
	uv_update_time(w->loop);
	pacer_published(&w->pacer, uv_hrtime() - t0, uv_now(w->loop));
}

static void
pace_cb(uv_timer_t *t)
{
	publish(t->data, 0);
}

/* Something changed: publish at once when the last publish is long
 * past, else once the pacer's gap has passed. */
static void
changed(struct web *w)
{
	if (w->pending || !w->pace_open)
		return;
	w->pending = 1;
	uv_timer_start(&w->pace, pace_cb, pacer_wait(&w->pacer,
	    uv_now(w->loop)), 0);
}

/* A tick ended: publish now if the gap has passed, else as changed(). */
static void
settled(struct web *w)
{
	uv_update_time(w->loop);
	if (pacer_due(&w->pacer, uv_now(w->loop))) {
		uv_timer_stop(&w->pace);
		publish(w, 0);
	} else
		changed(w);
}

static void
write_addr(struct web *w)
{
	char err[512];

	if (w->addr_written)
		return;
	w->addr_written = 1;
	if (http_write_addr(w->http, daemon_data(w->d), err, sizeof(err)) != 0)
		log_warnx("event=http-addr-failed error=\"%s\"", err);
}

/* A tick ended: count it for /metrics and draw it on the day. */
static void
tick_done(struct web *w, struct worker *wk)
{
	struct worker_last l;
	struct tally_run r;

	worker_last(wk, &l);
	r = (struct tally_run){ .run_id = l.run_id, .trigger = l.trigger,
	    .outcome = l.outcome, .scheduled_ms = l.scheduled_ms,
	    .started_ms = l.started_ms, .duration_ms = l.duration_ms,
	    .tokens_prompt = l.tokens_prompt,
	    .tokens_completion = l.tokens_completion,
	    .committed = l.commit_id != NULL, .missed = l.missed,
	    .error = l.error, .in_gate = daemon_gate(w->d)->slots > 0 };
	tally_tick(w->tally, worker_name(wk), &r, util_now_ms());
	changed(w);
}

static void
on_daemon(struct daemon *d, enum daemon_event ev, struct worker *wk,
    void *arg)
{
	struct web *w = arg;

	(void)d;
	(void)wk;
	if (w->stopping)
		return;
	switch (ev) {
	case DAEMON_CHANGED:
		changed(w);
		break;
	case DAEMON_SETTLED:
		settled(w);
		break;
	case DAEMON_FLUSH:
		/* Always: a render still in flight may not be out yet. */
		uv_timer_stop(&w->pace);
		publish(w, 1);
		break;
	case DAEMON_READY:
		write_addr(w);	/* up, signals handled */
		break;
	case DAEMON_TICK_DONE:
		tick_done(w, wk);
		break;
	case DAEMON_BUDGET:
	case DAEMON_RELOADING:
	case DAEMON_STOPPING:
		break;
	}
}

static void
on_tick(uv_timer_t *t)
{
	changed(t->data);	/* spaced like every other publish */
}

static void
seed_rows_free(struct web *w)
{
	for (size_t i = 0; i < w->nseed; i++) {
		free(w->seed_rows[i].agent);
		free(w->seed_rows[i].run_id);
		free(w->seed_rows[i].error);
		free(w->seed_rows[i].trigger);
	}
	free(w->seed_rows);
	w->seed_rows = NULL;
	w->nseed = w->seedcap = 0;
}

static void
web_maybe_free(struct web *w)
{
	if (!w->stopping || w->tick_open || w->pace_open || w->feed_busy ||
	    w->done_open || w->seed_busy)
		return;
	seed_rows_free(w);
	free(w->seed_db);
	tally_free(w->tally);
	free(w->ma);
	free(w->tl_body);
	free(w->ag_body);
	json_decref(w->feed_out);
	json_decref(w->commits_next);
	uv_mutex_destroy(&w->mu);
	uv_cond_destroy(&w->cv);
	free(w->feed_repo);
	free(w->st);
	redact_free(w->redactor);
	render_free(w->render);
	snapshot_store_free(w->store);
	free(w);
}

static void
tick_closed(uv_handle_t *h)
{
	struct web *w = h->data;

	w->tick_open = 0;
	web_maybe_free(w);
}

static void
pace_closed(uv_handle_t *h)
{
	struct web *w = h->data;

	w->pace_open = 0;
	web_maybe_free(w);
}

static void
done_closed(uv_handle_t *h)
{
	struct web *w = h->data;

	w->done_open = 0;
	web_maybe_free(w);
}

/* The thread finishes the render it has, if any, and is joined; the
 * struct is freed once the handles have closed. */
static void
thread_stop(struct web *w)
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
	struct web *w = req->data;
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
	struct web *w = req->data;

	w->feed_busy = 0;
	if (w->stopping) {
		web_maybe_free(w);
		return;
	}
	if (status == 0 && w->feed_out != NULL) {
		if (w->job != NULL) {	/* a render has the feed: later */
			json_decref(w->commits_next);
			w->commits_next = w->feed_out;
		} else
			render_set_commits(w->render, w->feed_out);
		w->feed_out = NULL;
		changed(w);
	} else if (status == 0)
		log_debug("event=changes-failed error=%s", log_qv(w->feed_err));
	if (w->feed_again) {
		w->feed_again = 0;
		feed_start(w);
	}
}

static void
feed_start(struct web *w)
{
	if (w->stopping)
		return;
	if (w->feed_busy) {
		w->feed_again = 1;
		return;
	}
	free(w->feed_repo);
	w->feed_repo = xstrdup(daemon_repo(w->d));
	w->feed.data = w;
	if (uv_queue_work(w->loop, &w->feed, feed_work, feed_done) == 0)
		w->feed_busy = 1;
}

/*
 * The dashboard's day from history: read once at start, on the pool
 * with a connection of its own (the loop's is the daemon's), the rows
 * that ended before the web started hearing of ticks: what ended later
 * comes as TICK_DONE, so nothing is counted twice.
 */
static void
seed_row(const struct run_rec *r, void *arg)
{
	struct web *w = arg;
	struct seed_row *s;

	if (r->ended_ms >= w->seed_before || strcmp(r->agent, "(crew)") == 0)
		return;
	if (w->nseed == w->seedcap) {
		w->seedcap = w->seedcap ? w->seedcap * 2 : 256;
		w->seed_rows = xreallocarray(w->seed_rows, w->seedcap,
		    sizeof(*w->seed_rows));
	}
	s = &w->seed_rows[w->nseed++];
	s->agent = xstrdup(r->agent);
	s->run_id = xasprintf("%lld", (long long)r->id);
	s->error = r->error ? xstrdup(r->error) : NULL;
	s->trigger = r->trigger ? xstrdup(r->trigger) : NULL;
	s->outcome = r->outcome;
	s->scheduled_ms = r->scheduled_ms;
	s->started_ms = r->started_ms;
	s->duration_ms = r->started_ms ? r->duration_ms : -1;
}

static void
seed_work(uv_work_t *req)
{
	struct web *w = req->data;
	struct store *st = NULL;
	char err[512];

	if (access(w->seed_db, F_OK) != 0)
		return;
	if (store_open(w->seed_db, &st, err, sizeof(err)) != 0) {
		log_warnx("event=timeline-seed-failed error=%s", log_qv(err));
		return;
	}
	if (store_runs_since(st, w->seed_since, seed_row, w) < 0)
		log_warnx("event=timeline-seed-failed error=%s",
		    log_qv(store_errmsg(st)));
	store_close(st);
}

static void
seed_done(uv_work_t *req, int status)
{
	struct web *w = req->data;
	int64_t now = util_now_ms();
	int gated = daemon_gate(w->d)->slots > 0;

	w->seed_busy = 0;
	if (w->stopping) {
		web_maybe_free(w);
		return;
	}
	for (size_t i = 0; status == 0 && i < w->nseed; i++) {
		struct seed_row *s = &w->seed_rows[i];
		struct timeline_run r = { .run_id = s->run_id,
		    .outcome = s->outcome, .at_ms = s->started_ms ?
		    s->started_ms : s->scheduled_ms,
		    .duration_ms = s->duration_ms, .error = s->error,
		    .trigger = s->trigger };

		tally_seed(w->tally, s->agent, &r, s->started_ms, gated, now);
	}
	seed_rows_free(w);
	changed(w);
}

static void
seed_start(struct web *w)
{
	w->seed_db = xasprintf("%s/keeper.db", daemon_data(w->d));
	w->seed_before = util_now_ms();
	w->seed_since = w->seed_before - TIMELINE_WINDOW_MS;
	w->seed.data = w;
	if (uv_queue_work(w->loop, &w->seed, seed_work, seed_done) == 0)
		w->seed_busy = 1;
}

void
web_set_sentinel(struct web *w, web_sentinel_fn fn, void *arg)
{
	w->sentinel = fn;
	w->sentinel_arg = arg;
}

int
web_start(struct daemon *d, struct web **out, char *err, size_t errlen)
{
	struct web *w = xcalloc(1, sizeof(*w));

	*out = NULL;
	w->d = d;
	w->loop = daemon_loop(d);
	w->store = snapshot_store_new();
	w->render = render_new(w->store, NULL, NULL);
	w->tally = tally_new();
	uv_mutex_init(&w->mu);
	uv_cond_init(&w->cv);
	uv_async_init(w->loop, &w->done, done_cb);
	w->done.data = w;
	w->done_open = 1;
	w->th_up = uv_thread_create(&w->th, render_thread, w) == 0;
	/* TEST-ONLY: every render on the thread, however small the crew. */
	w->thread_agents = daemon_settings(d)->test_render_thread ? 0 :
	    WEB_THREAD_AGENTS;
	publish_now(w, 1);	/* no request ever sees an empty snapshot */
	w->http = http_start(daemon_listen(d), w->store, NULL, err, errlen);
	if (w->http != NULL)
		http_set_fence(w->http, daemon_fence_of(d));
	if (w->http == NULL)
		goto fail;
	log_info("event=http-listen addr=%s", http_addr(w->http));
	{
		char *db = xasprintf("%s/keeper.db", daemon_data(d));

		w->runs = runview_new(db, daemon_runlive(d));
		free(db);
		http_set_runs(w->http, runview_get, w->runs);
	}
	uv_timer_init(w->loop, &w->tick);
	w->tick.data = w;
	w->tick_open = 1;
	uv_timer_init(w->loop, &w->pace);
	w->pace.data = w;
	w->pace_open = 1;
	publish_now(w, 1);	/* arms the tick */
	daemon_observe(d, on_daemon, w);
	seed_start(w);		/* after: what ends from now on is heard */
	feed_start(w);
	*out = w;
	return 0;
fail:
	http_stop(w->http);
	w->http = NULL;
	runview_free(w->runs);
	w->runs = NULL;
	w->stopping = 1;
	thread_stop(w);
	return -1;
}

void
web_stop(struct web *w)
{
	if (w == NULL)
		return;
	daemon_observe(w->d, NULL, w);
	w->stopping = 1;
	if (w->http != NULL && w->addr_written)
		http_remove_addr(w->http, daemon_data(w->d));
	http_stop(w->http);
	w->http = NULL;
	runview_free(w->runs);
	w->runs = NULL;
	if (w->tick_open)
		uv_close((uv_handle_t *)&w->tick, tick_closed);
	if (w->pace_open)
		uv_close((uv_handle_t *)&w->pace, pace_closed);
	thread_stop(w);
}

const char *
web_addr(const struct web *w)
{
	return http_addr(w->http);
}
