/*
 * telemetry: what a run tells while it runs (SPEC §6, event.h). Each
 * step's begin and end, the ::step:: and ::thought:: lines its output
 * holds and an llm step's token usage go to the daemon as event lines on
 * the event fd, redacted; without one (exec-def by hand) they go to
 * stderr for people. Output is scanned line by line as it streams
 * (telescan.h, which the daemon shares for a shell it runs directly).
 * Neighbours: exec-int.h; the steps that feed it are shstep.c and
 * llmstep.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "exec-int.h"
#include "fs.h"

static const char *const st_names[] = {
	[ST_OK] = "ok", [ST_NO_WORK] = "no_work", [ST_FAILED] = "failed",
	[ST_KILLED] = "killed",
};

void
exec__emit(struct run *r, const char *kind, const char *text, size_t len)
{
	char buf[EVENT_LINE_MAX], *red;
	size_t n;

	/* The daemon redacts again; this keeps secrets off the wire and
	 * out of a terminal someone is sharing. */
	red = redact_apply(r->rd, text, len, &len);
	if (r->o->event_fd >= 0) {
		n = event_line(buf, kind, red, len);
		/* Telemetry is best effort: a daemon that went away must not
		 * fail the run. */
		(void)fs_write_all(r->o->event_fd, buf, n);
	} else
		fprintf(stderr, "   %s: %.*s\n", kind, (int)len, red);
	free(red);
}

/*
 * Until the reader has taken what is in the pipe fd (a pipe's FIONREAD
 * counts its unread bytes from either end); not a pipe, at once. Capped
 * at STEP_SYNC_MS: a reader that stopped must not stop the run.
 */
#define STEP_SYNC_MS	2000

static void
wait_taken(int fd)
{
	int n;

	for (int i = 0; i < STEP_SYNC_MS * 5; i++) {
		if (ioctl(fd, FIONREAD, &n) == -1 || n == 0)
			return;
		usleep(200);
	}
}

void
exec__step_begun(struct run *r, const char *name)
{
	size_t len = strlen(name);

	if (len > NAME_MAX_EVENT)
		len = NAME_MAX_EVENT;
	if (r->o->event_fd >= 0) {
		/* The log (stderr) and the events are two pipes the daemon
		 * reads as they come, and it splits the log by step where
		 * step-begin arrives: the last step's log read before its
		 * step-begin lost a failure its reason. So the earlier
		 * steps' log is taken before step-begin is sent, and
		 * step-begin before the step may write. */
		wait_taken(2);
		exec__emit(r, EVENT_STEP_BEGIN, name, len);
		wait_taken(r->o->event_fd);
	} else
		fprintf(stderr, "== %.*s\n", (int)len, name);
}

void
exec__step_ended(struct run *r, const char *name, enum step_st st, int64_t ms)
{
	size_t len = strlen(name);
	char text[NAME_MAX_EVENT + 64];
	int n;

	if (len > NAME_MAX_EVENT)
		len = NAME_MAX_EVENT;
	if (r->o->event_fd < 0) {
		fprintf(stderr, "== %.*s: %s (%lld ms)\n", (int)len, name,
		    st_names[st], (long long)ms);
		return;
	}
	n = event_step_end_text(text, sizeof(text), name, len, st_names[st],
	    ms);
	exec__emit(r, EVENT_STEP_END, text, (size_t)n);
}

static void
scanned(const char *kind, const char *text, size_t len, void *arg)
{
	exec__emit(arg, kind, text, len);
}

void
exec__scan_feed(struct run *r, const char *p, size_t len)
{
	telescan_feed(&r->scan, p, len, scanned, r);
}

void
exec__scan_flush(struct run *r)
{
	telescan_flush(&r->scan, scanned, r);
}
