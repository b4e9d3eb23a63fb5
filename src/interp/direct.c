/*
 * direct: a def that is one sh or bash step, run as that shell (issue 15
 * item 6): the common sentinel, backup or housekeeping job needs no
 * interpreter between the daemon and its shell. The daemon starts
 * `keeper-exec --sh NAME SHELL BODY` (forked by the zygote, or exec'd),
 * which makes itself a child subreaper, as the interpreter is, so that
 * nothing the shell starts leaves the run's tree, and execs the shell in
 * its place: the run's leader is the shell itself. What the interpreter
 * does for such a def the daemon does from outside (worker.c): telemetry
 * from the shell's stdout (telescan.h), the step's begin and end, NO-WORK
 * and the outcome from its exit.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "exec.h"
#include "fs.h"
#include "settings.h"

extern char **environ;

const char *
exec_direct_shell(const struct agent_def *def)
{
	const struct def_step *s;

	if (def == NULL || def->nsteps != 1)
		return NULL;
	s = &def->steps[0];
	/* What only the interpreter does: skipping (:if-env), a step's own
	 * deadline (:timeout) and directory (:dir), the body's size limit. */
	if (s->lang == DEF_LLM || def_arg(s, "if-env") != NULL ||
	    s->timeout_ms > 0 || (s->dir != NULL && s->dir[0] != '\0') ||
	    strlen(s->body) > EXEC_SHELL_BODY_MAX)
		return NULL;
	return s->lang == DEF_BASH ? "bash" : "/bin/sh";
}

int
exec_direct_main(int argc, char **argv, const struct settings *set)
{
	char path[PATH_MAX], *args[4], line[EVENT_LINE_MAX], *why;
	size_t n;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: keeper-exec --sh NAME SHELL BODY\n");
		return 64;
	}
	args[0] = argv[3];
	args[1] = "-c";
	args[2] = argv[4];
	args[3] = NULL;
#ifdef PR_SET_CHILD_SUBREAPER
	/* Kept across the exec: the shell holds its run's tree. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
	/* The event pipe is the interpreter's; the shell does not get it. */
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	if ((rc = fs_which(argv[3], set->path, path, sizeof(path))) == 0) {
		execve(path, args, environ);
		rc = errno;
	}
	/* As the interpreter says it (interp.c): a reason event to the
	 * daemon, or a line for people. */
	why = xasprintf("%s: cannot run %s: %s", argv[2], argv[3],
	    strerror(rc));
	n = event_line(line, EVENT_REASON, why, strlen(why));
	if (fcntl(3, F_GETFD) == -1 || fs_write_all(3, line, n) == -1)
		fprintf(stderr, "keeper exec-def: step \"%s\": cannot run "
		    "%s: %s\n", argv[2], argv[3], strerror(rc));
	free(why);
	return 1;
}
