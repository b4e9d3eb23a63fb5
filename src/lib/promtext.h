/*
 * promtext: a writer for Prometheus's text exposition format, version
 * 0.0.4: "# HELP" and "# TYPE" lines, samples with escaped label values,
 * and histograms as cumulative _bucket{le=...} series ending in +Inf,
 * then _sum and _count. Values are written as Prometheus parses them:
 * the shortest decimal that reads back as the same double, and NaN,
 * +Inf, -Inf. Pure, and knows nothing of keeper.
 *
 * The caller keeps to the format's rules the writer cannot see: the
 * samples of one family follow its HELP/TYPE lines as one group, names
 * match [a-zA-Z_:][a-zA-Z0-9_:]*, label values are UTF-8.
 *
 * Ownership: everything is appended to a caller-owned struct sb.
 */
#ifndef KEEPER_PROMTEXT_H
#define KEEPER_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define PROMTEXT_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct promtext_label {
	const char	*name;
	const char	*value;
};

/* "# HELP name help" (help escaped) and "# TYPE name type", where type
 * is "counter", "gauge" or "histogram". */
void	 promtext_family(struct sb *, const char *name, const char *type,
	    const char *help);
/* name{labels} value */
void	 promtext_sample(struct sb *, const char *name,
	    const struct promtext_label *, size_t nlabels, double value);
/* A histogram's series for one label set. counts[i] is how many
 * observations fell in (bounds[i-1], bounds[i]], counts[nbounds] those
 * above the last bound; bounds ascend. */
void	 promtext_histogram(struct sb *, const char *name,
	    const struct promtext_label *, size_t nlabels,
	    const double *bounds, const uint64_t *counts, size_t nbounds,
	    double sum);
/* v as Prometheus parses a float, into buf. */
void	 promtext_double(char buf[32], double v);
/* A label value or HELP text escaped as the format asks into sb:
 * backslash, newline and (in label values, quoted) the double quote. */
void	 promtext_escape(struct sb *, const char *s, int quoted);

#endif
