/*
 * template: {{placeholder}} expansion for llm steps (SPEC §6). The pure
 * expander, exec_template(), takes a lookup function and is tested alone;
 * the run's lookup answers {{prev}}, {{agent}}, {{state}}, {{hits}} and
 * earlier steps by name, reading their outputs back (output.c).
 * Neighbours: exec-int.h, llmstep.c (its one user).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec-int.h"

static const char *
trim(const char *s, const char *e, size_t *len)
{
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*len = (size_t)(e - s);
	return s;
}

int
exec_template(const char *tmpl, exec_lookup_fn lookup, void *arg,
    struct sb *out, char *err, size_t errlen)
{
	const char *p = tmpl, *open, *close, *q, *name;
	size_t nlen, vlen;
	char *key, *val;
	int rc;

	while ((open = strstr(p, "{{")) != NULL) {
		sb_add(out, p, (size_t)(open - p));
		close = NULL;
		for (q = open + 2; *q != '\0' && *q != '\n'; q++) {
			if (*q == '{')
				break;
			if (q[0] == '}' && q[1] == '}') {
				close = q;
				break;
			}
		}
		if (close == NULL && *q == '{') {
			/* "{{{x}}": the placeholder may start one brace on */
			sb_addc(out, '{');
			p = open + 1;
			continue;
		}
		name = close ? trim(open + 2, close, &nlen) : NULL;
		if (close == NULL || nlen == 0) {
			sb_add(out, "{{", 2);	/* not a placeholder */
			p = open + 2;
			continue;
		}
		key = xstrndup(name, nlen);
		val = NULL;
		vlen = 0;
		rc = lookup(arg, key, &val, &vlen, err, errlen);
		if (rc == -1)
			snprintf(err, errlen, "unknown placeholder {{%s}}", key);
		free(key);
		if (rc != 0) {
			free(val);
			return -1;
		}
		sb_add(out, val, vlen);
		free(val);
		p = close + 2;
	}
	sb_adds(out, p);
	return 0;
}

struct tctx {
	struct run	*r;
	size_t		 i;	/* the step being expanded */
};

/* {{prev}}, {{agent}}, {{state}}, {{hits}}, then earlier steps by name
 * (the nearest one when names repeat). */
static int
tlookup(void *arg, const char *name, char **val, size_t *len, char *err,
    size_t errlen)
{
	struct tctx *t = arg;
	struct run *r = t->r;
	const char *v = NULL;
	size_t j;

	if (strcmp(name, "prev") == 0) {
		if (t->i == 0) {
			*val = xstrdup("");
			*len = 0;
			return 0;
		}
		return exec__read_output(r, t->i - 1, val, len, err, errlen);
	}
	if (strcmp(name, "agent") == 0)
		v = r->o->agent;
	else if (strcmp(name, "state") == 0)
		v = r->o->state;
	else if (strcmp(name, "hits") == 0)
		v = r->o->hits;
	if (v != NULL || strcmp(name, "agent") == 0 ||
	    strcmp(name, "state") == 0 || strcmp(name, "hits") == 0) {
		*val = xstrdup(v ? v : "");
		*len = strlen(*val);
		return 0;
	}
	for (j = t->i; j-- > 0;)
		if (r->def->steps[j].name &&
		    strcmp(r->def->steps[j].name, name) == 0)
			return exec__read_output(r, j, val, len, err, errlen);
	for (j = t->i; j < r->def->nsteps; j++)
		if (r->def->steps[j].name &&
		    strcmp(r->def->steps[j].name, name) == 0) {
			snprintf(err, errlen, "placeholder {{%s}} names a step "
			    "that has not run yet", name);
			return -2;
		}
	return -1;
}

int
exec__expand(struct run *r, size_t i, const char *tmpl, struct sb *out)
{
	struct tctx t = { r, i };
	char err[512];

	if (exec_template(tmpl, tlookup, &t, out, err, sizeof(err)) == 0)
		return 0;
	exec__seterr(r, "step \"%s\": %s", r->def->steps[i].name, err);
	return -1;
}
