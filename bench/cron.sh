#!/bin/bash
# Calendar members at scale (bench/README.md): boot to the first status
# answer and RSS per member of 10,000 members on cron lines in five zones,
# against the same crew on intervals; then the lateness (start - due) of
# 500 members all due in the same minute, against APScheduler's
# CronTrigger on the same minute's next one. Side by side in one run.
# usage: bench/cron.sh BUILD_DIR     (CRON_N=10000 CRON_JOBS=500
#        CRON_PARTS="scale lateness")
set -euo pipefail
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
K=$B/keeper
here=$(cd "$(dirname "$0")" && pwd)
N=${CRON_N:-10000}
JOBS=${CRON_JOBS:-500}
PARTS=${CRON_PARTS:-scale lateness}
PY=/usr/bin/python3
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
if part lateness && ! $PY -c 'import apscheduler' 2>/dev/null; then
	echo "cron.sh: python3-apscheduler is missing (make bench installs it)" >&2
	exit 1
fi
. "$(dirname "$0")/lib.sh"
bench_tmp cron
printf '* run\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n' > "$tmp/true.org"
mkdir -p "$tmp/repo"
git init -q "$tmp/repo"
# crew FILE N KIND [CONCURRENCY] [FIRE]: KIND interval (1h), cron (a
# daily line at a spread-out minute, five zones) or minute (every member
# due at FIRE, unix seconds, in UTC)
crew() {
	$PY - "$@" <<'PY'
import sys, time
path, n, kind = sys.argv[1:4]
conc = sys.argv[4] if len(sys.argv) > 4 else "2"
fire = int(sys.argv[5]) if len(sys.argv) > 5 else 0
zones = ["Europe/Stockholm", "America/New_York", "Asia/Kolkata",
         "Australia/Lord_Howe", "UTC"]
with open(path, "w") as f:
    f.write("#+TITLE: bench\n#+BOOT-GRACE: 1h\n#+STAGGER: 0\n"
            "#+CONCURRENCY: %s\n" % conc)
    for i in range(int(n)):
        f.write("* a%d\n:PROPERTIES:\n:DEF: true.org\n" % i)
        if kind == "interval":
            f.write(":INTERVAL: 1h\n")
        elif kind == "cron":
            f.write(":SCHEDULE: %d %d * * %s\n:TZ: %s\n" % (
                i % 60, (i // 60) % 24, "*" if i % 3 else "1-5",
                zones[i % len(zones)]))
        else:
            t = time.gmtime(fire)
            f.write(":SCHEDULE: %d %d %d %d *\n:TZ: UTC\n" % (
                t.tm_min, t.tm_hour, t.tm_mday, t.tm_mon))
        f.write(":END:\n")
PY
}
start() {	# start CREW DATA [keep]: the daemon, once its socket exists
	[ "${3:-}" = keep ] || rm -rf "$2"
	"$K" run --crew "$1" --repo "$tmp/repo" --data "$2" \
	    --listen 127.0.0.1:0 2>"$tmp/daemon.log" &
	daemon=$!
	local t=0
	until [ -S "$2/keeper.sock" ]; do
		sleep 0.01; t=$((t + 1))
		[ $t -lt 6000 ] || { echo "daemon did not start" >&2; exit 1; }
	done
}
stop() { bench_stop; }
now_ms() { date +%s%3N; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$daemon/status"; }
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
	    if (NR == 0) { print "nan"; exit }
	    i = int(NR * p / 100); if (i < 1) i = 1; print v[i] }'
}
# boot CREW DATA [keep]: ms from start to the first status answer, then
# the settled RSS in KiB
boot() {
	local t0 t1 r
	t0=$(now_ms)
	start "$1" "$2" "${3:-}"
	until "$K" status --data "$2" --json > /dev/null 2>&1; do
		kill -0 "$daemon" 2>/dev/null || { echo "daemon died:" >&2
			tail -3 "$tmp/daemon.log" >&2; exit 1; }
		sleep 0.01
	done
	t1=$(now_ms)
	sleep 3
	r=$(rss)
	stop		# before the answer: the next boot may reuse the data
	echo "$((t1 - t0)) $r"
}
if part scale; then
echo "== scale: $N members, cron lines in 5 zones against 1h intervals"
crew "$tmp/one.org" 1 interval
start "$tmp/one.org" "$tmp/d-one"; sleep 1; rss1=$(rss); stop
crew "$tmp/iv.org" "$N" interval
crew "$tmp/cron.org" "$N" cron
read -r ib ir < <(boot "$tmp/iv.org" "$tmp/d-iv")
read -r cb cr < <(boot "$tmp/cron.org" "$tmp/d-cron")
read -r cb2 cr2 < <(boot "$tmp/cron.org" "$tmp/d-cron" keep)
per() { awk -v a="$rss1" -v b="$1" -v n="$N" 'BEGIN { printf "%.1f", (b - a) / (n - 1) }'; }
printf '  intervals           boot to first status %5d ms   RSS %6d KiB  %s KiB/member\n' "$ib" "$ir" "$(per "$ir")"
printf '  cron, first boot    boot to first status %5d ms   RSS %6d KiB  %s KiB/member  (writes %d cursors)\n' "$cb" "$cr" "$(per "$cr")" "$N"
printf '  cron, restart       boot to first status %5d ms   RSS %6d KiB  %s KiB/member  (reads them)\n' "$cb2" "$cr2" "$(per "$cr2")"
awk -v a="$ib" -v b="$cb" -v c="$cb2" 'BEGIN { printf "  boot ratio cron/interval %.2fx (first) %.2fx (restart)\n", b / a, c / a }'
fi
part lateness || exit 0
echo "== lateness: $JOBS members due in the same minute, running true"
# The next whole minute at least 20 s away: the daemon is up by then.
fire=$(( ( $(date +%s) + 80 ) / 60 * 60 ))
crew "$tmp/late.org" "$JOBS" minute "$JOBS" "$fire"
start "$tmp/late.org" "$tmp/d-late"
until [ "$(sqlite3 "$tmp/d-late/keeper.db" "select count(*) from runs where
    outcome not null and started not null" 2>/dev/null || echo 0)" -ge "$JOBS" ]; do
	sleep 0.2
	[ $(date +%s) -lt $((fire + 120)) ] || break
done
stop
sqlite3 "$tmp/d-late/keeper.db" "select started - scheduled from runs where
    started not null" > "$tmp/lat"
kp50=$(pct "$tmp/lat" 50); kp99=$(pct "$tmp/lat" 99); kn=$(wc -l < "$tmp/lat")
afire=$(( ( $(date +%s) + 30 ) / 60 * 60 + 60 ))
read -r ap50 ap99 an < <($PY "$here/aps_cron.py" "$JOBS" "$afire")
printf '  keeper        p50 %7s ms  p99 %7s ms  runs %d\n' "$kp50" "$kp99" "$kn"
printf '  APScheduler   p50 %7s ms  p99 %7s ms  runs %d  (CronTrigger, %d threads)\n' "$ap50" "$ap99" "$an" "$JOBS"
awk -v k="$kp99" -v a="$ap99" 'BEGIN { if (k > 0) printf "  p99 ratio APScheduler/keeper %.1fx\n", a / k }'
