/*
 * test_notify: the sd_notify client against a fake NOTIFY_SOCKET, a bound
 * AF_UNIX datagram socket in a temp dir (or the abstract namespace).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"

struct fake {
	char	dir[64];
	char	path[128];
	int	fd;
};

static void
fake_open_path(struct fake *f)
{
	struct sockaddr_un sa;
	socklen_t len;
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/keeper-notify-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/notify", f->dir);
	assert_int_equal(notify_parse_addr(f->path, &sa, &len, err,
	    sizeof(err)), 0);
	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, len), 0);
}

static void
fake_close(struct fake *f)
{
	close(f->fd);
	if (f->dir[0]) {
		unlink(f->path);
		rmdir(f->dir);
	}
}

/* One datagram, waiting at most a second; "" on timeout. */
static void
fake_recv(struct fake *f, char *buf, size_t len)
{
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	ssize_t r;

	buf[0] = '\0';
	if (poll(&p, 1, 1000) != 1)
		return;
	r = recv(f->fd, buf, len - 1, 0);
	assert_true(r >= 0);
	buf[r] = '\0';
}

static void
test_parse_addr(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	char err[256];

	(void)state;
	assert_int_equal(notify_parse_addr("/run/systemd/notify", &sa, &len,
	    err, sizeof(err)), 0);
	assert_string_equal(sa.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);

	assert_int_equal(notify_parse_addr("@abc", &sa, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(sa.sun_path[0], '\0');
	assert_memory_equal(sa.sun_path + 1, "abc", 3);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 4);

	assert_int_equal(notify_parse_addr("relative/sock", &sa, &len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "relative/sock"));
	assert_int_equal(notify_parse_addr("@", &sa, &len, err,
	    sizeof(err)), -1);
}

static void
test_parse_watchdog(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(notify_parse_watchdog(NULL, NULL, 7, err,
	    sizeof(err)), 0);
	assert_int_equal(notify_parse_watchdog("200000", NULL, 7, err,
	    sizeof(err)), 100);
	assert_int_equal(notify_parse_watchdog("200000", "7", 7, err,
	    sizeof(err)), 100);
	/* Meant for another process: off. */
	assert_int_equal(notify_parse_watchdog("200000", "8", 7, err,
	    sizeof(err)), 0);
	assert_int_equal(notify_parse_watchdog("0", NULL, 7, err,
	    sizeof(err)), 0);
	assert_int_equal(notify_parse_watchdog("1", NULL, 7, err,
	    sizeof(err)), 1);
	assert_int_equal(notify_parse_watchdog("12x", NULL, 7, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "12x"));
	assert_int_equal(notify_parse_watchdog("-5", NULL, 7, err,
	    sizeof(err)), -1);
	assert_int_equal(notify_parse_watchdog("100", "x", 7, err,
	    sizeof(err)), -1);
}

static void
test_disabled_is_noop(void **state)
{
	struct notify n;
	char err[256] = "";

	(void)state;
	assert_int_equal(notify_init(&n, NULL, "1000", NULL, err,
	    sizeof(err)), 0);
	assert_false(notify_enabled(&n));
	assert_int_equal(notify_ready(&n, "x"), 0);
	assert_int_equal(notify_watchdog_start(&n, uv_default_loop()), 0);
	assert_false(n.timer_armed);
	notify_release(&n);
}

static void
test_messages_path(void **state)
{
	struct fake f = { 0 };
	struct notify n;
	char err[256], buf[512];

	(void)state;
	fake_open_path(&f);
	assert_int_equal(notify_init(&n, f.path, NULL, NULL, err,
	    sizeof(err)), 0);
	assert_true(notify_enabled(&n));

	assert_int_equal(notify_ready(&n, NULL), 0);
	fake_recv(&f, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1");

	/* A status with a newline stays one variable. */
	assert_int_equal(notify_stopping(&n, "draining\n2 runs"), 0);
	fake_recv(&f, buf, sizeof(buf));
	assert_string_equal(buf, "STOPPING=1\nSTATUS=draining 2 runs");

	assert_int_equal(notify_reloading(&n), 0);
	fake_recv(&f, buf, sizeof(buf));
	assert_true(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
	assert_true(strtoull(buf + 27, NULL, 10) > 0);

	notify_release(&n);
	fake_close(&f);
}

static void
test_messages_abstract(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	struct fake f = { 0 };
	struct notify n;
	char name[64], err[256], buf[512];

	(void)state;
	snprintf(name, sizeof(name), "@keeper-test-notify-%ld",
	    (long)getpid());
	assert_int_equal(notify_parse_addr(name, &sa, &len, err,
	    sizeof(err)), 0);
	f.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f.fd, (struct sockaddr *)&sa, len), 0);

	assert_int_equal(notify_init(&n, name, NULL, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(notify_sendf(&n, "STATUS=%d agents", 3), 0);
	fake_recv(&f, buf, sizeof(buf));
	assert_string_equal(buf, "STATUS=3 agents");
	notify_release(&n);
	fake_close(&f);
}

static void
test_no_receiver_is_error_not_crash(void **state)
{
	struct notify n;
	char err[256];

	(void)state;
	assert_int_equal(notify_init(&n, "/nonexistent/keeper/notify", NULL,
	    NULL, err, sizeof(err)), 0);
	assert_true(notify_ready(&n, NULL) < 0);
	assert_int_equal(n.send_errors, 1);
	notify_release(&n);
}

static void
test_env_is_consumed(void **state)
{
	struct fake f = { 0 };
	struct notify n;
	char err[256], buf[64];

	(void)state;
	fake_open_path(&f);
	setenv("NOTIFY_SOCKET", f.path, 1);
	setenv("WATCHDOG_USEC", "4000", 1);
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", buf, 1);
	notify_unset_env();
	assert_int_equal(notify_init(&n, f.path, "4000", buf, err,
	    sizeof(err)), 0);
	assert_true(notify_enabled(&n));
	assert_int_equal(n.watchdog_ms, 2);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_null(getenv("WATCHDOG_USEC"));
	assert_null(getenv("WATCHDOG_PID"));
	notify_release(&n);
	fake_close(&f);
}

/* The watchdog pets from the loop: run it until N pets went out (a check
 * timer stops the loop, with a deadline), then read them all. */
struct pet_run {
	struct notify	*n;
	uv_timer_t	 check;
	int		 rounds;
};

static void
on_check(uv_timer_t *t)
{
	struct pet_run *r = t->data;

	if (r->n->pets >= 3 || ++r->rounds > 2000)
		uv_stop(t->loop);
}

static void
test_watchdog_pets_from_loop(void **state)
{
	struct fake f = { 0 };
	struct notify n;
	struct pet_run r = { 0 };
	uv_loop_t loop;
	char err[256], buf[64];
	int i;

	(void)state;
	fake_open_path(&f);
	assert_int_equal(notify_init(&n, f.path, "2000", NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(n.watchdog_ms, 1);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(notify_watchdog_start(&n, &loop), 0);
	r.n = &n;
	uv_timer_init(&loop, &r.check);
	r.check.data = &r;
	uv_timer_start(&r.check, on_check, 1, 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_true(n.pets >= 3);
	for (i = 0; i < 3; i++) {
		fake_recv(&f, buf, sizeof(buf));
		assert_string_equal(buf, "WATCHDOG=1");
	}

	/* A stopped loop pets no more: the count freezes. */
	notify_release(&n);
	uv_close((uv_handle_t *)&r.check, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	fake_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_parse_watchdog),
		cmocka_unit_test(test_disabled_is_noop),
		cmocka_unit_test(test_messages_path),
		cmocka_unit_test(test_messages_abstract),
		cmocka_unit_test(test_no_receiver_is_error_not_crash),
		cmocka_unit_test(test_env_is_consumed),
		cmocka_unit_test(test_watchdog_pets_from_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
