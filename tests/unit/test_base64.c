/*
 * base64: RFC 4648's test vectors both ways, and what decoding refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "util.h"

static const char *const vec[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
rfc4648_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		struct sb b = { 0 };
		size_t n;
		char *d;

		base64_encode_sb(&b, vec[i][0], strlen(vec[i][0]));
		assert_string_equal(b.buf ? b.buf : "", vec[i][1]);
		sb_release(&b);
		d = base64_decode(vec[i][1], strlen(vec[i][1]), &n);
		assert_non_null(d);
		assert_int_equal(n, strlen(vec[i][0]));
		assert_memory_equal(d, vec[i][0], n);
		free(d);
	}
}

static void
binary_round_trip(void **state)
{
	unsigned char all[256];
	struct sb b = { 0 };
	size_t n;
	char *d;

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	base64_encode_sb(&b, all, sizeof(all));
	d = base64_decode(b.buf, b.len, &n);
	assert_int_equal(n, sizeof(all));
	assert_memory_equal(d, all, n);
	free(d);
	sb_release(&b);
}

static void
refused(void **state)
{
	static const char *const bad[] = { "Zg=", "Zg", "Z===", "Zm9v!A==",
	    "=Zm9", "Zg==Zg==", "Zm=v" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(base64_decode(bad[i], strlen(bad[i]), NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc4648_vectors),
		cmocka_unit_test(binary_round_trip),
		cmocka_unit_test(refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
