/*
 * test_fs: the atomic write (content, mode under a umask, no temporary
 * file left, failure leaves the old file), its parts, mkdir -p, absolute
 * paths and the PATH look-up against a PATH made for the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "util.h"

static char dir[] = "/tmp/keeper-fs-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* Names in d other than . and .. that contain s. */
static int
count_names(const char *d, const char *s)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	assert_non_null(dp);
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strstr(e->d_name, s) != NULL)
			n++;
	closedir(dp);
	return n;
}

static void
test_write_atomic(void **state)
{
	char *p = xasprintf("%s/f", dir), err[256], *txt;
	struct fs_piece two[2] = { { "head\n", 5 }, { "tail\n", 5 } };
	struct stat st;
	mode_t old;
	size_t len;

	(void)state;
	for (int i = 0; i < 50; i++) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "v%d\n", i);

		assert_int_equal(fs_write_atomic(p, buf, (size_t)n, err,
		    sizeof(err)), 0);
	}
	txt = util_read_file(p, NULL);
	assert_string_equal(txt, "v49\n");
	free(txt);
	assert_int_equal(count_names(dir, ".tmp"), 0);

	/* Pieces land one after the other; an empty write empties it. */
	assert_int_equal(fs_write_atomicv(p, two, 2, err, sizeof(err)), 0);
	txt = util_read_file(p, &len);
	assert_string_equal(txt, "head\ntail\n");
	free(txt);
	assert_int_equal(fs_write_atomic(p, "", 0, err, sizeof(err)), 0);
	txt = util_read_file(p, &len);
	assert_int_equal(len, 0);
	free(txt);

	/* The mode open(2) would give 0644: the umask applies. */
	old = umask(027);
	assert_int_equal(fs_write_atomic(p, "x", 1, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(fs_write_atomic(p, "y", 1, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644 & ~old);
	assert_int_equal(count_names(dir, ".tmp"), 0);
	free(p);
}

static void
test_write_atomic_fails_cleanly(void **state)
{
	char *q = xasprintf("%s/nope/f", dir), *d = xasprintf("%s/d", dir);
	char *over = xasprintf("%s/d/sub", dir), *keep, *txt, err[256];

	(void)state;
	/* A missing directory: an error naming it. */
	assert_int_equal(fs_write_atomic(q, "x", 1, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "nope"));
	/* A rename that fails (a directory in the way) leaves the target
	 * as it was and no temporary file behind. */
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(mkdir(over, 0755), 0);
	keep = xasprintf("%s/keep", over);
	assert_int_equal(fs_write_atomic(keep, "kept", 4, err, sizeof(err)),
	    0);
	assert_int_equal(fs_write_atomic(over, "x", 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot rename"));
	assert_int_equal(count_names(d, ".tmp"), 0);
	txt = util_read_file(keep, NULL);
	assert_string_equal(txt, "kept");
	free(txt);
	free(keep);
	free(q);
	free(d);
	free(over);
}

static void
test_write_all_and_exchange(void **state)
{
	char *a = xasprintf("%s/xa", dir), *b = xasprintf("%s/xb", dir);
	char *txt, big[100000];
	int fd, p[2];

	(void)state;
	/* A full write to a non-blocking pipe waits instead of failing. */
	memset(big, 'z', sizeof(big));
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	if (fork() == 0) {
		char buf[4096];
		size_t got = 0;
		ssize_t n;

		close(p[1]);
		fcntl(p[0], F_SETFL, 0);
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			got += (size_t)n;
		_exit(got == sizeof(big) ? 0 : 1);
	}
	close(p[0]);
	assert_int_equal(fs_write_all(p[1], big, sizeof(big)), 0);
	close(p[1]);
	{
		int st;

		assert_true(wait(&st) > 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}

	/* Exchange swaps two files; onto a missing name it renames. */
	assert_true((fd = open(a, O_WRONLY | O_CREAT, 0644)) != -1);
	assert_int_equal(fs_write_all(fd, "A", 1), 0);
	close(fd);
	assert_int_equal(fs_exchange(a, b), 0);
	assert_int_equal(access(a, F_OK), -1);
	txt = util_read_file(b, NULL);
	assert_string_equal(txt, "A");
	free(txt);
	assert_true((fd = open(a, O_WRONLY | O_CREAT, 0644)) != -1);
	assert_int_equal(fs_write_all(fd, "B", 1), 0);
	close(fd);
	assert_int_equal(fs_exchange(a, b), 0);
	txt = util_read_file(a, NULL);
	assert_string_equal(txt, "A");
	free(txt);
	txt = util_read_file(b, NULL);
	assert_string_equal(txt, "B");
	free(txt);

	assert_int_equal(fs_sync_dir(dir), 0);
	assert_int_equal(fs_sync_dir(a), -1);		/* not a directory */
	free(a);
	free(b);
}

static void
test_mkdir_p(void **state)
{
	char *deep = xasprintf("%s/m/a/b//c/", dir), *file;
	struct stat st;
	mode_t mask;

	(void)state;
	assert_int_equal(fs_mkdir_p(deep), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	mask = umask(0);
	umask(mask);
	assert_int_equal(st.st_mode & 0777, 0755 & ~mask);
	/* Again: it exists, which is success. */
	assert_int_equal(fs_mkdir_p(deep), 0);
	assert_int_equal(fs_mkdir_p("/"), 0);
	/* A file in the way is not a directory. */
	file = xasprintf("%s/m/file", dir);
	assert_int_equal(fs_write_atomic(file, "x", 1, NULL, 0), 0);
	errno = 0;
	assert_int_equal(fs_mkdir_p(file), -1);
	assert_int_equal(errno, ENOTDIR);
	free(file);
	file = xasprintf("%s/m/file/below", dir);
	assert_int_equal(fs_mkdir_p(file), -1);
	assert_int_equal(errno, ENOTDIR);
	assert_int_equal(fs_mkdir_p(""), -1);
	free(file);
	free(deep);
}

static void
test_absolute(void **state)
{
	char cwd[PATH_MAX], *s, *want;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	s = fs_absolute("/x/y");
	assert_string_equal(s, "/x/y");
	free(s);
	s = fs_absolute("rel/a");
	want = xasprintf("%s/rel/a", cwd);
	assert_string_equal(s, want);
	free(s);
	free(want);
}

static void
test_which(void **state)
{
	char *bin1 = xasprintf("%s/bin1", dir), *bin2 = xasprintf("%s/bin2", dir);
	char *path, *exe, *noexe, buf[PATH_MAX], cwd[PATH_MAX];

	(void)state;
	assert_int_equal(mkdir(bin1, 0755), 0);
	assert_int_equal(mkdir(bin2, 0755), 0);
	/* bin1 holds a "tool" that is not executable, bin2 one that is. */
	noexe = xasprintf("%s/tool", bin1);
	exe = xasprintf("%s/tool", bin2);
	assert_int_equal(fs_write_atomic(noexe, "", 0, NULL, 0), 0);
	assert_int_equal(fs_write_atomic(exe, "", 0, NULL, 0), 0);
	assert_int_equal(chmod(exe, 0755), 0);
	path = xasprintf("%s:%s", bin1, bin2);
	assert_int_equal(fs_which("tool", path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, exe);
	assert_int_equal(fs_which("missing-tool", path, buf, sizeof(buf)),
	    ENOENT);
	/* A name with a slash is taken as it is, run or not. */
	assert_int_equal(fs_which("./tool", path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "./tool");
	assert_int_equal(fs_which("tool", path, buf, 4), ENOENT);
	assert_int_equal(fs_which("/a/long/name", path, buf, 4), ENAMETOOLONG);
	/* An empty entry is the working directory. */
	free(path);
	path = xasprintf("%s:", bin1);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(bin2), 0);
	assert_int_equal(fs_which("tool", path, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "tool");
	assert_int_equal(chdir(cwd), 0);
	/* No PATH: /bin:/usr/bin, where sh is. */
	assert_int_equal(fs_which("sh", NULL, buf, sizeof(buf)), 0);
	assert_true(strcmp(buf, "/bin/sh") == 0 ||
	    strcmp(buf, "/usr/bin/sh") == 0);
	assert_int_equal(fs_which("sh", "", buf, sizeof(buf)), 0);
	free(path);
	free(exe);
	free(noexe);
	free(bin1);
	free(bin2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_atomic_fails_cleanly),
		cmocka_unit_test(test_write_all_and_exchange),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_which),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
