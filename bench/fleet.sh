#!/bin/bash
# Failover (SPEC §12): kill -9 the active keeper of a crew shared by
# three through a real etcd on loopback, FLEET_KILLS times (default 20),
# at #+LEASE-TTL: 2s and 5s: the time from the kill until another keeper
# is active, and until the first run starts on it, min/median/max
# against the TTL (the promise: TTL + 2 s). Then the lease's steady cost:
# etcd requests per minute and CPU seconds per minute of an idle active
# keeper and a standby, against a keeper of the same crew without a
# lease, side by side in the same run (FLEET_SECONDS, default 120).
# Usage: fleet.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
B=$(cd "${1:-$root/build}" && pwd)
export KEEPER_BIN=$B/keeper ORG_DUMP=$B/org-dump
py=/usr/bin/python3
for ttl in 2 5; do
	$py "$here/fleet_bench.py" failover "${FLEET_KILLS:-20}" "$ttl"
done
$py "$here/fleet_bench.py" steady "${FLEET_SECONDS:-120}"
