/*
 * render: the HTTP plane's bodies. It turns the agents' status and the
 * cached commit feed into the served bodies, redacts every string in them
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
/* Builds and publishes a snapshot, unless nothing but the clock changed
 * since the last one. Returns 1 published, 0 unchanged. */
int		 render_publish(struct render *, const struct agent_status *,
		    size_t n, const struct status_crew *, int64_t now_ms);

#endif
