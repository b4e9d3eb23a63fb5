"""Alerts through the real binary (keeper(1) ALERTS): the rate limit's
treatment of recoveries, and each receiver format's exact request, taken
by loopback receivers that record what they were sent."""
import http.server
import json
import os
import sqlite3
import threading
import time

import pytest

from conftest import http_server, sh_def, wait_for


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the next code in server.codes (200 when
    none are left) and records path, headers and the raw body."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv = self.server
        with srv.lock:
            if srv.down:
                code = 503
            else:
                code = srv.codes.pop(0) if srv.codes else 200
            srv.posts.append({"code": code, "path": self.path,
                              "headers": self.headers, "body": body})
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def receiver():
    with http_server(Recorder, http.server.ThreadingHTTPServer,
                     lock=threading.Lock(), codes=[], posts=[],
                     down=False) as srv:
        srv.base = "http://127.0.0.1:%d" % srv.server_address[1]
        yield srv


@pytest.fixture
def receiver2():
    with http_server(Recorder, http.server.ThreadingHTTPServer,
                     lock=threading.Lock(), codes=[], posts=[],
                     down=False) as srv:
        srv.base = "http://127.0.0.1:%d" % srv.server_address[1]
        yield srv


def taken(srv):
    """The requests the receiver took (2xx), in order."""
    with srv.lock:
        return [p for p in srv.posts if 200 <= p["code"] < 300]


def flapping(crew, interval="300ms"):
    """An agent that fails while `broken` exists; it counts its runs."""
    runs = crew.path("runs")
    broken = crew.path("broken")
    open(broken, "w").close()
    crew.write("wren.org", sh_def("echo x >> %s; test ! -e %s" % (
        runs, broken)))
    crew.write_crew([("wren", {"DEF": "wren.org", "INTERVAL": interval})],
                    backoff_base="100ms")
    return runs, broken


def nruns(runs):
    if not os.path.exists(runs):
        return 0
    with open(runs) as f:
        return len(f.read().splitlines())


def alert_rows(crew):
    con = sqlite3.connect(os.path.join(crew.data, "keeper.db"), timeout=5)
    try:
        return con.execute("SELECT from_state, to_state, suppressed FROM "
                           "alerts ORDER BY at_ms").fetchall()
    finally:
        con.close()


def test_recovery_not_held_by_the_gap(crew, receiver, monkeypatch):
    """With an hour's gap, the fix is still told when it happens, and the
    failure after it is held: the incident is two messages."""
    runs, broken = flapping(crew)
    monkeypatch.setenv("KEEPER_ALERT_URL", receiver.base + "/hook")
    monkeypatch.setenv("KEEPER_ALERT_GAP", "1h")
    p = crew.start()
    wait_for(lambda: len(taken(receiver)) >= 1, timeout=15,
             what="the failing alert")
    os.unlink(broken)
    wait_for(lambda: len(taken(receiver)) >= 2, timeout=15,
             what="the recovery, inside the hour's gap")
    up = json.loads(taken(receiver)[1]["body"])
    assert (up["from"], up["to"], up["event"]) == ("failing", "ok",
                                                   "recovered")
    # Broken again: three failures make it failing, inside the gap the
    # recovery opened, so it is held.
    open(broken, "w").close()
    n = nruns(runs)
    wait_for(lambda: nruns(runs) >= n + 5, timeout=15,
             what="five more runs")
    assert len(taken(receiver)) == 2
    assert crew.stop(p) == 0
    assert alert_rows(crew) == [("ok", "failing", 0), ("failing", "ok", 0)]


# ---- the receivers' formats ----

def always_failing(crew, monkeypatch, url, fmt=None):
    """An agent that always fails, alerting after one failure, with no
    gap; the crew is titled "newsroom"."""
    crew.write("wren.org", sh_def("exit 1"))
    crew.write_crew([("wren", {"DEF": "wren.org", "INTERVAL": "300ms"})],
                    title="newsroom", backoff_base="100ms")
    monkeypatch.setenv("KEEPER_ALERT_URL", url)
    if fmt:
        monkeypatch.setenv("KEEPER_ALERT_FORMAT", fmt)
    monkeypatch.setenv("KEEPER_ALERT_AFTER", "1")
    monkeypatch.setenv("KEEPER_ALERT_GAP", "0")
    return crew.start()


def first_alert(crew):
    con = sqlite3.connect(os.path.join(crew.data, "keeper.db"), timeout=5)
    try:
        return con.execute("SELECT id, at_ms, run_id, text FROM alerts "
                           "ORDER BY at_ms LIMIT 1").fetchone()
    finally:
        con.close()


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def compact(obj):
    """JSON as keeper sends it: compact, keys sorted."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


FORMATS = ["json", "ntfy", "slack", "discord", "telegram"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_alert_format_on_the_wire(crew, receiver, monkeypatch, fmt):
    """Each format's exact request, as the real service documents it.
    ntfy is chosen by KEEPER_ALERT_FORMAT, the others by format= in
    KEEPER_ALERT_URL."""
    path = {"telegram": "/bot123:ABC/sendMessage"}.get(fmt, "/hook")
    url = receiver.base + path
    if fmt == "ntfy":
        p = always_failing(crew, monkeypatch, url, fmt="ntfy")
    else:
        url += " format=" + fmt
        if fmt == "telegram":
            url += " chat=-100123"
        p = always_failing(crew, monkeypatch, url)
    wait_for(lambda: taken(receiver), timeout=15, what="the alert")
    assert crew.stop(p) == 0
    aid, at_ms, run, text = first_alert(crew)
    assert text == "wren is failing (1 consecutive failures)"
    post = taken(receiver)[0]
    h = post["headers"]
    assert post["path"] == path
    assert h["Idempotency-Key"] == aid
    line = "wren is failing (1 consecutive failures)"
    when = "run %s at %s" % (run, iso(at_ms))
    chat = "newsroom: %s\n%s" % (line, when)
    if fmt == "json":
        assert h["Content-Type"] == "application/json"
        assert post["body"] == compact({
            "id": aid, "agent": "wren", "crew": "newsroom",
            "event": "failing", "from": "ok", "to": "failing",
            "fail_streak": 1, "suppressed": 0, "run": run,
            "at": iso(at_ms), "at_ms": at_ms, "text": line})
    elif fmt == "ntfy":
        assert h["Content-Type"] == "text/plain; charset=utf-8"
        assert h["Title"] == "newsroom: wren failing"
        assert h["Priority"] == "high"
        assert h["Tags"] == "rotating_light,wren"
        assert post["body"] == ("%s\n%s" % (line, when)).encode()
    elif fmt == "slack":
        assert h["Content-Type"] == "application/json"
        assert post["body"] == compact({"text": chat})
    elif fmt == "discord":
        assert h["Content-Type"] == "application/json"
        assert post["body"] == compact({"content": chat,
                                        "allowed_mentions": {"parse": []}})
    else:
        assert h["Content-Type"] == "application/json"
        assert post["body"] == compact({"chat_id": "-100123", "text": chat})
    # One transition, one request: nothing re-sent.
    assert len(receiver.posts) == 1


def test_two_receivers_one_down(crew, receiver, receiver2, monkeypatch):
    """Each destination its own copy on its own lane: the one that is up
    gets it at once, the one that is down gets it later, once."""
    receiver.down = True
    p = always_failing(crew, monkeypatch, "%s/ops format=ntfy %s/hook "
                       "format=slack" % (receiver.base, receiver2.base))
    wait_for(lambda: taken(receiver2), timeout=15, what="the slack copy")
    wait_for(lambda: receiver.posts, timeout=15, what="a try at ntfy")
    assert not taken(receiver)
    with receiver.lock:
        receiver.down = False
    wait_for(lambda: taken(receiver), timeout=15, what="the ntfy copy")
    (up,) = taken(receiver2)
    (late,) = taken(receiver)
    assert up["headers"]["Content-Type"] == "application/json"
    assert late["headers"]["Title"] == "newsroom: wren failing"
    # The retries were the same delivery, and both copies are one alert.
    key = late["headers"]["Idempotency-Key"]
    assert {q["headers"]["Idempotency-Key"] for q in receiver.posts} == {key}
    assert up["headers"]["Idempotency-Key"] == key
    # Steady failing afterwards: no copy is sent again.
    runs = len(crew.closed("wren"))
    wait_for(lambda: len(crew.closed("wren")) >= runs + 3, timeout=15,
             what="three more runs")
    assert len(taken(receiver)) == 1 and len(taken(receiver2)) == 1
    assert crew.stop(p) == 0
    assert "event=alert_retry" in crew.log(p)


def test_bad_alert_format_keeps_running(crew, receiver, monkeypatch):
    """A bad KEEPER_ALERT_FORMAT is reported; agents run and alerts still
    go out, in the default json."""
    p = always_failing(crew, monkeypatch, receiver.base + "/hook",
                       fmt="teams")
    wait_for(lambda: taken(receiver), timeout=15, what="the alert")
    assert crew.stop(p) == 0
    log = crew.log(p)
    assert "event=alert-config" in log
    assert "unknown alert format 'teams'" in log
    body = json.loads(taken(receiver)[0]["body"])
    assert body["to"] == "failing"
