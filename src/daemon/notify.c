/*
 * notify: sd_notify(3) without libsystemd. The protocol is a datagram of
 * newline-separated VAR=VALUE lines sent to $NOTIFY_SOCKET; that is all
 * keeper needs, so it is a socket and a sendto() rather than a library.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "util.h"

int
notify_parse_addr(const char *name, struct sockaddr_un *sa, socklen_t *len,
    char *err, size_t errlen)
{
	size_t n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (name == NULL || (name[0] != '/' && name[0] != '@')) {
		snprintf(err, errlen, "NOTIFY_SOCKET '%s' is neither an "
		    "absolute path nor an @abstract name", name ? name : "");
		return -1;
	}
	n = strlen(name);
	if (n < 2 || n > sizeof(sa->sun_path) - (name[0] == '/')) {
		snprintf(err, errlen, "NOTIFY_SOCKET '%s' has a bad length",
		    name);
		return -1;
	}
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@') {
		/* Abstract namespace: a leading NUL, no terminator counted. */
		sa->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    n + 1);
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int64_t
notify_parse_watchdog(const char *usec, const char *pid, pid_t self,
    char *err, size_t errlen)
{
	uint64_t us, p;

	if (usec == NULL || *usec == '\0')
		return 0;
	if (parse_u64(usec, &us) == -1) {
		snprintf(err, errlen, "WATCHDOG_USEC '%s' is not a number",
		    usec);
		return -1;
	}
	/* WATCHDOG_PID names the process the watchdog is for; a variable
	 * inherited from a parent that was watched itself is not ours. */
	if (pid != NULL && *pid != '\0') {
		if (parse_u64(pid, &p) == -1) {
			snprintf(err, errlen, "WATCHDOG_PID '%s' is not a "
			    "number", pid);
			return -1;
		}
		if (p != (uint64_t)self)
			return 0;
	}
	if (us == 0)
		return 0;
	/* Pet at half the timeout, as sd_watchdog_enabled(3) advises. */
	if (us / 2000 == 0)
		return 1;
	if (us / 2000 > INT64_MAX)
		return INT64_MAX;
	return (int64_t)(us / 2000);
}

static void
notify_zero(struct notify *n)
{
	memset(n, 0, sizeof(*n));
	n->fd = -1;
}

int
notify_init(struct notify *n, const char *sockname, const char *wd_usec,
    const char *wd_pid, char *err, size_t errlen)
{
	int64_t wd;

	notify_zero(n);
	if (sockname == NULL || *sockname == '\0')
		return 0;
	wd = notify_parse_watchdog(wd_usec, wd_pid, getpid(), err, errlen);
	if (wd == -1)
		return -1;
	if (notify_parse_addr(sockname, &n->addr, &n->addrlen, err,
	    errlen) == -1)
		return -1;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd == -1) {
		snprintf(err, errlen, "notify socket: %s", strerror(errno));
		return -1;
	}
	n->watchdog_ms = wd;
	snprintf(n->sockname, sizeof(n->sockname), "%s", sockname);
	return 0;
}

void
notify_unset_env(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int
notify_enabled(const struct notify *n)
{
	return n->fd != -1;
}

int
notify_send(struct notify *n, const char *msg)
{
	ssize_t w;

	if (n->fd == -1)
		return 0;
	w = sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (const struct sockaddr *)&n->addr, n->addrlen);
	if (w == -1) {
		n->send_errors++;
		return -errno;
	}
	return 0;
}

int
notify_sendf(struct notify *n, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;
	struct sb b = { 0 };

	if (n->fd == -1)
		return 0;
	va_start(ap, fmt);
	sb_vaddf(&b, fmt, ap);
	va_end(ap);
	msg = sb_detach(&b);
	rc = notify_send(n, msg);
	free(msg);
	return rc;
}

/* A STATUS= value is one line: newlines would start new variables. */
static char *
status_line(const char *status)
{
	char *s = xstrdup(status), *p;

	for (p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

static int
send_with_status(struct notify *n, const char *what, const char *status)
{
	char *s;
	int rc;

	if (status == NULL || *status == '\0')
		return notify_send(n, what);
	s = status_line(status);
	rc = notify_sendf(n, "%s\nSTATUS=%s", what, s);
	free(s);
	return rc;
}

int
notify_ready(struct notify *n, const char *status)
{
	return send_with_status(n, "READY=1", status);
}

int
notify_stopping(struct notify *n, const char *status)
{
	return send_with_status(n, "STOPPING=1", status);
}

int
notify_reloading(struct notify *n)
{
	struct timespec ts;

	/* MONOTONIC_USEC lets Type=notify-reload managers match the READY=1
	 * that ends the reload; plain Type=notify ignores it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return notify_sendf(n, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static void
on_pet(uv_timer_t *t)
{
	struct notify *n = t->data;

	if (notify_send(n, "WATCHDOG=1") == 0)
		n->pets++;
}

int
notify_watchdog_start(struct notify *n, uv_loop_t *loop)
{
	int rc;

	if (n->fd == -1 || n->watchdog_ms <= 0 || n->timer_armed)
		return 0;
	if ((rc = uv_timer_init(loop, &n->timer)) != 0)
		return rc;
	n->timer.data = n;
	if ((rc = uv_timer_start(&n->timer, on_pet, 0,
	    (uint64_t)n->watchdog_ms)) != 0) {
		uv_close((uv_handle_t *)&n->timer, NULL);
		return rc;
	}
	/* The pet never keeps the loop alive by itself: a draining daemon
	 * exits when its real work is done. */
	uv_unref((uv_handle_t *)&n->timer);
	n->timer_armed = 1;
	return 0;
}

void
notify_watchdog_stop(struct notify *n)
{
	if (!n->timer_armed)
		return;
	uv_timer_stop(&n->timer);
	uv_close((uv_handle_t *)&n->timer, NULL);
	n->timer_armed = 0;
}

void
notify_release(struct notify *n)
{
	notify_watchdog_stop(n);
	if (n->fd != -1)
		close(n->fd);
	n->fd = -1;
}
