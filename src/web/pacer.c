/*
 * pacer: see pacer.h.
 */
#include "pacer.h"

uint64_t
pacer_gap_for(uint64_t ns)
{
	uint64_t gap = (ns * 10 + 999999) / 1000000;	/* ms, up */

	return gap > PACER_GAP_MAX_MS ? PACER_GAP_MAX_MS : gap;
}

int
pacer_due(const struct pacer *p, uint64_t now)
{
	return p->last_ms == 0 || now >= p->last_ms + p->gap_ms;
}

uint64_t
pacer_wait(const struct pacer *p, uint64_t now)
{
	return pacer_due(p, now) ? 0 : p->last_ms + p->gap_ms - now;
}

void
pacer_published(struct pacer *p, uint64_t ns, uint64_t now)
{
	p->gap_ms = pacer_gap_for(ns);
	if (p->render_gap_ms > p->gap_ms)
		p->gap_ms = p->render_gap_ms;
	p->last_ms = now;
}

void
pacer_render_cost(struct pacer *p, uint64_t ns)
{
	p->render_gap_ms = pacer_gap_for(ns);
	if (p->render_gap_ms > p->gap_ms)
		p->gap_ms = p->render_gap_ms;
}
