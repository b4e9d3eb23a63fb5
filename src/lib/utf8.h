/*
 * utf8: the one UTF-8 decoder of keeper's sources, the cleaner built on it
 * and the one character-width table. Text from agents, commits and models
 * may hold any bytes, while JSON, git subjects and event lines must be
 * valid UTF-8: every module that makes text out of such bytes uses these.
 * (orgparse, a library of its own, keeps its own decoder.)
 *
 * Valid means what RFC 3629 allows: no overlong form, no surrogate, nothing
 * past U+10FFFF, no sequence cut short. Each byte that does not start a
 * valid sequence becomes one U+FFFD.
 *
 * Ownership: utf8_clean() and utf8_cut_cols() return malloc'd strings the
 * caller frees; the rest allocates nothing.
 */
#ifndef KEEPER_UTF8_H
#define KEEPER_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define UTF8_REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */
#define UTF8_ELLIPSIS		"\xe2\x80\xa6"	/* U+2026, marks a cut */

/* What utf8_clean() does besides replacing invalid bytes. */
enum utf8_flags {
	/* Every control character (U+0000-U+001F, U+007F), newline and tab
	 * included, becomes a space: one line, as a git subject. */
	UTF8_ONELINE	= 1,
	/* Control characters other than newline and tab become '?': text
	 * that keeps its lines but no terminal escapes. */
	UTF8_NOCTRL	= 2
};

/* The sequence at s (n > 0 bytes left): its length, with its code point
 * in *cp, or 0 when no valid sequence starts there. */
size_t	 utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Append s[0..len) to sb as valid UTF-8, as flags (UTF8_*) say. */
void	 utf8_clean_sb(struct sb *, const char *s, size_t len, int flags);
/* The same into a new NUL-terminated string; *outlen (may be NULL) gets
 * its length, which NUL bytes kept from s may make differ from strlen. */
char	*utf8_clean(const char *s, size_t len, int flags, size_t *outlen);

/* The longest prefix of s[0..len) of at most max bytes that does not end
 * inside a multi-byte character: len when it fits, else max backed up over
 * continuation bytes to before the character they belong to. */
size_t	 utf8_cut(const char *s, size_t len, size_t max);

/* Terminal columns of a code point: 0 for combining marks and zero-width
 * characters, 2 for the wide East Asian and emoji blocks, 1 otherwise. A
 * hand-made table of the blocks that matter in commit subjects, not the
 * full Unicode one. */
int	 utf8_width(uint32_t cp);

/* s[0..len) as one clean line (UTF8_ONELINE) of at most cols columns: when
 * it is wider, cut so that "…" fits in the last column. Caller frees. */
char	*utf8_cut_cols(const char *s, size_t len, size_t cols);

#endif
