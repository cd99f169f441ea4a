#!/usr/bin/env bash
# Memory and speed of `shouwang-site` on a large site: N generated pages
# (default 100,000), served in the same process on 127.0.0.1, crawled whole
# with every check on (own site: no spacing). The issue's bound is a
# 100,000-page site under 500 MB of memory; there is no peer for this one.
# Last line: "ratio: X" = 500 MB / peak resident memory (>= 1: within).
# Usage: bench/site-memory.sh [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p shouwang-site --bench big_site -- "${1:-100000}"
