"""APScheduler reference for bench/core.sh: N one-second interval jobs,
each running `true` as a subprocess, spread evenly over the second like
keeper's STAGGER spreads its members. Prints p50/p99 lateness (job start
minus its scheduled time, ms) and the CPU seconds of this process and its
children.  usage: aps_bench.py N SECONDS"""
import datetime
import resource
import subprocess
import sys
import threading
import time

from apscheduler.schedulers.background import BackgroundScheduler

N, SECS = int(sys.argv[1]), float(sys.argv[2])
late = []
lock = threading.Lock()
t0 = time.time() + 1.0
WARM = 2.0


def job(start):
    now = time.time()
    # the scheduled time this run stands for: the last grid point <= now
    k = int((now - start) // 1.0)
    sched = start + k
    subprocess.run(["true"])
    if now - t0 > WARM:
        with lock:
            late.append((now - sched) * 1000.0)


s = BackgroundScheduler(job_defaults={"coalesce": False,
                                      "max_instances": 1,
                                      "misfire_grace_time": 3600})
for i in range(N):
    start = t0 + i / N
    s.add_job(job, "interval", seconds=1, args=[start],
              start_date=datetime.datetime.fromtimestamp(start))
r0 = resource.getrusage(resource.RUSAGE_SELF)
c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
s.start()
time.sleep(WARM + SECS + 1.0)
s.shutdown(wait=True)
r1 = resource.getrusage(resource.RUSAGE_SELF)
c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
late.sort()
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
ccpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
if not late:
    print("nan nan %.2f %.2f 0" % (cpu, ccpu))
else:
    print("%.2f %.2f %.2f %.2f %d" % (late[len(late) // 2],
                                      late[min(len(late) - 1,
                                               int(len(late) * 0.99))],
                                      cpu, ccpu, len(late)))
