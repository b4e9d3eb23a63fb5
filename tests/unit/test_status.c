/*
 * status: health verdicts and the exact JSON of /_activity, /_health and
 * /_changes, at a fixed `now`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "status.c"

#define NOW	1000000000000LL		/* 2001-09-09T01:46:40Z */
#define SEC	1000LL

static const struct status_crew crew = { .name = "newsroom",
	.boot_ms = NOW - 3600 * SEC, .grace_ms = 60 * SEC };

static struct agent_status
idle_agent(const char *name)
{
	struct agent_status a = { 0 };

	a.name = name;
	a.state = "";
	a.last_run_ms = NOW - 10 * SEC;
	a.next_tick_ms = NOW + 50 * SEC;
	a.expected_gap_ms = 60 * SEC;
	a.last_outcome = OUTCOME_DONE;
	return a;
}

static void
assert_health(const struct agent_status *a, int64_t now, enum health want)
{
	enum health got = status_health(a, now, crew.boot_ms, crew.grace_ms);

	if (got != want)
		fail_msg("health %s, want %s", status_health_name(got),
		    status_health_name(want));
}

static void
test_health_thresholds(void **state)
{
	struct agent_status a = idle_agent("a");
	int64_t due = a.next_tick_ms;

	(void)state;
	assert_health(&a, NOW, HEALTH_OK);
	assert_health(&a, due + 30 * SEC, HEALTH_OK);	/* exactly half a gap */
	assert_health(&a, due + 30 * SEC + 1, HEALTH_LATE);
	assert_health(&a, due + 120 * SEC, HEALTH_LATE);	/* exactly 2 gaps */
	assert_health(&a, due + 120 * SEC + 1, HEALTH_STALE);
	/* Without a scheduled tick, due is last_run + gap. */
	a.next_tick_ms = 0;
	assert_health(&a, a.last_run_ms + 90 * SEC, HEALTH_OK);
	assert_health(&a, a.last_run_ms + 90 * SEC + 1, HEALTH_LATE);
	assert_health(&a, a.last_run_ms + 180 * SEC + 1, HEALTH_STALE);
	/* A tick under way is never late. */
	a.running = 1;
	assert_health(&a, NOW + 3600 * SEC, HEALTH_OK);
	a.running = 0;
	a.queue_place = 2;
	assert_health(&a, NOW + 3600 * SEC, HEALTH_OK);
	/* ... but three failures in a row are failing, running or not. */
	a.fail_streak = 3;
	assert_health(&a, NOW, HEALTH_FAILING);
	a.fail_streak = 2;
	a.queue_place = 0;
	assert_health(&a, a.last_run_ms + 1, HEALTH_OK);
	/* No gap known: no lateness. */
	a.expected_gap_ms = 0;
	assert_health(&a, NOW + 3600 * SEC, HEALTH_OK);
}

static void
test_health_slack(void **state)
{
	struct agent_status a = idle_agent("fast");

	(void)state;
	a.expected_gap_ms = 100;
	a.next_tick_ms = NOW;
	assert_health(&a, NOW + SEC, HEALTH_OK);
	assert_health(&a, NOW + SEC + 1, HEALTH_STALE);
}

static void
test_health_never(void **state)
{
	struct agent_status a = idle_agent("new");
	int64_t limit = crew.boot_ms + crew.grace_ms + 60 * SEC;

	(void)state;
	a.last_run_ms = 0;
	assert_health(&a, limit, HEALTH_OK);
	assert_health(&a, limit + 1, HEALTH_NEVER);
	a.running = 1;
	assert_health(&a, limit + 1, HEALTH_OK);
	a.running = 0;
	a.expected_gap_ms = 0;
	assert_health(&a, crew.boot_ms + crew.grace_ms + 1, HEALTH_NEVER);
}

static void
assert_json(json_t *v, const char *want)
{
	char *got = status_dump(v, NULL);

	json_decref(v);
	if (strcmp(got, want) != 0) {
		print_error("got  %s\nwant %s\n", got, want);
		free(got);
		fail();
	}
	free(got);
}

static const char *const states[] = { "wake_add", "rem" };

static void
two_agents(struct agent_status a[2])
{
	a[0] = idle_agent("desk");
	a[0].last_outcome = OUTCOME_NO_WORK;
	a[0].no_work_streak = 2;
	a[0].thought = "nothing new";
	a[0].schedule_text = "every 1m";
	a[0].steps[0] = (struct status_line){ NOW - 20 * SEC, "fetch" };
	a[0].steps[1] = (struct status_line){ NOW - 5 * SEC, "sort" };
	a[0].nsteps = 2;

	a[1] = idle_agent("wren");
	a[1].running = 1;
	a[1].run_started_ms = NOW - 8 * SEC;
	a[1].run_id = "7";
	a[1].last_commit = "0123abcd";
	a[1].git = "no change";
	a[1].next_tick_ms = 0;
	a[1].state = "wake_add";
	a[1].hits = 1;
	a[1].repeat = 3;
	a[1].states = states;
	a[1].nstates = 2;
	a[1].last_outcome = OUTCOME_NONE;
	a[1].steps[0] = (struct status_line){ NOW - 5 * SEC, "draft" };
	a[1].nsteps = 1;
}

#define DESK "{\"name\":\"desk\",\"running\":false,\"queue_place\":null," \
	"\"lifecycle\":{\"state\":null,\"hits\":0,\"repeat\":0,\"states\":[]}," \
	"\"steps\":[{\"at\":999999980000,\"text\":\"fetch\"}," \
	"{\"at\":999999995000,\"text\":\"sort\"}]," \
	"\"thought\":\"nothing new\",\"last_run\":999999990000," \
	"\"next_tick\":1000000050000,\"last_outcome\":\"no_work\"," \
	"\"no_work_streak\":2,\"health\":\"ok\",\"health_why\":null," \
	"\"paused\":null,\"retry\":null,\"priority\":null,\"tokens\":null," \
	"\"fail_streak\":0," \
	"\"gap\":60000,\"run_started\":null,\"run_id\":null," \
	"\"error\":null," \
	"\"last_commit\":null,\"git\":null,\"schedule_text\":\"every 1m\"," \
	"\"calendar\":null}"
#define WREN "{\"name\":\"wren\",\"running\":true,\"queue_place\":null," \
	"\"lifecycle\":{\"state\":\"wake_add\",\"hits\":1,\"repeat\":3," \
	"\"states\":[\"wake_add\",\"rem\"]}," \
	"\"steps\":[{\"at\":999999995000,\"text\":\"draft\"}]," \
	"\"thought\":null,\"last_run\":999999990000,\"next_tick\":null," \
	"\"last_outcome\":null,\"no_work_streak\":0,\"health\":\"ok\"," \
	"\"health_why\":null,\"paused\":null,\"retry\":null,\"priority\":null," \
	"\"tokens\":null,\"fail_streak\":0,\"gap\":60000," \
	"\"run_started\":999999992000,\"run_id\":\"7\"," \
	"\"error\":null,\"last_commit\":\"0123abcd\"," \
	"\"git\":\"no change\",\"schedule_text\":null,\"calendar\":null}"

/* two_agents() as /_activity shows them at NOW. */
#define TWO_AGENTS "{\"now\":1000000000000," \
	"\"crew\":{\"name\":\"newsroom\",\"error\":null," \
	"\"boot\":999996400000,\"notice\":null,\"history_error\":null}," \
	"\"agents\":[" DESK "," WREN "]," \
	"\"wire\":[{\"agent\":\"desk\",\"at\":999999995000,\"text\":\"sort\"}," \
	"{\"agent\":\"wren\",\"at\":999999995000,\"text\":\"draft\"}," \
	"{\"agent\":\"desk\",\"at\":999999980000,\"text\":\"fetch\"}]," \
	"\"agent\":" WREN "}"

static void
test_activity_exact(void **state)
{
	struct agent_status a[2];

	(void)state;
	two_agents(a);
	assert_json(status_activity(a, 2, &crew, NOW), TWO_AGENTS);
}

/* A clone renders exactly as its original, and owns every string: the
 * originals are scribbled over and the spec freed before it is used. */
static void
test_clone_is_deep(void **state)
{
	struct agent_status a[2], *c;
	struct lc_state ls[2] = { { .name = NULL }, { .name = NULL } };
	struct lc_spec spec = { .states = ls, .nstates = 2 };
	char *buf[10];

	(void)state;
	two_agents(a);
	buf[0] = strdup("desk");
	buf[1] = strdup("nothing new");
	buf[2] = strdup("fetch");
	buf[3] = strdup("0123abcd");
	buf[4] = strdup("no change");
	buf[5] = strdup("wake_add");
	buf[6] = strdup("wake_add");
	buf[7] = strdup("rem");
	buf[8] = strdup("every 1m");
	buf[9] = strdup("7");		/* the run in flight's id */
	a[0].name = buf[0];
	a[0].schedule_text = buf[8];
	a[0].thought = buf[1];
	a[0].steps[0].text = buf[2];
	a[1].last_commit = buf[3];
	a[1].git = buf[4];
	a[1].state = buf[5];
	a[1].run_id = buf[9];
	/* wren's states come from its spec, as worker_status() may give. */
	ls[0].name = buf[6];
	ls[1].name = buf[7];
	a[1].states = NULL;
	a[1].spec = &spec;
	c = status_clone(a, 2);
	for (size_t i = 0; i < 10; i++) {
		memset(buf[i], 'X', strlen(buf[i]));
		free(buf[i]);
	}
	assert_null(c[1].spec);
	assert_int_equal(c[1].nstates, 2);
	assert_json(status_activity(c, 2, &crew, NOW), TWO_AGENTS);
	free(c);
	free(status_clone(NULL, 0));	/* an empty crew clones too */
}

static void
test_activity_empty(void **state)
{
	(void)state;
	assert_json(status_activity(NULL, 0, &crew, NOW),
	    "{\"now\":1000000000000,"
	    "\"crew\":{\"name\":\"newsroom\",\"error\":null,"
	    "\"boot\":999996400000,\"notice\":null,\"history_error\":null},"
	    "\"agents\":[],\"wire\":[],\"agent\":null}");
}

static void
test_busiest_without_running(void **state)
{
	struct agent_status a[3];
	json_t *v;

	(void)state;
	two_agents(a);
	a[1].running = 0;
	a[2] = idle_agent("late");
	a[2].last_run_ms = NOW - SEC;
	a[0].last_run_ms = 0;
	v = status_activity(a, 3, &crew, NOW);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(v, "agent"), "name")), "late");
	json_decref(v);
	/* Two running: the one with the newest step. */
	two_agents(a);
	a[0].running = 1;
	a[0].run_started_ms = NOW - 30 * SEC;
	a[0].steps[1].at_ms = NOW - SEC;
	v = status_activity(a, 2, &crew, NOW);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(v, "agent"), "name")), "desk");
	json_decref(v);
}

static void
test_wire_bounded(void **state)
{
	struct agent_status a[12];
	char names[12][16];
	json_t *v, *w;

	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		a[i] = idle_agent(names[i]);
		for (int k = 0; k < STATUS_STEPS; k++)
			a[i].steps[k] = (struct status_line){
			    NOW - (int64_t)(i * 10 + k) * SEC, "x" };
		a[i].nsteps = STATUS_STEPS;
	}
	v = status_activity(a, 12, &crew, NOW);
	w = json_object_get(v, "wire");
	assert_int_equal(json_array_size(w), STATUS_WIRE);
	for (size_t i = 1; i < json_array_size(w); i++)
		assert_true(json_integer_value(json_object_get(json_array_get(
		    w, i - 1), "at")) >= json_integer_value(json_object_get(
		    json_array_get(w, i), "at")));
	json_decref(v);
}

static void
test_states_from_spec(void **state)
{
	struct lc_state ls[3] = { { .name = "wake" }, { .name = "audit" },
	    { .name = "rem" } };
	struct lc_spec spec = { .states = ls, .nstates = 3 };
	struct agent_status a = idle_agent("s");
	json_t *v;

	(void)state;
	a.state = "audit";
	a.spec = &spec;
	v = status_activity(&a, 1, &crew, NOW);
	assert_json(json_incref(json_object_get(json_array_get(json_object_get(
	    v, "agents"), 0), "lifecycle")),
	    "{\"state\":\"audit\",\"hits\":0,\"repeat\":0,"
	    "\"states\":[\"wake\",\"audit\",\"rem\"]}");
	json_decref(v);
}

static void
test_health_json_sentinel(void **state)
{
	struct status_sentinel sn = { 1, 2, 3, 4 };
	struct status_crew c = crew;
	int code = 0;

	(void)state;
	c.sentinel = &sn;
	assert_json(status_health_json(NULL, 0, &c, NOW, &code),
	    "{\"status\":\"ok\",\"agents\":{},\"sentinel\":"
	    "{\"missed_timer\":1,\"overdue_run\":2,\"leaked_slot\":3,"
	    "\"lost_slot\":4}}");
	assert_int_equal(code, 200);
}

static void
test_health_json(void **state)
{
	struct agent_status a[2];
	int code = 0;

	(void)state;
	two_agents(a);
	assert_json(status_health_json(a, 2, &crew, NOW, &code),
	    "{\"status\":\"ok\",\"agents\":{\"desk\":\"ok\",\"wren\":\"ok\"}}");
	assert_int_equal(code, 200);
	a[0].fail_streak = 4;
	assert_json(status_health_json(a, 2, &crew, NOW, &code),
	    "{\"status\":\"degraded\",\"agents\":"
	    "{\"desk\":\"failing\",\"wren\":\"ok\"}}");
	assert_int_equal(code, 503);
	assert_json(status_health_json(NULL, 0, &crew, NOW, &code),
	    "{\"status\":\"ok\",\"agents\":{}}");
	assert_int_equal(code, 200);
}

/* SPEC §12: with a lease /_health says the role and who is active; a
 * standby answers 200 whatever its members look like (they run
 * elsewhere), an active keeper as always. */
static void
test_health_json_roles(void **state)
{
	struct agent_status a[2];
	struct status_crew c = crew;
	json_t *act;
	int code = 0;

	(void)state;
	two_agents(a);
	a[0].fail_streak = 4;
	c.role = "standby";
	c.active = "{\"host\":\"b\",\"pid\":7}";
	assert_json(status_health_json(a, 2, &c, NOW, &code),
	    "{\"status\":\"standby\",\"role\":\"standby\",\"active\":"
	    "{\"host\":\"b\",\"pid\":7}}");
	assert_int_equal(code, 200);
	assert_true(status_standby(&c));
	c.role = "active";
	c.active = NULL;
	assert_json(status_health_json(a, 2, &c, NOW, &code),
	    "{\"status\":\"degraded\",\"agents\":{\"desk\":\"failing\","
	    "\"wren\":\"ok\"},\"role\":\"active\",\"active\":null}");
	assert_int_equal(code, 503);
	assert_false(status_standby(&c));
	act = status_activity(a, 2, &c, NOW);
	assert_string_equal(json_string_value(json_object_get(act, "role")),
	    "active");
	json_decref(act);
	/* Without a lease: neither key, as before. */
	act = status_activity(a, 2, &crew, NOW);
	assert_null(json_object_get(act, "role"));
	assert_null(json_object_get(act, "active"));
	json_decref(act);
}

static void
test_changes_json(void **state)
{
	struct agent_status a[2];
	json_t *commits = json_loads("[{\"id\":\"abc\",\"subject\":\"s\"}]",
	    0, NULL);

	(void)state;
	two_agents(a);
	a[0].queue_place = 1;
	assert_json(status_changes(commits, a, 2, &crew, NOW),
	    "{\"commits\":[{\"id\":\"abc\",\"subject\":\"s\"}],"
	    "\"keeper\":{\"status\":\"ok\",\"crew\":\"newsroom\","
	    "\"error\":null,\"agents\":2,\"running\":1,\"waiting\":1,"
	    "\"boot\":999996400000,\"now\":1000000000000}}");
	assert_json(status_changes(NULL, NULL, 0, &crew, NOW),
	    "{\"commits\":[],"
	    "\"keeper\":{\"status\":\"ok\",\"crew\":\"newsroom\","
	    "\"error\":null,\"agents\":0,\"running\":0,\"waiting\":0,"
	    "\"boot\":999996400000,\"now\":1000000000000}}");
}

/* A stand-in redactor: every "sk-" becomes "[R]" (the real one is PCRE2). */
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
			sb_adds(&b, "[R]");
			i += 2;
		} else
			sb_addc(&b, text[i]);
	}
	return sb_detach(&b);
}

static void
test_redact_walks_every_string(void **state)
{
	json_t *v = json_loads("{\"a\":\"key sk-1\",\"sk-k\":[1,\"sk-2\","
	    "{\"b\":null,\"c\":\"ok\"}],\"d\":true}", 0, NULL);
	int calls = 0;

	(void)state;
	status_redact_json(v, fake_redact, &calls);
	assert_int_equal(calls, 3);
	assert_json(v, "{\"a\":\"key [R]1\",\"sk-k\":[1,\"[R]2\","
	    "{\"b\":null,\"c\":\"ok\"}],\"d\":true}");
}

static void
test_invalid_utf8(void **state)
{
	struct agent_status a = idle_agent("bin");
	json_t *v;
	char *s;

	(void)state;
	a.thought = "ok \xff\xc0\x80 \xe2\x82\xac";
	a.steps[0] = (struct status_line){ NOW, "line\nwith \"quotes\"" };
	a.nsteps = 1;
	v = status_activity(&a, 1, &crew, NOW);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(v, "agents"), 0), "thought")),
	    "ok \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xe2\x82\xac");
	s = status_dump(v, NULL);
	assert_null(strchr(s, '\n'));	/* one line: safe as an SSE data: */
	free(s);
	json_decref(v);
}

/* Walks time forward by status_health_next() and checks that the verdict
 * never changes between two of its answers, and does change at each. */
static void
walk_next(struct agent_status *a, int64_t from, int changes_wanted)
{
	int64_t now = from, next;
	int changes = 0;

	while ((next = status_health_next(a, now, crew.boot_ms,
	    crew.grace_ms)) != 0) {
		assert_true(next > now);
		assert_int_equal(status_health(a, next - 1, crew.boot_ms,
		    crew.grace_ms), status_health(a, now, crew.boot_ms,
		    crew.grace_ms));
		if (status_health(a, next, crew.boot_ms, crew.grace_ms) !=
		    status_health(a, next - 1, crew.boot_ms, crew.grace_ms))
			changes++;
		now = next;
	}
	assert_int_equal(changes, changes_wanted);
}

static void
test_health_next(void **state)
{
	struct agent_status a = idle_agent("wren");

	(void)state;
	/* ok -> late -> stale, then nothing more by time alone. */
	walk_next(&a, NOW, 2);
	assert_int_equal(status_health(&a, NOW + 50 * SEC + 2 * 60 * SEC + 1,
	    crew.boot_ms, crew.grace_ms), HEALTH_STALE);
	/* A gap shorter than the slack: straight from ok to stale. */
	a.expected_gap_ms = 400;
	a.next_tick_ms = NOW + 100;
	walk_next(&a, NOW, 1);
	assert_int_equal(status_health(&a, NOW + 100 + 1001, crew.boot_ms,
	    crew.grace_ms), HEALTH_STALE);
	/* Running, waiting or failing: only an event changes the verdict. */
	a = idle_agent("wren");
	a.running = 1;
	assert_int_equal(status_health_next(&a, NOW, crew.boot_ms,
	    crew.grace_ms), 0);
	a.running = 0;
	a.fail_streak = 3;
	assert_int_equal(status_health_next(&a, NOW, crew.boot_ms,
	    crew.grace_ms), 0);
	/* Never run: "never" once grace and the first gap are over. */
	a = idle_agent("new");
	a.last_run_ms = 0;
	walk_next(&a, crew.boot_ms, 1);
}

/* Issue 20: failures that never reached health. Commits that fail three
 * runs in a row make the agent failing, with git's note as the reason; a
 * history that cannot be written makes the crew degraded (503), with the
 * rows that wait for it; a notice (a damaged history moved aside) is
 * shown and changes nothing else. */
static void
test_failures_reach_health(void **state)
{
	struct agent_status a[2];
	struct status_crew c = crew;
	json_t *h;
	int code;

	(void)state;
	two_agents(a);
	a[0].git_fail_streak = 2;
	a[0].git = "commit failed: index.lock exists";
	assert_health(&a[0], NOW, HEALTH_OK);
	assert_null(status_health_why(&a[0]));
	a[0].git_fail_streak = 3;
	assert_health(&a[0], NOW, HEALTH_FAILING);
	assert_string_equal(status_health_why(&a[0]),
	    "commit failed: index.lock exists");
	h = status_health_json(a, 2, &c, NOW, &code);
	assert_int_equal(code, 503);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    h, "why"), "desk")), "commit failed: index.lock exists");
	json_decref(h);
	/* keeper status says it from the first such run on. */
	a[0].git_fail_streak = 1;
	h = status_cli(a, 2, &c, 0, "/d");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(h, "agents"), 0), "git_problem")),
	    "commit failed: index.lock exists");
	assert_null(json_object_get(json_array_get(json_object_get(h,
	    "agents"), 1), "git_problem"));
	json_decref(h);
	a[0].git_fail_streak = 0;
	h = status_cli(a, 2, &c, 0, "/d");
	assert_null(json_object_get(json_array_get(json_object_get(h,
	    "agents"), 0), "git_problem"));
	json_decref(h);
	c.history_error = "database or disk is full";
	c.history_waiting = 7;
	h = status_health_json(a, 2, &c, NOW, &code);
	assert_int_equal(code, 503);
	assert_string_equal(json_string_value(json_object_get(h, "status")),
	    "degraded");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    h, "history"), "waiting")), 7);
	json_decref(h);
	c.history_error = NULL;
	c.notice = "the history was corrupt: moved aside";
	h = status_health_json(a, 2, &c, NOW, &code);
	assert_int_equal(code, 200);
	assert_non_null(json_object_get(h, "notice"));
	json_decref(h);
}

/* SPEC §5b, §10: a paused agent is "paused", whatever else it is, and
 * does not make /_health 503; its pause ends on its own at until. */
static void
test_paused(void **state)
{
	struct agent_status a[2];
	json_t *v, *ag;
	int code = 0;

	(void)state;
	a[0] = idle_agent("desk");
	a[0].next_tick_ms = 0;
	a[0].last_run_ms = NOW - 3600 * SEC;	/* stale, if not paused */
	a[0].fail_streak = 5;
	a[0].paused = 1;
	a[0].paused_until_ms = 0;
	a[0].paused_why = "deploy freeze";
	a[1] = idle_agent("wren");
	assert_health(&a[0], NOW, HEALTH_PAUSED);
	assert_int_equal(status_health_next(&a[0], NOW, crew.boot_ms,
	    crew.grace_ms), 0);
	assert_json(status_health_json(a, 2, &crew, NOW, &code),
	    "{\"status\":\"ok\",\"agents\":{\"desk\":\"paused\","
	    "\"wren\":\"ok\"}}");
	assert_int_equal(code, 200);
	v = status_activity(a, 2, &crew, NOW);
	ag = json_array_get(json_object_get(v, "agents"), 0);
	assert_json(json_incref(json_object_get(ag, "paused")),
	    "{\"until\":null,\"why\":\"deploy freeze\"}");
	assert_string_equal(json_string_value(json_object_get(ag, "health")),
	    "paused");
	json_decref(v);
	/* For a while: until then, and an ordinary verdict after it. */
	a[0].paused_until_ms = NOW + 90 * SEC;
	a[0].fail_streak = 0;
	a[0].next_tick_ms = NOW + 100 * SEC;
	assert_health(&a[0], NOW + 90 * SEC - 1, HEALTH_PAUSED);
	assert_int_equal(status_health_next(&a[0], NOW, crew.boot_ms,
	    crew.grace_ms), NOW + 90 * SEC);
	assert_health(&a[0], NOW + 90 * SEC, HEALTH_OK);
	v = status_activity(a, 2, &crew, NOW + 90 * SEC);
	assert_true(json_is_null(json_object_get(json_array_get(
	    json_object_get(v, "agents"), 0), "paused")));
	json_decref(v);
	/* The CLI's document: as its filler saw it. */
	v = status_cli(a, 1, NULL, 0, "/d");
	assert_json(json_incref(json_object_get(json_array_get(
	    json_object_get(v, "agents"), 0), "paused")),
	    "{\"until\":1000000090000,\"why\":\"deploy freeze\"}");
	json_decref(v);
	/* Failing and not paused: 503 as before. */
	a[0].paused = 0;
	a[0].fail_streak = 3;
	json_decref(status_health_json(a, 2, &crew, NOW, &code));
	assert_int_equal(code, 503);
}

static void
test_retry_priority_tokens(void **state)
{
	struct agent_status a = idle_agent("desk"), *c;
	json_t *v, *ag;
	char why[] = "token budget", prio[] = "A";

	(void)state;
	a.retry_attempt = 1;
	a.retry_of = 2;
	a.priority = prio;
	a.token_budget = 100;
	a.token_window_ms = 86400 * SEC;
	a.tokens_used = 120;
	a.paused = 1;
	a.paused_until_ms = NOW + SEC;
	a.paused_why = why;
	c = status_clone(&a, 1);
	memset(why, 'X', sizeof(why) - 1);
	prio[0] = 'X';
	v = status_activity(c, 1, &crew, NOW);
	ag = json_array_get(json_object_get(v, "agents"), 0);
	assert_json(json_incref(json_object_get(ag, "retry")),
	    "{\"attempt\":1,\"of\":2}");
	assert_json(json_incref(json_object_get(ag, "tokens")),
	    "{\"used\":120,\"budget\":100,\"window\":86400000}");
	assert_json(json_incref(json_object_get(ag, "paused")),
	    "{\"until\":1000000001000,\"why\":\"token budget\"}");
	assert_string_equal(json_string_value(json_object_get(ag,
	    "priority")), "A");
	json_decref(v);
	v = status_cli(c, 1, NULL, 0, "/d");
	ag = json_array_get(json_object_get(v, "agents"), 0);
	assert_json(json_incref(json_object_get(ag, "tokens")),
	    "{\"used\":120,\"budget\":100,\"window\":86400000}");
	assert_json(json_incref(json_object_get(ag, "retry")),
	    "{\"attempt\":1,\"of\":2}");
	json_decref(v);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_thresholds),
		cmocka_unit_test(test_health_json_roles),
		cmocka_unit_test(test_health_slack),
		cmocka_unit_test(test_health_never),
		cmocka_unit_test(test_health_next),
		cmocka_unit_test(test_activity_exact),
		cmocka_unit_test(test_paused),
		cmocka_unit_test(test_retry_priority_tokens),
		cmocka_unit_test(test_activity_empty),
		cmocka_unit_test(test_busiest_without_running),
		cmocka_unit_test(test_wire_bounded),
		cmocka_unit_test(test_states_from_spec),
		cmocka_unit_test(test_health_json),
		cmocka_unit_test(test_health_json_sentinel),
		cmocka_unit_test(test_changes_json),
		cmocka_unit_test(test_redact_walks_every_string),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_clone_is_deep),
		cmocka_unit_test(test_failures_reach_health),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
