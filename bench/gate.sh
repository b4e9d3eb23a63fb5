#!/bin/sh
# The gate's queue with priorities and aging (SPEC §5b): what numbering
# the places of 10,000 waiting ticks costs per change to the queue (each
# change followed by every place asked, as a publish of /_activity does),
# against the FIFO gate it replaced, in the same run (gate_bench.c).
# usage: bench/gate.sh BUILD_DIR   (build, or an absolute path)
set -eu
B=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
case $B in /*) ;; *) B=$root/$B ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -std=c17 -O2 -D_GNU_SOURCE $(for d in "$root"/src/*/; do printf -- "-I%s " "$d"; done) -o "$tmp/gate_bench" \
    "$here/gate_bench.c" "$B/libkeeper.a"
"$tmp/gate_bench" "${WAITERS:-10000}" "${CHANGES:-300}"
