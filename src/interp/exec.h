/*
 * exec: the def interpreter behind `keeper exec-def` and keeper-exec (SPEC §6,
 * keeper-agent(5)). Runs an agent def's steps once, in document order, in
 * the tenant repo: each step gets the previous step's output on stdin and
 * its stdout becomes the step's output; a failing step or one answering
 * NO-WORK (nowork.h) ends the def. Live telemetry (step begin/end,
 * ::step:: and ::thought:: lines, token usage) goes to an event fd as one
 * line per event (event.h), or human-readably to stderr.
 *
 * exec_run() forks, waits and kills: call it from a process of its own (each
 * run's child: keeper-exec, forked by the zygote or exec'd), never from the
 * daemon. It makes the calling process a child subreaper and
 * installs a SIGCHLD handler for its duration.
 *
 * Ownership: options and the def are borrowed for the call. Step outputs
 * live in unlinked temporary files, so a step that prints gigabytes costs
 * disk, not memory.
 *
 * The files behind it (exec-int.h, private to src/interp/): interp.c the
 * run loop, shstep.c and llmstep.c the two step kinds, template.c the
 * placeholders, output.c the step outputs, telemetry.c the events. The
 * exec-def command is src/cmd/cmd-exec-def.c.
 */
#ifndef KEEPER_EXEC_H
#define KEEPER_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "def.h"
#include "telescan.h"
#include "util.h"

#define EXEC_STEP_PATTERN	TELESCAN_STEP_PATTERN
#define EXEC_THOUGHT_PATTERN	TELESCAN_THOUGHT_PATTERN
#define EXEC_LLM_TIMEOUT_MS	(2 * 60 * 1000)	/* llm step without :timeout */
/* A shell step's body travels as one argv string (sh -c BODY); Linux caps
 * a single argument at 128 KiB. */
#define EXEC_SHELL_BODY_MAX	(120u * 1024)
#define EXEC_TEMPLATE_MAX	(8u << 20)	/* bytes one {{placeholder}} may insert */

enum exec_status {
	EXEC_OK,		/* every step ran; the result is the last output */
	EXEC_NO_WORK,		/* a step answered NO-WORK: its output is the result */
	EXEC_FAILED		/* a step failed or was killed at its :timeout */
};

struct exec_opts {
	const char	*repo;		/* absolute; the steps' working directory */
	const char	*agent;		/* for {{agent}} */
	const char	*state;		/* for {{state}} */
	const char	*hits;		/* for {{hits}} */
	int		 event_fd;	/* -1: events go to stderr for people */
	const char	*step_pattern;	/* PCRE2, NULL for EXEC_STEP_PATTERN */
	const char	*thought_pattern; /* NULL for EXEC_THOUGHT_PATTERN */
	const char	*tmpdir;	/* for step outputs, NULL for $TMPDIR or /tmp */
	const struct settings *settings; /* the run's environment, read once:
					   the LLM's, PATH, TMPDIR, the crew's
					   patterns, :if-env's variables */
	int		*exit_code;	/* out, or NULL: the failed step's exit
					   status (128+N for signal N, 124 for
					   its :timeout, 1 otherwise), 0 when
					   none failed */
};

/*
 * Run every step of def. The result (the output of the last step that ran:
 * the last step, the one that answered NO-WORK, or the one that failed) is
 * copied to out_fd. Returns the status, or -1 when the run could not start
 * at all (a step or thought pattern that does not compile, no pipe), with
 * a one-line reason in err. A failed step's reason also lands in err,
 * redacted. Reaps every child of the calling process while it runs.
 */
int	exec_run(const struct agent_def *def, const struct exec_opts *opts,
	    int out_fd, char *err, size_t errlen);

/*
 * Compile the default patterns and the built-in redactor now, once, for a
 * process that forks many runs (the zygote): each exec_run() in a child
 * then finds them compiled instead of compiling (and JIT-compiling) its
 * own. Optional; exec_run() compiles what it does not find.
 */
void	exec_warm(void);

/*
 * The direct path (direct.c). The shell ("/bin/sh" or "bash") a def that
 * is one plain sh or bash step runs as, directly; NULL when the def needs
 * the interpreter (several steps, an llm step, :if-env, :timeout, :dir,
 * a body over EXEC_SHELL_BODY_MAX).
 */
const char *exec_direct_shell(const struct agent_def *);
/* `keeper-exec --sh NAME SHELL BODY`: become a child subreaper and exec
 * SHELL -c BODY (SHELL looked up in set's PATH). Returns only when the
 * exec failed: 1, with the reason on stderr as the interpreter gives it. */
int	exec_direct_main(int argc, char **argv, const struct settings *set);

/* Pure helpers, exposed for tests. */

/*
 * Expand {{name}} placeholders in tmpl into out. lookup returns 0 and sets
 * *val (malloc'd; exec_template frees it) and *len for a known name, -1
 * for an unknown one, or -2 with a reason already in err. Names are
 * trimmed of surrounding spaces; "{{" with no "}}" on the same line, or
 * with a brace inside, is literal text. An unknown placeholder is an error
 * naming it. Returns 0 or -1 with a one-line reason in err.
 */
typedef int (*exec_lookup_fn)(void *arg, const char *name, char **val,
    size_t *len, char *err, size_t errlen);
int	exec_template(const char *tmpl, exec_lookup_fn lookup, void *arg,
	    struct sb *out, char *err, size_t errlen);

#endif
