/*
 * pause: when a paused member ticks again (see pause.h).
 */
#include <stdio.h>
#include <string.h>

#include "pause.h"

int
pause_active(const struct pause *p, int64_t now)
{
	return p->on && (p->until_ms == 0 || now < p->until_ms);
}

void
pause_set(struct pause *p, int64_t until_ms, const char *why)
{
	p->on = 1;
	p->until_ms = until_ms > 0 ? until_ms : 0;
	snprintf(p->why, sizeof(p->why), "%s", why ? why : "");
	/* One line in the pause file, and one in a status table. */
	for (char *c = p->why; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
}

int
pause_is_budget(const struct pause *p)
{
	return p->on && strcmp(p->why, PAUSE_BUDGET_WHY) == 0;
}

int64_t
pause_next_due(int64_t due, int64_t step, int64_t from)
{
	int64_t k;

	if (due >= from)
		return due;
	if (step <= 0)
		return from;
	k = (from - due + step - 1) / step;
	if (k > (INT64_MAX / 4 - due) / step)
		return INT64_MAX / 4;
	return due + k * step;
}

int64_t
pause_budget_until(int64_t used, int64_t budget, int64_t crossing,
    int64_t window, int64_t now)
{
	int64_t t;

	if (budget <= 0 || used < budget)
		return 0;
	t = crossing + window;
	/* Counted in the window, so it ended after now - window; a clock
	 * stepped back could say otherwise: wait at least a moment. */
	return t > now ? t : now + 1;
}
