/*
 * shstep: a sh or bash step (SPEC §6), and the subreaper that keeps its
 * processes in check.
 *
 * Process model. exec-def is (a member of) the run's process group and
 * its steps stay in that group, so the daemon's killpg() at the run
 * deadline reaches every one of them. A step's own :timeout therefore
 * cannot kill a group of the step's own; instead this process is a child
 * subreaper (interp.c sets it): whatever a step leaves behind is
 * reparented here, and at a step's deadline, and again when its shell
 * exits (before the rest of its output is drained: a leftover holding
 * the pipe must not hold the step), every remaining descendant is found
 * in /proc (proc.h) and killed. Only one step runs at a time, so all
 * descendants belong to it.
 *
 * Output. A step's stdout goes through a pipe into its output file
 * (output.c) while its lines are scanned for telemetry (telemetry.c) and
 * its first bytes for NO-WORK (nowork.h) as they stream.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dur.h"
#include "exec-int.h"
#include "fs.h"
#include "nowork.h"
#include "proc.h"
#include "settings.h"

extern char **environ;

/* Reap what has exited; 0 when no child at all is left. */
static int
reap_all(void)
{
	pid_t p;
	int st;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		;
	return !(p == -1 && errno == ECHILD);
}

/* Kill and reap every descendant; new ones forked meanwhile are caught by
 * the next round, and a killed process cannot fork again. */
static void
kill_descendants(void)
{
	struct timespec ms = { 0, 1000000 };
	pid_t *pids;
	size_t n;

	for (int round = 0; round < 5000; round++) {
		/* No child means no descendant: as a subreaper, every
		 * orphan of the step would be our child. */
		if (!reap_all())
			break;
		/* A pid can in principle be reused between this look and
		 * the kill; only a grandchild reaped by its own parent in
		 * that window could be hit. */
		n = proc_descendants(getpid(), &pids);
		for (size_t i = 0; i < n; i++)
			(void)kill(pids[i], SIGKILL);
		free(pids);
		if (n == 0)
			break;
		nanosleep(&ms, NULL);
	}
	(void)reap_all();
}

/* The step's side of the vfork: it shares our memory until the exec, so
 * it only makes system calls, and reports a failure in *err. */
static void __attribute__((noreturn))
step_child(const char *path, char *const argv[], const char *dir, int in,
    int out, volatile int *err)
{
	struct sigaction dfl;
	sigset_t none;

	/* This process catches SIGCHLD and ignores SIGPIPE; a step gets
	 * neither, nor the mask. Every other disposition is the default
	 * already (the zygote set them). */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&none);
	if (sigaction(SIGCHLD, &dfl, NULL) == -1 ||
	    sigaction(SIGPIPE, &dfl, NULL) == -1 ||
	    dup2(in, 0) == -1 || dup2(out, 1) == -1 || chdir(dir) == -1 ||
	    sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		*err = errno;
	else {
		execve(path, argv, environ);
		*err = errno;
	}
	_exit(127);
}

/*
 * Start `shell -c body` in dir with in and out as its stdin and stdout.
 * By vfork, as posix_spawn does it (no page tables copied, which a fork
 * would for every step), but without glibc's reset of every signal's
 * disposition in the child: two system calls for each of 64 signals, most
 * of this process's system calls in a run. Every signal stays blocked
 * until the child has put back its two, so no handler of ours ever runs
 * on our memory in the child. 0 or an errno.
 */
static int
spawn_step(const char *shell, const char *envpath, const char *body,
    const char *dir, int in, int out, pid_t *pid)
{
	char *argv[] = { (char *)shell, "-c", (char *)body, NULL };
	char path[PATH_MAX];
	volatile int err = 0;
	sigset_t all, old;
	pid_t p;
	int rc;

	/* What posix_spawnp would run. */
	if ((rc = fs_which(shell, envpath, path,
	    sizeof(path))) != 0)
		return rc;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((p = vfork()) == 0)
		step_child(path, argv, dir, in, out, &err);
	rc = p == -1 ? errno : err;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		if (p > 0)
			while (waitpid(p, NULL, 0) == -1 && errno == EINTR)
				;
		return rc;
	}
	*pid = p;
	return 0;
}

enum step_st
exec__run_shell(struct run *r, size_t i, const char *shell)
{
	const struct def_step *s = &r->def->steps[i];
	struct out *o = &r->outs[i];
	int outp[2] = { -1, -1 }, in = -1, st = 0, rc;
	int main_done = 0, eof = 0, timed_out = 0, wrote_err = 0, status = 0;
	int swept = 0;
	int64_t deadline = -1, left;
	struct nowork nw = { 0 };
	struct pollfd pfd[2];
	enum step_st ret = ST_FAILED;
	char buf[65536], dbuf[32], *dir = NULL;
	ssize_t n;
	pid_t pid, p;

	if (strlen(s->body) > EXEC_SHELL_BODY_MAX) {
		exec__seterr(r, "step \"%s\": body over %u bytes; move it "
		    "into a script in the repo", s->name, EXEC_SHELL_BODY_MAX);
		return ST_FAILED;
	}
	dir = s->dir && s->dir[0] ? util_resolve(r->o->repo, s->dir) :
	    xstrdup(r->o->repo);
	if (i > 0 && r->outs[i - 1].fd != -1) {
		in = r->outs[i - 1].fd;
		(void)lseek(in, 0, SEEK_SET);
	} else if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		exec__seterr(r, "cannot open /dev/null: %s", strerror(errno));
		goto done;
	}
	if (pipe2(outp, O_CLOEXEC) == -1) {
		exec__seterr(r, "cannot make a pipe: %s", strerror(errno));
		goto done;
	}
	if ((rc = spawn_step(shell, r->set->path, s->body, dir, in,
	    outp[1], &pid)) != 0) {
		/* One errno for both: a directory that cannot be opened is
		 * the likelier culprit, and the one to name. */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd == -1) {
			exec__seterr(r, "step \"%s\": cannot enter :dir %s: %s",
			    s->name, dir, strerror(errno));
			goto done;
		}
		close(dfd);
		exec__seterr(r, "step \"%s\": cannot run %s: %s", s->name,
		    shell, strerror(rc));
		goto done;
	}
	close(outp[1]);
	outp[1] = -1;

	if (s->timeout_ms > 0)
		deadline = util_mono_ms() + s->timeout_ms;
	for (;;) {
		if (eof && main_done)
			break;
		/* The step is over when its shell is: what it left running
		 * goes now, and so do the pipe ends such leftovers hold (an
		 * escapee in a session of its own would keep them open). */
		if (main_done && !swept) {
			kill_descendants();
			swept = 1;
		}
		left = -1;
		if (deadline >= 0) {
			left = deadline - util_mono_ms();
			if (left <= 0) {
				timed_out = 1;
				break;
			}
		}
		pfd[0].fd = eof ? -1 : outp[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = r->sigfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, left > INT_MAX ? INT_MAX : (int)left) == -1) {
			if (errno == EINTR)
				continue;
			exec__seterr(r, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN) {
			while (read(r->sigfd, buf, sizeof(buf)) > 0)
				;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0)
				if (p == pid) {
					main_done = 1;
					status = st;
				}
		}
		if (!eof && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(outp[0], buf, sizeof(buf));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				eof = 1;
				exec__scan_flush(r);
				continue;
			}
			if (!wrote_err &&
			    exec__out_write(r, o, buf, (size_t)n) == -1) {
				exec__seterr(r, "step \"%s\": cannot store "
				    "its output in %s: %s", s->name,
				    r->tmpdir, strerror(errno));
				wrote_err = 1;
				break;
			}
			nowork_feed(&nw, buf, (size_t)n);
			exec__scan_feed(r, buf, (size_t)n);
		}
	}
	kill_descendants();
	if (wrote_err)
		goto done;
	if (timed_out) {
		exec__scan_flush(r);
		exec__seterr(r, "step \"%s\" timed out after %s and was killed",
		    s->name, dur_format(s->timeout_ms, dbuf, sizeof(dbuf)));
		exec__setwhy(r, i, 1, "killed at its %s :timeout", dbuf);
		ret = ST_KILLED;
		r->code = 124;
		goto done;
	}
	if (!main_done)
		goto done;
	st = status;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		ret = nowork_result(&nw) ? ST_NO_WORK : ST_OK;
	else if (WIFEXITED(st)) {
		exec__seterr(r, "step \"%s\" exited with status %d", s->name,
		    WEXITSTATUS(st));
		exec__setwhy(r, i, 1, "exit status %d", WEXITSTATUS(st));
		r->code = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		exec__seterr(r, "step \"%s\" was killed by signal %d (%s)",
		    s->name, WTERMSIG(st), strsignal(WTERMSIG(st)));
		exec__setwhy(r, i, 1, "killed by signal %d (%s)",
		    WTERMSIG(st), strsignal(WTERMSIG(st)));
		r->code = 128 + WTERMSIG(st);
	}
done:
	if (outp[0] != -1)
		close(outp[0]);
	if (outp[1] != -1)
		close(outp[1]);
	if (in != -1 && (i == 0 || in != r->outs[i - 1].fd))
		close(in);
	free(dir);
	return ret;
}
