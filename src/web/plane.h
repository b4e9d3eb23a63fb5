/*
 * plane: the daemon's side of the HTTP plane. It turns the agents' status
 * and the cached commit feed into the three served bodies, redacts every
 * string in them (the one place served text is redacted, SPEC §11) and
 * publishes them as one snapshot. Building a snapshot is in-memory JSON
 * work only; one plane is used by one thread at a time (the daemon glue
 * renders a big crew on a thread of its own, from a copy of the
 * statuses).
 *
 * Ownership: plane_new() allocates, plane_free() releases; the store is
 * borrowed and must outlive the plane.
 */
#ifndef KEEPER_PLANE_H
#define KEEPER_PLANE_H

#include <jansson.h>

#include "snapshot.h"
#include "status.h"

struct plane;

struct plane	*plane_new(struct snapshot_store *, status_redact_fn,
		    void *redact_arg);
void		 plane_free(struct plane *);
/* Replaces the cached commit feed for /_changes (a JSON array; stolen).
 * Refreshed after each commit, never per request. */
void		 plane_set_commits(struct plane *, json_t *commits);
void		 plane_set_redact(struct plane *, status_redact_fn, void *arg);
/* Builds and publishes a snapshot, unless nothing but the clock changed
 * since the last one. Returns 1 published, 0 unchanged. */
int		 plane_publish(struct plane *, const struct agent_status *,
		    size_t n, const struct status_crew *, int64_t now_ms);

/*
 * The daemon glue. plane_start() binds the daemon's --listen address,
 * hooks the daemon's status-changed callback and starts its timers;
 * plane_ready() writes DATA/http.addr once the daemon is fully up (its
 * signal handlers installed), so whoever waits for that file may signal
 * it; plane_stop() undoes it all (after the loop has stopped; the struct
 * is freed once its handles have closed). Loop thread only.
 */
struct daemon;
struct plane_web;

int		 plane_start(struct daemon *, struct plane_web **, char *err,
		    size_t errlen);
void		 plane_ready(struct plane_web *);
void		 plane_stop(struct plane_web *);

#endif
