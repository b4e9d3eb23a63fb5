/*
 * web: the read-only HTTP plane glued to a daemon. web_start() binds the
 * daemon's --listen address and registers as the daemon's observer: it
 * publishes a snapshot when the daemon says something changed (spaced by
 * pacer.h), and writes DATA/http.addr once the daemon is ready (its
 * signal handlers installed), so whoever waits for that file may signal
 * it. The web reads the daemon; the daemon knows nothing of it.
 *
 * Loop thread only. Ownership: web_start() allocates; web_stop() (after
 * the loop has stopped, before daemon_free()) stops the server and the
 * render thread, and the struct is freed once its handles have closed,
 * in the daemon's last uv_run.
 */
#ifndef KEEPER_WEB_H
#define KEEPER_WEB_H

#include <stddef.h>

struct daemon;
struct status_sentinel;
struct web;

/* Where /_health finds the sentinel's repair counts (housekeeping's). */
typedef const struct status_sentinel *(*web_sentinel_fn)(void *arg);

int	 web_start(struct daemon *, struct web **, char *err, size_t errlen);
/* The address the HTTP plane bound (host:port, the port resolved). */
const char *web_addr(const struct web *);
void	 web_set_sentinel(struct web *, web_sentinel_fn, void *arg);
void	 web_stop(struct web *);

#endif
