"""SPEC §8, the data directory: where it is (--data, KEEPER_DATA, the XDG
default) and where it may not be, its files (last-run, lifecycle-pos,
keeper.db with one row per tick, http.addr, keeper.sock), one daemon per
directory, and state files replaced atomically."""
import json
import os
import sqlite3
import stat as statmod
import subprocess

from conftest import KEEPER, SHORT_LOOP, http_get, ok_def, sh_def, wait_for


def last_row(crew, agent):
    rows = crew.rows(agent)
    return rows[-1] if rows else None


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
    addr = crew.http_addr()
    host, port = addr.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    st, _, body = http_get(addr, "/_activity")
    assert st == 200 and json.loads(body)["agents"][0]["name"] == "a"
    assert statmod.S_ISSOCK(os.stat(os.path.join(crew.data,
                                                 "keeper.sock")).st_mode)
    assert crew.stop(p) == 0


def test_s8_no_temp_files_left_behind(crew):
    crew.write("loop.org", SHORT_LOOP % {"start": "a"})
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
    p = crew.start_run("--crew", crew.crew, "--data", inside, "--listen",
                       "127.0.0.1:0", data=inside)
    assert crew.stop(p, timeout=10) == 0


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
