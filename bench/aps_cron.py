"""APScheduler reference for bench/cron.sh: N jobs on one CronTrigger each,
all due at the same minute (FIRE, unix seconds, a whole minute), each
running `true` as a subprocess on a pool of N threads (so no job waits for
a worker, as keeper's crew has CONCURRENCY N). Prints p50 and p99 of start
minus due in ms, where keeper measures it (SPEC section 8: started is when
the run's process exists, i.e. when Popen() returns), and the runs.
usage: aps_cron.py N FIRE"""
import datetime
import subprocess
import sys
import threading
import time

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

N, FIRE = int(sys.argv[1]), int(sys.argv[2])
late = []
lock = threading.Lock()
done = threading.Event()
due = datetime.datetime.fromtimestamp(FIRE, datetime.timezone.utc)


def job():
    p = subprocess.Popen(["true"])
    now = time.time()
    p.wait()
    with lock:
        late.append((now - FIRE) * 1000.0)
        if len(late) == N:
            done.set()


s = BackgroundScheduler(executors={"default": ThreadPoolExecutor(N)},
                        job_defaults={"coalesce": False,
                                      "max_instances": 1,
                                      "misfire_grace_time": 3600},
                        timezone=datetime.timezone.utc)
for i in range(N):
    s.add_job(job, CronTrigger(minute=due.minute, hour=due.hour,
                               day=due.day, month=due.month,
                               timezone=datetime.timezone.utc),
              id="j%d" % i)
s.start()
done.wait(FIRE - time.time() + 120)
s.shutdown(wait=False)
late.sort()
if not late:
    print("nan nan 0")
else:
    print("%.2f %.2f %d" % (late[len(late) // 2],
                            late[min(len(late) - 1, int(len(late) * 0.99))],
                            len(late)))
