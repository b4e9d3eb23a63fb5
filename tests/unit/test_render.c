/*
 * render: what gets published, when, and that every served string went
 * through the redactor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render.h"
#include "util.h"

#define NOW	1000000000000LL

static const struct status_crew crew = { .name = "crew sk-CREW",
	.boot_ms = NOW - 3600000, .grace_ms = 60000 };

/* Replaces every "sk-" by "[REDACTED]"; counts the calls. */
static char *
fake_redact(void *arg, const char *text, size_t len)
{
	struct sb b = { 0 };
	int *calls = arg;

	(*calls)++;
	if (memmem(text, len, "sk-", 3) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (i + 3 <= len && memcmp(text + i, "sk-", 3) == 0) {
			sb_adds(&b, "[REDACTED]");
			i += 2;
		} else
			sb_addc(&b, text[i]);
	}
	return sb_detach(&b);
}

static struct agent_status
agent(const char *name)
{
	struct agent_status a = { 0 };

	a.name = name;
	a.state = "";
	a.last_run_ms = NOW - 1000;
	a.next_tick_ms = NOW + 59000;
	a.expected_gap_ms = 60000;
	a.last_outcome = OUTCOME_DONE;
	return a;
}

static void
test_publish_and_skip(void **state)
{
	struct snapshot_store *st = snapshot_store_new();
	struct render *p = render_new(st, NULL, NULL);
	struct agent_status a = agent("desk");
	struct snapshot *s;

	(void)state;
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW), 1);
	s = snapshot_acquire(st);
	assert_int_equal(s->version, 1);
	assert_int_equal(s->health_code, 200);
	assert_non_null(strstr(s->activity, "\"name\":\"desk\""));
	assert_string_equal(s->health,
	    "{\"status\":\"ok\",\"agents\":{\"desk\":\"ok\"}}");
	assert_non_null(strstr(s->changes, "\"commits\":[]"));
	snapshot_release(s);

	/* Only the clock moved: nothing to tell anyone. */
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW + 1000), 0);
	/* A run starts: published. */
	a.running = 1;
	a.run_started_ms = NOW + 2000;
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW + 2000), 1);
	s = snapshot_acquire(st);
	assert_int_equal(s->version, 2);
	assert_non_null(strstr(s->activity, "\"running\":true"));
	snapshot_release(s);
	/* Health decays with time alone: published when the verdict flips. */
	a.running = 0;
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW + 3000), 1);
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW + 89000), 0);
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW + 100000), 1);
	s = snapshot_acquire(st);
	assert_int_equal(s->health_code, 503);
	assert_non_null(strstr(s->health, "\"desk\":\"late\""));
	snapshot_release(s);

	/* New commits: published. */
	render_set_commits(p, json_loads("[{\"id\":\"c1\"}]", 0, NULL));
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW + 100000), 1);
	s = snapshot_acquire(st);
	assert_non_null(strstr(s->changes, "\"commits\":[{\"id\":\"c1\"}]"));
	snapshot_release(s);
	render_set_commits(p, json_string("not an array"));
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW + 100000), 1);
	s = snapshot_acquire(st);
	assert_non_null(strstr(s->changes, "\"commits\":[]"));
	snapshot_release(s);

	render_free(p);
	snapshot_store_free(st);
}

static void
test_everything_redacted(void **state)
{
	struct snapshot_store *st = snapshot_store_new();
	struct agent_status a = agent("desk");
	struct snapshot *s;
	struct render *p;
	int calls = 0;

	(void)state;
	p = render_new(st, fake_redact, &calls);
	a.thought = "my key is sk-live-123";
	a.error = "token sk-err";
	a.steps[0] = (struct status_line){ NOW, "curl -H sk-step" };
	a.nsteps = 1;
	a.running = 1;
	render_set_commits(p, json_loads("[{\"id\":\"c1\","
	    "\"subject\":\"desk: leaked sk-commit\"}]", 0, NULL));
	assert_int_equal(render_publish(p, &a, 1, &crew, NULL, NOW), 1);
	assert_true(calls > 0);
	s = snapshot_acquire(st);
	assert_null(strstr(s->activity, "sk-"));
	assert_null(strstr(s->health, "sk-"));
	assert_null(strstr(s->changes, "sk-"));
	assert_non_null(strstr(s->activity, "my key is [REDACTED]live-123"));
	assert_non_null(strstr(s->activity, "\"wire\":[{\"agent\":\"desk\","
	    "\"at\":1000000000000,\"text\":\"curl -H [REDACTED]step\"}]"));
	assert_non_null(strstr(s->changes, "leaked [REDACTED]commit"));
	snapshot_release(s);
	render_free(p);
	snapshot_store_free(st);
}

/* The snapshot carries /metrics and /_timeline; a change in them alone
 * (the tally's version) is published, the clock alone is not. */
static void
test_more_bodies(void **state)
{
	struct snapshot_store *st = snapshot_store_new();
	struct render *p = render_new(st, NULL, NULL);
	struct agent_status a = agent("desk");
	struct metrics_agent ma = { .name = "desk", .health = HEALTH_OK };
	struct metrics_crew mc = { .gate_slots = 2, .active = 1,
	    .boot_ms = NOW };
	struct render_more more = { .metrics = &ma, .crew = &mc,
	    .timeline = "{\"agents\":{}}", .timeline_len = 13, .version = 1 };
	struct snapshot *s;
	const char *m;
	size_t len;

	(void)state;
	ma.runs[OUTCOME_DONE] = 3;
	assert_int_equal(render_publish(p, &a, 1, &crew, &more, NOW), 1);
	/* The series were copied: what the caller changes after the publish
	 * is not what the snapshot renders. */
	ma.runs[OUTCOME_DONE] = 9;
	ma.name = "changed";
	s = snapshot_acquire(st);
	m = snapshot_metrics(s, &len);
	assert_non_null(strstr(m, "\nkeeper_runs_total{agent=\"desk\","
	    "outcome=\"done\"} 3\n"));
	assert_non_null(strstr(m, "\nkeeper_active 1\n"));
	assert_int_equal(len, strlen(m));
	/* Rendered once: a second reader gets the same text. */
	assert_ptr_equal(snapshot_metrics(s, &len), m);
	ma.name = "desk";
	assert_string_equal(s->timeline, "{\"agents\":{}}");
	snapshot_release(s);
	assert_int_equal(render_publish(p, &a, 1, &crew, &more, NOW + 10), 0);
	ma.runs[OUTCOME_DONE] = 4;
	more.version = 2;
	assert_int_equal(render_publish(p, &a, 1, &crew, &more, NOW + 20), 1);
	s = snapshot_acquire(st);
	assert_non_null(strstr(snapshot_metrics(s, &len),
	    "outcome=\"done\"} 4\n"));
	snapshot_release(s);
	render_free(p);
	snapshot_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_and_skip),
		cmocka_unit_test(test_more_bodies),
		cmocka_unit_test(test_everything_redacted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
