/*
 * sentinel: pure detection of a runtime that went wrong, plus the
 * test-only fault switch. Repairs are the daemon's (it owns the timers,
 * the children and the gate).
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sentinel.h"

const char *
sentinel_kind_name(enum sentinel_kind k)
{
	switch (k) {
	case SENT_MISSED_TIMER:
		return "missed_timer";
	case SENT_OVERDUE_RUN:
		return "overdue_run";
	case SENT_LEAKED_SLOT:
		return "leaked_slot";
	case SENT_LOST_SLOT:
		return "lost_slot";
	case SENT_NKINDS:
		break;
	}
	return "?";
}

static void
add(struct sentinel_finding *out, size_t max, size_t *n,
    struct sentinel_finding f)
{
	if (*n < max)
		out[*n] = f;
	(*n)++;
}

size_t
sentinel_check(const struct sentinel_worker *w, size_t nw,
    const struct sentinel_gate *g, int64_t now_ms, int64_t grace_ms,
    struct sentinel_finding *out, size_t max)
{
	size_t n = 0;
	int holders = 0;

	for (size_t i = 0; i < nw; i++) {
		if (w[i].idle && w[i].due_ms > 0 &&
		    now_ms - w[i].due_ms > grace_ms)
			add(out, max, &n, (struct sentinel_finding){
			    .kind = SENT_MISSED_TIMER, .worker = i,
			    .late_ms = now_ms - w[i].due_ms });
		if (w[i].running && w[i].deadline_ms > 0 &&
		    now_ms - w[i].deadline_ms > grace_ms)
			add(out, max, &n, (struct sentinel_finding){
			    .kind = SENT_OVERDUE_RUN, .worker = i,
			    .late_ms = now_ms - w[i].deadline_ms });
		holders += w[i].holds_slot != 0;
	}
	if (g != NULL && g->slots > 0) {
		if (g->used > holders)
			add(out, max, &n, (struct sentinel_finding){
			    .kind = SENT_LEAKED_SLOT,
			    .slots = g->used - holders });
		else if (g->used < holders)
			add(out, max, &n, (struct sentinel_finding){
			    .kind = SENT_LOST_SLOT,
			    .slots = holders - g->used });
	}
	return n;
}

static char faults[256];	/* KEEPER_TEST_FAULT, as the daemon read it */

void
sentinel_faults(const char *spec)
{
	snprintf(faults, sizeof(faults), "%s", spec ? spec : "");
}

/* Each named fault fires once per process. */
int
sentinel_fault(const char *name)
{
	static char fired[8][32];
	static size_t nfired;
	const char *env = faults, *p;
	size_t len = strlen(name);

	if (env == NULL || *env == '\0')
		return 0;
	for (p = env; (p = strstr(p, name)) != NULL; p += len)
		if ((p == env || p[-1] == ',') && (p[len] == '\0' ||
		    p[len] == ','))
			break;
	if (p == NULL)
		return 0;
	for (size_t i = 0; i < nfired; i++)
		if (strcmp(fired[i], name) == 0)
			return 0;
	if (nfired < 8 && len < sizeof(fired[0]))
		memcpy(fired[nfired++], name, len + 1);
	return 1;
}
