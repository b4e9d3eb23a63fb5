"""Shared fixtures and helpers for keeper's integration tests.

Everything runs against the real binary ($KEEPER_BIN) in real temp dirs:
a crew directory with crew.org and defs, a real git repo as the tenant,
a data directory, and daemons that are always stopped (and their process
groups killed) at teardown. Timing is polled with deadlines, never slept.

The files are laid out by the contract they test (README.md here): one
test_sNN_*.py per SPEC.md section, one test_k_*.py per part of keeper(1)
beyond it. Helpers that more than one file needs live here, and so does
the one fake LLM endpoint's fixture (fake_openai.py).

A tool the suite needs is a dependency (.ci/deps): require() fails the
test that needs it, with the package to install; nothing is skipped.
"""
import contextlib
import ctypes
import http.client
import http.server
import importlib
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

from fake_openai import FakeOpenAI

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
KEEPER = os.environ.get("KEEPER_BIN", os.path.abspath("build/keeper"))
KEEPER_EXEC = os.path.join(os.path.dirname(KEEPER), "keeper-exec")
DEADLINE = 30   # seconds for one command; a hang fails instead of wedging

# Whatever the developer's shell or a service manager set for keeper must
# not reach the binaries under test: keeper's own variables (but the one
# naming the binary) and systemd's notify and watchdog. Scrubbed once,
# here, so every subprocess starts clean and monkeypatch.setenv() still
# reaches them.
for _k in list(os.environ):
    if (_k.startswith("KEEPER_") and _k != "KEEPER_BIN") or _k in (
            "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        del os.environ[_k]


def wait_for(cond, timeout=15.0, interval=0.02, what="condition"):
    """Poll cond() until it returns a truthy value; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


def require(tool, package):
    """The path of tool (a command name or an absolute path); the test
    fails, naming the Debian package to install, when it is missing."""
    path = tool if os.path.isabs(tool) else shutil.which(tool)
    if not path or not os.access(path, os.X_OK):
        pytest.fail("%s is missing: install the Debian package %s (it is "
                    "in .ci/deps)" % (tool, package), pytrace=False)
    return path


def require_module(name, package):
    """Python module name, imported; the test fails, naming the Debian
    package, when it cannot be."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        pytest.fail("cannot import %s (%s): install the Debian package %s "
                    "(it is in .ci/deps)" % (name, e, package),
                    pytrace=False)


def clean_env(**extra):
    """The environment without any KEEPER_* variable, plus extra: for a
    command that must see only what the test gives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPER_")}
    env.update(extra)
    return env


_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """As preexec_fn: the daemon gets SIGTERM if pytest itself dies
    (PR_SET_PDEATHSIG), so a killed test run leaves no keeper behind."""
    _libc.prctl(1, signal.SIGTERM, 0, 0, 0)


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


def http_get(addr, path, method="GET", headers=None, timeout=5):
    """One request to ADDR:PORT: (status, headers as a dict, body)."""
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "human",
           "GIT_AUTHOR_EMAIL": "h@example.org",
           "GIT_COMMITTER_NAME": "human",
           "GIT_COMMITTER_EMAIL": "h@example.org"}


def git(repo, *args, check=True, env=None):
    """The git CLI in repo as a fixed human identity (env overrides it);
    its stdout, stripped. With check, a failure fails the test."""
    e = dict(os.environ)
    e.update(GIT_ENV)
    e.update(env or {})
    r = subprocess.run(["git", "-C", str(repo)] + list(args),
                       capture_output=True, text=True, env=e)
    if check:
        assert r.returncode == 0, (args, r.stderr)
    return r.stdout.strip()


def human_commit(repo, name, text, msg="human edit"):
    """Write file name in repo and commit everything, as the human."""
    with open(os.path.join(repo, name), "w") as f:
        f.write(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", msg)


def site_repo(path):
    """A new tenant repo at path (a pathlib.Path) on branch main, with one
    commit of a README."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README").write_text("site\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "init")
    return path


def agent_commit(repo, agent, name, text, summary):
    """A commit of file name made the way keeper makes them (agent's
    identity, subject, Keeper-* trailers), as if by run 1 in state wake."""
    with open(os.path.join(repo, name), "w") as f:
        f.write(text)
    me = "%s@keeper.invalid" % agent
    ident = {"GIT_AUTHOR_NAME": agent, "GIT_AUTHOR_EMAIL": me,
             "GIT_COMMITTER_NAME": agent, "GIT_COMMITTER_EMAIL": me}
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m",
        "%s: wake 1/1 \u2014 %s\n\nKeeper-Agent: %s\nKeeper-State: wake\n"
        "Keeper-Run: 1" % (agent, summary, agent), env=ident)


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


def ok_def(crew, name="ok", body="echo ok"):
    """agents/NAME.org in crew, one sh step running body; its DEF path."""
    crew.write("agents/%s.org" % name, sh_def(body))
    return "agents/%s.org" % name


# A short lifecycle: a (REPEAT 2) -> b -> r (a dream) -> a; fill in start.
SHORT_LOOP = """#+START: %(start)s
* a
:PROPERTIES:
:REPEAT: 2
:NEXT: b
:END:
* b
:PROPERTIES:
:NEXT: r
:END:
* r
:PROPERTIES:
:KIND: rem
:NEXT: a
:END:
"""


def crew_text(members, **keywords):
    """A crew manifest: keywords as file keywords (boot_grace="0" is
    #+BOOT-GRACE: 0), in order, then members, a list of (name, {PROP:
    value}) each a level-1 heading with a property drawer."""
    text = "".join("#+%s: %s\n" % (k.replace("_", "-").upper(), v)
                   for k, v in keywords.items())
    for name, props in members:
        text += "* %s\n:PROPERTIES:\n" % name
        for k, v in props.items():
            text += ":%s: %s\n" % (k.upper(), v)
        text += ":END:\n"
    return text


def write_def(directory, text, name="agent.org"):
    """The def text as directory/name (a pathlib.Path): its path."""
    path = directory / name
    path.write_text(text)
    return path


def read_events(fd, proc):
    """All lines written on the event pipe's read end fd until every
    writer closed it, then proc's output; (CompletedProcess, lines)."""
    with os.fdopen(fd, "rb") as f:
        ev = f.read()
    out, err = proc.communicate(timeout=DEADLINE)
    # `output FD` lines are plumbing for a kill (event.h), not telemetry:
    # the run tests see their effect (a killed run keeps its output).
    lines = [e for e in ev.decode().splitlines()
             if not e.startswith("output ")]
    return (subprocess.CompletedProcess(proc.args, proc.returncode, out,
                                        err), lines)


def exec_def(defpath, cwd, *args, env=None, cmd=None, events=False,
             timeout=DEADLINE, **kw):
    """Run a def with `keeper exec-def` (or cmd, an interpreter's argv) in
    cwd, in env (default: clean_env()). The CompletedProcess; with events,
    (CompletedProcess, the lines it wrote on KEEPER_EVENT_FD)."""
    argv = list(cmd or [KEEPER, "exec-def"]) + [str(defpath)] + list(args)
    env = dict(env if env is not None else clean_env())
    if not events:
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True,
                              timeout=timeout, **kw)
    r, w = os.pipe()
    env["KEEPER_EVENT_FD"] = str(w)
    p = subprocess.Popen(argv, cwd=cwd, env=env, pass_fds=(w,),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(w)
    return read_events(r, p)


def reason_of(events):
    """The reason event of a failed run (event.h: `reason TEXT` or
    `reason-log TEXT`) as bytes: under an event fd the interpreter tells
    why there, not on its standard error, which is the agent's log."""
    for e in events:
        kind, _, text = e.partition(" ")
        if kind in ("reason", "reason-log"):
            return text.encode()
    return b""


# Both interpreters of a def: keeper's own exec-def (libcurl linked) and
# keeper-exec, which opens libcurl only when an llm step runs.
INTERPRETERS = {
    "exec-def": [KEEPER, "exec-def"],
    "keeper-exec": [KEEPER_EXEC],
}


SANITIZER_REPORTS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


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
        self.members = []

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

    def member(self, name, body, **props):
        """Add member name, whose def (agents/NAME.org) runs the sh body,
        to the members write_crew() writes by default; props are its
        properties (timeout="200ms" is :TIMEOUT: 200ms)."""
        d = ok_def(self, name, body)
        self.members.append((name, dict(
            {"DEF": d}, **{k.replace("_", "-").upper(): v
                           for k, v in props.items()})))
        return d

    def write_crew(self, members=None, **kw):
        """members: list of (name, {PROP: value}), default the ones added
        with member(); kw: file keywords, after #+TITLE: t, #+BOOT-GRACE:
        0 and #+STAGGER: 0, which kw may override."""
        keys = {"title": "t", "boot_grace": "0", "stagger": "0"}
        keys.update({k.lower().replace("-", "_"): str(v)
                     for k, v in kw.items()})
        self.write("crew.org", crew_text(
            self.members if members is None else members, **keys))

    def keeper(self, *args, timeout=DEADLINE, **kw):
        # A crew without #+REPO: commits to the current directory (SPEC
        # §3): run in the temp root, never in the developer's checkout.
        kw.setdefault("cwd", self.root)
        return subprocess.run([KEEPER] + list(args), capture_output=True,
                              text=True, timeout=timeout, **kw)

    def run_once(self, name, *extra, timeout=DEADLINE):
        return self.keeper("run-once", name, "--crew", self.crew, "--data",
                           self.data, *extra, timeout=timeout)

    def start_run(self, *args, data=None, env=None):
        """`keeper run ARGS` as a daemon, its output in daemon-N.log, in
        the test's environment plus env, in the temp root; returns once
        its control socket (in data, default this crew's) exists, failing
        if it exited."""
        log = open(self.path("daemon-%d.log" % len(self.daemons)), "w")
        p = subprocess.Popen([KEEPER, "run"] + list(args), stdout=log,
                             stderr=subprocess.STDOUT, cwd=self.root,
                             env=dict(os.environ, **(env or {})),
                             start_new_session=True,
                             preexec_fn=die_with_parent)
        p.logfile = log
        self.daemons.append(p)
        sock = os.path.join(data or self.data, "keeper.sock")
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                 what="daemon socket")
        assert p.poll() is None, "the daemon exited %s: %s" % (
            p.returncode, self.log(p))
        return p

    def start(self, *extra, env=None):
        """The daemon on this crew, repo and data, on a free port."""
        return self.start_run("--crew", self.crew, "--repo", self.repo,
                              "--data", self.data, "--listen",
                              "127.0.0.1:0", "-v", *extra, env=env)

    def log(self, p=None):
        """Daemon p's log so far (default the last one started)."""
        p = p or self.daemons[-1]
        if not p.logfile.closed:
            p.logfile.flush()
        with open(p.logfile.name, errors="replace") as f:
            return f.read()

    def stop(self, p=None, sig=signal.SIGTERM, timeout=15):
        """Signal daemon p (default the last one started) and wait for
        it: its exit status. Its log must hold no sanitizer report."""
        p = p or self.daemons[-1]
        if p.poll() is None:
            p.send_signal(sig)
        try:
            code = p.wait(timeout=timeout)
        finally:
            p.logfile.close()
        log = self.log(p)
        for report in SANITIZER_REPORTS:
            assert report not in log, log[-3000:]
        return code

    def http_addr(self):
        """The address the daemon's HTTP plane bound (http.addr)."""
        f = os.path.join(self.data, "http.addr")

        def addr():
            try:
                with open(f) as fh:
                    text = fh.read()
            except FileNotFoundError:
                return None
            return text.strip() if text.endswith("\n") else None
        return wait_for(addr, what="http.addr")

    def get(self, path, method="GET", headers=None):
        """One request to the daemon's plane: (status, headers, body)."""
        return http_get(self.http_addr(), path, method, headers)

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
    # Under /tmp with a short name: keeper.sock's path must fit sun_path.
    root = tempfile.mkdtemp(prefix="kc", dir="/tmp")
    c = Crew(root)
    yield c
    c.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def keeper_bin():
    return KEEPER


@pytest.fixture
def repo(tmp_path):
    """An empty directory for a def to work in (not a git repo)."""
    r = tmp_path / "repo"
    r.mkdir()
    return r


@pytest.fixture
def fake_llm():
    """The loopback fake OpenAI-compatible server, serving (fake_openai.py);
    script() its answers, read its requests."""
    with FakeOpenAI() as f:
        yield f


@pytest.fixture(params=sorted(INTERPRETERS))
def interpreter(request):
    """The argv of each def interpreter in turn (INTERPRETERS)."""
    return INTERPRETERS[request.param]


def status_json(c):
    r = c.keeper("status", "--crew", c.crew, "--data", c.data, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)
