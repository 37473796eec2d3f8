#!/usr/bin/env bash
# Build quire and start it for a first look: the editor (when built) at
# http://127.0.0.1:8080/, LMDB data in ./quire-data, development mode.
#
#   scripts/run.sh                 # setup (apt/npm), build, `quire serve --dev`
#   scripts/run.sh --listen 127.0.0.1:9000    # extra flags go to `quire serve`
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

if [[ -f web-editor/package.json ]]; then
  (cd web-editor && { [[ node_modules/.package-lock.json -nt package-lock.json ]] || npm ci --no-audit --no-fund; } && npm run build)
fi

echo "run: starting build/quire serve --dev $*" >&2
exec build/quire serve --dev "$@"
