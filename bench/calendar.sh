#!/bin/bash
# Next-fire computation: 10,000 schedules (cron lines and org repeaters in
# eleven zones, bench/calendar_bench.c's mix) stepped fire by fire over
# one year, 2027-07-01 to 2028-07-01 UTC (both clock changes of every
# zone, and 29 February 2028). keeper's cal_next() side by side with
# Debian's python3-croniter on the same cron lines in the same run, in
# fires per CPU second, and every fire compared (calendar_ref.py):
# croniter's local times under SPEC §5a's zone rule must equal keeper's
# fires one for one, org repeaters must equal dateutil's, and where
# croniter's own time-zone mode differs, each difference is named by
# the DST rule it breaks. Usage: calendar.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
B=${1:-$root/build}
N=${CAL_BENCH_N:-10000}
out=$here/out
mkdir -p "$out"
cc -std=c17 -D_GNU_SOURCE -O2 -I"$root/src/model" "$here/calendar_bench.c" \
    "$B/libkeeper.a" $(pkg-config --libs icu-uc icu-i18n) \
    -o "$out/calendar_bench"
from=$(( $(date -u -d 2027-07-01T00:00:00Z +%s) * 1000 ))
to=$(( $(date -u -d 2028-07-01T00:00:00Z +%s) * 1000 ))
"$out/calendar_bench" gen "$N" > "$out/calendar.list"
echo "== calendar: $N schedules, 2027-07-01 to 2028-07-01 UTC"
k=$("$out/calendar_bench" run "$out/calendar.list" "$from" "$to" \
    "$out/calendar.fires" 5)
echo "$k" | sed 's/^/keeper /'
icu=$(cd "$out" && cat > icuver.c <<'EOF'
#include <stdio.h>
#include <unicode/ucal.h>
int main(void) { UErrorCode st = U_ZERO_ERROR;
	printf("%s\n", ucal_getTZDataVersion(&st)); return 0; }
EOF
cc icuver.c $(pkg-config --cflags --libs icu-uc icu-i18n) -o icuver && ./icuver)
echo "zone rules: ICU $icu (keeper), system tzdata $(dpkg-query -W -f='${Version}' tzdata 2>/dev/null || echo '?') (zoneinfo)"
kc=$(echo "$k" | awk '$1 == "cron" { print $7 }')
rc=0
p=$(/usr/bin/python3 "$here/calendar_ref.py" "$out/calendar.list" "$from" \
    "$to" "$out/calendar.fires") || rc=1
echo "$p"
pc=$(echo "$p" | awk '$1 == "croniter" && $2 == "cron_fires" { print $7 }')
pr=$(echo "$p" | awk '$1 == "croniter" && $2 == "cron_fires" { print $11 }')
[ -n "$pc" ] && echo "ratio keeper/croniter (cron lines, fires per CPU second) = $(awk -v a="$kc" -v b="$pc" 'BEGIN { printf "%.0fx", a / b }'); with the zone rule in Python = $(awk -v a="$kc" -v b="$pr" 'BEGIN { printf "%.0fx", a / b }')"
[ $rc = 0 ] && echo "calendar: every fire agrees" || echo "calendar: DISAGREEMENT (above)"
exit $rc
