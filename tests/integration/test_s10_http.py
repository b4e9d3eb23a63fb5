"""SPEC §10, the read-only HTTP plane, over real sockets against the real
daemon: endpoint shapes (/_activity, /_changes, /_health, /_timeline, /,
/_events; /metrics is test_s10_metrics.py's),
answers while an agent is mid-run or its commit is in flight, HEAD, 404
and 405, hostile clients, live events, and no secret ever served.
(How fast it answers is bench/http.sh's to measure, not this file's. The
dashboard in a browser is test_s10_dashboard.py.)"""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (KEEPER, agent_commit, git, http_get, ok_def,
                      site_repo, wait_for)

SECRET = "sk-proj4f8e2a9c1b7d6e5f3a2b1c0d9e8f7a6b"

AGENT_KEYS = {"name", "running", "queue_place", "lifecycle", "steps",
              "thought", "last_run", "next_tick", "last_outcome",
              "no_work_streak", "health"}


def blocking_def(path, gate):
    """An agent def whose run says things (a secret among them) and then
    waits until the test creates the gate file."""
    path.write_text(f"""#+TITLE: blocker
* announce
#+begin_src sh
echo "::step::starting with key {SECRET}"
echo "::thought::token={SECRET}"
echo "::step::the door code is hunter4242"
echo "working"
#+end_src
* wait
#+begin_src sh
i=0; while [ ! -e {gate} ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done
echo "done waiting"
#+end_src
""")


def quick_def(path):
    path.write_text("""#+TITLE: quick
* hello
#+begin_src sh
echo "::step::saying hello"
echo hello > hello.txt
echo hello
#+end_src
""")


class Daemon:
    """crew's daemon serving the plane: members (name, def, {PROP:
    value}) of a crew titled "plane", keywords its file keywords, after a
    commit made the way keeper makes them, which the feed must show from
    the first snapshot on."""

    def __init__(self, crew, members, env=None, **keywords):
        self.c = crew
        self.root = Path(crew.root)
        self.repo = Path(crew.repo)
        self.data = Path(crew.data)
        self.crew = Path(crew.crew)
        agent_commit(crew.repo, "quick", "seed.txt", "seed\n", "seeded")
        crew.write_crew([(name, dict({"DEF": d}, **props))
                         for name, d, props in members], title="plane",
                        **keywords)
        self.proc = crew.start(env=env)
        self.addr = crew.http_addr()
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)

    def get(self, path, method="GET", headers=None):
        return http_get(self.addr, path, method, headers)

    def json(self, path):
        status, headers, body = self.get(path)
        assert headers.get("Content-Type") == "application/json"
        return status, json.loads(body)

    def activity(self):
        return self.json("/_activity")[1]

    def agent(self, name):
        for a in self.activity()["agents"]:
            if a["name"] == name:
                return a
        return None

    def stop(self):
        """SIGTERM drains and exits 0 (under ASan: no leak, no error in
        the plane's teardown)."""
        code = self.c.stop(self.proc, timeout=30)
        assert code == 0, self.c.log(self.proc)[-3000:]


# Snapshots of a big crew are rendered on the plane's thread (plane.c);
# the test-only KEEPER_TEST_RENDER_THREAD sends every render there, so each
# plane test runs both ways.
RENDERS = {"loop": {}, "thread": {"KEEPER_TEST_RENDER_THREAD": "1"}}


@pytest.fixture(params=sorted(RENDERS))
def plane(crew, request):
    """Two agents: 'blocker' runs at once and holds its run until the gate
    file exists; 'quick' runs and finishes."""
    root = Path(crew.root)
    gate = root / "gate"
    blocking_def(root / "blocker.org", gate)
    quick_def(root / "quick.org")
    d = Daemon(crew, [
        ("blocker", "blocker.org", {"INTERVAL": "1h"}),
        ("quick", "quick.org", {"INTERVAL": "1h"}),
    ], env=RENDERS[request.param], boot_grace="50ms", stagger=0,
        concurrency=2, redact="hunter[0-9]+")
    d.gate = gate
    yield d
    gate.touch()
    d.stop()


def running(d, name):
    a = d.agent(name)
    return a is not None and a["running"]


def test_http_addr_written(plane):
    assert plane.host == "127.0.0.1"
    assert 0 < plane.port < 65536


def said(d, name, text):
    a = d.agent(name)
    return a is not None and any(text in s["text"] for s in a["steps"])


def test_activity_shape(plane):
    wait_for(lambda: running(plane, "blocker") and
             said(plane, "blocker", "starting with key"),
             what="blocker mid-run")
    act = plane.activity()
    assert set(act) >= {"agents", "wire", "agent"}
    assert [a["name"] for a in act["agents"]] == ["blocker", "quick"]
    for a in act["agents"]:
        assert set(a) >= AGENT_KEYS
        assert set(a["lifecycle"]) >= {"state", "hits"}
        assert isinstance(a["running"], bool)
        assert a["queue_place"] is None or a["queue_place"] >= 1
        assert len(a["steps"]) <= 5
        assert a["health"] in ("ok", "late", "stale", "failing", "never")
        for t in ("last_run", "next_tick"):
            assert a[t] is None or isinstance(a[t], int)
    b = plane.agent("blocker")
    assert b["running"] is True
    assert any("starting with key" in s["text"] for s in b["steps"])
    for w in act["wire"]:
        assert set(w) == {"agent", "at", "text"}
        assert w["agent"] in ("blocker", "quick")
    ats = [w["at"] for w in act["wire"]]
    assert ats == sorted(ats, reverse=True)
    # The agent in front is a running one (the most recently active).
    assert act["agent"]["running"] is True
    assert act["agent"] in act["agents"] or act["agent"]["name"] in (
        a["name"] for a in act["agents"] if a["running"])


def test_health_and_changes_shape(plane):
    status, h = plane.json("/_health")
    # "sentinel": the self-check's repair counts (keeper(1) HOUSEKEEPING).
    assert set(h) == {"status", "agents", "sentinel"}
    assert set(h["sentinel"]) == {"missed_timer", "overdue_run",
                                  "leaked_slot", "lost_slot"}
    assert set(h["agents"]) == {"blocker", "quick"}
    assert status == (200 if h["status"] == "ok" else 503)
    assert all(v in ("ok", "late", "stale", "failing", "never")
               for v in h["agents"].values())
    # The feed shows the repository's history, newest first, and follows
    # HEAD when a run ends (quick's run writes a file: keeper commits it).
    wait_for(lambda: not running(plane, "quick"), what="quick's run")

    def head():
        return git(plane.repo, "rev-parse", "HEAD")
    c = wait_for(lambda: (lambda c: c if c["commits"] and
                          c["commits"][0]["id"] == head() else None)(
        plane.json("/_changes")[1]), what="HEAD in /_changes")
    assert set(c) == {"commits", "keeper"}
    assert c["keeper"]["agents"] == 2
    assert c["keeper"]["status"] in ("ok", "degraded")
    k = c["commits"][0]
    assert set(k) >= {"id", "author", "time", "subject", "agent", "state",
                      "run"}
    assert k["agent"] == "quick" and k["subject"].startswith("quick:")
    assert c["commits"][-1]["subject"] == "quick: wake 1/1 \u2014 seeded"
    assert c["commits"][-1]["state"] == "wake"
    # Unix milliseconds, like every time on the plane.
    assert abs(k["time"] - time.time() * 1000) < 600_000


def test_dashboard_served(plane):
    status, headers, body = plane.get("/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"<title>keeper</title>" in body
    assert b"EventSource" in body
    # Self-contained: nothing fetched from elsewhere.
    assert b"http://" not in body and b"https://" not in body
    status, headers, body = plane.get("/", method="HEAD")
    assert status == 200 and body == b""


def test_activity_never_waits_for_a_run(plane):
    """The handler only reads a published snapshot: with an agent blocked
    mid-run (until the test lets it go), requests are answered, and say
    it is running. How fast they are answered meanwhile is measured by
    bench/http.sh."""
    wait_for(lambda: running(plane, "blocker"), what="blocker mid-run")
    for _ in range(7):
        status, _, body = plane.get("/_activity")
        assert status == 200 and json.loads(body)["agents"]
    assert running(plane, "blocker")


def test_activity_never_waits_for_a_commit(crew):
    """An agent writes 1000 files: keeper's commit of them takes a while,
    on the thread pool. /_activity is polled from the moment the run starts
    until the tick, commit included, is reported finished: every poll is
    answered, and the commit is in HEAD. (The latency of those answers is
    measured by bench/http.sh.)"""
    (Path(crew.root) / "bulk.org").write_text("""#+TITLE: bulk
* write
#+begin_src sh
echo "::step::writing"
mkdir -p out
i=0
while [ $i -lt 1000 ]; do echo "$i" > out/f$i.txt; i=$((i + 1)); done
echo "wrote them"
#+end_src
""")
    d = Daemon(crew, [("bulk", "bulk.org", {"INTERVAL": "1h"})],
               boot_grace="50ms")
    try:
        seed = git(d.repo, "rev-parse", "HEAD")
        wait_for(lambda: running(d, "bulk"), what="bulk's run")

        def finished():
            status, _, body = d.get("/_activity")
            assert status == 200
            a = [x for x in json.loads(body)["agents"]
                 if x["name"] == "bulk"][0]
            return not a["running"] and a["last_outcome"] is not None
        # The tick is reported finished only after its commit stage.
        wait_for(finished, timeout=60, interval=0,
                 what="bulk's tick, its commit included, to finish")
        assert git(d.repo, "rev-parse", "HEAD") != seed, \
            "keeper committed none of bulk's 1000 files"
        assert git(d.repo, "ls-tree", "-r", "--name-only", "HEAD",
                   "out").count("\n") == 999
    finally:
        d.stop()


def test_404_405(plane):
    for path in ("/nope", "/_activity/x", "/_activityx", "/../etc/passwd"):
        assert plane.get(path)[0] == 404, path
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _ = plane.get("/_activity", method=method)
        assert status == 405, method
        assert headers.get("Allow") == "GET, HEAD"
    status, _, body = plane.get("/_activity", method="HEAD")
    assert status == 200 and body == b""


def raw(d, data, timeout=5.0):
    """Sends raw bytes, returns what comes back until the server closes."""
    s = socket.create_connection((d.host, d.port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass                     # refused midway: fine
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


def assert_alive(d):
    status, _, body = d.get("/_activity")
    assert status == 200 and json.loads(body)["agents"]


def test_huge_header_refused(plane):
    req = (b"GET /_activity HTTP/1.1\r\nHost: x\r\nX-Big: " +
           b"a" * (200 * 1024) + b"\r\n\r\n")
    out = raw(plane, req)
    assert b'"agents"' not in out
    if out:
        assert out.split(b"\r\n", 1)[0].split(b" ")[1] in (b"431", b"413",
                                                            b"400")
    assert_alive(plane)


def test_garbage_and_http09_refused(plane):
    for junk in (b"\x00\x01\x02\xff\xfe\xfd garbage \r\n\r\n",
                 os.urandom(4096),
                 b"GET /_activity\r\n",
                 b"GET /_activity HTTP/9.9\r\n\r\n",
                 b"GET /_activity HTTP/1.1\r\n" + b"X: y\r\n" * 3000 +
                 b"\r\n"):
        out = raw(plane, junk)
        assert b'"agents"' not in out, junk[:30]
        # Refused with a 4xx/5xx status line, or the connection closed.
        if out:
            assert out.split(b" ", 2)[1][:1] in (b"4", b"5"), out[:60]
    # An HTTP/0.9 line is a bad request, not a reply without headers.
    assert raw(plane, b"GET /_activity\r\n").startswith(b"HTTP/1.1 400 ")
    assert_alive(plane)


def answers_fn(d):
    def answers():
        try:
            return d.get("/_health")[0] in (200, 503)
        except OSError:
            return False
    return answers


def test_slowloris_is_bounded(plane):
    """200 connections that each send half a request line and then hang:
    the server refuses what is over its limits, times the rest out by
    itself, and answers normally afterwards."""
    socks = []
    for _ in range(200):
        try:
            s = socket.create_connection((plane.host, plane.port),
                                         timeout=2)
            s.sendall(b"GET /_activity HTTP/1.1\r\nX-Slow: ")
            socks.append(s)
        except OSError:
            pass
    assert socks
    answers = answers_fn(plane)

    def all_closed():
        for s in list(socks):
            s.settimeout(0.01)
            try:
                if s.recv(4096) == b"":
                    socks.remove(s)
                    s.close()
            except socket.timeout:
                pass
            except OSError:
                socks.remove(s)
                s.close()
        return not socks
    try:
        wait_for(all_closed, timeout=40, what="server to drop idle clients")
    finally:
        for s in socks:
            s.close()
    # The server reaps the closed connections' threads just after closing
    # their sockets: poll briefly for it to take new ones again.
    wait_for(answers, timeout=5, what="the server to answer again")
    assert_alive(plane)


def sse_events(d, n, timeout=10.0):
    """Reads n 'activity' events from /_events; returns their JSON."""
    s = socket.create_connection((d.host, d.port), timeout=timeout)
    s.sendall(b"GET /_events HTTP/1.1\r\nHost: x\r\n\r\n")
    buf, events = b"", []
    deadline = time.monotonic() + timeout
    try:
        while len(events) < n and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                for line in ev.split(b"\n"):
                    if line.startswith(b"data: "):
                        events.append(json.loads(line[6:]))
    finally:
        s.close()
    return events


def test_events_push_changes(plane):
    wait_for(lambda: running(plane, "blocker"), what="blocker mid-run")
    s = socket.create_connection((plane.host, plane.port), timeout=10)
    s.sendall(b"GET /_events HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    try:
        while b"\n\n" not in buf.split(b"\r\n\r\n", 1)[-1]:
            buf += s.recv(65536)
        head = buf.split(b"\r\n\r\n", 1)[0]
        assert b"200" in head.split(b"\r\n")[0]
        assert b"text/event-stream" in head
        # Releasing the run must push an event where blocker is no
        # longer running.
        plane.gate.touch()

        def pushed():
            nonlocal buf
            buf += s.recv(65536)
            for line in buf.split(b"\n"):
                if line.startswith(b"data: "):
                    try:
                        ev = json.loads(line[6:])
                    except ValueError:
                        continue        # a line not yet complete
                    b = [a for a in ev["agents"] if a["name"] == "blocker"]
                    if b and not b[0]["running"]:
                        return True
            return False
        wait_for(pushed, timeout=15, what="an event after the run ended")
    finally:
        s.close()


def test_secret_never_served(plane):
    """The blocker prints an sk- key as a step and in a thought. No
    endpoint may show the key, mid-run or after."""
    wait_for(lambda: running(plane, "blocker") and
             said(plane, "blocker", "starting with key"),
             what="blocker's steps")
    paths = ("/_activity", "/_health", "/_changes", "/", "/_timeline",
             "/metrics")
    bodies = [plane.get(p)[2] for p in paths]
    bodies += [json.dumps(e).encode() for e in sse_events(plane, 1)]
    # The lines are there, with the secrets replaced.
    assert b"starting with key [REDACTED]" in bodies[0]
    wait_for(lambda: said(plane, "blocker", "door code is [REDACTED]"),
             what="the crew-pattern step")
    plane.gate.touch()
    wait_for(lambda: not running(plane, "blocker"), what="blocker done")
    bodies += [plane.get(p)[2] for p in paths]
    bodies += [json.dumps(e).encode() for e in sse_events(plane, 1)]
    for b in bodies:
        assert SECRET.encode() not in b
        assert SECRET[3:].encode() not in b
        assert b"hunter4242" not in b      # the crew's own #+REDACT:


def test_listen_in_use_stops_the_start(plane, tmp_path_factory):
    """A second daemon told to listen where the first one does exits at
    once with a message naming the address, before any tick. (It has a
    work tree of its own: one keeper per work tree is test_k_faults'.)"""
    tmp = tmp_path_factory.mktemp("second")
    quick_def(tmp / "quick.org")
    (tmp / "crew.org").write_text(
        "* quick\n:PROPERTIES:\n:DEF: quick.org\n:END:\n")
    (tmp / "data").mkdir()
    site_repo(tmp / "repo")
    r = subprocess.run([KEEPER, "run", "--crew", str(tmp / "crew.org"),
                        "--repo", str(tmp / "repo"), "--data",
                        str(tmp / "data"), "--listen", plane.addr],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert plane.addr in r.stderr and "in use" in r.stderr.lower(), r.stderr
    assert not (tmp / "data" / "http.addr").exists()
    assert_alive(plane)


def test_manifest_error_is_shown(plane):
    """A manifest that stops parsing is shown on the plane (the last good
    one keeps running), and the error goes away once it is fixed."""
    good = plane.crew.read_text()

    def save(text):
        # Replaced whole, as an editor saves: a reader never sees it torn.
        tmp = plane.crew.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, plane.crew)
    save(good + "* broken\n:PROPERTIES:\n:DEF: quick.org\n"
         ":INTERVAL: soon\n:END:\n")
    act = wait_for(lambda: (lambda a: a if a["crew"]["error"] else None)(
        plane.activity()), what="the manifest error on /_activity")
    assert "crew.org" in act["crew"]["error"]
    assert [a["name"] for a in act["agents"]] == ["blocker", "quick"]
    assert plane.json("/_changes")[1]["keeper"]["error"] == \
        act["crew"]["error"]
    save(good)
    wait_for(lambda: plane.activity()["crew"]["error"] is None,
             what="the error to clear")


@pytest.mark.parametrize("render", sorted(RENDERS))
def test_activity_agrees_with_run_once_at_once(crew, render):
    """Snapshots are spaced under load (daemon.c), but what run-once has
    answered is already in /_activity: the daemon publishes before it
    replies, waiting for its render on the plane's thread. Five runs back
    to back, each checked the moment it returns."""
    quick_def(Path(crew.root) / "quick.org")
    d = Daemon(crew, [("quick", "quick.org", {"INTERVAL": "1h"})],
               env=RENDERS[render], boot_grace="1h")
    try:
        seen = set()
        for _ in range(5):
            r = crew.run_once("quick")
            assert r.returncode == 0, r.stderr
            a = d.agent("quick")
            assert a["last_outcome"] == "done" and not a["running"], a
            assert a["last_run"] not in seen, a
            seen.add(a["last_run"])
    finally:
        d.stop()


def test_thread_renders_follow_reloads(crew):
    """Renders on the plane's thread work on copies: the manifest is
    swapped under them (its title and members freed) while a fast agent
    keeps the snapshots coming, and each version shows up whole in
    /_activity. The daemon then stops cleanly with a render possibly in
    flight (under ASan: no use after free, no leak)."""
    (Path(crew.root) / "true.org").write_text(
        "* run\n#+begin_src sh\necho ::step::tick\ntrue\n#+end_src\n")
    many = [(f"m{i:03d}", "true.org", {"INTERVAL": "1h"})
            for i in range(150)]
    d = Daemon(crew, many + [("fast", "true.org", {"INTERVAL": "20ms"})],
               env=RENDERS["thread"], boot_grace=0, stagger=0)
    try:
        for v in range(1, 6):
            names = [f"m{i:03d}" for i in range(v * 20, 150)] + ["fast"]
            lines = [f"#+TITLE: version {v}", "#+BOOT-GRACE: 0",
                     "#+STAGGER: 0"]
            for n in names:
                lines += [f"* {n}", ":PROPERTIES:", ":DEF: true.org",
                          ":INTERVAL: 20ms" if n == "fast" else
                          ":INTERVAL: 1h", ":END:"]
            tmp = d.crew.with_suffix(".tmp")
            tmp.write_text("\n".join(lines) + "\n")
            os.replace(tmp, d.crew)

            def shown(v=v, names=names):
                a = d.activity()
                return (a["crew"]["name"] == f"version {v}" and
                        sorted(x["name"] for x in a["agents"]) ==
                        sorted(names))
            wait_for(shown, timeout=30, what=f"manifest version {v}")
        # Its step lines come through the copies too.
        wait_for(lambda: "tick" in [s["text"] for s in
                                    d.agent("fast")["steps"]],
                 what="fast's ::step:: line")
    finally:
        d.stop()


def test_s10_endpoints_head_404_405(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h"})])
    p = crew.start()
    addr = crew.http_addr()
    wait_for(lambda: crew.closed("a"), what="a tick")
    for path in ("/", "/_activity", "/_changes", "/_timeline", "/metrics"):
        st, _, body = http_get(addr, path)
        assert st == 200, path
        st, _, hbody = http_get(addr, path, "HEAD")
        assert st == 200 and hbody == b"", path
    st, _, body = http_get(addr, "/_health")
    assert st in (200, 503)
    assert json.loads(body)["agents"]["a"] in ("ok", "late", "stale",
                                               "failing", "never")
    assert http_get(addr, "/missing")[0] == 404
    assert http_get(addr, "/_activity", "POST")[0] == 405
    act = json.loads(http_get(addr, "/_activity")[2])
    a = act["agents"][0]
    assert a["last_outcome"] == "done" and a["lifecycle"] is not None
    ch = json.loads(http_get(addr, "/_changes")[2])
    assert "commits" in ch and "keeper" in ch
    assert crew.stop(p) == 0


def test_s10_health_503_when_failing(crew):
    crew.write_crew([("bad", {"DEF": ok_def(crew, "f", "exit 1"),
                              "INTERVAL": "30ms"})])
    p = crew.start()
    addr = crew.http_addr()

    def failing():
        st, _, body = http_get(addr, "/_health")
        return st == 503 and json.loads(body)["agents"]["bad"] == "failing"
    wait_for(failing, what="failing verdict")
    assert crew.stop(p) == 0


def test_timeline_has_the_days_runs(crew):
    """GET /_timeline: each agent's strip holds its ticks by outcome in
    15-minute slots (from the snapshot, with no waiting), the slot showing
    its newest failure with the error history has; the gate's strip; and
    /_activity says each schedule in words."""
    crew.member("good", "echo fine", interval="200ms")
    crew.member("bad", "echo 'no feed today' >&2; exit 2",
                interval="300ms")
    crew.write_crew(backoff_base="100ms")
    p = crew.start()
    wait_for(lambda: len(crew.closed("bad")) >= 3 and
             len(crew.closed("good")) >= 3, what="a few runs each")
    assert crew.stop(p) == 0
    # Restarted: the day comes back from history, before any new run.
    crew.write_crew(backoff_base="100ms", boot_grace="1h")
    p = crew.start()
    rows = crew.closed()
    _, headers, body = crew.get("/_timeline")
    assert headers["Content-Type"] == "application/json"
    tl = json.loads(body)
    wait_for(lambda: sum(sum(s["n"].values()) for a in json.loads(
        crew.get("/_timeline")[2])["agents"].values() for s in a["strip"]
        ) == len(rows), what="the seeded day")
    tl = json.loads(crew.get("/_timeline")[2])
    assert (tl["slot_ms"], tl["slots"]) == (900000, 96)
    assert sorted(tl["agents"]) == ["bad", "good"]
    for name in ("good", "bad"):
        mine = [r for r in rows if r["agent"] == name]
        strip = tl["agents"][name]["strip"]
        counted = {}
        for slot in strip:
            for o, n in slot["n"].items():
                counted[o] = counted.get(o, 0) + n
        want = {}
        for r in mine:
            want[r["outcome"]] = want.get(r["outcome"], 0) + 1
        assert counted == want
        assert len(tl["agents"][name]["spark"]) == min(48, len(mine))
    last_bad = [r for r in rows if r["agent"] == "bad"][-1]
    shown = tl["agents"]["bad"]["strip"][-1]["run"]
    assert shown == {"id": str(last_bad["id"]), "outcome": "failed",
                     "at": last_bad["started"],
                     "duration_ms": last_bad["duration_ms"],
                     "error": last_bad["error"]}
    assert tl["gate"]["slots"] == 2
    assert sum(s["busy_ms"] for s in tl["gate"]["strip"]) == sum(
        r["duration_ms"] for r in rows)
    act = json.loads(crew.get("/_activity")[2])
    assert [a["schedule_text"] for a in act["agents"]] == ["every 200ms",
                                                           "every 300ms"]
    assert crew.stop(p) == 0


def test_runs_id_shows_a_run_whole_and_live(crew):
    """GET /_runs/ID (SPEC §10): a failed run as history --run has it,
    a running one live (its steps and log so far), 404 for others."""
    crew.write("agents/w.org", """#+TITLE: w
* first
#+BEGIN_SRC sh
echo "first says hello with token=abcdef123456" >&2
#+END_SRC
* wait
#+BEGIN_SRC sh
echo "waiting for go" >&2
while [ ! -e go ]; do sleep 0.05; done
echo "fatal: no luck" >&2
exit 3
#+END_SRC
""")
    crew.write_crew([("w", {"DEF": "agents/w.org", "INTERVAL": "1h"})])
    p = crew.start()
    addr = crew.http_addr()

    def live():
        st, _, body = http_get(addr, "/_runs/1")
        if st != 200:
            return None
        doc = json.loads(body)
        return doc if "waiting for go" in doc["log"] else None
    doc = wait_for(live, what="the live run")
    assert doc["running"] is True and doc["outcome"] is None
    assert doc["step"] == "wait"
    assert [s["name"] for s in doc["steps"]] == ["first"]
    # redacted live too
    assert doc["log"] == ("first says hello with token=[REDACTED]\n"
                          "waiting for go\n")
    open(os.path.join(crew.repo, "go"), "w").close()
    wait_for(lambda: crew.closed("w"), what="the run's end")
    st, headers, body = http_get(addr, "/_runs/1")
    assert st == 200
    assert headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    want = json.loads(crew.keeper("history", "--data", crew.data, "--run",
                                  "1", "--json").stdout)
    assert doc == want
    assert doc["running"] is False and doc["outcome"] == "failed"
    # (the go file is its work: kept on a partial ref, said after)
    assert doc["error"].startswith("wait: exit status 3: fatal: no luck; "
                                   "partial "), doc["error"]
    assert doc["log"].endswith("fatal: no luck\n")
    assert doc["duration_ms"] == doc["ended"] - doc["started"]
    for key in ("id", "agent", "trigger", "state", "started", "ended",
                "duration_ms", "outcome", "error", "steps", "result",
                "log", "committed"):
        assert key in doc, key
    for path in ("/_runs/2", "/_runs/0", "/_runs/x", "/_runs/",
                 "/_runs/1/more", "/_runs/99999999999999999999"):
        assert http_get(addr, path)[0] == 404, path
    assert http_get(addr, "/_runs/1", "POST")[0] == 405
    assert crew.stop(p) == 0
