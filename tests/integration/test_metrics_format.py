"""keeper's Prometheus exposition (SPEC §10) checked by Prometheus's own
promtool (Debian's prometheus package): a sample rendered by the
metrics module through its test driver, build/tests/test_metrics
--render, with every kind of value keeper writes."""
import os
import shutil
import subprocess

KEEPER = os.environ.get("KEEPER_BIN", os.path.abspath("build/keeper"))
DRIVER = os.path.join(os.path.dirname(KEEPER), "tests", "test_metrics")


def promtool(text):
    tool = shutil.which("promtool")
    assert tool, "promtool missing: install Debian's prometheus (.ci/deps)"
    return subprocess.run([tool, "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60)


def rendered():
    assert os.access(DRIVER, os.X_OK), DRIVER + " not built (make unit)"
    r = subprocess.run([DRIVER, "--render"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_promtool_accepts_the_exposition():
    text = rendered()
    assert "keeper_run_duration_seconds_bucket" in text
    r = promtool(text)
    assert r.returncode == 0, r.stdout + r.stderr
    # Not even a lint warning.
    assert r.stdout + r.stderr == ""


def test_promtool_is_strict():
    """The check can fail: promtool refuses what keeper must never write
    (an unescaped quote in a label value, a counter without _total)."""
    text = rendered()
    bad = text.replace('version="0.9 \\"dev\\"', 'version="0.9 "dev"')
    assert bad != text
    assert promtool(bad).returncode != 0
    lint = "# HELP keeper_runs x\n# TYPE keeper_runs counter\nkeeper_runs 1\n"
    assert promtool(lint).returncode != 0
