/*
 * test_proc: /proc read back against processes the test makes itself: a
 * child with a grandchild and a zombie, a child with a known environment,
 * a file held open; and the environment matcher on its own. Includes
 * proc.c to walk the process tree both ways: by the children files and,
 * as on a kernel without them, by every process's parent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.c"
#include "util.h"

/* Wait (by polling /proc, the thing under test) until pid is in state. */
static void
wait_state(pid_t pid, char want)
{
	for (int i = 0; i < 5000 && proc_state(pid) != want; i++)
		usleep(1000);
	assert_int_equal(proc_state(pid), want);
}

static int
find_self(pid_t pid, void *arg)
{
	int *seen = arg;

	if (pid == getpid())
		*seen = 1;
	return 0;
}

static int
stop_at_first(pid_t pid, void *arg)
{
	(*(int *)arg)++;
	return pid > 0 ? 7 : 0;
}

static void
test_each_and_state(void **state)
{
	int seen = 0, calls = 0;

	(void)state;
	assert_int_equal(proc_each(find_self, &seen), 0);
	assert_int_equal(seen, 1);
	/* A non-zero answer stops the walk and comes back. */
	assert_int_equal(proc_each(stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);
	assert_int_equal(proc_state(getpid()), 'R');
	assert_int_equal(proc_state(0x3ffffff), '\0');
}

static void
children_and_descendants(void)
{
	int ready[2], st;
	pid_t kid, zombie, grandkid = 0, *v;
	size_t n;

	/* kid forks grandkid and reports its pid; both then sleep. */
	assert_int_equal(pipe(ready), 0);
	if ((kid = fork()) == 0) {
		pid_t g = fork();

		if (g == 0) {
			pause();
			_exit(0);
		}
		(void)write(ready[1], &g, sizeof(g));
		pause();
		_exit(0);
	}
	assert_true(kid > 0);
	assert_int_equal(read(ready[0], &grandkid, sizeof(grandkid)),
	    sizeof(grandkid));
	/* zombie exits at once and is not reaped until the end. */
	if ((zombie = fork()) == 0)
		_exit(0);
	wait_state(zombie, 'Z');
	wait_state(kid, 'S');
	wait_state(grandkid, 'S');

	n = proc_children(getpid(), &v);
	assert_int_equal(n, 2);
	assert_true(has(v, n, kid));
	assert_true(has(v, n, zombie));
	free(v);
	n = proc_children(kid, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], grandkid);
	free(v);
	/* One thread's: ours are the main thread's (no thread here made
	 * any), kid's its own. */
	n = proc_thread_children(getpid(), getpid(), &v);
	assert_int_equal(n, 2);
	assert_true(has(v, n, kid));
	assert_true(has(v, n, zombie));
	free(v);
	n = proc_thread_children(kid, kid, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], grandkid);
	free(v);
	assert_int_equal(proc_children(grandkid, &v), 0);
	assert_null(v);

	/* Descendants: both generations, the zombie left out. */
	n = proc_descendants(getpid(), &v);
	assert_int_equal(n, 2);
	assert_true(has(v, n, kid));
	assert_true(has(v, n, grandkid));
	free(v);

	kill(grandkid, SIGKILL);
	kill(kid, SIGKILL);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_int_equal(waitpid(zombie, &st, 0), zombie);
	/* grandkid was reparented away from us; wait for it to go. */
	for (int i = 0; i < 5000 && proc_state(grandkid) != '\0' &&
	    proc_state(grandkid) != 'Z'; i++)
		usleep(1000);
	assert_int_equal(proc_descendants(getpid(), &v), 0);
	assert_null(v);
	close(ready[0]);
	close(ready[1]);
}

/* The way this kernel offers (the children files, where it has them),
 * then the other, as on a kernel without them. */
static void
test_tree_as_detected(void **state)
{
	(void)state;
	have_children = -1;
	assert_int_equal(children_file(),
	    access("/proc/thread-self/children", F_OK) == 0);
	children_and_descendants();
}

static void
test_tree_by_parents(void **state)
{
	(void)state;
	have_children = 0;
	children_and_descendants();
	have_children = -1;
}

static void
test_environ(void **state)
{
	char *const argv[] = { "sleep", "30", NULL };
	char *const envp[] = { "A=1", "KEEPER_RUN_ID=r-7", "EMPTY=", NULL };
	char buf[4096], tiny[8];
	ssize_t len;
	pid_t pid;
	int st;

	(void)state;
	if ((pid = fork()) == 0) {
		execve("/bin/sleep", argv, envp);
		execve("/usr/bin/sleep", argv, envp);
		_exit(127);
	}
	assert_true(pid > 0);
	/* After the exec, /proc shows the new environment. */
	for (int i = 0; i < 5000; i++) {
		len = proc_environ(pid, buf, sizeof(buf));
		if (len > 0 && proc_env_has(buf, (size_t)len, "A=1"))
			break;
		usleep(1000);
	}
	assert_int_equal(len, sizeof("A=1") + sizeof("KEEPER_RUN_ID=r-7") +
	    sizeof("EMPTY="));
	assert_true(proc_env_has(buf, (size_t)len, "KEEPER_RUN_ID=r-7"));
	assert_true(proc_env_has(buf, (size_t)len, "EMPTY="));
	assert_false(proc_env_has(buf, (size_t)len, "KEEPER_RUN_ID=r-"));
	assert_false(proc_env_has(buf, (size_t)len, "KEEPER_RUN_ID=r-77"));
	assert_false(proc_env_has(buf, (size_t)len, "A"));
	/* A small buffer gets the start, NUL-terminated. */
	assert_int_equal(proc_environ(pid, tiny, sizeof(tiny)), 7);
	assert_memory_equal(tiny, "A=1\0KEE", 8);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(proc_environ(pid, buf, sizeof(buf)), -1);
	assert_int_equal(proc_environ(getpid(), buf, 0), -1);
}

static void
test_env_has(void **state)
{
	static const char env[] = "A=1\0BB=22\0C=";

	(void)state;
	assert_true(proc_env_has(env, sizeof(env), "A=1"));
	assert_true(proc_env_has(env, sizeof(env), "BB=22"));
	assert_true(proc_env_has(env, sizeof(env), "C="));
	assert_false(proc_env_has(env, sizeof(env), "B=22"));
	assert_false(proc_env_has(env, sizeof(env), "BB=2"));
	assert_false(proc_env_has(env, sizeof(env), "C=3"));
	assert_false(proc_env_has(env, 0, "A=1"));
}

static void
test_has_open(void **state)
{
	char path[] = "/tmp/keeper-proc-XXXXXX";
	struct stat st;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(proc_has_open(getpid(), &st));
	close(fd);
	assert_false(proc_has_open(getpid(), &st));
	assert_false(proc_has_open(0x3ffffff, &st));
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_and_state),
		cmocka_unit_test(test_tree_as_detected),
		cmocka_unit_test(test_tree_by_parents),
		cmocka_unit_test(test_environ),
		cmocka_unit_test(test_env_has),
		cmocka_unit_test(test_has_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
