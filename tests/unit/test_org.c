/*
 * Unit tests for orgparse: each rule of org-element the parser follows,
 * the look-up helpers, and hostile input (CRLF, NUL, no final newline,
 * huge lines, deep headings and nesting, random bytes).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "org.h"

static org_doc *
P(const char *s)
{
	org_doc	*d = org_parse(s, strlen(s));

	assert_non_null(d);
	return d;
}

static void
assert_str(org_str s, const char *want)
{
	if (want == NULL) {
		assert_null(s.s);
		return;
	}
	assert_non_null(s.s);
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.s, want, s.len);
}

/* Count elements of a type. */
static size_t
count(const org_doc *d, enum org_type t)
{
	size_t	 i, n = 0;

	for (i = 0; i < d->nelems; i++)
		n += d->elems[i].type == t;
	return n;
}

static void
heading_needs_star_space(void **state)
{
	org_doc	*d = P("*bold* text\n*\ttab\n* \n*\n**  x\n");

	(void)state;
	assert_int_equal(d->nheadings, 2);
	assert_int_equal(d->headings[0].line, 3);
	assert_int_equal(d->headings[0].level, 1);
	assert_str(d->headings[0].title, "");
	assert_int_equal(d->headings[1].line, 5);
	assert_int_equal(d->headings[1].level, 2);
	assert_str(d->headings[1].title, "x");
	assert_int_equal(d->headings[1].parent, 0);
	org_free(d);
	/* A no-break space after the stars is not a heading. */
	d = P("*\xc2\xa0x\n");
	assert_int_equal(d->nheadings, 0);
	org_free(d);
}

static void
heading_fields(void **state)
{
	org_doc	*d = P("* TODO [#A] COMMENT Title here   :a:b_c:@d:\n"
	    "* DONE\n* TODO\n* todo x\n* COMMENTARY\n* :t:\n* x :a b:\n");
	const org_heading *h = d->headings;

	(void)state;
	assert_int_equal(d->nheadings, 7);
	assert_str(h[0].todo, "TODO");
	assert_str(h[0].priority, "A");
	assert_true(h[0].commented);
	assert_str(h[0].title, "Title here");
	assert_int_equal(h[0].ntags, 3);
	assert_str(h[0].tags[1], "b_c");
	assert_str(h[0].tags[2], "@d");
	/* A keyword needs a following space. */
	assert_null(h[1].todo.s);
	assert_str(h[1].title, "DONE");
	assert_null(h[2].todo.s);
	assert_null(h[3].todo.s);
	/* COMMENT is a prefix match, as in org-element. */
	assert_true(h[4].commented);
	assert_str(h[4].title, "ARY");
	assert_int_equal(h[5].ntags, 1);
	assert_str(h[5].title, "");
	assert_int_equal(h[6].ntags, 0);
	assert_str(h[6].title, "x :a b:");
	org_free(d);
}

static void
todo_keywords_from_file(void **state)
{
	org_doc	*d = P("* NEXT a\n#+TODO: NEXT(n) WAIT(w@/!) | FIXED\n"
	    "#+TYP_TODO: X\n* WAIT b\n* TODO c\n* X d\n"
	    "#+begin_src org\n#+TODO: INSRC\n#+end_src\n* INSRC e\n");

	(void)state;
	/* Collected from the whole buffer, before or after. */
	assert_str(d->headings[0].todo, "NEXT");
	assert_str(d->headings[1].todo, "WAIT");
	/* TODO is no longer a keyword once the file sets its own. */
	assert_null(d->headings[2].todo.s);
	assert_str(d->headings[3].todo, "X");
	/* A #+TODO: line inside a block is not a keyword. */
	assert_null(d->headings[4].todo.s);
	org_free(d);
	d = P("#+TODO:\n* TODO x\n");
	assert_null(d->headings[0].todo.s);
	org_free(d);
}

static void
planning_lines(void **state)
{
	org_doc	*d = P("* A\nSCHEDULED: <2024-01-01 Mon +1w> "
	    "CLOSED: [2024-01-02 Tue]\n* B\n\nDEADLINE: <2024-01-01>\n"
	    "* C\nDEADLINE: <2024-01-01>--<2024-01-02>\n");

	(void)state;
	assert_int_equal(d->nplannings, 2);
	assert_str(d->plannings[0].scheduled, "<2024-01-01 Mon +1w>");
	assert_str(d->plannings[0].closed, "[2024-01-02 Tue]");
	assert_null(d->plannings[0].deadline.s);
	assert_int_equal(d->plannings[0].line, 2);
	assert_int_equal(d->headings[0].planning, 0);
	/* After a blank line it is text. */
	assert_int_equal(d->headings[1].planning, -1);
	assert_str(d->plannings[1].deadline, "<2024-01-01>--<2024-01-02>");
	org_free(d);
}

static void
property_drawers(void **state)
{
	org_doc	*d = P("#+PROPERTY: owner file\n#+PROPERTY: tags+ x\n"
	    "* A\n:PROPERTIES:\n:ID: a\n:a:b: colon\n:LIST: one\n"
	    ":LIST+: two\n:END:\n** B\n:PROPERTIES:\n:ID: b\n:END:\n"
	    "*** C\n\n:PROPERTIES:\n:ID: c\n:END:\n"
	    "* D\ntext\n:PROPERTIES:\n:ID: d\n:END:\n");
	char	*v;
	size_t	 line;

	(void)state;
	assert_int_equal(d->nheadings, 4);
	assert_true(d->headings[0].has_propdrawer);
	assert_int_equal(d->headings[0].nprops, 4);
	assert_str(d->props[1].key, "a:b");
	assert_str(d->props[3].key, "LIST");
	assert_true(d->props[3].append);
	/* After a blank line or text: an ordinary drawer. */
	assert_false(d->headings[2].has_propdrawer);
	assert_false(d->headings[3].has_propdrawer);
	assert_int_equal(count(d, ORG_DRAWER), 2);
	assert_str(d->drawers[0].name, "PROPERTIES");

	v = org_property(d, 0, "list", 0, &line);
	assert_string_equal(v, "one two");
	assert_int_equal(line, 8);
	free(v);
	v = org_property(d, 1, "ID", 1, NULL);
	assert_string_equal(v, "b");
	free(v);
	/* Inheritance through parents, then #+PROPERTY:. */
	v = org_property(d, 2, "ID", 1, NULL);
	assert_string_equal(v, "b");
	free(v);
	assert_null(org_property(d, 2, "ID", 0, NULL));
	v = org_property(d, 2, "owner", 1, &line);
	assert_string_equal(v, "file");
	assert_int_equal(line, 1);
	free(v);
	v = org_property(d, -1, "TAGS", 0, NULL);
	assert_string_equal(v, "x");
	free(v);
	assert_null(org_property(d, 3, "nope", 1, NULL));
	org_free(d);
}

/* Expectations from Emacs' org-entry-get on the same text. */
static void
property_inheritance(void **state)
{
	static const char *const cases[][4] = {
		{ "A", "FOO", "a a2", "a a2" }, { "B", "FOO", "a a2 b", "b" },
		{ "C", "FOO", "a a2 b", NULL }, { "B", "BAR", "b-only", NULL },
		{ "A", "BAR", "b-only", "b-only" },
		{ "C", "G", "base more child", NULL },
		{ "C", "X", "file xa", NULL }, { "B", "FIRST", "one", "one" },
		{ "C", "NONE", NULL, NULL },
	};
	org_doc	*d = P("#+PROPERTY: G base\n#+PROPERTY: G+ more\n"
	    "#+PROPERTY: X file\n* A\n:PROPERTIES:\n:FOO: a\n:FOO+: a2\n"
	    ":BAR+: b-only\n:X+: xa\n:END:\n** B\n:PROPERTIES:\n:FOO+: b\n"
	    ":BAR: nil\n:G+: child\n:FIRST: one\n:FIRST: two\n:END:\n"
	    "*** C\n");
	size_t	 i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long h = -1;
		char *v;

		for (k = 0; k < d->nheadings; k++)
			if (strcmp(d->headings[k].title.s, cases[i][0]) == 0)
				h = (long)k;
		assert_true(h >= 0);
		for (k = 0; k < 2; k++) {
			v = org_property(d, h, cases[i][1], k == 0, NULL);
			if (cases[i][2 + k] == NULL)
				assert_null(v);
			else
				assert_string_equal(v, cases[i][2 + k]);
			free(v);
		}
	}
	org_free(d);
}

static void
keywords_and_affiliated(void **state)
{
	org_doc	*d = P("#+title: One\n#+TITLE: Two\n#+NAME: n\n"
	    "#+BEGIN_SRC sh\nx\n#+END_SRC\n#+RESULTS:\n\n#+CALL: f()\n"
	    "#+KEY:a:b c\n");
	const org_keyword *k;

	(void)state;
	assert_int_equal(d->nkeywords, 4);
	k = org_keyword_get(d, "Title");
	assert_non_null(k);
	assert_str(k->value, "Two");
	assert_int_equal(k->line, 2);
	/* #+NAME: attaches to the block; orphaned #+RESULTS: is kept. */
	assert_str(d->keywords[2].key, "RESULTS");
	assert_str(d->keywords[3].key, "KEY:A");
	assert_str(d->keywords[3].value, "b c");
	assert_null(org_keyword_get(d, "NAME"));
	assert_int_equal(d->nblocks, 1);
	assert_int_equal(d->blocks[0].line, 4);
	org_free(d);
}

static void
blocks(void **state)
{
	org_doc	*d = P("#+begin_src emacs-lisp -n :tangle yes\n"
	    ",* a\n,,* b\n  ,#+c\n,d\n#+end_src\n"
	    "#+BEGIN_EXAMPLE\n#+end_src\nx\n#+END_EXAMPLE\n"
	    "#+BEGIN_QUOTE\n#+K: in\n#+END_QUOTE\n"
	    "#+BEGIN_SRC sh\nunclosed\n* H\n#+END_SRC\n");
	const org_block *b = d->blocks;

	(void)state;
	assert_int_equal(d->nblocks, 3);
	assert_str(b[0].name, "SRC");
	assert_str(b[0].lang, "emacs-lisp");
	assert_str(b[0].params, ":tangle yes");
	assert_str(b[0].value, "* a\n,* b\n  #+c\n,d\n");
	assert_int_equal(b[0].end_line, 6);
	/* #+end_src does not close an example. */
	assert_str(b[1].name, "EXAMPLE");
	assert_str(b[1].value, "#+end_src\nx\n");
	/* Greater blocks hold elements. */
	assert_str(b[2].name, "QUOTE");
	assert_int_equal(d->nkeywords, 1);
	assert_int_equal(d->keywords[0].line, 12);
	/* A heading ends the unclosed block: no block. */
	assert_int_equal(d->nheadings, 1);
	org_free(d);
}

/* Ends are looked up in per-name indexes: the right one must be found
 * among others, and case-insensitively. */
static void
ends_among_others(void **state)
{
	org_doc	*d = P("#+BEGIN_a\n#+END_b\n#+END_AX\n#+end_A  \n"
	    "#+BEGIN: dyn\n#+ENDX\n#+K1: in\n#+END:\n"
	    "\\begin{x}\n#+K2: hidden\n\\end{y}\n\\END{x} \n"
	    "\\begin{z}\n#+K3: shown\n");

	(void)state;
	assert_int_equal(d->nblocks, 1);
	assert_int_equal(d->blocks[0].end_line, 4);
	assert_str(d->blocks[0].value, "#+END_b\n#+END_AX\n");
	assert_int_equal(d->nkeywords, 2);
	assert_str(d->keywords[0].key, "K1");
	assert_str(d->keywords[1].key, "K3");
	org_free(d);
}

static void
drawers(void **state)
{
	org_doc	*d = P(":LOGBOOK:\n- x\n:END:\n:A:\n:IN:\n#+K: v\n:END:\n"
	    ":OPEN:\ntext\n");

	(void)state;
	/* The first :END: closes the outer drawer: IN is text, and the
	 * unclosed OPEN is no drawer. */
	assert_int_equal(d->ndrawers, 2);
	assert_str(d->drawers[0].name, "LOGBOOK");
	assert_str(d->drawers[1].name, "A");
	assert_int_equal(d->drawers[1].line, 4);
	assert_int_equal(d->nkeywords, 1);
	org_free(d);
}

static void
lists_hold_elements(void **state)
{
	org_doc	*d = P("- a\n  #+BEGIN_SRC sh\n  x\n  #+END_SRC\n"
	    "- #+BEGIN_SRC sh\n  y\n  #+END_SRC\n"
	    "- t ::\n  :D:\n  z\n  :END:\n");

	(void)state;
	assert_int_equal(d->nblocks, 1);
	assert_int_equal(d->blocks[0].line, 2);
	assert_int_equal(d->ndrawers, 1);
	assert_int_equal(d->drawers[0].line, 9);
	org_free(d);
}

static void
paragraph_rules(void **state)
{
	/* An unclosed block inside a paragraph does not end it; a
	 * keyword does. */
	org_doc	*d = P("text\n#+BEGIN_X\nmore\n#+K: v\n| t |\n#+TBLFM: x\n"
	    "[fn:1] note\n#+F: v\n");

	(void)state;
	assert_int_equal(d->nkeywords, 2);
	assert_str(d->keywords[0].key, "K");
	assert_str(d->keywords[1].key, "F");
	assert_int_equal(d->nblocks, 0);
	org_free(d);
}

static void
top_property_drawer(void **state)
{
	org_doc	*d = P("# c\n:PROPERTIES:\n:ID: top\n:END:\n* H\n");

	(void)state;
	assert_int_equal(d->nprops, 1);
	assert_int_equal(d->props[0].heading, -1);
	org_free(d);
	d = P("\n:PROPERTIES:\n:ID: top\n:END:\n");
	assert_int_equal(d->nprops, 0);
	assert_int_equal(d->ndrawers, 1);
	org_free(d);
}

static void
crlf_nul_nofinal(void **state)
{
	static const char crlf[] = "* H :t:\r\n:PROPERTIES:\r\n:ID: x\r\n"
	    ":END:\r\n#+K: v\r\nlone\rcr";
	static const char nul[] = "* a\0b\n#+K: \0\n";
	org_doc	*d;

	(void)state;
	d = org_parse(crlf, sizeof(crlf) - 1);
	assert_non_null(d);
	assert_int_equal(d->headings[0].ntags, 1);
	assert_int_equal(d->nprops, 1);
	assert_str(d->props[0].value, "x");
	assert_str(d->keywords[0].value, "v");
	assert_int_equal(d->nlines, 6);
	org_free(d);
	d = org_parse(nul, sizeof(nul) - 1);
	assert_non_null(d);
	assert_int_equal(d->headings[0].title.len, 3);
	assert_int_equal(d->keywords[0].value.len, 1);
	org_free(d);
	d = P("* x\n#+K: last");
	assert_str(d->keywords[0].value, "last");
	org_free(d);
	d = org_parse(NULL, 0);
	assert_non_null(d);
	assert_int_equal(d->nelems, 0);
	org_free(d);
}

static void
huge_line(void **state)
{
	size_t	 n = 4u << 20;
	char	*b = malloc(n + 16);
	org_doc	*d;

	(void)state;
	assert_non_null(b);
	memcpy(b, "* ", 2);
	memset(b + 2, 'x', n);
	memcpy(b + 2 + n, " :t:\n#+K: v\n", 12);
	d = org_parse(b, n + 14);
	assert_non_null(d);
	assert_int_equal(d->headings[0].title.len, n);
	assert_int_equal(d->headings[0].ntags, 1);
	assert_int_equal(d->keywords[0].line, 2);
	org_free(d);
	free(b);
}

static void
deep_headings_and_nesting(void **state)
{
	size_t	 n = 10000, i, off = 0;
	char	*b = malloc(n + 64 + 200 * 220);
	org_doc	*d;

	(void)state;
	assert_non_null(b);
	memset(b, '*', n);
	memcpy(b + n, " deep\n", 6);
	off = n + 6;
	/* 200 nested list levels, then 200 nested quote blocks. */
	for (i = 0; i < 200; i++) {
		memset(b + off, ' ', i);
		off += i;
		memcpy(b + off, "- i\n", 4);
		off += 4;
	}
	for (i = 0; i < 200; i++) {
		memcpy(b + off, "#+BEGIN_QUOTE\n", 14);
		off += 14;
	}
	d = org_parse(b, off);
	assert_non_null(d);
	assert_int_equal(d->headings[0].level, 10000);
	/* Only the first END closes; none exists: no blocks. */
	assert_int_equal(d->nblocks, 0);
	org_free(d);
	free(b);
}

static void
random_bytes(void **state)
{
	uint32_t x = 12345;
	size_t	 i, round, n = 1 << 16;
	char	*b = malloc(n);
	org_doc	*d;
	static const char *const bits[] = { "* ", "#+BEGIN_SRC x\n",
	    "#+END_SRC\n", ":END:\n", ":PROPERTIES:\n", "- ", "\n", "\r\n",
	    "#+TODO: A\n", "[fn:1]", ",* ", "SCHEDULED: <2020-01-01>" };

	(void)state;
	assert_non_null(b);
	for (round = 0; round < 50; round++) {
		for (i = 0; i < n;) {
			x = x * 1103515245u + 12345u;
			if ((x >> 16) % 4 == 0) {
				const char *s = bits[(x >> 8) % 12];
				size_t l = strlen(s);

				if (i + l > n)
					break;
				memcpy(b + i, s, l);
				i += l;
			} else
				b[i++] = (char)(x >> 24);
		}
		d = org_parse(b, i);
		assert_non_null(d);
		for (size_t k = 0; k < d->nelems; k++)
			assert_true(d->elems[k].line >= 1 &&
			    d->elems[k].line <= d->nlines);
		org_free(d);
	}
	free(b);
}

static void
heading_at_line(void **state)
{
	org_doc	*d = P("a\n* A\nb\n** B\nc\n");

	(void)state;
	assert_int_equal(org_heading_at_line(d, 1), -1);
	assert_int_equal(org_heading_at_line(d, 2), 0);
	assert_int_equal(org_heading_at_line(d, 3), 0);
	assert_int_equal(org_heading_at_line(d, 5), 1);
	org_free(d);
}

static void
startup_odd(void **state)
{
	org_doc	*d = P("#+STARTUP: odd\n* a\n*** b\n");

	(void)state;
	assert_int_equal(d->headings[1].level, 3);
	assert_int_equal(d->headings[1].olevel, 2);
	assert_int_equal(d->headings[1].parent, 0);
	org_free(d);
}

/* ---------------------------------------------------------------- */
/* Timestamps: each expectation is what org-element-timestamp-parser
 * returns for the same text (Org 9.5.5). */

static org_timestamp
TS(const char *s)
{
	org_timestamp	 ts;

	assert_int_equal(org_timestamp_parse(s, strlen(s), &ts), 0);
	assert_ptr_equal(ts.raw.s, s);
	assert_int_equal(ts.raw.len, strlen(s));
	return ts;
}

static void
assert_start(const org_timestamp *ts, int y, int mo, int d, int h, int mi)
{
	assert_int_equal(ts->year_start, y);
	assert_int_equal(ts->month_start, mo);
	assert_int_equal(ts->day_start, d);
	assert_int_equal(ts->hour_start, h);
	assert_int_equal(ts->minute_start, mi);
}

static void
assert_end(const org_timestamp *ts, int y, int mo, int d, int h, int mi)
{
	assert_int_equal(ts->year_end, y);
	assert_int_equal(ts->month_end, mo);
	assert_int_equal(ts->day_end, d);
	assert_int_equal(ts->hour_end, h);
	assert_int_equal(ts->minute_end, mi);
}

static void
timestamp_dates_and_times(void **state)
{
	org_timestamp	 ts;

	(void)state;
	ts = TS("<2026-12-05>");
	assert_int_equal(ts.type, ORG_TS_ACTIVE);
	assert_start(&ts, 2026, 12, 5, -1, -1);
	assert_end(&ts, 2026, 12, 5, -1, -1);
	assert_int_equal(ts.repeater_type, ORG_REP_NONE);
	assert_int_equal(ts.repeater_unit, 0);
	assert_int_equal(ts.warning_type, ORG_WARN_NONE);
	ts = TS("[2026-12-05 Sat 6:05]");
	assert_int_equal(ts.type, ORG_TS_INACTIVE);
	assert_start(&ts, 2026, 12, 5, 6, 5);
	assert_end(&ts, 2026, 12, 5, 6, 5);
	/* The day name may be anything without digits, spaces, + or -,
	 * and is never checked against the date. */
	ts = TS("<2026-12-05 l\xc3\xb6r. 10:00>");
	assert_start(&ts, 2026, 12, 5, 10, 0);
	ts = TS("<2026-12-05 Mon>");
	assert_start(&ts, 2026, 12, 5, -1, -1);
	/* Time first, day name after. */
	ts = TS("<2019-04-05 08:00 Fri>");
	assert_start(&ts, 2019, 4, 5, 8, 0);
	/* A tab is part of the day name: no time follows it, and a time
	 * follows a day name that holds one. */
	ts = TS("<2026-12-05 Sat\t10:00>");
	assert_start(&ts, 2026, 12, 5, -1, -1);
	ts = TS("<2026-12-05 M\tx 10:00>");
	assert_start(&ts, 2026, 12, 5, 10, 0);
	ts = TS("<2026-12-05 Sat 10:00:30>");
	assert_start(&ts, 2026, 12, 5, 10, 0);
	ts = TS("<2026-12-05 Sat 1000>");
	assert_start(&ts, 2026, 12, 5, -1, -1);
	/* Closed by the other bracket: the opening one decides. */
	ts = TS("<2026-12-05 Sat]");
	assert_int_equal(ts.type, ORG_TS_ACTIVE);
	ts = TS("[2026-12-05 Sat>");
	assert_int_equal(ts.type, ORG_TS_INACTIVE);
}

static void
timestamp_odd_dates_kept(void **state)
{
	org_timestamp	 ts;

	(void)state;
	/* org-element checks no calendar: the digits as written. */
	ts = TS("<2024-02-29 Thu>");
	assert_start(&ts, 2024, 2, 29, -1, -1);
	ts = TS("<2023-02-29 Wed>");
	assert_start(&ts, 2023, 2, 29, -1, -1);
	ts = TS("<2026-04-31 Fri>");
	assert_start(&ts, 2026, 4, 31, -1, -1);
	ts = TS("<0000-00-00>");
	assert_start(&ts, 0, 0, 0, -1, -1);
	ts = TS("<2026-13-40 Sat 25:99>");
	assert_start(&ts, 2026, 13, 40, 25, 99);
}

static void
timestamp_ranges(void **state)
{
	org_timestamp	 ts;

	(void)state;
	ts = TS("<2026-12-05 Sat 06:00-07:30>");
	assert_int_equal(ts.type, ORG_TS_ACTIVE_RANGE);
	assert_start(&ts, 2026, 12, 5, 6, 0);
	assert_end(&ts, 2026, 12, 5, 7, 30);
	ts = TS("[2026-12-05 Sat 23:59-0:00]");
	assert_int_equal(ts.type, ORG_TS_INACTIVE_RANGE);
	assert_end(&ts, 2026, 12, 5, 0, 0);
	ts = TS("<2026-12-05 Sat>--<2026-12-07 Mon>");
	assert_int_equal(ts.type, ORG_TS_ACTIVE_RANGE);
	assert_start(&ts, 2026, 12, 5, -1, -1);
	assert_end(&ts, 2026, 12, 7, -1, -1);
	/* The end's missing time comes from the start's time range, then
	 * from the start. */
	ts = TS("<2026-12-05 Sat 10:00-12:00>--<2026-12-07 Mon>");
	assert_end(&ts, 2026, 12, 7, 12, 0);
	ts = TS("<2026-12-05 Sat 10:00>--<2026-12-07 Mon>");
	assert_end(&ts, 2026, 12, 7, 10, 0);
	ts = TS("<2026-12-05 Sat 10:00>--<2026-12-07 Mon 11:15>");
	assert_end(&ts, 2026, 12, 7, 11, 15);
	/* The end's brackets are not checked; the start's decide. */
	ts = TS("<2026-12-05>--[2026-12-06 Sun 10:00]");
	assert_int_equal(ts.type, ORG_TS_ACTIVE_RANGE);
	assert_end(&ts, 2026, 12, 6, 10, 0);
	ts = TS("[2026-12-05]--[2026-12-06]");
	assert_int_equal(ts.type, ORG_TS_INACTIVE_RANGE);
	/* A three-digit hour: no start time, but the range's end reads. */
	ts = TS("<2026-12-05 Sat 123:00-13:00>");
	assert_start(&ts, 2026, 12, 5, -1, -1);
	assert_end(&ts, 2026, 12, 5, 13, 0);
	/* An end hour of 39 or a minute of 60 makes no range. */
	ts = TS("<2026-12-05 Sat 29:00-39:00>");
	assert_int_equal(ts.type, ORG_TS_ACTIVE);
	assert_end(&ts, 2026, 12, 5, 29, 0);
	ts = TS("<2026-12-05 Sat 10:60-11:00>");
	assert_int_equal(ts.type, ORG_TS_ACTIVE);
	/* The first time range anywhere in the first timestamp. */
	ts = TS("<2026-12-05 Sat 10:00 11:00-12:00 13:00-14:00>");
	assert_start(&ts, 2026, 12, 5, 10, 0);
	assert_end(&ts, 2026, 12, 5, 12, 0);
}

static void
timestamp_repeaters_and_warnings(void **state)
{
	static const struct {
		const char		*s;
		enum org_rep_type	 rt;
		int			 rv;
		char			 ru;
		enum org_warn_type	 wt;
		int			 wv;
		char			 wu;
	} c[] = {
		{ "<2026-12-05 Sat +1d>", ORG_REP_CUMULATE, 1, 'd', 0, 0, 0 },
		{ "<2026-12-05 Sat ++2w>", ORG_REP_CATCH_UP, 2, 'w', 0, 0, 0 },
		{ "<2026-12-05 Sat .+3m>", ORG_REP_RESTART, 3, 'm', 0, 0, 0 },
		{ "<2026-12-05 Sat 06:00 +4h>", ORG_REP_CUMULATE, 4, 'h',
		    0, 0, 0 },
		{ "<2026-12-05 Sat +10y>", ORG_REP_CUMULATE, 10, 'y', 0, 0, 0 },
		{ "<2026-12-05 Sat -3d>", 0, 0, 0, ORG_WARN_ALL, 3, 'd' },
		{ "<2026-12-05 Sat --2d>", 0, 0, 0, ORG_WARN_FIRST, 2, 'd' },
		{ "<2026-12-05 Sat .+1w -2d>", ORG_REP_RESTART, 1, 'w',
		    ORG_WARN_ALL, 2, 'd' },
		/* Either order. */
		{ "<2026-12-05 Sat --1h ++1m>", ORG_REP_CATCH_UP, 1, 'm',
		    ORG_WARN_FIRST, 1, 'h' },
		/* A habit's /4d is read past. */
		{ "<2026-12-05 Sat .+2d/4d>", ORG_REP_RESTART, 2, 'd', 0, 0, 0 },
		{ "<2026-12-05 Sat +0d -0d>", ORG_REP_CUMULATE, 0, 'd',
		    ORG_WARN_ALL, 0, 'd' },
		/* Units are lower case only. */
		{ "<2026-12-05 Sat +1D -2W>", 0, 0, 0, 0, 0, 0 },
		{ "<2026-12-05 Sat +d -d>", 0, 0, 0, 0, 0, 0 },
		/* ---2d holds --2d, +++1w holds ++1w. */
		{ "<2026-12-05 Sat ---2d +++1w>", ORG_REP_CATCH_UP, 1, 'w',
		    ORG_WARN_FIRST, 2, 'd' },
		/* The first of each wins, the range's end searched too. */
		{ "<2026-12-05 Sat +1d +2w -3d -4w>", ORG_REP_CUMULATE, 1, 'd',
		    ORG_WARN_ALL, 3, 'd' },
		{ "<2026-12-05 Sat>--<2026-12-06 Sun +1w>", ORG_REP_CUMULATE,
		    1, 'w', 0, 0, 0 },
		/* The date's own "-05" followed by a unit letter. */
		{ "<2026-12-05d +1d>", ORG_REP_CUMULATE, 1, 'd', ORG_WARN_ALL,
		    5, 'd' },
		/* org-element keeps a bignum; this parser saturates. */
		{ "<2026-12-05 +99999999999999999999d -2147483648d>",
		    ORG_REP_CUMULATE, INT_MAX, 'd', ORG_WARN_ALL, INT_MAX, 'd' },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		org_timestamp ts = TS(c[i].s);

		if (ts.repeater_type != c[i].rt ||
		    ts.repeater_value != c[i].rv ||
		    ts.repeater_unit != c[i].ru ||
		    ts.warning_type != c[i].wt ||
		    ts.warning_value != c[i].wv || ts.warning_unit != c[i].wu)
			fail_msg("%s: repeater %d %d %c, warning %d %d %c",
			    c[i].s, ts.repeater_type, ts.repeater_value,
			    ts.repeater_unit ? ts.repeater_unit : '0',
			    ts.warning_type, ts.warning_value,
			    ts.warning_unit ? ts.warning_unit : '0');
	}
}

static void
timestamp_third_form_and_diary(void **state)
{
	org_timestamp	 ts;

	(void)state;
	/* <\d+-\d+-\d+[^>\n]+?\+\d+[dwmy]>, then the first date anywhere. */
	ts = TS("<2026-12-05+1d>");
	assert_int_equal(ts.type, ORG_TS_ACTIVE);
	assert_start(&ts, 2026, 12, 5, -1, -1);
	assert_int_equal(ts.repeater_value, 1);
	ts = TS("<12026-12-05 +1d>");
	assert_start(&ts, 2026, 12, 5, -1, -1);
	ts = TS("<1-1-1 2026-12-05 +1w>");
	assert_start(&ts, 2026, 12, 5, -1, -1);
	assert_int_equal(ts.repeater_unit, 'w');
	ts = TS("<%%(diary-float t 4 2)>");
	assert_int_equal(ts.type, ORG_TS_DIARY);
	assert_start(&ts, 0, 0, 0, -1, -1);
	assert_end(&ts, 0, 0, 0, -1, -1);
	assert_int_equal(ts.repeater_type, ORG_REP_NONE);
	/* Repeaters are not looked for in a sexp. */
	ts = TS("<%%(x +1d)>");
	assert_int_equal(ts.repeater_type, ORG_REP_NONE);
	ts = TS("<%%(x)>--<2026-12-05>");
	assert_int_equal(ts.type, ORG_TS_DIARY);
}

static void
timestamp_rejected(void **state)
{
	static const char *const bad[] = {
		"", "<", "<>", "<nonsense>", "[2026-12]", "<226-12-05>",
		"<2026-12-05Sat>", "<2026-12-05", "2026-12-05",
		/* Text after the timestamp, or before it. */
		"<2026-12-05> ", "<2026-12-05>x", " <2026-12-05>",
		"<2026-12-05>--<2026-12-06>--<2026-12-07>",
		/* Diary: inactive, empty, not closed by ")>". */
		"[%%(x)]", "<%%()>", "<%%(x) 10:00>",
		/* Text org-element stops on with an error: no date in it. */
		"<2024-1-1 +1d>", "<2026-12-05>--<nonsense>", "<2026-12-05>--[]",
		/* The third form wants [dwmy]: +1h is no timestamp there. */
		"<2026-1-5 +1h>",
		/* No timestamp spans two lines. */
		"<2026-12-05 Sat\n>", "<2026-12-05 Sat\n10:00>",
		"<%%(x\ny)>", "<2026-12-05>--<\n2026-12-06>",
	};
	org_timestamp	 ts;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ts, 0x55, sizeof(ts));
		if (org_timestamp_parse(bad[i], strlen(bad[i]), &ts) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(ts.type, ORG_TS_NONE);
		assert_null(ts.raw.s);
	}
	assert_int_equal(org_timestamp_parse(NULL, 0, &ts), -1);
	/* A timestamp cut short by len is read no further. */
	assert_int_equal(org_timestamp_parse("<2026-12-05 +1d>", 15, &ts), -1);
	assert_int_equal(org_timestamp_parse("<2026-12-05>--<2026-12-06>", 12,
	    &ts), 0);
	assert_int_equal(ts.type, ORG_TS_ACTIVE);
}

static void
timestamp_exact_buffer(void **state)
{
	static const char *const cases[] = {
		"<2026-12-05 Sat 06:00-07:30 .+1h --2d>",
		"<2026-12-05>--[2026-12-06 Sun 10:00]",
		"<%%(diary-float t 4 2)>", "<1-1-1 2026-12-05 +1w>",
		"<2026-12-05 Sat 1", "<2026-12-05 10:0", "<2026-12-05 +1",
	};
	size_t	 i, n;
	char	*b;

	(void)state;
	/* Heap copies without a NUL: an over-read shows under ASan. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		org_timestamp ts;

		n = strlen(cases[i]);
		assert_non_null(b = malloc(n));
		memcpy(b, cases[i], n);
		assert_int_equal(org_timestamp_parse(b, n, &ts),
		    b[n - 1] == '>' || b[n - 1] == ']' ? 0 : -1);
		free(b);
	}
}

static void
planning_timestamps(void **state)
{
	org_doc	*d = P("* A\nSCHEDULED: <2026-12-05 Sat 06:00 +1w> "
	    "DEADLINE: <2026-12-10 Thu -2d>\n"
	    "* B\nCLOSED: [2026-12-05 Sat]--[2026-12-06 Sun]\n"
	    "* C\nSCHEDULED: <2024-1-1 +1d> DEADLINE: <nonsense>\n"
	    "* D\nSCHEDULED: <2026-12-05> SCHEDULED: <x>\r\n"
	    "* E\nDEADLINE: <2026-12-05 Sat 10:00-11:00>\r\n");
	const org_planning *p = d->plannings;

	(void)state;
	assert_int_equal(d->nplannings, 5);
	assert_int_equal(p[0].scheduled_ts.type, ORG_TS_ACTIVE);
	assert_start(&p[0].scheduled_ts, 2026, 12, 5, 6, 0);
	assert_int_equal(p[0].scheduled_ts.repeater_type, ORG_REP_CUMULATE);
	/* raw is the document's own string. */
	assert_ptr_equal(p[0].scheduled_ts.raw.s, p[0].scheduled.s);
	assert_int_equal(p[0].scheduled_ts.raw.len, p[0].scheduled.len);
	assert_int_equal(p[0].deadline_ts.warning_type, ORG_WARN_ALL);
	assert_int_equal(p[0].deadline_ts.warning_value, 2);
	assert_int_equal(p[0].closed_ts.type, ORG_TS_NONE);
	assert_null(p[0].closed_ts.raw.s);
	assert_int_equal(p[1].closed_ts.type, ORG_TS_INACTIVE_RANGE);
	assert_end(&p[1].closed_ts, 2026, 12, 6, -1, -1);
	/* org-element stops on the first with an error: its text stays,
	 * unparsed. The second is no timestamp. */
	assert_str(p[2].scheduled, "<2024-1-1 +1d>");
	assert_int_equal(p[2].scheduled_ts.type, ORG_TS_NONE);
	assert_null(p[2].scheduled_ts.raw.s);
	assert_null(p[2].deadline.s);
	assert_int_equal(p[2].deadline_ts.type, ORG_TS_NONE);
	/* The last SCHEDULED: wins, even with no timestamp. */
	assert_null(p[3].scheduled.s);
	assert_int_equal(p[3].scheduled_ts.type, ORG_TS_NONE);
	/* CR LF: the CR is no part of the timestamp. */
	assert_int_equal(p[4].deadline_ts.type, ORG_TS_ACTIVE_RANGE);
	assert_str(p[4].deadline_ts.raw, "<2026-12-05 Sat 10:00-11:00>");
	org_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heading_needs_star_space),
		cmocka_unit_test(heading_fields),
		cmocka_unit_test(todo_keywords_from_file),
		cmocka_unit_test(planning_lines),
		cmocka_unit_test(property_drawers),
		cmocka_unit_test(property_inheritance),
		cmocka_unit_test(keywords_and_affiliated),
		cmocka_unit_test(blocks),
		cmocka_unit_test(ends_among_others),
		cmocka_unit_test(drawers),
		cmocka_unit_test(lists_hold_elements),
		cmocka_unit_test(paragraph_rules),
		cmocka_unit_test(top_property_drawer),
		cmocka_unit_test(crlf_nul_nofinal),
		cmocka_unit_test(huge_line),
		cmocka_unit_test(deep_headings_and_nesting),
		cmocka_unit_test(random_bytes),
		cmocka_unit_test(heading_at_line),
		cmocka_unit_test(startup_odd),
		cmocka_unit_test(timestamp_dates_and_times),
		cmocka_unit_test(timestamp_odd_dates_kept),
		cmocka_unit_test(timestamp_ranges),
		cmocka_unit_test(timestamp_repeaters_and_warnings),
		cmocka_unit_test(timestamp_third_form_and_diary),
		cmocka_unit_test(timestamp_rejected),
		cmocka_unit_test(timestamp_exact_buffer),
		cmocka_unit_test(planning_timestamps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
