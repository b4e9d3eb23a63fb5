"""SPEC §5a, calendar time, driven through the real daemon under Debian's
libfaketime: the daemon's clock starts at a chosen instant and runs
hundreds or thousands of times faster ("@2026-03-28 23:00:00 x36000":
an hour in 0.1 s), so days pass in seconds; the clock is stepped by
rewriting FAKETIME_TIMESTAMP_FILE. Every instant below is written in
UTC, with the local time it stands for beside it; the daemon runs with
TZ=UTC, each member names its zone.

Under libfaketime the monotonic clock is faked along with the wall clock
(a step moves both, and the kernel never hears of it), so these tests see
a step through the fires' own re-planning and the cursor, not through the
timerfd a real clock change triggers; tests/unit/test_fire.c has the
steps' rules exactly."""
import calendar
import json
import os
import subprocess

import pytest

from conftest import KEEPER, crew_text, ok_def, wait_for

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
CRON_DAILY = "30 2 * * *"
STOCKHOLM = "Europe/Stockholm"


def utc(y, mo, d, h, mi):
    """Unix ms of a UTC time."""
    return calendar.timegm((y, mo, d, h, mi, 0)) * 1000


def ft_env(start=None, speed=None, rcfile=None):
    """The environment of a process under libfaketime: from start at
    speed, or reading the clock from rcfile (ft_set())."""
    if not os.path.exists(LIBFAKETIME):
        pytest.fail("%s is missing: install the Debian package faketime "
                    "(it is in .ci/deps)" % LIBFAKETIME, pytrace=False)
    env = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_DONT_RESET": "1",
           "TZ": "UTC"}
    if rcfile:
        env["FAKETIME_TIMESTAMP_FILE"] = rcfile
        env["FAKETIME_NO_CACHE"] = "1"
    else:
        env["FAKETIME"] = "@%s x%s" % (start, speed)
    if "ASAN_OPTIONS" in os.environ:
        env["ASAN_OPTIONS"] = (os.environ["ASAN_OPTIONS"] +
                               ":verify_asan_link_order=0")
    return env


def ft_set(rcfile, start, speed):
    """Set the faked clock of every process reading rcfile: it jumps to
    start and runs on at speed."""
    tmp = rcfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("@%s x%s\n" % (start, speed))
    os.replace(tmp, rcfile)


def cal_rows(crew, agent):
    return [r for r in crew.closed(agent)]


def summary(rows):
    return [(r["trigger"], r["outcome"], r["scheduled"]) for r in rows]


def daily_crew(crew, **props):
    crew.member("night", "echo ok", schedule=CRON_DAILY, tz=STOCKHOLM,
                **props)


def witness(crew, every="5m"):
    """An interval member whose rows show how far the daemon's clock
    has got."""
    crew.member("w", "true", interval=every)


def witness_past(crew, ms, after_id=0):
    """The daemon's clock has passed ms: a witness tick started after."""
    return any(r["id"] > after_id and (r["started"] or 0) >= ms
               for r in crew.closed("w"))


@pytest.mark.parametrize("start,want", [
    # 02:30 does not exist on 2026-03-29: it fires at 03:00 CEST.
    ("2026-03-28 23:00:00", [utc(2026, 3, 29, 1, 0),
                             utc(2026, 3, 30, 0, 30)]),
    # 02:30 happens twice on 2026-10-25: it fires at the first, CEST.
    ("2026-10-24 23:00:00", [utc(2026, 10, 25, 0, 30),
                             utc(2026, 10, 26, 1, 30)]),
], ids=["spring-forward", "fall-back"])
def test_daily_across_the_2026_changes(crew, start, want):
    """A daily 02:30 member in Stockholm fires exactly once each day
    across both 2026 transitions, at the times SPEC §5a's DST rule
    gives."""
    daily_crew(crew)
    crew.write_crew()
    crew.start(env=ft_env(start, 36000))
    wait_for(lambda: len(cal_rows(crew, "night")) >= 2, timeout=30,
             what="two nights' fires")
    assert crew.stop() == 0
    assert summary(cal_rows(crew, "night")) == [
        ("schedule", "done", want[0]), ("schedule", "done", want[1])]


def down_three_days(crew, **props):
    """The daily member fires on 2026-01-10 at 02:30 CET, then keeper is
    down until 10:00 on the 13th."""
    daily_crew(crew, **props)
    crew.write_crew()
    crew.start(env=ft_env("2026-01-10 01:00:00", 3600))
    wait_for(lambda: cal_rows(crew, "night"), what="the first night")
    assert crew.stop() == 0
    assert summary(cal_rows(crew, "night")) == [
        ("schedule", "done", utc(2026, 1, 10, 1, 30))]
    return crew.start(env=ft_env("2026-01-13 09:00:00", 60))


def status_next(crew, agent):
    doc = json.loads(crew.keeper("status", "--data", crew.data,
                                 "--json").stdout)
    return [a for a in doc["agents"] if a["name"] == agent][0]["next_tick"]


def test_restart_after_three_days_down(crew):
    """Three fires missed while down: the newest runs once as catch-up,
    the two before it leave missed rows."""
    down_three_days(crew)
    wait_for(lambda: any(r["trigger"] == "catch-up"
                         for r in cal_rows(crew, "night")),
             what="the catch-up")
    wait_for(lambda: status_next(crew, "night") == utc(2026, 1, 14, 1, 30),
             what="the next fire armed")
    wait_for(lambda: 'keeper_missed_fires_total{agent="night"} 2' in
             crew.get("/metrics")[2].decode(), what="the missed in /metrics")
    assert crew.stop() == 0
    assert summary(cal_rows(crew, "night")) == [
        ("schedule", "done", utc(2026, 1, 10, 1, 30)),
        ("schedule", "missed", utc(2026, 1, 11, 1, 30)),
        ("schedule", "missed", utc(2026, 1, 12, 1, 30)),
        ("catch-up", "done", utc(2026, 1, 13, 1, 30))]
    missed = [r for r in cal_rows(crew, "night") if r["outcome"] == "missed"]
    assert all(r["started"] in (None, 0) for r in missed)
    assert "catch-up" in missed[0]["error"]


def test_catch_up_zero_runs_none(crew):
    """:CATCH-UP: 0: no catch-up; all three fires are missed rows."""
    down_three_days(crew, catch_up="0")
    wait_for(lambda: status_next(crew, "night") == utc(2026, 1, 14, 1, 30),
             what="the next fire armed")
    # Counted at once, with no tick to carry them (SPEC §10).
    wait_for(lambda: 'keeper_missed_fires_total{agent="night"} 3' in
             crew.get("/metrics")[2].decode(), what="the missed in /metrics")
    assert crew.stop() == 0
    assert summary(cal_rows(crew, "night")) == [
        ("schedule", "done", utc(2026, 1, 10, 1, 30)),
        ("schedule", "missed", utc(2026, 1, 11, 1, 30)),
        ("schedule", "missed", utc(2026, 1, 12, 1, 30)),
        ("schedule", "missed", utc(2026, 1, 13, 1, 30))]
    assert "CATCH-UP: 0" in cal_rows(crew, "night")[-1]["error"]


def test_clock_set_back_an_hour_does_not_fire_again(crew):
    """The 02:30 fire ran; the clock goes back to 01:31 and passes 02:30
    again, in the running daemon and in one started after the step:
    nothing fires twice."""
    daily_crew(crew)
    witness(crew)
    crew.write_crew()
    rc = crew.path("faketime.rc")
    ft_set(rc, "2026-01-10 01:00:00", 3600)
    crew.start(env=ft_env(rcfile=rc))
    wait_for(lambda: cal_rows(crew, "night"), what="the night's fire")
    wait_for(lambda: witness_past(crew, utc(2026, 1, 10, 1, 31)),
             what="the clock past 02:31")
    last = max(r["id"] for r in crew.closed("w"))
    ft_set(rc, "2026-01-10 00:31:00", 3600)         # 01:31 CET
    wait_for(lambda: witness_past(crew, utc(2026, 1, 10, 1, 45), last),
             what="the clock past 02:45 again")
    assert crew.stop() == 0
    # A daemon started now starts its clock at 01:31 (the file's time).
    ft_set(rc, "2026-01-10 00:31:00", 3600)
    crew.start(env=ft_env(rcfile=rc))
    last = max(r["id"] for r in crew.closed("w"))
    wait_for(lambda: any(r["id"] > last and r["started"] <
                         utc(2026, 1, 10, 1, 30) for r in crew.closed("w")),
             what="a tick before 02:30, after the restart")
    wait_for(lambda: witness_past(crew, utc(2026, 1, 10, 1, 45), last),
             what="the clock past 02:45 after the restart")
    assert crew.stop() == 0
    assert summary(cal_rows(crew, "night")) == [
        ("schedule", "done", utc(2026, 1, 10, 1, 30))]


def test_clock_set_forward_a_day_fires_once(crew):
    """Stepped from the 10th to 05:00 on the 11th: the 11th's 02:30 fire
    became due and runs once."""
    daily_crew(crew)
    witness(crew)
    crew.write_crew()
    rc = crew.path("faketime.rc")
    ft_set(rc, "2026-01-10 01:00:00", 3600)
    crew.start(env=ft_env(rcfile=rc))
    wait_for(lambda: cal_rows(crew, "night"), what="the first fire")
    ft_set(rc, "2026-01-11 04:00:00", 3600)         # 05:00 CET
    wait_for(lambda: len(cal_rows(crew, "night")) >= 2,
             what="the fire that became due")
    wait_for(lambda: witness_past(crew, utc(2026, 1, 11, 4, 20)),
             what="the clock well past the step")
    assert crew.stop() == 0
    rows = cal_rows(crew, "night")
    assert [r["scheduled"] for r in rows] == [utc(2026, 1, 10, 1, 30),
                                              utc(2026, 1, 11, 1, 30)]
    assert [r["outcome"] for r in rows] == ["done", "done"]


def test_two_restarts_in_a_row_never_double_a_fire(crew):
    """Each restart starts the clock at 02:25 again, before the fire
    that already ran: it never runs again, nor is it missed."""
    daily_crew(crew)
    witness(crew, "1m")
    crew.write_crew()
    for n in range(3):
        crew.start(env=ft_env("2026-01-10 01:25:00", 600))
        if n == 0:
            wait_for(lambda: cal_rows(crew, "night"), what="the fire")
        last = max([r["id"] for r in crew.closed("w")] or [0])
        wait_for(lambda: witness_past(crew, utc(2026, 1, 10, 1, 34), last),
                 what="the clock past 02:34 (start %d)" % (n + 1))
        assert crew.stop() == 0
    assert summary(cal_rows(crew, "night")) == [
        ("schedule", "done", utc(2026, 1, 10, 1, 30))]


AGENDA_CREW = """#+TITLE: t
#+BOOT-GRACE: 0
#+STAGGER: 0
* night
:PROPERTIES:
:DEF: %(def)s
:SCHEDULE: 30 2 * * *
:TZ: Europe/Stockholm
:END:
* ny
:PROPERTIES:
:DEF: %(def)s
:SCHEDULE: 0 */6 * * *
:TZ: America/New_York
:JITTER: 10m
:END:
* briefing
SCHEDULED: <2026-03-28 Sat 18:00 +1d>
:PROPERTIES:
:DEF: %(def)s
:TZ: Asia/Kolkata
:END:
* slow
:PROPERTIES:
:DEF: %(def)s
:INTERVAL: 8h
:END:
"""


def test_agenda_matches_the_fires_that_happen(crew):
    """keeper agenda (from the daemon) lists the next 24 hours' calendar
    fires; the fires that then happen are exactly those, at those times.
    /_agenda has the same list."""
    d = ok_def(crew, "a")
    crew.write("crew.org", AGENDA_CREW % {"def": d})
    env = ft_env("2026-03-28 11:00:00", 7200)
    crew.start(env=env)
    p = subprocess.run([KEEPER, "agenda", "--data", crew.data, "--json"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, **env))
    assert p.returncode == 0, p.stderr
    agenda = json.loads(p.stdout)
    cal = [(e["agent"], e["at"]) for e in agenda if e["kind"] == "calendar"]
    assert [e["at"] for e in agenda] == sorted(e["at"] for e in agenda)
    kinds = {e["agent"]: (e["kind"], e["schedule"]) for e in agenda}
    assert kinds["night"] == ("calendar", "30 2 * * *")
    assert kinds["briefing"] == ("calendar", "<2026-03-28 Sat 18:00 +1d>")
    assert kinds["slow"] == ("interval", "8h")
    assert ("night", utc(2026, 3, 29, 1, 0)) in cal
    assert ("briefing", utc(2026, 3, 28, 12, 30)) in cal   # 18:00 IST
    local = {(e["agent"], e["at"]): e["local"] for e in agenda}
    assert local[("night", utc(2026, 3, 29, 1, 0))] == \
        "2026-03-29T03:00:00+02:00"
    status, _, body = crew.get("/_agenda")
    assert status == 200
    web = [(e["agent"], e["at"]) for e in json.loads(body)
           if e["kind"] == "calendar"]
    assert web[:3] == cal[:3]
    horizon = max(at for _, at in cal)
    fired = lambda: sorted(   # noqa: E731
        (r["agent"], r["scheduled"]) for a in ("night", "ny", "briefing")
        for r in crew.closed(a) if r["scheduled"] <= horizon)
    wait_for(lambda: len(fired()) >= len(cal), timeout=40,
             what="the day's fires")
    wait_for(lambda: any(r["scheduled"] > horizon for a in
                         ("night", "ny", "briefing")
                         for r in crew.closed(a)),
             timeout=40, what="a fire past the horizon")
    assert crew.stop() == 0
    assert fired() == sorted(cal)
    assert all(r["outcome"] == "done" and r["trigger"] == "schedule"
               for a in ("night", "ny", "briefing") for r in crew.closed(a))


def test_agenda_without_a_daemon(crew):
    """keeper agenda reads the manifest and the state files when no
    daemon runs: the cursor, the pause."""
    daily_crew(crew)
    crew.write_crew()
    env = ft_env("2026-01-10 12:00:00", 1)
    p = subprocess.run([KEEPER, "agenda", "--crew", crew.crew, "--data",
                        crew.data, "--json", "--hours", "48"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, **env))
    assert p.returncode == 0, p.stderr
    got = [(e["agent"], e["at"], e["paused"]) for e in json.loads(p.stdout)]
    assert got == [("night", utc(2026, 1, 11, 1, 30), False),
                   ("night", utc(2026, 1, 12, 1, 30), False)]
    p = subprocess.run([KEEPER, "agenda", "--crew", crew.crew, "--data",
                        crew.data], capture_output=True, text=True,
                       timeout=30, env=dict(os.environ, **env))
    assert "2026-01-11T02:30:00+01:00 night" in p.stdout
    # keeper status without a daemon: a calendar member's NEXT is known.
    p = subprocess.run([KEEPER, "status", "--crew", crew.crew, "--data",
                        crew.data, "--json"], capture_output=True,
                       text=True, timeout=30, env=dict(os.environ, **env))
    doc = json.loads(p.stdout)
    assert doc["agents"][0]["next_tick"] == utc(2026, 1, 11, 1, 30)
    assert doc["agents"][0]["calendar"] == CRON_DAILY


def test_check_reports_calendar_errors(crew):
    """keeper check: cron fields out of range, two schedules, an unknown
    zone, each as FILE:LINE: message; exit 65."""
    d = ok_def(crew, "a")
    crew.write("crew.org", crew_text([
        ("a", {"DEF": d, "SCHEDULE": "0 25 * * *"}),
        ("b", {"DEF": d, "INTERVAL": "1h", "SCHEDULE": "@daily"}),
        ("c", {"DEF": d, "SCHEDULE": "@daily", "TZ": "Mars/Olympus"}),
    ]))
    p = crew.keeper("check", crew.crew)
    assert p.returncode == 65
    out = p.stdout + p.stderr
    assert "crew.org:4: :SCHEDULE: field 2 (hour): 25 is out of range " \
        "0-23" in out
    assert "crew.org:10: member 'b' has more than one of :INTERVAL:, " \
        ":SCHEDULE: and SCHEDULED: (give one)" in out
    assert "crew.org:16: unknown time zone 'Mars/Olympus' in :TZ:" in out


from test_s10_dashboard import browser  # noqa: E402,F401 (the fixture)


def test_dashboard_shows_the_calendar(crew, browser):  # noqa: F811
    """In headless Chromium: a calendar member's schedule in words with
    its zone, its next fire as a time of day, and the agenda panel
    listing the coming fires of both members, the calendar's with its
    zone's offset."""
    from conftest import require_module
    WebDriverWait = require_module("selenium.webdriver.support.ui",
                                   "python3-selenium").WebDriverWait
    crew.member("brief", "echo ok", schedule="0 6 * * 1-5", tz=STOCKHOLM)
    crew.member("slow", "echo ok", interval="8h")
    crew.write_crew(boot_grace="1h")
    crew.start()
    browser.get("http://" + crew.http_addr() + "/")

    def page(d):
        return d.execute_script("""
            var out = {agents: {}, agenda: []};
            document.querySelectorAll('.agent').forEach(function (r) {
              var s = r.querySelector('[data-role="schedule"]');
              var f = r.querySelector('[data-role="fires"]');
              out.agents[r.dataset.agent] = [s ? s.textContent : null,
                                             f ? f.textContent : null];
            });
            document.querySelectorAll('#agenda li').forEach(function (li) {
              out.agenda.push(li.textContent);
            });
            return out;""")
    got = WebDriverWait(browser, 45, poll_frequency=0.05).until(
        lambda d: (lambda p: p if p["agenda"] and p["agents"].get(
            "brief", [None, None])[1] else None)(page(d)))
    assert got["agents"]["brief"][0] == \
        "weekdays at 06:00 Europe/Stockholm"
    assert got["agents"]["slow"] == ["every 8h", None]
    brief = [t for t in got["agenda"] if "brief" in t]
    slow = [t for t in got["agenda"] if "slow" in t]
    assert slow, got["agenda"]
    # A weekday's 06:00 in Stockholm is at most four days away (Friday
    # evening to Monday), so the next 24 hours may hold none; when it
    # does, it is 06:00 at +01:00 or +02:00.
    for t in brief:
        assert "06:00 +0" in t, t
    errors = [e for e in browser.get_log("browser")
              if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert crew.stop() == 0
