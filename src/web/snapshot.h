/*
 * snapshot: the immutable bodies the HTTP plane serves, published as a
 * whole and swapped atomically, so a request never waits for a run, a
 * commit, a pull or SQLite: it takes a reference to the current snapshot
 * and reads it.
 *
 * Ownership: snapshot_new() returns a snapshot with one reference, owned by
 * the caller until it hands it to snapshot_publish(), which takes that
 * reference. snapshot_acquire() returns a new reference (never NULL) the
 * reader drops with snapshot_release(). The bodies are freed with the last
 * reference. A store is safe to use from any thread.
 */
#ifndef KEEPER_SNAPSHOT_H
#define KEEPER_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct snapshot {
	uint64_t	 version;	/* set by snapshot_publish, from 1 */
	char		*activity;	/* GET /_activity (and each SSE event) */
	size_t		 activity_len;
	char		*health;	/* GET /_health */
	size_t		 health_len;
	int		 health_code;	/* 200 or 503 */
	char		*changes;	/* GET /_changes */
	size_t		 changes_len;
	char		*timeline;	/* GET /_timeline */
	size_t		 timeline_len;
	char		*agenda;	/* GET /_agenda (SPEC §10) */
	size_t		 agenda_len;
	/* It says this keeper is the active one (SPEC §12): served only
	 * while the fence still agrees (http_set_fence()). */
	int		 role_active;
	/* private */
	_Atomic int	 refs;
	/* GET /metrics: the series, rendered into text by the first reader
	 * that asks (snapshot_metrics), under mu. A crew of 10,000 agents
	 * has 3 MB of exposition and 0.3 MB of series: rendering every
	 * publish kept both, for a page scraped every 15 s. */
	pthread_mutex_t	 mu;
	char		*metrics;
	size_t		 metrics_len;
	struct metrics_agent *ma;	/* names point into ma_names */
	size_t		 nma;
	char		*ma_names;
	struct metrics_crew mc;		/* mc.version is static */
};

struct snapshot_store;

struct snapshot_store	*snapshot_store_new(void);
/* Wakes every waiter for good (snapshot_wait returns -1), then frees. The
 * caller makes sure no thread still uses the store. */
void			 snapshot_store_free(struct snapshot_store *);
/* Wakes every waiter for good; the store stays readable. */
void			 snapshot_store_close(struct snapshot_store *);

/* Takes ownership of the malloc'd bodies (NULL bodies become "{}"). */
struct snapshot		*snapshot_new(char *activity, size_t activity_len,
			    char *health, size_t health_len, int health_code,
			    char *changes, size_t changes_len);
/* Gives snap its /metrics and /_timeline bodies (taken; NULL: an empty
 * exposition and "{}"), before it is published. */
void			 snapshot_set_more(struct snapshot *, char *metrics,
			    size_t metrics_len, char *timeline,
			    size_t timeline_len);
/* Gives snap the /metrics series instead of their text (copied: the
 * caller keeps its own), before it is published. */
void			 snapshot_set_series(struct snapshot *,
			    const struct metrics_agent *, size_t n,
			    const struct metrics_crew *);
/* The /metrics body, rendered from the series on first use; it lives
 * as long as the reader's reference. */
const char		*snapshot_metrics(struct snapshot *, size_t *len);
/* Gives snap its /_agenda body (taken; NULL: "[]"). */
void			 snapshot_set_agenda(struct snapshot *, char *agenda,
			    size_t agenda_len);
/* Makes snap current, gives it the next version and wakes waiters. */
void			 snapshot_publish(struct snapshot_store *,
			    struct snapshot *);
struct snapshot		*snapshot_acquire(struct snapshot_store *);
void			 snapshot_release(struct snapshot *);
/* Wakes every waiter once, as if its timeout had passed. */
void			 snapshot_kick(struct snapshot_store *);
/* Blocks until the version passes seen (1), timeout_ms passes or a kick
 * comes (0), or the store is closed (-1). */
int			 snapshot_wait(struct snapshot_store *, uint64_t seen,
			    int timeout_ms);

#endif
