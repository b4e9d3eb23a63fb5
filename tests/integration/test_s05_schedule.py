"""SPEC §5, scheduling: the last-run file, the first tick after boot
(BOOT-GRACE, STAGGER), the next delay after each outcome (base, BREATHER,
NO-WORK backoff to its cap), cadence (fixed, after), the CONCURRENCY gate,
and one tick per agent at a time. (§5a calendar time and §5b the
operator's hands go in test_s05a_*.py and test_s05b_*.py.)"""
import os
import subprocess
import time

import pytest

from conftest import KEEPER, SHORT_LOOP, ok_def, sh_def, wait_for


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
    # base, not a backoff (the fixed cadence: from when the last was due)
    for x, y in zip(rows, rows[1:]):
        assert 100 <= y["scheduled"] - x["scheduled"] < 1000


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


def test_s5_rem_tick_takes_no_slot(crew):
    # CONCURRENCY 1, the slot held by a long run: a dream still happens.
    crew.write("agents/hog.org", sh_def(
        "touch %(r)s/hog; while [ ! -e %(r)s/release ]; do sleep 0.02; "
        "done; echo ok" % {"r": crew.root}))
    crew.write("loop.org", SHORT_LOOP % {"start": "r"})
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
    # due to due (the fixed cadence; each run takes a few ms of its delay)
    gaps = [b["scheduled"] - a["scheduled"] for a, b in zip(rows, rows[1:])]
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


def test_cadence_after_counts_from_the_end_of_a_tick(crew):
    """SPEC 5, #+CADENCE: after: the next tick is due INTERVAL after the
    previous one ended, so a 300 ms run with a 500 ms interval ticks every
    800 ms or so."""
    rows = cadence_rows(crew, "after")
    for a, b in zip(rows, rows[1:]):
        assert b["scheduled"] >= a["ended"] + 500, (a, b)


@pytest.mark.parametrize("cadence", ["fixed", None])
def test_cadence_fixed_counts_from_the_due_time(crew, cadence):
    """#+CADENCE: fixed, SPEC 5's default: due INTERVAL after the previous
    tick was due, however long it took: exactly 500 ms apart."""
    rows = cadence_rows(crew, cadence)
    for a, b in zip(rows, rows[1:]):
        assert b["scheduled"] - a["scheduled"] == 500, (a, b)
        assert a["ended"] - a["started"] >= 300
