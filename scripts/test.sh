#!/usr/bin/env bash
# Run every test quire has. This is the README's test command and what CI runs.
#
#   1. scripts/setup.sh (installs what is missing)
#   2. release build in build/ (-Werror), ctest, interop suite against build/quire
#   3. ASan+UBSan build in build-asan/ (-Werror), ctest, interop suite against it
#   3b. browser tests: the built web editor in Debian's chromium against build/quire
#   4. if clang is present: libFuzzer build in build-fuzz/, each target 20 s
#
# Stops at the first failing step and says which. Ends with a summary of counts.
# Environment knobs (all optional):
#   QUIRE_TEST_JOBS=N        parallel build jobs (default: nproc)
#   QUIRE_FUZZ_SECONDS=N     seconds per fuzz target (default 20)
#   QUIRE_TEST_SKIP="asan fuzz browser"   skip stages (for quick local runs; CI never sets it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

JOBS="${QUIRE_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}"
FUZZ_SECONDS="${QUIRE_FUZZ_SECONDS:-20}"
SKIP=" ${QUIRE_TEST_SKIP:-} "
START=$SECONDS

declare -a SUMMARY=()
TOTAL_PASS=0
TOTAL_FAIL=0
STEP="(start)"

note() { SUMMARY+=("$(printf '%-34s %s' "$1" "$2")"); }
print_summary() {
  printf '\n==== quire test summary (%ds) ====\n' "$((SECONDS - START))"
  local line
  for line in "${SUMMARY[@]}"; do printf '  %s\n' "$line"; done
}
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    note "$STEP" "FAILED (exit $rc)"
    print_summary
    printf '\ntest.sh: FAILED at step: %s\n' "$STEP" >&2
    printf 'total: %d passed, %d failed\n' "$TOTAL_PASS" "$((TOTAL_FAIL > 0 ? TOTAL_FAIL : 1))"
  fi
}
trap on_exit EXIT

step() { STEP="$1"; printf '\n==== %s ====\n' "$1"; }
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

# ctest: run, then add its counts to the totals. ctest prints
# "N% tests passed, F tests failed out of T" (or "No tests were found").
run_ctest() {
  local dir="$1" label="$2" log="$1/ctest.log"
  set +e
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local total failed
  total=$(sed -n 's/.*tests failed out of \([0-9]\+\).*/\1/p' "$log" | tail -n1)
  failed=$(sed -n 's/.* \([0-9]\+\) tests failed out of.*/\1/p' "$log" | tail -n1)
  total=${total:-0}; failed=${failed:-0}
  TOTAL_PASS=$((TOTAL_PASS + total - failed)); TOTAL_FAIL=$((TOTAL_FAIL + failed))
  note "$label" "$((total - failed)) passed, $failed failed"
  if ((rc != 0)); then TOTAL_FAIL=$((TOTAL_FAIL > 0 ? TOTAL_FAIL : 1)); return "$rc"; fi
}

# interop: node's test runner, spec output to the terminal, TAP to a file for counting.
run_interop() {
  local bin="$1" label="$2" tap
  tap="$(cd "$(dirname "$bin")" && pwd)/interop.tap"
  [[ -x "$bin" ]] || { echo "test.sh: $bin was not built" >&2; return 1; }
  set +e
  (cd tests/interop && QUIRE_BIN="$bin" node --test \
      --test-concurrency=1 --test-timeout=180000 \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$tap" \
      ./*.test.mjs)
  local rc=$?
  set -e
  local pass fail
  pass=$(sed -n 's/^# pass \([0-9]\+\)$/\1/p' "$tap" | tail -n1)
  fail=$(sed -n 's/^# fail \([0-9]\+\)$/\1/p' "$tap" | tail -n1)
  pass=${pass:-0}; fail=${fail:-0}
  TOTAL_PASS=$((TOTAL_PASS + pass)); TOTAL_FAIL=$((TOTAL_FAIL + fail))
  note "$label" "$pass passed, $fail failed"
  if ((rc != 0)); then TOTAL_FAIL=$((TOTAL_FAIL > 0 ? TOTAL_FAIL : 1)); return "$rc"; fi
}

# browser: scripts/test-browser.sh (chromium + playwright-core), TAP for counting.
run_browser() {
  local bin="$1" label="$2" tap
  tap="$(cd "$(dirname "$bin")" && pwd)/browser.tap"; rm -f "$tap"
  set +e
  QUIRE_BIN="$bin" QUIRE_BROWSER_TAP="$tap" scripts/test-browser.sh
  local rc=$?
  set -e
  local pass=0 fail=0
  if [[ -f "$tap" ]]; then
    pass=$(sed -n 's/^# pass \([0-9]\+\)$/\1/p' "$tap" | tail -n1)
    fail=$(sed -n 's/^# fail \([0-9]\+\)$/\1/p' "$tap" | tail -n1)
  fi
  pass=${pass:-0}; fail=${fail:-0}
  TOTAL_PASS=$((TOTAL_PASS + pass)); TOTAL_FAIL=$((TOTAL_FAIL + fail))
  note "$label" "$pass passed, $fail failed"
  if ((rc != 0)); then TOTAL_FAIL=$((TOTAL_FAIL > 0 ? TOTAL_FAIL : 1)); return "$rc"; fi
}

build() {
  local dir="$1"; shift
  cmake -S . -B "$dir" -DQUIRE_WERROR=ON "$@"
  cmake --build "$dir" -j "$JOBS"
}

# ---------------------------------------------------------------------------
step "setup"
scripts/setup.sh

step "release build (build/)"
build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIRE_SANITIZE=OFF -DQUIRE_FUZZ=OFF
note "release build" "ok"

step "release unit tests (ctest build/)"
run_ctest build "release ctest"

step "release interop (build/quire)"
run_interop "$ROOT/build/quire" "release interop"

if skipped browser; then
  note "browser" "skipped (QUIRE_TEST_SKIP)"
else
  step "release browser tests (build/quire, chromium)"
  run_browser "$ROOT/build/quire" "release browser"
fi

# ---------------------------------------------------------------------------
if skipped asan; then
  note "asan" "skipped (QUIRE_TEST_SKIP)"
else
  step "asan build (build-asan/)"
  build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIRE_SANITIZE=ON -DQUIRE_FUZZ=OFF
  note "asan build" "ok"

  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp"

  step "asan unit tests (ctest build-asan/)"
  run_ctest build-asan "asan ctest"

  step "asan interop (build-asan/quire)"
  run_interop "$ROOT/build-asan/quire" "asan interop"
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

# ---------------------------------------------------------------------------
if skipped fuzz; then
  note "fuzz" "skipped (QUIRE_TEST_SKIP)"
elif ! command -v clang >/dev/null 2>&1; then
  note "fuzz" "skipped (clang not installed)"
  echo "test.sh: clang not found, skipping fuzz targets" >&2
elif [[ ! -f tests/fuzz/CMakeLists.txt ]]; then
  note "fuzz" "skipped (no tests/fuzz/CMakeLists.txt yet)"
else
  step "fuzz build (build-fuzz/, clang)"
  CC=clang build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQUIRE_FUZZ=ON
  note "fuzz build" "ok"

  mapfile -t targets < <(find build-fuzz/tests/fuzz -maxdepth 2 -type f -executable \
                           ! -path '*/CMakeFiles/*' 2>/dev/null | sort)
  fpass=0
  for t in "${targets[@]}"; do
    name="$(basename "$t")"
    step "fuzz $name (${FUZZ_SECONDS}s)"
    work="build-fuzz/fuzz-work/$name"
    rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
    corpus=()
    for c in "tests/fuzz/corpus/$name" "tests/fuzz/corpus/${name#fuzz_}"; do
      [[ -d "$c" ]] && { corpus+=("$c"); break; }
    done
    # New inputs go to the scratch dir (first), never into the committed corpus.
    # One allocation past 64 MB for an input of a few KB is a finding
    # (reliability.md's fuzz settings; its 512 MB RSS cap is too low for an
    # ASan build holding the corpus: fuzz_proto peaked at 516 MB).
    set +e
    "$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 \
         -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
         "$work/corpus" "${corpus[@]}" 2>&1 | tail -n 25
    rc=${PIPESTATUS[0]}
    set -e
    if ((rc != 0)); then
      TOTAL_FAIL=$((TOTAL_FAIL + 1))
      echo "test.sh: fuzz target $name found a problem (exit $rc); inputs in $work/artifacts/" >&2
      exit "$rc"
    fi
    fpass=$((fpass + 1)); TOTAL_PASS=$((TOTAL_PASS + 1))
  done
  note "fuzz targets (${FUZZ_SECONDS}s each)" "$fpass passed, 0 failed"
fi

STEP="(done)"
print_summary
printf '\nall tests passed\n'
printf 'total: %d passed, %d failed\n' "$TOTAL_PASS" "$TOTAL_FAIL"
