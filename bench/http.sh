#!/bin/bash
# bench/http.sh BUILD_DIR: wrk against keeper's GET /_activity for a
# 100-member crew with 8 agents mid-run, side by side with Debian's nginx
# serving the very same JSON bytes as a static file, same machine, same run.
# Prints req/s and p99 latency for both and the ratio keeper/nginx.
#
# Then one request at a time, as a person's browser or a monitor asks:
# the median and worst latency of single GETs of /_activity while the
# workers are blocked mid-run, and while a fresh daemon commits a run's
# 1000 files, each beside nginx answering the same number of GETs.
# (These were the functional suite's timing thresholds: timings belong
# here, the tests keep only what the answers say.)
#
# Last, GET /metrics against GET /_activity on one daemon of 1,000
# agents that have each run once: size, req/s, p99 and the mean latency
# per KiB of each, under wrk and one GET at a time.
#
# Aims: keeper >= 0.5x nginx req/s; keeper p99 < 5 ms; one at a time,
# keeper median < 50 ms and worst < 1 s, mid-run and mid-commit; /metrics
# no slower per byte than /_activity.
# Knobs: BENCH_SECONDS (default 5), BENCH_CONNS (default 32),
# BENCH_ROUNDS (default 2), BENCH_SINGLE (single GETs, default 200).
set -euo pipefail

B=${1:?usage: bench/http.sh BUILD_DIR}
KEEPER=$B/keeper
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNS:-32}
for t in wrk nginx curl; do
	command -v $t >/dev/null 2>&1 || [ -x /usr/sbin/$t ] || {
		echo "http: $t missing (KEEPER_BENCH_DEPS=1 make deps)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

T=$(mktemp -d /tmp/keeper-bench-http.XXXXXX)
KPID= K2PID= K3PID= NPID=
cleanup() {
	trap - EXIT INT TERM
	set +e			# best effort: a process already gone is fine
	touch "$T/stop"		# the busy runs end; the daemon drains at once
	for pid in $KPID $K2PID $K3PID; do
		kill "$pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$NPID" ]; then
		kill "$NPID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$NPID" 2>/dev/null || break; sleep 0.1; done
		wait "$NPID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# A crew of 100: all due at once, 8 slots, each run sleeps through the
# measurement, so 8 agents are running and 92 wait at the gate.
mkdir -p "$T/repo" "$T/data" "$T/agents" "$T/www"
git -C "$T/repo" init -q
cat > "$T/agents/busy.org" <<'ORG'
* work
#+begin_src sh
echo "::step::working on it"
echo "::thought::this will take a while"
# Busy until the bench is over (at most 5 minutes).
i=0
while [ ! -e STOPFILE ] && [ $i -lt 3000 ]; do sleep 0.1; i=$((i + 1)); done
#+end_src
ORG
sed -i "s|STOPFILE|$T/stop|" "$T/agents/busy.org"
{
	echo "#+TITLE: bench"
	echo "#+CONCURRENCY: 8"
	echo "#+BOOT-GRACE: 100ms"
	echo "#+STAGGER: 0"
	echo "#+TIMEOUT: 10m"
	for i in $(seq -w 1 100); do
		printf '* agent%s\n:PROPERTIES:\n:DEF: agents/busy.org\n:INTERVAL: 1h\n:END:\n' "$i"
	done
} > "$T/crew.org"

"$KEEPER" run --crew "$T/crew.org" --repo "$T/repo" --data "$T/data" \
    --listen 127.0.0.1:0 2>"$T/keeper.log" &
KPID=$!
for _ in $(seq 200); do [ -s "$T/data/http.addr" ] && break; sleep 0.05; done
ADDR=$(cat "$T/data/http.addr" 2>/dev/null || true)
[ -n "$ADDR" ] || { echo "http: keeper did not start" >&2; cat "$T/keeper.log" >&2; exit 1; }
nrunning() {
	curl -s "http://$ADDR/_activity" | /usr/bin/python3 -c \
	    'import json, sys; print(sum(bool(a["running"]) for a in json.load(sys.stdin)["agents"]))' \
	    2>/dev/null || echo 0
}
running=0
for _ in $(seq 300); do
	running=$(nrunning)
	[ "$running" -ge 8 ] && break
	sleep 0.1
done
echo "http: keeper at $ADDR, $running agents running"

curl -s "http://$ADDR/_activity" > "$T/www/_activity"

NPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$T/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $T/nginx.pid;
error_log $T/nginx.err warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/nb; proxy_temp_path $T/np;
	fastcgi_temp_path $T/nf; uwsgi_temp_path $T/nu; scgi_temp_path $T/ns;
	default_type application/json;
	sendfile on; tcp_nopush on; open_file_cache max=16; open_file_cache_valid 60s;
	server {
		listen 127.0.0.1:$NPORT;
		root $T/www;
		location = /_activity { add_header Cache-Control no-store; }
	}
}
CONF
# Run as root, nginx's workers are nobody: they must be able to read www.
chmod 755 "$T" "$T/www"
"$NGINX" -c "$T/nginx.conf" -p "$T" &
NPID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$NPORT/_activity" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$NPORT/_activity" >/dev/null || {
	echo "http: nginx does not serve the snapshot" >&2; cat "$T/nginx.err" >&2; exit 1; }

bench() {	# URL -> "REQS P99"
	wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$1" > "$T/wrk.out"
	local rps p99
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$T/wrk.out")
	p99=$(awk '$1 == "99%" { print $2 }' "$T/wrk.out")
	echo "$rps $p99"
}
to_ms() {	# wrk latency (e.g. 812.00us, 1.20ms, 2.00s) -> ms
	echo "$1" | awk '/us$/ { sub(/us/, ""); print $0 / 1000; next }
	    /ms$/ { sub(/ms/, ""); print $0 + 0; next }
	    /s$/ { sub(/s/, ""); print $0 * 1000; next } { print $0 }'
}

# Interleaved rounds, so that load from elsewhere on the machine hits
# both servers alike; every round is printed.
ROUNDS=${BENCH_ROUNDS:-2}
printf '\nhttp: GET /_activity, %s bytes, 100 agents (8 running), wrk -t2 -c%s -d%ss\n' \
    "$(wc -c < "$T/www/_activity")" "$CONNS" "$SECS"
printf '  %-6s %-22s %12s %10s\n' "round" "server" "req/s" "p99"
worst_ratio= worst_p99=0
for r in $(seq "$ROUNDS"); do
	read -r k_rps k_p99 < <(bench "http://$ADDR/_activity")
	read -r n_rps n_p99 < <(bench "http://127.0.0.1:$NPORT/_activity")
	printf '  %-6s %-22s %12s %10s\n' "$r" "keeper (libmicrohttpd)" "$k_rps" "$k_p99"
	printf '  %-6s %-22s %12s %10s\n' "$r" "nginx (static file)" "$n_rps" "$n_p99"
	ratio=$(awk -v k="$k_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", k / n }')
	p99=$(to_ms "$k_p99")
	printf '  %-6s ratio keeper/nginx %.2fx, keeper p99 %.2f ms\n' "$r" "$ratio" "$p99"
done
still=$(nrunning)
printf '  aims: ratio >= 0.50x, keeper p99 < 5 ms; load average: %s\n' \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
[ "$still" -ge 8 ] || echo "  note: only $still agents were still running at the end"

# One request at a time: URL N -> "N MEDIAN_MS MAX_MS". With --until AGENT,
# as many as it takes until AGENT's tick (its commit included) is
# reported finished, after it was seen running.
single() {
	/usr/bin/python3 - "$@" <<'PY'
import http.client, json, statistics, sys, time
url, arg = sys.argv[1], sys.argv[2]
hostport, path = url[len("http://"):].split("/", 1)
host, port = hostport.rsplit(":", 1)
until = sys.argv[3] if arg == "--until" else None
n = None if until else int(arg)
took, seen_running = [], False
deadline = time.monotonic() + 120
while (n is None or len(took) < n) and time.monotonic() < deadline:
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    t0 = time.monotonic()
    c.request("GET", "/" + path)
    r = c.getresponse()
    body = r.read()
    took.append(time.monotonic() - t0)
    c.close()
    if r.status != 200:
        sys.exit("http: %s answered %d" % (url, r.status))
    if until:
        a = [x for x in json.loads(body)["agents"] if x["name"] == until][0]
        seen_running = seen_running or a["running"]
        if seen_running and not a["running"] and a["last_outcome"]:
            break
print(len(took), "%.2f" % (statistics.median(took) * 1000),
      "%.2f" % (max(took) * 1000))
PY
}

SINGLE=${BENCH_SINGLE:-200}
printf '\nhttp: one GET /_activity at a time\n'
printf '  %-34s %-22s %6s %10s %10s\n' "while" "server" "GETs" "median" "worst"
read -r kn kmed kmax < <(single "http://$ADDR/_activity" "$SINGLE")
read -r nn nmed nmax < <(single "http://127.0.0.1:$NPORT/_activity" "$SINGLE")
printf '  %-34s %-22s %6s %8s ms %8s ms\n' "8 workers blocked mid-run" \
    "keeper (libmicrohttpd)" "$kn" "$kmed" "$kmax"
printf '  %-34s %-22s %6s %8s ms %8s ms\n' "" "nginx (static file)" "$nn" \
    "$nmed" "$nmax"

# A fresh daemon whose one agent writes 1000 files: its commit runs on
# the thread pool while /_activity is polled until the tick is done.
mkdir -p "$T/c/repo" "$T/c/data"
git -C "$T/c/repo" init -q
echo seed > "$T/c/repo/seed.txt"
git -C "$T/c/repo" add seed.txt
git -C "$T/c/repo" -c user.name=bench -c user.email=bench@keeper.invalid \
    commit -q -m seed
cat > "$T/c/bulk.org" <<'ORG'
* write
#+begin_src sh
echo "::step::writing"
mkdir -p out
i=0
while [ $i -lt 1000 ]; do echo "$i" > out/f$i.txt; i=$((i + 1)); done
echo "wrote them"
#+end_src
ORG
# A boot grace long enough to start polling before the run begins.
printf '#+TITLE: bulk\n#+BOOT-GRACE: 1s\n* bulk\n:PROPERTIES:\n:DEF: bulk.org\n:INTERVAL: 1h\n:END:\n' \
    > "$T/c/crew.org"
"$KEEPER" run --crew "$T/c/crew.org" --repo "$T/c/repo" --data "$T/c/data" \
    --listen 127.0.0.1:0 2>"$T/c/keeper.log" &
K2PID=$!
for _ in $(seq 200); do [ -s "$T/c/data/http.addr" ] && break; sleep 0.05; done
ADDR2=$(cat "$T/c/data/http.addr" 2>/dev/null || true)
[ -n "$ADDR2" ] || { echo "http: the bulk keeper did not start" >&2; cat "$T/c/keeper.log" >&2; exit 1; }
read -r kn kmed kmax < <(single "http://$ADDR2/_activity" --until bulk)
commits=$(git -C "$T/c/repo" rev-list --count HEAD)
read -r nn nmed nmax < <(single "http://127.0.0.1:$NPORT/_activity" "$kn")
printf '  %-34s %-22s %6s %8s ms %8s ms\n' "a run's 1000 files committed" \
    "keeper (libmicrohttpd)" "$kn" "$kmed" "$kmax"
printf '  %-34s %-22s %6s %8s ms %8s ms\n' "" "nginx (static file)" "$nn" \
    "$nmed" "$nmax"
[ "$commits" -eq 2 ] || echo "  note: the bulk run made no commit ($commits in HEAD)"
printf '  aims: keeper median < 50 ms, worst < 1 s\n'

# /metrics beside /_activity: 1,000 agents, each run once at boot (8 at a
# time), then idle for an hour; both bodies come out of one snapshot.
mkdir -p "$T/m/repo" "$T/m/data"
git -C "$T/m/repo" init -q
printf '* run\n#+begin_src sh\necho ok\n#+end_src\n' > "$T/m/ok.org"
{
	echo "#+TITLE: metrics"
	echo "#+CONCURRENCY: 8"
	echo "#+BOOT-GRACE: 100ms"
	echo "#+STAGGER: 0"
	for i in $(seq -w 1 1000); do
		printf '* agent%s\n:PROPERTIES:\n:DEF: ok.org\n:INTERVAL: 1h\n:END:\n' "$i"
	done
} > "$T/m/crew.org"
"$KEEPER" run --crew "$T/m/crew.org" --repo "$T/m/repo" --data "$T/m/data" \
    --listen 127.0.0.1:0 2>"$T/m/keeper.log" &
K3PID=$!
for _ in $(seq 200); do [ -s "$T/m/data/http.addr" ] && break; sleep 0.05; done
ADDR3=$(cat "$T/m/data/http.addr" 2>/dev/null || true)
[ -n "$ADDR3" ] || { echo "http: the 1,000-agent keeper did not start" >&2; cat "$T/m/keeper.log" >&2; exit 1; }
nran() {
	curl -s "http://$ADDR3/_activity" | /usr/bin/python3 -c \
	    'import json, sys; print(sum(1 for a in json.load(sys.stdin)["agents"] if a["last_outcome"] and not a["running"]))' \
	    2>/dev/null || echo 0
}
ran=0
for _ in $(seq 1200); do
	ran=$(nran)
	[ "$ran" -ge 1000 ] && break
	sleep 0.1
done
sleep 1	# the last publish after the last run (the pacer's gap)
curl -s "http://$ADDR3/_activity" > "$T/m/activity"
curl -s "http://$ADDR3/metrics" > "$T/m/metrics"
asize=$(wc -c < "$T/m/activity")
msize=$(wc -c < "$T/m/metrics")
avg_ms() {	# wrk's mean latency in ms
	to_ms "$(awk '$1 == "Latency" { print $2; exit }' "$T/wrk.out")"
}
printf '\nhttp: GET /metrics against GET /_activity, 1,000 agents (%s ran), wrk -t2 -c%s -d%ss\n' \
    "$ran" "$CONNS" "$SECS"
printf '  %-6s %-10s %10s %10s %10s %10s %10s %12s\n' "round" "path" "bytes" "req/s" "MB/s" "mean" "p99" "mean per KiB"
for r in $(seq "$ROUNDS"); do
	for path in _activity metrics; do
		size=$asize
		[ "$path" = metrics ] && size=$msize
		read -r rps p99 < <(bench "http://$ADDR3/$path")
		mean=$(avg_ms)
		mbs=$(awk -v q="$rps" -v b="$size" 'BEGIN { printf "%.0f", q * b / 1e6 }')
		perkib=$(awk -v m="$mean" -v b="$size" 'BEGIN { printf "%.2f us", m * 1000 / (b / 1024) }')
		printf '  %-6s %-10s %10s %10s %10s %8.2fms %10s %12s\n' "$r" "/$path" "$size" "$rps" "$mbs" "$mean" "$p99" "$perkib"
		eval "mbs_$path=\$mbs"
	done
	printf '  %-6s bytes/s of /metrics over /_activity: %sx (>= 1.00x: no slower per byte)\n' "$r" \
	    "$(awk -v m="$mbs_metrics" -v a="$mbs__activity" 'BEGIN { printf "%.2f", m / a }')"
done
read -r an amed amax < <(single "http://$ADDR3/_activity" "$SINGLE")
read -r mn mmed mmax < <(single "http://$ADDR3/metrics" "$SINGLE")
printf '  one at a time: /_activity median %s ms, worst %s ms (%s GETs); /metrics median %s ms, worst %s ms (%s GETs)\n' \
    "$amed" "$amax" "$an" "$mmed" "$mmax" "$mn"
printf '  one at a time per KiB: /_activity %s us, /metrics %s us\n' \
    "$(awk -v m="$amed" -v b="$asize" 'BEGIN { printf "%.2f", m * 1000 / (b / 1024) }')" \
    "$(awk -v m="$mmed" -v b="$msize" 'BEGIN { printf "%.2f", m * 1000 / (b / 1024) }')"
printf '  aim: /metrics no slower per byte than /_activity (bytes/s ratio >= 1.00x,\n'
printf '  one at a time per KiB no more); load average: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
