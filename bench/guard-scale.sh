#!/usr/bin/env bash
# Scale and rest: seal and check 1,000,000 small files and report peak
# memory (goal: under 300 MB), beside AIDE's peak memory and time on the
# same tree; then `guard watch` at rest on a 100,000-file root: CPU share
# and memory over 30 s (goal: under 1 % of a core and 50 MB).
# Usage: bench/guard-scale.sh [FILES] [REST_FILES]
# Last line: "ratio: X" = AIDE's peak memory / ours when sealing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
files="${1:-1000000}"
rest_files="${2:-100000}"
work="${BENCH_DIR:-/tmp/shouwang-bench-scale}"
command -v aide >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq aide >/dev/null; }
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
cargo build -q --release -p shouwang
bin="${CARGO_TARGET_DIR:-target}/release/shouwang"
mkdir -p "$work"

small_tree() { # DIR N: N files of 200-2000 bytes in 1,000 directories
    [ -d "$1" ] && return
    python3 - "$1" "$2" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
body = os.urandom(4096)
for i in range(n):
    d = os.path.join(root, f"c{i % 1000:03d}")
    if i < 1000:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"{i}.html"), "wb") as f:
        f.write(body[: rng.randrange(200, 2000)])
PY
}

peak() { # command... → "seconds peak_kB"
    /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1
}

tree="$work/small-$files"
small_tree "$tree" "$files"
rm -rf "$work/data" "$work/aide.db" "$work/aide.db.new"
aide_conf "$work" "$tree"
read -r seal_s seal_kb < <(peak "$bin" --data-dir "$work/data" guard seal "$tree")
read -r check_s check_kb < <(peak "$bin" --data-dir "$work/data" guard check "$tree")
read -r aide_s aide_kb < <(peak aide --config="$work/aide.conf" --init)
printf 'guard seal   %s files: %6.1f s, peak %6.0f MB\n' "$files" "$seal_s" "$(echo "$seal_kb/1024" | bc -l)"
printf 'guard check  %s files: %6.1f s, peak %6.0f MB\n' "$files" "$check_s" "$(echo "$check_kb/1024" | bc -l)"
printf 'aide --init  %s files: %6.1f s, peak %6.0f MB\n' "$files" "$aide_s" "$(echo "$aide_kb/1024" | bc -l)"

rest="$work/small-$rest_files"
small_tree "$rest" "$rest_files"
rm -rf "$work/rest-data"
"$bin" --data-dir "$work/rest-data" guard seal "$rest" >/dev/null
"$bin" --data-dir "$work/rest-data" guard watch "$rest" >/dev/null 2>&1 &
pid=$!
sleep 5
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
sleep 30
t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
kill -TERM "$pid"; wait "$pid" || true
printf 'guard watch at rest, %s files: %.2f %% of a core, %.0f MB resident\n' "$rest_files" "$(echo "($t1-$t0)*100/$hz/30" | bc -l)" "$(echo "$rss/1024" | bc -l)"
printf 'ratio: %.2f\n' "$(echo "$aide_kb/$seal_kb" | bc -l)"
