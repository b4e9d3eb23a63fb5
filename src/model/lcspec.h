/*
 * lcspec: the lifecycle spec model (SPEC §4). Turns a lifecycle org file
 * into a validated struct lc_spec: states, KIND, REPEAT, NEXT resolved to
 * indices, START, MIN-INTERVAL, per-state DEF.
 *
 * Ownership: lc_spec_load()/lc_spec_parse() allocate; lc_spec_free()
 * releases everything.
 */
#ifndef KEEPER_LCSPEC_H
#define KEEPER_LCSPEC_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define LC_NAME_MAX	64	/* longest state name + 1 */

enum lc_kind { LC_WAKE, LC_REM };

struct lc_state {
	char		*name;
	size_t		 line;
	enum lc_kind	 kind;		/* :KIND: wake (default) | rem */
	int		 repeat;	/* :REPEAT:, default 1, >= 1 */
	int		 next;		/* index of :NEXT: */
	int64_t		 min_interval_ms; /* :MIN-INTERVAL:, 0 = none */
	char		*def;		/* resolved :DEF:, or NULL */
	size_t		 def_line;	/* of :DEF:, 0 when absent */
};

struct lc_spec {
	char		*path;
	struct lc_state	*states;
	size_t		 nstates;
	int		 start;		/* #+START:, default 0 */
};

/* 0 when valid, -1 with errors in d (*out NULL then). */
int	 lc_spec_load(const char *path, struct lc_spec **out, struct diag *d);
int	 lc_spec_parse(const char *path, const char *buf, size_t len,
	    struct lc_spec **out, struct diag *d);
int	 lc_spec_find(const struct lc_spec *, const char *name); /* -1 */
void	 lc_spec_free(struct lc_spec *);

#endif
