/*
 * child: spawning, capturing, timing out and killing one run.
 *
 * Why posix_spawn on the thread pool rather than uv_spawn: uv_spawn forks
 * on the loop thread and then blocks until the child has exec'd (it reads
 * a CLOEXEC pipe to report exec errors). On a busy two-core box that wait
 * was 15 ms per run (measured), during which no timer fires and no agent
 * is served. posix_spawn (clone with CLONE_VM|CLONE_VFORK: no page tables
 * copied) runs on a pool thread instead, with POSIX_SPAWN_SETSID so the
 * child leads a new session and process group before it execs (no
 * fork/setpgid race), all signals back to default and unblocked, stdin on
 * /dev/null, our pipes on 1, 2 and 3, and every other descriptor closed.
 * The loop then watches a pidfd for the exit and reaps it with
 * waitid(P_PIDFD): libuv reaps only the pids it spawned itself, so nothing
 * else competes for the status.
 *
 * With a spawner (a zygote, zygote.h) the loop thread asks the zygote for
 * the run instead, without waiting: the request is queued in its socket
 * and the answer read when it comes (spawner_cb()), so no pool thread
 * sits blocked on a zygote that the scheduler has not run yet. The run is
 * cloned as our child all the same, with the same session, signals and
 * descriptors, so everything after the spawn is shared. posix_spawn on
 * the pool remains the path when the zygote cannot take the request; a
 * zygote that died is started again for a later run.
 *
 * No process of a run survives it (SPEC §6), whatever it did to leave:
 * a new session, a cleared environment, a parent that died. Two things
 * the kernel offers make that hold without cgroups:
 *  - The run's leader is a child subreaper (keeper-exec sets it, and so
 *    does the direct shell's trampoline before its exec), so while the
 *    run lives every process it started stays below its leader. A kill
 *    (the TIMEOUT, a drain, run-once interrupted) takes that tree whole
 *    before it signals anything (kill_tree()): the group and then every
 *    descendant are stopped with SIGSTOP until a walk finds no new one
 *    (a stopped process cannot fork, nor reap a child whose pid could
 *    then be reused), and only then all are killed, by pidfd.
 *  - The process that starts runs (the daemon, run-once) is a child
 *    subreaper too (child_reaper_start()): whatever a leader leaves
 *    behind when it exits is handed to us, not to init. A child of ours
 *    that is no run and no zygote is such an orphan: it is killed with
 *    its tree and reaped (sweep()). Never while a spawn is in flight,
 *    whose child we could not tell from an orphan yet.
 * A process that escapes while keeper itself is SIGKILLed is beyond
 * this; at the next boot the run's group and its environment are swept
 * (child_sweep()).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "sentinel.h"
#include "event.h"
#include "log.h"
#include "nowork.h"
#include "proc.h"
#include "util.h"
#include "zygote.h"

enum { P_OUT, P_ERR, P_EV, P_N };

struct child {
	uv_loop_t		*loop;
	struct child		*lnext, **lprev; /* reaper.live, while it is
						    our unreaped child */
	pid_t			 pid;
	int			 pidfd;
	uv_poll_t		 poll;		/* on pidfd: the exit */
	uv_work_t		 work;		/* the spawn, on the pool */
	int			 wfd[P_N];	/* the child's ends */
	char			*file, *cwd, **argv, **env;
	struct child_spawner	*spawner;	/* waiting for its answer */
	struct child		*qnext;		/* ... behind this one */
	int			 spawn_err;
	int			 counted;	/* in reaper.pending */
	int			 freed;
	int64_t			 timeout_ms;
	uv_pipe_t		 pipes[P_N];
	uv_timer_t		 timer;
	struct child_cbs	 cbs;
	struct child_result	 res;
	char			*run_id, *data;
	struct event_reader	 ev;		/* the event pipe's lines */
	int			 open_pipes;
	int			 exited;
	int			 reported;
	int			 handles;	/* still to close */
	int64_t			 start_ms;
	int64_t			 spawned_at;	/* unix ms: the process exists */
};

struct child_spawner {
	uv_loop_t		*loop;
	struct child_spawner	*snext;		/* reaper.spawners */
	char			*file;		/* keeper-exec */
	struct zygote		*z;		/* NULL while there is none */
	pid_t			 zpid;
	int64_t			 started_ms;	/* its last start (mono) */
	uv_poll_t		 poll;		/* its socket: answers */
	int			 polling, closing;
	struct child		*head, *tail;	/* asked, not answered */
};

#define ZYGOTE_RESTART_MS	1000	/* at most one start a second */

/* The orphan reaper: one per process (child subreaping is a property of
 * the process), on the loop that starts runs. */
static struct {
	int			 on;
	uv_timer_t		 timer;		/* sweeps again while dirty */
	int			 pending;	/* spawns whose pid is unknown */
	int			 dirty;		/* orphans may be left */
	struct child		*live;		/* runs not yet reaped */
	struct child_spawner	*spawners;
} reaper;

#define REAPER_RETRY_MS	20

static void	sweep_cb(uv_timer_t *);

/* One read buffer for every pipe: reads are handled synchronously on the
 * loop thread, so sharing it keeps a running child's cost to its capture. */
static char readbuf[65536];

static void
cap_add(struct child_capture *c, const char *p, size_t n)
{
	size_t take;

	c->total += n;
	if (c->hlen < CHILD_HEAD) {
		if (c->head == NULL)
			c->head = xmalloc(CHILD_HEAD + 1);
		take = n < CHILD_HEAD - c->hlen ? n : CHILD_HEAD - c->hlen;
		memcpy(c->head + c->hlen, p, take);
		c->hlen += take;
		c->head[c->hlen] = '\0';
		p += take;
		n -= take;
	}
	if (n == 0)
		return;
	if (c->tail == NULL)
		c->tail = xmalloc(CHILD_TAIL);
	if (n >= CHILD_TAIL) {
		memcpy(c->tail, p + n - CHILD_TAIL, CHILD_TAIL);
		c->tpos = 0;
		c->twrapped = 1;
		return;
	}
	while (n > 0) {
		take = CHILD_TAIL - c->tpos < n ? CHILD_TAIL - c->tpos : n;
		memcpy(c->tail + c->tpos, p, take);
		c->tpos += take;
		p += take;
		n -= take;
		if (c->tpos == CHILD_TAIL) {
			c->tpos = 0;
			c->twrapped = 1;
		}
	}
}

char *
child_capture_text(const struct child_capture *c)
{
	return child_capture_textn(c, NULL);
}

char *
child_capture_textn(const struct child_capture *c, size_t *len)
{
	struct sb sb = { 0 };
	uint64_t kept;

	sb_add(&sb, c->head ? c->head : "", c->hlen);
	if (c->tail) {
		kept = c->hlen + (c->twrapped ? CHILD_TAIL : c->tpos);
		if (c->total > kept)
			sb_addf(&sb, "\n[... %llu bytes skipped ...]\n",
			    (unsigned long long)(c->total - kept));
		if (c->twrapped)
			sb_add(&sb, c->tail + c->tpos, CHILD_TAIL - c->tpos);
		sb_add(&sb, c->tail, c->tpos);
	}
	if (len != NULL)
		*len = sb.len;
	return sb_detach(&sb);
}

static void
cap_release(struct child_capture *c)
{
	free(c->head);
	free(c->tail);
	memset(c, 0, sizeof(*c));
}

enum outcome
child_outcome(const struct child_result *r)
{
	if (r->spawn_error)
		return OUTCOME_FAILED;
	if (r->timed_out)
		return OUTCOME_KILLED;
	if (!r->exited || r->exit_code != 0 || r->term_signal != 0)
		return OUTCOME_FAILED;
	if (r->out.head && nowork_match(r->out.head, r->out.hlen))
		return OUTCOME_NO_WORK;
	return OUTCOME_DONE;
}

/* ---- the run's tree and the orphans ------------------------------------ */

struct tree {
	pid_t	*pid;
	int	*fd;
	size_t	 n, cap;
};

static int
tree_has(const struct tree *t, pid_t p)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->pid[i] == p)
			return 1;
	return 0;
}

/* Stop p and remember it by pidfd; 1 when it is new. */
static int
tree_stop(struct tree *t, pid_t p)
{
	int fd;

	if (p <= 1 || tree_has(t, p))
		return 0;
	if ((fd = (int)syscall(SYS_pidfd_open, p, 0)) == -1)
		return 0;	/* gone already */
	(void)syscall(SYS_pidfd_send_signal, fd, SIGSTOP, NULL, 0);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->pid = xreallocarray(t->pid, t->cap, sizeof(*t->pid));
		t->fd = xreallocarray(t->fd, t->cap, sizeof(*t->fd));
	}
	t->pid[t->n] = p;
	t->fd[t->n++] = fd;
	return 1;
}

#define TREE_ROUNDS	64

/*
 * SIGKILL root, its process group when it leads one, and every
 * descendant, whatever session or environment each has: stopped first,
 * round after round until two walks find nothing new, then killed. The
 * rounds are bounded: a tree that keeps growing past them is killed as
 * far as it was seen, and what a stopped parent forked last is the
 * orphan sweep's.
 */
static void
kill_tree(pid_t root, int group)
{
	struct tree t = { 0 };
	pid_t *d;
	size_t n;
	int quiet = 0, added;

	if (root <= 1)
		return;
	if (group)
		(void)kill(-root, SIGSTOP);
	(void)tree_stop(&t, root);
	for (int round = 0; round < TREE_ROUNDS && quiet < 2; round++) {
		added = 0;
		n = proc_descendants(root, &d);
		for (size_t i = 0; i < n; i++)
			added += tree_stop(&t, d[i]);
		free(d);
		quiet = added ? 0 : quiet + 1;
	}
	if (group)
		(void)kill(-root, SIGKILL);
	for (size_t i = 0; i < t.n; i++) {
		(void)syscall(SYS_pidfd_send_signal, t.fd[i], SIGKILL, NULL,
		    0);
		close(t.fd[i]);
	}
	free(t.pid);
	free(t.fd);
}

static int
known(pid_t p)
{
	for (struct child *c = reaper.live; c != NULL; c = c->lnext)
		if (c->pid == p)
			return 1;
	for (struct child_spawner *s = reaper.spawners; s != NULL;
	    s = s->snext)
		if (s->z != NULL && s->zpid == p)
			return 1;
	return 0;
}

/*
 * Our children that are no run of ours and no zygote are what runs left
 * behind: kill the live ones with their trees, reap the dead. Orphans
 * are handed to the main thread, so its children are all we read. The
 * killed are reaped by the next sweep, which the timer brings while any
 * is left.
 */
static void
sweep(void)
{
	pid_t *v, self = getpid();
	size_t n;
	int left = 0;
	char st;

	if (!reaper.on)
		return;
	if (reaper.pending > 0) {
		reaper.dirty = 1;	/* the last spawn to land sweeps */
		return;
	}
	n = proc_thread_children(self, self, &v);
	for (size_t i = 0; i < n; i++) {
		if (known(v[i]))
			continue;
		st = proc_state(v[i]);
		if (st == 'Z' || st == 'X') {
			if (waitpid(v[i], NULL, WNOHANG) == 0)
				left++;
			continue;
		}
		if (st == '\0')
			continue;
		log_debug("event=orphan-killed pid=%ld", (long)v[i]);
		kill_tree(v[i], 0);
		left++;
	}
	free(v);
	reaper.dirty = left > 0;
	if (reaper.dirty && !uv_is_active((uv_handle_t *)&reaper.timer))
		uv_timer_start(&reaper.timer, sweep_cb,
		    REAPER_RETRY_MS, 0);
}

static void
sweep_cb(uv_timer_t *t)
{
	(void)t;
	sweep();
}

int
child_reaper_start(uv_loop_t *loop)
{
	if (reaper.on)
		return 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		return -1;
	uv_timer_init(loop, &reaper.timer);
	uv_unref((uv_handle_t *)&reaper.timer);
	reaper.on = 1;
	return 0;
}

void
child_reaper_stop(void)
{
	if (!reaper.on)
		return;
	reaper.pending = 0;	/* no spawn lands after this */
	sweep();
	uv_close((uv_handle_t *)&reaper.timer, NULL);
	reaper.on = 0;
	reaper.dirty = 0;
}

static void
live_add(struct child *c)
{
	if ((c->lnext = reaper.live) != NULL)
		c->lnext->lprev = &c->lnext;
	reaper.live = c;
	c->lprev = &reaper.live;
}

static void
live_del(struct child *c)
{
	if (c->lprev == NULL)
		return;
	if ((*c->lprev = c->lnext) != NULL)
		c->lnext->lprev = c->lprev;
	c->lnext = NULL;
	c->lprev = NULL;
}

/* What child_sweep() looks for, and the buffer it reads each
 * environment into. */
struct sweep {
	char	*want_id, *want_data;
	char	*env;
	pid_t	 self;
	int	 n;
};

#define SWEEP_ENV_MAX	(256 * 1024)

static int
sweep_one(pid_t pid, void *arg)
{
	struct sweep *sw = arg;
	ssize_t len;

	if (pid <= 1 || pid == sw->self)
		return 0;
	/* Gone, or not ours to read: not one of ours either. */
	if ((len = proc_environ(pid, sw->env, SWEEP_ENV_MAX)) <= 0)
		return 0;
	if (proc_env_has(sw->env, (size_t)len, sw->want_id) &&
	    proc_env_has(sw->env, (size_t)len, sw->want_data) &&
	    kill(pid, SIGKILL) == 0)
		sw->n++;
	return 0;
}

int
child_sweep(const char *run_id, const char *data)
{
	struct sweep sw;

	sw.want_id = xasprintf("KEEPER_RUN_ID=%s", run_id);
	sw.want_data = xasprintf("KEEPER_DATA=%s", data);
	sw.env = xmalloc(SWEEP_ENV_MAX);
	sw.self = getpid();
	sw.n = 0;
	(void)proc_each(sweep_one, &sw);
	free(sw.env);
	free(sw.want_id);
	free(sw.want_data);
	return sw.n;
}

static char **
copy_vec(char **v)
{
	size_t n = 0;
	char **r;

	while (v && v[n])
		n++;
	r = xcalloc(n + 1, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = xstrdup(v[i]);
	return r;
}

static void
on_close(uv_handle_t *h)
{
	struct child *c = h->data;

	if (h == (uv_handle_t *)&c->poll && c->pidfd != -1) {
		close(c->pidfd);
		c->pidfd = -1;
	}
	if (--c->handles == 0) {
		live_del(c);
		cap_release(&c->res.out);
		cap_release(&c->res.err);
		free(c->run_id);
		free(c->data);
		free(c->file);
		free(c->cwd);
		util_strv_free(c->argv);
		util_strv_free(c->env);
		free(c);
	}
}

static void
maybe_report(struct child *c)
{
	if (c->reported || !c->exited || c->open_pipes > 0)
		return;
	c->reported = 1;
	uv_timer_stop(&c->timer);
	c->res.duration_ms = util_mono_ms() - c->start_ms;
	c->cbs.on_exit(c, &c->res, c->cbs.arg);
}

static void
close_pipe(struct child *c, int i)
{
	uv_handle_t *h = (uv_handle_t *)&c->pipes[i];

	if (uv_is_closing(h))
		return;
	uv_read_stop((uv_stream_t *)h);
	uv_close(h, on_close);
	c->open_pipes--;
}

/* One event from the interpreter: usage is counted here, every event is
 * handed on. */
static void
on_line(const char *kind, const char *text, void *arg)
{
	struct child *c = arg;
	long p, q;

	if (strcmp(kind, EVENT_USAGE) == 0 && event_usage(text, &p, &q) == 0) {
		c->res.tokens_prompt = (c->res.tokens_prompt > 0 ?
		    c->res.tokens_prompt : 0) + p;
		c->res.tokens_completion = (c->res.tokens_completion > 0 ?
		    c->res.tokens_completion : 0) + q;
	}
	if (c->cbs.on_event)
		c->cbs.on_event(c, kind, text, c->cbs.arg);
}

/* The run's standard error is its log (SPEC §6): kept bounded here,
 * and handed to the owner as it comes (live view, keeper's own log). */
static void
log_read(struct child *c, const char *p, size_t n)
{
	if (c->cbs.on_log)
		c->cbs.on_log(c, p, n, c->res.err.total, c->cbs.arg);
	cap_add(&c->res.err, p, n);
}

static void
alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	*buf = uv_buf_init(readbuf, sizeof(readbuf));
}

static void
read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct child *c = s->data;
	int i = (int)((uv_pipe_t *)s - c->pipes);

	if (n > 0) {
		if (i == P_OUT) {
			cap_add(&c->res.out, buf->base, (size_t)n);
			if (c->cbs.on_out)
				c->cbs.on_out(c, buf->base, (size_t)n,
				    c->cbs.arg);
		}
		else if (i == P_ERR)
			log_read(c, buf->base, (size_t)n);
		else
			event_feed(&c->ev, buf->base, (size_t)n, on_line, c);
		return;
	}
	if (n == 0)
		return;
	if (i == P_EV)
		event_end(&c->ev, on_line, c);
	close_pipe(c, i);
	maybe_report(c);
}

static void
kill_group(struct child *c)
{
	if (c->pid > 0)
		(void)kill(-c->pid, SIGKILL);
}

static void
exit_cb(uv_poll_t *p, int status, int events)
{
	struct child *c = p->data;
	siginfo_t si;

	(void)status;
	(void)events;
	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &si,
	    WEXITED | WNOHANG) == -1 && errno == EINTR)
		return;
	if (si.si_pid == 0 && errno != ECHILD)
		return;		/* not yet */
	live_del(c);
	c->exited = 1;
	c->res.exited_at_ms = util_now_ms();	/* ended (SPEC §6) */
	c->res.exited = si.si_code == CLD_EXITED;
	c->res.exit_code = si.si_code == CLD_EXITED ? si.si_status : 0;
	c->res.term_signal = si.si_code == CLD_EXITED ? 0 : si.si_status;
	/* The def is over: nothing of its group outlives the tick, and the
	 * pipes reach EOF even when a straggler still held them. */
	kill_group(c);
	/* What it left outside its group was handed to us as it died. */
	sweep();
	uv_poll_stop(p);
	uv_close((uv_handle_t *)p, on_close);
	maybe_report(c);
}

static void
timeout_cb(uv_timer_t *t)
{
	struct child *c = t->data;

	if (sentinel_fault("no-reap"))	/* TEST-ONLY, sentinel.h */
		return;
	child_expire(c);
}

void
child_expire(struct child *c)
{
	c->res.timed_out = 1;
	child_kill(c);
}

void
child_kill(struct child *c)
{
	if (c->reported || c->pid <= 0)
		return;
	if (c->cbs.before_kill && !c->exited)
		c->cbs.before_kill(c, c->pid, c->cbs.arg);
	c->res.killed = 1;
	if (c->exited)
		kill_group(c);
	else
		kill_tree(c->pid, 1);
	if (c->run_id && c->data)
		(void)child_sweep(c->run_id, c->data);
	/* The tree's members die with their parents: they come to us. */
	sweep();
}

pid_t
child_pid(const struct child *c)
{
	return c->pid;
}

static void	watch_pid(struct child *);
static void	spawned(struct child *);
static int	spawner_ask(struct child_spawner *, struct child *,
		    const struct child_opts *);
static void	spawner_cb(uv_poll_t *, int, int);

/* On a pool thread: only the spawn itself, nothing that touches the loop. */
static void
spawn_work(uv_work_t *req)
{
	struct child *c = req->data;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc;

	util_spawnattr_session(&at);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, c->wfd[P_OUT], 1);
	posix_spawn_file_actions_adddup2(&fa, c->wfd[P_ERR], 2);
	posix_spawn_file_actions_adddup2(&fa, c->wfd[P_EV], 3);
	if (c->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
	posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	rc = posix_spawn(&c->pid, c->file, &fa, &at, c->argv, c->env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		c->spawn_err = rc;
		c->pid = 0;
		return;
	}
	c->spawned_at = util_now_ms();
	watch_pid(c);
}

/* Our child either way (the zygote clones with CLONE_PARENT), so its pid
 * cannot be reused before we reap it. */
static void
watch_pid(struct child *c)
{
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd == -1) {
		/* Without a pidfd we cannot watch it: take it down now. */
		c->spawn_err = errno;
		(void)kill(-c->pid, SIGKILL);
		(void)waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
}

static void
spawn_done(uv_work_t *req, int status)
{
	struct child *c = req->data;

	if (status != 0 && c->spawn_err == 0)
		c->spawn_err = ECANCELED;
	spawned(c);
}

/* On the loop thread, the spawn over (either way): watch the run, or
 * report that it never started. */
static void
spawned(struct child *c)
{
	/* Our copies of the child's ends go, so its exit means EOF. */
	for (int i = 0; i < P_N; i++) {
		close(c->wfd[i]);
		c->wfd[i] = -1;
	}
	if (c->pid > 0)
		live_add(c);
	if (c->counted) {
		c->counted = 0;
		if (reaper.pending > 0 && --reaper.pending == 0 &&
		    reaper.dirty)
			sweep();
	}
	if (c->spawn_err) {
		c->res.spawn_error = c->spawn_err;
		c->exited = 1;
		maybe_report(c);
		return;
	}
	c->start_ms = util_mono_ms();
	uv_poll_init(c->loop, &c->poll, c->pidfd);
	c->poll.data = c;
	c->handles++;
	uv_poll_start(&c->poll, UV_READABLE, exit_cb);
	/* The loop's cached time may be stale; the deadline counts from
	 * the spawn. */
	uv_update_time(c->loop);
	if (c->timeout_ms > 0)
		uv_timer_start(&c->timer, timeout_cb, (uint64_t)c->timeout_ms,
		    0);
	if (c->cbs.on_spawn)
		c->cbs.on_spawn(c, c->pid, c->spawned_at, c->cbs.arg);
}

/* A pipe whose ends sit above the descriptors the child is given. */
static int
make_pipe(int fds[2])
{
	int p[2], hi;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (p[i] > 3)
			continue;
		if ((hi = fcntl(p[i], F_DUPFD_CLOEXEC, 4)) == -1) {
			close(p[0]);
			close(p[1]);
			return -1;
		}
		close(p[i]);
		p[i] = hi;
	}
	fds[0] = p[0];
	fds[1] = p[1];
	return 0;
}

int
child_start(uv_loop_t *loop, const struct child_opts *o,
    const struct child_cbs *cbs, struct child **out, char *err,
    size_t errlen)
{
	struct child *c = xcalloc(1, sizeof(*c));
	int fds[P_N][2], i, n;

	*out = NULL;
	for (n = 0; n < P_N; n++)
		if (make_pipe(fds[n]) == -1) {
			snprintf(err, errlen, "pipe: %s", strerror(errno));
			while (n-- > 0) {
				close(fds[n][0]);
				close(fds[n][1]);
			}
			free(c);
			return -1;
		}
	c->loop = loop;
	c->cbs = *cbs;
	c->pidfd = -1;
	c->res.tokens_prompt = c->res.tokens_completion = -1;
	c->run_id = o->run_id ? xstrdup(o->run_id) : NULL;
	c->data = o->data ? xstrdup(o->data) : NULL;
	c->timeout_ms = o->timeout_ms;
	for (i = 0; i < P_N; i++) {
		uv_pipe_init(loop, &c->pipes[i], 0);
		c->pipes[i].data = c;
		uv_pipe_open(&c->pipes[i], fds[i][0]);
		c->wfd[i] = fds[i][1];
	}
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->handles = P_N + 1;		/* pipes, timer; the poll comes later */
	c->open_pipes = P_N;
	for (i = 0; i < P_N; i++)
		uv_read_start((uv_stream_t *)&c->pipes[i], alloc_cb, read_cb);
	c->work.data = c;
	c->start_ms = util_mono_ms();
	*out = c;
	if (reaper.on) {
		reaper.pending++;	/* until spawned() */
		c->counted = 1;
	}
	if (o->spawner != NULL && spawner_ask(o->spawner, c, o) == 0)
		return 0;
	/* The pool thread needs its own copies: o is the caller's. */
	c->file = xstrdup(o->file);
	c->cwd = o->cwd ? xstrdup(o->cwd) : NULL;
	c->argv = copy_vec(o->argv);
	c->env = copy_vec(o->env);
	if (uv_queue_work(loop, &c->work, spawn_work, spawn_done) != 0) {
		c->spawn_err = EAGAIN;
		spawn_done(&c->work, 0);
	}
	return 0;
}

/* ---- the spawner ------------------------------------------------------ */

static void
spawner_start_zygote(struct child_spawner *s)
{
	char err[512];

	s->started_ms = util_mono_ms();
	if ((s->z = zygote_start(s->file, err, sizeof(err))) == NULL) {
		log_warnx("event=zygote-failed error=%s", log_qv(err));
		return;
	}
	s->zpid = zygote_pid(s->z);
	log_debug("event=zygote pid=%ld", (long)s->zpid);
	uv_poll_init(s->loop, &s->poll, zygote_fd(s->z));
	s->poll.data = s;
	s->polling = 1;
	uv_poll_start(&s->poll, UV_READABLE, spawner_cb);
}

static void
spawner_poll_closed(uv_handle_t *h)
{
	struct child_spawner *s = h->data;

	s->closing = 0;
	if (s->file == NULL)		/* child_spawner_free() was here */
		free(s);
}

static void
spawner_stop_poll(struct child_spawner *s)
{
	if (!s->polling)
		return;
	s->polling = 0;
	s->closing = 1;
	uv_close((uv_handle_t *)&s->poll, spawner_poll_closed);
}

/*
 * The zygote is gone. Runs it had not answered for fail to start: the
 * zygote may have cloned one just before it died, and spawning it again
 * could run the def twice. The next run starts a new zygote (or spawns).
 */
static void
spawner_lost(struct child_spawner *s)
{
	struct child *c;
	int n = 0;

	for (c = s->head; c != NULL; c = c->qnext)
		n++;
	log_warnx("event=zygote-died pid=%ld unanswered=%d", (long)s->zpid, n);
	spawner_stop_poll(s);
	zygote_free(s->z);
	s->z = NULL;
	while ((c = s->head) != NULL) {
		s->head = c->qnext;
		c->qnext = NULL;
		c->spawner = NULL;
		c->spawn_err = ECONNRESET;	/* "connection reset": the zygote went */
		spawned(c);
	}
	s->tail = NULL;
}

static void
spawner_cb(uv_poll_t *p, int status, int events)
{
	struct child_spawner *s = p->data;
	struct zygote_answer a;
	struct child *c;
	int rc;

	(void)status;
	(void)events;
	while ((rc = zygote_recv(s->z, &a)) == 1) {
		if ((c = s->head) == NULL)
			continue;	/* no one asked: cannot happen */
		if ((s->head = c->qnext) == NULL)
			s->tail = NULL;
		c->qnext = NULL;
		c->spawner = NULL;
		if (a.err != 0)
			c->spawn_err = a.err;
		else {
			c->pid = a.pid;
			c->spawned_at = a.at_ms;
			watch_pid(c);
		}
		spawned(c);
	}
	if (rc == -1)
		spawner_lost(s);
}

/* Queue c's request (o's argv, env and cwd, copied into the message)
 * with the zygote; -1 when it cannot take it. */
static int
spawner_ask(struct child_spawner *s, struct child *c,
    const struct child_opts *o)
{
	if (s->z == NULL && !s->closing && util_mono_ms() - s->started_ms >=
	    ZYGOTE_RESTART_MS)
		spawner_start_zygote(s);
	if (s->z == NULL || zygote_send(s->z, o->argv, o->env, o->cwd,
	    c->wfd) == -1)
		return -1;
	log_debug("event=zygote-asked run=%s", c->run_id ? c->run_id : "-");
	c->spawner = s;
	if (s->tail != NULL)
		s->tail->qnext = c;
	else
		s->head = c;
	s->tail = c;
	return 0;
}

struct child_spawner *
child_spawner_new(uv_loop_t *loop, const char *file)
{
	struct child_spawner *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->file = xstrdup(file);
	spawner_start_zygote(s);
	if (s->z == NULL) {
		free(s->file);
		free(s);
		return NULL;
	}
	s->snext = reaper.spawners;
	reaper.spawners = s;
	return s;
}

void
child_spawner_free(struct child_spawner *s)
{
	struct child *c;

	if (s == NULL)
		return;
	for (struct child_spawner **pp = &reaper.spawners; *pp != NULL;
	    pp = &(*pp)->snext)
		if (*pp == s) {
			*pp = s->snext;
			break;
		}
	/* Runs still waiting are the loop's to end; they no longer wait
	 * here. */
	for (c = s->head; c != NULL; c = c->qnext)
		c->spawner = NULL;
	free(s->file);
	s->file = NULL;
	spawner_stop_poll(s);	/* before its descriptor closes */
	zygote_free(s->z);	/* EOF: it exits; reaped here */
	s->z = NULL;
	if (!s->closing)
		free(s);
}

void
child_free(struct child *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < P_N; i++)
		if (!uv_is_closing((uv_handle_t *)&c->pipes[i]))
			uv_close((uv_handle_t *)&c->pipes[i], on_close);
	uv_close((uv_handle_t *)&c->timer, on_close);
}
