/*
 * lifecycle: the pure lifecycle state machine of SPEC §4 over a validated
 * struct lc_spec. A position is (state, hits) plus keeper's own memory of
 * when each state last ran and when the agent last dreamed; it is persisted
 * as the lifecycle-pos file (first line "STATE HITS", later lines ours).
 *
 * Nothing here reads a clock or a file: now is an argument.
 *
 * Ownership: struct lc_pos owns its ran[] array; lc_pos_release() frees it.
 * lc_pos_format() and lc_dream_org() return malloc'd strings.
 */
#ifndef KEEPER_LIFECYCLE_H
#define KEEPER_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "lcspec.h"
#include "outcome.h"

struct lc_ran {
	char	 state[LC_NAME_MAX];
	int64_t	 at_ms;
};

struct lc_pos {
	char		 state[LC_NAME_MAX];	/* "" = not yet placed */
	int		 hits;
	int64_t		 last_dream_ms;		/* 0 never */
	struct lc_ran	*ran;			/* when each state last ran */
	size_t		 nran;
};

enum lc_verdict {
	LC_RUN,		/* run the agent in state (def may be overridden) */
	LC_DREAM,	/* rem state: dream, no agent runs */
	LC_GATED,	/* MIN-INTERVAL not yet passed: no-op, hold */
	LC_INVALID	/* no usable spec: hold and report */
};

struct lc_decision {
	enum lc_verdict	 verdict;
	int		 state;		/* index in spec, -1 when invalid */
	const char	*state_name;	/* borrowed from spec */
	int		 hits;
	int		 repeat;
	const char	*def;		/* per-state :DEF: override, or NULL */
	int64_t		 gate_left_ms;	/* when gated: time still to wait */
	int		 reset;		/* the persisted state was unknown and
					   the position restarted at START */
	int		 clamped;	/* times from the future were set to
					   now (lc_pos_clamp()) */
};

/* Decide the tick at now. spec NULL means the spec failed to load. May
 * rewrite pos (unknown or empty state -> START, hits 0; reset is set). */
void	 lc_decide(const struct lc_spec *, struct lc_pos *, int64_t now_ms,
	    struct lc_decision *);
/* Step pos by outcome; returns 1 when the position moved to a new state.
 * now is when the tick began (it becomes the state's last-ran time). */
int	 lc_apply(const struct lc_spec *, struct lc_pos *, enum outcome,
	    int64_t now_ms);

int64_t	 lc_pos_last_ran(const struct lc_pos *, const char *state); /* 0 */
/* Set every recorded time later than now (a state's last run, the last
 * dream) to now; returns how many were. lc_decide() does it first. */
int	 lc_pos_clamp(struct lc_pos *, int64_t now);
void	 lc_pos_set(struct lc_pos *, const char *state, int hits);
/* The pos file: parse returns 0, or -1 when the first line is not
 * "STATE HITS" (pos is then empty). Unknown later lines are ignored. */
int	 lc_pos_parse(struct lc_pos *, const char *buf, size_t len);
char	*lc_pos_format(const struct lc_pos *);
void	 lc_pos_release(struct lc_pos *);

/* Telemetry a dream consolidates: everything since the previous dream. */
struct lc_dream_stats {
	int	 runs, done, no_work, failed, killed, gated, errors;
	int	 commits;
	int64_t	 total_ms, max_ms;
	long	 tokens_prompt, tokens_completion;
};
/* The org entry appended to dreams-NAME.org, and a one-line summary. */
char	*lc_dream_org(const char *agent, const char *state, int64_t since_ms,
	    int64_t now_ms, const struct lc_dream_stats *);
char	*lc_dream_summary(const struct lc_dream_stats *);

#endif
