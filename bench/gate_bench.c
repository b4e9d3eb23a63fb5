/*
 * gate_bench: what numbering the gate's queue costs per change, with
 * priorities and aging (src/core/gate.c) against the FIFO gate it
 * replaced (kept below as the reference, as it was in af40336), in the
 * same run: 10,000 waiters behind one held slot, and for each change to
 * the queue (a waiter in the middle leaves and joins again at the end)
 * every waiter's place is asked, as a publish of /_activity does.
 *
 * usage: gate_bench [WAITERS [CHANGES]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"

/* ---- the reference: the FIFO gate before priorities ---- */

/* Never inlined: the daemon calls the gate in another file, as this
 * program calls the real one in libkeeper.a. */
#define REF	__attribute__((noinline)) static

struct fifo_waiter {
	struct fifo_waiter	*next;
	int			 queued;
	int			 place;
};

struct fifo {
	int			 slots, used;
	struct fifo_waiter	*head, *tail;
	unsigned		 gen, numbered;
};

REF int
fifo_acquire(struct fifo *g, struct fifo_waiter *w)
{
	w->next = NULL;
	w->queued = 0;
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
	g->gen++;
	return 0;
}

REF void
fifo_cancel(struct fifo *g, struct fifo_waiter *w)
{
	struct fifo_waiter **pp, *prev = NULL;

	if (!w->queued)
		return;
	for (pp = &g->head; *pp; prev = *pp, pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			if (g->tail == w)
				g->tail = prev;
			g->gen++;
			break;
		}
	w->queued = 0;
	w->next = NULL;
}

REF int
fifo_place(struct fifo *g, const struct fifo_waiter *w)
{
	int n = 1;

	if (!w->queued)
		return 0;
	if (g->numbered != g->gen) {
		for (struct fifo_waiter *p = g->head; p; p = p->next)
			p->place = n++;
		g->numbered = g->gen;
	}
	return w->place;
}

/* ---- the measure ---- */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
granted(struct gate_waiter *w)
{
	(void)w;
}

static volatile long sink;

/* Microseconds per change for the FIFO reference: each change, then
 * every place asked. */
static void
run_fifo(int n, int changes, double *out)
{
	struct fifo g = { .slots = 1 };
	struct fifo_waiter hold, *w = calloc((size_t)n, sizeof(*w));
	long s = 0;

	fifo_acquire(&g, &hold);
	for (int i = 0; i < n; i++)
		fifo_acquire(&g, &w[i]);
	for (int c = 0; c < changes; c++) {
		struct fifo_waiter *m = &w[(c * 7919) % n];
		double t0 = now_us();

		fifo_cancel(&g, m);
		fifo_acquire(&g, m);
		for (int i = 0; i < n; i++)
			s += fifo_place(&g, &w[i]);
		out[c] = now_us() - t0;
	}
	sink += s;
	free(w);
}

/* The same with the gate: prios distinct priorities (round robin), and
 * one waiter in starve of them starving (0: none). */
static void
run_gate(int n, int changes, int prios, int starve, double *out)
{
	struct gate g;
	struct gate_waiter hold = { 0 }, *w = calloc((size_t)n, sizeof(*w));
	int64_t now = 1800000000000LL;
	long s = 0;

	gate_init(&g, 1);
	gate_acquire(&g, &hold, granted, now);
	for (int i = 0; i < n; i++) {
		w[i].prio = i % prios;
		/* A starving waiter has waited past its base the moment the
		 * run starts; the others wait for an hour first. */
		w[i].base_ms = starve && i % starve == 0 ? 0 : 3600000;
		gate_acquire(&g, &w[i], granted, now);
	}
	now += 1000;
	for (int c = 0; c < changes; c++) {
		struct gate_waiter *m = &w[(c * 7919) % n];
		double t0 = now_us();

		gate_cancel(&g, m);
		gate_acquire(&g, m, granted, now - 1000);
		for (int i = 0; i < n; i++)
			s += gate_place(&g, &w[i], now);
		out[c] = now_us() - t0;
	}
	sink += s;
	free(w);
}

static void
report(const char *what, double *t, int changes, double ref)
{
	double sum = 0;

	for (int i = 0; i < changes; i++)
		sum += t[i];
	qsort(t, (size_t)changes, sizeof(*t), cmp_double);
	printf("%-44s median %8.1f us  mean %8.1f us  p99 %8.1f us",
	    what, t[changes / 2], sum / changes, t[changes * 99 / 100]);
	if (ref > 0)
		printf("  %.2fx FIFO", t[changes / 2] / ref);
	printf("\n");
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	int changes = argc > 2 ? atoi(argv[2]) : 300;
	double *t = calloc((size_t)changes, sizeof(*t)), fifo;

	if (n < 2 || changes < 1)
		return 2;
	printf("%d waiters, %d changes, each followed by every place asked\n",
	    n, changes);
	/* Warm caches and the allocator for both before measuring. */
	run_fifo(n, changes / 10 + 1, t);
	run_gate(n, changes / 10 + 1, 3, 0, t);
	run_fifo(n, changes, t);
	report("FIFO gate (before priorities)", t, changes, 0);
	fifo = t[changes / 2];
	run_gate(n, changes, 1, 0, t);
	report("priority gate, one priority", t, changes, fifo);
	run_gate(n, changes, 3, 0, t);
	report("priority gate, A/B/C round robin", t, changes, fifo);
	run_gate(n, changes, 3, 10, t);
	report("priority gate, A/B/C, every 10th starving", t, changes,
	    fifo);
	run_gate(n, changes, 26, 0, t);
	report("priority gate, A..Z round robin", t, changes, fifo);
	run_fifo(n, changes, t);
	report("FIFO gate again (drift check)", t, changes, fifo);
	free(t);
	return 0;
}
