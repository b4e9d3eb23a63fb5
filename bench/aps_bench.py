"""APScheduler reference for bench/core.sh: N one-second interval jobs,
each running `true` as a subprocess, spread evenly over the second like
keeper's STAGGER spreads its members. Prints p50/p99 lateness (ms) and the
CPU seconds of this process and its children over the measured SECONDS
(the runs counted are those that started in them).

Lateness is measured where keeper measures it (SPEC section 8: started is
when the run itself began): from the run's scheduled time to the moment
its process exists, i.e. when Popen() returns. Each job counts its own
runs, so a run more than a second late is charged in full rather than
folded onto the nearest grid point; runs APScheduler skips (max_instances)
advance the count.  usage: aps_bench.py N SECONDS"""
import datetime
import resource
import subprocess
import sys
import threading
import time

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.background import BackgroundScheduler

N, SECS = int(sys.argv[1]), float(sys.argv[2])
late = []
lock = threading.Lock()
t0 = time.time() + 1.0
WARM = 2.0
nth = {}        # job id -> index of its next scheduled run
skipped = [0]


def job(jid, start):
    with lock:
        k = nth[jid]
        nth[jid] = k + 1
    sched = start + k
    p = subprocess.Popen(["true"])
    now = time.time()
    p.wait()
    if WARM < now - t0 <= WARM + SECS:
        with lock:
            late.append((now - sched) * 1000.0)


def on_skip(ev):
    with lock:
        nth[ev.job_id] += 1
        skipped[0] += 1


s = BackgroundScheduler(job_defaults={"coalesce": False,
                                      "max_instances": 1,
                                      "misfire_grace_time": 3600})
s.add_listener(on_skip, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
for i in range(N):
    start = t0 + i / N
    jid = "j%d" % i
    nth[jid] = 0
    s.add_job(job, "interval", seconds=1, args=[jid, start], id=jid,
              start_date=datetime.datetime.fromtimestamp(start))
s.start()
# CPU over the measured window only, as core.sh measures keeper's: the
# runs counted are the ones that started in it.
time.sleep(max(0.0, t0 + WARM - time.time()))
r0 = resource.getrusage(resource.RUSAGE_SELF)
c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
time.sleep(max(0.0, t0 + WARM + SECS - time.time()))
r1 = resource.getrusage(resource.RUSAGE_SELF)
c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
time.sleep(1.0)
s.shutdown(wait=True)
late.sort()
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
ccpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
if not late:
    print("nan nan %.2f %.2f 0 %d" % (cpu, ccpu, skipped[0]))
else:
    print("%.2f %.2f %.2f %.2f %d %d" % (late[len(late) // 2],
                                         late[min(len(late) - 1,
                                                  int(len(late) * 0.99))],
                                         cpu, ccpu, len(late), skipped[0]))
