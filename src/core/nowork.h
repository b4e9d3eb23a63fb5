/*
 * nowork: the NO-WORK rule of SPEC §6, once for both ends of a run. A
 * result that, after leading white space, begins with the word NO-WORK in
 * any letter case ("NO-WORK", "no-work: queue empty"; not "NO-WORKER" nor
 * "NO-WORK_2": a letter, digit or '_' after it makes another word) means
 * the agent found nothing to do. The interpreter asks it of each step's
 * output as it streams (a step answering NO-WORK ends the def); the
 * daemon asks it of the run's captured result to record the outcome.
 *
 * Pure: no allocation, no I/O. Only the first bytes after the white space
 * matter, so a stream is judged in constant memory.
 */
#ifndef KEEPER_NOWORK_H
#define KEEPER_NOWORK_H

#include <stddef.h>

#define NOWORK_WORD	"NO-WORK"

/* 0 when s[0..len) does not answer NO-WORK, else the offset just past the
 * word, where the rest (the agent's daydream) begins. */
size_t	 nowork_match(const char *s, size_t len);

/*
 * The same for output that arrives in pieces: zero-initialise, feed every
 * piece in order, then ask nowork_result() (at any point: the answer for
 * what was fed so far).
 */
struct nowork {
	int	 started;		/* a non-space byte has been seen */
	size_t	 n;
	char	 head[sizeof(NOWORK_WORD)];	/* the first bytes after it */
};
void	 nowork_feed(struct nowork *, const char *, size_t);
int	 nowork_result(const struct nowork *);

#endif
