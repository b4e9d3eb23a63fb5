#!/bin/bash
# Parse throughput on the 10 MB corpus file: keeper's org_parse (parse only,
# median of 21: on the development VM one parse varies by a third from the
# next) side by side with Emacs org-element-parse-buffer and pandoc -f org
# -t json, in the same run. All in MB per CPU second, so a
# busy machine skews none of them. Usage: parse.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
B=${1:-$root/build}
out=$here/out
mkdir -p "$out"
big=$out/big.org
[ -s "$big" ] || bash "$root/../shared/corpus/make-big.sh" "$big"
mb=$(awk -v s="$(stat -c %s "$big")" 'BEGIN { printf "%.2f", s / 1e6 }')
cc -std=c17 -D_GNU_SOURCE -O2 -I"$root/orgparse" "$here/parse_bench.c" \
    "$B/liborgparse.a" -o "$out/parse_bench"
echo "== parse: $big ($mb MB)"
k=$("$out/parse_bench" "$big" 21)
kmbs=${k%% *}
printf '%-34s %s\n' "keeper org_parse:" "$k"
ratios=()
if command -v emacs >/dev/null; then
	e=$(LANG=C.UTF-8 emacs --batch -Q -l "$here/parse-org-element.el" "$big" 1 2>/dev/null)
	ee=$(echo "$e" | awk '$1 == "element" { print $2 }')
	eo=$(echo "$e" | awk '$1 == "object" { print $2 }')
	printf '%-34s %s MB/s (one run)\n' "emacs org-element (element):" "$ee"
	printf '%-34s %s MB/s (one run)\n' "emacs org-element (object):" "$eo"
	ratios+=("keeper/org-element(element) = $(awk -v a="$kmbs" -v b="$ee" 'BEGIN { printf "%.0fx", a / b }')  (org-element also builds paragraphs, lists, tables)")
	ratios+=("keeper/org-element(object)  = $(awk -v a="$kmbs" -v b="$eo" 'BEGIN { printf "%.0fx", a / b }')  (org-element also parses inline markup)")
fi
if command -v pandoc >/dev/null; then
	# CPU time (user + sys) of one run, like the others.
	cpu=$( { TIMEFORMAT='%U %S'; time pandoc -f org -t json "$big" > /dev/null; } 2>&1 | tail -1)
	pm=$(awk -v s="$mb" -v c="$cpu" 'BEGIN { split(c, t, " "); printf "%.2f", s / (t[1] + t[2]) }')
	printf '%-34s %s MB/s (one run, includes writing JSON)\n' "pandoc -f org -t json:" "$pm"
	ratios+=("keeper/pandoc               = $(awk -v a="$kmbs" -v b="$pm" 'BEGIN { printf "%.0fx", a / b }')  (pandoc also parses inline markup and writes JSON)")
fi
echo "keeper reads structure only (headings, planning, properties, keywords,"
echo "blocks, drawers); the others build a full tree, inline markup included:"
for r in "${ratios[@]}"; do
	echo "ratio $r"
done
