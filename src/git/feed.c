/*
 * feed: the changes feed (SPEC §7, GET /changes): the newest commits
 * reachable from HEAD with their Keeper-* trailers, and their JSON (text
 * cleaned to valid UTF-8). It opens its own read-only handle on the path
 * and takes no lock, so a reader never waits for a commit. Neighbours:
 * repo-int.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "repo-int.h"
#include "repo.h"
#include "utf8.h"
#include "util.h"

void
repo_changes_free(struct repo_change *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].author);
		free(v[i].subject);
		free(v[i].agent);
		free(v[i].state);
		free(v[i].run);
	}
	free(v);
}

/* The walk behind the feed: newest commit first among those whose
 * children were already shown, so a child always precedes its parents
 * even when they share a second, and only what is shown (plus the
 * frontier) is ever read: bounded by limit, not by the history's size. */
struct walk {
	git_commit	**front;	/* not yet shown */
	size_t		  nfront, capfront;
	git_oid		 *seen;		/* ever queued */
	size_t		  nseen, capseen;
};

static void
walk_push(struct walk *w, git_commit *c)
{
	const git_oid *id = git_commit_id(c);

	for (size_t i = 0; i < w->nseen; i++)
		if (git_oid_equal(&w->seen[i], id)) {
			git_commit_free(c);
			return;
		}
	if (w->nseen == w->capseen) {
		w->capseen = w->capseen ? w->capseen * 2 : 64;
		w->seen = xreallocarray(w->seen, w->capseen, sizeof(*w->seen));
	}
	git_oid_cpy(&w->seen[w->nseen++], id);
	if (w->nfront == w->capfront) {
		w->capfront = w->capfront ? w->capfront * 2 : 8;
		w->front = xreallocarray(w->front, w->capfront,
		    sizeof(*w->front));
	}
	w->front[w->nfront++] = c;
}

static git_commit *
walk_next(struct walk *w)
{
	git_commit *c;
	size_t best = 0;

	if (w->nfront == 0)
		return NULL;
	for (size_t i = 1; i < w->nfront; i++)
		if (git_commit_time(w->front[i]) >
		    git_commit_time(w->front[best]))
			best = i;
	c = w->front[best];
	memmove(w->front + best, w->front + best + 1,
	    (w->nfront - best - 1) * sizeof(*w->front));
	w->nfront--;
	for (unsigned i = 0; i < git_commit_parentcount(c); i++) {
		git_commit *p = NULL;

		if (git_commit_parent(&p, c, i) == 0)
			walk_push(w, p);
	}
	git_error_clear();	/* a missing parent (shallow clone) ends it */
	return c;
}

static void
walk_release(struct walk *w)
{
	for (size_t i = 0; i < w->nfront; i++)
		git_commit_free(w->front[i]);
	free(w->front);
	free(w->seen);
}

int
repo_changes_at(const char *path, size_t limit, struct repo_change **out,
    size_t *n, char *err, size_t errlen)
{
	git_repository *git = NULL;
	git_commit *head = NULL, *cm;
	struct walk wk = { 0 };
	struct repo_change *v = NULL;
	size_t cnt = 0;
	git_oid oid;
	int rc = -1, c;

	*out = NULL;
	*n = 0;
	if (limit > REPO_CHANGES_MAX)
		limit = REPO_CHANGES_MAX;
	if (repo_init() == -1) {
		giterr(err, errlen, "libgit2");
		return -1;
	}
	if (git_repository_open_ext(&git, path, 0, NULL) < 0) {
		seterr(err, errlen, "'%s' is not a git repository", path);
		goto done;
	}
	c = git_repository_head_unborn(git) == 1 ? GIT_EUNBORNBRANCH :
	    git_reference_name_to_id(&oid, git, "HEAD");
	if (c == GIT_ENOTFOUND || c == GIT_EUNBORNBRANCH) {
		rc = 0;		/* a brand-new repository: no history yet */
		goto done;
	}
	if (c < 0 || git_commit_lookup(&head, git, &oid) < 0) {
		giterr(err, errlen, "cannot read HEAD");
		goto done;
	}
	walk_push(&wk, head);
	v = xcalloc(limit ? limit : 1, sizeof(*v));
	while (cnt < limit && (cm = walk_next(&wk)) != NULL) {
		const git_signature *a;
		git_message_trailer_array tr = { 0 };
		struct repo_change *ch = &v[cnt];
		const char *s;

		git_oid_tostr(ch->id, sizeof(ch->id), git_commit_id(cm));
		a = git_commit_author(cm);
		ch->author = xasprintf("%s <%s>", a->name, a->email);
		ch->time = (int64_t)git_commit_time(cm);
		s = git_commit_summary(cm);
		ch->subject = xstrdup(s ? s : "");
		if (git_message_trailers(&tr, git_commit_message(cm)) == 0) {
			for (size_t i = 0; i < tr.count; i++) {
				char **dst = NULL;

				if (strcasecmp(tr.trailers[i].key,
				    "Keeper-Agent") == 0)
					dst = &ch->agent;
				else if (strcasecmp(tr.trailers[i].key,
				    "Keeper-State") == 0)
					dst = &ch->state;
				else if (strcasecmp(tr.trailers[i].key,
				    "Keeper-Run") == 0)
					dst = &ch->run;
				if (dst != NULL && *dst == NULL)
					*dst = xstrdup(tr.trailers[i].value);
			}
			git_message_trailer_array_free(&tr);
		}
		git_commit_free(cm);
		cnt++;
	}
	rc = 0;
done:
	if (rc == 0) {
		*out = v;
		*n = cnt;
	} else
		repo_changes_free(v, cnt);
	walk_release(&wk);
	git_repository_free(git);
	git_libgit2_shutdown();
	return rc;
}

static json_t *
jstr(const char *s)
{
	json_t *j;
	char *c;
	size_t n;

	if (s == NULL)
		return json_null();
	c = utf8_clean(s, strlen(s), UTF8_NOCTRL, &n);
	j = json_stringn(c, n);
	free(c);
	return j ? j : json_string("");
}

json_t *
repo_changes_json(const struct repo_change *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "id", jstr(v[i].id));
		json_object_set_new(o, "author", jstr(v[i].author));
		json_object_set_new(o, "time", json_integer(v[i].time));
		json_object_set_new(o, "subject", jstr(v[i].subject));
		json_object_set_new(o, "agent", jstr(v[i].agent));
		json_object_set_new(o, "state", jstr(v[i].state));
		json_object_set_new(o, "run", jstr(v[i].run));
		json_array_append_new(a, o);
	}
	return a;
}
