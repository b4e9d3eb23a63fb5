/*
 * upkeep: what makes keeper run like a service (keeper(1) SYSTEMD, ALERTS,
 * HOUSEKEEPING), as an observer of the daemon: it hears the daemon's life
 * cycle and every tick's end, and acts:
 *
 *   ready        once the workers are armed (and after a SIGHUP re-read):
 *                READY=1, the watchdog and the housekeeping timer start
 *   reloading    around a SIGHUP re-read: RELOADING=1
 *   stopping     on drain: STOPPING=1
 *   tick done    health transitions -> alerts; a member's :NOTIFY: ->
 *                its run's result to the receivers
 *
 * and, on its own timer (SERVICE_CRON_MS), runs the sentinel's checks and
 * repairs and the daily housekeeping duties.
 *
 * Ownership: upkeep_new() allocates and registers with the daemon;
 * upkeep_close() (after the loop has stopped, before daemon_free())
 * unregisters and stops everything, the memory going in the last
 * handle's close callback in the daemon's final uv_run(). The daemon is
 * borrowed and outlives it.
 */
#ifndef KEEPER_UPKEEP_H
#define KEEPER_UPKEEP_H

#include <stdint.h>

#include "sentinel.h"

#define SERVICE_CRON_MS		1000	/* housekeeping timer period */

struct daemon;
struct status_sentinel;
struct upkeep;

struct upkeep	*upkeep_new(struct daemon *);
/* The sentinel's repair counts so far, for /_health (arg: the upkeep;
 * fits web_sentinel_fn). */
const struct status_sentinel *upkeep_sentinel(void *arg);
void		 upkeep_close(struct upkeep *);

#endif
