"""keeper(1) beyond SPEC: `keeper doctor`, each finding forced in a real
temp deployment (crew, defs, lifecycle, tenant repo, data dir, listen
address, LLM endpoint; the endpoint is fake_openai.py)."""
import socket
import subprocess

import pytest

from conftest import KEEPER, clean_env, crew_text, git, site_repo
from fake_openai import Response

DEF_SH = """#+TITLE: hello
* say
#+BEGIN_SRC sh
echo hello
#+END_SRC
"""

DEF_LLM = """#+TITLE: asker
* ask
#+BEGIN_SRC llm
Say hello to {{agent}}.
#+END_SRC
"""

LIFECYCLE = """#+START: work
* work
:PROPERTIES:
:NEXT: rest
:END:
* rest
:PROPERTIES:
:KIND: rem
:NEXT: work
:END:
"""


class Deploy:
    """A crew, its defs, a tenant repo with one commit, a data dir."""

    def __init__(self, root):
        self.root = root
        self.repo = site_repo(root / "site")
        self.crewdir = root / "crew"
        (self.crewdir / "agents").mkdir(parents=True)
        (self.crewdir / "agents/hello.org").write_text(DEF_SH)
        (self.crewdir / "loop.org").write_text(LIFECYCLE)
        self.crew = self.crewdir / "crew.org"
        self.write_crew()
        self.data = root / "data"
        self.listen = "127.0.0.1:0"
        self.env = clean_env()

    def write_crew(self, members=None, **keywords):
        members = members or [("wren", "agents/hello.org", "loop.org")]
        self.crew.write_text(crew_text(
            [(name, dict({"DEF": d, "INTERVAL": "1h"},
                         **({"LIFECYCLE": lc} if lc else {})))
             for name, d, lc in members],
            title="newsroom", repo=self.repo, **keywords))

    def run(self, *extra, **kw):
        args = [KEEPER, "doctor", "--crew", str(self.crew), "--data",
                str(self.data), "--listen", self.listen] + list(extra)
        r = subprocess.run(args, capture_output=True, text=True, timeout=60,
                           env=dict(self.env, **kw.get("env", {})))
        assert "AddressSanitizer" not in r.stderr, r.stderr
        return r


@pytest.fixture
def dep(tmp_path):
    return Deploy(tmp_path)


def problems(r):
    return [l for l in r.stdout.splitlines() if l.startswith("problem:")]


def test_all_good(dep):
    r = dep.run()
    assert r.returncode == 0, r.stdout + r.stderr
    assert problems(r) == []
    assert "all good" in r.stdout
    assert "crew '%s' parses (1 member)" % dep.crew in r.stdout
    assert "on branch 'main'" in r.stdout
    assert "data dir '%s' is writable" % dep.data in r.stdout
    assert dep.data.is_dir()


def test_crew_does_not_parse(dep):
    dep.write_crew(concurrency="lots")
    r = dep.run()
    assert r.returncode == 1
    assert any("does not parse" in p for p in problems(r)), r.stdout
    assert any("crew.org:" in p for p in problems(r)), r.stdout
    assert "1 problem" in r.stdout or "problems found" in r.stdout


def test_crew_missing(dep):
    dep.crew.unlink()
    r = dep.run()
    assert r.returncode == 1
    assert any("cannot be read" in p and "crew" in p for p in problems(r))


def test_def_missing(dep):
    dep.write_crew([("wren", "agents/nope.org", None)])
    r = dep.run()
    assert r.returncode == 1
    ps = problems(r)
    assert any(p.startswith("problem: wren: def") and "nope.org" in p
               for p in ps), r.stdout


def test_lifecycle_bad_next(dep):
    (dep.crewdir / "loop.org").write_text(
        LIFECYCLE.replace(":NEXT: work", ":NEXT: nowhere"))
    r = dep.run()
    assert r.returncode == 1
    assert any("lifecycle" in p and "does not parse" in p
               for p in problems(r)), r.stdout
    assert "nowhere" in r.stdout


def test_llm_step_needs_endpoint(dep):
    (dep.crewdir / "agents/ask.org").write_text(DEF_LLM)
    dep.write_crew([("ask", "agents/ask.org", None)])
    r = dep.run()
    assert r.returncode == 1
    assert any("KEEPER_LLM_URL is not set" in p for p in problems(r))


DEF_LLM_GUARDED = """#+TITLE: asker
* ask
#+BEGIN_SRC llm :if-env KEEPER_LLM_URL
Say hello to {{agent}}.
#+END_SRC
"""


def test_guarded_llm_step_is_a_note(dep):
    """Issue 20: an llm step :if-env guards is skipped while the variable
    is unset, so a missing endpoint is a note, not a problem (the
    newsroom example's writer is such a def)."""
    (dep.crewdir / "agents/ask.org").write_text(DEF_LLM_GUARDED)
    dep.write_crew([("ask", "agents/ask.org", None)])
    r = dep.run()
    assert r.returncode == 0, r.stdout
    assert problems(r) == [], r.stdout
    assert "note: a def has llm steps guarded by :if-env" in r.stdout


def test_newsroom_as_the_readme_runs_it(tmp_path):
    """`keeper doctor --crew crews/newsroom.org` without an LLM set up,
    as README suggests to a newcomer, finds no problem."""
    import os
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    repo = site_repo(tmp_path / "site")
    r = subprocess.run([KEEPER, "doctor", "--crew",
                        os.path.join(top, "crews/newsroom.org"), "--repo",
                        str(repo), "--data", str(tmp_path / "data"),
                        "--listen", "127.0.0.1:0"], capture_output=True,
                       text=True, timeout=60, env=clean_env())
    assert problems(r) == [], r.stdout
    assert r.returncode == 0, r.stdout


def test_repo_not_a_repo(dep, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    r = dep.run("--repo", str(plain))
    assert r.returncode == 1
    assert any("is not a git repository" in p for p in problems(r))


def test_repo_detached(dep):
    git(dep.repo, "checkout", "-q", "--detach")
    r = dep.run()
    assert r.returncode == 1
    assert any("detached HEAD" in p for p in problems(r))


def test_data_in_worktree_not_ignored(dep):
    dep.data = dep.repo / "state"
    r = dep.run()
    assert r.returncode == 1
    assert any("inside the tenant work tree and not ignored" in p
               for p in problems(r)), r.stdout


def test_data_in_worktree_ignored_is_fine(dep):
    (dep.repo / ".gitignore").write_text("/state/\n")
    dep.data = dep.repo / "state"
    r = dep.run()
    assert r.returncode == 0, r.stdout
    assert "ignored by git" in r.stdout


def test_data_is_a_file(dep):
    dep.data.write_text("x")
    r = dep.run()
    assert r.returncode == 1
    assert any("is not a directory" in p for p in problems(r))


def test_data_cannot_be_created(dep, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    dep.data = blocker / "data"
    r = dep.run()
    assert r.returncode == 1
    assert any("cannot be created" in p for p in problems(r))


def test_listen_in_use(dep):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        dep.listen = "127.0.0.1:%d" % s.getsockname()[1]
        r = dep.run()
    finally:
        s.close()
    assert r.returncode == 1
    assert any("already in use" in p for p in problems(r)), r.stdout


def test_listen_malformed(dep):
    dep.listen = "localhost"
    r = dep.run()
    assert r.returncode == 1
    assert any("is not ADDR:PORT" in p for p in problems(r))


def test_llm_reachable(dep, fake_llm):
    r = dep.run(env={"KEEPER_LLM_URL": fake_llm.url})
    assert r.returncode == 0, r.stdout
    assert "LLM endpoint (KEEPER_LLM_URL) is reachable" in r.stdout


def test_llm_failing_server(dep, fake_llm):
    fake_llm.script(Response(502, b""))
    r = dep.run(env={"KEEPER_LLM_URL": fake_llm.url})
    assert r.returncode == 1
    assert any("HTTP 502" in p for p in problems(r))


def test_llm_unreachable(dep):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()           # nothing listens there now
    r = dep.run(env={"KEEPER_LLM_URL": "http://127.0.0.1:%d/v1" % port})
    assert r.returncode == 1
    assert any("is not reachable" in p for p in problems(r)), r.stdout


def test_usage(dep):
    r = subprocess.run([KEEPER, "doctor", "--bogus"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 64
    assert "usage: keeper doctor" in r.stderr
