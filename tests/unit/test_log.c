/*
 * test_log: logfmt quoting, one line per event, and the journald priority
 * prefix when stderr is the journal stream.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static void
test_qv(void **state)
{
	(void)state;
	assert_string_equal(log_qv("wren"), "wren");
	assert_string_equal(log_qv("a/b-c.d:1"), "a/b-c.d:1");
	assert_string_equal(log_qv(""), "\"\"");
	assert_string_equal(log_qv(NULL), "\"\"");
	assert_string_equal(log_qv("two words"), "\"two words\"");
	assert_string_equal(log_qv("say \"hi\""), "\"say \\\"hi\\\"\"");
	assert_string_equal(log_qv("a=b"), "\"a=b\"");
	assert_string_equal(log_qv("l1\nl2\tx\\y"), "\"l1\\nl2\\tx\\\\y\"");
	assert_string_equal(log_qv("bell\a"), "\"bell\\x07\"");
}

static void
test_qv_ring(void **state)
{
	const char *a, *b;

	(void)state;
	a = log_qv("first value");
	b = log_qv("second");
	assert_string_equal(a, "\"first value\"");
	assert_string_equal(b, "second");
}

static void
test_qv_truncates_well_formed(void **state)
{
	char big[3000];
	const char *q;
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = ' ';
	q = log_qv(big);
	n = strlen(q);
	assert_true(n < 1024);
	assert_int_equal(q[0], '"');
	assert_string_equal(q + n - 4, "...\"");
}

static void
test_kv(void **state)
{
	struct sb b = { 0 };

	(void)state;
	sb_adds(&b, "event=tick");
	log_kv(&b, "agent", "wren");
	log_kv(&b, "error", "no such file");
	assert_string_equal(b.buf,
	    "event=tick agent=wren error=\"no such file\"");
	sb_release(&b);
}

/* Capture what log_*() write to fd 2 into a temp file. */
static char *
capture(int journal, void (*fn)(void))
{
	char path[] = "/tmp/keeper-log-XXXXXX", env[64];
	int fd, saved;
	struct stat st;
	size_t len;
	char *out;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	fstat(fd, &st);
	if (journal) {
		snprintf(env, sizeof(env), "%llu:%llu",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	} else
		unsetenv("JOURNAL_STREAM");
	log_init(0, getenv("JOURNAL_STREAM"));
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unsetenv("JOURNAL_STREAM");
	log_init(0, NULL);
	out = util_read_file(path, &len);
	unlink(path);
	assert_non_null(out);
	return out;
}

static void
emit(void)
{
	log_info("agent=wren event=tick outcome=done dur_ms=812");
	log_warnx("agent=wren event=error\nsecond line");
	log_debug("agent=wren event=hidden");
	errno = ENOENT;
	log_warn("event=open");
}

static void
test_lines_plain(void **state)
{
	char *out;

	(void)state;
	out = capture(0, emit);
	assert_string_equal(out,
	    "level=info agent=wren event=tick outcome=done dur_ms=812\n"
	    "level=warn agent=wren event=error second line\n"
	    "level=warn event=open err=\"No such file or directory\"\n");
	free(out);
}

static void
test_lines_journal(void **state)
{
	char *out;

	(void)state;
	out = capture(1, emit);
	assert_string_equal(out,
	    "<6>level=info agent=wren event=tick outcome=done dur_ms=812\n"
	    "<4>level=warn agent=wren event=error second line\n"
	    "<4>level=warn event=open err=\"No such file or directory\"\n");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qv),
		cmocka_unit_test(test_qv_ring),
		cmocka_unit_test(test_qv_truncates_well_formed),
		cmocka_unit_test(test_kv),
		cmocka_unit_test(test_lines_plain),
		cmocka_unit_test(test_lines_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
