/*
 * store_bench: what one tick costs in keeper.db (begin + started + end,
 * each a prepared statement in WAL mode, synchronous=NORMAL), to decide
 * whether SQLite may stay on the loop thread. Prints microseconds per tick.
 * With "pool" the WAL checkpoint runs on a thread of its own, as in the
 * daemon; without it, in place on the writing thread.
 * usage: store_bench DIR N [pool]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

static char *path;
static atomic_int busy;

static void *
ckpt(void *arg)
{
	(void)arg;
	store_checkpoint(path);
	atomic_store(&busy, 0);
	return NULL;
}

static void
wal_full(void *arg)
{
	pthread_t t;

	(void)arg;
	if (atomic_exchange(&busy, 1))
		return;
	if (pthread_create(&t, NULL, ckpt, NULL) == 0)
		pthread_detach(t);
	else
		atomic_store(&busy, 0);
}

int
main(int argc, char **argv)
{
	char err[256];
	struct store *st;
	struct run_rec r;
	int n = argc > 2 ? atoi(argv[2]) : 20000;
	int64_t t0, t1, worst = 0;

	if (argc < 2)
		return 64;
	path = xasprintf("%s/keeper.db", argv[1]);
	if (store_open(path, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (argc > 3 && strcmp(argv[3], "pool") == 0)
		store_on_wal(st, wal_full, NULL);
	memset(&r, 0, sizeof(r));
	r.agent = "bench";
	r.trigger = "schedule";
	r.state = "wake";
	r.repeat = 1;
	r.exit_code = 0;
	r.outcome = OUTCOME_DONE;
	r.output_head = "a result line of ordinary length, as agents print";
	r.tokens_prompt = r.tokens_completion = -1;
	t0 = util_mono_ms();
	for (int i = 0; i < n; i++) {
		int64_t a = util_mono_ms(), b;

		r.scheduled_ms = util_now_ms();
		r.id = store_begin(st, &r);
		store_started(st, r.id, r.scheduled_ms, 1, 1);
		r.started_ms = r.ended_ms = r.scheduled_ms;
		store_end(st, &r);
		if ((b = util_mono_ms() - a) > worst)
			worst = b;
	}
	t1 = util_mono_ms();
	printf("%.1f us/tick (3 statements), worst %lld ms over %d ticks "
	    "(checkpoint %s)\n", (t1 - t0) * 1000.0 / n, (long long)worst, n,
	    argc > 3 ? "on its own thread" : "in place");
	while (atomic_load(&busy))
		;
	store_close(st);
	free(path);
	return 0;
}
