"""SPEC §7, git is the changelog, through the real binary: run-once and
the daemon commit done runs with libgit2 (author, subject, trailers,
.gitignore, no change no commit), record failed and killed runs on
refs/keeper/partial/NAME/RUN without touching the work tree, integrate
origin with KEEPER_GITOPS and push with KEEPER_GITPUSH, and leave a sound
repository when killed mid-commit. The git CLI only sets up and
inspects. (`keeper log` is in test_s09_cli.py, /_changes in
test_s10_http.py.)"""
import os
import signal
import subprocess

from conftest import SHORT_LOOP, git, human_commit, ok_def, sh_def, wait_for

LOOP = """#+START: wake_add
* wake_add
:PROPERTIES:
:REPEAT: 3
:NEXT: wake_plan
:END:
* wake_plan
:PROPERTIES:
:NEXT: wake_add
:END:
"""


def make_agent(crew, body, props=None, lifecycle=True, **kw):
    crew.write("agents/a.org", sh_def(body))
    p = {"DEF": "agents/a.org", "INTERVAL": "1h"}
    if lifecycle:
        crew.write("loop.org", LOOP)
        p["LIFECYCLE"] = "loop.org"
    p.update(props or {})
    crew.write_crew([("wren", p)], repo="repo", **kw)


def commits(repo):
    r = subprocess.run(["git", "-C", repo, "rev-list", "--count", "HEAD"],
                       capture_output=True, text=True)
    return int(r.stdout) if r.returncode == 0 else 0


def test_done_run_is_an_attributed_commit(crew):
    make_agent(crew, "echo hello > notes.md\n"
                "printf 'wrote the notes\\n\\nmore detail here\\n'")
    r = crew.run_once("wren")
    assert r.returncode == 0, r.stdout + r.stderr
    fmt = "%an <%ae>|%cn <%ce>|%s"
    assert git(crew.repo, "log", "-1", "--format=" + fmt) == (
        "wren <wren@keeper.invalid>|wren <wren@keeper.invalid>|"
        "wren: wake_add 1/3 \u2014 wrote the notes")
    row = crew.closed("wren")[-1]
    trailers = git(crew.repo, "log", "-1",
                   "--format=%(trailers:key=Keeper-Agent,valueonly)"
                   "%(trailers:key=Keeper-State,valueonly)"
                   "%(trailers:key=Keeper-Run,valueonly)")
    assert trailers.split("\n") == ["wren", "wake_add", str(row["id"])]
    assert "more detail here" in git(crew.repo, "log", "-1", "--format=%b")
    assert git(crew.repo, "show", "HEAD:notes.md") == "hello"
    # the history row carries the commit id; the position moved after it
    assert row["outcome"] == "done"
    assert row["commit_id"] == git(crew.repo, "rev-parse", "HEAD")
    assert row["git"].startswith("committed ")
    assert crew.pos("wren") == ("wake_add", 1)
    assert git(crew.repo, "status", "--porcelain") == ""

    # second run of the state: the subject counts it
    crew.write("agents/a.org", sh_def("echo more >> notes.md; echo again"))
    assert crew.run_once("wren").returncode == 0
    assert git(crew.repo, "log", "-1", "--format=%s") == (
        "wren: wake_add 2/3 \u2014 again")


def test_no_change_no_commit(crew):
    make_agent(crew, "echo looked around")
    human_commit(crew.repo, "README", "hi\n")
    r = crew.run_once("wren")
    assert r.returncode == 0, r.stderr
    assert commits(crew.repo) == 1
    row = crew.closed("wren")[-1]
    assert row["outcome"] == "done"
    assert row["commit_id"] is None
    assert row["git"] == "no change"


def test_gitignore_and_author_override(crew):
    make_agent(crew, "echo x > kept.txt; echo y > noise.log; echo done",
               props={"AUTHOR": "Wren Bot <wren@bots.example>"})
    with open(os.path.join(crew.repo, ".gitignore"), "w") as f:
        f.write("*.log\n")
    assert crew.run_once("wren").returncode == 0
    assert git(crew.repo, "log", "-1", "--format=%an <%ae>") == (
        "Wren Bot <wren@bots.example>")
    files = git(crew.repo, "ls-tree", "--name-only", "HEAD").split("\n")
    assert sorted(files) == [".gitignore", "kept.txt"]


def test_author_domain(crew):
    make_agent(crew, "echo x > a.txt; echo ok", author_domain="news.example")
    assert crew.run_once("wren").returncode == 0
    assert git(crew.repo, "log", "-1", "--format=%ae") == "wren@news.example"


def test_failed_run_lands_on_a_partial_ref(crew):
    make_agent(crew, "echo draft > draft.md; echo half > base.txt; "
                "echo broke; exit 1")
    human_commit(crew.repo, "base.txt", "base\n")
    head = git(crew.repo, "rev-parse", "HEAD")
    index = open(os.path.join(crew.repo, ".git", "index"), "rb").read()
    r = crew.run_once("wren")
    assert r.returncode == 1
    row = crew.closed("wren")[-1]
    assert row["outcome"] == "failed"
    ref = "refs/keeper/partial/wren/%d" % row["id"]
    assert git(crew.repo, "diff", "--name-status", "HEAD", ref) == (
        "M\tbase.txt\nA\tdraft.md")
    assert git(crew.repo, "rev-parse", ref + "^") == head
    assert git(crew.repo, "log", "-1", "--format=%an|%(trailers:key="
               "Keeper-Outcome,valueonly)", ref) == "wren|failed"
    assert ref in row["error"]
    assert row["commit_id"] is None
    # nothing else moved: HEAD, index, work tree; the position held
    assert git(crew.repo, "rev-parse", "HEAD") == head
    assert open(os.path.join(crew.repo, ".git", "index"), "rb").read() == \
        index
    assert git(crew.repo, "status", "--porcelain") == (
        "M base.txt\n?? draft.md")
    assert crew.pos("wren") == ("wake_add", 0)


def test_killed_run_lands_on_a_partial_ref(crew):
    make_agent(crew, "echo before-kill > wip.txt; sleep 30",
               props={"TIMEOUT": "300ms"})
    r = crew.run_once("wren")
    assert r.returncode == 124
    row = crew.closed("wren")[-1]
    ref = "refs/keeper/partial/wren/%d" % row["id"]
    assert git(crew.repo, "show", ref + ":wip.txt") == "before-kill"
    assert commits(crew.repo) == 0      # still unborn: HEAD untouched


def test_not_a_repo_is_a_recorded_error(crew):
    # the tenant is a plain directory: the run is done, git says why not
    plain = crew.path("plain")
    os.makedirs(plain)
    make_agent(crew, "echo x > a.txt; echo ok")
    text = open(crew.crew).read().replace("#+REPO: repo", "#+REPO: plain")
    crew.write("crew.org", text)
    r = crew.run_once("wren")
    assert r.returncode == 0, r.stderr
    row = crew.closed("wren")[-1]
    assert row["outcome"] == "done"
    assert "not a git repository" in row["git"]
    assert row["error"] is None


def test_foreign_index_lock_is_reported_and_left(crew):
    make_agent(crew, "echo x > a.txt; echo ok")
    human_commit(crew.repo, "README", "hi\n")
    lock = os.path.join(crew.repo, ".git", "index.lock")
    open(lock, "w").close()
    assert crew.run_once("wren").returncode == 0
    row = crew.closed("wren")[-1]
    assert "index.lock' exists" in row["git"]
    assert os.path.exists(lock)
    assert commits(crew.repo) == 1
    os.unlink(lock)
    # the work is still in the tree: the next done run commits it
    assert crew.run_once("wren").returncode == 0
    assert git(crew.repo, "show", "HEAD:a.txt") == "x"


def gitops_setup(crew):
    bare = crew.path("origin.git")
    human = crew.path("human")
    subprocess.run(["git", "init", "-q", "--bare", bare], check=True)
    subprocess.run(["git", "clone", "-q", "file://" + bare, human],
                   check=True, capture_output=True)
    human_commit(human, "README", "one\n")
    git(human, "push", "-q", "origin", "HEAD")
    branch = git(human, "rev-parse", "--abbrev-ref", "HEAD")
    subprocess.run(["rm", "-rf", crew.repo], check=True)
    subprocess.run(["git", "clone", "-q", "file://" + bare, crew.repo],
                   check=True, capture_output=True)
    return bare, human, branch


def test_gitops_fast_forward_then_push(crew):
    bare, human, branch = gitops_setup(crew)
    make_agent(crew, "cat human.txt > seen.txt; echo saw it")
    human_commit(human, "human.txt", "from a human\n")
    git(human, "push", "-q", "origin", "HEAD")
    env = dict(os.environ, KEEPER_GITOPS="1", KEEPER_GITPUSH="1")
    r = crew.keeper("run-once", "wren", "--crew", crew.crew, "--data",
                    crew.data, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    # the agent saw origin's work, and its own commit went out
    assert git(crew.repo, "show", "HEAD:seen.txt") == "from a human"
    head = git(crew.repo, "rev-parse", "HEAD")
    assert git(bare, "rev-parse", branch) == head
    assert git(crew.repo, "log", "-1", "--format=%an") == "wren"


def test_gitops_alias_merge_and_conflict(crew):
    bare, human, branch = gitops_setup(crew)
    make_agent(crew, "echo agent >> agent.txt; echo line > README; "
               "echo edited")
    # local agent work first
    assert crew.run_once("wren").returncode == 0
    local = git(crew.repo, "rev-parse", "HEAD")
    # a human changes another file: the WB_GITOPS alias merges cleanly
    human_commit(human, "other.txt", "o\n")
    git(human, "push", "-q", "origin", "HEAD")
    crew.write("agents/a.org", sh_def("echo ok"))
    env = dict(os.environ, WB_GITOPS="1")
    r = crew.keeper("run-once", "wren", "--crew", crew.crew, "--data",
                    crew.data, env=env)
    assert r.returncode == 0, r.stderr
    parents = git(crew.repo, "log", "-1", "--format=%P").split()
    assert local in parents and git(human, "rev-parse", "HEAD") in parents
    assert os.path.exists(os.path.join(crew.repo, "other.txt"))
    # now both change README: conflict, skipped, local work kept
    human_commit(human, "README", "human says\n")
    git(human, "push", "-q", "origin", "HEAD")
    before = git(crew.repo, "rev-parse", "HEAD")
    readme = open(os.path.join(crew.repo, "README")).read()
    r = crew.keeper("run-once", "wren", "--crew", crew.crew, "--data",
                    crew.data, "-v", env=env)
    assert r.returncode == 0, r.stderr
    assert "integrate-conflict" in r.stderr
    assert git(crew.repo, "rev-parse", "HEAD") == before
    assert open(os.path.join(crew.repo, "README")).read() == readme
    assert git(crew.repo, "status", "--porcelain") == ""


def test_daemon_kill9_mid_commit_leaves_a_sound_repo(crew):
    # a continuous agent rewriting 200 files with a 10 ms breather: kill -9
    # the daemon just after a commit lands, while the next run writes or
    # commits, then git fsck, then a run-once commits normally
    make_agent(crew, "for i in $(seq 1 200); do echo $KEEPER_RUN_ID > f$i; "
               "done; echo wrote", props={"CONTINUOUS": "t"},
               lifecycle=False, breather="10ms")
    p = crew.start()
    wait_for(lambda: commits(crew.repo) >= 2, timeout=30,
             what="commits from the daemon")
    n = commits(crew.repo)
    wait_for(lambda: commits(crew.repo) > n, timeout=30, what="one more")
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    r = subprocess.run(["git", "-C", crew.repo, "fsck", "--no-progress",
                        "--no-dangling"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    before = commits(crew.repo)
    crew.write("agents/a.org", sh_def("echo final > final.txt; echo fin"))
    r = crew.run_once("wren")
    assert r.returncode == 0, r.stderr
    assert commits(crew.repo) == before + 1
    assert git(crew.repo, "show", "HEAD:final.txt") == "final"
    assert git(crew.repo, "status", "--porcelain") == ""


def test_s7_done_run_commits_with_subject_and_trailers(crew):
    crew.write("loop.org", SHORT_LOOP % {"start": "a"})
    crew.write_crew([("wren", {"DEF": ok_def(
        crew, "c", "echo x >> notes.txt; printf 'wrote notes\\nmore\\n'"),
        "LIFECYCLE": "loop.org"})], repo="repo")
    assert crew.run_once("wren").returncode == 0
    row = crew.rows("wren")[-1]
    lines = git(crew.repo, "log", "-1",
                "--format=%an <%ae>%n%cn <%ce>%n%s%n%b").splitlines()
    assert lines[0] == "wren <wren@keeper.invalid>"
    assert lines[1] == "wren <wren@keeper.invalid>"
    assert lines[2] == "wren: a 1/2 \u2014 wrote notes"
    assert "more" in lines[3:]
    trailers = [l for l in lines if l.startswith("Keeper-")]
    assert trailers == ["Keeper-Agent: wren", "Keeper-State: a",
                        "Keeper-Run: %d" % row["id"]]
    assert row["commit_id"] == git(crew.repo, "log", "-1", "--format=%H")
    # the commit is made before the position is saved, and with it
    assert crew.pos("wren") == ("a", 1)


def test_s7_member_without_lifecycle_subject(crew):
    # keeper(1) GIT: a member without a lifecycle gets "NAME: first line"
    crew.write_crew([("moss", {"DEF": ok_def(
        crew, "c", "date >> n.txt; echo researched")})], repo="repo")
    assert crew.run_once("moss").returncode == 0
    assert git(crew.repo, "log", "-1", "--format=%s") == "moss: researched"


def test_s7_failed_run_changes_kept_on_partial_ref(crew):
    subprocess.run(["git", "-C", crew.repo, "commit", "-q",
                    "--allow-empty", "-m", "root"], check=True)
    crew.write_crew([("wren", {"DEF": ok_def(
        crew, "pf", "echo half > half.txt; exit 1")})], repo="repo")
    assert crew.run_once("wren").returncode == 1
    row = crew.rows("wren")[-1]
    ref = "refs/keeper/partial/wren/%d" % row["id"]
    r = subprocess.run(["git", "-C", crew.repo, "show", "--stat",
                        "--format=%an", ref], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "half.txt" in r.stdout and r.stdout.startswith("wren")
    # neither HEAD nor the index moved; the file is still in the tree
    assert git(crew.repo, "log", "-1", "--format=%s") == "root"
    st = subprocess.run(["git", "-C", crew.repo, "status", "--porcelain"],
                        capture_output=True, text=True).stdout
    assert st.strip() == "?? half.txt"


def test_s7_no_change_no_commit(crew):
    crew.write_crew([("wren", {"DEF": ok_def(crew)})], repo="repo")
    assert crew.run_once("wren").returncode == 0
    r = subprocess.run(["git", "-C", crew.repo, "rev-list", "--all"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == ""
