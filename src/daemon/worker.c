/*
 * worker: the tick pipeline of one crew member (see worker.h for the
 * stages). Every stage runs on the loop thread except the body of
 * stage_commit, which runs on the libuv thread pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "def.h"
#include "diag.h"
#include "dur.h"
#include "event.h"
#include "exec.h"
#include "filesig.h"
#include "firing.h"
#include "gate.h"
#include "fence.h"
#include "gitq.h"
#include "lcspec.h"
#include "lifecycle.h"
#include "lines.h"
#include "log.h"
#include "nowork.h"
#include "pause.h"
#include "reason.h"
#include "runlive.h"
#include "redact.h"
#include "retry.h"
#include "schedule.h"
#include "sentinel.h"
#include "size.h"
#include "statefile.h"
#include "statesync.h"
#include "store.h"
#include "telescan.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

extern char **environ;

#define LOG_LINE_MAX	4096	/* a log line longer is cut here */

struct worker {
	const struct worker_env	*env;
	char			*name;
	const struct crew	*crew;
	const struct crew_member *m;	/* NULL once removed */
	size_t			 index;
	struct redactor		*rd;	/* referenced */
	uv_timer_t		 timer;
	struct gate_waiter	 gw;
	int			 busy, removed, stopped, have_slot;

	/* The tick in flight. */
	const char		*trigger;
	int64_t			 scheduled_ms, tick_ms;
	int64_t			 row_id;
	char			 run_id[32];
	char			*def;
	int64_t			 timeout_ms;
	enum lc_verdict		 verdict;
	char			 state[LC_NAME_MAX];	/* at tick start */
	int			 hits, repeat;
	struct child		*child;
	enum outcome		 outcome;
	int			 exit_code;
	int64_t			 started_ms, duration_ms, output_bytes;
	char			*result;	/* stdout, bounded */
	size_t			 result_len;	/* it may hold NUL bytes */
	char			*log;		/* stderr, bounded */
	char			*error;		/* this tick's error */
	/* The run's log as it streams (SPEC §6): a line being split, the
	 * bytes seen, and the step running with where its log began; what
	 * the interpreter said of a failure (a reason event). */
	struct lines		 logline;	/* of LOG_LINE_MAX bytes */
	uint64_t		 logseen;
	uint64_t		 line_at;	/* where the line being split began */
	uint64_t		 jdone;		/* the journal has the log to here */
	char			*step_now;
	uint64_t		 step_log_at;
	char			*said;
	int			 said_log;
	int64_t			 ended_ms;	/* the run's process exited */
	/* A killed run's output (issue 20 item 9): where the running step
	 * keeps it in the interpreter (an output event), and what was read
	 * from there before the kill. */
	int			 out_fd;
	struct sb		 rescued;
	uint64_t		 rescued_total;
	int64_t			 committed_ms;	/* its commit was made */
	char			*commit_id;	/* set by stage_commit */
	char			*git_note;	/* what git did this tick */
	struct gitq_job		*gj;		/* its git job, queued or out */
	long			 tok_p, tok_c;
	struct sb		 steprec;	/* "NAME STATUS MS" lines */
	struct worker_watch	*watchers;

	/* Lifecycle: the spec cached by file identity, and the position. */
	char			*lc_path;
	struct file_sig		 lc_sig;
	struct lc_spec		*spec;
	char			*spec_error;
	const char		**state_names;	/* borrowed from spec */
	struct lc_pos		 pos;

	/* The def's last check, by file identity. */
	char			*def_checked;
	struct file_sig		 def_sig;
	char			*def_error;
	/* When the def is one plain sh/bash step: its shell, name and body,
	 * to run as that shell directly (direct.c); shell NULL otherwise. */
	const char		*direct_shell;
	char			*direct_name, *direct_body;
	/* The tick in flight runs directly: its stdout scanned here. */
	int			 direct_run, direct_began;
	/* Allocated for a direct run only: its line buffer is 4 KiB, and a
	 * crew may hold 10,000 workers that are not running. */
	struct telescan		*scan;
	pcre2_code		*scan_re[2];	/* step, thought */
	char			*scan_pat[2];	/* what they were compiled from */

	/* What status shows. */
	int64_t			 last_run_ms, next_tick_ms, run_started_ms;
	int64_t			 gap_ms;
	enum outcome		 last_outcome;
	int			 streak, fail_streak;
	int			 git_fail_streak; /* runs whose git job failed */
	char			*steps[STATUS_STEPS];
	int64_t			 steps_at[STATUS_STEPS];
	size_t			 nsteps;
	char			*thought;
	char			*shown_error;
	char			*last_commit;	/* newest commit id, shown */
	char			*last_git;	/* newest git note, shown */
	char			 sched_text[160];

	/* The last finished tick, for worker_last(); missed counts the
	 * fires the tick in flight recorded as missed. */
	struct {
		char		 run_id[32], trigger[16];
		enum outcome	 outcome;
		int64_t		 scheduled_ms, started_ms, ended_ms;
		int64_t		 duration_ms;
		long		 tok_p, tok_c;
		char		*commit_id, *error;
		int		 has_result;
		unsigned	 missed;
	} last;
	unsigned		 missed;

	/* The operator's hands (SPEC §5b). regular_due_ms is the cadence's
	 * next tick whatever a retry or a pause does to the armed one. */
	struct pause		 pause;
	int64_t			 regular_due_ms;
	int			 retry_next;	/* the armed tick is retry N */
	int64_t			 retry_due_ms;
	int			 retries_made;	/* in this tick's series */
	int64_t			 tokens_used;	/* in the budget's window */
	int			 budget_tripped; /* the tick just ended paused it */

	/* Calendar time (SPEC §5a), firing.h. */
	struct firing		 fire;
	struct firing_zones	*own_zones;	/* when env has none */
	char			 agenda_text[40]; /* an interval, as written */
};

/* A direct run's stdout scanner, gone with the run. */
static void
scan_free(struct worker *w)
{
	if (w->scan == NULL)
		return;
	telescan_release(w->scan);
	free(w->scan);
	w->scan = NULL;
}

static void	direct_forget(struct worker *);
static void	direct_begun(struct worker *);
static void	stage_last_run(struct worker *);
static void	load_spec(struct worker *);
static int	stage_reload(struct worker *);
static void	stage_decide(struct worker *);
static void	stage_dream(struct worker *);
static void	stage_integrate(struct worker *);
static void	stage_gate(struct worker *);
static void	stage_run(struct worker *);
static void	stage_outcome(struct worker *, const struct child_result *);
static void	stage_commit(struct worker *);
static void	stage_persist(struct worker *);
static void	stage_record(struct worker *);
static void	stage_settle(struct worker *);
static void	stage_publish(struct worker *);
static void	stage_schedule(struct worker *);
static void	tick_finish(struct worker *, enum outcome);
static void	release_slot(struct worker *);
static void	keep_last(struct worker *);
static void	describe_schedule(struct worker *);
static void	arm(struct worker *, int64_t now);
static void	count_tokens(struct worker *, int64_t now, int64_t *until);
static int	check_budget(struct worker *, int64_t now);
static int	cal_bind(struct worker *);
static void	cal_arm(struct worker *, int64_t now);
static int	cal_take(struct worker *, int64_t now);
static void	cal_regular_due(struct worker *, int64_t now);

static const struct worker_runner child_runner = {
	child_start, child_kill, child_expire, child_free
};

static int64_t
now_ms(const struct worker *w)
{
	return w->env->now ? w->env->now(w->env->arg) : util_now_ms();
}

static const struct worker_runner *
runner(const struct worker *w)
{
	return w->env->runner ? w->env->runner : &child_runner;
}

static char *
path_of(struct worker *w, enum statefile_kind k)
{
	return statefile_path(w->env->data, k, w->env->singleton ? NULL :
	    w->name);
}

/* Everything shown or stored from a run passes through here first. */
static char *
scrub(const struct worker *w, const char *text)
{
	if (text == NULL)
		return xstrdup("");
	return redact_apply(w->rd, text, strlen(text), NULL);
}

/* The log as history keeps it: redacted, and text (a NUL or invalid
 * UTF-8 from an agent would cut or lose the column). */
static char *
clean_log(const char *text, size_t len, size_t *outlen)
{
	size_t n;
	char *c = utf8_clean(text, len, 0, &n);

	for (size_t i = 0; i < n; i++)
		if (c[i] == '\0')
			c[i] = ' ';
	if (outlen != NULL)
		*outlen = n;
	return c;
}

static char *
scrub_log(const struct worker *w, const char *text, size_t len)
{
	size_t n;
	char *c = clean_log(text, len, &n), *r;

	r = redact_apply(w->rd, c, n, NULL);
	free(c);
	return r;
}

static struct sched_params
params_of(const struct worker *w)
{
	const struct crew *c = w->crew;
	struct sched_params p = {
		.interval_ms = w->m ? w->m->interval_ms : 3600000,
		.continuous = w->m ? w->m->continuous : 0,
		.breather_ms = c->breather_ms,
		.boot_grace_ms = c->boot_grace_ms,
		.stagger_ms = c->stagger_ms,
		.backoff_base_ms = c->backoff_base_ms,
		.backoff_cap_ms = c->backoff_cap_ms,
		.fixed = w->m ? w->m->cadence_fixed : c->cadence_fixed,
	};
	return p;
}

static void
load_position(struct worker *w)
{
	char *p, err[512];
	int64_t ms;

	p = path_of(w, SF_LAST_RUN);
	switch (statefile_read_last_run(p, &ms, err, sizeof(err))) {
	case 0:
		w->last_run_ms = ms;
		break;
	case 2:
		log_warnx("agent=%s event=state-file-ignored msg=%s",
		    w->name, log_qv(err));
		break;
	}
	free(p);
	p = path_of(w, SF_POS);
	if (statefile_read_pos(p, &w->pos, err, sizeof(err)) == 2)
		log_warnx("agent=%s event=state-file-ignored msg=%s",
		    w->name, log_qv(err));
	free(p);
	w->streak = w->env->store ? store_streak(w->env->store, w->name) : 0;
	p = statefile_path(w->env->data, SF_PAUSE, w->name);
	if (statefile_read_pause(p, &w->pause, err, sizeof(err)) == 2)
		log_warnx("agent=%s event=state-file-ignored msg=%s",
		    w->name, log_qv(err));
	free(p);
}

static void
timer_cb(uv_timer_t *t)
{
	struct worker *w = t->data;

	if (sentinel_fault("skip-timer"))	/* TEST-ONLY, sentinel.h */
		return;
	w->env->due(w, w->env->arg);	/* may free w */
}

struct worker *
worker_new(const struct worker_env *env, const struct crew *c,
    const struct crew_member *m, size_t index, struct redactor *rd)
{
	struct worker *w = xcalloc(1, sizeof(*w));

	w->env = env;
	w->name = xstrdup(m->name);
	w->crew = c;
	w->m = m;
	w->index = index;
	w->rd = redact_ref(rd);
	w->row_id = -1;
	lines_init(&w->logline, LOG_LINE_MAX);
	uv_timer_init(env->loop, &w->timer);
	w->timer.data = w;
	load_position(w);
	load_spec(w);		/* status shows START before the first tick */
	describe_schedule(w);
	(void)cal_bind(w);
	count_tokens(w, now_ms(w), NULL);
	return w;
}

static void	arm_in(struct worker *, int64_t now, int64_t delay);

void
worker_arm_first(struct worker *w, int64_t now, int boot)
{
	struct sched_params p = params_of(w);
	int64_t delay;

	if (w->fire.on) {
		/* No STAGGER: calendar fires keep their times. */
		w->fire.hold_until_ms = boot ? now + p.boot_grace_ms : 0;
		w->retry_next = 0;
		arm(w, now);
		return;
	}
	if (!boot) {
		p.boot_grace_ms = 0;
		p.stagger_ms = 0;
	}
	delay = sched_first_delay(&p, now, w->last_run_ms ? w->last_run_ms :
	    SCHED_NEVER, boot ? w->index : 0);
	arm_in(w, now, delay);
}

/* The next regular tick delay from now, any retry dropped. */
static void
arm_in(struct worker *w, int64_t now, int64_t delay)
{
	w->gap_ms = delay;
	w->regular_due_ms = now + delay;
	w->retry_next = 0;
	arm(w, now);
}

/*
 * Arm the timer for the next tick: a retry when one is due before the
 * regular tick (stage_schedule() decided), else the regular one; in a
 * pause, the cadence's first fire at or after its end (none until a
 * resume when it has no end), the fires in it skipped.
 */
static void
arm(struct worker *w, int64_t now)
{
	struct sched_params p;
	int64_t due, step;

	if (w->m == NULL || w->removed || w->stopped || w->env->oneshot)
		return;
	if (w->fire.on && (w->retry_next == 0 || pause_active(&w->pause,
	    now))) {
		cal_arm(w, now);
		return;
	}
	if (pause_active(&w->pause, now)) {
		w->retry_next = 0;	/* a pause ends a retry series */
		if (w->pause.until_ms == 0) {
			uv_timer_stop(&w->timer);
			w->next_tick_ms = 0;
			return;
		}
		p = params_of(w);
		step = w->gap_ms > 0 ? w->gap_ms : sched_base(&p);
		due = pause_next_due(w->regular_due_ms, step,
		    w->pause.until_ms);
	} else if (w->retry_next > 0) {
		due = w->retry_due_ms;
	} else {
		due = w->regular_due_ms;
	}
	w->next_tick_ms = due;
	uv_update_time(w->env->loop);	/* timers count from now */
	uv_timer_start(&w->timer, timer_cb, due > now ? (uint64_t)(due -
	    now) : 0, 0);
}

/* The pause file follows the pause, through the group commit. */
static void
save_pause(struct worker *w)
{
	char *p = statefile_path(w->env->data, SF_PAUSE, w->name), buf[512];
	int n = statefile_format_pause(&w->pause, buf, sizeof(buf));

	statesync_put(w->env->sync, p, buf, (size_t)n);
	free(p);
}

void
worker_pause(struct worker *w, int64_t until_ms, const char *why)
{
	int64_t now = now_ms(w);

	pause_set(&w->pause, until_ms, why);
	save_pause(w);
	log_info("agent=%s event=paused until=%" PRId64 " why=%s", w->name,
	    w->pause.until_ms, log_qv(w->pause.why));
	if (!w->busy)
		arm(w, now);
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

int
worker_resume(struct worker *w)
{
	struct sched_params p;
	int64_t now = now_ms(w), step;
	int was = pause_active(&w->pause, now);

	if (!w->pause.on)
		return 0;
	memset(&w->pause, 0, sizeof(w->pause));
	save_pause(w);
	log_info("agent=%s event=resumed", w->name);
	if (!w->busy && w->m != NULL) {
		/* The fires that fell in the pause are not caught up. */
		p = params_of(w);
		step = w->gap_ms > 0 ? w->gap_ms : sched_base(&p);
		w->regular_due_ms = pause_next_due(w->regular_due_ms, step,
		    now);
		arm(w, now);
	}
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
	return was;
}

/* The tokens the member's runs used within its budget's window before
 * now, from the history (one indexed query); *until, when not NULL, gets
 * when a spent budget allows again (0: it is not spent). */
static void
count_tokens(struct worker *w, int64_t now, int64_t *until)
{
	const struct crew_member *m = w->m;
	int64_t used = 0, cross = 0;

	if (until != NULL)
		*until = 0;
	if (m == NULL || m->token_budget <= 0 || w->env->store == NULL)
		return;
	if (store_tokens(w->env->store, w->name, now - m->token_window_ms,
	    m->token_budget, &used, &cross) == -1) {
		log_warnx("agent=%s event=history-read-failed msg=%s", w->name,
		    log_qv(store_errmsg(w->env->store)));
		return;
	}
	w->tokens_used = used;
	if (until != NULL)
		*until = pause_budget_until(used, m->token_budget, cross,
		    m->token_window_ms, now);
}

/*
 * The token budget (SPEC §5b): spent, the member pauses itself until the
 * window allows, and the env hears of it once. A pause that already holds
 * at least as long (the operator's, or the budget's own) stands. 1 when
 * it paused now.
 */
static int
check_budget(struct worker *w, int64_t now)
{
	int64_t until;

	count_tokens(w, now, &until);
	if (until == 0)
		return 0;
	if (pause_active(&w->pause, now) && (w->pause.until_ms == 0 ||
	    w->pause.until_ms >= until))
		return 0;
	pause_set(&w->pause, until, PAUSE_BUDGET_WHY);
	save_pause(w);
	w->budget_tripped = 1;
	log_warnx("agent=%s event=budget-paused tokens=%" PRId64 " budget=%"
	    PRId64 " until=%" PRId64, w->name, w->tokens_used,
	    w->m->token_budget, until);
	if (w->env->budget != NULL)
		w->env->budget(w, w->env->arg);
	return 1;
}

const char *
worker_name(const struct worker *w)
{
	return w->name;
}

int
worker_busy(const struct worker *w)
{
	return w->busy;
}

int
worker_running(const struct worker *w)
{
	return w->child != NULL;
}

int
worker_removed(const struct worker *w)
{
	return w->removed;
}

void
worker_rebind(struct worker *w, const struct crew *c,
    const struct crew_member *m, size_t index, struct redactor *rd)
{
	w->crew = c;
	w->m = m;
	w->index = index;
	if (rd != w->rd) {
		redact_free(w->rd);
		w->rd = redact_ref(rd);
	}
	w->removed = m == NULL;
	describe_schedule(w);
	if (w->removed) {
		uv_timer_stop(&w->timer);
		w->next_tick_ms = 0;
		return;
	}
	/* A schedule changed between the calendar and an interval, or
	 * within the calendar, applies now: the timer was armed by the
	 * old one. */
	if (cal_bind(w) && !w->busy && !w->stopped && !w->env->oneshot &&
	    uv_is_active((uv_handle_t *)&w->timer))
		worker_arm_first(w, now_ms(w), 0);
}

void
worker_stop(struct worker *w)
{
	w->stopped = 1;
	uv_timer_stop(&w->timer);
	w->next_tick_ms = 0;
}

void
worker_unqueue(struct worker *w)
{
	if (!w->gw.queued)
		return;
	gate_cancel(w->env->gate, &w->gw);
	w->error = xstrdup("shut down while waiting at the gate");
	tick_finish(w, OUTCOME_INTERRUPTED);
}

void
worker_hold(struct worker *w)
{
	uv_timer_stop(&w->timer);
	w->next_tick_ms = 0;
	w->retry_next = 0;
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

void
worker_adopt(struct worker *w, int64_t now, long streak)
{
	if (w->busy)
		return;
	memset(&w->pause, 0, sizeof(w->pause));
	lc_pos_release(&w->pos);
	load_position(w);
	if (w->pos.state[0]) {		/* status shows where it resumes */
		snprintf(w->state, sizeof(w->state), "%s", w->pos.state);
		w->hits = w->pos.hits;
	}
	if (streak >= 0)
		w->streak = (int)streak;
	w->fire.loaded = 0;	/* the calendar's cursor, imported too */
	if (w->fire.on) {
		worker_arm_first(w, now, 0);
	} else {
		/* The imported streak's backed-off delay, not INTERVAL. */
		struct sched_params p = params_of(w);

		arm_in(w, now, sched_resume_delay(&p, now, w->last_run_ms ?
		    w->last_run_ms : SCHED_NEVER, w->streak));
	}
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

void
worker_abort(struct worker *w)
{
	if (w->child)
		runner(w)->kill(w->child);
}

void
worker_unwatch(struct worker *w, struct worker_watch *ww)
{
	struct worker_watch **pp;

	for (pp = &w->watchers; *pp; pp = &(*pp)->next)
		if (*pp == ww) {
			*pp = ww->next;
			return;
		}
}

static void
timer_closed(uv_handle_t *h)
{
	struct worker *w = h->data;

	free(w->name);
	free(w->def);
	free(w->result);
	free(w->log);
	lines_release(&w->logline);
	sb_release(&w->rescued);
	free(w->step_now);
	free(w->said);
	free(w->error);
	free(w->commit_id);
	free(w->git_note);
	free(w->last_commit);
	free(w->last_git);
	free(w->last.commit_id);
	free(w->last.error);
	free(w->lc_path);
	lc_spec_free(w->spec);
	free(w->spec_error);
	free(w->state_names);
	free(w->def_checked);
	free(w->def_error);
	direct_forget(w);
	scan_free(w);
	for (int k = 0; k < 2; k++) {
		pcre2_code_free(w->scan_re[k]);
		free(w->scan_pat[k]);
	}
	lc_pos_release(&w->pos);
	for (size_t i = 0; i < w->nsteps; i++)
		free(w->steps[i]);
	free(w->thought);
	free(w->shown_error);
	sb_release(&w->steprec);
	redact_free(w->rd);
	firing_release(&w->fire);
	firing_zones_free(w->own_zones);
	free(w);
}

void
worker_free(struct worker *w)
{
	release_slot(w);
	gate_cancel(w->env->gate, &w->gw);
	if (w->gj != NULL) {		/* never out: a tick in flight is
					   drained before its worker goes */
		gitq_cancel(w->env->git, w->gj);
		gitq_job_free(w->gj);
		w->gj = NULL;
	}
	uv_close((uv_handle_t *)&w->timer, timer_closed);
}

/* ---- calendar fires (SPEC §5a): firing.h does the work ---- */

static struct firing_ctx
cal_ctx(struct worker *w)
{
	struct firing_ctx cx = {
		.data = w->env->data,
		.name = w->name,
		.singleton = w->env->singleton,
		.zones = w->env->zones,
		.sync = w->env->sync,
		.store = w->env->store,
		.pid = w->env->pid,
	};

	if (cx.zones == NULL) {
		if (w->own_zones == NULL)
			w->own_zones = firing_zones_new(w->env->tz);
		cx.zones = w->own_zones;
	}
	return cx;
}

/* Bind the member's calendar; 1 when it changed (cal_bind() re-plans). */
static int
cal_bind(struct worker *w)
{
	struct firing_ctx cx = cal_ctx(w);
	char err[256] = "";
	int changed;

	changed = firing_bind(&w->fire, &cx, w->crew, w->m, now_ms(w), err,
	    sizeof(err));
	if (err[0])
		log_warnx("agent=%s event=zone-error msg=%s", w->name,
		    log_qv(err));
	return changed;
}

/*
 * Arm the timer for the member's next fire on the wall clock: a due
 * fire (a catch-up, after BOOT-GRACE at boot) at once, else the next
 * one, with the missed ones recorded on the way. In a pause the timer
 * still wakes at each fire, which is recorded as missed.
 */
static void
cal_arm(struct worker *w, int64_t now)
{
	struct firing_ctx cx = cal_ctx(w);
	struct fire_plan p;
	int paused = pause_active(&w->pause, now);
	int64_t due;

	if (paused)
		w->retry_next = 0;
	w->missed += firing_plan(&w->fire, &cx, now, paused, &p);
	w->fire.armed_base_ms = FIRE_NONE;
	if (p.run_base_ms != FIRE_NONE) {
		due = p.run_at_ms;
		if (!p.catch_up)
			w->fire.armed_base_ms = p.run_base_ms;
		else if (p.next_due_ms < due) {
			/* The next fire comes before BOOT-GRACE ends. */
			due = p.next_due_ms;
			w->fire.armed_base_ms = p.next_base_ms;
		}
	} else if (p.next_base_ms != FIRE_NONE) {
		due = p.next_due_ms;
		w->fire.armed_base_ms = p.next_base_ms;
	} else {
		/* A one-shot timestamp that has fired: nothing more. */
		uv_timer_stop(&w->timer);
		w->next_tick_ms = 0;
		return;
	}
	w->next_tick_ms = due;
	w->regular_due_ms = w->next_tick_ms;
	/* Health's gap (status.h) before the first fire: until it. */
	if (w->gap_ms <= 0)
		w->gap_ms = due > now ? due - now : 1;
	uv_update_time(w->env->loop);	/* timers count from now */
	uv_timer_start(&w->timer, timer_cb, due > now ? (uint64_t)(due -
	    now) : 0, 0);
}

/* The timer fired: take the fire that is due now, if one is (1). */
static int
cal_take(struct worker *w, int64_t now)
{
	struct firing_ctx cx = cal_ctx(w);
	struct fire_plan p;

	w->missed += firing_plan(&w->fire, &cx, now, 0, &p);
	if (p.run_base_ms == FIRE_NONE || p.run_at_ms > now)
		return 0;
	firing_take(&w->fire, &cx, &p);
	w->gap_ms = p.next_due_ms != FIRE_NONE ? p.next_due_ms -
	    p.run_due_ms : 0;
	return 1;
}

/* After a tick: the regular tick is the next fire (a retry's bound). */
static void
cal_regular_due(struct worker *w, int64_t now)
{
	struct firing_ctx cx = cal_ctx(w);
	int64_t due = firing_next_due(&w->fire, &cx, now);

	w->regular_due_ms = due == FIRE_NONE ? INT64_MAX / 4 : due;
}

void
worker_clock_set(struct worker *w)
{
	if (!w->fire.on || w->busy || w->removed || w->stopped ||
	    w->env->oneshot || w->retry_next > 0)
		return;
	arm(w, now_ms(w));
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

int
worker_agenda_src(struct worker *w, struct agenda_src *a)
{
	struct sched_params p;
	int64_t now = now_ms(w);

	memset(a, 0, sizeof(*a));
	if (w->m == NULL || w->removed)
		return 0;
	a->name = w->name;
	a->paused = pause_active(&w->pause, now);
	a->paused_until_ms = w->pause.until_ms;
	if (w->fire.on) {
		struct firing_ctx cx = cal_ctx(w);

		a->calendar = 1;
		a->schedule = w->m->schedule;
		a->sched = &w->fire.sched;
		a->zone = w->fire.zone;
		a->jitter_ms = w->fire.jitter_ms;
		(void)firing_next_due(&w->fire, &cx, now);	/* loads it */
		a->cursor_ms = w->fire.cursor_ms;
		/* The armed fire, unless it is a retry's or a pause's. */
		a->next_ms = w->retry_next == 0 && !w->busy ? w->next_tick_ms :
		    0;
		return 1;
	}
	p = params_of(w);
	a->base_ms = sched_base(&p);
	if (w->m->continuous)
		snprintf(w->agenda_text, sizeof(w->agenda_text), "continuous");
	else
		dur_format(w->m->interval_ms, w->agenda_text,
		    sizeof(w->agenda_text));
	a->schedule = w->agenda_text;
	a->next_ms = w->regular_due_ms > 0 ? w->regular_due_ms :
	    w->next_tick_ms;
	if (w->busy)
		a->next_ms = 0;
	return 1;
}

/* ---- live telemetry ---- */

static void
push_step(struct worker *w, const char *text)
{
	if (w->nsteps == STATUS_STEPS) {
		free(w->steps[0]);
		memmove(w->steps, w->steps + 1, (STATUS_STEPS - 1) *
		    sizeof(w->steps[0]));
		memmove(w->steps_at, w->steps_at + 1, (STATUS_STEPS - 1) *
		    sizeof(w->steps_at[0]));
		w->nsteps--;
	}
	w->steps[w->nsteps] = scrub(w, text);
	w->steps_at[w->nsteps++] = now_ms(w);
}

static void
on_event(struct child *c, const char *kind, const char *text, void *arg)
{
	struct worker *w = arg;
	struct worker_watch *ww, *next;

	(void)c;
	if (strcmp(kind, EVENT_REASON) == 0 ||
	    strcmp(kind, EVENT_REASON_LOG) == 0) {
		/* Said once, in the error and run-once's last line. */
		free(w->said);
		w->said = xstrdup(text);
		w->said_log = strcmp(kind, EVENT_REASON_LOG) == 0;
		return;
	}
	if (strcmp(kind, EVENT_OUTPUT) == 0) {
		w->out_fd = atoi(text);
		return;
	}
	if (strcmp(kind, EVENT_STEP_BEGIN) == 0) {
		w->out_fd = -1;
		free(w->step_now);
		w->step_now = xstrdup(text);
		w->step_log_at = w->logseen;
		runlive_step_begin(w->env->live, w->run_id, text);
	} else if (strcmp(kind, EVENT_STEP_END) == 0)
		runlive_step_end(w->env->live, w->run_id, text);
	if (strcmp(kind, EVENT_STEP_BEGIN) == 0 ||
	    strcmp(kind, EVENT_STEP) == 0) {
		push_step(w, text);
	} else if (strcmp(kind, EVENT_STEP_END) == 0) {
		sb_addf(&w->steprec, "%s\n", text);
	} else if (strcmp(kind, EVENT_THOUGHT) == 0) {
		free(w->thought);
		w->thought = scrub(w, text);
	}
	for (ww = w->watchers; ww; ww = next) {
		char *t = scrub(w, text);

		next = ww->next;
		ww->on_line(ww, kind, t);
		free(t);
	}
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

/* ---- the run's log ---- */

/*
 * SPEC §6: the run's standard error is its log. Kept with the run (the
 * capture's head and tail, child.h), and each line, redacted and made
 * one clean line, goes to whoever watches the tick (run-once) as a "log"
 * line, to /_runs/ID while it runs (runlive.h) and to keeper's own log
 * tagged agent= and run=.
 *
 * Live, the watchers get the first LOG_LIVE_MAX bytes; past them the
 * lines wait for the run's end and only the kept tail follows a marker
 * of what was skipped: they see what history keeps. Keeper's own log
 * (the journal) gets less: the first JOURNAL_HEAD bytes of lines live
 * and the last JOURNAL_TAIL at the end, with a marker that says where
 * the rest is. A line in the journal costs a write and its share of
 * the journal's rate limit; bench/runlog.sh measured the whole kept log
 * there at 0.3x the ticks/s of runs whose stderr goes nowhere.
 */
#define LOG_LIVE_MAX	CHILD_HEAD
#define JOURNAL_HEAD	(8 * 1024)
#define JOURNAL_TAIL	(8 * 1024)

enum { TO_JOURNAL = 1, TO_WATCHERS = 2 };

static void
log_emit(struct worker *w, const char *p, size_t n, int to)
{
	struct worker_watch *ww, *next;
	char *one = NULL, *red, *text = NULL;
	size_t k, tn;
	int journal;

	while (n > 0 && p[n - 1] == '\r')
		n--;
	/* Most lines are printable ASCII already: no copy to clean them.
	 * Else the line as history keeps it (valid UTF-8, escapes kept,
	 * NUL a space) for /_runs/ID, and as one line of plain text for a
	 * terminal and the journal. */
	for (k = 0; k < n && p[k] >= 0x20 && p[k] < 0x7f; k++)
		;
	tn = n;
	if (k != n)
		text = clean_log(p, n, &tn);
	/* /_runs/ID redacts what it serves (runlive.h): a line nobody
	 * reads costs no pattern match. */
	if (to & TO_WATCHERS)
		runlive_log(w->env->live, w->run_id, text ? text : p, tn);
	/* Run-once in this process prints the lines itself: once is
	 * enough on one terminal. */
	journal = (to & TO_JOURNAL) && !w->env->oneshot;
	if (!journal && (!(to & TO_WATCHERS) || w->watchers == NULL)) {
		free(text);
		return;
	}
	if (text != NULL)
		one = utf8_clean(text, tn, UTF8_ONELINE, &tn);
	red = redact_apply(w->rd, one ? one : p, tn, NULL);
	free(one);
	if (journal)
		log_info("agent=%s run=%s event=log msg=%s", w->name,
		    w->run_id, log_qv(red));
	if (to & TO_WATCHERS)
		for (ww = w->watchers; ww; ww = next) {
			next = ww->next;
			ww->on_line(ww, "log", red);
		}
	free(text);
	free(red);
}

/* The line being split is complete (or the stream ended): emit it, to
 * the journal too when it began in the journal's head. */
static void
log_line_done(struct worker *w, uint64_t end, int to)
{
	if (w->line_at < JOURNAL_HEAD && (to & TO_JOURNAL))
		w->jdone = end;
	else
		to &= ~TO_JOURNAL;
	const char *line;
	size_t len = lines_pending(&w->logline, &line);

	log_emit(w, line, len, to);
	lines_reset(&w->logline);
	w->line_at = end;
}

struct log_feed {
	struct worker	*w;
	uint64_t	 at;	/* the stream's offset of the chunk */
	int		 to;
};

static void
log_line(const char *line, size_t len, size_t end, void *arg)
{
	struct log_feed *f = arg;

	(void)line;
	(void)len;
	log_line_done(f->w, f->at + end, f->to);
}

/* Split p[0..n), the stream's bytes from offset at, into lines, emitting
 * each one completed. */
static void
log_feed(struct worker *w, const char *p, size_t n, uint64_t at, int to)
{
	struct log_feed f = { w, at, to };

	lines_feed(&w->logline, p, n, log_line, &f);
}

static void
child_log(struct child *c, const char *p, size_t n, uint64_t off, void *arg)
{
	struct worker *w = arg;

	(void)c;
	/* A shell run directly has its step begin before its first byte,
	 * of the log as of its output: that log is the step's. */
	if (w->direct_run)
		direct_begun(w);
	w->logseen = off + n;
	if (off >= LOG_LIVE_MAX)
		return;
	if (n > LOG_LIVE_MAX - off)
		n = (size_t)(LOG_LIVE_MAX - off);
	log_feed(w, p, n, off, TO_JOURNAL | TO_WATCHERS);
}

/* The journal's tail: the lines of the last JOURNAL_TAIL bytes it has not
 * had, after a marker when some were left out. */
static void
journal_tail(struct worker *w, const struct child_capture *cap,
    const char *text, size_t textlen)
{
	size_t taillen = cap->twrapped ? CHILD_TAIL : cap->tpos, pos, k;
	uint64_t from = cap->total > JOURNAL_TAIL ? cap->total - JOURNAL_TAIL :
	    0;
	char *m;

	if (from <= w->jdone)
		from = w->jdone;
	else {
		m = xasprintf("[... %llu bytes of the log are not in keeper's "
		    "log: keeper history --run %s has them ...]",
		    (unsigned long long)(from - w->jdone), w->run_id);
		log_emit(w, m, strlen(m), TO_JOURNAL);
		free(m);
	}
	if (from >= cap->total)
		return;
	pos = reason_log_from(from, cap->total, textlen, taillen);
	/* Mid-line: that line's start is not ours to show. */
	if (from != w->jdone && pos > 0 && text[pos - 1] != '\n') {
		while (pos < textlen && text[pos] != '\n')
			pos++;
		pos++;
	}
	while (pos < textlen) {
		k = pos;
		while (k < textlen && text[k] != '\n')
			k++;
		if (k > pos || k < textlen)
			log_emit(w, text + pos, k - pos < LOG_LINE_MAX ? k - pos :
			    LOG_LINE_MAX, TO_JOURNAL);
		pos = k + 1;
	}
}

/* The run is over: for the watchers the rest of what was kept of its
 * log (text, the capture's), after a marker when the middle was
 * skipped; the journal's tail. */
static void
log_finish(struct worker *w, const struct child_capture *cap,
    const char *text, size_t textlen)
{
	size_t taillen = cap->twrapped ? CHILD_TAIL : cap->tpos;
	uint64_t from = cap->total - taillen;
	char *m;

	if (cap->total > LOG_LIVE_MAX && cap->tail != NULL) {
		if (from > LOG_LIVE_MAX) {
			if (w->logline.len > 0)
				log_line_done(w, LOG_LIVE_MAX, TO_WATCHERS |
				    TO_JOURNAL);
			m = xasprintf("[... %llu bytes skipped ...]",
			    (unsigned long long)(from - LOG_LIVE_MAX));
			log_emit(w, m, strlen(m), TO_WATCHERS);
			free(m);
		} else
			from = LOG_LIVE_MAX;
		log_feed(w, text + textlen - (size_t)(cap->total - from),
		    (size_t)(cap->total - from), from, TO_WATCHERS);
	}
	if (w->logline.len > 0)
		log_line_done(w, cap->total, TO_WATCHERS | TO_JOURNAL);
	journal_tail(w, cap, text, textlen);
}

/*
 * The run is about to be killed: what its running step has printed so
 * far is in the interpreter's temporary file (the output event said
 * which descriptor), which dies with it. Read a head and a tail of it
 * through /proc while the process is still there, so the killed run
 * keeps what it printed (bounded as a capture is).
 */
static void
child_before_kill(struct child *c, pid_t pid, void *arg)
{
	struct worker *w = arg;
	struct stat st;
	char *path, buf[65536];
	off_t at = 0, tail;
	ssize_t n;
	int fd;

	(void)c;
	if (w->out_fd < 0)
		return;
	path = xasprintf("/proc/%ld/fd/%d", (long)pid, w->out_fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	sb_reset(&w->rescued);
	w->rescued_total = (uint64_t)st.st_size;
	tail = st.st_size > CHILD_HEAD + CHILD_TAIL ? st.st_size - CHILD_TAIL :
	    -1;
	while (at < st.st_size) {
		size_t want = sizeof(buf);

		if (tail >= 0 && at < CHILD_HEAD && at + (off_t)want >
		    CHILD_HEAD)
			want = (size_t)(CHILD_HEAD - at);
		if ((n = pread(fd, buf, want, at)) <= 0)
			break;
		sb_add(&w->rescued, buf, (size_t)n);
		at += n;
		if (tail >= 0 && at == CHILD_HEAD) {
			sb_addf(&w->rescued, "\n[... %llu bytes skipped ...]\n",
			    (unsigned long long)(tail - CHILD_HEAD));
			at = tail;
		}
	}
	close(fd);
}

/* Why the run that just ended was not done, in words (reason.h). */
static char *
run_reason(struct worker *w, const struct child_result *res,
    const char *log, size_t loglen)
{
	struct reason_in in = { 0 };
	size_t taillen = res->err.twrapped ? CHILD_TAIL : res->err.tpos;
	char *line, *text;

	line = reason_last_line(log, loglen, reason_log_from(w->step_log_at,
	    res->err.total, loglen, taillen));
	in.outcome = w->outcome;
	in.step = w->step_now;
	in.said = w->said;
	in.said_log = w->said_log;
	in.line = line;
	in.exited = res->exited;
	in.exit_code = res->exit_code;
	in.term_signal = res->term_signal;
	in.timeout_ms = w->timeout_ms;
	text = reason_text(&in);
	free(line);
	return text;
}

/* ---- the tick ---- */

int
worker_tick(struct worker *w, const char *trigger, struct worker_watch *ww)
{
	int64_t now;

	if (w->busy)
		return -1;
	now = now_ms(w);
	/* SPEC §5b: a paused member, or one whose token budget is spent,
	 * starts no tick but a run-once; this fire is skipped. */
	if (strcmp(trigger, "run-once") != 0 && (pause_active(&w->pause,
	    now) || check_budget(w, now))) {
		arm(w, now);
		w->env->changed(w, WORKER_CHANGED, w->env->arg);
		return 1;
	}
	if (strcmp(trigger, "schedule") == 0 && w->retry_next > 0)
		trigger = "retry";
	else if (w->fire.on && strcmp(trigger, "schedule") == 0) {
		/* The wall clock decides (a timer early because the clock
		 * was set back only re-arms). */
		if (!cal_take(w, now)) {
			arm(w, now);
			w->env->changed(w, WORKER_CHANGED, w->env->arg);
			return 1;
		}
		if (w->fire.run_catch_up)
			trigger = "catch-up";
	}
	w->retries_made = strcmp(trigger, "retry") == 0 ? w->retry_next : 0;
	w->retry_next = 0;
	w->budget_tripped = 0;
	w->busy = 1;
	w->trigger = trigger;
	w->tick_ms = now;
	/* A scheduled tick (or retry) was due at next_tick_ms; any other
	 * now. */
	w->scheduled_ms = strcmp(trigger, "run-once") != 0 && w->next_tick_ms ?
	    w->next_tick_ms : w->tick_ms;
	if (w->fire.on && (strcmp(trigger, "schedule") == 0 ||
	    strcmp(trigger, "catch-up") == 0))
		w->scheduled_ms = w->fire.run_due_ms;
	uv_timer_stop(&w->timer);
	w->next_tick_ms = 0;
	if (ww) {
		ww->next = w->watchers;
		w->watchers = ww;
	}
	w->outcome = OUTCOME_NONE;
	w->exit_code = -1;
	w->row_id = -1;
	w->started_ms = w->duration_ms = w->output_bytes = 0;
	w->tok_p = w->tok_c = -1;
	sb_reset(&w->steprec);
	lines_reset(&w->logline);
	w->logseen = w->step_log_at = w->line_at = w->jdone = 0;
	free(w->step_now);
	w->step_now = NULL;
	free(w->said);
	w->said = NULL;
	w->said_log = 0;
	w->ended_ms = w->committed_ms = 0;
	w->out_fd = -1;
	sb_reset(&w->rescued);
	w->rescued_total = 0;

	stage_last_run(w);
	if (stage_reload(w) == -1) {
		tick_finish(w, OUTCOME_ERROR);
		return 0;
	}
	stage_decide(w);
	return 0;
}

/* State files go through the daemon's group commit (statesync.h): the
 * loop never waits for an fsync. */
static void
stage_last_run(struct worker *w)
{
	char *p = path_of(w, SF_LAST_RUN), buf[64];
	int n = statefile_format_last_run(w->tick_ms, buf, sizeof(buf));

	statesync_put(w->env->sync, p, buf, (size_t)n);
	w->last_run_ms = w->tick_ms;
	free(p);
}

/* The member's lifecycle spec, cached by file identity: re-parsed only
 * when the file changed. A spec that does not load leaves spec_error. */
static void
load_spec(struct worker *w)
{
	struct file_sig sig;
	struct diag dg = { 0 };

	if (w->m->lifecycle == NULL) {
		lc_spec_free(w->spec);
		w->spec = NULL;
		free(w->state_names);
		w->state_names = NULL;
		free(w->lc_path);
		w->lc_path = NULL;
		return;
	}
	file_sig_get(w->m->lifecycle, &sig);
	if (w->lc_path && strcmp(w->lc_path, w->m->lifecycle) == 0 &&
	    file_sig_eq(&sig, &w->lc_sig) && (w->spec || w->spec_error))
		return;
	free(w->lc_path);
	w->lc_path = xstrdup(w->m->lifecycle);
	w->lc_sig = sig;
	lc_spec_free(w->spec);
	w->spec = NULL;
	free(w->state_names);
	w->state_names = NULL;
	free(w->spec_error);
	w->spec_error = NULL;
	if (lc_spec_load(w->m->lifecycle, &w->spec, &dg) == -1) {
		w->spec = NULL;
		w->spec_error = diag_first_error(&dg);
		if (w->spec_error == NULL)
			w->spec_error = xasprintf("%s: invalid lifecycle",
			    w->m->lifecycle);
		log_warnx("agent=%s event=lifecycle-error msg=%s", w->name,
		    log_qv(w->spec_error));
	} else {
		w->state_names = xcalloc(w->spec->nstates + 1,
		    sizeof(*w->state_names));
		for (size_t i = 0; i < w->spec->nstates; i++)
			w->state_names[i] = w->spec->states[i].name;
	}
	diag_release(&dg);
}

/* Config: the member as the daemon last bound it (it re-reads the
 * manifest before it starts a tick) and its lifecycle spec, reparsed only
 * when its file changed. */
static int
stage_reload(struct worker *w)
{
	if (w->m == NULL) {
		w->error = xstrdup("member removed from the manifest");
		return -1;
	}
	free(w->def);
	w->def = xstrdup(w->m->def);
	w->timeout_ms = w->m->timeout_ms > 0 ? w->m->timeout_ms :
	    w->crew->timeout_ms;
	load_spec(w);
	return 0;
}

/* ---- a one-step shell def, run as that shell (issue 15 item 6) ----
 *
 * What the interpreter would do for the def, done from here so that the
 * two paths give the same outcome, history and telemetry: the step's
 * begin and end as events, its ::step:: / ::thought:: lines from the
 * shell's stdout (telescan.h, the interpreter's own scanner), and its
 * exit as the interpreter reports it (a signal that keeper did not send
 * is exit status 128+N). NO-WORK, capture, the log (stderr), TIMEOUT and
 * kills are child.c's, the same for both. */

#define DIRECT_NAME_MAX	1024	/* a step name in an event, as the
				   interpreter cuts it (exec-int.h) */

static void
direct_forget(struct worker *w)
{
	w->direct_shell = NULL;
	free(w->direct_name);
	free(w->direct_body);
	w->direct_name = w->direct_body = NULL;
}

static void
direct_learn(struct worker *w, const struct agent_def *def)
{
	const char *sh = w->env->direct ? exec_direct_shell(def) : NULL;

	if (sh == NULL)
		return;
	w->direct_shell = sh;
	w->direct_name = xstrdup(def->steps[0].name);
	w->direct_body = xstrdup(def->steps[0].body);
}

static void	on_event(struct child *, const char *, const char *, void *);

/* An event as the interpreter would have sent it: through the same line
 * (cut, newlines turned to spaces) and back. */
static void
direct_event(struct worker *w, const char *kind, const char *text,
    size_t len)
{
	char line[EVENT_LINE_MAX];
	size_t n = event_line(line, kind, text, len), k = strlen(kind) + 1;

	line[n - 1] = '\0';		/* the newline */
	on_event(w->child, kind, n > k ? line + k : "", w);
}

static void
direct_scanned(const char *kind, const char *text, size_t len, void *arg)
{
	direct_event(arg, kind, text, len);
}

/* The crew's patterns (or the defaults) compiled, once per pattern. */
static int
direct_patterns(struct worker *w)
{
	const char *want[2] = {
		w->crew->step_pattern ? w->crew->step_pattern :
		    EXEC_STEP_PATTERN,
		w->crew->thought_pattern ? w->crew->thought_pattern :
		    EXEC_THOUGHT_PATTERN,
	};
	static const char *const what[2] = { "step", "thought" };
	char err[256];

	for (int k = 0; k < 2; k++) {
		if (w->scan_pat[k] && strcmp(w->scan_pat[k], want[k]) == 0 &&
		    w->scan_re[k])
			continue;
		pcre2_code_free(w->scan_re[k]);
		free(w->scan_pat[k]);
		w->scan_pat[k] = xstrdup(want[k]);
		if ((w->scan_re[k] = telescan_compile(want[k], what[k], err,
		    sizeof(err))) == NULL)
			return -1;	/* the interpreter says why */
	}
	return 0;
}

static void
direct_out(struct child *c, const char *buf, size_t len, void *arg)
{
	struct worker *w = arg;

	(void)c;
	direct_begun(w);
	telescan_feed(w->scan, buf, len, direct_scanned, w);
}

/* The step's begin, once: at the spawn, or before the first output
 * when that is read first (the spawn is learnt of on the loop later). */
static void
direct_begun(struct worker *w)
{
	size_t len = strlen(w->direct_name);

	if (w->direct_began)
		return;
	w->direct_began = 1;
	direct_event(w, EVENT_STEP_BEGIN, w->direct_name,
	    len > DIRECT_NAME_MAX ? DIRECT_NAME_MAX : len);
}

static void
direct_reason(struct worker *w, const char *fmt, ...)
{
	char why[256], *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	text = xasprintf("%s: %s", w->direct_name, why);
	direct_event(w, EVENT_REASON_LOG, text, strlen(text));
	free(text);
}

/* The run is over: the last line scanned, the exit as the interpreter
 * gives it, and the step's end unless keeper killed the run (the
 * interpreter, killed with it, would send none). */
static void
direct_ended(struct worker *w, struct child_result *res)
{
	static const char *const st_name[] = { "ok", "no_work", "failed" };
	char text[DIRECT_NAME_MAX + 64];
	size_t len = strlen(w->direct_name);
	int st, n;

	telescan_flush(w->scan, direct_scanned, w);
	scan_free(w);
	if (res->spawn_error || res->killed)
		return;
	/* The interpreter's words for a failed shell step (shstep.c),
	 * unless the trampoline said why already (it could not exec). */
	if (w->said == NULL && !res->exited && res->term_signal > 0)
		direct_reason(w, "killed by signal %d (%s)", res->term_signal,
		    strsignal(res->term_signal));
	else if (w->said == NULL && res->exited && res->exit_code != 0)
		direct_reason(w, "exit status %d", res->exit_code);
	if (!res->exited && res->term_signal > 0) {
		res->exited = 1;
		res->exit_code = 128 + res->term_signal;
		res->term_signal = 0;
	}
	st = res->exit_code != 0 ? 2 : child_outcome(res) == OUTCOME_NO_WORK;
	n = event_step_end_text(text, sizeof(text), w->direct_name,
	    len > DIRECT_NAME_MAX ? DIRECT_NAME_MAX : len, st_name[st],
	    res->duration_ms);
	direct_event(w, EVENT_STEP_END, text, (size_t)n);
}

/* The def must load before anything runs: a broken def is a config error
 * (FILE:LINE, nothing ran), not a failed run. Checked again only when
 * the file changed. */
static int
check_def(struct worker *w)
{
	struct file_sig sig;
	struct agent_def *def = NULL;
	struct diag dg = { 0 };

	file_sig_get(w->def, &sig);
	if (w->def_checked && strcmp(w->def_checked, w->def) == 0 &&
	    file_sig_eq(&sig, &w->def_sig))
		return w->def_error ? -1 : 0;
	free(w->def_checked);
	w->def_checked = xstrdup(w->def);
	w->def_sig = sig;
	free(w->def_error);
	w->def_error = NULL;
	direct_forget(w);
	if (def_load(w->def, &def, &dg) == -1) {
		w->def_error = diag_first_error(&dg);
		if (w->def_error == NULL)
			w->def_error = xasprintf("%s: cannot be loaded", w->def);
	} else
		direct_learn(w, def);
	if (def)
		def_free(def);
	diag_release(&dg);
	return w->def_error ? -1 : 0;
}

/* The fields of a run row known before the run: its agent and schedule. */
static void
run_rec_init(struct run_rec *r, const struct worker *w)
{
	memset(r, 0, sizeof(*r));
	r->agent = w->name;
	r->trigger = w->trigger;
	r->state = w->state;
	r->hits = w->hits;
	r->repeat = w->repeat;
	r->scheduled_ms = w->scheduled_ms;
}

static void
stage_decide(struct worker *w)
{
	struct lc_decision dec;
	struct run_rec r;

	if (w->m->lifecycle == NULL) {
		w->verdict = LC_RUN;
		w->state[0] = '\0';
		w->hits = 0;
		w->repeat = 1;
	} else {
		char was[LC_NAME_MAX];

		memcpy(was, w->pos.state, sizeof(was));
		lc_decide(w->spec, &w->pos, w->tick_ms, &dec);
		if (dec.clamped)
			log_warnx("agent=%s event=clock-back msg=\"the "
			    "lifecycle's times were in the future (the clock "
			    "was set back); counted from now\"", w->name);
		if (dec.reset)
			log_warnx("agent=%s event=position-reset state=%s "
			    "msg=\"persisted state no longer exists; "
			    "restarting at %s\"", w->name, log_qv(was),
			    w->pos.state);
		w->verdict = dec.verdict;
		/* A retry runs the failed run again: the state's MIN-INTERVAL
		 * counts from the run it retries, not against it. */
		if (w->verdict == LC_GATED && strcmp(w->trigger, "retry") == 0)
			w->verdict = LC_RUN;
		snprintf(w->state, sizeof(w->state), "%s", w->pos.state);
		w->hits = w->pos.hits;
		w->repeat = dec.repeat;
		if (dec.def) {
			free(w->def);
			w->def = xstrdup(dec.def);
		}
	}
	switch (w->verdict) {
	case LC_INVALID:
		w->error = xstrdup(w->spec_error ? w->spec_error :
		    "invalid lifecycle");
		tick_finish(w, OUTCOME_ERROR);
		return;
	case LC_GATED:
		tick_finish(w, OUTCOME_GATED);
		return;
	case LC_DREAM:
		stage_dream(w);
		return;
	case LC_RUN:
		break;
	}
	if (check_def(w) == -1) {
		w->error = xstrdup(w->def_error);
		tick_finish(w, OUTCOME_ERROR);
		return;
	}
	run_rec_init(&r, w);
	r.daemon_pid = w->env->pid;
	w->row_id = w->env->store ? store_begin(w->env->store, &r) : -1;
	if (w->row_id > 0)
		snprintf(w->run_id, sizeof(w->run_id), "%" PRId64, w->row_id);
	else
		snprintf(w->run_id, sizeof(w->run_id), "p%ld-%" PRId64,
		    w->env->pid, util_mono_ms());
	stage_integrate(w);
}

/* A rem state: no agent runs; the telemetry since the previous dream is
 * summarised into history and dreams-NAME.org. */
static void
stage_dream(struct worker *w)
{
	struct lc_dream_stats st;
	char *org, *path;
	int fd;

	memset(&st, 0, sizeof(st));
	if (w->env->store)
		(void)store_dream_stats(w->env->store, w->name,
		    w->pos.last_dream_ms, &st);
	org = lc_dream_org(w->name, w->state, w->pos.last_dream_ms,
	    w->tick_ms, &st);
	path = xasprintf("%s/dreams-%s.org", w->env->data, w->name);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) == -1 || write(fd, org, strlen(org)) != (ssize_t)strlen(org))
		log_warn("agent=%s event=dream-write-failed path=%s", w->name,
		    path);
	if (fd != -1)
		close(fd);
	free(path);
	free(org);
	free(w->result);
	w->result = lc_dream_summary(&st);
	tick_finish(w, OUTCOME_DREAMED);
}

static void
gate_granted(struct gate_waiter *gw)
{
	struct worker *w = (struct worker *)((char *)gw -
	    offsetof(struct worker, gw));

	w->have_slot = 1;
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
	stage_run(w);
}

static void
stage_gate(struct worker *w)
{
	struct sched_params p = params_of(w);

	/* The queue's order (SPEC §5b): the member's priority, and its base
	 * delay as the longest it waits before nobody may overtake it. */
	w->gw.prio = w->m ? w->m->priority : 0;
	w->gw.base_ms = sched_base(&p);
	if (gate_acquire(w->env->gate, &w->gw, gate_granted, now_ms(w))) {
		w->have_slot = w->env->gate->slots > 0;
		stage_run(w);
		return;
	}
	/* Its place in the queue is visible. */
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

static void
release_slot(struct worker *w)
{
	if (w->have_slot) {
		w->have_slot = 0;
		if (sentinel_fault("leak-slot"))	/* TEST-ONLY */
			return;
		gate_release(w->env->gate, now_ms(w));
	}
}

static void
child_exited(struct child *c, const struct child_result *res, void *arg)
{
	struct worker *w = arg;
	struct child_result r = *res;

	(void)c;
	if (w->direct_run)
		direct_ended(w, &r);
	stage_outcome(w, &r);
}

/* The run exists: at is when it began (the gate wait is behind it). */
static void
child_spawned(struct child *c, pid_t pid, int64_t at, void *arg)
{
	struct worker *w = arg;

	(void)c;
	w->started_ms = w->run_started_ms = at;
	runlive_begin(w->env->live, w->run_id, w->rd);
	if (w->env->store && w->row_id > 0)
		(void)store_started(w->env->store, w->row_id, w->started_ms,
		    (long)pid, (long)pid);
	log_debug("agent=%s event=run state=%s hits=%d pid=%ld%s", w->name,
	    w->state, w->hits, (long)pid, w->direct_run ? " direct=1" : "");
	if (w->direct_run)
		direct_begun(w);
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

static char **
build_env(struct worker *w)
{
	const struct crew *cr = w->crew;
	char **env;
	size_t n = 0, i = 0;

	while (environ[n])
		n++;
	env = xcalloc(n + 16, sizeof(*env));
	for (size_t k = 0; k < n; k++) {
		/* Ours are set below; an inherited one must not leak in. */
		if (strncmp(environ[k], "KEEPER_", 7) == 0 &&
		    strncmp(environ[k], "KEEPER_LLM_", 11) != 0 &&
		    strncmp(environ[k], "KEEPER_GIT", 10) != 0)
			continue;
		env[i++] = xstrdup(environ[k]);
	}
	env[i++] = xasprintf("KEEPER_AGENT=%s", w->name);
	/* A member without a lifecycle has no state: its steps have always
	 * seen the interpreter's "manual", and a shell run directly too. */
	env[i++] = xasprintf("KEEPER_STATE=%s", w->state[0] || !w->direct_run ?
	    w->state : "manual");
	env[i++] = xasprintf("KEEPER_HITS=%d", w->hits);
	env[i++] = xasprintf("KEEPER_REPEAT=%d", w->repeat);
	env[i++] = xasprintf("KEEPER_RUN_ID=%s", w->run_id);
	env[i++] = xasprintf("KEEPER_REPO=%s", w->env->repo);
	env[i++] = xasprintf("KEEPER_DATA=%s", w->env->data);
	if (!w->direct_run)	/* the interpreter's; steps never see it */
		env[i++] = xstrdup("KEEPER_EVENT_FD=3");
	if (cr->step_pattern)
		env[i++] = xasprintf("KEEPER_STEP_PATTERN=%s",
		    cr->step_pattern);
	if (cr->thought_pattern)
		env[i++] = xasprintf("KEEPER_THOUGHT_PATTERN=%s",
		    cr->thought_pattern);
	if (cr->nredact > 0) {
		/* exec-def redacts its events with the crew's patterns too. */
		struct sb rx = { 0 };

		sb_adds(&rx, "KEEPER_REDACT=");
		for (size_t k = 0; k < cr->nredact; k++)
			sb_addf(&rx, "%s%s", k ? "\n" : "", cr->redact[k].regex);
		env[i++] = sb_detach(&rx);
	}
	env[i] = NULL;
	return env;
}

/* Why a run could not start, blaming the right thing: a run starts in
 * the tenant repo, so a missing directory there fails the start with the
 * same ENOENT as a missing interpreter would. */
static char *
spawn_error(const struct worker *w, int err)
{
	struct stat st;

	if (stat(w->env->repo, &st) == -1)
		return xasprintf("the tenant repository %s is gone (%s): moved "
		    "or deleted? the run cannot start there", w->env->repo,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return xasprintf("the tenant repository %s is not a directory",
		    w->env->repo);
	return xasprintf("cannot start %s: %s", w->env->exec, strerror(err));
}

static void
stage_run(struct worker *w)
{
	struct child_opts o;
	struct child_cbs cb = { child_spawned, on_event, child_exited, NULL,
	    w, child_log, child_before_kill };
	char *argv[6], **env, err[512];
	int n = 0;

	/* SPEC §12: a keeper whose lease may have lapsed starts nothing (the
	 * tick may have waited at the gate while it was lost). */
	if (!fence_live(w->env->fence)) {
		release_slot(w);
		w->error = xstrdup("not started: this keeper's lease lapsed "
		    "(standby)");
		log_warnx("agent=%s event=fenced msg=\"run not started\"",
		    w->name);
		tick_finish(w, OUTCOME_INTERRUPTED);
		return;
	}
	w->direct_run = w->direct_shell != NULL && direct_patterns(w) == 0;
	w->direct_began = 0;
	if (w->direct_run) {
		w->scan = xcalloc(1, sizeof(*w->scan));
		telescan_init(w->scan, w->scan_re[0], w->scan_re[1]);
		cb.on_out = direct_out;
		argv[n++] = "keeper-exec";
		argv[n++] = "--sh";
		argv[n++] = w->direct_name;
		argv[n++] = (char *)w->direct_shell;
		argv[n++] = w->direct_body;
	} else if (w->env->exec_lean)
		argv[n++] = "keeper-exec";
	else {
		argv[n++] = "keeper";
		argv[n++] = "exec-def";
	}
	if (!w->direct_run) {
		argv[n++] = w->def;
		if (w->state[0]) {
			argv[n++] = "--state";
			argv[n++] = w->state;
		}
	}
	argv[n] = NULL;
	env = build_env(w);
	memset(&o, 0, sizeof(o));
	o.file = w->env->exec;
	o.argv = argv;
	o.env = env;
	o.cwd = w->env->repo;
	o.timeout_ms = w->timeout_ms;
	o.run_id = w->run_id;
	o.data = w->env->data;
	o.spawner = w->env->spawner;
	/* Waiting at the gate does not count: the run's clock (started,
	 * TIMEOUT) starts when the child exists (child_spawned()). */
	for (size_t i = 0; i < w->nsteps; i++)
		free(w->steps[i]);
	w->nsteps = 0;
	free(w->thought);
	w->thought = NULL;
	if (runner(w)->start(w->env->loop, &o, &cb, &w->child, err,
	    sizeof(err)) == -1) {
		util_strv_free(env);
		scan_free(w);
		release_slot(w);
		w->error = access(w->env->repo, F_OK) == -1 ?
		    spawn_error(w, errno) : xstrdup(err);
		w->duration_ms = 0;
		log_warnx("agent=%s event=spawn-failed msg=%s", w->name,
		    log_qv(err));
		tick_finish(w, OUTCOME_FAILED);
		return;
	}
	util_strv_free(env);
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
}

static void
stage_outcome(struct worker *w, const struct child_result *res)
{
	size_t tlen;
	char *t;

	w->outcome = child_outcome(res);
	w->exit_code = res->exited ? res->exit_code : 128 + res->term_signal;
	w->duration_ms = res->duration_ms;
	w->output_bytes = (int64_t)res->out.total;
	w->tok_p = res->tokens_prompt;
	w->tok_c = res->tokens_completion;
	t = child_capture_textn(&res->out, &tlen);
	free(w->result);
	if (res->out.total == 0 && w->rescued.len > 0) {
		/* Killed before it could hand its result over. */
		w->result = redact_apply(w->rd, w->rescued.buf,
		    w->rescued.len, &w->result_len);
		w->output_bytes = (int64_t)w->rescued_total;
	} else
		w->result = redact_apply(w->rd, t, tlen, &w->result_len);
	free(t);
	t = child_capture_textn(&res->err, &tlen);
	free(w->log);
	w->log = scrub_log(w, t, tlen);
	log_finish(w, &res->err, t, tlen);
	/* SPEC §6: ended is when the process exited, and the duration is
	 * the span history shows (a fake runner reports no exit time). */
	w->ended_ms = res->exited_at_ms ? res->exited_at_ms : now_ms(w);
	if (w->started_ms != 0 && w->ended_ms >= w->started_ms)
		w->duration_ms = w->ended_ms - w->started_ms;
	if (res->spawn_error) {
		w->error = spawn_error(w, res->spawn_error);
		w->started_ms = 0;
	} else if (w->outcome == OUTCOME_KILLED ||
	    w->outcome == OUTCOME_FAILED) {
		char *why = run_reason(w, res, t, tlen);

		w->error = scrub(w, why);
		free(why);
	}
	free(t);
	runner(w)->free(w->child);
	w->child = NULL;
	/* The slot comes back as soon as the run is over, whatever it was. */
	release_slot(w);
	stage_commit(w);
}

/*
 * The git stages (SPEC §7, man keeper(1) GIT), as jobs on the daemon's git
 * queue (gitq.h): stage_integrate() before a run when gitops is on,
 * stage_commit() after every run. The job copies what it needs; the
 * worker's own fields stay put until the job's done callback runs.
 */
#define GIT_SETTLE_MS	2000	/* quiet time asked of files while another
				   run shares the work tree */

static struct gitq_job *
git_job(struct worker *w, enum gitq_kind kind)
{
	const struct crew *c = w->crew;
	struct repo_commit_info ci = {
		.agent = w->name,
		.state = w->state,
		.hits = w->hits + 1,	/* this run's ordinal in the state */
		.repeat = w->repeat,
		.run_id = w->run_id,
		.result = w->result ? w->result : "",
		.author = w->m ? w->m->author : NULL,
		.domain = c && c->author_domain ? c->author_domain :
		    REPO_DEFAULT_DOMAIN,
		.outcome = kind == GITQ_PARTIAL ? outcome_name(w->outcome) :
		    NULL,
	};

	/* Another run live in the same work tree may be mid-file: leave
	 * what it touched in the last moments for a later commit. */
	ci.settle_ms = w->env->live_runs(w->env->arg) > 0 ? GIT_SETTLE_MS : 0;
	ci.detached_commit = c ? c->detached_commit : 0;
	ci.max_file_size = c ? c->max_commit_size : 0;
	if (w->env->fence != NULL)
		ci.lease = w->env->fence->lease(w->env->fence->arg);
	/* With a lease every commit goes to origin (SPEC §12). */
	return gitq_job_new(kind, &ci, w->env->gitpush || w->env->fence);
}

static void
set_git_note(struct worker *w, char *note)
{
	free(w->git_note);
	w->git_note = note;
	free(w->last_git);
	w->last_git = xstrdup(note);
}

/* A warning for a run whose outcome stands: appended to its error. */
static void
add_error(struct worker *w, const char *text)
{
	char *e = w->error ? xasprintf("%s; %s", w->error, text) :
	    xstrdup(text);

	free(w->error);
	w->error = e;
}

/*
 * What the git layer would not record, said where the operator looks: a
 * done run on a detached HEAD (kept on its partial ref, not committed)
 * and files over #+MAX-COMMIT-SIZE (left in the work tree). The run's
 * outcome stands; its error column and the log name what was left. A
 * refused detached commit counts as a commit that failed: three in a row
 * make the agent failing (health's why is the note), because its work
 * reaches no branch until someone checks one out.
 */
static void
commit_left_out(struct worker *w, const struct gitq_job *j)
{
	char sz[32], lim[32];

	if (j->rc != 0)
		return;
	if (j->res.status == REPO_KEPT) {
		add_error(w, j->res.note);
		log_warnx("agent=%s event=commit-refused reason=detached-head "
		    "ref=%s", w->name, j->res.ref);
		w->git_fail_streak++;
	}
	if (j->res.flags & REPO_F_TOO_BIG) {
		char *t = xasprintf("'%s' (%s) not committed: over the %s "
		    "MAX-COMMIT-SIZE%s", j->res.big_path, size_format(
		    j->res.big_size, sz, sizeof(sz)), size_format(
		    j->ci.max_file_size, lim, sizeof(lim)), j->res.nbig > 1 ?
		    " (with other files)" : "");

		if (j->kind == GITQ_COMMIT)
			add_error(w, t);
		log_warnx("agent=%s event=commit-too-big path=%s size=%" PRId64
		    " files=%zu", w->name, log_qv(j->res.big_path),
		    j->res.big_size, j->res.nbig);
		free(t);
	}
}

static void
commit_done(struct gitq_job *j, void *arg)
{
	struct worker *w = arg;

	w->gj = NULL;
	/* The commit's own time: ended is the run's (SPEC §6). */
	if (j->rc == 0 && j->res.status != REPO_NO_CHANGE)
		w->committed_ms = now_ms(w);
	if (j->rc == 0 && j->res.status == REPO_KEPT) {
		set_git_note(w, xstrdup(j->res.note));
	} else if (j->rc != 0) {
		/* The run's outcome stands and the work stays in the tree
		 * for the next commit; the git column, the log and
		 * /_activity say why. */
		set_git_note(w, xasprintf("%s failed: %s", j->kind ==
		    GITQ_PARTIAL ? "partial" : "commit", j->err));
		log_warnx("agent=%s event=git-error msg=\"%s\"", w->name,
		    j->err);
		w->git_fail_streak++;
	} else if (j->res.status == REPO_NO_CHANGE) {
		/* The git layer's note, which may say what it left out. */
		const char *rest = strncmp(j->res.note, "no change", 9) == 0 ?
		    j->res.note + 9 : "";

		set_git_note(w, xasprintf("no change%s%s", j->kind ==
		    GITQ_PARTIAL ? " (no partial ref)" : "", rest));
	} else if (j->kind == GITQ_COMMIT) {
		w->commit_id = xstrdup(j->res.id);
		free(w->last_commit);
		w->last_commit = xstrdup(j->res.id);
		set_git_note(w, xstrdup(j->res.note));
		log_info("agent=%s event=commit id=%s files=%zu%s%s", w->name,
		    j->res.id, j->res.nfiles, j->res.flags & REPO_F_DETACHED ?
		    " detached=1" : "", j->res.nskipped ? " left=1" : "");
		if (j->push && j->push_rc != 0)
			log_warnx("agent=%s event=push-failed msg=\"%s\"",
			    w->name, j->push_err);
		/* SPEC §12: with a lease a run is done only once its commit
		 * is on origin. The commit stays on the local branch (and
		 * its partial ref when the lease was lost), never forced. */
		if (j->push && j->push_rc != 0 && w->env->fence != NULL &&
		    w->outcome == OUTCOME_DONE) {
			char *e = xasprintf("commit %.12s not pushed: %s",
			    j->res.id, j->push_err);

			add_error(w, e);
			free(e);
			w->outcome = OUTCOME_FAILED;
		}
	} else {
		char *e;

		set_git_note(w, xstrdup(j->res.note));
		log_info("agent=%s event=partial id=%s ref=refs/keeper/"
		    "partial/%s/%s", w->name, j->res.id, w->name, w->run_id);
		e = w->error ? xasprintf("%s; %s", w->error, j->res.note) :
		    xstrdup(j->res.note);
		free(w->error);
		w->error = e;
	}
	if (j->rc == 0 && j->res.status != REPO_KEPT)
		w->git_fail_streak = 0;
	commit_left_out(w, j);
	if (j->rc == 0 && j->kind == GITQ_COMMIT &&
	    j->res.flags & REPO_F_STALE_LOCK)
		log_warnx("agent=%s event=git-recovered msg=\"removed locks "
		    "left by a keeper that died mid-commit\"", w->name);
	gitq_job_free(j);
	tick_finish(w, w->outcome);
}

/* After a run: done → commit; failed or killed → partial ref; the commit
 * is made before tick_finish() saves the new position. */
static void
stage_commit(struct worker *w)
{
	enum gitq_kind k;

	if (w->started_ms == 0 || (w->outcome != OUTCOME_DONE &&
	    w->outcome != OUTCOME_FAILED && w->outcome != OUTCOME_KILLED)) {
		tick_finish(w, w->outcome);
		return;
	}
	k = w->outcome == OUTCOME_DONE ? GITQ_COMMIT : GITQ_PARTIAL;
	w->gj = git_job(w, k);
	gitq_submit(w->env->git, w->gj, commit_done, w);
}

static void
integrate_done(struct gitq_job *j, void *arg)
{
	struct worker *w = arg;

	w->gj = NULL;
	if (j->rc != 0) {
		set_git_note(w, xasprintf("integrate failed: %s", j->err));
		log_warnx("agent=%s event=integrate-failed msg=\"%s\"",
		    w->name, j->err);
	} else if (j->ir.what == REPO_INT_CONFLICT) {
		set_git_note(w, xasprintf("integrate: %s", j->ir.note));
		log_warnx("agent=%s event=integrate-conflict msg=\"%s\"",
		    w->name, j->ir.note);
	} else if (j->ir.what != REPO_INT_UP_TO_DATE ||
	    j->ir.pushed) {
		log_info("agent=%s event=integrate what=\"%s\" head=%s%s",
		    w->name, repo_integration_name(j->ir.what), j->ir.id,
		    j->ir.pushed ? " pushed=1" : "");
	}
	gitq_job_free(j);
	stage_gate(w);
}

/* Gitops (KEEPER_GITOPS=1): bring origin's work in before the run. A
 * failed or conflicting integration is reported and the run goes ahead
 * on the local branch. */
static void
stage_integrate(struct worker *w)
{
	if (!w->env->gitops) {
		stage_gate(w);
		return;
	}
	w->gj = git_job(w, GITQ_INTEGRATE);
	gitq_submit(w->env->git, w->gj, integrate_done, w);
}

/* The common tail of every tick, whatever it came to. */
static void
tick_finish(struct worker *w, enum outcome o)
{
	w->outcome = o;
	stage_persist(w);
	stage_settle(w);
	/* Published before the history row closes, unless snapshots are
	 * being spaced or rendered on the web's thread (a big crew): a
	 * closed row is then already in /_activity. */
	w->env->changed(w, WORKER_SETTLED, w->env->arg);
	keep_last(w);
	stage_record(w);
	/* The row has it all now: /_runs/ID reads it from history. */
	runlive_end(w->env->live, w->run_id);
	/* The run's tokens are in the history now: a spent budget pauses
	 * the member before its next tick is armed. */
	if (w->started_ms != 0)
		(void)check_budget(w, w->last.ended_ms);
	stage_publish(w);
	stage_schedule(w);
}

/* What worker_last() reports of the tick that just ended: the tick's own
 * fields are cleared before the daemon hears of its end. */
static void
keep_last(struct worker *w)
{
	/* A tick without a run gets its row in stage_record(), which fills
	 * the id in then; w->run_id is a run's. */
	if (w->row_id > 0)
		snprintf(w->last.run_id, sizeof(w->last.run_id), "%" PRId64,
		    w->row_id);
	else
		snprintf(w->last.run_id, sizeof(w->last.run_id), "%s",
		    w->started_ms ? w->run_id : "");
	snprintf(w->last.trigger, sizeof(w->last.trigger), "%s",
	    w->trigger ? w->trigger : "");
	w->last.outcome = w->outcome;
	w->last.scheduled_ms = w->scheduled_ms;
	w->last.started_ms = w->started_ms;
	/* A run ended when its process did; a tick without one now. */
	w->last.ended_ms = w->started_ms && w->ended_ms ? w->ended_ms :
	    now_ms(w);
	w->last.duration_ms = w->duration_ms;
	w->last.tok_p = w->tok_p;
	w->last.tok_c = w->tok_c;
	free(w->last.commit_id);
	w->last.commit_id = w->commit_id ? xstrdup(w->commit_id) : NULL;
	free(w->last.error);
	w->last.error = w->error ? xstrdup(w->error) : NULL;
	/* A tick that ran nothing leaves the last run's output in place. */
	w->last.has_result = w->result != NULL && (w->started_ms != 0 ||
	    w->outcome == OUTCOME_DREAMED);
	w->last.missed = w->missed;
	w->missed = 0;
}

void
worker_last(const struct worker *w, struct worker_last *l)
{
	memset(l, 0, sizeof(*l));
	l->run_id = w->last.run_id;
	l->trigger = w->last.trigger;
	l->outcome = w->last.outcome;
	l->scheduled_ms = w->last.scheduled_ms;
	l->started_ms = w->last.started_ms;
	l->ended_ms = w->last.ended_ms;
	l->duration_ms = w->last.duration_ms;
	l->tokens_prompt = w->last.tok_p;
	l->tokens_completion = w->last.tok_c;
	l->commit_id = w->last.commit_id;
	l->error = w->last.error;
	l->result = w->last.has_result ? w->result : NULL;
	l->missed = w->last.missed;
}

/* The schedule in words, for /_activity (crew.h). */
static void
describe_schedule(struct worker *w)
{
	if (w->m != NULL)
		(void)crew_member_schedule_text(w->crew, w->m, w->sched_text,
		    sizeof(w->sched_text));
}

static void
stage_persist(struct worker *w)
{
	char *p, *text;

	if (w->m == NULL || w->m->lifecycle == NULL || w->spec == NULL)
		return;
	lc_apply(w->spec, &w->pos, w->outcome, w->tick_ms);
	p = path_of(w, SF_POS);
	text = lc_pos_format(&w->pos);
	statesync_put(w->env->sync, p, text, strlen(text));
	free(text);
	free(p);
}

#define OUTPUT_HEAD_MAX	4096	/* bytes of the result history keeps */

static void
stage_record(struct worker *w)
{
	struct run_rec r;
	char *head = NULL;

	if (w->env->store == NULL)
		return;
	run_rec_init(&r, w);
	r.id = w->row_id;
	r.started_ms = w->started_ms;
	r.ended_ms = w->last.ended_ms;	/* keep_last()'s, so both agree */
	r.duration_ms = w->duration_ms;
	r.outcome = w->outcome;
	r.exit_code = w->exit_code;
	r.output_bytes = w->output_bytes;
	if (w->result) {
		/* By length: NUL bytes are output too (SPEC §8). */
		size_t n = w->started_ms ? w->result_len : strlen(w->result);

		n = utf8_cut(w->result, n, OUTPUT_HEAD_MAX);
		head = xmalloc(n + 1);
		memcpy(head, w->result, n);
		head[n] = '\0';
		r.output_head = head;
		r.output_head_len = n;
	}
	r.log = w->log;
	r.committed_ms = w->committed_ms;
	r.commit_id = w->commit_id;
	r.git = w->git_note;
	r.error = w->error;
	r.tokens_prompt = w->tok_p;
	r.tokens_completion = w->tok_c;
	r.steps = w->steprec.len ? w->steprec.buf : NULL;
	r.daemon_pid = w->env->pid;
	if (w->row_id > 0)
		(void)store_end(w->env->store, &r);
	else if ((w->row_id = store_record(w->env->store, &r)) < 0)
		log_warnx("agent=%s event=history-write-failed msg=%s",
		    w->name, log_qv(store_errmsg(w->env->store)));
	else
		snprintf(w->last.run_id, sizeof(w->last.run_id), "%" PRId64,
		    w->row_id);
	free(head);
}

static char *
summary_line(struct worker *w)
{
	struct sb sb = { 0 };
	const char *rest;
	size_t at;

	sb_addf(&sb, "%s: %s", w->name, outcome_name(w->outcome));
	/* A run is counted as its ordinal in the state, as the commit
	 * subject counts it (wake_add 1/3); a tick without a run is not. */
	if (w->state[0])
		sb_addf(&sb, " in %s %d/%d -> %s %d", w->state, w->hits +
		    (w->started_ms != 0), w->repeat, w->pos.state,
		    w->pos.hits);
	if (w->started_ms)
		sb_addf(&sb, " (%" PRId64 " ms)", w->duration_ms);
	if (w->error)
		sb_addf(&sb, ": %s", w->error);
	if (w->outcome == OUTCOME_NO_WORK && w->result &&
	    (at = nowork_match(w->result, strlen(w->result))) > 0) {
		rest = w->result + at;
		while (*rest == ':' || *rest == ' ')
			rest++;
		if (*rest)
			sb_addf(&sb, "\ndaydream: %.*s", (int)strcspn(rest,
			    "\n"), rest);
	} else if (w->outcome == OUTCOME_DREAMED && w->result) {
		sb_addf(&sb, "\ndream: %s", w->result);
	}
	return sb_detach(&sb);
}

/* What status shows of the finished tick: outcome, streaks, the thought. */
static void
stage_settle(struct worker *w)
{
	w->last_outcome = w->outcome;
	if (w->outcome == OUTCOME_FAILED || w->outcome == OUTCOME_KILLED)
		w->fail_streak++;
	else if (w->outcome == OUTCOME_DONE || w->outcome == OUTCOME_NO_WORK)
		w->fail_streak = 0;
	free(w->shown_error);
	w->shown_error = w->outcome == OUTCOME_ERROR && w->error ?
	    xstrdup(w->error) : NULL;
	if (w->outcome == OUTCOME_NO_WORK && w->result) {
		free(w->thought);
		w->thought = xstrdup(w->result);	/* the daydream */
	}
	w->run_started_ms = 0;
}

static void
stage_publish(struct worker *w)
{
	struct worker_watch *ww, *next;
	char *sum;

	sum = summary_line(w);
	if (w->outcome == OUTCOME_ERROR || w->outcome == OUTCOME_FAILED ||
	    w->outcome == OUTCOME_KILLED)
		log_warnx("agent=%s event=tick outcome=%s msg=%s", w->name,
		    outcome_name(w->outcome), log_qv(w->error));
	else
		log_info("agent=%s event=tick outcome=%s state=%s dur_ms=%"
		    PRId64, w->name, outcome_name(w->outcome), w->state,
		    w->duration_ms);
	/* Before the watchers, who may flush. */
	w->env->changed(w, WORKER_CHANGED, w->env->arg);
	for (ww = w->watchers; ww; ww = next) {
		next = ww->next;
		ww->on_end(ww, w, w->outcome, sum);
	}
	w->watchers = NULL;
	free(sum);
}

/*
 * The next tick. A regular tick's outcome sets the cadence (SPEC §5: the
 * delay, the no-work streak); a retry's never does (SPEC §5b: retries are
 * not backoff), and the regular tick stays when it was due. Then a failed
 * run may be retried before that (retry.h), and arm() applies any pause.
 */
static void
stage_schedule(struct worker *w)
{
	struct sched_params p;
	struct retry_params rp;
	struct retry_plan plan;
	int64_t delay = 0, now;
	int retry = strcmp(w->trigger, "retry") == 0;

	free(w->error);
	w->error = NULL;
	free(w->commit_id);
	w->commit_id = NULL;
	free(w->git_note);
	w->git_note = NULL;
	free(w->log);
	w->log = NULL;
	w->busy = 0;
	p = params_of(w);
	if (w->m != NULL && !retry)
		delay = sched_next_delay(&p, w->outcome, &w->streak);
	if (w->m != NULL && !w->removed && !w->stopped && !w->env->oneshot) {
		now = now_ms(w);
		if (!retry) {
			w->gap_ms = delay;
			w->regular_due_ms = sched_next_due(&p, w->scheduled_ms,
			    now, delay);
		}
		if (w->fire.on)	/* NO-WORK backoff never moves a fire */
			cal_regular_due(w, now);
		rp.max = w->m->retry;
		rp.delay_ms = w->m->retry_delay_ms;
		/* From when the row says the run ended (keep_last()). */
		retry_next(&rp, w->outcome, w->retries_made,
		    w->last.ended_ms ? w->last.ended_ms : now,
		    w->regular_due_ms, &plan);
		w->retry_next = plan.attempt;
		w->retry_due_ms = plan.due_ms;
		arm(w, now);
	}
	w->env->done(w, w->env->arg);	/* may free w */
}

void
worker_status(const struct worker *w, struct agent_status *s)
{
	memset(s, 0, sizeof(*s));
	s->name = w->name;
	s->running = w->child != NULL;
	s->queue_place = gate_place(w->env->gate, &w->gw, now_ms(w));
	s->state = w->pos.state;
	s->hits = w->pos.hits;
	s->repeat = 1;
	s->spec = w->spec;
	if (w->spec) {
		int i = lc_spec_find(w->spec, w->pos.state);

		/* Never ticked: the position it will start from. */
		if (w->pos.state[0] == '\0' && w->spec->nstates > 0) {
			i = w->spec->start;
			s->state = w->spec->states[i].name;
		}
		if (i >= 0)
			s->repeat = w->spec->states[i].repeat;
	}
	s->states = w->state_names;
	s->nstates = w->spec ? w->spec->nstates : 0;
	s->nsteps = w->nsteps;
	for (size_t i = 0; i < w->nsteps; i++) {
		s->steps[i].at_ms = w->steps_at[i];
		s->steps[i].text = w->steps[i];
	}
	s->thought = w->thought;
	s->last_run_ms = w->last_run_ms;
	s->next_tick_ms = w->next_tick_ms;
	s->last_outcome = w->last_outcome;
	s->no_work_streak = w->streak;
	s->fail_streak = w->fail_streak;
	s->git_fail_streak = w->git_fail_streak;
	s->expected_gap_ms = w->gap_ms;
	s->run_started_ms = w->run_started_ms;
	s->run_id = w->child != NULL && w->run_id[0] ? w->run_id : NULL;
	s->error = w->shown_error ? w->shown_error : w->spec_error;
	s->last_commit = w->last_commit;
	s->git = w->last_git;
	s->schedule_text = w->sched_text[0] ? w->sched_text : NULL;
	s->calendar = w->fire.on && w->m ? w->m->schedule : NULL;
	s->missed_waiting = w->missed;
	s->paused = pause_active(&w->pause, now_ms(w));
	if (s->paused) {
		s->paused_until_ms = w->pause.until_ms;
		s->paused_why = w->pause.why;
	}
	s->retry_attempt = w->retry_next;
	s->retry_of = w->m ? w->m->retry : 0;
	s->priority = w->m && w->env->gate->slots > 0 ? w->m->priority_name :
	    NULL;
	if (w->m && w->m->token_budget > 0) {
		s->token_budget = w->m->token_budget;
		s->token_window_ms = w->m->token_window_ms;
		s->tokens_used = w->tokens_used;
	}
	s->budget_tripped = w->budget_tripped;
}

/* ---- housekeeping's hooks: facts for the sentinel, its repairs ---- */

void
worker_sentinel_facts(const struct worker *w, struct sentinel_worker *f)
{
	memset(f, 0, sizeof(*f));
	f->idle = !w->busy && !w->stopped && !w->removed;
	f->due_ms = f->idle ? w->next_tick_ms : 0;
	f->running = w->child != NULL;
	/* The clock starts when the child is spawned, not when asked for. */
	if (f->running && w->started_ms > 0 && w->timeout_ms > 0)
		f->deadline_ms = w->started_ms + w->timeout_ms;
	f->holds_slot = w->have_slot;
}

void
worker_expire(struct worker *w)
{
	if (w->child != NULL)
		runner(w)->expire(w->child);
}

const char *
worker_run_id(const struct worker *w)
{
	return w->run_id[0] ? w->run_id : NULL;
}
