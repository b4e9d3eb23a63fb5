/*
 * outcome: what a tick came to, as stored in history and shown everywhere
 * (SPEC §8). The names are part of the contract.
 */
#ifndef KEEPER_OUTCOME_H
#define KEEPER_OUTCOME_H

enum outcome {
	OUTCOME_NONE = 0,	/* no tick yet / tick still open */
	OUTCOME_DONE,
	OUTCOME_NO_WORK,
	OUTCOME_FAILED,
	OUTCOME_KILLED,
	OUTCOME_GATED,
	OUTCOME_DREAMED,
	OUTCOME_ERROR,
	OUTCOME_INTERRUPTED,
	OUTCOME_MISSED		/* a calendar fire that did not run (SPEC §5a);
				   never a tick's: the per-outcome tables of
				   runs stop at OUTCOME_INTERRUPTED */
};

const char	*outcome_name(enum outcome);	/* "done", ...; "" for NONE */
enum outcome	 outcome_parse(const char *);	/* OUTCOME_NONE if unknown */

#endif
