/*
 * settings: see settings.h. One table maps each variable to its field.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "util.h"

#define STR(name, field)	{ name, offsetof(struct settings, field) }

static const struct {
	const char	*name;
	size_t		 off;
} strs[] = {
	STR("KEEPER_DATA", data),
	STR("XDG_STATE_HOME", xdg_state_home),
	STR("HOME", home),
	STR("TMPDIR", tmpdir),
	STR("PATH", path),
	STR("KEEPER_ALERT_URL", alert_url),
	STR("KEEPER_ALERT_AFTER", alert_after),
	STR("KEEPER_ALERT_GAP", alert_gap),
	STR("KEEPER_ALERT_FORMAT", alert_format),
	STR("KEEPER_LLM_URL", llm_url),
	STR("KEEPER_LLM_KEY", llm_key),
	STR("KEEPER_LLM_MODEL", llm_model),
	STR("NOTIFY_SOCKET", notify_socket),
	STR("WATCHDOG_USEC", watchdog_usec),
	STR("WATCHDOG_PID", watchdog_pid),
	STR("JOURNAL_STREAM", journal_stream),
	STR("KEEPER_AGENT", agent),
	STR("KEEPER_STATE", state),
	STR("KEEPER_HITS", hits),
	STR("KEEPER_REPO", repo),
	STR("KEEPER_RUN_ID", run_id),
	STR("KEEPER_EVENT_FD", event_fd),
	STR("KEEPER_STEP_PATTERN", step_pattern),
	STR("KEEPER_THOUGHT_PATTERN", thought_pattern),
	STR("KEEPER_REDACT", redact),
	STR("KEEPER_TEST_FAULT", test_fault),
	STR("KEEPER_LEASE", lease),
};

/* The value of name in envp, or NULL (unset or empty). */
static const char *
lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return (*envp)[n + 1] ? *envp + n + 1 : NULL;
	return NULL;
}

static int
is_one(const char *v)
{
	return v != NULL && strcmp(v, "1") == 0;
}

void
settings_read(struct settings *s, char *const *envp)
{
	const char *v;

	memset(s, 0, sizeof(*s));
	s->envp = envp;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if ((v = lookup(envp, strs[i].name)) != NULL)
			*(char **)((char *)s + strs[i].off) = xstrdup(v);
	/* KEEPER_GITOPS decides when set; WB_GITOPS is the old name. */
	v = lookup(envp, "KEEPER_GITOPS");
	s->gitops = is_one(v != NULL ? v : lookup(envp, "WB_GITOPS"));
	s->gitpush = is_one(lookup(envp, "KEEPER_GITPUSH"));
	v = lookup(envp, "KEEPER_ZYGOTE");
	s->zygote = v == NULL || strcmp(v, "0") != 0;
	v = lookup(envp, "KEEPER_DIRECT");
	s->direct = v == NULL || strcmp(v, "0") != 0;
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, "TZ=", 3) == 0) {
			s->tz = xstrdup(*e + 3);
			break;
		}
	s->test_render_thread = lookup(envp, "KEEPER_TEST_RENDER_THREAD") !=
	    NULL;
}

const char *
settings_get(const struct settings *s, const char *name)
{
	return lookup(s->envp, name);
}

void
settings_release(struct settings *s)
{
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*(char **)((char *)s + strs[i].off));
	free(s->tz);
	memset(s, 0, sizeof(*s));
}
