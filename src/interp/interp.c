/*
 * interp: the run loop of the def interpreter (see exec.h): one exec_run()
 * takes a def's steps in document order, each by its kind (shstep.c,
 * llmstep.c, or skipped for :if-env), telling what happens as it goes
 * (telemetry.c), and copies the last output that counts (output.c) to the
 * result descriptor. For its duration this process is a child subreaper
 * and catches SIGCHLD through a self-pipe, which the shell steps poll.
 * exec_warm() compiles the default patterns once for a zygote that forks
 * many runs. The `keeper exec-def` command that wraps it all is
 * src/cmd/cmd-exec-def.c; keeper-exec.c is the interpreter's main.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec-int.h"
#include "redact.h"
#include "settings.h"

static int sigchld_w = -1;	/* write end of the SIGCHLD self-pipe */
/* The default step and thought patterns, compiled by exec_warm(). */
static pcre2_code *warm_step_re, *warm_thought_re;

void
exec__seterr(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

void
exec__setwhy(struct run *r, size_t i, int log, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->why, sizeof(r->why), "%s: ", r->def->steps[i].name);
	if (n < 0 || (size_t)n >= sizeof(r->why))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->why + n, sizeof(r->why) - (size_t)n, fmt, ap);
	va_end(ap);
	r->why_log = log;
}

/*
 * The reason event for a failed run: the step's own words when it set
 * them, else its error with the step named once (errors often start
 * with `step "NAME": `, which the name in front makes redundant).
 */
static void
send_reason(struct run *r, size_t i)
{
	char pre[NAME_MAX_EVENT + 16];
	const char *e = r->err;

	if (r->o->event_fd < 0)
		return;
	if (r->why[0] == '\0' && i < r->def->nsteps) {
		snprintf(pre, sizeof(pre), "step \"%s\": ",
		    r->def->steps[i].name);
		if (strncmp(e, pre, strlen(pre)) == 0)
			e += strlen(pre);
		exec__setwhy(r, i, 0, "%s", e[0] ? e : "failed");
	}
	if (r->why[0] == '\0')
		snprintf(r->why, sizeof(r->why), "%s", e[0] ? e : "failed");
	exec__emit(r, r->why_log ? EVENT_REASON_LOG : EVENT_REASON, r->why,
	    strlen(r->why));
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

static const struct settings no_settings;

/* :if-env NAME: the step runs only when NAME is set and not empty;
 * otherwise its output is its input, so the chain goes on. */
static int
skipped(struct run *r, size_t i)
{
	const char *var = def_arg(&r->def->steps[i], "if-env"), *v;
	char *msg;

	if (var == NULL || var[0] == '\0')
		return 0;
	if ((v = settings_get(r->set, var)) != NULL)
		return 0;
	if (i > 0 && r->outs[i - 1].fd != -1) {
		r->outs[i].fd = fcntl(r->outs[i - 1].fd, F_DUPFD_CLOEXEC, 0);
		r->outs[i].size = r->outs[i - 1].size;
	}
	msg = xasprintf("%s skipped: %s is not set", r->def->steps[i].name,
	    var);
	exec__emit(r, EVENT_STEP, msg, strlen(msg));
	free(msg);
	return 1;
}

/* The crew's #+REDACT: patterns, one a line in KEEPER_REDACT, on top of
 * the built-in ones. NULL (built-ins only) when there are none. */
static struct redactor *
redactor_from_env(const struct settings *s)
{
	const char *v = s->redact;
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

/* pat compiled, or for none the default: the one exec_warm() compiled
 * when there is one (not to be freed), else dflt compiled now. */
static pcre2_code *
pattern(const char *pat, const char *dflt, pcre2_code *warm,
    const char *what, char *err, size_t errlen)
{
	if (pat == NULL && warm != NULL)
		return warm;
	return telescan_compile(pat ? pat : dflt, what, err, errlen);
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
	/* A caller without settings (a test) runs in an empty environment. */
	r.set = opts->settings ? opts->settings : &no_settings;
	tmp = r.set->tmpdir;
	r.tmpdir = opts->tmpdir ? opts->tmpdir : tmp ? tmp : "/tmp";

	r.step_re = pattern(opts->step_pattern, EXEC_STEP_PATTERN,
	    warm_step_re, "step", err, errlen);
	if (r.step_re == NULL)
		goto done;
	r.thought_re = pattern(opts->thought_pattern, EXEC_THOUGHT_PATTERN,
	    warm_thought_re, "thought", err, errlen);
	if (r.thought_re == NULL)
		goto done;
	telescan_init(&r.scan, r.step_re, r.thought_re);
	r.rd = redactor_from_env(r.set);

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
		exec__step_begun(&r, s->name);
		t0 = util_mono_ms();
		telescan_reset(&r.scan);
		if (skipped(&r, i))
			st = ST_OK;
		else if (s->lang == DEF_LLM)
			st = exec__run_llm(&r, i);
		else
			st = exec__run_shell(&r, i, s->lang == DEF_BASH ?
			    "bash" : "/bin/sh");
		exec__step_ended(&r, s->name, st, util_mono_ms() - t0);
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
	if (r.nran > 0 && exec__copy_out(r.outs[r.nran - 1].fd,
	    r.outs[r.nran - 1].size, out_fd) == -1) {
		if (ret != EXEC_FAILED)
			snprintf(err, errlen, "cannot write the result: %s",
			    strerror(errno));
		ret = EXEC_FAILED;
	}
	if (ret == EXEC_FAILED)
		send_reason(&r, r.nran > 0 ? r.nran - 1 : def->nsteps);
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
	telescan_release(&r.scan);
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
		warm_step_re = telescan_compile(EXEC_STEP_PATTERN, "step", err,
		    sizeof(err));
	if (warm_thought_re == NULL)
		warm_thought_re = telescan_compile(EXEC_THOUGHT_PATTERN,
		    "thought", err, sizeof(err));
	redact_warm();
}
