/*
 * daemon: the manifest's hot reload, in-process (daemon.c is included to
 * reach reload()). Members are kept by name, added and retired; a
 * manifest that no longer parses keeps the last good one running, is
 * recorded once and is shown until fixed; observers hear each change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.c"

struct fix {
	char		 dir[64];
	char		*crew, *data;
	struct daemon	*d;
	int		 changed;
};

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
observe(struct daemon *d, enum daemon_event ev, struct worker *w, void *arg)
{
	(void)d;
	(void)w;
	if (ev == DAEMON_CHANGED)
		((struct fix *)arg)->changed++;
}

/* A manifest of the given members, each running def.org; its file's
 * identity must change between writes of the same size, so the mtime is
 * stepped explicitly. */
static void
manifest(struct fix *f, const char *members, int64_t mtime_s)
{
	struct sb sb = { 0 };
	struct timespec ts[2];
	const char *p = members;

	sb_adds(&sb, "#+TITLE: t\n");
	while (*p) {
		size_t n = strcspn(p, " ");

		sb_addf(&sb, "* %.*s\n:PROPERTIES:\n:DEF: def.org\n:END:\n",
		    (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
	write_file(f->crew, sb.buf);
	sb_release(&sb);
	ts[0].tv_sec = ts[1].tv_sec = mtime_s;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, f->crew, ts, 0), 0);
}

static int
setup(void **state)
{
	struct fix *f = xcalloc(1, sizeof(*f));
	static const struct settings none;	/* an empty environment */
	struct daemon_opts o = { 0 };
	char err[512], *p;

	snprintf(f->dir, sizeof(f->dir), "/tmp/keeper-daemon-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->crew = xasprintf("%s/crew.org", f->dir);
	f->data = xasprintf("%s/data", f->dir);
	p = xasprintf("%s/def.org", f->dir);
	write_file(p, "* run\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n");
	free(p);
	manifest(f, "a b c", 1000);
	o.crew = f->crew;
	o.repo = f->dir;
	o.data = f->data;
	o.self_exe = "/bin/false";
	o.oneshot = 1;
	o.settings = &none;
	assert_int_equal(daemon_open(&o, &f->d, err, sizeof(err)), 0);
	daemon_observe(f->d, observe, f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	daemon_free(f->d);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->crew);
	free(f->data);
	free(f);
	return 0;
}

static const char *
name_at(struct fix *f, size_t i)
{
	return worker_name(daemon_worker(f->d, i));
}

static struct run_rec last_row;
static char last_error[512], last_trigger[32];
static int nrows;

static void
row_cb(const struct run_rec *r, void *arg)
{
	(void)arg;
	if (nrows++ == 0) {
		last_row = *r;
		snprintf(last_error, sizeof(last_error), "%s",
		    r->error ? r->error : "");
		snprintf(last_trigger, sizeof(last_trigger), "%s",
		    r->trigger ? r->trigger : "");
	}
}

/* Kept by name (the same worker), added, retired, in manifest order. */
static void
members_kept_added_removed(void **state)
{
	struct fix *f = *state;
	struct worker *c;

	assert_int_equal(daemon_nworkers(f->d), 3);
	c = daemon_worker(f->d, 2);
	assert_string_equal(worker_name(c), "c");
	manifest(f, "c d", 2000);
	reload(f->d, 0);
	assert_int_equal(daemon_nworkers(f->d), 2);
	assert_string_equal(name_at(f, 0), "c");
	assert_string_equal(name_at(f, 1), "d");
	assert_ptr_equal(daemon_worker(f->d, 0), c);
	assert_true(f->changed > 0);
	assert_string_equal(daemon_crew(f->d)->members[1].name, "d");
}

/* Nothing changed on disk: nothing is re-read (unless forced). */
static void
unchanged_file_is_not_reread(void **state)
{
	struct fix *f = *state;
	const struct crew *before = daemon_crew(f->d);

	f->changed = 0;
	reload(f->d, 0);
	assert_ptr_equal(daemon_crew(f->d), before);
	assert_int_equal(f->changed, 0);
	reload(f->d, 1);
	assert_true(f->changed > 0);
	assert_int_equal(daemon_nworkers(f->d), 3);
}

/* A broken manifest: the last good one keeps running, the error is shown
 * and recorded once however often it is seen, and a fixed file clears
 * it. */
static void
broken_manifest_keeps_the_last_good(void **state)
{
	struct fix *f = *state;
	struct status_crew sc;

	write_file(f->crew, "#+TITLE: t\n#+CONCURRENCY: many\n* a\n");
	reload(f->d, 1);
	daemon_status_crew(f->d, &sc);
	assert_non_null(sc.error);
	assert_non_null(strstr(sc.error, "crew.org:2:"));
	assert_int_equal(daemon_nworkers(f->d), 3);
	reload(f->d, 1);			/* the same reason again */
	nrows = 0;
	assert_true(store_history(daemon_store(f->d), "(crew)", 10, row_cb,
	    NULL) >= 0);
	assert_int_equal(nrows, 1);
	assert_int_equal(last_row.outcome, OUTCOME_ERROR);
	assert_string_equal(last_trigger, "reload");
	assert_non_null(strstr(last_error, "CONCURRENCY"));
	manifest(f, "a b", 3000);
	reload(f->d, 0);
	daemon_status_crew(f->d, &sc);
	assert_null(sc.error);
	assert_int_equal(daemon_nworkers(f->d), 2);
}

/* A crew whose #+REDACT: pattern does not compile is refused like one
 * that does not parse, and the redactor in use stays. */
static void
bad_redact_pattern_is_refused(void **state)
{
	struct fix *f = *state;
	struct redactor *before = daemon_redactor(f->d);
	struct status_crew sc;

	write_file(f->crew, "#+TITLE: t\n#+REDACT: (unclosed\n* a\n:PROPERTIES:"
	    "\n:DEF: def.org\n:END:\n");
	reload(f->d, 1);
	daemon_status_crew(f->d, &sc);
	assert_ptr_equal(daemon_redactor(f->d), before);
	assert_int_equal(daemon_nworkers(f->d), 3);
	/* crew.c already refuses it: either loader's message will do */
	assert_non_null(sc.error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(members_kept_added_removed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(unchanged_file_is_not_reread,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    broken_manifest_keeps_the_last_good, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_redact_pattern_is_refused,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
