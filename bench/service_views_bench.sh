#!/usr/bin/env bash
# The dashboard's API calls on a store of over a million spans: 50 services calling each other
# as a binary tree, 15 s pushes for 24 h, 4 spans per service per interval (mesh_bench_fill
# --calls: 1.15 million spans, 5.5 million metric samples, 576,000 log records). A meshd on the
# store answers, for each window the dashboard offers (15m, 1h, 6h, 24h, 7d; the store holds 24 h,
# so 7d reads the same spans as 24h):
#   GET /v1/services/{name}/dashboard, GET /v1/service-map, GET /v1/services/{name}/saturation,
#   and the trace explorer's GET /v1/traces searches (service; + operation; + min_duration;
#   + errors=true; + attr=key=value; limit 20).
# Each is timed with curl (time to the last byte), median and max of RUNS runs (default 10).
# Target: < 100 ms per call.
# meshd rolls spans up into per-minute and per-hour buckets in the background (span_rollup.h);
# the script waits until it has caught up (rolled_through_id = max(spans.id)) and says how long
# that took. MESHD=path runs another meshd build (one without roll-ups: the wait is skipped).
# The peers, on the same file: the sqlite3 shell counting the window's spans by the start-time
# index (the least a raw window query reads), running the map's edge join itself, grouped in
# SQL, summing the window's roll-up rows of the edges (the least the map reads now), and the
# newest 20 trace ids of the service in the window.
# On a shared machine wall times follow its load; meshd's CPU time per call (from
# /proc/PID/stat, 10 ms ticks summed over the runs) does not, and is printed beside them.
# Usage: bench/service_views_bench.sh BUILD_DIR [RUNS]   (STORE=path reuses a filled store;
# PEER_JOIN=0 leaves out the raw edge join peer, which takes half a minute a run at 24 h)
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

"${MESHD:-$build/meshd}" --listen 127.0.0.1:0 --db "$db" --retention 36500d 2>"$work/meshd.err" &
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

# The roll-up's catch-up, when this meshd has one (the schema is migrated once meshd is up).
if sqlite3 "$db" "SELECT 1 FROM sqlite_master WHERE name = 'span_rollup_state'" | grep -q 1; then
  start=$(date +%s)
  deadline=$(( start + 1800 ))
  until [ "$(sqlite3 "$db" "SELECT (SELECT rolled_through_id FROM span_rollup_state) >= (SELECT max(id) FROM spans)")" = 1 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the roll-up did not catch up in 1800 s"; exit 1; }
    sleep 2
  done
  echo "roll-up caught up $(( $(date +%s) - start )) s after meshd started"
fi

now_ns=$(( $(date +%s) * 1000000000 ))
svc=svc-07
echo "## dashboard APIs on $(sqlite3 "$db" 'SELECT count(*) FROM spans') spans ($(nproc) cores)"
for w in 15m 1h 6h 24h 7d; do
  case $w in 15m) s=900;; 1h) s=3600;; 6h) s=21600;; 24h) s=86400;; 7d) s=604800;; esac
  since=$(( now_ns - s * 1000000000 ))
  echo "window $w: $(sqlite3 "$db" "SELECT count(*) FROM spans WHERE start_ns >= $since") spans"
  echo "  GET /v1/services/$svc/dashboard:  $(timed_get "/v1/services/$svc/dashboard?window=$w")"
  echo "  GET /v1/service-map:                $(timed_get "/v1/service-map?window=$w")"
  echo "  GET /v1/services/$svc/saturation: $(timed_get "/v1/services/$svc/saturation?window=$w")"
  q="/v1/traces?service=$svc&since=$w&limit=20"
  echo "  GET /v1/traces service:             $(timed_get "$q")"
  echo "  GET /v1/traces + operation:         $(timed_get "$q&operation=GET%20/search")"
  echo "  GET /v1/traces + min_duration=1s:   $(timed_get "$q&min_duration=1s")"
  echo "  GET /v1/traces + errors=true:       $(timed_get "$q&errors=true")"
  echo "  GET /v1/traces + attr:              $(timed_get "$q&attr=http.status_code=500")"
  echo "  GET /v1/traces + attr, no match:    $(timed_get "$q&attr=http.status_code=503")"
  echo "  peer sqlite3 COUNT(*) of the window's spans: $(timed_sql "SELECT count(*) FROM spans WHERE start_ns >= $since")"
  [ "${PEER_JOIN:-1}" = 0 ] || echo "  peer sqlite3 edge join, grouped:             $(timed_sql "SELECT p.service, c.service, count(*), sum(c.status = 2) FROM spans c JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id WHERE c.start_ns >= $since AND c.parent_span_id IS NOT NULL AND p.service != c.service GROUP BY 1, 2")"
  if sqlite3 "$db" "SELECT 1 FROM sqlite_master WHERE name = 'span_rollup_edges'" | grep -q 1; then
    echo "  peer sqlite3 roll-up edge rows, grouped:     $(timed_sql "SELECT caller, callee, sum(count), sum(errors) FROM span_rollup_edges WHERE width_s = 3600 AND start_ns >= $since GROUP BY 1, 2")"
  fi
  echo "  peer sqlite3 newest 20 traces of $svc:    $(timed_sql "SELECT DISTINCT trace_id FROM spans WHERE service = '$svc' AND start_ns >= $since ORDER BY start_ns DESC LIMIT 20")"
done
