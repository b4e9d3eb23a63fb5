#!/bin/sh
# Housekeeping: the daily retention duty runs on the event loop, so its
# cost is how long the loop is held. keeper's hk_prune_runs() +
# hk_db_maintain() against the same DELETE + checkpoint + VACUUM typed
# into the sqlite3 shell, on identical copies of a 90-day history of
# 11 agents ticking every 5 minutes (285k rows), pruned to 30 days.
# keeper deletes in batches and gives pages back in steps (one of either
# per housekeeping run, as the daemon does), so what matters is its
# longest single hold of the loop.
# usage: bench/housekeep.sh BUILD_DIR     (OLD_DB=1: a pre-incremental db)
set -eu
B=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -std=c17 -O2 -D_GNU_SOURCE $(for d in "$root"/src/*/; do printf -- "-I%s " "$d"; done) -o "$tmp/hk" \
    "$here/housekeep_bench.c" "$B/libkeeper.a" \
    $(pkg-config --libs sqlite3) -lpthread

now=1800000000000
/usr/bin/python3 - "$tmp/a.db" "$now" "${OLD_DB:-}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
now = int(sys.argv[2])
# keeper.db is made incremental (store.c); OLD_DB=1 makes one as keeper
# made them before, which the upkeep converts with one full VACUUM.
if not sys.argv[3]:
    db.execute("PRAGMA auto_vacuum=INCREMENTAL")
db.executescript("PRAGMA journal_mode=WAL; CREATE TABLE runs (id INTEGER "
    "PRIMARY KEY, agent TEXT NOT NULL, scheduled INTEGER, started INTEGER, "
    "ended INTEGER, outcome TEXT, output_head TEXT)")
step = 5 * 60 * 1000
rows = []
t = now - 90 * 86400 * 1000
while t < now:              # in time order, as the daemon writes them
    for a in range(11):
        rows.append(("agent%d" % a, t, t, t + 800, "done", "x" * 200))
    t += step
db.executemany("INSERT INTO runs (agent, scheduled, started, ended, "
    "outcome, output_head) VALUES (?,?,?,?,?,?)", rows)
db.commit()
db.close()
print("history: %d rows" % len(rows))
PY
cp "$tmp/a.db" "$tmp/b.db"
ret=$((30 * 86400 * 1000))
"$tmp/hk" "$tmp/a.db" $now $ret
cut=$((now - ret))
t0=$(date +%s%N)
sqlite3 "$tmp/b.db" "PRAGMA synchronous=NORMAL; DELETE FROM runs WHERE outcome IS NOT NULL AND
    coalesce(ended, started, scheduled, 0) < $cut; VACUUM;
    PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
t1=$(date +%s%N)
echo "sqlite3 shell: same DELETE + VACUUM + checkpoint $(( (t1 - t0) / 1000000 )) ms"
