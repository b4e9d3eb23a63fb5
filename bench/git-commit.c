/*
 * git-commit: the benchmark driver for bench/git.sh.
 *
 *   git-commit DIR           one keeper commit of whatever changed in the
 *                            work tree DIR (a whole process, like the CLI)
 *   git-commit --serve DIR   the daemon's path: the repository stays open;
 *                            each line on stdin commits once and answers
 *                            "WALL_NS CPU_NS" for repo_commit() alone
 *
 * Exit 0 on success, 1 on a commit error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repo.h"

static int64_t
ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
commit(struct repo *r)
{
	struct repo_commit_info ci = { 0 };
	struct repo_result res;
	char err[512];

	ci.agent = "bench";
	ci.state = "wake";
	ci.hits = 1;
	ci.repeat = 1;
	ci.run_id = "bench";
	ci.result = "benchmark commit";
	if (repo_commit(r, &ci, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "git-commit: %s\n", err);
		return -1;
	}
	if (res.status != REPO_COMMITTED) {
		fprintf(stderr, "git-commit: nothing committed\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct repo *r;
	char err[512], line[64];
	int serve = argc == 3 && strcmp(argv[1], "--serve") == 0, rc = 0;

	if (argc != 2 && !serve) {
		fprintf(stderr, "usage: git-commit [--serve] DIR\n");
		return 2;
	}
	if ((r = repo_open(argv[argc - 1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "git-commit: %s\n", err);
		return 1;
	}
	if (!serve)
		rc = commit(r) != 0;
	else
		while (rc == 0 && fgets(line, sizeof(line), stdin) != NULL) {
			int64_t w = ns(CLOCK_MONOTONIC);
			int64_t c = ns(CLOCK_PROCESS_CPUTIME_ID);

			rc = commit(r) != 0;
			printf("%lld %lld\n", (long long)(ns(CLOCK_MONOTONIC) - w),
			    (long long)(ns(CLOCK_PROCESS_CPUTIME_ID) - c));
			fflush(stdout);
		}
	repo_close(r);
	return rc;
}
