/*
 * cli: the daemon-facing subcommands (SPEC §9): run, run-once, status and
 * history. Each parses its own flags with getopt_long, prints usage to
 * stderr and returns 64 on a usage error, and keeps effects in daemon.c,
 * store.c and statefile.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "crew.h"
#include "daemon.h"
#include "diag.h"
#include "dur.h"
#include "log.h"
#include "statefile.h"
#include "store.h"
#include "util.h"

static const char run_usage[] =
    "usage: keeper run (--crew FILE | --def FILE [--lifecycle FILE] "
    "[--interval D] [--timeout D] [--boot-grace D]) [--repo DIR] "
    "[--data DIR] [--listen ADDR:PORT] [-v]\n";
static const char once_usage[] =
    "usage: keeper run-once NAME [--crew FILE] [--data DIR] [--repo DIR] | "
    "keeper run-once --def FILE [--lifecycle FILE] [--data DIR]\n";
static const char status_usage[] =
    "usage: keeper status [--crew FILE] [--data DIR] [--json]\n";
static const char history_usage[] =
    "usage: keeper history [NAME] [--crew FILE] [--data DIR] [--limit N] "
    "[--json]\n";

struct args {
	struct daemon_opts	 o;
	int			 json, verbose, limit;
	const char		*name;
};

enum { O_CREW = 256, O_DEF, O_LIFECYCLE, O_INTERVAL, O_TIMEOUT, O_REPO,
	O_DATA, O_LISTEN, O_JSON, O_LIMIT, O_HELP, O_BOOT_GRACE };

static const struct option longopts[] = {
	{ "crew", required_argument, NULL, O_CREW },
	{ "def", required_argument, NULL, O_DEF },
	{ "lifecycle", required_argument, NULL, O_LIFECYCLE },
	{ "interval", required_argument, NULL, O_INTERVAL },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "repo", required_argument, NULL, O_REPO },
	{ "data", required_argument, NULL, O_DATA },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "json", no_argument, NULL, O_JSON },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "help", no_argument, NULL, O_HELP },
	{ "boot-grace", required_argument, NULL, O_BOOT_GRACE },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 }
};

/* 0 ok, 1 --help shown, -1 usage error (hint printed). allowed is the
 * set of long options this command takes, as a string of their codes. */
static int
parse(int argc, char **argv, const char *usage, const char *allowed,
    struct args *a)
{
	int c;
	char *end;

	memset(a, 0, sizeof(*a));
	a->limit = 20;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		if (c == 'h' || c == O_HELP) {
			fputs(usage, stdout);
			printf("see keeper(1) for the details\n");
			return 1;
		}
		if (c >= O_CREW && !strchr(allowed, c - O_CREW + 'a'))
			goto bad;
		switch (c) {
		case 'v': a->verbose++; break;
		case O_CREW: a->o.crew = optarg; break;
		case O_DEF: a->o.def = optarg; break;
		case O_LIFECYCLE: a->o.lifecycle = optarg; break;
		case O_INTERVAL:
			if (dur_parse(optarg, &a->o.interval_ms) == -1)
				goto baddur;
			break;
		case O_TIMEOUT:
			if (dur_parse(optarg, &a->o.timeout_ms) == -1)
				goto baddur;
			break;
		case O_BOOT_GRACE:
			if (dur_parse(optarg, &a->o.boot_grace_ms) == -1)
				goto baddur;
			a->o.boot_grace_set = 1;
			break;
		case O_REPO: a->o.repo = optarg; break;
		case O_DATA: a->o.data = optarg; break;
		case O_LISTEN: a->o.listen = optarg; break;
		case O_JSON: a->json = 1; break;
		case O_LIMIT:
			a->limit = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || a->limit < 0) {
				fprintf(stderr, "keeper: --limit wants a "
				    "number, not '%s'\n", optarg);
				return -1;
			}
			break;
		default:
			goto bad;
		}
	}
	return 0;
baddur:
	fprintf(stderr, "keeper: '%s' is not a duration (90s, 15m, 1h30m, "
	    "250ms)\n", optarg);
	return -1;
bad:
	fprintf(stderr, "keeper: unknown option '%s'\n%s", argv[optind - 1],
	    usage);
	return -1;
}

/* The data dir the flags name; the crew is loaded only to learn its title
 * for the default. NULL with a message printed when the crew is broken. */
static char *
data_dir(const struct args *a, struct crew **crewp)
{
	struct diag dg = { 0 };
	struct crew *c = NULL;
	char *msg, *d;

	*crewp = NULL;
	if (a->o.crew) {
		if (crew_load(a->o.crew, &c, &dg) == -1 || c == NULL) {
			msg = diag_first_error(&dg);
			fprintf(stderr, "keeper: %s\n", msg ? msg :
			    "invalid crew");
			free(msg);
			diag_release(&dg);
			return NULL;
		}
	} else if (a->o.def) {
		c = crew_singleton(a->o.def, a->o.lifecycle, a->o.interval_ms,
		    a->o.timeout_ms);
	}
	diag_release(&dg);
	d = daemon_data_dir(a->o.data, c && c->title ? c->title : "keeper");
	*crewp = c;
	return d;
}

int
cmd_run(int argc, char **argv)
{
	struct args a;
	struct daemon *d;
	char err[1024];
	int rc;

	if ((rc = parse(argc, argv, run_usage, "abcdefghl", &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind != argc) {
		fprintf(stderr, "keeper: unexpected '%s'\n%s", argv[optind],
		    run_usage);
		return EXIT_USAGE;
	}
	if (a.o.crew == NULL && a.o.def == NULL) {
		fprintf(stderr, "keeper: --crew FILE or --def FILE is "
		    "required\n%s", run_usage);
		return EXIT_USAGE;
	}
	if (a.o.crew)
		a.o.def = NULL;		/* a crew takes precedence */
	log_init(a.verbose);
	a.o.listen = a.o.listen ? a.o.listen : "127.0.0.1:8080";
	if ((rc = daemon_open(&a.o, &d, err, sizeof(err))) != 0) {
		fprintf(stderr, "keeper: %s\n", err);
		return rc;
	}
	rc = daemon_serve(d);
	daemon_free(d);
	return rc;
}

/* Connect to DATA/keeper.sock; -1 when nobody answers. */
static int
ctl_connect(const char *data)
{
	struct sockaddr_un sa;
	int fd, dfd;
	char *p = daemon_sock_path(data, &dfd);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd != -1 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		fd = -1;
	}
	if (dfd != -1)
		close(dfd);
	free(p);
	return fd;
}

/* Ask the daemon; retry a while for one that is still starting. */
static FILE *
ctl_ask(const char *data, const char *req)
{
	int64_t deadline = util_mono_ms() + 3000;
	FILE *f;
	int fd;

	while ((fd = ctl_connect(data)) == -1) {
		if (util_mono_ms() > deadline || daemon_lock_holder(data) == 0)
			return NULL;
		usleep(20000);
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return NULL;
	}
	return f;
}

static void
print_line(const char *line, void *arg)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

static int
once_remote(const char *data, const char *name)
{
	char *req = xasprintf("run-once %s\n", name), *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = -1;

	f = ctl_ask(data, req);
	free(req);
	if (f == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "> ", 2) == 0) {
			fputs(line + 2, stdout);
			fflush(stdout);
		} else if (strncmp(line, "exit ", 5) == 0) {
			rc = atoi(line + 5);
		}
	}
	free(line);
	fclose(f);
	if (rc == -1) {
		fprintf(stderr, "keeper: the daemon hung up\n");
		rc = 1;
	}
	return rc;
}

int
cmd_run_once(int argc, char **argv)
{
	struct args a;
	struct daemon *d;
	struct crew *c = NULL;
	char err[1024], *data = NULL, *name;
	long holder;
	int rc;

	if ((rc = parse(argc, argv, once_usage, "abcdefg", &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (a.o.crew)
		a.o.def = NULL;
	if (optind < argc)
		a.name = argv[optind++];
	if (optind != argc || (a.name == NULL && a.o.def == NULL) ||
	    (a.o.crew == NULL && a.o.def == NULL && a.o.data == NULL &&
	    getenv("KEEPER_DATA") == NULL)) {
		fprintf(stderr, "keeper: run-once wants NAME with --crew or "
		    "--data, or --def FILE\n%s", once_usage);
		return EXIT_USAGE;
	}
	log_init(a.verbose);
	if ((data = data_dir(&a, &c)) == NULL)
		return EXIT_CONFIG;
	if (a.name == NULL && c && c->nmembers > 0)
		a.name = c->members[0].name;
	name = xstrdup(a.name ? a.name : "");
	if (c)
		crew_free(c);
	if ((holder = daemon_lock_holder(data)) != 0) {
		/* A daemon answers; a run-once holding the lock does not, and
		 * its tick must not be followed by a second one (SPEC §5). */
		if ((rc = once_remote(data, name)) == -1) {
			fprintf(stderr, "keeper: data directory %s is in use by "
			    "keeper pid %ld\n", data, holder);
			rc = EXIT_LOCKED;
		}
		goto done;
	}
	if (a.o.crew == NULL && a.o.def == NULL) {
		fprintf(stderr, "keeper: no daemon on %s; give --crew FILE to "
		    "run the tick here\n", data);
		rc = EXIT_USAGE;
		goto done;
	}
	a.o.oneshot = 1;
	a.o.data = data;
	if ((rc = daemon_open(&a.o, &d, err, sizeof(err))) != 0) {
		if (rc == EXIT_LOCKED && (rc = once_remote(data, name)) != -1)
			goto done;
		fprintf(stderr, "keeper: %s\n", err);
		goto done;
	}
	rc = daemon_once(d, name, print_line, NULL);
	daemon_free(d);
done:
	free(name);
	free(data);
	return rc;
}

/* ---- status ---- */

struct streak_ctx {
	int		 n, stop;
	enum outcome	 last;
	int64_t		 last_ms;
	int		 seen;
};

static void
latest_cb(const struct run_rec *r, void *arg)
{
	struct streak_ctx *s = arg;

	if (r->outcome == OUTCOME_NONE)
		return;
	if (!s->seen) {
		s->seen = 1;
		s->last = r->outcome;
	}
}

/* The status document from the state files and history, for when no
 * daemon runs: the same shape daemon_status_json() serves. */
static json_t *
status_offline(const struct crew *c, const char *data, int singleton)
{
	json_t *arr = json_array(), *o;
	struct store *st = NULL;
	char *dbp = xasprintf("%s/keeper.db", data), err[512];

	if (access(dbp, F_OK) == 0)
		(void)store_open(dbp, &st, err, sizeof(err));
	for (size_t i = 0; i < c->nmembers; i++) {
		const char *name = c->members[i].name;
		char *p;
		struct lc_pos pos = { 0 };
		int64_t last = 0;
		struct streak_ctx sc = { 0 };
		struct lc_spec *spec;
		const char *state;

		p = statefile_path(data, SF_LAST_RUN, singleton ? NULL : name);
		(void)statefile_read_last_run(p, &last, err, sizeof(err));
		free(p);
		p = statefile_path(data, SF_POS, singleton ? NULL : name);
		(void)statefile_read_pos(p, &pos, err, sizeof(err));
		free(p);
		if (st)
			(void)store_history(st, name, 1, latest_cb, &sc);
		/* Never ticked: show the state it will start from. */
		state = pos.state;
		spec = NULL;
		if (state[0] == '\0' && c->members[i].lifecycle != NULL) {
			struct diag dg = { 0 };

			if (lc_spec_load(c->members[i].lifecycle, &spec,
			    &dg) == 0 && spec->nstates > 0)
				state = spec->states[spec->start].name;
			diag_release(&dg);
		}
		o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:i, s:b, s:i}",
		    "name", name, "state", state, "hits", pos.hits,
		    "last_run", (json_int_t)last, "next_tick", (json_int_t)0,
		    "last_outcome", outcome_name(sc.last), "streak",
		    st ? store_streak(st, name) : 0, "running", 0,
		    "queue_place", 0);
		json_array_append_new(arr, o);
		lc_spec_free(spec);
		lc_pos_release(&pos);
	}
	store_close(st);
	free(dbp);
	return json_pack("{s:o, s:n, s:s}", "agents", arr, "pid", "data",
	    data);
}

static void
when(char *buf, size_t len, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(buf, len, "n/a");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void
print_status(json_t *doc)
{
	json_t *arr = json_object_get(doc, "agents"), *a;
	int64_t now = util_now_ms();
	size_t i;
	char last[32], next[32], left[32];

	printf("%-16s %-12s %4s %-19s %-19s %-8s %-11s %6s %s\n", "NAME",
	    "STATE", "HITS", "LAST", "NEXT", "LEFT", "OUTCOME", "STREAK",
	    "RUNNING");
	json_array_foreach(arr, i, a) {
		int64_t n = json_integer_value(json_object_get(a, "next_tick"));
		const char *st = json_string_value(json_object_get(a, "state"));
		const char *oc = json_string_value(json_object_get(a,
		    "last_outcome"));
		int qp = (int)json_integer_value(json_object_get(a,
		    "queue_place"));
		char run[32];

		when(last, sizeof(last), json_integer_value(json_object_get(a,
		    "last_run")));
		when(next, sizeof(next), n);
		if (n > 0)
			dur_format(n > now ? n - now : 0, left, sizeof(left));
		else
			snprintf(left, sizeof(left), "n/a");
		if (json_is_true(json_object_get(a, "running")))
			snprintf(run, sizeof(run), "yes");
		else if (qp > 0)
			snprintf(run, sizeof(run), "queued #%d", qp);
		else
			snprintf(run, sizeof(run), "no");
		printf("%-16s %-12s %4d %-19s %-19s %-8s %-11s %6d %s\n",
		    json_string_value(json_object_get(a, "name")),
		    st && *st ? st : "-",
		    (int)json_integer_value(json_object_get(a, "hits")), last,
		    next, left, oc && *oc ? oc : "-",
		    (int)json_integer_value(json_object_get(a, "streak")), run);
		if (json_object_get(a, "error"))
			printf("  error: %s\n", json_string_value(
			    json_object_get(a, "error")));
	}
	if (json_object_get(doc, "crew_error"))
		printf("crew error (last good manifest still runs): %s\n",
		    json_string_value(json_object_get(doc, "crew_error")));
}

int
cmd_status(int argc, char **argv)
{
	struct args a;
	struct crew *c = NULL;
	char *data, *line = NULL;
	size_t cap = 0;
	json_t *doc = NULL;
	json_error_t je;
	FILE *f;
	int rc;

	if ((rc = parse(argc, argv, status_usage, "abgi", &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind != argc) {
		fprintf(stderr, "keeper: unexpected '%s'\n%s", argv[optind],
		    status_usage);
		return EXIT_USAGE;
	}
	if (a.o.crew)
		a.o.def = NULL;
	if ((data = data_dir(&a, &c)) == NULL)
		return EXIT_CONFIG;
	if (daemon_lock_holder(data) != 0 &&
	    (f = ctl_ask(data, "status\n")) != NULL) {
		if (getline(&line, &cap, f) > 0)
			doc = json_loads(line, 0, &je);
		free(line);
		fclose(f);
	}
	if (doc == NULL && c == NULL) {
		fprintf(stderr, "keeper: no daemon on %s; give --crew FILE to "
		    "read the state files\n", data);
		free(data);
		return 1;
	}
	if (doc == NULL)
		doc = status_offline(c, data, a.o.crew == NULL);
	if (a.json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_status(doc);
	}
	json_decref(doc);
	if (c)
		crew_free(c);
	free(data);
	return 0;
}

/* ---- history ---- */

struct hist {
	int	 json;
	json_t	*arr;
};

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
jms(int64_t v)
{
	return v ? json_integer(v) : json_null();
}

static void
hist_cb(const struct run_rec *r, void *arg)
{
	struct hist *h = arg;
	char sched[32], first[81], dur[32], ex[16];
	const char *txt = r->error ? r->error : r->output_head;

	if (h->json) {
		json_t *o = json_object();

		json_object_set_new(o, "id", json_integer(r->id));
		json_object_set_new(o, "agent", jstr(r->agent));
		json_object_set_new(o, "trigger", jstr(r->trigger));
		json_object_set_new(o, "state", jstr(r->state));
		json_object_set_new(o, "hits", json_integer(r->hits));
		json_object_set_new(o, "repeat", json_integer(r->repeat));
		json_object_set_new(o, "scheduled", jms(r->scheduled_ms));
		json_object_set_new(o, "started", jms(r->started_ms));
		json_object_set_new(o, "ended", jms(r->ended_ms));
		json_object_set_new(o, "duration_ms", r->started_ms ?
		    json_integer(r->duration_ms) : json_null());
		json_object_set_new(o, "outcome", r->outcome ?
		    json_string(outcome_name(r->outcome)) : json_null());
		json_object_set_new(o, "exit_code", r->exit_code >= 0 ?
		    json_integer(r->exit_code) : json_null());
		json_object_set_new(o, "output_bytes",
		    json_integer(r->output_bytes));
		json_object_set_new(o, "output_head", jstr(r->output_head));
		json_object_set_new(o, "commit_id", jstr(r->commit_id));
		json_object_set_new(o, "git", jstr(r->git));
		json_object_set_new(o, "error", jstr(r->error));
		json_object_set_new(o, "tokens_prompt", r->tokens_prompt >= 0 ?
		    json_integer(r->tokens_prompt) : json_null());
		json_object_set_new(o, "tokens_completion",
		    r->tokens_completion >= 0 ?
		    json_integer(r->tokens_completion) : json_null());
		json_object_set_new(o, "steps", jstr(r->steps));
		json_object_set_new(o, "pid", r->pid ? json_integer(r->pid) :
		    json_null());
		json_object_set_new(o, "pgid", r->pgid ?
		    json_integer(r->pgid) : json_null());
		json_object_set_new(o, "daemon_pid", json_integer(r->daemon_pid));
		json_array_append_new(h->arr, o);
		return;
	}
	when(sched, sizeof(sched), r->scheduled_ms);
	if (r->started_ms)
		dur_format(r->duration_ms, dur, sizeof(dur));
	else
		snprintf(dur, sizeof(dur), "-");
	if (r->exit_code >= 0)
		snprintf(ex, sizeof(ex), "%d", r->exit_code);
	else
		snprintf(ex, sizeof(ex), "-");
	snprintf(first, sizeof(first), "%s", txt ? txt : "");
	first[strcspn(first, "\n")] = '\0';
	printf("%-6" PRId64 " %-16s %-9s %-12s %4d %-19s %7s %-11s %4s %s\n",
	    r->id, r->agent, r->trigger ? r->trigger : "",
	    r->state && *r->state ? r->state : "-", r->hits, sched, dur,
	    r->outcome ? outcome_name(r->outcome) : "running", ex, first);
}

int
cmd_history(int argc, char **argv)
{
	struct args a;
	struct crew *c = NULL;
	struct store *st = NULL;
	struct hist h = { 0 };
	char *data, *dbp, err[512];
	int rc;

	if ((rc = parse(argc, argv, history_usage, "agij", &a)) != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind < argc)
		a.name = argv[optind++];
	if (optind != argc) {
		fprintf(stderr, "keeper: unexpected '%s'\n%s", argv[optind],
		    history_usage);
		return EXIT_USAGE;
	}
	if ((data = data_dir(&a, &c)) == NULL)
		return EXIT_CONFIG;
	if (c)
		crew_free(c);
	dbp = xasprintf("%s/keeper.db", data);
	if (access(dbp, F_OK) == -1) {
		fprintf(stderr, "keeper: no history in %s\n", data);
		rc = 1;
		goto done;
	}
	if (store_open(dbp, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "keeper: %s\n", err);
		rc = 1;
		goto done;
	}
	h.json = a.json;
	h.arr = json_array();
	if (!a.json)
		printf("%-6s %-16s %-9s %-12s %4s %-19s %7s %-11s %4s %s\n",
		    "ID", "AGENT", "TRIGGER", "STATE", "HITS", "SCHEDULED",
		    "DUR", "OUTCOME", "EXIT", "RESULT");
	rc = store_history(st, a.name, a.limit, hist_cb, &h) < 0 ? 1 : 0;
	if (a.json) {
		json_dumpf(h.arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(h.arr);
	store_close(st);
done:
	free(dbp);
	free(data);
	return rc;
}
