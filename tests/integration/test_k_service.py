"""keeper(1) beyond SPEC: keeper as a service. sd_notify against a fake
NOTIFY_SOCKET (READY, WATCHDOG, RELOADING, STOPPING), state-change alerts
to a loopback receiver (KEEPER_ALERT_URL), the sentinel's repairs, and
housekeeping (history retention, journals, giving pages back)."""
import http.server
import json
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from conftest import http_server, wait_for


class Service:
    """conftest's crew as these tests drive it: members added with
    agent(), one daemon at a time (.proc), its log as text."""

    def __init__(self, crew):
        self.c = crew
        self.data = Path(crew.data)
        self.proc = None

    def agent(self, name, script, interval="200ms", timeout=None):
        props = {"interval": interval}
        if timeout:
            props["timeout"] = timeout
        self.c.member(name, script, **props)

    def start(self, env=None, **keywords):
        """The daemon on the members so far (idle backoff from 100 ms);
        keywords are more file keywords."""
        self.c.write_crew(backoff_base="100ms", **keywords)
        self.proc = self.c.start(env=env)
        return self.proc

    def logtext(self):
        return self.c.log(self.proc) if self.proc else ""

    def http(self, path):
        status, _, body = self.c.get(path)
        return status, json.loads(body)

    def stop(self):
        """SIGTERM; the log must hold no sanitizer report."""
        if self.proc:
            self.c.stop(self.proc, timeout=20)


@pytest.fixture
def crew(crew):
    """This file's crew: conftest's, as a Service; stopped at teardown."""
    s = Service(crew)
    yield s
    s.stop()


class NotifySocket:
    """A bound AF_UNIX datagram socket standing in for systemd."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.msgs = []          # (monotonic time, text)

    def pump(self):
        try:
            while True:
                data = self.sock.recv(4096)
                self.msgs.append((time.monotonic(), data.decode()))
        except (socket.timeout, BlockingIOError):
            pass
        return self.msgs

    def has(self, var):
        self.pump()
        return [t for t, m in self.msgs if var in m.split("\n")]

    def close(self):
        self.sock.close()


def test_notify_ready_watchdog_stopping(crew, tmp_path):
    ns = NotifySocket(tmp_path / "notify")
    crew.agent("wren", "echo hi", interval="1h")
    crew.start(env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "200000"})
    wait_for(lambda: ns.has("READY=1"), what="READY=1")
    ready_at = ns.has("READY=1")[0]
    # Pets at half of 200ms: at least 5 in the 3 s after READY.
    wait_for(lambda: len([t for t in ns.has("WATCHDOG=1")
                          if t >= ready_at]) >= 5,
             timeout=3.0, what="5 WATCHDOG=1 pets")
    assert not ns.has("STOPPING=1")
    crew.proc.send_signal(signal.SIGTERM)
    assert crew.proc.wait(timeout=20) == 0
    assert ns.has("STOPPING=1")
    assert len(ns.has("READY=1")) == 1
    ns.close()


def test_notify_absent_is_fine(crew):
    crew.agent("wren", "echo hi", interval="1h")
    crew.start()
    wait_for(lambda: "event=start" in crew.logtext(), what="daemon up")
    crew.proc.send_signal(signal.SIGTERM)
    assert crew.proc.wait(timeout=20) == 0


def test_notify_reload(crew, tmp_path):
    ns = NotifySocket(tmp_path / "notify")
    crew.agent("wren", "echo hi", interval="1h")
    crew.start(env={"NOTIFY_SOCKET": ns.path})
    wait_for(lambda: ns.has("READY=1"), what="READY=1")
    crew.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: ns.has("RELOADING=1") and len(ns.has("READY=1")) >= 2,
             what="RELOADING=1 then READY=1")
    assert ns.has("RELOADING=1")[0] <= ns.has("READY=1")[1]
    ns.close()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv = self.server
        with srv.lock:
            code = srv.codes.pop(0) if srv.codes else 200
            srv.posts.append((code, json.loads(body),
                              self.headers.get("Idempotency-Key")))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def receiver():
    with http_server(Receiver, http.server.ThreadingHTTPServer,
                     lock=threading.Lock(), codes=[], posts=[]) as srv:
        srv.url = "http://127.0.0.1:%d/hook" % srv.server_address[1]
        yield srv


def accepted(srv):
    """Alerts the receiver took (2xx), in order, one per id."""
    with srv.lock:
        seen, out = set(), []
        for code, body, key in srv.posts:
            if 200 <= code < 300 and body["id"] not in seen:
                seen.add(body["id"])
                out.append(body)
        return out


def flapping_agent(crew, tmp_path):
    """An agent that fails until tmp/ok exists; it counts its runs."""
    runs = tmp_path / "runs"
    ok = tmp_path / "ok"
    # 300ms: short, yet far from stale (2 intervals late) even under ASan.
    crew.agent("wren", "echo x >> %s; test -e %s" % (runs, ok),
               interval="300ms")
    return runs, ok


def nruns(runs):
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def drive_fail_fail_fail_ok(crew, receiver, runs, ok):
    # Three failures: exactly one "failing" alert.
    wait_for(lambda: len(accepted(receiver)) >= 1, what="failing alert")
    a = accepted(receiver)
    assert a[0]["agent"] == "wren" and a[0]["to"] == "failing"
    assert a[0]["from"] == "ok" and a[0]["fail_streak"] == 3
    # Steady failing: more runs, no more alerts.
    n = nruns(runs)
    wait_for(lambda: nruns(runs) >= n + 3, what="3 more failing runs")
    assert len(accepted(receiver)) == 1
    # Recovery: exactly one "recovered" alert.
    ok.write_text("")
    wait_for(lambda: len(accepted(receiver)) >= 2, what="recovered alert")
    a = accepted(receiver)
    assert a[1]["to"] == "ok" and a[1]["event"] == "recovered"
    # Steady ok: more runs, no more alerts.
    n = nruns(runs)
    wait_for(lambda: nruns(runs) >= n + 3, what="3 more good runs")
    assert len(accepted(receiver)) == 2
    return a


def test_alerts_one_per_transition(crew, receiver, tmp_path):
    runs, ok = flapping_agent(crew, tmp_path)
    crew.start(env={"KEEPER_ALERT_URL": receiver.url,
                    "KEEPER_ALERT_GAP": "0"})
    a = drive_fail_fail_fail_ok(crew, receiver, runs, ok)
    with receiver.lock:
        assert len(receiver.posts) == 2       # nothing re-sent
        assert [p[2] for p in receiver.posts] == [x["id"] for x in a]
    assert a[0]["id"] != a[1]["id"]
    assert "event=alert" in crew.logtext()
    crew.stop()
    # Both transitions are in the history too.
    db = sqlite3.connect(str(crew.data / "keeper.db"))
    rows = db.execute("SELECT id, agent, from_state, to_state FROM alerts "
                      "ORDER BY at_ms").fetchall()
    db.close()
    assert rows == [(a[0]["id"], "wren", "ok", "failing"),
                    (a[1]["id"], "wren", "failing", "ok")]


def test_alert_receiver_down_retries_not_loss(crew, receiver, tmp_path):
    runs, ok = flapping_agent(crew, tmp_path)
    receiver.codes = [500, 503, 500]        # down for three tries
    crew.start(env={"KEEPER_ALERT_URL": receiver.url,
                    "KEEPER_ALERT_GAP": "0"})
    a = drive_fail_fail_fail_ok(crew, receiver, runs, ok)
    with receiver.lock:
        failed = [p for p in receiver.posts if p[0] >= 500]
        assert len(failed) == 3
        # The retries were re-sends of the first alert, same id.
        assert {p[1]["id"] for p in failed} == {a[0]["id"]}
    assert "event=alert_retry" in crew.logtext()


def test_alert_receiver_refusing_at_first(crew, tmp_path):
    """Nothing listens at the URL at first; the alert arrives once it
    does."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    runs, ok = flapping_agent(crew, tmp_path)
    crew.start(env={"KEEPER_ALERT_URL": "http://127.0.0.1:%d/h" % port,
                    "KEEPER_ALERT_GAP": "0"})
    wait_for(lambda: "event=alert_retry" in crew.logtext(),
             what="a refused delivery being retried")
    with http_server(Receiver, http.server.ThreadingHTTPServer, port=port,
                     lock=threading.Lock(), codes=[], posts=[]) as srv:
        wait_for(lambda: len(accepted(srv)) >= 1, what="delivery")
        assert accepted(srv)[0]["to"] == "failing"


# The sentinel: each condition forced with the test-only KEEPER_TEST_FAULT
# hook (keeper(1) HOUSEKEEPING), then seen detected, repaired, logged and
# counted in /_health.

def sentinel_count(crew, kind):
    code, body = crew.http("/_health")
    return body.get("sentinel", {}).get(kind, 0)


def test_sentinel_missed_timer(crew, tmp_path):
    runs = tmp_path / "runs"
    crew.agent("wren", "echo x >> %s" % runs, interval="300ms")
    crew.start(env={"KEEPER_TEST_FAULT": "skip-timer"})
    # The first timer fire is swallowed; the sentinel ticks it anyway.
    wait_for(lambda: nruns(runs) >= 2, what="runs after the repair")
    assert "event=sentinel kind=missed_timer" in crew.logtext()
    assert sentinel_count(crew, "missed_timer") == 1


def test_sentinel_overdue_run(crew, tmp_path):
    crew.agent("wren", "sleep 30", interval="1h", timeout="200ms")
    crew.start(env={"KEEPER_TEST_FAULT": "no-reap"})
    # The deadline kill is skipped once; the sentinel kills the run.
    wait_for(lambda: "kind=overdue_run" in crew.logtext(),
             what="overdue run found")
    wait_for(lambda: sentinel_count(crew, "overdue_run") == 1,
             what="counted")
    db = crew.data / "keeper.db"
    wait_for(lambda: sqlite3.connect(str(db)).execute(
        "SELECT outcome FROM runs WHERE agent='wren' AND outcome IS NOT "
        "NULL").fetchall() == [("killed",)], what="the run recorded killed")


def test_sentinel_leaked_slot(crew, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    crew.agent("one", "echo x >> %s" % a, interval="200ms")
    crew.agent("two", "echo x >> %s" % b, interval="200ms")
    crew.start(env={"KEEPER_TEST_FAULT": "leak-slot"}, concurrency=1)
    # One slot, leaked by the first run: nobody could run again until
    # the sentinel gives it back.
    wait_for(lambda: "kind=leaked_slot" in crew.logtext(),
             what="leaked slot found")
    wait_for(lambda: nruns(a) >= 2 and nruns(b) >= 2,
             what="both agents running again")
    assert sentinel_count(crew, "leaked_slot") == 1


def test_sentinel_quiet_when_healthy(crew, tmp_path):
    runs = tmp_path / "runs"
    crew.agent("wren", "echo x >> %s" % runs, interval="100ms")
    crew.start()
    # 25 runs at 100ms take over 2 s: the 1 s sentinel looked twice.
    wait_for(lambda: nruns(runs) >= 25, what="runs")
    code, body = crew.http("/_health")
    s = body["sentinel"]
    assert s["missed_timer"] == s["overdue_run"] == s["leaked_slot"] == 0, \
        crew.logtext()
    assert "event=sentinel" not in crew.logtext()


# Housekeeping: the daily duties run once soon after boot.

def test_housekeeping_prunes_history_and_journals(crew, tmp_path):
    crew.agent("wren", "echo hi", interval="1h")
    crew.start()
    wait_for(lambda: "event=start" in crew.logtext(), what="daemon up")
    crew.stop()
    now_ms = int(time.time() * 1000)
    day = 86400 * 1000
    db = sqlite3.connect(str(crew.data / "keeper.db"))
    for agent, age in (("old", 3 * day), ("older", 30 * day),
                       ("recent", day // 2)):
        t = now_ms - age
        db.execute("INSERT INTO runs (agent, scheduled, started, ended, "
                   "outcome) VALUES (?, ?, ?, ?, 'done')", (agent, t, t, t))
    db.commit()
    db.close()
    journal = crew.data / "dreams-wren.org"
    journal.write_text("#+TITLE: dreams\n" + "".join(
        "* dream %d\nbody\n" % i for i in range(1, 301)))
    crew.proc = None
    crew.start(retention="1d")

    def left():
        c = sqlite3.connect(str(crew.data / "keeper.db"))
        r = sorted(a for (a,) in c.execute(
            "SELECT agent FROM runs WHERE agent IN ('old','older','recent')"))
        c.close()
        return r
    wait_for(lambda: left() == ["recent"], what="old rows pruned")
    wait_for(lambda: journal.read_text().count("\n* dream") == 200,
             what="journal bounded to 200 entries")
    text = journal.read_text()
    assert text.startswith("#+TITLE: dreams\n* dream 101\n")
    assert text.endswith("* dream 300\nbody\n")
    assert "event=housekeep duty=prune rows=2" in crew.logtext()


@pytest.mark.parametrize("made_by", ["this keeper", "an older keeper"])
def test_housekeeping_gives_free_pages_back(crew, made_by):
    """After the daily prune the freed pages go back a step at a time
    (incremental vacuum, so no step holds the loop for long). A
    database from before incremental mode gets one full VACUUM, which
    switches it over."""
    crew.agent("wren", "echo hi", interval="1h")
    crew.start()
    wait_for(lambda: "event=start" in crew.logtext(), what="daemon up")
    crew.stop()
    path = str(crew.data / "keeper.db")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    if made_by == "an older keeper":
        db.execute("PRAGMA auto_vacuum=NONE")
        db.execute("VACUUM")
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    old = int(time.time() * 1000) - 3 * 86400 * 1000
    db.executemany("INSERT INTO runs (agent, scheduled, started, ended, "
                   "outcome, output_head) VALUES ('old', ?, ?, ?, 'done', ?)",
                   [(old, old, old, "x" * 4000)] * 600)
    db.commit()
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    crew.proc = None
    crew.start(retention="1d")
    mode = "incremental" if made_by == "this keeper" else "full"
    wait_for(lambda: "duty=vacuum mode=%s" % mode in crew.logtext(),
             timeout=60, what="the vacuum")
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert db.execute("PRAGMA page_count").fetchone()[0] < pages // 2
    finally:
        db.close()
