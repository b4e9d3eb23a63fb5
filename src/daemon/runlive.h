/*
 * runlive: what the runs in flight have said so far, so GET /_runs/ID
 * can show a run live (SPEC §10): its steps as they end, the step
 * running, and its log lines as the worker emits them (the live part
 * only: the first CHILD_HEAD bytes, then the kept tail at the end, see
 * worker.c). History has the rest once the run's row is closed.
 *
 * Thread-safe: workers write on the loop thread, HTTP threads read. A
 * run's entry goes when its row is closed (runlive_end()).
 *
 * The log is kept as the run printed it (cleaned to valid UTF-8) and
 * redacted when it is read, with the redactor the run began with: a line
 * costs a pattern match only when someone asks for it.
 *
 * Ownership: runlive_new() allocates, runlive_free() frees every entry;
 * strings passed in are copied, the redactor referenced (redact_ref())
 * until the entry goes; runlive_get() hands out copies.
 */
#ifndef KEEPER_RUNLIVE_H
#define KEEPER_RUNLIVE_H

#include <stddef.h>

#define RUNLIVE_LOG_MAX	(256 * 1024)	/* bytes of log kept per run */

struct runlive;

struct runlive	*runlive_new(void);
void		 runlive_free(struct runlive *);
/* A run began; an entry with the same id is replaced. rd redacts its
 * log when read (NULL: the built-in patterns). */
struct redactor;
void		 runlive_begin(struct runlive *, const char *run_id,
		    struct redactor *rd);
/* A step began (name), or ended ("NAME STATUS MS", the step-end text). */
void		 runlive_step_begin(struct runlive *, const char *run_id,
		    const char *name);
void		 runlive_step_end(struct runlive *, const char *run_id,
		    const char *text);
/* One log line, line[0..len), not yet redacted. */
void		 runlive_log(struct runlive *, const char *run_id,
		    const char *line, size_t len);
void		 runlive_end(struct runlive *, const char *run_id);
/* 1 with copies (caller frees) of the steps text ("NAME STATUS MS"
 * lines), the step running ("" none) and the log so far, redacted, or 0
 * when the run is not in flight. */
int		 runlive_get(struct runlive *, const char *run_id,
		    char **steps, char **current, char **log);

#endif
