#!/usr/bin/env bash
# make flaky-check: runs the suites that start servers and wait on them (ctest labels
# integration, reliability and interop) FLAKY_RUNS times while a CPU load keeps every core busy,
# as a loaded CI runner or `make test`'s parallelism does, and reports how often each test
# failed. A test that passes alone but fails here waits on time instead of on an event, or races
# another suite for a port. Exits 1 when any test failed in any run; the load it started is
# stopped however the script ends.
#
#   scripts/flaky-check.sh BUILD_DIR
#     FLAKY_RUNS    runs of the selection (default 10)
#     FLAKY_LABELS  ctest -L regex (default 'integration|reliability|interop'; 'unit' counts per shard)
#     FLAKY_REGEX   ctest -R regex, to narrow the selection (default: none)
#     FLAKY_LOAD    busy workers (default nproc): stress-ng --cpu, else shell busy loops
#     FLAKY_JOBS    ctest -j (default 2 x nproc, as make test)
#
# Each run's ctest output is kept in BUILD_DIR/flaky-check/run-N.log.
set -euo pipefail
build=${1:-build}
runs=${FLAKY_RUNS:-10}
labels=${FLAKY_LABELS:-integration|reliability|interop}
regex=${FLAKY_REGEX:-}
load=${FLAKY_LOAD:-$(nproc)}
jobs=${FLAKY_JOBS:-$(( $(nproc) * 2 ))}

[ -f "$build/CTestTestfile.cmake" ] || { echo "flaky-check: no ctest tree in $build (make build first)" >&2; exit 2; }
logs="$build/flaky-check"
rm -rf "$logs"
mkdir -p "$logs"

load_pids=()
stop_load() {
  local pid
  for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  load_pids=()
}
trap stop_load EXIT
trap 'exit 130' INT TERM

if command -v stress-ng >/dev/null 2>&1; then
  # stress-ng stops its workers when it gets SIGTERM.
  stress-ng --cpu "$load" --quiet &
  load_pids+=($!)
  loader="stress-ng --cpu $load"
else
  for _ in $(seq "$load"); do
    bash -c 'while :; do :; done' &
    load_pids+=($!)
  done
  loader="$load shell busy loops (stress-ng not installed: scripts/install-deps.sh)"
fi
echo "flaky-check: $runs run(s) of ctest -L '$labels'${regex:+ -R '$regex'} -j $jobs under $loader" >&2

declare -A failed=()
selected=0
for run in $(seq "$runs"); do
  log="$logs/run-$run.log"
  args=(-L "$labels" -j "$jobs" --timeout 300 --output-on-failure)
  [ -n "$regex" ] && args+=(-R "$regex")
  status=0
  (cd "$build" && ctest "${args[@]}") >"$log" 2>&1 || status=$?
  # "N% tests passed, F tests failed out of T"; no summary means ctest itself failed.
  summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" || true)
  if [ -z "$summary" ]; then
    echo "flaky-check: run $run: ctest ended without a summary (exit $status), see $log" >&2
    exit 2
  fi
  selected=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
  [ "$selected" -gt 0 ] || { echo "flaky-check: no test matches the selection" >&2; exit 2; }
  # The list after "The following tests FAILED:", one "  12 - Suite.Test (Failed)" per line.
  while read -r name; do
    [ -n "$name" ] && failed[$name]=$(( ${failed[$name]:-0} + 1 ))
  done < <(sed -n '/The following tests FAILED:/,$p' "$log" |
           sed -nE 's/^[[:space:]]*[0-9]+ - (.+) \([^()]*\)[[:space:]]*$/\1/p')
  echo "flaky-check: run $run/$runs: $summary" >&2
done
stop_load

echo "flaky-check: $selected test(s), $runs run(s) each, under load"
if [ ${#failed[@]} -eq 0 ]; then
  echo "flaky-check: no failures"
  exit 0
fi
echo "failures  test"
for name in "${!failed[@]}"; do
  printf '%4d/%-4d %s\n' "${failed[$name]}" "$runs" "$name"
done | sort -rn
exit 1
