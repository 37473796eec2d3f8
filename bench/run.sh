#!/usr/bin/env bash
# Trace benchmarks: quire's crdt against yjs, ywasm, loro-crdt and automerge,
# on this machine, in one run (docs/benchmarks.md describes the method).
#
#   bench/run.sh [--libs quire,yjs,...] [--traces automerge-paper,...]
#
# Builds quire_crdt + qbench in Release into build-bench/ (its own build dir),
# installs the pinned npm packages (npm ci) if needed, then runs bench/run.mjs.
# Results: printed tables, bench/results/results-<timestamp>.json and
# bench/results/latest.md. A full run takes about 5-8 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${QUIRE_BENCH_BUILD:-$ROOT/build-bench}"
JOBS="$(nproc 2>/dev/null || echo 2)"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DQUIRE_SANITIZE=OFF -DQUIRE_FUZZ=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target qbench >/dev/null
QBENCH="$BUILD/tests/diff/qbench"

cd "$ROOT/bench"
[[ -d node_modules/yjs ]] || npm ci --no-audit --no-fund
mkdir -p results
node run.mjs --qbench "$QBENCH" --markdown results/latest.md "$@"
