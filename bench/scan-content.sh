#!/usr/bin/env bash
# Content matching throughput on one core: Shouwang's wording dictionary
# (Aho-Corasick with context rules) plus its PII detectors over synthetic
# township-site text, beside GNU `grep -F -o` with the same dictionary words
# on the same file (grep matches the words only: no context rules, no PII).
# The target is at least 200 MB/s of page text per core.
# Last line: "ratio: X" = Shouwang MB/s / grep MB/s.
# Usage: bench/scan-content.sh [MB]   (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$(cargo bench -q -p shouwang-scan --bench content -- "${1:-64}" "$dir")
echo "$out"
ours=$(awk '/^shouwang_mb_per_s:/ {print $2}' <<<"$out")
bytes=$(stat -c %s "$dir/corpus.txt")
# Best of three, like ours.
best=""
for _ in 1 2 3; do
    start=$(date +%s.%N)
    hits=$(LC_ALL=C grep -o -F -f "$dir/words.txt" "$dir/corpus.txt" | wc -l)
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
grep_mbs=$(echo "$bytes / 1048576 / $best" | bc -l)
printf 'grep -F -o (same words, C locale): %s hits, %.3f s, %.1f MB/s\n' "$hits" "$best" "$grep_mbs"
printf 'ratio: %.2f\n' "$(echo "$ours / $grep_mbs" | bc -l)"
