/*
 * etcd: the JSON gateway client against a real etcd (Debian's
 * etcd-server), started by the test on loopback ports the kernel picks
 * and stopped at the end: leases, keys, the create-if-absent
 * transaction, watches, and an endpoint list whose first member is down.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "etcd.h"
#include "fleet.h"
#include "util.h"

static pid_t etcd_pid;
static char dir[] = "/tmp/keeper-etcd-XXXXXX";
static char url[64], bad_url[64];

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0)
		return -1;
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int
start_etcd(void **state)
{
	char client[64], peer[64], cluster[96], data[96];
	struct etcd *e;
	char err[256];
	int64_t t0;

	(void)state;
	if (access("/usr/bin/etcd", X_OK) != 0) {
		fprintf(stderr, "etcd is missing: install the Debian package "
		    "etcd-server (it is in .ci/deps)\n");
		return -1;
	}
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", free_port());
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", free_port());
	snprintf(cluster, sizeof(cluster), "t=%s", peer);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(url, sizeof(url), "%s", client);
	snprintf(bad_url, sizeof(bad_url), "http://127.0.0.1:%d", free_port());
	if ((etcd_pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl("/usr/bin/etcd", "etcd", "--name", "t", "--data-dir", data,
		    "--listen-client-urls", client, "--advertise-client-urls",
		    client, "--listen-peer-urls", peer,
		    "--initial-advertise-peer-urls", peer, "--initial-cluster",
		    cluster, (char *)NULL);
		_exit(127);
	}
	e = etcd_new(url, 500, err, sizeof(err));
	t0 = util_mono_ms();
	for (;;) {
		int64_t id;

		if (etcd_grant(e, 5, &id, NULL, err, sizeof(err)) == 0)
			break;
		if (util_mono_ms() - t0 > 20000) {
			fprintf(stderr, "etcd did not come up: %s\n", err);
			etcd_free(e);
			return -1;
		}
		usleep(50000);
	}
	etcd_free(e);
	return 0;
}

static int
stop_etcd(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc;

	(void)state;
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGTERM);
		waitpid(etcd_pid, NULL, 0);
	}
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static struct etcd *
client(void)
{
	char err[256];
	struct etcd *e = etcd_new(url, 2000, err, sizeof(err));

	assert_non_null(e);
	return e;
}

static void
keys_and_values(void **state)
{
	struct etcd *e = client();
	struct etcd_kv kv;
	char err[256];
	int found;
	int64_t rev;

	(void)state;
	assert_int_equal(etcd_put(e, "/t/a", "one\0two", 7, 0, err,
	    sizeof(err)), 0);
	assert_int_equal(etcd_get(e, "/t/a", &kv, &found, &rev, err,
	    sizeof(err)), 0);
	assert_true(found);
	assert_int_equal(kv.vlen, 7);
	assert_memory_equal(kv.value, "one\0two", 7);	/* binary-safe */
	assert_string_equal(kv.key, "/t/a");
	assert_true(kv.create_rev > 0 && rev >= kv.mod_rev);
	etcd_kv_release(&kv);
	assert_int_equal(etcd_delete(e, "/t/a", err, sizeof(err)), 0);
	assert_int_equal(etcd_get(e, "/t/a", &kv, &found, NULL, err,
	    sizeof(err)), 0);
	assert_false(found);
	etcd_free(e);
}

struct seen {
	int	 n;
	char	 keys[8][32];
};

static void
each(const struct etcd_kv *kv, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->keys[s->n++], 32, "%s=%s", kv->key, kv->value);
}

static void
prefix_range(void **state)
{
	struct etcd *e = client();
	struct seen s = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(etcd_put(e, "/p/b", "2", 1, 0, err, sizeof(err)), 0);
	assert_int_equal(etcd_put(e, "/p/a", "1", 1, 0, err, sizeof(err)), 0);
	assert_int_equal(etcd_put(e, "/pq", "x", 1, 0, err, sizeof(err)), 0);
	assert_int_equal(etcd_get_prefix(e, "/p/", each, &s, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], "/p/a=1");
	assert_string_equal(s.keys[1], "/p/b=2");
	etcd_free(e);
}

/* The leader key: only one of two candidates creates it; the loser sees
 * who holds it; when the holder's lease is revoked the key is gone. */
static void
create_if_absent_and_leases(void **state)
{
	struct etcd *e = client();
	struct etcd_kv holder, kv;
	int64_t a, b, ttl, rev;
	char err[256];
	int created, found, done;

	(void)state;
	assert_int_equal(etcd_grant(e, 10, &a, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 10);
	assert_int_equal(etcd_grant(e, 10, &b, NULL, err, sizeof(err)), 0);
	assert_int_equal(etcd_create(e, "/l", "A", 1, a, &created, &holder,
	    &rev, err, sizeof(err)), 0);
	assert_true(created);
	assert_int_equal(etcd_get(e, "/l", &kv, &found, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(kv.create_rev, rev);	/* the fencing token */
	etcd_kv_release(&kv);
	assert_int_equal(etcd_create(e, "/l", "B", 1, b, &created, &holder,
	    NULL, err, sizeof(err)), 0);
	assert_false(created);
	assert_string_equal(holder.value, "A");
	assert_int_equal(holder.lease, a);
	etcd_kv_release(&holder);
	assert_int_equal(etcd_keepalive(e, a, &ttl, err, sizeof(err)), 0);
	assert_true(ttl > 0);
	assert_int_equal(etcd_revoke(e, a, err, sizeof(err)), 0);
	assert_int_equal(etcd_keepalive(e, a, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 0);			/* expired */
	assert_int_equal(etcd_get(e, "/l", &kv, &found, NULL, err,
	    sizeof(err)), 0);
	assert_false(found);				/* went with it */
	assert_int_equal(etcd_create(e, "/l", "B", 1, b, &created, NULL,
	    &rev, err, sizeof(err)), 0);
	assert_true(created);
	/* Only the holder's token writes. */
	assert_int_equal(etcd_put_if(e, "/l", rev - 1, "/s", "x", 1, &done,
	    err, sizeof(err)), 0);
	assert_false(done);
	assert_int_equal(etcd_put_if(e, "/l", rev, "/s", "y", 1, &done, err,
	    sizeof(err)), 0);
	assert_true(done);
	etcd_free(e);
}

struct watcher {
	pthread_t	 th;
	_Atomic int	 stop;
	int		 puts, deletes, rc;
	char		 last[32];
	_Atomic int	 events;
};

static int
on_event(const struct etcd_event *ev, void *arg)
{
	struct watcher *w = arg;

	if (ev->type == ETCD_PUT) {
		w->puts++;
		snprintf(w->last, sizeof(w->last), "%s", ev->kv->value);
	} else
		w->deletes++;
	w->events++;
	return 0;
}

static void *
watch_thread(void *arg)
{
	struct watcher *w = arg;
	struct etcd *e = client();
	char err[256];

	w->rc = etcd_watch(e, "/w/", 1, 0, on_event, w, &w->stop, err,
	    sizeof(err));
	etcd_free(e);
	return NULL;
}

static void
wait_events(struct watcher *w, int n)
{
	int64_t t0 = util_mono_ms();

	while (w->events < n) {
		assert_true(util_mono_ms() - t0 < 10000);
		usleep(10000);
	}
}

static void
watch_a_prefix(void **state)
{
	struct watcher w = { 0 };
	struct etcd *e = client();
	char err[256];
	int64_t t0 = util_mono_ms();

	(void)state;
	assert_int_equal(pthread_create(&w.th, NULL, watch_thread, &w), 0);
	/* The watch exists once it sees a first put: retry until then. */
	while (w.events == 0) {
		assert_int_equal(etcd_put(e, "/w/x", "hello", 5, 0, err,
		    sizeof(err)), 0);
		assert_true(util_mono_ms() - t0 < 10000);
		usleep(50000);
	}
	w.events = 0;
	w.puts = 0;
	assert_int_equal(etcd_put(e, "/w/y", "again", 5, 0, err, sizeof(err)),
	    0);
	assert_int_equal(etcd_delete(e, "/w/y", err, sizeof(err)), 0);
	assert_int_equal(etcd_put(e, "/other", "no", 2, 0, err, sizeof(err)),
	    0);
	wait_events(&w, 2);
	assert_int_equal(w.puts, 1);
	assert_int_equal(w.deletes, 1);
	assert_string_equal(w.last, "again");
	w.stop = 1;
	pthread_join(w.th, NULL);
	assert_int_equal(w.rc, 0);			/* stopped, not failed */
	etcd_free(e);
}

/* A list whose first endpoint is down: the call goes to the next, and
 * that one is asked first from then on. */
static void
endpoint_failover(void **state)
{
	char list[160], err[256];
	struct etcd *e;

	(void)state;
	snprintf(list, sizeof(list), "%s,%s", bad_url, url);
	e = etcd_new(list, 500, err, sizeof(err));
	assert_non_null(e);
	assert_int_equal(etcd_put(e, "/f", "1", 1, 0, err, sizeof(err)), 0);
	assert_string_equal(etcd_endpoint(e), url);
	etcd_free(e);
	e = etcd_new(bad_url, 300, err, sizeof(err));
	assert_int_equal(etcd_put(e, "/f", "1", 1, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, bad_url));
	etcd_free(e);
	assert_null(etcd_new(" , ", 300, err, sizeof(err)));
}

/* ---- fleet: roles through the leader key ---- */

struct member {
	struct fleet	*f;
	int		 changes;
};

static void
changed(struct fleet *f, void *arg)
{
	(void)f;
	((struct member *)arg)->changes++;
}

static struct fleet *
member(uv_loop_t *loop, struct member *m, const char *id)
{
	struct fleet_opts o = { .loop = loop, .urls = url, .crew = "c",
	    .ttl_ms = 1000, .identity = id, .changed = changed, .arg = m };
	char err[256];

	m->f = fleet_start(&o, err, sizeof(err));
	assert_non_null(m->f);
	return m->f;
}

/* Run the loop until cond holds (a deadline of 10 s). */
#define UNTIL(loop, cond) do {						\
	int64_t t0_ = util_mono_ms();					\
	while (!(cond)) {						\
		assert_true(util_mono_ms() - t0_ < 10000);		\
		uv_run((loop), UV_RUN_NOWAIT);				\
		usleep(5000);						\
	}								\
} while (0)

static int
active_is(struct fleet *f, const char *id)
{
	char *a = fleet_active(f);
	int same = a != NULL && strcmp(a, id) == 0;

	free(a);
	return same;
}

/* One active, one standby that knows who; the state moves with the
 * role; a lease lapsed (revoked behind the holder's back) fences the
 * holder at once and the standby takes over within the TTL. */
static void
roles_move(void **state)
{
	uv_loop_t loop;
	struct member a = { 0 }, b = { 0 };
	struct fleet_state *st;
	struct etcd *e;
	size_t n;
	int64_t lease;
	char err[256];

	(void)state;
	uv_loop_init(&loop);
	member(&loop, &a, "A");
	UNTIL(&loop, fleet_role(a.f) == FLEET_ACTIVE);
	assert_true(fleet_live(a.f));
	assert_true(fleet_lease(a.f) != 0);
	st = fleet_take_state(a.f, &n);
	fleet_state_free(st, n);
	fleet_put(a.f, "wren", "wake_add 2", 10);
	member(&loop, &b, "B");
	UNTIL(&loop, active_is(b.f, "A"));
	assert_int_equal(fleet_role(b.f), FLEET_STANDBY);
	assert_false(fleet_live(b.f));
	/* A resigns: B takes over, and finds A's state. */
	fleet_stop(a.f);
	a.f = NULL;
	UNTIL(&loop, fleet_role(b.f) == FLEET_ACTIVE);
	st = fleet_take_state(b.f, &n);
	assert_int_equal(n, 1);
	assert_string_equal(st[0].name, "wren");
	assert_string_equal(st[0].value, "wake_add 2");
	fleet_state_free(st, n);
	/* B's lease revoked from outside: B stops being active, and its
	 * puts can no longer land. A's successor C becomes active. */
	member(&loop, &a, "C");
	UNTIL(&loop, active_is(a.f, "B"));
	lease = fleet_lease(b.f);
	e = client();
	assert_int_equal(etcd_revoke(e, lease, err, sizeof(err)), 0);
	UNTIL(&loop, fleet_role(b.f) == FLEET_STANDBY);
	assert_false(fleet_live(b.f));
	UNTIL(&loop, fleet_role(a.f) == FLEET_ACTIVE);
	UNTIL(&loop, active_is(b.f, "C"));
	etcd_free(e);
	fleet_stop(a.f);
	fleet_stop(b.f);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_true(a.changes > 0 && b.changes > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_and_values),
		cmocka_unit_test(prefix_range),
		cmocka_unit_test(create_if_absent_and_leases),
		cmocka_unit_test(watch_a_prefix),
		cmocka_unit_test(endpoint_failover),
		cmocka_unit_test(roles_move),
	};

	return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
