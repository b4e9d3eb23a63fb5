/*
 * role: a daemon that shares its crew with other keepers through etcd
 * (SPEC §12, keeper(1) FAILOVER), as an observer of the daemon. It holds
 * the fleet (fleet.h: the lease, the leader key, the state mirror) and
 * acts on what it says:
 *
 *   start        the daemon is standby: it arms nothing until the fleet
 *                makes it active
 *   active       the crew's state found in etcd (each member's last run,
 *                lifecycle position, no-work streak, pause; the run id
 *                floor) replaces the local files first, then every member
 *                is armed from it, mid-cadence
 *   state writes every state file the daemon writes (statesync.h) and
 *                every tick's no-work streak and run id go to etcd too
 *   lease lapse  by the monotonic clock, on a timer at fleet_live_until()
 *                (no tick needed) or when the fleet says so: the daemon
 *                goes standby (daemon_standby(): timers stopped, runs
 *                killed, nothing pushed)
 *   run-once     asked of a standby: the active keeper runs it
 *                (forward.h) and the answer comes back
 *
 * The fence it lends the daemon (fence.h) is live only while this keeper
 * is active, its state imported, and its lease surely live.
 *
 * Ownership: role_new() allocates and registers with the daemon;
 * role_close() (after the loop has stopped, before daemon_free())
 * unregisters, resigns the lease (a standby takes over at once) and
 * frees once the handles have closed in the daemon's final uv_run().
 */
#ifndef KEEPER_ROLE_H
#define KEEPER_ROLE_H

#include <stddef.h>
#include <stdint.h>

#define ROLE_TTL_MIN_MS	2000	/* etcd's shortest lease, about */

struct daemon;
struct role;

/* urls: the etcd endpoints (--lease / KEEPER_LEASE). NULL with err when
 * the fleet cannot start (no endpoint in urls). */
struct role	*role_new(struct daemon *, const char *urls, char *err,
		    size_t errlen);
/* The address the HTTP plane bound (127.0.0.1:0 becomes its port): the
 * leader key names it. The fleet campaigns only once this is given
 * (role_close() before it is fine). */
void		 role_set_listen(struct role *, const char *addr);
void		 role_close(struct role *);

#endif
