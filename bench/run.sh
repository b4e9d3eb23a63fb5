#!/bin/bash
# bench/run.sh BUILD_DIR: runs every bench/*.sh in turn and prints results.
set -uo pipefail
B=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for s in "$here"/*.sh; do
	case $(basename "$s") in run.sh | lib.sh) continue ;; esac
	echo "== $(basename "$s" .sh)"
	bash "$s" "$B" || rc=1
done
exit $rc
