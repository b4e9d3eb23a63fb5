/*
 * gate: a counting semaphore whose queue is ordered by priority, FIFO
 * within one, with aging so that nobody starves.
 *
 * Every waiter is on two lists: the queue in arrival order, and its
 * priority's own queue (also in arrival order). The next to be granted at
 * now is found as follows. Let s be the earliest-arrived waiter that has
 * waited longer than its own base delay (it starves). No waiter that
 * arrived after s may go before it, so the candidates are the waiters
 * that arrived no later than s (all of them when nobody starves), and of
 * those the one of the most urgent priority, the oldest within it: the
 * head of the first priority queue whose head arrived no later than s.
 * FIFO within a priority always holds (an older waiter of the same
 * priority is a candidate whenever a younger one is), priority orders the
 * rest, and a starving waiter is overtaken only by waiters that were
 * there before it.
 *
 * A released slot goes straight to that waiter, so a newcomer can never
 * take a free slot past the queue.
 */
#include "gate.h"

#define NO_SEQ	UINT64_MAX
#define NEVER	INT64_MAX

void
gate_init(struct gate *g, int slots)
{
	g->slots = slots > 0 ? slots : 0;
	g->used = 0;
	g->head = g->tail = NULL;
	for (int i = 0; i < GATE_PRIOS; i++)
		g->bhead[i] = g->btail[i] = NULL;
	g->nwait = 0;
	g->seq = 0;
	g->starve_floor = NEVER;
	g->gen = g->numbered = 0;
	g->renumber_ms = NEVER;
}

static int
rank(const struct gate_waiter *w)
{
	return w->prio < 0 ? 0 : w->prio >= GATE_PRIOS ? GATE_PRIOS - 1 :
	    w->prio;
}

/* When w starts to starve: one past its base delay of waiting. */
static int64_t
starves_at(const struct gate_waiter *w)
{
	int64_t b = w->base_ms > 0 ? w->base_ms : 0;

	return w->arrived_ms > NEVER - b - 1 ? NEVER : w->arrived_ms + b + 1;
}

int
gate_acquire(struct gate *g, struct gate_waiter *w, gate_cb cb, int64_t now)
{
	int r = rank(w);

	w->prev = w->next = w->bprev = w->bnext = NULL;
	w->cb = cb;
	w->queued = 0;
	w->place = 0;
	if (g->slots == 0)
		return 1;
	if (g->head == NULL && g->used < g->slots) {
		g->used++;
		return 1;
	}
	w->queued = 1;
	w->arrived_ms = now;
	w->seq = g->seq++;
	w->prev = g->tail;
	if (g->tail)
		g->tail->next = w;
	else
		g->head = w;
	g->tail = w;
	w->bprev = g->btail[r];
	if (g->btail[r])
		g->btail[r]->bnext = w;
	else
		g->bhead[r] = w;
	g->btail[r] = w;
	if (starves_at(w) < g->starve_floor)
		g->starve_floor = starves_at(w);
	g->nwait++;
	g->gen++;
	return 0;
}

static void
unlink_waiter(struct gate *g, struct gate_waiter *w)
{
	int r = rank(w);

	if (w->prev)
		w->prev->next = w->next;
	else
		g->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		g->tail = w->prev;
	if (w->bprev)
		w->bprev->bnext = w->bnext;
	else
		g->bhead[r] = w->bnext;
	if (w->bnext)
		w->bnext->bprev = w->bprev;
	else
		g->btail[r] = w->bprev;
	w->prev = w->next = w->bprev = w->bnext = NULL;
	w->queued = 0;
	g->nwait--;
	g->gen++;
}

/* The arrival number of the earliest waiter starving at now, or NO_SEQ.
 * starve_floor is a lower bound on when any waiter starves: until then
 * nobody does and the queue is not walked; a walk that finds nobody
 * starving sets it exactly. */
static uint64_t
first_starving(struct gate *g, int64_t now)
{
	int64_t floor = NEVER;

	if (now < g->starve_floor)
		return NO_SEQ;
	for (struct gate_waiter *p = g->head; p; p = p->next) {
		if (now >= starves_at(p))
			return p->seq;
		if (starves_at(p) < floor)
			floor = starves_at(p);
	}
	g->starve_floor = floor;
	return NO_SEQ;
}

static struct gate_waiter *
next_waiter(struct gate *g, int64_t now)
{
	uint64_t bound = first_starving(g, now);

	for (int r = 0; r < GATE_PRIOS; r++)
		if (g->bhead[r] && g->bhead[r]->seq <= bound)
			return g->bhead[r];
	return NULL;		/* empty: the starving one is a candidate */
}

static void
grant(struct gate *g, int64_t now)
{
	struct gate_waiter *w;

	while (g->head && (g->slots == 0 || g->used < g->slots)) {
		w = next_waiter(g, now);
		unlink_waiter(g, w);
		if (g->slots)
			g->used++;
		w->cb(w);
	}
}

void
gate_release(struct gate *g, int64_t now)
{
	if (g->slots == 0)
		return;
	if (g->used > 0)
		g->used--;
	grant(g, now);
}

void
gate_cancel(struct gate *g, struct gate_waiter *w)
{
	if (!w->queued)
		return;
	unlink_waiter(g, w);
}

void
gate_resize(struct gate *g, int slots, int64_t now)
{
	g->slots = slots > 0 ? slots : 0;
	grant(g, now);
}

void
gate_recount(struct gate *g, int used, int64_t now)
{
	g->used = used > 0 ? used : 0;
	grant(g, now);
}

/*
 * Number the whole queue in grant order at now. With nobody starving
 * (the usual case, known without a walk from starve_floor) that is the
 * priority queues one after the other: one pass, as the FIFO gate's.
 * Otherwise, walking the waiters in arrival order, each starving one
 * bounds the candidates as next_waiter() would, and the priority queues
 * are drained (most urgent first) until it has its place; after the
 * last, the rest go in priority order. Each pick looks only at the
 * priorities in use. The numbering holds until the queue changes or
 * another waiter starts to starve (renumber_ms; an early renumbering
 * does no harm).
 */
static void
renumber(struct gate *g, int64_t now)
{
	struct gate_waiter *cur[GATE_PRIOS];
	int used[GATE_PRIOS], nused = 0, n = 1;
	int64_t next = NEVER;

	if (first_starving(g, now) == NO_SEQ) {
		for (int r = 0; r < GATE_PRIOS; r++)
			for (struct gate_waiter *w = g->bhead[r]; w;
			    w = w->bnext)
				w->place = n++;
		g->numbered = g->gen;
		g->renumber_ms = g->starve_floor;
		return;
	}
	for (int r = 0; r < GATE_PRIOS; r++)
		if ((cur[r] = g->bhead[r]) != NULL)
			used[nused++] = r;
	for (struct gate_waiter *p = g->head; p; p = p->next)
		p->place = 0;
	for (struct gate_waiter *p = g->head; p; p = p->next) {
		if (now < starves_at(p)) {
			if (starves_at(p) < next)
				next = starves_at(p);
			continue;
		}
		while (p->place == 0) {
			struct gate_waiter *w = NULL;
			int r = 0;

			for (int i = 0; i < nused; i++) {
				r = used[i];
				if (cur[r] && cur[r]->seq <= p->seq) {
					w = cur[r];
					break;
				}
			}
			w->place = n++;
			cur[r] = w->bnext;
		}
	}
	for (int i = 0; i < nused; i++)
		for (struct gate_waiter *w = cur[used[i]]; w; w = w->bnext)
			w->place = n++;
	g->numbered = g->gen;
	g->renumber_ms = next;
}

int
gate_place(struct gate *g, const struct gate_waiter *w, int64_t now)
{
	if (!w->queued)
		return 0;
	if (g->numbered != g->gen || now >= g->renumber_ms)
		renumber(g, now);
	return w->place;
}
