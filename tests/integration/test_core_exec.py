"""The interpreter runs exec: keeper-exec, the def interpreter linked
without git, sqlite, the HTTP server or libcurl (opened only for an llm
step), and keeper's own exec-def when keeper-exec is not installed."""
import os
import shutil
import subprocess

import pytest

from conftest import KEEPER, sh_def

KEEPER_EXEC = os.path.join(os.path.dirname(KEEPER), "keeper-exec")
# The def prints its interpreter's binary and command line: the step's
# parent.
WHO = sh_def("readlink /proc/$PPID/exe > who.txt\n"
             "tr '\\0' ' ' < /proc/$PPID/cmdline >> who.txt")


def linked(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[0].split(".so")[0] for line in out.splitlines()
            if ".so" in line}


def test_keeper_exec_links_only_what_a_def_needs():
    libs = linked(KEEPER_EXEC)
    for heavy in ("libgit2", "libcurl", "libuv", "libsqlite3",
                  "libmicrohttpd", "libgnutls", "libssl"):
        assert heavy not in libs, libs
    assert "libpcre2-8" in libs and "libjansson" in libs
    # the reference: keeper itself links them all
    assert {"libgit2", "libcurl", "libuv"} <= linked(KEEPER)


def test_daemon_runs_defs_through_keeper_exec(crew):
    crew.write("who.org", WHO)
    crew.write_crew([("who", {"DEF": "who.org"})])
    r = crew.keeper("run-once", "who", "--crew", crew.crew, "--data",
                    crew.data, "--repo", crew.repo)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(crew.repo, "who.txt")) as f:
        exe, cmd = f.read().split("\n", 1)
    assert exe == os.path.realpath(KEEPER_EXEC)
    assert cmd.split()[1].endswith("who.org"), cmd


def test_keeper_alone_falls_back_to_exec_def(crew):
    alone = crew.path("bin/keeper")
    os.makedirs(os.path.dirname(alone))
    shutil.copy(KEEPER, alone)
    crew.write("who.org", WHO)
    crew.write_crew([("who", {"DEF": "who.org"})])
    r = subprocess.run([alone, "run-once", "who", "--crew", crew.crew,
                        "--data", crew.data, "--repo", crew.repo],
                       capture_output=True, text=True, timeout=30,
                       cwd=crew.root)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(crew.repo, "who.txt")) as f:
        exe, cmd = f.read().split("\n", 1)
    assert exe == os.path.realpath(alone)
    assert cmd.split()[1] == "exec-def", cmd


@pytest.mark.parametrize("argv0", ["keeper-exec", "keeper"])
def test_usage_is_the_same_either_way(tmp_path, argv0):
    cmd = [KEEPER_EXEC] if argv0 == "keeper-exec" else [KEEPER, "exec-def"]
    r = subprocess.run(cmd + ["--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: keeper exec-def")
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 64 and "usage" in r.stderr
