/*
 * walk: the files a config names, as one rule for `keeper check` and
 * `keeper doctor` (and anything else that follows a crew to everything it
 * runs): a crew names each member's def and lifecycle, a lifecycle names
 * its states' defs. Pure: the structs are already loaded; the walk only
 * says what they point to, in document order.
 */
#ifndef KEEPER_WALK_H
#define KEEPER_WALK_H

#include <stddef.h>

struct crew;
struct lc_spec;

enum walk_kind { WALK_DEF, WALK_LIFECYCLE };

struct walk_ref {
	enum walk_kind	 kind;
	const char	*path;		/* resolved */
	const char	*from;		/* the file that names it */
	size_t		 line;		/* where */
	const char	*who;		/* "NAME", or "NAME (state S)" */
};

typedef void (*walk_fn)(const struct walk_ref *, void *arg);

/* Each member's def, then its lifecycle, in manifest order. */
void	 walk_crew(const struct crew *, walk_fn, void *arg);
/* Each state's own :DEF:; who names the member the spec belongs to (may
 * be NULL). */
void	 walk_lifecycle(const struct lc_spec *, const char *who, walk_fn,
	    void *arg);

#endif
