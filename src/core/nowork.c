/*
 * nowork: the NO-WORK rule (see nowork.h).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "nowork.h"

#define WORDLEN	(sizeof(NOWORK_WORD) - 1)

/* Whether head[0..n) starts with the word: n is at least WORDLEN, or all
 * of the text when shorter. */
static int
is_word(const char *head, size_t n)
{
	if (n < WORDLEN || strncasecmp(head, NOWORK_WORD, WORDLEN) != 0)
		return 0;
	return n == WORDLEN || !(isalnum((unsigned char)head[WORDLEN]) ||
	    head[WORDLEN] == '_');
}

size_t
nowork_match(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (!is_word(s + i, len - i > WORDLEN + 1 ? WORDLEN + 1 : len - i))
		return 0;
	return i + WORDLEN;
}

void
nowork_feed(struct nowork *nw, const char *s, size_t len)
{
	size_t i = 0;

	if (!nw->started) {
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i == len)
			return;
		nw->started = 1;
	}
	while (i < len && nw->n < sizeof(nw->head))
		nw->head[nw->n++] = s[i++];
}

int
nowork_result(const struct nowork *nw)
{
	return is_word(nw->head, nw->n);
}
