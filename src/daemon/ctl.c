/*
 * ctl: the control socket's two ends (see ctl.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "preflight.h"
#include "util.h"

/* sun_path holds 108 bytes; a longer path goes through the directory's
 * /proc/self/fd alias. *dfd is to be closed by the caller. */
char *
ctl_sock_path(const char *data, int *dfd)
{
	char *p = xasprintf("%s/keeper.sock", data);

	*dfd = -1;
	if (strlen(p) < 100)
		return p;
	free(p);
	if ((*dfd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return xasprintf("%s/keeper.sock", data);
	return xasprintf("/proc/self/fd/%d/keeper.sock", *dfd);
}

/* ---- the server: one request line, then the answer ---- */

struct ctl {
	uv_pipe_t	 pipe;
	char		*path;
	ctl_request_fn	 fn;
	void		*arg;
};

struct ctl_client {
	uv_pipe_t	 pipe;
	struct ctl	*ctl;
	char		 buf[1024];
	size_t		 len;
	int		 closing;
	void		(*on_close)(struct ctl_client *, void *);
	void		*close_arg;
};

static void
client_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
client_close(struct ctl_client *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (c->on_close)
		c->on_close(c, c->close_arg);
	uv_close((uv_handle_t *)&c->pipe, client_closed);
}

void
ctl_on_close(struct ctl_client *c, void (*fn)(struct ctl_client *, void *),
    void *arg)
{
	c->on_close = fn;
	c->close_arg = arg;
}

struct wreq {
	uv_write_t		 req;
	struct ctl_client	*c;
	int			 close_after;
	char			 data[];
};

static void
write_cb(uv_write_t *req, int status)
{
	struct wreq *r = (struct wreq *)req;

	if ((status != 0 || r->close_after) && !r->c->closing)
		client_close(r->c);
	free(r);
}

void
ctl_send(struct ctl_client *c, const char *s, int close_after)
{
	size_t n = strlen(s);
	struct wreq *r;
	uv_buf_t b;

	if (c->closing)
		return;
	r = xmalloc(sizeof(*r) + n + 1);
	memcpy(r->data, s, n + 1);
	r->c = c;
	r->close_after = close_after;
	b = uv_buf_init(r->data, (unsigned int)n);
	if (uv_write(&r->req, (uv_stream_t *)&c->pipe, &b, 1, write_cb) != 0) {
		free(r);
		client_close(c);
	}
}

void
ctl_send_text(struct ctl_client *c, const char *text, int exit_status)
{
	struct sb sb = { 0 };
	const char *p = text, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		sb_adds(&sb, "> ");
		sb_add(&sb, p, nl ? (size_t)(nl - p) : strlen(p));
		sb_addc(&sb, '\n');
		p = nl ? nl + 1 : NULL;
	}
	if (exit_status >= 0)
		sb_addf(&sb, "exit %d\n", exit_status);
	ctl_send(c, sb.buf ? sb.buf : "", exit_status >= 0);
	sb_release(&sb);
}

static void
client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct ctl_client *c = h->data;

	(void)hint;
	*b = uv_buf_init(c->buf + c->len, (unsigned int)(sizeof(c->buf) - 1 -
	    c->len));
}

static void
client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct ctl_client *c = s->data;
	char *nl;

	(void)b;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if ((nl = strchr(c->buf, '\n')) != NULL) {
		*nl = '\0';
		uv_read_stop(s);
		c->ctl->fn(c, c->buf, c->ctl->arg);
		/* Watch for a hang-up while a run-once streams. */
		if (!c->closing)
			uv_read_start(s, client_alloc, client_read);
		c->len = 0;
	} else if (c->len >= sizeof(c->buf) - 1) {
		ctl_send(c, "error request too long\n", 1);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct ctl *ctl = server->data;
	struct ctl_client *c;

	if (status != 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	uv_pipe_init(server->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, client_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, client_alloc, client_read);
}

static void
ctl_closed(uv_handle_t *h)
{
	struct ctl *ctl = h->data;

	free(ctl->path);
	free(ctl);
}

struct ctl *
ctl_listen(uv_loop_t *loop, const char *data, ctl_request_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct ctl *ctl = xcalloc(1, sizeof(*ctl));
	int dfd, rc;

	ctl->fn = fn;
	ctl->arg = arg;
	ctl->path = ctl_sock_path(data, &dfd);
	(void)unlink(ctl->path);	/* stale: the caller holds the lock */
	uv_pipe_init(loop, &ctl->pipe, 0);
	ctl->pipe.data = ctl;
	if ((rc = uv_pipe_bind(&ctl->pipe, ctl->path)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&ctl->pipe, 64,
	    on_connection)) != 0) {
		snprintf(err, errlen, "%s: %s", ctl->path, uv_strerror(rc));
		uv_close((uv_handle_t *)&ctl->pipe, ctl_closed);
		ctl = NULL;
	}
	if (dfd != -1)
		close(dfd);
	return ctl;
}

void
ctl_close(struct ctl *ctl)
{
	if (ctl == NULL)
		return;
	(void)unlink(ctl->path);
	uv_close((uv_handle_t *)&ctl->pipe, ctl_closed);
}

/* ---- the client ---- */

/* Connect to DATA/keeper.sock; -1 when nobody answers. */
static int
connect_to(const char *data)
{
	struct sockaddr_un sa;
	int fd, dfd;
	char *p = ctl_sock_path(data, &dfd);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd != -1 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		fd = -1;
	}
	if (dfd != -1)
		close(dfd);
	free(p);
	return fd;
}

FILE *
ctl_ask(const char *data, const char *req)
{
	int64_t deadline = util_mono_ms() + 3000;
	FILE *f;
	int fd;

	while ((fd = connect_to(data)) == -1) {
		if (util_mono_ms() > deadline ||
		    preflight_lock_holder(data) == 0)
			return NULL;
		usleep(20000);
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return NULL;
	}
	return f;
}

int
ctl_call(const char *data, const char *request, FILE *out)
{
	char *req = xasprintf("%s\n", request), *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = -2;

	f = ctl_ask(data, req);
	free(req);
	if (f == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "> ", 2) == 0) {
			fputs(line + 2, out);
			fflush(out);
		} else if (strncmp(line, "exit ", 5) == 0) {
			rc = atoi(line + 5);
		}
	}
	free(line);
	fclose(f);
	return rc;
}

int
ctl_run_once(const char *data, const char *name, FILE *out)
{
	char *req = xasprintf("run-once %s", name);
	int rc = ctl_call(data, req, out);

	free(req);
	return rc;
}
