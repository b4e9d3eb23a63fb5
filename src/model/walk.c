/*
 * walk: see walk.h.
 */
#include <stdlib.h>

#include "crew.h"
#include "lcspec.h"
#include "util.h"
#include "walk.h"

void
walk_crew(const struct crew *c, walk_fn fn, void *arg)
{
	struct walk_ref r;

	for (size_t i = 0; i < c->nmembers; i++) {
		const struct crew_member *m = &c->members[i];

		r = (struct walk_ref){ WALK_DEF, m->def, c->path, m->def_line,
		    m->name };
		fn(&r, arg);
		if (m->lifecycle == NULL)
			continue;
		r = (struct walk_ref){ WALK_LIFECYCLE, m->lifecycle, c->path,
		    m->lifecycle_line, m->name };
		fn(&r, arg);
	}
}

void
walk_lifecycle(const struct lc_spec *sp, const char *who, walk_fn fn,
    void *arg)
{
	struct walk_ref r;
	char *w;

	for (size_t i = 0; i < sp->nstates; i++) {
		if (sp->states[i].def == NULL)
			continue;
		w = xasprintf("%s (state %s)", who ? who : sp->path,
		    sp->states[i].name);
		r = (struct walk_ref){ WALK_DEF, sp->states[i].def, sp->path,
		    sp->states[i].def_line, w };
		fn(&r, arg);
		free(w);
	}
}
