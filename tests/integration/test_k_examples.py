"""keeper(1) beyond SPEC: the examples in crews/ and agents/ (what `make
run` starts) do what they claim.

Every example file goes through `keeper check`; every agent def runs
through `keeper exec-def` in a scratch site seeded by crews/run-example.sh,
and the files it promises appear (or it answers NO-WORK when there is
nothing to do). The fake model (fake_openai.py) checks wren's narrate
step.
"""
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import KEEPER, ROOT, clean_env, exec_def, wait_for
from fake_openai import Response, chat_reply

ROOT = Path(ROOT)
CREWS = ROOT / "crews"
AGENTS = ROOT / "agents"
DEADLINE = 60
BEATS = ["load", "disk", "memory", "newsroom", "uptime", "clock"]


@pytest.fixture
def site(tmp_path):
    s = tmp_path / "site"
    subprocess.run(["bash", str(CREWS / "run-example.sh"), "--seed", str(s)],
                   check=True, timeout=DEADLINE)
    return s


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


def run(site, data, agent, state="manual", env=None):
    e = clean_env()
    if data is not None:
        e["KEEPER_DATA"] = str(data)
    e.update(env or {})
    res = exec_def(AGENTS / f"{agent}.org", site, "--state", state, env=e,
                   timeout=DEADLINE)
    assert res.returncode == 0, res.stderr.decode()
    return res.stdout.decode()


def orgs(site, d):
    return sorted(p.name for p in (site / d).glob("*.org")) \
        if (site / d).is_dir() else []


def keyword(path, key):
    m = re.search(rf"^#\+{key}: (.*)$", path.read_text(), re.M)
    return m.group(1) if m else None


def test_seeding_is_idempotent(site):
    log = subprocess.run(["git", "-C", str(site), "log", "--oneline"],
                         capture_output=True, check=True).stdout
    subprocess.run(["bash", str(CREWS / "run-example.sh"), "--seed",
                    str(site)], check=True, timeout=DEADLINE)
    assert subprocess.run(["git", "-C", str(site), "log", "--oneline"],
                          capture_output=True, check=True).stdout == log
    assert len(log.splitlines()) == 1
    assert (site / "README.org").exists()


def test_examples_check_clean():
    files = [CREWS / "newsroom.org", CREWS / "writer-loop.org",
             *sorted(AGENTS.glob("*.org"))]
    assert len(files) == 6
    res = subprocess.run([KEEPER, "check", *map(str, files)],
                         capture_output=True, timeout=DEADLINE)
    assert res.returncode == 0, res.stdout + res.stderr
    assert b"warning" not in res.stdout + res.stderr


def test_crew_names_the_four_agents():
    text = (CREWS / "newsroom.org").read_text()
    assert re.findall(r"^\* (\S+)", text, re.M) == ["desk", "moss", "wren",
                                                    "hale"]
    assert not re.search(r"^#\+REPO:", text, re.M)
    assert "LIFECYCLE: writer-loop.org" in text
    for d in re.findall(r":DEF: (\S+)", text):
        assert (CREWS / d).resolve().is_file(), d


def test_the_newsroom_pipeline(site, data):
    # desk fills the queue up to three stories in hand, then waits.
    out = run(site, data, "desk")
    assert out.startswith("assigned 0001-load: How busy is the box?")
    run(site, data, "desk")
    run(site, data, "desk")
    assert orgs(site, "queue") == ["0001-load.org", "0002-disk.org",
                                   "0003-memory.org"]
    out = run(site, data, "desk")
    assert out.startswith("NO-WORK:")
    assert len(orgs(site, "queue")) == 3
    assert "- open assignments :: 3" in (site / "desk/board.org").read_text()

    # moss turns the oldest assignment into a note of real facts.
    out = run(site, data, "researcher")
    assert out.startswith("researched 0001-load: How busy is the box?")
    assert orgs(site, "queue") == ["0002-disk.org", "0003-memory.org"]
    note = site / "notes/0001-load.org"
    facts = re.findall(r"^- (.+) :: (.+)$", note.read_text(), re.M)
    assert len(facts) == 3
    assert keyword(note, "BEAT") == "load"
    assert keyword(note, "RESEARCHED").endswith(" by researcher")

    # wren drafts it, without a model: narrate is skipped.
    out = run(site, data, "writer", "wake_add")
    assert out.startswith("wrote drafts/0001-load.org: How busy is the box?")
    draft = site / "drafts/0001-load.org"
    text = draft.read_text()
    assert keyword(draft, "TITLE") == "How busy is the box?"
    assert "* Facts" in text
    for k, v in facts:
        assert f"The {k} is {v}." in " ".join(text.split())
    assert not note.exists()
    assert run(site, data, "writer", "wake_add").startswith("NO-WORK:")

    # hale publishes it and rebuilds the front page.
    out = run(site, data, "editor")
    assert out.startswith("published stories/0001-load.org: "
                          "How busy is the box?")
    story = site / "stories/0001-load.org"
    assert keyword(story, "EDITOR") == "editor"
    assert keyword(story, "PUBLISHED")
    assert orgs(site, "drafts") == []
    html = (site / "index.html").read_text()
    assert "<h2>How busy is the box?</h2>" in html
    assert "1 story," in html
    assert run(site, data, "editor").startswith("NO-WORK:")
    assert run(site, data, "editor").startswith("NO-WORK:")


def test_every_beat_gathers_facts(site, data):
    (site / "queue").mkdir()
    for i, beat in enumerate(BEATS, 1):
        (site / "queue" / f"{i:04d}-{beat}.org").write_text(
            f"#+TITLE: about {beat}\n#+BEAT: {beat}\n")
    for i, beat in enumerate(BEATS, 1):
        run(site, data, "researcher")
        note = site / "notes" / f"{i:04d}-{beat}.org"
        facts = re.findall(r"^- (.+) :: (.*)$", note.read_text(), re.M)
        assert len(facts) >= 2, (beat, note.read_text())
        for k, v in facts:
            assert v.strip(), (beat, k)
    assert run(site, data, "researcher").startswith("NO-WORK:")


def test_bad_beat_fails(site, data):
    (site / "queue").mkdir()
    (site / "queue/0001-gossip.org").write_text("#+BEAT: gossip\n")
    res = subprocess.run([KEEPER, "exec-def", str(AGENTS / "researcher.org")],
                         cwd=site, capture_output=True, timeout=DEADLINE)
    assert res.returncode == 1
    assert b"no known beat" in res.stderr
    assert (site / "queue/0001-gossip.org").exists()


def test_editor_spikes_a_thin_draft(site, data):
    (site / "drafts").mkdir()
    (site / "drafts/0001-load.org").write_text(
        "#+TITLE: Thin\n#+BEAT: load\n\nToo short.\n\n* Facts\n- a :: b\n")
    out = run(site, data, "editor")
    assert out.startswith("spiked 0001-load.org: 2 words is too thin")
    assert "Spiked by editor" in (site / "spiked/0001-load.org").read_text()
    assert orgs(site, "stories") == []


def test_audit_plan_and_the_desk_follows_the_plan(site, data):
    run(site, None, "desk")  # the data stand-in of a hand run works too
    run(site, data, "researcher")
    run(site, data, "writer", "wake_add")

    out = run(site, data, "writer", "wake_audit")
    assert out.startswith("wrote desk/audit.org: The writer's audit")
    audit = (site / "desk/audit.org").read_text()
    assert re.search(r"^- drafts/0001-load\.org :: \d+ words, beat load$",
                     audit, re.M)

    out = run(site, data, "writer", "wake_plan")
    assert out.startswith("wrote desk/plan.org: The writer's plan")
    plan = site / "desk/plan.org"
    nxt = keyword(plan, "NEXT-BEATS").split()
    assert len(nxt) == 3 and set(nxt) <= set(BEATS) and "load" not in nxt
    # The desk assigns the first planned beat not already in flight.
    out = run(site, data, "desk")
    assert out.startswith(f"assigned 0002-{nxt[0]}:")
    out = run(site, data, "desk")
    assert out.startswith(f"assigned 0003-{nxt[1]}:")


def test_writer_narrates_with_a_model(site, data, fake_llm):
    fake_llm.script(Response(200, chat_reply(
        "# The model wrote this.\n* Not a heading.\n"
        "Told in the model's own words.", usage=(3, 4, 7))))
    run(site, data, "desk")
    run(site, data, "researcher")
    out = run(site, data, "writer", "wake_add", env={
        "KEEPER_LLM_URL": fake_llm.url,
        "KEEPER_LLM_MODEL": "newsroom-test"})
    assert out.startswith("wrote drafts/0001-load.org")
    (request,) = fake_llm.requests
    req = request.json
    assert req["model"] == "newsroom-test"
    assert req["messages"][0]["role"] == "system"
    assert "wren" in req["messages"][0]["content"]
    prompt = req["messages"][1]["content"]
    assert "Fresh numbers from the load beat." in prompt
    assert "wake_add" in prompt
    draft = (site / "drafts/0001-load.org").read_text()
    assert "Told in the model's own words." in draft
    # the model's lines cannot become headings or keywords
    assert "\n # The model wrote this." in draft
    assert "\n * Not a heading." in draft
    assert "Fresh numbers" not in draft  # the composed prose was replaced
    assert "* Facts" in draft
    assert keyword(site / "drafts/0001-load.org", "TITLE") == \
        "How busy is the box?"


def test_run_example_starts_a_living_crew(tmp_path):
    # What `make run` does, on a scratch site and a free port: the daemon
    # starts, and within its boot grace the desk has assigned a beat.
    site, state = tmp_path / "site", tmp_path / "state"
    env = clean_env(KEEPER_EXAMPLE_SITE=str(site),
                    KEEPER_EXAMPLE_DATA=str(state),
                    KEEPER_EXAMPLE_LISTEN="127.0.0.1:0")
    p = subprocess.Popen(["bash", str(CREWS / "run-example.sh"), KEEPER],
                         env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        assigned = site / "queue/0001-load.org"
        wait_for(lambda: assigned.exists() or p.poll() is not None,
                 timeout=DEADLINE, what="the desk to assign a beat")
        assert p.poll() is None, p.communicate()
        assert keyword(site / "queue/0001-load.org", "ASSIGNED") \
            .endswith(" by desk")
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=DEADLINE)
    assert p.returncode == 0, err
    assert b"dashboard on http://127.0.0.1:0/" in err
