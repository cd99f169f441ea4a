#!/usr/bin/env bash
# Host self-inspection on this machine, in one run: Lynis (Debian's lynis,
# `lynis audit system --quick`) beside `shouwang host check --profile
# dengbao3` (the whole 等保 level-3 profile, findings recorded in a
# temporary store). Goal: at least 10× faster, the whole profile in < 2 s.
# Usage: bench/host-vs-lynis.sh      (as root, like Lynis itself)
#        SHOUWANG_BIN=path/to/shouwang bench/host-vs-lynis.sh   (skip the build)
# Last line: "ratio: X" = Lynis wall time / Shouwang wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: Lynis audits as root, and so should Shouwang" >&2; exit 2; }
command -v lynis >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lynis >/dev/null; }
if [ -z "${SHOUWANG_BIN:-}" ]; then
    cargo build -q --release -p shouwang
    SHOUWANG_BIN="${CARGO_TARGET_DIR:-target}/release/shouwang"
fi
work="$(mktemp -d /tmp/shouwang-bench-host.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "# all defaults" > "$work/shouwang.toml"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >"$work/out" 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

lynis_s=$(secs lynis audit system --quick --no-colors --no-log --logfile "$work/lynis.log" --report-file "$work/lynis-report.dat")
lynis_done=$(grep -E 'Tests performed' "$work/out" | tr -s ' ' | tail -1 || true)
ours_s=$(secs "$SHOUWANG_BIN" --data-dir "$work/data" --config "$work/shouwang.toml" host check --profile dengbao3)
# Exit 1 means checks failed, which is a result; 2 is an error.
rc=0; "$SHOUWANG_BIN" --data-dir "$work/data" --config "$work/shouwang.toml" host check --profile dengbao3 --json > "$work/run.json" || rc=$?
[ "$rc" -le 1 ] || { echo "shouwang host check failed (exit $rc)" >&2; exit 2; }
ours_rules=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["results"]), "rules:", sum(x["verdict"]=="pass" for x in r["results"]), "pass,", sum(x["verdict"]=="fail" for x in r["results"]), "fail,", sum(x["verdict"]=="cannot-check" for x in r["results"]), "could not check")' "$work/run.json")

printf 'machine: %s, %s cores, %s\n' "$(uname -r)" "$(nproc)" "$(. /etc/os-release && echo "$PRETTY_NAME")"
printf 'lynis %s audit system --quick: %.2f s %s\n' "$(lynis show version 2>/dev/null)" "$lynis_s" "${lynis_done:+($lynis_done)}"
printf 'shouwang host check --profile dengbao3: %.3f s (%s)\n' "$ours_s" "$ours_rules"
printf 'ratio: %.1f\n' "$(echo "$lynis_s / $ours_s" | bc -l)"
