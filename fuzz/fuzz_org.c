/*
 * libFuzzer harness for orgparse: any bytes must parse without a crash,
 * and every element must point inside the document with a sane line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "org.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	org_doc	*d;
	char	*copy, *v;
	size_t	 i, prev = 0;

	/* A private copy, so reads past the end are caught by ASan. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	d = org_parse(copy, size);
	free(copy);
	if (d == NULL)
		return 0;
	for (i = 0; i < d->nelems; i++) {
		if (d->elems[i].line < 1 || d->elems[i].line > d->nlines ||
		    d->elems[i].line < prev)
			abort();
		prev = d->elems[i].line;
	}
	for (i = 0; i < d->nheadings; i++) {
		v = org_property(d, (long)i, "ID", 1, NULL);
		free(v);
		if (d->headings[i].title.s == NULL)
			abort();
	}
	(void)org_keyword_get(d, "TITLE");
	(void)org_heading_at_line(d, d->nlines / 2);
	org_free(d);
	return 0;
}
