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
 *   stage_schedule   arm the timer for the next tick: the regular one, or
 *                    a retry of a failed run (retry.h), past any pause;
 *                    a calendar member's next fire (firing.h, SPEC §5a)
 *
 * One tick per worker at a time: a run-once that finds the worker mid-tick
 * is refused.
 *
 * The operator's hands (SPEC §5b): a paused worker starts no tick but a
 * run-once; its fires in the pause are skipped (pause.h), and the tick in
 * flight when it was paused finishes. A member with a token budget counts
 * its runs' tokens from the history before each tick and after each run;
 * spent, it pauses itself until the window allows and reports it
 * (env->budget) for an alert. The gate's queue is ordered by the member's
 * priority, with its base delay as the bound of its wait (gate.h).
 *
 * A worker knows nothing of the daemon. What it shares with the other
 * workers (the loop, the paths, the history, the state writer, the gate,
 * the git queue, the spawner) comes borrowed in a struct worker_env, and
 * it reports through the env's callbacks: its timer is due (the daemon
 * re-reads the manifest, then starts the tick), its status changed, a tick
 * ended. The manifest is never re-read from inside a tick.
 *
 * Ownership: the daemon creates and frees workers (worker_free() closes
 * the timer; memory goes in its close callback). The env, the crew and
 * the member are borrowed: the crew and member until the next
 * worker_rebind(); the redactor is referenced (redact_ref()). Strings
 * filled into struct agent_status are borrowed from the worker until its
 * next tick stage runs on the loop.
 */
#ifndef KEEPER_WORKER_H
#define KEEPER_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "agenda.h"
#include "crew.h"
#include "outcome.h"
#include "status.h"

struct worker;
struct child;
struct child_cbs;
struct child_opts;
struct child_spawner;
struct firing_zones;
struct fence;
struct gate;
struct gitq;
struct runlive;
struct redactor;
struct sentinel_worker;
struct statesync;
struct store;

/* How a run is started and stopped: child.h's functions, or a test's. */
struct worker_runner {
	int	(*start)(uv_loop_t *, const struct child_opts *,
		    const struct child_cbs *, struct child **, char *err,
		    size_t errlen);
	void	(*kill)(struct child *);
	void	(*expire)(struct child *);
	void	(*free)(struct child *);
};

/* How urgently a status change wants publishing (daemon.h). */
enum worker_news { WORKER_CHANGED, WORKER_SETTLED };

struct worker_env {
	uv_loop_t		*loop;
	const char		*data;		/* absolute data directory */
	const char		*repo;		/* absolute tenant work tree */
	int			 singleton;	/* state files without NAME */
	int			 oneshot;	/* run-once in-process: never arm */
	long			 pid;		/* the daemon's, in history rows */
	struct store		*store;		/* or NULL */
	struct statesync	*sync;
	struct gate		*gate;		/* the crew's concurrency gate */
	struct gitq		*git;
	struct runlive		*live;		/* runs in flight, or NULL */
	struct child_spawner	*spawner;	/* or NULL: spawn each run */
	const char		*exec;		/* the def interpreter */
	int			 exec_lean;	/* exec is keeper-exec */
	int			 direct;	/* run a one-step shell def as
						   that shell (keeper-exec --sh) */
	int			 gitops, gitpush; /* KEEPER_GITOPS, KEEPER_GITPUSH */
	/* Calendar members' zones (firing.h), shared; NULL: each worker
	 * opens its own, in the machine's zone from tz ($TZ, or NULL). */
	struct firing_zones	*zones;
	const char		*tz;
	/* With a lease (SPEC §12; NULL without): a run starts only while
	 * the fence is live (else its tick ends interrupted, nothing ran),
	 * and a done run's commit counts only once pushed to origin. */
	const struct fence	*fence;
	/* The wall clock in unix ms (NULL: the real one) and how runs are
	 * started (NULL: child.h): what a test fakes. */
	int64_t			(*now)(void *arg);
	const struct worker_runner *runner;

	/* Reports. due: the worker's timer fired (the daemon starts the
	 * tick with worker_tick(), or frees a removed worker). changed: its
	 * status changed; WORKER_SETTLED when a tick has just ended (publish
	 * now unless snapshots are being spaced). done: a tick ended; w may
	 * be freed inside. live_runs: how many runs are in flight now.
	 * budget (may be NULL): the worker has just paused itself for its
	 * token budget (worker_status() says how much it used). */
	void			(*due)(struct worker *, void *arg);
	void			(*changed)(struct worker *, enum worker_news,
				    void *arg);
	void			(*done)(struct worker *, void *arg);
	size_t			(*live_runs)(void *arg);
	void			(*budget)(struct worker *, void *arg);
	void			*arg;
};

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

struct worker *worker_new(const struct worker_env *, const struct crew *,
	    const struct crew_member *, size_t index, struct redactor *);
/* Arm the first tick after boot (SPEC §5 boot formula). grace 0 and
 * index 0 for a member added by a reload. A calendar member arms its
 * next fire, or at boot a catch-up after BOOT-GRACE (SPEC §5a). */
void	 worker_arm_first(struct worker *, int64_t now_ms, int boot);
/* Start a tick now. trigger: "schedule", "run-once", ... Returns 0, -1
 * when the worker is mid-tick (nothing started), or 1 when a tick other
 * than a run-once was skipped because the member is paused (its timer is
 * armed past the pause). w may watch it. A "schedule" tick the worker
 * armed as a retry is recorded as "retry". */
int	 worker_tick(struct worker *, const char *trigger,
	    struct worker_watch *);
void	 worker_unwatch(struct worker *, struct worker_watch *);
int	 worker_busy(const struct worker *);
/* A run is in flight (its child exists). */
int	 worker_running(const struct worker *);
const char *worker_name(const struct worker *);
/* The crew, member (NULL: removed from the manifest; it stops after its
 * current tick) and redactor this worker runs with from now on. */
void	 worker_rebind(struct worker *, const struct crew *,
	    const struct crew_member *, size_t index, struct redactor *);
int	 worker_removed(const struct worker *);
/* The realtime clock was set (clockwatch.h): an idle calendar member
 * re-plans its fires on the wall clock (SPEC §5a); others ignore it. */
void	 worker_clock_set(struct worker *);
/* The member's entry for the agenda (agenda.h): its coming fires or
 * ticks. Strings and the zone are borrowed from the worker until its
 * next tick stage or rebind. 0 for a removed member (no entry). */
int	 worker_agenda_src(struct worker *, struct agenda_src *);
/* Stop ticking (drain): no new tick is armed; a running one finishes. */
void	 worker_stop(struct worker *);
/* Drain: a tick still waiting at the gate ends now, recorded as
 * interrupted (nothing ran, the position holds). May free w. */
void	 worker_unqueue(struct worker *);
/* Kill the run in flight, if any (it ends as failed and is recorded). */
void	 worker_abort(struct worker *);
void	 worker_status(const struct worker *, struct agent_status *);

/*
 * What the worker's last finished tick came to, for the observers of
 * DAEMON_TICK_DONE (metrics, the dashboard's day, result delivery):
 * outcome OUTCOME_NONE before the first. Strings are borrowed until the
 * worker's next tick starts.
 */
struct worker_last {
	const char	*run_id;	/* "" when no history row was opened */
	const char	*trigger;	/* "schedule", "run-once", ... */
	enum outcome	 outcome;
	int64_t		 scheduled_ms;	/* when the tick was due */
	int64_t		 started_ms;	/* when the run began; 0 none ran */
	int64_t		 ended_ms;	/* when the tick finished */
	int64_t		 duration_ms;	/* the run's, when one ran */
	long		 tokens_prompt;	/* -1 unknown */
	long		 tokens_completion;
	const char	*commit_id;	/* this tick's commit, or NULL */
	const char	*error;		/* why it was not done, or NULL */
	const char	*result;	/* the run's output (redacted), or NULL
					   when nothing ran */
	unsigned	 missed;	/* fires this tick recorded as missed
					   (SPEC 5a: the calendar's to count) */
};
void	 worker_last(const struct worker *, struct worker_last *);
/* Pause the member (SPEC §5b) until until_ms (0: until resumed), for why
 * (may be NULL); kept in DATA/pause-NAME. A tick in flight finishes. */
void	 worker_pause(struct worker *, int64_t until_ms, const char *why);
/* End the pause, if any (0 when there was none, else 1); the next tick
 * is the cadence's next after now. */
int	 worker_resume(struct worker *);
void	 worker_free(struct worker *);
/* The fleet's hands (SPEC §12). hold: stop the timer, without stopping
 * the worker (a standby arms nothing; a tick in flight may still arm it,
 * and the daemon's fence refuses that tick). adopt: the state files were
 * replaced by the crew's state from etcd: read them again (streak: the
 * no-work streak it carried, -1 none) and arm the next tick from them,
 * mid-cadence. A busy worker keeps its own. */
void	 worker_hold(struct worker *);
void	 worker_adopt(struct worker *, int64_t now_ms, long streak);

/* Housekeeping's hooks. The sentinel's facts about this worker; a run past
 * its deadline killed as a timeout; the last run's id (NULL none). */
void	 worker_sentinel_facts(const struct worker *,
	    struct sentinel_worker *);
void	 worker_expire(struct worker *);
const char *worker_run_id(const struct worker *);

#endif
