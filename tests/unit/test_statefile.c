/* Unit tests for statefile: names, formats, tolerant readers (the
 * atomic write is test_fs's). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs.h"
#include "statefile.h"
#include "util.h"

static char dir[] = "/tmp/keeper-sf-XXXXXX";

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

	(void)state;
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	return 0;
}

static void
put(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void
paths(void **state)
{
	char *a = statefile_path("/d", SF_LAST_RUN, "wren");
	char *b = statefile_path("/d", SF_POS, NULL);

	(void)state;
	assert_string_equal(a, "/d/keeper-last-run-wren");
	assert_string_equal(b, "/d/lifecycle-pos");
	free(a);
	free(b);
}

static void
last_run(void **state)
{
	char *p = statefile_path(dir, SF_LAST_RUN, "a");
	char err[256], *txt;
	int64_t ms = -7;

	(void)state;
	assert_int_equal(statefile_read_last_run(p, &ms, err, sizeof(err)), 1);
	assert_int_equal(ms, -7);
	assert_int_equal(statefile_write_last_run(p, 1700000000123LL, err,
	    sizeof(err)), 0);
	txt = util_read_file(p, NULL);
	assert_string_equal(txt, "1700000000.123\n");
	free(txt);
	assert_int_equal(statefile_read_last_run(p, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 1700000000123LL);
	put(p, "1700000000");
	assert_int_equal(statefile_read_last_run(p, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 1700000000000LL);
	put(p, "1700000000.5\n");
	assert_int_equal(statefile_read_last_run(p, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 1700000000500LL);
	static const char *bad[] = { "", "garbage", "17000x", "-5", "nan",
	    "1e300", "1700000000.1 2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = -7;
		put(p, bad[i]);
		assert_int_equal(statefile_read_last_run(p, &ms, err,
		    sizeof(err)), 2);
		assert_int_equal(ms, -7);
		assert_non_null(strstr(err, "ignored"));
	}
	free(p);
}

/* The calendar's cursor: the last-run format, then the schedule's
 * signature in hex (absent in a file from before it). */
static void
last_fire(void **state)
{
	char *p = statefile_path(dir, SF_LAST_FIRE, "a");
	char err[256], buf[64];
	int64_t ms = -7;
	uint64_t sig = 9;
	int n;

	(void)state;
	assert_int_equal(statefile_read_last_fire(p, &ms, &sig, err,
	    sizeof(err)), 1);
	n = statefile_format_last_fire(1700000000123LL, 0xabcdefULL, buf,
	    sizeof(buf));
	assert_string_equal(buf, "1700000000.123 0000000000abcdef\n");
	put(p, buf);
	assert_true(n > 0);
	assert_int_equal(statefile_read_last_fire(p, &ms, &sig, err,
	    sizeof(err)), 0);
	assert_int_equal(ms, 1700000000123LL);
	assert_true(sig == 0xabcdefULL);
	put(p, "1700000000.5\n");
	assert_int_equal(statefile_read_last_fire(p, &ms, &sig, err,
	    sizeof(err)), 0);
	assert_int_equal(ms, 1700000000500LL);
	assert_true(sig == 0);
	ms = -7;
	put(p, "1700000000 abc junk");
	assert_int_equal(statefile_read_last_fire(p, &ms, &sig, err,
	    sizeof(err)), 2);
	assert_int_equal(ms, -7);
	free(p);
}

static void
pos(void **state)
{
	char *p = statefile_path(dir, SF_POS, "a");
	char err[256];
	struct lc_pos a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(statefile_read_pos(p, &b, err, sizeof(err)), 1);
	lc_pos_set(&a, "wake_add", 2);
	assert_int_equal(statefile_write_pos(p, &a, err, sizeof(err)), 0);
	assert_int_equal(statefile_read_pos(p, &b, err, sizeof(err)), 0);
	assert_string_equal(b.state, "wake_add");
	assert_int_equal(b.hits, 2);
	/* torn (half a line, binary) reads as missing with a warning */
	put(p, "wake_a");
	assert_int_equal(statefile_read_pos(p, &b, err, sizeof(err)), 2);
	assert_string_equal(b.state, "");
	lc_pos_release(&a);
	lc_pos_release(&b);
	free(p);
}

/* SPEC §5b: the pause file, written and read back; empty is no pause;
 * garbage is ignored with a warning; an expired pause does not hold. */
static void
pause_file(void **state)
{
	char *p = statefile_path(dir, SF_PAUSE, "wren"), err[256], buf[512];
	char *q = statefile_path("/d", SF_PAUSE, NULL);
	struct pause a = { 0 }, b;
	int n;

	(void)state;
	assert_string_equal(q, "/d/pause");
	free(q);
	assert_non_null(strstr(p, "/pause-wren"));
	assert_int_equal(statefile_read_pause(p, &b, err, sizeof(err)), 1);
	assert_false(b.on);
	assert_int_equal(statefile_paused(dir, "wren", 1, NULL), 0);
	pause_set(&a, 1700000000123LL, "deploy freeze");
	n = statefile_format_pause(&a, buf, sizeof(buf));
	assert_string_equal(buf, "1700000000123 deploy freeze\n");
	assert_int_equal(fs_write_atomic(p, buf, (size_t)n, err, sizeof(err)),
	    0);
	assert_int_equal(statefile_read_pause(p, &b, err, sizeof(err)), 0);
	assert_true(b.on);
	assert_int_equal(b.until_ms, 1700000000123LL);
	assert_string_equal(b.why, "deploy freeze");
	assert_int_equal(statefile_paused(dir, "wren", 1700000000000LL, &b), 1);
	assert_int_equal(b.until_ms, 1700000000123LL);
	assert_int_equal(statefile_paused(dir, "wren", 1700000000123LL, NULL),
	    0);
	/* Until resumed, without a why. */
	pause_set(&a, 0, NULL);
	n = statefile_format_pause(&a, buf, sizeof(buf));
	assert_string_equal(buf, "0 \n");
	put(p, buf);
	assert_int_equal(statefile_read_pause(p, &b, err, sizeof(err)), 0);
	assert_int_equal(b.until_ms, 0);
	assert_string_equal(b.why, "");
	assert_int_equal(statefile_paused(dir, "wren", INT64_MAX / 4, NULL), 1);
	put(p, "0\n");
	assert_int_equal(statefile_read_pause(p, &b, err, sizeof(err)), 0);
	/* Resumed: an empty file. */
	a.on = 0;
	assert_int_equal(statefile_format_pause(&a, buf, sizeof(buf)), 0);
	put(p, buf);
	assert_int_equal(statefile_read_pause(p, &b, err, sizeof(err)), 1);
	put(p, "soon please\n");
	assert_int_equal(statefile_read_pause(p, &b, err, sizeof(err)), 2);
	assert_false(b.on);
	assert_non_null(strstr(err, "not a pause"));
	put(p, "-5 x\n");
	assert_int_equal(statefile_read_pause(p, &b, err, sizeof(err)), 2);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paths),
		cmocka_unit_test(pause_file),
		cmocka_unit_test(last_run),
		cmocka_unit_test(last_fire),
		cmocka_unit_test(pos),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
