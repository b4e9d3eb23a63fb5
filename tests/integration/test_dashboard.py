"""The dashboard in real headless Chromium against the real daemon: every
agent rendered, the running state changing live when a run starts, no
console errors. One screenshot per run goes to build/artifacts/."""

import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

KEEPER = os.environ.get("KEEPER_BIN", "build/keeper")
CHROMIUM = "/usr/bin/chromium"


def _has_daemon():
    """Before the daemon lands, `keeper run` is an unknown command."""
    if not os.access(KEEPER, os.X_OK):
        return False
    r = subprocess.run([KEEPER, "run", "--help"], capture_output=True)
    return b"unknown command" not in r.stderr


if not _has_daemon():
    pytest.skip("keeper run is not built yet", allow_module_level=True)
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = pathlib.Path(KEEPER).resolve().parent / "artifacts"

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="chromium and chromium-driver are needed")


def wait_for(cond, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def agent_def(path, gate=None):
    wait = (f"while [ ! -e {gate} ]; do sleep 0.02; done\n"
            if gate else "")
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
def daemon(tmp_path):
    """desk and wren tick at boot; scout's first tick waits on its
    last-run file (due in a few seconds), and its run holds until the
    gate file exists, so the page can watch it go from idle to running."""
    repo, data = tmp_path / "repo", tmp_path / "data"
    repo.mkdir()
    data.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    gate = tmp_path / "gate"
    agent_def(tmp_path / "desk.org")
    agent_def(tmp_path / "wren.org")
    agent_def(tmp_path / "scout.org", gate)
    (tmp_path / "loop.org").write_text(LIFECYCLE)
    # scout last ran 1h - 4s ago with a 1h interval: due in ~4 s.
    (data / "keeper-last-run-scout").write_text(
        "%.3f\n" % (time.time() - 3600 + 4))
    (tmp_path / "crew.org").write_text("""#+TITLE: newsroom
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
    log = open(tmp_path / "keeper.log", "wb")
    proc = subprocess.Popen(
        [KEEPER, "run", "--crew", str(tmp_path / "crew.org"), "--repo",
         str(repo), "--data", str(data), "--listen", "127.0.0.1:0"],
        stdout=log, stderr=subprocess.STDOUT)
    addr = data / "http.addr"
    wait_for(lambda: addr.exists() and addr.read_text().endswith("\n"),
             what="http.addr")
    yield {"url": "http://" + addr.read_text().strip() + "/", "gate": gate}
    gate.touch()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture
def browser():
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
    drv.set_page_load_timeout(15)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def row_state(drv, name):
    rows = drv.find_elements(By.CSS_SELECTOR, f'.agent[data-agent="{name}"]')
    return rows[0].get_attribute("data-running") if rows else None


def test_dashboard_live(daemon, browser):
    browser.get(daemon["url"])
    wait = WebDriverWait(browser, 15, poll_frequency=0.05)
    # Every agent is rendered, in manifest order.
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".agent")) == 3)
    names = [e.get_attribute("data-agent")
             for e in browser.find_elements(By.CSS_SELECTOR, ".agent")]
    assert names == ["desk", "wren", "scout"]
    # The lifecycle is drawn as its states, the current one highlighted.
    wren = browser.find_element(By.CSS_SELECTOR, '.agent[data-agent="wren"]')
    pills = [p.text for p in wren.find_elements(By.CSS_SELECTOR, ".st")]
    assert len(pills) == 2 and pills[1] == "rem"
    assert wren.find_elements(By.CSS_SELECTOR, ".st.cur")
    # scout is idle when the page first sees it, then its run starts and
    # the page follows without a reload.
    wait.until(lambda d: row_state(d, "scout") == "false")
    assert browser.execute_script("return document.readyState") == "complete"
    WebDriverWait(browser, 20, poll_frequency=0.05).until(
        lambda d: row_state(d, "scout") == "true")
    status = browser.find_element(
        By.CSS_SELECTOR, '.agent[data-agent="scout"] [data-role="status"]')
    assert status.text.startswith("running")
    # The wire shows the steps, tagged with their agent.
    wait.until(lambda d: "reading the wire" in
               d.find_element(By.ID, "wire").text)
    # Served live over Server-Sent Events.
    wait.until(lambda d: d.find_element(By.ID, "conn").text == "live")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    # The run ends: the page follows again.
    daemon["gate"].touch()
    WebDriverWait(browser, 20, poll_frequency=0.05).until(
        lambda d: row_state(d, "scout") == "false")
    errors = [e for e in browser.get_log("browser")
              if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
