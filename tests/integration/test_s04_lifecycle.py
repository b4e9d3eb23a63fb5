"""The lifecycle through run-once against the real binary (SPEC §4, §9)."""
import os

from conftest import sh_def

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
