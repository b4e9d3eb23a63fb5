/*
 * store: SQLite run history. Every statement is prepared once at open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "housekeep.h"
#include "store.h"
#include "util.h"

/* auto_vacuum first: it takes effect on a new file at once, on an old
 * one at its next VACUUM (housekeep.c then vacuums a step at a time). */
static const char schema[] =
    "PRAGMA auto_vacuum=INCREMENTAL;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS runs ("
    " id INTEGER PRIMARY KEY,"
    " agent TEXT NOT NULL,"
    " trigger TEXT NOT NULL DEFAULT 'schedule',"
    " state TEXT NOT NULL DEFAULT '',"
    " hits INTEGER NOT NULL DEFAULT 0,"
    " repeat INTEGER NOT NULL DEFAULT 1,"
    " scheduled INTEGER,"
    " started INTEGER,"
    " ended INTEGER,"
    " duration_ms INTEGER,"
    " outcome TEXT,"
    " exit_code INTEGER,"
    " output_bytes INTEGER,"
    " output_head TEXT,"
    " commit_id TEXT,"
    " error TEXT,"
    " tokens_prompt INTEGER,"
    " tokens_completion INTEGER,"
    " steps TEXT,"
    " pid INTEGER,"
    " pgid INTEGER,"
    " daemon_pid INTEGER);"
    "CREATE INDEX IF NOT EXISTS runs_agent ON runs(agent, id);"
    "CREATE INDEX IF NOT EXISTS runs_open ON runs(outcome) "
    " WHERE outcome IS NULL;"
    /* The token budget's count (store_tokens()): only runs that spent
     * tokens are in it, so it costs nothing for runs that do not. */
    "CREATE INDEX IF NOT EXISTS runs_tokens ON runs(agent, ended) "
    " WHERE tokens_prompt > 0 OR tokens_completion > 0;"
    /* service.c: health transitions, the audit record of alerts (the
     * id is the alert's own, so a repeated transition is one row). */
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id TEXT PRIMARY KEY,"
    " agent TEXT NOT NULL,"
    " from_state TEXT NOT NULL,"
    " to_state TEXT NOT NULL,"
    " fail_streak INTEGER,"
    " suppressed INTEGER,"
    " at_ms INTEGER NOT NULL,"
    " run_id TEXT,"
    " text TEXT);"
    "CREATE INDEX IF NOT EXISTS alerts_at ON alerts(at_ms);"
    /* run_floor: no run id at or below it is handed out again, once
     * pruning emptied the table or the tenant repo already has runs of
     * an earlier database (store_raise_run_floor()). */
    "CREATE TABLE IF NOT EXISTS meta ("
    " key TEXT PRIMARY KEY,"
    " value INTEGER);";

/* A new run's id: one above both the newest row and the floor, so ids
 * are never reused for the life of the tenant repo (refs/keeper/partial
 * and the Keeper-Run trailers carry them). */
#define NEXT_ID "(SELECT MAX(COALESCE((SELECT MAX(id) FROM runs), 0), " \
    "COALESCE((SELECT value FROM meta WHERE key = 'run_floor'), 0)) + 1)"

#define COLS "id, agent, trigger, state, hits, repeat, scheduled, started, " \
    "ended, duration_ms, outcome, exit_code, output_bytes, output_head, " \
    "commit_id, error, tokens_prompt, tokens_completion, steps, pid, pgid, " \
    "daemon_pid, git, delivery, committed"

enum { S_BEGIN, S_STARTED, S_END, S_RECORD, S_RECORD_ID, S_OPEN,
	S_INTERRUPT, S_HIST, S_HIST_ALL, S_DREAM, S_STREAK, S_TOKENS, S_ONE,
	S_N };

static const char *const sql[S_N] = {
	[S_BEGIN] = "INSERT INTO runs (id, agent, trigger, state, hits, "
	    "repeat, scheduled, daemon_pid) VALUES (" NEXT_ID ", ?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7)",
	[S_STARTED] = "UPDATE runs SET started = ?2, pid = ?3, pgid = ?4 "
	    "WHERE id = ?1",
	[S_END] = "UPDATE runs SET state = ?2, hits = ?3, repeat = ?4, "
	    "started = ?5, ended = ?6, duration_ms = ?7, outcome = ?8, "
	    "exit_code = ?9, output_bytes = ?10, output_head = ?11, "
	    "commit_id = ?12, error = ?13, tokens_prompt = ?14, "
	    "tokens_completion = ?15, steps = ?16, git = ?17, log = ?18, "
	    "committed = ?19 WHERE id = ?1",
	[S_RECORD] = "INSERT INTO runs (id, agent, trigger, state, hits, "
	    "repeat, scheduled, started, ended, duration_ms, outcome, "
	    "exit_code, output_bytes, output_head, commit_id, error, "
	    "tokens_prompt, tokens_completion, steps, daemon_pid, git, log, "
	    "committed) VALUES "
	    "(" NEXT_ID ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
	[S_RECORD_ID] = "INSERT INTO runs (agent, trigger, state, hits, "
	    "repeat, scheduled, started, ended, duration_ms, outcome, "
	    "exit_code, output_bytes, output_head, commit_id, error, "
	    "tokens_prompt, tokens_completion, steps, daemon_pid, git, log, "
	    "committed, id) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
	[S_OPEN] = "SELECT " COLS " FROM runs WHERE outcome IS NULL",
	[S_INTERRUPT] = "UPDATE runs SET outcome = 'interrupted', ended = ?1, "
	    "duration_ms = CASE WHEN started IS NULL THEN NULL "
	    "ELSE ?1 - started END WHERE outcome IS NULL",
	[S_HIST] = "SELECT " COLS " FROM runs WHERE agent = ?1 "
	    "ORDER BY id DESC LIMIT ?2",
	[S_HIST_ALL] = "SELECT " COLS " FROM runs ORDER BY id DESC LIMIT ?1",
	[S_DREAM] = "SELECT outcome, count(*), coalesce(sum(duration_ms), 0), "
	    "coalesce(max(duration_ms), 0), count(commit_id), "
	    "coalesce(sum(tokens_prompt), 0), "
	    "coalesce(sum(tokens_completion), 0) FROM runs "
	    "WHERE agent = ?1 AND scheduled > ?2 AND outcome IS NOT NULL "
	    "GROUP BY outcome",
	/* A retry's outcome is not the cadence's: it never moves the
	 * no-work streak (SPEC §5b). */
	[S_STREAK] = "SELECT outcome FROM runs WHERE agent = ?1 AND outcome IN "
	    "('done', 'no_work') AND trigger <> 'retry' ORDER BY id DESC "
	    "LIMIT 64",
	/* The WHERE repeats runs_tokens' own, so that index answers it. */
	[S_TOKENS] = "SELECT ended, max(coalesce(tokens_prompt, 0), 0) + "
	    "max(coalesce(tokens_completion, 0), 0) FROM runs "
	    "WHERE agent = ?1 AND ended > ?2 AND "
	    "(tokens_prompt > 0 OR tokens_completion > 0) ORDER BY ended DESC",
	/* One run whole (history --run, /_runs/ID): its log too, which the
	 * lists leave out. */
	[S_ONE] = "SELECT " COLS ", log FROM runs WHERE id = ?1",
};

#define WAL_PAGES	1000	/* checkpoint once the WAL holds this many */

struct store {
	sqlite3		*db;
	sqlite3_stmt	*st[S_N];
	void		(*wal_cb)(void *);
	void		*wal_arg;
	int		 corrupt;	/* a statement found the file damaged */
	int64_t		 last_id;	/* the highest id handed out here */
	/* Rows a write could not store (a full disk, a damaged file),
	 * kept to be written once writes work again; the oldest go first
	 * when there are too many. */
	struct pending	*pend;
	size_t		 npend;
	uint64_t	 dropped;	/* pending rows given up */
	char		 werr[256];	/* why the last write failed, "" ok */
};

#define STORE_PENDING_MAX	1024

/* A closed row that waits: its own copies of the strings. */
struct pending {
	struct run_rec	 r;
	char		*s[10];
};

/* SQLite's word that the file itself is damaged (not busy, not full). */
static int
is_corruption(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* After each commit: a WAL past WAL_PAGES wants a checkpoint. The owner
 * runs it off its thread (store_checkpoint() on a second connection); a
 * store without an owner hook checkpoints passively in place. */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;

	if (pages < WAL_PAGES)
		return SQLITE_OK;
	if (s->wal_cb)
		s->wal_cb(s->wal_arg);
	else
		(void)sqlite3_wal_checkpoint_v2(db, name,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

void
store_on_wal(struct store *s, void (*cb)(void *), void *arg)
{
	s->wal_cb = cb;
	s->wal_arg = arg;
}

struct store_ckpt {
	sqlite3		*db;
};

int
store_checkpoint(struct store_ckpt **c, const char *path)
{
	int nlog = -1, nckpt = -1;

	if (*c == NULL) {
		*c = xcalloc(1, sizeof(**c));
		/* A connection learns that the file is in WAL mode when it
		 * first reads it; until then a checkpoint is a silent no-op
		 * (log and ckpt -1) and the WAL grows without bound. */
		if (sqlite3_open_v2(path, &(*c)->db, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
		    sqlite3_busy_timeout((*c)->db, 1000) != SQLITE_OK ||
		    sqlite3_exec((*c)->db, "PRAGMA schema_version", NULL, NULL,
		    NULL) != SQLITE_OK)
			goto fail;
	}
	/* nlog -1: the checkpoint did not run at all. */
	if (sqlite3_wal_checkpoint_v2((*c)->db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt) != SQLITE_OK || nlog == -1)
		goto fail;
	/*
	 * A passive checkpoint never makes the WAL start over: the next
	 * writer does that, and only when no reader is in the WAL at that
	 * moment. A busy crew (hundreds of ticks a second) watched by a
	 * reader (an operator's history, /_runs) can miss that moment for
	 * ever, and the WAL grows. Once it is twice its threshold and
	 * all copied, a RESTART waits for the readers to leave it, briefly:
	 * it holds writers back meanwhile, so it gives up after 10 ms and
	 * is tried again at the next checkpoint.
	 */
	if (nlog >= 2 * WAL_PAGES && nckpt == nlog) {
		sqlite3_busy_timeout((*c)->db, 10);
		(void)sqlite3_wal_checkpoint_v2((*c)->db, NULL,
		    SQLITE_CHECKPOINT_RESTART, NULL, NULL);
		sqlite3_busy_timeout((*c)->db, 1000);
	}
	return 0;
fail:
	/* A fresh connection next time: this one may be the cause. */
	store_ckpt_close(*c);
	*c = NULL;
	return -1;
}

void
store_ckpt_close(struct store_ckpt *c)
{
	if (c == NULL)
		return;
	sqlite3_close(c->db);
	free(c);
}

/* err for a failed open or statement: a damaged file and a full disk
 * are said in those words, with what to do. */
static void
open_error(const char *path, int rc, const char *msg, char *err,
    size_t errlen)
{
	char *dir = util_dirname(path);
	struct statvfs vfs;

	if (is_corruption(rc))
		snprintf(err, errlen, "%s is corrupt (%s): keeper run moves it "
		    "aside and starts a new history; keeper doctor explains",
		    path, msg);
	else if ((rc & 0xff) == SQLITE_FULL || (statvfs(dir, &vfs) == 0 &&
	    vfs.f_bavail == 0))
		snprintf(err, errlen, "%s: the disk holding %s is full (%s)",
		    path, dir, msg);
	else
		snprintf(err, errlen, "%s: %s", path, msg);
	free(dir);
}

int
store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char *msg = NULL;
	int rc;

	*out = NULL;
	if ((rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(s->db, 5000);
	if ((rc = sqlite3_exec(s->db, schema, NULL, NULL, &msg)) != SQLITE_OK) {
		open_error(path, rc, msg ? msg : sqlite3_errstr(rc), err,
		    errlen);
		sqlite3_free(msg);
		goto fail2;
	}
	/* Databases from before the git and delivery columns: add them (an
	 * error here just means the column is there already). */
	(void)sqlite3_exec(s->db, "ALTER TABLE runs ADD COLUMN git TEXT",
	    NULL, NULL, NULL);
	(void)sqlite3_exec(s->db, "ALTER TABLE runs ADD COLUMN delivery TEXT",
	    NULL, NULL, NULL);
	/* ... and from before the log and the commit's own time (SPEC §6,
	 * §8). */
	(void)sqlite3_exec(s->db, "ALTER TABLE runs ADD COLUMN log TEXT",
	    NULL, NULL, NULL);
	(void)sqlite3_exec(s->db, "ALTER TABLE runs ADD COLUMN committed "
	    "INTEGER", NULL, NULL, NULL);
	/* Checkpoints fsync: never let one happen inside a commit on the
	 * loop thread (wal_hook). */
	sqlite3_wal_autocheckpoint(s->db, 0);
	sqlite3_wal_hook(s->db, wal_hook, s);
	for (int i = 0; i < S_N; i++)
		if ((rc = sqlite3_prepare_v3(s->db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL)) != SQLITE_OK)
			goto fail;
	*out = s;
	return 0;
fail:
	open_error(path, rc, s->db ? sqlite3_errmsg(s->db) : "cannot open", err,
	    errlen);
fail2:
	store_close(s);
	return -1;
}

/* "ok", or what PRAGMA quick_check found first (malloc'd either way). */
static char *
quick_check(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	char *r = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st,
	    NULL)) == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = xstrdup((const char *)sqlite3_column_text(st, 0));
	else
		r = xstrdup(sqlite3_errstr(rc));
	sqlite3_finalize(st);
	return r;
}

int
store_check(const char *path, char *why, size_t whylen)
{
	sqlite3 *db = NULL;
	char *r;
	int ok;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(why, whylen, "%s", db ? sqlite3_errmsg(db) :
		    "cannot open");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 2000);
	r = quick_check(db);
	ok = strcmp(r, "ok") == 0;
	snprintf(why, whylen, "%s", r);
	free(r);
	sqlite3_close(db);
	return ok ? 0 : 1;
}

/* Moves path and its -wal and -shm aside as path.corrupt-TIME; the new
 * name into moved. */
static int
move_aside(const char *path, char *moved, size_t movedlen)
{
	static const char *const tails[] = { "-wal", "-shm" };
	char stamp[32], *a, *b;
	time_t t = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(moved, movedlen, "%s.corrupt-%s", path, stamp);
	if ((rc = rename(path, moved)) == -1)
		return -1;
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		a = xasprintf("%s%s", path, tails[i]);
		b = xasprintf("%s%s", moved, tails[i]);
		(void)rename(a, b);
		free(a);
		free(b);
	}
	return 0;
}

int
store_open_recover(const char *path, int force, struct store **out,
    char *note, size_t notelen, char *err, size_t errlen)
{
	char moved[4096], *why = NULL;
	int rc;

	*note = '\0';
	if (!force && access(path, F_OK) == -1)
		return store_open(path, out, err, errlen);	/* a new one */
	if (!force && store_open(path, out, err, errlen) == 0) {
		why = quick_check((*out)->db);
		if (strcmp(why, "ok") == 0) {
			free(why);
			return 0;
		}
		store_close(*out);
		*out = NULL;
	} else if (!force) {
		/* Only a damaged file is moved aside: a full disk or a
		 * permission is the operator's to fix, and says so. */
		if (strstr(err, "is corrupt") == NULL)
			return -1;
		why = xstrdup(err);
	} else
		why = xstrdup("a write found the file damaged");
	if (move_aside(path, moved, sizeof(moved)) == -1) {
		snprintf(err, errlen, "%s is corrupt (%s) and cannot be moved "
		    "aside: %s", path, why, strerror(errno));
		free(why);
		return -1;
	}
	snprintf(note, notelen, "the history %s was corrupt (%s): moved to "
	    "%s; a new history starts", path, why, moved);
	free(why);
	rc = store_open(path, out, err, errlen);
	return rc;
}

int
store_corrupt(const struct store *s)
{
	return s->corrupt;
}

static void
pending_free(struct pending *p)
{
	for (size_t i = 0; i < sizeof(p->s) / sizeof(p->s[0]); i++)
		free(p->s[i]);
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < S_N; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	for (size_t i = 0; i < s->npend; i++)
		pending_free(&s->pend[i]);
	free(s->pend);
	free(s);
}

const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void
bind_ms(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* ?1..?6: what S_BEGIN and S_RECORD both know of a tick before its run. */
static void
bind_tick(sqlite3_stmt *st, const struct run_rec *r)
{
	bind_text(st, 1, r->agent);
	bind_text(st, 2, r->trigger ? r->trigger : "schedule");
	bind_text(st, 3, r->state ? r->state : "");
	sqlite3_bind_int(st, 4, r->hits);
	sqlite3_bind_int(st, 5, r->repeat);
	bind_ms(st, 6, r->scheduled_ms);
}

static int
step_reset(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (is_corruption(rc))
		s->corrupt = 1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
wrote(struct store *s, int ok)
{
	if (ok)
		s->werr[0] = '\0';
	else
		snprintf(s->werr, sizeof(s->werr), "%s", sqlite3_errmsg(s->db));
}

static int64_t
inserted(struct store *s)
{
	int64_t id = sqlite3_last_insert_rowid(s->db);

	if (id > s->last_id)
		s->last_id = id;
	return id;
}

int64_t
store_begin(struct store *s, const struct run_rec *r)
{
	sqlite3_stmt *st = s->st[S_BEGIN];

	bind_tick(st, r);
	sqlite3_bind_int64(st, 7, r->daemon_pid);
	if (step_reset(s, st) == -1) {
		wrote(s, 0);
		return -1;
	}
	wrote(s, 1);
	return inserted(s);
}

int
store_started(struct store *s, int64_t id, int64_t started_ms, long pid,
    long pgid)
{
	sqlite3_stmt *st = s->st[S_STARTED];

	sqlite3_bind_int64(st, 1, id);
	bind_ms(st, 2, started_ms);
	sqlite3_bind_int64(st, 3, pid);
	sqlite3_bind_int64(st, 4, pgid);
	return step_reset(s, st);
}

static void
bind_result(sqlite3_stmt *st, int first, const struct run_rec *r)
{
	/* started .. steps, in S_END order from ?5 (S_RECORD from ?7). */
	bind_ms(st, first, r->started_ms);
	bind_ms(st, first + 1, r->ended_ms);
	if (r->started_ms)
		sqlite3_bind_int64(st, first + 2, r->duration_ms);
	else
		sqlite3_bind_null(st, first + 2);
	bind_text(st, first + 3, outcome_name(r->outcome));
	if (r->exit_code >= 0)
		sqlite3_bind_int(st, first + 4, r->exit_code);
	else
		sqlite3_bind_null(st, first + 4);
	sqlite3_bind_int64(st, first + 5, r->output_bytes);
	/* By its length: an agent's output may hold NUL bytes. */
	if (r->output_head && r->output_head_len > 0)
		sqlite3_bind_text(st, first + 6, r->output_head,
		    (int)r->output_head_len, SQLITE_TRANSIENT);
	else
		bind_text(st, first + 6, r->output_head);
	bind_text(st, first + 7, r->commit_id);
	bind_text(st, first + 8, r->error);
	if (r->tokens_prompt >= 0 || r->tokens_completion >= 0) {
		sqlite3_bind_int64(st, first + 9, r->tokens_prompt);
		sqlite3_bind_int64(st, first + 10, r->tokens_completion);
	}
	bind_text(st, first + 11, r->steps);
	/* git sits after daemon_pid in S_RECORD (?20), after steps in S_END
	 * (?17). */
	bind_text(st, first == 5 ? 17 : 20, r->git);
	bind_text(st, first == 5 ? 18 : 21, r->log);
	bind_ms(st, first == 5 ? 19 : 22, r->committed_ms);
}

static int64_t	record(struct store *, const struct run_rec *, int64_t id);
static int	end(struct store *, const struct run_rec *);

/* Keep r (closed) to write later; its id is spent already when it has
 * one. */
static void
keep(struct store *s, const struct run_rec *r)
{
	struct pending *p;
	const char **f[10];
	size_t k = 0;

	if (s->npend == STORE_PENDING_MAX) {
		pending_free(&s->pend[0]);
		memmove(s->pend, s->pend + 1, (s->npend - 1) *
		    sizeof(*s->pend));
		s->npend--;
		s->dropped++;
	}
	if (s->pend == NULL)
		s->pend = xcalloc(STORE_PENDING_MAX, sizeof(*s->pend));
	p = &s->pend[s->npend++];
	memset(p, 0, sizeof(*p));
	p->r = *r;
	f[k++] = &p->r.agent;
	f[k++] = &p->r.trigger;
	f[k++] = &p->r.state;
	f[k++] = &p->r.output_head;
	f[k++] = &p->r.commit_id;
	f[k++] = &p->r.git;
	f[k++] = &p->r.error;
	f[k++] = &p->r.steps;
	f[k++] = &p->r.log;
	for (size_t i = 0; i < k; i++)
		if (*f[i] != NULL)
			*f[i] = p->s[i] = xstrdup(*f[i]);
	/* The head may hold NUL bytes: its copy goes by its length. */
	if (r->output_head != NULL && r->output_head_len > 0) {
		free(p->s[3]);
		p->s[3] = xmalloc(r->output_head_len + 1);
		memcpy(p->s[3], r->output_head, r->output_head_len);
		p->s[3][r->output_head_len] = '\0';
		p->r.output_head = p->s[3];
	}
}

int
store_retry(struct store *s)
{
	size_t n = 0;

	while (n < s->npend) {
		struct pending *p = &s->pend[n];

		if ((p->r.id > 0 ? end(s, &p->r) : (int)(record(s, &p->r, 0) <
		    0 ? -1 : 0)) == -1)
			break;
		pending_free(p);
		n++;
	}
	if (n > 0) {
		memmove(s->pend, s->pend + n, (s->npend - n) * sizeof(*s->pend));
		s->npend -= n;
	}
	return (int)s->npend;
}

const char *
store_write_error(const struct store *s, size_t *waiting)
{
	if (waiting)
		*waiting = s->npend;
	return s->werr[0] ? s->werr : NULL;
}

int
store_end(struct store *s, const struct run_rec *r)
{
	if (s->npend > 0)
		(void)store_retry(s);
	if (end(s, r) == 0)
		return 0;
	keep(s, r);
	return -1;
}

static int
end(struct store *s, const struct run_rec *r)
{
	sqlite3_stmt *st = s->st[S_END];

	sqlite3_bind_int64(st, 1, r->id);
	bind_text(st, 2, r->state ? r->state : "");
	sqlite3_bind_int(st, 3, r->hits);
	sqlite3_bind_int(st, 4, r->repeat);
	bind_result(st, 5, r);
	if (step_reset(s, st) == -1) {
		wrote(s, 0);
		return -1;
	}
	/* Its open row went with a damaged file moved aside, or was never
	 * written (the disk was full when it began): the whole row, under
	 * the same id. */
	if (sqlite3_changes(s->db) == 0)
		return record(s, r, r->id) < 0 ? -1 : 0;
	wrote(s, 1);
	return 0;
}

/* A closed row; id 0 takes the next one. */
static int64_t
record(struct store *s, const struct run_rec *r, int64_t id)
{
	sqlite3_stmt *st = s->st[id > 0 ? S_RECORD_ID : S_RECORD];

	bind_tick(st, r);
	bind_result(st, 7, r);
	sqlite3_bind_int64(st, 19, r->daemon_pid);
	if (id > 0)
		sqlite3_bind_int64(st, 23, id);
	if (step_reset(s, st) == -1) {
		wrote(s, 0);
		return -1;
	}
	wrote(s, 1);
	return inserted(s);
}

int64_t
store_record(struct store *s, const struct run_rec *r)
{
	int64_t id;

	if (s->npend > 0)
		(void)store_retry(s);
	if ((id = record(s, r, 0)) < 0)
		keep(s, r);
	return id;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void
read_row(sqlite3_stmt *st, struct run_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->agent = col_text(st, 1);
	r->trigger = col_text(st, 2);
	r->state = col_text(st, 3);
	r->hits = sqlite3_column_int(st, 4);
	r->repeat = sqlite3_column_int(st, 5);
	r->scheduled_ms = sqlite3_column_int64(st, 6);
	r->started_ms = sqlite3_column_int64(st, 7);
	r->ended_ms = sqlite3_column_int64(st, 8);
	r->duration_ms = sqlite3_column_int64(st, 9);
	r->outcome = sqlite3_column_type(st, 10) == SQLITE_NULL ?
	    OUTCOME_NONE : outcome_parse(col_text(st, 10));
	r->exit_code = sqlite3_column_type(st, 11) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 11);
	r->output_bytes = sqlite3_column_int64(st, 12);
	r->output_head = col_text(st, 13);
	r->output_head_len = (size_t)sqlite3_column_bytes(st, 13);
	r->commit_id = col_text(st, 14);
	r->error = col_text(st, 15);
	r->tokens_prompt = sqlite3_column_type(st, 16) == SQLITE_NULL ? -1 :
	    (long)sqlite3_column_int64(st, 16);
	r->tokens_completion = sqlite3_column_type(st, 17) == SQLITE_NULL ?
	    -1 : (long)sqlite3_column_int64(st, 17);
	r->steps = col_text(st, 18);
	r->pid = (long)sqlite3_column_int64(st, 19);
	r->pgid = (long)sqlite3_column_int64(st, 20);
	r->daemon_pid = (long)sqlite3_column_int64(st, 21);
	r->git = col_text(st, 22);
	r->delivery = col_text(st, 23);
	r->committed_ms = sqlite3_column_int64(st, 24);
	if (sqlite3_column_count(st) > 25)
		r->log = col_text(st, 25);
}

static int
each_row(struct store *s, sqlite3_stmt *st, store_row_cb cb, void *arg)
{
	struct run_rec r;
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_row(st, &r);
		cb(&r, arg);
		n++;
	}
	if (is_corruption(rc))
		s->corrupt = 1;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? n : -1;
}

int
store_interrupt_open(struct store *s, int64_t now_ms, store_row_cb cb,
    void *arg)
{
	int n;

	if ((n = each_row(s, s->st[S_OPEN], cb, arg)) < 0)
		return -1;
	sqlite3_bind_int64(s->st[S_INTERRUPT], 1, now_ms);
	if (step_reset(s, s->st[S_INTERRUPT]) == -1)
		return -1;
	return n;
}

int
store_run(struct store *s, int64_t id, store_row_cb cb, void *arg)
{
	sqlite3_bind_int64(s->st[S_ONE], 1, id);
	return each_row(s, s->st[S_ONE], cb, arg);
}

int
store_history(struct store *s, const char *agent, int limit,
    store_row_cb cb, void *arg)
{
	sqlite3_stmt *st;

	if (limit <= 0)
		limit = -1;	/* SQLite: no limit */
	if (agent) {
		st = s->st[S_HIST];
		bind_text(st, 1, agent);
		sqlite3_bind_int(st, 2, limit);
	} else {
		st = s->st[S_HIST_ALL];
		sqlite3_bind_int(st, 1, limit);
	}
	return each_row(s, st, cb, arg);
}

int
store_dream_stats(struct store *s, const char *agent, int64_t since_ms,
    struct lc_dream_stats *d)
{
	sqlite3_stmt *st = s->st[S_DREAM];
	int rc;

	memset(d, 0, sizeof(*d));
	bind_text(st, 1, agent);
	sqlite3_bind_int64(st, 2, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum outcome o = outcome_parse(col_text(st, 0));
		int n = sqlite3_column_int(st, 1);
		int64_t ms = sqlite3_column_int64(st, 2);
		int64_t mx = sqlite3_column_int64(st, 3);

		switch (o) {
		case OUTCOME_DONE: d->done += n; break;
		case OUTCOME_NO_WORK: d->no_work += n; break;
		case OUTCOME_FAILED: d->failed += n; break;
		case OUTCOME_KILLED: d->killed += n; break;
		case OUTCOME_GATED: d->gated += n; break;
		case OUTCOME_ERROR: d->errors += n; break;
		default: break;
		}
		if (o == OUTCOME_DONE || o == OUTCOME_NO_WORK ||
		    o == OUTCOME_FAILED || o == OUTCOME_KILLED) {
			d->runs += n;
			d->total_ms += ms;
			if (mx > d->max_ms)
				d->max_ms = mx;
		}
		d->commits += sqlite3_column_int(st, 4);
		d->tokens_prompt += (long)sqlite3_column_int64(st, 5);
		d->tokens_completion += (long)sqlite3_column_int64(st, 6);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_streak(struct store *s, const char *agent)
{
	sqlite3_stmt *st = s->st[S_STREAK];
	int n = 0;

	bind_text(st, 1, agent);
	while (sqlite3_step(st) == SQLITE_ROW &&
	    strcmp(col_text(st, 0), "no_work") == 0)
		n++;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return n;
}

int
store_tokens(struct store *s, const char *agent, int64_t since_ms,
    int64_t budget, int64_t *used, int64_t *crossing_ms)
{
	sqlite3_stmt *st = s->st[S_TOKENS];
	int64_t sum = 0;
	int rc;

	*used = 0;
	*crossing_ms = 0;
	bind_text(st, 1, agent);
	sqlite3_bind_int64(st, 2, since_ms);
	/* Newest first: the run at which the sum reaches the budget is the
	 * one whose leaving the window lets the member run again. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 1);

		sum = n > INT64_MAX / 4 - sum ? INT64_MAX / 4 : sum + n;
		if (*crossing_ms == 0 && budget > 0 && sum >= budget)
			*crossing_ms = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	*used = sum;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- service.c: alerts and housekeeping ---- */

int
store_alert(struct store *s, const char *id, const char *agent,
    const char *from, const char *to, int fail_streak, int suppressed,
    int64_t at_ms, const char *run_id, const char *text)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO alerts (id, "
	    "agent, from_state, to_state, fail_streak, suppressed, at_ms, "
	    "run_id, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1,
	    &st, NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, id);
	bind_text(st, 2, agent);
	bind_text(st, 3, from);
	bind_text(st, 4, to);
	sqlite3_bind_int(st, 5, fail_streak);
	sqlite3_bind_int(st, 6, suppressed);
	sqlite3_bind_int64(st, 7, at_ms);
	bind_text(st, 8, run_id && *run_id ? run_id : NULL);
	bind_text(st, 9, text);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int64_t
store_prune(struct store *s, int64_t now_ms, int64_t retention_ms,
    int64_t limit, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int64_t n;

	if (retention_ms <= 0)
		return 0;
	/* Pruning may take the newest rows too: their ids stay spent. */
	if (store_raise_run_floor(s, store_last_run_id(s)) == -1) {
		snprintf(err, errlen, "prune: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if ((n = hk_prune_runs(s->db, now_ms, retention_ms, limit, err,
	    errlen)) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db, "DELETE FROM alerts WHERE at_ms < ?1",
	    -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, now_ms - retention_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return n;
fail:
	snprintf(err, errlen, "prune alerts: %s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return -1;
}

int64_t
store_last_run_id(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t id = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT MAX(COALESCE((SELECT MAX(id) "
	    "FROM runs), 0), COALESCE((SELECT value FROM meta WHERE key = "
	    "'run_floor'), 0))", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	/* A damaged file may not answer: the ids this handle gave out. */
	if (id < s->last_id)
		id = s->last_id;
	return id;
}

int
store_raise_run_floor(struct store *s, int64_t floor)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(s->db, "INSERT INTO meta (key, value) VALUES "
	    "('run_floor', ?1) ON CONFLICT(key) DO UPDATE SET value = "
	    "MAX(value, excluded.value)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, floor);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

/* ---- result deliveries, and the dashboard's day ---- */

int
store_note_delivery(struct store *s, int64_t id, const char *line)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	/* One line per report, appended: the row says where the result
	 * went and what became of each copy. */
	if (sqlite3_prepare_v2(s->db, "UPDATE runs SET delivery = CASE WHEN "
	    "delivery IS NULL OR delivery = '' THEN ?2 ELSE delivery || "
	    "char(10) || ?2 END WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, line);
	if (sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(s->db) == 1)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int
store_runs_since(struct store *s, int64_t since_ms, store_row_cb cb,
    void *arg)
{
	sqlite3_stmt *st = NULL;
	int n;

	if (sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM runs WHERE "
	    "outcome IS NOT NULL AND ended >= ?1 ORDER BY id", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, since_ms);
	n = each_row(s, st, cb, arg);
	sqlite3_finalize(st);
	return n;
}
