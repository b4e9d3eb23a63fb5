/*
 * pause: the pure rules of a member's pause (SPEC §5b). A pause holds
 * until a time (unix ms) or, with until 0, until it is resumed; its why
 * is the operator's words or "token budget". A paused member does not
 * tick; its fires in the pause are skipped, never caught up: the next
 * tick is the first due time of its cadence at or after the pause ends.
 * A token budget pauses its member until the window allows again.
 *
 * The pause itself is kept in the data directory (statefile.h, the
 * pause-NAME file). Nothing here reads a clock: now is an argument.
 */
#ifndef KEEPER_PAUSE_H
#define KEEPER_PAUSE_H

#include <stdint.h>

#define PAUSE_WHY_MAX	256	/* bytes of why kept, NUL included */
#define PAUSE_BUDGET_WHY "token budget"

struct pause {
	int	 on;		/* a pause was set (it may have expired) */
	int64_t	 until_ms;	/* 0: until resumed */
	char	 why[PAUSE_WHY_MAX];
};

/* 1 when p holds at now. */
int	 pause_active(const struct pause *, int64_t now_ms);
/* Set p (why may be NULL; it is cut to fit, new lines become spaces). */
void	 pause_set(struct pause *, int64_t until_ms, const char *why);
/* 1 when p is the token budget's own. */
int	 pause_is_budget(const struct pause *);
/*
 * The first time at or after from_ms on the grid due_ms + k * step_ms
 * (k >= 0): the next tick of a cadence whose fires up to from_ms are
 * skipped. due_ms itself when it is not before from_ms; from_ms when the
 * step is not positive.
 */
int64_t	 pause_next_due(int64_t due_ms, int64_t step_ms, int64_t from_ms);
/*
 * A token budget (SPEC §5b). used is the tokens counted within the window
 * of window_ms before now; crossing_ms is when the run ended that brought
 * the count, from the newest run back, to budget (store_tokens()). 0 when
 * used < budget; else when the window allows again: crossing + window,
 * once that run and every older one have left it.
 */
int64_t	 pause_budget_until(int64_t used, int64_t budget,
	    int64_t crossing_ms, int64_t window_ms, int64_t now_ms);

#endif
