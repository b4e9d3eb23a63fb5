"""SPEC §9, the command line: `keeper run` as a daemon (SIGTERM drains,
SIGHUP re-reads), run-once with and without a daemon and its exit codes,
status and history, keeper(1)'s `log` and `exec-def` commands, usage
errors (64, one line) and --help matching the man page. (`keeper check`
has its own file, test_s09_check.py.)"""
import json
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from conftest import (DEADLINE, KEEPER, KEEPER_EXEC, ROOT, clean_env,
                      exec_def, human_commit, ok_def, sh_def, wait_for,
                      write_def)


def test_usage_errors_exit_64(crew):
    for args in (["run"], ["run", "--bogus"], ["run-once"],
                 ["status", "extra"], ["history", "--limit", "x"],
                 ["run", "--crew", "c.org", "--interval", "soon"]):
        r = crew.keeper(*args)
        assert r.returncode == 64, (args, r.stderr)
        assert r.stderr.strip(), args


def test_status_and_history_without_daemon(crew):
    crew.write("agents/ok.org", sh_def("echo 'all good'"))
    crew.write("agents/nw.org", sh_def("echo NO-WORK"))
    crew.write_crew([("ok", {"DEF": "agents/ok.org"}),
                     ("nw", {"DEF": "agents/nw.org"}),
                     ("never", {"DEF": "agents/ok.org"})])
    assert crew.run_once("ok").returncode == 0
    assert crew.run_once("nw").returncode == 3
    assert crew.run_once("nw").returncode == 3
    r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data,
                    "--json")
    assert r.returncode == 0, r.stderr
    agents = json.loads(r.stdout)["agents"]
    assert [a["name"] for a in agents] == ["ok", "nw", "never"]
    assert agents[0]["last_outcome"] == "done"
    assert agents[1]["streak"] == 2
    assert agents[2]["last_run"] == 0
    r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "HITS", "LAST", "NEXT",
                                "LEFT", "OUTCOME", "STREAK", "RUNNING"]
    assert lines[1].split()[0] == "ok"
    r = crew.keeper("history", "--data", crew.data, "--json")
    rows = json.loads(r.stdout)
    assert [x["outcome"] for x in rows] == ["no_work", "no_work", "done"]
    assert rows[2]["output_head"].strip() == "all good"
    r = crew.keeper("history", "nw", "--data", crew.data, "--limit", "1",
                    "--json")
    assert len(json.loads(r.stdout)) == 1
    r = crew.keeper("history", "--data", crew.data)
    assert "all good" in r.stdout


def test_unknown_agent_is_a_config_error(crew):
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("ok", {"DEF": "agents/ok.org"})])
    r = crew.run_once("nobody")
    assert r.returncode == 65
    assert "nobody" in r.stdout + r.stderr


def test_status_shows_start_before_the_first_tick(crew):
    # A lifecycle member that never ticked is at (START, 0), with or
    # without a daemon, not at an empty state.
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write("loop.org", "#+START: b\n"
               "* a\n:PROPERTIES:\n:NEXT: b\n:END:\n"
               "* b\n:PROPERTIES:\n:REPEAT: 2\n:NEXT: a\n:END:\n")
    crew.write_crew([("w", {"DEF": "agents/ok.org", "INTERVAL": "1h",
                            "LIFECYCLE": "loop.org"})],
                    boot_grace="1h")

    def state():
        r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data,
                        "--json")
        assert r.returncode == 0, r.stderr
        a = json.loads(r.stdout)["agents"][0]
        return a["state"], a["hits"]

    assert state() == ("b", 0)
    d = crew.start()
    assert state() == ("b", 0)
    assert crew.stop(d) == 0


def test_s9_run_once_exit_3_on_no_work(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew, "nw", "echo NO-WORK")})])
    r = crew.run_once("a")
    assert r.returncode == 3
    assert "no_work" in r.stdout or "no-work" in r.stdout


def test_s9_run_once_prints_steps_and_outcome(crew):
    crew.write("agents/two.org", "#+TITLE: t\n* first\n#+BEGIN_SRC sh\n"
               "echo one\n#+END_SRC\n* second\n#+BEGIN_SRC sh\ncat\n"
               "#+END_SRC\n")
    crew.write_crew([("a", {"DEF": "agents/two.org"})])
    r = crew.run_once("a")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.index("first") < out.index("second") < out.index("done")


def test_s9_run_once_config_error_runs_nothing(crew):
    crew.write_crew([("a", {"DEF": "agents/missing.org"})])
    r = crew.run_once("a")
    assert r.returncode == 65, r.stdout + r.stderr
    assert "missing.org" in r.stdout + r.stderr


def test_s9_run_once_through_daemon_no_work_is_3(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew, "nw", "echo NO-WORK"),
                            "INTERVAL": "1h"})], boot_grace="1h")
    p = crew.start()
    r = crew.keeper("run-once", "a", "--data", crew.data)
    assert r.returncode == 3, r.stdout + r.stderr
    r = crew.keeper("run-once", "nobody", "--data", crew.data)
    assert r.returncode == 65, r.stdout + r.stderr
    assert crew.stop(p) == 0


def test_s9_no_command_is_usage_64(crew):
    r = crew.keeper()
    assert r.returncode == 64 and r.stderr.startswith("usage: keeper")


@pytest.mark.parametrize("args", [["frobnicate"], ["status", "--json",
                                                       "--limit", "3"],
                                  ["history", "a", "b"],
                                  ["run-once", "a", "--crew"],
                                  ["check"]])
def test_s9_usage_errors_exit_64_one_line(crew, args):
    r = crew.keeper(*args)
    assert r.returncode == 64, (args, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert 1 <= len(lines) <= 2, (args, r.stderr)


@pytest.mark.parametrize("cmd", ["run", "run-once", "status", "history",
                                 "check", "exec-def", "doctor", "pause",
                                 "resume"])
def test_s9_help_for_each_command(crew, cmd):
    r = crew.keeper(cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: keeper " + cmd), r.stdout


def test_s9_top_level_help(crew):
    r = crew.keeper("--help")
    assert r.returncode == 0
    listed = [l.split()[0] for l in r.stdout.splitlines()
              if l.startswith("  ")]
    for cmd in ("run", "run-once", "status", "history", "check"):
        assert cmd in listed, r.stdout


def test_s9_usage_lines_match_man_synopsis(crew):
    # Every option a command's usage line shows, keeper(1) shows as a
    # flag (mdoc's ".Fl \-crew"), not merely as a word in its prose.
    with open(os.path.join(ROOT, "man", "keeper.1")) as f:
        man = f.read()
    for cmd in ("run", "run-once", "status", "history", "check", "log",
                "exec-def", "doctor", "pause", "resume"):
        usage = crew.keeper(cmd, "--help").stdout.split("\n\n")[0]
        opts = re.findall(r"--[a-z][a-z-]*", usage)
        assert opts, (cmd, usage)
        for opt in opts:
            assert "Fl \\-" + opt[2:] in man, (cmd, opt)


def test_s9_status_live_with_daemon(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h"}),
                     ("b", {"DEF": ok_def(crew), "INTERVAL": "1h"})])
    p = crew.start()
    wait_for(lambda: crew.closed("a") and crew.closed("b"), what="ticks")
    r = crew.keeper("status", "--data", crew.data)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "HITS", "LAST", "NEXT",
                                "LEFT", "OUTCOME", "STREAK", "RUNNING"]
    assert [l.split()[0] for l in lines[1:3]] == ["a", "b"]
    assert "done" in lines[1]
    j = json.loads(crew.keeper("status", "--data", crew.data,
                               "--json").stdout)
    assert all(a["next_tick"] > a["last_run"] for a in j["agents"])
    assert crew.stop(p) == 0


def test_s9_history_newest_first_limit(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew, "c",
                                          "echo run-$KEEPER_RUN_ID")}),
                     ("b", {"DEF": ok_def(crew)})])
    for _ in range(3):
        assert crew.run_once("a").returncode == 0
    assert crew.run_once("b").returncode == 0
    rows = json.loads(crew.keeper("history", "a", "--data", crew.data,
                                  "--limit", "2", "--json").stdout)
    assert [r["id"] for r in rows] == [3, 2]
    assert all(r["agent"] == "a" for r in rows)
    r = crew.keeper("history", "a", "--data", crew.data, "--limit", "2")
    assert r.returncode == 0
    assert "run-3" in r.stdout and "run-1" not in r.stdout


def test_sigterm_drains_and_exits_zero(crew):
    crew.write("agents/work.org", sh_def(
        "touch %(r)s/began; sleep 0.5; touch %(r)s/finished; echo done"
        % {"r": crew.root}))
    crew.write_crew([("w", {"DEF": "agents/work.org", "INTERVAL": "1h"})])
    d = crew.start()
    wait_for(lambda: os.path.exists(crew.path("began")), what="run began")
    assert crew.stop(d) == 0
    assert os.path.exists(crew.path("finished"))
    rows = crew.rows("w")
    assert [r["outcome"] for r in rows] == ["done"]
    assert not os.path.exists(os.path.join(crew.data, "keeper.sock"))


def test_drain_ends_queued_ticks_without_running_them(crew):
    crew.write("agents/long.org", sh_def(
        "echo $KEEPER_AGENT >> %s/ran; sleep 1; echo ok" % crew.root))
    crew.write_crew([("q%d" % i, {"DEF": "agents/long.org",
                                  "INTERVAL": "1h"}) for i in range(3)],
                    concurrency=1)
    d = crew.start()

    def queued():
        r = crew.keeper("status", "--data", crew.data, "--json")
        if r.returncode != 0:
            return False
        a = json.loads(r.stdout)["agents"]
        return (sum(x["running"] for x in a) == 1 and
                sorted(x["queue_place"] for x in a) == [0, 1, 2])
    wait_for(queued, what="one running, two queued")
    assert crew.stop(d) == 0
    outs = sorted(r["outcome"] for r in crew.rows())
    assert outs == ["done", "interrupted", "interrupted"], outs
    assert len(open(crew.path("ran")).read().split()) == 1
    for r in crew.rows():
        if r["outcome"] == "interrupted":
            assert r["started"] is None and "gate" in r["error"]


def test_sighup_rereads_the_manifest(crew):
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("a", {"DEF": "agents/ok.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    d = crew.start()
    # Change the manifest behind the watcher's back: same size and mtime
    # would hide it from the stat check, so SIGHUP must force the read.
    st = os.stat(crew.crew)
    text = open(crew.crew).read().replace("* a\n", "* b\n")
    with open(crew.crew, "w") as f:
        f.write(text)
    os.utime(crew.crew, ns=(st.st_atime_ns, st.st_mtime_ns))
    d.send_signal(signal.SIGHUP)

    def names():
        r = crew.keeper("status", "--data", crew.data, "--json")
        return r.returncode == 0 and [a["name"] for a in json.loads(
            r.stdout)["agents"]] == ["b"]
    wait_for(names, what="b replaces a after SIGHUP")
    assert crew.stop(d) == 0


def test_client_hanging_up_mid_run_once_is_harmless(crew):
    crew.write("agents/chatty.org", sh_def(
        "for i in 1 2 3 4 5; do echo \"::step::s$i\"; sleep 0.1; done; "
        "echo fine"))
    crew.write_crew([("c", {"DEF": "agents/chatty.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    d = crew.start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(crew.data, "keeper.sock"))
    s.sendall(b"run-once c\n")
    s.close()
    wait_for(lambda: crew.closed("c"), what="the run ends")
    assert crew.closed("c")[0]["outcome"] == "done"
    assert d.poll() is None
    r = crew.keeper("run-once", "c", "--data", crew.data)
    assert r.returncode == 0, r.stdout + r.stderr
    assert crew.stop(d) == 0


def test_keeper_log(crew, keeper_bin):
    crew.write("loop.org", "* wake_add\n:PROPERTIES:\n:REPEAT: 3\n"
               ":NEXT: wake_plan\n:END:\n"
               "* wake_plan\n:PROPERTIES:\n:NEXT: wake_add\n:END:\n")
    crew.write_crew([("wren", {"DEF": ok_def(
        crew, "a", "echo $KEEPER_RUN_ID >> runs.txt; echo run $KEEPER_RUN_ID"),
        "INTERVAL": "1h", "LIFECYCLE": "loop.org"})], repo="repo")
    human_commit(crew.repo, "README", "hi\n")
    for _ in range(3):
        assert crew.run_once("wren").returncode == 0
    r = crew.keeper("log", "--crew", crew.crew, "--limit", "2", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    ids = [row["commit_id"] for row in crew.closed("wren")]
    assert [c["id"] for c in doc["commits"]] == ids[::-1][:2]
    assert [c["run"] for c in doc["commits"]] == \
        [str(row["id"]) for row in crew.closed("wren")][::-1][:2]
    assert all(c["agent"] == "wren" and c["state"] == "wake_add"
               for c in doc["commits"])
    r = crew.keeper("log", "--repo", crew.repo)
    lines = r.stdout.strip().split("\n")
    assert len(lines) == 4
    assert lines[-1].split()[3] == "-"       # the human commit: no agent
    assert "wren" in lines[0]
    assert crew.keeper("log", "--limit", "0").returncode == 64
    r = crew.keeper("log", "--repo", crew.root)
    assert r.returncode == 1 and "not a git repository" in r.stderr


@pytest.mark.parametrize("argv0", ["keeper-exec", "keeper"])
def test_usage_is_the_same_either_way(tmp_path, argv0):
    cmd = [KEEPER_EXEC] if argv0 == "keeper-exec" else [KEEPER, "exec-def"]
    r = subprocess.run(cmd + ["--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: keeper exec-def")
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 64 and "usage" in r.stderr


def test_usage_errors(tmp_path, repo):
    assert exec_def("", repo).returncode in (64, 65)
    res = subprocess.run([KEEPER, "exec-def"], capture_output=True,
                         timeout=DEADLINE)
    assert res.returncode == 64 and b"usage:" in res.stderr
    res = subprocess.run([KEEPER, "exec-def", "x.org", "--bogus"],
                         capture_output=True, timeout=DEADLINE)
    assert res.returncode == 64
    res = exec_def(tmp_path / "missing.org", repo)
    assert res.returncode == 65


def test_run_once_shows_steps_while_the_step_runs(tmp_path, repo):
    # End to end with the daemon side of the event protocol: `keeper
    # run-once` re-executes exec-def and prints its events as they come.
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    data = tmp_path / "data"
    data.mkdir()
    d = write_def(tmp_path, """* wait
#+BEGIN_SRC sh
echo "::step::waiting for release"
while [ ! -e release ]; do sleep 0.01; done
echo released
#+END_SRC
""", name="w.org")
    p = subprocess.Popen([KEEPER, "run-once", "--def", str(d), "--repo",
                          str(repo), "--data", str(data)], cwd=tmp_path,
                         env=clean_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    seen = b""
    try:
        end = time.monotonic() + DEADLINE
        while b"step waiting for release" not in seen:
            left = end - time.monotonic()
            assert left > 0, seen
            ready, _, _ = select.select([p.stdout], [], [], left)
            if ready:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
        assert b"step waiting for release" in seen, seen
        assert p.poll() is None  # still waiting for the release file
        (repo / "release").touch()
        out, err = p.communicate(timeout=DEADLINE)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert b"step-end wait ok" in seen + out


def test_version_names_the_build():
    """`keeper --version` and `keeper version`: the VERSION file's number,
    then the commit of the checkout it was built from."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..",
                           "VERSION")) as f:
        number = f.read().strip()
    for arg in ("--version", "version"):
        r = subprocess.run([KEEPER, arg], capture_output=True, text=True,
                           timeout=DEADLINE)
        assert r.returncode == 0 and r.stderr == ""
        name, version = r.stdout.split()
        assert name == "keeper" and version.startswith(number + "+g")


def test_s9_history_before_any_run(crew):
    """SPEC §9: no history yet is an empty one: no rows, exit 0, [] with
    --json; before the data directory exists, once it does, and once the
    database exists without a row."""
    for step in ("no dir", "empty dir", "empty db"):
        if step == "empty dir":
            os.makedirs(crew.data)
        if step == "empty db":
            sqlite3.connect(os.path.join(crew.data, "keeper.db")).close()
        r = crew.keeper("history", "--data", crew.data, "--json")
        assert (r.returncode, r.stdout.strip(), r.stderr) == (0, "[]", ""), \
            step
        r = crew.keeper("history", "--data", crew.data)
        assert r.returncode == 0 and r.stderr == "", step
        assert len(r.stdout.splitlines()) <= 1, step    # the header only
    r = crew.keeper("history", "--data", crew.data, "--run", "1")
    assert r.returncode == 1 and "no run 1" in r.stderr
    r = crew.keeper("history", "--data", crew.data, "--run", "one")
    assert r.returncode == 64


def test_s9_history_keeps_what_was_printed(crew):
    """Issue 20 item 9: NUL bytes and invalid UTF-8 in a run's output
    and log cut nothing and drop no key: cleaned as /_activity cleans."""
    crew.member("odd", r"printf 'before\000after \377\376 end\n'; "
                r"printf 'log \377 line\000 two\n' >&2")
    crew.write_crew()
    assert crew.run_once("odd").returncode == 0
    rows = json.loads(crew.keeper("history", "--data", crew.data,
                                  "--json").stdout)
    (row,) = rows
    assert row["output_head"] == "before\0after \ufffd\ufffd end\n"
    assert row["output_bytes"] == len(b"before\0after \377\376 end\n")
    doc = json.loads(crew.keeper("history", "--data", crew.data, "--run",
                                 str(row["id"]), "--json").stdout)
    assert doc["result"] == row["output_head"]
    assert doc["log"] == "log \ufffd line  two\n"
