/*
 * housekeep: the duties of keeper's one periodic housekeeping timer
 * (keeper(1) HOUSEKEEPING), each a plain function so tests are exact:
 *
 *  - hk_prune_runs(): history rows older than the crew's #+RETENTION:
 *    (default 90d) are deleted; open rows never are.
 *  - hk_db_maintain(): when more than a quarter of keeper.db is free
 *    pages they are given back, a step of incremental vacuum at a time
 *    (one full VACUUM for a database from before incremental mode), and
 *    then its WAL is checkpointed (TRUNCATE).
 *  - hk_bound_journal(): a dream journal (dreams-NAME.org) keeps its
 *    preamble and only its last N entries, within a byte budget.
 *  - hk_due(): the redis-serverCron style "run this every P" test the
 *    timer uses to spread duties of different periods over one tick.
 *
 * The timer itself lives with the daemon; nothing here touches libuv.
 * Functions taking a sqlite3 handle borrow it.
 */
#ifndef KEEPER_HOUSEKEEP_H
#define KEEPER_HOUSEKEEP_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define HK_RETENTION_MS		(90LL * 24 * 3600 * 1000)
#define HK_PRUNE_PERIOD_MS	(24LL * 3600 * 1000)
#define HK_VACUUM_FREE_RATIO	0.25
#define HK_VACUUM_MIN_PAGES	64	/* below this, never worth it */
#define HK_VACUUM_STEP_PAGES	256	/* pages given back per step */
#define HK_AUTO_VACUUM_INCREMENTAL 2	/* PRAGMA auto_vacuum's value */
#define HK_JOURNAL_ENTRIES	200
#define HK_JOURNAL_BYTES	(1024 * 1024)

/* 1 when a duty of PERIOD last done at LAST (0 never) is due at NOW. */
int	 hk_due(int64_t last_ms, int64_t period_ms, int64_t now_ms);

/* Delete closed rows of the runs table whose end (else start, else due
 * time) is before now - retention, at most limit of them (0: all), oldest
 * first. Returns the number deleted (fewer than limit: done), -1 with err
 * on failure. A retention <= 0 prunes nothing. The daemon prunes in
 * batches of HK_PRUNE_BATCH, one per housekeeping run, so a first prune
 * of a long history never holds the loop for long. */
#define HK_PRUNE_BATCH		500
int64_t	 hk_prune_runs(sqlite3 *, int64_t now_ms, int64_t retention_ms,
	    int64_t limit, char *err, size_t errlen);

struct hk_db_report {
	int	 checkpointed;		/* wal_checkpoint(TRUNCATE) ran */
	int	 vacuumed;		/* a full VACUUM ran */
	int	 stepped;		/* a step of incremental vacuum ran */
	int	 more;			/* free pages left: call again */
	int64_t	 pages_before, free_before;
	int64_t	 pages_after, free_after;
};

/* One call of the database upkeep. It starts when free pages exceed
 * free_ratio of the file (and the file has at least HK_VACUUM_MIN_PAGES),
 * or goes on regardless (going_on: the last call set more). In
 * incremental auto-vacuum mode a call gives back at most step_pages and
 * sets more while free pages remain; a database in another mode gets one
 * full VACUUM. Once there is nothing more to do, the WAL is checkpointed
 * (TRUNCATE). 0, or -1 with err. */
int	 hk_db_maintain(sqlite3 *, double free_ratio, int64_t step_pages,
	    int going_on, struct hk_db_report *, char *err, size_t errlen);

/* Keep the text before the first top-level heading and the last
 * max_entries "* " entries, dropping more old entries while the file is
 * over max_bytes (the newest entry is always kept). Rewritten atomically
 * only when something is dropped. Returns the number of entries dropped
 * (0 also when the file does not exist), -1 with err. */
int	 hk_bound_journal(const char *path, size_t max_entries,
	    size_t max_bytes, char *err, size_t errlen);

#endif
