"""SPEC §10, GET /metrics: keeper's Prometheus exposition, checked by
Prometheus itself (Debian's prometheus package). promtool checks a sample
rendered by the metrics module's test driver (build/tests/test_metrics
--render, every kind of value keeper writes) and a scrape of a live
daemon; a real Prometheus on loopback scrapes a small crew, and what its
HTTP API answers (runs by agent and outcome, a lateness quantile) is what
keeper's own history says."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import KEEPER, http_get, require, sh_def, wait_for

DRIVER = os.path.join(os.path.dirname(KEEPER), "tests", "test_metrics")
# keeper's buckets (metrics.h), in seconds.
BUCKETS = [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600]
OUTCOMES = ["done", "no_work", "failed", "killed", "gated", "dreamed",
            "error", "interrupted"]


def promtool(text):
    tool = require("promtool", "prometheus")
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


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, _, labels = head.partition("{")
        pairs = frozenset(tuple(kv.split("=", 1)) for kv in
                          labels.rstrip("}").split(",") if kv)
        out[(name, pairs)] = float(value)
    return out


def label(**kw):
    return frozenset((k, '"%s"' % v) for k, v in kw.items())


def test_live_scrape_every_series_from_boot(crew):
    """Before any run: every agent's every series is there, at zero, in
    the format promtool accepts; HEAD answers like GET without the body."""
    crew.member("desk", "echo hi", interval="1h")
    crew.member("wren", "echo hi", interval="1h")
    crew.write_crew(boot_grace="1h")
    p = crew.start()
    code, headers, body = crew.get("/metrics")
    assert code == 200
    assert headers["Content-Type"] == \
        "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    r = promtool(text)
    assert (r.returncode, r.stdout + r.stderr) == (0, "")
    s = samples(text)
    for agent in ("desk", "wren"):
        for o in OUTCOMES:
            assert s[("keeper_runs_total", label(agent=agent,
                                                 outcome=o))] == 0
        for t in ("schedule", "run-once", "catch-up", "retry"):
            assert s[("keeper_ticks_total", label(agent=agent,
                                                  trigger=t))] == 0
        for k in ("prompt", "completion"):
            assert s[("keeper_llm_tokens_total", label(agent=agent,
                                                       kind=k))] == 0
        assert s[("keeper_run_duration_seconds_count",
                  label(agent=agent))] == 0
        assert s[("keeper_start_lateness_seconds_bucket",
                  label(agent=agent, le="+Inf"))] == 0
        assert s[("keeper_missed_fires_total", label(agent=agent))] == 0
        assert s[("keeper_commits_total", label(agent=agent))] == 0
        assert s[("keeper_agent_health", label(agent=agent,
                                               health="ok"))] == 1
        assert s[("keeper_next_run_timestamp_seconds",
                  label(agent=agent))] > time.time() + 3000
    assert s[("keeper_gate_slots", frozenset())] == 2
    assert s[("keeper_active", frozenset())] == 1
    # The build named as `keeper --version` names it: VERSION's number
    # and the commit, never "unknown".
    version = subprocess.run([KEEPER, "--version"], capture_output=True,
                             text=True, check=True).stdout.split()[1]
    with open(os.path.join(os.path.dirname(__file__), "..", "..",
                           "VERSION")) as f:
        assert version.startswith(f.read().strip())
    assert s[("keeper_build_info", label(version=version))] == 1
    # No label but the bounded ones.
    names = {k for key in s for k, _ in key[1]}
    assert names <= {"agent", "outcome", "trigger", "le", "health", "kind",
                     "version"}
    code, headers, body = http_get(crew.http_addr(), "/metrics", "HEAD")
    assert code == 200 and body == b""
    assert headers["Content-Length"] == str(len(text.encode()))
    assert crew.stop(p) == 0


# ---- a real Prometheus ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


@pytest.fixture
def prometheus():
    """Debian's prometheus on loopback, a temp storage dir, scraping the
    target handed to it with .scrape(ADDR) every 250 ms."""
    binary = require("prometheus", "prometheus")
    root = tempfile.mkdtemp(prefix="keeper-prom-")
    port = free_port()

    class Prom:
        url = "http://127.0.0.1:%d" % port
        proc = None

        def scrape(self, target):
            cfg = os.path.join(root, "prometheus.yml")
            with open(cfg, "w") as f:
                f.write("global:\n  scrape_interval: 250ms\n"
                        "  scrape_timeout: 200ms\n"
                        "scrape_configs:\n  - job_name: keeper\n"
                        "    static_configs:\n"
                        "      - targets: ['%s']\n" % target)
            self.log = open(os.path.join(root, "prometheus.log"), "w")
            self.proc = subprocess.Popen(
                [binary, "--config.file=" + cfg,
                 "--storage.tsdb.path=" + os.path.join(root, "data"),
                 "--web.listen-address=127.0.0.1:%d" % port,
                 "--log.level=warn"], stdout=self.log,
                stderr=subprocess.STDOUT, start_new_session=True)

            def ready():
                assert self.proc.poll() is None, self.logtext()
                try:
                    with urllib.request.urlopen(self.url + "/-/ready",
                                                timeout=1) as r:
                        return r.status == 200
                except OSError:
                    return False
            wait_for(ready, timeout=60, interval=0.1, what="prometheus")

        def query(self, expr):
            q = urllib.parse.urlencode({"query": expr})
            r = get_json(self.url + "/api/v1/query?" + q)
            assert r["status"] == "success", r
            return r["data"]["result"]

        def logtext(self):
            self.log.flush()
            with open(self.log.name) as f:
                return f.read()

    prom = Prom()
    yield prom
    if prom.proc is not None:
        os.killpg(prom.proc.pid, signal.SIGTERM)
        try:
            prom.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(prom.proc.pid, signal.SIGKILL)
            prom.proc.wait()
        prom.log.close()
    shutil.rmtree(root, ignore_errors=True)


def bucket_quantile(q, lateness):
    """Prometheus's histogram_quantile (promql/quantile.go) over keeper's
    buckets filled with these observations, in seconds."""
    bounds = BUCKETS + [float("inf")]
    counts = [sum(1 for v in lateness if v <= b) for b in bounds]
    observations = counts[-1]
    rank = q * observations
    b = next(i for i in range(len(bounds) - 1) if counts[i] >= rank) \
        if any(counts[i] >= rank for i in range(len(bounds) - 1)) \
        else len(bounds) - 1
    if b == len(bounds) - 1:
        return bounds[-2]
    start, count = 0.0, counts[b]
    if b > 0:
        start = bounds[b - 1]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (bounds[b] - start) * (rank / count)


def test_prometheus_scrapes_a_crew(crew, prometheus):
    """A small crew runs (one gate slot, so runs wait their turn and start
    late), then goes quiet; Prometheus, scraping it, answers
    keeper_runs_total and the 0.9 quantile of start lateness exactly as
    keeper's history has them."""
    crew.member("fast", "echo ok", interval="300ms")
    crew.member("slow", "sleep 0.2; echo ok", interval="400ms")
    crew.member("bad", "echo broken >&2; exit 3", interval="500ms")
    crew.write_crew(concurrency="1", backoff_base="100ms")
    p = crew.start()
    addr = crew.http_addr()
    prometheus.scrape(addr)
    # Prometheus takes its targets up in its own time (about 5 s).
    wait_for(lambda: prometheus.query('up{job="keeper"} == 1'), timeout=60,
             interval=0.25, what="the first scrape")

    def enough():
        rows = crew.closed()
        return all(sum(1 for r in rows if r["agent"] == a) >= 5
                   for a in ("fast", "slow", "bad"))
    before = len(crew.closed())
    wait_for(lambda: len(crew.closed()) > before, what="a run scraped")
    wait_for(enough, timeout=60, what="five runs of each agent")
    # Quiet: every member an hour apart. Once no agent is running or
    # waiting and each one's next tick is that far off, history is final.
    crew.write_crew(concurrency="1", backoff_base="100ms",
                    members=[(n, dict(props, INTERVAL="1h"))
                             for n, props in crew.members])

    def quiet():
        _, _, body = crew.get("/_activity")
        agents = json.loads(body)["agents"]
        return all(not a["running"] and not a["queue_place"] and
                   a["next_tick"] and a["next_tick"] > time.time() * 1000 +
                   1800 * 1000 for a in agents)
    wait_for(quiet, timeout=30, what="the crew to go quiet")

    r = crew.keeper("history", "--data", crew.data, "--limit", "0",
                    "--json")
    assert r.returncode == 0, r.stderr
    rows = [x for x in json.loads(r.stdout) if x["daemon_pid"] == p.pid]
    assert len(rows) >= 15
    want = {}
    for x in rows:
        key = (x["agent"], x["outcome"])
        want[key] = want.get(key, 0) + 1
    assert want[("bad", "failed")] >= 5

    def runs_total():
        got = {(m["metric"]["agent"], m["metric"]["outcome"]):
               int(float(m["value"][1]))
               for m in prometheus.query("keeper_runs_total")}
        nonzero = {k: v for k, v in got.items() if v}
        return nonzero == want and got
    got = wait_for(runs_total, timeout=30, interval=0.25,
                   what="Prometheus to see what history has")
    # Every agent and outcome is a series, scraped from an up target.
    assert len(got) == 3 * len(OUTCOMES)
    (up,) = prometheus.query('up{job="keeper"}')
    assert up["value"][1] == "1"

    for agent in ("fast", "slow", "bad"):
        late = [(x["started"] - x["scheduled"]) / 1000.0 for x in rows
                if x["agent"] == agent and x["started"]]
        expect = bucket_quantile(0.9, late)
        (res,) = prometheus.query(
            'histogram_quantile(0.9, keeper_start_lateness_seconds_bucket'
            '{agent="%s"})' % agent)
        assert abs(float(res["value"][1]) - expect) < 1e-9, (agent, late)
        (cnt,) = prometheus.query(
            'keeper_start_lateness_seconds_count{agent="%s"}' % agent)
        assert int(float(cnt["value"][1])) == len(late)
    # It scraped while the crew ran, not only once it was quiet.
    (n,) = prometheus.query("count_over_time(keeper_active[5m])")
    assert int(n["value"][1]) >= 2

    # promtool on the live scrape.
    _, _, body = crew.get("/metrics")
    r = promtool(body.decode())
    assert (r.returncode, r.stdout + r.stderr) == (0, "")
    assert crew.stop(p) == 0
