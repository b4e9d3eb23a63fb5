/*
 * reason: why a run that is not done ended, in the words history keeps
 * (SPEC §6): which step, and its last log line, the signal, the timeout
 * or the LLM endpoint's answer ("work: exit status 2: fatal: cannot
 * reach the database", "narrate: HTTP 500 from 127.0.0.1:8000 after 3
 * tries: ..."), never only "exit status 1".
 *
 * The interpreter says what it knows as a reason event (event.h); the
 * daemon alone has the log (the run's standard error), so the last line
 * is found here, from the kept text, and only a line the failing step
 * printed counts. A run with no interpreter to tell (a def that is one
 * shell, or an interpreter that died) is described from its exit.
 *
 * Pure: no clock, no I/O. reason_text() returns a malloc'd string.
 */
#ifndef KEEPER_REASON_H
#define KEEPER_REASON_H

#include <stddef.h>
#include <stdint.h>

#include "outcome.h"

#define REASON_LINE_MAX	300	/* bytes of the last log line kept */

struct reason_in {
	enum outcome	 outcome;	/* FAILED or KILLED */
	const char	*step;		/* the step running at the end, or NULL */
	const char	*said;		/* the reason event's text, or NULL */
	int		 said_log;	/* it was reason-log: add the line */
	const char	*line;		/* the step's last log line, or NULL */
	int		 exited;	/* exited (else killed by a signal) */
	int		 exit_code;
	int		 term_signal;
	int64_t		 timeout_ms;	/* the run's TIMEOUT, when killed */
};

/* The error column's text for a run that failed or was killed. */
char	*reason_text(const struct reason_in *);

/*
 * The last line of log[0..len) with something in it, looked for at or
 * after byte from: trimmed, control characters and invalid UTF-8
 * cleaned, cut to REASON_LINE_MAX bytes. NULL when there is none. The
 * log is the kept text of the run's standard error (a head, perhaps a
 * marker and a tail); the caller maps the step's start into it with
 * reason_log_from().
 */
char	*reason_last_line(const char *log, size_t len, size_t from);
/*
 * Where in the kept text (textlen bytes: the whole stream when total ==
 * textlen, else head, marker and the tail's taillen bytes) the stream's
 * byte at offset at lies; the tail's start when that byte was skipped,
 * textlen when it is past the end.
 */
size_t	 reason_log_from(uint64_t at, uint64_t total, size_t textlen,
	    size_t taillen);

#endif
