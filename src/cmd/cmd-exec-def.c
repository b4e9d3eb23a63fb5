/*
 * cmd-exec-def: `keeper exec-def FILE [--state S] [--repo DIR]`, the def
 * interpreter as a command (keeper(1) exec-def), and what the daemon
 * runs for every run (through keeper-exec, src/interp/keeper-exec.c).
 * It loads the def, fills in by hand what the daemon would set
 * (KEEPER_AGENT, KEEPER_STATE, ..., a data directory of its own), takes
 * the event descriptor from KEEPER_EVENT_FD, and calls exec_run()
 * (src/interp/interp.c); its exit status is the failed step's own.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "def.h"
#include "diag.h"
#include "exec.h"
#include "settings.h"
#include "util.h"

static void
exec_usage(FILE *f)
{
	fprintf(f, "usage: keeper exec-def FILE [--state STATE] [--repo DIR]\n");
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* The value in effect for name: cur, what the daemon (or the user) set
 * (settings.h read it), else val, which the steps then inherit. */
static const char *
env_default(const char *name, const char *cur, const char *val)
{
	if (cur != NULL)
		return cur;
	(void)setenv(name, val, 1);
	return val;
}

/* KEEPER_EVENT_FD's value, validated; -1 when absent or unusable. */
static int
event_fd_from_env(const char *v)
{
	char *end;
	long fd;

	if (v == NULL || v[0] == '\0')
		return -1;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno || *end != '\0' || fd < 0 || fd > INT_MAX ||
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1) {
		fprintf(stderr, "keeper exec-def: ignoring KEEPER_EVENT_FD=%s: "
		    "not an open descriptor\n", v);
		return -1;
	}
	return (int)fd;
}

int
cmd_exec_def(int argc, char **argv, const struct settings *settings)
{
	const char *file = NULL, *state = NULL, *repo_arg = NULL, *v;
	struct agent_def *def = NULL;
	struct exec_opts o;
	struct diag d = { 0 };
	char err[1024], *repo = NULL, *agent = NULL, *tmpdata = NULL, *p;
	char *run_id = NULL;
	int rc = 1, status, code = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			exec_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--state") == 0 ||
		    strcmp(argv[i], "--repo") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "keeper exec-def: %s needs a "
				    "value\n", argv[i]);
				exec_usage(stderr);
				return EXIT_USAGE;
			}
			if (argv[i][2] == 's')
				state = argv[++i];
			else
				repo_arg = argv[++i];
		} else if (strncmp(argv[i], "--state=", 8) == 0)
			state = argv[i] + 8;
		else if (strncmp(argv[i], "--repo=", 7) == 0)
			repo_arg = argv[i] + 7;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "keeper exec-def: unknown option '%s'\n",
			    argv[i]);
			exec_usage(stderr);
			return EXIT_USAGE;
		} else if (file == NULL)
			file = argv[i];
		else {
			fprintf(stderr, "keeper exec-def: one def at a time\n");
			exec_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (file == NULL) {
		exec_usage(stderr);
		return EXIT_USAGE;
	}
	/* Steps' pipes and files must never land on 0-2. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return 1;

	status = def_load(file, &def, &d);
	for (size_t i = 0; i < d.n; i++) {
		p = diag_format(&d.items[i]);
		fprintf(stderr, "%s\n", p);
		free(p);
	}
	if (status != 0 || def == NULL) {
		rc = EXIT_CONFIG;
		goto done;
	}
	if ((repo = realpath(repo_arg ? repo_arg : ".", NULL)) == NULL) {
		fprintf(stderr, "keeper exec-def: %s: %s\n",
		    repo_arg ? repo_arg : ".", strerror(errno));
		rc = EXIT_USAGE;
		goto done;
	}

	memset(&o, 0, sizeof(o));
	/* The daemon sets these; by hand, sane stand-ins. */
	p = strrchr(file, '/');
	agent = xstrdup(p ? p + 1 : file);
	if ((p = strrchr(agent, '.')) != NULL && strcmp(p, ".org") == 0)
		*p = '\0';
	o.agent = env_default("KEEPER_AGENT", settings->agent, agent);
	if (state)
		(void)setenv("KEEPER_STATE", state, 1);
	o.state = state ? state : env_default("KEEPER_STATE", settings->state,
	    "manual");
	o.hits = env_default("KEEPER_HITS", settings->hits, "0");
	(void)env_default("KEEPER_REPEAT", settings_get(settings,
	    "KEEPER_REPEAT"), "1");
	run_id = xasprintf("manual-%lld-%ld", (long long)util_now_ms(),
	    (long)getpid());
	(void)env_default("KEEPER_RUN_ID", settings->run_id, run_id);
	(void)env_default("KEEPER_REPO", settings->repo, repo);
	if (settings->data == NULL) {
		v = settings->tmpdir;
		tmpdata = xasprintf("%s/keeper-data-XXXXXX", v ? v : "/tmp");
		if (mkdtemp(tmpdata) == NULL) {
			fprintf(stderr, "keeper exec-def: cannot make a data "
			    "directory %s: %s\n", tmpdata, strerror(errno));
			free(tmpdata);
			tmpdata = NULL;
			goto done;
		}
		(void)setenv("KEEPER_DATA", tmpdata, 1);
	}

	o.repo = repo;
	o.settings = settings;
	o.event_fd = event_fd_from_env(settings->event_fd);
	/* Steps do not get the descriptor; a nested keeper must not write
	 * to whatever a step opens under that number. */
	(void)unsetenv("KEEPER_EVENT_FD");
	o.step_pattern = settings->step_pattern;
	o.thought_pattern = settings->thought_pattern;

	if (o.event_fd < 0)
		fprintf(stderr, "exec-def: %s as %s (state %s, hits %s) in %s\n",
		    file, o.agent, o.state, o.hits, repo);
	o.exit_code = &code;
	status = exec_run(def, &o, STDOUT_FILENO, err, sizeof(err));
	if (status == EXEC_OK || status == EXEC_NO_WORK) {
		if (o.event_fd < 0)
			fprintf(stderr, "exec-def: %s\n", status == EXEC_OK ?
			    "done" : "no_work");
		rc = 0;
	} else {
		/* Under a daemon the reason went as an event (event.h):
		 * the log stays the agent's own, its last line the step's. */
		if (o.event_fd < 0)
			fprintf(stderr, "keeper exec-def: %s\n", err[0] ? err :
			    "the run failed");
		if (o.event_fd < 0)
			fprintf(stderr, "exec-def: failed\n");
		/* The failed step's own status, so history shows what the
		 * agent's script said, not just that it failed. */
		rc = code > 0 && code < 256 ? code : 1;
	}
done:
	if (tmpdata) {
		(void)nftw(tmpdata, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmpdata);
	}
	free(agent);
	free(run_id);
	free(repo);
	def_free(def);
	diag_release(&d);
	return rc;
}
