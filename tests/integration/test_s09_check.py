"""SPEC §9, `keeper check FILE...`: kind detection, recursive checking,
exact FILE:LINE: messages, exit codes (0 clean, 65 problems, 64 usage),
and hostile input (random bytes, huge files, directories, unreadable and
missing files); the repository's examples check clean and its man pages
lint clean."""
import os
import random
import re
import shutil
import stat
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import KEEPER, ROOT

REPO = Path(ROOT)

CREW = """\
#+TITLE: newsroom
#+REPO: ../site
#+CONCURRENCY: 2
* desk
:PROPERTIES:
:DEF: agents/desk.org
:INTERVAL: 45m
:END:
* wren
:PROPERTIES:
:DEF: agents/writer.org
:INTERVAL: 15m
:LIFECYCLE: crews/writer-loop.org
:END:
"""

LOOP = """\
#+START: wake_add
* wake_add
:PROPERTIES:
:KIND: wake
:REPEAT: 3
:NEXT: wake_audit
:END:
* wake_audit
:PROPERTIES:
:NEXT: rem
:END:
* rem
:PROPERTIES:
:KIND: rem
:NEXT: wake_plan
:MIN-INTERVAL: 10m
:END:
* wake_plan
:PROPERTIES:
:NEXT: wake_add
:DEF: ../agents/planner.org
:END:
"""

DEF = """\
#+TITLE: desk
* Gather
#+BEGIN_SRC sh :timeout 30s
git log --oneline -5
#+END_SRC
* Think
#+BEGIN_SRC llm :model gpt-x :system "You are terse"
Summarise {{Gather}} for {{agent}}.
#+END_SRC
"""


def run(*args, cwd=None, keeper=KEEPER, **kw):
    p = subprocess.run([keeper, "check", *args], cwd=cwd,
                       capture_output=True, text=True,
                       errors="replace", timeout=60, **kw)
    assert p.returncode >= 0, f"killed by signal {-p.returncode}: {p.stderr}"
    return p


def write(base, name, text):
    path = Path(base) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def newsroom(tmp_path):
    write(tmp_path, "crew.org", CREW)
    write(tmp_path, "crews/writer-loop.org", LOOP)
    for name in ("desk", "writer", "planner"):
        write(tmp_path, f"agents/{name}.org", DEF)
    return tmp_path


def test_clean_newsroom(newsroom):
    p = run("crew.org", cwd=newsroom)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout == ""


def test_each_kind_alone(newsroom):
    for f in ("crews/writer-loop.org", "agents/desk.org", "crew.org"):
        p = run(f, cwd=newsroom)
        assert (p.returncode, p.stderr) == (0, ""), f


def test_recurses_into_lifecycle_state_def(newsroom):
    (newsroom / "agents/planner.org").unlink()
    p = run("crew.org", cwd=newsroom)
    assert p.returncode == 65
    assert p.stderr == ("crews/writer-loop.org:21: def "
                        "'crews/../agents/planner.org': cannot open: "
                        "No such file or directory\n")


def test_missing_member_def_points_at_crew_line(newsroom):
    (newsroom / "agents/desk.org").unlink()
    p = run("crew.org", cwd=newsroom)
    assert p.returncode == 65
    assert p.stderr == ("crew.org:6: def 'agents/desk.org': cannot open: "
                        "No such file or directory\n")


def test_bad_def_reported_once(newsroom):
    # desk and writer share one broken def: one message, not two.
    write(newsroom, "agents/shared.org",
          "* A\n#+BEGIN_SRC ruby\nputs 1\n#+END_SRC\n")
    crew = CREW.replace("agents/desk.org", "agents/shared.org") \
               .replace("agents/writer.org", "agents/./shared.org")
    write(newsroom, "crew.org", crew)
    p = run("crew.org", "agents/shared.org", cwd=newsroom)
    assert p.returncode == 65
    assert p.stderr == ("agents/shared.org:2: unsupported language 'ruby' "
                        "(expected sh, bash or llm)\n")


def test_crew_errors_exact(tmp_path):
    write(tmp_path, "a.org", DEF)
    write(tmp_path, "crew.org", """\
        #+CONCURRENCY: 0
        #+STAGGER: soon
        #+REDACT: (oops
        * desk
        :PROPERTIES:
        :DEF: a.org
        :INTERVAL: fast
        :END:
        * desk
        :PROPERTIES:
        :DEF: a.org
        :END:
        * bad name
        :PROPERTIES:
        :DEF: a.org
        :END:
        """)
    p = run("crew.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr.splitlines() == [
        "crew.org:1: invalid #+CONCURRENCY: '0' (expected an integer from "
        "1 to 1024)",
        "crew.org:2: invalid duration 'soon' for #+STAGGER:",
        "crew.org:3: invalid regex '(oops' in #+REDACT: missing closing "
        "parenthesis at offset 5",
        "crew.org:7: invalid duration 'fast' for :INTERVAL:",
        "crew.org:9: duplicate member 'desk' (first at line 4)",
        "crew.org:13: invalid member name 'bad name' (letters, digits, '.', "
        "'_' and '-' only, not starting with '.' or '-')",
    ]


def test_alert_keywords_exact(tmp_path):
    """The alert destinations (keeper-crew(5)): each bad one at its line,
    naming a destination by its scheme and host, never its secret path."""
    write(tmp_path, "a.org", DEF)
    write(tmp_path, "crew.org", """\
        #+ALERT-FORMAT: teams
        #+ALERT-URL: https://api.telegram.org/botSECRET/sendMessage format=telegram
        #+ALERT-URL: https://ntfy.sh/ops
        #+ALERT-CHAT: ops room
        * desk
        :PROPERTIES:
        :DEF: a.org
        :NOTIFY: sometimes
        :NOTIFY-URL: hooks.slack.com/services/SECRET
        :END:
        """)
    p = run("crew.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr.splitlines() == [
        "crew.org:1: invalid #+ALERT-FORMAT: unknown alert format 'teams' "
        "(json, ntfy, slack, discord, telegram)",
        "crew.org:4: invalid #+ALERT-CHAT: 'ops room' (a telegram chat: a "
        "number, or @channelname)",
        "crew.org:2: invalid #+ALERT-URL: alert destination 1 "
        "(https://api.telegram.org): telegram needs a chat (chat=ID or "
        "#+ALERT-CHAT:)",
        "crew.org:8: invalid :NOTIFY: 'sometimes' (expected done, failed or "
        "always)",
        "crew.org:9: invalid :NOTIFY-URL: 'hooks.slack.com' is not an "
        "http:// or https:// URL",
    ]
    assert "SECRET" not in p.stderr


def test_lifecycle_errors_exact(tmp_path):
    write(tmp_path, "lc.org", """\
        #+START: nowhere
        * a
        :PROPERTIES:
        :NEXT: b
        :KIND: nap
        :REPEAT: 0
        :END:
        * c
        """)
    p = run("lc.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr.splitlines() == [
        "lc.org:5: invalid :KIND: 'nap' (expected wake or rem)",
        "lc.org:6: invalid :REPEAT: '0' (expected an integer from 1 to "
        "1000000)",
        "lc.org:8: state 'c' has no :NEXT:",
        "lc.org:4: unknown state 'b' in :NEXT:",
        "lc.org:1: unknown state 'nowhere' in #+START:",
    ]


def test_def_errors_exact(tmp_path):
    write(tmp_path, "d.org", """\
        * Fetch
        #+BEGIN_SRC python
        print(1)
        #+END_SRC
        * Run
        #+BEGIN_SRC sh :timeout 1.5h
        true
        #+END_SRC
        * Run
        #+BEGIN_SRC sh
        true
        #+END_SRC
        """)
    p = run("d.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr.splitlines() == [
        "d.org:2: unsupported language 'python' (expected sh, bash or llm)",
        "d.org:6: invalid duration '1.5h' for :timeout",
        "d.org:10: duplicate step name 'Run' (first at line 6)",
    ]


def test_def_without_steps_needs_as(tmp_path):
    write(tmp_path, "d.org", "* Notes\nNothing to run.\n")
    p = run("d.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr == ("d.org: cannot tell whether this is a crew, a "
                        "lifecycle or a def (use --as)\n")
    p = run("--as", "def", "d.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr == ("d.org: no steps (an agent def needs at least one "
                        "sh, bash or llm src block)\n")


def test_as_forces_kind(newsroom):
    # The same def, read as a lifecycle, has no :NEXT: anywhere.
    p = run("--as=lifecycle", "agents/desk.org", cwd=newsroom)
    assert p.returncode == 65
    assert p.stderr.splitlines() == [
        "agents/desk.org:2: state 'Gather' has no :NEXT:",
        "agents/desk.org:6: state 'Think' has no :NEXT:",
    ]
    # A crew with no member is valid, so a def read as a crew is clean
    # apart from the members it lacks DEF for.
    p = run("--as", "crew", "crews/writer-loop.org", cwd=newsroom)
    assert p.returncode == 0
    assert "warning: member 'wake_add' has no :DEF: and is skipped" in \
        p.stderr


def test_warnings_exit_zero_unless_strict(tmp_path):
    write(tmp_path, "a.org", DEF)
    write(tmp_path, "crew.org", """\
        #+CONCURENCY: 3
        * a
        :PROPERTIES:
        :DEF: a.org
        :END:
        * b
        """)
    want = ("crew.org:1: warning: unknown keyword '#+CONCURENCY:'\n"
            "crew.org:6: warning: member 'b' has no :DEF: and is skipped\n")
    p = run("crew.org", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (0, want)
    p = run("--strict", "crew.org", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (65, want)


def test_several_files_all_reported(tmp_path):
    write(tmp_path, "a.org", "* A\n#+BEGIN_SRC tcl\nx\n#+END_SRC\n")
    write(tmp_path, "b.org", "#+START: q\n* s\n:PROPERTIES:\n:NEXT: s\n"
          ":END:\n")
    p = run("a.org", "b.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr.splitlines() == [
        "a.org:2: unsupported language 'tcl' (expected sh, bash or llm)",
        "b.org:1: unknown state 'q' in #+START:",
    ]


@pytest.mark.parametrize("args,msg", [
    ([], "no files to check"),
    (["--bogus", "x.org"], "unknown option '--bogus'"),
    (["--as", "robot", "x.org"], "unknown kind 'robot'"),
    (["x.org", "--as"], "--as needs a kind"),
])
def test_usage(tmp_path, args, msg):
    p = run(*args, cwd=tmp_path)
    assert p.returncode == 64
    lines = p.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("keeper check: " + msg)
    assert lines[1].startswith("usage: keeper check ")


def test_help(tmp_path):
    p = run("--help", cwd=tmp_path)
    assert p.returncode == 0
    assert p.stdout.startswith("usage: keeper check ")
    assert "lifecycle  a #+START: line" in p.stdout
    assert p.stderr == ""


def test_dash_dash_allows_dash_names(tmp_path):
    write(tmp_path, "-odd.org", DEF)
    p = run("--", "-odd.org", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (0, "")


def test_missing_file(tmp_path):
    p = run("nope.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr == "nope.org: cannot open: No such file or directory\n"


def test_directory(tmp_path):
    (tmp_path / "d").mkdir()
    p = run("d", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr == "d: is a directory\n"


def test_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "f")
    p = run("f", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr == "f: not a regular file\n"


def test_unreadable(tmp_path):
    # Root reads a mode-000 file anyway: as root, the check runs as
    # nobody (it opens u.org relative to the directory it was started in),
    # from a copy of keeper that nobody may run: the checkout may sit in a
    # directory only root can enter (a clean clone in `mktemp -d`).
    keeper, nobody, bindir = KEEPER, {}, None
    if os.geteuid() == 0:
        nobody = {"user": 65534, "group": 65534, "extra_groups": []}
        bindir = tempfile.mkdtemp(prefix="keeper-bin.")
        os.chmod(bindir, 0o755)
        keeper = os.path.join(bindir, "keeper")
        shutil.copy(KEEPER, keeper)
        os.chmod(keeper, 0o755)
    f = write(tmp_path, "u.org", DEF)
    f.chmod(0)
    try:
        p = run("u.org", cwd=tmp_path, keeper=keeper, **nobody)
    finally:
        f.chmod(stat.S_IRUSR | stat.S_IWUSR)
        if bindir:
            shutil.rmtree(bindir)
    assert p.returncode == 65
    assert p.stderr == "u.org: cannot open: Permission denied\n"


def test_huge_file_refused(tmp_path):
    f = tmp_path / "huge.org"
    with open(f, "wb") as fh:
        fh.truncate(5 * 1024 * 1024)   # sparse: costs no disk
    p = run("huge.org", cwd=tmp_path)
    assert p.returncode == 65
    assert p.stderr == ("huge.org: file too large (5242880 bytes, limit "
                        "4194304)\n")


def test_big_crew_is_checked_and_output_bounded(tmp_path):
    # 50000 members with bad intervals: every one is an error, but only
    # the first 100 are printed, then a count.
    write(tmp_path, "a.org", DEF)
    body = "".join(f"* m{i}\n:PROPERTIES:\n:DEF: a.org\n:INTERVAL: x\n"
                   ":END:\n" for i in range(50000))
    (tmp_path / "crew.org").write_text(body)
    p = run("crew.org", cwd=tmp_path)
    assert p.returncode == 65
    lines = p.stderr.splitlines()
    assert len(lines) == 101
    assert lines[0] == "crew.org:4: invalid duration 'x' for :INTERVAL:"
    assert lines[-1] == "crew.org: 49900 more problems not shown"


LINE_RE = re.compile(r"^[^:]+(:\d+)?: ")


@pytest.mark.parametrize("kind", [None, "crew", "lifecycle", "def"])
def test_random_bytes(tmp_path, kind):
    rnd = random.Random(1234)
    for i in range(20):
        n = rnd.choice([0, 1, 7, 100, 4096, 65536])
        data = rnd.randbytes(n)
        # Sprinkle org syntax so the models see headings and drawers.
        if i % 2:
            data = data.replace(b"\x00", b"\n* ").replace(b"\x01",
                                                          b":DEF: ")
        f = tmp_path / f"r{i}.org"
        f.write_bytes(data)
        args = ([f"--as={kind}"] if kind else []) + [f.name]
        p = run(*args, cwd=tmp_path)
        assert p.returncode in (0, 65), p.stderr
        for line in p.stderr.splitlines():
            assert LINE_RE.match(line), line
            assert line.isprintable(), line


def example_files():
    return sorted(list((REPO / "crews").glob("*.org")) +
                  list((REPO / "agents").glob("*.org")))


def test_repo_examples_are_clean():
    files = example_files()
    assert files, "no crews/*.org or agents/*.org in the repository"
    p = run(*[str(f) for f in files], cwd=REPO)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("page", ["keeper-crew.5", "keeper-lifecycle.5",
                                  "keeper-agent.5"])
def test_man_page_lint(page):
    # mandoc is in .ci/deps; warnings and worse fail, style notes do not.
    p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                        str(REPO / "man" / page)],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout == "", p.stdout + p.stderr
