/*
 * repo: the tenant git repository through libgit2 (SPEC §7).
 *
 * Serialisation. Every operation that may write runs between op_begin()
 * and op_end(): a pthread mutex for the threads sharing this handle, and a
 * flock(2) on .git/keeper-op for every other handle and process on the
 * same repository. While it runs, .git/keeper-op holds "PID op"; a clean
 * end empties it. Finding it non-empty with the flock free therefore means
 * a keeper died in the middle of an operation (kill -9, power cut), and the
 * lock files it may have left (index.lock, HEAD.lock, the branch's
 * .lock, packed-refs.lock) are removed, but only those no live process has
 * open. A lock without that evidence belongs to someone else (a git
 * command running now, or one that crashed): keeper never removes it and
 * reports it instead.
 *
 * Write order follows git: objects first, then the index, then the ref.
 * A crash at any point leaves a repository that fsck accepts; at worst the
 * index already holds what the next commit records.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "proc.h"
#include "repo.h"
#include "utf8.h"
#include "util.h"

struct repo {
	git_repository	*git;
	char		*workdir;	/* with a trailing slash */
	char		*gitdir;	/* with a trailing slash */
	pthread_mutex_t	 mu;
	int		 opfd;		/* .git/keeper-op while an op runs */
	int		 push_pending;
	int		 recovered;	/* op_begin removed stale locks */
};

/* Tests set this to act between the two looks at a file being staged. */
static void (*repo__stage_hook)(const char *path);

/* ---- errors ---- */

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "what: libgit2's message" */
static void
giterr(char *err, size_t errlen, const char *what)
{
	const git_error *e = git_error_last();

	seterr(err, errlen, "%s: %s", what,
	    e != NULL && e->message != NULL ? e->message : "unknown error");
}

static void
setnote(char *note, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(note, len, fmt, ap);
	va_end(ap);
}

/* ---- set-up ---- */

int
repo_init(void)
{
	return git_libgit2_init() < 0 ? -1 : 0;
}

void
repo_shutdown(void)
{
	git_libgit2_shutdown();
}

int
repo_gitops_enabled(void)
{
	const char *v = getenv("KEEPER_GITOPS");

	if (v == NULL || *v == '\0')
		v = getenv("WB_GITOPS");
	return v != NULL && strcmp(v, "1") == 0;
}

int
repo_gitpush_enabled(void)
{
	const char *v = getenv("KEEPER_GITPUSH");

	return v != NULL && strcmp(v, "1") == 0;
}

struct repo *
repo_open(const char *path, char *err, size_t errlen)
{
	git_repository *git = NULL;
	struct repo *r;
	struct stat st;

	if (path == NULL || stat(path, &st) == -1) {
		seterr(err, errlen, "cannot open repository '%s': %s",
		    path ? path : "", strerror(errno));
		return NULL;
	}
	if (repo_init() == -1) {
		giterr(err, errlen, "libgit2");
		return NULL;
	}
	if (git_repository_open_ext(&git, path, 0, NULL) < 0) {
		seterr(err, errlen, "'%s' is not a git repository", path);
		git_libgit2_shutdown();
		return NULL;
	}
	if (git_repository_is_bare(git)) {
		seterr(err, errlen, "'%s' is a bare repository: keeper needs "
		    "a work tree", path);
		git_repository_free(git);
		git_libgit2_shutdown();
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->git = git;
	r->workdir = xstrdup(git_repository_workdir(git));
	r->gitdir = xstrdup(git_repository_path(git));
	r->opfd = -1;
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void
repo_close(struct repo *r)
{
	if (r == NULL)
		return;
	git_repository_free(r->git);
	pthread_mutex_destroy(&r->mu);
	free(r->workdir);
	free(r->gitdir);
	free(r);
	git_libgit2_shutdown();
}

const char *
repo_workdir(const struct repo *r)
{
	return r->workdir;
}

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

/* ---- locks ---- */

static int
holds(pid_t pid, void *want)
{
	return proc_has_open(pid, want);
}

/* Whether any live process has path open (a lock being written).
 * Processes we may not look into count as not holding it, which is why
 * this is only asked after a keeper of ours died mid-operation. */
static int
file_open_by_anyone(const char *path)
{
	struct stat want;

	if (stat(path, &want) == -1)
		return 0;
	/* -1: /proc cannot be read, so we cannot tell: assume someone has
	 * it. */
	return proc_each(holds, &want) != 0;
}

/* The lock files a keeper operation may take. */
static size_t
lock_paths(struct repo *r, char **out, size_t max)
{
	static const char *fixed[] = { "index.lock", "HEAD.lock",
	    "packed-refs.lock" };
	size_t n = 0;
	char *head, *p;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && n < max;
	    i++)
		out[n++] = xasprintf("%s%s", r->gitdir, fixed[i]);
	/* HEAD's branch, read as text: the ref machinery would want it. */
	p = xasprintf("%sHEAD", r->gitdir);
	head = util_read_file(p, NULL);
	free(p);
	if (head != NULL && strncmp(head, "ref: ", 5) == 0 && n < max) {
		head[strcspn(head, "\r\n")] = '\0';
		if (strstr(head, "..") == NULL)
			out[n++] = xasprintf("%s%s.lock", r->gitdir, head + 5);
	}
	free(head);
	return n;
}

static void
recover_stale(struct repo *r)
{
	char *paths[8];
	size_t n = lock_paths(r, paths, 8);

	for (size_t i = 0; i < n; i++) {
		if (access(paths[i], F_OK) == 0 &&
		    !file_open_by_anyone(paths[i]) && unlink(paths[i]) == 0)
			r->recovered = 1;
		free(paths[i]);
	}
}

/* A foreign index.lock: a clear error instead of libgit2's half-way one. */
static int
check_index_lock(struct repo *r, char *err, size_t errlen)
{
	char *p = xasprintf("%sindex.lock", r->gitdir);
	struct stat st;
	int rc = 0;

	if (lstat(p, &st) == 0) {
		long age = (long)(time(NULL) - st.st_mtime);

		seterr(err, errlen, "'%s' exists (%lds old): another git "
		    "process is running or crashed; keeper leaves it alone, "
		    "remove it if no git process is running", p,
		    age < 0 ? 0 : age);
		rc = -1;
	}
	free(p);
	return rc;
}

static int
op_begin(struct repo *r, const char *what, char *err, size_t errlen)
{
	char *p, buf[64];
	ssize_t got;
	int fd;

	pthread_mutex_lock(&r->mu);
	r->recovered = 0;
	p = xasprintf("%skeeper-op", r->gitdir);
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		seterr(err, errlen, "cannot open '%s': %s", p,
		    strerror(errno));
		free(p);
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	free(p);
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			seterr(err, errlen, "cannot lock the repository: %s",
			    strerror(errno));
			close(fd);
			pthread_mutex_unlock(&r->mu);
			return -1;
		}
	}
	/* Holding the flock: leftover content is a dead keeper's op. */
	got = pread(fd, buf, sizeof(buf) - 1, 0);
	if (got > 0)
		recover_stale(r);
	snprintf(buf, sizeof(buf), "%ld %s\n", (long)getpid(), what);
	if (ftruncate(fd, 0) == -1 ||
	    pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		seterr(err, errlen, "cannot write the repository's op marker: "
		    "%s", strerror(errno));
		close(fd);
		pthread_mutex_unlock(&r->mu);
		return -1;
	}
	r->opfd = fd;
	git_error_clear();
	return 0;
}

static void
op_end(struct repo *r)
{
	if (r->opfd != -1) {
		if (ftruncate(r->opfd, 0) == -1) {
			/* The next op then cleans locks that no one holds:
			 * harmless. */
		}
		close(r->opfd);		/* releases the flock */
		r->opfd = -1;
	}
	pthread_mutex_unlock(&r->mu);
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
	return sb_detach(&msg);
}

/* Author and committer: the member's :AUTHOR: "Name <mail>", else
 * NAME <NAME@DOMAIN>. */
static int
make_sig(git_signature **out, const struct repo_commit_info *ci,
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

static int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int64_t
mtime_ms(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec /
	    1000000;
}

/* HEAD's commit (NULL when unborn) and whether it is detached. */
static int
head_commit(struct repo *r, git_commit **out, int *flags, char *err,
    size_t errlen)
{
	git_oid oid;
	int rc;

	*out = NULL;
	rc = git_reference_name_to_id(&oid, r->git, "HEAD");
	if (rc == GIT_ENOTFOUND) {
		if (flags)
			*flags |= REPO_F_FIRST;
		return 0;
	}
	if (rc < 0 || git_commit_lookup(out, r->git, &oid) < 0) {
		giterr(err, errlen, "cannot read HEAD");
		return -1;
	}
	if (flags && git_repository_head_detached(r->git) == 1)
		*flags |= REPO_F_DETACHED;
	return 0;
}

static int
check_state(struct repo *r, char *err, size_t errlen)
{
	int st = git_repository_state(r->git);

	if (st != GIT_REPOSITORY_STATE_NONE) {
		seterr(err, errlen, "a merge, rebase or similar is in progress "
		    "in '%s': keeper does not commit until it is finished",
		    r->workdir);
		return -1;
	}
	return 0;
}

/* The work tree's status, untracked files included, submodules not. */
static int
status_list(struct repo *r, git_status_show_t show, git_status_list **sl,
    char *err, size_t errlen)
{
	git_status_options so;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = show;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
	    GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	    GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(sl, r->git, &so) < 0) {
		giterr(err, errlen, "cannot read the work tree's status");
		return -1;
	}
	return 0;
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

	if (status_list(r, GIT_STATUS_SHOW_WORKDIR_ONLY, &sl, err,
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
	int rc;

	pthread_mutex_lock(&r->mu);
	rc = status_list(r, GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &sl, err,
	    sizeof(err)) == 0;
	if (rc) {
		rc = git_status_list_entrycount(sl) == 0;
		git_status_list_free(sl);
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
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
	if (op_begin(r, "commit", err, errlen) == -1)
		return -1;
	if (r->recovered)
		res->flags |= REPO_F_STALE_LOCK;
	if (check_state(r, err, errlen) == -1 ||
	    check_index_lock(r, err, errlen) == -1)
		goto done;
	if (git_repository_index(&idx, r->git) < 0 ||
	    git_index_read(idx, 0) < 0) {
		giterr(err, errlen, "cannot read the index");
		goto done;
	}
	if (head_commit(r, &parent, &res->flags, err, errlen) == -1)
		goto done;
	if ((changed = stage_changes(r, idx, ci, res, err, errlen)) < 0)
		goto fail_index;
	if (git_index_has_conflicts(idx)) {
		seterr(err, errlen, "the index has unresolved conflicts");
		goto fail_index;
	}
	if (git_index_write_tree(&tree_oid, idx) < 0) {
		giterr(err, errlen, "cannot write the tree");
		goto fail_index;
	}
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
		rc = 0;
		goto done;
	}
	if (git_index_write(idx) < 0) {
		giterr(err, errlen, "cannot write the index");
		goto done;
	}
	if (git_tree_lookup(&tree, r->git, &tree_oid) < 0) {
		giterr(err, errlen, "cannot read the new tree");
		goto done;
	}
	if (make_sig(&sig, ci, ci->agent, err, errlen) == -1)
		goto done;
	msg = repo_message(ci);
	parents[0] = parent;
	if (git_commit_create(&oid, r->git, "HEAD", sig, sig, NULL, msg, tree,
	    parent ? 1 : 0, parents) < 0) {
		giterr(err, errlen, "cannot commit");
		goto done;
	}
	git_oid_tostr(res->id, sizeof(res->id), &oid);
	res->status = REPO_COMMITTED;
	setnote(res->note, sizeof(res->note), "committed %.12s: %zu file%s%s%s%s",
	    res->id, res->nfiles, res->nfiles == 1 ? "" : "s",
	    res->flags & REPO_F_FIRST ? ", first commit" : "",
	    res->flags & REPO_F_DETACHED ? ", on a detached HEAD" : "",
	    res->nskipped ? ", some files left: still being written" : "");
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
	op_end(r);
	return rc;
}

/* ---- partial ---- */

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
worktree_tree(struct repo *r, git_tree *base, git_oid *out, size_t *nfiles,
    char *err, size_t errlen)
{
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
	if (status_list(r, GIT_STATUS_SHOW_INDEX_AND_WORKDIR, &sl, err,
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
		if (S_ISDIR(st.st_mode)) {
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
repo_partial(struct repo *r, const struct repo_commit_info *ci,
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

	memset(res, 0, sizeof(*res));
	if (ci->agent == NULL || !valid_ref_part(ci->agent) ||
	    ci->run_id == NULL || !valid_ref_part(ci->run_id)) {
		seterr(err, errlen, "partial ref needs an agent name and a run "
		    "id made of [A-Za-z0-9._-]");
		return -1;
	}
	if (op_begin(r, "partial", err, errlen) == -1)
		return -1;
	if (r->recovered)
		res->flags |= REPO_F_STALE_LOCK;
	if (head_commit(r, &parent, &res->flags, err, errlen) == -1)
		goto done;
	if (parent != NULL && git_commit_tree(&base, parent) < 0) {
		giterr(err, errlen, "cannot read HEAD's tree");
		goto done;
	}
	if (worktree_tree(r, base, &tree_oid, &res->nfiles, err, errlen) == -1)
		goto done;
	if (base != NULL ? git_oid_equal(&tree_oid, git_tree_id(base)) :
	    res->nfiles == 0) {
		res->status = REPO_NO_CHANGE;
		setnote(res->note, sizeof(res->note), "no change");
		rc = 0;
		goto done;
	}
	if (git_tree_lookup(&tree, r->git, &tree_oid) < 0) {
		giterr(err, errlen, "cannot read the partial tree");
		goto done;
	}
	if (make_sig(&sig, ci, ci->agent, err, errlen) == -1)
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
	res->status = REPO_COMMITTED;
	setnote(res->note, sizeof(res->note), "partial %.12s on %s: %zu file%s",
	    res->id, refname, res->nfiles, res->nfiles == 1 ? "" : "s");
	rc = 0;
done:
	free(refname);
	free(msg);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(parent);
	op_end(r);
	return rc;
}

/* ---- gitops ---- */

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

	if (op_begin(r, "push", err, errlen) == -1)
		return -1;
	rc = push_locked(r, err, errlen);
	op_end(r);
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
	if (op_begin(r, "integrate", err, errlen) == -1)
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
	if (check_state(r, err, errlen) == -1)
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
		if (check_index_lock(r, err, errlen) == -1)
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

		if (check_index_lock(r, err, errlen) == -1)
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
			if (make_sig(&sig, &ci, "keeper", err, errlen) == -1)
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
	op_end(r);
	return rc;
}

/* ---- changes feed ---- */

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
