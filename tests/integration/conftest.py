"""Shared fixtures for keeper's integration tests (owned by the core).

Everything runs against the real binary ($KEEPER_BIN) in real temp dirs:
a crew directory with crew.org and defs, a real git repo as the tenant,
a data directory, and a daemon that is always stopped (and its process
group killed) at teardown. Timing is polled with deadlines, never slept.
"""
import contextlib
import ctypes
import http.server
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest

KEEPER = os.environ.get("KEEPER_BIN", os.path.abspath("build/keeper"))


def wait_for(cond, timeout=10.0, interval=0.02, what="condition"):
    """Poll cond() until it returns a truthy value; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """As preexec_fn: the daemon gets SIGTERM if pytest itself dies
    (PR_SET_PDEATHSIG), so a killed test run leaves no keeper behind."""
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)


def has_daemon():
    """Before the daemon lands, `keeper run` is an unknown command."""
    if not os.access(KEEPER, os.X_OK):
        return False
    r = subprocess.run([KEEPER, "run", "--help"], capture_output=True)
    return b"unknown command" not in r.stderr


@contextlib.contextmanager
def http_server(handler, server_class=http.server.HTTPServer, port=0,
                **attrs):
    """A loopback HTTP server (on an ephemeral port unless port is given),
    serving in a thread; attrs are set on the server before it serves.
    Shut down on exit."""
    srv = server_class(("127.0.0.1", port), handler)
    for k, v in attrs.items():
        setattr(srv, k, v)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def git(repo, *args):
    """The git CLI in repo, with a fixed test identity; fails on error."""
    subprocess.run(["git", "-C", str(repo)] + list(args), check=True,
                   capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t",
                            GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                            GIT_COMMITTER_EMAIL="t@t"))


def site_repo(path):
    """A new tenant repo at path (a pathlib.Path) on branch main, with one
    commit of a README."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README").write_text("site\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "init")
    return path


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def sh_def(body, title="agent"):
    """An agent def: one org heading with one sh block."""
    return "#+TITLE: %s\n* run\n#+BEGIN_SRC sh\n%s\n#+END_SRC\n" % (title,
                                                                     body)


class Crew:
    """A crew directory: crew.org, defs, lifecycles, a git repo, data."""

    def __init__(self, root):
        self.root = root
        self.repo = os.path.join(root, "repo")
        self.data = os.path.join(root, "data")
        self.crew = os.path.join(root, "crew.org")
        os.makedirs(self.repo)
        subprocess.run(["git", "init", "-q", self.repo], check=True)
        self.daemons = []

    def path(self, name):
        return os.path.join(self.root, name)

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tmp = p + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, p)
        return p

    def write_crew(self, members, **kw):
        """members: list of (name, {PROP: value}); kw: file keywords."""
        keys = {"TITLE": "t", "BOOT-GRACE": "0", "STAGGER": "0"}
        keys.update({k.replace("_", "-").upper(): str(v)
                     for k, v in kw.items()})
        text = "".join("#+%s: %s\n" % kv for kv in keys.items())
        for name, props in members:
            text += "* %s\n:PROPERTIES:\n" % name
            for k, v in props.items():
                text += ":%s: %s\n" % (k.upper(), v)
            text += ":END:\n"
        self.write("crew.org", text)

    def keeper(self, *args, timeout=30, **kw):
        # A crew without #+REPO: commits to the current directory (SPEC
        # §3): run in the temp root, never in the developer's checkout.
        kw.setdefault("cwd", self.root)
        return subprocess.run([KEEPER] + list(args), capture_output=True,
                              text=True, timeout=timeout, **kw)

    def run_once(self, name, *extra, timeout=30):
        return self.keeper("run-once", name, "--crew", self.crew, "--data",
                           self.data, *extra, timeout=timeout)

    def start(self, *extra):
        log = open(self.path("daemon-%d.log" % len(self.daemons)), "w")
        p = subprocess.Popen([KEEPER, "run", "--crew", self.crew, "--repo",
                              self.repo, "--data", self.data, "--listen",
                              "127.0.0.1:0", "-v"] + list(extra),
                             stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        p.logfile = log
        self.daemons.append(p)
        sock = os.path.join(self.data, "keeper.sock")
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                 what="daemon socket")
        assert p.poll() is None, self.log(p)
        return p

    def log(self, p):
        if not p.logfile.closed:
            p.logfile.flush()
        with open(p.logfile.name) as f:
            return f.read()

    def stop(self, p, sig=signal.SIGTERM, timeout=15):
        if p.poll() is None:
            p.send_signal(sig)
        try:
            return p.wait(timeout=timeout)
        finally:
            p.logfile.close()

    def rows(self, agent=None):
        """History rows, oldest first, as dicts."""
        db = os.path.join(self.data, "keeper.db")
        if not os.path.exists(db):
            return []
        con = sqlite3.connect(db, timeout=5)
        con.row_factory = sqlite3.Row
        try:
            q = "SELECT * FROM runs"
            args = ()
            if agent:
                q += " WHERE agent = ?"
                args = (agent,)
            return [dict(r) for r in con.execute(q + " ORDER BY id", args)]
        except sqlite3.OperationalError:
            return []
        finally:
            con.close()

    def closed(self, agent=None):
        return [r for r in self.rows(agent) if r["outcome"] is not None]

    def pos(self, agent):
        p = os.path.join(self.data, "lifecycle-pos-" + agent)
        with open(p) as f:
            state, hits = f.readline().split()
        return state, int(hits)

    def cleanup(self):
        for p in self.daemons:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
            if not p.logfile.closed:
                p.logfile.close()


@pytest.fixture
def crew():
    root = tempfile.mkdtemp(prefix="kc", dir="/tmp")
    c = Crew(root)
    yield c
    c.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def keeper_bin():
    return KEEPER


def status_json(c):
    r = c.keeper("status", "--crew", c.crew, "--data", c.data, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)
