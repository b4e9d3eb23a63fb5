"""Acceptance tests of SPEC.md, one per promise not covered elsewhere,
named after the section. The real binary in temp dirs with real git repos,
millisecond intervals, #+BOOT-GRACE: 0, and deadlines instead of sleeps."""
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import KEEPER, pid_alive, sh_def, wait_for

LOOP = """#+START: %(start)s
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


def ok_def(crew, name="ok", body="echo ok"):
    crew.write("agents/%s.org" % name, sh_def(body))
    return "agents/%s.org" % name


def last_row(crew, agent):
    rows = crew.rows(agent)
    return rows[-1] if rows else None


def http_get(addr, path, method="GET"):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


# ---- §2 durations ----

@pytest.mark.parametrize("d", ["90s", "15m", "2h", "1d", "250ms", "1h30m",
                               "200"])
def test_s2_duration_forms_accepted(crew, d):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": d})])
    r = crew.keeper("check", "--strict", crew.crew)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("d", ["soon", "5x", "1.5h", "-3s", "m", "1h 30m"])
def test_s2_bad_duration_is_file_line_error(crew, d):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": d})])
    # the :INTERVAL: line is line 6: 3 keywords, heading, PROPERTIES, DEF
    want = "%s:7:" % crew.crew
    r = crew.keeper("check", crew.crew)
    assert r.returncode == 65, r.stderr
    assert want in r.stderr, r.stderr
    r = crew.run_once("a")
    assert r.returncode == 65
    assert want in r.stderr + r.stdout


def test_s2_bare_integer_is_milliseconds(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "150"})])
    d = crew.start()
    wait_for(lambda: len(crew.closed("a")) >= 3, what="three ticks")
    crew.stop(d)
    rows = crew.closed("a")
    for x, y in zip(rows, rows[1:]):
        gap = y["scheduled"] - x["ended"]
        assert 140 <= gap < 1000, gap


def test_s2_compound_duration_schedules_the_sum(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h30m"})])
    d = crew.start()
    wait_for(lambda: crew.closed("a"), what="first tick")

    def nxt():
        a = json.loads(crew.keeper("status", "--data", crew.data,
                                   "--json").stdout)["agents"][0]
        return a if a["next_tick"] else None
    a = wait_for(nxt, what="next tick")
    ended = crew.closed("a")[0]["ended"]
    assert abs(a["next_tick"] - ended - 5400000) < 1000, a
    crew.stop(d)


# ---- §3 crew manifest ----

def test_s3_comment_and_disabled_members_skipped(crew):
    d = ok_def(crew, "ok", "echo $KEEPER_AGENT >> %s/ran; echo ok"
               % crew.root)
    crew.write("crew.org", "#+TITLE: t\n#+BOOT-GRACE: 0\n"
               "* COMMENT c\n:PROPERTIES:\n:DEF: %s\n:INTERVAL: 50ms\n:END:\n"
               "* d\n:PROPERTIES:\n:DEF: %s\n:DISABLED: t\n"
               ":INTERVAL: 50ms\n:END:\n"
               "* e\n:PROPERTIES:\n:DEF: %s\n:INTERVAL: 50ms\n:END:\n"
               % (d, d, d))
    p = crew.start()
    wait_for(lambda: len(crew.closed("e")) >= 3, what="e ticks")
    crew.stop(p)
    assert set(open(crew.path("ran")).read().split()) == {"e"}
    names = {r["agent"] for r in crew.rows()}
    assert names == {"e"}, names
    st = json.loads(crew.keeper("status", "--crew", crew.crew, "--data",
                                crew.data, "--json").stdout)
    assert [a["name"] for a in st["agents"]] == ["e"]


def test_s3_member_without_def_skipped_with_warning(crew):
    crew.write_crew([("nodef", {"INTERVAL": "50ms"}),
                     ("e", {"DEF": ok_def(crew), "INTERVAL": "50ms"})])
    p = crew.start()
    wait_for(lambda: len(crew.closed("e")) >= 2, what="e ticks")
    crew.stop(p)
    assert not crew.rows("nodef")
    log = crew.log(p)
    assert "nodef" in log and "warn" in log, log


def test_s3_relative_paths_against_the_naming_file(crew):
    # crew in sub/, def and lifecycle relative to it; the lifecycle's
    # per-state :DEF: relative to the lifecycle's own directory.
    crew.write("sub/agents/m.org", sh_def("echo member $KEEPER_STATE"))
    crew.write("sub/loops/lc/s.org", sh_def("echo state-def"))
    crew.write("sub/loops/loop.org", "* x\n:PROPERTIES:\n:NEXT: y\n:END:\n"
               "* y\n:PROPERTIES:\n:DEF: lc/s.org\n:NEXT: x\n:END:\n")
    crew.write("sub/crew.org", "#+TITLE: t\n#+REPO: ../repo\n"
               "* w\n:PROPERTIES:\n:DEF: agents/m.org\n"
               ":LIFECYCLE: loops/loop.org\n:END:\n")
    crew.crew = crew.path("sub/crew.org")
    r = crew.run_once("w", timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = crew.run_once("w")
    assert r.returncode == 0, r.stdout + r.stderr
    heads = [x["output_head"].strip() for x in crew.rows("w")]
    assert heads == ["member x", "state-def"]


def cwd_def(crew):
    return ok_def(crew, "pwd", "pwd > %s/cwd; echo ok" % crew.root)


def test_s3_default_repo_is_the_repo_flag(crew):
    crew.write_crew([("a", {"DEF": cwd_def(crew)})])
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--data",
                    crew.data, "--repo", crew.repo)
    assert r.returncode == 0, r.stderr
    assert open(crew.path("cwd")).read().strip() == \
        os.path.realpath(crew.repo)


def test_s3_default_repo_is_the_cwd(crew):
    crew.write_crew([("a", {"DEF": cwd_def(crew)})])
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--data",
                    crew.data, cwd=crew.repo)
    assert r.returncode == 0, r.stderr
    assert open(crew.path("cwd")).read().strip() == \
        os.path.realpath(crew.repo)


def test_s3_repo_keyword_beats_the_flag(crew):
    other = crew.path("other")
    subprocess.run(["git", "init", "-q", other], check=True)
    crew.write_crew([("a", {"DEF": cwd_def(crew)})], repo="repo")
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--data",
                    crew.data, "--repo", other)
    assert r.returncode == 0, r.stderr
    assert open(crew.path("cwd")).read().strip() == \
        os.path.realpath(crew.repo)


def test_s3_singleton_def_mode_file_names(crew):
    # No manifest, so BOOT-GRACE is its 60s default: the daemon waits, and
    # a run-once --def asks it for the tick.
    crew.write("agents/s.org", sh_def("echo $KEEPER_AGENT $KEEPER_STATE"))
    crew.write("loop.org", LOOP % {"start": "b"})
    p = subprocess.Popen([KEEPER, "run", "--def", crew.path("agents/s.org"),
                          "--lifecycle", crew.path("loop.org"),
                          "--interval", "1h", "--repo", crew.repo,
                          "--data", crew.data, "--listen", "127.0.0.1:0"],
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        sock = os.path.join(crew.data, "keeper.sock")
        wait_for(lambda: os.path.exists(sock), what="singleton daemon")
        for want in ("done", "dreamed"):
            r = crew.keeper("run-once", "--def", crew.path("agents/s.org"),
                            "--lifecycle", crew.path("loop.org"),
                            "--data", crew.data)
            assert r.returncode == 0, r.stdout + r.stderr
            assert crew.rows()[-1]["outcome"] == want
            assert crew.rows()[-1]["daemon_pid"] == p.pid
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        p.stderr.close()
    files = set(os.listdir(crew.data))
    assert {"keeper-last-run", "lifecycle-pos"} <= files, files
    assert not [f for f in files if f.startswith(("keeper-last-run-",
                                                  "lifecycle-pos-"))]
    with open(os.path.join(crew.data, "lifecycle-pos")) as f:
        assert f.readline() == "a 0\n"


def test_s3_singleton_boot_grace_flag(crew):
    """Singleton mode has no manifest for #+BOOT-GRACE: --boot-grace sets
    it. With 0 the agent ticks on its own at once and then every
    interval (the 60s default would keep it waiting past this test)."""
    crew.write("agents/s.org", sh_def("echo tick"))
    r = crew.keeper("run", "--def", crew.path("agents/s.org"),
                    "--boot-grace", "soon", "--data", crew.data)
    assert r.returncode == 64 and "not a duration" in r.stderr, r.stderr
    p = subprocess.Popen([KEEPER, "run", "--def", crew.path("agents/s.org"),
                          "--boot-grace", "0", "--interval", "300ms",
                          "--repo", crew.repo, "--data", crew.data,
                          "--listen", "127.0.0.1:0"],
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: len([r for r in crew.rows()
                              if r["outcome"] == "done"]) >= 2,
                 what="two scheduled ticks of the singleton")
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        p.stderr.close()
    rows = [r for r in crew.rows() if r["outcome"] == "done"]
    assert all(r["trigger"] == "schedule" for r in rows), rows
    assert rows[1]["scheduled"] - rows[0]["ended"] >= 300, rows


def test_s3_singleton_run_once(crew):
    crew.write("agents/s.org", sh_def("echo single"))
    r = crew.keeper("run-once", "--def", crew.path("agents/s.org"),
                    "--data", crew.data, cwd=crew.repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.exists(os.path.join(crew.data, "keeper-last-run"))
    assert crew.rows()[-1]["output_head"].strip() == "single"


def test_s3_crew_takes_precedence_over_def(crew):
    crew.write("agents/s.org", sh_def("echo from-def"))
    crew.write_crew([("m", {"DEF": ok_def(crew, "m", "echo from-crew")})])
    r = crew.keeper("run-once", "m", "--crew", crew.crew, "--def",
                    crew.path("agents/s.org"), "--data", crew.data,
                    "--repo", crew.repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert crew.rows("m")[-1]["output_head"].strip() == "from-crew"


def test_s3_no_runnable_member_idles_then_picks_one_up(crew):
    crew.write_crew([("x", {"DEF": ok_def(crew), "DISABLED": "t",
                            "INTERVAL": "50ms"})])
    p = crew.start()
    addr = wait_for(lambda: os.path.exists(os.path.join(crew.data,
                                                        "http.addr")),
                    what="http.addr")
    assert p.poll() is None
    assert not crew.rows()
    crew.write_crew([("x", {"DEF": ok_def(crew), "INTERVAL": "50ms"})])
    wait_for(lambda: crew.closed("x"), what="x added")
    assert addr and crew.stop(p) == 0


def test_s3_changed_setting_applies_next(crew):
    # man keeper-crew(5): "from the next scheduling decision", so the tick
    # already due keeps its time and the ones after use the new interval.
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "300ms"})])
    p = crew.start()
    wait_for(lambda: crew.closed("a"), what="first tick")
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "40ms"})])
    wait_for(lambda: len(crew.closed("a")) >= 5, what="faster ticks")
    assert crew.stop(p) == 0
    rows = crew.closed("a")
    gaps = [y["scheduled"] - x["ended"] for x, y in zip(rows, rows[1:])]
    assert gaps[0] >= 290 and 35 <= gaps[-1] < 290, gaps


# ---- §4 lifecycle ----

def lc_crew(crew, loop, body="echo did $KEEPER_STATE", **props):
    crew.write("loop.org", loop)
    m = {"DEF": ok_def(crew, "lc", body), "LIFECYCLE": "loop.org",
         "INTERVAL": "1h"}
    m.update(props)
    crew.write_crew([("w", m)], repo="repo")


def test_s4_start_defaults_to_first_state_repeat_to_1(crew):
    lc_crew(crew, (LOOP % {"start": "a"}).split("\n", 1)[1]
            .replace(":REPEAT: 2\n", ""))
    assert crew.run_once("w").returncode == 0
    assert crew.pos("w") == ("b", 0)
    with open(os.path.join(crew.data, "lifecycle-pos-w")) as f:
        assert f.readline() == "b 0\n"


def test_s4_done_counts_to_repeat(crew):
    lc_crew(crew, LOOP % {"start": "a"})
    assert crew.run_once("w").returncode == 0
    assert crew.pos("w") == ("a", 1)
    assert crew.run_once("w").returncode == 0
    assert crew.pos("w") == ("b", 0)


def test_s4_killed_holds(crew):
    lc_crew(crew, LOOP % {"start": "a"}, body="sleep 30", TIMEOUT="300ms")
    r = crew.run_once("w")
    assert r.returncode == 124, r.stdout + r.stderr
    assert crew.pos("w") == ("a", 0)
    assert crew.rows("w")[-1]["outcome"] == "killed"


def test_s4_unknown_state_restarts_at_start_with_warning(crew):
    lc_crew(crew, LOOP % {"start": "b"})
    os.makedirs(crew.data)
    crew.write("data/lifecycle-pos-w", "ghost 1\n")
    r = crew.run_once("w")
    assert r.returncode == 0, r.stderr
    assert "ghost" in r.stderr
    # ran in START=b, not in the first state a
    assert crew.rows("w")[-1]["state"] == "b"
    assert crew.pos("w") == ("r", 0)


def test_s4_bad_next_in_daemon_records_error_and_holds(crew):
    lc_crew(crew, (LOOP % {"start": "a"}).replace(":NEXT: b", ":NEXT: zz"),
            body="touch %s/ran; echo x" % crew.root, INTERVAL="50ms")
    os.makedirs(crew.data)
    crew.write("data/lifecycle-pos-w", "a 1\n")
    p = crew.start()
    wait_for(lambda: len(crew.closed("w")) >= 2, what="error rows")
    crew.stop(p)
    rows = crew.closed("w")
    assert all(r["outcome"] == "error" for r in rows), rows
    assert "loop.org:" in rows[0]["error"]
    assert crew.pos("w") == ("a", 1)
    assert not os.path.exists(crew.path("ran"))


def test_s4_dream_goes_to_data_dir_and_is_never_committed(crew):
    lc_crew(crew, LOOP % {"start": "r"})
    r = crew.run_once("w")
    assert r.returncode == 0, r.stdout + r.stderr
    assert crew.rows("w")[-1]["outcome"] == "dreamed"
    assert crew.pos("w") == ("a", 0)
    dreams = os.path.join(crew.data, "dreams-w.org")
    assert open(dreams).read().lstrip().startswith("*")
    assert not os.path.exists(os.path.join(crew.repo, "dreams-w.org"))
    log = subprocess.run(["git", "-C", crew.repo, "log", "--all",
                          "--format=%s"], capture_output=True, text=True)
    assert "dream" not in log.stdout
    # the second dream is appended, not replacing the first
    crew.write("data/lifecycle-pos-w", "r 0\n")
    assert crew.run_once("w").returncode == 0
    assert open(dreams).read().count("\n* ") + 1 >= 2


def test_s4_wake_min_interval_gates_and_holds(crew):
    loop = ("* a\n:PROPERTIES:\n:NEXT: g\n:END:\n"
            "* g\n:PROPERTIES:\n:NEXT: a\n:MIN-INTERVAL: 10m\n:END:\n")
    lc_crew(crew, loop)
    for _ in range(3):
        assert crew.run_once("w").returncode == 0
    # a, g (ran), a ; now g again within 10m: gated, position holds
    assert crew.pos("w") == ("g", 0)
    r = crew.run_once("w")
    assert r.returncode == 0, r.stdout + r.stderr
    assert crew.rows("w")[-1]["outcome"] == "gated"
    assert crew.pos("w") == ("g", 0)
    assert crew.rows("w")[-1]["started"] is None or \
        crew.rows("w")[-1]["output_bytes"] in (0, None)


def test_s4_state_def_overrides_member_def(crew):
    crew.write("agents/special.org", sh_def("echo special"))
    loop = ("* a\n:PROPERTIES:\n:NEXT: b\n:END:\n"
            "* b\n:PROPERTIES:\n:DEF: agents/special.org\n:NEXT: a\n:END:\n")
    lc_crew(crew, loop, body="echo plain")
    assert crew.run_once("w").returncode == 0
    assert crew.run_once("w").returncode == 0
    heads = [r["output_head"].strip() for r in crew.rows("w")]
    assert heads == ["plain", "special"]


# ---- §5 scheduling ----

def test_s5_last_run_written_at_the_start_of_the_tick(crew):
    # keeper(1) FILES: state files are written off the event loop, so the
    # run may start a moment before the file lands; it lands while the
    # run is still going, with the tick's time, not at its end.
    lr = os.path.join(crew.data, "keeper-last-run-a")
    crew.write_crew([("a", {"DEF": ok_def(
        crew, "lr", "touch %(r)s/in; while [ ! -e %(r)s/release ]; do "
        "sleep 0.02; done; echo ok" % {"r": crew.root})})], repo="repo")
    t0 = time.time()
    p = subprocess.Popen([KEEPER, "run-once", "a", "--crew", crew.crew,
                          "--data", crew.data], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(crew.path("in")), what="the run")
        seen = float(wait_for(lambda: os.path.exists(lr) and
                              open(lr).read(), what="last-run"))
        assert p.poll() is None
    finally:
        crew.write("release", "")
    assert p.wait(timeout=15) == 0
    assert t0 - 1 <= seen <= time.time()
    row = crew.rows("a")[-1]
    assert abs(seen * 1000 - row["scheduled"]) < 1000, (seen, row)


def test_s5_stagger_spaces_first_ticks(crew):
    d = ok_def(crew)
    crew.write_crew([("a", {"DEF": d, "INTERVAL": "1h"}),
                     ("b", {"DEF": d, "INTERVAL": "1h"}),
                     ("c", {"DEF": d, "INTERVAL": "1h"})],
                    stagger="300ms", boot_grace="100ms", concurrency=3)
    p = crew.start()
    wait_for(lambda: crew.closed("c"), what="c's first tick")
    crew.stop(p)
    s = [crew.rows(n)[0]["scheduled"] for n in "abc"]
    assert 280 <= s[1] - s[0] <= 320, s
    assert 280 <= s[2] - s[1] <= 320, s


def test_s5_continuous_member_uses_breather(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h",
                            "CONTINUOUS": "t"})], breather="100ms")
    p = crew.start()
    wait_for(lambda: len(crew.closed("a")) >= 3, what="breather ticks")
    crew.stop(p)
    rows = crew.closed("a")
    for x, y in zip(rows, rows[1:]):
        assert 95 <= y["scheduled"] - x["ended"] < 1000


def test_s5_boot_grace_delays_first_tick(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "50ms"})],
                    boot_grace="400ms")
    t0 = time.time() * 1000
    p = crew.start()
    wait_for(lambda: crew.closed("a"), what="first tick")
    crew.stop(p)
    assert crew.rows("a")[0]["scheduled"] - t0 >= 390


def test_s5_failed_keeps_base_and_streak(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew, "f", "exit 2"),
                            "INTERVAL": "100ms"})],
                    backoff_base="5s")
    p = crew.start()
    wait_for(lambda: len(crew.closed("a")) >= 3, what="failed ticks")
    crew.stop(p)
    rows = crew.closed("a")
    # exit_code is the failed step's own status (keeper-agent(5))
    assert all(r["outcome"] == "failed" and r["exit_code"] == 2
               for r in rows)
    for x, y in zip(rows, rows[1:]):
        assert 95 <= y["scheduled"] - x["ended"] < 1000


def test_s5_run_once_while_mid_tick_exits_75_without_daemon(crew):
    crew.write_crew([("a", {"DEF": ok_def(
        crew, "slow", "touch %s/in; sleep 1; echo ok" % crew.root)})])
    first = subprocess.Popen([KEEPER, "run-once", "a", "--crew", crew.crew,
                              "--data", crew.data, "--repo", crew.repo],
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    wait_for(lambda: os.path.exists(crew.path("in")), what="first run")
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--data",
                    crew.data, "--repo", crew.repo)
    assert r.returncode == 75, r.stdout + r.stderr
    assert "in use" in r.stderr
    first.communicate(timeout=15)
    assert first.returncode == 0
    assert len(crew.rows("a")) == 1


# ---- §6 a run ----

def test_s6_environment_and_process_group(crew):
    crew.write_crew([("envy", {"DEF": ok_def(
        crew, "env", "echo $KEEPER_RUN_ID $KEEPER_REPO $KEEPER_DATA "
        "$KEEPER_AGENT $KEEPER_STATE $KEEPER_HITS $KEEPER_REPEAT; "
        "ps -o pid=,pgid=,sid= -p $PPID > %s/ids" % crew.root)})],
        repo="repo")
    r = crew.run_once("envy")
    assert r.returncode == 0, r.stderr
    row = crew.rows("envy")[-1]
    words = row["output_head"].split()
    assert words[0] == str(row["id"])
    assert words[1] == os.path.realpath(crew.repo)
    assert os.path.realpath(words[2]) == os.path.realpath(crew.data)
    assert words[3] == "envy"
    # the def runs in a child that leads its own process group
    assert row["pgid"] == row["pid"]


@pytest.mark.parametrize("text,outcome,code", [
    ("no-work: nothing", "no_work", 3),
    ("   \\n  No-Work", "no_work", 3),
    ("NO-WORKER ready", "done", 0),
    ("work: NO-WORK", "done", 0),
])
def test_s6_no_work_word_rules(crew, text, outcome, code):
    crew.write_crew([("a", {"DEF": ok_def(crew, "nw", "printf '%s\\n'"
                                          % text)})])
    r = crew.run_once("a")
    assert r.returncode == code, r.stdout + r.stderr
    assert crew.rows("a")[-1]["outcome"] == outcome


def test_s6_death_by_signal_is_failed(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew, "sig", "kill -9 $$")})])
    r = crew.run_once("a")
    assert r.returncode == 1, r.stdout + r.stderr
    assert crew.rows("a")[-1]["outcome"] == "failed"


def test_s6_daydream_shown_not_committed(crew):
    crew.write_crew([("a", {"DEF": ok_def(
        crew, "dd", "echo hi > f.txt; echo 'NO-WORK quiet day, dreaming'")})],
        repo="repo")
    r = crew.run_once("a")
    assert r.returncode == 3
    assert "quiet day" in r.stdout + r.stderr
    log = subprocess.run(["git", "-C", crew.repo, "log", "--all",
                          "--format=%B"], capture_output=True, text=True)
    assert "quiet day" not in log.stdout


# ---- §7 git ----

def git_log(crew, fmt, *args):
    return subprocess.run(["git", "-C", crew.repo, "log", "-1",
                           "--format=" + fmt] + list(args),
                          capture_output=True, text=True).stdout


def test_s7_done_run_commits_with_subject_and_trailers(crew):
    crew.write("loop.org", LOOP % {"start": "a"})
    crew.write_crew([("wren", {"DEF": ok_def(
        crew, "c", "echo x >> notes.txt; printf 'wrote notes\\nmore\\n'"),
        "LIFECYCLE": "loop.org"})], repo="repo")
    assert crew.run_once("wren").returncode == 0
    row = crew.rows("wren")[-1]
    lines = git_log(crew, "%an <%ae>%n%cn <%ce>%n%s%n%b").splitlines()
    assert lines[0] == "wren <wren@keeper.invalid>"
    assert lines[1] == "wren <wren@keeper.invalid>"
    assert lines[2] == "wren: a 1/2 \u2014 wrote notes"
    assert "more" in lines[3:]
    trailers = [l for l in lines if l.startswith("Keeper-")]
    assert trailers == ["Keeper-Agent: wren", "Keeper-State: a",
                        "Keeper-Run: %d" % row["id"]]
    assert row["commit_id"] == git_log(crew, "%H").strip()
    # the commit is made before the position is saved, and with it
    assert crew.pos("wren") == ("a", 1)


def test_s7_member_without_lifecycle_subject(crew):
    # keeper(1) GIT: a member without a lifecycle gets "NAME: first line"
    crew.write_crew([("moss", {"DEF": ok_def(
        crew, "c", "date >> n.txt; echo researched")})], repo="repo")
    assert crew.run_once("moss").returncode == 0
    assert git_log(crew, "%s").strip() == "moss: researched"


def test_s7_failed_run_changes_kept_on_partial_ref(crew):
    subprocess.run(["git", "-C", crew.repo, "commit", "-q",
                    "--allow-empty", "-m", "root"], check=True)
    crew.write_crew([("wren", {"DEF": ok_def(
        crew, "pf", "echo half > half.txt; exit 1")})], repo="repo")
    assert crew.run_once("wren").returncode == 1
    row = crew.rows("wren")[-1]
    ref = "refs/keeper/partial/wren/%d" % row["id"]
    r = subprocess.run(["git", "-C", crew.repo, "show", "--stat",
                        "--format=%an", ref], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "half.txt" in r.stdout and r.stdout.startswith("wren")
    # neither HEAD nor the index moved; the file is still in the tree
    assert git_log(crew, "%s").strip() == "root"
    st = subprocess.run(["git", "-C", crew.repo, "status", "--porcelain"],
                        capture_output=True, text=True).stdout
    assert st.strip() == "?? half.txt"


def test_s7_no_change_no_commit(crew):
    crew.write_crew([("wren", {"DEF": ok_def(crew)})], repo="repo")
    assert crew.run_once("wren").returncode == 0
    r = subprocess.run(["git", "-C", crew.repo, "rev-list", "--all"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == ""


# ---- §8 files in the data directory ----

def test_s8_keeper_db_is_wal_with_all_columns(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew)})])
    assert crew.run_once("a").returncode == 0
    con = sqlite3.connect(os.path.join(crew.data, "keeper.db"))
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
    row = crew.rows("a")[-1]
    for col in ("agent", "trigger", "state", "hits", "scheduled", "started",
                "ended", "duration_ms", "outcome", "exit_code",
                "output_bytes", "output_head", "commit_id", "error"):
        assert col in row, col
    assert row["scheduled"] <= row["started"] <= row["ended"]


def test_s8_row_written_at_start_completed_at_end(crew):
    crew.write_crew([("a", {"DEF": ok_def(
        crew, "slow", "touch %s/in; sleep 0.5; echo ok" % crew.root)})])
    p = subprocess.Popen([KEEPER, "run-once", "a", "--crew", crew.crew,
                          "--data", crew.data, "--repo", crew.repo],
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(crew.path("in")), what="run began")
    row = wait_for(lambda: last_row(crew, "a"), what="the open row")
    assert row["outcome"] is None and row["started"]
    assert p.wait(timeout=15) == 0
    assert crew.rows("a")[-1]["outcome"] == "done"


def test_s8_keeper_data_env_and_xdg_default(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew)})], title="newsroom")
    env = dict(os.environ, KEEPER_DATA=crew.path("envdata"))
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--repo",
                    crew.repo, env=env)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(crew.path("envdata/keeper-last-run-a"))
    env = dict(os.environ, XDG_STATE_HOME=crew.path("xdg"))
    env.pop("KEEPER_DATA", None)
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--repo",
                    crew.repo, env=env)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(crew.path("xdg/keeper/newsroom/keeper.db"))


def test_s8_second_daemon_message_names_the_first(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h"})])
    p = crew.start()
    r = crew.keeper("run", "--crew", crew.crew, "--data", crew.data,
                    "--repo", crew.repo, "--listen", "127.0.0.1:0",
                    timeout=10)
    assert r.returncode == 75
    assert "pid %d" % p.pid in r.stderr or str(p.pid) in r.stderr
    assert r.stderr.count("\n") <= 2, r.stderr
    assert crew.stop(p) == 0


def test_s8_http_addr_and_control_socket(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h"})])
    p = crew.start()
    addr_file = os.path.join(crew.data, "http.addr")
    addr = wait_for(lambda: os.path.exists(addr_file) and
                    open(addr_file).read().strip(), what="http.addr")
    host, port = addr.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    st, body = http_get(addr, "/_activity")
    assert st == 200 and json.loads(body)["agents"][0]["name"] == "a"
    import stat as statmod
    assert statmod.S_ISSOCK(os.stat(os.path.join(crew.data,
                                                 "keeper.sock")).st_mode)
    assert crew.stop(p) == 0


def test_s8_no_temp_files_left_behind(crew):
    crew.write("loop.org", LOOP % {"start": "a"})
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "20ms",
                            "LIFECYCLE": "loop.org"})])
    p = crew.start()
    wait_for(lambda: len(crew.closed("a")) >= 8, what="ticks")
    assert crew.stop(p) == 0
    for f in os.listdir(crew.data):
        assert not f.endswith((".tmp", "~")) and ".tmp" not in f, f
    state, hits = open(os.path.join(crew.data,
                                    "lifecycle-pos-a")).readline().split()
    assert state in ("a", "b", "r") and hits.isdigit()


# ---- §9 command line ----

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
                                 "check", "exec-def", "doctor"])
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
    man = open(os.path.join(os.path.dirname(__file__), "..", "..", "man",
                            "keeper.1")).read()
    for cmd in ("run", "run-once", "status", "history"):
        usage = crew.keeper(cmd, "--help").stdout
        for opt in ("--crew", "--data", "--json", "--limit", "--repo",
                    "--listen", "--def", "--lifecycle"):
            if opt in usage.split("\n\n")[0]:
                # every option the usage line shows, the man page shows
                assert opt.lstrip("-") in man, (cmd, opt)


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


# ---- §10 HTTP plane ----

def test_s10_endpoints_head_404_405(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h"})])
    p = crew.start()
    addr_file = os.path.join(crew.data, "http.addr")
    addr = wait_for(lambda: os.path.exists(addr_file) and
                    open(addr_file).read().strip(), what="http.addr")
    wait_for(lambda: crew.closed("a"), what="a tick")
    for path in ("/", "/_activity", "/_changes"):
        st, body = http_get(addr, path)
        assert st == 200, path
        st, hbody = http_get(addr, path, "HEAD")
        assert st == 200 and hbody == b"", path
    st, body = http_get(addr, "/_health")
    assert st in (200, 503)
    assert json.loads(body)["agents"]["a"] in ("ok", "late", "stale",
                                               "failing", "never")
    assert http_get(addr, "/missing")[0] == 404
    assert http_get(addr, "/_activity", "POST")[0] == 405
    act = json.loads(http_get(addr, "/_activity")[1])
    a = act["agents"][0]
    assert a["last_outcome"] == "done" and a["lifecycle"] is not None
    ch = json.loads(http_get(addr, "/_changes")[1])
    assert "commits" in ch and "keeper" in ch
    assert crew.stop(p) == 0


def test_s10_health_503_when_failing(crew):
    crew.write_crew([("bad", {"DEF": ok_def(crew, "f", "exit 1"),
                              "INTERVAL": "30ms"})])
    p = crew.start()
    addr_file = os.path.join(crew.data, "http.addr")
    addr = wait_for(lambda: os.path.exists(addr_file) and
                    open(addr_file).read().strip(), what="http.addr")

    def failing():
        st, body = http_get(addr, "/_health")
        return st == 503 and json.loads(body)["agents"]["bad"] == "failing"
    wait_for(failing, what="failing verdict")
    assert crew.stop(p) == 0


# ---- §11 redaction ----

BUILTINS = ["sk-abcdefghijklmnopqrstuvwx123456",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIAIOSFODNN7EXAMPLE",
            "Bearer eyJhbGciOiJIUzI1NiJ9.abcdefghijkl",
            "password=hunter2hunter2",
            "secret=s3cr3tvalue99",
            "token=tok123456789"]


def secret_part(s):
    return s.split("=", 1)[1] if "=" in s else s.split()[-1]


def test_s11_builtins_and_custom_redacted_everywhere(crew):
    lines = BUILTINS + ["house SEKRIT-77"]
    body = "".join("echo '::step::%s'; echo '::thought::%s'; echo '%s'\n"
                   % (l, l, l) for l in lines)
    crew.write("agents/leak.org", sh_def(body + "sleep 0.2"))
    crew.write("crew.org", "#+TITLE: t\n#+BOOT-GRACE: 0\n"
               "#+REDACT: SEKRIT-[0-9]+\n"
               "* leak\n:PROPERTIES:\n:DEF: agents/leak.org\n"
               ":INTERVAL: 1h\n:END:\n")
    p = crew.start()
    addr_file = os.path.join(crew.data, "http.addr")
    addr = wait_for(lambda: os.path.exists(addr_file) and
                    open(addr_file).read().strip(), what="http.addr")
    wait_for(lambda: crew.closed("leak"), what="the run")
    bodies = [http_get(addr, path)[1].decode()
              for path in ("/_activity", "/_changes", "/_health", "/")]
    hist = crew.keeper("history", "--data", crew.data, "--json").stdout
    crew.stop(p)
    bodies += [hist, crew.log(p)]
    assert "[REDACTED]" in hist
    for b in bodies:
        for s in lines:
            assert secret_part(s) not in b, (s, b[:2000])


# ---- more §3, §4, §5, §11 ----

def test_s5_rem_tick_takes_no_slot(crew):
    # CONCURRENCY 1, the slot held by a long run: a dream still happens.
    crew.write("agents/hog.org", sh_def(
        "touch %(r)s/hog; while [ ! -e %(r)s/release ]; do sleep 0.02; "
        "done; echo ok" % {"r": crew.root}))
    crew.write("loop.org", LOOP % {"start": "r"})
    crew.write_crew([("hog", {"DEF": "agents/hog.org", "INTERVAL": "1h"}),
                     ("dreamer", {"DEF": ok_def(crew), "INTERVAL": "1h",
                                  "LIFECYCLE": "loop.org"})],
                    concurrency=1)
    p = crew.start()
    try:
        wait_for(lambda: os.path.exists(crew.path("hog")), what="hog runs")
        wait_for(lambda: [r for r in crew.closed("dreamer")
                          if r["outcome"] == "dreamed"],
                 what="a dream while the only slot is taken")
        assert not crew.closed("hog")
    finally:
        crew.write("release", "")
    wait_for(lambda: crew.closed("hog"), what="hog ends")
    assert crew.stop(p) == 0


def test_s4_dream_row_has_the_counts(crew):
    lc_crew(crew, LOOP % {"start": "a"})
    for _ in range(4):          # a, a, b, then r dreams
        assert crew.run_once("w").returncode == 0
    row = crew.rows("w")[-1]
    assert row["outcome"] == "dreamed"
    words = dict(w.split("=", 1) for w in row["output_head"].split())
    assert words["runs"] == "3" and words["done"] == "3", row
    assert words["failed"] == "0" and words["commits"] == "0", row


def test_s3_removed_member_finishes_its_run(crew):
    crew.write("agents/slow.org", sh_def(
        "touch %(r)s/in; sleep 0.5; echo finished" % {"r": crew.root}))
    crew.write_crew([("keep", {"DEF": ok_def(crew), "INTERVAL": "1h"}),
                     ("gone", {"DEF": "agents/slow.org",
                               "INTERVAL": "50ms"})])
    p = crew.start()
    wait_for(lambda: os.path.exists(crew.path("in")), what="gone runs")
    crew.write_crew([("keep", {"DEF": ok_def(crew), "INTERVAL": "1h"})])
    wait_for(lambda: crew.closed("gone"), what="gone's run ends")
    n = len(crew.rows("gone"))
    # keep ticks on; gone never starts again
    crew.keeper("run-once", "keep", "--data", crew.data)
    assert crew.stop(p) == 0
    rows = crew.rows("gone")
    assert len(rows) == n == 1 and rows[0]["outcome"] == "done"


def test_s11_commit_messages_are_redacted(crew):
    crew.write("crew.org", "#+TITLE: t\n#+REPO: repo\n"
               "#+REDACT: SEKRIT-[0-9]+\n"
               "* c\n:PROPERTIES:\n:DEF: agents/c.org\n:END:\n")
    crew.write("agents/c.org", sh_def(
        "date > f.txt; echo 'wrote with SEKRIT-99'; "
        "echo 'token=abcdef123456'"))
    assert crew.run_once("c").returncode == 0
    msg = subprocess.run(["git", "-C", crew.repo, "log", "-1",
                          "--format=%B"], capture_output=True,
                         text=True).stdout
    assert msg.startswith("c: wrote with [REDACTED]"), msg
    assert "SEKRIT-99" not in msg and "abcdef123456" not in msg
