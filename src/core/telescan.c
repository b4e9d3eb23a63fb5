/*
 * telescan: see telescan.h.
 */
#include <stdio.h>
#include <string.h>

#include "telescan.h"

pcre2_code *
telescan_compile(const char *pat, const char *what, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	pcre2_code *re;
	int ec;

	re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec,
	    &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(err, errlen, "bad %s pattern \"%s\": %s at offset %zu",
		    what, pat, (char *)msg, (size_t)off);
		return NULL;
	}
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);	/* optional */
	return re;
}

void
telescan_init(struct telescan *t, pcre2_code *step, pcre2_code *thought)
{
	memset(t, 0, sizeof(*t));
	t->re[0] = step;
	t->re[1] = thought;
	t->md = pcre2_match_data_create(16, NULL);
}

void
telescan_release(struct telescan *t)
{
	pcre2_match_data_free(t->md);
	t->md = NULL;
}

static void
match(struct telescan *t, const char *line, size_t len, telescan_fn fn,
    void *arg)
{
	static const char *const kinds[] = { EVENT_STEP, EVENT_THOUGHT };
	PCRE2_SIZE *ov;
	int rc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (int k = 0; k < 2; k++) {
		if (t->re[k] == NULL)
			continue;
		rc = pcre2_match(t->re[k], (PCRE2_SPTR)line, len, 0, 0, t->md,
		    NULL);
		if (rc <= 0)
			continue;
		ov = pcre2_get_ovector_pointer(t->md);
		if (rc >= 2 && ov[2] != PCRE2_UNSET)
			fn(kinds[k], line + ov[2], ov[3] - ov[2], arg);
		else
			fn(kinds[k], line + ov[0], ov[1] - ov[0], arg);
	}
}

void
telescan_feed(struct telescan *t, const char *p, size_t len, telescan_fn fn,
    void *arg)
{
	const char *nl;
	size_t take;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		take = nl ? (size_t)(nl - p) : len;
		if (!t->overflow) {
			if (take > sizeof(t->line) - t->len) {
				memcpy(t->line + t->len, p,
				    sizeof(t->line) - t->len);
				t->len = sizeof(t->line);
				t->overflow = 1;
			} else {
				memcpy(t->line + t->len, p, take);
				t->len += take;
			}
		}
		if (nl == NULL)
			return;
		match(t, t->line, t->len, fn, arg);
		t->len = 0;
		t->overflow = 0;
		p = nl + 1;
		len -= take + 1;
	}
}

void
telescan_flush(struct telescan *t, telescan_fn fn, void *arg)
{
	if (t->len > 0)
		match(t, t->line, t->len, fn, arg);
	t->len = 0;
	t->overflow = 0;
}
