/*
 * partial: a failed or killed run's work (or a done run's, on a detached
 * HEAD keeper does not commit on), kept without touching the work
 * tree, the index or HEAD (SPEC §7): the work tree's content as a tree
 * built on HEAD's, a commit of it whose parent is HEAD, and the ref
 * refs/keeper/partial/NAME/RUN pointing at it. Under the operation lock
 * (repo.c). Neighbours: repo-int.h, commit.c (the message and author).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repo-int.h"
#include "repo.h"
#include "util.h"

static int
valid_ref_part(const char *s)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' ||
		    *s == '.'))
			return 0;
	return 1;
}

struct upd {
	git_tree_update	*v;
	size_t		 n, cap;
};

static void
upd_add(struct upd *u, git_tree_update_t action, const git_oid *id,
    git_filemode_t mode, const char *path)
{
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		u->v = xreallocarray(u->v, u->cap, sizeof(*u->v));
	}
	memset(&u->v[u->n], 0, sizeof(u->v[u->n]));
	u->v[u->n].action = action;
	if (id)
		git_oid_cpy(&u->v[u->n].id, id);
	u->v[u->n].filemode = mode;
	u->v[u->n].path = xstrdup(path);
	u->n++;
}

static void
upd_free(struct upd *u)
{
	for (size_t i = 0; i < u->n; i++)
		free((char *)u->v[i].path);
	free(u->v);
}

/* The work tree's tree: base (HEAD's tree, or the empty tree) with every
 * path status reports set to its work-tree content. Touches neither the
 * index nor the work tree. */
static int
worktree_tree(struct repo *r, git_tree *base,
    const struct repo_commit_info *ci, struct repo_result *res, git_oid *out,
    char *err, size_t errlen)
{
	size_t *nfiles = &res->nfiles;
	git_status_list *sl = NULL;
	git_config *cfg = NULL;
	struct upd u = { 0 };
	int filemode = 1, rc = -1;
	size_t n;

	if (git_repository_config_snapshot(&cfg, r->git) == 0) {
		if (git_config_get_bool(&filemode, cfg, "core.filemode") < 0)
			filemode = 1;
		git_config_free(cfg);
	}
	git_error_clear();
	if (repo__status_list(r, GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &sl, err,
	    errlen) == -1)
		return -1;
	n = git_status_list_entrycount(sl);
	for (size_t i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(sl, i);
		const git_diff_delta *d = e->index_to_workdir ?
		    e->index_to_workdir : e->head_to_index;
		git_tree_entry *te = NULL;
		const char *path;
		char *full;
		struct stat st;
		git_oid blob;
		git_filemode_t mode;

		if (d == NULL || (e->status & GIT_STATUS_WT_UNREADABLE))
			continue;
		path = d->new_file.path ? d->new_file.path : d->old_file.path;
		if (repo__left_out(r, ci, path, NULL, res))
			continue;
		full = xasprintf("%s%s", r->workdir, path);
		if (base != NULL)
			git_tree_entry_bypath(&te, base, path);
		if (lstat(full, &st) == -1) {
			if (te != NULL) {
				upd_add(&u, GIT_TREE_UPDATE_REMOVE, NULL, 0,
				    path);
				(*nfiles)++;
			}
			git_tree_entry_free(te);
			free(full);
			continue;
		}
		if (S_ISDIR(st.st_mode) || repo__left_out(r, ci, path, &st,
		    res)) {
			/* A nested repository, or a file too big to keep:
			 * the ref has HEAD's version of it, if any. */
			git_tree_entry_free(te);
			free(full);
			continue;
		}
		if (S_ISLNK(st.st_mode))
			mode = GIT_FILEMODE_LINK;
		else if (filemode)
			mode = st.st_mode & S_IXUSR ?
			    GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
		else
			mode = te ? git_tree_entry_filemode(te) :
			    GIT_FILEMODE_BLOB;
		git_tree_entry_free(te);
		if (git_blob_create_from_workdir(&blob, r->git, path) < 0) {
			struct stat st2;

			/* Changed under us by another writer: skip it. */
			if (lstat(full, &st2) == -1 || !same_stat(&st, &st2)) {
				git_error_clear();
				free(full);
				continue;
			}
			seterr(err, errlen, "cannot read '%s': %s", path,
			    git_error_last() ? git_error_last()->message :
			    "unknown error");
			free(full);
			goto done;
		}
		free(full);
		upd_add(&u, GIT_TREE_UPDATE_UPSERT, &blob, mode, path);
		(*nfiles)++;
	}
	if (base != NULL) {
		if (u.n == 0)
			git_oid_cpy(out, git_tree_id(base));
		else if (git_tree_create_updated(out, r->git, base, u.n,
		    u.v) < 0) {
			giterr(err, errlen, "cannot build the partial tree");
			goto done;
		}
	} else {
		/* Unborn: the same updates on an empty tree. */
		git_treebuilder *tb = NULL;
		git_oid empty;
		git_tree *et = NULL;

		if (git_treebuilder_new(&tb, r->git, NULL) < 0 ||
		    git_treebuilder_write(&empty, tb) < 0 ||
		    git_tree_lookup(&et, r->git, &empty) < 0 ||
		    git_tree_create_updated(out, r->git, et, u.n, u.v) < 0) {
			giterr(err, errlen, "cannot build the partial tree");
			git_treebuilder_free(tb);
			git_tree_free(et);
			goto done;
		}
		git_treebuilder_free(tb);
		git_tree_free(et);
	}
	rc = 0;
done:
	upd_free(&u);
	git_status_list_free(sl);
	return rc;
}

int
repo__partial_locked(struct repo *r, const struct repo_commit_info *ci,
    struct repo_result *res, char *err, size_t errlen)
{
	git_commit *parent = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid tree_oid, oid;
	const git_commit *parents[1];
	char *msg = NULL, *refname = NULL;
	int rc = -1;

	if (ci->agent == NULL || !valid_ref_part(ci->agent) ||
	    ci->run_id == NULL || !valid_ref_part(ci->run_id)) {
		seterr(err, errlen, "partial ref needs an agent name and a run "
		    "id made of [A-Za-z0-9._-]");
		return -1;
	}
	if (repo__head_commit(r, &parent, &res->flags, err, errlen) == -1)
		goto done;
	if (parent != NULL && git_commit_tree(&base, parent) < 0) {
		giterr(err, errlen, "cannot read HEAD's tree");
		goto done;
	}
	if (worktree_tree(r, base, ci, res, &tree_oid, err, errlen) == -1)
		goto done;
	if (base != NULL ? git_oid_equal(&tree_oid, git_tree_id(base)) :
	    res->nfiles == 0) {
		res->status = REPO_NO_CHANGE;
		setnote(res->note, sizeof(res->note), "no change");
		repo__note_left_out(ci, res, res->note, sizeof(res->note));
		rc = 0;
		goto done;
	}
	if (git_tree_lookup(&tree, r->git, &tree_oid) < 0) {
		giterr(err, errlen, "cannot read the partial tree");
		goto done;
	}
	if (repo__make_sig(&sig, ci, ci->agent, err, errlen) == -1)
		goto done;
	msg = repo_message(ci);
	parents[0] = parent;
	if (git_commit_create(&oid, r->git, NULL, sig, sig, NULL, msg, tree,
	    parent ? 1 : 0, parents) < 0) {
		giterr(err, errlen, "cannot create the partial commit");
		goto done;
	}
	refname = xasprintf("refs/keeper/partial/%s/%s", ci->agent,
	    ci->run_id);
	if (git_reference_create(&ref, r->git, refname, &oid, 0,
	    "keeper: partial") < 0) {
		giterr(err, errlen, "cannot create the partial ref");
		goto done;
	}
	git_oid_tostr(res->id, sizeof(res->id), &oid);
	snprintf(res->ref, sizeof(res->ref), "%s", refname);
	res->status = REPO_COMMITTED;
	setnote(res->note, sizeof(res->note), "partial %.12s on %s: %zu file%s",
	    res->id, refname, res->nfiles, res->nfiles == 1 ? "" : "s");
	repo__note_left_out(ci, res, res->note, sizeof(res->note));
	rc = 0;
done:
	free(refname);
	free(msg);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	return rc;
}

int
repo_keep_partial(struct repo *r, const char *agent, const char *run_id,
    const char *id, char *err, size_t errlen)
{
	git_reference *ref = NULL;
	git_oid oid;
	char *refname;
	int rc = -1;

	if (agent == NULL || !valid_ref_part(agent) || run_id == NULL ||
	    !valid_ref_part(run_id) || git_oid_fromstr(&oid, id) < 0) {
		seterr(err, errlen, "partial ref needs an agent name, a run "
		    "id made of [A-Za-z0-9._-] and a commit");
		return -1;
	}
	if (repo__op_begin(r, "partial", err, errlen) == -1)
		return -1;
	refname = xasprintf("refs/keeper/partial/%s/%s", agent, run_id);
	if (git_reference_create(&ref, r->git, refname, &oid, 1,
	    "keeper: kept, not pushed") < 0)
		giterr(err, errlen, "cannot create the partial ref");
	else
		rc = 0;
	git_reference_free(ref);
	free(refname);
	repo__op_end(r);
	return rc;
}

int
repo_partial(struct repo *r, const struct repo_commit_info *ci,
    struct repo_result *res, char *err, size_t errlen)
{
	int rc;

	memset(res, 0, sizeof(*res));
	if (repo__op_begin(r, "partial", err, errlen) == -1)
		return -1;
	if (r->recovered)
		res->flags |= REPO_F_STALE_LOCK;
	rc = repo__partial_locked(r, ci, res, err, errlen);
	repo__op_end(r);
	return rc;
}
