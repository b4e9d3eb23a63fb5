"""Alerts and results through the real binary (keeper(1) ALERTS): the
rate limit's treatment of recoveries, each receiver format's exact
request for an alert and for a result, the crew's destinations with the
environment's, and what becomes of a result's delivery, taken by
loopback receivers that record what they were sent."""
import http.server
import json
import os
import re
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


# ---- the crew's destinations ----

def test_crew_destinations_with_the_environment(crew, receiver, receiver2,
                                                monkeypatch):
    """#+ALERT-URL: lines (each its own destination, #+ALERT-FORMAT: their
    default) and KEEPER_ALERT_URL add up; a receiver named by both gets one
    copy."""
    crew.write("wren.org", sh_def("exit 1"))
    crew.write_crew([("wren", {"DEF": "wren.org", "INTERVAL": "300ms"})],
                    title="newsroom", backoff_base="100ms",
                    alert_format="ntfy",
                    alert_url=receiver.base + "/topic")
    with open(crew.crew, "a") as f:
        f.write("#+ALERT-URL: %s/hook format=discord\n" % receiver2.base)
    monkeypatch.setenv("KEEPER_ALERT_URL", "%s/topic format=ntfy "
                       "%s/env" % (receiver.base, receiver2.base))
    monkeypatch.setenv("KEEPER_ALERT_AFTER", "1")
    monkeypatch.setenv("KEEPER_ALERT_GAP", "0")
    p = crew.start()
    wait_for(lambda: len(taken(receiver)) >= 1 and
             len(taken(receiver2)) >= 2, what="three copies")
    assert crew.stop(p) == 0
    (ntfy,) = taken(receiver)
    assert ntfy["path"] == "/topic"
    assert ntfy["headers"]["Title"] == "newsroom: wren failing"
    by_path = {q["path"]: q for q in taken(receiver2)}
    assert sorted(by_path) == ["/env", "/hook"]
    assert json.loads(by_path["/env"]["body"])["to"] == "failing"  # json
    assert "content" in json.loads(by_path["/hook"]["body"])     # discord
    keys = {q["headers"]["Idempotency-Key"] for q in
            taken(receiver) + taken(receiver2)}
    assert len(keys) == 1


def test_destinations_follow_a_reload(crew, receiver, receiver2,
                                      monkeypatch):
    """A saved crew.org moves the alerts to its new #+ALERT-URL: without
    forgetting what the agent was: its recovery goes to the new receiver,
    and the failure is not alerted again."""
    runs, broken = flapping(crew)
    crew.write_crew([("wren", {"DEF": "wren.org", "INTERVAL": "300ms"})],
                    backoff_base="100ms",
                    alert_url=receiver.base + "/a")
    monkeypatch.setenv("KEEPER_ALERT_AFTER", "1")
    monkeypatch.setenv("KEEPER_ALERT_GAP", "0")
    p = crew.start()
    wait_for(lambda: taken(receiver), what="the failing alert at a")
    crew.write_crew([("wren", {"DEF": "wren.org", "INTERVAL": "300ms"})],
                    backoff_base="100ms",
                    alert_url=receiver2.base + "/b")
    wait_for(lambda: "event=alert-destinations" in crew.log(p),
             what="the new destinations")
    n = nruns(runs)
    wait_for(lambda: nruns(runs) >= n + 2, what="two runs after the reload")
    os.unlink(broken)
    wait_for(lambda: taken(receiver2), what="the recovery at b")
    assert crew.stop(p) == 0
    assert [json.loads(q["body"])["to"] for q in taken(receiver)] == [
        "failing"]
    assert [json.loads(q["body"])["to"] for q in taken(receiver2)] == ["ok"]


# ---- results (dual delivery) ----

def briefing(crew, body, notify="done", url=None, extra=None, **kw):
    """A crew titled newsroom whose member brief runs body once (an hour's
    interval) with :NOTIFY: notify; url, when given, is #+ALERT-URL:."""
    props = {"DEF": "brief.org", "INTERVAL": "1h", "NOTIFY": notify}
    props.update(extra or {})
    crew.write("brief.org", sh_def(body))
    if url:
        kw["alert_url"] = url
    crew.write_crew([("brief", props)], title="newsroom", **kw)


def history(crew):
    r = crew.keeper("history", "--data", crew.data, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def delivery(crew):
    """The newest history row's delivery notes, "" while there are none."""
    if not crew.closed():
        return ""
    return history(crew)[0]["delivery"] or ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_result_format_on_the_wire(crew, receiver, fmt):
    """A :NOTIFY: done member's result, in each receiver's format, as the
    service documents it; the history row is the audit copy."""
    path = {"telegram": "/bot9:T/sendMessage"}.get(fmt, "/r")
    url = receiver.base + path + " format=" + fmt
    if fmt == "telegram":
        url += " chat=@news"
    briefing(crew, "echo 'Top story: <rates> & more'", url=url)
    p = crew.start()
    wait_for(lambda: taken(receiver), what="the result")
    wait_for(lambda: delivery(crew).endswith(": delivered"),
             what="the delivery noted")
    assert crew.stop(p) == 0
    (row,) = history(crew)
    assert row["outcome"] == "done"
    run = str(row["id"])
    post = taken(receiver)[0]
    h = post["headers"]
    assert post["path"] == path
    assert re.fullmatch("[0-9a-f]{16}", h["Idempotency-Key"])
    text = "Top story: <rates> & more\n"
    head = "newsroom: brief done (run %s)" % run
    if fmt == "json":
        assert h["Content-Type"] == "application/json"
        assert post["body"] == compact({
            "kind": "result", "id": h["Idempotency-Key"], "agent": "brief",
            "crew": "newsroom", "outcome": "done", "run": run,
            "at": iso(row["ended"]), "at_ms": row["ended"], "text": text})
    elif fmt == "ntfy":
        assert h["Content-Type"] == "text/plain; charset=utf-8"
        assert h["Title"] == head
        assert h["Priority"] == "default"
        assert h["Tags"] == "page_facing_up,brief"
        assert post["body"] == text.encode()
    elif fmt == "slack":
        assert post["body"] == compact({"text": head + "\nTop story: "
                                        "&lt;rates&gt; &amp; more\n"})
    elif fmt == "discord":
        assert post["body"] == compact({"content": head + "\n" + text,
                                        "allowed_mentions": {"parse": []}})
    else:
        assert post["body"] == compact({"chat_id": "@news",
                                        "text": head + "\n" + text})
    assert len(receiver.posts) == 1
    assert re.fullmatch(r"\S+Z %s http://127\.0\.0\.1:\d+: delivered" % fmt,
                        row["delivery"])


def test_result_redacted_and_cut(crew, receiver):
    """A secret in the result never leaves keeper, and a result longer
    than Discord takes is cut at its limit, marked."""
    body = ("echo 'key sk-live0123456789abcdefghijklmnop'; "
            "i=0; while [ $i -lt 300 ]; do echo 'line of the long "
            "briefing'; i=$((i+1)); done")
    briefing(crew, body, url=receiver.base + "/d format=discord")
    p = crew.start()
    wait_for(lambda: taken(receiver), what="the result")
    assert crew.stop(p) == 0
    content = json.loads(taken(receiver)[0]["body"])["content"]
    assert "sk-live" not in content
    assert "[REDACTED]" in content
    assert len(content.encode("utf-16-le")) // 2 <= 2000
    assert content.endswith("\u2026 (cut)")


def test_result_to_the_members_own_url_only_when_failed(crew, receiver,
                                                        receiver2):
    """:NOTIFY: failed with a :NOTIFY-URL: of its own: a failed run's
    result (its error first) goes there and not to the crew's
    destinations; a done run sends nothing."""
    flag = crew.path("fail-now")
    open(flag, "w").close()
    briefing(crew, "echo partial; if [ -e %s ]; then echo 'no feed' >&2; "
             "exit 4; fi; echo fine" % flag, notify="failed",
             url=receiver.base + "/crew",
             extra={"NOTIFY-URL": receiver2.base + "/own format=slack",
                    "INTERVAL": "400ms"})
    p = crew.start()
    wait_for(lambda: taken(receiver2), what="the failed result")
    os.unlink(flag)
    wait_for(lambda: any(r["outcome"] == "done" for r in crew.closed()),
             what="a done run")
    n = len(crew.closed())
    wait_for(lambda: len(crew.closed()) >= n + 2, what="two more runs")
    assert crew.stop(p) == 0
    text = json.loads(taken(receiver2)[0]["body"])["text"]
    assert text.startswith("newsroom: brief failed (run ")
    assert "exit status 4" in text and "partial" in text
    assert all(q["path"] == "/own" for q in taken(receiver2))
    assert len(taken(receiver2)) == len([r for r in crew.closed()
                                        if r["outcome"] == "failed"])
    assert taken(receiver) == []


def test_result_receiver_down_gets_it_later_once(crew, receiver):
    """A receiver that is down gets the result once it is back, once; the
    history row notes the failure and the late delivery, and the run's
    outcome stays done."""
    receiver.down = True
    briefing(crew, "echo morning", url=receiver.base + "/n format=ntfy")
    p = crew.start()
    wait_for(lambda: len(receiver.posts) >= 1, what="a first try")
    wait_for(lambda: "retrying" in delivery(crew), what="the failure noted")
    with receiver.lock:
        receiver.down = False
    wait_for(lambda: taken(receiver), what="the late delivery")
    wait_for(lambda: "delivered after" in delivery(crew),
             what="the delivery noted")
    assert crew.stop(p) == 0
    (late,) = taken(receiver)
    assert late["body"] == b"morning\n"
    assert {q["headers"]["Idempotency-Key"] for q in receiver.posts} == {
        late["headers"]["Idempotency-Key"]}
    (row,) = history(crew)
    assert row["outcome"] == "done"
    lines = row["delivery"].splitlines()
    assert re.fullmatch(r"\S+Z ntfy http://127\.0\.0\.1:\d+: HTTP 503, "
                        r"retrying", lines[0])
    assert re.fullmatch(r"\S+Z ntfy http://127\.0\.0\.1:\d+: delivered "
                        r"after \d+ tries", lines[1])
    assert len(lines) == 2


def test_result_refused_is_noted_not_failed(crew, receiver):
    """A receiver that refuses (HTTP 400) is not asked again; the refusal
    is beside the run, whose outcome is its own."""
    receiver.codes = [400]
    briefing(crew, "echo hi", url=receiver.base + "/x")
    p = crew.start()
    wait_for(lambda: "refused" in delivery(crew), what="the refusal noted")
    assert crew.stop(p) == 0
    (row,) = history(crew)
    assert row["outcome"] == "done"
    assert row["delivery"].endswith(": refused (HTTP 400), not sent")
    assert len(receiver.posts) == 1


def test_result_without_destination_is_noted(crew):
    briefing(crew, "echo hi")
    p = crew.start()
    wait_for(lambda: delivery(crew), what="the note")
    assert crew.stop(p) == 0
    assert "not sent: no destination" in history(crew)[0]["delivery"]
