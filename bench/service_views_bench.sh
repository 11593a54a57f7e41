#!/usr/bin/env bash
# The dashboard's service page and service map on a store of over a million spans: 50 services
# calling each other as a binary tree, 15 s pushes for 24 h, 4 spans per service per interval
# (mesh_bench_fill --calls: 1.15 million spans, 5.5 million metric samples, 576,000 log
# records). A meshd on the store answers GET /v1/services/{name}/dashboard and
# GET /v1/service-map; each is timed with curl (time to the last byte), median and max of RUNS
# runs (default 10). Target: < 100 ms per call.
# The peers, on the same file: the sqlite3 shell counting the window's spans by the start-time
# index (the least any window query reads), and running the map's edge join itself, grouped in
# SQL.
# On a shared machine wall times follow its load; meshd's CPU time per call (from
# /proc/PID/stat, 10 ms ticks summed over the runs) does not, and is printed beside them.
# Usage: bench/service_views_bench.sh BUILD_DIR [RUNS]   (STORE=path reuses a filled store)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
runs=${2:-10}
work=$(mktemp -d /tmp/service-views-bench-XXXXXX)
meshd_pid=""
cleanup() {
  if [ -n "$meshd_pid" ]; then kill "$meshd_pid" 2>/dev/null || true; wait "$meshd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
db=${STORE:-$work/mesh.db}
if [ -z "${STORE:-}" ]; then
  "$build/bench/mesh_bench_fill" --db "$db" --services 50 --hours 24 --interval 15s --end now \
    --spans-per-interval 4 --calls
fi

"$build/meshd" --listen 127.0.0.1:0 --db "$db" --retention 36500d 2>"$work/meshd.err" &
meshd_pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/meshd.err" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "meshd did not start:"; cat "$work/meshd.err"; exit 1; }

# meshd's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$meshd_pid/stat"; }
# Median and max of $runs answers of GET $1, in ms, and meshd's mean CPU ms per answer; the
# first (cold) answer is left out.
timed_get() {
  local before wall
  curl -sf -o /dev/null "$url$1"
  before=$(cpu_ticks)
  wall=$(for _ in $(seq 1 "$runs"); do curl -sf -o /dev/null -w '%{time_total}\n' "$url$1"; done |
    sort -n | awk '{a[NR]=$1*1000} END {printf "median_ms=%.1f max_ms=%.1f", a[int((NR+1)/2)], a[NR]}')
  echo "$wall meshd_cpu_ms=$(( ($(cpu_ticks) - before) * 1000 / $(getconf CLK_TCK) / runs ))"
}
# The same for a sqlite3 command line.
timed_sql() {
  local times=() start end
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    sqlite3 "$db" "$1" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median_ms=%.1f max_ms=%.1f\n", a[int((NR+1)/2)]/1000, a[NR]/1000}'
}

now_ns=$(( $(date +%s) * 1000000000 ))
echo "## service page and map on $(sqlite3 "$db" 'SELECT count(*) FROM spans') spans ($(nproc) cores)"
for w in 15m 1h 6h 24h; do
  case $w in 15m) s=900;; 1h) s=3600;; 6h) s=21600;; 24h) s=86400;; esac
  since=$(( now_ns - s * 1000000000 ))
  echo "window $w: $(sqlite3 "$db" "SELECT count(*) FROM spans WHERE start_ns >= $since") spans"
  echo "  GET /v1/services/svc-07/dashboard: $(timed_get "/v1/services/svc-07/dashboard?window=$w")"
  echo "  GET /v1/service-map:               $(timed_get "/v1/service-map?window=$w")"
  echo "  peer sqlite3 COUNT(*) of the window's spans: $(timed_sql "SELECT count(*) FROM spans WHERE start_ns >= $since")"
  echo "  peer sqlite3 edge join, grouped:             $(timed_sql "SELECT p.service, c.service, count(*), sum(c.status = 2) FROM spans c JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id WHERE c.start_ns >= $since AND c.parent_span_id IS NOT NULL AND p.service != c.service GROUP BY 1, 2")"
done
