/*
 * runview: GET /_runs/ID (SPEC §10), one run as `keeper history --run ID
 * --json` has it (rundoc.h), and live while it runs: a row still open
 * gets the steps, the step running and the log so far from the daemon's
 * runs in flight (runlive.h), with "running": true.
 *
 * Called on the HTTP plane's connection threads: it reads history on a
 * connection of its own (SQLite in WAL mode: readers never wait for the
 * daemon's writer, nor it for them), one request at a time.
 *
 * Ownership: runview_new() allocates; runview_free() after the HTTP
 * plane has stopped. The runlive registry is borrowed and must outlive
 * it.
 */
#ifndef KEEPER_RUNVIEW_H
#define KEEPER_RUNVIEW_H

#include <stddef.h>

struct runlive;
struct runview;

struct runview	*runview_new(const char *dbpath, struct runlive *);
/* An http_run_fn (http.h): 0 with a malloc'd body, or -1 (404). */
int		 runview_get(void *rv, const char *id, char **body,
		    size_t *len);
void		 runview_free(struct runview *);

#endif
