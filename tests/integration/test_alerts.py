"""Alerts through the real binary (keeper(1) ALERTS): the rate limit's
treatment of recoveries, and each receiver format's exact request, taken
by loopback receivers that record what they were sent."""
import http.server
import json
import os
import sqlite3
import threading

import pytest

from conftest import http_server, sh_def, wait_for


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the next code in server.codes (200 when
    none are left) and records path, headers and the raw body."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv = self.server
        with srv.lock:
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
                     lock=threading.Lock(), codes=[], posts=[]) as srv:
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
