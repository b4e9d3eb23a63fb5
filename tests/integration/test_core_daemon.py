"""The daemon against the real binary: crash recovery, timeouts, the gate,
backoff, hot reload, drain, the lock (SPEC §3, §5, §6, §8, §9)."""
import os
import signal
import subprocess
import time

from conftest import KEEPER, pid_alive, sh_def, wait_for


def test_kill9_mid_run_then_restart(crew):
    # The run leaves its pid and a backgrounded grandchild's, then sleeps.
    crew.write("agents/slow.org", sh_def(
        "sleep 60 & echo $! > %(r)s/gc.pid\n"
        "echo $$ > %(r)s/run.pid.tmp; mv %(r)s/run.pid.tmp %(r)s/run.pid\n"
        "sleep 60" % {"r": crew.root}))
    crew.write_crew([("slow", {"DEF": "agents/slow.org",
                               "INTERVAL": "3s"})])
    d = crew.start()
    wait_for(lambda: os.path.exists(crew.path("run.pid")), what="run")
    run_pid = int(open(crew.path("run.pid")).read())
    gc_pid = int(open(crew.path("gc.pid")).read())
    assert pid_alive(run_pid) and pid_alive(gc_pid)
    lr = os.path.join(crew.data, "keeper-last-run-slow")
    wait_for(lambda: os.path.exists(lr), what="last-run written")
    last_run = float(open(lr).read())
    os.kill(d.pid, signal.SIGKILL)
    d.wait()
    assert pid_alive(run_pid)          # the crash itself kills nothing
    os.unlink(crew.path("run.pid"))
    d2 = crew.start()
    wait_for(lambda: not pid_alive(run_pid) and not pid_alive(gc_pid),
             what="leftovers killed at boot")
    wait_for(lambda: crew.rows("slow")[0]["outcome"] == "interrupted",
             what="the open row marked interrupted")
    assert crew.rows("slow")[0]["ended"] is not None
    # cadence resumes from last-run: the next tick is due 3 s after it,
    # not at once and not 3 s after the restart
    wait_for(lambda: len(crew.rows("slow")) >= 2, timeout=10,
             what="the resumed tick")
    due = crew.rows("slow")[1]["scheduled"]
    assert abs(due - last_run * 1000 - 3000) < 50, (due, last_run)
    assert crew.stop(d2, signal.SIGKILL) == -signal.SIGKILL


def test_timeout_kills_the_whole_tree(crew):
    crew.write("agents/hang.org", sh_def(
        "sleep 60 & echo $! > %(r)s/gc1.pid\n"
        "setsid sleep 61 & echo $! > %(r)s/gc2.pid\n"
        "(sleep 62 & echo $! > %(r)s/gc3.pid) \n"
        "echo started\nsleep 60" % {"r": crew.root}))
    crew.write_crew([("hang", {"DEF": "agents/hang.org", "TIMEOUT": "700ms",
                               "INTERVAL": "1h"})])
    t0 = time.monotonic()
    r = crew.run_once("hang")
    assert r.returncode == 124, (r.stdout, r.stderr)
    assert time.monotonic() - t0 < 30
    pids = [int(open(crew.path("gc%d.pid" % i)).read()) for i in (1, 2, 3)]
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=5,
             what="no survivor of the run")
    row = crew.rows("hang")[-1]
    assert row["outcome"] == "killed"
    assert row["started"] and row["duration_ms"] >= 700


def test_gate_never_exceeds_concurrency(crew):
    running = crew.path("running")
    os.makedirs(running)
    body = ("touch %(d)s/$KEEPER_AGENT; n=$(ls %(d)s | wc -l); "
            "echo $n >> %(r)s/counts; sleep 0.3; rm %(d)s/$KEEPER_AGENT; "
            "echo ok" % {"d": running, "r": crew.root})
    crew.write("agents/busy.org", sh_def(body))
    crew.write_crew([("a%d" % i, {"DEF": "agents/busy.org",
                                  "INTERVAL": "10ms"}) for i in range(4)],
                    concurrency=2)
    d = crew.start()
    wait_for(lambda: all(len(crew.closed("a%d" % i)) >= 2
                         for i in range(4)), timeout=20,
             what="every agent ran twice")
    assert crew.stop(d) == 0
    counts = [int(x) for x in open(crew.path("counts")).read().split()]
    assert max(counts) <= 2, counts
    assert max(counts) == 2, counts     # the gate did let two through
    # started is after the gate wait: some ticks waited
    rows = crew.closed()
    assert any(r["started"] - r["scheduled"] > 100 for r in rows)


def test_idle_backoff_doubles_to_cap(crew):
    crew.write("agents/idle.org", sh_def("echo NO-WORK"))
    crew.write_crew([("idle", {"DEF": "agents/idle.org",
                               "INTERVAL": "20ms"})],
                    backoff_base="100ms", backoff_cap="400ms")
    d = crew.start()
    wait_for(lambda: len(crew.closed("idle")) >= 6, timeout=20,
             what="six idle ticks")
    crew.stop(d)
    rows = crew.closed("idle")
    gaps = [b["scheduled"] - a["ended"] for a, b in zip(rows, rows[1:])]
    want = [100, 200, 400, 400, 400]
    for g, w in zip(gaps, want):
        assert w - 2 <= g < w * 1.5, (gaps, want)
    assert all(r["outcome"] == "no_work" for r in rows)


def test_done_resets_the_streak(crew):
    crew.write("flip", "")
    crew.write("agents/flip.org", sh_def(
        "if [ -s %(r)s/flip ]; then echo did; else echo NO-WORK; fi"
        % {"r": crew.root}))
    crew.write_crew([("f", {"DEF": "agents/flip.org", "INTERVAL": "20ms"})],
                    backoff_base="150ms", backoff_cap="300ms")
    d = crew.start()
    wait_for(lambda: len(crew.closed("f")) >= 3, what="idle ticks")
    crew.write("flip", "x")
    wait_for(lambda: any(r["outcome"] == "done" for r in crew.closed("f")),
             what="a done tick")
    wait_for(lambda: len(crew.closed("f")) >= 6, what="more ticks")
    crew.stop(d)
    rows = crew.closed("f")
    i = [r["outcome"] for r in rows].index("done")
    gap = rows[i + 1]["scheduled"] - rows[i]["ended"]
    assert gap < 100, gap        # back to the 20ms base


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


def test_sigterm_drains_and_exits_zero(crew):
    crew.write("agents/work.org", sh_def(
        "touch %(r)s/began; sleep 0.5; touch %(r)s/finished; echo done"
        % {"r": crew.root}))
    crew.write_crew([("w", {"DEF": "agents/work.org", "INTERVAL": "1h"})])
    d = crew.start()
    wait_for(lambda: os.path.exists(crew.path("began")), what="run began")
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0
    assert os.path.exists(crew.path("finished"))
    rows = crew.rows("w")
    assert [r["outcome"] for r in rows] == ["done"]
    assert not os.path.exists(os.path.join(crew.data, "keeper.sock"))


def test_second_daemon_refuses(crew):
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("a", {"DEF": "agents/ok.org", "INTERVAL": "1h"})])
    d = crew.start()
    r = subprocess.run([KEEPER, "run", "--crew", crew.crew, "--repo",
                        crew.repo, "--data", crew.data, "--listen",
                        "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 75, r.stderr
    assert str(d.pid) in r.stderr
    assert d.poll() is None
    assert crew.stop(d) == 0


def test_run_once_through_the_daemon(crew):
    crew.write("agents/slowish.org", sh_def(
        "touch %(r)s/in-run; sleep 0.6; echo hello" % {"r": crew.root}))
    crew.write_crew([("s", {"DEF": "agents/slowish.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    d = crew.start()
    first = subprocess.Popen([KEEPER, "run-once", "s", "--data", crew.data],
                             stdout=subprocess.PIPE, text=True)
    wait_for(lambda: os.path.exists(crew.path("in-run")), what="run began")
    r = crew.keeper("run-once", "s", "--data", crew.data)
    assert r.returncode == 75, (r.stdout, r.stderr)
    out, _ = first.communicate(timeout=15)
    assert first.returncode == 0, out
    assert "s: done" in out
    rows = crew.closed("s")
    assert len(rows) == 1 and rows[0]["trigger"] == "run-once"
    assert rows[0]["daemon_pid"] == d.pid
    assert crew.stop(d) == 0


def test_data_dir_inside_work_tree_refused(crew):
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("a", {"DEF": "agents/ok.org"})], repo="repo")
    inside = os.path.join(crew.repo, "state")
    r = crew.keeper("run", "--crew", crew.crew, "--data", inside,
                    timeout=10)
    assert r.returncode == 65, r.stderr
    assert "work tree" in r.stderr
    with open(os.path.join(crew.repo, ".gitignore"), "w") as f:
        f.write("state/\n")
    # Port 0: the default 127.0.0.1:8080 may be taken on a developer's
    # machine (make run), which would fail the start for another reason.
    p = subprocess.Popen([KEEPER, "run", "--crew", crew.crew, "--data",
                          inside, "--listen", "127.0.0.1:0"],
                         stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(os.path.join(inside, "keeper.sock"))
             or p.poll() is not None,
             what="daemon with an ignored data dir")
    assert p.poll() is None, "the daemon exited %s" % p.returncode
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 0


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


def test_secrets_are_redacted_in_history(crew):
    crew.write("agents/leak.org", sh_def(
        "echo token=hunter2hunter2; echo 'private: SEKRIT-42'"))
    crew.write("crew.org", "#+TITLE: t\n#+REDACT: SEKRIT-[0-9]+\n"
               "* leak\n:PROPERTIES:\n:DEF: agents/leak.org\n:END:\n")
    r = crew.run_once("leak")
    assert r.returncode == 0, r.stderr
    head = crew.rows("leak")[-1]["output_head"]
    assert "hunter2" not in head and "SEKRIT-42" not in head
    assert "[REDACTED]" in head


def test_client_hanging_up_mid_run_once_is_harmless(crew):
    import socket
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
        return r.returncode == 0 and [a["name"] for a in
                                      __import__("json").loads(
                                          r.stdout)["agents"]] == ["b"]
    wait_for(names, what="b replaces a after SIGHUP")
    assert crew.stop(d) == 0


def test_drain_ends_queued_ticks_without_running_them(crew):
    import json
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
    d.send_signal(signal.SIGTERM)
    assert d.wait(timeout=15) == 0
    outs = sorted(r["outcome"] for r in crew.rows())
    assert outs == ["done", "interrupted", "interrupted"], outs
    assert len(open(crew.path("ran")).read().split()) == 1
    for r in crew.rows():
        if r["outcome"] == "interrupted":
            assert r["started"] is None and "gate" in r["error"]


def test_history_wal_is_checkpointed(crew):
    # Busy agents fill keeper.db's WAL past its checkpoint threshold
    # (1000 pages); the checkpoint must move the rows into keeper.db and
    # let the WAL start over instead of growing for as long as the
    # daemon lives. (A checkpoint on a fresh connection used to be a
    # silent no-op.)
    crew.write("agents/chatty.org", sh_def("printf '%03000d' 7"))
    crew.write_crew([("c%d" % i, {"DEF": "agents/chatty.org",
                                  "INTERVAL": "1ms"}) for i in range(4)],
                    concurrency=2)
    db = os.path.join(crew.data, "keeper.db")
    wal = db + "-wal"
    d = crew.start()
    size = lambda p: os.path.getsize(p) if os.path.exists(p) else 0
    start = size(db)
    wait_for(lambda: size(wal) > 4096 * 1000, timeout=120,
             what="the WAL past its threshold")
    wait_for(lambda: size(db) > start + 2 * 1024 * 1024, timeout=60,
             what="rows checkpointed into keeper.db")
    # Twice as many rows again: the WAL was reused, not grown by them.
    n = len(crew.closed())
    wait_for(lambda: len(crew.closed()) >= 2 * n, timeout=120,
             what="more ticks")
    assert size(wal) < 4 * 4096 * 1000, size(wal)
    assert crew.stop(d) == 0


def cadence_rows(crew, cadence):
    crew.write("agents/slow.org", sh_def("sleep 0.3"))
    kw = {} if cadence is None else {"cadence": cadence}
    crew.write_crew([("slow", {"DEF": "agents/slow.org",
                               "INTERVAL": "500ms"})], **kw)
    d = crew.start()
    wait_for(lambda: len(crew.closed("slow")) >= 4, timeout=20,
             what="four ticks")
    assert crew.stop(d) == 0
    return crew.closed("slow")[:4]


def test_cadence_counts_from_the_end_of_a_tick(crew):
    """SPEC 5: the next tick is due INTERVAL after the previous one ended,
    so a 300 ms run with a 500 ms interval ticks every 800 ms or so."""
    rows = cadence_rows(crew, None)
    for a, b in zip(rows, rows[1:]):
        assert b["scheduled"] >= a["ended"] + 500, (a, b)


def test_cadence_fixed_counts_from_the_due_time(crew):
    """#+CADENCE: fixed (keeper-crew(5)): due INTERVAL after the previous
    tick was due, however long it took: exactly 500 ms apart."""
    rows = cadence_rows(crew, "fixed")
    for a, b in zip(rows, rows[1:]):
        assert b["scheduled"] - a["scheduled"] == 500, (a, b)
        assert a["ended"] - a["started"] >= 300
