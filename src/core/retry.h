/*
 * retry: the pure decision of SPEC §5b's retries. After a failed or
 * killed run a member with :RETRY: N runs again, up to N times, at
 * RETRY-DELAY, twice that, four times that... after the end of each
 * failed run; done or no_work ends the series, and a regular tick that
 * comes due first replaces it. Retries are not no-work backoff: the
 * worker leaves the streak and the regular due time alone for a retry's
 * tick, and this module never sees either.
 *
 * Nothing here reads a clock: the caller passes when the run ended and
 * when the regular tick is due. Times in unix ms; no allocation.
 */
#ifndef KEEPER_RETRY_H
#define KEEPER_RETRY_H

#include <stdint.h>

#include "outcome.h"

struct retry_params {
	int	 max;		/* :RETRY: N, 0 none */
	int64_t	 delay_ms;	/* :RETRY-DELAY: D */
};

struct retry_plan {
	int	 attempt;	/* the next tick is retry 1..max; 0: no retry */
	int64_t	 due_ms;	/* when it is due (0 without one) */
};

/* The delay before retry number attempt (1-based): D * 2^(attempt-1),
 * saturating. */
int64_t	retry_delay(const struct retry_params *, int attempt);
/*
 * After a tick with outcome o that ended at ended_ms, made retries
 * already (0 when the tick was not itself a retry): a retry when o is
 * failed or killed, fewer than max were made, and it comes due before
 * regular_due_ms (0: no regular tick is scheduled).
 */
void	retry_next(const struct retry_params *, enum outcome o, int made,
	    int64_t ended_ms, int64_t regular_due_ms, struct retry_plan *);

#endif
