/*
 * event: the run event protocol, both ends of it. The def interpreter
 * (interp/, in the run's process) writes one line per event to fd 3; the
 * daemon (run/child.c) reads them back into kind and text as they come:
 *
 *   step-begin NAME             a step starts
 *   step-end NAME STATUS MS     it ended: ok, no_work, failed or killed,
 *                               after MS milliseconds
 *   step TEXT                   a ::step:: line of a step's output
 *   thought TEXT                a ::thought:: line
 *   usage P C T                 an llm step's prompt, completion and total
 *                               tokens
 *   reason STEP: WHY            why the run failed, whole (an llm
 *                               endpoint's answer, a config error)
 *   reason-log STEP: WHY        why it failed, to be followed by the
 *                               step's last log line, which only the
 *                               reader has (a shell step's exit status)
 *   output FD                   the running step's output is in the
 *                               writer's descriptor FD: the reader takes
 *                               it from there when it kills the run
 *
 * A line is at most EVENT_LINE_MAX bytes, newline included: the writer
 * cuts the text at a UTF-8 character boundary to fit, and turns newlines
 * in it into spaces; the reader keeps the first EVENT_LINE_MAX - 1 bytes
 * of a longer line and drops the rest, and ignores empty lines and a
 * trailing carriage return.
 *
 * Pure: nothing here does I/O; callers own every buffer.
 */
#ifndef KEEPER_EVENT_H
#define KEEPER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define EVENT_LINE_MAX		4096	/* bytes per line, newline included */

#define EVENT_STEP_BEGIN	"step-begin"
#define EVENT_STEP_END		"step-end"
#define EVENT_STEP		"step"
#define EVENT_THOUGHT		"thought"
#define EVENT_USAGE		"usage"
#define EVENT_REASON		"reason"
#define EVENT_REASON_LOG	"reason-log"
#define EVENT_OUTPUT		"output"

/* ---- writing ---- */

/* "KIND TEXT\n" into buf (EVENT_LINE_MAX bytes): newlines and carriage
 * returns in text become spaces, and text is cut at a character boundary
 * so the line fits. Returns the line's length. */
size_t	 event_line(char *buf, const char *kind, const char *text,
	    size_t len);
/* The text of a step-end event, "NAME STATUS MS", into buf; its length
 * as snprintf() counts it. name[0..namelen). */
int	 event_step_end_text(char *buf, size_t size, const char *name,
	    size_t namelen, const char *status, int64_t ms);
/* The text of a usage event, "P C T", into buf; negative counts (not
 * reported) are written as 0. */
int	 event_usage_text(char *buf, size_t size, long prompt,
	    long completion, long total);

/* ---- reading ---- */

/* Called for each event line: kind is its first word, text the rest
 * ("" when none); both live until the callback returns. */
typedef void (*event_fn)(const char *kind, const char *text, void *arg);

/* Splits the stream of the event pipe into events. Zero-initialise. */
struct event_reader {
	char	 line[EVENT_LINE_MAX];
	size_t	 len;
	int	 drop;		/* dropping the tail of an over-long line */
};
/* Feed what was read; fn is called for every line completed. */
void	 event_feed(struct event_reader *, const char *, size_t, event_fn,
	    void *arg);
/* The stream ended: a last line without its newline is an event too. */
void	 event_end(struct event_reader *, event_fn, void *arg);

/* The prompt and completion tokens of a usage event's text. 0, or -1
 * when text does not start with two numbers. */
int	 event_usage(const char *text, long *prompt, long *completion);

#endif
