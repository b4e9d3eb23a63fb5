"""keeper(1) FAILURE MODES: the faults a hostile tester found (issue 20),
each reproduced as it was found, and what keeper now does about it.

Each test drives the real binary into the fault (a second daemon, a
clock that ran ahead, ...) and checks that keeper detects it, says so in
words and survives; each failed before its fix.
"""
import http.server
import json
import os
import shutil
import socket
import sqlite3
import subprocess

import pytest

from conftest import (KEEPER, git, http_server, human_commit, sh_def,
                      wait_for)


def test_second_daemon_on_the_same_work_tree_is_refused(crew):
    """Two daemons with their own data directories and one tenant repo
    committed each other's half-written files; the second must refuse to
    start, naming the first."""
    crew.write("a.org", sh_def("echo hi > out.txt"))
    crew.write_crew([("a", {"DEF": "a.org", "INTERVAL": "1h"})])
    first = crew.start()
    other = crew.path("data2")
    r = subprocess.run([KEEPER, "run", "--crew", crew.crew, "--repo",
                        crew.repo, "--data", other, "--listen",
                        "127.0.0.1:0"], capture_output=True, text=True,
                       timeout=20, cwd=crew.root)
    assert r.returncode == 75, r.stderr
    assert "in use by keeper pid %d" % first.pid in r.stderr, r.stderr
    assert crew.data in r.stderr
    # run-once on the other data directory is refused the same way
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--data", other,
                    "--repo", crew.repo)
    assert r.returncode == 75, r.stderr
    assert "in use by keeper pid %d" % first.pid in r.stderr
    assert crew.stop(first) == 0
    # once the first is gone, the work tree is free again
    r = crew.keeper("run-once", "a", "--crew", crew.crew, "--data", other,
                    "--repo", crew.repo)
    assert r.returncode == 0, r.stdout + r.stderr


def test_run_ids_do_not_repeat_after_the_history_is_reset(crew):
    """A reset keeper.db numbered runs from 1 again, so the next killed
    or failed run's partial ref already existed and its work was
    recorded nowhere. Run ids are unique for the life of the repo."""
    crew.write("a.org", sh_def("echo $KEEPER_RUN_ID >> work.txt; exit 1"))
    crew.write_crew([("a", {"DEF": "a.org", "INTERVAL": "1h"})],
                    repo=crew.repo)
    r = crew.run_once("a")
    assert r.returncode == 1, r.stdout + r.stderr
    first = crew.closed("a")[-1]["id"]
    refs = subprocess.run(["git", "-C", crew.repo, "for-each-ref",
                           "--format=%(refname)", "refs/keeper/partial/"],
                          capture_output=True, text=True).stdout.split()
    assert refs == ["refs/keeper/partial/a/%d" % first]
    for f in ("keeper.db", "keeper.db-wal", "keeper.db-shm"):
        if os.path.exists(os.path.join(crew.data, f)):
            os.unlink(os.path.join(crew.data, f))
    r = crew.run_once("a")
    assert r.returncode == 1, r.stdout + r.stderr
    row = crew.closed("a")[-1]
    assert row["id"] > first, row
    assert "already exists" not in (row["error"] or ""), row
    refs = subprocess.run(["git", "-C", crew.repo, "for-each-ref",
                           "--format=%(refname)", "refs/keeper/partial/"],
                          capture_output=True, text=True).stdout.split()
    assert "refs/keeper/partial/a/%d" % row["id"] in refs, refs


LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def faketime_env(offset):
    """The environment that runs a program under libfaketime with the
    clock moved by offset ("+1d"), preloaded directly so the daemon is
    the process the test signals."""
    if not os.path.exists(LIBFAKETIME):
        pytest.fail("%s is missing: install the Debian package faketime "
                    "(it is in .ci/deps)" % LIBFAKETIME, pytrace=False)
    env = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME": offset,
           "FAKETIME_DONT_RESET": "1"}
    # Under the sanitizer suite the ASan runtime is asked to come first;
    # a preloaded library comes before it, which is fine here.
    if "ASAN_OPTIONS" in os.environ:
        env["ASAN_OPTIONS"] = (os.environ["ASAN_OPTIONS"] +
                               ":verify_asan_link_order=0")
    return env


def faketime_start(crew, offset, *extra):
    """The daemon on crew with its clock moved by offset."""
    return crew.start(*extra, env=faketime_env(offset))


REST_LOOP = """#+START: rest
* rest
:PROPERTIES:
:KIND: rem
:NEXT: rest
:MIN-INTERVAL: 2s
:END:
"""


def test_future_lifecycle_times_do_not_gate_for_a_day(crew):
    """A keeper run a day ahead (faketime +1d) left its last dream in the
    future: every MIN-INTERVAL state was gated on every tick for a day,
    health ok, nothing said. The time counts as now: the gate waits its
    interval, and the log says the clock went back."""
    crew.write("loop.org", REST_LOOP)
    crew.member("a", "true", interval="200ms", lifecycle="loop.org")
    crew.write_crew()
    p = faketime_start(crew, "+1d")
    wait_for(lambda: any(r["outcome"] == "dreamed" for r in crew.rows("a")),
             what="a dream a day ahead")
    assert crew.stop(p) == 0
    before = len([r for r in crew.rows("a") if r["outcome"] == "dreamed"])
    crew.start()
    # Gated for at most MIN-INTERVAL (2 s) from the restart, then dreams.
    wait_for(lambda: len([r for r in crew.rows("a")
                          if r["outcome"] == "dreamed"]) > before,
             timeout=15, what="a dream after the clock came back")
    assert "event=clock-back" in crew.log()


def corrupt(path, offset, length):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(os.urandom(length))


def test_corrupt_history_is_moved_aside(crew):
    """Random bytes over keeper.db's first 4 KiB: keeper run exited 1
    ('file is not a database'), doctor said all good, status showed blank
    columns. Now doctor finds it, history and status say so, and the
    daemon moves it aside, starts a new history and says so loudly."""
    crew.member("a", "echo ok")
    crew.write_crew()
    for _ in range(2):
        assert crew.run_once("a").returncode == 0
    db = os.path.join(crew.data, "keeper.db")
    corrupt(db, 0, 4096)
    r = crew.keeper("doctor", "--crew", crew.crew, "--data", crew.data,
                    "--repo", crew.repo, "--listen", "127.0.0.1:0")
    assert r.returncode == 1
    assert any(l.startswith("problem: history") and "corrupt" in l
               for l in r.stdout.splitlines()), r.stdout
    r = crew.keeper("history", "--data", crew.data)
    assert r.returncode == 1 and "corrupt" in r.stderr, r.stderr
    r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data)
    assert r.returncode == 1 and "history cannot be read" in r.stderr
    assert "a " in r.stdout           # the state files still speak
    crew.start()
    assert "event=history-reset" in crew.log()
    aside = [f for f in os.listdir(crew.data)
             if f.startswith("keeper.db.corrupt-")]
    assert len(aside) == 1, os.listdir(crew.data)
    status, _, body = crew.get("/_health")
    health = json.loads(body)
    assert "moved to" in health["notice"], health
    rows = crew.rows()
    assert rows[0]["agent"] == "(keeper)" and rows[0]["outcome"] == "error"
    assert "corrupt" in rows[0]["error"]
    assert crew.keeper("run-once", "a", "--data",
                       crew.data).returncode == 0
    assert crew.closed("a")[-1]["outcome"] == "done"
    r = crew.keeper("doctor", "--crew", crew.crew, "--data", crew.data,
                    "--repo", crew.repo, "--listen", "127.0.0.1:0")
    assert "note: an earlier damaged history was moved aside" in r.stdout


def test_corrupt_page_in_the_runs_table(crew):
    """A damaged page in the runs table: history writes failed with only
    a warning and `keeper history` exited 1 without a message."""
    crew.member("a", "echo ok")
    crew.write_crew()
    assert crew.run_once("a").returncode == 0
    db = os.path.join(crew.data, "keeper.db")
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO runs (agent, outcome, output_head) "
                    "VALUES ('a', 'done', ?)", [("x" * 200,)] * 2000)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = os.path.getsize(db)
    corrupt(db, size // 2 // 4096 * 4096, 4096)
    r = crew.keeper("history", "--data", crew.data, "--limit", "100000")
    assert r.returncode == 1 and "damaged" in r.stderr, r.stderr
    crew.start()
    assert "event=history-reset" in crew.log()
    assert crew.keeper("run-once", "a", "--data",
                       crew.data).returncode == 0
    r = crew.keeper("history", "--data", crew.data, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["outcome"] == "done"


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                    "tmpfs", path], check=True)


def fill(path):
    """Write zeros into path until the disk holding it is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


@pytest.fixture
def small_data(crew):
    """crew's data directory on a 1 MiB tmpfs of its own."""
    mount_tmpfs(crew.data, "1m")
    yield crew.data
    subprocess.run(["umount", "-l", crew.data])


def test_full_disk_at_boot_says_so(crew, small_data):
    """A full disk at boot said 'disk I/O error'; say the disk is full,
    and which one."""
    crew.member("a", "echo ok")
    crew.write_crew()
    with open(os.path.join(small_data, "keeper.lock"), "w") as f:
        f.write("0\n")
    fill(os.path.join(small_data, "filler"))
    r = crew.keeper("run", "--crew", crew.crew, "--repo", crew.repo,
                    "--data", small_data, "--listen", "127.0.0.1:0")
    assert r.returncode != 0
    assert "the disk holding %s is full" % small_data in r.stderr, r.stderr


def test_full_disk_makes_health_fail_and_recovers(crew, small_data):
    """With the data directory's disk full, ticks left no history row,
    one row stayed running, and /_health said ok. Now the history's
    failure is the crew's (503, with why and the rows that wait, one
    alert), and once there is room the rows are written and it
    recovers."""
    got = []

    class Rx(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers["Content-Length"])
            got.append(json.loads(self.rfile.read(n)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    crew.member("a", "echo ok", interval="100ms")
    crew.write_crew()
    with http_server(Rx) as srv:
        url = "http://127.0.0.1:%d/" % srv.server_port
        crew.start(env={"KEEPER_ALERT_URL": url})
        wait_for(lambda: len(crew.closed("a")) >= 3, what="some runs")
        fill(os.path.join(small_data, "filler"))
        status = wait_for(lambda: (lambda h: h if h[0] == 503 else None)(
            crew.get("/_health")), timeout=20, what="health 503")
        health = json.loads(status[2])
        assert health["status"] == "degraded"
        assert "full" in health["history"]["error"], health
        wait_for(lambda: any(a["agent"] == "(history)" and
                             a["to"] == "failing" for a in got),
                 what="the failing alert")
        waiting = wait_for(lambda: json.loads(crew.get("/_health")[2])
                           .get("history", {}).get("waiting", 0) >= 2,
                           what="rows waiting")
        assert waiting
        os.unlink(os.path.join(small_data, "filler"))
        wait_for(lambda: crew.get("/_health")[0] == 200, timeout=20,
                 what="health back to 200")
        wait_for(lambda: any(a["agent"] == "(history)" and a["to"] == "ok"
                             for a in got), what="the recovery alert")
    assert len([a for a in got if a["agent"] == "(history)" and
                a["to"] == "failing"]) == 1
    assert crew.stop() == 0
    # nothing stayed open, and the runs made while the disk was full are
    # there (their ids run on without a gap of lost rows)
    rows = crew.rows("a")
    assert all(r["outcome"] is not None for r in rows), rows[-3:]
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids)


def test_commits_that_keep_failing_reach_health(crew):
    """With .git/index.lock held, commits failed for minutes and
    /_health said 200 ok. Three runs in a row whose work cannot be
    committed make the agent failing, with git's words, and it recovers
    when the lock goes."""
    crew.member("a", "date +%N > out.txt", interval="100ms")
    crew.write_crew()
    lock = os.path.join(crew.repo, ".git", "index.lock")
    open(lock, "w").close()
    crew.start()
    h = wait_for(lambda: (lambda h: h if h["agents"].get("a") == "failing"
                          else None)(json.loads(crew.get("/_health")[2])),
                 timeout=20, what="failing from commits")
    assert crew.get("/_health")[0] == 503
    assert "index.lock" in h["why"]["a"], h
    os.unlink(lock)
    wait_for(lambda: crew.get("/_health")[0] == 200, timeout=20,
             what="recovered")
    assert crew.stop() == 0


def test_repo_moved_away_blames_the_repo(crew):
    """The tenant repo moved away: 'cannot start …/keeper-exec: No such
    file or directory' blamed the interpreter, which is there."""
    crew.member("a", "echo ok", interval="100ms")
    crew.write_crew()
    crew.start()
    wait_for(lambda: crew.closed("a"), what="a first run")
    shutil.move(crew.repo, crew.repo + ".moved")
    row = wait_for(lambda: next((r for r in crew.closed("a")
                                 if r["outcome"] == "failed"), None),
                   what="a run that cannot start")
    assert "tenant repository" in row["error"] and "gone" in row["error"]
    assert "keeper-exec" not in row["error"], row["error"]


def paths_in(repo, rev):
    return git(repo, "ls-tree", "-r", "--name-only", rev).split("\n")


def test_data_dir_never_committed_when_gitignore_changes(crew):
    """Started with .state/ ignored, then `echo other > .gitignore`:
    keeper.db, its -wal and -shm, keeper.lock and the last-run files
    were committed on every tick. keeper's own files are never recorded,
    in a commit or on a partial ref, whatever .gitignore says later."""
    data = os.path.join(crew.repo, ".state")
    human_commit(crew.repo, ".gitignore", ".state/\n")
    crew.member("a", "date +%N > out.txt", interval="100ms")
    crew.member("b", "date +%N > half.txt; exit 1", interval="100ms")
    crew.write_crew()
    crew.start_run("--crew", crew.crew, "--repo", crew.repo, "--data",
                   data, "--listen", "127.0.0.1:0", data=data)
    crew.data = data
    wait_for(lambda: any(r["commit_id"] for r in crew.closed("a")),
             what="a first commit")
    with open(os.path.join(crew.repo, ".gitignore"), "w") as f:
        f.write("other\n")
    # git now sees the data directory: it is not ignored any more
    assert ".state/" in git(crew.repo, "status", "--porcelain",
                            "--untracked-files=normal")
    since = max(r["id"] for r in crew.rows())
    wait_for(lambda: len([r for r in crew.closed("a") if r["id"] > since
                          and r["commit_id"]]) >= 3 and
             len([r for r in crew.closed("b") if r["id"] > since and
                  "partial" in (r["error"] or "")]) >= 2,
             timeout=30, what="commits and partial refs after the change")
    assert crew.stop() == 0
    for line in git(crew.repo, "log", "--all", "--name-only",
                    "--format=").split("\n"):
        assert not line.startswith(".state/"), line
    assert "out.txt" in paths_in(crew.repo, "HEAD")
    rows = [r for r in crew.closed("a") if r["id"] > since and
            r["commit_id"]]
    assert any("data directory left out" in r["git"] for r in rows), rows
    refs = git(crew.repo, "for-each-ref", "--format=%(refname)",
               "refs/keeper/partial/b/").split("\n")
    assert refs and refs[0], refs
    for ref in refs:
        assert not any(p.startswith(".state/")
                       for p in paths_in(crew.repo, ref)), ref


def test_repo_replaced_by_a_plain_directory_says_so(crew):
    """The tenant repo replaced by a plain directory said `cannot open
    '…/.git/keeper-op'`; say it is not a git repository."""
    crew.member("a", "date +%N > out.txt", interval="100ms")
    crew.write_crew()
    crew.start()
    wait_for(lambda: any(r["commit_id"] for r in crew.closed("a")),
             what="a first commit")
    shutil.move(crew.repo, crew.repo + ".old")
    os.makedirs(crew.repo)
    since = max(r["id"] for r in crew.rows())
    row = wait_for(lambda: next((r for r in crew.closed("a")
                                 if r["id"] > since and r["git"] and
                                 "failed" in r["git"]), None),
                   what="a commit that cannot be made")
    assert "is not a git repository" in row["git"], row["git"]
    assert "keeper-op" not in row["git"], row["git"]
    h = wait_for(lambda: (lambda r: json.loads(r[2]) if r[0] == 503
                          else None)(crew.get("/_health")), timeout=20,
                 what="failing from commits")
    assert "is not a git repository" in h["why"]["a"], h


DETACHED_AGENT = "date +%N > out.txt"


def test_detached_head_is_not_committed_on(crew):
    """Commits on a detached HEAD were made without a word, and the next
    `git checkout main` orphaned them. keeper refuses: the run's work is
    kept on its partial ref and in the tree, status and health say so
    (failing after three such runs), and once a branch is checked out
    again the work is committed on it."""
    human_commit(crew.repo, "seed.txt", "seed\n")
    branch = git(crew.repo, "symbolic-ref", "--short", "HEAD")
    git(crew.repo, "checkout", "-q", "--detach")
    head = git(crew.repo, "rev-parse", "HEAD")
    main = git(crew.repo, "rev-parse", branch)
    crew.member("a", DETACHED_AGENT, interval="100ms")
    crew.write_crew()
    crew.start()
    h = wait_for(lambda: (lambda r: json.loads(r[2]) if r[0] == 503
                          else None)(crew.get("/_health")), timeout=20,
                 what="failing after refused commits")
    assert h["agents"]["a"] == "failing"
    assert "HEAD is detached" in h["why"]["a"], h
    r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data)
    assert "git: not committed: HEAD is detached" in r.stdout, r.stdout
    assert git(crew.repo, "rev-parse", "HEAD") == head
    assert git(crew.repo, "rev-parse", branch) == main
    refused = [r for r in crew.closed("a") if r["outcome"] == "done" and
               "HEAD is detached" in (r["error"] or "")]
    assert refused, crew.closed("a")
    row = refused[0]
    ref = "refs/keeper/partial/a/%d" % row["id"]
    assert ref in row["error"] and ref in row["git"], row
    assert git(crew.repo, "diff", "--name-only", "HEAD", ref) == "out.txt"
    assert not row["commit_id"], row
    assert "event=commit-refused" in crew.log()
    # Back on the branch: the work is committed there, health recovers.
    git(crew.repo, "checkout", "-q", branch)
    wait_for(lambda: git(crew.repo, "rev-parse", branch) != main,
             what="a commit on the branch")
    assert "out.txt" in paths_in(crew.repo, branch)
    wait_for(lambda: crew.get("/_health")[0] == 200, timeout=20,
             what="health back to 200")
    assert crew.stop() == 0


def test_detached_head_committed_when_the_crew_opts_in(crew):
    """#+DETACHED: commit keeps the old behaviour for a crew that wants
    it: the commit is made on the detached HEAD; keeper check validates
    the keyword."""
    human_commit(crew.repo, "seed.txt", "seed\n")
    git(crew.repo, "checkout", "-q", "--detach")
    head = git(crew.repo, "rev-parse", "HEAD")
    crew.member("a", DETACHED_AGENT)
    crew.write_crew(detached="commit", repo=crew.repo)
    r = crew.run_once("a")
    assert r.returncode == 0, r.stdout + r.stderr
    row = crew.closed("a")[-1]
    assert row["commit_id"] == git(crew.repo, "rev-parse", "HEAD") != head
    assert "detached" in row["git"] and not row["error"], row
    crew.write_crew(detached="sometimes", repo=crew.repo)
    r = crew.keeper("check", crew.crew)
    assert r.returncode == 65
    assert "invalid #+DETACHED: 'sometimes' (expected refuse or commit)" \
        in r.stdout + r.stderr


def test_big_file_is_not_committed(crew):
    """A 200 MB file was committed without a word, bloating the
    repository for ever. Over #+MAX-COMMIT-SIZE (default 50 MB) a file is
    left in the work tree; the run is still done, its error names the
    file and its size, and the log says so. (A sparse file: quick.)"""
    crew.member("a", "truncate -s 200M big.bin; echo hi > small.txt")
    crew.write_crew(repo=crew.repo)
    r = crew.run_once("a")
    assert r.returncode == 0, r.stdout + r.stderr
    row = crew.closed("a")[-1]
    assert row["outcome"] == "done"
    assert "'big.bin' (200 MB) not committed: over the 50 MB " \
        "MAX-COMMIT-SIZE" in row["error"], row
    assert "event=commit-too-big path=big.bin size=209715200" in r.stderr
    files = paths_in(crew.repo, "HEAD")
    assert "small.txt" in files and "big.bin" not in files, files
    assert os.path.getsize(os.path.join(crew.repo, "big.bin")) == 200 << 20
    # The limit is the crew's: a smaller one leaves out smaller files.
    os.unlink(os.path.join(crew.repo, "big.bin"))
    crew.members = []
    crew.member("a", "head -c 2048 /dev/zero > two.bin; echo 2 > small.txt")
    crew.write_crew(max_commit_size="1k", repo=crew.repo)
    assert crew.run_once("a").returncode == 0
    row = crew.closed("a")[-1]
    assert "'two.bin' (2 kB) not committed: over the 1 kB" in row["error"]
    assert "two.bin" not in paths_in(crew.repo, "HEAD")
    crew.write_crew(max_commit_size="5 MB", repo=crew.repo)
    r = crew.keeper("check", crew.crew)
    assert r.returncode == 65
    assert "invalid size '5 MB' for #+MAX-COMMIT-SIZE:" in r.stdout + r.stderr


def raw_exchange(addr, data, timeout=5):
    """Send data without closing our side; read until the server closes
    (a hang is the timeout, half the server's 10 s connection timeout):
    (what came back, whether the server closed)."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.settimeout(timeout)
    got, closed = b"", False
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                closed = True
                break
            got += chunk
    except socket.timeout:
        pass
    finally:
        s.close()
    return got, closed


# The first bytes of a TLS 1.2 ClientHello, as `curl https://` sends.
CLIENT_HELLO = bytes.fromhex("1603010200010001fc0303") + os.urandom(32)

NOT_HTTP = [
    b"\x00\x01\x02\r\n\r\n",
    CLIENT_HELLO,
    b"garbage\r\n\r\n",
    b"GET /_health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /_health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
]


def test_http_answers_400_to_what_is_not_a_request(crew):
    """Binary garbage and a TLS ClientHello hung until the connection
    timeout, `garbage` (no space) was closed without a word, and a GET
    announcing a chunked or 5-byte body waited for one that never came.
    Each now gets 400 at once and the connection is closed."""
    crew.member("a", "true")
    crew.write_crew()
    crew.start()
    addr = crew.http_addr()
    for data in NOT_HTTP:
        got, closed = raw_exchange(addr, data)
        assert got.startswith(b"HTTP/1.1 400 "), (data, got)
        assert b"Connection: close" in got, got
        assert closed, data
    assert crew.get("/_health")[0] == 200


def test_idle_sockets_do_not_lock_the_address_out(crew):
    """64 idle sockets from 127.0.0.1 fill the address's slots; once the
    plane drops them (10 s), the operator's own request is served at
    once: their slots came back before they were closed. While they are
    open, one more connection is told why it is refused."""
    crew.member("a", "true")
    crew.write_crew()
    crew.start()
    host, port = crew.http_addr().rsplit(":", 1)
    idle = [socket.create_connection((host, int(port))) for _ in range(64)]
    try:
        got, closed = raw_exchange(crew.http_addr(),
                                   b"GET /_health HTTP/1.1\r\nHost: x\r\n"
                                   b"\r\n")
        assert got.startswith(b"HTTP/1.1 503 "), got
        assert b"too many connections" in got
        for s in idle:
            s.settimeout(20)
            while s.recv(4096):
                pass
        status, _, body = crew.get("/_health")
        assert status == 200, body
    finally:
        for s in idle:
            s.close()


def test_http_addr_removed_on_clean_exit(crew):
    """http.addr was left behind after a clean exit, naming a port that
    nothing listens on."""
    crew.member("a", "true")
    crew.write_crew()
    crew.start()
    crew.http_addr()
    assert crew.stop() == 0
    assert not os.path.exists(os.path.join(crew.data, "http.addr"))
