/*
 * child: spawning, capturing, timing out and killing one run.
 *
 * Why uv_spawn with UV_PROCESS_DETACHED rather than our own fork(): the
 * flag makes libuv call setsid() in the child before exec, so the child
 * leads a new session and process group (pgid == pid) before any of its
 * code runs, which closes the fork/setpgid race the classic "setpgid in
 * both parent and child" dance exists for. libuv also reports exec
 * failures synchronously, reaps through its own SIGCHLD machinery (no
 * second reaper fighting it), and gives us pipes on fds 1, 2 and 3 without
 * hand-written dup2 code. We do not set PR_SET_CHILD_SUBREAPER: orphans
 * would then become keeper's children, and libuv only reaps the pids it
 * spawned, so they would linger as zombies. Escaped grandchildren are found
 * by the environment they inherit instead (child_sweep()).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "sentinel.h"
#include "util.h"

enum { P_OUT, P_ERR, P_EV, P_N };

struct child {
	uv_process_t		 proc;
	uv_pipe_t		 pipes[P_N];
	uv_timer_t		 timer;
	struct child_cbs	 cbs;
	struct child_result	 res;
	char			*run_id, *data;
	char			 line[CHILD_LINE_MAX + 1];	/* event line */
	size_t			 llen;
	int			 ldrop;		/* dropping an overlong tail */
	int			 open_pipes;
	int			 exited;
	int			 reported;
	int			 handles;	/* still to close */
	int64_t			 start_ms;
};

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
	return sb_detach(&sb);
}

static void
cap_release(struct child_capture *c)
{
	free(c->head);
	free(c->tail);
	memset(c, 0, sizeof(*c));
}

int
child_is_no_work(const char *s, const char **rest)
{
	static const char word[] = "no-work";

	while (*s && isspace((unsigned char)*s))
		s++;
	for (size_t i = 0; i < sizeof(word) - 1; i++)
		if (tolower((unsigned char)s[i]) != word[i])
			return 0;
	s += sizeof(word) - 1;
	/* A word: NO-WORKER or NO-WORK_X is something else. */
	if (isalnum((unsigned char)*s) || *s == '_')
		return 0;
	if (rest)
		*rest = s;
	return 1;
}

enum outcome
child_outcome(const struct child_result *r)
{
	if (r->timed_out)
		return OUTCOME_KILLED;
	if (!r->exited || r->exit_code != 0 || r->term_signal != 0)
		return OUTCOME_FAILED;
	if (r->out.head && child_is_no_work(r->out.head, NULL))
		return OUTCOME_NO_WORK;
	return OUTCOME_DONE;
}

static int
env_has(const char *env, size_t len, const char *kv)
{
	size_t n = strlen(kv);

	for (const char *p = env; p < env + len; p += strlen(p) + 1)
		if ((size_t)(env + len - p) >= n && strcmp(p, kv) == 0)
			return 1;
	return 0;
}

int
child_sweep(const char *run_id, const char *data)
{
	char *want_id = xasprintf("KEEPER_RUN_ID=%s", run_id);
	char *want_data = xasprintf("KEEPER_DATA=%s", data);
	char path[64], *env;
	struct dirent *e;
	pid_t self = getpid();
	int fd, n = 0;
	ssize_t len;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		goto done;
	env = xmalloc(256 * 1024);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end != '\0' || pid <= 1 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;	/* gone, or not ours to read */
		len = read(fd, env, 256 * 1024 - 1);
		close(fd);
		if (len <= 0)
			continue;
		env[len] = '\0';
		if (env_has(env, (size_t)len, want_id) &&
		    env_has(env, (size_t)len, want_data) &&
		    kill((pid_t)pid, SIGKILL) == 0)
			n++;
	}
	free(env);
	closedir(d);
done:
	free(want_id);
	free(want_data);
	return n;
}

static void
on_close(uv_handle_t *h)
{
	struct child *c = h->data;

	if (--c->handles == 0) {
		cap_release(&c->res.out);
		cap_release(&c->res.err);
		free(c->run_id);
		free(c->data);
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

static void
emit_line(struct child *c)
{
	char *sp;

	c->line[c->llen] = '\0';
	if (c->llen > 0 && c->line[c->llen - 1] == '\r')
		c->line[--c->llen] = '\0';
	if (c->llen == 0)
		return;
	sp = strchr(c->line, ' ');
	if (sp)
		*sp++ = '\0';
	if (strcmp(c->line, "usage") == 0 && sp) {
		long p = -1, q = -1;

		if (sscanf(sp, "%ld %ld", &p, &q) == 2) {
			c->res.tokens_prompt = (c->res.tokens_prompt > 0 ?
			    c->res.tokens_prompt : 0) + p;
			c->res.tokens_completion = (c->res.tokens_completion >
			    0 ? c->res.tokens_completion : 0) + q;
		}
	}
	if (c->cbs.on_event)
		c->cbs.on_event(c, c->line, sp ? sp : "", c->cbs.arg);
}

static void
events_in(struct child *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (!c->ldrop)
				emit_line(c);
			c->llen = 0;
			c->ldrop = 0;
		} else if (c->ldrop) {
			continue;
		} else if (c->llen < CHILD_LINE_MAX) {
			c->line[c->llen++] = p[i] ? p[i] : ' ';
		} else {
			/* Over-long: keep the first CHILD_LINE_MAX bytes. */
			emit_line(c);
			c->llen = 0;
			c->ldrop = 1;
		}
	}
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
		if (i == P_OUT)
			cap_add(&c->res.out, buf->base, (size_t)n);
		else if (i == P_ERR)
			cap_add(&c->res.err, buf->base, (size_t)n);
		else
			events_in(c, buf->base, (size_t)n);
		return;
	}
	if (n == 0)
		return;
	if (i == P_EV && c->llen > 0 && !c->ldrop)
		emit_line(c);	/* a last line without its newline */
	close_pipe(c, i);
	maybe_report(c);
}

static void
kill_group(struct child *c)
{
	pid_t pid = c->proc.pid;

	if (pid > 0)
		(void)kill(-pid, SIGKILL);
}

static void
exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct child *c = p->data;

	c->exited = 1;
	c->res.exited = sig == 0;
	c->res.exit_code = (int)status;
	c->res.term_signal = sig;
	/* The def is over: nothing of its group outlives the tick, and the
	 * pipes reach EOF even when a straggler still held them. */
	kill_group(c);
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
	if (c->reported)
		return;
	kill_group(c);
	if (c->run_id && c->data)
		(void)child_sweep(c->run_id, c->data);
}

pid_t
child_pid(const struct child *c)
{
	return c->proc.pid;
}

int
child_start(uv_loop_t *loop, const struct child_opts *o,
    const struct child_cbs *cbs, struct child **out, char *err,
    size_t errlen)
{
	struct child *c = xcalloc(1, sizeof(*c));
	uv_process_options_t po;
	uv_stdio_container_t io[4];
	int rc, i;

	*out = NULL;
	c->cbs = *cbs;
	c->res.tokens_prompt = c->res.tokens_completion = -1;
	c->run_id = o->run_id ? xstrdup(o->run_id) : NULL;
	c->data = o->data ? xstrdup(o->data) : NULL;
	for (i = 0; i < P_N; i++) {
		uv_pipe_init(loop, &c->pipes[i], 0);
		c->pipes[i].data = c;
	}
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->proc.data = c;
	c->handles = P_N + 2;	/* pipes, timer, process */

	memset(&po, 0, sizeof(po));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[1].data.stream = (uv_stream_t *)&c->pipes[P_OUT];
	io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[2].data.stream = (uv_stream_t *)&c->pipes[P_ERR];
	io[3].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	io[3].data.stream = (uv_stream_t *)&c->pipes[P_EV];
	po.file = o->file;
	po.args = o->argv;
	po.env = o->env;
	po.cwd = o->cwd;
	po.stdio = io;
	po.stdio_count = 4;
	po.flags = UV_PROCESS_DETACHED;
	po.exit_cb = exit_cb;

	c->start_ms = util_mono_ms();
	if ((rc = uv_spawn(loop, &c->proc, &po)) != 0) {
		snprintf(err, errlen, "spawn %s: %s", o->file, uv_strerror(rc));
		/* A failed spawn never fires exit_cb; close what we made. */
		for (i = 0; i < P_N; i++)
			uv_close((uv_handle_t *)&c->pipes[i], on_close);
		uv_close((uv_handle_t *)&c->timer, on_close);
		if (!uv_is_closing((uv_handle_t *)&c->proc))
			uv_close((uv_handle_t *)&c->proc, on_close);
		else
			c->handles--;
		return -1;
	}
	c->open_pipes = P_N;
	for (i = 0; i < P_N; i++)
		uv_read_start((uv_stream_t *)&c->pipes[i], alloc_cb, read_cb);
	if (o->timeout_ms > 0)
		uv_timer_start(&c->timer, timeout_cb, (uint64_t)o->timeout_ms,
		    0);
	*out = c;
	return 0;
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
