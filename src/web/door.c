/*
 * door: the listening socket and the first bytes of each connection (see
 * door.h for why the plane owns them).
 *
 * One thread polls the listening socket, a wake-up pipe and every
 * connection it holds. A connection is held until its first bytes say
 * what it is: peeked with MSG_PEEK, so the server later reads the request
 * whole, and with SO_RCVLOWAT raised past what was seen while the bytes
 * are a prefix of a method ("GE"), so poll(2) wakes only when more come.
 * A connection answered (400, or 503 over a limit) is drained for a
 * moment before it is closed: closing a socket with unread input resets
 * it, and a reset may destroy the answer before the client reads it.
 *
 * The per-address counts live here, under a mutex, because the server
 * reports its connections opening and closing from its own threads. A
 * connection is counted by the door while the door holds it and by the
 * server once it reports it opened; libmicrohttpd's own limits, set to
 * the same numbers, still guard the moment in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "door.h"
#include "log.h"
#include "util.h"

#define DOOR_PEEK	64	/* bytes looked at; a method is shorter */
#define DOOR_METHOD_MAX	32	/* longer than any method anyone uses */
#define DOOR_CLOSING	16	/* answered connections draining at once */
#define DOOR_DRAIN_MS	1000	/* how long one may drain */
#define DOOR_PAUSE_MS	100	/* no accept(2) after EMFILE for this long */

struct peer {			/* one address's connections */
	int		 family;
	unsigned char	 addr[16];
	unsigned	 held;		/* by the door */
	unsigned	 served;	/* by the server */
};

struct conn {
	int		 fd;
	struct sockaddr_storage ss;
	socklen_t	 sl;
	int64_t		 deadline;	/* monotonic ms */
	int		 closing;	/* answered: draining, holds no slot */
	size_t		 seen;		/* bytes peeked (SO_RCVLOWAT past) */
};

struct door {
	struct door_limits lim;
	int		 lfd;
	int		 wake[2];
	pthread_t	 th;
	int		 th_up;
	door_pass_fn	 pass;
	void		*arg;
	/* The door's thread only. */
	struct conn	*conns;
	size_t		 nconns, cap, nclosing;
	int64_t		 pause_until;
	/* Shared with the server's threads, under mu. */
	pthread_mutex_t	 mu;
	struct peer	*peers;
	size_t		 npeers, peercap;
	unsigned	 total;
};

/* ---- the first bytes ---- */

/* RFC 9110 5.6.2 tchar. */
static int
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

enum door_verdict
door_classify(const char *buf, size_t len, int at_eof)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, start;

	while (i < len && (p[i] == '\r' || p[i] == '\n'))
		i++;
	start = i;
	while (i < len && tchar(p[i]) && i - start <= DOOR_METHOD_MAX)
		i++;
	if (i - start > DOOR_METHOD_MAX)
		return DOOR_BAD;
	if (i < len)
		return p[i] == ' ' && i > start ? DOOR_HTTP : DOOR_BAD;
	/* Every byte so far may begin a request: unless the client is
	 * done, or no more would be looked at, wait for the rest. */
	return at_eof || len >= DOOR_PEEK ? DOOR_BAD : DOOR_MORE;
}

/* ---- per-address slots ---- */

static void
key_of(const struct sockaddr *sa, int *family, unsigned char addr[16])
{
	memset(addr, 0, 16);
	*family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
}

/* The address's entry, made when create is set; under mu. */
static struct peer *
peer_of(struct door *d, const struct sockaddr *sa, int create)
{
	unsigned char addr[16];
	struct peer *p;
	int family;

	key_of(sa, &family, addr);
	for (size_t i = 0; i < d->npeers; i++)
		if (d->peers[i].family == family &&
		    memcmp(d->peers[i].addr, addr, 16) == 0)
			return &d->peers[i];
	if (!create)
		return NULL;
	if (d->npeers == d->peercap) {
		d->peercap = d->peercap ? d->peercap * 2 : 16;
		d->peers = xreallocarray(d->peers, d->peercap,
		    sizeof(*d->peers));
	}
	p = &d->peers[d->npeers++];
	memset(p, 0, sizeof(*p));
	p->family = family;
	memcpy(p->addr, addr, 16);
	return p;
}

/* Forgets an address with nothing open; under mu. */
static void
peer_tidy(struct door *d, struct peer *p)
{
	if (p->held == 0 && p->served == 0)
		*p = d->peers[--d->npeers];
}

/* A slot for a new connection from sa: 0, or -1 over a limit. */
static int
slot_take(struct door *d, const struct sockaddr *sa)
{
	struct peer *p;
	int rc = -1;

	pthread_mutex_lock(&d->mu);
	p = peer_of(d, sa, 1);
	if (d->total < d->lim.connections &&
	    p->held + p->served < d->lim.per_ip) {
		p->held++;
		d->total++;
		rc = 0;
	}
	peer_tidy(d, p);
	pthread_mutex_unlock(&d->mu);
	return rc;
}

/* The door lets go of a connection (closed, or passed on: the server
 * counts it from the moment it reports it open). */
static void
slot_give(struct door *d, const struct sockaddr *sa)
{
	struct peer *p;

	pthread_mutex_lock(&d->mu);
	if ((p = peer_of(d, sa, 0)) != NULL && p->held > 0) {
		p->held--;
		d->total--;
		peer_tidy(d, p);
	}
	pthread_mutex_unlock(&d->mu);
}

void
door_counted(struct door *d, const struct sockaddr *sa, int opened)
{
	struct peer *p;

	if (sa == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	if (opened) {
		p = peer_of(d, sa, 1);
		p->served++;
		d->total++;
	} else if ((p = peer_of(d, sa, 0)) != NULL && p->served > 0) {
		p->served--;
		d->total--;
		peer_tidy(d, p);
	}
	pthread_mutex_unlock(&d->mu);
}

unsigned
door_open(struct door *d)
{
	unsigned n;

	pthread_mutex_lock(&d->mu);
	n = d->total;
	pthread_mutex_unlock(&d->mu);
	return n;
}

/* ---- connections ---- */

static void
conn_remove(struct door *d, size_t i)
{
	if (d->conns[i].closing)
		d->nclosing--;
	d->conns[i] = d->conns[--d->nconns];
}

/* Closes connection i; a held one gives its slot back first, so the
 * client that sees the close can connect again at once. */
static void
conn_close(struct door *d, size_t i)
{
	struct conn *c = &d->conns[i];

	if (!c->closing)
		slot_give(d, (struct sockaddr *)&c->ss);
	close(c->fd);
	conn_remove(d, i);
}

/* A short answer, then the connection drains until the client closes or
 * DOOR_DRAIN_MS pass (closed at once when too many drain already). */
static void
answer(struct door *d, int fd, const char *status, const char *body,
    const char *extra)
{
	char buf[512];
	int n;
	int64_t now = util_mono_ms();

	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	    "%sConnection: close\r\n\r\n%s", status, strlen(body), extra,
	    body);
	/* A fresh socket's buffer takes it whole; if not, so be it. */
	(void)send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)shutdown(fd, SHUT_WR);
	if (d->nclosing >= DOOR_CLOSING || d->nconns == d->cap) {
		close(fd);
		return;
	}
	d->conns[d->nconns++] = (struct conn){ .fd = fd, .closing = 1,
	    .deadline = now + DOOR_DRAIN_MS };
	d->nclosing++;
}

static void
drain(struct door *d, size_t i)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(d->conns[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR))
		conn_close(d, i);
}

/* Connection i has bytes (or was closed): look at them. */
static void
first_bytes(struct door *d, size_t i, short revents)
{
	struct conn *c = &d->conns[i];
	char buf[DOOR_PEEK];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	int eof = (revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0, one = 1;
	struct conn held;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			conn_close(d, i);
		return;
	}
	switch (door_classify(buf, (size_t)n, eof)) {
	case DOOR_MORE: {
		int lowat = (int)n + 1;

		/* Wake when more than this has come, not again for it. */
		c->seen = (size_t)n;
		if (setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &lowat,
		    sizeof(lowat)) == -1)
			conn_close(d, i);
		return;
	}
	case DOOR_BAD:
		log_debug("http: not an HTTP request: answered 400");
		held = *c;
		slot_give(d, (struct sockaddr *)&held.ss);
		conn_remove(d, i);
		answer(d, held.fd, "400 Bad Request",
		    "{\"error\":\"bad request\"}", "");
		return;
	case DOOR_HTTP:
		held = *c;
		if (held.seen > 0)
			(void)setsockopt(held.fd, SOL_SOCKET, SO_RCVLOWAT,
			    &one, sizeof(one));
		slot_give(d, (struct sockaddr *)&held.ss);
		conn_remove(d, i);
		d->pass(d->arg, held.fd, (struct sockaddr *)&held.ss, held.sl);
		return;
	}
}

static void
accept_all(struct door *d)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(d->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warnx("event=http-accept-failed error=\"%s\"",
				    strerror(errno));
				d->pause_until = util_mono_ms() + DOOR_PAUSE_MS;
			}
			return;
		}
		if (slot_take(d, (struct sockaddr *)&ss) == -1) {
			log_debug("http: connection over the limits: "
			    "answered 503");
			answer(d, fd, "503 Service Unavailable",
			    "{\"error\":\"too many connections\"}",
			    "Retry-After: 5\r\n");
			continue;
		}
		if (d->nconns == d->cap) {	/* cannot happen: cap covers */
			slot_give(d, (struct sockaddr *)&ss);
			close(fd);
			continue;
		}
		d->conns[d->nconns++] = (struct conn){ .fd = fd, .ss = ss,
		    .sl = sl, .deadline = util_mono_ms() +
		    (int64_t)d->lim.timeout_s * 1000 };
	}
}

static void *
door_main(void *arg)
{
	struct door *d = arg;
	struct pollfd *pf = xcalloc(d->cap + 2, sizeof(*pf));

	for (;;) {
		int64_t now = util_mono_ms(), next = -1;
		int timeout, listening;
		size_t n = 0, nc = d->nconns;

		pf[n++] = (struct pollfd){ .fd = d->wake[0], .events = POLLIN };
		listening = now >= d->pause_until;
		pf[n++] = (struct pollfd){ .fd = listening ? d->lfd : -1,
		    .events = POLLIN };
		if (!listening)
			next = d->pause_until;
		for (size_t i = 0; i < nc; i++) {
			pf[n++] = (struct pollfd){ .fd = d->conns[i].fd,
			    .events = POLLIN | POLLRDHUP };
			if (next == -1 || d->conns[i].deadline < next)
				next = d->conns[i].deadline;
		}
		timeout = next == -1 ? -1 : next <= now ? 0 :
		    next - now > 60000 ? 60000 : (int)(next - now);
		if (poll(pf, n, timeout) == -1 && errno != EINTR) {
			log_warnx("event=http-poll-failed error=\"%s\"",
			    strerror(errno));
			break;
		}
		if (pf[0].revents != 0)
			break;
		now = util_mono_ms();
		/* From the end: removing i moves the last one, already
		 * seen, into its place. */
		for (size_t i = nc; i-- > 0;) {
			short rev = pf[2 + i].revents;

			if (d->conns[i].closing) {
				if (rev != 0)
					drain(d, i);
				else if (now >= d->conns[i].deadline)
					conn_close(d, i);
			} else if (rev != 0)
				first_bytes(d, i, rev);
			else if (now >= d->conns[i].deadline)
				conn_close(d, i);
		}
		if (pf[1].revents & POLLIN)
			accept_all(d);
	}
	free(pf);
	return NULL;
}

/* ---- start and stop ---- */

struct door *
door_new(const struct door_limits *lim, door_pass_fn pass, void *arg)
{
	struct door *d = xcalloc(1, sizeof(*d));

	d->lim = *lim;
	d->lfd = -1;
	d->pass = pass;
	d->arg = arg;
	d->wake[0] = d->wake[1] = -1;
	d->cap = lim->connections + DOOR_CLOSING;
	d->conns = xcalloc(d->cap, sizeof(*d->conns));
	pthread_mutex_init(&d->mu, NULL);
	return d;
}

int
door_start(struct door *d, int lfd, char *err, size_t errlen)
{
	pthread_attr_t attr;
	int rc;

	d->lfd = lfd;
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) == -1 ||
	    pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		snprintf(err, errlen, "cannot set up the listening socket: %s",
		    strerror(errno));
		return -1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)256 * 1024);
	rc = pthread_create(&d->th, &attr, door_main, d);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the http thread: %s",
		    strerror(rc));
		return -1;
	}
	d->th_up = 1;
	return 0;
}

void
door_stop(struct door *d)
{
	if (d == NULL)
		return;
	if (d->th_up) {
		while (write(d->wake[1], "x", 1) == -1 && errno == EINTR)
			;
		pthread_join(d->th, NULL);
		d->th_up = 0;
	}
	while (d->nconns > 0)
		conn_close(d, d->nconns - 1);
	if (d->lfd != -1)
		close(d->lfd);
	d->lfd = -1;
	for (int i = 0; i < 2; i++)
		if (d->wake[i] != -1) {
			close(d->wake[i]);
			d->wake[i] = -1;
		}
}

void
door_free(struct door *d)
{
	if (d == NULL)
		return;
	pthread_mutex_destroy(&d->mu);
	free(d->peers);
	free(d->conns);
	free(d);
}
