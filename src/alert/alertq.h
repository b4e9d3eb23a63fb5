/*
 * alertq: one delivery lane. A bounded queue of prepared requests
 * (alertfmt.h: URL, headers, body) drained by one background thread that
 * POSTs each with libcurl (short timeouts), in order, retrying the head
 * with exponential backoff on connection errors, 5xx, 408 and 429 (a
 * Retry-After is honoured up to the backoff cap). The loop only ever
 * pushes; it never waits on the network.
 *
 * A request leaves the queue when the receiver takes it (2xx), refuses
 * it for good (another 4xx), is pushed out by a full queue, or has waited
 * max_age_ms (24 h) since it was pushed: a receiver that is down gets its
 * deliveries later, once each, for a day. The hub keeps one lane per
 * receiver, so a dead one never holds up the others.
 *
 * Ownership: alert_queue_start() allocates the queue; alert_queue_stop()
 * joins the thread and frees it. Pushed requests are copied.
 */
#ifndef KEEPER_ALERTQ_H
#define KEEPER_ALERTQ_H

#include <stddef.h>
#include <stdint.h>

#include "alertfmt.h"

#define ALERT_QUEUE_MAX_AGE_MS	(24LL * 60 * 60 * 1000)

struct alert_queue;

/* What became of a request, for whoever keeps a record (alerthub.h). */
enum alert_queue_event {
	ALERT_QUEUE_SENT,	/* the receiver took it (2xx) */
	ALERT_QUEUE_RETRYING,	/* its first try failed; retries follow */
	ALERT_QUEUE_REFUSED,	/* a 4xx that is not worth a retry */
	ALERT_QUEUE_EXPIRED,	/* waited max_age_ms: given up */
	ALERT_QUEUE_DROPPED	/* pushed out by a full queue, or the
				   queue stopped with it */
};

/* Called on the lane's thread (ALERT_QUEUE_DROPPED: on the pushing or
 * stopping one) with the lane's lock held: it must not call back into
 * the queue. attempts counts the posts made; why is "HTTP 503", a curl
 * error or "" when sent. */
typedef void (*alert_queue_report_fn)(void *arg, const struct alert_req *,
    enum alert_queue_event, int attempts, const char *why);

struct alert_queue_opts {
	const char	*name;		/* for logs: the receiver's origin */
	size_t		 capacity;	/* queued requests kept, default 64 */
	int64_t		 backoff_ms;	/* first retry delay, default 500 */
	int64_t		 backoff_cap_ms; /* default 5 min */
	int64_t		 max_age_ms;	/* give one up after, default 24 h */
	long		 connect_timeout_ms; /* default 2000 */
	long		 timeout_ms;	/* whole request, default 5000 */
	alert_queue_report_fn report;	/* or NULL */
	void		*report_arg;
};

struct alert_queue_stats {
	uint64_t	 sent;
	uint64_t	 retries;
	uint64_t	 dropped;	/* refused, or pushed out when full */
	uint64_t	 expired;	/* waited max_age_ms, given up */
	size_t		 queued;
	int64_t		 retry_delay_ms; /* the head's wait now, 0 none */
	int64_t		 last_delay_ms;	/* the wait chosen at the last
					 * failure, kept once it is over */
};

/* NULL with err filled when the thread cannot start. */
struct alert_queue *alert_queue_start(const struct alert_queue_opts *,
		    char *err, size_t errlen);
/* Never blocks on the network; a full queue drops its oldest request. */
void		 alert_queue_push(struct alert_queue *,
		    const struct alert_req *);
void		 alert_queue_stats(struct alert_queue *,
		    struct alert_queue_stats *);
/* "sent", "retrying", "refused", "expired", "dropped". */
const char	*alert_queue_event_name(enum alert_queue_event);
/* Ask the thread to stop after the request in flight, without waiting:
 * the hub cancels every lane before it joins any, so stopping takes one
 * request timeout, not one per lane. */
void		 alert_queue_cancel(struct alert_queue *);
/* Cancels, joins the thread (at most one request timeout), frees;
 * returns how many requests were still queued and are given up. */
size_t		 alert_queue_stop(struct alert_queue *);

#endif
