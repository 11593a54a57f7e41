#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan) and runs each one from its
# seed corpus fuzz/corpus/<target> with its dictionary fuzz/<target>.dict, JOBS (default: the
# number of cores) targets at a time.
#
#   scripts/fuzz.sh [BUILD_DIR]           make fuzz: FUZZ_SECONDS (default 60) per target; new
#                                         inputs go to BUILD_DIR/corpus/<target>, kept between
#                                         runs and never written into the repository
#   scripts/fuzz.sh --smoke [BUILD_DIR]   make fuzz-smoke: every seed, then FUZZ_SMOKE_SECONDS
#                                         (default 2) of mutation per target, from a fresh
#                                         scratch corpus so that CI runs do not drift
#   scripts/fuzz.sh --smoke --no-build BUILD_DIR TARGET...
#                                         the same for the named targets of an existing build:
#                                         make test's ctest tests (label fuzz), whose build
#                                         builds BUILD_DIR
#
# Fails when a target crashes, leaks, hangs past -timeout, runs out of memory or breaks one of
# its invariants, naming the input libFuzzer saved under BUILD_DIR/crashes/<target>/. Replay
# one with `BUILD_DIR/<target>_fuzzer <file>`; see docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=false
build_it=true
if [ "${1:-}" = "--smoke" ]; then
  smoke=true
  shift
fi
if [ "${1:-}" = "--no-build" ]; then
  build_it=false
  shift
fi
build=${1:-build-fuzz}
[ $# -gt 0 ] && shift
targets=(traceparent duration otlp otlp_proto prometheus_text alert_rules log_line log_filter level_counts json zipkin http_request gzip security api_json text_output)  # MESH_FUZZ_TARGETS
if [ $# -gt 0 ]; then
  targets=("$@")
fi

if $build_it; then
  if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz: clang++ is missing (scripts/install-deps.sh installs clang and libclang-rt-14-dev)" >&2
    exit 1
  fi
  cmake -S fuzz -B "$build" -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  if ! cmake --build "$build" -j "${JOBS:-$(nproc)}" >"$build/build.log" 2>&1; then
    cat "$build/build.log" >&2
    echo "fuzz: the fuzz targets did not build" >&2
    exit 1
  fi
fi
for t in "${targets[@]}"; do
  if [ ! -x "$build/${t}_fuzzer" ]; then
    echo "fuzz: $build/${t}_fuzzer is missing" >&2
    exit 1
  fi
done

if $smoke; then
  seconds=${FUZZ_SMOKE_SECONDS:-2}
  per_input_timeout=5
else
  seconds=${FUZZ_SECONDS:-60}
  per_input_timeout=10
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# Runs one target; prints one line, or the end of its log and the saved input when it fails.
run_target() {
  local t=$1 corpus="$build/corpus/$1" crashes="$build/crashes/$1" log="$build/logs/$1.log"
  if $smoke; then
    corpus="$build/smoke-corpus/$t"
    rm -rf "$corpus"
  fi
  rm -f "$log.failed"
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  # The first corpus directory receives new inputs; the seeds are only read. -max_total_time
  # bounds the run and -timeout each input; the outer timeout is for libFuzzer itself.
  local status=0
  timeout --kill-after=10 $((seconds + 120)) "$build/${t}_fuzzer" \
    -max_total_time="$seconds" -timeout="$per_input_timeout" -rss_limit_mb=2048 \
    -dict="fuzz/$t.dict" -artifact_prefix="$crashes/" -print_final_stats=1 \
    "$corpus" "fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    # "#1234 DONE cov: 310 ft: 900 corp: 95/2Kb ..." and "stat::average_exec_per_sec: 31000".
    local summary rate
    summary=$(awk '/^#[0-9]+[[:space:]]+DONE/ {print $1, "runs,", $3, $4, $5, $6, $7, $8}' "$log" | tail -1)
    rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")
    echo "fuzz: $t: ok in ${seconds}s: ${summary:-?}, ${rate:-?} exec/s"
    return
  fi
  touch "$log.failed"
  {
    echo "fuzz: $t: FAILED (exit $status); the end of $log:"
    grep -v '^\(#[0-9]\|INFO:\|stat::\)' "$log" | tail -40
    grep -o 'Test unit written to .*' "$log" | sed 's/^/fuzz: /' || true
  } >&2
}

# One target per core at a time: each fuzzer is single-threaded.
parallel=${JOBS:-$(nproc)}
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true  # run_target reports its own failure
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait || true

failed=()
for t in "${targets[@]}"; do
  if [ -e "$build/logs/$t.log.failed" ]; then failed+=("$t"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed: replay the saved input with $build/<target>_fuzzer <file>," \
    "fix the parser, add a unit test and keep the input in fuzz/corpus/<target>/" >&2
  exit 1
fi
