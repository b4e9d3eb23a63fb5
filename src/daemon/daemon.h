/*
 * daemon: the composition root. One daemon per data directory (flock on
 * DATA/keeper.lock, holding the pid), one worker per crew member, all on
 * one uv loop. The daemon builds what the workers share (the loop, the
 * paths, the history, the state writer, the gate, the git queue, the
 * spawner, the redactor) and lends it to each; it re-reads the manifest
 * when it changes (uv_fs_event on its directory, and before every tick:
 * a worker's timer reports due and the daemon reloads, then starts the
 * tick), takes signals through uv_signal (SIGTERM/SIGINT drain, SIGHUP
 * re-reads) and serves keeper.sock (run-once, status, pause, resume).
 *
 * Whoever else wants to know what happens (the web plane, housekeeping)
 * registers an observer: it is told when the status changed, when a tick
 * ended, and of the daemon's life cycle, and reads what it needs through
 * the accessors below. The daemon knows neither of them.
 *
 * The same daemon serves `keeper run-once` without a daemon running:
 * daemon_open() with oneshot, then daemon_once() runs one watched tick
 * in-process.
 *
 * Ownership: daemon_open() allocates, daemon_free() releases; workers and
 * the crew belong to the daemon. Observers must be gone (their handles
 * closed) before daemon_free(), whose last uv_run closes what is left.
 * Pointers the accessors return are borrowed: the crew and the redactor
 * until the next reload (take a redact_ref() to keep the redactor), the
 * rest for the daemon's life.
 */
#ifndef KEEPER_DAEMON_H
#define KEEPER_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "crew.h"
#include "exitcode.h"
#include "outcome.h"
#include "status.h"

struct daemon;
struct gate;
struct settings;
struct redactor;
struct store;
struct worker;

struct daemon_opts {
	const char	*crew;		/* --crew FILE, or NULL */
	const char	*def;		/* --def FILE (singleton), or NULL */
	const char	*lifecycle;	/* --lifecycle FILE (singleton) */
	int64_t		 interval_ms;	/* --interval (singleton), 0 default */
	int64_t		 timeout_ms;	/* --timeout (singleton), 0 default */
	int64_t		 boot_grace_ms;	/* --boot-grace (singleton), when */
	int		 boot_grace_set;/* set: 0 is a valid grace */
	const char	*repo;		/* --repo DIR */
	const char	*data;		/* --data DIR (else KEEPER_DATA, XDG) */
	const char	*listen;	/* --listen ADDR:PORT */
	const char	*self_exe;	/* what children exec (keeper, with
					   exec-def); NULL: keeper-exec if
					   found, else /proc/self/exe */
	int		 oneshot;	/* run-once in-process: no socket, no
					   timers, no fs watch */
	const struct settings *settings; /* the environment, read once;
					   borrowed for the daemon's life */
};

/*
 * What an observer hears. CHANGED: some status changed (coalesce it);
 * SETTLED: a tick has just ended (publish now unless publishes are being
 * spaced); FLUSH: a client is about to be told what happened, so what is
 * shown must agree first (publish now, and wait). TICK_DONE: w's tick
 * ended (w is valid for the call). BUDGET: w has just paused itself for
 * its token budget (SPEC §5b; worker_status() says what it used). READY:
 * armed and serving (again, after RELOADING); STOPPING: draining.
 */
enum daemon_event {
	DAEMON_CHANGED,
	DAEMON_SETTLED,
	DAEMON_FLUSH,
	DAEMON_TICK_DONE,
	DAEMON_BUDGET,
	DAEMON_READY,
	DAEMON_RELOADING,
	DAEMON_STOPPING
};

typedef void (*daemon_observer_fn)(struct daemon *, enum daemon_event,
	    struct worker *, void *arg);

/* Parse the config, take the lock, open the store, mark interrupted runs
 * and kill their leftovers, create the workers. 0, or an exit status with
 * a message in err (EXIT_CONFIG, EXIT_LOCKED, 1). */
int	 daemon_open(const struct daemon_opts *, struct daemon **, char *err,
	    size_t errlen);
/* Register an observer (at most a few: the web plane, housekeeping);
 * fn NULL removes the one with this arg. */
void	 daemon_observe(struct daemon *, daemon_observer_fn, void *arg);
/* Arm timers, watch the manifest, serve keeper.sock and signals; returns
 * the exit status after a drain. */
int	 daemon_serve(struct daemon *);
/* One watched tick of agent name in-process; returns the run-once exit
 * status (SPEC §9). out gets the printed lines. */
int	 daemon_once(struct daemon *, const char *name, void (*out)(
	    const char *line, void *), void *arg);
void	 daemon_free(struct daemon *);

/* Start a tick of w now, as if its timer had fired: the manifest is
 * re-read first (housekeeping's repair of a missed timer). */
void	 daemon_tick_now(struct daemon *, struct worker *);
/* Housekeeping's care of the history (each second): a file a write found
 * damaged is moved aside and a new one started (1), rows a failed write
 * kept are written again once writes work (0); -1 when a new history
 * cannot be started. */
int	 daemon_upkeep_store(struct daemon *);
/* Tell the observers that something they show changed (DAEMON_CHANGED):
 * for a change the daemon cannot see, such as housekeeping's counts. */
void	 daemon_changed(struct daemon *);

/*
 * The fleet's hooks (SPEC §12, role.h). fence: from now on a tick starts,
 * a run spawns and a commit is pushed only while f is live, and every
 * commit goes to origin; a run-once asked while it is not goes to fwd
 * (NULL: refused), which answers the client (ctl_send_text()). role and
 * active (JSON of the active keeper, or NULL) are what status shows.
 * standby: stop every timer, kill the runs in flight (they end killed,
 * their work on partial refs) and end the ticks waiting at the gate.
 */
struct ctl_client;
typedef void (*daemon_forward_fn)(struct daemon *, struct ctl_client *,
	    const char *name, void *arg);
struct fence;
void	 daemon_fence(struct daemon *, const struct fence *,
	    daemon_forward_fn fwd, void *arg);
void	 daemon_set_role(struct daemon *, const char *role,
	    const char *active);
void	 daemon_standby(struct daemon *);
/* The fence installed, or NULL (borrowed). */
const struct fence *daemon_fence_of(const struct daemon *);
struct statesync *daemon_statesync(struct daemon *);

/* Accessors. */
uv_loop_t	*daemon_loop(struct daemon *);
const char	*daemon_data(const struct daemon *);
const char	*daemon_repo(const struct daemon *);
const char	*daemon_listen(const struct daemon *);
const struct settings *daemon_settings(const struct daemon *);
long		 daemon_pid(const struct daemon *);
int		 daemon_draining(const struct daemon *);
const struct crew *daemon_crew(const struct daemon *);
struct redactor	*daemon_redactor(struct daemon *);
struct store	*daemon_store(struct daemon *);
struct gate	*daemon_gate(struct daemon *);
/* The runs in flight as /_runs/ID shows them (runlive.h; thread-safe). */
struct runlive	*daemon_runlive(struct daemon *);
size_t		 daemon_nworkers(const struct daemon *);
struct worker	*daemon_worker(struct daemon *, size_t i);
/* The crew-wide facts status shows (name, manifest error, boot, grace);
 * sentinel is left NULL for the caller. */
void		 daemon_status_crew(const struct daemon *, struct status_crew *);

/* run-once exit status for an outcome (SPEC §9). */
int	 daemon_exit_for(enum outcome);

/* The agenda (agenda.h) of every worker from now to until_ms. */
json_t	*daemon_agenda(struct daemon *, int64_t now_ms, int64_t until_ms);

#endif
