#!/usr/bin/env bash
# Seal and check a generated web root with `shouwang guard` and with AIDE
# (Debian's aide, sha256), on the same tree, in one run; `cat` of the whole
# tree is the floor. Goals: seal ≥ 8× faster than `aide --init`, check ≥ 10×
# faster than `aide --check`, both within 2× of cat.
# Usage: bench/guard-vs-aide.sh [FILES]   (default 20000 files, about 2.3 GB)
# Last line: "ratio: X" = the smaller of (aide --init / guard seal) and
# (aide --check / guard check).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
files="${1:-20000}"
work="${BENCH_DIR:-/tmp/shouwang-bench-guard}"
command -v aide >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq aide >/dev/null; }
cargo build -q --release -p shouwang
bin="${CARGO_TARGET_DIR:-target}/release/shouwang"

www="$work/www-$files"
if [ ! -d "$www" ]; then
    python3 bench/gen-webroot.py "$www" "$files"
fi
rm -rf "$work/data" "$work/aide.db" "$work/aide.db.new"
aide_conf "$work" "$www"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
# Warm the page cache once, so that every tool reads from memory alike.
find "$www" -type f -print0 | xargs -0 cat > /dev/null
cat_s=$(secs sh -c "find '$www' -type f -print0 | xargs -0 cat > /dev/null")
# The seal keeps a copy of every byte (restores need it), so writing the
# tree's bytes once is its floor on this disk: dd with O_DIRECT, 4 MiB
# requests, the same number of bytes.
bytes=$(find "$www" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
sync
write_s=$(secs dd if=/dev/zero of="$work/floor.bin" bs=4M count=$(( (bytes + 4194303) / 4194304 )) oflag=direct)
rm -f "$work/floor.bin"
aide_init=$(secs aide --config="$work/aide.conf" --init)
mv "$work/aide.db.new" "$work/aide.db"
aide_check=$(secs aide --config="$work/aide.conf" --check)
seal=$(secs "$bin" --data-dir "$work/data" guard seal "$www")
check=$(secs "$bin" --data-dir "$work/data" guard check "$www")
"$bin" --data-dir "$work/data" guard check "$www" >/dev/null || { echo "guard check found differences on an unchanged tree" >&2; exit 1; }

printf 'tree          : %s files, %s\n' "$files" "$(du -sh "$www" | cut -f1)"
printf 'cat           : %6.2f s\n' "$cat_s"
printf 'write floor   : %6.2f s   (dd oflag=direct of the same %s bytes)\n' "$write_s" "$bytes"
printf 'aide --init   : %6.2f s\n' "$aide_init"
printf 'aide --check  : %6.2f s\n' "$aide_check"
printf 'guard seal    : %6.2f s   (%.1f× faster than aide --init, %.2f× cat, %.2f× the write floor)\n' "$seal" "$(echo "$aide_init/$seal" | bc -l)" "$(echo "$seal/$cat_s" | bc -l)" "$(echo "$seal/$write_s" | bc -l)"
printf 'guard check   : %6.2f s   (%.1f× faster than aide --check, %.2f× cat)\n' "$check" "$(echo "$aide_check/$check" | bc -l)" "$(echo "$check/$cat_s" | bc -l)"
r1=$(echo "$aide_init/$seal" | bc -l); r2=$(echo "$aide_check/$check" | bc -l)
printf 'ratio: %.2f\n' "$(echo "if ($r1 < $r2) $r1 else $r2" | bc -l)"
