"""SPEC §5b, the operator's hands: `keeper pause` and `keeper resume` with
and without a daemon, across a restart, `--for` expiring on its own, a
run-once on a paused member, /_health with a paused member; retries of a
failed run (:RETRY:, :RETRY-DELAY:) and a regular tick pre-empting one;
the gate's queue ordered by the heading's priority cookie, with no
starvation; a token budget counted from the history against the fake LLM.
Times are checked against what keeper recorded (history rows, the pause's
until), never against how long something took."""

import json
import os
import re
import sqlite3
import time

from conftest import clean_env, require_module, status_json, wait_for
from fake_openai import Response, chat_reply
from test_s10_dashboard import browser  # noqa: F401 (the fixture)


def now_ms():
    return int(time.time() * 1000)


def manifest(crew, members, **keywords):
    """crew.org: members as (heading, {PROP: value}) with the heading as
    written (a priority cookie in it), after #+TITLE: t, #+BOOT-GRACE: 0
    and #+STAGGER: 0 unless keywords say otherwise."""
    keys = {"TITLE": "t", "BOOT-GRACE": "0", "STAGGER": "0"}
    keys.update({k.replace("_", "-").upper(): v for k, v in keywords.items()})
    text = "".join("#+%s: %s\n" % kv for kv in keys.items())
    for heading, props in members:
        text += "* %s\n:PROPERTIES:\n" % heading
        text += "".join(":%s: %s\n" % kv for kv in props.items())
        text += ":END:\n"
    crew.write("crew.org", text)


def sh(crew, name, body):
    crew.write("agents/%s.org" % name,
               "* run\n#+BEGIN_SRC sh\n%s\n#+END_SRC\n" % body)
    return "agents/%s.org" % name


def hold(crew, name="hog"):
    """A def that runs until the file 'go' exists in the crew root (30 s
    at most), and the path of that file."""
    gate = crew.path("go")
    return sh(crew, name, "i=0; while [ ! -e %s ] && [ $i -lt 1500 ]; do "
              "sleep 0.02; i=$((i+1)); done; echo held" % gate), gate


def hands(crew, *args):
    return crew.keeper(*args, "--data", crew.data)


def activity(crew):
    st, _, body = crew.get("/_activity")
    assert st == 200
    return {a["name"]: a for a in json.loads(body)["agents"]}


def closed(crew, agent, n):
    """Wait for agent's first n closed rows; return them."""
    return wait_for(lambda: crew.closed(agent)[:n]
                    if len(crew.closed(agent)) >= n else None,
                    what="%d closed rows of %s" % (n, agent))


def ticking_pair(crew):
    """a and b, both every 200 ms: b's rows show that time passed while
    a was paused."""
    manifest(crew, [(n, {"DEF": sh(crew, n, "echo " + n),
                         "INTERVAL": "200ms"}) for n in ("a", "b")])


def test_pause_without_a_daemon_the_next_one_reads_it(crew):
    ticking_pair(crew)
    r = hands(crew, "pause", "a", "--crew", crew.crew, "--why",
              "deploy freeze")
    assert r.returncode == 0, r.stderr
    assert "paused until resumed: deploy freeze" in r.stdout
    with open(os.path.join(crew.data, "pause-a")) as f:
        assert f.read() == "0 deploy freeze\n"
    # Without a daemon, status reads the file.
    doc = status_json(crew)
    a = [x for x in doc["agents"] if x["name"] == "a"][0]
    assert a["paused"] == {"until": None, "why": "deploy freeze"}
    crew.start()
    closed(crew, "b", 4)
    assert crew.rows("a") == []          # due at boot, never started
    acts = activity(crew)
    assert acts["a"]["paused"] == {"until": None, "why": "deploy freeze"}
    assert acts["a"]["health"] == "paused"
    assert acts["b"]["paused"] is None
    st, _, body = crew.get("/_health")
    assert st == 200, body
    assert json.loads(body)["agents"]["a"] == "paused"
    out = crew.keeper("status", "--crew", crew.crew, "--data", crew.data)
    assert out.returncode == 0, out.stderr
    line = [l for l in out.stdout.splitlines() if l.startswith("a ")][0]
    assert line.rstrip().endswith("paused"), out.stdout
    assert "  paused until resumed: deploy freeze" in out.stdout
    # Resumed through the daemon: it ticks at once (its fire at boot was
    # not caught up, the next one is due).
    r = hands(crew, "resume", "a")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "a: resumed"
    closed(crew, "a", 1)
    assert crew.stop() == 0
    with open(os.path.join(crew.data, "pause-a")) as f:
        assert f.read() == ""


def test_pause_with_a_daemon_applies_at_once_and_survives_a_restart(crew):
    ticking_pair(crew)
    crew.start()
    closed(crew, "a", 2)
    r = hands(crew, "pause", "a", "--crew", crew.crew)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "a: paused until resumed"
    after = now_ms()
    nb = len(crew.closed("b"))
    closed(crew, "b", nb + 3)
    # A tick under way when it was paused finishes; none due later
    # starts (a fire in the pause leaves no row).
    assert all(x["scheduled"] < after for x in crew.rows("a"))
    assert all(x["outcome"] == "done" for x in crew.closed("a"))
    assert crew.stop() == 0
    with open(os.path.join(crew.data, "pause-a")) as f:
        assert f.read() == "0 \n"
    crew.start()
    restarted = now_ms()
    nb = len(crew.closed("b"))
    closed(crew, "b", nb + 3)
    assert all(x["scheduled"] < after for x in crew.rows("a"))
    doc = status_json(crew)
    a = [x for x in doc["agents"] if x["name"] == "a"][0]
    assert a["paused"] == {"until": None, "why": None}
    assert a["next_tick"] == 0
    assert restarted > after
    assert crew.stop() == 0


def test_pause_for_expires_on_its_own(crew):
    ticking_pair(crew)
    crew.start()
    closed(crew, "a", 1)
    before = now_ms()
    r = hands(crew, "pause", "a", "--for", "1500ms", "--why", "lunch")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "a: paused for 1s500ms: lunch"
    after = now_ms()
    p = activity(crew)["a"]["paused"]
    assert p["why"] == "lunch"
    until = p["until"]
    assert before <= until - 1500 <= after
    # It ticks again by itself, with nobody resuming it.
    wait_for(lambda: [x for x in crew.closed("a") if x["started"] >= until],
             what="a tick after the pause")
    # None started inside the pause; the next one was due on a's own
    # 200 ms grid after it (the fires in it skipped, not caught up).
    rows = crew.rows("a")
    assert not [x for x in rows if after <= x["scheduled"] < until], rows
    first = min(x["scheduled"] for x in rows if x["started"] >= until)
    assert until <= first < until + 200 + 50
    assert activity(crew)["a"]["paused"] is None
    assert crew.stop() == 0


def test_a_pause_lets_the_running_run_finish(crew):
    d, gate = hold(crew, "slow")
    manifest(crew, [("slow", {"DEF": d, "INTERVAL": "1h"})])
    crew.start()
    wait_for(lambda: activity(crew)["slow"]["running"], what="slow runs")
    r = hands(crew, "pause", "slow")
    assert r.returncode == 0, r.stderr
    assert activity(crew)["slow"]["running"]
    assert activity(crew)["slow"]["health"] == "paused"
    open(gate, "w").close()
    (row,) = closed(crew, "slow", 1)
    assert row["outcome"] == "done"
    assert crew.stop() == 0


def test_run_once_runs_a_paused_member(crew):
    manifest(crew, [("a", {"DEF": sh(crew, "a", "echo ran"),
                           "INTERVAL": "1h"})])
    r = hands(crew, "pause", "a", "--crew", crew.crew)
    assert r.returncode == 0, r.stderr
    r = crew.run_once("a")
    assert r.returncode == 0, r.stderr + r.stdout
    (row,) = crew.rows("a")
    assert row["outcome"] == "done" and row["trigger"] == "run-once"
    # Still paused; and through a daemon the same.
    crew.start()
    r = crew.run_once("a")
    assert r.returncode == 0, r.stderr + r.stdout
    assert [x["trigger"] for x in crew.rows("a")] == ["run-once"] * 2
    assert activity(crew)["a"]["paused"] is not None
    assert crew.stop() == 0


def test_pause_usage_and_errors(crew):
    manifest(crew, [("a", {"DEF": sh(crew, "a", "true")})])
    r = hands(crew, "pause", "nobody", "--crew", crew.crew)
    assert r.returncode == 65 and "no agent named 'nobody'" in r.stderr
    r = crew.keeper("pause", "a")
    assert r.returncode == 64 and "usage: keeper pause" in r.stderr
    r = hands(crew, "pause", "a", "--for", "soon")
    assert r.returncode == 64
    r = hands(crew, "pause", "a", "--for", "0")
    assert r.returncode == 64
    r = hands(crew, "resume", "a", "--why", "x")
    assert r.returncode == 64
    r = hands(crew, "resume", "a")
    assert r.returncode == 0 and "a: was not paused" in r.stdout
    crew.start()
    r = hands(crew, "pause", "nobody")
    assert r.returncode == 65 and "no agent named 'nobody'" in r.stdout
    assert crew.stop() == 0


def test_dashboard_shows_the_pause(crew, browser):  # noqa: F811
    """In headless Chromium: the paused member's row has a badge with
    its reason and the time left, and its priority; the other has
    neither."""
    WebDriverWait = require_module("selenium.webdriver.support.ui",
                                   "python3-selenium").WebDriverWait
    manifest(crew, [("[#A] a", {"DEF": sh(crew, "a", "echo a"),
                                "INTERVAL": "1h"}),
                    ("b", {"DEF": sh(crew, "b", "echo b"),
                           "INTERVAL": "1h"})])
    crew.start()
    r = hands(crew, "pause", "a", "--for", "2h", "--why", "deploy freeze")
    assert r.returncode == 0, r.stderr
    browser.get("http://" + crew.http_addr() + "/")

    def badges(d):
        return d.execute_script("""
            var out = {};
            document.querySelectorAll('.agent').forEach(function (r) {
              var b = r.querySelector('[data-role="paused"]');
              var p = r.querySelector('.prio');
              out[r.dataset.agent] = [b ? b.textContent : null,
                                      p ? p.textContent : null];
            });
            return out;""")
    got = WebDriverWait(browser, 45, poll_frequency=0.05).until(
        lambda d: (lambda b: b if b.get("a", [None])[0] else None)(
            badges(d)))
    assert re.fullmatch("paused \u00b7 deploy freeze \u00b7 (1h59m|2h) left",
                        got["a"][0]), got
    assert got["a"][1] == "[#A]"
    assert got["b"] == [None, "[#B]"]
    errors = [e for e in browser.get_log("browser")
              if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert crew.stop() == 0


# ---- retries ----

def test_retry_two_gives_three_rows_at_the_right_gaps(crew):
    manifest(crew, [("f", {"DEF": sh(crew, "f", "echo no >&2; exit 1"),
                           "INTERVAL": "1h", "RETRY": "2",
                           "RETRY-DELAY": "300ms"})])
    crew.start()
    rows = closed(crew, "f", 3)
    assert [x["trigger"] for x in rows] == ["schedule", "retry", "retry"]
    assert [x["outcome"] for x in rows] == ["failed"] * 3
    assert rows[1]["scheduled"] - rows[0]["ended"] == 300
    assert rows[2]["scheduled"] - rows[1]["ended"] == 600
    assert all(x["started"] >= x["scheduled"] for x in rows)
    # No fourth: the next is the regular tick, an hour on.
    f = status_json(crew)["agents"][0]
    assert f["retry"] is None
    assert f["next_tick"] - rows[2]["ended"] > 30 * 60 * 1000
    assert len(crew.rows("f")) == 3
    assert crew.stop() == 0


def test_retry_that_succeeds_ends_the_series(crew):
    flag = crew.path("flag")
    d = sh(crew, "f", "if [ -e %s ]; then echo fine; else touch %s; "
           "exit 1; fi" % (flag, flag))
    manifest(crew, [("f", {"DEF": d, "INTERVAL": "1h", "RETRY": "2",
                           "RETRY-DELAY": "200ms"})])
    crew.start()
    rows = closed(crew, "f", 2)
    assert [(x["trigger"], x["outcome"]) for x in rows] == [
        ("schedule", "failed"), ("retry", "done")]
    f = status_json(crew)["agents"][0]
    assert f["retry"] is None
    assert f["next_tick"] - rows[1]["ended"] > 30 * 60 * 1000
    assert len(crew.rows("f")) == 2
    assert crew.stop() == 0


def test_a_regular_tick_pre_empts_a_retry(crew):
    # A retry 400 ms after the first failure comes before the tick due a
    # second after it; the next, 800 ms after the retry's end, would not:
    # the regular tick replaces it.
    manifest(crew, [("f", {"DEF": sh(crew, "f", "exit 1"),
                           "INTERVAL": "1s", "RETRY": "3",
                           "RETRY-DELAY": "400ms"})])
    crew.start()
    rows = closed(crew, "f", 3)
    assert [x["trigger"] for x in rows] == ["schedule", "retry",
                                            "schedule"]
    assert rows[1]["scheduled"] - rows[0]["ended"] == 400
    assert crew.stop() == 0


def test_status_next_says_it_is_a_retry(crew):
    manifest(crew, [("f", {"DEF": sh(crew, "f", "exit 1"),
                           "INTERVAL": "2h", "RETRY": "1",
                           "RETRY-DELAY": "1h"})])
    crew.start()
    (row,) = closed(crew, "f", 1)
    wait_for(lambda: activity(crew)["f"]["retry"], what="a retry armed")
    assert activity(crew)["f"]["retry"] == {"attempt": 1, "of": 1}
    assert activity(crew)["f"]["next_tick"] == row["ended"] + 3600000
    out = crew.keeper("status", "--data", crew.data)
    assert out.returncode == 0, out.stderr
    assert "retry 1/1 " in out.stdout, out.stdout
    assert crew.stop() == 0


def test_check_validates_the_new_properties(crew):
    crew.write("bad.org", "#+RETRY: lots\n#+PRIORITIES: C A B\n"
               "* [#Q] a\n:PROPERTIES:\n:DEF: a.org\n:RETRY-DELAY: 0\n"
               ":TOKEN-BUDGET: many\n:END:\n")
    crew.write("a.org", "* run\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n")
    r = crew.keeper("check", "--as", "crew", crew.path("bad.org"))
    assert r.returncode == 65
    err = r.stderr
    assert "bad.org:1: invalid #+RETRY: 'lots'" in err, err
    assert "bad.org:2: invalid #+PRIORITIES: 'C A B'" in err, err
    assert "bad.org:3: priority [#Q] is outside the range A to C" in err
    assert "bad.org:6: :RETRY-DELAY: must be more than zero" in err, err
    assert "bad.org:7: invalid :TOKEN-BUDGET: 'many'" in err, err


# ---- priorities at the gate ----

def test_priorities_order_the_queue(crew):
    d, gate = hold(crew)
    ok = sh(crew, "ok", "echo ok")
    members = [("[#A] hog", {"DEF": d, "INTERVAL": "1h"})]
    for h in ("[#C] c", "[#B] b", "[#A] a1", "[#A] a2"):
        members.append((h, {"DEF": ok, "INTERVAL": "1h"}))
    manifest(crew, members, CONCURRENCY="1")
    crew.start()

    def queued():
        acts = activity(crew)
        if acts["hog"]["running"] and all(
                acts[n]["queue_place"] for n in ("c", "b", "a1", "a2")):
            return acts
    acts = wait_for(queued, what="four members queued")
    assert {n: acts[n]["queue_place"] for n in ("a1", "a2", "b", "c")} == {
        "a1": 1, "a2": 2, "b": 3, "c": 4}
    assert acts["c"]["priority"] == "C" and acts["a1"]["priority"] == "A"
    open(gate, "w").close()
    for n in ("a1", "a2", "b", "c"):
        closed(crew, n, 1)
    first = {n: crew.rows(n)[0]["started"] for n in ("a1", "a2", "b", "c")}
    assert sorted(first, key=first.get) == ["a1", "a2", "b", "c"], first
    assert crew.stop() == 0


def test_a_starving_member_is_not_overtaken(crew):
    # c ([#C], base 200 ms) queues behind the hog at boot, a0 ([#A]) just
    # after it; a1 ([#A]) arrives 1.5 s later, when c has waited far
    # longer than its base. Neither [#A] may go before c.
    d, gate = hold(crew)
    ok = sh(crew, "ok", "echo ok")
    os.makedirs(crew.data, exist_ok=True)
    with open(os.path.join(crew.data, "keeper-last-run-a1"), "w") as f:
        f.write("%.3f\n" % (time.time() - 3600 + 1.5))
    manifest(crew, [("[#A] hog", {"DEF": d, "INTERVAL": "1h"}),
                    ("[#C] c", {"DEF": ok, "INTERVAL": "200ms"}),
                    ("[#A] a0", {"DEF": ok, "INTERVAL": "1h"}),
                    ("[#A] a1", {"DEF": ok, "INTERVAL": "1h"})],
             CONCURRENCY="1")
    crew.start()
    acts = wait_for(lambda: (lambda a: a if a["a1"]["queue_place"] else
                             None)(activity(crew)), what="a1 queued")
    assert acts["c"]["queue_place"] == 1, acts
    assert acts["a0"]["queue_place"] == 2
    assert acts["a1"]["queue_place"] == 3
    open(gate, "w").close()
    for n in ("c", "a0", "a1"):
        closed(crew, n, 1)
    first = {n: crew.rows(n)[0]["started"] for n in ("c", "a0", "a1")}
    assert sorted(first, key=first.get) == ["c", "a0", "a1"], first
    assert crew.stop() == 0


# ---- a token budget ----

def test_token_budget_pauses_and_resumes(crew, fake_llm):
    fake_llm.script(Response(200, chat_reply("filed", usage=(50, 10, 60))))
    crew.write("agents/llm.org", "* ask\n#+BEGIN_SRC llm :timeout 20s\n"
               "say something\n#+END_SRC\n")
    manifest(crew, [("w", {"DEF": "agents/llm.org", "INTERVAL": "300ms",
                           "TOKEN-BUDGET": "100/2500ms"})])
    env = clean_env(KEEPER_LLM_URL=fake_llm.url, KEEPER_LLM_KEY="k",
                    KEEPER_LLM_MODEL="fake-model")
    crew.start(env=env)
    wait_for(lambda: (activity(crew)["w"]["paused"] or {}).get("why") ==
             "token budget", what="paused by its budget")
    acts = activity(crew)
    rows = crew.closed("w")
    assert len(rows) == 2, rows          # paused after the second run
    assert [x["tokens_prompt"] + x["tokens_completion"] for x in rows] == \
        [60, 60]
    until = acts["w"]["paused"]["until"]
    assert until == rows[0]["ended"] + 2500
    assert acts["w"]["tokens"] == {"used": 120, "budget": 100,
                                   "window": 2500}
    assert acts["w"]["health"] == "paused"
    st, _, body = crew.get("/_health")
    assert st == 200, body
    out = crew.keeper("status", "--data", crew.data)
    assert "  tokens: 120 of 100 in 2s500ms" in out.stdout, out.stdout
    assert "token budget" in out.stdout
    # One alert, through the alert path, recorded.
    alerts = wait_for(lambda: alert_rows(crew), what="the budget alert")
    assert [(a["agent"], a["to_state"]) for a in alerts] == [("w", "budget")]
    assert "token budget is spent (120 of 100 tokens" in alerts[0]["text"]
    assert "event=alert" in crew.log() and "to=budget" in crew.log()
    # It resumes by itself once the first run has left the window.
    third = wait_for(lambda: crew.closed("w")[2:3], what="a third run")[0]
    assert third["started"] >= until
    assert len(alert_rows(crew)) >= 1
    assert crew.stop() == 0


def alert_rows(crew):
    db = sqlite3.connect(os.path.join(crew.data, "keeper.db"), timeout=5)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM alerts "
                                            "ORDER BY at_ms")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
