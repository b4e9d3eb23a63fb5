/*
 * door: the HTTP plane's listening socket and the first bytes of every
 * connection, before libmicrohttpd sees it (man keeper(1), FAILURE
 * MODES).
 *
 * libmicrohttpd answers nothing to bytes that cannot begin a request: a
 * TLS ClientHello or binary garbage hung until its connection timeout,
 * and "garbage" without a space was closed without a word. Nor can it be
 * told to. So the plane owns its socket: the door accepts, waits for the
 * first bytes (peeked, never consumed), answers 400 and closes when they
 * cannot begin an HTTP request, and hands the others to the server
 * whole. It also keeps the per-address connection count: a connection
 * the door holds (nothing sent yet) gives its slot back before its
 * socket is closed, and one the server holds as soon as the server
 * reports it closed (door_counted()), so a dropped idle socket never
 * locks its address out.
 *
 * Ownership: door_new() allocates; door_start() takes the listening
 * socket (even when it fails); door_stop() joins the door's thread and
 * closes every socket it still holds, after which door_counted() may
 * still be called (the server reaping); door_free() releases the rest.
 * A handed socket belongs to the pass callback.
 */
#ifndef KEEPER_DOOR_H
#define KEEPER_DOOR_H

#include <stddef.h>
#include <sys/socket.h>

struct door;

struct door_limits {
	unsigned	 connections;	/* open connections, in all */
	unsigned	 per_ip;	/* open connections from one address */
	unsigned	 timeout_s;	/* for the first bytes to arrive */
};

/* What the first bytes of a connection say (door_classify()). */
enum door_verdict {
	DOOR_MORE,		/* a request may begin so: wait for more */
	DOOR_HTTP,		/* a method and a space: the server's */
	DOOR_BAD		/* no HTTP request begins so: 400 */
};

/*
 * The first len bytes a client sent (at_eof: it will send no more).
 * HTTP/1 requests begin with a method, a token of RFC 9110 tchars,
 * then a space, optionally after empty lines (RFC 9112 2.2). Pure.
 */
enum door_verdict door_classify(const char *buf, size_t len, int at_eof);

/* Hands a connection that begins like a request to the server: it owns
 * fd from then on. Called on the door's thread. */
typedef void	(*door_pass_fn)(void *arg, int fd, const struct sockaddr *,
		    socklen_t);

/* A door with these limits handing connections to pass(arg, ...). */
struct door	*door_new(const struct door_limits *, door_pass_fn,
		    void *arg);
/* Serves listen_fd (bound and listening), which it owns from now on, on
 * a thread of its own. 0, or -1 with err filled. */
int		 door_start(struct door *, int listen_fd, char *err,
		    size_t errlen);
/* The server opened (opened = 1) or closed (0) a connection the door
 * passed it, from addr: its per-address slot. Any thread. */
void		 door_counted(struct door *, const struct sockaddr *,
		    int opened);
/* The connections that hold a slot now: held by the door or counted
 * open by the server (answered ones draining hold none). Any thread. */
unsigned	 door_open(struct door *);
void		 door_stop(struct door *);
void		 door_free(struct door *);

#endif
