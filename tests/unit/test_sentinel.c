/*
 * test_sentinel: each self-check condition detected exactly, with time an
 * argument; the test-only fault switch fires once per named fault.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "sentinel.h"

#define NOW	1700000000000LL

static void
test_healthy_is_silent(void **state)
{
	struct sentinel_worker w[3] = {
		{ .idle = 1, .due_ms = NOW + 1000 },
		{ .running = 1, .deadline_ms = NOW + 5000, .holds_slot = 1 },
		{ .idle = 1, .due_ms = NOW - 1000 },	/* within grace */
	};
	struct sentinel_gate g = { .slots = 2, .used = 1 };
	struct sentinel_finding f[4];

	(void)state;
	assert_int_equal(sentinel_check(w, 3, &g, NOW, 2000, f, 4), 0);
}

static void
test_missed_timer(void **state)
{
	struct sentinel_worker w[2] = {
		{ .idle = 1, .due_ms = NOW - 2001 },
		{ .idle = 0, .due_ms = NOW - 9000 },	/* busy: not missed */
	};
	struct sentinel_finding f[4];

	(void)state;
	assert_int_equal(sentinel_check(w, 2, NULL, NOW, 2000, f, 4), 1);
	assert_int_equal(f[0].kind, SENT_MISSED_TIMER);
	assert_int_equal(f[0].worker, 0);
	assert_int_equal(f[0].late_ms, 2001);
	/* Exactly at the grace: not yet. */
	w[0].due_ms = NOW - 2000;
	assert_int_equal(sentinel_check(w, 2, NULL, NOW, 2000, f, 4), 0);
	/* Unscheduled (due 0): never. */
	w[0].due_ms = 0;
	assert_int_equal(sentinel_check(w, 2, NULL, NOW, 2000, f, 4), 0);
}

static void
test_overdue_run(void **state)
{
	struct sentinel_worker w[2] = {
		{ .running = 1, .deadline_ms = NOW - 3000, .holds_slot = 1 },
		{ .running = 1, .deadline_ms = 0 },	/* no deadline */
	};
	struct sentinel_gate g = { .slots = 2, .used = 1 };
	struct sentinel_finding f[4];

	(void)state;
	assert_int_equal(sentinel_check(w, 2, &g, NOW, 2000, f, 4), 1);
	assert_int_equal(f[0].kind, SENT_OVERDUE_RUN);
	assert_int_equal(f[0].worker, 0);
	assert_int_equal(f[0].late_ms, 3000);
}

static void
test_slots(void **state)
{
	struct sentinel_worker w[3] = {
		{ .running = 1, .holds_slot = 1 },
		{ .idle = 1 },
		{ .idle = 1 },
	};
	struct sentinel_gate g = { .slots = 2, .used = 2 };
	struct sentinel_finding f[4];

	(void)state;
	assert_int_equal(sentinel_check(w, 3, &g, NOW, 2000, f, 4), 1);
	assert_int_equal(f[0].kind, SENT_LEAKED_SLOT);
	assert_int_equal(f[0].slots, 1);
	g.used = 0;
	assert_int_equal(sentinel_check(w, 3, &g, NOW, 2000, f, 4), 1);
	assert_int_equal(f[0].kind, SENT_LOST_SLOT);
	assert_int_equal(f[0].slots, 1);
	/* No gate (singleton): slots are not counted. */
	g.slots = 0;
	assert_int_equal(sentinel_check(w, 3, &g, NOW, 2000, f, 4), 0);
}

static void
test_many_findings_counted_past_max(void **state)
{
	struct sentinel_worker w[3] = {
		{ .idle = 1, .due_ms = NOW - 10000 },
		{ .idle = 1, .due_ms = NOW - 10000 },
		{ .idle = 1, .due_ms = NOW - 10000 },
	};
	struct sentinel_finding f[2];

	(void)state;
	assert_int_equal(sentinel_check(w, 3, NULL, NOW, 2000, f, 2), 3);
	assert_int_equal(f[1].worker, 1);
}

static void
test_fault_once(void **state)
{
	(void)state;
	sentinel_faults(NULL);
	assert_int_equal(sentinel_fault("skip-timer"), 0);
	sentinel_faults("no-reap,skip-timer");
	assert_int_equal(sentinel_fault("leak-slot"), 0);
	assert_int_equal(sentinel_fault("skip"), 0);	/* whole names only */
	assert_int_equal(sentinel_fault("skip-timer"), 1);
	assert_int_equal(sentinel_fault("skip-timer"), 0);
	assert_int_equal(sentinel_fault("no-reap"), 1);
	assert_int_equal(sentinel_fault("no-reap"), 0);
	sentinel_faults(NULL);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(sentinel_kind_name(SENT_MISSED_TIMER),
	    "missed_timer");
	assert_string_equal(sentinel_kind_name(SENT_LEAKED_SLOT),
	    "leaked_slot");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy_is_silent),
		cmocka_unit_test(test_missed_timer),
		cmocka_unit_test(test_overdue_run),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_many_findings_counted_past_max),
		cmocka_unit_test(test_fault_once),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
