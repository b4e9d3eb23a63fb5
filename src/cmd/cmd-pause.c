/*
 * cmd-pause: `keeper pause` and `keeper resume` (SPEC §5b), the
 * operator's hand on one member. With a daemon on the data directory the
 * request goes over keeper.sock and applies at once (the daemon keeps the
 * pause file); without one this command writes the pause file itself
 * (DATA/pause-NAME, store/statefile.h) and the next daemon reads it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cfg.h"
#include "cmd.h"
#include "crew.h"
#include "ctl.h"
#include "dur.h"
#include "fs.h"
#include "pause.h"
#include "preflight.h"
#include "settings.h"
#include "statefile.h"
#include "util.h"

static const char pause_usage[] =
    "usage: keeper pause NAME [--crew FILE] [--data DIR] [--for D] "
    "[--why TEXT]\n";
static const char resume_usage[] =
    "usage: keeper resume NAME [--crew FILE] [--data DIR]\n";

/* Without a daemon: the file, written atomically (resume removes it). */
static int
write_file(const char *data, const char *name, const struct pause *p,
    char *err, size_t errlen)
{
	char *path = statefile_path(data, SF_PAUSE, name), buf[512];
	int n, rc = 0;

	if (!p->on) {
		if (unlink(path) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
		}
	} else if (fs_mkdir_p(data) == -1) {
		snprintf(err, errlen, "data directory %s: %s", data,
		    strerror(errno));
		rc = -1;
	} else {
		n = statefile_format_pause(p, buf, sizeof(buf));
		rc = fs_write_atomic(path, buf, (size_t)n, err, errlen);
	}
	free(path);
	return rc;
}

/* What the daemon would have answered, for the same request. */
static void
say(const char *name, const struct pause *p, int was, const char *data)
{
	char d[32];
	int64_t now = util_now_ms();

	if (!p->on)
		printf("%s: %s\n", name, was ? "resumed" : "was not paused");
	else if (p->until_ms > 0)
		printf("%s: paused for %s%s%s\n", name, dur_format(p->until_ms -
		    now, d, sizeof(d)), *p->why ? ": " : "", p->why);
	else
		printf("%s: paused until resumed%s%s\n", name, *p->why ? ": " :
		    "", p->why);
	printf("(no daemon on %s: the next one reads it)\n", data);
}

static int
hands(int argc, char **argv, const struct settings *settings, int pause)
{
	const char *usage = pause ? pause_usage : resume_usage;
	struct args a;
	struct crew *c = NULL;
	struct pause p = { 0 };
	char *data = NULL, *req = NULL, err[512];
	const char *name;
	long holder;
	int rc, was;

	if ((rc = args_parse(argc, argv, usage, pause ? ARG_CREW ARG_DATA
	    ARG_FOR ARG_WHY : ARG_CREW ARG_DATA, &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind + 1 != argc) {
		fprintf(stderr, "keeper: %s wants one NAME\n%s", argv[0],
		    usage);
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (!cfg_name_ok(name, CREW_NAME_MAX)) {
		fprintf(stderr, "keeper: '%s' is not an agent name\n", name);
		return EXIT_USAGE;
	}
	if (a.o.crew == NULL && a.o.data == NULL && settings->data == NULL) {
		fprintf(stderr, "keeper: %s wants --crew or --data\n%s",
		    argv[0], usage);
		return EXIT_USAGE;
	}
	if (a.why != NULL && strlen(a.why) >= PAUSE_WHY_MAX) {
		fprintf(stderr, "keeper: --why is longer than %d bytes\n",
		    PAUSE_WHY_MAX - 1);
		return EXIT_USAGE;
	}
	if (a.for_set && a.for_ms == 0) {
		fprintf(stderr, "keeper: --for wants more than zero\n");
		return EXIT_USAGE;
	}
	if ((data = args_data_dir(&a, settings, &c)) == NULL)
		return EXIT_CONFIG;
	if (c != NULL && crew_find(c, name) == NULL) {
		fprintf(stderr, "keeper: no agent named '%s' in %s\n", name,
		    c->path);
		rc = EXIT_CONFIG;
		goto done;
	}
	if (pause)
		pause_set(&p, a.for_ms > 0 ? util_now_ms() + a.for_ms : 0,
		    a.why);
	if ((holder = preflight_lock_holder(data)) != 0) {
		/* The why is one line already (pause_set()). */
		req = pause ? xasprintf("pause %s %lld %s", name,
		    (long long)a.for_ms, p.why) : xasprintf("resume %s", name);
		rc = ctl_call(data, req, stdout);
		if (rc == -2) {
			fprintf(stderr, "keeper: the daemon hung up\n");
			rc = 1;
		}
		if (rc != -1)
			goto done;
		/* The lock's holder does not listen (a run-once without a
		 * daemon): the file, for the daemon that comes next. */
	}
	was = statefile_paused(data, name, util_now_ms(), NULL);
	if (write_file(data, name, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "keeper: %s\n", err);
		rc = 1;
		goto done;
	}
	say(name, &p, was, data);
	rc = 0;
done:
	free(req);
	free(data);
	if (c)
		crew_free(c);
	return rc;
}

int
cmd_pause(int argc, char **argv, const struct settings *settings)
{
	return hands(argc, argv, settings, 1);
}

int
cmd_resume(int argc, char **argv, const struct settings *settings)
{
	return hands(argc, argv, settings, 0);
}
