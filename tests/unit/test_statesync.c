/* Unit tests for statesync: coalescing, durability path, nothing left over,
 * and the two inodes a file's writes alternate between. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <uv.h>

#include "statesync.h"
#include "util.h"

static char dir[] = "/tmp/keeper-ss-XXXXXX";

static char *
slurp(const char *name)
{
	char *p = xasprintf("%s/%s", dir, name), *s = util_read_file(p, NULL);

	free(p);
	return s;
}

/* The file holds exactly want. */
static void
expect(const char *name, const char *want)
{
	char *t = slurp(name);

	assert_string_equal(t, want);
	free(t);
}

/* Write path's content and wait for it to be on disk. */
static void
put_now(struct statesync *s, const char *path, const char *text, size_t n)
{
	statesync_put(s, path, text, n);
	statesync_flush(s);
}

static void
batches_and_coalesces(void **state)
{
	uv_loop_t loop;
	struct statesync *s;
	char *a, *ap, *b, *t;
	DIR *d;
	struct dirent *e;
	struct stat st1, st2;
	struct sb names = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	a = xasprintf("%s/a", dir);
	ap = xasprintf("%s/a.prev", dir);
	b = xasprintf("%s/b", dir);
	uv_loop_init(&loop);
	s = statesync_new(&loop, dir);
	statesync_put(s, a, "1\n", 2);		/* goes out at once */
	statesync_put(s, b, "x\n", 2);		/* pending behind it ... */
	statesync_put(s, b, "y\n", 2);		/* ... and coalesced */
	statesync_put(s, a, "2\n", 2);
	assert_true(statesync_busy(s));
	uv_run(&loop, UV_RUN_DEFAULT);		/* both batches complete */
	assert_false(statesync_busy(s));
	expect("a", "2\n");
	expect("b", "y\n");
	/* flush writes what is pending without running batches */
	put_now(s, a, "3\n", 2);
	expect("a", "3\n");
	/* the previous content stays in .a.prev; the next write reuses its
	 * inode, so a file's writes alternate between two inodes */
	expect(".a.prev", "2\n");
	assert_int_equal(stat(a, &st1), 0);
	put_now(s, a, "4\n", 2);
	put_now(s, a, "5\n", 2);
	expect("a", "5\n");
	expect(".a.prev", "4\n");
	assert_int_equal(stat(a, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* ... and leaves a file named a.prev (member a.prev's) alone */
	put_now(s, ap, "mine\n", 5);
	put_now(s, a, "6\n", 2);
	expect("a.prev", "mine\n");
	expect("a", "6\n");
	/* a failing path is reported, not fatal, and leaves nothing: the
	 * directory holds the files and the one spare still in use */
	char *bad = xasprintf("%s/missing/c", dir);
	put_now(s, bad, "z", 1);
	free(bad);
	statesync_free(s);
	uv_run(&loop, UV_RUN_DEFAULT);	/* the pacing timer closes */
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			sb_addf(&names, " %s ", e->d_name);
	closedir(d);
	/* readdir's order is the filesystem's: compare as a set */
	assert_int_equal(names.len, strlen(" a  b  a.prev  .a.prev "));
	for (const char *const *w = (const char *const []){ " a ", " b ",
	    " a.prev ", " .a.prev ", NULL }; *w; w++)
		assert_non_null(strstr(names.buf, *w));
	sb_release(&names);
	t = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(t), 0);
	free(t);
	free(a);
	free(ap);
	free(b);
}

/* The spare is overwritten in place: content shorter than the spare's
 * old one is cut to its length, longer content grows it. */
static void
shorter_content_is_cut(void **state)
{
	uv_loop_t loop;
	struct statesync *s;
	char *a, *t;

	(void)state;
	strcpy(dir, "/tmp/keeper-ss-XXXXXX");	/* the last test filled it */
	assert_non_null(mkdtemp(dir));
	a = xasprintf("%s/a", dir);
	uv_loop_init(&loop);
	s = statesync_new(&loop, dir);
	put_now(s, a, "0123456789\n", 11);
	put_now(s, a, "abcdefghij\n", 11);
	put_now(s, a, "s\n", 2);		/* into the spare that held 0-9 */
	expect("a", "s\n");
	put_now(s, a, "t\n", 2);
	expect("a", "t\n");
	expect(".a.prev", "s\n");
	put_now(s, a, "a longer line than any before\n", 30);
	expect("a", "a longer line than any before\n");
	statesync_free(s);
	uv_run(&loop, UV_RUN_DEFAULT);	/* the pacing timer closes */
	assert_int_equal(uv_loop_close(&loop), 0);
	t = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(t), 0);
	free(t);
	free(a);
}

/* Many files pending at once (the index grows past its first size) each
 * coalesce to their newest content, batch after batch: a second job for
 * a path would write older content over it. */
static void
many_files_coalesce(void **state)
{
	enum { N = 300 };
	uv_loop_t loop;
	struct statesync *s;
	char *p, name[64], text[64], *t;

	(void)state;
	strcpy(dir, "/tmp/keeper-ss-XXXXXX");
	assert_non_null(mkdtemp(dir));
	uv_loop_init(&loop);
	s = statesync_new(&loop, dir);
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < 3; k++)
			for (int i = 0; i < N; i++) {
				p = xasprintf("%s/f%d", dir, i);
				snprintf(text, sizeof(text), "%d %d %d\n",
				    round, k, i);
				statesync_put(s, p, text, strlen(text));
				free(p);
			}
		uv_run(&loop, UV_RUN_DEFAULT);
		for (int i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "f%d", i);
			snprintf(text, sizeof(text), "%d 2 %d\n", round, i);
			expect(name, text);
		}
	}
	statesync_free(s);
	uv_run(&loop, UV_RUN_DEFAULT);	/* the pacing timer closes */
	assert_int_equal(uv_loop_close(&loop), 0);
	t = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(t), 0);
	free(t);
}

/* SPEC §12: every put is told to the mirror, by base name, as it is
 * made; none once the mirror is removed. */
struct seen {
	char	 name[64], data[64];
	int	 n;
};

static void
saw(const char *name, const char *data, size_t len, void *arg)
{
	struct seen *s = arg;

	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->data, sizeof(s->data), "%.*s", (int)len, data);
	s->n++;
}

static void
mirror_sees_every_put(void **state)
{
	uv_loop_t loop;
	struct statesync *s;
	struct seen seen = { 0 };
	char *p, *t;

	(void)state;
	strcpy(dir, "/tmp/keeper-ss-XXXXXX");
	assert_non_null(mkdtemp(dir));
	uv_loop_init(&loop);
	s = statesync_new(&loop, dir);
	statesync_mirror(s, saw, &seen);
	p = xasprintf("%s/lifecycle-pos-wren", dir);
	statesync_put(s, p, "wake_add 2\n", 11);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.name, "lifecycle-pos-wren");
	assert_string_equal(seen.data, "wake_add 2\n");
	statesync_put(s, p, "wake_add 3\n", 11);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.data, "wake_add 3\n");
	statesync_mirror(s, NULL, NULL);
	statesync_put(s, p, "wake_add 4\n", 11);
	assert_int_equal(seen.n, 2);
	uv_run(&loop, UV_RUN_DEFAULT);
	expect("lifecycle-pos-wren", "wake_add 4\n");
	free(p);
	statesync_free(s);
	uv_loop_close(&loop);
	t = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(t), 0);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batches_and_coalesces),
		cmocka_unit_test(shorter_content_is_cut),
		cmocka_unit_test(many_files_coalesce),
		cmocka_unit_test(mirror_sees_every_put),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
