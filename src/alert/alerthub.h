/*
 * alerthub: what the daemon holds of alerts. It keeps one track per agent
 * (by name), logs every alert (event=alert) and queues a copy for each
 * destination, in that destination's format (alertfmt.h), on the
 * delivery lane of its receiver (alertq.h: one lane and thread per
 * receiver URL, at most 32). It delivers runs' results the same way
 * (alert_hub_result), to the crew's destinations or to a member's own.
 * The caller records the returned alert in history.
 *
 * Settings (settings.h; the pure alert_hub_config() and
 * alert_hub_dests_config() take their values):
 *
 *   KEEPER_ALERT_URL	destinations, "URL [format=F] [chat=ID] ..."
 *			(alertdest.h); unset: alerts are logged and recorded
 *   KEEPER_ALERT_FORMAT	format of a KEEPER_ALERT_URL destination without
 *			format= (json)
 *   KEEPER_ALERT_AFTER	consecutive failures before "failing" (3)
 *   KEEPER_ALERT_GAP	per-agent rate limit, a duration (10m)
 *
 * The crew's #+ALERT-URL: destinations come on top of these: the daemon
 * (upkeep.c) hands the hub both lists and reconfigures it when a reload
 * changes them. What became of each result's delivery comes back as
 * reports (alert_hub_take_reports), for the run's history row.
 *
 * Ownership: alert_hub_new*() allocate the hub, which owns its tracks,
 * its copy of the destinations and its lanes; alert_hub_free() stops the
 * lanes and frees all of it.
 */
#ifndef KEEPER_ALERTHUB_H
#define KEEPER_ALERTHUB_H

#include <stddef.h>
#include <stdint.h>

#include "alertfmt.h"
#include "alertq.h"
#include "alertstep.h"

struct alert_hub;

/* Pure: the policy from KEEPER_ALERT_AFTER's and _GAP's values (NULL =
 * unset). 0, or -1 with err. */
int		 alert_hub_config(const char *after, const char *gap,
		    struct alert_policy *, char *err, size_t errlen);
/* Pure: append to *dests the destinations of KEEPER_ALERT_URL's value
 * with KEEPER_ALERT_FORMAT's as their default (NULL = unset). 0, or -1
 * with err naming the variable. */
int		 alert_hub_dests_config(const char *url, const char *format,
		    struct alert_dests *, char *err, size_t errlen);
/* NULL with err when a lane cannot start; dests may be NULL (none) and
 * is copied. */
struct alert_hub *alert_hub_new_dests(const char *crew,
		    const struct alert_dests *, const struct alert_policy *,
		    char *err, size_t errlen);
/* The same with the destinations of one KEEPER_ALERT_URL-style value
 * (may be NULL); NULL with err when it does not parse. */
struct alert_hub *alert_hub_new(const char *crew, const char *url,
		    const struct alert_policy *, char *err, size_t errlen);
/* The hub the KEEPER_ALERT_* settings describe (settings.h). */
struct settings;
struct alert_hub *alert_hub_from_settings(const char *crew,
		    const struct settings *, char *err, size_t errlen);
/* 1 with *out filled when this observation alerted. */
int		 alert_hub_observe(struct alert_hub *,
		    const struct alert_input *, struct alert *out);
/* A member's token budget is spent and it paused itself until until_ms
 * (SPEC §5b): one alert, logged and queued like the others; *out gets it
 * for the record. */
void		 alert_hub_budget(struct alert_hub *, const char *agent,
		    int64_t tokens, int64_t budget, int64_t window_ms,
		    int64_t until_ms, int64_t now_ms, struct alert *out);
/* Queue a run's result for each destination of dests (NULL: the hub's
 * own); returns how many copies were queued. Never blocks. */
int		 alert_hub_result(struct alert_hub *,
		    const struct alert_result *, const struct alert_dests *);
/* Replace the crew's name and the destinations (copied; NULL none)
 * without losing anything: the agents' tracks stay, and so do the lanes
 * of receivers still named, with what they hold. 0, or -1 with err when
 * a new receiver cannot get a lane (its messages are dropped, logged). */
int		 alert_hub_reconfigure(struct alert_hub *, const char *crew,
		    const struct alert_dests *, char *err, size_t errlen);

/* What became of one result's copy (alertq.h's events), reported from
 * the lanes' threads and kept until taken. */
struct alert_hub_report {
	char		 run_id[32];
	char		 dest[160];	/* "ntfy https://ntfy.sh": no secret */
	enum alert_queue_event event;
	int		 attempts;
	char		 why[128];
};
/* The reports since the last call, oldest first, in a malloc'd array
 * (*out, NULL when none); *lost (may be NULL) gets how many did not fit.
 * Returns their count. */
size_t		 alert_hub_take_reports(struct alert_hub *,
		    struct alert_hub_report **out, uint64_t *lost);
/* A member left the crew: forget its track. */
void		 alert_hub_forget(struct alert_hub *, const char *agent);
/* Delivery counters summed over the lanes (zero without any). */
void		 alert_hub_stats(struct alert_hub *,
		    struct alert_queue_stats *);
/* Stop every lane (at most one request timeout); what they still held
 * is given up and reported. Nothing is delivered after. */
void		 alert_hub_stop(struct alert_hub *);
void		 alert_hub_free(struct alert_hub *);

#endif
