/*
 * org-dump: print the structure orgparse reads from an org file, one JSON
 * object per element, in document order. tests/fidelity/org-dump.el
 * prints Emacs org-element's view in the same shape, so the two can be
 * compared line by line. A planning line prints each timestamp twice: as
 * its raw text and parsed (put_ts()).
 *
 * Strings are printed as UTF-8 with ", \ and control characters escaped;
 * a byte that is not part of a UTF-8 sequence Emacs would decode, and any
 * character beyond U+10FFFF, prints as \ufffd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "org.h"

static void
put_str(FILE *f, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s, *e = p + n;

	putc('"', f);
	while (p < e) {
		unsigned c = *p, i, len = 0;
		unsigned long v = 0, min = 0;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
			p++;
			continue;
		}
		if (c < 0x20) {
			fprintf(f, "\\u%04x", c);
			p++;
			continue;
		}
		if (c < 0x80) {
			putc((int)c, f);
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2; v = c & 0x1F; min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3; v = c & 0x0F; min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF7) {
			len = 4; v = c & 0x07; min = 0x10000;
		} else if (c == 0xF8) {
			len = 5; v = 0; min = 0x200000;
		}
		if (len == 0 || (size_t)(e - p) < len)
			goto bad;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				goto bad;
			v = (v << 6) | (p[i] & 0x3F);
		}
		if (v < min || (v >= 0xD800 && v <= 0xDFFF) || v > 0x3FFF7F)
			goto bad;
		if (v > 0x10FFFF)
			fputs("\\ufffd", f);
		else
			fwrite(p, 1, len, f);
		p += len;
		continue;
bad:
		fputs("\\ufffd", f);
		p++;
	}
	putc('"', f);
}

static void
put_opt(FILE *f, org_str s)
{
	if (s.s == NULL)
		fputs("null", f);
	else
		put_str(f, s.s, s.len);
}

/* -1 (no time) as null. */
static void
put_int(FILE *f, int v)
{
	if (v < 0)
		fputs("null", f);
	else
		fprintf(f, "%d", v);
}

/*
 * A parsed timestamp: {"type":..., "start":[Y,M,D,h,m], "end":[...],
 * "repeater":[type,value,unit] or null, "warning":[...] or null}, or null
 * when absent. A diary sexp has no fields: its dates print as null.
 */
static void
put_ts(FILE *f, const org_timestamp *ts)
{
	static const char *const type[] = { NULL, "active", "active-range",
	    "inactive", "inactive-range", "diary" };
	static const char *const rep[] = { NULL, "cumulate", "catch-up",
	    "restart" };
	static const char *const warn[] = { NULL, "all", "first" };
	int	 diary = ts->type == ORG_TS_DIARY;

	if (ts->type == ORG_TS_NONE) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"type\":\"%s\",\"start\":[", type[ts->type]);
	put_int(f, diary ? -1 : ts->year_start);
	putc(',', f);
	put_int(f, diary ? -1 : ts->month_start);
	putc(',', f);
	put_int(f, diary ? -1 : ts->day_start);
	putc(',', f);
	put_int(f, ts->hour_start);
	putc(',', f);
	put_int(f, ts->minute_start);
	fputs("],\"end\":[", f);
	put_int(f, diary ? -1 : ts->year_end);
	putc(',', f);
	put_int(f, diary ? -1 : ts->month_end);
	putc(',', f);
	put_int(f, diary ? -1 : ts->day_end);
	putc(',', f);
	put_int(f, ts->hour_end);
	putc(',', f);
	put_int(f, ts->minute_end);
	fputs("],\"repeater\":", f);
	if (ts->repeater_type == ORG_REP_NONE)
		fputs("null", f);
	else
		fprintf(f, "[\"%s\",%d,\"%c\"]", rep[ts->repeater_type],
		    ts->repeater_value, ts->repeater_unit);
	fputs(",\"warning\":", f);
	if (ts->warning_type == ORG_WARN_NONE)
		fputs("null", f);
	else
		fprintf(f, "[\"%s\",%d,\"%c\"]", warn[ts->warning_type],
		    ts->warning_value, ts->warning_unit);
	putc('}', f);
}

static void
dump(FILE *f, const org_doc *d)
{
	size_t	 i, j;

	for (i = 0; i < d->nelems; i++) {
		const org_elem *el = &d->elems[i];

		switch (el->type) {
		case ORG_HEADING: {
			const org_heading *h = &d->headings[el->index];

			fprintf(f, "{\"t\":\"heading\",\"line\":%zu,\"level\":%d,"
			    "\"todo\":", h->line, h->olevel);
			put_opt(f, h->todo);
			fputs(",\"priority\":", f);
			put_opt(f, h->priority);
			fputs(",\"title\":", f);
			put_str(f, h->title.s, h->title.len);
			fputs(",\"tags\":[", f);
			for (j = 0; j < h->ntags; j++) {
				if (j)
					putc(',', f);
				put_str(f, h->tags[j].s, h->tags[j].len);
			}
			fprintf(f, "],\"commented\":%s}\n",
			    h->commented ? "true" : "false");
			break;
		}
		case ORG_PLANNING: {
			const org_planning *p = &d->plannings[el->index];

			fprintf(f, "{\"t\":\"planning\",\"line\":%zu,"
			    "\"scheduled\":", p->line);
			put_opt(f, p->scheduled);
			fputs(",\"deadline\":", f);
			put_opt(f, p->deadline);
			fputs(",\"closed\":", f);
			put_opt(f, p->closed);
			fputs(",\"scheduled_ts\":", f);
			put_ts(f, &p->scheduled_ts);
			fputs(",\"deadline_ts\":", f);
			put_ts(f, &p->deadline_ts);
			fputs(",\"closed_ts\":", f);
			put_ts(f, &p->closed_ts);
			fputs("}\n", f);
			break;
		}
		case ORG_PROPERTY: {
			const org_prop *p = &d->props[el->index];

			fprintf(f, "{\"t\":\"property\",\"line\":%zu,\"key\":",
			    p->line);
			if (p->append) {
				/* Print the key as written: FOO+. */
				char *k = malloc(p->key.len + 2);

				if (k == NULL)
					exit(1);
				memcpy(k, p->key.s, p->key.len);
				k[p->key.len] = '+';
				put_str(f, k, p->key.len + 1);
				free(k);
			} else
				put_str(f, p->key.s, p->key.len);
			fputs(",\"value\":", f);
			put_str(f, p->value.s, p->value.len);
			fputs("}\n", f);
			break;
		}
		case ORG_KEYWORD: {
			const org_keyword *k = &d->keywords[el->index];

			fprintf(f, "{\"t\":\"keyword\",\"line\":%zu,\"key\":",
			    k->line);
			put_str(f, k->key.s, k->key.len);
			fputs(",\"value\":", f);
			put_str(f, k->value.s, k->value.len);
			fputs("}\n", f);
			break;
		}
		case ORG_DRAWER: {
			const org_drawer *dr = &d->drawers[el->index];

			fprintf(f, "{\"t\":\"drawer\",\"line\":%zu,\"name\":",
			    dr->line);
			put_str(f, dr->name.s, dr->name.len);
			fputs("}\n", f);
			break;
		}
		case ORG_BLOCK: {
			const org_block *b = &d->blocks[el->index];

			fprintf(f, "{\"t\":\"block\",\"line\":%zu,\"name\":",
			    b->line);
			put_str(f, b->name.s, b->name.len);
			fputs(",\"lang\":", f);
			put_opt(f, b->lang);
			fputs(",\"params\":", f);
			put_opt(f, b->params);
			fputs(",\"value\":", f);
			put_str(f, b->value.s, b->value.len);
			fputs("}\n", f);
			break;
		}
		}
	}
}

static int
read_all(FILE *in, char **buf, size_t *len)
{
	size_t	 cap = 65536, n = 0, r;
	char	*b = malloc(cap), *nb;

	if (b == NULL)
		return -1;
	while ((r = fread(b + n, 1, cap - n, in)) > 0) {
		n += r;
		if (n == cap) {
			if ((nb = realloc(b, cap * 2)) == NULL) {
				free(b);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
	}
	if (ferror(in)) {
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

int
main(int argc, char **argv)
{
	FILE	*in;
	char	*buf;
	size_t	 len;
	org_doc	*d;
	int	 i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: org-dump FILE...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			in = stdin;
		else if ((in = fopen(argv[i], "rb")) == NULL) {
			fprintf(stderr, "org-dump: %s: cannot open\n", argv[i]);
			rc = 1;
			continue;
		}
		if (read_all(in, &buf, &len) < 0) {
			fprintf(stderr, "org-dump: %s: cannot read\n", argv[i]);
			rc = 1;
			if (in != stdin)
				fclose(in);
			continue;
		}
		if (in != stdin)
			fclose(in);
		if ((d = org_parse(buf, len)) == NULL) {
			fprintf(stderr, "org-dump: out of memory\n");
			free(buf);
			return 1;
		}
		if (argc > 2)
			fputs("{\"t\":\"file\",\"name\":", stdout), put_str(stdout, argv[i], strlen(argv[i])), fputs("}\n", stdout);
		dump(stdout, d);
		org_free(d);
		free(buf);
	}
	return rc;
}
