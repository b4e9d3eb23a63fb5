/*
 * render: the HTTP plane's bodies. It turns the agents' status, their
 * metrics and the cached commit feed into the served bodies, redacts every string in them
 * (the one place served text is redacted, SPEC §11) and publishes them as
 * one snapshot. Building a snapshot is in-memory JSON work only; one
 * render is used by one thread at a time (web.c renders a big crew on a
 * thread of its own, from a copy of the statuses).
 *
 * Ownership: render_new() allocates, render_free() releases; the store is
 * borrowed and must outlive the render.
 */
#ifndef KEEPER_RENDER_H
#define KEEPER_RENDER_H

#include <jansson.h>

#include "metrics.h"
#include "snapshot.h"
#include "status.h"

struct render;

struct render	*render_new(struct snapshot_store *, status_redact_fn,
		    void *redact_arg);
void		 render_free(struct render *);
/* Replaces the cached commit feed for /_changes (a JSON array; stolen).
 * Refreshed after each commit, never per request. */
void		 render_set_commits(struct render *, json_t *commits);
void		 render_set_redact(struct render *, status_redact_fn, void *arg);
/* What a snapshot carries beside the agents' status: their /metrics
 * series (one per agent, in the same order), the crew's, and the
 * /_timeline body as built (tally.h). version moves whenever any of it
 * changed. All borrowed for the call. */
struct render_more {
	const struct metrics_agent *metrics;
	const struct metrics_crew *crew;
	const char	*timeline;
	size_t		 timeline_len;
	const char	*agenda;	/* /_agenda's body, or NULL */
	size_t		 agenda_len;
	uint64_t	 version;	/* of all of these */
};

/* Builds and publishes a snapshot, unless nothing but the clock changed
 * since the last one. more may be NULL (no metrics, no timeline).
 * Returns 1 published, 0 unchanged. */
int		 render_publish(struct render *, const struct agent_status *,
		    size_t n, const struct status_crew *,
		    const struct render_more *, int64_t now_ms);

#endif
