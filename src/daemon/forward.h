/*
 * forward: `keeper run-once` across the keepers that share a crew (SPEC
 * §12). A standby cannot run anything, so it asks the active keeper
 * through etcd, which every keeper reaches already:
 *
 *   ask     the standby puts /keeper/CREW/once/ID = {"agent":NAME} and
 *           waits for /keeper/CREW/done/ID = {"exit":N,"text":SUMMARY},
 *           which it reads, deletes and gives its client (exit 75 when
 *           no active keeper took the request within the pick-up time)
 *   serve   the active keeper watches /keeper/CREW/once/ on a thread of
 *           its own, takes each request (deletes it, so it runs once),
 *           runs the tick as a run-once on the loop, and puts the answer
 *
 * The blocking etcd calls run off the loop: the inbox on its thread, a
 * question and an answer each on the thread pool with an etcd handle of
 * its own.
 *
 * Ownership: forward_new() allocates; forward_close() (after the loop has
 * stopped) stops the inbox and frees once its handle has closed in the
 * daemon's final uv_run(). A question whose client hung up is dropped
 * when its wait ends.
 */
#ifndef KEEPER_FORWARD_H
#define KEEPER_FORWARD_H

#include <stdint.h>

struct ctl_client;
struct daemon;
struct forward;

/* urls: etcd's; crew: the crew's name; ttl_ms: the lease's (how long a
 * takeover may take, for the pick-up time). */
struct forward	*forward_new(struct daemon *, const char *urls,
		    const char *crew, int64_t ttl_ms);
/* Active (on): take the requests; standby (off): leave them. */
void		 forward_serve(struct forward *, int on);
/* Ask the active keeper to run name for client c, answered on c. */
void		 forward_ask(struct forward *, struct ctl_client *,
		    const char *name);
void		 forward_close(struct forward *);

#endif
