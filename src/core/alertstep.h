/*
 * alertstep: the pure half of state-change alerts for an agent's health
 * (issue 7, keeper(1) ALERTS). Given what the daemon now sees about one
 * agent (its health verdict, consecutive failures, the last run id) and
 * that agent's struct alert_track, alert_step() decides whether an alert
 * is due. It alerts on ok -> failing (after policy.fail_threshold
 * consecutive failures), failing -> ok, ok -> stale and stale ->
 * ok/failing; steady states never alert again. The recovery of an
 * alerted failure or staleness (the receiver was told failing or stale,
 * the agent is ok) goes out at once, so an incident is two messages, down
 * and up, each when it happens. Any other transition within
 * policy.min_gap_ms of the last alert for the same agent (the flapping
 * after a recovery, or after a failing alert) is suppressed and counted,
 * and the next alert carries the count and the state the agent settled
 * in.
 *
 * Every alert has a deterministic id (a hash of agent, transition and the
 * triggering run), which delivery sends in the body and as an
 * Idempotency-Key header, so a re-send (a retry, or the same transition
 * seen again after a restart) is recognisable by the receiver.
 *
 * The functions keep the alert_ prefix of the layer they belong to: the
 * step, the queue (alert_queue_) and the hub (alert_hub_) are one family.
 *
 * Ownership: struct alert_track and struct alert are plain caller-owned
 * values; alert_json() and alert_text() return strings the caller frees.
 */
#ifndef KEEPER_ALERTSTEP_H
#define KEEPER_ALERTSTEP_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define ALERT_FAIL_THRESHOLD	3
#define ALERT_MIN_GAP_MS	(10 * 60 * 1000)

/* ALERT_BUDGET is never a track's state: it is what a token budget's
 * one alert says (alert_budget()), SPEC §5b. */
enum alert_state { ALERT_OK = 0, ALERT_FAILING, ALERT_STALE, ALERT_BUDGET };

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
	const char	*why;		/* failing for a reason the streak does
					   not tell (commits, the history), or
					   NULL */
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
	char		 why[256];	/* input's why when failing, "" none */
	/* ALERT_BUDGET: tokens used of budget within window_ms; paused
	 * until until_ms. */
	int64_t		 tokens, budget, window_ms, until_ms;
};

void		 alert_policy_default(struct alert_policy *);
/* 1 and *out filled when an alert is due, else 0. Updates *t. */
int		 alert_step(struct alert_track *, const struct alert_policy *,
		    const struct alert_input *, struct alert *out);
/* The alert a member sends once when its token budget is spent and it
 * pauses itself until until_ms (SPEC §5b): from is what its track last
 * told (the track does not change: the budget is not a health state).
 * The id is made of agent and until, so the same pause is one alert. */
void		 alert_budget(struct alert *out, const char *agent,
		    enum alert_state from, int64_t tokens, int64_t budget,
		    int64_t window_ms, int64_t until_ms, int64_t now_ms);
const char	*alert_state_name(enum alert_state);
/* The deterministic id for agent/from/to/trigger into buf[17]. */
void		 alert_make_id(char buf[17], const char *agent,
		    enum alert_state from, enum alert_state to,
		    const char *trigger);
/* The id of a run's result delivery, from agent and run, into buf[17]:
 * the same run delivered twice (a retry, a restart) has the same id. */
void		 alert_make_result_id(char buf[17], const char *agent,
		    const char *run_id);
/* What the alert reports in a word: "failing", "stale", "recovered" or
 * "budget". */
const char	*alert_event_name(const struct alert *);
/* The alert as a JSON object (crew may be NULL); caller frees. */
char		*alert_json(const struct alert *, const char *crew);
/* A one-line human summary ("wren is failing (3 consecutive failures)");
 * caller frees. */
char		*alert_text(const struct alert *);


#endif
