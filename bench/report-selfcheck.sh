#!/usr/bin/env bash
# The 网络安全自查报告 over a large store: 100,000 findings and 1,000,000
# events (guard restores with latencies, site probes, inspections, host
# checks) in one quarter, written to DOCX by `shouwang report selfcheck`;
# time and peak memory (/usr/bin/time -v). The peer is pandoc converting
# the same report (our HTML rendering of it) to DOCX, on the same machine.
# The target: under 5 s with bounded memory.
#
# Last line: "ratio: X" = shouwang seconds (store to DOCX, all figures
# computed) / pandoc seconds (HTML to DOCX, nothing computed); below 1 means
# Shouwang is faster than the peer's conversion alone.
#
# Usage: bench/report-selfcheck.sh [EVENTS] [FINDINGS]
# (SHOUWANG_BIN=path/to/shouwang skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
findings=${2:-100000}

need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v pandoc >/dev/null || need+=(pandoc)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# SHOUWANG_BIN runs a binary built elsewhere (another checkout, a package).
if [ -n "${SHOUWANG_BIN:-}" ]; then
    bin=$SHOUWANG_BIN
else
    cargo build -q --release -p shouwang
    bin=target/release/shouwang
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SHOUWANG_DATA_DIR=$work/data SHOUWANG_CONFIG=$work/shouwang.toml
printf '[unit]\nname = "某某县教育局"\nsecurity_officer = "张三"\n' >"$SHOUWANG_CONFIG"

# The schema comes from shouwang itself; the rows from sqlite3 in bulk.
for i in 1 2 3 4 5; do
    RUST_LOG=warn "$bin" site add "https://site$i.example.gov.cn/" --name "网站$i" --own >/dev/null
done
db=$SHOUWANG_DATA_DIR/shouwang.db
start_us=1767196800000000   # 2026-01-01 00:00 +08:00
span_us=7776000000000       # 90 days
echo "filling $db with $events events and $findings findings..." >&2
t0=$(date +%s.%N)
sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $events)
INSERT INTO events (time, kind, sensor, check_id, asset_kind, asset_locator, severity,
                    summary, details, version, observed_at, input)
SELECT $start_us + (i * 7776000) % $span_us AS t,
       CASE WHEN i % 10 < 6 THEN 'site.probe'
            WHEN i % 10 < 9 THEN 'guard.restored'
            WHEN i % 100 = 99 THEN 'site.inspected'
            ELSE 'guard.recreated' END,
       CASE WHEN i % 10 < 6 OR i % 100 = 99 THEN 'site' ELSE 'guard' END,
       CASE WHEN i % 10 < 6 THEN 'site.probe' WHEN i % 100 = 99 THEN 'site.inspection' ELSE 'guard.watch' END,
       CASE WHEN i % 10 < 6 OR i % 100 = 99 THEN 'website' ELSE 'web-root' END,
       CASE WHEN i % 10 < 6 OR i % 100 = 99 THEN 'https://site' || (1 + i % 5) || '.example.gov.cn/'
            ELSE '/srv/www/root' || (i % 20) END,
       CASE WHEN i % 10 < 6 THEN 0 ELSE 3 END,
       'event ' || i,
       CASE WHEN i % 10 < 6 THEN '{"ok":' || CASE WHEN i % 97 = 0 THEN 'false' ELSE 'true' END || ',"status":200,"elapsed_ms":' || (i % 900) || '}'
            WHEN i % 100 = 99 THEN '{"pages":' || (i % 500) || ',"duration_ms":60000}'
            ELSE '{"path":"news/' || (i % 5000) || '.html","root":"/srv/www/root' || (i % 20) || '","latency_ms":' || (0.5 + (i % 40) / 10.0) || '}' END,
       '0.1.0', $start_us + (i * 7776000) % $span_us, 'bench'
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $findings)
INSERT INTO findings (fingerprint, sensor, check_id, asset_kind, asset_locator, severity,
                      title_zh, title_en, evidence, location, status, first_seen, last_seen,
                      version, observed_at, input)
SELECT 'fp' || i,
       CASE WHEN i % 2 = 0 THEN 'site' ELSE 'host' END,
       CASE WHEN i % 2 = 0 THEN 'site.broken-link.' || (i % 40) ELSE 'ssh.rule-' || (i % 150) END,
       CASE WHEN i % 2 = 0 THEN 'website' ELSE 'host' END,
       CASE WHEN i % 2 = 0 THEN 'https://site' || (1 + i % 5) || '.example.gov.cn/' ELSE 'pc-' || (i % 300) END,
       i % 5,
       CASE WHEN i % 2 = 0 THEN '失效链接' ELSE '主机检查项不符合 ' || (i % 150) END,
       'finding', 'evidence of ' || i, '/page/' || i,
       CASE WHEN i % 3 = 0 THEN 'resolved' ELSE 'open' END,
       $start_us + (i * 77760000) % $span_us, $start_us + (i * 77760000) % $span_us,
       '0.1.0', $start_us, 'bench'
FROM n;
COMMIT;
SQL
t1=$(date +%s.%N)
echo "filled in $(echo "$t1 - $t0" | bc) s; $(du -h "$db" | cut -f1) on disk" >&2

run_timed() { # label, command...: prints seconds and peak RSS (KB)
    local log=$work/time.log
    /usr/bin/time -v "${@:2}" >"$work/$1.out" 2>"$log" || { cat "$log" >&2; exit 2; }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    # m:ss.cc -> seconds
    echo "$wall" | awk -F: -v rss="$rss" '{ if (NF == 3) s = $1 * 3600 + $2 * 60 + $3; else s = $1 * 60 + $2; printf "%.3f %d\n", s, rss }'
}

# Warm the page cache once so both sides read from memory.
cat "$db" >/dev/null
read -r ours ours_rss < <(run_timed ours "$bin" report selfcheck --from 2026-01-01 --to 2026-03-31 -o "$work/selfcheck.docx")
"$bin" report selfcheck --from 2026-01-01 --to 2026-03-31 -o "$work/selfcheck.html" >/dev/null
read -r peer peer_rss < <(run_timed peer pandoc -f html -t docx "$work/selfcheck.html" -o "$work/pandoc.docx")

echo "store: $(sqlite3 "$db" 'SELECT COUNT(*) FROM events') events, $(sqlite3 "$db" 'SELECT COUNT(*) FROM findings') findings"
printf 'shouwang report selfcheck (store → DOCX): %6.2f s  peak RSS %6.1f MB  (%s bytes)\n' \
    "$ours" "$(echo "$ours_rss / 1024" | bc -l)" "$(stat -c %s "$work/selfcheck.docx")"
printf 'pandoc HTML → DOCX (same report):         %6.2f s  peak RSS %6.1f MB  (%s bytes)\n' \
    "$peer" "$(echo "$peer_rss / 1024" | bc -l)" "$(stat -c %s "$work/pandoc.docx")"
if awk -v s="$ours" 'BEGIN { exit !(s < 5) }'; then echo "target (< 5 s): met"; else echo "target (< 5 s): MISSED"; fi
echo "ratio: $(awk -v a="$ours" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')"
