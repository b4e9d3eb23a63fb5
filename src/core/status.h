/*
 * status: what the HTTP plane and `keeper status` show about each agent,
 * as plain data, and the pure functions that turn it into the SPEC §10
 * JSON shapes and health verdicts.
 *
 * The daemon fills struct agent_status from its workers on the loop thread
 * and hands an array of them to status_*(); nothing here touches the loop,
 * SQLite or git. Strings in the structs are borrowed for the call.
 */
#ifndef KEEPER_STATUS_H
#define KEEPER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "outcome.h"

struct lc_spec;

#define STATUS_STEPS	5	/* recent steps kept per agent */

enum health { HEALTH_OK, HEALTH_LATE, HEALTH_STALE, HEALTH_FAILING,
	HEALTH_NEVER, HEALTH_PAUSED };

struct status_line {			/* a step or thought, with its time */
	int64_t		 at_ms;		/* unix ms */
	const char	*text;		/* already redacted */
};

struct agent_status {
	const char	*name;
	int		 running;	/* a run is in flight */
	int		 queue_place;	/* 1-based place at the gate, 0 none */
	const char	*state;		/* lifecycle state, "" without one */
	int		 hits;
	int		 repeat;
	const char	*const *states;	/* the lifecycle's states, in order */
	size_t		 nstates;
	const struct lc_spec *spec;	/* or its spec (states NULL): names
					   are read from spec->states */
	struct status_line steps[STATUS_STEPS];	/* oldest first */
	size_t		 nsteps;
	const char	*thought;	/* current thought or daydream, or NULL */
	int64_t		 last_run_ms;	/* 0 never */
	int64_t		 next_tick_ms;	/* 0 not scheduled */
	enum outcome	 last_outcome;
	int		 no_work_streak;
	int		 fail_streak;	/* consecutive failed/killed */
	int		 git_fail_streak; /* consecutive runs whose commit (or
					   partial ref) failed; git says why */
	int64_t		 expected_gap_ms; /* the delay it last scheduled */
	int64_t		 run_started_ms;  /* when running */
	const char	*run_id;	/* the run in flight (its history id),
					   or NULL */
	const char	*error;		/* config error shown, or NULL */
	const char	*last_commit;	/* newest commit id it made, or NULL */
	const char	*git;		/* what git did last ("no change",
					   "committed ...", an error), or NULL */
	const char	*schedule_text;	/* the schedule in words ("every
					   15m"), or NULL */
	const char	*calendar;	/* a calendar member's schedule as
					   written (SPEC §5a), else NULL */
	unsigned	 missed_waiting; /* fires recorded as missed since its
					   last tick ended, which that tick's
					   end does not count (metrics) */
	/* The operator's hands (SPEC §5b). */
	int		 paused;	/* a pause holds */
	int64_t		 paused_until_ms; /* when it ends, 0 until resumed */
	const char	*paused_why;	/* the operator's words, "token
					   budget", or NULL */
	int		 retry_attempt;	/* the next tick is retry N, 0 not */
	int		 retry_of;	/* of :RETRY: N */
	const char	*priority;	/* "A", or NULL without a gate */
	int64_t		 token_budget;	/* :TOKEN-BUDGET: N, 0 none */
	int64_t		 token_window_ms; /* its D */
	int64_t		 tokens_used;	/* within the window, last counted */
	int		 budget_tripped; /* the tick just ended paused it for
					   its budget */
};

/* The sentinel's repairs so far (service.c, keeper(1) HOUSEKEEPING). */
struct status_sentinel {
	uint64_t	 missed_timer;
	uint64_t	 overdue_run;
	uint64_t	 leaked_slot;
	uint64_t	 lost_slot;
};

/* Crew-wide facts the JSON shows beside the agents. */
struct status_crew {
	const char	*name;		/* crew title, or NULL */
	const char	*error;		/* manifest error shown, or NULL */
	int64_t		 boot_ms;	/* when the daemon started */
	int64_t		 grace_ms;	/* its boot grace */
	const struct status_sentinel *sentinel;	/* /_health, or NULL */
	const char	*notice;	/* what the operator should know, or
					   NULL (a damaged history moved aside) */
	const char	*history_error;	/* why history writes fail, or NULL */
	size_t		 history_waiting; /* rows kept to write later */
	const char	*role;		/* "active" / "standby" with a lease
					   (SPEC §12), else NULL */
	const char	*active;	/* the active keeper (JSON text: host,
					   pid, ...), or NULL */
};

#define STATUS_WIRE	40	/* lines kept on the merged wire */

/* Applied to every string the plane serves (SPEC §11): returns a malloc'd
 * redacted copy of text, or NULL to keep it as it is. */
typedef char	*(*status_redact_fn)(void *arg, const char *text, size_t len);

/* SPEC §10 health verdict for one agent at now. boot_ms is when the daemon
 * started and grace_ms its boot grace (an agent never run is "never" only
 * once the grace and its first gap have passed). */
enum health	 status_health(const struct agent_status *, int64_t now_ms,
		    int64_t boot_ms, int64_t grace_ms);
/* The first time after now at which status_health() may give another
 * verdict with nothing else changing, or 0 when only an event (a run, an
 * outcome) can change it. The plane sleeps until then instead of
 * polling. */
int64_t		 status_health_next(const struct agent_status *,
		    int64_t now_ms, int64_t boot_ms, int64_t grace_ms);
const char	*status_health_name(enum health);
/* Why an agent is failing when its run streak does not say it (its last
 * git note, after commits failed 3 runs in a row), else NULL. Borrowed
 * from the status. */
const char	*status_health_why(const struct agent_status *);
/* 1 when a's pause holds at now (SPEC §5b). */
int		 status_paused(const struct agent_status *, int64_t now_ms);

/*
 * JSON builders (jansson). Every time is unix milliseconds as a JSON
 * integer, or null for "never"/"not scheduled". Each returns a new
 * reference the caller releases with json_decref().
 */

/* GET /_activity (SPEC §10): {"now","crew","agents","wire","agent"}. */
json_t		*status_activity(const struct agent_status *, size_t n,
		    const struct status_crew *, int64_t now_ms);
/* This keeper is a standby (SPEC §12). */
int		 status_standby(const struct status_crew *);
/* GET /_health: {"status":"ok|degraded","agents":{name:verdict}}; *code
 * gets 200 when every agent is ok or paused, else 503. */
json_t		*status_health_json(const struct agent_status *, size_t n,
		    const struct status_crew *, int64_t now_ms, int *code);
/* GET /_changes: {"commits":commits,"keeper":{...}}. commits (a JSON
 * array from the git feed, or NULL for none) is stolen. */
json_t		*status_changes(json_t *commits, const struct agent_status *,
		    size_t n, const struct status_crew *, int64_t now_ms);
/* `keeper status --json`, and keeper.sock's answer to "status": {"agents":
 * [{"name","state","hits","repeat","last_run","next_tick","last_outcome",
 * "streak","running","queue_place","run_started","paused","retry",
 * "priority","tokens","error"?,"thought"?,
 * "git_problem"? (the git note while commits fail or are refused)}],
 * "pid" (null without a daemon), "data", "crew_error"?}. Times are unix ms,
 * 0 for none. Built here for both, so the daemon's answer and the files'
 * have one shape and the same UTF-8 cleaning. */
json_t		*status_cli(const struct agent_status *, size_t n,
		    const struct status_crew *, long pid, const char *data);
/* Pass every string value (not keys) in v through fn, in place. This is
 * the one place served text is redacted; fn NULL does nothing. */
void		 status_redact_json(json_t *v, status_redact_fn fn, void *arg);
/* s[0..len) as a JSON string, its invalid UTF-8 cleaned as every served
 * body cleans it (utf8_clean); null for NULL. The one rule for text an
 * agent wrote, in status documents and history rows alike. */
json_t		*status_json_str(const char *s, size_t len);
/* Compact one-line JSON text (no newline inside: SSE-safe); caller frees. */
char		*status_dump(const json_t *, size_t *len);
/* A deep copy of n statuses in one block, released with free(): nothing
 * in it is borrowed (a spec's state names become states), so it can be
 * rendered on another thread while the workers move on. */
struct agent_status *status_clone(const struct agent_status *, size_t n);

#endif
