/*
 * worker: one crew member's ticks. A uv_timer on the daemon's loop fires
 * a tick, which is a fixed sequence of named stages (worker.c):
 *
 *   stage_last_run   write the current time to the last-run file
 *   stage_reload     re-read the manifest and the lifecycle spec
 *   stage_decide     lifecycle: run, dream, gated or invalid
 *   stage_gate       take a concurrency slot (FIFO, may wait)
 *   stage_run        run the def in a child process group
 *   stage_outcome    classify the result, give the slot back
 *   stage_commit     the git hook (thread pool)
 *   stage_persist    step and save the lifecycle position
 *   stage_record     close the history row
 *   stage_publish    update status, tell watchers and the HTTP plane
 *   stage_schedule   arm the timer for the next tick
 *
 * One tick per worker at a time: a run-once that finds the worker mid-tick
 * is refused.
 *
 * Ownership: the daemon creates and frees workers (worker_free() closes
 * the timer; memory goes in its close callback). Strings filled into
 * struct agent_status are borrowed from the worker until its next tick
 * stage runs on the loop.
 */
#ifndef KEEPER_WORKER_H
#define KEEPER_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "crew.h"
#include "outcome.h"
#include "status.h"

struct daemon;
struct worker;

/* Someone watching a tick (a run-once client). on_line gets event lines
 * ("step-begin NAME", ...); on_end the outcome, once. */
struct worker_watch {
	void	(*on_line)(struct worker_watch *, const char *kind,
		    const char *text);
	void	(*on_end)(struct worker_watch *, struct worker *,
		    enum outcome, const char *summary);
	struct worker_watch *next;
	void	*arg;
};

struct worker *worker_new(struct daemon *, const struct crew_member *,
	    size_t index);
/* Arm the first tick after boot (SPEC §5 boot formula). grace 0 and
 * index 0 for a member added by a reload. */
void	 worker_arm_first(struct worker *, int64_t now_ms, int boot);
/* Start a tick now. trigger: "schedule", "run-once", ... Returns 0, or -1
 * when the worker is mid-tick (nothing started). w may watch it. */
int	 worker_tick(struct worker *, const char *trigger,
	    struct worker_watch *);
void	 worker_unwatch(struct worker *, struct worker_watch *);
int	 worker_busy(const struct worker *);
const char *worker_name(const struct worker *);
/* The member this worker runs now (NULL once removed). */
void	 worker_rebind(struct worker *, const struct crew_member *,
	    size_t index);
/* Removed from the manifest: stop after the current tick, then free. */
void	 worker_remove(struct worker *);
int	 worker_removed(const struct worker *);
/* Stop ticking (drain): no new tick is armed; a running one finishes. */
void	 worker_stop(struct worker *);
/* Drain: a tick still waiting at the gate ends now, recorded as
 * interrupted (nothing ran, the position holds). May free w. */
void	 worker_unqueue(struct worker *);
/* Kill the run in flight, if any (it ends as failed and is recorded). */
void	 worker_abort(struct worker *);
void	 worker_status(const struct worker *, struct agent_status *);
void	 worker_free(struct worker *);

/* service.c hooks. The sentinel's facts about this worker; a run past
 * its deadline killed as a timeout; the last run's id (NULL none). */
struct sentinel_worker;
void	 worker_sentinel_facts(const struct worker *,
	    struct sentinel_worker *);
void	 worker_expire(struct worker *);
const char *worker_run_id(const struct worker *);

#endif
