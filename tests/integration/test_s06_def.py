"""SPEC §6, the agent def: its src blocks run in order as steps, sh and
bash in the tenant repo with the previous step's output on stdin; a step
that fails or answers NO-WORK ends the def; ::step:: and ::thought:: lines
are live telemetry; the run's environment. Driven through `keeper
exec-def`, the interpreter the daemon runs (keeper-agent(5)).

Each test writes a def into a temp dir, runs it in a scratch tenant repo
and looks at what happened: the result on stdout, the exit status, files
the steps made, and the event lines on KEEPER_EVENT_FD. llm steps are in
test_s06_llm.py.
"""
import os
import select
import subprocess
import time

from conftest import (DEADLINE, KEEPER, clean_env, exec_def, reason_of,
                      write_def)

def test_steps_chain_through_stdin(tmp_path, repo):
    d = write_def(tmp_path, """#+TITLE: chain
* produce
#+BEGIN_SRC sh
printf 'alpha\\nbeta\\n'
#+END_SRC
* shout
#+BEGIN_SRC bash
tr a-z A-Z
#+END_SRC
* number
#+BEGIN_SRC sh
nl -ba -w1 -s:
#+END_SRC
""")
    res = exec_def(d, repo)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"1:ALPHA\n2:BETA\n"


def test_first_step_reads_empty_stdin(tmp_path, repo):
    d = write_def(tmp_path, """* count
#+BEGIN_SRC sh
wc -c
#+END_SRC
""")
    res = exec_def(d, repo, input=b"not for the step")
    assert res.returncode == 0
    assert res.stdout.strip() == b"0"


def test_failure_ends_the_def(tmp_path, repo):
    d = write_def(tmp_path, """* check
#+BEGIN_SRC sh
echo partial
exit 3
#+END_SRC
* later
#+BEGIN_SRC sh
touch later-ran
#+END_SRC
""")
    res, events = exec_def(d, repo, events=True)
    assert res.returncode == 3      # the failed step's own status
    assert not (repo / "later-ran").exists()
    # Under an event fd the reason is an event; the daemon adds the
    # step's last log line (keeper(1) ERRORS).
    assert reason_of(events) == b"check: exit status 3"
    assert events[-1] == "reason-log check: exit status 3"
    assert b"exit" not in res.stderr
    assert res.stdout == b"partial\n"
    assert events[0] == "step-begin check"
    assert events[1].startswith("step-end check failed ")
    assert len(events) == 3     # begin, end, the reason


def test_no_work_ends_the_def(tmp_path, repo):
    d = write_def(tmp_path, """* look
#+BEGIN_SRC sh
printf '  \\n\\t no-work: the queue is empty\\n'
#+END_SRC
* later
#+BEGIN_SRC sh
touch later-ran
#+END_SRC
""")
    res, events = exec_def(d, repo, events=True)
    assert res.returncode == 0, res.stderr
    assert not (repo / "later-ran").exists()
    assert res.stdout == b"  \n\t no-work: the queue is empty\n"
    assert events[-1].startswith("step-end look no_work ")


def test_no_worker_is_not_no_work(tmp_path, repo):
    d = write_def(tmp_path, """* look
#+BEGIN_SRC sh
echo NO-WORKER on shift
#+END_SRC
* later
#+BEGIN_SRC sh
touch later-ran
cat
#+END_SRC
""")
    res, events = exec_def(d, repo, events=True)
    assert res.returncode == 0, res.stderr
    assert (repo / "later-ran").exists()
    assert res.stdout == b"NO-WORKER on shift\n"
    assert events[1].startswith("step-end look ok ")


def test_no_work_must_come_first(tmp_path, repo):
    # The daemon applies the same rule to the result, so a telemetry line
    # before NO-WORK makes it ordinary output, here as there.
    d = write_def(tmp_path, """* look
#+BEGIN_SRC sh
echo "::step::looking"
echo "NO-WORK: too late"
#+END_SRC
* later
#+BEGIN_SRC sh
touch later-ran
#+END_SRC
""")
    res, events = exec_def(d, repo, events=True)
    assert res.returncode == 0, res.stderr
    assert (repo / "later-ran").exists()
    assert events[2].startswith("step-end look ok ")


def test_dir_header_arg(tmp_path, repo):
    (repo / "drafts" / "deep").mkdir(parents=True)
    d = write_def(tmp_path, """* where
#+BEGIN_SRC sh :dir drafts/deep
pwd
#+END_SRC
* back
#+BEGIN_SRC sh
cat; pwd
#+END_SRC
""")
    res = exec_def(d, repo)
    assert res.returncode == 0, res.stderr
    real = os.path.realpath(repo)
    assert res.stdout.decode().splitlines() == [real + "/drafts/deep", real]


def test_missing_dir_fails_clearly(tmp_path, repo):
    d = write_def(tmp_path, """* where
#+BEGIN_SRC sh :dir nowhere
pwd
#+END_SRC
""")
    res = exec_def(d, repo)
    assert res.returncode == 1
    assert b"cannot enter :dir" in res.stderr and b"nowhere" in res.stderr


def test_bash_is_found_on_path(tmp_path, repo):
    """A bash step's shell is looked up on the run's PATH, as posix_spawnp
    did (sh steps run /bin/sh): a PATH without bash fails the step
    clearly, and the first bash on PATH is the one that runs."""
    d = write_def(tmp_path, """* s
#+BEGIN_SRC bash
echo ran
#+END_SRC
""")
    res = exec_def(d, repo, env=clean_env(PATH=str(tmp_path / "none")))
    assert res.returncode == 1
    assert b"cannot run bash" in res.stderr, res.stderr
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bash").write_text("#!/bin/sh\necho fake \"$@\"\n")
    (fake / "bash").chmod(0o755)
    res = exec_def(d, repo, env=clean_env(PATH="%s:/usr/bin:/bin" % fake))
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().startswith("fake -c echo ran"), res.stdout


def test_tmpdir_is_needed_only_for_output(tmp_path, repo):
    """A step's output file is made when its first byte arrives: a step
    that prints nothing needs no TMPDIR; one that prints names it when
    it cannot store the output there."""
    data = tmp_path / "data"
    data.mkdir()
    env = clean_env(TMPDIR=str(tmp_path / "gone"), KEEPER_DATA=str(data))
    quiet = write_def(tmp_path, "* q\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n"
                      "* q2\n#+BEGIN_SRC sh\ncat\n#+END_SRC\n", "q.org")
    res = exec_def(quiet, repo, env=env)
    assert res.returncode == 0 and res.stdout == b"", res.stderr
    loud = write_def(tmp_path, "* l\n#+BEGIN_SRC sh\necho hi\n#+END_SRC\n",
                     "l.org")
    res = exec_def(loud, repo, env=env)
    assert res.returncode == 1
    assert b"cannot store its output in " + str(tmp_path / "gone").encode() \
        in res.stderr, res.stderr


def test_repo_flag(tmp_path, repo):
    d = write_def(tmp_path, """* where
#+BEGIN_SRC sh
pwd; echo "$KEEPER_REPO"
#+END_SRC
""")
    res = subprocess.run([KEEPER, "exec-def", str(d), "--repo", str(repo)],
                         cwd=tmp_path, env=clean_env(), capture_output=True,
                         timeout=DEADLINE)
    assert res.returncode == 0, res.stderr
    real = os.path.realpath(repo)
    assert res.stdout.decode().splitlines() == [real, real]


def proc_alive(pid):
    """True when pid runs a `sleep 3xx` of ours (guards against reuse)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z" and cmd.startswith(b"sleep\0" + b"3")


def test_timeout_kills_the_step_and_its_children(tmp_path, repo):
    d = write_def(tmp_path, """* stuck
#+BEGIN_SRC sh :timeout 2s
sleep 301 &
echo $! > bg.pid
setsid sleep 302 &
echo $! > setsid.pid
echo "::step::about to hang"
sleep 303
#+END_SRC
* later
#+BEGIN_SRC sh
touch later-ran
#+END_SRC
""")
    res, events = exec_def(d, repo, events=True)
    assert res.returncode == 124    # timeout(1)'s convention
    assert reason_of(events) == b"stuck: killed at its 2s :timeout"
    assert not (repo / "later-ran").exists()
    assert events[0] == "step-begin stuck"
    assert "step about to hang" in events
    assert events[-2].startswith("step-end stuck killed ")
    for f in ("bg.pid", "setsid.pid"):
        pid = int((repo / f).read_text())
        assert not proc_alive(pid), f"{f}: {pid} survived"


def test_step_leftovers_do_not_outlive_the_step(tmp_path, repo):
    # A background job that let go of stdout does not hold the step open,
    # and is gone once the def has finished.
    d = write_def(tmp_path, """* spawn
#+BEGIN_SRC sh
sleep 304 >/dev/null 2>&1 &
echo $! > bg.pid
echo spawned
#+END_SRC
""")
    res = exec_def(d, repo)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"spawned\n"
    assert not proc_alive(int((repo / "bg.pid").read_text()))


def test_telemetry_arrives_while_the_step_runs(tmp_path, repo):
    d = write_def(tmp_path, """* wait
#+BEGIN_SRC sh
echo "::step::waiting for release"
echo "::thought::is anyone there?"
while [ ! -e release ]; do sleep 0.01; done
echo released
#+END_SRC
""")
    r, w = os.pipe()
    env = clean_env(KEEPER_EVENT_FD=str(w))
    p = subprocess.Popen([KEEPER, "exec-def", str(d)], cwd=repo, env=env,
                         pass_fds=(w,), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    os.close(w)
    seen, buf = [], b""
    try:
        end = time.monotonic() + DEADLINE
        while "thought is anyone there?" not in seen:
            left = end - time.monotonic()
            assert left > 0, f"no telemetry before the deadline: {seen}"
            ready, _, _ = select.select([r], [], [], left)
            if ready:
                chunk = os.read(r, 4096)
                assert chunk, f"event pipe closed early: {seen}"
                buf += chunk
                *lines, buf = buf.split(b"\n")
                seen += [x.decode() for x in lines
                         if not x.startswith(b"output ")]
        # The step is still waiting for the release file: the events came
        # while the run was in flight.
        assert p.poll() is None
        assert seen == ["step-begin wait", "step waiting for release",
                        "thought is anyone there?"]
        (repo / "release").touch()
        out, err = p.communicate(timeout=DEADLINE)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    with os.fdopen(r, "rb") as f:
        rest = (buf + f.read()).decode().splitlines()
    assert p.returncode == 0, err
    assert len(rest) == 1
    kind, name, status, ms = rest[0].split(" ")
    assert (kind, name, status) == ("step-end", "wait", "ok")
    assert int(ms) >= 0
    assert b"::step::waiting for release" in out  # kept in the output too


def test_patterns_from_the_environment(tmp_path, repo):
    d = write_def(tmp_path, """* talk
#+BEGIN_SRC sh
echo "::step::default style"
echo "STEP> custom style"
echo "hmm: a custom thought"
#+END_SRC
""")
    env = clean_env(KEEPER_STEP_PATTERN=r"^STEP> (.*)$",
                    KEEPER_THOUGHT_PATTERN=r"^hmm: .*$")
    res, events = exec_def(d, repo, env=env, events=True)
    assert res.returncode == 0, res.stderr
    assert events[1:3] == ["step custom style", "thought hmm: a custom thought"]


def test_bad_pattern_is_reported(tmp_path, repo):
    d = write_def(tmp_path, "* a\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n")
    res = exec_def(d, repo, env=clean_env(KEEPER_STEP_PATTERN="(unclosed"))
    assert res.returncode == 1
    assert b"bad step pattern" in res.stderr


def test_event_lines_are_bounded(tmp_path, repo):
    d = write_def(tmp_path, """* long
#+BEGIN_SRC sh
printf '::step::'; head -c 20000 /dev/zero | tr '\\0' 'x'; echo
printf '::thought::caf\\303\\251 %.0s' $(seq 1 1200); echo
#+END_SRC
""")
    res, events = exec_def(d, repo, events=True)
    assert res.returncode == 0, res.stderr
    step = events[1]
    assert step.startswith("step xxxx")
    assert len(step.encode()) + 1 <= 4096
    thought = events[2]
    assert len(thought.encode()) + 1 <= 4096
    # cut on a character boundary: it decoded, and ends with a whole word
    assert thought.startswith("thought café")


def test_environment_for_steps(tmp_path, repo):
    d = write_def(tmp_path, """* env
#+BEGIN_SRC sh
for v in AGENT STATE HITS REPEAT RUN_ID REPO DATA; do
  eval "echo $v=\\$KEEPER_$v"
done
echo "EVENT_FD=${KEEPER_EVENT_FD-unset}"
[ -d "$KEEPER_DATA" ] && echo data-is-a-dir
#+END_SRC
""", name="scout.org")
    # By hand: stand-ins.
    res = exec_def(d, repo, "--state", "wake_add")
    assert res.returncode == 0, res.stderr
    got = dict(line.split("=", 1) for line in
               res.stdout.decode().splitlines() if "=" in line)
    assert got["AGENT"] == "scout"
    assert got["STATE"] == "wake_add"
    assert got["HITS"] == "0"
    assert got["REPEAT"] == "1"
    assert got["RUN_ID"].startswith("manual-")
    assert got["REPO"] == os.path.realpath(repo)
    assert b"data-is-a-dir" in res.stdout
    assert not os.path.exists(got["DATA"])  # the stand-in is removed

    # As the daemon runs it: its values pass through untouched.
    data = tmp_path / "data"
    data.mkdir()
    env = clean_env(KEEPER_AGENT="wren", KEEPER_STATE="rem", KEEPER_HITS="2",
                    KEEPER_REPEAT="3", KEEPER_RUN_ID="42",
                    KEEPER_REPO=str(repo), KEEPER_DATA=str(data))
    res, events = exec_def(d, repo, "--state", "rem", env=env, events=True)
    assert res.returncode == 0, res.stderr
    got = dict(line.split("=", 1) for line in
               res.stdout.decode().splitlines() if "=" in line)
    assert got == {"AGENT": "wren", "STATE": "rem", "HITS": "2",
                   "REPEAT": "3", "RUN_ID": "42", "REPO": str(repo),
                   "DATA": str(data), "EVENT_FD": "unset"}
    assert data.is_dir()


def test_huge_output_through_two_steps(tmp_path, repo):
    n = 50_000_000
    d = write_def(tmp_path, f"""* flood
#+BEGIN_SRC sh
head -c {n} /dev/zero | tr '\\0' 'a'; echo
#+END_SRC
* pass
#+BEGIN_SRC sh
cat
echo "::step::passed it on"
#+END_SRC
""")
    out = tmp_path / "result"
    with open(out, "wb") as f:
        res = subprocess.run([KEEPER, "exec-def", str(d)], cwd=repo,
                             env=clean_env(), stdout=f,
                             stderr=subprocess.PIPE, timeout=120)
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size == n + len("\n::step::passed it on\n")
    with open(out, "rb") as f:
        f.seek(n - 3)
        assert f.read() == b"aaa\n::step::passed it on\n"
    assert b"step: passed it on" in res.stderr


def test_human_events_on_stderr(tmp_path, repo):
    d = write_def(tmp_path, """* one
#+BEGIN_SRC sh
echo "::step::first"
#+END_SRC
""")
    res = exec_def(d, repo)
    assert res.returncode == 0
    err = res.stderr.decode()
    assert "== one\n" in err
    assert "   step: first\n" in err
    assert "== one: ok (" in err
    assert err.rstrip().endswith("exec-def: done")


def test_signal_death_is_failure(tmp_path, repo):
    d = write_def(tmp_path, "* die\n#+BEGIN_SRC sh\nkill -9 $$\n#+END_SRC\n")
    res = exec_def(d, repo)
    assert res.returncode == 128 + 9
    assert b"killed by signal 9" in res.stderr
