/*
 * statesync: group commit of state files off the event loop.
 *
 * An atomic, durable state-file write costs a few fsyncs (8 ms each on
 * the test VM): far too slow for the loop, which would stall every agent
 * while one file syncs. Workers hand the latest content of a file here
 * instead; a batch on the libuv thread pool writes every pending file to
 * its companion DIR/.BASE.prev, makes them all durable with one syncfs(),
 * exchanges each with its target (so the companion then holds the
 * previous content, and its inode is reused by the next write) and syncs
 * the directory once. Writes to the same path
 * coalesce (the newest content wins), so the cost per batch is flat in
 * the number of files, and a batch starts at most every 25 ms so that a
 * busy crew's writes share one. A crash can lose at most the writes of
 * the batch in flight and of those 25 ms; it can never leave a torn
 * file.
 *
 * Ownership: statesync_put() copies path and content. statesync_flush()
 * (used at shutdown) writes whatever is pending synchronously on the
 * caller's thread. statesync_free() flushes; the memory goes once the
 * loop has closed the pacing timer (run it once more).
 */
#ifndef KEEPER_STATESYNC_H
#define KEEPER_STATESYNC_H

#include <stddef.h>

#include <uv.h>

struct statesync;

struct statesync *statesync_new(uv_loop_t *, const char *dir);
void	 statesync_put(struct statesync *, const char *path,
	    const char *data, size_t len);
/* Every put is told to fn as well, with the path's base name (the fleet's
 * state mirror in etcd, SPEC §12); fn NULL stops it. On the loop. */
typedef void (*statesync_mirror_fn)(const char *name, const char *data,
	    size_t len, void *arg);
void	 statesync_mirror(struct statesync *, statesync_mirror_fn, void *arg);
/* 1 while a batch is in flight or writes are pending. */
int	 statesync_busy(const struct statesync *);
/* Wait for the batch in flight (runs the loop), then write the rest. */
void	 statesync_flush(struct statesync *);
void	 statesync_free(struct statesync *);

#endif
