/*
 * http: libmicrohttpd, thread per connection, serving snapshots.
 *
 * Why thread per connection rather than one epoll thread: a Server-Sent
 * Events stream has to wait for the next publish. With a thread per
 * connection the stream's content callback simply blocks on the snapshot
 * store's condition variable (with a keep-alive timeout); with a single
 * polling thread it would have to suspend and resume connections from
 * another thread, whose locking against MHD's own is easy to get wrong.
 * The cost, a thread per open connection, is bounded by the connection
 * and per-address limits and by a small stack, and this plane serves a
 * handful of operators and monitors, not the public. Every thread here
 * only copies bytes out of an immutable snapshot: none of them can hold
 * up the daemon's loop, which never waits on this module.
 *
 * The listening socket is the door's (door.c), not libmicrohttpd's: the
 * door answers what cannot be HTTP and passes the rest here with
 * MHD_add_connection(), and keeps the per-address counts, which the
 * server's connection notifications feed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "door.h"
#include "fence.h"
#include "fs.h"
#include "http.h"
#include "log.h"
#include "promtext.h"
#include "util.h"

/* The dashboard page, generated at build time from src/dashboard.html. */
extern const unsigned char	keeper_dashboard_html[];
extern const size_t		keeper_dashboard_html_len;

struct http {
	struct MHD_Daemon	*mhd;
	struct door		*door;
	struct snapshot_store	*store;
	struct http_limits	 lim;
	char			 addr[80];
	atomic_int		 stopping;
	atomic_uint		 nsse;
	struct MHD_Response	*dashboard, *not_found, *bad_method;
	struct MHD_Response	*too_many, *bad_request;
	/* GET /_runs/ID, set once before requests can name it. */
	_Atomic(http_run_fn)	 run_fn;
	void			*run_arg;
	const struct fence	*fence;		/* SPEC §12, or NULL */
};

void
http_set_fence(struct http *h, const struct fence *f)
{
	h->fence = f;
}

/* One /_events stream: the event being sent and the version it carries. */
struct sse {
	struct http	*h;
	char		*buf;
	size_t		 len, off;
	uint64_t	 seen;
	int64_t		 sent_ms;	/* monotonic, last bytes queued */
	int		 started;
};

#define SSE_SLICE_MS	250

static const char csp[] = "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void
http_default_limits(struct http_limits *l)
{
	l->connections = 128;
	l->per_ip = 64;
	l->sse = 16;
	l->timeout_s = 10;
	l->memory = 16 * 1024;
	l->keepalive_ms = 5000;
}

static void
common_headers(struct MHD_Response *r, const char *type)
{
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static struct MHD_Response *
static_response(const char *body, size_t len, const char *type)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
	    MHD_RESPMEM_PERSISTENT);
	if (r != NULL)
		common_headers(r, type);
	return r;
}

static void
snap_free(void *cls)
{
	snapshot_release(cls);
}

#define ROLE_CHANGING	"{\"role\":\"changing\"}\n"

static enum MHD_Result
serve_snapshot(struct http *h, struct MHD_Connection *c, const char *url)
{
	struct snapshot *s = snapshot_acquire(h->store);
	struct MHD_Response *r;
	unsigned code = MHD_HTTP_OK;
	const char *type = "application/json";
	enum MHD_Result ret;
	char *body;
	size_t len;

	/* A keeper whose lease lapsed a moment ago (stopped, cut off) has
	 * not yet published that it is standby: it must not say active. */
	if (s->role_active && !fence_live(h->fence)) {
		snapshot_release(s);
		r = static_response(ROLE_CHANGING, strlen(ROLE_CHANGING),
		    "application/json");
		if (r == NULL)
			return MHD_NO;
		ret = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/_activity") == 0) {
		body = s->activity;
		len = s->activity_len;
	} else if (strcmp(url, "/metrics") == 0) {
		body = (char *)(uintptr_t)snapshot_metrics(s, &len);
		type = PROMTEXT_CONTENT_TYPE;
	} else if (strcmp(url, "/_timeline") == 0) {
		body = s->timeline;
		len = s->timeline_len;
	} else if (strcmp(url, "/_agenda") == 0) {
		body = s->agenda;
		len = s->agenda_len;
	} else if (strcmp(url, "/_health") == 0) {
		body = s->health;
		len = s->health_len;
		code = (unsigned)s->health_code;
	} else {
		body = s->changes;
		len = s->changes_len;
	}
	/* The response keeps the snapshot alive until MHD has sent it. */
	r = MHD_create_response_from_buffer_with_free_callback_cls(len, body,
	    snap_free, s);
	if (r == NULL) {
		snapshot_release(s);
		return MHD_NO;
	}
	common_headers(r, type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

void
http_set_runs(struct http *h, http_run_fn fn, void *arg)
{
	h->run_arg = arg;
	atomic_store(&h->run_fn, fn);
}

static void
free_body(void *cls)
{
	free(cls);
}

/* GET /_runs/ID: the lookup answers 200 with a body, else 404. */
static enum MHD_Result
serve_run(struct http *h, struct MHD_Connection *c, const char *id)
{
	http_run_fn fn = atomic_load(&h->run_fn);
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;

	if (fn == NULL || id[0] == '\0' || strspn(id, "0123456789") !=
	    strlen(id) || strlen(id) > 18 || fn(h->run_arg, id, &body,
	    &len) != 0)
		return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, h->not_found);
	r = MHD_create_response_from_buffer_with_free_callback_cls(len, body,
	    free_body, body);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	common_headers(r, "application/json");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * The /_events content callback. It runs on the stream's own connection
 * thread, so it may block: it sends the current activity whenever its
 * version moves past the last one sent, and a comment line every
 * keepalive_ms otherwise (which also notices a vanished client).
 */
static ssize_t
sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse *e = cls;
	struct http *h = e->h;

	(void)pos;
	for (;;) {
		struct snapshot *s;
		struct sb b = { 0 };
		int r;

		if (e->off < e->len) {
			size_t n = e->len - e->off < max ? e->len - e->off : max;

			memcpy(out, e->buf + e->off, n);
			e->off += n;
			return (ssize_t)n;
		}
		free(e->buf);
		e->buf = NULL;
		e->len = e->off = 0;
		if (atomic_load(&h->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		s = snapshot_acquire(h->store);
		/* The fence of serve_snapshot(): a snapshot that says active
		 * while the lease has lapsed is held back, and the stream
		 * waits (keep-alives) for the next one, the standby's. */
		if (s->role_active && !fence_live(h->fence) &&
		    (!e->started || s->version > e->seen)) {
			uint64_t held = s->version;

			snapshot_release(s);
			r = snapshot_wait(h->store, held, SSE_SLICE_MS);
			if (r < 0 || atomic_load(&h->stopping))
				return MHD_CONTENT_READER_END_OF_STREAM;
			if (util_mono_ms() - e->sent_ms >=
			    (int64_t)h->lim.keepalive_ms) {
				e->buf = xstrdup(": keep-alive\n\n");
				e->len = strlen(e->buf);
				e->sent_ms = util_mono_ms();
			}
			continue;
		}
		if (!e->started || s->version > e->seen) {
			if (!e->started)
				sb_adds(&b, "retry: 2000\n");
			sb_addf(&b, "id: %llu\nevent: activity\ndata: ",
			    (unsigned long long)s->version);
			sb_add(&b, s->activity, s->activity_len);
			sb_adds(&b, "\n\n");
			e->seen = s->version;
			e->started = 1;
			e->sent_ms = util_mono_ms();
			snapshot_release(s);
			e->len = b.len;
			e->buf = sb_detach(&b);
			continue;
		}
		snapshot_release(s);
		/* Short slices: http_stop() is noticed within one. */
		r = snapshot_wait(h->store, e->seen, SSE_SLICE_MS);
		if (r < 0 || atomic_load(&h->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (r == 0 && util_mono_ms() - e->sent_ms >=
		    (int64_t)h->lim.keepalive_ms) {
			e->buf = xstrdup(": keep-alive\n\n");
			e->len = strlen(e->buf);
			e->sent_ms = util_mono_ms();
		}
	}
}

static void
sse_free(void *cls)
{
	struct sse *e = cls;

	atomic_fetch_sub(&e->h->nsse, 1);
	free(e->buf);
	free(e);
}

static enum MHD_Result
serve_events(struct http *h, struct MHD_Connection *c)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct sse *e;

	if (atomic_fetch_add(&h->nsse, 1) >= h->lim.sse) {
		atomic_fetch_sub(&h->nsse, 1);
		return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    h->too_many);
	}
	e = xcalloc(1, sizeof(*e));
	e->h = h;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    sse_read, e, sse_free);
	if (r == NULL) {
		sse_free(e);
		return MHD_NO;
	}
	common_headers(r, "text/event-stream");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* A GET or HEAD that says a body follows (Transfer-Encoding, or a
 * Content-Length other than 0). Waiting for it let a client that never
 * sends one hold a connection until its timeout; a body means nothing to
 * this plane, so such a request is refused at once. */
static int
announces_body(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL)
		return 1;
	return cl != NULL && strspn(cl, "0 \t") != strlen(cl);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **req)
{
	static int marker;
	struct http *h = cls;

	(void)version;
	(void)upload;
	(void)upload_len;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    h->bad_method);
	/* The first call comes with the headers. A response queued then
	 * makes libmicrohttpd send it and close the connection instead of
	 * reading a body (or a next request): right for a request that
	 * announces a body, so it is refused there; every other request is
	 * answered on the second call, which keeps the connection alive. */
	if (*req == NULL) {
		if (announces_body(c))
			return MHD_queue_response(c, MHD_HTTP_BAD_REQUEST,
			    h->bad_request);
		*req = &marker;
		return MHD_YES;
	}
	if (strcmp(url, "/") == 0)
		return MHD_queue_response(c, MHD_HTTP_OK, h->dashboard);
	if (strcmp(url, "/_activity") == 0 || strcmp(url, "/_health") == 0 ||
	    strcmp(url, "/_changes") == 0 || strcmp(url, "/metrics") == 0 ||
	    strcmp(url, "/_timeline") == 0 || strcmp(url, "/_agenda") == 0)
		return serve_snapshot(h, c, url);
	if (strcmp(url, "/_events") == 0)
		return serve_events(h, c);
	if (strncmp(url, "/_runs/", 7) == 0)
		return serve_run(h, c, url + 7);
	return MHD_queue_response(c, MHD_HTTP_NOT_FOUND, h->not_found);
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug("http: %s", buf);
}

int
http_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sl,
    char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	const char *colon = strrchr(listen, ':');
	char host[256], *end;
	size_t hl;
	long port;
	int rc;

	if (colon == NULL || colon[1] == '\0') {
		snprintf(err, errlen, "listen address '%s' is not ADDR:PORT",
		    listen);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port < 0 || port > 65535 ||
	    colon[1] == '-' || colon[1] == '+') {
		snprintf(err, errlen, "bad port in listen address '%s'", listen);
		return -1;
	}
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "listen address too long");
		return -1;
	}
	memcpy(host, listen, hl);
	host[hl] = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(hl > 0 ? host : NULL, colon + 1, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "listen address '%s': %s", listen,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void
format_addr(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, outlen, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

static void
free_responses(struct http *h)
{
	struct MHD_Response **rs[] = { &h->dashboard, &h->not_found,
	    &h->bad_method, &h->too_many, &h->bad_request };

	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		if (*rs[i] != NULL) {
			MHD_destroy_response(*rs[i]);
			*rs[i] = NULL;
		}
}

static int
make_responses(struct http *h)
{
	static const char nf[] = "{\"error\":\"not found\"}";
	static const char bm[] = "{\"error\":\"method not allowed\"}";
	static const char tm[] = "{\"error\":\"too many event streams\"}";
	static const char br[] = "{\"error\":\"bad request\"}";

	h->dashboard = static_response((const char *)keeper_dashboard_html,
	    keeper_dashboard_html_len, "text/html; charset=utf-8");
	h->not_found = static_response(nf, sizeof(nf) - 1, "application/json");
	h->bad_method = static_response(bm, sizeof(bm) - 1,
	    "application/json");
	h->too_many = static_response(tm, sizeof(tm) - 1, "application/json");
	h->bad_request = static_response(br, sizeof(br) - 1,
	    "application/json");
	if (h->dashboard == NULL || h->not_found == NULL ||
	    h->bad_method == NULL || h->too_many == NULL ||
	    h->bad_request == NULL)
		return -1;
	MHD_add_response_header(h->bad_request, "Connection", "close");
	MHD_add_response_header(h->dashboard, "Content-Security-Policy", csp);
	MHD_add_response_header(h->bad_method, "Allow", "GET, HEAD");
	MHD_add_response_header(h->too_many, "Retry-After", "5");
	return 0;
}

/* The door's hand-over: the server owns fd from here (and closes it
 * when it cannot take it). */
static void
pass(void *arg, int fd, const struct sockaddr *sa, socklen_t sl)
{
	struct http *h = arg;

	if (MHD_add_connection(h->mhd, fd, sa, sl) != MHD_YES)
		log_debug("http: connection not taken: %s", strerror(errno));
}

/* The server's connections opening and closing: their address's slot. */
static void
notify(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct http *h = cls;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	(void)socket_context;
	door_counted(h->door, ci != NULL ? ci->client_addr : NULL,
	    code == MHD_CONNECTION_NOTIFY_STARTED);
}

/* The listening socket, as libmicrohttpd would make it. */
static int
listen_on(const struct sockaddr_storage *ss, socklen_t sl)
{
	int fd, one = 1, saved;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

struct http *
http_start(const char *listen, struct snapshot_store *store,
    const struct http_limits *lim, char *err, size_t errlen)
{
	struct sockaddr_storage ss = { 0 }, bound = { 0 };
	socklen_t sl = 0, bl = sizeof(bound);
	struct door_limits dl;
	unsigned flags;
	struct http *h;
	int fd;

	if (listen == NULL)
		listen = HTTP_DEFAULT_LISTEN;
	if (http_parse_listen(listen, &ss, &sl, err, errlen) != 0)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->store = store;
	if (lim != NULL)
		h->lim = *lim;
	else
		http_default_limits(&h->lim);
	if (make_responses(h) != 0) {
		snprintf(err, errlen, "cannot build http responses");
		goto fail;
	}
	if ((fd = listen_on(&ss, sl)) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&bound, &bl) != 0) {
		snprintf(err, errlen, "cannot read the bound address");
		close(fd);
		goto fail;
	}
	format_addr(&bound, h->addr, sizeof(h->addr));
	dl = (struct door_limits){ .connections = h->lim.connections,
	    .per_ip = h->lim.per_ip, .timeout_s = h->lim.timeout_s };
	h->door = door_new(&dl, pass, h);
	/* The server's own limits are the door's, a second guard for the
	 * moment a passed connection is not counted yet. */
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
	    MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
	    MHD_OPTION_CONNECTION_LIMIT, h->lim.connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->lim.per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, h->lim.timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, h->lim.memory,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)256 * 1024,
	    MHD_OPTION_NOTIFY_CONNECTION, notify, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "cannot start the http server on %s: %s",
		    listen, errno != 0 ? strerror(errno) :
		    "libmicrohttpd failed");
		close(fd);
		goto fail;
	}
	if (door_start(h->door, fd, err, errlen) != 0)
		goto fail;
	return h;
fail:
	http_stop(h);
	return NULL;
}

const char *
http_addr(const struct http *h)
{
	return h->addr;
}

unsigned
http_open_connections(struct http *h)
{
	return door_open(h->door);
}

int
http_write_addr(const struct http *h, const char *dir, char *err,
    size_t errlen)
{
	char *path = xasprintf("%s/http.addr", dir), line[96];
	int n = snprintf(line, sizeof(line), "%s\n", h->addr);
	int rc = fs_write_atomic(path, line, (size_t)n, err, errlen);

	free(path);
	return rc;
}

void
http_remove_addr(const struct http *h, const char *dir)
{
	char *path = xasprintf("%s/http.addr", dir), *text;
	size_t n = strlen(h->addr);

	/* Someone else's address (a keeper started since) stays. */
	if ((text = util_read_file(path, NULL)) != NULL &&
	    strncmp(text, h->addr, n) == 0 && strcmp(text + n, "\n") == 0)
		(void)unlink(path);
	free(text);
	free(path);
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	/* No connection comes in once the door is shut; the server may
	 * still report its own closing to it while it stops. */
	door_stop(h->door);
	if (h->mhd != NULL) {
		/* Streams blocked in sse_read must return before MHD joins. */
		atomic_store(&h->stopping, 1);
		snapshot_kick(h->store);
		MHD_stop_daemon(h->mhd);
	}
	door_free(h->door);
	free_responses(h);
	free(h);
}
