/*
 * gate: the crew's counting semaphore (SPEC §5, §5b). CONCURRENCY slots;
 * a waiter that cannot take one now joins the queue and is granted a
 * slot by gate_release(), in the queue's order:
 *
 *   - by priority (the org cookie's rank, 0 first), FIFO within one;
 *   - no starvation: a waiter that has waited longer than its own base
 *     delay goes ahead of every waiter that arrived after it.
 *
 * Pure data: no loop, no clock. The clock is passed in (now, unix ms), so
 * the order is exact in tests.
 *
 * Ownership: the gate never allocates; waiters are embedded in their
 * owner (the worker), which sets prio and base_ms before gate_acquire()
 * and must cancel the waiter before freeing it.
 */
#ifndef KEEPER_GATE_H
#define KEEPER_GATE_H

#include <stddef.h>
#include <stdint.h>

#define GATE_PRIOS	65	/* ranks 0 .. 64, org's numeric range */

struct gate_waiter;
typedef void (*gate_cb)(struct gate_waiter *);

struct gate_waiter {
	/* Set by the owner before gate_acquire(). */
	int			 prio;	/* 0 most urgent .. GATE_PRIOS - 1 */
	int64_t			 base_ms; /* waited longer: it is starving */
	/* The gate's. */
	struct gate_waiter	*prev, *next;	/* arrival order */
	struct gate_waiter	*bprev, *bnext;	/* its priority's queue */
	gate_cb			 cb;	/* called when a queued wait is granted */
	int			 queued;
	int64_t			 arrived_ms;
	uint64_t		 seq;	/* arrival order, for ties */
	int			 place;	/* as of the gate's last numbering */
};

struct gate {
	int			 slots;	/* 0 = no gate (singleton): never waits */
	int			 used;
	struct gate_waiter	*head, *tail;		/* arrival order */
	struct gate_waiter	*bhead[GATE_PRIOS], *btail[GATE_PRIOS];
	size_t			 nwait;
	uint64_t		 seq;
	int64_t			 starve_floor;	/* no waiter starves before */
	unsigned		 gen;	/* bumped by every change to the queue */
	unsigned		 numbered; /* gen the places were counted at */
	int64_t			 renumber_ms; /* and when a waiter starves */
};

void	gate_init(struct gate *, int slots);
/* 1 when a slot was taken now (cb is not called), 0 when queued (cb will
 * be called from a later grant, holding the slot). w->prio and w->base_ms
 * are read here. */
int	gate_acquire(struct gate *, struct gate_waiter *, gate_cb,
	    int64_t now_ms);
/* Give a slot back; the first waiter in the queue's order gets it. */
void	gate_release(struct gate *, int64_t now_ms);
/* Leave the queue without a slot (no-op when not queued). */
void	gate_cancel(struct gate *, struct gate_waiter *);
/* Change the slot count; newly free slots go to waiters. */
void	gate_resize(struct gate *, int slots, int64_t now_ms);
/* Set the count of slots in use to what their holders say (the
 * sentinel's repair of a count that drifted); newly free slots go to
 * waiters. */
void	gate_recount(struct gate *, int used, int64_t now_ms);
/* 1-based place in the queue's order at now, 0 when not waiting. The
 * places are counted once per change to the queue (and once more when a
 * waiter starts to starve), so asking every waiter's place is
 * O(waiters), not O(waiters^2). */
int	gate_place(struct gate *, const struct gate_waiter *, int64_t now_ms);

#endif
