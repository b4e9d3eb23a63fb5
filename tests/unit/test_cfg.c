/*
 * Unit tests for cfg: the helpers shared by the config models.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"

static void
test_name_rule(void **state)
{
	static const char *good[] = {
		"a", "wren", "A-z_0.9", "x.y", "a-", "a_", "0", "lock",
		"a.locks",
	};
	static const char *bad[] = {
		"", ".a", "-a", "a.", "a..b", "a b", "a/b", "a\tb", "é",
		"a:b", "a*", "x.lock", "{{x}}",
	};
	char longest[64], toolong[65];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!cfg_name_ok(good[i], 64))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_name_ok(bad[i], 64))
			fail_msg("'%s' accepted", bad[i]);
	memset(longest, 'a', 63);
	longest[63] = '\0';
	assert_true(cfg_name_ok(longest, 64));
	memset(toolong, 'a', 64);
	toolong[64] = '\0';
	assert_false(cfg_name_ok(toolong, 64));
}

static void
test_int(void **state)
{
	long v = -99;

	(void)state;
	assert_int_equal(cfg_int("5", 1, 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(cfg_int(" 10 ", 1, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(cfg_int("-3", -5, 0, &v), 0);
	assert_int_equal(v, -3);
	v = -99;
	assert_int_equal(cfg_int("11", 1, 10, &v), -1);
	assert_int_equal(cfg_int("0", 1, 10, &v), -1);
	assert_int_equal(cfg_int("", 1, 10, &v), -1);
	assert_int_equal(cfg_int("1.0", 1, 10, &v), -1);
	assert_int_equal(cfg_int("1x", 1, 10, &v), -1);
	assert_int_equal(cfg_int("+1", 1, 10, &v), -1);
	assert_int_equal(cfg_int("99999999999999999999999", 1, 10, &v), -1);
	assert_int_equal(v, -99);
}

static void
test_bool(void **state)
{
	(void)state;
	assert_int_equal(cfg_bool("t"), 1);
	assert_int_equal(cfg_bool("T"), 1);
	assert_int_equal(cfg_bool("nil"), 0);
	assert_int_equal(cfg_bool(""), 0);
	assert_int_equal(cfg_bool("yes"), -1);
	assert_int_equal(cfg_bool("true"), -1);
}

static void
test_regex(void **state)
{
	char err[200];

	(void)state;
	assert_int_equal(cfg_regex_check("sk-[A-Za-z0-9]{20,}", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(cfg_regex_check("(", 0, err, sizeof(err)), -1);
	assert_string_equal(err, "missing closing parenthesis at offset 1");
	assert_int_equal(cfg_regex_check("a?", 0, err, sizeof(err)), 0);
	assert_int_equal(cfg_regex_check("a?", 1, err, sizeof(err)), -1);
	assert_string_equal(err, "it matches the empty string");
	/* Redaction compiles with PCRE2_NEVER_UTF; so does the check. */
	assert_int_equal(cfg_regex_check("(*UTF)x", 0, err, sizeof(err)), -1);
}

static void
test_resolve(void **state)
{
	char *s;

	(void)state;
	s = cfg_resolve(".", "a.org");
	assert_string_equal(s, "a.org");
	free(s);
	s = cfg_resolve("crews", "../agents/a.org");
	assert_string_equal(s, "crews/../agents/a.org");
	free(s);
	s = cfg_resolve("crews", "/abs.org");
	assert_string_equal(s, "/abs.org");
	free(s);
}

static void
test_grow(void **state)
{
	int *a = NULL;
	size_t n;

	(void)state;
	for (n = 0; n < 1000; n++) {
		a = cfg_grow(a, n, sizeof(*a));
		a[n] = (int)n;		/* ASan catches a missing slot */
	}
	for (n = 0; n < 1000; n++)
		assert_int_equal(a[n], (int)n);
	free(a);
}

static void
test_read(void **state)
{
	char dir[] = "/tmp/test_cfg.XXXXXX", path[64];
	struct diag d = { 0 };
	size_t len = 0;
	char *buf;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.org", dir);
	f = fopen(path, "w");
	fputs("* a\n", f);
	fclose(f);
	buf = cfg_read(path, &len, &d);
	assert_non_null(buf);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "* a\n", 4);
	free(buf);
	assert_int_equal(d.n, 0);

	assert_null(cfg_read(dir, &len, &d));
	assert_string_equal(d.items[0].msg, "is a directory");
	diag_release(&d);

	assert_int_equal(truncate(path, CFG_MAX_BYTES + 1), 0);
	assert_null(cfg_read(path, &len, &d));
	assert_non_null(strstr(d.items[0].msg, "file too large"));
	diag_release(&d);
	assert_int_equal(truncate(path, CFG_MAX_BYTES), 0);
	buf = cfg_read(path, &len, &d);	/* exactly the limit is fine */
	assert_non_null(buf);
	assert_int_equal(len, CFG_MAX_BYTES);
	free(buf);
	unlink(path);

	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_null(cfg_read(path, &len, &d));
	assert_string_equal(d.items[0].msg, "not a regular file");
	diag_release(&d);
	unlink(path);
	rmdir(dir);
}

static void
test_org_lists(void **state)
{
	(void)state;
	assert_true(cfg_org_keyword("OPTIONS"));
	assert_true(cfg_org_keyword("attr_html"));
	assert_true(cfg_org_keyword("ATTR_LATEX"));
	assert_false(cfg_org_keyword("ATTR"));
	assert_false(cfg_org_keyword("CONCURENCY"));
	assert_true(cfg_org_property("ID"));
	assert_true(cfg_org_property("header-args:sh"));
	assert_false(cfg_org_property("INTERVALL"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rule),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_org_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
