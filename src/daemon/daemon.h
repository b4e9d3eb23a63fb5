/*
 * daemon: the event loop and everything it owns. One daemon per data
 * directory (flock on DATA/keeper.lock, holding the pid), one worker per
 * crew member, all on one uv loop; the manifest is hot-reloaded
 * (uv_fs_event on its directory plus a re-read check on every tick);
 * signals arrive through uv_signal (SIGTERM/SIGINT drain, SIGHUP re-reads);
 * keeper.sock serves the CLI (run-once, status).
 *
 * The same struct serves `keeper run-once` without a daemon: daemon_open()
 * then daemon_once() runs one watched tick in-process.
 *
 * Ownership: daemon_open() allocates, daemon_free() releases; workers and
 * the crew belong to the daemon. The struct is public so that the worker
 * and the HTTP plane can read it on the loop thread; only daemon.c and
 * worker.c write it.
 */
#ifndef KEEPER_DAEMON_H
#define KEEPER_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <uv.h>

#include "crew.h"
#include "gate.h"
#include "status.h"
#include "store.h"

#define EXIT_LOCKED	75	/* EX_TEMPFAIL: another daemon holds DATA */

struct worker;
struct daemon;

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
};

/* A file's identity, to notice a change without reparsing. */
struct file_sig {
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	int64_t		 mtime_ns;
	int		 ok;
};

/* sync: the snapshot must be out when the call returns (a client is
 * about to be told what it shows); else it may be rendered later. */
typedef void (*daemon_status_cb)(struct daemon *, int sync, void *arg);

struct daemon {
	uv_loop_t	*loop;
	struct daemon_opts opts;
	int		 singleton;
	char		*manifest;	/* absolute crew path, or NULL */
	struct file_sig	 manifest_sig;
	struct crew	*crew;		/* the last good manifest */
	struct redactor	*redactor;	/* built-ins + the crew's #+REDACT: */
	char		*crew_error;	/* why the current file is not used */
	char		*repo;		/* absolute tenant repo */
	char		*data;		/* absolute data dir */
	char		*self_exe;
	int		 exec_lean;	/* self_exe is keeper-exec, not keeper */
	struct child_spawner *spawner;	/* forks runs (child.h), or NULL */
	int		 lock_fd;
	struct store	*store;
	struct statesync *sync;		/* state files, group-committed */
	struct repo	*git;		/* the tenant repo, opened by the first
					   git job (worker.c), or NULL */
	struct gate	 git_gate;	/* one git job on the pool (worker.c) */
	char		*dbpath;
	uv_work_t	 ckpt;		/* a WAL checkpoint on the pool */
	int		 ckpt_busy;
	struct store_ckpt *ckpt_conn;	/* its connection, pool-only */
	struct gate	 gate;
	struct worker	**workers;	/* manifest order; removed-but-busy
					   ones last */
	size_t		 nworkers;
	int64_t		 boot_ms;
	int		 draining;
	int		 exit_code;
	long		 pid;

	uv_timer_t	 publish;	/* coalesces status-changed */
	int		 publish_pending;
	uint64_t	 publish_last;	/* uv_now() when the last one ended */
	uint64_t	 publish_gap;	/* ms to leave after it (adaptive) */
	uint64_t	 render_gap;	/* the part the plane's renders ask */
	daemon_status_cb status_cb;	/* the HTTP plane hooks here */
	void		*status_arg;

	struct service	*svc;		/* service.c: notify, alerts, cron */

	uv_fs_event_t	 watch;
	uv_timer_t	 settle;	/* manifest re-read after writes settle */
	int		 watching;
	uv_signal_t	 sig_term, sig_int, sig_hup;
	uv_pipe_t	 ctl;		/* keeper.sock */
	int		 ctl_open;
	char		*ctl_path;
};

/* Parse the config, take the lock, open the store, mark interrupted runs
 * and kill their leftovers, create the workers. 0, or an exit status with
 * a message in err (EXIT_CONFIG, EXIT_LOCKED, 1). */
int	 daemon_open(const struct daemon_opts *, struct daemon **, char *err,
	    size_t errlen);
/* Arm timers, watch the manifest, serve keeper.sock and signals; returns
 * the exit status after a drain. */
int	 daemon_serve(struct daemon *);
/* One watched tick of agent name in-process; returns the run-once exit
 * status (SPEC §9). out gets the printed lines. */
int	 daemon_once(struct daemon *, const char *name, void (*out)(
	    const char *line, void *), void *arg);
void	 daemon_free(struct daemon *);

/* Re-read the manifest if its file changed (force: even if not). */
void	 daemon_reload(struct daemon *, int force);
/* Ask for a coalesced status publish: at once when the last one is
 * long past, else after an adaptive gap (daemon.c). flush publishes now
 * and waits for it, so what a client is told has happened is visible. */
void	 daemon_status_changed(struct daemon *);
void	 daemon_status_flush(struct daemon *);
/* Publish now if the gap has passed, else as daemon_status_changed(). */
void	 daemon_status_due(struct daemon *);
/* What rendering the last publish cost (ns), wherever it ran: the gap to
 * the next one grows to match (daemon.c). */
void	 daemon_status_cost(struct daemon *, uint64_t ns);
void	 daemon_set_status_cb(struct daemon *, daemon_status_cb, void *);
struct worker *daemon_find(struct daemon *, const char *name);
/* The data dir the options name (--data, KEEPER_DATA, XDG default for
 * title). Caller frees. */
char	*daemon_data_dir(const char *opt, const char *title);
/* The pid holding DATA/keeper.lock, or 0 when none. */
long	 daemon_lock_holder(const char *data);

/* worker.c calls this when a tick has ended (the worker may be freed). */
void	 daemon_tick_done(struct daemon *, struct worker *);

/* run-once exit status for an outcome (SPEC §9). */
int	 daemon_exit_for(enum outcome);
/* The live status document the control socket serves (jansson). */
struct json_t;
struct json_t *daemon_status_json(struct daemon *);
/* DATA/keeper.sock, or a /proc/self/fd alias when too long for sun_path
 * (*dfd is then an open directory fd the caller closes, else -1). */
char	*daemon_sock_path(const char *data, int *dfd);

void	 file_sig_get(const char *path, struct file_sig *);
int	 file_sig_eq(const struct file_sig *, const struct file_sig *);

#endif
