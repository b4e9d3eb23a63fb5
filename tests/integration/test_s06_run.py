"""SPEC §6, a run, as the daemon and run-once start one: the child leads
its own process group with the KEEPER_* environment, the outcome comes
from its exit status and NO-WORK, TIMEOUT kills the whole tree, output
is bounded, and runs a crashed keeper left open are recorded interrupted
and their leftovers killed at boot.

Also how the child is started (keeper(1)): keeper-exec, the def
interpreter linked without git, sqlite, the HTTP server or libcurl
(opened only for an llm step), forked from the daemon's warm zygote, and
keeper's own exec-def when keeper-exec is not installed. The steps of a
def are in test_s06_def.py, llm steps in test_s06_llm.py."""
import json
import os
import shutil
import signal
import subprocess

import pytest

from conftest import KEEPER, KEEPER_EXEC, ok_def, pid_alive, sh_def, wait_for

# The def records its interpreter (the step's parent): binary, parent,
# command line. Two steps, so that it has one (a def that is one sh step
# runs as that shell directly: test_s06_direct.py).
WHO = sh_def("true") + ("* who\n#+BEGIN_SRC sh\n"
                        "readlink /proc/$PPID/exe > who.txt\n"
                        "awk '{ print $4 }' /proc/$PPID/stat >> who.txt\n"
                        "tr '\\0' ' ' < /proc/$PPID/cmdline >> who.txt\n"
                        "echo \"${LD_BIND_NOW-unset}\" > bind.txt\n"
                        "#+END_SRC\n")


def interpreter_of(crew, keeper=KEEPER, daemon=None):
    """run-once the WHO def with this keeper binary (through the daemon
    when one runs); the interpreter's (exe, parent pid, argv)."""
    crew.write("who.org", WHO)
    if daemon is None:
        crew.write_crew([("who", {"DEF": "who.org"})])
    r = subprocess.run([keeper, "run-once", "who", "--crew", crew.crew,
                        "--data", crew.data, "--repo", crew.repo],
                       capture_output=True, text=True, timeout=30,
                       cwd=crew.root)
    assert r.returncode == 0, r.stderr + (crew.log(daemon) if daemon else "")
    with open(os.path.join(crew.repo, "who.txt")) as f:
        exe, ppid, cmd = f.read().split("\n", 2)
    return exe, int(ppid), cmd.split()


def linked(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[0].split(".so")[0] for line in out.splitlines()
            if ".so" in line}


def test_keeper_exec_links_only_what_a_def_needs():
    libs = linked(KEEPER_EXEC)
    for heavy in ("libgit2", "libcurl", "libuv", "libsqlite3",
                  "libmicrohttpd", "libgnutls", "libssl", "libicuuc",
                  "libicui18n"):
        assert heavy not in libs, libs
    assert "libpcre2-8" in libs and "libjansson" in libs
    # the reference: keeper itself links them all
    assert {"libgit2", "libcurl", "libuv"} <= linked(KEEPER)


def test_runs_go_through_keeper_exec(crew):
    exe, _, cmd = interpreter_of(crew)
    assert exe == os.path.realpath(KEEPER_EXEC)
    assert cmd[1].endswith("who.org"), cmd


def test_keeper_alone_falls_back_to_exec_def(crew):
    alone = crew.path("bin/keeper")
    os.makedirs(os.path.dirname(alone))
    shutil.copy(KEEPER, alone)
    exe, _, cmd = interpreter_of(crew, keeper=alone)
    assert exe == os.path.realpath(alone)
    assert cmd[1] == "exec-def", cmd


def zygotes(daemon_pid):
    out = []
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % pid) as f:
                cmd = f.read().split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == daemon_pid and cmd[1:2] == ["--zygote"]:
            out.append(int(pid))
    return out


def run_once_started(crew, name):
    """A run-once for name left running (its answer comes later)."""
    return subprocess.Popen([KEEPER, "run-once", name, "--crew", crew.crew,
                             "--data", crew.data], cwd=crew.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_daemon_forks_runs_from_its_zygote(crew):
    """The daemon's runs come from one warm keeper-exec --zygote, cloned
    as the daemon's own children (CLONE_PARENT), so reaping, timeouts and
    kills are the same as for a spawned run."""
    crew.write_crew([("who", {"DEF": "who.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    p = crew.start()
    (z,) = zygotes(p.pid)
    exe, ppid, cmd = interpreter_of(crew, daemon=p)
    assert exe == os.path.realpath(KEEPER_EXEC)
    assert ppid == p.pid                  # the daemon's child, not z's
    assert cmd == [cmd[0], "--zygote"]    # forked, not exec'd
    # The zygote binds its libraries at start (LD_BIND_NOW), its runs
    # get their own environment without it.
    with open("/proc/%d/environ" % z) as f:
        assert "LD_BIND_NOW=1" in f.read().split("\0")
    with open(os.path.join(crew.repo, "bind.txt")) as f:
        assert f.read() == "unset\n"
    assert crew.stop(p) == 0
    assert not os.path.exists("/proc/%d" % z)   # gone with the daemon


def test_runs_go_on_when_the_zygote_dies(crew):
    """A killed zygote costs no run: the next ones are spawned, and a new
    zygote (started at most once a second) forks them again."""
    crew.write_crew([("who", {"DEF": "who.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    p = crew.start()
    (z,) = zygotes(p.pid)
    os.kill(z, signal.SIGKILL)
    exe, ppid, cmd = interpreter_of(crew, daemon=p)
    assert ppid == p.pid, cmd

    # The new one starts for a run (a second after the last start).
    wait_for(lambda: interpreter_of(crew, daemon=p)[2][1:] == ["--zygote"],
             timeout=15, interval=0.2, what="runs forked by a new zygote")
    (z2,) = zygotes(p.pid)
    assert z2 != z
    assert "event=zygote-died pid=%d" % z in crew.log(p)
    assert crew.stop(p) == 0


def asked_a_stopped_zygote(crew, more=()):
    """A daemon whose zygote is stopped (SIGSTOP) holding member ok's
    run-once request: (daemon, zygote pid, the run-once process)."""
    crew.write("ok.org", sh_def("echo ran >> ran.txt"))
    crew.write_crew([("ok", {"DEF": "ok.org", "INTERVAL": "1h"})] +
                    list(more), boot_grace="1h")
    p = crew.start()
    (z,) = zygotes(p.pid)
    os.kill(z, signal.SIGSTOP)
    r = run_once_started(crew, "ok")
    wait_for(lambda: "event=zygote-asked" in crew.log(p),
             what="the request queued with the stopped zygote")
    return p, z, r


def test_a_run_the_dying_zygote_never_answered_fails(crew):
    """The zygote is stopped with a request in its socket, then killed:
    that run fails to start rather than being spawned again (the zygote
    may have forked it already; a def must not run twice)."""
    p, z, r = asked_a_stopped_zygote(crew)
    os.kill(z, signal.SIGKILL)
    out, err = r.communicate(timeout=30)
    assert r.returncode == 1 and "cannot start" in out, out + err
    assert "Connection reset" in out, out     # the zygote's, not ours
    (row,) = crew.closed("ok")
    assert row["outcome"] == "failed" and row["started"] is None
    assert not os.path.exists(os.path.join(crew.repo, "ran.txt"))
    # and the next run runs
    assert crew.run_once("ok").returncode == 0
    with open(os.path.join(crew.repo, "ran.txt")) as f:
        assert f.read() == "ran\n"
    assert crew.stop(p) == 0


def test_keeper_zygote_0_spawns_every_run(crew, monkeypatch):
    monkeypatch.setenv("KEEPER_ZYGOTE", "0")
    crew.write_crew([("who", {"DEF": "who.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    p = crew.start()
    assert zygotes(p.pid) == []
    exe, ppid, cmd = interpreter_of(crew, daemon=p)
    assert exe == os.path.realpath(KEEPER_EXEC) and ppid == p.pid
    assert cmd[1].endswith("who.org"), cmd
    assert crew.stop(p) == 0


def test_zygote_run_in_a_missing_directory_fails_to_start(crew):
    """The run's directory is checked before the clone, so a vanished
    repo is a start error, as on the spawn path, not a silent exit."""
    crew.write("ok.org", sh_def("echo hi"))
    crew.write_crew([("ok", {"DEF": "ok.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    p = crew.start()
    shutil.rmtree(crew.repo)
    r = crew.run_once("ok")
    assert r.returncode == 1 and "cannot start" in r.stdout, r.stdout
    (row,) = crew.closed("ok")
    assert row["outcome"] == "failed" and row["started"] is None
    assert "No such file or directory" in row["error"]
    assert zygotes(p.pid), crew.log(p)      # and the zygote carries on
    crew.stop(p)


@pytest.mark.parametrize("zygote", ["1", "0"])
def test_steps_start_with_default_signals(crew, monkeypatch, zygote):
    """Nothing blocked, no standard signal ignored in a step, forked from
    the zygote or spawned: the interpreter catches SIGCHLD and ignores
    SIGPIPE for itself, and none of that reaches the programs a def runs.
    (glibc's posix_spawn leaves its own two internal signals, 32 and 33,
    ignored in whatever it starts; those are not the standard ones.)"""
    monkeypatch.setenv("KEEPER_ZYGOTE", zygote)
    crew.write("sigs.org", sh_def(
        "grep -E '^Sig(Blk|Ign)' /proc/self/status > sigs.txt"))
    crew.write_crew([("sigs", {"DEF": "sigs.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    p = crew.start()
    assert len(zygotes(p.pid)) == (zygote == "1")
    r = crew.run_once("sigs")
    assert r.returncode == 0, r.stdout + crew.log(p)
    with open(os.path.join(crew.repo, "sigs.txt")) as f:
        blk_key, blk, ign_key, ign = f.read().split()
    assert (blk_key, ign_key) == ("SigBlk:", "SigIgn:")
    assert int(blk, 16) == 0
    assert int(ign, 16) & 0x7fffffff == 0, ign     # signals 1..31
    assert crew.stop(p) == 0


def state_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_answers_sent_before_the_zygote_died_still_count(crew):
    """The zygote answers a request and dies before the daemon reads the
    answer: that run exists, so the daemon reads the answer and watches
    it rather than failing it; and a run asked for meanwhile still runs."""
    crew.write("two.org", sh_def("echo two >> two.txt"))
    p, z, ok = asked_a_stopped_zygote(
        crew, [("two", {"DEF": "two.org", "INTERVAL": "1h"})])
    os.kill(p.pid, signal.SIGSTOP)          # the daemon reads nothing now
    os.kill(z, signal.SIGCONT)              # the zygote forks and answers
    ran = os.path.join(crew.repo, "ran.txt")
    wait_for(lambda: os.path.exists(ran), what="the forked run")
    wait_for(lambda: state_of(z) == "S", what="the zygote back in recvmsg")
    os.kill(z, signal.SIGKILL)
    two = run_once_started(crew, "two")
    os.kill(p.pid, signal.SIGCONT)
    out, err = ok.communicate(timeout=30)
    assert ok.returncode == 0, out + err + crew.log(p)
    assert two.wait(timeout=30) == 0
    (row,) = crew.closed("ok")
    assert row["outcome"] == "done" and row["started"] is not None
    with open(ran) as f:
        assert f.read() == "ran\n"          # once
    assert crew.stop(p) == 0


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
    # A run that is not killed fails run_once's own 30 s timeout.
    r = crew.run_once("hang")
    assert r.returncode == 124, (r.stdout, r.stderr)
    pids = [int(open(crew.path("gc%d.pid" % i)).read()) for i in (1, 2, 3)]
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=5,
             what="no survivor of the run")
    row = crew.rows("hang")[-1]
    assert row["outcome"] == "killed"
    assert row["started"] and row["duration_ms"] >= 700


def test_output_is_bounded(crew):
    # 300 MB through stdout: keeper keeps a head and a tail and the count.
    crew.write("agents/loud.org", sh_def(
        "head -c 300000000 /dev/zero | tr '\\0' 'x'; echo; echo THE-END"))
    crew.write_crew([("loud", {"DEF": "agents/loud.org"})])
    r = crew.run_once("loud", timeout=120)
    assert r.returncode == 0, r.stderr
    row = crew.rows("loud")[-1]
    assert row["output_bytes"] == 300000000 + 1 + 8
    assert len(row["output_head"]) <= 8192


# ---- escapees (issue 20 item 2): no process of a run survives it ----

def escapees(tag):
    """Pids of live `/bin/sleep TAG` processes, wherever they are."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid) as f:
                cmd = f.read().split("\0")
        except OSError:
            continue
        if cmd[:2] == ["/bin/sleep", tag] and pid_alive(int(pid)):
            out.append(int(pid))
    return out


def escape_def(crew, name, tag, then):
    """A def whose one step starts `/bin/sleep TAG` in a new session with
    an empty environment (nothing in it says it is keeper's), then runs
    the sh `then`."""
    return crew.write("agents/%s.org" % name, sh_def(
        "setsid env -i /bin/sleep %s &\n%s" % (tag, then)))


def wait_escapee(tag, proc=None):
    return wait_for(lambda: escapees(tag) or (
        proc is not None and proc.poll() is not None and ["gone"]),
        what="the escapee started")


@pytest.mark.parametrize("lang", ["sh", "bash"])
@pytest.mark.parametrize("direct", ["1", "0"])
def test_timeout_kills_an_escapee_with_a_scrubbed_environment(crew, monkeypatch, direct, lang):
    monkeypatch.setenv("KEEPER_DIRECT", direct)  # both paths
    tag = "71.%d" % os.getpid()
    d = escape_def(crew, "esc", tag, "sleep 30")
    if lang == "bash":
        crew.write("agents/esc.org", open(d).read().replace("#+BEGIN_SRC sh",
                                             "#+BEGIN_SRC bash"))
    crew.write_crew([("esc", {"DEF": "agents/esc.org", "TIMEOUT": "2s",
                              "INTERVAL": "1h"})])
    p = run_once_started(crew, "esc")
    (pid,) = wait_escapee(tag, p)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 124, out + err
    wait_for(lambda: not pid_alive(pid), timeout=5,
             what="the escapee killed with the run")
    assert crew.rows("esc")[-1]["outcome"] == "killed"


@pytest.mark.parametrize("direct", ["1", "0"])
def test_an_escapee_dies_with_a_run_that_ends_on_its_own(crew, monkeypatch, direct):
    monkeypatch.setenv("KEEPER_DIRECT", direct)  # both paths
    tag = "72.%d" % os.getpid()
    go = crew.path("go")
    escape_def(crew, "esc", tag, "until [ -e %s ]; do sleep 0.01; done; "
               "echo ok" % go)
    crew.write_crew([("esc", {"DEF": "agents/esc.org", "INTERVAL": "1h"})])
    p = run_once_started(crew, "esc")
    (pid,) = wait_escapee(tag, p)
    open(go, "w").close()
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, out + err
    wait_for(lambda: not pid_alive(pid), timeout=5,
             what="the escapee killed when its run ended")


@pytest.mark.parametrize("direct", ["1", "0"])
def test_daemon_stop_kills_an_escapee(crew, monkeypatch, direct):
    """SIGTERM drains: the run is killed at its TIMEOUT, and its escapee
    with it, before the daemon exits."""
    monkeypatch.setenv("KEEPER_DIRECT", direct)  # both paths
    tag = "73.%d" % os.getpid()
    escape_def(crew, "esc", tag, "sleep 30")
    crew.write_crew([("esc", {"DEF": "agents/esc.org", "TIMEOUT": "2s",
                              "INTERVAL": "1h"})])
    d = crew.start()
    (pid,) = wait_escapee(tag, d)
    assert crew.stop(d) == 0
    assert not pid_alive(pid)
    assert crew.rows("esc")[-1]["outcome"] == "killed"


@pytest.mark.parametrize("direct", ["1", "0"])
def test_interrupted_run_once_kills_an_escapee(crew, monkeypatch, direct):
    monkeypatch.setenv("KEEPER_DIRECT", direct)  # both paths
    tag = "74.%d" % os.getpid()
    escape_def(crew, "esc", tag, "sleep 30")
    crew.write_crew([("esc", {"DEF": "agents/esc.org", "TIMEOUT": "1h",
                              "INTERVAL": "1h"})])
    p = run_once_started(crew, "esc")
    (pid,) = wait_escapee(tag, p)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode != 0, out + err
    wait_for(lambda: not pid_alive(pid), timeout=5,
             what="the escapee killed with the interrupted run")


# ---- a def that is one sh/bash step runs as that shell (issue 15) ----

# The step records who it is and who runs it: its own binary, its pid,
# group and session, its parent's binary, and every command of its
# session (the run's tree).
SELF = ("readlink /proc/$$/exe > %(r)s/self.txt\n"
        "ps -o pid=,pgid=,sid= -p $$ >> %(r)s/self.txt\n"
        "readlink /proc/$PPID/exe >> %(r)s/self.txt\n"
        "ps -o args= -s $(ps -o sid= -p $$) >> %(r)s/self.txt\n"
        "echo ran")


def self_report(crew):
    with open(crew.path("self.txt")) as f:
        exe, ids, parent, *tree = f.read().splitlines()
    return exe, [int(x) for x in ids.split()], parent, tree


@pytest.mark.parametrize("lang", ["sh", "bash"])
@pytest.mark.parametrize("via", ["run-once", "daemon"])
def test_one_step_def_runs_as_its_shell(crew, lang, via):
    """No interpreter: the shell is the run's leader (pid = pgid = sid,
    the history's pid), its parent is keeper itself, and nothing in the
    run's session is keeper-exec; spawned (run-once) or forked by the
    zygote (daemon)."""
    body = sh_def(SELF % {"r": crew.root})
    if lang == "bash":
        body = body.replace("#+BEGIN_SRC sh", "#+BEGIN_SRC bash")
    crew.write("agents/me.org", body)
    crew.write_crew([("me", {"DEF": "agents/me.org", "INTERVAL": "1h"})],
                    boot_grace="1h")
    if via == "daemon":
        d = crew.start()
        assert zygotes(d.pid)
    r = crew.run_once("me")
    assert r.returncode == 0, r.stdout + r.stderr
    exe, (pid, pgid, sid), parent, tree = self_report(crew)
    assert os.path.basename(exe) in (("dash", "sh") if lang == "sh" else
                                     ("bash",)), exe
    assert pid == pgid == sid
    assert parent == os.path.realpath(KEEPER)
    assert not [t for t in tree if "keeper-exec" in t], tree
    row = crew.rows("me")[-1]
    assert row["pid"] == pid and row["outcome"] == "done"
    if via == "daemon":
        assert "direct=1" in crew.log(d)
        assert crew.stop(d) == 0


def test_defs_that_need_the_interpreter_keep_it(crew):
    """Two steps, an llm step, or a step with :timeout, :dir or :if-env:
    the interpreter runs them, the shell is its child."""
    two = sh_def("true") + "* me\n#+BEGIN_SRC sh\n%s\n#+END_SRC\n" % (
        SELF % {"r": crew.root})
    crew.write("agents/two.org", two)
    one_timeout = sh_def(SELF % {"r": crew.root}).replace(
        "#+BEGIN_SRC sh", "#+BEGIN_SRC sh :timeout 1m")
    crew.write("agents/tmo.org", one_timeout)
    crew.write_crew([("two", {"DEF": "agents/two.org"}),
                     ("tmo", {"DEF": "agents/tmo.org"})])
    for name in ("two", "tmo"):
        r = crew.run_once(name)
        assert r.returncode == 0, r.stdout + r.stderr
        exe, (pid, pgid, sid), parent, tree = self_report(crew)
        assert parent == os.path.realpath(KEEPER_EXEC), (name, parent)
        assert pgid == sid != pid
        assert any("keeper-exec" in t for t in tree), tree


def test_keeper_direct_0_runs_one_step_defs_through_the_interpreter(
        crew, monkeypatch):
    crew.write("agents/me.org", sh_def(SELF % {"r": crew.root}))
    crew.write_crew([("me", {"DEF": "agents/me.org"})])
    monkeypatch.setenv("KEEPER_DIRECT", "0")
    r = crew.run_once("me")
    assert r.returncode == 0, r.stdout + r.stderr
    assert self_report(crew)[2] == os.path.realpath(KEEPER_EXEC)


def normalized(row, out):
    """What must be the same whichever path ran the def: the history
    row's outcome, exit status, error, result and steps (without their
    times, with the run id as ID), and run-once's lines (without
    times)."""
    import re
    rid = str(row["id"])
    head = (row["output_head"] or "").replace("KEEPER_RUN_ID=" + rid,
                                              "KEEPER_RUN_ID=ID")
    steps = [" ".join(s.split()[:-1]) for s in
             (row["steps"] or "").splitlines()]
    lines = [re.sub(r" \(\d+ ms\)", "", re.sub(r"(step-end .*) \d+$",
                                               r"\1", line))
             for line in out.splitlines()]
    # The log's lines and the steps come on two pipes, read as they
    # come: each in its order, not against each other.
    logged = [line for line in lines if ": log " in line]
    return {"outcome": row["outcome"], "exit_code": row["exit_code"],
            "error": row["error"], "output_head": head,
            "output_bytes": row["output_bytes"], "steps": steps,
            "log": row["log"],
            "tokens": (row["tokens_prompt"], row["tokens_completion"]),
            "run-once": [line for line in lines if line not in logged],
            "run-once log": logged}


BOTH = {
    "done": ("echo hello; echo done-line", {}),
    "no_work": ("echo '  no-work: quiet day'", {}),
    "failed": ("echo partial; echo 'fatal: no db' >&2; exit 2", {}),
    "signal": ("echo before; kill -9 $$", {}),
    "killed": ("echo started; sleep 30", {"TIMEOUT": "1s"}),
    "telemetry": ("echo '::step::first'; echo '::thought::hmm'; "
                  "printf '::step::last'", {}),
    # ls alone, not in a pipeline: the shell holds a pipeline's pipe
    # while ls reads its descriptors (a stray 3, now and then)
    "stdin": ("wc -c; ls /proc/$$/fd", {}),
    "environment": ("env | LC_ALL=C sort | grep -v '^_='; echo \"$0\"", {}),
    "missing bash": (None, {}),
}


@pytest.mark.parametrize("via", ["run-once", "daemon"])
@pytest.mark.parametrize("case", sorted(BOTH))
def test_direct_and_interpreter_give_the_same_run(crew, monkeypatch, case,
                                                  via):
    """The same one-step def run by the interpreter (KEEPER_DIRECT=0) and
    as its shell: spawned by run-once alone, or forked by a daemon's
    zygote."""
    body, props = BOTH[case]
    if body is None:
        # bash not on the run's PATH: both fail to start the step alike
        text = sh_def("echo x").replace("#+BEGIN_SRC sh", "#+BEGIN_SRC bash")
        monkeypatch.setenv("PATH", "/nonexistent")
    else:
        text = sh_def(body)
    crew.write("agents/same.org", text)
    crew.write_crew([("same", dict({"DEF": "agents/same.org",
                                    "INTERVAL": "1h"}, **props))])
    got = {}
    for direct in ("0", "1"):
        monkeypatch.setenv("KEEPER_DIRECT", direct)
        if via == "daemon":
            crew.write_crew([("same", dict({"DEF": "agents/same.org",
                                            "INTERVAL": "1h"}, **props))],
                            boot_grace="1h")
            d = crew.start()
        r = crew.run_once("same")
        if via == "daemon":
            assert crew.stop(d) == 0
        row = crew.rows("same")[-1]
        got[direct] = dict(normalized(row, r.stdout), code=r.returncode)
    if case == "killed":
        # A killed run keeps what it printed either way (issue 20 item
        # 9): the shell streams it; the interpreter keeps a step's output
        # in a file until the step ends, read before the kill.
        assert (got["0"]["output_head"], got["1"]["output_head"]) == (
            "started\n", "started\n")
    assert got["0"] == got["1"]
    if case == "failed":
        assert got["1"]["exit_code"] == 2
        assert got["1"]["error"] == "run: exit status 2: fatal: no db"
        assert got["1"]["log"] == "fatal: no db\n"
    if case == "signal":
        assert got["1"]["exit_code"] == 137
        assert got["1"]["error"] == "run: killed by signal 9 (Killed)"
    if case == "missing bash":
        assert got["1"]["error"].startswith("run: cannot run bash: "), got
    if case == "killed":
        assert got["1"]["outcome"] == "killed"
        assert got["1"]["output_head"] == "started\n"
    if case == "telemetry":
        assert "same: step first" in got["1"]["run-once"]
        assert "same: thought hmm" in got["1"]["run-once"]
        assert "same: step last" in got["1"]["run-once"]
    if case == "stdin":
        # no descriptor beyond 0, 1, 2 leaks into the agent's shell
        assert got["1"]["output_head"].split() == ["0", "0", "1", "2"], got
    if case == "no_work":
        assert got["1"]["outcome"] == "no_work"


# ---- the run seen whole (SPEC §6): its log and why it was not done ----

FAILING = """#+TITLE: w
* prepare
#+BEGIN_SRC sh
echo "preparing" >&2
echo ready
#+END_SRC
* work
#+BEGIN_SRC sh
cat > /dev/null
echo "half done"
echo "warming up" >&2
echo "fatal: cannot reach the database" >&2
exit 2
#+END_SRC
"""


def one_run(crew, run_id, *extra):
    r = crew.keeper("history", "--data", crew.data, "--run", str(run_id),
                    *extra)
    assert r.returncode == 0, r.stderr
    return r


def test_failed_step_says_why_in_words(crew):
    crew.write("agents/w.org", FAILING)
    crew.write_crew([("w", {"DEF": "agents/w.org"})])
    r = crew.run_once("w")
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    why = "work: exit status 2: fatal: cannot reach the database"
    # run-once: the agent's log lines live, among the steps, marked as
    # its own; the reason in words last
    assert lines[-1] == "w: failed (%s ms): %s" % (
        lines[-1].split("(")[1].split(" ")[0], why), lines
    # (log and steps come on two pipes: among each other as they are
    # read, so only their presence is certain, before the outcome)
    for line in ("w: log preparing", "w: step-begin work",
                 "w: log warming up",
                 "w: log fatal: cannot reach the database"):
        assert line in lines[:-1], (line, lines)
    (row,) = crew.closed("w")
    assert row["error"] == why
    assert row["log"] == ("preparing\nwarming up\n"
                          "fatal: cannot reach the database\n")
    assert row["output_head"] == "half done\n"
    doc = json.loads(one_run(crew, row["id"], "--json").stdout)
    assert doc["error"] == why and doc["log"] == row["log"]
    assert doc["running"] is False
    assert [(s["name"], s["status"]) for s in doc["steps"]] == \
        [("prepare", "ok"), ("work", "failed")]
    assert doc["result"] == "half done\n"
    text = one_run(crew, row["id"]).stdout
    assert "error:\n  " + why in text
    assert "log:\n  preparing\n  warming up\n" in text


def test_last_log_line_is_the_failing_steps_own(crew):
    # work prints nothing on stderr: prepare's line is not its reason
    crew.write("agents/w.org", FAILING.replace(
        'echo "warming up" >&2\necho "fatal: cannot reach the database" '
        '>&2\n', ""))
    crew.write_crew([("w", {"DEF": "agents/w.org"})])
    assert crew.run_once("w").returncode == 1
    (row,) = crew.closed("w")
    assert row["error"] == "work: exit status 2"


def test_killed_run_names_its_step_and_keeps_its_log(crew):
    crew.member("slow", 'echo "done so far"\necho "about to hang" >&2\n'
                'sleep 30', timeout="1s")
    crew.write_crew()
    r = crew.run_once("slow")
    assert r.returncode == 124, r.stdout + r.stderr
    why = "run: killed after the 1000 ms timeout: about to hang"
    assert r.stdout.splitlines()[-1].endswith(": " + why), r.stdout
    (row,) = crew.closed("slow")
    assert row["outcome"] == "killed"
    assert row["error"].startswith(why), row["error"]
    assert row["log"] == "about to hang\n"
    # issue 20 item 9: a killed run keeps what it printed
    assert row["output_head"] == "done so far\n"
    assert row["output_bytes"] == len("done so far\n")


def test_log_lines_go_to_keepers_log_tagged(crew):
    crew.member("talker", 'echo "line one" >&2\necho "line two" >&2\n'
                'echo out')
    crew.write_crew()
    p = crew.start()
    wait_for(lambda: crew.closed("talker"), what="a run")
    (row,) = crew.closed("talker")[:1]
    log = crew.log(p)
    tag = "agent=talker run=%d event=log" % row["id"]
    assert tag + ' msg="line one"' in log, log
    assert tag + ' msg="line two"' in log, log
    assert crew.stop(p) == 0


def test_history_spans_never_overlap_beyond_concurrency(crew):
    # each run leaves a file: its commit comes after it ended, timed in
    # its own column, and holds no gate slot
    for i in range(4):
        crew.member("a%d" % i, "sleep 0.5; echo %d > a%d.txt" % (i, i),
                    interval="1h")
    crew.write_crew(concurrency="2")
    p = crew.start()
    wait_for(lambda: len(crew.closed()) >= 4, timeout=30, what="4 runs")
    assert crew.stop(p) == 0
    rows = crew.closed()
    assert all(r["outcome"] == "done" for r in rows), rows
    for r in rows:
        assert r["duration_ms"] == r["ended"] - r["started"], r
        # (a file touched while another run is live may wait for a
        # later commit: keeper(1) GIT)
        if r["commit_id"]:
            assert r["committed"] >= r["ended"], r
    assert any(r["commit_id"] for r in rows), rows
    # at every start, how many spans (started, ended] hold that moment
    for r in rows:
        live = [o for o in rows if o["started"] <= r["started"] < o["ended"]]
        assert len(live) <= 2, (r, live)


def rss_kb(pid, key="VmHWM"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (key, pid))


def test_a_gigabyte_of_stderr_leaves_rss_flat(crew):
    # 1 GiB of log lines, and a small warm-up run to measure from
    crew.member("loud", 'if [ -e go ]; then yes "a line of the log, over '
                'and over" | head -c 1073741824 >&2; fi; echo fine')
    crew.write_crew()
    p = crew.start()
    wait_for(lambda: crew.closed("loud"), what="the warm-up run")
    before = rss_kb(p.pid)
    open(os.path.join(crew.repo, "go"), "w").close()
    r = subprocess.run([KEEPER, "run-once", "loud", "--crew", crew.crew,
                        "--data", crew.data], capture_output=True,
                       text=True, timeout=300, cwd=crew.root)
    assert r.returncode == 0, r.stderr
    rows = crew.closed("loud")
    assert len(rows) == 2
    after = rss_kb(p.pid)
    assert after - before < 32 * 1024, (before, after)
    assert len(rows[-1]["log"]) < 256 * 1024
    assert "bytes skipped ...]" in rows[-1]["log"]
    # the watcher gets what history keeps, not 1 GiB; keeper's own log
    # (the journal) its first and last 8 KiB, and where the rest is
    assert len(r.stdout) < 512 * 1024
    log = crew.log(p)
    assert len(log) < 64 * 1024
    run = rows[-1]["id"]
    assert ("agent=loud run=%d event=log msg=\"[... " % run) in log
    assert ("bytes of the log are not in keeper's log: keeper history "
            "--run %d has them ...]" % run) in log
    lines = [l for l in log.splitlines()
             if "agent=loud run=%d event=log" % run in l]
    assert 400 < len(lines) < 520, len(lines)     # 16 KiB of 34-byte lines
    assert crew.stop(p) == 0
