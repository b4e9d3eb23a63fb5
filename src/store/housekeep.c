/*
 * housekeep: retention, database upkeep and journal bounds. See
 * housekeep.h for the duties; each runs on the loop thread from the
 * housekeeping timer and is short (a DELETE by index, a step of
 * incremental vacuum, a checkpoint, a rewrite of one small file), or
 * rare (a full VACUUM only once, for a database from before incremental
 * mode).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "housekeep.h"
#include "util.h"

int
hk_due(int64_t last_ms, int64_t period_ms, int64_t now_ms)
{
	return last_ms == 0 || now_ms - last_ms >= period_ms;
}

int64_t
hk_prune_runs(sqlite3 *db, int64_t now_ms, int64_t retention_ms,
    int64_t limit, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (retention_ms <= 0)
		return 0;
	/* Open rows (outcome NULL) belong to a run in flight or to one the
	 * boot sweep will mark interrupted: never pruned here. Old rows
	 * have the low ids, so a batch is found at the start of the scan. */
	if (sqlite3_prepare_v2(db, "DELETE FROM runs WHERE id IN (SELECT id "
	    "FROM runs WHERE outcome IS NOT NULL AND coalesce(ended, started, "
	    "scheduled, 0) < ?1 ORDER BY id LIMIT ?2)", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, now_ms - retention_ms);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	n = sqlite3_changes64(db);
	sqlite3_finalize(st);
	return n;
fail:
	snprintf(err, errlen, "prune: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return -1;
}

static int
pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int
hk_db_maintain(sqlite3 *db, double free_ratio, int64_t step_pages,
    int going_on, struct hk_db_report *r, char *err, size_t errlen)
{
	char *msg = NULL, *sql;
	int64_t mode;
	int rc, go;

	memset(r, 0, sizeof(*r));
	if (pragma_int(db, "PRAGMA page_count", &r->pages_before) == -1 ||
	    pragma_int(db, "PRAGMA freelist_count", &r->free_before) == -1 ||
	    pragma_int(db, "PRAGMA auto_vacuum", &mode) == -1)
		goto fail;
	r->pages_after = r->pages_before;
	r->free_after = r->free_before;
	go = r->free_before > 0 && (going_on || (r->pages_before >=
	    HK_VACUUM_MIN_PAGES && (double)r->free_before > free_ratio *
	    (double)r->pages_before));
	if (go && mode == HK_AUTO_VACUUM_INCREMENTAL) {
		/* A step at a time: the loop is held for one step only. */
		sql = xasprintf("PRAGMA incremental_vacuum(%lld)",
		    (long long)(step_pages > 0 ? step_pages : 1));
		rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
		free(sql);
		if (rc != SQLITE_OK)
			goto fail;
		r->stepped = 1;
	} else if (go) {
		/* An older database: one full VACUUM, which also turns it
		 * incremental (store.c asks for that mode). */
		if (sqlite3_exec(db, "VACUUM", NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		r->vacuumed = 1;
	}
	if (go && (pragma_int(db, "PRAGMA page_count", &r->pages_after) == -1 ||
	    pragma_int(db, "PRAGMA freelist_count", &r->free_after) == -1))
		goto fail;
	if ((r->more = r->stepped && r->free_after > 0))
		return 0;
	/* Last, so the freed pages go back into the main file and the WAL
	 * is cut to zero bytes. A busy reader only makes this partial. */
	if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    &msg) != SQLITE_OK)
		goto fail;
	r->checkpointed = 1;
	return 0;
fail:
	snprintf(err, errlen, "maintain: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

/* Offsets of the top-level "* " headings that begin lines. */
static size_t *
entry_starts(const char *buf, size_t len, size_t *n)
{
	size_t *v = NULL, cap = 0, i;

	*n = 0;
	for (i = 0; i + 1 < len; i++) {
		if ((i == 0 || buf[i - 1] == '\n') && buf[i] == '*' &&
		    buf[i + 1] == ' ') {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[(*n)++] = i;
		}
	}
	return v;
}

int
hk_bound_journal(const char *path, size_t max_entries, size_t max_bytes,
    char *err, size_t errlen)
{
	char *buf;
	struct fs_piece kept[2];
	size_t len, n, *starts, keep_from, pre, drop = 0;
	int rc;

	if ((buf = util_read_file(path, &len)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	starts = entry_starts(buf, len, &n);
	if (n == 0) {
		free(buf);
		return 0;
	}
	pre = starts[0];
	if (max_entries > 0 && n > max_entries)
		drop = n - max_entries;
	/* Then more while over budget, never the newest entry. */
	while (max_bytes > 0 && drop + 1 < n &&
	    pre + (len - starts[drop]) > max_bytes)
		drop++;
	if (drop == 0) {
		free(starts);
		free(buf);
		return 0;
	}
	keep_from = starts[drop];
	kept[0].buf = buf;
	kept[0].len = pre;
	kept[1].buf = buf + keep_from;
	kept[1].len = len - keep_from;
	rc = fs_write_atomicv(path, kept, 2, err, errlen);
	free(starts);
	free(buf);
	return rc == -1 ? -1 : (int)drop;
}
