"""SPEC §10, the dashboard (GET /) for people, in real headless Chromium
against the real daemon: every agent rendered, the running state changing
live when a run starts, no console errors. One screenshot per run goes to
build/artifacts/. Chromium, its driver and selenium are dependencies
(.ci/deps): missing, the test fails and names the package."""

import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import KEEPER, agent_commit, require, require_module

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
