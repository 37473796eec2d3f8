#!/usr/bin/env bash
# Many-client documents: quire's crdt against yjs and ywasm (bench/clients.mjs
# describes what is measured). Builds qclients in Release into build-bench/.
#
#   bench/clients.sh [--counts 1,100,1000,10000]
#
# Prints a table and writes bench/results/clients.md. About 1-2 minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${QUIRE_BENCH_BUILD:-$ROOT/build-bench}"
JOBS="$(nproc 2>/dev/null || echo 2)"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DQUIRE_SANITIZE=OFF -DQUIRE_FUZZ=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target qclients >/dev/null

cd "$ROOT/bench"
[[ -d node_modules/yjs ]] || npm ci --no-audit --no-fund
mkdir -p results
node clients.mjs --qclients "$BUILD/tests/diff/qclients" --markdown results/clients.md "$@"
