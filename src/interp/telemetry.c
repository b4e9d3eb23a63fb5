/*
 * telemetry: what a run tells while it runs (SPEC §6, event.h). Each
 * step's begin and end, the ::step:: and ::thought:: lines its output
 * holds and an llm step's token usage go to the daemon as event lines on
 * the event fd, redacted; without one (exec-def by hand) they go to
 * stderr for people. Output is scanned line by line as it streams, in a
 * bounded buffer: a line longer than EVENT_LINE_MAX is judged on its
 * start. Neighbours: exec-int.h; the steps that feed it are shstep.c and
 * llmstep.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void
exec__step_begun(struct run *r, const char *name)
{
	size_t len = strlen(name);

	if (len > NAME_MAX_EVENT)
		len = NAME_MAX_EVENT;
	if (r->o->event_fd >= 0)
		exec__emit(r, EVENT_STEP_BEGIN, name, len);
	else
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
scan_match(struct run *r, const char *line, size_t len)
{
	static const char *const kinds[] = { EVENT_STEP, EVENT_THOUGHT };
	pcre2_code *res[2] = { r->step_re, r->thought_re };
	PCRE2_SIZE *ov;
	int rc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (int k = 0; k < 2; k++) {
		rc = pcre2_match(res[k], (PCRE2_SPTR)line, len, 0, 0, r->md,
		    NULL);
		if (rc <= 0)
			continue;
		ov = pcre2_get_ovector_pointer(r->md);
		if (rc >= 2 && ov[2] != PCRE2_UNSET)
			exec__emit(r, kinds[k], line + ov[2], ov[3] - ov[2]);
		else
			exec__emit(r, kinds[k], line + ov[0], ov[1] - ov[0]);
	}
}

void
exec__scan_feed(struct run *r, const char *p, size_t len)
{
	struct scan *s = &r->scan;
	const char *nl;
	size_t take;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		take = nl ? (size_t)(nl - p) : len;
		if (!s->overflow) {
			if (take > sizeof(s->line) - s->len) {
				memcpy(s->line + s->len, p,
				    sizeof(s->line) - s->len);
				s->len = sizeof(s->line);
				s->overflow = 1;
			} else {
				memcpy(s->line + s->len, p, take);
				s->len += take;
			}
		}
		if (nl == NULL)
			return;
		scan_match(r, s->line, s->len);
		s->len = 0;
		s->overflow = 0;
		p = nl + 1;
		len -= take + 1;
	}
}

void
exec__scan_flush(struct run *r)
{
	if (r->scan.len > 0)
		scan_match(r, r->scan.line, r->scan.len);
	r->scan.len = 0;
	r->scan.overflow = 0;
}
