/*
 * promtext: see promtext.h. Numbers go through printf's %g, which needs
 * the C locale's decimal point: keeper never calls setlocale(), so it
 * has it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

void
promtext_double(char buf[32], double v)
{
	if (isnan(v)) {
		snprintf(buf, 32, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, 32, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Counts and whole seconds, the common case, as integers. */
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, 32, "%.0f", v);
		if (strcmp(buf, "-0") == 0)
			snprintf(buf, 32, "0");
		return;
	}
	/* The shortest %g that reads back as v: 0.1 is "0.1", not
	 * "0.10000000000000001". */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			return;
	}
}

void
promtext_escape(struct sb *b, const char *s, int quoted)
{
	for (; *s; s++)
		if (*s == '\\')
			sb_adds(b, "\\\\");
		else if (*s == '\n')
			sb_adds(b, "\\n");
		else if (*s == '"' && quoted)
			sb_adds(b, "\\\"");
		else
			sb_addc(b, *s);
}

void
promtext_family(struct sb *b, const char *name, const char *type,
    const char *help)
{
	sb_addf(b, "# HELP %s ", name);
	promtext_escape(b, help, 0);
	sb_addf(b, "\n# TYPE %s %s\n", name, type);
}

/* name{a="x",b="y"[,extra="v"]} */
static void
series(struct sb *b, const char *name, const char *suffix,
    const struct promtext_label *l, size_t n, const char *extra,
    const char *extra_value)
{
	int any = n > 0 || extra != NULL;

	sb_adds(b, name);
	if (suffix != NULL)
		sb_adds(b, suffix);
	if (!any)
		return;
	sb_addc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			sb_addc(b, ',');
		sb_addf(b, "%s=\"", l[i].name);
		promtext_escape(b, l[i].value ? l[i].value : "", 1);
		sb_addc(b, '"');
	}
	if (extra != NULL) {
		if (n > 0)
			sb_addc(b, ',');
		sb_addf(b, "%s=\"%s\"", extra, extra_value);
	}
	sb_addc(b, '}');
}

void
promtext_sample(struct sb *b, const char *name,
    const struct promtext_label *l, size_t n, double v)
{
	char num[32];

	series(b, name, NULL, l, n, NULL, NULL);
	promtext_double(num, v);
	sb_addf(b, " %s\n", num);
}

void
promtext_histogram(struct sb *b, const char *name,
    const struct promtext_label *l, size_t n, const double *bounds,
    const uint64_t *counts, size_t nbounds, double sum)
{
	char le[32], num[32];
	uint64_t cum = 0;

	for (size_t i = 0; i <= nbounds; i++) {
		cum += counts[i];
		if (i < nbounds)
			promtext_double(le, bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		series(b, name, "_bucket", l, n, "le", le);
		sb_addf(b, " %llu\n", (unsigned long long)cum);
	}
	series(b, name, "_sum", l, n, NULL, NULL);
	promtext_double(num, sum);
	sb_addf(b, " %s\n", num);
	series(b, name, "_count", l, n, NULL, NULL);
	sb_addf(b, " %llu\n", (unsigned long long)cum);
}
