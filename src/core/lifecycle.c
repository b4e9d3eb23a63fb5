/*
 * lifecycle: stepping a position through a lifecycle spec (SPEC §4).
 * Pure: the worker hands in the spec, the position, the outcome and now.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifecycle.h"
#include "util.h"

static int
valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= LC_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r' || s[i] == '\0')
			return 0;
	return 1;
}

void
lc_pos_set(struct lc_pos *p, const char *state, int hits)
{
	snprintf(p->state, sizeof(p->state), "%s", state);
	p->hits = hits;
}

int64_t
lc_pos_last_ran(const struct lc_pos *p, const char *state)
{
	for (size_t i = 0; i < p->nran; i++)
		if (strcmp(p->ran[i].state, state) == 0)
			return p->ran[i].at_ms;
	return 0;
}

static void
mark_ran(struct lc_pos *p, const char *state, int64_t at)
{
	for (size_t i = 0; i < p->nran; i++)
		if (strcmp(p->ran[i].state, state) == 0) {
			p->ran[i].at_ms = at;
			return;
		}
	p->ran = xreallocarray(p->ran, p->nran + 1, sizeof(*p->ran));
	snprintf(p->ran[p->nran].state, LC_NAME_MAX, "%s", state);
	p->ran[p->nran++].at_ms = at;
}

/* Our own lookup keeps this module free of the loader. */
static int
find_state(const struct lc_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nstates; i++)
		if (strcmp(spec->states[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
lc_pos_clamp(struct lc_pos *p, int64_t now)
{
	int n = 0;

	for (size_t i = 0; i < p->nran; i++)
		if (p->ran[i].at_ms > now) {
			p->ran[i].at_ms = now;
			n++;
		}
	if (p->last_dream_ms > now) {
		p->last_dream_ms = now;
		n++;
	}
	return n;
}

void
lc_decide(const struct lc_spec *spec, struct lc_pos *p, int64_t now,
    struct lc_decision *d)
{
	const struct lc_state *st;
	int64_t since;
	int i;

	memset(d, 0, sizeof(*d));
	d->state = -1;
	/* A time in the future means the clock was stepped back (or ran
	 * ahead for a while): it counts as now, so a MIN-INTERVAL gate
	 * waits at most its interval from here, not until the clock
	 * catches up with the future. */
	d->clamped = lc_pos_clamp(p, now);
	if (spec == NULL || spec->nstates == 0) {
		d->verdict = LC_INVALID;
		return;
	}
	i = p->state[0] ? find_state(spec, p->state) : -1;
	if (i < 0) {
		d->reset = p->state[0] != '\0';
		i = spec->start >= 0 && (size_t)spec->start < spec->nstates ?
		    spec->start : 0;
		lc_pos_set(p, spec->states[i].name, 0);
	}
	st = &spec->states[i];
	if (p->hits < 0)
		p->hits = 0;
	d->state = i;
	d->state_name = st->name;
	d->hits = p->hits;
	d->repeat = st->repeat > 0 ? st->repeat : 1;
	d->def = st->def;
	d->verdict = st->kind == LC_REM ? LC_DREAM : LC_RUN;
	if (st->min_interval_ms > 0) {
		since = st->kind == LC_REM ? p->last_dream_ms :
		    lc_pos_last_ran(p, st->name);
		if (since != 0 && now - since < st->min_interval_ms) {
			d->verdict = LC_GATED;
			d->gate_left_ms = st->min_interval_ms - (now - since);
		}
	}
}

static void
move_next(const struct lc_spec *spec, struct lc_pos *p, int i)
{
	int n = spec->states[i].next;

	if (n < 0 || (size_t)n >= spec->nstates)
		n = i;		/* cannot happen with a validated spec */
	lc_pos_set(p, spec->states[n].name, 0);
}

int
lc_apply(const struct lc_spec *spec, struct lc_pos *p, enum outcome o,
    int64_t now)
{
	int i, repeat;

	if (spec == NULL || (i = find_state(spec, p->state)) < 0)
		return 0;
	repeat = spec->states[i].repeat > 0 ? spec->states[i].repeat : 1;
	switch (o) {
	case OUTCOME_DONE:
		mark_ran(p, p->state, now);
		if (++p->hits >= repeat) {
			move_next(spec, p, i);
			return 1;
		}
		return 0;
	case OUTCOME_NO_WORK:
		/* Remaining repeats collapse; no state is ever skipped. */
		mark_ran(p, p->state, now);
		move_next(spec, p, i);
		return 1;
	case OUTCOME_DREAMED:
		p->last_dream_ms = now;
		mark_ran(p, p->state, now);
		move_next(spec, p, i);
		return 1;
	case OUTCOME_FAILED:
	case OUTCOME_KILLED:
		mark_ran(p, p->state, now);
		return 0;
	default:		/* gated, error, interrupted: hold */
		return 0;
	}
}

int
lc_pos_parse(struct lc_pos *p, const char *buf, size_t len)
{
	const char *line = buf, *end = buf + len, *nl, *sp;
	char *e, tmp[32];
	long hits;
	int first = 1;

	lc_pos_release(p);
	while (line < end) {
		size_t n;

		nl = memchr(line, '\n', (size_t)(end - line));
		n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		sp = memchr(line, ' ', n);
		if (first) {
			if (sp == NULL || !valid_name(line, (size_t)(sp - line)))
				goto fail;
			if ((size_t)(line + n - sp - 1) >= sizeof(tmp) ||
			    line + n - sp - 1 == 0)
				goto fail;
			memcpy(tmp, sp + 1, (size_t)(line + n - sp - 1));
			tmp[line + n - sp - 1] = '\0';
			hits = strtol(tmp, &e, 10);
			if (*e != '\0' || hits < 0 || hits > 1000000)
				goto fail;
			memcpy(p->state, line, (size_t)(sp - line));
			p->state[sp - line] = '\0';
			p->hits = (int)hits;
			first = 0;
		} else if (n > 6 && strncmp(line, "dream ", 6) == 0) {
			snprintf(tmp, sizeof(tmp), "%.*s", (int)(n - 6), line + 6);
			p->last_dream_ms = strtoll(tmp, NULL, 10);
		} else if (n > 4 && strncmp(line, "ran ", 4) == 0) {
			const char *a = line + 4, *b = memchr(a, ' ',
			    (size_t)(line + n - a));
			char name[LC_NAME_MAX];

			if (b && valid_name(a, (size_t)(b - a))) {
				memcpy(name, a, (size_t)(b - a));
				name[b - a] = '\0';
				snprintf(tmp, sizeof(tmp), "%.*s",
				    (int)(line + n - b - 1), b + 1);
				mark_ran(p, name, strtoll(tmp, NULL, 10));
			}
		}
		line = nl ? nl + 1 : end;
	}
	if (first)
		goto fail;
	return 0;
fail:
	lc_pos_release(p);
	return -1;
}

char *
lc_pos_format(const struct lc_pos *p)
{
	struct sb sb = { 0 };

	sb_addf(&sb, "%s %d\n", p->state, p->hits);
	if (p->last_dream_ms)
		sb_addf(&sb, "dream %" PRId64 "\n", p->last_dream_ms);
	for (size_t i = 0; i < p->nran; i++)
		sb_addf(&sb, "ran %s %" PRId64 "\n", p->ran[i].state,
		    p->ran[i].at_ms);
	return sb_detach(&sb);
}

void
lc_pos_release(struct lc_pos *p)
{
	free(p->ran);
	memset(p, 0, sizeof(*p));
}

static void
stamp(char *buf, size_t len, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "[%Y-%m-%d %a %H:%M]", &tm);
}

char *
lc_dream_summary(const struct lc_dream_stats *s)
{
	return xasprintf("runs=%d done=%d no_work=%d failed=%d killed=%d "
	    "gated=%d errors=%d commits=%d total_ms=%" PRId64 " max_ms=%"
	    PRId64 " tokens=%ld/%ld", s->runs, s->done, s->no_work, s->failed,
	    s->killed, s->gated, s->errors, s->commits, s->total_ms,
	    s->max_ms, s->tokens_prompt, s->tokens_completion);
}

char *
lc_dream_org(const char *agent, const char *state, int64_t since,
    int64_t now, const struct lc_dream_stats *s)
{
	struct sb sb = { 0 };
	char a[40], b[40];

	stamp(b, sizeof(b), now);
	if (since > 0)
		stamp(a, sizeof(a), since);
	else
		snprintf(a, sizeof(a), "the beginning");
	sb_addf(&sb, "* %s dreamed in %s %s\n", agent, state, b);
	sb_addf(&sb, ":PROPERTIES:\n:AGENT: %s\n:STATE: %s\n:SINCE: %s\n"
	    ":RUNS: %d\n:DONE: %d\n:NO-WORK: %d\n:FAILED: %d\n:KILLED: %d\n"
	    ":GATED: %d\n:ERRORS: %d\n:COMMITS: %d\n:TOTAL-MS: %" PRId64
	    "\n:MAX-MS: %" PRId64 "\n:TOKENS: %ld/%ld\n:END:\n", agent, state,
	    a, s->runs, s->done, s->no_work, s->failed, s->killed, s->gated,
	    s->errors, s->commits, s->total_ms, s->max_ms, s->tokens_prompt,
	    s->tokens_completion);
	sb_addf(&sb, "Since %s: %d runs (%d done, %d no-work, %d failed, "
	    "%d killed), %d commits, %" PRId64 " ms of work.\n", a, s->runs,
	    s->done, s->no_work, s->failed, s->killed, s->commits, s->total_ms);
	return sb_detach(&sb);
}
