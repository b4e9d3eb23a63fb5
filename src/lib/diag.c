/*
 * diag: accumulate FILE:LINE: message problems for the caller.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "diag.h"
#include "util.h"

void
diag_add(struct diag *d, enum diag_level level, const char *file, size_t line,
    const char *fmt, ...)
{
	struct diag_item *it;
	struct sb sb = { 0 };
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	/* Grow by doubling (capacity is the next power of two) so that a
	 * file with a million problems costs linear time, not quadratic. */
	if ((d->n & (d->n - 1)) == 0)
		d->items = xreallocarray(d->items, d->n ? d->n * 2 : 1,
		    sizeof(*d->items));
	it = &d->items[d->n++];
	it->level = level;
	it->file = xstrdup(file ? file : "-");
	it->line = line;
	it->msg = sb_detach(&sb);
	if (level == DIAG_ERROR)
		d->nerrors++;
}

char *
diag_format(const struct diag_item *it)
{
	const char *w = it->level == DIAG_WARNING ? "warning: " : "";

	if (it->line)
		return xasprintf("%s:%zu: %s%s", it->file, it->line, w, it->msg);
	return xasprintf("%s: %s%s", it->file, w, it->msg);
}

char *
diag_first_error(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].level == DIAG_ERROR)
			return diag_format(&d->items[i]);
	return NULL;
}

void
diag_release(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].msg);
	}
	free(d->items);
	d->items = NULL;
	d->n = d->nerrors = 0;
}
