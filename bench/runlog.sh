#!/bin/bash
# The cost of keeping a run's log (SPEC §6, keeper(1) THE LOG): ticks/s
# and CPU of agents that print 1 MiB of stderr each, side by side with
# the same agents whose stderr goes to /dev/null, in one run. The kept
# log is the head and tail (128 KiB), redacted and stored; the lines of
# its first and last 8 KiB also go to keeper's own log.
# usage: bench/runlog.sh BUILD_DIR     (BENCH_SECS=10 BENCH_AGENTS=20)
set -euo pipefail
B=${1:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
K=$B/keeper
SECS=${BENCH_SECS:-10}
N=${BENCH_AGENTS:-20}
. "$(dirname "$0")/lib.sh"
bench_tmp runlog
mkdir -p "$tmp/repo"
git init -q "$tmp/repo"
line='an agent saying what it does, one line of its log, 64 bytes long'
# Two steps, so the interpreter runs them (a one-step def runs as its
# shell directly): the shape of most agents.
def() {	# def FILE REDIRECT
	printf '* prepare\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n* work\n#+BEGIN_SRC sh\nyes "%s" | head -c 1048576 %s\necho done\n#+END_SRC\n' \
	    "$line" "$2" > "$1"
}
def "$tmp/log.org" ">&2"
def "$tmp/null.org" ">/dev/null"
crew() {	# crew FILE DEF
	{
		printf '#+TITLE: bench\n#+BOOT-GRACE: 0\n#+STAGGER: 0\n'
		printf '#+CONCURRENCY: 2\n'
		for i in $(seq 1 "$N"); do
			printf '* a%d\n:PROPERTIES:\n:DEF: %s\n:INTERVAL: 1ms\n:END:\n' \
			    "$i" "$2"
		done
	} > "$1"
}
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14+$15+$16+$17)/hz }' \
	    "/proc/$1/stat"
}
now_ms() { date +%s%3N; }
q() { sqlite3 "$1/keeper.db" "$2"; }
measure() {	# measure NAME DEF: one line of results
	local d="$tmp/d-$1" c0 c1 t0 t1 cpu0 cpu1 rss logb
	crew "$tmp/$1.crew.org" "$2"
	"$K" run --crew "$tmp/$1.crew.org" --repo "$tmp/repo" --data "$d" \
	    --listen 127.0.0.1:0 2>"$tmp/$1.log" &
	daemon=$!
	until [ -S "$d/keeper.sock" ]; do
		kill -0 "$daemon" 2>/dev/null || {
			echo "runlog.sh: the daemon exited:" >&2
			cat "$tmp/$1.log" >&2
			exit 1
		}
		sleep 0.01
	done
	sleep 1
	c0=$(q "$d" "select count(*) from runs where outcome not null")
	t0=$(now_ms); cpu0=$(cpu_of "$daemon")
	sleep "$SECS"
	c1=$(q "$d" "select count(*) from runs where outcome not null")
	t1=$(now_ms); cpu1=$(cpu_of "$daemon")
	rss=$(awk '/VmHWM/ { print $2 }' "/proc/$daemon/status")
	bench_stop
	logb=$(q "$d" "select coalesce(avg(length(log)), 0) from runs
	    where outcome = 'done'")
	awk -v n="$1" -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" \
	    -v c0="$cpu0" -v c1="$cpu1" -v rss="$rss" -v lb="$logb" \
	    -v kl="$(wc -c < "$tmp/$1.log")" 'BEGIN {
	    r = (b - a) * 1000 / (t1 - t0); cpu = c1 - c0
	    printf "  %-22s %7.1f ticks/s  cpu %6.2f s (%.1f ms/run, incl. children)  peak RSS %6d KiB  log kept %6.0f B/run  keeper log %d KiB\n",
	        n, r, cpu, (b - a) ? cpu * 1000 / (b - a) : 0, rss, lb, kl / 1024 }'
	eval "rate_$1=\$(awk -v a=$c0 -v b=$c1 -v t0=$t0 -v t1=$t1 'BEGIN { printf \"%.2f\", (b - a) * 1000 / (t1 - t0) }')"
}
echo "== the run's log: $N agents, CONCURRENCY 2, each run prints 1 MiB (${SECS}s each)"
measure null "$tmp/null.org"
measure log "$tmp/log.org"
measure null2 "$tmp/null.org"
awk -v a="$rate_null" -v b="$rate_log" -v c="$rate_null2" 'BEGIN {
    printf "  ratio log/null %.2fx (null again: %.2fx of the first)\n",
    b / a, c / a }'
