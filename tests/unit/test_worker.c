/*
 * worker: one member's tick against a fake environment. The clock is the
 * test's, runs are faked (no process: a zero timer reports spawn and exit
 * with the result the test chose), and the worker must tell its env what
 * happens (due, changed, done) instead of acting on the daemon's behalf.
 * The history, the state files and the git queue are the real ones, on a
 * temp directory that is not a git repository (commits then fail with a
 * note, which is part of what a tick records).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"
#include "crew.h"
#include "diag.h"
#include "gate.h"
#include "gitq.h"
#include "fs.h"
#include "statefile.h"
#include "statesync.h"
#include "store.h"
#include "util.h"
#include "worker.h"

#define T0	1800000000000LL		/* the fake clock's start */

/* A faked run: spawn at its start time, exit with the test's result. */
struct child {
	uv_timer_t		 t;
	struct child_cbs	 cbs;
	struct child_result	 res;
};

struct fix {
	char			 dir[64], data[96], repo[96];
	uv_loop_t		 loop;
	struct store		*store;
	struct statesync	*sync;
	struct gate		 gate;
	struct gitq		*git;
	struct worker_env	 env;
	struct crew		*crew;
	struct worker		*w;
	int64_t			 clock;
	/* what the fake run does */
	const char		*result;
	int			 exit_code;
	int64_t			 run_ms;
	long			 tokens;	/* each run's, prompt; -1 none */
	int			 runs;
	/* what the worker reported */
	int			 due, changed, settled, done, budget;
	/* worker_last() as the done callback saw it */
	struct worker_last	 last;
	char			 last_run_id[32], last_result[64];
	char			 last_error[64];
};

static struct fix *cur;

static int64_t
fake_now(void *arg)
{
	return ((struct fix *)arg)->clock;
}

static void
run_fire(uv_timer_t *t)
{
	struct child *c = t->data;
	struct fix *f = cur;

	c->cbs.on_spawn(c, 4242, f->clock, c->cbs.arg);
	f->clock += f->run_ms;
	c->cbs.on_exit(c, &c->res, c->cbs.arg);
}

static int
fake_start(uv_loop_t *loop, const struct child_opts *o,
    const struct child_cbs *cbs, struct child **out, char *err,
    size_t errlen)
{
	struct child *c = xcalloc(1, sizeof(*c));
	const char *r = cur->result;

	(void)o;
	(void)err;
	(void)errlen;
	cur->runs++;
	c->cbs = *cbs;
	c->res.exited = 1;
	c->res.exit_code = cur->exit_code;
	c->res.duration_ms = cur->run_ms;
	c->res.out.head = xstrdup(r);
	c->res.out.hlen = strlen(r);
	c->res.out.total = strlen(r);
	c->res.err.head = xstrdup("");
	c->res.tokens_prompt = cur->tokens;
	c->res.tokens_completion = cur->tokens >= 0 ? 0 : -1;
	uv_timer_init(loop, &c->t);
	c->t.data = c;
	uv_timer_start(&c->t, run_fire, 0, 0);
	*out = c;
	return 0;
}

static void
fake_closed(uv_handle_t *h)
{
	struct child *c = h->data;

	free(c->res.out.head);
	free(c->res.err.head);
	free(c);
}

static void
fake_free(struct child *c)
{
	uv_close((uv_handle_t *)&c->t, fake_closed);
}

static void
fake_kill(struct child *c)
{
	(void)c;
}

static const struct worker_runner fake_runner = {
	fake_start, fake_kill, fake_kill, fake_free
};

static void
on_due(struct worker *w, void *arg)
{
	(void)w;
	((struct fix *)arg)->due++;
}

static void
on_changed(struct worker *w, enum worker_news news, void *arg)
{
	struct fix *f = arg;

	(void)w;
	if (news == WORKER_SETTLED)
		f->settled++;
	else
		f->changed++;
}

static void
on_done(struct worker *w, void *arg)
{
	struct fix *f = arg;

	f->done++;
	/* What an observer of DAEMON_TICK_DONE reads, at that moment. */
	worker_last(w, &f->last);
	snprintf(f->last_run_id, sizeof(f->last_run_id), "%s",
	    f->last.run_id);
	snprintf(f->last_result, sizeof(f->last_result), "%s",
	    f->last.result ? f->last.result : "(none)");
	snprintf(f->last_error, sizeof(f->last_error), "%s",
	    f->last.error ? f->last.error : "(none)");
}

static void
on_budget(struct worker *w, void *arg)
{
	(void)w;
	((struct fix *)arg)->budget++;
}

static size_t
no_live_runs(void *arg)
{
	(void)arg;
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A crew of one member "a" running DIR/def.org, with extra keywords and
 * member properties. */
static void
load_crew(struct fix *f, const char *keywords, const char *props)
{
	struct diag dg = { 0 };
	char *path = xasprintf("%s/crew.org", f->dir);
	char *text = xasprintf("#+TITLE: t\n%s* a\n:PROPERTIES:\n:DEF: "
	    "def.org\n%s:END:\n", keywords, props);

	write_file(path, text);
	assert_int_equal(crew_load(path, &f->crew, &dg), 0);
	diag_release(&dg);
	free(text);
	free(path);
}

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));
	char err[256], *p;

	snprintf(f->dir, sizeof(f->dir), "/tmp/keeper-worker-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
	assert_int_equal(mkdir(f->data, 0755), 0);
	assert_int_equal(mkdir(f->repo, 0755), 0);
	p = xasprintf("%s/def.org", f->dir);
	write_file(p, "* run\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n");
	free(p);
	uv_loop_init(&f->loop);
	p = xasprintf("%s/keeper.db", f->data);
	assert_int_equal(store_open(p, &f->store, err, sizeof(err)), 0);
	free(p);
	f->sync = statesync_new(&f->loop, f->data);
	gate_init(&f->gate, 1);
	f->git = gitq_new(&f->loop, f->repo);
	f->clock = T0;
	f->result = "wrote a story\n";
	f->run_ms = 4000;
	f->tokens = -1;
	f->env = (struct worker_env){
		.loop = &f->loop, .data = f->data, .repo = f->repo,
		.pid = 1, .store = f->store, .sync = f->sync,
		.gate = &f->gate, .git = f->git, .exec = "/bin/false",
		.now = fake_now, .runner = &fake_runner,
		.due = on_due, .changed = on_changed, .done = on_done,
		.live_runs = no_live_runs, .budget = on_budget, .arg = f,
	};
	cur = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char *cmd;

	if (f->w)
		worker_free(f->w);
	statesync_flush(f->sync);
	statesync_free(f->sync);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	gitq_free(f->git);
	store_close(f->store);
	crew_free(f->crew);
	cmd = xasprintf("rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

static void
start(struct fix *f)
{
	f->w = worker_new(&f->env, f->crew, &f->crew->members[0], 0, NULL);
}

/* Starts a tick and runs the loop until it has ended (a gated or dream
 * tick ends inside worker_tick()). */
static void
tick(struct fix *f, const char *trigger)
{
	int want = f->done + 1;

	assert_int_equal(worker_tick(f->w, trigger, NULL), 0);
	while (f->done < want && uv_run(&f->loop, UV_RUN_ONCE))
		;
	assert_int_equal(f->done, want);
}

/* Runs the loop until the tick already started has ended. */
static void
finish(struct fix *f, int want)
{
	while (f->done < want && uv_run(&f->loop, UV_RUN_ONCE))
		;
	assert_int_equal(f->done, want);
}

struct rows {
	struct run_rec	 r[8];
	char		*git[8];
	char		*trigger[8];
	int		 n;
};

static void
row_cb(const struct run_rec *r, void *arg)
{
	struct rows *rs = arg;

	if (rs->n < 8) {
		rs->r[rs->n] = *r;
		rs->git[rs->n] = r->git ? xstrdup(r->git) : NULL;
		rs->trigger[rs->n] = xstrdup(r->trigger);
		rs->n++;
	}
}

static void
rows_release(struct rows *rs)
{
	for (int i = 0; i < rs->n; i++) {
		free(rs->git[i]);
		free(rs->trigger[i]);
	}
}

/* A done run on the fake clock: the history row, the last-run file and
 * the next tick all carry the test's times, and the worker told its env
 * that it changed, settled and ended, in that order of facts. */
static void
done_run_on_the_fake_clock(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	struct rows rs = { 0 };
	int64_t last = 0;
	char err[256], *p;

	load_crew(f, "#+CADENCE: fixed\n", ":INTERVAL: 10m\n");
	start(f);
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 0);
	assert_true(worker_busy(f->w));
	finish(f, 1);
	assert_false(worker_busy(f->w));
	assert_int_equal(f->runs, 1);
	assert_true(f->changed > 0);
	assert_int_equal(f->settled, 1);
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_DONE);
	assert_int_equal(st.last_run_ms, T0);
	/* fixed cadence: due (T0) + INTERVAL, whatever the run took */
	assert_int_equal(st.next_tick_ms, T0 + 600000);
	assert_true(store_history(f->store, "a", 8, row_cb, &rs) >= 0);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.r[0].outcome, OUTCOME_DONE);
	assert_int_equal(rs.r[0].scheduled_ms, T0);
	assert_int_equal(rs.r[0].started_ms, T0);
	assert_int_equal(rs.r[0].ended_ms, T0 + 4000);
	assert_int_equal(rs.r[0].duration_ms, 4000);
	/* the tenant is not a repository: the commit failed, said so */
	assert_non_null(rs.git[0]);
	assert_non_null(strstr(rs.git[0], "commit failed"));
	rows_release(&rs);
	statesync_flush(f->sync);
	p = statefile_path(f->data, SF_LAST_RUN, "a");
	assert_int_equal(statefile_read_last_run(p, &last, err, sizeof(err)),
	    0);
	assert_int_equal(last, T0);
	free(p);
}

/* CADENCE after: the next tick counts from when the tick ended. */
static void
after_cadence_counts_from_the_end(void **state)
{
	struct fix *f = *state;
	struct agent_status st;

	load_crew(f, "#+CADENCE: after\n", ":INTERVAL: 10m\n");
	start(f);
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, T0 + 4000 + 600000);
}

/* NO-WORK backs off exponentially from BACKOFF-BASE, and a done run
 * resets the streak. */
static void
no_work_backs_off(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	int64_t due;

	load_crew(f, "#+CADENCE: fixed\n#+BACKOFF-BASE: 2m\n", ":INTERVAL: 1m\n");
	f->result = "NO-WORK: nothing new\n";
	f->run_ms = 0;
	start(f);
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_NO_WORK);
	assert_int_equal(st.no_work_streak, 1);
	assert_int_equal(st.next_tick_ms, T0 + 120000);
	due = st.next_tick_ms;
	f->clock = due;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.no_work_streak, 2);
	assert_int_equal(st.next_tick_ms, due + 240000);
	f->result = "done\n";
	f->clock = st.next_tick_ms;
	due = st.next_tick_ms;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.no_work_streak, 0);
	assert_int_equal(st.next_tick_ms, due + 60000);
}

/* One tick at a time: a second one while the first runs is refused. */
static void
mid_tick_refused(void **state)
{
	struct fix *f = *state;

	load_crew(f, "", ":INTERVAL: 1h\n");
	start(f);
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 0);
	assert_int_equal(worker_tick(f->w, "run-once", NULL), -1);
	finish(f, 1);
	assert_int_equal(f->runs, 1);
	tick(f, "run-once");
	assert_int_equal(f->runs, 2);
}

/* When its timer fires the worker reports due and starts nothing: the
 * daemon decides (it re-reads the manifest first). */
static void
timer_reports_due(void **state)
{
	struct fix *f = *state;

	load_crew(f, "", ":INTERVAL: 1h\n");
	start(f);
	/* never ran, not at boot: due at once */
	worker_arm_first(f->w, T0, 0);
	while (f->due == 0 && uv_run(&f->loop, UV_RUN_ONCE))
		;
	assert_int_equal(f->due, 1);
	assert_false(worker_busy(f->w));
	assert_int_equal(f->runs, 0);
}

/* Removed from the manifest mid-run: the run finishes and is recorded,
 * no next tick is armed, and the env hears that the tick ended. */
static void
removed_mid_run(void **state)
{
	struct fix *f = *state;
	struct agent_status st;

	load_crew(f, "", ":INTERVAL: 1h\n");
	start(f);
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 0);
	worker_rebind(f->w, f->crew, NULL, 0, NULL);
	assert_true(worker_removed(f->w));
	finish(f, 1);
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_DONE);
	assert_int_equal(st.next_tick_ms, 0);
}

/* The gate: with its one slot held, a tick waits in the queue and runs
 * once the slot comes back. */
static void
waits_at_the_gate(void **state)
{
	struct fix *f = *state;
	struct gate_waiter other = { 0 };
	struct agent_status st;

	load_crew(f, "", ":INTERVAL: 1h\n");
	start(f);
	assert_int_equal(gate_acquire(&f->gate, &other, NULL, f->clock), 1);
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 0);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	worker_status(f->w, &st);
	assert_int_equal(st.queue_place, 1);
	assert_int_equal(f->runs, 0);
	gate_release(&f->gate, f->clock);
	finish(f, 1);
	assert_int_equal(f->runs, 1);
	assert_int_equal(f->gate.used, 0);	/* the slot came back */
}

/* A lifecycle's MIN-INTERVAL gate reads the fake clock: a rem state
 * dreams, is gated a minute later, and dreams again once 10 minutes
 * have passed. */
static void
min_interval_on_the_fake_clock(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	char *p = xasprintf("%s/loop.org", f->dir);

	write_file(p, "* rest\n:PROPERTIES:\n:KIND: rem\n:NEXT: rest\n"
	    ":MIN-INTERVAL: 10m\n:END:\n");
	free(p);
	load_crew(f, "", ":INTERVAL: 1m\n:LIFECYCLE: loop.org\n");
	start(f);
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_DREAMED);
	f->clock = T0 + 60000;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_GATED);
	f->clock = T0 + 600000;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_DREAMED);
	assert_int_equal(f->runs, 0);		/* rem states run no agent */
}

/* What the end of a tick tells its observers (worker_last()): the run's
 * times, outcome, output and error as its history row has them, and for
 * a tick that ran nothing, no output. The schedule in words is in its
 * status. */
static void
last_tick_for_observers(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	struct rows rs = { 0 };
	char id[32];

	load_crew(f, "#+CADENCE: fixed\n", ":INTERVAL: 15m\n");
	start(f);
	worker_status(f->w, &st);
	assert_string_equal(st.schedule_text, "every 15m");
	tick(f, "run-once");
	assert_int_equal(f->last.outcome, OUTCOME_DONE);
	assert_string_equal(f->last.trigger, "run-once");
	assert_int_equal(f->last.scheduled_ms, T0);
	assert_int_equal(f->last.started_ms, T0);
	assert_int_equal(f->last.duration_ms, 4000);
	assert_int_equal(f->last.ended_ms, T0 + 4000);
	assert_string_equal(f->last_result, "wrote a story\n");
	assert_string_equal(f->last_error, "(none)");
	assert_null(f->last.commit_id);	/* not a repository */
	assert_int_equal(f->last.missed, 0);
	assert_true(store_history(f->store, "a", 1, row_cb, &rs) == 1);
	snprintf(id, sizeof(id), "%lld", (long long)rs.r[0].id);
	assert_string_equal(f->last_run_id, id);
	rows_release(&rs);

	f->exit_code = 3;
	f->result = "half a story\n";
	f->clock += 1000;
	tick(f, "run-once");
	assert_int_equal(f->last.outcome, OUTCOME_FAILED);
	assert_string_equal(f->last_result, "half a story\n");
	assert_non_null(strstr(f->last_error, "exit status 3"));
	assert_int_not_equal(strcmp(f->last_run_id, id), 0);
}

/* SPEC §5b: a paused member starts no scheduled tick (the fire is
 * skipped and the timer armed past the pause, on the cadence's grid), a
 * run-once still runs, and a resume arms the cadence's next fire after
 * now; the pause is in the data directory. */
static void
pause_skips_fires(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	struct pause p;
	char *path, err[256];

	load_crew(f, "#+CADENCE: fixed\n", ":INTERVAL: 10m\n");
	f->run_ms = 0;
	start(f);
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, T0 + 600000);
	/* Paused for 25 minutes: the fires at 10m and 20m are skipped. */
	worker_pause(f->w, T0 + 1500000, "deploy freeze");
	worker_status(f->w, &st);
	assert_true(st.paused);
	assert_int_equal(st.paused_until_ms, T0 + 1500000);
	assert_string_equal(st.paused_why, "deploy freeze");
	assert_int_equal(st.next_tick_ms, T0 + 1800000);
	f->clock = T0 + 600000;
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 1);
	assert_false(worker_busy(f->w));
	assert_int_equal(f->runs, 1);
	tick(f, "run-once");			/* a run-once still runs */
	assert_int_equal(f->runs, 2);
	worker_status(f->w, &st);
	assert_true(st.paused);
	statesync_flush(f->sync);
	path = statefile_path(f->data, SF_PAUSE, "a");
	assert_int_equal(statefile_read_pause(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.until_ms, T0 + 1500000);
	assert_string_equal(p.why, "deploy freeze");
	/* Until resumed: nothing armed; a resume arms the next fire after
	 * now on the run-once's cadence. */
	worker_pause(f->w, 0, NULL);
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, 0);
	assert_int_equal(st.paused_until_ms, 0);
	f->clock = T0 + 600000 + 1500000;
	assert_int_equal(worker_resume(f->w), 1);
	worker_status(f->w, &st);
	assert_false(st.paused);
	assert_int_equal(st.next_tick_ms, T0 + 600000 + 1800000);
	assert_int_equal(worker_resume(f->w), 0);
	statesync_flush(f->sync);
	assert_int_equal(statefile_read_pause(path, &p, err, sizeof(err)), 1);
	free(path);
}

/* A pause read from the data directory at start holds; an expired one
 * does not. */
static void
pause_survives_a_restart(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	char *path = statefile_path(f->data, SF_PAUSE, "a"), err[256];

	load_crew(f, "", ":INTERVAL: 1h\n");
	assert_int_equal(fs_write_atomic(path, "0 maintenance\n", 14, err,
	    sizeof(err)), 0);
	start(f);
	worker_arm_first(f->w, T0, 1);
	worker_status(f->w, &st);
	assert_true(st.paused);
	assert_string_equal(st.paused_why, "maintenance");
	assert_int_equal(st.next_tick_ms, 0);
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 1);
	worker_free(f->w);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(fs_write_atomic(path, "1000 long ago\n", 14, err,
	    sizeof(err)), 0);
	start(f);
	worker_status(f->w, &st);
	assert_false(st.paused);
	tick(f, "schedule");
	assert_int_equal(f->runs, 1);
	free(path);
}

/* :RETRY: 2 after failed runs: retry 1 at D after the failed run's end,
 * retry 2 at 2D after its own, each recorded with trigger retry; then
 * the regular tick. Retries leave the no-work streak alone. */
static void
retries_at_doubling_delays(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	struct rows rs = { 0 };

	load_crew(f, "", ":INTERVAL: 1h\n:RETRY: 2\n:RETRY-DELAY: 300ms\n");
	f->exit_code = 1;
	f->run_ms = 50;
	start(f);
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_FAILED);
	assert_int_equal(st.retry_attempt, 1);
	assert_int_equal(st.retry_of, 2);
	assert_int_equal(st.next_tick_ms, T0 + 50 + 300);
	f->clock = st.next_tick_ms;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.retry_attempt, 2);
	assert_int_equal(st.next_tick_ms, T0 + 350 + 50 + 600);
	f->clock = st.next_tick_ms;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.retry_attempt, 0);
	/* The regular tick, an hour after the first one was due (the
	 * default cadence, fixed). */
	assert_int_equal(st.next_tick_ms, T0 + 3600000);
	assert_int_equal(f->runs, 3);
	assert_int_equal(st.fail_streak, 3);
	assert_true(store_history(f->store, "a", 8, row_cb, &rs) >= 0);
	assert_int_equal(rs.n, 3);
	assert_string_equal(rs.trigger[2], "schedule");	/* oldest last */
	assert_string_equal(rs.trigger[1], "retry");
	assert_string_equal(rs.trigger[0], "retry");
	assert_int_equal(rs.r[1].scheduled_ms - rs.r[2].ended_ms, 300);
	assert_int_equal(rs.r[0].scheduled_ms - rs.r[1].ended_ms, 600);
	rows_release(&rs);
}

/* A retry that finds no work ends the series without a backoff: the
 * streak and the regular tick stay as they were. */
static void
retry_is_not_backoff(void **state)
{
	struct fix *f = *state;
	struct agent_status st;

	load_crew(f, "", ":INTERVAL: 1h\n:RETRY: 3\n:RETRY-DELAY: 1s\n");
	f->exit_code = 1;
	f->run_ms = 0;
	start(f);
	tick(f, "schedule");
	f->exit_code = 0;
	f->result = "NO-WORK: nothing\n";
	f->clock = T0 + 1000;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_NO_WORK);
	assert_int_equal(st.no_work_streak, 0);
	assert_int_equal(st.retry_attempt, 0);
	assert_int_equal(st.next_tick_ms, T0 + 3600000);
}

/* A regular tick due before the next retry replaces the series. */
static void
regular_tick_replaces_retry(void **state)
{
	struct fix *f = *state;
	struct agent_status st;

	load_crew(f, "", ":INTERVAL: 1s\n:RETRY: 3\n:RETRY-DELAY: 400ms\n");
	f->exit_code = 1;
	f->run_ms = 0;
	start(f);
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.retry_attempt, 1);
	assert_int_equal(st.next_tick_ms, T0 + 400);
	f->clock = T0 + 400;
	tick(f, "schedule");
	worker_status(f->w, &st);
	/* 800 ms after this one would be 1200: the regular tick at 1000
	 * comes first. */
	assert_int_equal(st.retry_attempt, 0);
	assert_int_equal(st.next_tick_ms, T0 + 1000);
}

/* :TOKEN-BUDGET: 100/1s with runs of 60 tokens: the second run spends
 * it; the member pauses itself until the first run has left the window
 * (then 60 < 100 are counted), the env hears of it once, and the fires
 * until then are skipped. */
static void
budget_pauses_until_the_window_allows(void **state)
{
	struct fix *f = *state;
	struct agent_status st;

	load_crew(f, "", ":INTERVAL: 100ms\n:TOKEN-BUDGET: 100/1s\n");
	f->tokens = 60;
	f->run_ms = 10;
	start(f);
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_false(st.paused);
	assert_int_equal(st.tokens_used, 60);
	assert_int_equal(st.token_budget, 100);
	f->clock = T0 + 200;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.tokens_used, 120);
	assert_true(st.paused);
	assert_string_equal(st.paused_why, "token budget");
	/* 60 + 60 reached 100 at the first run (ended T0 + 10), counted
	 * from the newest: it must leave the window. */
	assert_int_equal(st.paused_until_ms, T0 + 10 + 1000);
	assert_true(st.budget_tripped);
	assert_int_equal(f->budget, 1);
	f->clock = T0 + 500;
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 1);
	assert_int_equal(f->budget, 1);		/* one alert */
	assert_int_equal(f->runs, 2);
	/* Both earlier runs have left the window by then. */
	f->clock = T0 + 1300;
	tick(f, "schedule");
	assert_int_equal(f->runs, 3);
	worker_status(f->w, &st);
	assert_false(st.budget_tripped);
	assert_false(st.paused);
	assert_int_equal(st.tokens_used, 60);
}


/* ---- calendar members (SPEC §5a) ---- */

#define TW_MIN	60000LL
#define TW_DAY	(24 * 60 * TW_MIN)
/* T0 is 2027-01-15 08:00 UTC: the daily 08:30 is half an hour away. */
#define FIRE0	(T0 + 30 * TW_MIN)

/* A calendar member fires at its time on the fake wall clock, recorded
 * with its due time; a timer early by the clock (set back) only re-arms;
 * NO-WORK backoff does not move the next fire. */
static void
calendar_fires_on_time(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	struct rows rs = { 0 };

	load_crew(f, "", ":SCHEDULE: 30 8 * * *\n:TZ: UTC\n");
	start(f);
	worker_arm_first(f->w, T0, 1);
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, FIRE0);	/* no BOOT-GRACE */
	assert_string_equal(st.calendar, "30 8 * * *");
	assert_string_equal(st.schedule_text, "every day at 08:30 UTC");
	f->clock = FIRE0 - 5;		/* the clock was set back a little */
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 1);
	assert_int_equal(f->runs, 0);
	f->clock = FIRE0 + 3;
	f->result = "NO-WORK: nothing\n";
	tick(f, "schedule");
	assert_int_equal(f->runs, 1);
	worker_status(f->w, &st);
	assert_int_equal(st.last_outcome, OUTCOME_NO_WORK);
	assert_int_equal(st.next_tick_ms, FIRE0 + TW_DAY);
	assert_true(store_history(f->store, "a", 8, row_cb, &rs) >= 0);
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.trigger[0], "schedule");
	assert_int_equal(rs.r[0].scheduled_ms, FIRE0);
	rows_release(&rs);
	/* Twice in a row at the same time: the fire has been taken. */
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 1);
	assert_int_equal(f->runs, 1);
}

/* Down three days: at boot the two older fires get missed rows and the
 * newest runs once as catch-up after BOOT-GRACE. */
static void
calendar_catch_up_after_downtime(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	struct rows rs = { 0 };
	int64_t boot;

	load_crew(f, "#+BOOT-GRACE: 1m\n", ":SCHEDULE: 30 8 * * *\n"
	    ":TZ: UTC\n");
	start(f);
	worker_arm_first(f->w, T0, 1);
	f->clock = FIRE0;
	tick(f, "schedule");
	worker_free(f->w);
	statesync_flush(f->sync);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	boot = FIRE0 + 3 * TW_DAY + 90 * TW_MIN;		/* 10:00, day 4 */
	f->clock = boot;
	start(f);
	worker_arm_first(f->w, boot, 1);
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, boot + TW_MIN);
	assert_true(store_history(f->store, "a", 8, row_cb, &rs) >= 0);
	assert_int_equal(rs.n, 3);
	assert_int_equal(rs.r[0].outcome, OUTCOME_MISSED);
	assert_int_equal(rs.r[0].scheduled_ms, FIRE0 + 2 * TW_DAY);
	assert_int_equal(rs.r[1].scheduled_ms, FIRE0 + TW_DAY);
	assert_int_equal(rs.r[1].started_ms, 0);
	rows_release(&rs);
	f->clock = boot + TW_MIN;
	tick(f, "schedule");
	assert_int_equal(f->runs, 2);
	assert_string_equal(f->last.trigger, "catch-up");
	assert_int_equal(f->last.scheduled_ms, FIRE0 + 3 * TW_DAY);
	assert_int_equal(f->last.missed, 2);
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, FIRE0 + 4 * TW_DAY);
}

/* A fire in a pause is recorded as missed, and not caught up after it. */
static void
calendar_pause_misses(void **state)
{
	struct fix *f = *state;
	struct agent_status st;
	struct rows rs = { 0 };

	load_crew(f, "", ":SCHEDULE: 30 8 * * *\n:TZ: UTC\n");
	start(f);
	worker_arm_first(f->w, T0, 1);
	worker_pause(f->w, 0, "freeze");
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, FIRE0);	/* wakes to record */
	f->clock = FIRE0;
	assert_int_equal(worker_tick(f->w, "schedule", NULL), 1);
	assert_true(store_history(f->store, "a", 8, row_cb, &rs) >= 0);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.r[0].outcome, OUTCOME_MISSED);
	rows_release(&rs);
	f->clock = FIRE0 + 3 * TW_MIN;
	assert_int_equal(worker_resume(f->w), 1);
	worker_status(f->w, &st);
	assert_int_equal(st.next_tick_ms, FIRE0 + TW_DAY);
	assert_int_equal(f->runs, 0);
}

/* A failed fire is retried between fires; the retry is no fire. */
static void
calendar_retry_between_fires(void **state)
{
	struct fix *f = *state;
	struct agent_status st;

	load_crew(f, "", ":SCHEDULE: 30 8 * * *\n:TZ: UTC\n:RETRY: 1\n"
	    ":RETRY-DELAY: 10m\n");
	f->exit_code = 1;
	f->run_ms = 1000;
	start(f);
	worker_arm_first(f->w, T0, 1);
	f->clock = FIRE0;
	tick(f, "schedule");
	worker_status(f->w, &st);
	assert_int_equal(st.retry_attempt, 1);
	assert_int_equal(st.next_tick_ms, FIRE0 + 1000 + 10 * TW_MIN);
	f->clock = st.next_tick_ms;
	f->exit_code = 0;
	tick(f, "schedule");
	assert_string_equal(f->last.trigger, "retry");
	worker_status(f->w, &st);
	assert_int_equal(st.retry_attempt, 0);
	assert_int_equal(st.next_tick_ms, FIRE0 + TW_DAY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(last_tick_for_observers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(done_run_on_the_fake_clock,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    after_cadence_counts_from_the_end, setup, teardown),
		cmocka_unit_test_setup_teardown(no_work_backs_off, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(mid_tick_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(timer_reports_due, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(removed_mid_run, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(waits_at_the_gate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    min_interval_on_the_fake_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(pause_skips_fires, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(pause_survives_a_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(retries_at_doubling_delays,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(retry_is_not_backoff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(regular_tick_replaces_retry,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    budget_pauses_until_the_window_allows, setup, teardown),
		cmocka_unit_test_setup_teardown(calendar_fires_on_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    calendar_catch_up_after_downtime, setup, teardown),
		cmocka_unit_test_setup_teardown(calendar_pause_misses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(calendar_retry_between_fires,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
