/*
 * pacer: when the web plane publishes a snapshot (prefix pacer_). Pure:
 * the caller passes the clock and the costs.
 *
 * A publish renders every agent (O(crew)): done once per event, it was
 * 60% of the daemon's CPU with fifty one-second agents. So publishes are
 * spaced by ten times the last one's cost (at most PACER_GAP_MAX_MS): the
 * plane takes at most about a tenth of a core however busy the crew. A
 * small crew renders in well under a millisecond, so its changes still go
 * out at once. The cost counted is the loop's part, or the render done on
 * the web's own thread when that took longer (pacer_render_cost()).
 */
#ifndef KEEPER_PACER_H
#define KEEPER_PACER_H

#include <stdint.h>

#define PACER_GAP_MAX_MS	500

struct pacer {
	uint64_t	 last_ms;	/* when the last publish ended, 0 never */
	uint64_t	 gap_ms;	/* to leave after it */
	uint64_t	 render_gap_ms;	/* the part the thread's renders ask */
};

/* The gap a publish that cost ns asks for. */
uint64_t	 pacer_gap_for(uint64_t ns);
/* 1 when a publish may go out at now. */
int		 pacer_due(const struct pacer *, uint64_t now_ms);
/* How long until one may (0 when due). */
uint64_t	 pacer_wait(const struct pacer *, uint64_t now_ms);
/* A publish ended at now; its part on the caller's thread cost ns. */
void		 pacer_published(struct pacer *, uint64_t ns, uint64_t now_ms);
/* A render on another thread cost ns. */
void		 pacer_render_cost(struct pacer *, uint64_t ns);

#endif
