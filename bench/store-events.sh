#!/usr/bin/env bash
# Events per second into Shouwang's SQLite and PostgreSQL stores, beside the
# sqlite3 shell and psql COPY on the same rows. Last line: "ratio: X" =
# Shouwang SQLite rate / sqlite3 .import rate (1.0 = as fast as the raw loader).
# Usage: bench/store-events.sh [N]   (default 200000 events)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3; }
eval "$(scripts/test-postgres.sh)"
cargo bench -q -p shouwang-store --bench events -- "${1:-200000}"
