#!/usr/bin/env bash
# Browser tests: the web editor in Debian's chromium (headless, driven by
# playwright-core) against a running quire.
#
#   scripts/test-browser.sh                 # against build/quire
#   QUIRE_BIN=build-asan/quire scripts/test-browser.sh
#   scripts/test-browser.sh tokens          # only tests/browser/tokens.test.mjs
#
# Steps: install chromium if /usr/bin/chromium is missing (apt, as root or via
# sudo; otherwise prints the command and exits 1), `npm ci` in web-editor/ and
# tests/browser/ when their lockfiles changed (one run at a time), build the
# editor into a private temporary directory (never the shared web-editor/dist),
# run tests/browser/*.test.mjs with node:test against that build. Each test
# starts its own quire on 127.0.0.1 with a temporary data dir and stops it.
# Several runs at once (two people, two CI steps) do not disturb each other.
#
# Environment (all optional):
#   QUIRE_BIN=PATH          quire binary (default build/quire; it is not built here)
#   CHROMIUM_BIN=PATH       browser (default /usr/bin/chromium)
#   QUIRE_BROWSER_TAP=PATH  also write TAP there (default: next to QUIRE_BIN, browser.tap;
#                           written in one piece at the end, counts come from this run's own copy)
# Screenshots go to tests/out/ (not committed). Ends with
# "browser tests: P passed, F failed, S skipped"; exits non-zero on a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'test-browser: %s\n' "$*" >&2; }
die() { printf 'test-browser: ERROR: %s\n' "$*" >&2; exit 1; }

QUIRE_BIN="${QUIRE_BIN:-build/quire}"
QUIRE_BIN="$(cd "$(dirname "$QUIRE_BIN")" 2>/dev/null && pwd)/$(basename "$QUIRE_BIN")" \
  || die "QUIRE_BIN: directory of $QUIRE_BIN does not exist"
[[ -x "$QUIRE_BIN" ]] || die "$QUIRE_BIN is not built. Build it first:
  cmake -S . -B build && cmake --build build -j\$(nproc)      (or set QUIRE_BIN)"
export QUIRE_BIN
CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
export CHROMIUM_BIN

# --- chromium (Debian's; never a downloaded browser) -------------------------
if [[ ! -x "$CHROMIUM_BIN" ]]; then
  [[ "$CHROMIUM_BIN" == /usr/bin/chromium ]] || die "CHROMIUM_BIN=$CHROMIUM_BIN does not exist"
  log "chromium is missing: installing the Debian package"
  if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo)
  else
    die "need root to install chromium. Run:
  sudo apt-get update && sudo apt-get install -y chromium"
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q chromium
  [[ -x "$CHROMIUM_BIN" ]] || die "apt-get installed chromium but $CHROMIUM_BIN is still missing"
fi

# --- node / npm -----------------------------------------------------------------
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
  || die "node and npm (Node 20+) are required. Install them, e.g.: apt-get install -y nodejs npm"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "Node $(node -v) is too old: the browser tests need Node 20 or newer"

npm_ci() { # npm ci in $1 when node_modules is missing or older than the lockfile
  local dir="$1" stamp="$1/node_modules/.package-lock.json" lock
  # one npm ci per directory at a time: a concurrent run waits here (the lock
  # is on the lockfile itself, so no extra file), then finds it done
  exec {lock}<"$dir/package-lock.json"
  flock "$lock"
  if [[ ! -f "$stamp" || "$dir/package-lock.json" -nt "$stamp" || "$dir/package.json" -nt "$stamp" ]]; then
    log "npm ci in ${dir#"$ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  exec {lock}<&-
}
command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"
npm_ci "$ROOT/web-editor"
npm_ci "$ROOT/tests/browser"

# --- the editor -------------------------------------------------------------------
# Built into this run's own temporary directory and served from there: the
# shared web-editor/dist is neither deleted nor rebuilt, so a concurrent run (or
# a developer's `npm run watch`) keeps its files.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/quire-browser-run-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
WEB="$WORK/dist"
log "building the editor into $WEB"
(cd web-editor && npm run --silent build -- --outdir "$WEB")
[[ -f "$WEB/index.html" ]] || die "web-editor build did not produce $WEB/index.html"

# --- the tests ----------------------------------------------------------------------
files=()
if (($#)); then
  for n in "$@"; do
    f="tests/browser/${n%.test.mjs}.test.mjs"
    [[ -f "$f" ]] || die "no such test file: $f"
    files+=("./$(basename "$f")")
  done
else
  for f in tests/browser/*.test.mjs; do files+=("./$(basename "$f")"); done
fi
TAP="${QUIRE_BROWSER_TAP:-$(dirname "$QUIRE_BIN")/browser.tap}"
mkdir -p "$(dirname "$TAP")" tests/out
log "running ${#files[@]} test file(s) against $QUIRE_BIN with $CHROMIUM_BIN"
start=$SECONDS
set +e
(cd tests/browser && QUIRE_WEB="$WEB" node --test \
    --test-concurrency=1 --test-timeout=180000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$WORK/browser.tap" \
    "${files[@]}")
rc=$?
set -e
# counts from this run's TAP; then it replaces $TAP in one step (rename), so a
# concurrent run writing the same path leaves one whole file, never a mix
pass='' fail='' skip=''
if [[ -f "$WORK/browser.tap" ]]; then
  pass=$(sed -n 's/^# pass \([0-9]\+\)$/\1/p' "$WORK/browser.tap" | tail -n1)
  fail=$(sed -n 's/^# fail \([0-9]\+\)$/\1/p' "$WORK/browser.tap" | tail -n1)
  skip=$(sed -n 's/^# skipped \([0-9]\+\)$/\1/p' "$WORK/browser.tap" | tail -n1)
  cp "$WORK/browser.tap" "$TAP.$$.tmp" && mv -f "$TAP.$$.tmp" "$TAP"
fi
printf 'browser tests: %d passed, %d failed, %d skipped (%ds); screenshots in tests/out/\n' \
  "${pass:-0}" "${fail:-0}" "${skip:-0}" "$((SECONDS - start))"
exit "$rc"
