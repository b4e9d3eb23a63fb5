/*
 * utf8: decoding, cleaning, cutting and measuring UTF-8 (see utf8.h).
 */
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

size_t
utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c = u[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2; c &= 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3; c &= 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4; c &= 0x07; min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (u[i] & 0x3f);
	}
	/* Overlong forms, surrogates and what lies past Unicode. */
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void
utf8_clean_sb(struct sb *sb, const char *s, size_t len, int flags)
{
	size_t i = 0, k, run = 0;
	uint32_t cp;

	/* Valid text is copied in runs, not a character at a time. */
	while (i < len) {
		k = utf8_decode(s + i, len - i, &cp);
		if (k != 0 && (flags == 0 || (cp >= 0x20 && cp != 0x7f) ||
		    (!(flags & UTF8_ONELINE) && (cp == '\n' || cp == '\t')))) {
			i += k;
			continue;
		}
		sb_add(sb, s + run, i - run);
		if (k == 0) {
			sb_adds(sb, UTF8_REPLACEMENT);
			k = 1;
		} else
			sb_addc(sb, flags & UTF8_ONELINE ? ' ' : '?');
		i += k;
		run = i;
	}
	sb_add(sb, s + run, i - run);
}

char *
utf8_clean(const char *s, size_t len, int flags, size_t *outlen)
{
	struct sb sb = { 0 };

	utf8_clean_sb(&sb, s, len, flags);
	if (outlen != NULL)
		*outlen = sb.len;
	return sb_detach(&sb);
}

size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

int
utf8_width(uint32_t cp)
{
	if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0xfe00 && cp <= 0xfe0f))
		return 0;
	if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x1f300 && cp <= 0x1f64f) ||
	    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
	    (cp >= 0x20000 && cp <= 0x3fffd))
		return 2;
	return 1;
}

char *
utf8_cut_cols(const char *s, size_t len, size_t cols)
{
	struct sb clean = { 0 }, out = { 0 };
	size_t i = 0, k, used = 0, keep = 0;
	uint32_t cp;
	int w;

	utf8_clean_sb(&clean, s, len, UTF8_ONELINE);
	/* Remember where a cut leaving room for the ellipsis would fall. */
	while (i < clean.len) {
		k = utf8_decode(clean.buf + i, clean.len - i, &cp);
		w = utf8_width(cp);
		if (used + (size_t)w > cols) {
			sb_add(&out, clean.buf, keep);
			sb_adds(&out, UTF8_ELLIPSIS);
			goto done;
		}
		used += (size_t)w;
		i += k;
		if (used + 1 <= cols)
			keep = i;
	}
	sb_add(&out, clean.buf, clean.len);
done:
	sb_release(&clean);
	return sb_detach(&out);
}
