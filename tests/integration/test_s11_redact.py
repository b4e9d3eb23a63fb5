"""SPEC §11, redaction: the built-in credential patterns and a crew's own
#+REDACT: lines replace secrets with [REDACTED] in everything keeper
publishes or stores from a run: activity, history, commit messages, logs
and the run's telemetry."""
from conftest import clean_env, exec_def, git, http_get, sh_def, wait_for, \
    write_def

BUILTINS = ["sk-abcdefghijklmnopqrstuvwx123456",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIAIOSFODNN7EXAMPLE",
            "Bearer eyJhbGciOiJIUzI1NiJ9.abcdefghijkl",
            "password=hunter2hunter2",
            "secret=s3cr3tvalue99",
            "token=tok123456789"]


def secret_part(s):
    return s.split("=", 1)[1] if "=" in s else s.split()[-1]


def test_s11_builtins_and_custom_redacted_everywhere(crew):
    lines = BUILTINS + ["house SEKRIT-77"]
    body = "".join("echo '::step::%s'; echo '::thought::%s'; echo '%s'\n"
                   % (l, l, l) for l in lines)
    crew.write("agents/leak.org", sh_def(body + "sleep 0.2"))
    crew.write("crew.org", "#+TITLE: t\n#+BOOT-GRACE: 0\n"
               "#+REDACT: SEKRIT-[0-9]+\n"
               "* leak\n:PROPERTIES:\n:DEF: agents/leak.org\n"
               ":INTERVAL: 1h\n:END:\n")
    p = crew.start()
    addr = crew.http_addr()
    wait_for(lambda: crew.closed("leak"), what="the run")
    bodies = [http_get(addr, path)[2].decode()
              for path in ("/_activity", "/_changes", "/_health", "/")]
    hist = crew.keeper("history", "--data", crew.data, "--json").stdout
    crew.stop(p)
    bodies += [hist, crew.log(p)]
    assert "[REDACTED]" in hist
    for b in bodies:
        for s in lines:
            assert secret_part(s) not in b, (s, b[:2000])


def test_s11_commit_messages_are_redacted(crew):
    crew.write("crew.org", "#+TITLE: t\n#+REPO: repo\n"
               "#+REDACT: SEKRIT-[0-9]+\n"
               "* c\n:PROPERTIES:\n:DEF: agents/c.org\n:END:\n")
    crew.write("agents/c.org", sh_def(
        "date > f.txt; echo 'wrote with SEKRIT-99'; "
        "echo 'token=abcdef123456'"))
    assert crew.run_once("c").returncode == 0
    msg = git(crew.repo, "log", "-1", "--format=%B")
    assert msg.startswith("c: wrote with [REDACTED]"), msg
    assert "SEKRIT-99" not in msg and "abcdef123456" not in msg


def test_secrets_are_redacted_in_history(crew):
    crew.write("agents/leak.org", sh_def(
        "echo token=hunter2hunter2; echo 'private: SEKRIT-42'"))
    crew.write("crew.org", "#+TITLE: t\n#+REDACT: SEKRIT-[0-9]+\n"
               "* leak\n:PROPERTIES:\n:DEF: agents/leak.org\n:END:\n")
    r = crew.run_once("leak")
    assert r.returncode == 0, r.stderr
    head = crew.rows("leak")[-1]["output_head"]
    assert "hunter2" not in head and "SEKRIT-42" not in head
    assert "[REDACTED]" in head


def test_secrets_in_telemetry_are_redacted(tmp_path, repo, interpreter):
    text = """* leak
#+BEGIN_SRC sh
echo "::step::calling with sk-live0123456789abcdefghijklmnop"
echo "::thought::password=hunter2hunter2 and ticket ZX-1234-QQ"
#+END_SRC
"""
    env = clean_env(KEEPER_REDACT="ZX-[0-9]{4}-QQ")
    res, events = exec_def(write_def(tmp_path, text), repo, env=env,
                           cmd=interpreter, events=True)
    assert res.returncode == 0, res.stderr
    joined = "\n".join(events)
    assert "sk-live0123456789abcdefghijklmnop" not in joined
    assert "hunter2hunter2" not in joined
    assert "ZX-1234-QQ" not in joined
    assert "step calling with [REDACTED]" in events
    # The result is the agent's own output: not keeper's to rewrite.
    assert b"sk-live0123456789abcdefghijklmnop" in res.stdout


def test_secrets_on_stderr_are_redacted_everywhere(crew):
    """The run's log (its stderr) is published too: history's log and
    error, history --run, run-once's live lines, /_runs/ID and keeper's
    own log never show a secret the agent printed there."""
    lines = BUILTINS + ["house SEKRIT-77"]
    body = "".join("echo '%s' >&2\n" % l for l in lines) + \
        "echo 'fatal: cannot log in with token=tok123456789' >&2\nexit 4"
    crew.write("agents/leak.org", sh_def(body))
    crew.write("crew.org", "#+TITLE: t\n#+BOOT-GRACE: 0\n"
               "#+REDACT: SEKRIT-[0-9]+\n"
               "* leak\n:PROPERTIES:\n:DEF: agents/leak.org\n"
               ":INTERVAL: 1h\n:END:\n")
    p = crew.start()
    addr = crew.http_addr()
    wait_for(lambda: crew.closed("leak"), what="the scheduled run")
    once = crew.run_once("leak")
    assert once.returncode == 1
    rows = crew.closed("leak")
    assert len(rows) == 2
    for row in rows:
        assert row["error"] == ("run: exit status 4: fatal: cannot log in "
                                "with token=[REDACTED]"), row["error"]
        assert row["log"].count("[REDACTED]") == len(lines) + 1, row["log"]
    assert secret_part(BUILTINS[0]) not in once.stderr
    bodies = [once.stdout]
    for row in rows:
        bodies += [repr(row), http_get(addr, "/_runs/%d" % row["id"])[2]
                   .decode()]
        for extra in ((), ("--json",)):
            bodies.append(crew.keeper("history", "--data", crew.data,
                                      "--run", str(row["id"]),
                                      *extra).stdout)
    crew.stop(p)
    bodies.append(crew.log(p))
    assert "agent=leak run=%d event=log" % rows[0]["id"] in bodies[-1]
    assert "leak: log " in once.stdout
    for b in bodies:
        assert "[REDACTED]" in b, b[:500]
        for s in lines + ["token=tok123456789"]:
            assert secret_part(s) not in b, (s, b[:2000])
