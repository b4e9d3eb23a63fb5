#!/usr/bin/python3
"""croniter's side of bench/calendar.sh, and the fire-by-fire comparison.

    calendar_ref.py LIST FROM_MS TO_MS KEEPER_FIRES

Three parts, all on the schedules of LIST (calendar_bench gen):

1. Speed and agreement on the cron lines. croniter (Debian's
   python3-croniter) walks each line in naive local time, which is pure
   calendar arithmetic, and each local time is turned into an instant by
   SPEC 5a's rule with the standard library's zoneinfo (the system's
   tzdata, not ICU's copy): a time in a gap fires at the gap's end, a
   repeated time at its first occurrence, and local times that land on
   one instant fire once. Every fire must equal keeper's.
2. The org repeaters, computed apart from keeper with dateutil's
   relativedelta (which clamps Jan 31 + 1 month to Feb 28 as SPEC's rule
   does) and the same zone rule. Every fire must equal keeper's.
3. croniter's own time-zone mode (an aware start time), on the cron lines
   in zones that change their clocks, over three days around each
   transition. It differs from keeper there; each difference is printed
   by kind, and one that is not next to a transition fails the bench.

Exit status 1 on any disagreement in parts 1 and 2 or an unexplained
difference in part 3.
"""
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from croniter import croniter
from dateutil.relativedelta import relativedelta
from zoneinfo import ZoneInfo

UTC = timezone.utc


def local_of(t, z):
    """Naive local civil time of the instant t (unix seconds)."""
    return datetime.fromtimestamp(t, z).replace(tzinfo=None)


def resolve(naive, z):
    """SPEC 5a: the instant (unix seconds) of a local civil time."""
    t = int(naive.replace(tzinfo=z).timestamp())  # fold=0: first occurrence
    if local_of(t, z) == naive:
        return t
    # In a gap: fold=0 used the offset from before it (an instant after
    # the gap), fold=1 the one after (an instant before it). The gap's
    # end is the first instant whose local time is not before naive.
    lo = int(naive.replace(tzinfo=z, fold=1).timestamp())
    hi = t
    if lo > hi:
        lo, hi = hi, lo
    while lo < hi:
        mid = (lo + hi) // 2
        if local_of(mid, z) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return lo


def read_list(path):
    out = []
    with open(path) as f:
        for line in f:
            kind, zone, spec = line.rstrip("\n").split("\t")
            out.append((kind, zone, spec))
    return out


def read_fires(path):
    fires = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            fires[int(p[0])] = [int(x) for x in p[1:]]
    return fires


def fmt(t, z):
    return datetime.fromtimestamp(t, z).isoformat()


def compare(i, what, zone, mine, theirs, z, shown):
    if mine == theirs:
        return 0
    n = sum(1 for a, b in zip(mine, theirs) if a != b) + abs(
        len(mine) - len(theirs))
    if shown[0] < 5:
        shown[0] += 1
        for k, (a, b) in enumerate(zip(mine + [None] * len(theirs),
                                       theirs + [None] * len(mine))):
            if a != b:
                print(f"  DIFFER schedule {i} ({what}, {zone}) fire {k}: "
                      f"keeper {a and fmt(a / 1000, z)} "
                      f"reference {b and fmt(b / 1000, z)}")
                break
    return n


def cron_part(items, t0, t1, keeper, zones):
    total = 0
    cpu_croniter = 0.0
    diffs = 0
    shown = [0]
    start_cpu = time.process_time()
    for i, (kind, zone, expr) in items:
        z = zones[zone]
        it = croniter(expr, local_of(t0, z), ret_type=datetime)
        prev, mine = t0, []
        while True:
            c = time.process_time()
            n = it.get_next(datetime)
            cpu_croniter += time.process_time() - c
            t = resolve(n, z)
            if t >= t1:
                break
            if t <= prev:  # folded onto the fire before (a gap's end)
                continue
            mine.append(t * 1000)
            prev = t
        total += len(mine)
        diffs += compare(i, expr, zone, keeper.get(i, []), mine, z, shown)
    cpu_all = time.process_time() - start_cpu
    return total, cpu_croniter, cpu_all, diffs


def org_fires(spec, z, t0, t1):
    y, mo, d, h, mi, rep, n, unit = spec.split()
    y, mo, d, h, mi, n = int(y), int(mo), int(d), int(h), int(mi), int(n)
    if h < 0:
        h, mi = 0, 0
    base = datetime(y, mo, d, h, mi)

    def step(k):
        if unit == "h":
            return base + timedelta(hours=k * n)
        if unit == "d":
            return base + timedelta(days=k * n)
        if unit == "w":
            return base + timedelta(weeks=k * n)
        if unit == "m":
            return base + relativedelta(months=k * n)
        return base + relativedelta(years=k * n)

    out = []
    prev = t0
    if rep == "none":
        t = resolve(base, z)
        return [t * 1000] if t0 < t < t1 else []
    if rep == ".+":
        t = resolve(base, z)
        while t < t1:
            if t > prev:
                out.append(t * 1000)
                prev = t
            la = local_of(prev, z)
            day = datetime(la.year, la.month, la.day, h, mi)
            nxt = {"h": la.replace(second=0, microsecond=0)
                   + timedelta(hours=n),
                   "d": day + timedelta(days=n),
                   "w": day + timedelta(weeks=n),
                   "m": day + relativedelta(months=n),
                   "y": day + relativedelta(years=n)}[unit]
            t = resolve(nxt, z)
        return out
    k = 0
    while True:
        t = resolve(step(k), z)
        if t >= t1:
            return out
        if t > prev:
            out.append(t * 1000)
            prev = t
        k += 1


def transitions(z, t0, t1):
    """Instants in [t0, t1) where z's UTC offset changes (15-min scan)."""
    out = []
    prev = datetime.fromtimestamp(t0, z).utcoffset()
    for t in range(t0 + 900, t1, 900):
        off = datetime.fromtimestamp(t, z).utcoffset()
        if off != prev:
            out.append(t)
            prev = off
    return out


GAP = ("croniter returned a wall time inside the gap, read with the "
       "offset from before it (an instant after the gap's end); SPEC: the "
       "gap's end")
GAP_END = ("keeper fired at the gap's end, the first instant after it; "
           "croniter fired later (the line above)")
MOVED = ("croniter moved its first fire after the change by the size of the "
         "change; SPEC: the same local time under the new offset")
MOVED_K = ("keeper fired that local time under the new offset (the line "
           "above)")
REPEAT = ("croniter fired the second occurrence of a repeated time; SPEC: "
          "the first occurrence only")
DOUBLED = ("croniter fired its first fire after the change twice: once moved "
           "early by the size of the change, once at its time; SPEC: once")
LOST = ("croniter skipped these fires after the change (its next fire came "
        "later); keeper fired each once")


def aware_part(items, t0, t1, keeper, zones, trs):
    """croniter with an aware start, from 36 h before each transition to
    keeper's third fire after it (or the last before the zone's next
    transition); each difference classified."""
    kinds = Counter()
    unexplained = []
    checked = 0
    examples = {}
    for i, (kind, zone, expr) in items:
        z = zones[zone]
        fires = [f // 1000 for f in keeper.get(i, [])]
        for n, tr in enumerate(trs[zone]):
            w0 = tr - 36 * 3600
            nxt = trs[zone][n + 1] if n + 1 < len(trs[zone]) else t1
            after = [f for f in fires if tr <= f < nxt][:3]
            if not after:
                continue
            horizon = after[-1]
            delta = abs(int(datetime.fromtimestamp(tr, z).utcoffset()
                            .total_seconds())
                        - int(datetime.fromtimestamp(tr - 1, z).utcoffset()
                              .total_seconds()))
            it = croniter(expr, datetime.fromtimestamp(w0, z),
                          ret_type=datetime)
            theirs = {}
            while True:
                d = it.get_next(datetime)
                t = int(d.timestamp())
                if t > horizon:
                    break
                theirs[t] = d
            checked += 1
            mine = {f for f in fires if w0 < f <= horizon}
            only_k = mine - theirs.keys()
            only_c = sorted(theirs.keys() - mine)
            first_after_c = min((t for t in theirs if t >= tr), default=None)
            for t in only_c:
                wall = theirs[t].replace(tzinfo=None)
                if local_of(t, z) != wall:
                    k = GAP
                    if tr in only_k:
                        only_k.discard(tr)
                        kinds[GAP_END] += 1
                elif resolve(wall, z) != t:
                    k = REPEAT
                elif t == first_after_c and (t - delta in only_k
                                             or t + delta in only_k):
                    k = MOVED
                    only_k.discard(t - delta if t - delta in only_k
                                   else t + delta)
                    kinds[MOVED_K] += 1
                elif t == first_after_c and t + delta in theirs \
                        and t + delta in mine:
                    k = DOUBLED
                else:
                    unexplained.append((expr, zone, "croniter", fmt(t, z)))
                    continue
                kinds[k] += 1
                examples.setdefault(k, (expr, zone, fmt(t, z)))
            for t in sorted(only_k):
                if tr <= t and (first_after_c is None or t < first_after_c):
                    kinds[LOST] += 1
                    examples.setdefault(LOST, (expr, zone, fmt(t, z)))
                else:
                    unexplained.append((expr, zone, "keeper", fmt(t, z)))
    return checked, kinds, examples, unexplained


def main():
    path, t0, t1, fires_path = sys.argv[1], int(sys.argv[2]) // 1000, \
        int(sys.argv[3]) // 1000, sys.argv[4]
    sched = read_list(path)
    keeper = read_fires(fires_path)
    zones = {zone: ZoneInfo(zone) for _, zone, _ in sched}
    crons = [(i, s) for i, s in enumerate(sched) if s[0] == "cron"]
    orgs = [(i, s) for i, s in enumerate(sched) if s[0] == "org"]
    rc = 0

    total, cpu_c, cpu_all, diffs = cron_part(crons, t0, t1, keeper, zones)
    print(f"croniter cron_fires {total} croniter_cpu_s {cpu_c:.2f} "
          f"fires_per_s {total / cpu_c:.0f} with_zone_rule_cpu_s "
          f"{cpu_all:.2f} fires_per_s_with_rule {total / cpu_all:.0f}")
    print(f"cron disagreements {diffs}")
    rc |= diffs != 0

    c0 = time.process_time()
    odiffs, ototal, shown = 0, 0, [0]
    for i, (kind, zone, spec) in orgs:
        z = zones[zone]
        theirs = org_fires(spec, z, t0, t1)
        ototal += len(theirs)
        odiffs += compare(i, spec, zone, keeper.get(i, []), theirs, z, shown)
    print(f"org fires {ototal} disagreements {odiffs} "
          f"(dateutil and zoneinfo, {time.process_time() - c0:.1f} s)")
    rc |= odiffs != 0

    trs = {name: transitions(z, t0, t1) for name, z in zones.items()}
    dst = [(i, s) for i, s in crons if trs[s[1]]]
    checked, kinds, examples, unexplained = aware_part(dst, t0, t1, keeper,
                                                      zones, trs)
    print(f"croniter aware windows {checked} differences "
          f"{sum(kinds.values()) + len(unexplained)} "
          f"unexplained {len(unexplained)}")
    for k, n in kinds.most_common():
        ex = examples.get(k)
        print(f"  {n:6d}  {k}" + (f" (e.g. '{ex[0]}' {ex[1]} {ex[2]})"
                                  if ex else ""))
    for expr, zone, who, when in unexplained[:10]:
        print(f"  UNEXPLAINED only {who}: '{expr}' {zone} {when}")
    rc |= len(unexplained) != 0
    return rc


if __name__ == "__main__":
    sys.exit(main())
