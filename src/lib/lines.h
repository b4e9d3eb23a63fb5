/*
 * lines: a byte stream cut into lines as it is read, each held to at most
 * max bytes (the rest of a longer line is dropped, its start kept), for
 * the scanners of a run's output and log. The newline is not part of a
 * line.
 *
 * Ownership: a struct lines is the caller's; its buffer is allocated at
 * the first byte and freed by lines_release(). A line passed to the
 * callback lives until the callback returns.
 */
#ifndef KEEPER_LINES_H
#define KEEPER_LINES_H

#include <stddef.h>

struct lines {
	char	*buf;		/* the line so far, max bytes when allocated */
	size_t	 len, max;
	int	 overflow;	/* past max: the rest of the line is dropped */
};

/* end: the offset in the chunk being fed just past the line's newline. */
typedef void (*lines_fn)(const char *line, size_t len, size_t end,
    void *arg);

void	lines_init(struct lines *, size_t max);
/* Cut p[0..n) on to what came before; fn for every line it completes. */
void	lines_feed(struct lines *, const char *p, size_t n, lines_fn,
	    void *arg);
/* The line so far (no newline yet), and forgetting it. */
size_t	lines_pending(const struct lines *, const char **line);
void	lines_reset(struct lines *);
void	lines_release(struct lines *);

#endif
