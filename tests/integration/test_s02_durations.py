"""SPEC §2, durations: every form a duration may take (90s, 15m, 2h, 1d,
250ms, compounds such as 1h30m, a bare integer of milliseconds) is
accepted and schedules what it says; anything else is a config error
reported as FILE:LINE: message."""
import json

import pytest

from conftest import ok_def, wait_for


@pytest.mark.parametrize("d", ["90s", "15m", "2h", "1d", "250ms", "1h30m",
                               "200"])
def test_s2_duration_forms_accepted(crew, d):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": d})])
    r = crew.keeper("check", "--strict", crew.crew)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("d", ["soon", "5x", "1.5h", "-3s", "m", "1h 30m"])
def test_s2_bad_duration_is_file_line_error(crew, d):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": d})])
    # the :INTERVAL: line is line 7: 3 keywords, heading, PROPERTIES, DEF
    want = "%s:7:" % crew.crew
    r = crew.keeper("check", crew.crew)
    assert r.returncode == 65, r.stderr
    assert want in r.stderr, r.stderr
    r = crew.run_once("a")
    assert r.returncode == 65
    assert want in r.stderr + r.stdout


def test_s2_bare_integer_is_milliseconds(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "150"})])
    d = crew.start()
    wait_for(lambda: len(crew.closed("a")) >= 3, what="three ticks")
    crew.stop(d)
    rows = crew.closed("a")
    # The fixed cadence (SPEC 5's default): due 150 ms after the last was
    # due, or at once after a run that overran.
    for x, y in zip(rows, rows[1:]):
        gap = y["scheduled"] - x["scheduled"]
        assert 150 <= gap < 1000, gap


def test_s2_compound_duration_schedules_the_sum(crew):
    crew.write_crew([("a", {"DEF": ok_def(crew), "INTERVAL": "1h30m"})])
    d = crew.start()
    wait_for(lambda: crew.closed("a"), what="first tick")

    def nxt():
        a = json.loads(crew.keeper("status", "--data", crew.data,
                                   "--json").stdout)["agents"][0]
        return a if a["next_tick"] else None
    a = wait_for(nxt, what="next tick")
    ended = crew.closed("a")[0]["ended"]
    assert abs(a["next_tick"] - ended - 5400000) < 1000, a
    crew.stop(d)
