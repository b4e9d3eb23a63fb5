/*
 * settings: each variable to its field, empty as unset, the switches'
 * rules (gitops's old name, the zygote's default), and copies that
 * outlive the environment they came from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "settings.h"

static void
fields(void **state)
{
	char a[] = "KEEPER_DATA=/var/lib/k", b[] = "KEEPER_LLM_URL=http://x/v1";
	char c[] = "KEEPER_ALERT_URL=", d[] = "KEEPER_DATAX=no";
	char e[] = "HOME=/root", f[] = "KEEPER_TEST_FAULT=skip-timer";
	char *envp[] = { d, a, b, c, e, f, NULL };
	struct settings s;

	(void)state;
	settings_read(&s, envp);
	assert_string_equal(s.data, "/var/lib/k");
	assert_string_equal(s.llm_url, "http://x/v1");
	assert_null(s.alert_url);		/* empty is unset */
	assert_string_equal(s.home, "/root");
	assert_string_equal(s.test_fault, "skip-timer");
	assert_null(s.llm_key);
	memset(a, 'x', sizeof(a) - 1);		/* copies, not pointers */
	assert_string_equal(s.data, "/var/lib/k");
	assert_int_equal(s.zygote, 1);
	assert_int_equal(s.gitops, 0);
	assert_int_equal(s.test_render_thread, 0);
	settings_release(&s);
	assert_null(s.data);
}

static void
switches(void **state)
{
	char g0[] = "KEEPER_GITOPS=0", w1[] = "WB_GITOPS=1";
	char g1[] = "KEEPER_GITOPS=1", p1[] = "KEEPER_GITPUSH=1";
	char z0[] = "KEEPER_ZYGOTE=0", t[] = "KEEPER_TEST_RENDER_THREAD=1";
	char l[] = "KEEPER_LEASE=http://127.0.0.1:2379,http://10.0.0.2:2379";
	char *old[] = { w1, NULL }, *both[] = { g0, w1, NULL };
	char *on[] = { g1, p1, z0, t, l, NULL };
	struct settings s;

	(void)state;
	settings_read(&s, old);
	assert_int_equal(s.gitops, 1);		/* the old name still works */
	settings_release(&s);
	settings_read(&s, both);
	assert_int_equal(s.gitops, 0);		/* KEEPER_GITOPS decides */
	settings_release(&s);
	settings_read(&s, on);
	assert_int_equal(s.gitops, 1);
	assert_int_equal(s.gitpush, 1);
	assert_int_equal(s.zygote, 0);
	assert_int_equal(s.test_render_thread, 1);
	assert_string_equal(s.lease,
	    "http://127.0.0.1:2379,http://10.0.0.2:2379");
	settings_release(&s);
	settings_read(&s, NULL);
	assert_int_equal(s.zygote, 1);
	assert_null(s.lease);
	settings_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fields),
		cmocka_unit_test(switches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
