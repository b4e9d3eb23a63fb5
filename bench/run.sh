#!/bin/bash
# Runs every benchmark script in bench/ and prints its results.
# usage: bench/run.sh BUILD_DIR   (make bench passes it)
set -euo pipefail
B=${1:?usage: bench/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)

echo "== git: commit latency, keeper (libgit2) vs git CLI"
bash "$here/git.sh" "$B"
