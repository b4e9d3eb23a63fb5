/*
 * gate: FIFO counting semaphore. A released slot goes straight to the
 * oldest waiter, so a newcomer can never overtake the queue (no starvation).
 */
#include "gate.h"

void
gate_init(struct gate *g, int slots)
{
	g->slots = slots > 0 ? slots : 0;
	g->used = 0;
	g->head = g->tail = NULL;
	g->nwait = 0;
	g->gen = g->numbered = 0;
}

int
gate_acquire(struct gate *g, struct gate_waiter *w, gate_cb cb)
{
	w->next = NULL;
	w->cb = cb;
	w->queued = 0;
	if (g->slots == 0)
		return 1;
	if (g->head == NULL && g->used < g->slots) {
		g->used++;
		return 1;
	}
	w->queued = 1;
	if (g->tail)
		g->tail->next = w;
	else
		g->head = w;
	g->tail = w;
	g->nwait++;
	g->gen++;
	return 0;
}

static void
grant(struct gate *g)
{
	struct gate_waiter *w;

	while (g->head && (g->slots == 0 || g->used < g->slots)) {
		w = g->head;
		g->head = w->next;
		if (g->head == NULL)
			g->tail = NULL;
		g->nwait--;
		g->gen++;
		w->next = NULL;
		w->queued = 0;
		if (g->slots)
			g->used++;
		w->cb(w);
	}
}

void
gate_release(struct gate *g)
{
	if (g->slots == 0)
		return;
	if (g->used > 0)
		g->used--;
	grant(g);
}

void
gate_cancel(struct gate *g, struct gate_waiter *w)
{
	struct gate_waiter **pp, *prev = NULL;

	if (!w->queued)
		return;
	for (pp = &g->head; *pp; prev = *pp, pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			if (g->tail == w)
				g->tail = prev;
			g->nwait--;
			g->gen++;
			break;
		}
	w->queued = 0;
	w->next = NULL;
}

void
gate_resize(struct gate *g, int slots)
{
	g->slots = slots > 0 ? slots : 0;
	grant(g);
}

void
gate_recount(struct gate *g, int used)
{
	g->used = used > 0 ? used : 0;
	grant(g);
}

int
gate_place(struct gate *g, const struct gate_waiter *w)
{
	int n = 1;

	if (!w->queued)
		return 0;
	if (g->numbered != g->gen) {
		for (struct gate_waiter *p = g->head; p; p = p->next)
			p->place = n++;
		g->numbered = g->gen;
	}
	return w->place;
}
