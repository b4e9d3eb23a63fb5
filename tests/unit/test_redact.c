/*
 * Unit tests for redact: every built-in pattern, crew patterns, merging,
 * ordinary text left alone, hostile input (invalid UTF-8, NUL bytes,
 * empty matches, 10 MB).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

/* Redact a C string with r (NULL: built-ins) and compare. */
static void
check(const struct redactor *r, const char *in, const char *want)
{
	size_t outlen;
	char *out = redact_apply(r, in, strlen(in), &outlen);

	if (strcmp(out, want) != 0)
		print_error("in:   %s\nwant: %s\ngot:  %s\n", in, want, out);
	assert_string_equal(out, want);
	assert_int_equal(outlen, strlen(want));
	free(out);
}

static void
test_api_keys(void **state)
{
	(void)state;
	check(NULL, "key sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD done",
	    "key [REDACTED] done");
	check(NULL, "OPENAI=sk-proj-Ab3dEfGh1jKlMnOpQrStUvWxYz_0123-xyz.",
	    "OPENAI=[REDACTED].");
	check(NULL, "use ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 now",
	    "use [REDACTED] now");
	check(NULL, "gho_16C7e42F292c6912E7710c838347Ae178B4a",
	    "[REDACTED]");
	check(NULL, "(github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv)",
	    "([REDACTED])");
	check(NULL, "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKl!",
	    "slack [REDACTED]!");
	check(NULL, "xoxp-1234-5678-abcdefABCDEF and xoxa-2-abcdef123456",
	    "[REDACTED] and [REDACTED]");
	check(NULL, "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc rk_test_"
	    "abcdefghijklmnop1", "stripe [REDACTED] [REDACTED]");
	check(NULL, "key=AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
	    "key=[REDACTED]");
	check(NULL, "HF hf_abcdefghijklmnopqrstuvwxyz0123456 ok",
	    "HF [REDACTED] ok");
	check(NULL, "glpat-xxxxxxxxxxxxxxxxxxxx!", "[REDACTED]!");
	check(NULL, "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
	    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
	    "jwt [REDACTED] end");
}

static void
test_aws(void **state)
{
	(void)state;
	check(NULL, "id AKIAIOSFODNN7EXAMPLE in log",
	    "id [REDACTED] in log");
	check(NULL, "ASIAY34FZKBOKMUTVV7A,", "[REDACTED],");
	check(NULL,
	    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
	    "aws_secret_access_key = [REDACTED]\n");
	check(NULL,
	    "export AWS_SECRET_ACCESS_KEY=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCY\"",
	    "export AWS_SECRET_ACCESS_KEY=\"[REDACTED]\"");
	/* Too short or lower case: not a key id. */
	check(NULL, "AKIA1234 akiaiosfodnn7example",
	    "AKIA1234 akiaiosfodnn7example");
}

static void
test_bearer(void **state)
{
	(void)state;
	check(NULL, "Authorization: Bearer eyJhbGciOi.J9eyJzdWIi.Ok4l5Xk\r\n",
	    "Authorization: Bearer [REDACTED]\r\n");
	check(NULL, "curl -H 'authorization: bearer abc123def456' x",
	    "curl -H 'authorization: bearer [REDACTED]' x");
	check(NULL, "Bearer abcdefghijklmnopqrstuvwxyzABC",
	    "Bearer [REDACTED]");
	check(NULL, "Authorization: Basic dXNlcjpwYXNzd29yZA==",
	    "Authorization: Basic [REDACTED]");
	/* Prose is not a token. */
	check(NULL, "the Bearer of bad news, bearer instruments",
	    "the Bearer of bad news, bearer instruments");
}

static void
test_assignments(void **state)
{
	(void)state;
	check(NULL, "password=hunter2", "password=[REDACTED]");
	check(NULL, "PASSWORD: hunter2 next", "PASSWORD: [REDACTED] next");
	check(NULL, "{\"password\": \"correct horse\", \"user\": \"bob\"}",
	    "{\"password\": \"[REDACTED]\", \"user\": \"bob\"}");
	check(NULL, "token='abc def'", "token='[REDACTED]'");
	check(NULL, "GITHUB_TOKEN=abc123;x=1", "GITHUB_TOKEN=[REDACTED];x=1");
	check(NULL, "https://h/cb?token=abc&state=9",
	    "https://h/cb?token=[REDACTED]&state=9");
	check(NULL, "Secret: s3cr3t", "Secret: [REDACTED]");
	check(NULL, "api_key=k1 apikey:k2 API-KEY = k3 x-api-key: k4",
	    "api_key=[REDACTED] apikey:[REDACTED] API-KEY = [REDACTED] "
	    "x-api-key: [REDACTED]");
	check(NULL, "PGPASSWORD=pw psql", "PGPASSWORD=[REDACTED] psql");
	check(NULL, "client_secret: cs-77", "client_secret: [REDACTED]");
	check(NULL, "KEEPER_LLM_KEY=abc OPENAI-KEY: d private_key=e",
	    "KEEPER_LLM_KEY=[REDACTED] OPENAI-KEY: [REDACTED] "
	    "private_key=[REDACTED]");
	check(NULL, "db: postgres://app:pa55w0rd@db.local/app",
	    "db: postgres://app:[REDACTED]@db.local/app");
}

static void
test_pem(void **state)
{
	(void)state;
	check(NULL,
	    "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n"
	    "-----END RSA PRIVATE KEY-----\nafter",
	    "before\n[REDACTED]\nafter");
	check(NULL,
	    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n"
	    "-----END OPENSSH PRIVATE KEY-----",
	    "[REDACTED]");
	/* Output cut short in the middle of a key: redact to the end. */
	check(NULL, "k:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN",
	    "k:\n[REDACTED]");
	/* A public key or certificate is not a secret. */
	check(NULL, "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
	    "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----");
}

static void
test_ordinary_text(void **state)
{
	const char *texts[] = {
		"skeleton crew, sk-8 park, risk-assessment-framework-v2",
		"the password is not written here",
		"password",
		"token count: 1532",
		"prompt_tokens: 12, completion_tokens: 40, total_tokens: 52",
		"Enter password:\nnext line",
		"secret agent, secretary, tokenizer=bpe",
		"ghp_short and AKIA alone",
		"task-0123456789-abcdefghij",
		"hf_model and glpat- and eyJ alone, AIza short",
		"key: value, monkey=3, keys=4, the key=door",
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		check(NULL, texts[i], texts[i]);
}

static void
test_custom_patterns(void **state)
{
	const char *extra[] = { "ACME-[0-9]{6}", "(?i)internal-[a-z]+" };
	char err[256];
	struct redactor *r;

	(void)state;
	r = redact_new(extra, 2, err, sizeof(err));
	assert_non_null(r);
	check(r, "ticket ACME-123456 and Internal-Wiki and ACME-12",
	    "ticket [REDACTED] and [REDACTED] and ACME-12");
	/* The built-ins stay on alongside the crew's patterns. */
	check(r, "password=x ACME-000001", "password=[REDACTED] [REDACTED]");
	redact_free(r);
}

static void
test_bad_pattern(void **state)
{
	const char *extra[] = { "ok[0-9]", "broken(unclosed" };
	const char *empty[] = { "" };
	char err[256] = "";
	struct redactor *r;

	(void)state;
	r = redact_new(extra, 2, err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "broken(unclosed"));
	assert_non_null(strstr(err, "redact pattern"));

	err[0] = '\0';
	assert_null(redact_new(empty, 1, err, sizeof(err)));
	assert_true(err[0] != '\0');
	/* Patterns match bytes; asking for UTF mode is refused, clearly. */
	{
		const char *utf[] = { "(*UTF)x" };

		err[0] = '\0';
		assert_null(redact_new(utf, 1, err, sizeof(err)));
		assert_non_null(strstr(err, "(*UTF)x"));
	}
}

static void
test_overlapping(void **state)
{
	/* The crew pattern overlaps the built-in assignment and key. */
	const char *extra[] = { "token=sk", "[0-9]{4}-[0-9]{4}",
	    "[0-9]{4}-[0-9]{4}-[0-9]{4}" };
	char err[256];
	struct redactor *r;

	(void)state;
	r = redact_new(extra, 3, err, sizeof(err));
	assert_non_null(r);
	check(r, "token=sk-abcdefghijklmnopqrst0123 rest",
	    "[REDACTED] rest");
	check(r, "card 1234-5678-9012-3456 end", "card [REDACTED] end");
	/* A value that is itself a key: one replacement, not two. */
	check(NULL, "OPENAI_API_KEY=sk-abcdefghijklmnopqrst0123",
	    "OPENAI_API_KEY=[REDACTED]");
	/* Key ids glued together are no longer words: left alone. */
	check(NULL, "AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPL2",
	    "AKIAIOSFODNN7EXAMPLEAKIAIOSFODNN7EXAMPL2");
	/* Two matches that touch merge into one marker. */
	check(r, "x 1111-2222token=sk y", "x [REDACTED] y");
	check(NULL, "AKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPL2",
	    "[REDACTED] [REDACTED]");
	redact_free(r);
}

static void
test_binary_input(void **state)
{
	static const char in[] =
	    "\xff\xfe garbage \xc3( password=hunter2\xff\xfe tail \x00 after"
	    " \x00token=t0k3n\x00 end \xe2\x82";
	static const char want[] =
	    "\xff\xfe garbage \xc3( password=[REDACTED] tail \x00 after"
	    " \x00token=[REDACTED]\x00 end \xe2\x82";
	size_t outlen;
	char *out;

	(void)state;
	out = redact_apply(NULL, in, sizeof(in) - 1, &outlen);
	assert_int_equal(outlen, sizeof(want) - 1);
	assert_memory_equal(out, want, outlen);
	assert_int_equal(out[outlen], '\0');
	free(out);
}

static void
test_empty_matches(void **state)
{
	const char *extra[] = { "x*", "(?=a)", "^", "$|y" };
	char err[256];
	struct redactor *r;

	(void)state;
	r = redact_new(extra, 4, err, sizeof(err));
	assert_non_null(r);
	check(r, "abxxcxy", "ab[REDACTED]c[REDACTED]");
	check(r, "", "");
	check(r, "aaa", "aaa");
	redact_free(r);
}

static void
test_fail_closed(void **state)
{
	/* A pattern that runs out of its match budget must not let the
	 * text through unchecked. */
	const char *extra[] = { "(*LIMIT_MATCH=50)(?:a|b|ab)+(?:c|d)" };
	char err[256];
	struct redactor *r;

	(void)state;
	r = redact_new(extra, 1, err, sizeof(err));
	assert_non_null(r);
	check(r, "abd fine", "[REDACTED] fine");
	check(r, "x ababababababababababababababab! password=1",
	    "[REDACTED]");
	redact_free(r);
}

static void
test_huge_input(void **state)
{
	const size_t n = 10u << 20;
	const char *secret = "password=hunter2 ";
	size_t outlen, slen = strlen(secret), i;
	char *in, *out;

	(void)state;
	/* Words and spaces, with a secret at the start, middle and end. */
	in = malloc(n);
	assert_non_null(in);
	for (i = 0; i < n; i++)
		in[i] = (i % 8 == 7) ? ' ' : "lorem ip"[i % 8];
	memcpy(in, secret, slen);
	memcpy(in + n / 2, secret, slen);
	memcpy(in + n - slen, secret, slen);
	out = redact_apply(NULL, in, n, &outlen);
	assert_int_equal(outlen, n + 3 * (strlen("[REDACTED]") -
	    strlen("hunter2")));
	assert_memory_equal(out, "password=[REDACTED]", 19);
	assert_memory_equal(out + outlen - 20, "password=[REDACTED] ", 20);
	assert_null(memmem(out, outlen, "hunter2", 7));
	free(out);

	/* One 10 MB word: no pattern may go quadratic on it. */
	memset(in, 'a', n);
	memcpy(in + n - slen, secret, slen);
	out = redact_apply(NULL, in, n, &outlen);
	assert_null(memmem(out, outlen, "hunter2", 7));
	free(out);
	free(in);
}

struct worker {
	const struct redactor	*r;
	int			 ok;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const char *in = "a ACME-111111 b token=zz9 c";
	int i;

	w->ok = 1;
	for (i = 0; i < 2000; i++) {
		char *out = redact_apply(w->r, in, strlen(in), NULL);

		if (strcmp(out, "a [REDACTED] b token=[REDACTED] c") != 0)
			w->ok = 0;
		free(out);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	const char *extra[] = { "ACME-[0-9]+" };
	struct worker w[4];
	pthread_t t[4];
	char err[256];
	struct redactor *r;
	int i;

	(void)state;
	r = redact_new(extra, 1, err, sizeof(err));
	assert_non_null(r);
	for (i = 0; i < 4; i++) {
		w[i].r = r;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main,
		    &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(w[i].ok);
	}
	redact_free(r);
	redact_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_keys),
		cmocka_unit_test(test_aws),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_assignments),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_ordinary_text),
		cmocka_unit_test(test_custom_patterns),
		cmocka_unit_test(test_bad_pattern),
		cmocka_unit_test(test_overlapping),
		cmocka_unit_test(test_binary_input),
		cmocka_unit_test(test_empty_matches),
		cmocka_unit_test(test_fail_closed),
		cmocka_unit_test(test_huge_input),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
