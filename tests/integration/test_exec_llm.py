"""keeper exec-def: llm steps against a loopback fake OpenAI-compatible
server written here (not a mock inside keeper), plus redaction of what
exec-def publishes.

The llm module's own tests cover retries, backoff and timeouts; these check
what the interpreter does with it: templating of earlier outputs, system
prompt and model choice, the usage event, failures, :if-env.
"""
import http.server
import json
import os
import subprocess
import threading

import pytest

KEEPER = os.environ.get("KEEPER_BIN", "build/keeper")
DEADLINE = 30
# Both interpreters: keeper's exec-def (libcurl linked) and keeper-exec,
# which opens libcurl only when an llm step runs (src/dlcurl.c).
INTERPRETERS = {
    "exec-def": [KEEPER, "exec-def"],
    "keeper-exec": [os.path.join(os.path.dirname(KEEPER), "keeper-exec")],
}
CMD = INTERPRETERS["exec-def"]


@pytest.fixture(autouse=True, params=sorted(INTERPRETERS))
def interpreter(request, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "CMD",
                        INTERPRETERS[request.param])


class FakeLLM(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = []
        self.reply = "a fine reply"
        self.status = 200
        self.body = None  # raw body overriding the JSON reply
        self.usage = {"prompt_tokens": 11, "completion_tokens": 7,
                      "total_tokens": 18}

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(n)
        s = self.server
        s.requests.append({"path": self.path,
                           "auth": self.headers.get("Authorization"),
                           "json": json.loads(raw)})
        if s.body is not None:
            body = s.body
        else:
            reply = s.reply(s.requests[-1]["json"]) if callable(s.reply) \
                else s.reply
            msg = {"choices": [{"message": {"role": "assistant",
                                            "content": reply}}]}
            if s.usage:
                msg["usage"] = s.usage
            body = json.dumps(msg).encode()
        self.send_response(s.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def llm():
    srv = FakeLLM()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    r.mkdir()
    return r


def env_for(llm=None, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPER_")}
    if llm is not None:
        env.update(KEEPER_LLM_URL=llm.url, KEEPER_LLM_KEY="sk-test-0123456789abcdefghij",
                   KEEPER_LLM_MODEL="env-model")
    env.update(extra)
    return env


def run(tmp_path, repo, text, env, *args):
    d = tmp_path / "agent.org"
    d.write_text(text)
    r, w = os.pipe()
    env = dict(env, KEEPER_EVENT_FD=str(w))
    p = subprocess.Popen(CMD + [str(d), *args], cwd=repo,
                         env=env, pass_fds=(w,), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        events = f.read().decode().splitlines()
    out, err = p.communicate(timeout=DEADLINE)
    return p.returncode, out, err, events


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


def test_llm_step_templates_and_reply(tmp_path, repo, llm):
    llm.reply = "the model says hi\n::step::drafted by the model"
    rc, out, err, events = run(tmp_path, repo, DEF,
                               env_for(llm, KEEPER_AGENT="wren",
                                       KEEPER_HITS="2"), "--state", "wake_add")
    assert rc == 0, err
    assert out == b"THE MODEL SAYS HI\n::STEP::DRAFTED BY THE MODEL"
    (req,) = llm.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["auth"] == "Bearer sk-test-0123456789abcdefghij"
    body = req["json"]
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


def test_model_from_def_then_environment(tmp_path, repo, llm):
    text = "#+MODEL: def-model\n* ask\n#+BEGIN_SRC llm\nhello\n#+END_SRC\n"
    rc, out, err, _ = run(tmp_path, repo, text, env_for(llm))
    assert rc == 0, err
    assert llm.requests[-1]["json"]["model"] == "def-model"
    assert "system" not in [m["role"] for m in
                            llm.requests[-1]["json"]["messages"]]
    text = "* ask\n#+BEGIN_SRC llm\nhello\n#+END_SRC\n"
    rc, out, err, _ = run(tmp_path, repo, text, env_for(llm))
    assert rc == 0, err
    assert llm.requests[-1]["json"]["model"] == "env-model"
    env = env_for(llm)
    del env["KEEPER_LLM_MODEL"]
    rc, out, err, _ = run(tmp_path, repo, text, env)
    assert rc == 1
    assert b"no model" in err
    assert len(llm.requests) == 2


def test_reply_no_work_ends_the_def(tmp_path, repo, llm):
    llm.reply = "NO-WORK: nothing worth saying"
    text = """* ask
#+BEGIN_SRC llm
anything?
#+END_SRC
* after
#+BEGIN_SRC sh
touch after-ran
#+END_SRC
"""
    rc, out, err, events = run(tmp_path, repo, text, env_for(llm))
    assert rc == 0, err
    assert out == b"NO-WORK: nothing worth saying"
    assert not (repo / "after-ran").exists()
    assert events[-1].startswith("step-end ask no_work ")


def test_error_reply_fails_with_one_line(tmp_path, repo, llm):
    llm.status = 400
    llm.body = b'{"error": {"message": "bad model sk-leak-0123456789abcdefghijkl"}}'
    text = """* ask
#+BEGIN_SRC llm
anything?
#+END_SRC
* after
#+BEGIN_SRC sh
touch after-ran
#+END_SRC
"""
    rc, out, err, events = run(tmp_path, repo, text, env_for(llm))
    assert rc == 1
    assert not (repo / "after-ran").exists()
    lines = [l for l in err.decode().splitlines() if 'step "ask"' in l]
    assert len(lines) == 1, err
    assert "400" in lines[0] or "bad model" in lines[0]
    assert b"sk-leak-0123456789abcdefghijkl" not in err
    assert events[-1].startswith("step-end ask failed ")
    assert not any(e.startswith("usage") for e in events)


def test_no_url_fails_clearly(tmp_path, repo):
    text = "* ask\n#+BEGIN_SRC llm\nhi\n#+END_SRC\n"
    rc, out, err, events = run(tmp_path, repo, text, env_for(None))
    assert rc == 1
    assert b'step "ask": KEEPER_LLM_URL is not set' in err


def test_unknown_placeholder_fails_before_asking(tmp_path, repo, llm):
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
    rc, out, err, _ = run(tmp_path, repo, text, env_for(llm))
    assert rc == 1
    assert b"{{two}} names a step that has not run yet" in err
    text = text.replace("{{two}}", "{{nowhere}}")
    rc, out, err, _ = run(tmp_path, repo, text, env_for(llm))
    assert rc == 1
    assert b"unknown placeholder {{nowhere}}" in err
    assert llm.requests == []


def test_if_env_skips_and_passes_input_on(tmp_path, repo, llm):
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
    rc, out, err, events = run(tmp_path, repo, text, env_for(None))
    assert rc == 0, err
    assert out == b"> composed text\n"
    assert "step narrate skipped: KEEPER_LLM_URL is not set" in events
    assert not any(e.startswith("usage") for e in events)

    llm.reply = lambda req: req["messages"][-1]["content"].upper()
    rc, out, err, events = run(tmp_path, repo, text, env_for(llm))
    assert rc == 0, err
    assert out == b"> REWRITE: COMPOSED TEXT\n"
    assert "usage 11 7 18" in events


def test_secrets_in_telemetry_are_redacted(tmp_path, repo):
    text = """* leak
#+BEGIN_SRC sh
echo "::step::calling with sk-live0123456789abcdefghijklmnop"
echo "::thought::password=hunter2hunter2 and ticket ZX-1234-QQ"
#+END_SRC
"""
    env = env_for(None, KEEPER_REDACT="ZX-[0-9]{4}-QQ")
    rc, out, err, events = run(tmp_path, repo, text, env)
    assert rc == 0, err
    joined = "\n".join(events)
    assert "sk-live0123456789abcdefghijklmnop" not in joined
    assert "hunter2hunter2" not in joined
    assert "ZX-1234-QQ" not in joined
    assert "step calling with [REDACTED]" in events
    # The result is the agent's own output: not keeper's to rewrite.
    assert b"sk-live0123456789abcdefghijklmnop" in out
