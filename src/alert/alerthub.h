/*
 * alerthub: what the daemon holds of alerts. It keeps one track per agent
 * (by name), takes its settings from the environment (alert_hub_config),
 * logs every alert (event=alert) and queues it for delivery when a URL is
 * set. The caller records the returned alert in history.
 *
 *   KEEPER_ALERT_URL	POST target; unset: alerts are logged and recorded
 *   KEEPER_ALERT_AFTER	consecutive failures before "failing" (3)
 *   KEEPER_ALERT_GAP	per-agent rate limit, a duration (10m)
 *
 * Ownership: alert_hub_new() allocates the hub, which owns its tracks and
 * its queue; alert_hub_free() stops the queue and frees all of it.
 */
#ifndef KEEPER_ALERTHUB_H
#define KEEPER_ALERTHUB_H

#include <stddef.h>

#include "alertq.h"
#include "alertstep.h"

struct alert_hub;

/* Pure: settings from the two variables' values (NULL = unset). */
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
