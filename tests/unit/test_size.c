/*
 * Unit tests for size: the byte sizes of keeper-crew(5)
 * (#+MAX-COMMIT-SIZE:) and their short human form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "size.h"

static void
expect_bytes(const char *s, int64_t want)
{
	int64_t got = -12345;

	if (size_parse(s, &got) != 0)
		fail_msg("size_parse(\"%s\") failed, want %lld", s,
		    (long long)want);
	if (got != want)
		fail_msg("size_parse(\"%s\") = %lld, want %lld", s,
		    (long long)got, (long long)want);
}

static void
expect_bad(const char *s)
{
	int64_t got = -12345;

	if (size_parse(s, &got) != -1)
		fail_msg("size_parse(\"%s\") accepted (%lld)", s,
		    (long long)got);
	assert_int_equal(got, -12345);	/* untouched on error */
}

static void
test_units(void **state)
{
	(void)state;
	expect_bytes("17", 17);
	expect_bytes("17b", 17);
	expect_bytes("17B", 17);
	expect_bytes("512k", 512 * 1024);
	expect_bytes("512K", 512 * 1024);
	expect_bytes("512kb", 512 * 1024);
	expect_bytes("512KiB", 512 * 1024);
	expect_bytes("50MB", 50LL * 1024 * 1024);
	expect_bytes("50m", 50LL * 1024 * 1024);
	expect_bytes("50MiB", 50LL * 1024 * 1024);
	expect_bytes("1GB", 1024LL * 1024 * 1024);
	expect_bytes("3g", 3LL * 1024 * 1024 * 1024);
	expect_bytes("  2MB\t", 2LL * 1024 * 1024);
	expect_bytes("none", 0);
}

static void
test_bad(void **state)
{
	(void)state;
	expect_bad("");
	expect_bad("   ");
	expect_bad("0");
	expect_bad("0MB");
	expect_bad("MB");
	expect_bad("-5MB");
	expect_bad("+5MB");
	expect_bad("1.5GB");
	expect_bad("5 MB");
	expect_bad("5TB");
	expect_bad("5mbb");
	expect_bad("5bb");
	expect_bad("5kbit");
	expect_bad("1h");
	expect_bad("None");
	expect_bad("99999999999999999999");
	expect_bad("9999999999999g");
}

static void
test_format(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(size_format(0, buf, sizeof(buf)), "0 bytes");
	assert_string_equal(size_format(1, buf, sizeof(buf)), "1 byte");
	assert_string_equal(size_format(1023, buf, sizeof(buf)), "1023 bytes");
	assert_string_equal(size_format(1024, buf, sizeof(buf)), "1 kB");
	assert_string_equal(size_format(512 * 1024, buf, sizeof(buf)),
	    "512 kB");
	assert_string_equal(size_format(200LL * 1024 * 1024, buf,
	    sizeof(buf)), "200 MB");
	assert_string_equal(size_format(1536LL * 1024 * 1024, buf,
	    sizeof(buf)), "1.5 GB");
	assert_string_equal(size_format(50LL * 1024 * 1024 + 1, buf,
	    sizeof(buf)), "50 MB");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
