/*
 * event: writing and reading run event lines (see event.h).
 */
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "utf8.h"

size_t
event_line(char *buf, const char *kind, const char *text, size_t len)
{
	size_t n = 0, max = EVENT_LINE_MAX - 1, k;

	for (k = 0; kind[k] != '\0' && n < max; k++)
		buf[n++] = kind[k];
	if (n < max)
		buf[n++] = ' ';
	len = utf8_cut(text, len, max - n);
	for (k = 0; k < len; k++) {
		char c = text[k];

		buf[n++] = (c == '\n' || c == '\r') ? ' ' : c;
	}
	buf[n++] = '\n';
	return n;
}

int
event_step_end_text(char *buf, size_t size, const char *name,
    size_t namelen, const char *status, int64_t ms)
{
	return snprintf(buf, size, "%.*s %s %lld", (int)namelen, name, status,
	    (long long)ms);
}

int
event_usage_text(char *buf, size_t size, long prompt, long completion,
    long total)
{
	return snprintf(buf, size, "%ld %ld %ld", prompt < 0 ? 0 : prompt,
	    completion < 0 ? 0 : completion, total < 0 ? 0 : total);
}

/* One whole line in r->line: split it and report it. */
static void
emit(struct event_reader *r, event_fn fn, void *arg)
{
	char *sp;

	r->line[r->len] = '\0';
	if (r->len > 0 && r->line[r->len - 1] == '\r')
		r->line[--r->len] = '\0';
	if (r->len == 0)
		return;
	if ((sp = strchr(r->line, ' ')) != NULL)
		*sp++ = '\0';
	fn(r->line, sp ? sp : "", arg);
}

void
event_feed(struct event_reader *r, const char *p, size_t n, event_fn fn,
    void *arg)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			if (!r->drop)
				emit(r, fn, arg);
			r->len = 0;
			r->drop = 0;
		} else if (r->drop) {
			continue;
		} else if (r->len < sizeof(r->line) - 1) {
			/* A NUL would end the text early: a space instead. */
			r->line[r->len++] = p[i] ? p[i] : ' ';
		} else {
			/* Over-long: report the first bytes now, drop the
			 * rest up to the newline. */
			emit(r, fn, arg);
			r->len = 0;
			r->drop = 1;
		}
	}
}

void
event_end(struct event_reader *r, event_fn fn, void *arg)
{
	if (r->len > 0 && !r->drop)
		emit(r, fn, arg);
	r->len = 0;
	r->drop = 0;
}

int
event_usage(const char *text, long *prompt, long *completion)
{
	return sscanf(text, "%ld %ld", prompt, completion) == 2 ? 0 : -1;
}
