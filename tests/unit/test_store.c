/* Unit tests for store: open/close rows, interrupted at boot, history. */
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

static char dir[] = "/tmp/keeper-st-XXXXXX";
static char *dbpath;

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	dbpath = xasprintf("%s/keeper.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	free(dbpath);
	return rc == 0 ? 0 : -1;
}

struct seen {
	int		 n;
	int64_t		 ids[16];
	enum outcome	 out[16];
	long		 pgid[16];
	char		 agent[16][16];
};

static void
collect(const struct run_rec *r, void *arg)
{
	struct seen *s = arg;

	if (s->n >= 16)
		return;
	s->ids[s->n] = r->id;
	s->out[s->n] = r->outcome;
	s->pgid[s->n] = r->pgid;
	snprintf(s->agent[s->n], 16, "%s", r->agent);
	s->n++;
}

static void
open_close_rows(void **state)
{
	struct store *st;
	char err[256];
	struct run_rec r = { .agent = "wren", .trigger = "schedule",
	    .state = "wake_add", .hits = 1, .repeat = 3,
	    .scheduled_ms = 1000, .exit_code = -1, .daemon_pid = 42,
	    .tokens_prompt = -1, .tokens_completion = -1 };
	struct seen s = { 0 };
	int64_t id;

	(void)state;
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	assert_true((id = store_begin(st, &r)) > 0);
	assert_int_equal(store_started(st, id, 1005, 100, 100), 0);
	/* open row shows with no outcome */
	assert_int_equal(store_history(st, "wren", 10, collect, &s), 1);
	assert_int_equal(s.out[0], OUTCOME_NONE);
	assert_int_equal(s.pgid[0], 100);
	r.id = id;
	r.started_ms = 1005;
	r.ended_ms = 1500;
	r.duration_ms = 495;
	r.outcome = OUTCOME_DONE;
	r.exit_code = 0;
	r.output_head = "hello";
	r.commit_id = "abc";
	assert_int_equal(store_end(st, &r), 0);
	r.outcome = OUTCOME_GATED;
	r.started_ms = 0;
	r.commit_id = NULL;
	r.scheduled_ms = 2000;
	assert_true(store_record(st, &r) > id);
	r.agent = "desk";
	r.outcome = OUTCOME_NO_WORK;
	r.started_ms = 2500;
	r.duration_ms = 10;
	assert_true(store_record(st, &r) > id);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history(st, NULL, 0, collect, &s), 3);
	assert_string_equal(s.agent[0], "desk");	/* newest first */
	assert_int_equal(s.out[1], OUTCOME_GATED);
	assert_int_equal(s.out[2], OUTCOME_DONE);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history(st, "wren", 1, collect, &s), 1);
	assert_int_equal(s.out[0], OUTCOME_GATED);

	struct lc_dream_stats d;
	assert_int_equal(store_dream_stats(st, "wren", 0, &d), 0);
	assert_int_equal(d.runs, 1);
	assert_int_equal(d.done, 1);
	assert_int_equal(d.gated, 1);
	assert_int_equal(d.commits, 1);
	assert_int_equal(d.total_ms, 495);
	assert_int_equal(store_dream_stats(st, "wren", 1500, &d), 0);
	assert_int_equal(d.runs, 0);
	assert_int_equal(store_streak(st, "desk"), 1);
	assert_int_equal(store_streak(st, "wren"), 0);
	store_close(st);
}

static void
interrupted_at_boot(void **state)
{
	struct store *st;
	char err[256];
	struct run_rec r = { .agent = "crashy", .scheduled_ms = 5000,
	    .exit_code = -1, .tokens_prompt = -1, .tokens_completion = -1 };
	struct seen s = { 0 };
	int64_t a, b;

	(void)state;
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	a = store_begin(st, &r);
	b = store_begin(st, &r);
	store_started(st, a, 5001, 4242, 4242);
	store_close(st);	/* the "crash" */

	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	assert_int_equal(store_interrupt_open(st, 9000, collect, &s), 2);
	assert_int_equal(s.pgid[0] == 4242 || s.pgid[1] == 4242, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_history(st, "crashy", 0, collect, &s), 2);
	assert_int_equal(s.out[0], OUTCOME_INTERRUPTED);
	assert_int_equal(s.out[1], OUTCOME_INTERRUPTED);
	assert_true(s.ids[0] == b && s.ids[1] == a);
	/* nothing left open a second time */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_interrupt_open(st, 9500, collect, &s), 0);
	store_close(st);
}

static int wal_calls;

static void
count_wal(void *arg)
{
	(void)arg;
	wal_calls++;
}

static void
wal_hook_instead_of_autocheckpoint(void **state)
{
	struct store *st;
	struct store_ckpt *c = NULL, *kept;
	struct stat before, after;
	char err[256], *big = xmalloc(8192);
	struct run_rec r = { .agent = "w", .exit_code = -1,
	    .tokens_prompt = -1, .tokens_completion = -1,
	    .outcome = OUTCOME_DONE };

	(void)state;
	memset(big, 'x', 8191);
	big[8191] = '\0';
	r.output_head = big;
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	store_on_wal(st, count_wal, NULL);
	for (int i = 0; i < 600 && wal_calls == 0; i++)
		assert_true(store_record(st, &r) > 0);
	/* the hook fired once the WAL passed its threshold ... */
	assert_true(wal_calls > 0);
	/* ... and a checkpoint on another connection succeeds, which is
	 * kept for the next one; the pages land in the database file */
	assert_int_equal(stat(dbpath, &before), 0);
	assert_int_equal(store_checkpoint(&c, dbpath), 0);
	assert_non_null(c);
	assert_int_equal(stat(dbpath, &after), 0);
	assert_true(after.st_size > before.st_size);
	kept = c;
	assert_true(store_record(st, &r) > 0);
	assert_int_equal(store_checkpoint(&c, dbpath), 0);
	assert_ptr_equal(c, kept);
	store_ckpt_close(c);
	c = NULL;
	assert_int_equal(store_checkpoint(&c, "/nonexistent/keeper.db"), -1);
	assert_null(c);
	store_close(st);
	free(big);
}

static void
bad_path(void **state)
{
	struct store *st = (void *)1;
	char err[256] = "";

	(void)state;
	assert_int_equal(store_open("/nonexistent/dir/keeper.db", &st, err,
	    sizeof(err)), -1);
	assert_null(st);
	assert_true(strlen(err) > 0);
}

/* Issue 20: run ids repeated after the history was reset or pruned
 * empty, so refs/keeper/partial/NAME/RUN collided. Ids never go back:
 * not after pruning the newest rows, not below a raised floor. */
static void
run_ids_never_repeat(void **state)
{
	struct store *st;
	char err[256];
	struct run_rec r = { .agent = "wren", .trigger = "schedule",
	    .state = "", .scheduled_ms = 1000, .ended_ms = 1000,
	    .outcome = OUTCOME_GATED, .exit_code = -1,
	    .tokens_prompt = -1, .tokens_completion = -1 };
	int64_t id;

	(void)state;
	unlink(dbpath);
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	assert_int_equal(store_last_run_id(st), 0);
	assert_int_equal(store_record(st, &r), 1);
	assert_int_equal(store_record(st, &r), 2);
	/* everything pruned: the next id still follows the last */
	assert_int_equal(store_prune(st, 1000 + 1000, 1, 0, err, sizeof(err)),
	    2);
	assert_int_equal(store_last_run_id(st), 2);
	assert_int_equal(store_record(st, &r), 3);
	/* a repository that carries runs up to 500 raises the floor; a
	 * lower floor never lowers it */
	assert_int_equal(store_raise_run_floor(st, 500), 0);
	assert_int_equal(store_raise_run_floor(st, 7), 0);
	assert_int_equal(store_last_run_id(st), 500);
	assert_int_equal((id = store_begin(st, &r)), 501);
	assert_int_equal(store_record(st, &r), 502);
	store_close(st);
	/* and it holds across a reopen */
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	assert_int_equal(store_record(st, &r), 503);
	store_close(st);
	unlink(dbpath);
}

static char last_delivery[256];

static void
keep_delivery(const struct run_rec *r, void *arg)
{
	(void)arg;
	snprintf(last_delivery, sizeof(last_delivery), "%s",
	    r->delivery ? r->delivery : "(null)");
}

/* A result's delivery notes append to its row, which keeps its outcome;
 * the day's rows come back oldest first, closed ones only. */
static void
delivery_and_since(void **state)
{
	struct store *st;
	char err[256];
	struct run_rec r = { .agent = "wren", .trigger = "schedule",
	    .state = "", .scheduled_ms = 1000, .ended_ms = 1000,
	    .outcome = OUTCOME_DONE, .exit_code = 0,
	    .tokens_prompt = -1, .tokens_completion = -1 };
	struct seen s = { 0 };
	int64_t a, b;

	(void)state;
	unlink(dbpath);
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	assert_true((a = store_record(st, &r)) > 0);
	r.ended_ms = 5000;
	r.outcome = OUTCOME_FAILED;
	assert_true((b = store_record(st, &r)) > a);
	r.ended_ms = 0;
	r.outcome = OUTCOME_NONE;
	assert_true(store_begin(st, &r) > b);	/* open: not in the day */
	assert_int_equal(store_note_delivery(st, b, "slack http://h: HTTP "
	    "503, retrying"), 0);
	assert_int_equal(store_note_delivery(st, b, "slack http://h: "
	    "delivered after 2 tries"), 0);
	assert_int_equal(store_note_delivery(st, 999, "x"), -1);
	assert_int_equal(store_history(st, "wren", 1, keep_delivery, NULL), 1);
	assert_string_equal(last_delivery, "(null)");	/* the open one */
	assert_int_equal(store_runs_since(st, 0, collect, &s), 2);
	assert_int_equal(s.ids[0], a);
	assert_int_equal(s.ids[1], b);
	assert_int_equal(s.out[1], OUTCOME_FAILED);
	s.n = 0;
	assert_int_equal(store_runs_since(st, 2000, collect, &s), 1);
	assert_int_equal(s.ids[0], b);
	store_close(st);
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	assert_int_equal(store_history(st, "wren", 2, keep_delivery, NULL), 2);
	assert_string_equal(last_delivery, "slack http://h: HTTP 503, "
	    "retrying\nslack http://h: delivered after 2 tries");
	store_close(st);
	unlink(dbpath);
}

/* EXPLAIN QUERY PLAN's rows: their detail column, gathered. */
static int
plan_row(void *arg, int ncol, char **val, char **name)
{
	(void)name;
	if (ncol >= 4 && val[3] != NULL)
		sb_adds(arg, val[3]);
	return 0;
}

/* SPEC §5b: the token budget counts prompt and completion tokens of the
 * agent's runs that ended in the window, newest first to find the run
 * that reached the budget; runs without tokens (or other agents') are
 * not counted, and the query is answered from its index. */
static void
tokens_in_window(void **state)
{
	struct store *st;
	char err[256];
	struct run_rec r = { .agent = "wren", .trigger = "schedule",
	    .state = "", .outcome = OUTCOME_DONE, .exit_code = 0 };
	struct sb plan = { 0 };
	int64_t used, cross;
	static const struct { const char *agent; int64_t ended;
	    long p, c; } runs[] = {
		{ "wren", 1000, 40, 20 },	/* 60 */
		{ "wren", 2000, -1, -1 },	/* no tokens recorded */
		{ "desk", 2500, 500, 500 },	/* someone else's */
		{ "wren", 3000, 50, 10 },	/* 60 */
		{ "wren", 4000, 30, -1 },	/* 30 */
	};

	(void)state;
	unlink(dbpath);
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		r.agent = runs[i].agent;
		r.scheduled_ms = r.started_ms = runs[i].ended - 10;
		r.ended_ms = runs[i].ended;
		r.duration_ms = 10;
		r.tokens_prompt = runs[i].p;
		r.tokens_completion = runs[i].c;
		assert_true(store_record(st, &r) > 0);
	}
	assert_int_equal(store_tokens(st, "wren", 0, 100, &used, &cross), 0);
	assert_int_equal(used, 150);
	assert_int_equal(cross, 1000);	/* 30 + 60 < 100; + 60 reaches it */
	assert_int_equal(store_tokens(st, "wren", 0, 90, &used, &cross), 0);
	assert_int_equal(cross, 3000);
	assert_int_equal(store_tokens(st, "wren", 1000, 100, &used, &cross), 0);
	assert_int_equal(used, 90);
	assert_int_equal(cross, 0);
	assert_int_equal(store_tokens(st, "nobody", 0, 1, &used, &cross), 0);
	assert_int_equal(used, 0);
	assert_int_equal(sqlite3_exec(store_db(st), "EXPLAIN QUERY "
	    "PLAN SELECT ended, max(coalesce(tokens_prompt, 0), 0) + "
	    "max(coalesce(tokens_completion, 0), 0) FROM runs WHERE agent = "
	    "'wren' AND ended > 0 AND (tokens_prompt > 0 OR tokens_completion "
	    "> 0) ORDER BY ended DESC", plan_row, &plan, NULL), SQLITE_OK);
	assert_non_null(plan.buf);
	assert_non_null(strstr(plan.buf, "runs_tokens"));
	sb_release(&plan);
	store_close(st);
	unlink(dbpath);
}

/* A retry's no-work does not move the streak (SPEC §5b). */
static void
retries_leave_the_streak(void **state)
{
	struct store *st;
	char err[256];
	struct run_rec r = { .agent = "wren", .trigger = "schedule",
	    .state = "", .scheduled_ms = 1000, .ended_ms = 1000,
	    .outcome = OUTCOME_NO_WORK, .exit_code = 0,
	    .tokens_prompt = -1, .tokens_completion = -1 };

	(void)state;
	unlink(dbpath);
	assert_int_equal(store_open(dbpath, &st, err, sizeof(err)), 0);
	assert_true(store_record(st, &r) > 0);
	r.trigger = "retry";
	assert_true(store_record(st, &r) > 0);
	assert_int_equal(store_streak(st, "wren"), 1);
	store_close(st);
	unlink(dbpath);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_close_rows),
		cmocka_unit_test(interrupted_at_boot),
		cmocka_unit_test(wal_hook_instead_of_autocheckpoint),
		cmocka_unit_test(bad_path),
		cmocka_unit_test(run_ids_never_repeat),
		cmocka_unit_test(tokens_in_window),
		cmocka_unit_test(retries_leave_the_streak),
		cmocka_unit_test(delivery_and_since),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
