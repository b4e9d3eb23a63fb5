/*
 * settings: every environment variable keeper reads, read once, at the
 * start of the process, from its environment (settings_read() takes the
 * environment as an argument, so the rules are testable). Nothing else
 * calls getenv(): a module that needs a setting is handed this struct.
 *
 * keeper itself reads the daemon's settings; keeper-exec and `keeper
 * exec-def`, the def interpreter a run is, read what the daemon puts in a
 * run's environment (SPEC §6) and the LLM settings.
 *
 * Ownership: settings_read() copies every string it keeps (a later
 * unsetenv() cannot pull them away); settings_release() frees them. An
 * unset or empty variable is NULL.
 */
#ifndef KEEPER_SETTINGS_H
#define KEEPER_SETTINGS_H

struct settings {
	/* Where state lives (SPEC §8) and the process's own. */
	char	*data;			/* KEEPER_DATA */
	char	*xdg_state_home;	/* XDG_STATE_HOME */
	char	*home;			/* HOME */
	char	*tmpdir;		/* TMPDIR */
	char	*path;			/* PATH */
	/* TZ, the machine's zone for calendar members (SPEC §5a): unlike
	 * the rest, an empty TZ is kept as "" (it means UTC), NULL unset. */
	char	*tz;

	/* Git (SPEC §7). */
	int	 gitops;		/* KEEPER_GITOPS=1 (or WB_GITOPS=1) */
	int	 gitpush;		/* KEEPER_GITPUSH=1 */
	char	*lease;			/* KEEPER_LEASE: etcd URLs (SPEC §12) */

	/* Runs: 0 when KEEPER_ZYGOTE=0 (every run spawned, none forked
	 * by the warm interpreter). */
	int	 zygote;
	/* 0 when KEEPER_DIRECT=0: a def that is one sh or bash step runs
	 * through the interpreter too, not as that shell directly. */
	int	 direct;

	/* Alerts (keeper(1) ALERTS). */
	char	*alert_url;		/* KEEPER_ALERT_URL */
	char	*alert_after;		/* KEEPER_ALERT_AFTER */
	char	*alert_gap;		/* KEEPER_ALERT_GAP */
	char	*alert_format;		/* KEEPER_ALERT_FORMAT */

	/* LLM steps (SPEC §6). */
	char	*llm_url;		/* KEEPER_LLM_URL */
	char	*llm_key;		/* KEEPER_LLM_KEY */
	char	*llm_model;		/* KEEPER_LLM_MODEL */

	/* systemd (keeper(1) SYSTEMD). */
	char	*notify_socket;		/* NOTIFY_SOCKET */
	char	*watchdog_usec;		/* WATCHDOG_USEC */
	char	*watchdog_pid;		/* WATCHDOG_PID */
	char	*journal_stream;	/* JOURNAL_STREAM */

	/* A run's own, set by the daemon for the def interpreter. */
	char	*agent;			/* KEEPER_AGENT */
	char	*state;			/* KEEPER_STATE */
	char	*hits;			/* KEEPER_HITS */
	char	*repo;			/* KEEPER_REPO */
	char	*run_id;		/* KEEPER_RUN_ID */
	char	*event_fd;		/* KEEPER_EVENT_FD */
	char	*step_pattern;		/* KEEPER_STEP_PATTERN */
	char	*thought_pattern;	/* KEEPER_THOUGHT_PATTERN */
	char	*redact;		/* KEEPER_REDACT: patterns, one a line */

	/* TEST-ONLY hooks, never set in production. */
	char	*test_fault;		/* KEEPER_TEST_FAULT (sentinel.h) */
	int	 test_render_thread;	/* KEEPER_TEST_RENDER_THREAD set */

	/* The environment itself, borrowed, for a variable a def names
	 * (:if-env NAME): settings_get(). */
	char	*const *envp;
};

/* Fill s from envp (a NULL-terminated "NAME=VALUE" array, environ, which
 * must outlive s for settings_get()). */
void	 settings_read(struct settings *, char *const *envp);
/* Variable name's value in the environment s was read from, NULL when
 * unset or empty. */
const char *settings_get(const struct settings *, const char *name);
void	 settings_release(struct settings *);

#endif
