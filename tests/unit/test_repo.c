/*
 * test_repo: repo.c against real repositories made in mkdtemp directories.
 * The git CLI sets scenes up and inspects the results; keeper's side is
 * libgit2 only. Includes repo-int.h to reach the stage hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repo-int.h"
#include "repo.h"
#include "util.h"

static char errbuf[512];

/* Run a shell command built from fmt; returns its exit status. */
static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Output of a shell command, trailing newlines removed; caller frees. */
static char *
out(const char *fmt, ...)
{
	char cmd[4096], buf[4096];
	struct sb sb = { 0 };
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&sb, buf, n);
	pclose(f);
	while (sb.len > 0 && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	return sb_detach(&sb);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static char *
mkrepo(void)
{
	char tmpl[] = "/tmp/keeper-repo-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	assert_int_equal(sh("git init -q -b main %s", d), 0);
	return xstrdup(d);
}

static void
rmrf(char *d)
{
	sh("rm -rf %s", d);
	free(d);
}

static struct repo_commit_info
info(const char *agent, const char *run, const char *result)
{
	struct repo_commit_info ci = { 0 };

	ci.agent = agent;
	ci.state = "wake_add";
	ci.hits = 1;
	ci.repeat = 3;
	ci.run_id = run;
	ci.result = result;
	return ci;
}

static int
count_commits(const char *d)
{
	char *s = out("git -C %s rev-list --count HEAD 2>/dev/null", d);
	int n = atoi(s);

	free(s);
	return n;
}

/* Commit one file on the git CLI as a human. */
static void
human_commit(const char *d, const char *name, const char *text)
{
	put(d, name, text);
	assert_int_equal(sh("cd %s && git add -A && git -c user.name=h "
	    "-c user.email=h@x commit -qm 'human %s'", d, name), 0);
}

/* d with a human commit of file a, opened. */
static struct repo *
open_seeded(const char *d)
{
	struct repo *r;

	human_commit(d, "a", "1\n");
	r = repo_open(d, errbuf, sizeof(errbuf));
	assert_non_null(r);
	return r;
}

/* A commit that must not fail; its status. */
static enum repo_status
commit_ok(struct repo *r, const struct repo_commit_info *ci,
    struct repo_result *res)
{
	assert_int_equal(repo_commit(r, ci, res, errbuf, sizeof(errbuf)), 0);
	return res->status;
}

static int
setup(void **state)
{
	(void)state;
	/* The CLI in tests must not read the developer's configuration. */
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("HOME", "/nonexistent", 1);
	setenv("TZ", "UTC", 1);
	repo_init();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	repo_shutdown();
	return 0;
}

/* ---- messages ---- */

static void
test_message(void **state)
{
	struct repo_commit_info ci = info("wren", "r42",
	    "\n  wrote the intro  \nsecond line\n\nthird\n");
	char *m;

	(void)state;
	m = repo_message(&ci);
	assert_string_equal(m, "wren: wake_add 1/3 \xe2\x80\x94 wrote the intro"
	    "\n\nsecond line\n\nthird\n\nKeeper-Agent: wren\n"
	    "Keeper-State: wake_add\nKeeper-Run: r42\n");
	free(m);

	ci.result = "";
	m = repo_message(&ci);
	assert_string_equal(m, "wren: wake_add 1/3\n\nKeeper-Agent: wren\n"
	    "Keeper-State: wake_add\nKeeper-Run: r42\n");
	free(m);

	ci.state = NULL;
	ci.result = "hello";
	ci.outcome = "killed";
	m = repo_message(&ci);
	assert_string_equal(m, "wren: killed: hello\n\nKeeper-Agent: wren\n"
	    "Keeper-Run: r42\nKeeper-Outcome: killed\n");
	free(m);

	/* SPEC §12: the lease the keeper held, in hex as etcd shows it. */
	ci.outcome = NULL;
	ci.lease = 0x694d8d1f2a3b4c5dLL;
	m = repo_message(&ci);
	assert_string_equal(m, "wren: hello\n\nKeeper-Agent: wren\n"
	    "Keeper-Run: r42\nKeeper-Lease: 694d8d1f2a3b4c5d\n");
	free(m);
}

static void
test_body_bounded(void **state)
{
	struct sb big = { 0 };
	struct repo_commit_info ci;
	char *m;

	(void)state;
	sb_adds(&big, "subject\n");
	for (int i = 0; i < 1000; i++)
		sb_adds(&big, "0123456789");
	ci = info("a", "r", big.buf);
	m = repo_message(&ci);
	assert_non_null(strstr(m, "[... truncated: 5904 more bytes]"));
	assert_true(strlen(m) < REPO_BODY_MAX + 200);
	free(m);
	sb_release(&big);
}

/* ---- commits ---- */

static void
test_not_a_repo(void **state)
{
	char tmpl[] = "/tmp/keeper-norepo-XXXXXX";
	char *d = mkdtemp(tmpl);
	struct repo *r;

	(void)state;
	r = repo_open(d, errbuf, sizeof(errbuf));
	assert_null(r);
	assert_non_null(strstr(errbuf, "is not a git repository"));
	r = repo_open("/nonexistent/keeper", errbuf, sizeof(errbuf));
	assert_null(r);
	assert_non_null(strstr(errbuf, "cannot open repository"));
	rmdir(d);
}

static void
test_first_commit_and_no_change(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("wren", "run-1",
	    "drafted the intro\nbody text");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = repo_open(d, errbuf, sizeof(errbuf));
	assert_non_null(r);
	/* An empty repo with an empty work tree: nothing to do. */
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);

	put(d, "intro.md", "hello\n");
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_true(res.flags & REPO_F_FIRST);
	assert_int_equal(strlen(res.id), 40);
	s = out("git -C %s log -1 --format='%%H|%%an <%%ae>|%%cn <%%ce>|%%s'",
	    d);
	{
		char *want = xasprintf("%s|wren <wren@keeper.invalid>|"
		    "wren <wren@keeper.invalid>|wren: wake_add 1/3 "
		    "\xe2\x80\x94 drafted the intro", res.id);
		assert_string_equal(s, want);
		free(want);
	}
	free(s);
	s = out("git -C %s log -1 --format='%%(trailers:key=Keeper-Agent,"
	    "valueonly)%%(trailers:key=Keeper-State,valueonly)"
	    "%%(trailers:key=Keeper-Run,valueonly)'", d);
	assert_string_equal(s, "wren\nwake_add\nrun-1");
	free(s);
	s = out("git -C %s log -1 --format=%%b", d);
	assert_non_null(strstr(s, "body text"));
	free(s);
	/* The branch is main, the index matches: git sees a clean tree. */
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, "");
	free(s);
	s = out("git -C %s symbolic-ref HEAD", d);
	assert_string_equal(s, "refs/heads/main");
	free(s);

	/* No change, no commit. */
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);
	assert_string_equal(res.id, "");
	assert_int_equal(count_commits(d), 1);
	/* A touched but identical file is no change either. */
	sh("touch -d '2001-01-01' %s/intro.md", d);
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);
	assert_int_equal(count_commits(d), 1);
	assert_int_equal(sh("git -C %s fsck --no-progress --no-dangling", d), 0);
	repo_close(r);
	rmrf(d);
}

static void
test_modify_delete_ignore(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("wren", "run-2", "edit");
	struct repo_result res;
	struct repo *r;

	(void)state;
	put(d, ".gitignore", "*.log\nscratch/\n");
	put(d, "keep.txt", "one\n");
	put(d, "gone.txt", "bye\n");
	human_commit(d, "base.txt", "base\n");
	r = repo_open(d, errbuf, sizeof(errbuf));
	assert_non_null(r);

	put(d, "keep.txt", "two\n");
	s = xasprintf("%s/gone.txt", d);
	unlink(s);
	free(s);
	put(d, "noise.log", "ignored\n");
	sh("mkdir -p %s/scratch %s/sub/deep", d, d);
	put(d, "scratch/tmp", "ignored\n");
	put(d, "sub/deep/new.txt", "new\n");
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_false(res.flags & REPO_F_FIRST);
	assert_int_equal(res.nfiles, 3);
	s = out("git -C %s show --name-status --format= HEAD", d);
	assert_string_equal(s, "D\tgone.txt\nM\tkeep.txt\nA\tsub/deep/new.txt");
	free(s);
	s = out("git -C %s status --porcelain --ignored", d);
	assert_string_equal(s, "!! noise.log\n!! scratch/");
	free(s);
	assert_int_equal(count_commits(d), 2);
	repo_close(r);
	rmrf(d);
}

static void
test_author_override(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("desk", "r9", "filed");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = repo_open(d, errbuf, sizeof(errbuf));
	put(d, "a", "1");
	ci.domain = "news.example";
	(void)commit_ok(r, &ci, &res);
	s = out("git -C %s log -1 --format='%%an <%%ae>'", d);
	assert_string_equal(s, "desk <desk@news.example>");
	free(s);
	put(d, "a", "2");
	ci.author = "Desk Bot <desk@bots.example>";
	(void)commit_ok(r, &ci, &res);
	s = out("git -C %s log -1 --format='%%an <%%ae>|%%cn <%%ce>'", d);
	assert_string_equal(s, "Desk Bot <desk@bots.example>|"
	    "Desk Bot <desk@bots.example>");
	free(s);
	repo_close(r);
	rmrf(d);
}

static void
test_detached_head(void **state)
{
	char *d = mkrepo(), *s, *main_before, *head_before;
	struct repo_commit_info ci = info("wren", "r3", "on detached");
	struct repo_result res;
	struct repo *r;

	(void)state;
	human_commit(d, "a", "1\n");
	assert_int_equal(sh("git -C %s checkout -q --detach", d), 0);
	main_before = out("git -C %s rev-parse main", d);
	head_before = out("git -C %s rev-parse HEAD", d);
	r = repo_open(d, errbuf, sizeof(errbuf));
	put(d, "b", "2\n");

	/* By default nothing is committed: a commit there would be lost at
	 * the next checkout. The work is kept on the run's partial ref and
	 * stays in the work tree. */
	assert_int_equal(commit_ok(r, &ci, &res), REPO_KEPT);
	assert_true(res.flags & REPO_F_DETACHED);
	assert_true(res.flags & REPO_F_REFUSED);
	assert_string_equal(res.ref, "refs/keeper/partial/wren/r3");
	assert_non_null(strstr(res.note, "HEAD is detached"));
	assert_non_null(strstr(res.note, "refs/keeper/partial/wren/r3"));
	s = out("git -C %s rev-parse HEAD", d);
	assert_string_equal(s, head_before);
	free(s);
	s = out("git -C %s rev-parse refs/keeper/partial/wren/r3", d);
	assert_string_equal(s, res.id);
	free(s);
	s = out("git -C %s diff --name-status HEAD refs/keeper/partial/wren/r3",
	    d);
	assert_string_equal(s, "A\tb");
	free(s);
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, "?? b");
	free(s);

	/* Opted in (#+DETACHED: commit): committed on as it is. */
	ci.run_id = "r4";
	ci.detached_commit = 1;
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_true(res.flags & REPO_F_DETACHED);
	assert_false(res.flags & REPO_F_REFUSED);
	assert_non_null(strstr(res.note, "detached"));
	s = out("git -C %s rev-parse HEAD", d);
	assert_string_equal(s, res.id);
	free(s);
	/* The branch did not move; HEAD stays detached. */
	s = out("git -C %s rev-parse main", d);
	assert_string_equal(s, main_before);
	free(s);
	assert_int_not_equal(sh("git -C %s symbolic-ref -q HEAD", d), 0);
	free(main_before);
	free(head_before);
	repo_close(r);
	rmrf(d);
}

/* ---- what is never recorded ---- */

static void
test_keep_out_data_dir(void **state)
{
	char *d = mkrepo(), *s, *data;
	struct repo_commit_info ci = info("wren", "r1", "work");
	struct repo_result res;
	struct repo *r;

	(void)state;
	put(d, ".gitignore", ".state/\n");
	human_commit(d, "a", "1\n");
	data = xasprintf("%s/.state", d);
	assert_int_equal(mkdir(data, 0755), 0);
	put(data, "keeper.db", "db\n");
	put(data, "keeper-last-run-wren", "1\n");
	r = repo_open(d, errbuf, sizeof(errbuf));
	repo_keep_out(r, data);
	/* .gitignore stops ignoring it (issue 20 item 3). */
	put(d, ".gitignore", "other\n");
	put(d, "out.txt", "agent's\n");
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_true(res.flags & REPO_F_KEPT_OUT);
	assert_non_null(strstr(res.note, "data directory left out"));
	s = out("git -C %s show --name-only --format= HEAD", d);
	assert_string_equal(s, ".gitignore\nout.txt");
	free(s);
	/* Only keeper's files changed: no change, and no lock taken. */
	put(data, "keeper.db", "db2\n");
	ci.run_id = "r2";
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);
	/* Nor on a partial ref. */
	put(d, "half.txt", "half\n");
	ci.run_id = "r3";
	ci.outcome = "failed";
	assert_int_equal(repo_partial(r, &ci, &res, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(res.status, REPO_COMMITTED);
	assert_true(res.flags & REPO_F_KEPT_OUT);
	s = out("git -C %s diff --name-only HEAD refs/keeper/partial/wren/r3",
	    d);
	assert_string_equal(s, "half.txt");
	free(s);
	s = out("git -C %s ls-tree -r --name-only refs/keeper/partial/wren/r3",
	    d);
	assert_null(strstr(s, ".state"));
	free(s);
	/* A directory outside the work tree changes nothing. */
	repo_keep_out(r, "/tmp");
	assert_null(r->keep_out);
	repo_close(r);
	free(data);
	rmrf(d);
}

/* A sparse file: big on paper, nothing on disk, quick to make. */
static void
sparse(const char *dir, const char *name, off_t size)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	free(p);
}

static void
test_max_file_size(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("wren", "r1", "bloat");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = open_seeded(d);
	ci.max_file_size = 1024 * 1024;
	sparse(d, "big.bin", 200LL * 1024 * 1024);
	sparse(d, "bigger.bin", 300LL * 1024 * 1024);
	put(d, "small.txt", "fine\n");
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_true(res.flags & REPO_F_TOO_BIG);
	assert_int_equal(res.nbig, 2);
	assert_string_equal(res.big_path, "bigger.bin");
	assert_int_equal(res.big_size, 300LL * 1024 * 1024);
	assert_non_null(strstr(res.note, "'bigger.bin' (300 MB) and 1 more "
	    "file not committed: over the 1 MB MAX-COMMIT-SIZE"));
	s = out("git -C %s show --name-only --format= HEAD", d);
	assert_string_equal(s, "small.txt");
	free(s);
	/* Left in the work tree, untracked. */
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, "?? big.bin\n?? bigger.bin");
	free(s);
	/* Only the big ones left: no change, but still said. */
	ci.run_id = "r2";
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);
	assert_true(res.flags & REPO_F_TOO_BIG);
	assert_non_null(strstr(res.note, "not committed"));
	/* A tracked file that grows past the limit keeps its old version. */
	sh("rm -f %s/bigger.bin", d);
	sparse(d, "small.txt", 2LL * 1024 * 1024);
	ci.run_id = "r3";
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);
	assert_string_equal(res.big_path, "big.bin");
	s = out("git -C %s show HEAD:small.txt", d);
	assert_string_equal(s, "fine");
	free(s);
	/* The partial ref leaves them out too. */
	put(d, "half.txt", "half\n");
	ci.run_id = "r4";
	ci.outcome = "failed";
	assert_int_equal(repo_partial(r, &ci, &res, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(res.status, REPO_COMMITTED);
	assert_true(res.flags & REPO_F_TOO_BIG);
	s = out("git -C %s diff --name-only HEAD refs/keeper/partial/wren/r4",
	    d);
	assert_string_equal(s, "half.txt");
	free(s);
	/* No limit: everything goes in (a small file, to stay quick). */
	ci.max_file_size = 0;
	ci.outcome = NULL;
	ci.run_id = "r5";
	sh("rm -f %s/big.bin && git -C %s checkout -q small.txt", d, d);
	put(d, "any.txt", "x\n");
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_false(res.flags & REPO_F_TOO_BIG);
	repo_close(r);
	rmrf(d);
}

/* The work tree replaced by a plain directory under an open handle: the
 * error says it is not a repository (it said "cannot open
 * '.../.git/keeper-op'"), and the handle knows it is stale. */
static void
test_repo_replaced_by_plain_dir(void **state)
{
	char *d = mkrepo();
	struct repo_commit_info ci = info("wren", "r1", "work");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = open_seeded(d);
	assert_false(repo_stale(r));
	assert_int_equal(sh("rm -rf %s/.git", d), 0);
	put(d, "out.txt", "x\n");
	assert_true(repo_stale(r));
	assert_int_equal(repo_commit(r, &ci, &res, errbuf, sizeof(errbuf)),
	    -1);
	assert_non_null(strstr(errbuf, "is not a git repository"));
	assert_null(strstr(errbuf, "keeper-op"));
	ci.outcome = "failed";
	assert_int_equal(repo_partial(r, &ci, &res, errbuf, sizeof(errbuf)),
	    -1);
	assert_non_null(strstr(errbuf, "is not a git repository"));
	repo_close(r);
	/* Opened again (gitq does so with a stale handle): the same words. */
	r = repo_open(d, errbuf, sizeof(errbuf));
	assert_null(r);
	assert_non_null(strstr(errbuf, "is not a git repository"));
	rmrf(d);
}

static void
test_foreign_lock(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("wren", "r4", "x");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = open_seeded(d);
	put(d, "b", "2\n");
	/* A git command's lock (no keeper op was running): left alone. */
	put(d, ".git/index.lock", "");
	assert_int_equal(repo_commit(r, &ci, &res, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "index.lock' exists"));
	assert_non_null(strstr(errbuf, "keeper leaves it alone"));
	s = xasprintf("%s/.git/index.lock", d);
	assert_int_equal(access(s, F_OK), 0);
	assert_int_equal(count_commits(d), 1);
	/* Once the owner is gone and the lock removed, commits resume. */
	unlink(s);
	free(s);
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_int_equal(count_commits(d), 2);
	repo_close(r);
	rmrf(d);
}

/* Nothing to commit is found out read-only: no operation marker is
 * written, and a foreign index.lock or a merge in progress, which would
 * stop a commit, does not turn "no change" into an error. A change only
 * in the index (staged, the work tree as staged) is still a change. */
static void
test_no_change_takes_no_lock(void **state)
{
	char *d = mkrepo(), *op, *lock, *s;
	struct repo_commit_info ci = info("wren", "r9", "x");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = open_seeded(d);
	op = xasprintf("%s/.git/keeper-op", d);
	lock = xasprintf("%s/.git/index.lock", d);
	(void)unlink(op);
	put(d, ".git/index.lock", "");
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);
	assert_int_not_equal(access(op, F_OK), 0);	/* no op ran */
	assert_int_equal(access(lock, F_OK), 0);	/* left alone */
	/* With a change, the lock stops the commit as before. */
	put(d, "b", "2\n");
	assert_int_equal(repo_commit(r, &ci, &res, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "index.lock"));
	unlink(lock);
	/* Staged with git, the work tree as staged: still a change. */
	assert_int_equal(sh("git -C %s add b", d), 0);
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	s = out("git -C %s show HEAD:b", d);
	assert_string_equal(s, "2");
	free(s);
	/* A merge in progress with nothing to commit: no change. */
	put(d, ".git/MERGE_HEAD", res.id);
	assert_int_equal(commit_ok(r, &ci, &res), REPO_NO_CHANGE);
	put(d, "c", "3\n");
	assert_int_equal(repo_commit(r, &ci, &res, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "in progress"));
	free(op);
	free(lock);
	repo_close(r);
	rmrf(d);
}

static void
test_own_stale_lock(void **state)
{
	char *d = mkrepo(), *lock;
	struct repo_commit_info ci = info("wren", "r5", "x");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = open_seeded(d);
	put(d, "b", "2\n");
	/* What a keeper killed mid-commit leaves: its op marker, unlocked,
	 * and the index and branch locks nobody holds any more. */
	put(d, ".git/keeper-op", "99999 commit\n");
	put(d, ".git/index.lock", "");
	put(d, ".git/refs/heads/main.lock", "");
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_true(res.flags & REPO_F_STALE_LOCK);
	lock = xasprintf("%s/.git/index.lock", d);
	assert_int_not_equal(access(lock, F_OK), 0);
	free(lock);
	assert_int_equal(count_commits(d), 2);
	assert_int_equal(sh("git -C %s fsck --no-progress --no-dangling", d), 0);
	/* A clean end leaves an empty marker: no recovery next time. */
	put(d, "c", "3\n");
	(void)commit_ok(r, &ci, &res);
	assert_false(res.flags & REPO_F_STALE_LOCK);
	repo_close(r);
	rmrf(d);
}

static void
test_merge_in_progress_refused(void **state)
{
	char *d = mkrepo();
	struct repo_commit_info ci = info("wren", "r6", "x");
	struct repo_result res;
	struct repo *r;

	(void)state;
	human_commit(d, "a", "1\n");
	put(d, ".git/MERGE_HEAD", "0000000000000000000000000000000000000000\n");
	r = repo_open(d, errbuf, sizeof(errbuf));
	put(d, "b", "2\n");
	assert_int_equal(repo_commit(r, &ci, &res, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "in progress"));
	assert_int_equal(count_commits(d), 1);
	repo_close(r);
	rmrf(d);
}

/* ---- half-written files ---- */

static const char *hook_target;

static void
append_once(const char *path)
{
	FILE *f;

	if (hook_target == NULL || strstr(path, hook_target) == NULL)
		return;
	hook_target = NULL;
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("...still writing\n", f);
	fclose(f);
}

static void
test_unstable_file_left(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("wren", "r7", "x");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = open_seeded(d);
	put(d, "done.txt", "complete\n");
	put(d, "half.txt", "part one\n");
	/* Another writer appends to half.txt while keeper reads it. */
	hook_target = "half.txt";
	repo__stage_hook = append_once;
	(void)commit_ok(r, &ci, &res);
	repo__stage_hook = NULL;
	assert_int_equal(res.status, REPO_COMMITTED);
	assert_true(res.flags & REPO_F_SKIPPED);
	assert_int_equal(res.nskipped, 1);
	s = out("git -C %s show --name-only --format= HEAD", d);
	assert_string_equal(s, "done.txt");
	free(s);
	/* Not in the index either: git sees it as untracked. */
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, "?? half.txt");
	free(s);
	/* Quiet now: the next commit records it whole. */
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	s = out("git -C %s show HEAD:half.txt", d);
	assert_string_equal(s, "part one\n...still writing");
	free(s);

	/* A tracked file changing mid-read keeps its previous staged copy. */
	put(d, "half.txt", "v2\n");
	hook_target = "half.txt";
	repo__stage_hook = append_once;
	(void)commit_ok(r, &ci, &res);
	repo__stage_hook = NULL;
	assert_int_equal(res.status, REPO_NO_CHANGE);
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, " M half.txt");
	free(s);
	repo_close(r);
	rmrf(d);
}

static void
test_settle_window(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("wren", "r8", "x");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = open_seeded(d);
	put(d, "old.txt", "written long ago\n");
	put(d, "fresh.txt", "just now\n");
	sh("touch -d '2020-01-01' %s/old.txt", d);
	ci.settle_ms = 60 * 1000;
	assert_int_equal(commit_ok(r, &ci, &res), REPO_COMMITTED);
	assert_int_equal(res.nskipped, 1);
	s = out("git -C %s show --name-only --format= HEAD", d);
	assert_string_equal(s, "old.txt");
	free(s);
	ci.settle_ms = 0;
	(void)commit_ok(r, &ci, &res);
	s = out("git -C %s show --name-only --format= HEAD", d);
	assert_string_equal(s, "fresh.txt");
	free(s);
	repo_close(r);
	rmrf(d);
}

/* ---- partial ---- */

static void
test_partial(void **state)
{
	char *d = mkrepo(), *s, *head, *idx1, *idx2, *st1;
	struct repo_commit_info ci = info("wren", "run-77", "half done");
	struct repo_result res;
	struct repo *r;

	(void)state;
	put(d, "keep.txt", "same\n");
	put(d, "edit.txt", "before\n");
	put(d, "gone.txt", "bye\n");
	put(d, ".gitignore", "*.tmp\n");
	human_commit(d, "base", "b\n");
	r = repo_open(d, errbuf, sizeof(errbuf));

	put(d, "edit.txt", "after\n");
	put(d, "new.txt", "brand new\n");
	put(d, "x.tmp", "ignored\n");
	s = xasprintf("%s/gone.txt", d);
	unlink(s);
	free(s);
	/* A staged change too: recorded as the work tree has it. */
	put(d, "staged.txt", "staged\n");
	sh("git -C %s add staged.txt", d);

	head = out("git -C %s rev-parse HEAD", d);
	idx1 = out("sha1sum < %s/.git/index", d);
	st1 = out("git -C %s status --porcelain", d);
	ci.outcome = "failed";
	assert_int_equal(repo_partial(r, &ci, &res, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(res.status, REPO_COMMITTED);
	s = out("git -C %s rev-parse refs/keeper/partial/wren/run-77", d);
	assert_string_equal(s, res.id);
	free(s);
	/* Exactly the failed run's changes, on top of HEAD. */
	s = out("git -C %s diff --name-status HEAD "
	    "refs/keeper/partial/wren/run-77", d);
	assert_string_equal(s, "M\tedit.txt\nD\tgone.txt\nA\tnew.txt\n"
	    "A\tstaged.txt");
	free(s);
	s = out("git -C %s rev-parse refs/keeper/partial/wren/run-77^", d);
	assert_string_equal(s, head);
	free(s);
	s = out("git -C %s log -1 --format='%%an|%%s|%%(trailers:"
	    "key=Keeper-Outcome,valueonly)' refs/keeper/partial/wren/run-77",
	    d);
	assert_string_equal(s, "wren|wren: wake_add 1/3 \xe2\x80\x94 failed: "
	    "half done|failed");
	free(s);
	/* HEAD, index and work tree untouched. */
	s = out("git -C %s rev-parse HEAD", d);
	assert_string_equal(s, head);
	free(s);
	idx2 = out("sha1sum < %s/.git/index", d);
	assert_string_equal(idx1, idx2);
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, st1);
	free(s);
	s = out("cat %s/edit.txt %s/new.txt", d, d);
	assert_string_equal(s, "after\nbrand new");
	free(s);

	/* Nothing changed: no ref. */
	sh("cd %s && git reset -q --hard && git clean -qfd", d);
	ci.run_id = "run-78";
	assert_int_equal(repo_partial(r, &ci, &res, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(res.status, REPO_NO_CHANGE);
	assert_int_not_equal(sh("git -C %s rev-parse -q --verify "
	    "refs/keeper/partial/wren/run-78 >/dev/null", d), 0);
	assert_int_equal(sh("git -C %s fsck --no-progress --no-dangling", d), 0);
	free(head);
	free(idx1);
	free(idx2);
	free(st1);
	repo_close(r);
	rmrf(d);
}

static void
test_partial_unborn(void **state)
{
	char *d = mkrepo(), *s;
	struct repo_commit_info ci = info("wren", "r1", "boom");
	struct repo_result res;
	struct repo *r;

	(void)state;
	r = repo_open(d, errbuf, sizeof(errbuf));
	put(d, "a.txt", "a\n");
	assert_int_equal(repo_partial(r, &ci, &res, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(res.status, REPO_COMMITTED);
	s = out("git -C %s ls-tree --name-only refs/keeper/partial/wren/r1", d);
	assert_string_equal(s, "a.txt");
	free(s);
	/* Still unborn. */
	assert_int_not_equal(sh("git -C %s rev-parse -q --verify HEAD "
	    ">/dev/null", d), 0);
	/* A bad run id is refused, not turned into a strange ref. */
	ci.run_id = "../x";
	assert_int_equal(repo_partial(r, &ci, &res, errbuf, sizeof(errbuf)),
	    -1);
	repo_close(r);
	rmrf(d);
}

/* ---- concurrency ---- */

struct thr {
	const char	*dir;
	const char	*agent;
	int		 rc;
	int		 commits;
};

static void *
commit_loop(void *arg)
{
	struct thr *t = arg;
	struct repo *r = repo_open(t->dir, NULL, 0);
	char name[64], err[256];

	t->rc = r ? 0 : -1;
	for (int i = 0; r != NULL && i < 10; i++) {
		struct repo_commit_info ci = info(t->agent, "r", "work");
		struct repo_result res;
		char *p;

		snprintf(name, sizeof(name), "%s-%d.txt", t->agent, i);
		p = xasprintf("%s/%s", t->dir, name);
		FILE *f = fopen(p, "w");
		if (f) {
			fputs(name, f);
			fclose(f);
		}
		free(p);
		if (repo_commit(r, &ci, &res, err, sizeof(err)) != 0) {
			print_error("%s: %s\n", t->agent, err);
			t->rc = -1;
		}
		else if (res.status == REPO_COMMITTED)
			t->commits++;
	}
	repo_close(r);
	return NULL;
}

static void
test_two_threads_one_repo(void **state)
{
	char *d = mkrepo(), *s;
	struct thr a = { d, "ann", 0, 0 }, b = { d, "bob", 0, 0 };
	pthread_t ta, tb;

	(void)state;
	pthread_create(&ta, NULL, commit_loop, &a);
	pthread_create(&tb, NULL, commit_loop, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	/* Every file is in exactly one commit, the history is linear. */
	assert_int_equal(count_commits(d), a.commits + b.commits);
	s = out("git -C %s ls-files | wc -l", d);
	assert_string_equal(s, "20");
	free(s);
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(sh("git -C %s fsck --no-progress --no-dangling", d), 0);
	rmrf(d);
}

/* ---- kill -9 mid-commit ---- */

/*
 * What must hold after a keeper is killed at any moment of a commit:
 * fsck accepts the repository, HEAD is the commit before or the one being
 * made (a child of it, by the killed agent), and the next commit works,
 * reporting the stale locks it removed, and leaves no lock and no op
 * marker behind.
 */
static void
after_kill(const char *d, const char *old, int want_new, int want_stale,
    int round)
{
	struct repo_commit_info ci = info("wren", "after", "after crash");
	struct repo_result res;
	struct repo *r;
	char *s, *marker;

	assert_int_equal(sh("git -C %s fsck --no-progress --no-dangling", d),
	    0);
	s = out("git -C %s rev-parse HEAD", d);
	if (want_new == 0)
		assert_string_equal(s, old);
	else {
		char *parent = out("git -C %s rev-parse HEAD^ 2>/dev/null", d);
		char *who = out("git -C %s log -1 --format=%%an", d);

		if (want_new == 1 || strcmp(s, old) != 0) {
			/* Killed ones only ever add to the history. */
			assert_int_equal(sh("git -C %s merge-base "
			    "--is-ancestor %s HEAD", d, old), 0);
			assert_string_equal(who, "loop");
			if (want_new == 1)
				assert_string_equal(parent, old);
		}
		free(parent);
		free(who);
	}
	free(s);
	r = repo_open(d, errbuf, sizeof(errbuf));
	assert_non_null(r);
	marker = xasprintf("%d\n", round);
	put(d, "marker", marker);
	free(marker);
	if (repo_commit(r, &ci, &res, errbuf, sizeof(errbuf)) != 0)
		fail_msg("commit after kill -9: %s", errbuf);
	assert_int_equal(res.status, REPO_COMMITTED);
	if (want_stale >= 0)
		assert_int_equal(!!(res.flags & REPO_F_STALE_LOCK), want_stale);
	s = out("git -C %s status --porcelain", d);
	assert_string_equal(s, "");
	free(s);
	s = out("cd %s/.git && ls index.lock HEAD.lock refs/heads/main.lock "
	    "packed-refs.lock 2>/dev/null; cat keeper-op", d);
	assert_string_equal(s, "");
	free(s);
	repo_close(r);
}

static const char *die_at;	/* the moment the child dies at */
static const char *die_holding;	/* ... with this lock file taken */
static const char *die_dir;

/* The child's commit hook: at its moment, take the lock the next libgit2
 * call would take (as if killed inside that call) and die. */
static void
die_here(const char *moment)
{
	if (strcmp(moment, die_at) != 0)
		return;
	if (die_holding != NULL) {
		char *p = xasprintf("%s/.git/%s", die_dir, die_holding);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);

		if (fd == -1 || write(fd, "half", 4) != 4)
			_exit(3);
		free(p);
	}
	raise(SIGKILL);
}

/* A child that changes the tree and commits as "loop" until killed (by
 * die_here() when die_at is set, else by the parent). */
static pid_t
start_loop(const char *d)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct repo *cr = repo_open(d, NULL, 0);
		struct repo_result res;
		char err[256];

		if (die_at != NULL)
			repo__commit_hook = die_here;
		for (int i = 0; cr != NULL; i++) {
			struct repo_commit_info cci = info("loop", "r", "loop");
			char *cmd = xasprintf("cd %s && for f in t/f*; "
			    "do echo %d >> $f; done", d, i);

			if (system(cmd) != 0)
				_exit(2);
			free(cmd);
			repo_commit(cr, &cci, &res, err, sizeof(err));
		}
		_exit(1);
	}
	return pid;
}

static char *
seeded_for_kills(void)
{
	char *d = mkrepo();

	/* Enough files that a commit takes a while to kill inside. */
	assert_int_equal(sh("cd %s && mkdir -p t && for i in $(seq 1 300); "
	    "do echo $i > t/f$i; done", d), 0);
	human_commit(d, "seed", "0\n");
	return d;
}

/* Every moment of the write order, each with the lock the next step
 * takes left behind as a crash inside it would leave it. */
static void
test_kill9_at_each_moment(void **state)
{
	static const struct {
		const char	*moment;
		const char	*holding;
		int		 is_new;	/* HEAD is the killed commit */
	} at[] = {
		{ "locked", NULL, 0 },
		{ "staged", NULL, 0 },
		{ "objects", NULL, 0 },
		{ "objects", "index.lock", 0 },		/* in the index write */
		{ "index", NULL, 0 },
		{ "index", "refs/heads/main.lock", 0 },	/* in the ref update */
		{ "ref", NULL, 1 },
	};
	char *d = seeded_for_kills();

	(void)state;
	die_dir = d;
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		char *old = out("git -C %s rev-parse HEAD", d), *op;
		pid_t pid;
		int st;

		die_at = at[i].moment;
		die_holding = at[i].holding;
		pid = start_loop(d);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		/* It died where it was meant to, inside its operation. */
		if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
			fail_msg("%s: the child did not die there (status %d)",
			    at[i].moment, st);
		op = out("cat %s/.git/keeper-op", d);
		assert_non_null(strstr(op, " commit"));
		free(op);
		after_kill(d, old, at[i].is_new, at[i].holding != NULL,
		    (int)i);
		free(old);
	}
	die_at = die_holding = die_dir = NULL;
	rmrf(d);
}

/* Kills at moments chosen by the clock, inside libgit2's own steps too:
 * the same must hold whenever it lands. */
static void
test_kill9_any_moment(void **state)
{
	char *d = seeded_for_kills();
	struct timeval tv;

	(void)state;
	gettimeofday(&tv, NULL);
	srand((unsigned)(tv.tv_usec ^ getpid()));
	for (int round = 0; round < 4; round++) {
		char *old = out("git -C %s rev-parse HEAD", d);
		pid_t pid = start_loop(d);

		usleep(20000 + (useconds_t)(rand() % 200000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, NULL, 0), pid);
		after_kill(d, old, 2, -1, round);
		free(old);
	}
	rmrf(d);
}

/* ---- gitops ---- */

struct ops {
	char	*top;		/* temp dir holding the three */
	char	*bare;
	char	*mine;		/* keeper's work tree */
	char	*theirs;	/* a human's clone */
};

static void
ops_setup(struct ops *o)
{
	char tmpl[] = "/tmp/keeper-ops-XXXXXX";

	o->top = xstrdup(mkdtemp(tmpl));
	o->bare = xasprintf("%s/origin.git", o->top);
	o->mine = xasprintf("%s/mine", o->top);
	o->theirs = xasprintf("%s/theirs", o->top);
	assert_int_equal(sh("git init -q --bare -b main %s", o->bare), 0);
	assert_int_equal(sh("git clone -q file://%s %s 2>/dev/null", o->bare,
	    o->theirs), 0);
	human_commit(o->theirs, "README", "line one\nline two\n");
	assert_int_equal(sh("git -C %s push -q origin main", o->theirs), 0);
	assert_int_equal(sh("git clone -q file://%s %s", o->bare, o->mine), 0);
}

static void
ops_free(struct ops *o)
{
	rmrf(o->top);
	free(o->bare);
	free(o->mine);
	free(o->theirs);
}

static void
test_gitops_ff_merge_conflict(void **state)
{
	struct ops o;
	struct repo_integrate_result ir;
	struct repo_commit_info ci = info("wren", "g1", "local work");
	struct repo_result res;
	struct repo *r;
	char *s, *t;

	(void)state;
	ops_setup(&o);
	r = repo_open(o.mine, errbuf, sizeof(errbuf));
	assert_non_null(r);
	assert_int_equal(repo_integrate(r, NULL, 0, &ir, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(ir.what, REPO_INT_UP_TO_DATE);

	/* Fast-forward: a human pushed, keeper has nothing local. */
	human_commit(o.theirs, "human.txt", "h\n");
	assert_int_equal(sh("git -C %s push -q origin main", o.theirs), 0);
	assert_int_equal(repo_integrate(r, NULL, 0, &ir, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(ir.what, REPO_INT_FAST_FORWARD);
	s = out("git -C %s rev-parse HEAD", o.mine);
	t = out("git -C %s rev-parse HEAD", o.theirs);
	assert_string_equal(s, t);
	assert_string_equal(ir.id, s);
	free(s);
	free(t);
	s = out("cat %s/human.txt; git -C %s status --porcelain", o.mine,
	    o.mine);
	assert_string_equal(s, "h");
	free(s);

	/* Clean merge: both sides touched different files. */
	put(o.mine, "agent.txt", "a\n");
	(void)commit_ok(r, &ci, &res);
	human_commit(o.theirs, "human2.txt", "h2\n");
	assert_int_equal(sh("git -C %s push -q origin main", o.theirs), 0);
	assert_int_equal(repo_integrate(r, "ops.example", 0, &ir, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(ir.what, REPO_INT_MERGED);
	s = out("git -C %s log -1 --format='%%P|%%an <%%ae>'", o.mine);
	t = out("git -C %s rev-parse HEAD", o.theirs);
	assert_non_null(strstr(s, t));
	assert_non_null(strstr(s, res.id));
	assert_non_null(strstr(s, "|keeper <keeper@ops.example>"));
	free(s);
	free(t);
	s = out("cat %s/human2.txt %s/agent.txt; git -C %s status "
	    "--porcelain", o.mine, o.mine, o.mine);
	assert_string_equal(s, "h2\na");
	free(s);

	/* Conflict: the same line on both sides. Skipped, local kept. */
	put(o.mine, "README", "line one\nagent's line two\n");
	(void)commit_ok(r, &ci, &res);
	human_commit(o.theirs, "README", "line one\nhuman's line two\n");
	assert_int_equal(sh("git -C %s push -q origin main", o.theirs), 0);
	assert_int_equal(repo_integrate(r, NULL, 0, &ir, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(ir.what, REPO_INT_CONFLICT);
	assert_non_null(strstr(ir.note, "conflict"));
	s = out("git -C %s rev-parse HEAD", o.mine);
	assert_string_equal(s, res.id);
	free(s);
	s = out("cat %s/README; git -C %s status --porcelain", o.mine, o.mine);
	assert_string_equal(s, "line one\nagent's line two");
	free(s);
	assert_int_equal(sh("git -C %s fsck --no-progress --no-dangling", o.mine), 0);
	repo_close(r);
	ops_free(&o);
}

static void
test_gitops_ff_refuses_to_clobber(void **state)
{
	struct ops o;
	struct repo_integrate_result ir;
	struct repo *r;
	char *s;

	(void)state;
	ops_setup(&o);
	r = repo_open(o.mine, errbuf, sizeof(errbuf));
	human_commit(o.theirs, "README", "changed upstream\n");
	assert_int_equal(sh("git -C %s push -q origin main", o.theirs), 0);
	/* An agent is mid-edit on the same file, uncommitted. */
	put(o.mine, "README", "agent editing\n");
	assert_int_equal(repo_integrate(r, NULL, 0, &ir, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(ir.what, REPO_INT_CONFLICT);
	s = out("cat %s/README", o.mine);
	assert_string_equal(s, "agent editing");
	free(s);
	repo_close(r);
	ops_free(&o);
}

static void
test_push_rejected_then_retried(void **state)
{
	struct ops o;
	struct repo_integrate_result ir;
	struct repo_commit_info ci = info("wren", "p1", "to push");
	struct repo_result res;
	struct repo *r;
	char *s, *t;

	(void)state;
	ops_setup(&o);
	r = repo_open(o.mine, errbuf, sizeof(errbuf));
	put(o.mine, "a.txt", "a\n");
	(void)commit_ok(r, &ci, &res);
	assert_int_equal(repo_push(r, errbuf, sizeof(errbuf)), 0);
	s = out("git --git-dir=%s rev-parse main", o.bare);
	assert_string_equal(s, res.id);
	free(s);

	/* Someone else pushed first: rejected, never forced. */
	human_commit(o.theirs, "b.txt", "b\n");
	/* The merge commit needs an identity: HOME is not the user's here,
	 * and git's guess from the host name fails on some machines. */
	assert_int_equal(sh("git -C %s -c user.name=h -c user.email=h@x pull "
	    "-q --no-rebase origin main", o.theirs), 0);
	human_commit(o.theirs, "c.txt", "c\n");
	assert_int_equal(sh("git -C %s push -q origin main", o.theirs), 0);
	put(o.mine, "d.txt", "d\n");
	(void)commit_ok(r, &ci, &res);
	t = out("git --git-dir=%s rev-parse main", o.bare);
	assert_int_equal(repo_push(r, errbuf, sizeof(errbuf)), -1);
	assert_true(repo_push_pending(r));
	s = out("git --git-dir=%s rev-parse main", o.bare);
	assert_string_equal(s, t);	/* the remote kept its work */
	free(s);
	free(t);

	/* The next integration merges origin and pushes the result. */
	assert_int_equal(repo_integrate(r, NULL, 1, &ir, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(ir.what, REPO_INT_MERGED);
	assert_true(ir.pushed);
	assert_false(repo_push_pending(r));
	s = out("git --git-dir=%s rev-parse main", o.bare);
	assert_string_equal(s, ir.id);
	free(s);
	s = out("git --git-dir=%s merge-base --is-ancestor %s main && echo ok",
	    o.bare, res.id);
	assert_string_equal(s, "ok");
	free(s);
	repo_close(r);
	ops_free(&o);
}

static void
test_integrate_without_origin(void **state)
{
	char *d = mkrepo();
	struct repo_integrate_result ir;
	struct repo *r;

	(void)state;
	human_commit(d, "a", "1");
	r = repo_open(d, errbuf, sizeof(errbuf));
	assert_int_equal(repo_integrate(r, NULL, 1, &ir, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(ir.what, REPO_INT_SKIPPED);
	assert_non_null(strstr(ir.note, "origin"));
	repo_close(r);
	rmrf(d);
}

/* ---- changes feed ---- */

static void
test_changes(void **state)
{
	char *d = mkrepo(), *js;
	struct repo_commit_info ci = info("wren", "run-a", "first");
	struct repo_result res;
	struct repo_change *v;
	struct repo *r;
	size_t n;
	json_t *j;

	(void)state;
	assert_int_equal(repo_changes_at(d, 10, &v, &n, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(n, 0);
	repo_changes_free(v, n);
	human_commit(d, "h", "1");
	r = repo_open(d, errbuf, sizeof(errbuf));
	put(d, "a", "1");
	ci.when_ms = util_now_ms() + 100000;
	(void)commit_ok(r, &ci, &res);
	put(d, "a", "2");
	ci.run_id = "run-b";
	ci.state = "rem";
	ci.when_ms = (util_now_ms() / 1000 + 200) * 1000;
	/* A body line that looks like a trailer must not be taken as one. */
	ci.result = "second\nKeeper-Agent: mallory\n\nmore";
	(void)commit_ok(r, &ci, &res);

	assert_int_equal(repo_changes_at(d, 2, &v, &n, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].id, res.id);
	assert_string_equal(v[0].agent, "wren");
	assert_string_equal(v[0].state, "rem");
	assert_string_equal(v[0].run, "run-b");
	assert_int_equal(v[0].time, ci.when_ms / 1000);
	assert_string_equal(v[0].author, "wren <wren@keeper.invalid>");
	assert_string_equal(v[0].subject, "wren: rem 1/3 \xe2\x80\x94 second");
	assert_string_equal(v[1].run, "run-a");
	j = repo_changes_json(v, n);
	js = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(js, "\"agent\":\"wren\",\"state\":\"rem\","
	    "\"run\":\"run-b\""));
	free(js);
	json_decref(j);
	repo_changes_free(v, n);

	/* The human commit has no trailers: nulls in the feed. */
	assert_int_equal(repo_changes_at(d, 100, &v, &n, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(n, 3);
	assert_null(v[2].agent);
	j = repo_changes_json(v, n);
	js = json_dumps(json_array_get(j, 2), JSON_COMPACT);
	assert_non_null(strstr(js, "\"agent\":null"));
	free(js);
	json_decref(j);
	repo_changes_free(v, n);
	assert_int_equal(repo_changes_at("/nonexistent", 5, &v, &n, errbuf,
	    sizeof(errbuf)), -1);
	repo_close(r);
	rmrf(d);
}

/* Commits made in the same second still come newest first: the feed
 * never shows a parent before its child. And merges are walked once. */
static void
test_changes_same_second(void **state)
{
	char *d = mkrepo();
	struct repo_commit_info ci = info("wren", "r0", "x");
	struct repo_result res;
	struct repo_change *v;
	struct repo *r;
	char ids[6][REPO_ID_LEN + 1], name[16], run[16];
	size_t n;

	(void)state;
	r = repo_open(d, errbuf, sizeof(errbuf));
	ci.when_ms = 1800000000000LL;
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(run, sizeof(run), "r%d", i);
		put(d, name, name);
		ci.run_id = run;
		assert_int_equal(repo_commit(r, &ci, &res, errbuf,
		    sizeof(errbuf)), 0);
		memcpy(ids[i], res.id, sizeof(ids[i]));
	}
	assert_int_equal(repo_changes_at(d, 4, &v, &n, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(n, 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(v[i].id, ids[5 - i]);
	repo_changes_free(v, n);
	/* A merge: both sides once, the merge first. */
	sh("cd %s && git checkout -q -b side HEAD~2 && echo s > s && "
	    "git add s && git -c user.name=h -c user.email=h@x commit -qm s && "
	    "git checkout -q main && git -c user.name=h -c user.email=h@x "
	    "merge -q --no-edit side", d);
	assert_int_equal(repo_changes_at(d, 100, &v, &n, errbuf,
	    sizeof(errbuf)), 0);
	assert_int_equal(n, 8);
	assert_null(v[0].agent);		/* the merge */
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			assert_string_not_equal(v[i].id, v[k].id);
	/* The side commit is a human's of today, older than the agents'
	 * (dated 2027 above): it comes last, after their root. */
	assert_null(v[n - 1].agent);
	assert_string_equal(v[n - 2].id, ids[0]);
	repo_changes_free(v, n);
	repo_close(r);
	rmrf(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_body_bounded),
		cmocka_unit_test(test_not_a_repo),
		cmocka_unit_test(test_first_commit_and_no_change),
		cmocka_unit_test(test_modify_delete_ignore),
		cmocka_unit_test(test_author_override),
		cmocka_unit_test(test_detached_head),
		cmocka_unit_test(test_keep_out_data_dir),
		cmocka_unit_test(test_max_file_size),
		cmocka_unit_test(test_repo_replaced_by_plain_dir),
		cmocka_unit_test(test_foreign_lock),
		cmocka_unit_test(test_own_stale_lock),
		cmocka_unit_test(test_no_change_takes_no_lock),
		cmocka_unit_test(test_merge_in_progress_refused),
		cmocka_unit_test(test_unstable_file_left),
		cmocka_unit_test(test_settle_window),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_partial_unborn),
		cmocka_unit_test(test_two_threads_one_repo),
		cmocka_unit_test(test_kill9_at_each_moment),
		cmocka_unit_test(test_kill9_any_moment),
		cmocka_unit_test(test_gitops_ff_merge_conflict),
		cmocka_unit_test(test_gitops_ff_refuses_to_clobber),
		cmocka_unit_test(test_push_rejected_then_retried),
		cmocka_unit_test(test_integrate_without_origin),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_changes_same_second),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
