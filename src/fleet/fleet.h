/*
 * fleet: this keeper's place among the keepers that share a crew through
 * etcd (SPEC §12). Exactly one is active: the one that created the crew's
 * leader key, /keeper/CREW/leader, on a lease of its own (a transaction
 * that creates the key only if nobody holds it), and keeps that lease
 * alive. The others are standby: they watch the key, and when it goes
 * (its holder's lease lapsed or was revoked) they campaign again.
 *
 * The etcd calls block, so they run on a thread of the fleet's own; the
 * loop learns of a change through the changed callback (a uv_async) and
 * reads the fleet under its mutex.
 *
 * Fencing: fleet_live() is true only while this keeper is active and its
 * lease is surely still live: the last keep-alive etcd answered was sent
 * less than TTL minus a margin ago, by the monotonic clock, so a keeper
 * that was stopped (SIGSTOP), cut off or starved past its TTL knows it at
 * once, before it starts a run or pushes, even before its thread has run.
 * The daemon asks it before each run and each push, and arms a timer for
 * fleet_live_until() to stop what runs when the lease would lapse.
 *
 * State that moves with the role (each member's position, last run,
 * streak, pause) is mirrored under /keeper/CREW/state/: fleet_put()
 * queues the latest value of a name, written by the thread while active
 * and only while this keeper still holds the leader key it created (a
 * transaction on its create revision), so a keeper that lost its lease
 * can never overwrite its successor's state. A keeper that becomes active
 * has read the whole state first (fleet_take_state()).
 *
 * Ownership: fleet_start() allocates; fleet_stop() resigns (revokes the
 * lease, so a standby takes over at once), joins the thread and frees
 * once the async handle has closed (the loop must run after it).
 */
#ifndef KEEPER_FLEET_H
#define KEEPER_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct fleet;

enum fleet_role { FLEET_STANDBY, FLEET_ACTIVE };

struct fleet_opts {
	uv_loop_t	*loop;
	const char	*urls;		/* etcd endpoints, comma-separated */
	const char	*crew;		/* the crew's name: the key prefix */
	int64_t		 ttl_ms;	/* #+LEASE-TTL: (rounded up to whole
					   seconds, etcd's unit) */
	const char	*identity;	/* what the leader key holds while we
					   are active (JSON: host, pid, ...) */
	/* Campaign only once fleet_set_identity() has given the final
	 * identity (the HTTP plane binds after the lease starts). */
	int		 wait_identity;
	/* On the loop: the role, or the active keeper's identity, changed. */
	void		(*changed)(struct fleet *, void *arg);
	void		*arg;
};

/* The state a keeper that became active found in etcd, one entry a name. */
struct fleet_state {
	char	*name;
	char	*value;
	size_t	 len;
};

struct fleet	*fleet_start(const struct fleet_opts *, char *err,
		    size_t errlen);
void		 fleet_stop(struct fleet *);

/* Loop thread. */
enum fleet_role	 fleet_role(struct fleet *);
/* Replaces the identity the leader key will hold (copied; any thread)
 * and lets a wait_identity fleet campaign. */
void		 fleet_set_identity(struct fleet *, const char *identity);
/* The active keeper's identity (ours when active), or NULL when none is
 * known; malloc'd copy. */
char		*fleet_active(struct fleet *);
int		 fleet_live(struct fleet *);
/* When the lease would lapse by the monotonic clock (util_mono_ms()), 0
 * when not active. */
int64_t		 fleet_live_until(struct fleet *);
/* The lease this keeper holds while active (the Keeper-Lease trailer),
 * 0 otherwise. */
int64_t		 fleet_lease(struct fleet *);
/* The state read when this keeper became active, once: *n entries the
 * caller frees with fleet_state_free(); NULL when none is waiting. */
struct fleet_state *fleet_take_state(struct fleet *, size_t *n);
void		 fleet_state_free(struct fleet_state *, size_t n);
/* Queue name = value for the state mirror (the newest value of a name
 * wins); written while active. */
void		 fleet_put(struct fleet *, const char *name, const char *value,
		    size_t len);
/* Counters for /metrics and the bench: etcd requests made, failovers
 * this keeper took part in (became active). */
void		 fleet_counters(struct fleet *, uint64_t *requests,
		    uint64_t *became_active);

#endif
