"""SPEC §3, the crew manifest: members and what disables or skips one,
file keywords and their defaults, relative paths, the manifest re-read on
every change (added, removed, changed, broken: the last good one keeps
running), and singleton mode (--def)."""
import json
import os
import subprocess
import time

from conftest import SHORT_LOOP, ok_def, sh_def, wait_for


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
    crew.write("loop.org", SHORT_LOOP % {"start": "b"})
    p = crew.start_run("--def", crew.path("agents/s.org"),
                       "--lifecycle", crew.path("loop.org"),
                       "--interval", "1h", "--repo", crew.repo,
                       "--data", crew.data, "--listen", "127.0.0.1:0")
    for want in ("done", "dreamed"):
        r = crew.keeper("run-once", "--def", crew.path("agents/s.org"),
                        "--lifecycle", crew.path("loop.org"),
                        "--data", crew.data)
        assert r.returncode == 0, r.stdout + r.stderr
        assert crew.rows()[-1]["outcome"] == want
        assert crew.rows()[-1]["daemon_pid"] == p.pid
    assert crew.stop(p) == 0
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
    p = crew.start_run("--def", crew.path("agents/s.org"),
                       "--boot-grace", "0", "--interval", "300ms",
                       "--repo", crew.repo, "--data", crew.data,
                       "--listen", "127.0.0.1:0")
    wait_for(lambda: len([r for r in crew.rows()
                          if r["outcome"] == "done"]) >= 2,
             what="two scheduled ticks of the singleton")
    assert crew.stop(p) == 0
    rows = [r for r in crew.rows() if r["outcome"] == "done"]
    assert all(r["trigger"] == "schedule" for r in rows), rows
    assert rows[1]["scheduled"] - rows[0]["scheduled"] >= 300, rows


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
    # due to due (SPEC 5's fixed cadence)
    gaps = [y["scheduled"] - x["scheduled"] for x, y in zip(rows, rows[1:])]
    assert gaps[0] >= 300 and 40 <= gaps[-1] < 290, gaps


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


def test_hot_edit_adds_and_removes(crew):
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("a", {"DEF": "agents/ok.org", "INTERVAL": "50ms"}),
                     ("b", {"DEF": "agents/ok.org", "INTERVAL": "50ms"})])
    d = crew.start()
    wait_for(lambda: crew.closed("a") and crew.closed("b"), what="a and b")
    crew.write_crew([("a", {"DEF": "agents/ok.org", "INTERVAL": "50ms"}),
                     ("c", {"DEF": "agents/ok.org", "INTERVAL": "50ms"})])
    wait_for(lambda: crew.closed("c"), what="c added")
    nb = len(crew.rows("b"))
    na = len(crew.closed("a"))
    wait_for(lambda: len(crew.closed("a")) >= na + 3, what="a goes on")
    assert len(crew.rows("b")) == nb
    st = crew.keeper("status", "--data", crew.data, "--json")
    assert st.returncode == 0, st.stderr
    assert '"name": "c"' in st.stdout and '"name": "b"' not in st.stdout
    assert crew.stop(d) == 0


def test_in_place_save_is_read_once_settled(crew):
    # An editor that truncates and rewrites crew.org in place leaves it
    # half written for a moment; the daemon must not act on that moment
    # (member a would be removed and re-added).
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("a", {"DEF": "agents/ok.org", "INTERVAL": "1h"})])
    d = crew.start()
    wait_for(lambda: crew.closed("a"), what="a ran")
    with open(crew.crew) as f:
        old = f.read()
    full = old + "* b\n:PROPERTIES:\n:DEF: agents/ok.org\n:INTERVAL: 1h\n:END:\n"
    with open(crew.crew, "r+") as f:
        f.truncate(0)
        f.write(full[:20])          # keywords only: no member at all
        f.flush()
        os.fsync(f.fileno())
        time.sleep(0.03)            # the editor's gap between two writes
        f.write(full[20:])
    wait_for(lambda: crew.closed("b"), what="b added")
    log = crew.log(d)
    assert "agent=b event=added" in log
    assert "agent=a event=removed" not in log, log
    assert crew.stop(d) == 0


def test_broken_manifest_keeps_the_last_good(crew):
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("a", {"DEF": "agents/ok.org", "INTERVAL": "50ms"})])
    d = crew.start()
    wait_for(lambda: crew.closed("a"), what="a ticks")
    crew.write_crew([("a", {"DEF": "agents/ok.org", "INTERVAL": "bogus"})])
    wait_for(lambda: crew.rows("(crew)"), what="the manifest error row")
    err = crew.rows("(crew)")[0]
    assert err["outcome"] == "error"
    assert "crew.org:" in err["error"], err["error"]
    n = len(crew.closed("a"))
    wait_for(lambda: len(crew.closed("a")) >= n + 3, what="a keeps ticking")
    st = crew.keeper("status", "--data", crew.data, "--json")
    assert "crew.org:" in st.stdout
    assert crew.stop(d) == 0
    assert "manifest-error" in crew.log(d)
