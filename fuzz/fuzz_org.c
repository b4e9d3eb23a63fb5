/*
 * libFuzzer harness for orgparse: any bytes must parse without a crash,
 * and every element must point inside the document with a sane line. A
 * planning timestamp, parsed again on its own by org_timestamp_parse(),
 * must read the same where that accepts it (it may not: a diary sexp cut
 * at a bracket is one only before the rest of its line), and the input as
 * a whole goes through org_timestamp_parse() too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "org.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_ts(const org_str *raw, const org_timestamp *ts)
{
	org_timestamp	 again;

	if (ts->type == ORG_TS_NONE) {
		if (ts->raw.s != NULL)
			abort();
		return;
	}
	if (ts->raw.s != raw->s || ts->raw.len != raw->len)
		abort();
	if ((ts->hour_start < 0) != (ts->minute_start < 0) ||
	    (ts->hour_end < 0) != (ts->minute_end < 0))
		abort();
	if (org_timestamp_parse(raw->s, raw->len, &again) < 0)
		return;
	again.raw = ts->raw;
	if (memcmp(&again, ts, sizeof(again)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	org_doc		*d;
	org_timestamp	 ts;
	char		*copy, *v;
	size_t		 i, prev = 0;

	/* A private copy, so reads past the end are caught by ASan. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	(void)org_timestamp_parse(copy, size, &ts);
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
	for (i = 0; i < d->nplannings; i++) {
		const org_planning *p = &d->plannings[i];

		check_ts(&p->scheduled, &p->scheduled_ts);
		check_ts(&p->deadline, &p->deadline_ts);
		check_ts(&p->closed, &p->closed_ts);
	}
	(void)org_keyword_get(d, "TITLE");
	(void)org_heading_at_line(d, d->nlines / 2);
	org_free(d);
	return 0;
}
