#!/usr/bin/env bash
# meshstat report on a day of data: 50 services, one instance each, 15 s pushes for 24 h (about
# 5.5 million metric samples, 576,000 spans, 576,000 log records, filled by mesh_bench_fill
# through the library's write path). Each command is timed from the shell as a user runs it
# (process start included), median and max of RUNS runs (default 10). Target: `meshstat report
# --since 24h` under 1 s.
#  1. report --since 24h (table), --format csv, --format json; --since 1h; one service over 24h
#  2. peers: the sqlite3 shell counting the window's samples (index only), and reading the very
#     rows the golden signals need (request counters and buckets: index + table)
# Usage: bench/meshstat_bench.sh BUILD_DIR [RUNS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
runs=${2:-10}
work=$(mktemp -d /tmp/meshstat-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
db="$work/mesh.db"
"$build/bench/mesh_bench_fill" --db "$db" --services 50 --hours 24 --interval 15s --end now

# Median and max wall time in ms of $runs runs of a command (output discarded).
timed() {
  local times=() start end
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median_ms=%.1f max_ms=%.1f\n", a[int((NR+1)/2)]/1000, a[NR]/1000}'
}

# CPU seconds (user + system) of one run: what the machine's other load cannot inflate.
cpu() {
  /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | awk '{printf "cpu_s=%.2f\n", $1 + $2}'
}

since_ns=$(( $(date +%s) * 1000000000 - 86400 * 1000000000 ))
signal_rows="SELECT count(*), sum(value) FROM metric_samples WHERE series_id IN (SELECT id FROM metric_series WHERE name IN ('mesh_requests_total', 'mesh_request_duration_seconds_bucket')) AND ts_ns >= $since_ns"

echo "## meshstat on 50 services x 24 h ($(nproc) cores)"
echo "samples in the window: $(sqlite3 "$db" "SELECT count(*) FROM metric_samples WHERE ts_ns >= $since_ns")"
echo "report --since 24h (table):           $(timed "$build/meshstat" --db "$db" report --since 24h)"
echo "  one run's CPU:                      $(cpu "$build/meshstat" --db "$db" report --since 24h)"
echo "report --since 24h --format csv:      $(timed "$build/meshstat" --db "$db" report --since 24h --format csv)"
echo "report --since 24h --format json:     $(timed "$build/meshstat" --db "$db" report --since 24h --format json)"
echo "report --since 1h:                    $(timed "$build/meshstat" --db "$db" report --since 1h)"
echo "report --since 24h -s svc-07:         $(timed "$build/meshstat" --db "$db" report --since 24h -s svc-07)"
echo "  peer sqlite3 COUNT(*) of the window's samples: $(timed sqlite3 "$db" "SELECT count(*) FROM metric_samples WHERE ts_ns >= $since_ns")"
echo "  peer sqlite3 reading the signals' rows:        $(timed sqlite3 "$db" "$signal_rows")"
