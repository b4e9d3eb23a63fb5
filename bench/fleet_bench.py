"""bench/fleet.sh's measurements (SPEC §12), with the integration test's
own fleet (tests/integration/test_s12_fleet.py: a real etcd on loopback,
a bare remote, three keepers each behind a counting TCP relay).

failover N TTL: N times, kill -9 the active keeper and time (a) until
another says it is active and (b) until the first run starts on it (its
history's started time), both from the kill; min, median, max against the
TTL.

steady SECONDS: an idle crew (one member, :INTERVAL: 1h) for SECONDS on
an active keeper, a standby and a keeper without a lease side by side:
etcd requests per minute (counted by each relay) and CPU seconds per
minute (utime + stime from /proc).
"""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "integration"))

import test_s12_fleet as t  # noqa: E402
from conftest import KEEPER, die_with_parent, wait_for  # noqa: E402


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def failover(root, n, ttl):
    f = t.Fleet(os.path.join(root, "fo"), [("a", {"INTERVAL": "1s"})],
                lease_ttl="%ds" % ttl)
    active_s, tick_s = [], []
    try:
        f.start()
        for _ in range(n):
            a = f.wait_active(ttl + 10)
            wait_for(lambda: any(r["outcome"] == "done" for r in a.rows()),
                     20, 0.05, "a run")
            t0 = time.time()
            a.kill9()
            b = f.wait_active(ttl + 10, exclude=(a,))
            active_s.append(time.time() - t0)
            first = wait_for(lambda: min([r["started"] for r in b.rows()
                                          if r["started"] and
                                          r["started"] > t0 * 1000] or
                                         [0]), 20, 0.02, "a tick on b")
            tick_s.append(first / 1000 - t0)
            a.start()
    finally:
        f.close()
    for what, v in (("active", active_s), ("first tick", tick_s)):
        print("failover TTL %ds, %d kills, kill -> %-10s min %.2f s, "
              "median %.2f s, max %.2f s (TTL + %.2f s at worst)" % (
                  ttl, len(v), what, min(v), statistics.median(v), max(v),
                  max(v) - ttl))


def steady(root, seconds):
    f = t.Fleet(os.path.join(root, "st"), [("a", {"INTERVAL": "1h"})],
                lease_ttl="10s")
    plain = None
    try:
        f.start()
        a = f.wait_active(20)
        s = [k for k in f.keepers if k is not a][0]
        # The reference: the same crew, its own clone and data, no lease.
        pr = os.path.join(f.root, "plain")
        os.makedirs(pr)
        subprocess.run(["git", "clone", "-q", f.remote, pr + "/repo"],
                       check=True)
        log = open(pr + "/daemon.log", "w")
        plain = subprocess.Popen(
            [KEEPER, "run", "--crew", f.crew, "--repo", pr + "/repo",
             "--data", pr + "/data", "--listen", "127.0.0.1:0"],
            stdout=log, stderr=subprocess.STDOUT, cwd=pr,
            start_new_session=True, preexec_fn=die_with_parent)
        time.sleep(3)                   # past the first tick and boot
        r0 = {k.i: k.relay.requests for k in f.keepers}
        c0 = {"active": cpu_s(a.p.pid), "standby": cpu_s(s.p.pid),
              "no lease": cpu_s(plain.pid)}
        time.sleep(seconds)
        r1 = {k.i: k.relay.requests for k in f.keepers}
        c1 = {"active": cpu_s(a.p.pid), "standby": cpu_s(s.p.pid),
              "no lease": cpu_s(plain.pid)}
        per = 60.0 / seconds
        print("steady state over %d s, TTL 10s, idle crew:" % seconds)
        for name, k in (("active", a), ("standby", s)):
            print("  %-9s etcd requests/min %6.1f   CPU s/min %.4f" % (
                name, (r1[k.i] - r0[k.i]) * per,
                (c1[name] - c0[name]) * per))
        print("  %-9s etcd requests/min %6.1f   CPU s/min %.4f" % (
            "no lease", 0.0, (c1["no lease"] - c0["no lease"]) * per))
    finally:
        if plain is not None:
            plain.send_signal(signal.SIGTERM)
            plain.wait(15)
        f.close()


def main():
    root = tempfile.mkdtemp(prefix="kb", dir="/tmp")
    try:
        if sys.argv[1] == "failover":
            failover(root, int(sys.argv[2]), int(sys.argv[3]))
        else:
            steady(root, int(sys.argv[2]))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
