#!/usr/bin/env bash
# Many documents in one process: bytes per loaded document for quire's crdt,
# yjs, ywasm and loro-crdt, for documents of four sizes (bench/docs.mjs
# describes what is measured). Builds qdocs in Release into build-bench/
# (or $QUIRE_BENCH_BUILD).
#
#   bench/docs.sh [--classes empty,note,page,paper] [--n note=1000,...] [--libs quire,yjs,...]
#
# Prints one table per size and writes bench/results/docs.md. About 15-30 s.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${QUIRE_BENCH_BUILD:-$ROOT/build-bench}"
JOBS="$(nproc 2>/dev/null || echo 2)"

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DQUIRE_SANITIZE=OFF -DQUIRE_FUZZ=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target qdocs >/dev/null

cd "$ROOT/bench"
[[ -d node_modules/yjs ]] || npm ci --no-audit --no-fund
mkdir -p results
node docs.mjs --qdocs "$BUILD/tests/diff/qdocs" --markdown results/docs.md "$@"
