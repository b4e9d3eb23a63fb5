/*
 * exec: run an agent def's steps once (see exec.h), and the exec-def
 * subcommand that wraps it.
 *
 * Process model. exec-def is (a member of) the run's process group and
 * its steps stay in that group, so the daemon's killpg() at the run
 * deadline reaches every one of them. A step's own :timeout therefore
 * cannot kill a group of the step's own; instead this process is a child
 * subreaper: whatever a step leaves behind is reparented here, and at a
 * step's deadline, and again when it ends, every remaining descendant is
 * found in /proc and killed. Only one step runs at a time, so all
 * descendants belong to it.
 *
 * Output. A step's stdout goes through a pipe into an unlinked temporary
 * file, made when the first byte arrives (the next step's stdin, and the
 * def's result when it is the last step) while its lines are scanned for
 * telemetry as they stream. Memory stays bounded whatever a step prints;
 * only {{placeholders}} of an llm step read an output back into memory,
 * up to EXEC_TEMPLATE_MAX bytes.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cmd.h"
#include "def.h"
#include "dur.h"
#include "event.h"
#include "exec.h"
#include "fs.h"
#include "llm.h"
#include "nowork.h"
#include "proc.h"
#include "redact.h"
#include "util.h"

/* A shell step's body travels as one argv string (sh -c BODY); Linux caps
 * a single argument at 128 KiB. */
#define SHELL_BODY_MAX	(120u * 1024)
#define NAME_MAX_EVENT	1024	/* step names in events are cut here */

enum step_st { ST_OK, ST_NO_WORK, ST_FAILED, ST_KILLED };

static const char *const st_names[] = {
	[ST_OK] = "ok", [ST_NO_WORK] = "no_work", [ST_FAILED] = "failed",
	[ST_KILLED] = "killed",
};

struct out {			/* one step's output */
	int	 fd;		/* unlinked temp file, -1 until the step ran */
	off_t	 size;
};

struct scan {			/* splits a stream into lines for telemetry */
	char	 line[EVENT_LINE_MAX];
	size_t	 len;
	int	 overflow;	/* line longer than line[]: the rest is dropped */
};

struct run {
	const struct agent_def	*def;
	const struct exec_opts	*o;
	struct out		*outs;
	size_t			 nran;
	pcre2_code		*step_re;
	pcre2_code		*thought_re;
	pcre2_match_data	*md;
	const char		*tmpdir;
	struct scan		 scan;
	struct redactor		*rd;		/* for event text and errors */
	int			 sigfd;		/* read end of the SIGCHLD self-pipe */
	char			*err;
	size_t			 errlen;
	int			 code;		/* failed step's exit status */
};

static int sigchld_w = -1;	/* write end of the SIGCHLD self-pipe */
/* The default step and thought patterns, compiled by exec_warm(). */
static pcre2_code *warm_step_re, *warm_thought_re;

/* ---------------------------------------------------------------- pure */

static const char *
trim(const char *s, const char *e, size_t *len)
{
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*len = (size_t)(e - s);
	return s;
}

int
exec_template(const char *tmpl, exec_lookup_fn lookup, void *arg,
    struct sb *out, char *err, size_t errlen)
{
	const char *p = tmpl, *open, *close, *q, *name;
	size_t nlen, vlen;
	char *key, *val;
	int rc;

	while ((open = strstr(p, "{{")) != NULL) {
		sb_add(out, p, (size_t)(open - p));
		close = NULL;
		for (q = open + 2; *q != '\0' && *q != '\n'; q++) {
			if (*q == '{')
				break;
			if (q[0] == '}' && q[1] == '}') {
				close = q;
				break;
			}
		}
		if (close == NULL && *q == '{') {
			/* "{{{x}}": the placeholder may start one brace on */
			sb_addc(out, '{');
			p = open + 1;
			continue;
		}
		name = close ? trim(open + 2, close, &nlen) : NULL;
		if (close == NULL || nlen == 0) {
			sb_add(out, "{{", 2);	/* not a placeholder */
			p = open + 2;
			continue;
		}
		key = xstrndup(name, nlen);
		val = NULL;
		vlen = 0;
		rc = lookup(arg, key, &val, &vlen, err, errlen);
		if (rc == -1)
			snprintf(err, errlen, "unknown placeholder {{%s}}", key);
		free(key);
		if (rc != 0) {
			free(val);
			return -1;
		}
		sb_add(out, val, vlen);
		free(val);
		p = close + 2;
	}
	sb_adds(out, p);
	return 0;
}

/* ------------------------------------------------------------- effects */

static void
seterr(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
seterr(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

static void
sigchld_handler(int sig)
{
	int saved = errno;
	char c = 0;

	(void)sig;
	if (sigchld_w != -1)
		(void)write(sigchld_w, &c, 1);
	errno = saved;
}

static int
tmpfile_open(struct run *r)
{
	char *path = xasprintf("%s/keeper-step-XXXXXX", r->tmpdir);
	int fd;

	fd = mkostemp(path, O_CLOEXEC);
	if (fd != -1)
		(void)unlink(path);
	free(path);
	return fd;
}

/* Telemetry ---------------------------------------------------------- */

static void
emit(struct run *r, const char *kind, const char *text, size_t len)
{
	char buf[EVENT_LINE_MAX], *red;
	size_t n;

	/* The daemon redacts again; this keeps secrets off the wire and
	 * out of a terminal someone is sharing. */
	red = redact_apply(r->rd, text, len, &len);
	if (r->o->event_fd >= 0) {
		n = event_line(buf, kind, red, len);
		/* Telemetry is best effort: a daemon that went away must not
		 * fail the run. */
		(void)fs_write_all(r->o->event_fd, buf, n);
	} else
		fprintf(stderr, "   %s: %.*s\n", kind, (int)len, red);
	free(red);
}

static void
step_begun(struct run *r, const char *name)
{
	size_t len = strlen(name);

	if (len > NAME_MAX_EVENT)
		len = NAME_MAX_EVENT;
	if (r->o->event_fd >= 0)
		emit(r, EVENT_STEP_BEGIN, name, len);
	else
		fprintf(stderr, "== %.*s\n", (int)len, name);
}

static void
step_ended(struct run *r, const char *name, enum step_st st, int64_t ms)
{
	size_t len = strlen(name);
	char text[NAME_MAX_EVENT + 64];
	int n;

	if (len > NAME_MAX_EVENT)
		len = NAME_MAX_EVENT;
	if (r->o->event_fd < 0) {
		fprintf(stderr, "== %.*s: %s (%lld ms)\n", (int)len, name,
		    st_names[st], (long long)ms);
		return;
	}
	n = event_step_end_text(text, sizeof(text), name, len, st_names[st],
	    ms);
	emit(r, EVENT_STEP_END, text, (size_t)n);
}

static void
scan_match(struct run *r, const char *line, size_t len)
{
	static const char *const kinds[] = { EVENT_STEP, EVENT_THOUGHT };
	pcre2_code *res[2] = { r->step_re, r->thought_re };
	PCRE2_SIZE *ov;
	int rc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (int k = 0; k < 2; k++) {
		rc = pcre2_match(res[k], (PCRE2_SPTR)line, len, 0, 0, r->md,
		    NULL);
		if (rc <= 0)
			continue;
		ov = pcre2_get_ovector_pointer(r->md);
		if (rc >= 2 && ov[2] != PCRE2_UNSET)
			emit(r, kinds[k], line + ov[2], ov[3] - ov[2]);
		else
			emit(r, kinds[k], line + ov[0], ov[1] - ov[0]);
	}
}

static void
scan_feed(struct run *r, const char *p, size_t len)
{
	struct scan *s = &r->scan;
	const char *nl;
	size_t take;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		take = nl ? (size_t)(nl - p) : len;
		if (!s->overflow) {
			if (take > sizeof(s->line) - s->len) {
				memcpy(s->line + s->len, p,
				    sizeof(s->line) - s->len);
				s->len = sizeof(s->line);
				s->overflow = 1;
			} else {
				memcpy(s->line + s->len, p, take);
				s->len += take;
			}
		}
		if (nl == NULL)
			return;
		scan_match(r, s->line, s->len);
		s->len = 0;
		s->overflow = 0;
		p = nl + 1;
		len -= take + 1;
	}
}

static void
scan_flush(struct run *r)
{
	if (r->scan.len > 0)
		scan_match(r, r->scan.line, r->scan.len);
	r->scan.len = 0;
	r->scan.overflow = 0;
}

/* Processes ---------------------------------------------------------- */

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

/* Shell steps -------------------------------------------------------- */

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
spawn_step(const char *shell, const char *body, const char *dir, int in,
    int out, pid_t *pid)
{
	char *argv[] = { (char *)shell, "-c", (char *)body, NULL };
	char path[PATH_MAX];
	volatile int err = 0;
	sigset_t all, old;
	pid_t p;
	int rc;

	/* What posix_spawnp would run. */
	if ((rc = fs_which(shell, path, sizeof(path))) != 0)
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

/* The step's stdout into its temp file, made on the first byte: a step
 * that prints nothing (most `true`-like steps) costs no file create. */
static int
out_write(struct run *r, struct out *o, const char *buf, size_t n)
{
	if (o->fd == -1 && (o->fd = tmpfile_open(r)) == -1)
		return -1;
	if (fs_write_all(o->fd, buf, n) == -1)
		return -1;
	o->size += (off_t)n;
	return 0;
}

static enum step_st
run_shell(struct run *r, size_t i, const char *shell)
{
	const struct def_step *s = &r->def->steps[i];
	struct out *o = &r->outs[i];
	int outp[2] = { -1, -1 }, in = -1, st = 0, rc;
	int main_done = 0, eof = 0, timed_out = 0, wrote_err = 0, status = 0;
	int64_t deadline = -1, left;
	struct nowork nw = { 0 };
	struct pollfd pfd[2];
	enum step_st ret = ST_FAILED;
	char buf[65536], dbuf[32], *dir = NULL;
	ssize_t n;
	pid_t pid, p;

	if (strlen(s->body) > SHELL_BODY_MAX) {
		seterr(r, "step \"%s\": body over %u bytes; move it into a "
		    "script in the repo", s->name, SHELL_BODY_MAX);
		return ST_FAILED;
	}
	dir = s->dir && s->dir[0] ? util_resolve(r->o->repo, s->dir) :
	    xstrdup(r->o->repo);
	if (i > 0 && r->outs[i - 1].fd != -1) {
		in = r->outs[i - 1].fd;
		(void)lseek(in, 0, SEEK_SET);
	} else if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		seterr(r, "cannot open /dev/null: %s", strerror(errno));
		goto done;
	}
	if (pipe2(outp, O_CLOEXEC) == -1) {
		seterr(r, "cannot make a pipe: %s", strerror(errno));
		goto done;
	}
	if ((rc = spawn_step(shell, s->body, dir, in, outp[1], &pid)) != 0) {
		/* One errno for both: a directory that cannot be opened is
		 * the likelier culprit, and the one to name. */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd == -1) {
			seterr(r, "step \"%s\": cannot enter :dir %s: %s",
			    s->name, dir, strerror(errno));
			goto done;
		}
		close(dfd);
		seterr(r, "step \"%s\": cannot run %s: %s", s->name, shell,
		    strerror(rc));
		goto done;
	}
	close(outp[1]);
	outp[1] = -1;

	if (s->timeout_ms > 0)
		deadline = util_mono_ms() + s->timeout_ms;
	for (;;) {
		if (eof && main_done)
			break;
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
			seterr(r, "poll: %s", strerror(errno));
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
				scan_flush(r);
				continue;
			}
			if (!wrote_err && out_write(r, o, buf, (size_t)n) == -1) {
				seterr(r, "step \"%s\": cannot store its output "
				    "in %s: %s", s->name, r->tmpdir,
				    strerror(errno));
				wrote_err = 1;
				break;
			}
			nowork_feed(&nw, buf, (size_t)n);
			scan_feed(r, buf, (size_t)n);
		}
	}
	kill_descendants();
	if (wrote_err)
		goto done;
	if (timed_out) {
		scan_flush(r);
		seterr(r, "step \"%s\" timed out after %s and was killed",
		    s->name, dur_format(s->timeout_ms, dbuf, sizeof(dbuf)));
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
		seterr(r, "step \"%s\" exited with status %d", s->name,
		    WEXITSTATUS(st));
		r->code = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		seterr(r, "step \"%s\" was killed by signal %d (%s)", s->name,
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

/* LLM steps ---------------------------------------------------------- */

/* An earlier step's output, read back for a placeholder. */
static int
read_output(struct run *r, size_t j, char **val, size_t *len, char *err,
    size_t errlen)
{
	const struct out *o = &r->outs[j];
	size_t got = 0;
	ssize_t n;

	if (o->size > (off_t)EXEC_TEMPLATE_MAX) {
		snprintf(err, errlen, "output of step \"%s\" is %lld bytes, "
		    "over the %u a placeholder may insert",
		    r->def->steps[j].name, (long long)o->size,
		    EXEC_TEMPLATE_MAX);
		return -2;
	}
	*val = xmalloc((size_t)o->size + 1);
	while (got < (size_t)o->size) {
		n = pread(o->fd, *val + got, (size_t)o->size - got, (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "cannot read the output of step "
			    "\"%s\": %s", r->def->steps[j].name,
			    n == 0 ? "short file" : strerror(errno));
			free(*val);
			*val = NULL;
			return -2;
		}
		got += (size_t)n;
	}
	/* Like $(...) in the shell: the trailing newlines go, so that
	 * "Count: {{prev}} words" reads as written. */
	while (got > 0 && (*val)[got - 1] == '\n')
		got--;
	(*val)[got] = '\0';
	*len = got;
	return 0;
}

struct tctx {
	struct run	*r;
	size_t		 i;	/* the step being expanded */
};

/* {{prev}}, {{agent}}, {{state}}, {{hits}}, then earlier steps by name
 * (the nearest one when names repeat). */
static int
tlookup(void *arg, const char *name, char **val, size_t *len, char *err,
    size_t errlen)
{
	struct tctx *t = arg;
	struct run *r = t->r;
	const char *v = NULL;
	size_t j;

	if (strcmp(name, "prev") == 0) {
		if (t->i == 0) {
			*val = xstrdup("");
			*len = 0;
			return 0;
		}
		return read_output(r, t->i - 1, val, len, err, errlen);
	}
	if (strcmp(name, "agent") == 0)
		v = r->o->agent;
	else if (strcmp(name, "state") == 0)
		v = r->o->state;
	else if (strcmp(name, "hits") == 0)
		v = r->o->hits;
	if (v != NULL || strcmp(name, "agent") == 0 ||
	    strcmp(name, "state") == 0 || strcmp(name, "hits") == 0) {
		*val = xstrdup(v ? v : "");
		*len = strlen(*val);
		return 0;
	}
	for (j = t->i; j-- > 0;)
		if (r->def->steps[j].name &&
		    strcmp(r->def->steps[j].name, name) == 0)
			return read_output(r, j, val, len, err, errlen);
	for (j = t->i; j < r->def->nsteps; j++)
		if (r->def->steps[j].name &&
		    strcmp(r->def->steps[j].name, name) == 0) {
			snprintf(err, errlen, "placeholder {{%s}} names a step "
			    "that has not run yet", name);
			return -2;
		}
	return -1;
}

static int
expand(struct run *r, size_t i, const char *tmpl, struct sb *out)
{
	struct tctx t = { r, i };
	char err[512];

	if (exec_template(tmpl, tlookup, &t, out, err, sizeof(err)) == 0)
		return 0;
	seterr(r, "step \"%s\": %s", r->def->steps[i].name, err);
	return -1;
}

static enum step_st
run_llm(struct run *r, size_t i)
{
	const struct def_step *s = &r->def->steps[i];
	struct out *o = &r->outs[i];
	struct sb prompt = { 0 }, system = { 0 };
	struct llm_request req;
	struct llm_reply rep;
	struct nowork nw = { 0 };
	enum step_st ret = ST_FAILED;
	const char *sys, *url;
	char err[1024], usage[80], *u;
	size_t clen;
	int n;

	memset(&rep, 0, sizeof(rep));
	memset(&req, 0, sizeof(req));
	if (expand(r, i, s->body, &prompt) == -1)
		goto done;
	sys = s->system ? s->system : r->def->system;
	if (sys && expand(r, i, sys, &system) == -1)
		goto done;
	url = getenv("KEEPER_LLM_URL");
	if (url == NULL || url[0] == '\0') {
		seterr(r, "step \"%s\": KEEPER_LLM_URL is not set", s->name);
		goto done;
	}
	req.url = url;
	req.key = getenv("KEEPER_LLM_KEY");
	if (req.key && req.key[0] == '\0')
		req.key = NULL;
	req.model = s->model ? s->model : r->def->model;
	if (req.model == NULL || req.model[0] == '\0')
		req.model = getenv("KEEPER_LLM_MODEL");
	if (req.model == NULL || req.model[0] == '\0') {
		seterr(r, "step \"%s\": no model: set :model, #+MODEL: or "
		    "KEEPER_LLM_MODEL", s->name);
		goto done;
	}
	req.system = sys ? system.buf ? system.buf : "" : NULL;
	req.prompt = prompt.buf ? prompt.buf : "";
	req.timeout_ms = s->timeout_ms > 0 ? s->timeout_ms :
	    EXEC_LLM_TIMEOUT_MS;
	if (llm_chat(&req, &rep, err, sizeof(err)) == -1) {
		u = redact_apply(r->rd, err, strlen(err), NULL);
		seterr(r, "step \"%s\": %s", s->name, u);
		free(u);
		goto done;
	}
	n = event_usage_text(usage, sizeof(usage), rep.prompt_tokens,
	    rep.completion_tokens, rep.total_tokens);
	emit(r, EVENT_USAGE, usage, (size_t)n);
	clen = strlen(rep.content);
	if (out_write(r, o, rep.content, clen) == -1) {
		seterr(r, "step \"%s\": cannot store its output in %s: %s",
		    s->name, r->tmpdir, strerror(errno));
		goto done;
	}
	scan_feed(r, rep.content, clen);
	scan_flush(r);
	nowork_feed(&nw, rep.content, clen);
	ret = nowork_result(&nw) ? ST_NO_WORK : ST_OK;
done:
	llm_reply_release(&rep);
	sb_release(&prompt);
	sb_release(&system);
	return ret;
}

/* :if-env NAME: the step runs only when NAME is set and not empty;
 * otherwise its output is its input, so the chain goes on. */
static int
skipped(struct run *r, size_t i)
{
	const char *var = def_arg(&r->def->steps[i], "if-env"), *v;
	char *msg;

	if (var == NULL || var[0] == '\0')
		return 0;
	if ((v = getenv(var)) != NULL && v[0] != '\0')
		return 0;
	if (i > 0 && r->outs[i - 1].fd != -1) {
		r->outs[i].fd = fcntl(r->outs[i - 1].fd, F_DUPFD_CLOEXEC, 0);
		r->outs[i].size = r->outs[i - 1].size;
	}
	msg = xasprintf("%s skipped: %s is not set", r->def->steps[i].name,
	    var);
	emit(r, EVENT_STEP, msg, strlen(msg));
	free(msg);
	return 1;
}

/* The run ------------------------------------------------------------ */

/* The crew's #+REDACT: patterns, one a line in KEEPER_REDACT, on top of
 * the built-in ones. NULL (built-ins only) when there are none. */
static struct redactor *
redactor_from_env(void)
{
	const char *v = getenv("KEEPER_REDACT");
	struct redactor *rd;
	char **pats = NULL, *copy, *line, *save = NULL, err[512];
	size_t n = 0;

	if (v == NULL || v[0] == '\0')
		return NULL;
	copy = xstrdup(v);
	for (line = strtok_r(copy, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		pats = xreallocarray(pats, n + 1, sizeof(*pats));
		pats[n++] = line;
	}
	rd = redact_new((const char *const *)pats, n, err, sizeof(err));
	if (rd == NULL)
		fprintf(stderr, "keeper exec-def: ignoring KEEPER_REDACT: %s\n",
		    err);
	free(pats);
	free(copy);
	return rd;
}

static pcre2_code *
compile(const char *pat, const char *what, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *re;
	int ec;

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec,
	    &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "bad %s pattern \"%s\": %s at offset %zu",
		    what, pat, (char *)msg, (size_t)off);
		return NULL;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);	/* optional */
	return re;
}

/* pat compiled, or for none the default: the one exec_warm() compiled
 * when there is one (not to be freed), else dflt compiled now. */
static pcre2_code *
pattern(const char *pat, const char *dflt, pcre2_code *warm,
    const char *what, char *err, size_t errlen)
{
	if (pat == NULL && warm != NULL)
		return warm;
	return compile(pat ? pat : dflt, what, err, errlen);
}

static int
copy_out(int from, off_t size, int to)
{
	char buf[65536];
	off_t at = 0;
	ssize_t n;

	while (at < size) {
		n = pread(from, buf, sizeof(buf), at);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (fs_write_all(to, buf, (size_t)n) == -1)
			return -1;
		at += n;
	}
	return 0;
}

int
exec_run(const struct agent_def *def, const struct exec_opts *opts,
    int out_fd, char *err, size_t errlen)
{
	struct sigaction sa, old_chld, old_pipe;
	struct run r;
	const struct def_step *s;
	const char *tmp;
	int sp[2] = { -1, -1 }, ret = -1, handlers = 0;
	enum step_st st;
	int64_t t0;

	memset(&r, 0, sizeof(r));
	r.def = def;
	r.o = opts;
	r.err = err;
	r.errlen = errlen;
	r.sigfd = -1;
	err[0] = '\0';
	tmp = getenv("TMPDIR");
	r.tmpdir = opts->tmpdir ? opts->tmpdir :
	    tmp && tmp[0] ? tmp : "/tmp";

	r.step_re = pattern(opts->step_pattern, EXEC_STEP_PATTERN,
	    warm_step_re, "step", err, errlen);
	if (r.step_re == NULL)
		goto done;
	r.thought_re = pattern(opts->thought_pattern, EXEC_THOUGHT_PATTERN,
	    warm_thought_re, "thought", err, errlen);
	if (r.thought_re == NULL)
		goto done;
	r.md = pcre2_match_data_create(16, NULL);
	r.rd = redactor_from_env();

	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		goto done;
	}
	r.sigfd = sp[0];
	sigchld_w = sp[1];
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sigchld_handler;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	(void)sigaction(SIGCHLD, &sa, &old_chld);
	/* A reader of the result or of the events that went away is an
	 * error to report, not a reason to die. */
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	(void)sigaction(SIGPIPE, &sa, &old_pipe);
	handlers = 1;
#ifdef PR_SET_CHILD_SUBREAPER
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif

	r.outs = xcalloc(def->nsteps ? def->nsteps : 1, sizeof(*r.outs));
	for (size_t i = 0; i < def->nsteps; i++)
		r.outs[i].fd = -1;
	ret = EXEC_OK;
	for (size_t i = 0; i < def->nsteps; i++) {
		s = &def->steps[i];
		step_begun(&r, s->name);
		t0 = util_mono_ms();
		memset(&r.scan, 0, sizeof(r.scan));
		if (skipped(&r, i))
			st = ST_OK;
		else if (s->lang == DEF_LLM)
			st = run_llm(&r, i);
		else
			st = run_shell(&r, i, s->lang == DEF_BASH ? "bash" :
			    "/bin/sh");
		step_ended(&r, s->name, st, util_mono_ms() - t0);
		r.nran = i + 1;
		if (st == ST_FAILED || st == ST_KILLED) {
			ret = EXEC_FAILED;
			break;
		}
		if (st == ST_NO_WORK) {
			ret = EXEC_NO_WORK;
			break;
		}
	}
	if (r.nran > 0 && copy_out(r.outs[r.nran - 1].fd,
	    r.outs[r.nran - 1].size, out_fd) == -1) {
		if (ret != EXEC_FAILED)
			snprintf(err, errlen, "cannot write the result: %s",
			    strerror(errno));
		ret = EXEC_FAILED;
	}
	if (opts->exit_code != NULL)
		*opts->exit_code = ret == EXEC_FAILED ? (r.code > 0 ? r.code :
		    1) : 0;
done:
	if (handlers) {
		(void)sigaction(SIGCHLD, &old_chld, NULL);
		(void)sigaction(SIGPIPE, &old_pipe, NULL);
	}
	sigchld_w = -1;
	if (sp[0] != -1)
		close(sp[0]);
	if (sp[1] != -1)
		close(sp[1]);
	for (size_t i = 0; r.outs && i < def->nsteps; i++)
		if (r.outs[i].fd != -1)
			close(r.outs[i].fd);
	free(r.outs);
	if (err[0] != '\0') {
		char *red = redact_apply(r.rd, err, strlen(err), NULL);

		snprintf(err, errlen, "%s", red);
		free(red);
	}
	redact_free(r.rd);
	pcre2_match_data_free(r.md);
	if (r.step_re != warm_step_re)
		pcre2_code_free(r.step_re);
	if (r.thought_re != warm_thought_re)
		pcre2_code_free(r.thought_re);
	return ret;
}

void
exec_warm(void)
{
	char err[512];

	if (warm_step_re == NULL)
		warm_step_re = compile(EXEC_STEP_PATTERN, "step", err,
		    sizeof(err));
	if (warm_thought_re == NULL)
		warm_thought_re = compile(EXEC_THOUGHT_PATTERN, "thought", err,
		    sizeof(err));
	redact_warm();
}

/* keeper exec-def ---------------------------------------------------- */

static void
exec_usage(FILE *f)
{
	fprintf(f, "usage: keeper exec-def FILE [--state STATE] [--repo DIR]\n");
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* Set name to val unless the daemon (or the user) already did. */
static void
env_default(const char *name, const char *val)
{
	const char *cur = getenv(name);

	if (cur == NULL || cur[0] == '\0')
		(void)setenv(name, val, 1);
}

/* KEEPER_EVENT_FD, validated; -1 when absent or unusable. */
static int
event_fd_from_env(void)
{
	const char *v = getenv("KEEPER_EVENT_FD");
	char *end;
	long fd;

	if (v == NULL || v[0] == '\0')
		return -1;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno || *end != '\0' || fd < 0 || fd > INT_MAX ||
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "keeper exec-def: ignoring KEEPER_EVENT_FD=%s: "
		    "not an open descriptor\n", v);
		return -1;
	}
	return (int)fd;
}

int
cmd_exec_def(int argc, char **argv)
{
	const char *file = NULL, *state = NULL, *repo_arg = NULL, *v;
	struct agent_def *def = NULL;
	struct exec_opts o;
	struct diag d = { 0 };
	char err[1024], *repo = NULL, *agent = NULL, *tmpdata = NULL, *p;
	int rc = 1, status, code = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			exec_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--state") == 0 ||
		    strcmp(argv[i], "--repo") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "keeper exec-def: %s needs a "
				    "value\n", argv[i]);
				exec_usage(stderr);
				return EXIT_USAGE;
			}
			if (argv[i][2] == 's')
				state = argv[++i];
			else
				repo_arg = argv[++i];
		} else if (strncmp(argv[i], "--state=", 8) == 0)
			state = argv[i] + 8;
		else if (strncmp(argv[i], "--repo=", 7) == 0)
			repo_arg = argv[i] + 7;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "keeper exec-def: unknown option '%s'\n",
			    argv[i]);
			exec_usage(stderr);
			return EXIT_USAGE;
		} else if (file == NULL)
			file = argv[i];
		else {
			fprintf(stderr, "keeper exec-def: one def at a time\n");
			exec_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (file == NULL) {
		exec_usage(stderr);
		return EXIT_USAGE;
	}
	/* Steps' pipes and files must never land on 0-2. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return 1;

	status = def_load(file, &def, &d);
	for (size_t i = 0; i < d.n; i++) {
		p = diag_format(&d.items[i]);
		fprintf(stderr, "%s\n", p);
		free(p);
	}
	if (status != 0 || def == NULL) {
		rc = EXIT_CONFIG;
		goto done;
	}
	if ((repo = realpath(repo_arg ? repo_arg : ".", NULL)) == NULL) {
		fprintf(stderr, "keeper exec-def: %s: %s\n",
		    repo_arg ? repo_arg : ".", strerror(errno));
		rc = EXIT_USAGE;
		goto done;
	}

	/* The daemon sets these; by hand, sane stand-ins. */
	p = strrchr(file, '/');
	agent = xstrdup(p ? p + 1 : file);
	if ((p = strrchr(agent, '.')) != NULL && strcmp(p, ".org") == 0)
		*p = '\0';
	env_default("KEEPER_AGENT", agent);
	if (state)
		(void)setenv("KEEPER_STATE", state, 1);
	env_default("KEEPER_STATE", "manual");
	env_default("KEEPER_HITS", "0");
	env_default("KEEPER_REPEAT", "1");
	p = xasprintf("manual-%lld-%ld", (long long)util_now_ms(),
	    (long)getpid());
	env_default("KEEPER_RUN_ID", p);
	free(p);
	env_default("KEEPER_REPO", repo);
	if ((v = getenv("KEEPER_DATA")) == NULL || v[0] == '\0') {
		v = getenv("TMPDIR");
		tmpdata = xasprintf("%s/keeper-data-XXXXXX",
		    v && v[0] ? v : "/tmp");
		if (mkdtemp(tmpdata) == NULL) {
			fprintf(stderr, "keeper exec-def: cannot make a data "
			    "directory %s: %s\n", tmpdata, strerror(errno));
			free(tmpdata);
			tmpdata = NULL;
			goto done;
		}
		(void)setenv("KEEPER_DATA", tmpdata, 1);
	}

	memset(&o, 0, sizeof(o));
	o.repo = repo;
	o.agent = getenv("KEEPER_AGENT");
	o.state = getenv("KEEPER_STATE");
	o.hits = getenv("KEEPER_HITS");
	o.event_fd = event_fd_from_env();
	/* Steps do not get the descriptor; a nested keeper must not write
	 * to whatever a step opens under that number. */
	(void)unsetenv("KEEPER_EVENT_FD");
	v = getenv("KEEPER_STEP_PATTERN");
	o.step_pattern = v && v[0] ? v : NULL;
	v = getenv("KEEPER_THOUGHT_PATTERN");
	o.thought_pattern = v && v[0] ? v : NULL;

	if (o.event_fd < 0)
		fprintf(stderr, "exec-def: %s as %s (state %s, hits %s) in %s\n",
		    file, o.agent, o.state, o.hits, repo);
	o.exit_code = &code;
	status = exec_run(def, &o, STDOUT_FILENO, err, sizeof(err));
	if (status == EXEC_OK || status == EXEC_NO_WORK) {
		if (o.event_fd < 0)
			fprintf(stderr, "exec-def: %s\n", status == EXEC_OK ?
			    "done" : "no_work");
		rc = 0;
	} else {
		fprintf(stderr, "keeper exec-def: %s\n", err[0] ? err :
		    "the run failed");
		if (o.event_fd < 0)
			fprintf(stderr, "exec-def: failed\n");
		/* The failed step's own status, so history shows what the
		 * agent's script said, not just that it failed. */
		rc = code > 0 && code < 256 ? code : 1;
	}
done:
	if (tmpdata) {
		(void)nftw(tmpdata, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmpdata);
	}
	free(agent);
	free(repo);
	def_free(def);
	diag_release(&d);
	return rc;
}
