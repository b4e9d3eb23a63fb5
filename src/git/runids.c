/*
 * runids: see runids.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "runids.h"

#define PARTIAL_PREFIX	"refs/keeper/partial/"

/* A whole decimal number, or -1. */
static int64_t
number(const char *s, size_t len)
{
	int64_t v = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static void
from_refs(git_repository *r, int64_t *max)
{
	git_reference_iterator *it = NULL;
	const char *name, *slash;
	int64_t v;

	if (git_reference_iterator_glob_new(&it, r, PARTIAL_PREFIX "*") != 0)
		return;
	while (git_reference_next_name(&name, it) == 0) {
		if ((slash = strrchr(name, '/')) == NULL)
			continue;
		v = number(slash + 1, strlen(slash + 1));
		if (v > *max)
			*max = v;
	}
	git_reference_iterator_free(it);
}

static void
from_history(git_repository *r, int64_t *max)
{
	git_revwalk *w = NULL;
	git_oid id;

	if (git_revwalk_new(&w, r) != 0)
		return;
	git_revwalk_simplify_first_parent(w);
	if (git_revwalk_push_head(w) != 0)
		goto done;
	while (git_revwalk_next(&id, w) == 0) {
		git_commit *c = NULL;
		git_message_trailer_array t = { 0 };
		int64_t v;

		if (git_commit_lookup(&c, r, &id) != 0)
			continue;
		if (git_message_trailers(&t, git_commit_message(c)) == 0) {
			for (size_t i = 0; i < t.count; i++) {
				if (strcmp(t.trailers[i].key, "Keeper-Run") != 0)
					continue;
				v = number(t.trailers[i].value,
				    strlen(t.trailers[i].value));
				if (v > *max)
					*max = v;
			}
			git_message_trailer_array_free(&t);
		}
		git_commit_free(c);
	}
done:
	git_revwalk_free(w);
}

int
runids_max(const char *path, int history, int64_t *max, char *err,
    size_t errlen)
{
	git_repository *r = NULL;

	(void)err;
	(void)errlen;
	*max = 0;
	git_libgit2_init();
	if (git_repository_open_ext(&r, path, 0, NULL) == 0) {
		from_refs(r, max);
		if (history)
			from_history(r, max);
		git_repository_free(r);
	}
	git_libgit2_shutdown();
	return 0;
}
