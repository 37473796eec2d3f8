#!/usr/bin/env bash
# Install what quire needs to build and test on Debian 12. Idempotent: it only
# installs what is missing, and runs `apt-get update` only when something is.
#
#   scripts/setup.sh            # apt packages + npm packages for tests/interop
#
# Needs root (or sudo) for apt. Without either it prints the exact apt-get line
# to run and exits 1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

APT_PACKAGES=(
  build-essential cmake pkg-config
  libh2o-evloop-dev libwslay-dev liblmdb-dev libsodium-dev libssl-dev
  lmdb-utils clang zlib1g-dev openssl
)

# --- apt ------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  log "missing apt packages: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
  else
    die "need root to install packages. Run:
  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  log "apt packages: all present"
fi

# --- node / npm -------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  die "node and npm (Node 20+) are required for tests/interop. Install them, e.g.:
  apt-get install -y nodejs npm"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
  die "Node $(node -v) is too old: tests/interop needs Node 20 or newer"
fi

# npm packages of the Node test suites (tests/interop: yjs/y-websocket clients;
# tests/diff: the yjs oracle of the differential test), reinstalled when the
# lockfile changed.
for dir in tests/interop tests/diff; do
  pkg="$ROOT/$dir"
  [[ -f "$pkg/package-lock.json" ]] || continue
  stamp="$pkg/node_modules/.package-lock.json"
  if [[ ! -f "$stamp" || "$pkg/package-lock.json" -nt "$stamp" ]]; then
    log "npm ci in $dir"
    (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error)
  else
    log "npm packages in $dir: up to date"
  fi
done

log "done"
