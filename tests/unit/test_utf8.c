/*
 * test_utf8: the decoder's table of valid and invalid sequences, the
 * cleaner's three modes, byte cuts at character boundaries, the width
 * table and the column cut commit subjects use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* Each input with the code point and length utf8_decode() must give
 * (length 0: not valid). */
static const struct {
	const char	*in;
	size_t		 n;
	uint32_t	 cp;
	size_t		 len;
} decode_cases[] = {
	{ "a", 1, 'a', 1 },
	{ "\0", 1, 0, 1 },
	{ "\x7f", 1, 0x7f, 1 },
	{ "\xc3\xa9", 2, 0xe9, 2 },		/* é */
	{ "\xdf\xbf", 2, 0x7ff, 2 },
	{ "\xe0\xa0\x80", 3, 0x800, 3 },
	{ "\xe2\x82\xac", 3, 0x20ac, 3 },	/* € */
	{ "\xed\x9f\xbf", 3, 0xd7ff, 3 },	/* last before surrogates */
	{ "\xee\x80\x80", 3, 0xe000, 3 },
	{ "\xef\xbf\xbd", 3, 0xfffd, 3 },
	{ "\xf0\x90\x80\x80", 4, 0x10000, 4 },
	{ "\xf0\x9f\x98\x80", 4, 0x1f600, 4 },	/* an emoji */
	{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff, 4 },
	{ "\x80", 1, 0, 0 },			/* a lone continuation */
	{ "\xbf", 1, 0, 0 },
	{ "\xc0\x80", 2, 0, 0 },		/* overlong NUL */
	{ "\xc1\xbf", 2, 0, 0 },		/* overlong */
	{ "\xe0\x9f\xbf", 3, 0, 0 },		/* overlong */
	{ "\xf0\x8f\xbf\xbf", 4, 0, 0 },	/* overlong */
	{ "\xed\xa0\x80", 3, 0, 0 },		/* surrogate */
	{ "\xed\xbf\xbf", 3, 0, 0 },		/* surrogate */
	{ "\xf4\x90\x80\x80", 4, 0, 0 },	/* past U+10FFFF */
	{ "\xf5\x80\x80\x80", 4, 0, 0 },
	{ "\xf8\x88\x80\x80\x80", 5, 0, 0 },	/* five-byte form */
	{ "\xff", 1, 0, 0 },
	{ "\xc3", 1, 0, 0 },			/* cut short */
	{ "\xe2\x82", 2, 0, 0 },
	{ "\xe2\x82\xac", 2, 0, 0 },		/* n says it is cut */
	{ "\xe2\x28\xac", 3, 0, 0 },		/* not a continuation */
};

static void
test_decode(void **state)
{
	uint32_t cp;

	(void)state;
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]);
	    i++) {
		size_t len;

		cp = 0xdead;
		len = utf8_decode(decode_cases[i].in, decode_cases[i].n, &cp);
		if (len != decode_cases[i].len)
			fail_msg("case %zu: length %zu, want %zu", i, len,
			    decode_cases[i].len);
		if (len > 0 && cp != decode_cases[i].cp)
			fail_msg("case %zu: U+%04X, want U+%04X", i,
			    (unsigned)cp, (unsigned)decode_cases[i].cp);
	}
}

static void
expect_clean(const char *in, size_t len, int flags, const char *want,
    size_t wantlen)
{
	size_t n = 12345;
	char *s = utf8_clean(in, len, flags, &n);

	assert_int_equal(n, wantlen);
	assert_memory_equal(s, want, wantlen);
	assert_int_equal(s[n], '\0');
	free(s);
}

static void
test_clean(void **state)
{
	struct sb sb = { 0 };

	(void)state;
	/* Each invalid byte is one U+FFFD; valid text passes through. */
	expect_clean("a\xff" "b\xc3\xa9", 5, 0, "a\xef\xbf\xbd" "b\xc3\xa9", 7);
	expect_clean("\xe2\x82" "A", 3, 0,
	    "\xef\xbf\xbd\xef\xbf\xbd" "A", 7);
	expect_clean("\xed\xa0\x80", 3, 0,
	    UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT, 9);
	expect_clean("", 0, 0, "", 0);
	/* Plain: control characters and NUL bytes stay. */
	expect_clean("a\n\tb\x1b" "c\0d", 8, 0, "a\n\tb\x1b" "c\0d", 8);
	/* One line: every control character is a space. */
	expect_clean("a\n\tb\x1b" "c\x7f" "d\r", 9, UTF8_ONELINE,
	    "a  b c d ", 9);
	/* No control characters: lines and tabs stay, the rest is '?'. */
	expect_clean("a\n\tb\x1b" "c\x7f" "d\r\xff", 10, UTF8_NOCTRL,
	    "a\n\tb?c?d?\xef\xbf\xbd", 12);
	/* One line wins over keeping lines. */
	expect_clean("a\nb", 3, UTF8_ONELINE | UTF8_NOCTRL, "a b", 3);
	/* The sb form appends. */
	sb_adds(&sb, "x:");
	utf8_clean_sb(&sb, "\xc3", 1, 0);
	assert_string_equal(sb.buf, "x:\xef\xbf\xbd");
	sb_release(&sb);
	/* The length out is optional. */
	free(utf8_clean("abc", 3, 0, NULL));
}

static void
test_cut(void **state)
{
	/* a é € 😀 : 1 + 2 + 3 + 4 bytes */
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	static const size_t want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10 };

	(void)state;
	for (size_t max = 0; max < sizeof(want) / sizeof(want[0]); max++)
		assert_int_equal(utf8_cut(s, 10, max), want[max]);
	assert_int_equal(utf8_cut("abc", 3, 2), 2);
	assert_int_equal(utf8_cut("abc", 3, 3), 3);
	assert_int_equal(utf8_cut("", 0, 0), 0);
}

static void
test_width(void **state)
{
	(void)state;
	assert_int_equal(utf8_width('a'), 1);
	assert_int_equal(utf8_width(0xe9), 1);		/* é */
	assert_int_equal(utf8_width(0x301), 0);		/* combining acute */
	assert_int_equal(utf8_width(0x200b), 0);	/* zero-width space */
	assert_int_equal(utf8_width(0xfe0f), 0);	/* variation selector */
	assert_int_equal(utf8_width(0x6f22), 2);	/* 漢 */
	assert_int_equal(utf8_width(0xac00), 2);	/* 가 */
	assert_int_equal(utf8_width(0xff21), 2);	/* fullwidth A */
	assert_int_equal(utf8_width(0x1f600), 2);	/* 😀 */
	assert_int_equal(utf8_width(0x20000), 2);
	assert_int_equal(utf8_width(0x2026), 1);	/* … */
}

static void
test_cut_cols(void **state)
{
	struct sb sb = { 0 };
	char e[161], *s;

	(void)state;
	/* 80 'é' (2 bytes each, 1 column). */
	for (int i = 0; i < 80; i++)
		memcpy(e + 2 * i, "\xc3\xa9", 2);
	e[160] = '\0';
	s = utf8_cut_cols(e, strlen(e), 72);
	/* 71 characters and the ellipsis: 72 columns. */
	assert_int_equal(strlen(s), 71 * 2 + 3);
	assert_memory_equal(s + 142, UTF8_ELLIPSIS, 3);
	free(s);

	s = utf8_cut_cols("short", 5, 72);
	assert_string_equal(s, "short");
	free(s);
	s = utf8_cut_cols("exactly", 7, 7);
	assert_string_equal(s, "exactly");
	free(s);
	s = utf8_cut_cols("", 0, 72);
	assert_string_equal(s, "");
	free(s);

	/* Wide characters count two columns: 40 of them overflow 72. */
	for (int i = 0; i < 40; i++)
		sb_adds(&sb, "\xe6\xbc\xa2");	/* 漢 */
	s = utf8_cut_cols(sb.buf, sb.len, 72);
	assert_int_equal(strlen(s), 35 * 3 + 3);
	free(s);
	sb_release(&sb);
	/* Zero-width marks ride along for free. */
	s = utf8_cut_cols("e\xcc\x81" "e\xcc\x81", 6, 2);
	assert_string_equal(s, "e\xcc\x81" "e\xcc\x81");
	free(s);

	/* Invalid bytes and control characters never reach a subject. */
	s = utf8_cut_cols("a\xff" "b\tc", 5, 72);
	assert_string_equal(s, "a\xef\xbf\xbd" "b c");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_cut_cols),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
