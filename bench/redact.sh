#!/bin/sh
# Redaction throughput: keeper's redactor (PCRE2, JIT) against the same
# patterns in Perl, on the same 20 MB of log-like text with secrets in it.
# usage: bench/redact.sh BUILD_DIR   (build, or an absolute path)
set -eu
B=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
case $B in /*) ;; *) B=$root/$B ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

cc -std=c17 -O2 -D_GNU_SOURCE $(for d in "$root"/src/*/; do printf -- "-I%s " "$d"; done) -o "$tmp/redact_bench" \
    "$here/redact_bench.c" "$B/libkeeper.a" \
    $(pkg-config --libs libpcre2-8) -lpthread

# 20 MB: log lines, one credential of some kind every 50 lines.
/usr/bin/python3 - "$tmp/input" <<'PY'
import random, sys
random.seed(1)
words = ("the crew ran step compose narrate assemble tokens queue draft "
         "index page commit skeleton password token count ok done").split()
secrets = ["api_key=k3y%06d", "Authorization: Bearer abc%06ddef",
           "sk-proj-%06dabcdefghijklmnopqrstuv", "AKIAIOSFODNN7%07d",
           "db: postgres://app:pw%06d@db/app", "PASSWORD: hunter%06d"]
out, size, i = [], 0, 0
while size < 20 * 1000 * 1000:
    line = " ".join(random.choice(words) for _ in range(12))
    if i % 50 == 0:
        line += " " + secrets[(i // 50) % len(secrets)] % i
    line = "level=info agent=wren step=%d msg=\"%s\"\n" % (i, line)
    out.append(line)
    size += len(line)
    i += 1
open(sys.argv[1], "w").write("".join(out))
PY

echo "== redact: 20 MB of logs, built-in patterns (same output size = same work)"
k=$("$tmp/redact_bench" "$tmp/input" 3)
p=$(perl "$here/redact_ref.pl" "$tmp/input" 1)
echo "$k"
echo "$p"
echo "$k $p" | awk '{ for (i = 1; i <= NF; i++) if ($i == "MB/s") v[++n] = $(i - 1);
    printf("ratio keeper/perl: %.1fx\n", v[1] / v[2]) }'
