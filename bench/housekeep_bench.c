/*
 * housekeep_bench: how long the daily retention duty holds the event loop.
 * usage: housekeep_bench DB NOW_MS RETENTION_MS
 * Runs hk_prune_runs() then hk_db_maintain() on DB, each in the calls the
 * daemon makes of it (one per housekeeping run), and prints the times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

#include "housekeep.h"

static double
ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
	sqlite3 *db;
	struct hk_db_report r;
	char err[256];
	double t0, t1, t2;
	long long n;

	if (argc != 4 || sqlite3_open(argv[1], &db) != SQLITE_OK)
		return 2;
	/* As store.c opens keeper.db. */
	sqlite3_exec(db, "PRAGMA auto_vacuum=INCREMENTAL;"
	    "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	long long b, batches = 0;
	double worst = 0, t;

	/* As the daemon does it: one batch per housekeeping run. */
	t0 = ms();
	n = 0;
	do {
		t = ms();
		b = hk_prune_runs(db, atoll(argv[2]), atoll(argv[3]),
		    HK_PRUNE_BATCH, err, sizeof(err));
		if (ms() - t > worst)
			worst = ms() - t;
		n += b > 0 ? b : 0;
		batches++;
	} while (b == HK_PRUNE_BATCH);
	t1 = ms();
	if (b < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* The upkeep, one call per housekeeping run as well. */
	double vworst = 0;
	long long calls = 0, pages0 = -1;
	int more = 0, full = 0;

	do {
		t = ms();
		if (hk_db_maintain(db, HK_VACUUM_FREE_RATIO,
		    HK_VACUUM_STEP_PAGES, more, &r, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (ms() - t > vworst)
			vworst = ms() - t;
		if (pages0 < 0)
			pages0 = r.pages_before;
		full |= r.vacuumed;
		more = r.more;
		calls++;
	} while (more);
	t2 = ms();
	printf("keeper: prune %lld rows in %lld batches, %.1f ms in all, "
	    "longest loop hold %.1f ms; upkeep (%s) in %lld calls, %.1f ms "
	    "in all, longest hold %.1f ms, %lld -> %lld pages; total %.1f "
	    "ms\n", n, batches, t1 - t0, worst, full ? "full VACUUM" :
	    "incremental", calls, t2 - t1, vworst, pages0,
	    (long long)r.pages_after, t2 - t0);
	sqlite3_close(db);
	return 0;
}
