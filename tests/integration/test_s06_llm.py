"""SPEC §6, llm steps over real HTTP: a def's llm blocks sent as chat
completions to the OpenAI-compatible endpoint in KEEPER_LLM_URL, run by
`keeper exec-def` (and keeper-exec) against the loopback fake server
(fake_openai.py) that scripts each reply and records each request.

Covers the request keeper sends (path, Bearer, JSON body, system prompt,
model choice, templating of earlier steps), retries (429 + Retry-After,
500 until the step timeout), broken replies (garbage, missing content,
error status, a body that stalls past the timeout), a reply that answers
NO-WORK, :if-env, token usage in the telemetry and the history, and that
secrets printed by a step or echoed by the server are redacted on the way
out.
"""
import json
import re
import socket

from conftest import clean_env, exec_def, reason_of, write_def
from fake_openai import Response, chat_reply, error_body

SECRET_KEY = "sk-proj-Zq8TESTkeyDoNotLeak0123456789abcdef"
# The interpreter tests' key, model and token counts.
TEST_KEY = "sk-test-0123456789abcdefghij"
USAGE = (11, 7, 18)


def llm_env(fake_llm, **extra):
    env = clean_env(KEEPER_LLM_URL=fake_llm.url, KEEPER_LLM_KEY=SECRET_KEY,
                    KEEPER_LLM_MODEL="fake-model")
    env.update(extra)
    return env


def env_for(fake_llm=None, **extra):
    """The interpreter tests' environment: fake_llm's endpoint (none when
    None), TEST_KEY and the model env-model."""
    env = clean_env()
    if fake_llm is not None:
        env.update(KEEPER_LLM_URL=fake_llm.url, KEEPER_LLM_KEY=TEST_KEY,
                   KEEPER_LLM_MODEL="env-model")
    env.update(extra)
    return env


def reply(content):
    """A 200 answer of content, with the interpreter tests' USAGE."""
    return Response(200, chat_reply(content, usage=USAGE))


def run_def(tmp_path, repo, text, env, *args, events=False, cmd=None):
    """Run the def text with exec-def (or cmd, an interpreter's argv) in
    repo; (result, its event lines or None)."""
    d = write_def(tmp_path, text)
    if events:
        return exec_def(d, repo, *args, env=env, cmd=cmd, events=True)
    return exec_def(d, repo, *args, env=env, cmd=cmd), None


ONE_LLM_STEP = """#+TITLE: ask
* ask
#+BEGIN_SRC llm%s
Say yes.
#+END_SRC
"""


def one_step(args=""):
    return ONE_LLM_STEP % args


def test_request_shape_bearer_and_templating(tmp_path, repo, fake_llm):
    fake_llm.script(Response(200, chat_reply("The answer is 42.")))
    res, _ = run_def(tmp_path, repo, """#+TITLE: chain
#+SYSTEM: You are a terse editor.
#+SYSTEM: Answer in one line.
* facts
#+BEGIN_SRC sh
printf 'alpha=1\\nbeta=2\\n'
#+END_SRC
* count
#+BEGIN_SRC sh
wc -l | tr -d ' '
#+END_SRC
* ask
#+BEGIN_SRC llm :model model-from-arg
Facts:
{{facts}}
Lines: {{prev}}
Agent {{agent}} in {{state}} with {{hits}} hits.
#+END_SRC
* shout
#+BEGIN_SRC sh
tr a-z A-Z
#+END_SRC
""", llm_env(fake_llm))
    assert res.returncode == 0, res.stderr
    # The reply became the llm step's output, the next step's stdin.
    assert res.stdout == b"THE ANSWER IS 42."
    (req,) = fake_llm.requests
    assert req.method == "POST"
    assert req.path == "/v1/chat/completions"
    assert req.headers["Authorization"] == "Bearer " + SECRET_KEY
    assert req.headers["Content-Type"] == "application/json"
    assert req.json == {
        "model": "model-from-arg",
        "messages": [
            {"role": "system",
             "content": "You are a terse editor.\nAnswer in one line."},
            {"role": "user",
             # A placeholder drops its output's final newline.
             "content": "Facts:\nalpha=1\nbeta=2\nLines: 2\n"
                        "Agent agent in manual with 0 hits.\n"},
        ],
    }


def test_model_from_env_no_key_and_full_url(tmp_path, repo, fake_llm):
    fake_llm.script(Response(200, chat_reply("ok")))
    env = llm_env(fake_llm, KEEPER_LLM_URL=fake_llm.url + "/chat/completions",
                  KEEPER_LLM_MODEL="env-model")
    del env["KEEPER_LLM_KEY"]
    res, _ = run_def(tmp_path, repo, one_step(), env)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"ok"
    (req,) = fake_llm.requests
    assert req.path == "/v1/chat/completions"
    assert "Authorization" not in req.headers
    assert req.json["model"] == "env-model"
    assert req.json["messages"] == [{"role": "user", "content": "Say yes.\n"}]


def test_429_with_retry_after_then_success(tmp_path, repo, fake_llm):
    fake_llm.script(Response(429, error_body("Rate limit reached"),
                         headers={"Retry-After": "1"}),
                Response(200, chat_reply("made it")))
    res, _ = run_def(tmp_path, repo, one_step(" :timeout 20s"),
                     llm_env(fake_llm))
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"made it"
    first, second = fake_llm.requests
    # Retry-After (1 s) was honoured over the first backoff step (0.5 s).
    assert second.at - first.at >= 1.0
    assert second.json == first.json


def test_500_forever_until_the_step_timeout(tmp_path, repo, fake_llm):
    fake_llm.script(Response(500, error_body("the server had an error")))
    res, _ = run_def(tmp_path, repo, one_step(" :timeout 1200ms"),
                     llm_env(fake_llm))
    assert res.returncode == 1
    err = res.stderr.decode()
    # Tries at 0 s and 0.5 s; the next (after 1 s more) would pass 1.2 s.
    # (A very slow machine may fit only one try: count, do not assume.)
    m = re.search(r"llm: timed out after 1\.2s \((\d+) attempts?, last: "
                  r"HTTP 500: the server had an error\)", err)
    assert m, err
    assert int(m.group(1)) == len(fake_llm.requests)
    assert len(fake_llm.requests) in (1, 2)


def test_garbage_body(tmp_path, repo, fake_llm):
    fake_llm.script(Response(200, "<html><body>502 Bad Gateway</body></html>",
                         headers={"Content-Type": "text/html"}))
    res, _ = run_def(tmp_path, repo, one_step(), llm_env(fake_llm))
    assert res.returncode == 1
    assert b"llm: reply is not JSON" in res.stderr, res.stderr
    assert len(fake_llm.requests) == 1     # a 200 is never retried


def test_missing_content(tmp_path, repo, fake_llm):
    fake_llm.script(Response(200, {"choices": [{"message": {"role":
                                                        "assistant"}}]}))
    res, _ = run_def(tmp_path, repo, one_step(), llm_env(fake_llm))
    assert res.returncode == 1
    assert b"llm: reply has no choices[0].message.content" in res.stderr


def test_slow_body_past_the_timeout(tmp_path, repo, fake_llm):
    # Headers and half the body, then silence far past the step timeout.
    fake_llm.script(Response(200, chat_reply("too late"), stall=60))
    res, _ = run_def(tmp_path, repo, one_step(" :timeout 500ms"),
                     llm_env(fake_llm))
    assert res.returncode == 1
    assert b"llm: timed out after 500ms (1 attempt)" in res.stderr, \
        res.stderr
    assert b"too late" not in res.stdout


def test_error_reply_is_not_retried_and_key_is_redacted(tmp_path, repo,
                                                        fake_llm):
    # Servers echo (part of) a bad key: it must not reach the output.
    fake_llm.script(Response(401, error_body(
        "Incorrect API key provided: %s." % SECRET_KEY,
        "invalid_request_error")))
    res, events = run_def(tmp_path, repo, one_step(), llm_env(fake_llm),
                          events=True)
    assert res.returncode == 1
    err = reason_of(events).decode()
    assert re.fullmatch(r"ask: HTTP 401 from 127\.0\.0\.1:\d+ after 1 try: "
                        r"Incorrect API key provided: \[REDACTED\]\.", err), err
    assert SECRET_KEY not in err
    assert not any(SECRET_KEY in e for e in events)
    assert len(fake_llm.requests) == 1


def test_usage_is_reported(tmp_path, repo, fake_llm):
    fake_llm.script(Response(200, chat_reply("fine", usage=(21, 3, 24))))
    res, events = run_def(tmp_path, repo, one_step(), llm_env(fake_llm),
                          events=True)
    assert res.returncode == 0, res.stderr
    assert "usage 21 3 24" in events, events
    # And for a person at a terminal.
    res, _ = run_def(tmp_path, repo, one_step(), llm_env(fake_llm))
    assert res.returncode == 0, res.stderr
    assert b"usage: 21 3 24" in res.stderr, res.stderr


def test_secrets_printed_by_steps_are_redacted(tmp_path, repo, fake_llm):
    fake_llm.script(Response(200, chat_reply("::thought::the key is %s\nDone."
                                         % SECRET_KEY)))
    res, events = run_def(tmp_path, repo, """#+TITLE: leaky
* leak
#+BEGIN_SRC sh
echo "::step::logging in with password=hunter2"
echo "::thought::AWS AKIAIOSFODNN7EXAMPLE and ACME-424242"
echo "hello"
#+END_SRC
* ask
#+BEGIN_SRC llm
{{prev}}
#+END_SRC
""", llm_env(fake_llm, KEEPER_REDACT="ACME-[0-9]+"), events=True)
    assert res.returncode == 0, res.stderr
    text = "\n".join(events)
    assert "step logging in with password=[REDACTED]" in events, events
    assert "thought AWS [REDACTED] and [REDACTED]" in events, events
    assert "thought the key is [REDACTED]" in events, events
    for secret in ("hunter2", "AKIAIOSFODNN7EXAMPLE", "ACME-424242",
                   SECRET_KEY):
        assert secret not in text
    # The prompt itself is the agent's business: sent as written.
    assert "password=hunter2" in fake_llm.requests[0].json["messages"][-1][
        "content"]


def test_unreachable_server_fails_within_the_timeout(tmp_path, repo):
    # A port nobody listens on: connection refused is retried, then the
    # step fails at its timeout rather than hanging.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))       # bound, never listening
        url = "http://127.0.0.1:%d/v1" % s.getsockname()[1]
        res, _ = run_def(tmp_path, repo, one_step(" :timeout 800ms"),
                         clean_env(KEEPER_LLM_URL=url, KEEPER_LLM_MODEL="m"))
    assert res.returncode == 1
    assert re.search(rb"llm: timed out after 800ms \([12] attempts?, last: "
                     rb".*[Cc]onnect", res.stderr), res.stderr


def test_run_once_records_usage_and_keeps_secrets_out(crew, fake_llm):
    """Through the daemon's path: usage lands in the run history, and a
    secret printed by a step or returned by the model reaches neither the
    history nor `keeper history`."""
    fake_llm.script(Response(200, chat_reply(
        "Filed with key %s and ACME-777\nsecond line" % SECRET_KEY,
        usage=(30, 12, 42))))
    crew.write("agents/ask.org", """#+TITLE: ask
* gather
#+BEGIN_SRC sh
echo "::thought::logging in with password=hunter2"
echo "note" > note.txt
echo "facts: AKIAIOSFODNN7EXAMPLE"
#+END_SRC
* ask
#+BEGIN_SRC llm :timeout 20s
{{prev}}
#+END_SRC
""")
    crew.write("crew.org", "#+TITLE: t\n#+REPO: repo\n"
               "#+REDACT: ACME-[0-9]+\n"
               "* ask\n:PROPERTIES:\n:DEF: agents/ask.org\n:END:\n")
    env = llm_env(fake_llm)
    r = crew.keeper("run-once", "ask", "--crew", crew.crew, "--data",
                    crew.data, env=env)
    assert r.returncode == 0, r.stderr
    assert len(fake_llm.requests) == 1
    # The model saw what the step printed: the agent's own business.
    assert "AKIAIOSFODNN7EXAMPLE" in fake_llm.requests[0].body.decode()

    (row,) = crew.rows("ask")
    assert row["outcome"] == "done"
    assert row["tokens_prompt"] == 30
    assert row["tokens_completion"] == 12
    assert "[REDACTED]" in row["output_head"]
    hist = crew.keeper("history", "ask", "--crew", crew.crew, "--data",
                       crew.data, "--json", env=env)
    assert hist.returncode == 0, hist.stderr
    assert json.loads(hist.stdout), hist.stdout
    published = "\n".join([repr(row), hist.stdout, r.stdout, r.stderr])
    for secret in ("hunter2", "AKIAIOSFODNN7EXAMPLE", "ACME-777",
                   SECRET_KEY):
        assert secret not in published, secret


DEF = """#+TITLE: templating
#+SYSTEM: You are {{agent}}, in state {{state}}.
* gather notes
#+BEGIN_SRC sh
echo "three facts"
#+END_SRC
* count
#+BEGIN_SRC sh
wc -w | tr -d ' '
#+END_SRC
* ask
#+BEGIN_SRC llm :model step-model
Facts: {{gather notes}}
Count: {{ prev }}
Agent {{agent}}, state {{state}}, hits {{hits}}.
#+END_SRC
* shout
#+BEGIN_SRC sh
tr a-z A-Z
#+END_SRC
"""


def test_llm_step_templates_and_reply(tmp_path, repo, fake_llm, interpreter):
    fake_llm.script(reply("the model says hi\n"
                          "::step::drafted by the model"))
    res, events = run_def(tmp_path, repo, DEF,
                          env_for(fake_llm, KEEPER_AGENT="wren",
                                  KEEPER_HITS="2"), "--state", "wake_add",
                          events=True, cmd=interpreter)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"THE MODEL SAYS HI\n::STEP::DRAFTED BY THE MODEL"
    (req,) = fake_llm.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["Authorization"] == "Bearer " + TEST_KEY
    body = req.json
    assert body["model"] == "step-model"
    msgs = body["messages"]
    assert msgs[0] == {"role": "system",
                       "content": "You are wren, in state wake_add."}
    assert msgs[1]["role"] == "user"
    # outputs lose their trailing newlines, as in $(...)
    assert msgs[1]["content"] == ("Facts: three facts\nCount: 2\n"
                                  "Agent wren, state wake_add, hits 2.\n")
    assert "usage 11 7 18" in events
    assert "step drafted by the model" in events
    ask = [e for e in events if e.startswith("step-end ask ")]
    assert ask and ask[0].split()[-2] == "ok"


def test_model_from_def_then_environment(tmp_path, repo, fake_llm,
                                         interpreter):
    text = "#+MODEL: def-model\n* ask\n#+BEGIN_SRC llm\nhello\n#+END_SRC\n"
    res, _ = run_def(tmp_path, repo, text, env_for(fake_llm),
                     events=True, cmd=interpreter)
    assert res.returncode == 0, res.stderr
    assert fake_llm.requests[-1].json["model"] == "def-model"
    assert "system" not in [m["role"] for m in
                            fake_llm.requests[-1].json["messages"]]
    text = "* ask\n#+BEGIN_SRC llm\nhello\n#+END_SRC\n"
    res, _ = run_def(tmp_path, repo, text, env_for(fake_llm),
                     events=True, cmd=interpreter)
    assert res.returncode == 0, res.stderr
    assert fake_llm.requests[-1].json["model"] == "env-model"
    env = env_for(fake_llm)
    del env["KEEPER_LLM_MODEL"]
    res, events = run_def(tmp_path, repo, text, env, events=True,
                          cmd=interpreter)
    assert res.returncode == 1
    assert reason_of(events) == (b"ask: no model: set :model on the block, "
                                 b"#+MODEL: in the def or KEEPER_LLM_MODEL")
    assert len(fake_llm.requests) == 2


def test_reply_no_work_ends_the_def(tmp_path, repo, fake_llm, interpreter):
    fake_llm.script(reply("NO-WORK: nothing worth saying"))
    text = """* ask
#+BEGIN_SRC llm
anything?
#+END_SRC
* after
#+BEGIN_SRC sh
touch after-ran
#+END_SRC
"""
    res, events = run_def(tmp_path, repo, text, env_for(fake_llm),
                          events=True, cmd=interpreter)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"NO-WORK: nothing worth saying"
    assert not (repo / "after-ran").exists()
    assert events[-1].startswith("step-end ask no_work ")


def test_error_reply_fails_with_one_line(tmp_path, repo, fake_llm,
                                         interpreter):
    fake_llm.script(Response(400, b'{"error": {"message": "bad model '
                             b'sk-leak-0123456789abcdefghijkl"}}'))
    text = """* ask
#+BEGIN_SRC llm
anything?
#+END_SRC
* after
#+BEGIN_SRC sh
touch after-ran
#+END_SRC
"""
    res, events = run_def(tmp_path, repo, text, env_for(fake_llm),
                          events=True, cmd=interpreter)
    assert res.returncode == 1
    assert not (repo / "after-ran").exists()
    why = reason_of(events).decode()
    assert why.startswith("ask: HTTP 400 from 127.0.0.1:"), events
    assert "bad model [REDACTED]" in why
    assert "sk-leak-0123456789abcdefghijkl" not in "\n".join(events)
    assert b"sk-leak-0123456789abcdefghijkl" not in res.stderr
    assert events[-2].startswith("step-end ask failed ")
    assert not any(e.startswith("usage") for e in events)


def test_no_url_fails_clearly(tmp_path, repo, interpreter):
    text = "* ask\n#+BEGIN_SRC llm\nhi\n#+END_SRC\n"
    res, events = run_def(tmp_path, repo, text, env_for(None),
                          events=True, cmd=interpreter)
    assert res.returncode == 1
    assert reason_of(events).startswith(b"ask: KEEPER_LLM_URL is not set: "
                                        b"set it to")


def test_unknown_placeholder_fails_before_asking(tmp_path, repo, fake_llm,
                                                 interpreter):
    text = """* one
#+BEGIN_SRC sh
echo x
#+END_SRC
* ask
#+BEGIN_SRC llm
{{one}} and {{two}}
#+END_SRC
* two
#+BEGIN_SRC sh
echo y
#+END_SRC
"""
    res, events = run_def(tmp_path, repo, text, env_for(fake_llm),
                          events=True, cmd=interpreter)
    assert res.returncode == 1
    why = reason_of(events)
    assert why.startswith(b"ask: ") and \
        b"{{two}} names a step that has not run yet" in why, events
    text = text.replace("{{two}}", "{{nowhere}}")
    res, events = run_def(tmp_path, repo, text, env_for(fake_llm),
                          events=True, cmd=interpreter)
    assert res.returncode == 1
    assert b"unknown placeholder {{nowhere}}" in reason_of(events)
    assert fake_llm.requests == []


def test_if_env_skips_and_passes_input_on(tmp_path, repo, fake_llm,
                                          interpreter):
    text = """* compose
#+BEGIN_SRC sh
echo composed text
#+END_SRC
* narrate
#+BEGIN_SRC llm :if-env KEEPER_LLM_URL
Rewrite: {{prev}}
#+END_SRC
* assemble
#+BEGIN_SRC sh
sed 's/^/> /'
#+END_SRC
"""
    res, events = run_def(tmp_path, repo, text, env_for(None),
                          events=True, cmd=interpreter)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"> composed text\n"
    assert "step narrate skipped: KEEPER_LLM_URL is not set" in events
    assert not any(e.startswith("usage") for e in events)

    fake_llm.script(Response(200, body=lambda req: chat_reply(
        req.json["messages"][-1]["content"].upper(), usage=USAGE)))
    res, events = run_def(tmp_path, repo, text, env_for(fake_llm),
                          events=True, cmd=interpreter)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"> REWRITE: COMPOSED TEXT\n"
    assert "usage 11 7 18" in events


# ---- why an llm step failed, through the daemon's path (SPEC §6) ----

NARRATE = """#+TITLE: story
* gather
#+BEGIN_SRC sh
echo "facts"
#+END_SRC
* narrate
#+BEGIN_SRC llm%s
Tell {{prev}}
#+END_SRC
"""


def story_crew(crew, block_args=""):
    crew.write("agents/story.org", NARRATE % block_args)
    crew.write("crew.org", "#+TITLE: t\n#+REPO: repo\n"
               "* story\n:PROPERTIES:\n:DEF: agents/story.org\n:END:\n")


def test_retries_are_telemetry_while_they_wait(crew, fake_llm):
    fake_llm.script(Response(500, error_body("the model is napping")),
                    Response(200, chat_reply("a story", usage=(1, 2, 3))))
    story_crew(crew, " :timeout 20s")
    r = crew.keeper("run-once", "story", "--crew", crew.crew, "--data",
                    crew.data, env=llm_env(fake_llm))
    assert r.returncode == 0, r.stdout + r.stderr
    host = "127.0.0.1:%d" % fake_llm.port
    # told before the wait, among the steps
    assert "story: step narrate: HTTP 500 from %s, try 2 in 500ms" % host \
        in r.stdout.splitlines(), r.stdout
    (row,) = crew.closed("story")
    assert row["outcome"] == "done" and row["error"] is None


def test_endpoint_answer_is_the_error(crew, fake_llm):
    fake_llm.script(Response(500, error_body("the model is napping")))
    story_crew(crew, " :timeout 2s")
    r = crew.keeper("run-once", "story", "--crew", crew.crew, "--data",
                    crew.data, env=llm_env(fake_llm))
    assert r.returncode == 1, r.stdout + r.stderr
    (row,) = crew.closed("story")
    tries = len(fake_llm.requests)
    assert tries >= 2
    why = ("narrate: HTTP 500 from 127.0.0.1:%d after %d tries: the model "
           "is napping (out of time: 2s)" % (fake_llm.port, tries))
    assert row["error"] == why, row["error"]
    assert r.stdout.splitlines()[-1].endswith(": " + why), r.stdout


def test_no_model_fails_at_once_with_the_fix(crew, fake_llm):
    story_crew(crew)
    env = llm_env(fake_llm)
    del env["KEEPER_LLM_MODEL"]
    r = crew.keeper("run-once", "story", "--crew", crew.crew, "--data",
                    crew.data, env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    why = ("narrate: no model: set :model on the block, #+MODEL: in the "
           "def or KEEPER_LLM_MODEL")
    (row,) = crew.closed("story")
    assert row["error"] == why
    assert r.stdout.splitlines()[-1].endswith(": " + why), r.stdout
    assert fake_llm.requests == []
    # keeper check says so before anything runs
    c = crew.keeper("check", crew.path("agents/story.org"))
    assert c.returncode == 0
    assert 'agents/story.org:7: warning: llm step "narrate" has no :model' \
        in c.stderr, c.stderr
