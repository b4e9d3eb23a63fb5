/*
 * notify: the systemd service notification protocol (sd_notify(3)) spoken
 * directly, without libsystemd: one datagram per message to the AF_UNIX
 * socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace). keeper sends READY=1 once its workers are armed, STOPPING=1
 * when it drains, RELOADING=1 around SIGHUP, optional STATUS= lines, and
 * pets WATCHDOG=1 from a timer on the event loop itself at half of
 * $WATCHDOG_USEC: a wedged loop stops petting and systemd restarts it.
 *
 * Without $NOTIFY_SOCKET every call is a successful no-op, so the daemon
 * calls it unconditionally.
 *
 * Ownership: struct notify is owned by the caller (usually embedded in the
 * daemon) and must outlive its timer: after notify_release() the loop must
 * run once more so libuv can close the timer handle before the memory goes.
 */
#ifndef KEEPER_NOTIFY_H
#define KEEPER_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <uv.h>

struct notify {
	int			 fd;		/* -1: notifications off */
	struct sockaddr_un	 addr;
	socklen_t		 addrlen;
	int64_t			 watchdog_ms;	/* pet interval, 0 off */
	uv_timer_t		 timer;
	int			 timer_armed;
	uint64_t		 pets;		/* WATCHDOG=1 sent so far */
	uint64_t		 send_errors;
	char			 sockname[108];	/* $NOTIFY_SOCKET as given */
};

/*
 * Pure parsing, exposed for tests. notify_parse_addr() fills a sockaddr
 * for NAME ("/abs/path" or "@abstract"); -1 with err filled when NAME is
 * neither. notify_parse_watchdog() turns $WATCHDOG_USEC and $WATCHDOG_PID
 * into the pet interval in ms (half the timeout, at least 1), 0 when the
 * watchdog is off or meant for another process, -1 with err when the
 * value is malformed.
 */
int	 notify_parse_addr(const char *name, struct sockaddr_un *,
	    socklen_t *, char *err, size_t errlen);
int64_t	 notify_parse_watchdog(const char *usec, const char *pid, pid_t self,
	    char *err, size_t errlen);

/*
 * Set up from $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID's values
 * (settings.h read them; NULL when unset). Returns 0 (possibly with
 * notifications off), -1 with err when the values are malformed or the
 * socket cannot be made; the struct is then usable and off.
 */
int	 notify_init(struct notify *, const char *sockname, const char *wd_usec,
	    const char *wd_pid, char *err, size_t errlen);
/* Remove the three variables from the environment, so that the agents'
 * children never inherit the daemon's socket or watchdog. */
void	 notify_unset_env(void);
int	 notify_enabled(const struct notify *);

/* Send one message ("READY=1", "STATUS=...\n..."); 0 or -errno. Never
 * blocks: a full receiver queue drops the message. */
int	 notify_send(struct notify *, const char *msg);
int	 notify_sendf(struct notify *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 notify_ready(struct notify *, const char *status);
int	 notify_stopping(struct notify *, const char *status);
int	 notify_reloading(struct notify *);

/* Arm the watchdog timer on LOOP (no-op when the watchdog is off); it pets
 * once at once and then every watchdog_ms. */
int	 notify_watchdog_start(struct notify *, uv_loop_t *);
void	 notify_watchdog_stop(struct notify *);

/* Stop the timer (uv_close) and close the socket. */
void	 notify_release(struct notify *);

#endif
