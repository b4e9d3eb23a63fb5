/*
 * service: what makes keeper run like a service, hooked into the daemon at
 * a handful of places (keeper(1) SYSTEMD, ALERTS, HOUSEKEEPING):
 *
 *   service_new()        daemon_serve(), before the loop runs
 *   service_ready()      once the workers are armed: READY=1, the watchdog
 *                        and the housekeeping timer start
 *   service_reloading()/service_ready()   around a SIGHUP re-read
 *   service_stopping()   on drain: STOPPING=1
 *   service_tick_done()  a tick ended: health transitions -> alerts
 *   service_close()      daemon_free(), before its last uv_run
 *
 * Ownership: service_new() allocates; service_close() stops everything and
 * the memory goes in the last handle's close callback, so the daemon's
 * final uv_run() must follow it. The daemon is borrowed and outlives it.
 */
#ifndef KEEPER_SERVICE_H
#define KEEPER_SERVICE_H

#include <stdint.h>

#include "sentinel.h"

#define SERVICE_CRON_MS		1000	/* housekeeping timer period */

struct daemon;
struct worker;
struct service;

struct service *service_new(struct daemon *);
void	 service_ready(struct service *);	/* NULL: no-op */
void	 service_reloading(struct service *);
void	 service_stopping(struct service *);
void	 service_tick_done(struct service *, struct worker *);
/* The sentinel's repair counts so far, for /_health (zeros for NULL). */
struct status_sentinel;
const struct status_sentinel *service_sentinel(struct service *);
void	 service_close(struct service *);

#endif
