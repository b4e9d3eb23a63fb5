/*
 * runids: the highest run id a tenant repository already carries, so that
 * a new history database (a reset, a corrupt one moved aside) never hands
 * out an id the repository has seen: refs/keeper/partial/NAME/RUN would
 * collide, and a failed run's work would be recorded nowhere.
 *
 * Blocking (it reads refs, and with history the whole first-parent log):
 * call at start, before the loop runs.
 */
#ifndef KEEPER_RUNIDS_H
#define KEEPER_RUNIDS_H

#include <stddef.h>
#include <stdint.h>

/* The highest numeric RUN of refs/keeper/partial/NAME/RUN and, with
 * history, of the Keeper-Run: trailers reachable from HEAD, into *max (0
 * when none, or when path is not a git repository). 0, or -1 with err. */
int	 runids_max(const char *path, int history, int64_t *max, char *err,
	    size_t errlen);

#endif
