/*
 * crew: the crew manifest model (SPEC §3). Turns crew.org into a validated
 * struct crew; problems go to the caller's diag as FILE:LINE: message.
 *
 * Ownership: crew_load()/crew_parse() allocate the crew and every string in
 * it; crew_free() releases all of it. Paths in the struct are already
 * resolved against the manifest's directory.
 */
#ifndef KEEPER_CREW_H
#define KEEPER_CREW_H

#include <stddef.h>
#include <stdint.h>

#include "alertdest.h"
#include "calendar.h"
#include "diag.h"
#include "outcome.h"

#define CREW_NAME_MAX	64
#define CREW_MAX_COMMIT_SIZE	(50LL * 1024 * 1024)	/* per file */
#define CREW_RETRY_MAX	100	/* :RETRY: at most */
#define CREW_PRIORITY_MAX 64	/* org's own bound on a numeric priority */
#define CREW_CATCH_UP_ALL INT64_MAX	/* #+CATCH-UP: default, unlimited */

/* :NOTIFY: which runs' results a member sends (keeper-crew(5)). */
enum crew_notify {
	CREW_NOTIFY_NONE = 0,
	CREW_NOTIFY_DONE,	/* done runs */
	CREW_NOTIFY_FAILED,	/* failed and killed runs */
	CREW_NOTIFY_ALWAYS	/* every run: done, no_work, failed, killed */
};

struct crew_member {
	char	*name;
	size_t	 line;		/* of its heading */
	char	*def;		/* resolved path of :DEF: */
	char	*lifecycle;	/* resolved path of :LIFECYCLE:, or NULL */
	int64_t	 interval_ms;	/* :INTERVAL:, default 1h */
	int	 continuous;	/* :CONTINUOUS: t */
	int64_t	 timeout_ms;	/* :TIMEOUT:, default the crew's */
	char	*author;	/* :AUTHOR: "Name <mail>", or NULL */
	size_t	 def_line;	/* of :DEF:, for messages about the def */
	size_t	 lifecycle_line; /* of :LIFECYCLE:, 0 when absent */
	enum crew_notify notify; /* :NOTIFY: */
	struct alert_dests notify_dests; /* :NOTIFY-URL:; none: the crew's */
	/* The operator's hands (SPEC §5b, keeper-crew(5)). */
	int	 retry;		/* :RETRY:, default the crew's #+RETRY: */
	int64_t	 retry_delay_ms; /* :RETRY-DELAY:, default the crew's */
	int	 priority;	/* the gate's rank: 0 the most urgent, at most
				   CREW_PRIORITY_MAX (crew_priority_rank()) */
	char	 priority_name[4]; /* as org writes it: "A", "7" */
	int64_t	 token_budget;	/* :TOKEN-BUDGET: N/D: N tokens, 0 none */
	int64_t	 token_window_ms; /* and D */
	int	 cadence_fixed;	/* :CADENCE:, default the crew's */
	/* Calendar time (SPEC §5a, keeper-crew(5) CALENDAR TIME). */
	int	 calendar;	/* 1: :SCHEDULE: or SCHEDULED:, in cal */
	struct cal_sched cal;
	char	*schedule;	/* the schedule as written, or NULL */
	size_t	 schedule_line;
	char	*tz;		/* :TZ:, else #+TZ:, NULL the machine's */
	int64_t	 catch_up_ms;	/* :CATCH-UP:, default the crew's */
	int64_t	 jitter_ms;	/* :JITTER:, 0 none */
};

struct crew_redact {
	char	*regex;		/* a #+REDACT: line, PCRE2 syntax */
	size_t	 line;
};

struct crew {
	char	*path;		/* as given */
	char	*dir;		/* directory of path */
	char	*title;		/* #+TITLE:, or the file name without .org */
	char	*repo;		/* resolved #+REPO:, or NULL */
	int	 concurrency;	/* #+CONCURRENCY: 2 */
	int64_t	 stagger_ms;	/* #+STAGGER: 30s */
	int64_t	 boot_grace_ms;	/* #+BOOT-GRACE: 60s */
	int64_t	 breather_ms;	/* #+BREATHER: 45s */
	int64_t	 timeout_ms;	/* #+TIMEOUT: 15m */
	int64_t	 backoff_base_ms; /* #+BACKOFF-BASE: 60s */
	int64_t	 backoff_cap_ms;  /* #+BACKOFF-CAP: 30m */
	int64_t	 retention_ms;	/* #+RETENTION: 90d */
	int	 cadence_fixed;	/* #+CADENCE: fixed, the default (SPEC §5) */
	int	 retry;		/* #+RETRY: 0, the members' default */
	int64_t	 retry_delay_ms; /* #+RETRY-DELAY: 1m */
	char	*tz;		/* #+TZ:, NULL the machine's */
	int64_t	 catch_up_ms;	/* #+CATCH-UP:, CREW_CATCH_UP_ALL */
	int64_t	 lease_ttl_ms;	/* #+LEASE-TTL: 10s (SPEC §12; the fleet
				   raises one under etcd's 2s minimum) */
	/* #+PRIORITIES: highest lowest default, as org has them: letters'
	 * codes ('A' = 65) or numbers (prio_numeric), the highest first. */
	int	 prio_highest, prio_lowest, prio_default;
	int	 prio_numeric;
	char	*author_domain;	/* #+AUTHOR-DOMAIN:, default keeper.invalid */
	char	*step_pattern;	/* #+STEP-PATTERN:, or NULL for the default */
	char	*thought_pattern; /* #+THOUGHT-PATTERN:, or NULL */
	int	 detached_commit; /* #+DETACHED: commit (default refuse) */
	int64_t	 max_commit_size; /* #+MAX-COMMIT-SIZE: bytes a file, 0 none */
	struct crew_redact *redact;
	size_t	 nredact;
	struct alert_dests alerts;	/* #+ALERT-URL: lines, parsed */
	enum alert_format alert_format;	/* #+ALERT-FORMAT: json */
	char	*alert_chat;	/* #+ALERT-CHAT:, or NULL */
	struct crew_member *members;	/* runnable members, manifest order */
	size_t	 nmembers;
};

/* 0 when the manifest is usable (warnings may be in d), -1 when it has
 * errors (*out is NULL then). */
int	 crew_load(const char *path, struct crew **out, struct diag *d);
int	 crew_parse(const char *path, const char *buf, size_t len,
	    struct crew **out, struct diag *d);
/* A one-member crew for singleton mode (--def). No gate: concurrency 0. */
struct crew *crew_singleton(const char *def, const char *lifecycle,
	    int64_t interval_ms, int64_t timeout_ms);
const struct crew_member *crew_find(const struct crew *, const char *name);
/* 1 when a run that came to outcome sends its result under notify. */
int	 crew_notify_wants(enum crew_notify, enum outcome);
/* The member's schedule in words for people ("every 15m", "continuous,
 * 45s breather", "weekdays at 06:00 Europe/Stockholm") into buf;
 * returns buf. */
char	*crew_member_schedule_text(const struct crew *,
	    const struct crew_member *, char *buf, size_t len);
/* The gate rank of a priority value (a letter's code or a number) in c's
 * #+PRIORITIES: range: 0 for the highest. */
int	 crew_priority_rank(const struct crew *, int value);
void	 crew_free(struct crew *);

#endif
