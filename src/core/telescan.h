/*
 * telescan: the ::step:: and ::thought:: lines of a run's output (SPEC
 * §6), found once for both ends of a run: the interpreter scans every
 * step's output (interp/telemetry.c), the daemon the output of a def it
 * runs as a shell directly, with no interpreter (daemon/worker.c).
 *
 * Output is split into lines as it streams, in a bounded buffer: a line
 * longer than EVENT_LINE_MAX is judged on its start, and a trailing
 * carriage return is not part of it. A pattern's first group is the
 * event's text, else its whole match.
 *
 * Pure: nothing here does I/O. Ownership: the compiled patterns are the
 * caller's (borrowed by telescan_init() until telescan_release()); the
 * scanner's match data and line buffer are its own.
 */
#ifndef KEEPER_TELESCAN_H
#define KEEPER_TELESCAN_H

#include <stddef.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "event.h"
#include "lines.h"

#define TELESCAN_STEP_PATTERN		"^::step::(.*)$"
#define TELESCAN_THOUGHT_PATTERN	"^::thought::(.*)$"

/* kind is EVENT_STEP or EVENT_THOUGHT; text[0..len) lives until the
 * callback returns. */
typedef void (*telescan_fn)(const char *kind, const char *text, size_t len,
    void *arg);

struct telescan {
	pcre2_code		*re[2];		/* step, thought: borrowed */
	pcre2_match_data	*md;
	struct lines		 lines;		/* of EVENT_LINE_MAX bytes */
	telescan_fn		 fn;		/* while a feed runs */
	void			*arg;
};

/* pat compiled (and JIT-compiled when the platform can), or NULL with a
 * one-line reason naming what ("step", "thought") in err. */
pcre2_code *telescan_compile(const char *pat, const char *what, char *err,
	    size_t errlen);
void	 telescan_init(struct telescan *, pcre2_code *step,
	    pcre2_code *thought);
/* Feed what was read: fn is called for every matching line completed. */
void	 telescan_feed(struct telescan *, const char *, size_t, telescan_fn,
	    void *arg);
/* The stream ended (or a step did): a last line without its newline
 * counts too. The scanner is ready for a new stream. */
void	 telescan_flush(struct telescan *, telescan_fn, void *arg);
/* A new stream (a step begins): a partial line before it is forgotten. */
void	 telescan_reset(struct telescan *);
void	 telescan_release(struct telescan *);

#endif
