"""SPEC §10, the dashboard (GET /) for people, in real headless Chromium
against the real daemon: every agent rendered, the running state changing
live when a run starts, the last day's strip of runs as history has them
(a failed run's colour and hover text from its row), the sparkline, the
schedule in words, the gate's strip, readable at 1400 and 390 px, no
console errors. Screenshots go to build/artifacts/. Chromium, its driver
and selenium are dependencies (.ci/deps): missing, the test fails and
names the package."""

import json
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import (KEEPER, agent_commit, require, require_module,
                      wait_for)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = pathlib.Path(KEEPER).resolve().parent / "artifacts"


def agent_def(path, gate=None, write=None):
    wait = (f"i=0; while [ ! -e {gate} ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done\n"
            if gate else "")
    if write:
        wait += f"echo '{path.stem} was here' > {write}\n"
    path.write_text(f"""#+TITLE: {path.stem}
* work
#+begin_src sh
echo "::step::reading the wire"
echo "::thought::{path.stem} is thinking"
{wait}echo "filed"
#+end_src
""")


LIFECYCLE = """#+START: wake_add
* wake_add
:PROPERTIES:
:REPEAT: 3
:NEXT: rem
:END:
* rem
:PROPERTIES:
:KIND: rem
:NEXT: wake_add
:END:
"""


@pytest.fixture
def daemon(crew):
    """desk and wren tick at boot; scout is idle until the test asks the
    daemon for a tick (run-once), and its run holds until the gate file
    exists, so the page can watch it go from idle to running and back."""
    root, data = pathlib.Path(crew.root), pathlib.Path(crew.data)
    data.mkdir()
    agent_commit(crew.repo, "desk", "README", "the newsroom\n",
                 "three stories ranked")
    gate = root / "gate"
    agent_def(root / "desk.org", write="desk.txt")
    agent_def(root / "wren.org")
    agent_def(root / "scout.org", gate)
    (root / "loop.org").write_text(LIFECYCLE)
    # scout ran just now: its next tick is an hour away, until the test
    # asks for one with run-once.
    (data / "keeper-last-run-scout").write_text("%.3f\n" % time.time())
    crew.write("crew.org", """#+TITLE: newsroom
#+BOOT-GRACE: 50ms
#+STAGGER: 0
#+CONCURRENCY: 2
* desk
:PROPERTIES:
:DEF: desk.org
:INTERVAL: 1h
:END:
* wren
:PROPERTIES:
:DEF: wren.org
:INTERVAL: 1h
:LIFECYCLE: loop.org
:END:
* scout
:PROPERTIES:
:DEF: scout.org
:INTERVAL: 1h
:END:
""")
    proc = crew.start()
    once = []

    def run_once(name):
        once.append(subprocess.Popen(
            [KEEPER, "run-once", name, "--crew", crew.crew, "--data",
             crew.data], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
    yield {"url": "http://" + crew.http_addr() + "/", "gate": gate,
           "run_once": run_once}
    gate.touch()
    for p in once:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    code = crew.stop(proc, timeout=30)
    assert code == 0, crew.log(proc)[-3000:]


@pytest.fixture
def browser():
    require(CHROMIUM, "chromium")
    require(CHROMEDRIVER, "chromium-driver")
    webdriver = require_module("selenium.webdriver", "python3-selenium")
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="keeper-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in ("--headless", "--no-sandbox", "--disable-gpu",
              "--disable-quic", "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--window-size=1280,900", "--user-data-dir=" + profile):
        opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(90)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def row(drv, name):
    """One agent row as plain data, read in one go (the page re-renders
    rows on every event, so element handles go stale)."""
    return drv.execute_script("""
        var r = document.querySelector('.agent[data-agent="' +
            arguments[0] + '"]');
        if (!r) return null;
        return {
          running: r.dataset.running,
          status: r.querySelector('[data-role="status"]').textContent,
          pills: Array.from(r.querySelectorAll('.st')).map(
              function (p) { return p.textContent; }),
          current: Array.from(r.querySelectorAll('.st.cur')).map(
              function (p) { return p.textContent; })
        };""", name)


def row_state(drv, name):
    r = row(drv, name)
    return r and r["running"]


def test_dashboard_live(daemon, browser):
    By = require_module("selenium.webdriver.common.by",
                        "python3-selenium").By
    WebDriverWait = require_module("selenium.webdriver.support.ui",
                                   "python3-selenium").WebDriverWait
    browser.get(daemon["url"])
    wait = WebDriverWait(browser, 45, poll_frequency=0.05)
    # Every agent is rendered, in manifest order.
    wait.until(lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('.agent')).map("
        "function (e) { return e.dataset.agent; })") ==
        ["desk", "wren", "scout"])
    # The lifecycle is drawn as its states, the current one highlighted
    # with its hits (wren's first run is done: wake_add 1/3).
    wait.until(lambda d: (row(d, "wren") or {}).get("current") ==
               ["wake_add 1/3"])
    assert row(browser, "wren")["pills"] == ["wake_add 1/3", "rem"]
    # scout is idle when the page first sees it, then its run starts and
    # the page follows without a reload.
    wait.until(lambda d: row_state(d, "scout") == "false")
    assert browser.execute_script("return document.readyState") == "complete"
    daemon["run_once"]("scout")
    WebDriverWait(browser, 45, poll_frequency=0.05).until(
        lambda d: row_state(d, "scout") == "true")
    assert row(browser, "scout")["status"].startswith("running")
    # The wire shows the steps, tagged with their agent.
    wait.until(lambda d: "reading the wire" in
               d.find_element(By.ID, "wire").text)
    # Recent commits are listed.
    wait.until(lambda d: "desk:" in d.find_element(By.ID, "commits").text)
    # Served live over Server-Sent Events.
    wait.until(lambda d: d.find_element(By.ID, "conn").text == "live")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    # The run ends: the page follows again.
    daemon["gate"].touch()
    WebDriverWait(browser, 45, poll_frequency=0.05).until(
        lambda d: row_state(d, "scout") == "false")
    errors = [e for e in browser.get_log("browser")
              if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


SLOT_MS = 15 * 60 * 1000
BAD_RGB = "rgb(197, 48, 48)"     # --bad, the light theme's


def took(ms):
    """The page's duration words (dashboard.html took())."""
    if ms < 1000:
        return "%d ms" % ms
    if ms < 60000:
        return "%.1f s" % (ms / 1000)
    raise AssertionError("longer runs are not made here")


def cells(drv, name):
    return drv.execute_script("""
        var r = document.querySelector('.agent[data-agent="' +
            arguments[0] + '"] [data-role="strip"]');
        if (!r) return null;
        return Array.from(r.children).map(function (c) {
          return { t: +c.dataset.t, run: c.dataset.run || null,
                   outcome: c.dataset.outcome || null,
                   ticks: +(c.dataset.ticks || 0), title: c.title,
                   bg: getComputedStyle(c).backgroundColor,
                   w: c.getBoundingClientRect().width };
        });""", name)


@pytest.fixture
def day(crew):
    """good runs, flaky fails (saying why), a few times each; then the
    crew goes quiet (an hour apart), so history is final."""
    crew.member("good", "echo fine", interval="300ms")
    crew.member("flaky", "echo 'the feed timed out' >&2; exit 2",
                interval="400ms")
    crew.write_crew(title="newsroom", backoff_base="100ms")
    proc = crew.start()
    wait_for(lambda: len(crew.closed("good")) >= 4 and
             len(crew.closed("flaky")) >= 3, what="a few runs each")
    crew.write_crew(title="newsroom", backoff_base="100ms",
                    members=[(n, dict(p, INTERVAL="1h"))
                             for n, p in crew.members])

    def quiet():
        agents = json.loads(crew.get("/_activity")[2])["agents"]
        return all(not a["running"] and not a["queue_place"] and
                   (a["next_tick"] or 0) > time.time() * 1000 + 1800 * 1000
                   for a in agents)
    wait_for(quiet, timeout=30, what="the crew to go quiet")
    yield {"url": "http://" + crew.http_addr() + "/", "rows": crew.closed()}
    assert crew.stop(proc, timeout=30) == 0


@pytest.mark.parametrize("width", [1400, 390])
def test_dashboard_day(day, browser, width):
    WebDriverWait = require_module("selenium.webdriver.support.ui",
                                   "python3-selenium").WebDriverWait
    browser.set_window_size(width, 900)
    browser.get(day["url"])
    rows = day["rows"]
    wait = WebDriverWait(browser, 45, poll_frequency=0.05)
    for name in ("good", "flaky"):
        mine = [r for r in rows if r["agent"] == name]
        # The strip holds every run history has, each in its slot.
        wait.until(lambda d: sum(c["ticks"] for c in cells(d, name) or [])
                   == len(mine))
        cs = cells(browser, name)
        assert len(cs) == 96
        assert [c["t"] for c in cs] == sorted(c["t"] for c in cs)
        busy = {c["t"] for c in cs if c["ticks"]}
        assert busy == {(r["started"] or r["scheduled"]) // SLOT_MS * SLOT_MS
                        for r in mine}
        assert all(c["w"] > 0 for c in cs)
        # The sparkline: one point per run, up to 48.
        pts = browser.execute_script("""
            var p = document.querySelector('.agent[data-agent="' +
                arguments[0] + '"] .spark polyline');
            return p ? p.getAttribute('points').split(' ').length : 0;""",
                                     name)
        assert pts == min(48, len(mine))
    # A failed run: the colour of failure and its row's words on hover.
    failed = [r for r in rows if r["agent"] == "flaky"][-1]
    assert failed["outcome"] == "failed"
    (c,) = [c for c in cells(browser, "flaky") if c["run"] ==
            str(failed["id"])]
    assert c["outcome"] == "failed"
    assert c["bg"] == BAD_RGB
    line = c["title"].split("\n")[1]
    assert line == "failed · run %d at %s · %s · %s" % (
        failed["id"], time.strftime("%H:%M:%S",
                                    time.localtime(failed["started"] / 1000)),
        took(failed["duration_ms"]), failed["error"])
    assert "the feed timed out" in failed["error"] or failed["error"]
    good = [c for c in cells(browser, "good") if c["run"]]
    assert good and all(c["bg"] != BAD_RGB for c in good)
    # The schedule in words, as /_activity has it.
    sched = browser.execute_script("""
        return Array.from(document.querySelectorAll('[data-role="schedule"]'))
            .map(function (e) { return e.textContent; });""")
    assert sched == ["every 1h", "every 1h"]
    # The gate's strip, with the slots held.
    wait.until(lambda d: d.execute_script(
        "return !document.getElementById('gatesec').hidden && "
        "document.querySelectorAll('#gate i.g').length > 0"))
    # Readable: nothing wider than the window.
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / ("dashboard-%d.png" % width)))
    errors = [e for e in browser.get_log("browser")
              if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


HOSTILE = "</script><img src=x onerror=\"window.__pwned=1\">"


@pytest.fixture
def runs_crew(crew):
    """inj ticks at boot: its first step says hostile things on its log
    and in its name, its second waits for the gate file, prints more and
    fails; calm has a finished run to list."""
    root = pathlib.Path(crew.root)
    gate = root / "gate"
    (root / "inj.org").write_text(f"""#+TITLE: inj
* look {HOSTILE}
#+begin_src sh
printf '%s \\033[31mred\\033[0m\\n' '{HOSTILE}' >&2
echo "looked"
#+end_src
* wait
#+begin_src sh
cat > /dev/null
echo "waiting for the gate" >&2
i=0; while [ ! -e {gate} ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done
echo 'result {HOSTILE}'
echo "fatal: the gate opened onto nothing" >&2
exit 3
#+end_src
""")
    agent_def(root / "calm.org")
    crew.write("crew.org", """#+TITLE: runs
#+BOOT-GRACE: 50ms
#+STAGGER: 0
* calm
:PROPERTIES:
:DEF: calm.org
:INTERVAL: 1h
:END:
* inj
:PROPERTIES:
:DEF: inj.org
:INTERVAL: 1h
:END:
""")
    proc = crew.start()
    yield {"url": "http://" + crew.http_addr() + "/", "gate": gate,
           "crew": crew}
    gate.touch()
    assert crew.stop(proc, timeout=30) == 0


def run_view(drv):
    return drv.execute_script("""
        var v = document.getElementById('runview');
        if (v.hidden) return null;
        function t(role) {
          var e = v.querySelector('[data-role="' + role + '"]');
          return e ? e.textContent : null;
        }
        return { title: document.getElementById('runtitle').textContent,
                 state: document.getElementById('runstate').textContent,
                 steps: t('steps'), result: t('result'), log: t('log'),
                 error: t('error'), imgs: v.querySelectorAll('img').length,
                 scripts: document.querySelectorAll('script').length };""")


def test_dashboard_shows_an_agents_runs_and_one_run_live(runs_crew, browser):
    WebDriverWait = require_module("selenium.webdriver.support.ui",
                                   "python3-selenium").WebDriverWait
    crew = runs_crew["crew"]
    wait_for(lambda: crew.closed("calm"), what="calm's run")
    browser.get(runs_crew["url"])
    wait = WebDriverWait(browser, 45, poll_frequency=0.05)
    wait.until(lambda d: (row(d, "inj") or {}).get("running") == "true")
    (calm,) = crew.closed("calm")

    def click(selector):
        browser.execute_script(
            "document.querySelector(arguments[0]).click();", selector)

    # An agent opened: its runs, the one in flight first.
    click('.agent[data-agent="calm"] [data-role="open"]')
    wait.until(lambda d: d.execute_script(
        "return document.querySelectorAll('.agent[data-agent=\"calm\"] "
        "tr.run').length") == 1)
    cols = browser.execute_script(
        "return Array.from(document.querySelectorAll('.agent[data-agent="
        "\"calm\"] tr.run td')).map(function (e) { return e.textContent; "
        "});")
    assert cols[0] == str(calm["id"])
    assert cols[2] == "schedule" and cols[3] == "done"
    assert cols[4] == took(calm["duration_ms"])
    click('.agent[data-agent="inj"] [data-role="open"]')
    wait.until(lambda d: d.execute_script(
        "var r = document.querySelector('.agent[data-agent=\"inj\"] "
        "tr.run'); return r && r.dataset.run;"))
    inj_id = browser.execute_script(
        "return document.querySelector('.agent[data-agent=\"inj\"] "
        "tr.run').dataset.run;")
    click('.agent[data-agent="inj"] tr.run')
    # Live while it runs: the first step done, the log so far.
    wait.until(lambda d: (run_view(d) or {}).get("log") and
               "waiting for the gate" in run_view(d)["log"])
    v = run_view(browser)
    assert v["title"] == "Run %s · inj" % inj_id
    assert v["state"] == "running · wait"
    assert ("look " + HOSTILE) in v["steps"]
    # ANSI escapes as text: the escape character in caret notation
    assert v["log"].startswith(HOSTILE + " ^[[31mred^[[0m\n"), v["log"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-run-live.png"))
    runs_crew["gate"].touch()
    wait.until(lambda d: (run_view(d) or {}).get("state") == "failed")
    v = run_view(browser)
    (row_,) = crew.closed("inj")
    assert v["error"] == row_["error"]
    assert v["error"].startswith("wait: exit status 3: fatal: the gate "
                                 "opened onto nothing")
    assert v["result"] == "result " + HOSTILE + "\n"
    assert v["log"] == row_["log"].replace("\x1b", "^[")
    assert "fatal: the gate opened onto nothing" in v["log"]
    # Shown as text, never obeyed: no element made from the agent's words.
    assert v["imgs"] == 0
    assert v["scripts"] == 1
    assert browser.execute_script("return window.__pwned === undefined")
    browser.save_screenshot(str(ARTIFACTS / "dashboard-run.png"))
    errors = [e for e in browser.get_log("browser")
              if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
