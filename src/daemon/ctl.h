/*
 * ctl: DATA/keeper.sock, the control socket, both ends.
 *
 * The protocol: a client sends one request line ("run-once NAME",
 * "status", "ping", "pause NAME FOR_MS WHY", "resume NAME"). The daemon
 * answers "status" with one line of JSON and "ping" with "pong PID"; a
 * run-once is answered as it happens, with lines of text each prefixed
 * "> " and a last line "exit N" carrying its exit status, so that text
 * can never be taken for the end; pause and resume the same way, at once.
 * An unknown or oversized request gets "error ...".
 *
 * The server runs on the daemon's loop and hands each request line to the
 * daemon's callback; the client is plain blocking sockets, for the
 * commands.
 *
 * Ownership: ctl_listen() allocates, ctl_close() stops listening, unlinks
 * the socket and frees once its handles have closed. A ctl_client is
 * owned by the server: it lives until the connection closes, which the
 * on_close hook reports.
 */
#ifndef KEEPER_CTL_H
#define KEEPER_CTL_H

#include <stdio.h>

#include <uv.h>

/* DATA/keeper.sock, or a /proc/self/fd alias when too long for sun_path
 * (*dfd is then an open directory fd the caller closes, else -1). */
char	*ctl_sock_path(const char *data, int *dfd);

/* ---- the server ---- */

struct ctl;
struct ctl_client;

typedef void (*ctl_request_fn)(struct ctl_client *, char *line, void *arg);

/* Listen on DATA/keeper.sock (a stale socket is replaced: the caller holds
 * the data directory's lock). NULL with err when it cannot. */
struct ctl	*ctl_listen(uv_loop_t *, const char *data, ctl_request_fn,
		    void *arg, char *err, size_t errlen);
void		 ctl_close(struct ctl *);

/* Send s as it is; close the connection once it is written when
 * close_after. */
void	 ctl_send(struct ctl_client *, const char *s, int close_after);
/* Send text as "> " lines; with exit_status >= 0 end with "exit N" and
 * close. */
void	 ctl_send_text(struct ctl_client *, const char *text, int exit_status);
/* Called once when the connection closes (hang-up or after the last
 * write), before the client is freed. */
void	 ctl_on_close(struct ctl_client *, void (*fn)(struct ctl_client *,
	    void *), void *arg);

/* ---- the client ---- */

/* Send req (a line, newline included) to the daemon on data; retries a
 * while for one that is still starting (its lock is held). NULL when
 * nobody answers. */
FILE	*ctl_ask(const char *data, const char *req);
/* A request answered with "> " lines and "exit N" (req is the line,
 * without its newline): the lines printed to out as they come; the exit
 * status, -1 when nobody answered, -2 when the daemon hung up before the
 * end. */
int	 ctl_call(const char *data, const char *req, FILE *out);
/* run-once NAME through the daemon: ctl_call() of "run-once NAME". */
int	 ctl_run_once(const char *data, const char *name, FILE *out);

#endif
