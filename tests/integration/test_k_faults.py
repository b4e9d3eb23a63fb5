"""keeper(1) FAILURE MODES: the faults a hostile tester found (issue 20),
each reproduced as it was found, and what keeper now does about it.

Each test drives the real binary into the fault (a second daemon, a
clock that ran ahead, ...) and checks that keeper detects it, says so in
words and survives; each failed before its fix.
"""
import os
import shutil
import subprocess
import time

import pytest

from conftest import KEEPER, sh_def, wait_for


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
