/*
 * gate: the crew's FIFO counting semaphore (SPEC §5). CONCURRENCY slots;
 * a waiter that cannot take one now joins a FIFO queue and is granted a
 * slot, in order, by gate_release(). Pure data: no loop, no clock.
 *
 * Ownership: the gate never allocates; waiters are embedded in their
 * owner (the worker) and must be cancelled before they are freed.
 */
#ifndef KEEPER_GATE_H
#define KEEPER_GATE_H

#include <stddef.h>

struct gate_waiter;
typedef void (*gate_cb)(struct gate_waiter *);

struct gate_waiter {
	struct gate_waiter	*next;
	gate_cb			 cb;	/* called when a queued wait is granted */
	int			 queued;
	int			 place;	/* as of the gate's last numbering */
};

struct gate {
	int			 slots;	/* 0 = no gate (singleton): never waits */
	int			 used;
	struct gate_waiter	*head, *tail;
	size_t			 nwait;
	unsigned		 gen;	/* bumped by every change to the queue */
	unsigned		 numbered; /* gen the places were counted at */
};

void	gate_init(struct gate *, int slots);
/* 1 when a slot was taken now (cb is not called), 0 when queued (cb will
 * be called from a later gate_release(), holding the slot). */
int	gate_acquire(struct gate *, struct gate_waiter *, gate_cb);
/* Give a slot back; the oldest waiter, if any, gets it at once. */
void	gate_release(struct gate *);
/* Leave the queue without a slot (no-op when not queued). */
void	gate_cancel(struct gate *, struct gate_waiter *);
/* Change the slot count; newly free slots go to waiters. */
void	gate_resize(struct gate *, int slots);
/* Set the count of slots in use to what their holders say (the
 * sentinel's repair of a count that drifted); newly free slots go to
 * waiters. */
void	gate_recount(struct gate *, int used);
/* 1-based place in the queue, 0 when not waiting. The places are
 * counted once per change to the queue, so asking every waiter's place
 * is O(waiters), not O(waiters^2). */
int	gate_place(struct gate *, const struct gate_waiter *);

#endif
