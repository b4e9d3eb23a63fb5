/*
 * clockwatch: see clockwatch.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clockwatch.h"
#include "log.h"
#include "util.h"

struct clockwatch {
	uv_poll_t	 poll;
	int		 fd;
	void		(*on_set)(void *);
	void		*arg;
};

/* Arm (again) at the end of time: it never expires, only cancels. */
static int
arm(int fd)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)INT32_MAX * 4;
	return timerfd_settime(fd, TFD_TIMER_ABSTIME |
	    TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static void
on_readable(uv_poll_t *p, int status, int events)
{
	struct clockwatch *cw = p->data;
	uint64_t n;

	(void)status;
	(void)events;
	if (read(cw->fd, &n, sizeof(n)) == -1 && errno != ECANCELED &&
	    errno != EAGAIN)
		return;
	if (arm(cw->fd) == -1)
		log_warnx("event=clock-watch-failed msg=%s",
		    log_qv(strerror(errno)));
	log_info("event=clock-set msg=\"the realtime clock was set; "
	    "calendar fires re-planned\"");
	cw->on_set(cw->arg);
}

struct clockwatch *
clockwatch_start(uv_loop_t *loop, void (*on_set)(void *), void *arg)
{
	struct clockwatch *cw;
	int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd == -1)
		return NULL;
	if (arm(fd) == -1) {
		close(fd);
		return NULL;
	}
	cw = xcalloc(1, sizeof(*cw));
	cw->fd = fd;
	cw->on_set = on_set;
	cw->arg = arg;
	cw->poll.data = cw;
	if (uv_poll_init(loop, &cw->poll, fd) != 0) {
		close(fd);
		free(cw);
		return NULL;
	}
	uv_poll_start(&cw->poll, UV_READABLE, on_readable);
	return cw;
}

static void
closed(uv_handle_t *h)
{
	struct clockwatch *cw = h->data;

	close(cw->fd);
	free(cw);
}

void
clockwatch_stop(struct clockwatch *cw)
{
	if (cw == NULL)
		return;
	uv_poll_stop(&cw->poll);
	uv_close((uv_handle_t *)&cw->poll, closed);
}
