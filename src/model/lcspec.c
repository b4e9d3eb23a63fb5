/*
 * lcspec: parse and validate a lifecycle spec (SPEC §4,
 * keeper-lifecycle(5)).
 *
 * Two passes: the first collects the states (level-1 headings) and their
 * properties, the second resolves every :NEXT: and #+START: to a state
 * index, so that a NEXT may name a state further down. Every problem is
 * reported; the spec is returned only when there is no error.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "dur.h"
#include "lcspec.h"
#include "org.h"
#include "table.h"
#include "util.h"

#define LC_REPEAT_MAX	1000000

static const char *const state_props[] = {
	"KIND", "REPEAT", "NEXT", "MIN-INTERVAL", "DEF", NULL
};

struct pending {		/* a state's :NEXT: before resolution */
	char	*next;
	size_t	 line;
};

static int
is_state_prop(const char *key)
{
	for (size_t i = 0; state_props[i]; i++)
		if (strcasecmp(key, state_props[i]) == 0)
			return 1;
	return 0;
}

/* Parse level-1 heading h into s; errors go to d. */
static void
parse_state(struct lc_spec *sp, const char *dir, const org_doc *doc, long h,
    struct lc_state *s, struct pending *pn, struct diag *d)
{
	const org_heading *hd = &doc->headings[h];
	size_t line;
	char *v, *key;
	long n;

	s->name = cfg_strn(hd->title.s, hd->title.len);
	s->line = hd->line;
	s->kind = LC_WAKE;
	s->repeat = 1;
	s->next = -1;
	if (hd->title.len == 0)
		diag_err(d, sp->path, hd->line, "state heading without a name");
	else if (strlen(s->name) >= LC_NAME_MAX)
		diag_err(d, sp->path, hd->line,
		    "state name '%s' too long (limit %d characters)", s->name,
		    LC_NAME_MAX - 1);
	else if (strlen(s->name) != hd->title.len ||
	    !cfg_name_ok(s->name, LC_NAME_MAX))
		diag_err(d, sp->path, hd->line,
		    "invalid state name '%s' (letters, digits, '.', '_' and "
		    "'-' only, not starting with '.' or '-')", s->name);

	for (size_t i = 0; i < hd->nprops; i++) {
		const org_prop *p = &doc->props[hd->props + i];

		key = cfg_strn(p->key.s, p->key.len);
		if (!is_state_prop(key) && !cfg_org_property(key))
			diag_warn(d, sp->path, p->line,
			    "unknown property ':%s:'", key);
		free(key);
	}
	if ((v = org_property(doc, h, "KIND", 0, &line)) != NULL) {
		if (strcasecmp(v, "rem") == 0)
			s->kind = LC_REM;
		else if (strcasecmp(v, "wake") != 0)
			diag_err(d, sp->path, line,
			    "invalid :KIND: '%s' (expected wake or rem)", v);
		free(v);
	}
	if ((v = org_property(doc, h, "REPEAT", 0, &line)) != NULL) {
		if (cfg_int(v, 1, LC_REPEAT_MAX, &n) == -1)
			diag_err(d, sp->path, line,
			    "invalid :REPEAT: '%s' (expected an integer from 1 "
			    "to %d)", v, LC_REPEAT_MAX);
		else
			s->repeat = (int)n;
		if (s->kind == LC_REM && s->repeat > 1)
			diag_warn(d, sp->path, line,
			    "rem state '%s' ignores :REPEAT:", s->name);
		free(v);
	}
	if ((v = org_property(doc, h, "MIN-INTERVAL", 0, &line)) != NULL) {
		if (dur_parse(v, &s->min_interval_ms) == -1) {
			diag_err(d, sp->path, line,
			    "invalid duration '%s' for :MIN-INTERVAL:", v);
			s->min_interval_ms = 0;
		}
		free(v);
	}
	if ((v = org_property(doc, h, "DEF", 0, &line)) != NULL) {
		if (*v) {
			s->def = cfg_resolve(dir, v);
			s->def_line = line;
			if (s->kind == LC_REM)
				diag_warn(d, sp->path, line,
				    "rem state '%s' never uses its :DEF:",
				    s->name);
		}
		free(v);
	}
	if ((v = org_property(doc, h, "NEXT", 0, &line)) != NULL) {
		if (*v == '\0') {
			diag_err(d, sp->path, line, "empty :NEXT:");
			free(v);
		} else {
			pn->next = v;
			pn->line = line;
		}
	} else
		diag_err(d, sp->path, hd->line, "state '%s' has no :NEXT:",
		    s->name);
}

/* Warn about states START can never reach: usually a typo in a NEXT. */
static void
warn_unreachable(const struct lc_spec *sp, struct diag *d)
{
	char *seen = xcalloc(sp->nstates, 1);
	int i = sp->start;

	/* Each state has exactly one successor: follow the chain. */
	while (i >= 0 && !seen[i]) {
		seen[i] = 1;
		i = sp->states[i].next;
	}
	for (size_t k = 0; k < sp->nstates; k++)
		if (!seen[k])
			diag_warn(d, sp->path, sp->states[k].line,
			    "state '%s' is never reached from '%s'",
			    sp->states[k].name, sp->states[sp->start].name);
	free(seen);
}

int
lc_spec_parse(const char *path, const char *buf, size_t len,
    struct lc_spec **out, struct diag *d)
{
	struct lc_spec *sp;
	struct pending *pn = NULL;
	const org_keyword *start = NULL;
	org_doc *doc;
	struct table names = { .flags = TABLE_COPY };
	struct table_ent *e;
	size_t nerr = d->nerrors, nlevel1 = 0;
	char *dir, *key, *v;
	int wake = 0, added;

	*out = NULL;
	if ((doc = org_parse(buf, len)) == NULL) {
		diag_err(d, path, 0, "out of memory parsing the file");
		return -1;
	}
	sp = xcalloc(1, sizeof(*sp));
	sp->path = xstrdup(path);
	dir = util_dirname(path);

	for (size_t i = 0; i < doc->nkeywords; i++) {
		const org_keyword *kw = &doc->keywords[i];

		key = cfg_strn(kw->key.s, kw->key.len);
		if (strcmp(key, "START") == 0) {
			if (start != NULL)
				diag_warn(d, path, kw->line,
				    "duplicate #+START: (overrides line %zu)",
				    start->line);
			start = kw;
		} else if (!cfg_org_keyword(key))
			diag_warn(d, path, kw->line,
			    "unknown keyword '#+%s:'", key);
		free(key);
	}

	for (size_t h = 0; h < doc->nheadings; h++)
		if (doc->headings[h].level == 1 && !doc->headings[h].commented)
			nlevel1++;
	sp->states = xcalloc(nlevel1, sizeof(*sp->states));
	pn = xcalloc(nlevel1, sizeof(*pn));
	for (size_t h = 0; h < doc->nheadings; h++) {
		struct lc_state *s;

		if (doc->headings[h].level != 1 || doc->headings[h].commented)
			continue;
		s = &sp->states[sp->nstates];
		parse_state(sp, dir, doc, (long)h, s, &pn[sp->nstates], d);
		if (s->name[0]) {
			e = table_put(&names, s->name, &added);
			if (added)
				e->v.num = sp->nstates;
			else
				diag_err(d, path, s->line, "duplicate state "
				    "'%s' (first at line %zu)", s->name,
				    sp->states[e->v.num].line);
		}
		if (s->kind == LC_WAKE)
			wake = 1;
		sp->nstates++;
	}

	if (sp->nstates == 0) {
		diag_err(d, path, 0,
		    "no states (each level-1 heading is a state)");
		goto done;
	}
	for (size_t i = 0; i < sp->nstates; i++) {
		if (pn[i].next == NULL)
			continue;
		if ((e = table_get(&names, pn[i].next)) != NULL)
			sp->states[i].next = (int)e->v.num;
		else
			diag_err(d, path, pn[i].line,
			    "unknown state '%s' in :NEXT:", pn[i].next);
	}
	if (start != NULL) {
		v = cfg_strn(start->value.s, start->value.len);
		if (*v == '\0')
			diag_err(d, path, start->line, "empty #+START:");
		else if ((sp->start = lc_spec_find(sp, v)) == -1)
			diag_err(d, path, start->line,
			    "unknown state '%s' in #+START:", v);
		free(v);
	}
	if (!wake)
		diag_warn(d, path, sp->states[0].line,
		    "no wake state: the agent never runs");
	if (d->nerrors == nerr)
		warn_unreachable(sp, d);
done:
	for (size_t i = 0; i < nlevel1; i++)
		free(pn[i].next);
	free(pn);
	free(dir);
	table_release(&names);
	org_free(doc);
	if (d->nerrors != nerr) {
		lc_spec_free(sp);
		return -1;
	}
	*out = sp;
	return 0;
}

int
lc_spec_load(const char *path, struct lc_spec **out, struct diag *d)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((buf = cfg_read(path, &len, d)) == NULL)
		return -1;
	rc = lc_spec_parse(path, buf, len, out, d);
	free(buf);
	return rc;
}

int
lc_spec_find(const struct lc_spec *sp, const char *name)
{
	if (sp == NULL || name == NULL)
		return -1;
	for (size_t i = 0; i < sp->nstates; i++)
		if (strcmp(sp->states[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
lc_spec_free(struct lc_spec *sp)
{
	if (sp == NULL)
		return;
	for (size_t i = 0; i < sp->nstates; i++) {
		free(sp->states[i].name);
		free(sp->states[i].def);
	}
	free(sp->states);
	free(sp->path);
	free(sp);
}
