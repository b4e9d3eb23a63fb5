/*
 * upkeep: systemd notification, state-change and token-budget alerts,
 * result deliveries, the sentinel and housekeeping, as an observer of the
 * daemon (see upkeep.h). The logic lives in notify.c, alertstep.c and the
 * alert folder, sentinel.c and housekeep.c; this file only gathers the
 * daemon's facts, calls them and acts on what they decide.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uv.h>

#include "alerthub.h"
#include "daemon.h"
#include "gate.h"
#include "housekeep.h"
#include "log.h"
#include "notify.h"
#include "redact.h"
#include "sentinel.h"
#include "settings.h"
#include "status.h"
#include "store.h"
#include "upkeep.h"
#include "util.h"
#include "worker.h"

struct upkeep {
	struct daemon		*d;
	struct notify		 nfy;
	struct alert_hub	*alerts;
	struct alert_dests	 env_dests;	/* KEEPER_ALERT_URL's */
	struct alert_dests	 dests;		/* the hub's: env's + crew's */
	char			*dests_crew;	/* the title they went with */
	uv_timer_t		 cron;
	int			 cron_armed;
	int			 ready_sent;
	int			 closing;
	int			 open_handles;	/* freed when it reaches 0 */
	int64_t			 last_daily_ms;
	int			 pruning;	/* a daily prune in batches */
	int64_t			 pruned;
	int			 upkeep;	/* then the database, in steps */
	int			 vac_more;	/* a vacuum step left pages */
	struct hk_db_report	 vac;		/* the first step's report */
	struct sentinel_counts	 sentinel;
	struct status_sentinel	 shown;		/* the same, for /_health */
};

static void	on_daemon(struct daemon *, enum daemon_event, struct worker *,
		    void *);

/*
 * Where alerts and results go: KEEPER_ALERT_URL's destinations (with
 * KEEPER_ALERT_FORMAT as their default format) and the crew's
 * #+ALERT-URL: lines (with #+ALERT-FORMAT:), together; a destination
 * named in both gets one copy. The settings are read once; the crew's
 * come and go with reloads (sync_dests()).
 */
static void
env_dests(struct upkeep *s, const struct settings *set)
{
	char err[256];

	if (alert_hub_dests_config(set->alert_url, set->alert_format,
	    &s->env_dests, err, sizeof(err)) == 0)
		return;
	/* A bad setting must not stop the agents, nor silence the alerts
	 * it can still describe: a bad format falls back to json. */
	log_warnx("event=alert-config error=%s", log_qv(err));
	alert_dest_release(&s->env_dests);
	if (alert_hub_dests_config(set->alert_url, NULL, &s->env_dests, err,
	    sizeof(err)) == -1) {
		log_warnx("event=alert-config error=%s", log_qv(err));
		alert_dest_release(&s->env_dests);
	}
}

static void
wanted_dests(struct upkeep *s, struct alert_dests *out)
{
	const struct crew *c = daemon_crew(s->d);

	memset(out, 0, sizeof(*out));
	alert_dest_copy(out, &s->env_dests);
	if (c != NULL)
		alert_dest_append(out, &c->alerts);
}

/* A reload changed the crew's destinations (or its title): the hub
 * takes the new list, keeping its tracks and its queues. */
static void
sync_dests(struct upkeep *s)
{
	const struct crew *c = daemon_crew(s->d);
	const char *title = c ? c->title : NULL;
	struct alert_dests want;
	char err[256];

	wanted_dests(s, &want);
	if (alert_dest_equal(&want, &s->dests) && (title == s->dests_crew ||
	    (title && s->dests_crew && strcmp(title, s->dests_crew) == 0))) {
		alert_dest_release(&want);
		return;
	}
	if (alert_hub_reconfigure(s->alerts, title, &want, err,
	    sizeof(err)) == -1)
		log_warnx("event=alert-config error=%s", log_qv(err));
	log_info("event=alert-destinations count=%zu", want.n);
	alert_dest_release(&s->dests);
	s->dests = want;
	free(s->dests_crew);
	s->dests_crew = title ? xstrdup(title) : NULL;
}

struct upkeep *
upkeep_new(struct daemon *d)
{
	struct upkeep *s = xcalloc(1, sizeof(*s));
	const struct crew *c = daemon_crew(d);
	const struct settings *set = daemon_settings(d);
	struct alert_policy p;
	char err[256];

	s->d = d;
	/* The notify variables are the daemon's, not its agents'. */
	notify_unset_env();
	if (notify_init(&s->nfy, set->notify_socket, set->watchdog_usec,
	    set->watchdog_pid, err, sizeof(err)) == -1)
		log_warnx("event=notify-disabled error=%s", log_qv(err));
	else if (notify_enabled(&s->nfy))
		log_debug("event=notify socket=%s watchdog_ms=%" PRId64,
		    log_qv(s->nfy.sockname), s->nfy.watchdog_ms);
	if (alert_hub_config(set->alert_after, set->alert_gap, &p, err,
	    sizeof(err)) == -1) {
		/* A bad alert setting must not stop the agents: alert with
		 * the defaults, and say so. */
		log_warnx("event=alert-config error=%s", log_qv(err));
		alert_policy_default(&p);
	}
	env_dests(s, set);
	wanted_dests(s, &s->dests);
	s->dests_crew = c && c->title ? xstrdup(c->title) : NULL;
	s->alerts = alert_hub_new_dests(s->dests_crew, &s->dests, &p, err,
	    sizeof(err));
	if (s->alerts == NULL) {
		log_warnx("event=alert-config error=%s", log_qv(err));
		alert_dest_release(&s->dests);
		s->alerts = alert_hub_new_dests(s->dests_crew, NULL, &p, err,
		    sizeof(err));
		if (s->alerts == NULL)
			fatalx("alerts: %s", err);
	}
	daemon_observe(d, on_daemon, s);
	return s;
}

/* ---- alerts ---- */

/* One observation for the hub; an alert it decides on is recorded. */
static void
alert_on(struct upkeep *s, const struct alert_input *in)
{
	struct store *st = daemon_store(s->d);
	struct alert a;
	char *text;

	if (!alert_hub_observe(s->alerts, in, &a))
		return;
	text = alert_text(&a);
	if (st != NULL && store_alert(st, a.id, a.agent,
	    alert_state_name(a.from), alert_state_name(a.to), a.fail_streak,
	    a.suppressed, a.at_ms, a.run_id, text) == -1)
		log_warnx("agent=%s event=alert-record-failed error=%s",
		    log_qv(a.agent), log_qv(store_errmsg(st)));
	free(text);
}

/* One line in run id's delivery column (store.h), stamped with when. */
static void
note_delivery(struct upkeep *s, const char *run_id, const char *what)
{
	struct store *st = daemon_store(s->d);
	char *end, at[32], *line;
	long long id;
	time_t now = (time_t)(util_now_ms() / 1000);
	struct tm tm;

	if (st == NULL || run_id == NULL || *run_id == '\0')
		return;
	id = strtoll(run_id, &end, 10);
	if (*end != '\0' || id <= 0)
		return;		/* no history row (p... ids) */
	gmtime_r(&now, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = xasprintf("%s %s", at, what);
	if (store_note_delivery(st, id, line) == -1)
		log_warnx("event=delivery-record-failed run=%s error=%s",
		    run_id, log_qv(store_errmsg(st)));
	free(line);
}

/* What the lanes made of the results since the last look. */
static void
note_reports(struct upkeep *s)
{
	struct alert_hub_report *r = NULL;
	uint64_t lost = 0;
	size_t n;
	char *what;

	if (s->alerts == NULL ||
	    (n = alert_hub_take_reports(s->alerts, &r, &lost)) == 0) {
		if (lost > 0)
			log_warnx("event=delivery-reports-lost count=%llu",
			    (unsigned long long)lost);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		switch (r[i].event) {
		case ALERT_QUEUE_SENT:
			what = r[i].attempts > 1 ? xasprintf("%s: delivered "
			    "after %d tries", r[i].dest, r[i].attempts) :
			    xasprintf("%s: delivered", r[i].dest);
			break;
		case ALERT_QUEUE_RETRYING:
			what = xasprintf("%s: %s, retrying", r[i].dest,
			    r[i].why);
			break;
		case ALERT_QUEUE_REFUSED:
			what = xasprintf("%s: refused (%s), not sent",
			    r[i].dest, r[i].why);
			break;
		case ALERT_QUEUE_EXPIRED:
			what = xasprintf("%s: given up after %d tries (%s)",
			    r[i].dest, r[i].attempts, r[i].why);
			break;
		default:
			what = xasprintf("%s: dropped (%s)", r[i].dest,
			    r[i].why);
			break;
		}
		note_delivery(s, r[i].run_id, what);
		free(what);
	}
	if (lost > 0)
		log_warnx("event=delivery-reports-lost count=%llu",
		    (unsigned long long)lost);
	free(r);
}

/* ---- results (dual delivery) ---- */

/*
 * A member's :NOTIFY: sends its run's result: the output, after the
 * error for a run that was not done, redacted with the daemon's
 * patterns (the worker redacted it once already; the error was not) and
 * cut to each receiver's limit by its format. The history row is the
 * audit copy; what becomes of each copy is noted beside it
 * (note_reports()), never in its outcome.
 */
static void
deliver_result(struct upkeep *s, struct worker *w)
{
	struct daemon *d = s->d;
	const struct crew_member *m = crew_find(daemon_crew(d),
	    worker_name(w));
	struct worker_last l;
	struct alert_result res;
	struct sb raw = { 0 };
	char *text;
	int n;

	if (m == NULL || m->notify == CREW_NOTIFY_NONE)
		return;
	worker_last(w, &l);
	if (!crew_notify_wants(m->notify, l.outcome))
		return;
	if (l.outcome != OUTCOME_DONE && l.error != NULL)
		sb_adds(&raw, l.error);
	if (l.result != NULL && *l.result != '\0') {
		if (raw.len > 0)
			sb_addc(&raw, '\n');
		sb_adds(&raw, l.result);
	}
	text = redact_apply(daemon_redactor(d), raw.buf ? raw.buf : "",
	    raw.len, NULL);
	sb_release(&raw);
	res = (struct alert_result){ .agent = worker_name(w),
	    .run_id = l.run_id, .outcome = outcome_name(l.outcome),
	    .text = text, .at_ms = l.ended_ms };
	n = alert_hub_result(s->alerts, &res, m->notify_dests.n > 0 ?
	    &m->notify_dests : NULL);
	free(text);
	log_info("agent=%s event=result run=%s outcome=%s copies=%d",
	    log_qv(worker_name(w)), l.run_id, outcome_name(l.outcome), n);
	if (n == 0)
		note_delivery(s, l.run_id, "not sent: no destination "
		    "(#+ALERT-URL:, :NOTIFY-URL: or KEEPER_ALERT_URL)");
}

/* SPEC §5b: a member's token budget is spent and it paused itself: one
 * alert through the same hub, recorded as the others are. */
static void
budget_spent(struct upkeep *s, struct worker *w)
{
	struct store *st = daemon_store(s->d);
	struct agent_status as;
	struct alert a;
	char *text;

	worker_status(w, &as);
	alert_hub_budget(s->alerts, worker_name(w), as.tokens_used,
	    as.token_budget, as.token_window_ms, as.paused_until_ms,
	    util_now_ms(), &a);
	text = alert_text(&a);
	if (st != NULL && store_alert(st, a.id, a.agent,
	    alert_state_name(a.from), alert_state_name(a.to), a.fail_streak,
	    a.suppressed, a.at_ms, NULL, text) == -1)
		log_warnx("agent=%s event=alert-record-failed error=%s",
		    log_qv(a.agent), log_qv(store_errmsg(st)));
	free(text);
}

static void
observe(struct upkeep *s, struct worker *w, int64_t now)
{
	struct daemon *d = s->d;
	struct agent_status as;
	struct status_crew c;
	struct alert_input in;

	memset(&as, 0, sizeof(as));
	daemon_status_crew(d, &c);
	/* A standby's members run elsewhere (SPEC §12): their health is the
	 * active keeper's to alert on. */
	if (status_standby(&c))
		return;
	worker_status(w, &as);
	in = (struct alert_input){ .agent = worker_name(w),
	    .health = status_health(&as, now, c.boot_ms, c.grace_ms),
	    .fail_streak = as.fail_streak > as.git_fail_streak ?
	    as.fail_streak : as.git_fail_streak, .run_id = worker_run_id(w),
	    .last_run_ms = as.last_run_ms, .now_ms = now,
	    .why = status_health_why(&as) };
	alert_on(s, &in);
}

/*
 * The history's own care, each second: a damaged file is moved aside and
 * started again, rows a failed write kept are written once writes work,
 * and a history that cannot be written is failing (one alert, under the
 * name "(history)", and one when it recovers).
 */
static void
care_for_history(struct upkeep *s, int64_t now)
{
	struct status_crew c;
	struct alert_input in;

	(void)daemon_upkeep_store(s->d);
	daemon_status_crew(s->d, &c);
	in = (struct alert_input){ .agent = "(history)",
	    .health = c.history_error ? HEALTH_FAILING : HEALTH_OK,
	    .fail_streak = 0, .now_ms = now, .why = c.history_error };
	alert_on(s, &in);
}

static void
tick_done(struct upkeep *s, struct worker *w)
{
	if (s->closing)
		return;
	sync_dests(s);
	/* Results go out while draining too: the run happened. */
	if (!worker_removed(w))
		deliver_result(s, w);
	/* A draining daemon arms no next tick, so its agents would look
	 * stale: no verdicts then. */
	if (daemon_draining(s->d))
		return;
	if (worker_removed(w)) {
		/* It left the crew: a member of that name added later starts
		 * from ok, like any new member. */
		alert_hub_forget(s->alerts, worker_name(w));
		return;
	}
	observe(s, w, util_now_ms());
}

/* ---- the sentinel ---- */

static void
sentinel_repair(struct upkeep *s, const struct sentinel_finding *f,
    struct worker **ws)
{
	struct daemon *d = s->d;
	const char *agent = f->kind == SENT_MISSED_TIMER ||
	    f->kind == SENT_OVERDUE_RUN ? worker_name(ws[f->worker]) : "-";
	const char *action = "?";

	switch (f->kind) {
	case SENT_MISSED_TIMER:
		action = "tick";
		daemon_tick_now(d, ws[f->worker]);
		break;
	case SENT_OVERDUE_RUN:
		action = "kill";
		worker_expire(ws[f->worker]);
		break;
	case SENT_LEAKED_SLOT:
		action = "release";
		for (int i = 0; i < f->slots; i++)
			gate_release(daemon_gate(d), util_now_ms());
		break;
	case SENT_LOST_SLOT:
		action = "recount";
		gate_recount(daemon_gate(d), daemon_gate(d)->used + f->slots,
		    util_now_ms());
		break;
	case SENT_NKINDS:
		return;
	}
	s->sentinel.n[f->kind]++;
	log_warnx("agent=%s event=sentinel kind=%s late_ms=%" PRId64
	    " slots=%d action=%s", log_qv(agent), sentinel_kind_name(f->kind),
	    f->late_ms, f->slots, action);
	daemon_changed(d);	/* /_health shows the count */
}

static void
sentinel_run(struct upkeep *s, int64_t now)
{
	struct daemon *d = s->d;
	struct sentinel_worker *facts;
	struct gate *gt = daemon_gate(d);
	struct sentinel_gate g = { .slots = gt->slots, .used = gt->used };
	struct sentinel_finding f[16];
	struct worker **ws;
	size_t n, nw = daemon_nworkers(d);

	if (nw == 0)
		return;
	/* Repairs may tick a worker, and a tick may free a removed one:
	 * work on a copy of the list. */
	ws = xcalloc(nw, sizeof(*ws));
	for (size_t i = 0; i < nw; i++)
		ws[i] = daemon_worker(d, i);
	facts = xcalloc(nw, sizeof(*facts));
	for (size_t i = 0; i < nw; i++)
		worker_sentinel_facts(ws[i], &facts[i]);
	s->sentinel.checks++;
	n = sentinel_check(facts, nw, &g, now, SENTINEL_GRACE_MS, f,
	    sizeof(f) / sizeof(f[0]));
	if (n > sizeof(f) / sizeof(f[0]))
		n = sizeof(f) / sizeof(f[0]);
	for (size_t i = 0; i < n; i++)
		sentinel_repair(s, &f[i], ws);
	free(facts);
	free(ws);
}

/* ---- housekeeping ---- */

/* One batch of the retention prune; 1 while more remain. */
static int
prune_batch(struct upkeep *s, int64_t now)
{
	struct daemon *d = s->d;
	char err[512];
	const struct crew *c = daemon_crew(d);
	struct store *st = daemon_store(d);
	int64_t n, retention = c && c->retention_ms > 0 ? c->retention_ms :
	    HK_RETENTION_MS;

	if (st == NULL)
		return 0;
	n = store_prune(st, now, retention, HK_PRUNE_BATCH, err,
	    sizeof(err));
	if (n < 0) {
		log_warnx("event=housekeep duty=prune error=%s", log_qv(err));
		return 0;
	}
	s->pruned += n;
	if (n == HK_PRUNE_BATCH)
		return 1;
	log_info("event=housekeep duty=prune rows=%" PRId64 " retention_ms=%"
	    PRId64, s->pruned, retention);
	return 0;
}

/* After the prune, one call per housekeeping run: 1 while the database
 * has more to give back (a step of incremental vacuum each time). */
static int
db_step(struct upkeep *s)
{
	struct daemon *d = s->d;
	struct hk_db_report r;
	char err[512];

	if (daemon_store(d) == NULL)
		return 0;
	if (hk_db_maintain(store_db(daemon_store(d)), HK_VACUUM_FREE_RATIO,
	    HK_VACUUM_STEP_PAGES, s->vac_more, &r, err, sizeof(err)) == -1) {
		log_warnx("event=housekeep duty=db error=%s", log_qv(err));
		s->vac_more = 0;
		return 0;
	}
	if (!s->vac_more)
		s->vac = r;		/* where the upkeep started */
	if ((s->vac_more = r.more))
		return 1;
	if (r.vacuumed || s->vac.stepped)
		log_info("event=housekeep duty=vacuum mode=%s pages_before=%"
		    PRId64 " pages_after=%" PRId64, r.vacuumed ? "full" :
		    "incremental", s->vac.pages_before, r.pages_after);
	return 0;
}

/* Last of the daily duties: the dream journals. */
static void
bound_journals(struct upkeep *s)
{
	struct daemon *d = s->d;
	char err[512], *path;
	int dropped;

	for (size_t i = 0; i < daemon_nworkers(d); i++) {
		const char *name = worker_name(daemon_worker(d, i));

		path = xasprintf("%s/dreams-%s.org", daemon_data(d), name);
		dropped = hk_bound_journal(path, HK_JOURNAL_ENTRIES,
		    HK_JOURNAL_BYTES, err, sizeof(err));
		if (dropped < 0)
			log_warnx("agent=%s event=housekeep duty=journal "
			    "error=%s", log_qv(name), log_qv(err));
		else if (dropped > 0)
			log_info("agent=%s event=housekeep duty=journal "
			    "dropped=%d", log_qv(name), dropped);
		free(path);
	}
}

/*
 * The housekeeping timer, keeper's serverCron: one uv_timer every
 * SERVICE_CRON_MS, and each duty on its own period:
 *
 *   every run   the sentinel: missed timers, overdue runs, leaked slots
 *               are detected, repaired, logged and counted;
 *   every run   health is evaluated for alerts (an agent goes stale
 *               without any tick to notice it), the alert destinations
 *               follow the crew's, and what became of each delivered
 *               result is noted beside its run;
 *   daily       history and alerts older than #+RETENTION: are pruned
 *               (HK_PRUNE_BATCH rows per run, so a long history never
 *               holds the loop), then keeper.db gives back its free
 *               pages when worth it (HK_VACUUM_STEP_PAGES per run) and
 *               is checkpointed, and each dream journal is bounded.
 *
 * (The systemd watchdog is petted by its own timer in notify.c: its
 * period comes from WATCHDOG_USEC, and it must stay trivially cheap.)
 */
static void
cron_cb(uv_timer_t *t)
{
	struct upkeep *s = t->data;
	struct daemon *d = s->d;
	int64_t now = util_now_ms();

	if (s->closing)
		return;
	note_reports(s);
	if (daemon_draining(d))
		return;
	sync_dests(s);
	sentinel_run(s, now);
	care_for_history(s, now);
	for (size_t i = 0; i < daemon_nworkers(d); i++)
		if (!worker_removed(daemon_worker(d, i)))
			observe(s, daemon_worker(d, i), now);
	if (!s->pruning && !s->upkeep && hk_due(s->last_daily_ms,
	    HK_PRUNE_PERIOD_MS, now)) {
		s->last_daily_ms = now;
		s->pruning = 1;
		s->pruned = 0;
	}
	if (s->pruning && !(s->pruning = prune_batch(s, now)))
		s->upkeep = 1;
	else if (s->upkeep && !(s->upkeep = db_step(s)))
		bound_journals(s);
}

static void
ready(struct upkeep *s)
{
	struct daemon *d = s->d;
	size_t n = daemon_nworkers(d);
	struct status_crew c;
	char *status;
	int rc;

	if (!s->cron_armed) {
		uv_timer_init(daemon_loop(d), &s->cron);
		s->cron.data = s;
		uv_timer_start(&s->cron, cron_cb, SERVICE_CRON_MS,
		    SERVICE_CRON_MS);
		/* Housekeeping never keeps a draining daemon alive. */
		uv_unref((uv_handle_t *)&s->cron);
		s->cron_armed = 1;
		s->open_handles++;
	}
	if (!s->nfy.timer_armed && notify_enabled(&s->nfy)) {
		if ((rc = notify_watchdog_start(&s->nfy, daemon_loop(d))) != 0)
			log_warnx("event=watchdog-failed error=%s",
			    log_qv(uv_strerror(rc)));
		else if (s->nfy.timer_armed)
			s->open_handles++;
	}
	daemon_status_crew(d, &c);
	status = xasprintf("%zu agent%s%s", n, n == 1 ? "" : "s", c.error ?
	    "; manifest error, last good one runs" : "");
	if ((rc = notify_ready(&s->nfy, status)) < 0)
		log_warnx("event=notify-failed what=READY error=%s",
		    log_qv(uv_strerror(rc)));
	free(status);
	s->ready_sent = 1;
}

const struct status_sentinel *
upkeep_sentinel(void *arg)
{
	struct upkeep *s = arg;

	s->shown.missed_timer = s->sentinel.n[SENT_MISSED_TIMER];
	s->shown.overdue_run = s->sentinel.n[SENT_OVERDUE_RUN];
	s->shown.leaked_slot = s->sentinel.n[SENT_LEAKED_SLOT];
	s->shown.lost_slot = s->sentinel.n[SENT_LOST_SLOT];
	return &s->shown;
}

static void
on_daemon(struct daemon *d, enum daemon_event ev, struct worker *w,
    void *arg)
{
	struct upkeep *s = arg;

	(void)d;
	if (s->closing)
		return;
	switch (ev) {
	case DAEMON_READY:
		ready(s);
		break;
	case DAEMON_RELOADING:
		(void)notify_reloading(&s->nfy);
		break;
	case DAEMON_STOPPING:
		(void)notify_stopping(&s->nfy, "draining");
		break;
	case DAEMON_TICK_DONE:
		tick_done(s, w);
		break;
	case DAEMON_BUDGET:
		budget_spent(s, w);
		break;
	case DAEMON_CHANGED:
	case DAEMON_SETTLED:
	case DAEMON_FLUSH:
		break;
	}
}

static void
handle_closed(uv_handle_t *h)
{
	struct upkeep *s = h->data;

	if (--s->open_handles == 0)
		free(s);
}

void
upkeep_close(struct upkeep *s)
{
	int handles;

	if (s == NULL)
		return;
	daemon_observe(s->d, NULL, s);
	s->closing = 1;
	/* What the lanes made of the last results goes in history too. */
	note_reports(s);
	alert_hub_stop(s->alerts);
	note_reports(s);
	alert_hub_free(s->alerts);
	s->alerts = NULL;
	alert_dest_release(&s->env_dests);
	alert_dest_release(&s->dests);
	free(s->dests_crew);
	handles = s->open_handles;
	if (s->nfy.timer_armed) {
		uv_timer_stop(&s->nfy.timer);
		s->nfy.timer.data = s;
		uv_close((uv_handle_t *)&s->nfy.timer, handle_closed);
		s->nfy.timer_armed = 0;
	}
	notify_release(&s->nfy);
	if (s->cron_armed) {
		uv_timer_stop(&s->cron);
		uv_close((uv_handle_t *)&s->cron, handle_closed);
		s->cron_armed = 0;
	}
	if (handles == 0)
		free(s);
}
