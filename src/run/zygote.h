/*
 * zygote: a warm def interpreter that forks runs instead of exec'ing them.
 *
 * Every run used to exec keeper-exec: the dynamic loader, relocations and
 * libc start-up were most of a `true` def's CPU (bench/core.sh). The
 * daemon now starts one `keeper-exec --zygote` and asks it, over a
 * SOCK_SEQPACKET socketpair, for each run: argv, environment, working
 * directory, and the run's stdout, stderr and event pipes as descriptors.
 * The zygote clones with CLONE_PARENT, so the run is the daemon's own
 * child exactly as a posix_spawn'ed one is (pidfd, waitid, the process
 * group it leads), and the daemon's reaping, timeouts and kills do not
 * change. The zygote itself holds no state between runs and never waits
 * for one. A direct run (a one-step shell def, `keeper-exec --sh`) is
 * cloned sharing the zygote's memory until it execs its shell (vfork
 * style, zygote.c), so it costs no copy of the zygote at all.
 *
 * Requests do not wait for the zygote: zygote_send() queues one in the
 * socket and returns, and the answers are read with zygote_recv() when
 * zygote_fd() is readable, in the order the requests went. So the caller
 * never blocks behind a zygote that the scheduler has not run yet.
 *
 * Failure is never fatal: when the zygote is gone or cannot take a
 * request, zygote_send() says so and the caller spawns the slow way.
 * Not thread-safe: one thread (the loop's) sends and receives.
 */
#ifndef KEEPER_ZYGOTE_H
#define KEEPER_ZYGOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct zygote;

/* Start `file --zygote` (keeper-exec). Call from the loop thread: the
 * zygote dies with the thread that started it (PR_SET_PDEATHSIG). NULL
 * with err set when it cannot start. */
struct zygote	*zygote_start(const char *file, char *err, size_t errlen);

/*
 * Ask for one run: a child of this process in a new session, with
 * fds[0..2] as its 1, 2 and 3, /dev/null as 0, cwd as working directory
 * (NULL: the zygote's), running `keeper-exec argv[1..]` with env as its
 * environment. 0 when the request went (its answer will come), -1 when
 * it did not (zygote gone, socket full, request too large): spawn it the
 * slow way.
 */
int	 zygote_send(struct zygote *, char *const argv[], char *const env[],
	    const char *cwd, const int fds[3]);

struct zygote_answer {
	pid_t		 pid;	/* the run, when err is 0 */
	int		 err;	/* an errno: the run cannot start (cwd
				   missing, out of processes) */
	int64_t		 at_ms;	/* unix ms when the clone returned */
};

/* The next answer: 1 with *a, 0 when none is there yet, -1 when the
 * zygote is gone and every answer it sent has been read (requests still
 * unanswered never will be). */
int	 zygote_recv(struct zygote *, struct zygote_answer *a);

/* What to poll for answers, or -1 once the zygote is gone. */
int	 zygote_fd(const struct zygote *);

/* The zygote's pid (0 once gone), for tests and status. */
pid_t	 zygote_pid(const struct zygote *);

/* Close the socket (the zygote exits on EOF) and reap it. */
void	 zygote_free(struct zygote *);

/* The server side: `keeper-exec --zygote`, its socket on fd; each run is
 * fn(argc, argv) in a clone whose environment is the run's. */
typedef int (*zygote_run_fn)(int argc, char **argv);
int	 zygote_serve(int fd, zygote_run_fn fn);

#endif
