/*
 * lines: see lines.h.
 */
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "util.h"

void
lines_init(struct lines *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

void
lines_feed(struct lines *l, const char *p, size_t n, lines_fn fn, void *arg)
{
	const char *start = p, *nl;
	size_t take;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		take = nl ? (size_t)(nl - p) : n;
		if (!l->overflow && take > 0) {
			size_t room = l->max - l->len;

			if (l->buf == NULL)
				l->buf = xmalloc(l->max ? l->max : 1);
			memcpy(l->buf + l->len, p, take < room ? take : room);
			if (take > room) {
				l->len = l->max;
				l->overflow = 1;
			} else
				l->len += take;
		}
		if (nl == NULL)
			return;
		fn(l->buf ? l->buf : "", l->len, (size_t)(nl + 1 - start), arg);
		lines_reset(l);
		p = nl + 1;
		n -= take + 1;
	}
}

size_t
lines_pending(const struct lines *l, const char **line)
{
	*line = l->buf ? l->buf : "";
	return l->len;
}

void
lines_reset(struct lines *l)
{
	l->len = 0;
	l->overflow = 0;
}

void
lines_release(struct lines *l)
{
	free(l->buf);
	l->buf = NULL;
	lines_reset(l);
}
