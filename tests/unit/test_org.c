/*
 * Unit tests for orgparse: each rule of org-element the parser follows,
 * the look-up helpers, and hostile input (CRLF, NUL, no final newline,
 * huge lines, deep headings and nesting, random bytes).
 */
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
