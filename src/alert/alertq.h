/*
 * alertq: a bounded queue of alerts drained by one background thread that
 * POSTs each as JSON to a URL with libcurl (short timeouts), retrying with
 * exponential backoff. The loop only ever pushes; it never waits on the
 * network.
 *
 * Ownership: alert_queue_start() allocates the queue; alert_queue_stop()
 * joins the thread and frees it. Pushed JSON is copied.
 */
#ifndef KEEPER_ALERTQ_H
#define KEEPER_ALERTQ_H

#include <stddef.h>
#include <stdint.h>

struct alert_queue;

struct alert_queue_opts {
	const char	*url;		/* POST target */
	size_t		 capacity;	/* queued alerts kept, default 64 */
	int64_t		 backoff_ms;	/* first retry delay, default 500 */
	int64_t		 backoff_cap_ms; /* default 5 min */
	long		 connect_timeout_ms; /* default 2000 */
	long		 timeout_ms;	/* whole request, default 5000 */
};

struct alert_queue_stats {
	uint64_t	 sent;
	uint64_t	 retries;
	uint64_t	 dropped;	/* pushed out by a full queue */
	size_t		 queued;
};

/* NULL with err filled when the thread cannot start. */
struct alert_queue *alert_queue_start(const struct alert_queue_opts *,
		    char *err, size_t errlen);
/* Never blocks on the network; a full queue drops its oldest alert. */
void		 alert_queue_push(struct alert_queue *, const char *json,
		    const char *id);
void		 alert_queue_stats(struct alert_queue *,
		    struct alert_queue_stats *);
/* Stops retrying, joins the thread (at most one request timeout), frees;
 * returns how many alerts were still queued and are given up. */
size_t		 alert_queue_stop(struct alert_queue *);

#endif
