/*
 * http: the read-only HTTP plane (SPEC §10) on libmicrohttpd, in its own
 * threads. It serves the current snapshot (snapshot.h) and the embedded
 * dashboard page, nothing else; it never calls back into the daemon.
 *
 *   GET /            the dashboard (text/html)
 *   GET /_activity   the activity snapshot (JSON)
 *   GET /_health     the health verdicts; 200 all ok, 503 otherwise
 *   GET /_changes    recent commits and the keeper status (JSON)
 *   GET /_timeline   the last day of runs and gate use (JSON)
 *   GET /metrics     Prometheus text format 0.0.4
 *   GET /_events     Server-Sent Events: the activity on each publish
 *   GET /_runs/ID    one run whole, from the lookup web.c sets (the one
 *                    request answered outside the snapshot: history)
 *
 * HEAD works wherever GET does; other methods get 405, other paths 404;
 * a GET or HEAD that announces a body, and bytes that cannot begin an
 * HTTP request (door.h), get 400 and the connection is closed.
 *
 * Ownership: http_start() allocates; http_stop() stops every thread and
 * frees. The store is borrowed and must outlive the server.
 */
#ifndef KEEPER_HTTP_H
#define KEEPER_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "snapshot.h"

#define HTTP_DEFAULT_LISTEN	"127.0.0.1:8080"

struct http;

struct http_limits {
	unsigned	 connections;	/* open connections, in all */
	unsigned	 per_ip;	/* open connections from one address */
	unsigned	 sse;		/* open /_events streams */
	unsigned	 timeout_s;	/* idle connection timeout */
	size_t		 memory;	/* per-connection buffer: caps headers */
	unsigned	 keepalive_ms;	/* SSE comment when nothing is published */
};

/* "ADDR:PORT" split and resolved (the one rule for --listen, which
 * keeper doctor checks too); 0, or -1 with err filled. */
struct sockaddr_storage;
int		 http_parse_listen(const char *listen,
		    struct sockaddr_storage *, socklen_t *, char *err,
		    size_t errlen);

/* The limits http_start() uses when given NULL. */
void		 http_default_limits(struct http_limits *);

/* listen is "ADDR:PORT" (ADDR an IPv4 address, [IPv6] or a name; port 0
 * picks a free one). NULL with a message in err on failure. */
struct http	*http_start(const char *listen, struct snapshot_store *,
		    const struct http_limits *, char *err, size_t errlen);
/* The address actually bound, e.g. "127.0.0.1:41233". */
const char	*http_addr(const struct http *);
/* Connections holding a slot now (the door's held ones and the
 * server's open ones). A served connection's slot comes back when the
 * server reaps it, a moment after its client saw it closed. */
unsigned	 http_open_connections(struct http *);
/* Atomically writes http_addr() and a newline to DIR/http.addr. */
int		 http_write_addr(const struct http *, const char *dir,
		    char *err, size_t errlen);
/* GET /_runs/ID: fn is called on a connection thread with the id (digits
 * only) and answers 0 with a malloc'd JSON body in *body, *len (taken),
 * or -1 for 404. Thread-safe as fn is. */
typedef int (*http_run_fn)(void *arg, const char *id, char **body,
    size_t *len);
void		 http_set_runs(struct http *, http_run_fn, void *arg);
/* Removes DIR/http.addr when it still names http_addr(): a plane that
 * stopped leaves no address behind that nothing listens on. */
void		 http_remove_addr(const struct http *, const char *dir);
void		 http_stop(struct http *);
/* SPEC §12: a snapshot that says active is served only while f is live
 * (fence.h; asked on the server's threads). NULL: always. */
struct fence;
void		 http_set_fence(struct http *, const struct fence *);

#endif
