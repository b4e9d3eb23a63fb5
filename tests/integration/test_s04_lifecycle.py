"""SPEC §4, the lifecycle spec: wake and rem states, REPEAT, NEXT and
#+START:, the transition rule for each outcome, MIN-INTERVAL gates, a
state's own :DEF:, a spec that does not parse or a position whose state
is gone, and dreams (their counts, the journal in the data directory,
never committed). Mostly one run-once tick at a time."""
import os
import subprocess

from conftest import SHORT_LOOP, ok_def, sh_def, wait_for

LOOP = """#+START: wake_add
* wake_add
:PROPERTIES:
:KIND: wake
:REPEAT: 3
:NEXT: wake_audit
:END:
* wake_audit
:PROPERTIES:
:NEXT: rem
:END:
* rem
:PROPERTIES:
:KIND: rem
:NEXT: wake_plan
:MIN-INTERVAL: 10m
:END:
* wake_plan
:PROPERTIES:
:NEXT: wake_add
:END:
"""

# Each run pops the next outcome from PLAN and records what it saw.
SCRIPTED = """plan=%(root)s/plan
o=$(head -n1 "$plan"); sed -i 1d "$plan"
echo "$KEEPER_AGENT $KEEPER_STATE $KEEPER_HITS $KEEPER_REPEAT $(pwd)" >> %(root)s/seen
case "$o" in
  done) echo "did $KEEPER_STATE";;
  fail) echo oops; exit 1;;
  nowork) echo "  no-work: nothing to add";;
esac"""


def setup_writer(crew, plan):
    crew.write("plan", "".join(p + "\n" for p in plan))
    crew.write("agents/writer.org", sh_def(SCRIPTED % {"root": crew.root}))
    crew.write("crews/writer-loop.org", LOOP)
    crew.write_crew([("wren", {"DEF": "agents/writer.org",
                               "INTERVAL": "1h",
                               "LIFECYCLE": "crews/writer-loop.org"})],
                    repo="repo")


def test_worked_trace(crew):
    # done, failed, done, no_work, done, rem, then round the loop back to
    # rem within MIN-INTERVAL: gated.
    setup_writer(crew, ["done", "fail", "done", "nowork", "done",
                        "done", "nowork", "done"])
    steps = [  # (exit status, position after)
        (0, ("wake_add", 1)),
        (1, ("wake_add", 1)),       # failed holds
        (0, ("wake_add", 2)),
        (3, ("wake_audit", 0)),     # no_work collapses the repeats
        (0, ("rem", 0)),
        (0, ("wake_plan", 0)),      # the dream
        (0, ("wake_add", 0)),
        (3, ("wake_audit", 0)),
        (0, ("rem", 0)),
        (0, ("rem", 0)),            # gated: 10m have not passed
    ]
    for i, (code, pos) in enumerate(steps):
        r = crew.run_once("wren")
        assert r.returncode == code, (i, r.stdout, r.stderr)
        assert crew.pos("wren") == pos, i
        if i == 0:   # this run's ordinal, as a commit subject has it
            assert "wren: done in wake_add 1/3 -> wake_add 1" in r.stdout
        if i == 9:   # a gated tick ran nothing: nothing to count
            assert "wren: gated in rem 0/1 -> rem 0" in r.stdout, r.stdout
    outcomes = [r["outcome"] for r in crew.rows("wren")]
    assert outcomes == ["done", "failed", "done", "no_work", "done",
                        "dreamed", "done", "no_work", "done", "gated"]
    seen = open(crew.path("seen")).read().split("\n")
    repo = os.path.realpath(crew.repo)
    assert seen[0] == "wren wake_add 0 3 " + repo
    assert seen[3] == "wren wake_add 2 3 " + repo
    assert seen[4].startswith("wren wake_audit 0 1 ")
    # the def never ran in rem: the sixth run is wake_plan
    assert seen[5].startswith("wren wake_plan 0 1 ")
    dreams = open(os.path.join(crew.data, "dreams-wren.org")).read()
    assert dreams.count("* wren dreamed in rem") == 1
    assert ":DONE: 3" in dreams and ":FAILED: 1" in dreams
    # every row is closed, with trigger run-once
    assert all(r["trigger"] == "run-once" for r in crew.rows("wren"))
    assert all(r["ended"] for r in crew.rows("wren"))


def test_position_resumes_and_unknown_state_restarts(crew):
    setup_writer(crew, ["done", "done"])
    os.makedirs(crew.data)
    crew.write("data/lifecycle-pos-wren", "wake_audit 0\n")
    r = crew.run_once("wren")
    assert r.returncode == 0, r.stderr
    assert crew.pos("wren") == ("rem", 0)
    assert open(crew.path("seen")).read().split()[1] == "wake_audit"
    # a state that no longer exists restarts at START, with a warning
    crew.write("data/lifecycle-pos-wren", "vanished 2\n")
    r = crew.run_once("wren")
    assert r.returncode == 0, r.stderr
    assert "vanished" in r.stderr or "restarting" in r.stderr
    assert crew.pos("wren") == ("wake_add", 1)


def test_garbage_position_is_ignored(crew):
    setup_writer(crew, ["done"])
    os.makedirs(crew.data)
    crew.write("data/lifecycle-pos-wren", "\x00\x01garbage")
    crew.write("data/keeper-last-run-wren", "not a time")
    r = crew.run_once("wren")
    assert r.returncode == 0, r.stderr
    assert crew.pos("wren") == ("wake_add", 1)
    last = float(open(os.path.join(crew.data,
                                   "keeper-last-run-wren")).read())
    assert last > 1.6e9


def test_invalid_lifecycle_holds_and_reports(crew):
    setup_writer(crew, ["done"])
    crew.write("crews/writer-loop.org",
               LOOP.replace(":NEXT: rem", ":NEXT: nowhere"))
    os.makedirs(crew.data)
    crew.write("data/lifecycle-pos-wren", "wake_audit 0\n")
    r = crew.run_once("wren")
    assert r.returncode == 65, (r.stdout, r.stderr)
    assert crew.pos("wren") == ("wake_audit", 0)
    row = crew.rows("wren")[-1]
    assert row["outcome"] == "error"
    assert "writer-loop.org:" in row["error"]
    assert not os.path.exists(crew.path("seen"))


def test_broken_def_is_a_config_error(crew):
    setup_writer(crew, ["done"])
    crew.write("agents/writer.org", "* step\n#+BEGIN_SRC sh\necho never\n")
    r = crew.run_once("wren")
    assert r.returncode == 65, (r.stdout, r.stderr)
    row = crew.rows("wren")[-1]
    assert row["outcome"] == "error" and row["started"] is None
    assert "writer.org:" in row["error"]
    assert crew.pos("wren") == ("wake_add", 0)


def lc_crew(crew, loop, body="echo did $KEEPER_STATE", **props):
    crew.write("loop.org", loop)
    m = {"DEF": ok_def(crew, "lc", body), "LIFECYCLE": "loop.org",
         "INTERVAL": "1h"}
    m.update(props)
    crew.write_crew([("w", m)], repo="repo")


def test_s4_start_defaults_to_first_state_repeat_to_1(crew):
    lc_crew(crew, (SHORT_LOOP % {"start": "a"}).split("\n", 1)[1]
            .replace(":REPEAT: 2\n", ""))
    assert crew.run_once("w").returncode == 0
    assert crew.pos("w") == ("b", 0)
    with open(os.path.join(crew.data, "lifecycle-pos-w")) as f:
        assert f.readline() == "b 0\n"


def test_s4_done_counts_to_repeat(crew):
    lc_crew(crew, SHORT_LOOP % {"start": "a"})
    assert crew.run_once("w").returncode == 0
    assert crew.pos("w") == ("a", 1)
    assert crew.run_once("w").returncode == 0
    assert crew.pos("w") == ("b", 0)


def test_s4_killed_holds(crew):
    lc_crew(crew, SHORT_LOOP % {"start": "a"}, body="sleep 30",
            TIMEOUT="300ms")
    r = crew.run_once("w")
    assert r.returncode == 124, r.stdout + r.stderr
    assert crew.pos("w") == ("a", 0)
    assert crew.rows("w")[-1]["outcome"] == "killed"


def test_s4_unknown_state_restarts_at_start_with_warning(crew):
    lc_crew(crew, SHORT_LOOP % {"start": "b"})
    os.makedirs(crew.data)
    crew.write("data/lifecycle-pos-w", "ghost 1\n")
    r = crew.run_once("w")
    assert r.returncode == 0, r.stderr
    assert "ghost" in r.stderr
    # ran in START=b, not in the first state a
    assert crew.rows("w")[-1]["state"] == "b"
    assert crew.pos("w") == ("r", 0)


def test_s4_bad_next_in_daemon_records_error_and_holds(crew):
    lc_crew(crew, (SHORT_LOOP % {"start": "a"}).replace(":NEXT: b",
                                                         ":NEXT: zz"),
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
    lc_crew(crew, SHORT_LOOP % {"start": "r"})
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


def test_s4_dream_row_has_the_counts(crew):
    lc_crew(crew, SHORT_LOOP % {"start": "a"})
    for _ in range(4):          # a, a, b, then r dreams
        assert crew.run_once("w").returncode == 0
    row = crew.rows("w")[-1]
    assert row["outcome"] == "dreamed"
    words = dict(w.split("=", 1) for w in row["output_head"].split())
    assert words["runs"] == "3" and words["done"] == "3", row
    assert words["failed"] == "0" and words["commits"] == "0", row
