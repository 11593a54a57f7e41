#!/usr/bin/env bash
# run.sh: all of mesh's benchmarks, as `make bench` runs them.
#
#   bench/run.sh [BUILD_DIR] [N]     (defaults: build, $BENCH_N or 5000000)
#
# 1. the Google Benchmark micro-benchmarks of the hot pure functions (BUILD_DIR/bench/mesh_bench),
#    3 repetitions, median/mean/stddev reported (MESH_BENCH_ARGS replaces those flags);
# 2. bench/meshlog_bench.sh: meshlog against sqlite3 .import, jq and grep on N log lines;
# 3. bench/meshd_bench.sh: meshd span ingest (OTLP JSON and protobuf, into an empty store and one
#    of a million spans) against raw SQLite inserts, trace lookups;
# 4. bench/meshtrace_bench.sh: meshtrace show/list on a million spans, a 10,000-span trace;
# 5. bench/proxy_bench.sh: meshproxy against nginx and haproxy in front of one upstream (wrk).
# 6. bench/meshstat_bench.sh: meshstat report over 50 services x 24 h of 15 s samples.
# 7. bench/meshalert_bench.sh: meshalert check, 100 rules over a day of 50 services' data;
# 8. bench/mtls_bench.sh: two meshproxy sidecars over mTLS against plaintext, through meshd (wrk, openssl).
# 9. bench/controlplane_load.sh: 1,000 simulated sidecars against meshd, steady and across a kill -9.
# 10. bench/meshlog_formats_bench.sh: meshlog ingest's text-format detection against -f text.
# 11. bench/service_views_bench.sh: the dashboard's service page and map API on 1.15 million spans.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
n=${2:-${BENCH_N:-5000000}}

if [ ! -x "$build/bench/mesh_bench" ]; then
  echo "bench/run.sh: $build/bench/mesh_bench not found: Google Benchmark was not found when" \
       "$build was configured (install libbenchmark-dev, then re-run make build)" >&2
  exit 2
fi
echo "## Micro-benchmarks ($build/bench/mesh_bench)"
echo
echo '```'
# shellcheck disable=SC2086  # MESH_BENCH_ARGS is a list of flags
"$build/bench/mesh_bench" ${MESH_BENCH_ARGS:---benchmark_repetitions=3 --benchmark_report_aggregates_only=true}
echo '```'
echo
"$here/meshlog_bench.sh" "$build" "$n"
echo
"$here/meshlog_formats_bench.sh" "$build" 1000000
echo
"$here/meshd_bench.sh" "$build"
echo
"$here/meshtrace_bench.sh" "$build"
echo
"$here/proxy_bench.sh" "$build"
echo
"$here/meshstat_bench.sh" "$build"
echo
"$here/meshalert_bench.sh" "$build"
echo
"$here/mtls_bench.sh" "$build"
echo
"$here/controlplane_load.sh" "$build"
echo
"$here/service_views_bench.sh" "$build"
