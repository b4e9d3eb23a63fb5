#!/bin/bash
# Run every bench/*.sh but this one, passing the build directory.
# Usage: run.sh BUILD_DIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
B=${1:-$here/../build}
status=0
for s in "$here"/*.sh; do
	[ "$(basename "$s")" = run.sh ] && continue
	bash "$s" "$B" || status=1
done
exit $status
