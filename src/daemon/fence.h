/*
 * fence: what a keeper sharing its crew through etcd (SPEC §12, role.h)
 * lends the daemon, the workers and the git queue so that one which lost
 * its lease starts no run and pushes nothing. live() is asked on the
 * loop before a tick and before a run spawns, and on the thread pool
 * right before a push: it must be thread-safe and quick (fleet_live()
 * reads the monotonic clock under a mutex). lease() is the lease id the
 * commits' Keeper-Lease trailer names.
 *
 * Ownership: the fence belongs to whoever installed it (role.c) and
 * outlives the daemon's use of it.
 */
#ifndef KEEPER_FENCE_H
#define KEEPER_FENCE_H

#include <stdint.h>

struct fence {
	int	(*live)(void *arg);
	int64_t	(*lease)(void *arg);
	void	*arg;
};

static inline int
fence_live(const struct fence *f)
{
	return f == NULL || f->live(f->arg);
}

#endif
