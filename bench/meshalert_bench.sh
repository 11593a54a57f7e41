#!/usr/bin/env bash
# meshalert check on a day of data: 100 rules over 50 services (one instance each, 15 s pushes
# for 24 h: about 5.5 million metric samples, 576,000 spans and log records, filled by
# mesh_bench_fill through the library's write path). The 100 rules cover every signal kind
# (error rate, request rate, p50-p99 latency, log rate, stored metrics with each aggregate)
# over windows from 1 minute to 1 hour, each matching all 50 services: 5,000 alerts a round.
# Each command is timed from the shell as cron runs it (process start included), median and max
# of RUNS runs (default 10). Target: under 1 s.
#  1. check (text), check -o json; the first round (no state yet) and later ones
#  2. peer: the sqlite3 shell reading the rows the request-signal rules need, over the same
#     windows (index + table), with no evaluation at all
# Usage: bench/meshalert_bench.sh BUILD_DIR [RUNS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
runs=${2:-10}
work=$(mktemp -d /tmp/meshalert-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
db="$work/mesh.db"
"$build/bench/mesh_bench_fill" --db "$db" --services 50 --hours 24 --interval 15s --end now

# 100 rules, 20 of each family, windows cycling through 1m, 5m, 15m, 1h.
rules="$work/rules.json"
windows=(1m 5m 15m 1h)
{
  echo '{"rules":['
  for i in $(seq 0 99); do
    w=${windows[$((i % 4))]}
    case $((i / 20)) in
      0) body="\"signal\":\"error_rate\",\"op\":\">\",\"threshold\":$((1 + i % 10)),\"resolve_threshold\":0.5" ;;
      1) q=(50 90 95 99); body="\"signal\":\"latency_p${q[$((i % 4))]}\",\"op\":\">\",\"threshold\":$((100 + 20 * i))" ;;
      2) body="\"signal\":\"request_rate\",\"op\":\"<\",\"threshold\":$((i % 5))" ;;
      3) body="\"signal\":\"log_rate\",\"level\":\"error\",\"op\":\">\",\"threshold\":0.0$((i % 9 + 1))" ;;
      4) a=(avg min max sum); body="\"signal\":\"metric\",\"metric\":\"mesh_requests_in_flight\",\"aggregate\":\"${a[$((i % 4))]}\",\"op\":\">=\",\"threshold\":$((i % 7))" ;;
    esac
    [ "$i" -gt 0 ] && echo ','
    printf '{"name":"rule_%03d",%s,"window":"%s","for":"2m","severity":"%s"}' \
      "$i" "$body" "$w" "$([ $((i % 2)) -eq 0 ] && echo critical || echo warning)"
  done
  echo ']}'
} > "$rules"
"$build/meshalert" test --rules "$rules" | head -1

# Median and max wall time in ms of $runs runs of a command (output discarded; the plugin exit
# codes 1-3 are results, not failures).
timed() {
  local times=() start end
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$@" >/dev/null || [ $? -le 3 ]
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median_ms=%.1f max_ms=%.1f\n", a[int((NR+1)/2)]/1000, a[NR]/1000}'
}

cpu() {
  { /usr/bin/time -f "%U %S" "$@" >/dev/null || true; } 2>&1 | tail -1 | awk '{printf "cpu_s=%.2f\n", $1 + $2}'
}

now_ns=$(( $(date +%s) * 1000000000 ))
peer_rows=""
for w in 60 300 900 3600; do
  peer_rows+="SELECT count(*), sum(value) FROM metric_samples WHERE series_id IN (SELECT id FROM metric_series WHERE name IN ('mesh_requests_total', 'mesh_request_duration_seconds_bucket')) AND ts_ns > $(( now_ns - w * 1000000000 ));"
done

echo "## meshalert check: 100 rules x 50 services (5,000 alerts) on 24 h of data ($(nproc) cores)"
first_start=$(date +%s%N)
"$build/meshalert" --db "$db" check --rules "$rules" >/dev/null || [ $? -le 3 ]
echo "first check (no stored state):   wall_ms=$(( ($(date +%s%N) - first_start) / 1000000 ))"
echo "check (text):                    $(timed "$build/meshalert" --db "$db" check --rules "$rules")"
echo "  one run's CPU:                 $(cpu "$build/meshalert" --db "$db" check --rules "$rules")"
echo "check -o json:                   $(timed "$build/meshalert" --db "$db" check --rules "$rules" -o json)"
echo "check --rule rule_000 (50 alerts): $(timed "$build/meshalert" --db "$db" check --rules "$rules" --rule rule_000)"
echo "  peer sqlite3 reading the request signals' rows of the 4 windows: $(timed sqlite3 "$db" "$peer_rows")"
echo "alerts stored: $(sqlite3 "$db" 'SELECT count(*) FROM alert_states'), events: $(sqlite3 "$db" 'SELECT count(*) FROM alert_events')"
