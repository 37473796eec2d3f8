#!/usr/bin/env bash
# Server-load benchmark: quire against the y-websocket server and Hocuspocus on
# this machine, in one run (docs/server-benchmarks.md describes the method).
#
#   bench/server/run.sh [--quick] [--servers quire,y-websocket,hocuspocus]
#                       [--workers 2] [--data-parent DIR]
#
# Uses build/quire (or $QUIRE_BIN), built first (configured in Release when build/ is new).
# Installs the pinned npm packages (npm ci) when node_modules is missing.
# Prints a table (peer / quire ratios) and writes
# bench/server/results/server-<timestamp>.json and results/server-latest.md.
# Every server listens on 127.0.0.1 only. A full run takes about 4-5 minutes.
# Not part of the test suite.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
if (( NODE_MAJOR < 20 )); then echo "node >= 20 is required (found $(node --version))" >&2; exit 1; fi

if [[ -z "${QUIRE_BIN:-}" ]]; then
  export QUIRE_BIN="$ROOT/build/quire"
  # configured in Release when build/ is new; always brought up to date, so a
  # stale binary is never measured (a no-op when nothing changed)
  if [[ ! -f "$ROOT/build/CMakeCache.txt" ]]; then
    echo "configuring build/ (Release) ..."
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$ROOT/build" -j "$(nproc 2>/dev/null || echo 2)" --target quire >/dev/null
fi
[[ -x "$QUIRE_BIN" ]] || { echo "quire binary not found at $QUIRE_BIN" >&2; exit 1; }

cd "$HERE"
[[ -d node_modules/@hocuspocus/server && -d node_modules/@y/websocket-server ]] || npm ci --no-audit --no-fund
mkdir -p results
exec node run.mjs "$@"
