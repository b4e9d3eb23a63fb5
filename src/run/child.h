/*
 * child: one run of an agent def in a forked child that leads its own
 * process group (SPEC §6). The child is the def interpreter (`keeper-exec
 * DEF --state S`, forked by the zygote when there is one, else spawned);
 * the worker builds argv and env.
 *
 * stdout (the def's result) and stderr (the run log) are captured into
 * bounded buffers: a head and a tail of CHILD_HEAD/CHILD_TAIL bytes and a
 * total count, so no amount of output moves keeper's memory. fd 3 is the
 * event pipe: one line per event (`step-begin NAME`, `step-end NAME STATUS
 * MS`, `step TEXT`, `thought TEXT`, `usage P C T`: the protocol is
 * event.h's), handed to on_event as they arrive.
 *
 * The wall clock (timeout_ms) kills the run's whole tree with SIGKILL: its
 * group and every descendant, in whatever session (child.c says how), and
 * every process that still carries the run's KEEPER_RUN_ID and
 * KEEPER_DATA in its environment. When the def exits on its own, whatever
 * is left of its group, and whatever it left outside it (handed to us as
 * child subreaper, child_reaper_start()), is killed too: a tick is over
 * when its def is.
 *
 * Ownership: child_start() allocates; on_exit is called once, after which
 * the caller calls child_free() (handles close asynchronously and the
 * memory goes in the last close callback). child_opts is copied and may
 * be freed after child_start() returns.
 */
#ifndef KEEPER_CHILD_H
#define KEEPER_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "outcome.h"

#define CHILD_HEAD	(64 * 1024)
#define CHILD_TAIL	(64 * 1024)

struct child;
struct child_spawner;

struct child_capture {
	char		*head;		/* first bytes, NUL-terminated */
	size_t		 hlen;
	char		*tail;		/* ring of the last bytes */
	size_t		 tpos;
	int		 twrapped;
	uint64_t	 total;
};

struct child_result {
	int		 exited;	/* exited normally */
	int		 exit_code;
	int		 term_signal;	/* 0 unless killed by a signal */
	int		 timed_out;	/* keeper killed it at the deadline */
	int		 killed;	/* keeper killed it (child_kill(), the
					   deadline included) */
	int64_t		 duration_ms;
	int64_t		 exited_at_ms;	/* unix ms when it was reaped; 0 never
					   started */
	struct child_capture out, err;
	long		 tokens_prompt, tokens_completion;	/* -1 none */
	int		 spawn_error;	/* errno when it never started */
};

struct child_opts {
	const char	*file;		/* what to exec */
	char		**argv;
	char		**env;
	const char	*cwd;
	int64_t		 timeout_ms;	/* 0 = none */
	const char	*run_id;	/* the run's KEEPER_RUN_ID ... */
	const char	*data;		/* ... and KEEPER_DATA, for the sweep */
	struct child_spawner *spawner;	/* fork argv there when it can (file
					   is then keeper-exec); NULL: spawn */
};

struct child_cbs {
	/* The child exists; at_ms is when it came to exist (unix ms, taken
	 * by the zygote or the pool thread that made it: the loop may learn
	 * of it later). Not called when the spawn failed (on_exit then
	 * reports spawn_error). */
	void	(*on_spawn)(struct child *, pid_t pid, int64_t at_ms,
		    void *arg);
	/* kind is the first word of the event line, text the rest. */
	void	(*on_event)(struct child *, const char *kind, const char *text,
		    void *arg);
	void	(*on_exit)(struct child *, const struct child_result *,
		    void *arg);
	/* Optional: the run's stdout as it is read, besides its capture
	 * (the daemon scans a shell it runs directly for telemetry). */
	void	(*on_out)(struct child *, const char *buf, size_t len,
		    void *arg);
	void	*arg;
	/* Optional: each piece of the run's standard error (its log) as it
	 * is read, at offset bytes into the stream, before it is kept. */
	void	(*on_log)(struct child *, const char *buf, size_t len,
		    uint64_t offset, void *arg);
	/* Optional: the run is about to be killed (timeout, drain, abort),
	 * its process still there to read from. */
	void	(*before_kill)(struct child *, pid_t pid, void *arg);
};

/*
 * Make this process a child subreaper and start killing and reaping the
 * orphans runs leave (child.c): call once, on the loop that starts runs,
 * before the first. -1 with errno when the kernel refuses (then what a
 * run leaves behind outside its tree may outlive it). child_reaper_stop()
 * kills what is left and closes its handle, before the loop's last run.
 */
int	 child_reaper_start(uv_loop_t *);
void	 child_reaper_stop(void);

/*
 * Runs forked by a `FILE --zygote` (zygote.h) on this loop, asked without
 * waiting. A zygote that dies is started again for a later run, at most
 * once a second; runs it had not answered fail to start (it may have
 * forked one, which must not run twice). NULL when the zygote cannot
 * start (logged): spawn every run instead.
 */
struct child_spawner *child_spawner_new(uv_loop_t *, const char *file);
/* Ends the zygote; the memory goes once the loop has closed the poll. */
void	 child_spawner_free(struct child_spawner *);

int	 child_start(uv_loop_t *, const struct child_opts *,
	    const struct child_cbs *, struct child **, char *err,
	    size_t errlen);
pid_t	 child_pid(const struct child *);
/* Kill now (drain at a deadline): SIGKILL to the group and the sweep. */
void	 child_kill(struct child *);
/* Kill now as a timeout (the outcome is killed): the deadline timer, and
 * the sentinel when that timer did not do it. */
void	 child_expire(struct child *);
void	 child_free(struct child *);

/* The captured stream as text: head, and when it overflowed a marker and
 * the tail. Caller frees. */
char	*child_capture_text(const struct child_capture *);
/* The same, with its length in *len (the text may hold NUL bytes). */
char	*child_capture_textn(const struct child_capture *, size_t *len);
/* SPEC §6 outcome from the exit status and the result text (NO-WORK:
 * nowork.h). */
enum outcome child_outcome(const struct child_result *);
/* SIGKILL every process of ours whose environment holds KEEPER_RUN_ID=id
 * and KEEPER_DATA=data; returns how many were signalled. */
int	 child_sweep(const char *run_id, const char *data);

#endif
