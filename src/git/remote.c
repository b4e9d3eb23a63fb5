/*
 * remote: gitops (SPEC §7). repo_integrate() fetches origin and brings
 * its branch in (fast-forward, else a clean merge commit, else nothing:
 * local work is kept and the conflict reported); repo_push() pushes
 * HEAD's branch, never forced, and remembers a rejection so the next
 * integration retries it. Both under the operation lock (repo.c); the
 * KEEPER_GITOPS and KEEPER_GITPUSH switches are read here too.
 * Neighbours: repo-int.h, commit.c (the merge's author).
 */
#include <stdlib.h>
#include <string.h>

#include "repo-int.h"
#include "repo.h"
#include "util.h"

int
repo_push_pending(const struct repo *r)
{
	return r->push_pending;
}

const char *
repo_integration_name(enum repo_integration w)
{
	switch (w) {
	case REPO_INT_UP_TO_DATE:	return "up to date";
	case REPO_INT_FAST_FORWARD:	return "fast-forward";
	case REPO_INT_MERGED:		return "merged";
	case REPO_INT_CONFLICT:		return "conflict";
	case REPO_INT_SKIPPED:		return "skipped";
	}
	return "";
}

static int
cred_cb(git_credential **out, const char *url, const char *user,
    unsigned int allowed, void *payload)
{
	int *tries = payload;

	(void)url;
	/* One try each; libgit2 asks again after a refusal. */
	if ((*tries)++ > 0)
		return GIT_PASSTHROUGH;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out,
		    user ? user : "git");
	if (allowed & GIT_CREDENTIAL_DEFAULT)
		return git_credential_default_new(out);
	return GIT_PASSTHROUGH;
}

/* origin as an anonymous remote built from remote.origin.url. libgit2
 * 1.5's named lookup scans url.*.insteadOf with a regex that leaks on every
 * call (fixed upstream in libgit2 PR 6382); keeper does without insteadOf
 * and uses the standard fetch refspec. 1 when there is no origin. */
static int
origin_remote(struct repo *r, git_remote **out, char *err, size_t errlen)
{
	git_remote_create_options ro;
	git_config *cfg = NULL;
	git_buf url = GIT_BUF_INIT;
	int rc;

	*out = NULL;
	if (git_repository_config_snapshot(&cfg, r->git) < 0) {
		giterr(err, errlen, "cannot read the repository's config");
		return -1;
	}
	if (git_config_get_string_buf(&url, cfg, "remote.origin.url") < 0) {
		git_config_free(cfg);
		git_error_clear();
		return 1;
	}
	git_config_free(cfg);
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = r->git;
	ro.fetchspec = "+refs/heads/*:refs/remotes/origin/*";
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
	rc = git_remote_create_with_opts(out, url.ptr, &ro);
	git_buf_dispose(&url);
	if (rc < 0) {
		giterr(err, errlen, "bad url for 'origin'");
		return -1;
	}
	return 0;
}

/* The remote-tracking ref for branch head: refs/remotes/origin/ and the
 * short name of branch.NAME.merge, else of the branch itself. */
static char *
upstream_name(struct repo *r, git_reference *head)
{
	git_config *cfg = NULL;
	git_buf merge = GIT_BUF_INIT;
	const char *shortname = git_reference_shorthand(head), *m;
	char *key, *name;

	key = xasprintf("branch.%s.merge", shortname);
	if (git_repository_config_snapshot(&cfg, r->git) == 0 &&
	    git_config_get_string_buf(&merge, cfg, key) == 0 &&
	    strncmp(merge.ptr, "refs/heads/", 11) == 0)
		m = merge.ptr + 11;
	else
		m = shortname;
	git_error_clear();
	name = xasprintf("refs/remotes/origin/%s", m);
	git_buf_dispose(&merge);
	git_config_free(cfg);
	free(key);
	return name;
}

struct push_state {
	int	 tries;
	char	 status[200];	/* the remote's refusal, "" when none */
};

static int
push_ref_cb(const char *refname, const char *status, void *payload)
{
	struct push_state *ps = payload;

	if (status != NULL)
		snprintf(ps->status, sizeof(ps->status), "%s: %s", refname,
		    status);
	return 0;
}

/* Push HEAD's branch; the caller holds the op lock. */
static int
push_locked(struct repo *r, char *err, size_t errlen)
{
	git_push_options po;
	git_remote *remote = NULL;
	git_reference *head = NULL;
	struct push_state ps = { 0 };
	git_strarray specs;
	char *spec = NULL;
	int rc = -1, c;

	if (git_repository_head(&head, r->git) < 0 ||
	    !git_reference_is_branch(head)) {
		seterr(err, errlen, "nothing to push: HEAD is not on a branch");
		goto done;
	}
	if ((c = origin_remote(r, &remote, err, errlen)) != 0) {
		if (c > 0)
			seterr(err, errlen, "no remote 'origin' to push to");
		goto done;
	}
	spec = xasprintf("%s:%s", git_reference_name(head),
	    git_reference_name(head));
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	specs.strings = &spec;
	specs.count = 1;
	po.callbacks.credentials = cred_cb;
	po.callbacks.push_update_reference = push_ref_cb;
	po.callbacks.payload = &ps;
	if (git_remote_push(remote, &specs, &po) < 0) {
		giterr(err, errlen, "push to 'origin' failed (kept: retried "
		    "after the next integration)");
		r->push_pending = 1;
		goto done;
	}
	if (ps.status[0] != '\0') {
		seterr(err, errlen, "push to 'origin' rejected, %s (kept: "
		    "retried after the next integration)", ps.status);
		r->push_pending = 1;
		goto done;
	}
	r->push_pending = 0;
	rc = 0;
done:
	free(spec);
	git_reference_free(head);
	git_remote_free(remote);
	return rc;
}

int
repo_push(struct repo *r, char *err, size_t errlen)
{
	int rc;

	if (repo__op_begin(r, "push", err, errlen) == -1)
		return -1;
	rc = push_locked(r, err, errlen);
	repo__op_end(r);
	return rc;
}

/* Check out target over HEAD, refusing to overwrite anything local. */
static int
checkout_safe(struct repo *r, git_object *target, git_tree *baseline,
    char *note, size_t notelen, char *err, size_t errlen)
{
	git_checkout_options co;
	int rc;

	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_SAFE;
	co.baseline = baseline;
	rc = git_checkout_tree(r->git, target, &co);
	if (rc == GIT_ECONFLICT || rc == GIT_EMERGECONFLICT) {
		const git_error *e = git_error_last();

		setnote(note, notelen, "skipped: local changes would be "
		    "overwritten (%s)", e && e->message ? e->message : "");
		return 1;
	}
	if (rc < 0) {
		giterr(err, errlen, "cannot check out origin's work");
		return -1;
	}
	return 0;
}

int
repo_integrate(struct repo *r, const char *domain, int push,
    struct repo_integrate_result *ir, char *err, size_t errlen)
{
	git_fetch_options fo;
	git_remote *remote = NULL;
	git_reference *head = NULL, *up = NULL, *moved = NULL;
	git_annotated_commit *theirs = NULL;
	git_commit *ours = NULL, *their_commit = NULL;
	git_tree *our_tree = NULL, *their_tree = NULL, *base_tree = NULL,
	    *merged_tree = NULL;
	git_commit *base_commit = NULL;
	git_index *midx = NULL;
	git_signature *sig = NULL;
	git_merge_analysis_t an;
	git_merge_preference_t pref;
	git_oid base_oid, tree_oid, oid;
	char *upname = NULL, *msg = NULL;
	int tries = 0, rc = -1, c;

	memset(ir, 0, sizeof(*ir));
	if (repo__op_begin(r, "integrate", err, errlen) == -1)
		return -1;
	if ((c = origin_remote(r, &remote, err, errlen)) != 0) {
		if (c > 0) {
			ir->what = REPO_INT_SKIPPED;
			setnote(ir->note, sizeof(ir->note), "no remote "
			    "'origin'");
			rc = 0;
		}
		goto done;
	}
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.payload = &tries;
	if (git_remote_fetch(remote, NULL, &fo, "keeper: fetch") < 0) {
		giterr(err, errlen, "fetch from 'origin' failed");
		goto done;
	}
	if (repo__check_state(r, err, errlen) == -1)
		goto done;
	c = git_repository_head(&head, r->git);
	if (c == GIT_EUNBORNBRANCH || c == GIT_ENOTFOUND ||
	    (c == 0 && !git_reference_is_branch(head))) {
		ir->what = REPO_INT_SKIPPED;
		setnote(ir->note, sizeof(ir->note), "skipped: HEAD is %s",
		    c == 0 ? "detached" : "unborn");
		rc = 0;
		goto done;
	}
	if (c < 0) {
		giterr(err, errlen, "cannot read HEAD");
		goto done;
	}
	upname = upstream_name(r, head);
	if (git_reference_lookup(&up, r->git, upname) < 0) {
		ir->what = REPO_INT_SKIPPED;
		setnote(ir->note, sizeof(ir->note), "skipped: no '%s' on "
		    "origin", upname + strlen("refs/remotes/origin/"));
		rc = 0;
		goto done;
	}
	git_error_clear();
	if (git_annotated_commit_from_ref(&theirs, r->git, up) < 0 ||
	    git_commit_lookup(&their_commit, r->git,
	    git_annotated_commit_id(theirs)) < 0 ||
	    git_commit_lookup(&ours, r->git, git_reference_target(head)) < 0) {
		giterr(err, errlen, "cannot read the branches");
		goto done;
	}
	if (git_merge_analysis(&an, &pref, r->git,
	    (const git_annotated_commit **)&theirs, 1) < 0) {
		giterr(err, errlen, "cannot compare with origin");
		goto done;
	}
	if (git_commit_tree(&our_tree, ours) < 0 ||
	    git_commit_tree(&their_tree, their_commit) < 0) {
		giterr(err, errlen, "cannot read the trees");
		goto done;
	}
	if (an & GIT_MERGE_ANALYSIS_UP_TO_DATE) {
		ir->what = REPO_INT_UP_TO_DATE;
		setnote(ir->note, sizeof(ir->note), "up to date");
	} else if (an & GIT_MERGE_ANALYSIS_FASTFORWARD) {
		if (repo__check_index_lock(r, err, errlen) == -1)
			goto done;
		c = checkout_safe(r, (git_object *)their_tree, our_tree,
		    ir->note, sizeof(ir->note), err, errlen);
		if (c < 0)
			goto done;
		if (c > 0) {
			ir->what = REPO_INT_CONFLICT;
		} else {
			if (git_reference_set_target(&moved, head,
			    git_commit_id(their_commit),
			    "keeper: fast-forward to origin") < 0) {
				giterr(err, errlen, "cannot move the branch");
				goto done;
			}
			ir->what = REPO_INT_FAST_FORWARD;
			setnote(ir->note, sizeof(ir->note), "fast-forward to "
			    "%.12s", git_oid_tostr_s(git_commit_id(
			    their_commit)));
		}
	} else {
		git_merge_options mo;
		git_commit *parents[2];

		if (repo__check_index_lock(r, err, errlen) == -1)
			goto done;
		if (git_merge_base(&base_oid, r->git, git_commit_id(ours),
		    git_commit_id(their_commit)) < 0 ||
		    git_commit_lookup(&base_commit, r->git, &base_oid) < 0 ||
		    git_commit_tree(&base_tree, base_commit) < 0) {
			giterr(err, errlen, "no merge base with origin");
			goto done;
		}
		git_merge_options_init(&mo, GIT_MERGE_OPTIONS_VERSION);
		mo.flags |= GIT_MERGE_FAIL_ON_CONFLICT;
		c = git_merge_trees(&midx, r->git, base_tree, our_tree,
		    their_tree, &mo);
		if (c == GIT_EMERGECONFLICT || (c == 0 &&
		    git_index_has_conflicts(midx))) {
			ir->what = REPO_INT_CONFLICT;
			setnote(ir->note, sizeof(ir->note), "skipped: origin "
			    "conflicts with local commits; local work kept, "
			    "resolve by hand");
			rc = 0;
			goto done;
		}
		if (c < 0 || git_index_write_tree_to(&tree_oid, midx,
		    r->git) < 0 ||
		    git_tree_lookup(&merged_tree, r->git, &tree_oid) < 0) {
			giterr(err, errlen, "cannot merge origin");
			goto done;
		}
		c = checkout_safe(r, (git_object *)merged_tree, our_tree,
		    ir->note, sizeof(ir->note), err, errlen);
		if (c < 0)
			goto done;
		if (c > 0) {
			ir->what = REPO_INT_CONFLICT;
			rc = 0;
			goto done;
		}
		{
			struct repo_commit_info ci = { 0 };

			ci.agent = "keeper";
			ci.domain = domain;
			if (repo__make_sig(&sig, &ci, "keeper", err,
			    errlen) == -1)
				goto done;
		}
		msg = xasprintf("Merge %s into %s\n\nKeeper-Agent: keeper\n",
		    git_reference_shorthand(up),
		    git_reference_shorthand(head));
		parents[0] = ours;
		parents[1] = their_commit;
		if (git_commit_create(&oid, r->git, "HEAD", sig, sig, NULL, msg,
		    merged_tree, 2, (const git_commit **)parents) < 0) {
			giterr(err, errlen, "cannot commit the merge");
			goto done;
		}
		ir->what = REPO_INT_MERGED;
		setnote(ir->note, sizeof(ir->note), "merged origin as %.12s",
		    git_oid_tostr_s(&oid));
	}
	rc = 0;
done:
	if (rc == 0 && git_reference_name_to_id(&oid, r->git, "HEAD") == 0)
		git_oid_tostr(ir->id, sizeof(ir->id), &oid);
	if (rc == 0 && push && r->push_pending &&
	    ir->what != REPO_INT_CONFLICT) {
		char perr[256];

		if (push_locked(r, perr, sizeof(perr)) == 0)
			ir->pushed = 1;
		else
			setnote(ir->note, sizeof(ir->note), "%s; %s",
			    repo_integration_name(ir->what), perr);
	}
	free(msg);
	free(upname);
	git_signature_free(sig);
	git_index_free(midx);
	git_tree_free(merged_tree);
	git_tree_free(base_tree);
	git_commit_free(base_commit);
	git_tree_free(our_tree);
	git_tree_free(their_tree);
	git_commit_free(ours);
	git_commit_free(their_commit);
	git_annotated_commit_free(theirs);
	git_reference_free(moved);
	git_reference_free(up);
	git_reference_free(head);
	git_remote_free(remote);
	repo__op_end(r);
	return rc;
}
