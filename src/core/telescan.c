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
	lines_init(&t->lines, EVENT_LINE_MAX);
}

void
telescan_release(struct telescan *t)
{
	pcre2_match_data_free(t->md);
	t->md = NULL;
	lines_release(&t->lines);
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

static void
line_done(const char *line, size_t len, size_t end, void *arg)
{
	struct telescan *t = arg;

	(void)end;
	match(t, line, len, t->fn, t->arg);
}

void
telescan_feed(struct telescan *t, const char *p, size_t len, telescan_fn fn,
    void *arg)
{
	t->fn = fn;
	t->arg = arg;
	lines_feed(&t->lines, p, len, line_done, t);
}

void
telescan_flush(struct telescan *t, telescan_fn fn, void *arg)
{
	const char *line;
	size_t len = lines_pending(&t->lines, &line);

	if (len > 0)
		match(t, line, len, fn, arg);
	lines_reset(&t->lines);
}

void
telescan_reset(struct telescan *t)
{
	lines_reset(&t->lines);
}
