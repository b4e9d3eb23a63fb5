#!/bin/bash
# Commit latency: keeper's libgit2 path against `git add -A && git commit -q`
# on the same change (10 files rewritten, 1 added) in a 100-file and a
# 10,000-file work tree, in the same run. Rounds interleave the contenders
# so load on a shared machine hits them alike; medians are reported.
#
#   keeper    repo_commit() in a process that keeps the repository open,
#             as the daemon does (bench/git-commit.c --serve)
#   keeper1   a whole process per commit (bench/git-commit.c DIR)
#   git       `git add -A` then `git commit -q`, two processes
#
# Ratios are keeper/git: below 1 means keeper is faster. Wall time is the
# latency; cpu (user+sys) is steadier when the machine is busy.
#
# usage: bench/git.sh BUILD_DIR    (GIT_BENCH_RUNS=N, default 25)
set -euo pipefail

B=${1:?usage: bench/git.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
PKGS="libuv libgit2 sqlite3 libpcre2-8 libcurl jansson libmicrohttpd"

make -s -C "$top" "$B/libkeeper.a" >/dev/null
mkdir -p "$B/bench"
cc -std=c17 -D_GNU_SOURCE -O2 $(for d in "$top"/src/*/; do printf -- "-I%s " "$d"; done) $(pkg-config --cflags $PKGS) \
    -o "$B/bench/git-commit" "$here/git-commit.c" "$B/libkeeper.a" \
    $(pkg-config --libs $PKGS) -lm -lpthread

work=$(mktemp -d /tmp/keeper-bench-git-XXXXXX)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME="$work"
git config --global user.name bench
git config --global user.email bench@keeper.invalid

/usr/bin/python3 - "$B/bench/git-commit" "$work" "${GIT_BENCH_RUNS:-25}" <<'PY'
import os, resource, statistics, subprocess, sys, time

drv, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
WARM = 3

def mktree(d, n):
    subprocess.run(["git", "init", "-q", "-b", "main", d], check=True)
    for i in range(n):
        sub = os.path.join(d, "d%03d" % (i // 100))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%05d.txt" % i), "w") as f:
            f.write(("file %d\n" % i) * 20)
    subprocess.run(["git", "-C", d, "add", "-A"], check=True)
    subprocess.run(["git", "-C", d, "commit", "-qm", "base"], check=True)

def change(d, r):
    for i in range(10):
        with open(os.path.join(d, "d000", "f%05d.txt" % i), "a") as f:
            f.write("round %d\n" % r)
    with open(os.path.join(d, "new-%d.txt" % r), "w") as f:
        f.write("new %d\n" % r)

def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime

def timed(cmds):
    c0, w0 = child_cpu(), time.perf_counter()
    for c in cmds:
        subprocess.run(c, check=True)
    return time.perf_counter() - w0, child_cpu() - c0

print("%-7s %-8s %10s %10s %8s %10s" % ("files", "who", "wall_ms", "cpu_ms",
      "wall/git", "cpu/git"))
for n in (100, 10000):
    d = {w: os.path.join(work, "%s-%d" % (w, n)) for w in ("keeper", "keeper1", "git")}
    for t in d.values():
        mktree(t, n)
    srv = subprocess.Popen([drv, "--serve", d["keeper"]], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    res = {w: ([], []) for w in d}
    for r in range(runs + WARM):
        change(d["keeper"], r)
        srv.stdin.write("go\n"); srv.stdin.flush()
        wall, cpu = (int(x) / 1e9 for x in srv.stdout.readline().split())
        m = [(wall, cpu)]
        change(d["keeper1"], r)
        m.append(timed([[drv, d["keeper1"]]]))
        change(d["git"], r)
        m.append(timed([["git", "-C", d["git"], "add", "-A"],
                        ["git", "-C", d["git"], "commit", "-qm", "bench"]]))
        if r >= WARM:
            for w, (wall, cpu) in zip(("keeper", "keeper1", "git"), m):
                res[w][0].append(wall); res[w][1].append(cpu)
    srv.stdin.close()
    if srv.wait() != 0:
        sys.exit("git.sh: the keeper driver failed")
    med = {w: (statistics.median(a) * 1000, statistics.median(b) * 1000)
           for w, (a, b) in res.items()}
    for w in ("keeper", "keeper1", "git"):
        print("%-7d %-8s %10.2f %10.2f %8.2f %10.2f" % (n, w, med[w][0], med[w][1],
              med[w][0] / med["git"][0], med[w][1] / med["git"][1]))
    # Every round really committed on every side.
    for w, t in d.items():
        c = int(subprocess.check_output(["git", "-C", t, "rev-list", "--count", "HEAD"]))
        if c != runs + WARM + 1:
            sys.exit("git.sh: %s made %d commits, not %d" % (w, c - 1, runs + WARM))
PY
