/*
 * store: the run history in DATA/keeper.db (SQLite, WAL). One row per
 * tick, whatever happened (SPEC §8): opened when the tick starts, closed
 * when it ends. Times are unix milliseconds (INTEGER columns).
 *
 * Writes are synchronous on the caller's thread, each a prepared statement
 * in WAL mode with synchronous=NORMAL: a commit appends to the WAL and
 * needs no fsync (bench/store_bench.c measures a tick's three statements).
 * The one fsync SQLite would still do on this thread, the automatic WAL
 * checkpoint, is switched off: when the WAL grows past its threshold the
 * owner's hook (store_on_wal()) runs store_checkpoint() on another thread
 * and a connection of its own. A power cut may lose the last rows but
 * never corrupts the database.
 *
 * Ownership: store_open() allocates, store_close() frees. The strings in
 * struct run_rec are borrowed: by store_* for the call only, and handed to
 * callbacks valid until the callback returns.
 */
#ifndef KEEPER_STORE_H
#define KEEPER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lifecycle.h"
#include "outcome.h"

struct store;

struct run_rec {
	int64_t		 id;
	const char	*agent;
	const char	*trigger;	/* schedule | run-once | retry | reload */
	const char	*state;		/* lifecycle state or "" */
	int		 hits;		/* position when the tick began */
	int		 repeat;
	int64_t		 scheduled_ms;	/* when the tick was due */
	int64_t		 started_ms;	/* when the run began (after the gate),
					   0 when nothing ran */
	int64_t		 ended_ms;
	int64_t		 duration_ms;
	enum outcome	 outcome;	/* NONE while open */
	int		 exit_code;	/* -1 when none */
	int64_t		 output_bytes;
	const char	*output_head;	/* redacted; may hold NUL bytes */
	size_t		 output_head_len; /* its bytes (0: strlen) */
	const char	*commit_id;
	const char	*git;		/* "no change", a partial ref, a git
					   error..., or NULL */
	const char	*error;
	const char	*delivery;	/* what became of its result's copies,
					   one line each (read only: see
					   store_note_delivery()) */
	long		 tokens_prompt, tokens_completion;
	const char	*steps;		/* step names and statuses, one a line */
	const char	*log;		/* the run's stderr, kept and redacted
					   (read back by store_run() only) */
	int64_t		 committed_ms;	/* when its commit or partial ref was
					   made, 0 none */
	long		 pid, pgid;
	long		 daemon_pid;
};

typedef void (*store_row_cb)(const struct run_rec *, void *);

/* Open (creating) the history at path. A damaged file fails with err
 * saying so ("... is corrupt (...)"), a full disk names its directory. */
int	 store_open(const char *path, struct store **, char *err,
	    size_t errlen);
/* The daemon's open, as journald treats a damaged journal: a file that
 * is damaged (it does not open as a database, or PRAGMA quick_check finds
 * a fault; with force, because a write found one) is moved aside to
 * PATH.corrupt-TIME with its -wal and -shm, a new one is started, and
 * note says so in words (else note is ""). 0, or -1 with err. */
int	 store_open_recover(const char *path, int force, struct store **,
	    char *note, size_t notelen, char *err, size_t errlen);
/* doctor: 0 when PRAGMA quick_check passes, 1 when it finds damage, -1
 * when the file cannot be opened; why says what was found. Read only. */
int	 store_check(const char *path, char *why, size_t whylen);
/* 1 once a statement on this handle found the file damaged. */
int	 store_corrupt(const struct store *);
/* A row that could not be written (store_end(), store_record() failed:
 * a full disk, a damaged file) is kept, up to STORE_PENDING_MAX, and
 * written by the next write that works or by store_retry(), which
 * returns how many still wait. store_write_error() is why the last write
 * failed, or NULL once one worked again; *waiting (may be NULL) gets the
 * rows waiting. */
int	 store_retry(struct store *);
const char *store_write_error(const struct store *, size_t *waiting);
void	 store_close(struct store *);
/* Insert an open row; returns its id, or -1. */
int64_t	 store_begin(struct store *, const struct run_rec *);
/* The run itself started: started, pid, pgid. */
int	 store_started(struct store *, int64_t id, int64_t started_ms,
	    long pid, long pgid);
/* Close the row rec->id with the rest of rec. */
int	 store_end(struct store *, const struct run_rec *);
/* Insert an already closed row (gated, dreamed, error); returns the id. */
int64_t	 store_record(struct store *, const struct run_rec *);
/* Boot: every open row becomes interrupted (ended = now_ms); cb first sees
 * each one (to kill what is left of its process group). Returns the count
 * or -1. */
int	 store_interrupt_open(struct store *, int64_t now_ms, store_row_cb,
	    void *);
/* Run id whole, with its log: cb once, and 1; 0 for no such run, -1 on
 * error. */
int	 store_run(struct store *, int64_t id, store_row_cb, void *);
/* Newest first; agent NULL means all. */
int	 store_history(struct store *, const char *agent, int limit,
	    store_row_cb, void *);
/* Telemetry for a dream: closed rows of agent that began after since_ms. */
int	 store_dream_stats(struct store *, const char *agent,
	    int64_t since_ms, struct lc_dream_stats *);
/* Trailing no-work streak of an agent from its latest ticks (a retry's
 * do not count). */
int	 store_streak(struct store *, const char *agent);
/* The token budget's count (SPEC §5b), one indexed query: *used gets the
 * tokens (prompt + completion) of agent's runs that ended after since_ms;
 * *crossing_ms when the run ended at which that sum, counted from the
 * newest run back, reached budget (0 when it does not). 0, or -1. */
int	 store_tokens(struct store *, const char *agent, int64_t since_ms,
	    int64_t budget, int64_t *used, int64_t *crossing_ms);
const char *store_errmsg(struct store *);
/* cb is called (on the writing thread) when the WAL wants a checkpoint;
 * without one the store checkpoints in place. */
void	 store_on_wal(struct store *, void (*cb)(void *), void *arg);
/* A passive checkpoint of the database at path on the connection *c,
 * opened on the first call (and again after a failed one) and kept:
 * opening costs more than most checkpoints. One thread at a time per *c;
 * store_ckpt_close() releases it. 0 or -1. */
struct store_ckpt;
int	 store_checkpoint(struct store_ckpt **c, const char *path);
void	 store_ckpt_close(struct store_ckpt *);

/* Append a line to run id's delivery column (keeper(1) ALERTS: where a
 * result was sent and what became of it); 0, or -1 when there is no
 * such row or the write failed. */
int	 store_note_delivery(struct store *, int64_t id, const char *line);
/* Closed rows that ended at or after since_ms, oldest first: the
 * dashboard's last day, read once at start. Returns the count or -1. */
int	 store_runs_since(struct store *, int64_t since_ms, store_row_cb,
	    void *);
/* service.c: record an alert (a repeated id is a no-op); 0 or -1. */
int	 store_alert(struct store *, const char *id, const char *agent,
	    const char *from, const char *to, int fail_streak,
	    int suppressed, int64_t at_ms, const char *run_id,
	    const char *text);
/* Retention (housekeep.h): closed runs older than now_ms - retention_ms
 * are deleted, at most limit (0: all), and the alerts as old; returns the
 * runs deleted, or -1 with err. */
int64_t	 store_prune(struct store *, int64_t now_ms, int64_t retention_ms,
	    int64_t limit, char *err, size_t errlen);
/* Run ids are never handed out twice for the life of the tenant repo:
 * the last one spent (the newest row, or the floor if higher; 0 for a
 * database that never had a run, -1 on error), and raising the floor
 * (to the highest id the repo already carries, when a database is new).
 * 0 or -1. */
int64_t	 store_last_run_id(struct store *);
int	 store_raise_run_floor(struct store *, int64_t floor);
/* The handle, for housekeeping (checkpoint, VACUUM) on the loop thread. */
struct sqlite3;
struct sqlite3	*store_db(struct store *);

#endif
