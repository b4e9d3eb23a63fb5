/*
 * zygote: see zygote.h. The wire is one SOCK_SEQPACKET message per
 * request, so no framing: a header, then NUL-terminated strings (cwd when
 * there is one, argv, env), with the run's three pipe ends attached as
 * SCM_RIGHTS. The answer is one message: the pid and when the clone
 * returned, or an errno. The zygote serves requests in order, so answers
 * come back in the order the requests went.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "fs.h"
#include "util.h"
#include "zygote.h"

#define ZYGOTE_MSG_MAX	(128 * 1024)	/* larger requests fall back */

struct zy_head {
	uint32_t	argc, envc, has_cwd;
};

struct zy_reply {
	int32_t		pid, err;
	int64_t		at_ms;
};

struct zygote {
	pid_t		 pid;
	int		 fd;		/* non-blocking */
	int		 dead;
};

extern char **environ;

/*
 * The zygote's environment: ours plus LD_BIND_NOW, so that the dynamic
 * linker resolves every library symbol once, in the zygote, and no clone
 * resolves (and copies the GOT page of) a function on its first call.
 * Runs get their own environment from the request, without it.
 */
static char **
bind_now_env(void)
{
	static char bind_now[] = "LD_BIND_NOW=1";
	size_t n = 0;
	char **env;

	while (environ[n])
		n++;
	env = xreallocarray(NULL, n + 2, sizeof(*env));
	memcpy(env, environ, n * sizeof(*env));
	env[n] = bind_now;
	env[n + 1] = NULL;
	return env;
}

struct zygote *
zygote_start(const char *file, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *argv[] = { "keeper-exec", "--zygote", NULL }, **env;
	struct zygote *z;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return NULL;
	}
	/* Its own session: a ^C to the daemon's terminal is the daemon's. */
	util_spawnattr_session(&at);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	z = xcalloc(1, sizeof(*z));
	env = bind_now_env();
	rc = posix_spawn(&z->pid, file, &fa, &at, argv, env);
	free(env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(rc));
		close(sv[0]);
		free(z);
		return NULL;
	}
	z->fd = sv[0];
	/* Requests are queued in the socket, not waited on: room for a
	 * burst of them (a few KiB each) before a send would block. */
	(void)setsockopt(z->fd, SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 },
	    sizeof(int));
	(void)fcntl(z->fd, F_SETFL, fcntl(z->fd, F_GETFL) | O_NONBLOCK);
	return z;
}

pid_t
zygote_pid(const struct zygote *z)
{
	return z != NULL && !z->dead ? z->pid : 0;
}

static void
put(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s) + 1);
}

int
zygote_fd(const struct zygote *z)
{
	return z != NULL && !z->dead ? z->fd : -1;
}

int
zygote_send(struct zygote *z, char *const argv[], char *const env[],
    const char *cwd, const int fds[3])
{
	struct zy_head h = { 0, 0, cwd != NULL };
	struct sb b = { 0 };
	struct msghdr m;
	struct iovec iov;
	union {
		char		buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct cmsghdr *cm;
	ssize_t n;

	if (z == NULL || z->dead)
		return -1;
	while (argv[h.argc] != NULL)
		h.argc++;
	while (env[h.envc] != NULL)
		h.envc++;
	sb_add(&b, &h, sizeof(h));
	if (cwd != NULL)
		put(&b, cwd);
	for (uint32_t i = 0; i < h.argc; i++)
		put(&b, argv[i]);
	for (uint32_t i = 0; i < h.envc; i++)
		put(&b, env[i]);
	if (b.len > ZYGOTE_MSG_MAX) {
		sb_release(&b);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	memset(&u, 0, sizeof(u));
	iov.iov_base = b.buf;
	iov.iov_len = b.len;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, 3 * sizeof(int));
	do
		n = sendmsg(z->fd, &m, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	sb_release(&b);
	if (n == (ssize_t)iov.iov_len)
		return 0;
	/* Gone: no more requests; answers already sent are still read.
	 * Anything else (a full socket, a request it cannot take) spawns
	 * this run the slow way and leaves the zygote be. */
	if (n == -1 && (errno == EPIPE || errno == ECONNRESET ||
	    errno == ENOTCONN))
		z->dead = 1;
	return -1;
}

int
zygote_recv(struct zygote *z, struct zygote_answer *a)
{
	struct zy_reply r;
	ssize_t n;

	/* Not z->dead: a zygote that died after answering left the answers
	 * in the socket, and those runs exist. */
	if (z == NULL)
		return -1;
	do
		n = recv(z->fd, &r, sizeof(r), 0);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n != (ssize_t)sizeof(r)) {
		z->dead = 1;		/* EOF: it died */
		return -1;
	}
	a->pid = r.err == 0 ? (pid_t)r.pid : 0;
	a->err = r.err;
	a->at_ms = r.at_ms;
	return 1;
}

void
zygote_free(struct zygote *z)
{
	if (z == NULL)
		return;
	close(z->fd);
	while (waitpid(z->pid, NULL, 0) == -1 && errno == EINTR)
		;
	free(z);
}

/* ---- the server ------------------------------------------------------ */

/* In the new run, before the interpreter: what posix_spawn's attributes
 * and file actions did on the slow path. Signal dispositions and the mask
 * are already the defaults (zygote_serve set them once). Never returns. */
static zygote_run_fn run_fn;	/* what a run is (keeper-exec's main) */

static void
become_run(char **argv, int argc, char **env, int dirfd, const int fds[3])
{
	int null, rc;

	(void)setsid();
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, 0) == -1 || dup2(fds[0], 1) == -1 ||
	    dup2(fds[1], 2) == -1 || dup2(fds[2], 3) == -1 ||
	    (dirfd != -1 && fchdir(dirfd) == -1))
		_exit(127);
	(void)close_range(4, ~0U, 0);
	environ = env;
	/* _exit: the clone has nothing for exit() to run but the dynamic
	 * linker's teardown of the zygote's libraries. */
	rc = run_fn(argc, argv);
	fflush(NULL);
	_exit(rc);
}

/*
 * A direct run (`keeper-exec --sh NAME SHELL BODY`, interp/direct.c)
 * execs its shell at once, so it does not need a copy of the zygote:
 * it is cloned with CLONE_VM | CLONE_VFORK, as posix_spawn does, sharing
 * our memory until its exec (we wait meanwhile), which spares the copy
 * of the page tables, the faults on every page either side writes after
 * it and the teardown of the copy at the exec: most of what a run cost
 * before its shell started. The child makes system calls only, on a
 * stack of its own; what it does is what become_run() and
 * exec_direct_main() do for the run. A failed exec is reported by the
 * zygote, as the interpreter would report it (a reason event), and the
 * run exits 1.
 */
struct vrun {
	const char	*path;		/* the shell, looked up */
	char		*args[4];	/* SHELL -c BODY */
	char		**env;
	int		 dirfd;
	const int	*fds;
	volatile int	 err;		/* the exec's errno */
};

static char vstack[64 * 1024] __attribute__((aligned(16)));

static int
vrun_child(void *arg)
{
	struct vrun *v = arg;
	int null;

	(void)setsid();
	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, 0) == -1 || dup2(v->fds[0], 1) == -1 ||
	    dup2(v->fds[1], 2) == -1 ||
	    (v->dirfd != -1 && fchdir(v->dirfd) == -1)) {
		v->err = errno;
		_exit(1);
	}
	/* The event pipe is the interpreter's: the shell does not get it. */
	(void)close_range(3, ~0U, 0);
	/* Kept across the exec: the shell holds its run's tree. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	execve(v->path, v->args, v->env);
	v->err = errno;
	_exit(1);
}

/* The value of NAME in env, or NULL. */
static const char *
env_value(char **env, const char *name)
{
	size_t n = strlen(name);

	for (; *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* Clone and exec a direct run: its pid, or -1 with errno when it could
 * not be cloned; 0 when it is not one, or its shell is not found (the
 * slow path says so). */
static long
vrun_start(char **argv, int argc, char **env, int dirfd, const int fds[3])
{
	char path[PATH_MAX], line[EVENT_LINE_MAX], why[1024];
	struct vrun v;
	size_t n;
	long pid;

	if (argc != 5 || strcmp(argv[1], "--sh") != 0 ||
	    fs_which(argv[3], env_value(env, "PATH"), path, sizeof(path)) != 0)
		return 0;
	memset(&v, 0, sizeof(v));
	v.path = path;
	v.args[0] = argv[3];
	v.args[1] = "-c";
	v.args[2] = argv[4];
	v.env = env;
	v.dirfd = dirfd;
	v.fds = fds;
	pid = clone(vrun_child, vstack + sizeof(vstack), CLONE_VM |
	    CLONE_VFORK | CLONE_PARENT, &v);
	if (pid > 0 && v.err != 0) {
		snprintf(why, sizeof(why), "%s: cannot run %s: %s", argv[2],
		    argv[3], strerror(v.err));
		n = event_line(line, EVENT_REASON, why, strlen(why));
		(void)fs_write_all(fds[2], line, n);
	}
	return pid > 0 ? pid : -1;
}

/* Split a request into cwd, argv and env (pointers into buf). */
static int
parse(char *buf, size_t len, char **cwd, char ***argv, int *argc,
    char ***env)
{
	struct zy_head h;
	char *p = buf + sizeof(h), *end = buf + len, **v;
	size_t nstr;

	if (len < sizeof(h) || end[-1] != '\0')
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.argc == 0 || h.argc > 64 || h.envc > 65536)
		return -1;
	nstr = (size_t)h.has_cwd + h.argc + h.envc;
	v = xreallocarray(NULL, nstr + 2, sizeof(*v));
	for (size_t i = 0; i < nstr; i++) {
		if (p >= end) {
			free(v);
			return -1;
		}
		v[i] = p;
		p += strlen(p) + 1;
	}
	*cwd = h.has_cwd ? v[0] : NULL;
	/* argv then env, each NULL-terminated, in one allocation. */
	memmove(v, v + h.has_cwd, (h.argc + h.envc) * sizeof(*v));
	memmove(v + h.argc + 1, v + h.argc, h.envc * sizeof(*v));
	v[h.argc] = NULL;
	v[h.argc + 1 + h.envc] = NULL;
	*argv = v;
	*argc = (int)h.argc;
	*env = v + h.argc + 1;
	return 0;
}

static void
answer(int fd, pid_t pid, int err)
{
	struct zy_reply r = { (int32_t)pid, err, util_now_ms() };

	(void)send(fd, &r, sizeof(r), MSG_NOSIGNAL);
}

int
zygote_serve(int fd, zygote_run_fn fn)
{
	static char buf[ZYGOTE_MSG_MAX];
	union {
		char		cbuf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct msghdr m;
	struct iovec iov;
	struct cmsghdr *cm;
	struct clone_args ca;
	char *cwd, **argv, **env;
	int fds[3], argc, dirfd;
	struct sigaction sa;
	sigset_t none;
	ssize_t n;
	long pid;

	run_fn = fn;
	run_fn = fn;

	/* Die with the daemon; it may already be gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() == 1)
		return 1;
	/* Every run starts with default signals and an empty mask: set them
	 * here once, and each clone inherits them. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		memset(&m, 0, sizeof(m));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.cbuf;
		m.msg_controllen = sizeof(u.cbuf);
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : 1;	/* EOF: the daemon is done */
		cm = CMSG_FIRSTHDR(&m);
		if (cm == NULL || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(3 * sizeof(int))) {
			answer(fd, 0, EINVAL);
			continue;
		}
		memcpy(fds, CMSG_DATA(cm), sizeof(fds));
		if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		    parse(buf, (size_t)n, &cwd, &argv, &argc, &env) == -1) {
			answer(fd, 0, EINVAL);
			goto next;
		}
		/* The working directory is checked here, so a missing one
		 * fails the spawn as it would on the slow path. */
		dirfd = -1;
		if (cwd != NULL && (dirfd = open(cwd, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1) {
			answer(fd, 0, errno);
			free(argv);
			goto next;
		}
		if ((pid = vrun_start(argv, argc, env, dirfd, fds)) == 0) {
			memset(&ca, 0, sizeof(ca));
			ca.flags = CLONE_PARENT; /* the daemon's child, not ours */
			pid = syscall(SYS_clone3, &ca, sizeof(ca));
			if (pid == 0)
				become_run(argv, argc, env, dirfd, fds);
		}
		answer(fd, pid > 0 ? (pid_t)pid : 0, pid > 0 ? 0 : errno);
		if (dirfd != -1)
			close(dirfd);
		free(argv);
next:
		for (int i = 0; i < 3; i++)
			close(fds[i]);
	}
}
