/*
 * exec-int: what the def interpreter's files share, and nothing outside
 * src/interp/ includes. One run of a def is a struct run on the stack of
 * exec_run() (interp.c), borrowed by every function here for the call;
 * each step kind has a file (shstep.c, llmstep.c), and so have what they
 * share: telemetry (telemetry.c), step outputs (output.c) and
 * placeholders (template.c).
 *
 * Internal names are exec__ (libuv's habit): not static, not API.
 */
#ifndef KEEPER_EXEC_INT_H
#define KEEPER_EXEC_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "def.h"
#include "event.h"
#include "exec.h"
#include "redact.h"
#include "telescan.h"
#include "util.h"

#define NAME_MAX_EVENT	1024	/* step names in events are cut here */

enum step_st { ST_OK, ST_NO_WORK, ST_FAILED, ST_KILLED };

struct out {			/* one step's output */
	int	 fd;		/* unlinked temp file, -1 until the step ran */
	off_t	 size;
};

struct run {
	const struct agent_def	*def;
	const struct exec_opts	*o;
	const struct settings	*set;	/* o's, or an empty environment */
	struct out		*outs;
	size_t			 nran;
	pcre2_code		*step_re;
	pcre2_code		*thought_re;
	const char		*tmpdir;
	struct telescan		 scan;		/* the step's output, for
						   telemetry */
	struct redactor		*rd;		/* for event text and errors */
	int			 sigfd;		/* read end of the SIGCHLD self-pipe */
	char			*err;
	size_t			 errlen;
	int			 code;		/* failed step's exit status */
	/* The failure in the words history keeps (SPEC §6): "STEP: WHY",
	 * sent as a reason event; why_log when the daemon should add the
	 * step's last log line (it has the log, we do not). */
	char			 why[1024];
	int			 why_log;
};

/* interp.c: the run's one-line error, in r->err. */
void	 exec__seterr(struct run *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* interp.c: the failed step's reason, "NAME: " and fmt, in r->why. */
void	 exec__setwhy(struct run *, size_t i, int log, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* telemetry.c: events (redacted) to the event fd, or for people to
 * stderr; and the ::step:: / ::thought:: scan of a step's output. */
void	 exec__emit(struct run *, const char *kind, const char *text,
	    size_t len);
void	 exec__step_begun(struct run *, const char *name);
void	 exec__step_ended(struct run *, const char *name, enum step_st,
	    int64_t ms);
void	 exec__scan_feed(struct run *, const char *, size_t);
void	 exec__scan_flush(struct run *);

/* output.c: step i's output, appended; an earlier step's read back (at
 * most EXEC_TEMPLATE_MAX bytes, trailing newlines cut: 0, or -2 with a
 * reason in err, as a template lookup answers); one copied to a
 * descriptor. */
int	 exec__out_write(struct run *, struct out *, const char *, size_t);
int	 exec__read_output(struct run *, size_t j, char **val, size_t *len,
	    char *err, size_t errlen);
int	 exec__copy_out(int from, off_t size, int to);

/* template.c: tmpl with the run's placeholders filled in for step i;
 * -1 with the reason in r->err. */
int	 exec__expand(struct run *, size_t i, const char *tmpl,
	    struct sb *out);

/* shstep.c and llmstep.c: run step i. */
enum step_st exec__run_shell(struct run *, size_t i, const char *shell);
enum step_st exec__run_llm(struct run *, size_t i);

#endif
