/*
 * commit: a done run's work as a commit on HEAD (SPEC §7). The message is
 * pure (repo_message(): the subject cut to REPO_SUBJECT_COLS columns, the
 * result's body bounded, Keeper-* trailers); the author is the member's
 * :AUTHOR: or NAME@DOMAIN. repo_commit() stages what changed, leaving
 * what a live writer is still writing, and commits it under the operation
 * lock (repo.c). Neighbours: repo-int.h; partial.c records a failed run's
 * work the same way without touching HEAD.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "repo-int.h"
#include "repo.h"
#include "utf8.h"
#include "util.h"

void (*repo__stage_hook)(const char *path);
void (*repo__commit_hook)(const char *moment);

/* A moment of repo_commit() a test may act at (repo-int.h). */
static void
moment(const char *name)
{
	if (repo__commit_hook != NULL)
		repo__commit_hook(name);
}

/* ---- messages ---- */

/* Trim trailing white space from the line [s, s+*len). */
static void
rtrim(const char *s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		(*len)--;
}

char *
repo_message(const struct repo_commit_info *ci)
{
	struct sb subj = { 0 }, msg = { 0 };
	const char *res = ci->result ? ci->result : "";
	const char *line, *rest, *nl;
	size_t linelen, restlen;
	char *cut;
	int has_state = ci->state != NULL && *ci->state != '\0';
	int has_outcome = ci->outcome != NULL && *ci->outcome != '\0';

	/* The first non-blank line is the subject's, the rest the body. */
	while (*res != '\0' && isspace((unsigned char)*res))
		res++;
	line = res;
	nl = strchr(line, '\n');
	linelen = nl ? (size_t)(nl - line) : strlen(line);
	rest = nl ? nl + 1 : line + linelen;
	rtrim(line, &linelen);

	sb_addf(&subj, "%s:", ci->agent);
	if (has_state)
		sb_addf(&subj, " %s %d/%d", ci->state, ci->hits, ci->repeat);
	if (has_outcome || linelen > 0) {
		sb_adds(&subj, has_state ? " \xe2\x80\x94 " : " ");
		if (has_outcome)
			sb_addf(&subj, "%s%s", ci->outcome,
			    linelen > 0 ? ": " : "");
		sb_add(&subj, line, linelen);
	}
	cut = utf8_cut_cols(subj.buf, subj.len, REPO_SUBJECT_COLS);
	sb_adds(&msg, cut);
	sb_adds(&msg, "\n\n");
	free(cut);
	sb_release(&subj);

	/* Body: the rest of the result without surrounding blank lines,
	 * bounded on a UTF-8 boundary. */
	while (*rest != '\0' && (*rest == '\n' || *rest == '\r' ||
	    *rest == ' ' || *rest == '\t')) {
		/* Keep the indentation of the first body line. */
		const char *e = rest;
		while (*e == ' ' || *e == '\t')
			e++;
		if (*e != '\n' && *e != '\r')
			break;
		rest = e + 1;
	}
	restlen = strlen(rest);
	rtrim(rest, &restlen);
	if (restlen > 0) {
		size_t keep = utf8_cut(rest, restlen, REPO_BODY_MAX);

		utf8_clean_sb(&msg, rest, keep, UTF8_NOCTRL);
		if (keep < restlen)
			sb_addf(&msg, "\n[... truncated: %zu more bytes]",
			    restlen - keep);
		sb_adds(&msg, "\n\n");
	}
	sb_addf(&msg, "Keeper-Agent: %s\n", ci->agent);
	if (has_state)
		sb_addf(&msg, "Keeper-State: %s\n", ci->state);
	sb_addf(&msg, "Keeper-Run: %s\n", ci->run_id ? ci->run_id : "");
	if (has_outcome)
		sb_addf(&msg, "Keeper-Outcome: %s\n", ci->outcome);
	if (ci->lease != 0)
		sb_addf(&msg, "Keeper-Lease: %llx\n", (unsigned long long)
		    ci->lease);
	return sb_detach(&msg);
}

/* Author and committer: the member's :AUTHOR: "Name <mail>", else
 * NAME <NAME@DOMAIN>. */
int
repo__make_sig(git_signature **out, const struct repo_commit_info *ci,
    const char *who, char *err, size_t errlen)
{
	const char *domain = ci->domain && *ci->domain ? ci->domain :
	    REPO_DEFAULT_DOMAIN;
	char *name = NULL, *mail = NULL;
	int64_t ms = ci->when_ms ? ci->when_ms : util_now_ms();
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	int rc, off = 0;

	if (ci->author != NULL && *ci->author != '\0') {
		const char *lt = strchr(ci->author, '<');
		const char *gt = lt ? strchr(lt, '>') : NULL;

		if (lt != NULL && gt != NULL) {
			size_t nl = (size_t)(lt - ci->author);

			while (nl > 0 && isspace((unsigned char)
			    ci->author[nl - 1]))
				nl--;
			name = xstrndup(ci->author, nl);
			mail = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		} else
			name = xstrdup(ci->author);
	}
	if (name == NULL || *name == '\0') {
		free(name);
		name = xstrdup(who);
	}
	if (mail == NULL || *mail == '\0') {
		free(mail);
		mail = xasprintf("%s@%s", who, domain);
	}
	if (localtime_r(&secs, &tm) != NULL)
		off = (int)(tm.tm_gmtoff / 60);
	rc = git_signature_new(out, name, mail, (git_time_t)secs, off);
	if (rc < 0)
		giterr(err, errlen, "bad author");
	free(name);
	free(mail);
	return rc < 0 ? -1 : 0;
}

/* ---- commit ---- */

static int64_t
mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec /
	    1000000;
}

/* Stage the work tree's changes into idx. Returns the number of index
 * changes, or -1. */
static int
stage_changes(struct repo *r, git_index *idx,
    const struct repo_commit_info *ci, struct repo_result *res, char *err,
    size_t errlen)
{
	git_status_list *sl = NULL;
	int64_t now = ci->when_ms ? ci->when_ms : util_now_ms();
	size_t n;
	int changed = 0;

	if (repo__status_list(r, GIT_STATUS_SHOW_WORKDIR_ONLY, &sl, err,
	    errlen) == -1)
		return -1;
	n = git_status_list_entrycount(sl);
	for (size_t i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(sl, i);
		const git_diff_delta *d = e->index_to_workdir;
		const git_index_entry *cur;
		git_index_entry old;
		char *full, *oldpath = NULL;
		const char *path;
		struct stat st1, st2;
		int had;

		if (d == NULL)
			continue;
		path = d->new_file.path ? d->new_file.path : d->old_file.path;
		if (e->status & GIT_STATUS_WT_UNREADABLE) {
			res->nskipped++;
			res->flags |= REPO_F_SKIPPED;
			continue;
		}
		if (repo__left_out(r, ci, path, NULL, res))
			continue;
		full = xasprintf("%s%s", r->workdir, path);
		if (e->status & GIT_STATUS_WT_DELETED ||
		    lstat(full, &st1) == -1) {
			free(full);
			if (git_index_remove_bypath(idx, path) < 0) {
				giterr(err, errlen, "cannot unstage a deleted "
				    "file");
				git_status_list_free(sl);
				return -1;
			}
			changed++;
			res->nfiles++;
			continue;
		}
		if (repo__left_out(r, ci, path, &st1, res)) {
			/* Too big: it stays in the work tree, and the index
			 * keeps what it had. */
			free(full);
			continue;
		}
		if (S_ISDIR(st1.st_mode) || (ci->settle_ms > 0 &&
		    mtime_ms(&st1) > now - ci->settle_ms)) {
			/* A nested repository, or a file another live run
			 * touched too recently to be known complete. */
			free(full);
			res->nskipped++;
			res->flags |= REPO_F_SKIPPED;
			continue;
		}
		cur = git_index_get_bypath(idx, path, 0);
		if ((had = cur != NULL)) {
			old = *cur;
			oldpath = xstrdup(cur->path);
			old.path = oldpath;
		}
		if (git_index_add_bypath(idx, path) < 0) {
			/* A writer truncated or replaced it under us: the
			 * same case as below, found by libgit2 first. */
			if (lstat(full, &st2) == -1 || !same_stat(&st1, &st2)) {
				git_error_clear();
				free(full);
				free(oldpath);
				res->nskipped++;
				res->flags |= REPO_F_SKIPPED;
				continue;
			}
			seterr(err, errlen, "cannot stage '%s': %s", path,
			    git_error_last() ? git_error_last()->message :
			    "unknown error");
			free(full);
			free(oldpath);
			git_status_list_free(sl);
			return -1;
		}
		if (repo__stage_hook != NULL)
			repo__stage_hook(full);
		/* Changed while we read it: a writer is mid-file. Leave the
		 * path as it was; the next commit takes it. */
		if (lstat(full, &st2) == -1 || !same_stat(&st1, &st2)) {
			int rc = had ? git_index_add(idx, &old) :
			    git_index_remove_bypath(idx, path);

			if (rc < 0) {
				giterr(err, errlen, "cannot unstage a file");
				free(full);
				free(oldpath);
				git_status_list_free(sl);
				return -1;
			}
			res->nskipped++;
			res->flags |= REPO_F_SKIPPED;
		} else {
			res->nfiles++;
		}
		changed++;
		free(full);
		free(oldpath);
	}
	git_status_list_free(sl);
	return changed;
}

/*
 * Most ticks change nothing. That is found out read-only, with no
 * operation lock (no marker write, no flock): a status of HEAD, index and
 * work tree that shows nothing. Racing another writer only shows one
 * state or the other, and a change missed is the next commit's.
 */
static int
unchanged(struct repo *r)
{
	git_status_list *sl;
	char err[64];
	size_t n, own = 0;
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = repo__status_list(r, GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &sl, err,
	    sizeof(err)) == 0;
	if (rc) {
		/* Keeper's own files (repo_keep_out()) are no change. */
		n = git_status_list_entrycount(sl);
		for (size_t i = 0; r->keep_out != NULL && i < n; i++) {
			const git_status_entry *e = git_status_byindex(sl, i);
			const git_diff_delta *d = e->index_to_workdir ?
			    e->index_to_workdir : e->head_to_index;
			const char *path = d == NULL ? NULL :
			    d->new_file.path ? d->new_file.path :
			    d->old_file.path;

			if (path != NULL && strncmp(path, r->keep_out,
			    strlen(r->keep_out)) == 0)
				own++;
		}
		rc = n == own;
		git_status_list_free(sl);
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/*
 * A commit on a detached HEAD is reachable from no branch: the next
 * `git checkout main` leaves it behind, and the agents' work with it,
 * without a word. Unless the crew asked for it (#+DETACHED: commit), the
 * run's work goes on its partial ref instead, as a failed run's would,
 * and stays in the work tree for the first commit once a branch is
 * checked out again. Under the operation lock, before anything is
 * staged.
 */
static int
keep_detached(struct repo *r, const struct repo_commit_info *ci,
    struct repo_result *res, char *err, size_t errlen)
{
	struct repo_commit_info kc = *ci;

	kc.outcome = "done";
	if (repo__partial_locked(r, &kc, res, err, errlen) == -1)
		return -1;
	res->flags |= REPO_F_DETACHED | REPO_F_REFUSED;
	if (res->status == REPO_COMMITTED) {
		res->status = REPO_KEPT;
		setnote(res->note, sizeof(res->note), "not committed: HEAD "
		    "is detached (check out a branch, or set #+DETACHED: "
		    "commit); the work is kept on %s", res->ref);
	} else
		setnote(res->note, sizeof(res->note), "no change");
	repo__note_left_out(ci, res, res->note, sizeof(res->note));
	return 0;
}

int
repo_commit(struct repo *r, const struct repo_commit_info *ci,
    struct repo_result *res, char *err, size_t errlen)
{
	git_index *idx = NULL;
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid tree_oid, oid;
	const git_commit *parents[1];
	char *msg = NULL;
	int rc = -1, changed;

	memset(res, 0, sizeof(*res));
	if (ci->agent == NULL || *ci->agent == '\0') {
		seterr(err, errlen, "commit needs an agent name");
		return -1;
	}
	if (unchanged(r)) {
		res->status = REPO_NO_CHANGE;
		setnote(res->note, sizeof(res->note), "no change");
		return 0;
	}
	if (repo__op_begin(r, "commit", err, errlen) == -1)
		return -1;
	if (r->recovered)
		res->flags |= REPO_F_STALE_LOCK;
	if (repo__check_state(r, err, errlen) == -1 ||
	    repo__check_index_lock(r, err, errlen) == -1)
		goto done;
	if (!ci->detached_commit && git_repository_head_detached(r->git) ==
	    1) {
		rc = keep_detached(r, ci, res, err, errlen);
		goto done;
	}
	moment("locked");
	if (git_repository_index(&idx, r->git) < 0 ||
	    git_index_read(idx, 0) < 0) {
		giterr(err, errlen, "cannot read the index");
		goto done;
	}
	if (repo__head_commit(r, &parent, &res->flags, err, errlen) == -1)
		goto done;
	if ((changed = stage_changes(r, idx, ci, res, err, errlen)) < 0)
		goto fail_index;
	moment("staged");
	if (git_index_has_conflicts(idx)) {
		seterr(err, errlen, "the index has unresolved conflicts");
		goto fail_index;
	}
	if (git_index_write_tree(&tree_oid, idx) < 0) {
		giterr(err, errlen, "cannot write the tree");
		goto fail_index;
	}
	moment("objects");
	if ((parent != NULL &&
	    git_oid_equal(&tree_oid, git_commit_tree_id(parent))) ||
	    (parent == NULL && git_index_entrycount(idx) == 0)) {
		/* Nothing to record. Keep the refreshed stat data. */
		if (changed > 0 && git_index_write(idx) < 0) {
			giterr(err, errlen, "cannot write the index");
			goto done;
		}
		res->status = REPO_NO_CHANGE;
		setnote(res->note, sizeof(res->note), "no change%s",
		    res->nskipped ? " (changed files left: still being "
		    "written)" : "");
		repo__note_left_out(ci, res, res->note, sizeof(res->note));
		rc = 0;
		goto done;
	}
	if (git_index_write(idx) < 0) {
		giterr(err, errlen, "cannot write the index");
		goto done;
	}
	moment("index");
	if (git_tree_lookup(&tree, r->git, &tree_oid) < 0) {
		giterr(err, errlen, "cannot read the new tree");
		goto done;
	}
	if (repo__make_sig(&sig, ci, ci->agent, err, errlen) == -1)
		goto done;
	msg = repo_message(ci);
	parents[0] = parent;
	if (git_commit_create(&oid, r->git, "HEAD", sig, sig, NULL, msg, tree,
	    parent ? 1 : 0, parents) < 0) {
		giterr(err, errlen, "cannot commit");
		goto done;
	}
	moment("ref");
	git_oid_tostr(res->id, sizeof(res->id), &oid);
	res->status = REPO_COMMITTED;
	setnote(res->note, sizeof(res->note),
	    "committed %.12s: %zu file%s%s%s%s", res->id, res->nfiles,
	    res->nfiles == 1 ? "" : "s",
	    res->flags & REPO_F_FIRST ? ", first commit" : "",
	    res->flags & REPO_F_DETACHED ? ", on a detached HEAD" : "",
	    res->nskipped ? ", some files left: still being written" : "");
	repo__note_left_out(ci, res, res->note, sizeof(res->note));
	rc = 0;
	goto done;

fail_index:
	/* Forget what we staged in memory: the file on disk is unchanged. */
	git_index_read(idx, 1);
done:
	free(msg);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(parent);
	git_index_free(idx);
	repo__op_end(r);
	return rc;
}
