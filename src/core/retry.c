/*
 * retry: when a failed run is tried again (see retry.h).
 */
#include "retry.h"

#define RETRY_DELAY_MAX	(INT64_MAX / 4)

int64_t
retry_delay(const struct retry_params *p, int attempt)
{
	int64_t d = p->delay_ms > 0 ? p->delay_ms : 0;

	for (int i = 1; i < attempt && d < RETRY_DELAY_MAX; i++)
		d = d > RETRY_DELAY_MAX / 2 ? RETRY_DELAY_MAX : d * 2;
	return d;
}

void
retry_next(const struct retry_params *p, enum outcome o, int made,
    int64_t ended_ms, int64_t regular_due_ms, struct retry_plan *out)
{
	int64_t d, at;

	out->attempt = 0;
	out->due_ms = 0;
	if (o != OUTCOME_FAILED && o != OUTCOME_KILLED)
		return;
	if (made < 0)
		made = 0;
	if (made >= p->max || p->delay_ms <= 0)
		return;
	d = retry_delay(p, made + 1);
	at = ended_ms > RETRY_DELAY_MAX - d ? RETRY_DELAY_MAX : ended_ms + d;
	/* The regular tick comes first: it replaces the series. */
	if (regular_due_ms > 0 && at >= regular_due_ms)
		return;
	out->attempt = made + 1;
	out->due_ms = at;
}
