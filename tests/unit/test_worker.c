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
	int			 runs;
	/* what the worker reported */
	int			 due, changed, settled, done;
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
	c->res.tokens_prompt = c->res.tokens_completion = -1;
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
	f->env = (struct worker_env){
		.loop = &f->loop, .data = f->data, .repo = f->repo,
		.pid = 1, .store = f->store, .sync = f->sync,
		.gate = &f->gate, .git = f->git, .exec = "/bin/false",
		.now = fake_now, .runner = &fake_runner,
		.due = on_due, .changed = on_changed, .done = on_done,
		.live_runs = no_live_runs, .arg = f,
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
	int		 n;
};

static void
row_cb(const struct run_rec *r, void *arg)
{
	struct rows *rs = arg;

	if (rs->n < 8) {
		rs->r[rs->n] = *r;
		rs->git[rs->n] = r->git ? xstrdup(r->git) : NULL;
		rs->n++;
	}
}

static void
rows_release(struct rows *rs)
{
	for (int i = 0; i < rs->n; i++)
		free(rs->git[i]);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
