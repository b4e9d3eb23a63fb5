/*
 * alert: state-change alerts for an agent's health (issue 7, keeper(1)
 * ALERTS). Two halves:
 *
 *  - alert_step(), pure: given what the daemon now sees about one agent
 *    (its health verdict, consecutive failures, the last run id) and that
 *    agent's struct alert_track, decide whether an alert is due. It alerts
 *    on ok -> failing (after policy.fail_threshold consecutive failures),
 *    failing -> ok, ok -> stale and stale -> ok/failing; steady states
 *    never alert again; within policy.min_gap_ms of the last alert for the
 *    same agent transitions are suppressed and counted, and the next alert
 *    carries the count (and the state the agent settled in).
 *  - struct alert_queue, effects: a bounded queue drained by one
 *    background thread that POSTs each alert as JSON to $KEEPER_ALERT_URL
 *    with libcurl (short timeouts), retrying with exponential backoff. The
 *    loop only ever pushes; it never waits on the network.
 *
 * Every alert has a deterministic id (a hash of agent, transition and the
 * triggering run), sent in the body and as an Idempotency-Key header, so a
 * re-send (a retry, or the same transition seen again after a restart) is
 * recognisable by the receiver.
 *
 * Ownership: struct alert_track and struct alert are plain caller-owned
 * values. alert_queue_start() allocates the queue; alert_queue_stop()
 * joins the thread and frees it. Pushed JSON is copied.
 */
#ifndef KEEPER_ALERT_H
#define KEEPER_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define ALERT_FAIL_THRESHOLD	3
#define ALERT_MIN_GAP_MS	(10 * 60 * 1000)

enum alert_state { ALERT_OK = 0, ALERT_FAILING, ALERT_STALE };

struct alert_policy {
	int	 fail_threshold;	/* consecutive failures, default 3 */
	int64_t	 min_gap_ms;		/* per agent, default 10 min */
};

/* Per-agent memory between steps. Zero-initialised = ok, never alerted. */
struct alert_track {
	enum alert_state cur;		/* what the agent is now */
	enum alert_state told;		/* what the last alert said */
	int64_t		 last_alert_ms;	/* 0 never */
	int		 suppressed;	/* transitions not sent since */
	int		 pending;	/* cur changed inside the gap */
};

struct alert_input {
	const char	*agent;
	enum health	 health;	/* status_health() verdict */
	int		 fail_streak;	/* consecutive failed/killed runs */
	const char	*run_id;	/* the last run's id, or NULL */
	int64_t		 last_run_ms;	/* 0 never */
	int64_t		 now_ms;
};

struct alert {
	char		 id[17];	/* 16 hex digits */
	char		 agent[65];
	enum alert_state from;
	enum alert_state to;
	int		 fail_streak;
	int		 suppressed;	/* transitions folded into this one */
	int64_t		 at_ms;
	char		 run_id[65];	/* triggering run, "" none */
};

void		 alert_policy_default(struct alert_policy *);
/* 1 and *out filled when an alert is due, else 0. Updates *t. */
int		 alert_step(struct alert_track *, const struct alert_policy *,
		    const struct alert_input *, struct alert *out);
const char	*alert_state_name(enum alert_state);
/* The deterministic id for agent/from/to/trigger into buf[17]. */
void		 alert_make_id(char buf[17], const char *agent,
		    enum alert_state from, enum alert_state to,
		    const char *trigger);
/* The alert as a JSON object (crew may be NULL); caller frees. */
char		*alert_json(const struct alert *, const char *crew);
/* A one-line human summary ("wren is failing (3 consecutive failures)");
 * caller frees. */
char		*alert_text(const struct alert *);

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

/*
 * The hub: what the daemon holds. It keeps one track per agent (by name),
 * takes its settings from the environment (alert_hub_config), logs every
 * alert (event=alert) and queues it for delivery when a URL is set. The
 * caller records the returned alert in history.
 *
 *   KEEPER_ALERT_URL	POST target; unset: alerts are logged and recorded
 *   KEEPER_ALERT_AFTER	consecutive failures before "failing" (3)
 *   KEEPER_ALERT_GAP	per-agent rate limit, a duration (10m)
 */
struct alert_hub;

/* Pure: settings from the three variables' values (NULL = unset). */
int		 alert_hub_config(const char *after, const char *gap,
		    struct alert_policy *, char *err, size_t errlen);
/* NULL with err on a bad setting; url may be NULL. */
struct alert_hub *alert_hub_new(const char *crew, const char *url,
		    const struct alert_policy *, char *err, size_t errlen);
struct alert_hub *alert_hub_from_env(const char *crew, char *err,
		    size_t errlen);
/* 1 with *out filled when this observation alerted. */
int		 alert_hub_observe(struct alert_hub *,
		    const struct alert_input *, struct alert *out);
/* A member left the crew: forget its track. */
void		 alert_hub_forget(struct alert_hub *, const char *agent);
/* Delivery counters (zero without a URL). */
void		 alert_hub_stats(struct alert_hub *,
		    struct alert_queue_stats *);
void		 alert_hub_free(struct alert_hub *);

#endif
