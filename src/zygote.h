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
 * for one.
 *
 * Failure is never fatal: when the zygote is gone or cannot take a
 * request, zygote_spawn() says so and the caller spawns the slow way.
 */
#ifndef KEEPER_ZYGOTE_H
#define KEEPER_ZYGOTE_H

#include <stddef.h>
#include <sys/types.h>

struct zygote;

/* Start `file --zygote` (keeper-exec). Call from the loop thread: the
 * zygote dies with the thread that started it (PR_SET_PDEATHSIG). NULL
 * with err set when it cannot start. */
struct zygote	*zygote_start(const char *file, char *err, size_t errlen);

/*
 * One run: a child of this process in a new session, with fds[0..2] as
 * its 1, 2 and 3, /dev/null as 0, cwd as working directory (NULL: the
 * zygote's), running `keeper-exec argv[1..]` with env as its environment.
 * Returns 0 with *pid; an errno (> 0) when the run cannot start (cwd
 * missing, out of processes), as posix_spawn would; -1 when the zygote is
 * unusable (the caller falls back). Thread-safe.
 */
int	 zygote_spawn(struct zygote *, char *const argv[], char *const env[],
	    const char *cwd, const int fds[3], pid_t *pid);

/* The zygote's pid (0 once gone), for tests and status. */
pid_t	 zygote_pid(const struct zygote *);

/* Close the socket (the zygote exits on EOF) and reap it. */
void	 zygote_free(struct zygote *);

/* The server side: `keeper-exec --zygote`, its socket on fd. */
int	 zygote_serve(int fd);

#endif
