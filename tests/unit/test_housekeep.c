/*
 * test_housekeep: retention prunes exactly the old closed rows (time is an
 * argument), VACUUM only when worth it, dream journals bounded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "housekeep.h"
#include "status.h"
#include "store.h"
#include "util.h"

#define DAY	(24LL * 3600 * 1000)
#define NOW	(1700000000000LL)

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/keeper-hk-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	(void)state;
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
	return 0;
}

/* A database as store.c makes one (incremental: auto_vacuum as store.c
 * asks for it) or as keeper made them before (not). */
static sqlite3 *
open_db_mode(const char *name, int incremental)
{
	sqlite3 *db;
	char *path = xasprintf("%s/%s", dir, name);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	free(path);
	if (incremental)
		assert_int_equal(sqlite3_exec(db, "PRAGMA auto_vacuum="
		    "INCREMENTAL", NULL, NULL, NULL), SQLITE_OK);
	/* The columns hk_prune_runs() relies on, as store.c has them. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE runs (id INTEGER PRIMARY KEY, agent TEXT NOT NULL,"
	    " scheduled INTEGER, started INTEGER, ended INTEGER, outcome TEXT,"
	    " output_head TEXT)", NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static sqlite3 *
open_db(const char *name)
{
	return open_db_mode(name, 1);
}

static void
add_row(sqlite3 *db, const char *agent, int64_t sched, int64_t started,
    int64_t ended, const char *outcome)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO runs (agent, "
	    "scheduled, started, ended, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, agent, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, sched);
	if (started)
		sqlite3_bind_int64(st, 3, started);
	if (ended)
		sqlite3_bind_int64(st, 4, ended);
	if (outcome)
		sqlite3_bind_text(st, 5, outcome, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* The one number a query (or a pragma) answers. */
static int64_t
scalar(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t
count(sqlite3 *db, const char *where)
{
	char *sql = xasprintf("SELECT count(*) FROM runs WHERE %s", where);
	int64_t n = scalar(db, sql);

	free(sql);
	return n;
}

static void
test_prune_only_old_rows(void **state)
{
	sqlite3 *db = open_db("prune.db");
	char err[256];

	(void)state;
	/* 91 days old, closed: pruned. */
	add_row(db, "old", NOW - 91 * DAY, NOW - 91 * DAY, NOW - 91 * DAY,
	    "done");
	/* Ended exactly at the cutoff: kept (strictly older goes). */
	add_row(db, "edge", NOW - 90 * DAY, NOW - 90 * DAY, NOW - 90 * DAY,
	    "failed");
	/* One ms older than the cutoff: pruned. */
	add_row(db, "edge1", NOW - 90 * DAY - 1, NOW - 90 * DAY - 1,
	    NOW - 90 * DAY - 1, "no_work");
	/* Old but started long ago and ended recently: kept. */
	add_row(db, "long", NOW - 100 * DAY, NOW - 100 * DAY, NOW - DAY,
	    "killed");
	/* Gated rows have no start: their due time counts. */
	add_row(db, "gated", NOW - 95 * DAY, 0, 0, "gated");
	/* Open row, very old: never pruned. */
	add_row(db, "open", NOW - 200 * DAY, NOW - 200 * DAY, 0, NULL);
	/* Recent. */
	add_row(db, "new", NOW - DAY, NOW - DAY, NOW - DAY, "done");

	assert_int_equal(hk_prune_runs(db, NOW, 90 * DAY, 0, err, sizeof(err)),
	    3);
	assert_int_equal(count(db, "1"), 4);
	assert_int_equal(count(db, "agent IN ('old','edge1','gated')"), 0);
	assert_int_equal(count(db, "agent IN ('edge','long','open','new')"),
	    4);
	/* Idempotent. */
	assert_int_equal(hk_prune_runs(db, NOW, 90 * DAY, 0, err, sizeof(err)),
	    0);
	/* A shorter retention at a later now takes more; 0 takes nothing. */
	assert_int_equal(hk_prune_runs(db, NOW, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(hk_prune_runs(db, NOW + DAY, DAY, 0, err, sizeof(err)),
	    3);
	assert_int_equal(count(db, "1"), 1);
	assert_int_equal(count(db, "agent = 'open'"), 1);
	sqlite3_close(db);
}

static void
test_prune_in_batches(void **state)
{
	sqlite3 *db = open_db("batch.db");
	char err[256];

	(void)state;
	for (int i = 0; i < 7; i++)
		add_row(db, "old", NOW - 100 * DAY + i, NOW - 100 * DAY + i,
		    NOW - 100 * DAY + i, "done");
	add_row(db, "new", NOW, NOW, NOW, "done");
	/* 3 + 3 + 1: a short batch means done; the oldest go first. */
	assert_int_equal(hk_prune_runs(db, NOW, DAY, 3, err, sizeof(err)), 3);
	assert_int_equal(count(db, "ended < 1691360000003"), 0);
	assert_int_equal(hk_prune_runs(db, NOW, DAY, 3, err, sizeof(err)), 3);
	assert_int_equal(hk_prune_runs(db, NOW, DAY, 3, err, sizeof(err)), 1);
	assert_int_equal(hk_prune_runs(db, NOW, DAY, 3, err, sizeof(err)), 0);
	assert_int_equal(count(db, "1"), 1);
	assert_int_equal(count(db, "agent = 'new'"), 1);
	sqlite3_close(db);
}

static void
test_prune_error(void **state)
{
	sqlite3 *db;
	char err[256] = "";

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(hk_prune_runs(db, NOW, DAY, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "runs"));
	sqlite3_close(db);
}

/* 400 rows of 2000 bytes, 1..400, all ended at 1 (old). */
static void
fill(sqlite3 *db)
{
	char *blob;
	sqlite3_stmt *st;

	blob = xmalloc(2001);
	memset(blob, 'x', 2000);
	blob[2000] = '\0';
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO runs (agent, "
	    "scheduled, ended, outcome, output_head) VALUES ('a', 1, 1, "
	    "'done', ?1)", -1, &st, NULL), SQLITE_OK);
	for (int i = 0; i < 400; i++) {
		sqlite3_bind_text(st, 1, blob, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(blob);
}

/* A database from before incremental mode: one full VACUUM when worth
 * it, and it comes out incremental (the connection asks for it, as
 * store.c's does). */
static void
test_vacuum_when_worth_it(void **state)
{
	sqlite3 *db = open_db_mode("vac.db", 0);
	struct hk_db_report r;
	char err[256];

	(void)state;
	fill(db);
	assert_int_equal(scalar(db, "PRAGMA auto_vacuum"), 0);
	/* Full file, nothing free: checkpoint only. */
	assert_int_equal(hk_db_maintain(db, HK_VACUUM_FREE_RATIO,
	    HK_VACUUM_STEP_PAGES, 0, &r, err, sizeof(err)), 0);
	assert_true(r.checkpointed);
	assert_false(r.vacuumed);
	assert_false(r.more);
	assert_true(r.pages_before >= HK_VACUUM_MIN_PAGES);

	/* Prune most of it: the free list passes a quarter, VACUUM runs
	 * and the file shrinks. */
	assert_int_equal(hk_prune_runs(db, 10 * DAY, DAY, 0, err, sizeof(err)),
	    400);
	assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA auto_vacuum=INCREMENTAL",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(hk_db_maintain(db, HK_VACUUM_FREE_RATIO,
	    HK_VACUUM_STEP_PAGES, 0, &r, err, sizeof(err)), 0);
	assert_true(r.vacuumed);
	assert_false(r.stepped);
	assert_false(r.more);
	assert_true(r.free_before * 4 > r.pages_before);
	assert_true(r.pages_after < r.pages_before);
	assert_int_equal(r.free_after, 0);
	assert_int_equal(scalar(db, "PRAGMA auto_vacuum"),
	    HK_AUTO_VACUUM_INCREMENTAL);
	sqlite3_close(db);
}

/* An incremental database gives its free pages back a step at a time:
 * never more than the step in one call, more set until none are left,
 * and the checkpoint only after the last step. */
static void
test_vacuum_in_steps(void **state)
{
	sqlite3 *db = open_db("steps.db");
	struct hk_db_report r;
	char err[256];
	int64_t pages, calls = 0, step = 16;

	(void)state;
	fill(db);
	assert_int_equal(hk_prune_runs(db, 10 * DAY, DAY, 0, err, sizeof(err)),
	    400);
	pages = scalar(db, "PRAGMA page_count");
	assert_true(scalar(db, "PRAGMA freelist_count") > 2 * step);
	do {
		assert_int_equal(hk_db_maintain(db, HK_VACUUM_FREE_RATIO, step,
		    calls > 0, &r, err, sizeof(err)), 0);
		assert_true(r.stepped);
		assert_false(r.vacuumed);
		assert_true(r.pages_before - r.pages_after <= step);
		assert_true(r.pages_after < r.pages_before);
		assert_int_equal(r.checkpointed, !r.more);
		calls++;
	} while (r.more);
	assert_true(calls >= 3);
	assert_int_equal(r.free_after, 0);
	assert_int_equal(scalar(db, "PRAGMA freelist_count"), 0);
	assert_true(scalar(db, "PRAGMA page_count") < pages / 2);
	/* Once done, nothing is worth doing: no step, checkpoint only. */
	assert_int_equal(hk_db_maintain(db, HK_VACUUM_FREE_RATIO, step, 0, &r,
	    err, sizeof(err)), 0);
	assert_false(r.stepped);
	assert_false(r.more);
	assert_true(r.checkpointed);
	sqlite3_close(db);
}

static void
test_due(void **state)
{
	(void)state;
	assert_true(hk_due(0, DAY, NOW));
	assert_false(hk_due(NOW - DAY + 1, DAY, NOW));
	assert_true(hk_due(NOW - DAY, DAY, NOW));
}

static char *
journal(size_t n)
{
	struct sb b = { 0 };

	sb_adds(&b, "#+TITLE: dreams of wren\n\n");
	for (size_t i = 1; i <= n; i++)
		sb_addf(&b, "* dream %zu\n:PROPERTIES:\n:DONE: %zu\n:END:\n"
		    "text ** not a heading\n", i, i);
	return sb_detach(&b);
}

static void
test_bound_journal_entries(void **state)
{
	char *path = xasprintf("%s/dreams-wren.org", dir), *want, *got;
	char *full = journal(5), *last2 = journal(5), err[256];
	size_t len;
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	fputs(full, f);
	fclose(f);
	assert_int_equal(hk_bound_journal(path, 10, 0, err, sizeof(err)), 0);
	assert_int_equal(hk_bound_journal(path, 2, 0, err, sizeof(err)), 3);
	got = util_read_file(path, &len);
	/* The preamble, then dreams 4 and 5 exactly. */
	want = xasprintf("#+TITLE: dreams of wren\n\n%s",
	    strstr(last2, "* dream 4"));
	assert_string_equal(got, want);
	assert_int_equal(hk_bound_journal(path, 2, 0, err, sizeof(err)), 0);
	free(got);
	free(want);
	free(full);
	free(last2);
	free(path);
}

static void
test_bound_journal_bytes(void **state)
{
	char *path = xasprintf("%s/dreams-big.org", dir), *full = journal(50);
	char err[256], *got;
	size_t len;
	FILE *f;
	int dropped;

	(void)state;
	f = fopen(path, "w");
	fputs(full, f);
	fclose(f);
	dropped = hk_bound_journal(path, 0, 500, err, sizeof(err));
	assert_true(dropped > 0);
	got = util_read_file(path, &len);
	assert_true(len <= 500);
	assert_non_null(strstr(got, "* dream 50\n"));
	assert_null(strstr(got, "* dream 1\n"));
	assert_true(strncmp(got, "#+TITLE:", 8) == 0);
	free(got);
	/* A budget below one entry still keeps the newest. */
	assert_true(hk_bound_journal(path, 0, 10, err, sizeof(err)) > 0);
	got = util_read_file(path, &len);
	assert_non_null(strstr(got, "* dream 50\n"));
	assert_null(strstr(got, "* dream 49\n"));
	free(got);
	/* Missing file: nothing to do. */
	unlink(path);
	assert_int_equal(hk_bound_journal(path, 1, 1, err, sizeof(err)), 0);
	free(full);
	free(path);
}

/* The same retention through the real store: runs and alerts. */
static void
test_store_prune(void **state)
{
	struct store *st;
	char *path = xasprintf("%s/keeper.db", dir), err[256];
	struct run_rec r = { .agent = "wren", .trigger = "schedule",
	    .state = "", .exit_code = 0, .outcome = OUTCOME_DONE };
	sqlite3 *db;

	(void)state;
	assert_int_equal(store_open(path, &st, err, sizeof(err)), 0);
	r.scheduled_ms = r.started_ms = r.ended_ms = NOW - 10 * DAY;
	assert_true(store_record(st, &r) > 0);
	r.scheduled_ms = r.started_ms = r.ended_ms = NOW - DAY / 2;
	assert_true(store_record(st, &r) > 0);
	assert_int_equal(store_alert(st, "a1", "wren", "ok", "failing", 3, 0,
	    NOW - 10 * DAY, "1", "old"), 0);
	assert_int_equal(store_alert(st, "a2", "wren", "failing", "ok", 0, 0,
	    NOW - DAY / 2, "2", "new"), 0);
	/* The same id again is a no-op, not a second row. */
	assert_int_equal(store_alert(st, "a2", "wren", "failing", "ok", 0, 0,
	    NOW, "2", "new"), 0);
	db = store_db(st);
	assert_int_equal(count(db, "1"), 2);
	assert_int_equal(store_prune(st, NOW, DAY, 0, err, sizeof(err)), 1);
	assert_int_equal(count(db, "1"), 1);
	assert_int_equal(count(db, "ended = " "1699956800000"), 1);
	{
		sqlite3_stmt *q;

		assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(id)"
		    " FROM alerts", -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0),
		    "a2");
		sqlite3_finalize(q);
	}
	store_close(st);
	free(path);
}

/* /_health carries the sentinel's counts when the daemon gives them. */
static void
test_health_json_sentinel(void **state)
{
	struct status_sentinel sn = { .missed_timer = 2, .leaked_slot = 1 };
	struct status_crew c = { .boot_ms = NOW };
	json_t *o;
	int code;

	(void)state;
	o = status_health_json(NULL, 0, &c, NOW, &code);
	assert_null(json_object_get(o, "sentinel"));
	json_decref(o);
	c.sentinel = &sn;
	o = status_health_json(NULL, 0, &c, NOW, &code);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "sentinel"), "missed_timer")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "sentinel"), "leaked_slot")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "sentinel"), "overdue_run")), 0);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prune_only_old_rows),
		cmocka_unit_test(test_prune_in_batches),
		cmocka_unit_test(test_prune_error),
		cmocka_unit_test(test_vacuum_when_worth_it),
		cmocka_unit_test(test_vacuum_in_steps),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_bound_journal_entries),
		cmocka_unit_test(test_bound_journal_bytes),
		cmocka_unit_test(test_store_prune),
		cmocka_unit_test(test_health_json_sentinel),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
