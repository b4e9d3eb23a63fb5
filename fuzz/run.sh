#!/bin/bash
# Build and run every fuzz/fuzz_*.c harness for SECONDS each (default 60).
# Each harness links the sources of orgparse/ and src/ (less the two main()s
# and org-dump.c) and the generated build/gen/*.c, built with
# clang -fsanitize=fuzzer,address,undefined into build-fuzz/.
# Seeds: tests/golden/*.org, plus fuzz/corpus-NAME/ and, read in place,
# ../shared/corpus when present. Findings go to fuzz/out/NAME/.
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/.."
B=build-fuzz
CFLAGS="-std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Iorgparse $(for d in src/*/; do printf -- "-I%s " "$d"; done) $(pkg-config --cflags libuv libgit2 sqlite3 libpcre2-8 libcurl jansson libmicrohttpd 2>/dev/null || true)"
LIBS="$(pkg-config --libs libuv libgit2 sqlite3 libpcre2-8 libcurl jansson libmicrohttpd 2>/dev/null || true) -lm -lpthread"
mkdir -p $B fuzz/out
# Generated sources (the dashboard page) come from the normal build.
make -s all >/dev/null
objs=()
for c in orgparse/*.c src/*/*.c build/gen/*.c; do
	case $c in orgparse/org-dump.c|src/cmd/main.c|src/interp/keeper-exec.c) continue ;; esac
	[ -e "$c" ] || continue
	o=$B/${c%.c}.o
	mkdir -p "$(dirname "$o")"
	if [ ! -e "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find orgparse src -name '*.h' -newer "$o" 2>/dev/null | head -1)" ]; then
		clang $CFLAGS -c "$c" -o "$o"
	fi
	objs+=("$o")
done
# Link through an archive so a harness pulls in only the objects it needs
# (http.o, for one, wants the dashboard the Makefile generates).
rm -f $B/libfuzz.a
ar rcs $B/libfuzz.a "${objs[@]}"
status=0
for h in fuzz/fuzz_*.c; do
	name=$(basename "$h" .c)
	if ! clang $CFLAGS -fsanitize=fuzzer "$h" $B/libfuzz.a $LIBS -o $B/$name; then
		echo "$name: does not build"
		status=1
		continue
	fi
	out=fuzz/out/$name
	mkdir -p "$out/work" "$out/crashes"
	seeds=("$out/work")
	[ -d fuzz/corpus-${name#fuzz_} ] && seeds+=(fuzz/corpus-${name#fuzz_})
	[ "$name" = fuzz_org ] && seeds+=(tests/golden)
	[ "$name" = fuzz_org ] && [ -d ../shared/corpus ] && seeds+=(../shared/corpus)
	echo "== $name: ${secs}s"
	if ! $B/$name -max_total_time="$secs" -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$out/crashes/" \
	    -print_final_stats=1 "${seeds[@]}" 2>"$out/log"; then
		status=1
		echo "$name: FAILED, see $out/log and $out/crashes/"
	fi
	grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$out/log" || true
	tail -n 3 "$out/log" | grep -E "^(#|Done)" || true
done
exit $status
