#!/usr/bin/env bash
# Links checked per second: `shouwang site inspect` (crawl, check every
# link, image, script, stylesheet and attachment, and run all the content
# checks) beside lychee (link checking only) on the same local site: the
# HTML of Debian's Python documentation (package python3.11-doc, pulled by
# python3-doc), served by python3 -m http.server on 127.0.0.1. Links to
# other hosts are left out by both.
# lychee is installed with `cargo install lychee` when missing (slow the
# first time: it is compiled).
# Last line: "ratio: X" = Shouwang links/s / lychee links/s (>= 1 is the goal).
# Usage: bench/site-vs-lychee.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

command -v lychee >/dev/null || cargo install lychee --locked
cargo build -q --release -p shouwang

(cd "$work" && apt-get download -qq python3.11-doc 2>/dev/null && dpkg-deb -x python3.11-doc_*.deb root)
docroot="$work/root/usr/share/doc/python3.11/html"
[ -f "$docroot/index.html" ] || { echo "no index.html in $docroot" >&2; exit 2; }
pages=$(find "$docroot" -name '*.html' | wc -l)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$docroot" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
echo "site: python3.11-doc, $pages HTML files, served at $base"

# lychee does not crawl: give it every page, fetched over HTTP.
find "$docroot" -name '*.html' | sed "s|^$docroot|$base|" >"$work/urls.txt"
start=$(date +%s.%N)
lychee --no-progress --format json --output "$work/lychee.json" --max-concurrency 16 \
    --exclude '^https?://[^1]' --exclude '^mailto:' $(cat "$work/urls.txt") >/dev/null 2>&1 || true
end=$(date +%s.%N)
lychee_s=$(echo "$end - $start" | bc -l)
# Links lychee checked: every occurrence (it answers repeats from its cache),
# less the excluded ones (other hosts, mail).
read -r lychee_links lychee_unique <<<"$(python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
print(d["total"] - d["excludes"], d["unique"])' "$work/lychee.json")"

start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/rss" "$repo/target/release/shouwang" site inspect "$base/index.html" \
    --own --no-external --no-transport --max-pages 100000 --json >"$work/shouwang.json" 2>/dev/null || true
end=$(date +%s.%N)
ours_s=$(echo "$end - $start" | bc -l)
# The same measure for us: every reference on every page (each judged by
# its URL's one check), beside the distinct URLs actually requested.
read -r ours_pages ours_links ours_unique ours_findings ours_text <<<"$(python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
print(r["pages"], r["links_found"], r["refs_checked"], len(r["findings"]), r["text_bytes"])' "$work/shouwang.json")"

lychee_rate=$(echo "$lychee_links / $lychee_s" | bc -l)
ours_rate=$(echo "$ours_links / $ours_s" | bc -l)
printf 'lychee:   %s links (%s unique) in %.2f s = %.0f links/s (link checking only)\n' \
    "$lychee_links" "$lychee_unique" "$lychee_s" "$lychee_rate"
printf 'shouwang: %s pages, %s links (%s distinct URLs requested) in %.2f s = %.0f links/s, %s findings, %.1f MB of page text, max RSS %s KiB\n' \
    "$ours_pages" "$ours_links" "$ours_unique" "$ours_s" "$ours_rate" "$ours_findings" \
    "$(echo "$ours_text / 1048576" | bc -l)" "$(tail -n 1 "$work/rss")"
printf 'wall time for the whole site: lychee %.2f s, shouwang %.2f s\n' "$lychee_s" "$ours_s"
printf 'ratio: %.2f\n' "$(echo "$ours_rate / $lychee_rate" | bc -l)"
