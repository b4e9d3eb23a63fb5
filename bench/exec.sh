#!/bin/bash
# bench/exec.sh BUILD_DIR: the def interpreter's costs, side by side with
# the same work done by plain /bin/sh, so the numbers are ratios on this
# machine rather than absolute times.
#
#   pipe     200 MB through two steps (exec-def keeps outputs in temp files)
#            vs sh doing the same through a temp file
#   scan     1,000,000 output lines scanned for ::step::/::thought::, vs
#            sh printing them to /dev/null; once as plain lines, once all
#            telemetry (1M redacted events written to the event fd)
#   steps    20 trivial steps (fork, exec, reap, descendant sweep each)
#            vs sh running `sh -c true` 20 times
set -euo pipefail
b=${1:?usage: bench/exec.sh BUILD_DIR}
keeper=$(cd "$b" && pwd)/keeper
command -v hyperfine >/dev/null || { echo "exec: hyperfine not installed, skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mb=200

cat > "$tmp/pipe.org" <<ORG
* flood
#+BEGIN_SRC sh
head -c ${mb}000000 /dev/zero
#+END_SRC
* pass
#+BEGIN_SRC sh
cat
#+END_SRC
ORG
cat > "$tmp/plain.org" <<'ORG'
* lines
#+BEGIN_SRC sh
seq 1000000 | sed 's/^/line /'
#+END_SRC
ORG
cat > "$tmp/scan.org" <<'ORG'
* lines
#+BEGIN_SRC sh
seq 1000000 | sed 's/^/::step::line /'
#+END_SRC
ORG
{
	for i in $(seq 20); do
		printf '* s%d\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n' "$i"
	done
} > "$tmp/steps.org"

cd "$tmp"
export KEEPER_DATA=$tmp
hyperfine -N --warmup 1 --runs 5 --style basic \
    -n "exec-def pipe ${mb}MB" "$keeper exec-def pipe.org" \
    -n "sh pipe ${mb}MB" "sh -c 'head -c ${mb}000000 /dev/zero > t; cat < t; rm t'" \
    --output=null 2>&1 | grep -v '^ *$'
hyperfine -N --warmup 1 --runs 5 --style basic \
    -n "exec-def 1M plain lines" \
    "sh -c 'KEEPER_EVENT_FD=3 $keeper exec-def plain.org 3>/dev/null'" \
    -n "sh 1M plain lines" "sh -c \"seq 1000000 | sed 's/^/line /'\"" \
    --output=null 2>&1 | grep -v '^ *$'
hyperfine -N --warmup 1 --runs 5 --style basic \
    -n "exec-def 1M telemetry lines" \
    "sh -c 'KEEPER_EVENT_FD=3 $keeper exec-def scan.org 3>/dev/null'" \
    -n "sh 1M telemetry lines" "sh -c \"seq 1000000 | sed 's/^/::step::line /'\"" \
    --output=null 2>&1 | grep -v '^ *$'
hyperfine -N --warmup 1 --runs 10 --style basic \
    -n "exec-def 20 steps" "$keeper exec-def steps.org" \
    -n "sh 20 x sh -c true" "sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sh -c true; done'" \
    --output=null 2>&1 | grep -v '^ *$'
