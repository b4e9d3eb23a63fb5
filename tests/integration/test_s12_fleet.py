"""SPEC §12: several keepers on one crew, one active, failover through a
real etcd (Debian's etcd-server) on loopback.

Three keepers, each with its own data directory and its own clone of one
bare tenant remote, share crew "t". Each talks to etcd through a TCP relay
of the test's own, so the test can cut one off (stop relaying, hold the
connections open) without touching anything outside 127.0.0.0/8. The
faults are real: kill -9, SIGSTOP past the TTL, a cut-off, and etcd
itself restarting.

Which keeper is active is read from each one's /_activity ("role"); the
oracles that matter do not rest on that sampling alone: no due tick runs
twice (the history rows of the three data directories, by agent and
scheduled time), the remote's branch has every done run's commit exactly
once, and `git fsck` is clean.
"""
import base64
import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from conftest import (KEEPER, SANITIZER_REPORTS, crew_text, die_with_parent,
                      git, http_get, require, sh_def, wait_for)

TTL = 2.0           # #+LEASE-TTL: 2s, etcd's shortest
TAKEOVER = TTL + 2  # SPEC §12: a standby is active within TTL + 2 s


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Relay:
    """127.0.0.1:port -> 127.0.0.1:target, byte for byte, until cut():
    then nothing moves either way and every connection is held open (a
    partition, not a refusal), new ones accepted and left hanging."""

    def __init__(self, target):
        self.target = target
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.port = self.srv.getsockname()[1]
        self.cut_off = threading.Event()
        self.stopped = False
        self.held = []
        self.requests = 0       # HTTP requests relayed to etcd (bench/)
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def cut(self):
        self.cut_off.set()

    def heal(self):
        self.cut_off.clear()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                self.held.append(c)
                continue
            threading.Thread(target=self._pipe, args=(c,),
                             daemon=True).start()

    def _pipe(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.target), 2)
        except OSError:
            c.close()
            return
        socks = [c, u]
        try:
            while not self.stopped:
                if self.cut_off.is_set():
                    time.sleep(0.05)        # held open, nothing moves
                    continue
                r, _, _ = select.select(socks, [], [], 0.05)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is c:
                        self.requests += data.count(b"POST /v3/")
                    (u if s is c else c).sendall(data)
        except OSError:
            pass
        finally:
            if not self.cut_off.is_set():
                c.close()
                u.close()
            else:
                self.held += [c, u]

    def close(self):
        self.stopped = True
        self.srv.close()
        for s in self.held:
            s.close()


class Etcd:
    """One etcd member on loopback ports, its own data directory."""

    def __init__(self, root):
        require("/usr/bin/etcd", "etcd-server")
        self.dir = os.path.join(root, "etcd")
        self.client = free_port()
        self.peer = free_port()
        self.p = None
        self.start()

    def start(self):
        url = "http://127.0.0.1:%d" % self.client
        peer = "http://127.0.0.1:%d" % self.peer
        self.log = open(self.dir + ".log", "a")
        self.p = subprocess.Popen(
            ["/usr/bin/etcd", "--name", "t", "--data-dir", self.dir,
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls",
             peer, "--initial-cluster", "t=" + peer],
            stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent)

        def up():
            try:
                st, _, _ = http_get("127.0.0.1:%d" % self.client, "/health",
                                    timeout=1)
                return st == 200
            except OSError:
                return False
        wait_for(up, 20, 0.1, "etcd up")

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            self.p.wait(10)
        self.log.close()

    def get(self, key):
        """The value of key (bytes), or None, through the JSON gateway."""
        body = json.dumps({"key": base64.b64encode(key.encode()).decode()})
        rq = urllib.request.Request(
            "http://127.0.0.1:%d/v3/kv/range" % self.client,
            data=body.encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(rq, timeout=5) as r:
            kvs = json.load(r).get("kvs") or []
        return base64.b64decode(kvs[0]["value"]) if kvs else None


class Keeper:
    def __init__(self, fleet, i):
        self.fleet = fleet
        self.i = i
        self.root = os.path.join(fleet.root, "k%d" % i)
        self.repo = os.path.join(self.root, "repo")
        self.data = os.path.join(self.root, "data")
        os.makedirs(self.root)
        subprocess.run(["git", "clone", "-q", fleet.remote, self.repo],
                       check=True)
        git(self.repo, "config", "user.name", "k%d" % i)
        git(self.repo, "config", "user.email", "k%d@example.org" % i)
        self.relay = Relay(fleet.etcd.client)
        self.p = None
        self.logs = []

    def start(self):
        log = open(os.path.join(self.root, "daemon-%d.log" % len(self.logs)),
                   "w")
        self.logs.append(log)
        try:
            os.unlink(os.path.join(self.data, "http.addr"))
        except FileNotFoundError:
            pass
        self.p = subprocess.Popen(
            [KEEPER, "run", "--crew", self.fleet.crew, "--repo", self.repo,
             "--data", self.data, "--listen", "127.0.0.1:0", "-v",
             "--lease", self.relay.url()],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
            start_new_session=True, preexec_fn=die_with_parent)
        wait_for(lambda: self.addr() or self.p.poll() is not None,
                 what="k%d http.addr" % self.i)
        assert self.p.poll() is None, self.log()

    def addr(self):
        try:
            with open(os.path.join(self.data, "http.addr")) as f:
                t = f.read()
        except FileNotFoundError:
            return None
        return t.strip() if t.endswith("\n") else None

    def activity(self):
        """/_activity, or None when it does not answer (dead, stopped)."""
        addr = self.addr()
        if self.p is None or self.p.poll() is not None or not addr:
            return None
        try:
            st, _, body = http_get(addr, "/_activity", timeout=0.5)
        except (OSError, TypeError):
            return None
        return json.loads(body) if st == 200 else None

    def role(self):
        a = self.activity()
        return a.get("role") if a else None

    def log(self):
        out = ""
        for f in self.logs:
            f.flush()
            with open(f.name, errors="replace") as fh:
                out += fh.read()
        return out

    def kill9(self):
        os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait(10)

    def stop(self):
        if self.p is not None and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        log = self.log()
        for report in SANITIZER_REPORTS:
            assert report not in log, log[-3000:]

    def rows(self):
        db = os.path.join(self.data, "keeper.db")
        if not os.path.exists(db):
            return []
        con = sqlite3.connect(db, timeout=5)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(
                "SELECT * FROM runs ORDER BY id")]
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()


class Fleet:
    def __init__(self, root, members, **keywords):
        self.root = root
        os.makedirs(root)
        self.etcd = Etcd(root)
        self.remote = os.path.join(root, "remote.git")
        git(root, "init", "-q", "--bare", "-b", "main", self.remote)
        seed = os.path.join(root, "seed")
        subprocess.run(["git", "clone", "-q", self.remote, seed],
                       check=True)
        with open(os.path.join(seed, "README"), "w") as f:
            f.write("site\n")
        git(seed, "add", "README")
        git(seed, "commit", "-qm", "init")
        git(seed, "push", "-q", "origin", "HEAD:main")
        crewdir = os.path.join(root, "crew")
        os.makedirs(os.path.join(crewdir, "agents"))
        for name, _ in members:
            with open(os.path.join(crewdir, "agents", name + ".org"),
                      "w") as f:
                # A new file per run: the keepers' commits never conflict.
                f.write(sh_def(
                    'mkdir -p runs && echo "$KEEPER_RUN_ID" > '
                    '"runs/$KEEPER_AGENT-$KEEPER_RUN_ID-$(basename '
                    '$(dirname $PWD))"'))
        keys = {"title": "t", "boot_grace": "0", "stagger": "0",
                "lease_ttl": "2s"}
        keys.update(keywords)
        self.crew = os.path.join(crewdir, "crew.org")
        with open(self.crew, "w") as f:
            f.write(crew_text([(n, dict({"DEF": "agents/%s.org" % n}, **p))
                               for n, p in members], **keys))
        self.keepers = [Keeper(self, i) for i in range(3)]
        self.samples = []       # (time, [roles])
        self.sampling = False

    def start(self):
        for k in self.keepers:
            k.start()

    def active(self):
        """The keepers that say they are active, now."""
        return [k for k in self.keepers if k.role() == "active"]

    def wait_active(self, timeout=TAKEOVER, exclude=()):
        """The one active keeper (not one of exclude), within timeout."""
        def one():
            a = [k for k in self.active() if k not in exclude]
            return a[0] if len(a) == 1 else None
        return wait_for(one, timeout, 0.05, "one active keeper")

    def sample(self):
        """Sample the roles in a thread until the returned stop() is
        called; each sample's active count is kept."""
        self.sampling = True

        def loop():
            while self.sampling:
                roles = [k.role() for k in self.keepers]
                self.samples.append((time.monotonic(), roles))
                time.sleep(0.1)
        t = threading.Thread(target=loop, daemon=True)
        t.start()

        def stop():
            self.sampling = False
            t.join()
        return stop

    def mark(self, what):
        self.samples.append((time.monotonic(), what))

    def two_active(self):
        """Samples with more than one active, with the last phase mark
        before each."""
        out, phase = [], None
        for t, roles in self.samples:
            if isinstance(roles, str):
                phase = roles
            elif roles.count("active") > 1:
                out.append((phase, t, roles))
        return out

    def all_rows(self):
        out = []
        for k in self.keepers:
            for r in k.rows():
                r["keeper"] = k.i
                out.append(r)
        return out

    def close(self):
        self.sampling = False
        for k in self.keepers:
            try:
                k.stop()
            finally:
                k.relay.close()
        self.etcd.stop()


@pytest.fixture
def fleet_factory():
    made = []
    root = tempfile.mkdtemp(prefix="kf", dir="/tmp")

    def make(members, **kw):
        f = Fleet(os.path.join(root, "f%d" % len(made)), members, **kw)
        made.append(f)
        return f
    os.makedirs(root, exist_ok=True)
    yield make
    for f in made:
        f.close()
    shutil.rmtree(root, ignore_errors=True)


def remote_runs(fleet):
    """Keeper-Run trailers on the remote's main, one per commit."""
    out = git(fleet.remote, "log", "main", "--format=%(trailers:key="
              "Keeper-Run,valueonly,separator=%x2c)")
    return [x for x in out.split("\n") if x]


def check_ledger(fleet):
    """No due tick ran twice, every done run's commit is on the remote's
    branch exactly once, and the remote is sound."""
    rows = fleet.all_rows()
    started = [(r["agent"], r["scheduled"]) for r in rows
               if r["started"] and r["trigger"] in ("schedule", "retry")]
    dup = {t for t in started if started.count(t) > 1}
    assert not dup, ("ran twice", dup, rows)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), ("run ids not unique across keepers",
                                       sorted(ids))
    on_remote = remote_runs(fleet)
    for r in rows:
        if r["outcome"] == "done" and r["commit_id"]:
            assert on_remote.count(str(r["id"])) == 1, (r, on_remote)
            assert git(fleet.remote, "merge-base", "--is-ancestor",
                       r["commit_id"], "main", check=False) == ""
    fsck = subprocess.run(["git", "-C", fleet.remote, "fsck", "--strict"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
    return rows


def test_one_active_and_takeover_after_kill_stop_and_cut(fleet_factory):
    f = fleet_factory([("a", {"INTERVAL": "1s"})])
    f.start()
    stop_sampling = f.sample()
    first = f.wait_active(10)
    wait_for(lambda: any(r["outcome"] == "done" for r in first.rows()), 15,
             0.1, "a done run on the active keeper")
    standby = [k for k in f.keepers if k is not first]
    act = first.activity()
    assert act["active"]["pid"] == first.p.pid
    # The address it bound, not the --listen 127.0.0.1:0 it was given.
    assert act["active"]["listen"] == first.addr(), act["active"]
    for k in standby:
        # Who to ask: the standby learns it from the leader key.
        a = wait_for(lambda: (lambda a: a if a and a.get("active") else
                              None)(k.activity()), 5, 0.05,
                     "the standby names the active keeper")
        assert a["role"] == "standby"
        assert a["active"]["pid"] == first.p.pid
        assert a["active"]["listen"] == first.addr(), a["active"]
        st, _, body = http_get(k.addr(), "/_health")
        assert st == 200 and json.loads(body)["status"] == "standby"
        _, _, m = http_get(k.addr(), "/metrics")
        assert b"\nkeeper_active 0\n" in m
        assert not k.rows(), "a standby ran something"
    _, _, m = http_get(first.addr(), "/metrics")
    assert b"\nkeeper_active 1\n" in m
    # run-once on a standby: the active keeper runs it.
    r = subprocess.run([KEEPER, "run-once", "a", "--crew", f.crew, "--data",
                        standby[0].data], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert [x for x in first.rows() if x["trigger"] == "run-once" and
            x["outcome"] == "done"], first.rows()
    assert not standby[0].rows()

    # kill -9: another is active within TTL + 2 s.
    f.mark("kill")
    first.kill9()
    second = f.wait_active(TAKEOVER, exclude=(first,))
    first.start()

    # SIGSTOP past the TTL: another takes over; once continued, the
    # stopped one starts nothing and pushes nothing.
    wait_for(lambda: any(r["outcome"] == "done" for r in second.rows()), 15,
             0.1, "a done run on the second")
    pushed_before = len(remote_runs(f))
    f.mark("stop")
    os.killpg(second.p.pid, signal.SIGSTOP)
    stopped_at = time.time() * 1000
    third = f.wait_active(TAKEOVER + 1, exclude=(second,))
    time.sleep(TTL)                                    # well past the TTL
    f.mark("cont")
    os.killpg(second.p.pid, signal.SIGCONT)
    wait_for(lambda: second.role() == "standby", 10, 0.05,
             "the continued keeper is standby")
    late = [r for r in second.rows() if r["started"] and
            r["started"] > stopped_at]
    assert not late, ("started a run after its lease lapsed", late)
    # A run in flight when it was stopped ends once it is continued: its
    # commit is not pushed (the run is not done) and is kept on its
    # partial ref.
    for r in second.rows():
        if r["started"] and r["started"] < stopped_at < (r["ended"] or 0):
            assert r["outcome"] != "done", r
            if r["commit_id"]:
                assert git(second.repo, "rev-parse", "refs/keeper/partial/"
                           "%s/%s" % (r["agent"], r["id"])) == \
                    r["commit_id"], r
    mine = {str(r["id"]) for r in second.rows()}
    assert all(x not in mine for x in remote_runs(f)[:len(remote_runs(f)) -
                                                       pushed_before]), \
        "the stopped keeper pushed after it was continued"

    # Cut off from etcd: it goes standby by its own clock, another takes
    # over.
    f.mark("cut")
    third.relay.cut()
    fourth = f.wait_active(TAKEOVER, exclude=(third,))
    wait_for(lambda: third.role() == "standby", TAKEOVER, 0.05,
             "the cut-off keeper is standby")
    third.relay.heal()
    wait_for(lambda: any(r["outcome"] == "done" and r["started"] >
                         stopped_at for r in fourth.rows()), 15, 0.1,
             "the fourth runs")
    stop_sampling()
    assert not f.two_active(), f.two_active()[:5]
    check_ledger(f)


def test_twenty_failovers_nothing_twice_nothing_lost(fleet_factory):
    f = fleet_factory([("a", {"INTERVAL": "1s"}), ("b", {"INTERVAL": "2s"})])
    f.start()
    stop_sampling = f.sample()
    deadline = time.monotonic() + float(os.environ.get(
        "KEEPER_TEST_FAILOVER_BUDGET", "120"))
    n = 0
    windows = []        # (killed, next active seen), wall-clock ms
    while n < 20 and time.monotonic() < deadline:
        a = f.wait_active(TAKEOVER + 2)
        before = len([r for r in a.rows() if r["outcome"] == "done"])
        wait_for(lambda: len([r for r in a.rows()
                              if r["outcome"] == "done"]) > before, 15, 0.1,
                 "a run on the active keeper")
        killed = time.time() * 1000
        a.kill9()
        f.wait_active(TAKEOVER, exclude=(a,))
        windows.append((killed, time.time() * 1000))
        a.start()
        n += 1
    stop_sampling()
    print("failovers: %d" % n)
    assert n >= 5, "only %d failovers in the time given" % n
    assert not f.two_active(), f.two_active()[:5]
    time.sleep(0.5)
    for k in f.keepers:
        k.stop()
    rows = check_ledger(f)
    assert len([r for r in rows if r["outcome"] == "done"]) >= n
    check_cadence(rows, {"a": 1000, "b": 2000}, windows)


def check_cadence(rows, intervals, windows, slack=1500):
    """At most one due tick per failover is missed and then caught up:
    by agent and scheduled time over the three data dirs, every gap
    between two ticks is the INTERVAL (fixed cadence; a tick that
    overran it is followed at once) except across a failover, where the
    successor's first tick comes as soon as it is active (or at the
    cadence, when that is later), one tick, never a burst of the slots
    the outage skipped."""
    for agent, every in intervals.items():
        ts = sorted((r["scheduled"], r) for r in rows
                    if r["agent"] == agent and r["trigger"] == "schedule")
        ticks = [t for t, _ in ts]
        assert len(ticks) > len(windows), (agent, ticks)
        for (x, rx), (y, ry) in zip(ts, ts[1:]):
            ended = rx["ended"] or x
            if y - x <= every + slack or y - ended <= slack:
                continue        # on cadence, or right after an overrun
            across = [(k, t) for k, t in windows if x <= k + slack and
                      y >= k]
            assert across, ("a tick missed with no failover", agent, x, y,
                            rx, ry)
            k, t = across[0]
            assert y <= max(t, x + every) + slack, (
                "not caught up at takeover", agent, x, y, k, t)
        for k, t in windows:
            # The slots the outage skipped are not replayed as a burst.
            burst = [y for y in ticks if k < y <= t + slack]
            assert len(burst) <= 1 + int(slack // every), (
                "a burst after the failover", agent, k, t, burst)


def test_position_and_pause_move_with_the_role(fleet_factory):
    f = fleet_factory([("a", {"INTERVAL": "500ms", "LIFECYCLE":
                              "../life.org"}),
                       ("p", {"INTERVAL": "1s"})])
    with open(os.path.join(os.path.dirname(f.crew), "..", "life.org"),
              "w") as fh:
        fh.write("#+START: wake\n* wake\n:PROPERTIES:\n:REPEAT: 1000\n"
                 ":NEXT: wake\n:END:\n")
    f.start()
    a = f.wait_active(10)
    try:
        wait_for(lambda: len([r for r in a.rows() if r["agent"] == "a" and
                              r["outcome"] == "done"]) >= 3, 20, 0.1,
                 "three runs of a")
    except AssertionError:
        raise AssertionError((a.rows(), a.log()[-3000:]))
    r = subprocess.run([KEEPER, "pause", "p", "--data", a.data, "--crew",
                        f.crew], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: [x for x in a.activity()["agents"]
                      if x["name"] == "p"][0]["health"] == "paused", 5, 0.05,
             "p paused")
    hits = [x for x in a.activity()["agents"]
            if x["name"] == "a"][0]["lifecycle"]["hits"]

    # State reaches etcd a few milliseconds after the local file (keeper(1)
    # FAILOVER says what a kill in that window loses): what moves is what
    # is there, so wait until the pause and this position are.
    def mirrored():
        pos = f.etcd.get("/keeper/t/state/lifecycle-pos-a")
        return (f.etcd.get("/keeper/t/state/pause-p") is not None and
                pos is not None and int(pos.split()[1]) >= hits)
    wait_for(mirrored, 5, 0.02, "the pause and the position in etcd")
    a.kill9()
    b = f.wait_active(TAKEOVER, exclude=(a,))
    ag = {x["name"]: x for x in b.activity()["agents"]}
    assert ag["p"]["health"] == "paused"
    assert ag["a"]["lifecycle"]["state"] == "wake"
    assert ag["a"]["lifecycle"]["hits"] >= hits
    wait_for(lambda: [x for x in b.rows() if x["agent"] == "a" and
                      x["outcome"] == "done"], 10, 0.1, "a runs on b")
    first = [x for x in b.rows() if x["agent"] == "a" and
             x["outcome"] == "done"][0]
    assert first["hits"] >= hits, (first, hits)     # mid-cadence
    assert not [x for x in b.rows() if x["agent"] == "p" and
                x["started"]], "the pause did not move"


def etcd_value(fleet, key):
    """The value of key in etcd (its JSON gateway), or None."""
    import urllib.request
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()})
    req = urllib.request.Request(
        "http://127.0.0.1:%d/v3/kv/range" % fleet.etcd.client,
        data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        kvs = json.loads(r.read()).get("kvs") or []
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def test_takeover_keeps_the_backed_off_delay(fleet_factory):
    # INTERVAL 500ms, no work every tick: 1 s, 2 s, 4 s, then 8 s (the
    # cap) between ticks. The keeper that takes over after the fourth
    # waits the 8 s from it, not INTERVAL (which would run at once).
    f = fleet_factory([("idle", {"INTERVAL": "500ms"})],
                      backoff_base="1s", backoff_cap="8s")
    with open(os.path.join(os.path.dirname(f.crew), "agents",
                           "idle.org"), "w") as fh:
        fh.write(sh_def("echo NO-WORK"))
    f.start()
    a = f.wait_active(10)

    def idle():
        return [r for r in a.rows() if r["agent"] == "idle" and
                r["outcome"] == "no_work"]
    wait_for(lambda: len(idle()) >= 4, 30, 0.05, "four idle ticks")
    # The streak is in etcd before the kill (the put follows the tick).
    wait_for(lambda: etcd_value(f, "/keeper/t/state/no-work-streak-idle")
             == "%d\n" % len(idle()), 5, 0.02, "the streak in etcd")
    last = idle()[-1]
    assert len(idle()) == 4, idle()
    a.kill9()
    b = f.wait_active(TAKEOVER, exclude=(a,))
    # A closed row: the first one may still be running when it appears.
    wait_for(lambda: [r for r in b.rows() if r["agent"] == "idle" and
                      r["outcome"]], 20, 0.1, "idle ticks on the new keeper")
    first = [r for r in b.rows() if r["agent"] == "idle" and
             r["outcome"]][0]
    gap = first["scheduled"] - last["scheduled"]
    assert gap >= 8000 - 200, (gap, last, first, b.log()[-2000:])
    assert first["outcome"] == "no_work", first


def test_etcd_restart_keeps_one_active(fleet_factory):
    f = fleet_factory([("a", {"INTERVAL": "1s"})])
    f.start()
    stop_sampling = f.sample()
    first = f.wait_active(10)
    standby = [k for k in f.keepers if k is not first][0]
    f.etcd.stop()
    # Nobody to ask: a standby's run-once says so (exit 75) and runs
    # nothing itself.
    r = subprocess.run([KEEPER, "run-once", "a", "--crew", f.crew, "--data",
                        standby.data], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 75, (r.stdout, r.stderr)
    assert "cannot ask the active keeper" in r.stdout + r.stderr
    assert not standby.rows()
    f.etcd.start()
    a = f.wait_active(TAKEOVER + 5)
    t0 = time.time() * 1000
    try:
        wait_for(lambda: any(r["outcome"] == "done" and r["started"] > t0
                             for r in a.rows()), 15, 0.1,
                 "runs after restart")
    except AssertionError:
        raise AssertionError((a.rows()[-3:], a.log()[-4000:]))
    stop_sampling()
    assert not f.two_active(), f.two_active()[:5]
    check_ledger(f)
