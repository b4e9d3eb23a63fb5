"""CLI surface of the core commands (SPEC §9): usage, help, status,
history."""
import json

from conftest import sh_def


def test_usage_errors_exit_64(crew):
    for args in (["run"], ["run", "--bogus"], ["run-once"],
                 ["status", "extra"], ["history", "--limit", "x"],
                 ["run", "--crew", "c.org", "--interval", "soon"]):
        r = crew.keeper(*args)
        assert r.returncode == 64, (args, r.stderr)
        assert r.stderr.strip(), args


def test_help(crew):
    for cmd in ("run", "run-once", "status", "history"):
        r = crew.keeper(cmd, "--help")
        assert r.returncode == 0
        assert r.stdout.startswith("usage: keeper " + cmd)


def test_status_and_history_without_daemon(crew):
    crew.write("agents/ok.org", sh_def("echo 'all good'"))
    crew.write("agents/nw.org", sh_def("echo NO-WORK"))
    crew.write_crew([("ok", {"DEF": "agents/ok.org"}),
                     ("nw", {"DEF": "agents/nw.org"}),
                     ("never", {"DEF": "agents/ok.org"})])
    assert crew.run_once("ok").returncode == 0
    assert crew.run_once("nw").returncode == 3
    assert crew.run_once("nw").returncode == 3
    r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data,
                    "--json")
    assert r.returncode == 0, r.stderr
    agents = json.loads(r.stdout)["agents"]
    assert [a["name"] for a in agents] == ["ok", "nw", "never"]
    assert agents[0]["last_outcome"] == "done"
    assert agents[1]["streak"] == 2
    assert agents[2]["last_run"] == 0
    r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "HITS", "LAST", "NEXT",
                                "LEFT", "OUTCOME", "STREAK", "RUNNING"]
    assert lines[1].split()[0] == "ok"
    r = crew.keeper("history", "--data", crew.data, "--json")
    rows = json.loads(r.stdout)
    assert [x["outcome"] for x in rows] == ["no_work", "no_work", "done"]
    assert rows[2]["output_head"].strip() == "all good"
    r = crew.keeper("history", "nw", "--data", crew.data, "--limit", "1",
                    "--json")
    assert len(json.loads(r.stdout)) == 1
    r = crew.keeper("history", "--data", crew.data)
    assert "all good" in r.stdout


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


def test_unknown_agent_is_a_config_error(crew):
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write_crew([("ok", {"DEF": "agents/ok.org"})])
    r = crew.run_once("nobody")
    assert r.returncode == 65
    assert "nobody" in r.stdout + r.stderr


def test_status_shows_start_before_the_first_tick(crew):
    # A lifecycle member that never ticked is at (START, 0), with or
    # without a daemon, not at an empty state.
    crew.write("agents/ok.org", sh_def("echo ok"))
    crew.write("loop.org", "#+START: b\n"
               "* a\n:PROPERTIES:\n:NEXT: b\n:END:\n"
               "* b\n:PROPERTIES:\n:REPEAT: 2\n:NEXT: a\n:END:\n")
    crew.write_crew([("w", {"DEF": "agents/ok.org", "INTERVAL": "1h",
                            "LIFECYCLE": "loop.org"})],
                    boot_grace="1h")

    def state():
        r = crew.keeper("status", "--crew", crew.crew, "--data", crew.data,
                        "--json")
        assert r.returncode == 0, r.stderr
        a = json.loads(r.stdout)["agents"][0]
        return a["state"], a["hits"]

    assert state() == ("b", 0)
    d = crew.start()
    assert state() == ("b", 0)
    assert crew.stop(d) == 0
