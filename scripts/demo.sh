#!/usr/bin/env bash
# make demo: meshd with its embedded store, and three demo services each behind a meshproxy
# sidecar: frontend calls orders calls payments through their outbound proxies; payments fails
# a few percent of requests and has a slow tail. A traffic generator runs; the terminal shows
# where to look, a live line of golden signals, and a real trace. Runs until Ctrl-C on a
# terminal, DEMO_SECONDS (default 30) otherwise; every process it started is stopped.
set -euo pipefail
build=${1:-build}
bin=$(cd "$build" && pwd)
demo_dir=$(mktemp -d /tmp/mesh-demo-XXXXXX)
export MESH_DB="$demo_dir/mesh.db"
base=${DEMO_BASE_PORT:-19100}
meshd_port=$base
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "demo stopped; the store stays at $MESH_DB"
}
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $(seq "$base" $((base + 12))); do
  if port_busy "$p"; then echo "port $p is in use: set DEMO_BASE_PORT to a free range of 13 ports" >&2; exit 1; fi
done

wait_for() {  # file pattern what
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$3 did not start:" >&2; cat "$1" >&2; exit 1
}

"$bin/meshd" --listen "127.0.0.1:$meshd_port" --db "$MESH_DB" 2>"$demo_dir/meshd.log" &
pids+=($!)
wait_for "$demo_dir/meshd.log" "meshd listening" meshd
url="http://127.0.0.1:$meshd_port"
export MESH_SERVER=$url

# name, index, next service, extra service flags
start_service() {
  local name=$1 i=$2 next=$3; shift 3
  local svc=$((base + 1 + i)) in=$((base + 4 + i)) out=$((base + 7 + i)) admin=$((base + 10 + i))
  "$bin/mesh_demo_service" --name "$name" --port "$svc" --outbound "127.0.0.1:$out" \
    --meshd "$url" ${next:+--next "$next"} "$@" >"$demo_dir/$name.log" 2>&1 &
  pids+=($!)
  wait_for "$demo_dir/$name.log" "listening" "$name"
  "$bin/meshproxy" --service "$name" --service-port "$svc" --listen "127.0.0.1:$in" \
    --outbound "127.0.0.1:$out" --admin "127.0.0.1:$admin" --meshd "$url" --threads 1 \
    --app-metrics-path /metrics \
    2>"$demo_dir/$name-proxy.log" &
  pids+=($!)
  wait_for "$demo_dir/$name-proxy.log" "meshproxy listening" "meshproxy for $name"
}
start_service payments 2 "" --fail-percent 4 --slow-percent 5 --slow-ms 400
start_service orders 1 payments
start_service frontend 0 orders
front="http://127.0.0.1:$((base + 4))"

# Traffic: a few concurrent callers, each a keep-alive curl loop, through frontend's sidecar.
traffic() {
  while true; do curl -s -o /dev/null "$front/checkout?item=$RANDOM" || true; sleep 0.02; done
}
for _ in 1 2 3; do traffic & pids+=($!); done

# Wait until a request has crossed all three services.
for _ in $(seq 1 100); do
  answer=$(curl -s "$front/checkout" || true)
  [[ $answer == *payments* ]] && break
  sleep 0.1
done
# A trace that crossed all three services, once the sidecars (every 500 ms) and the services
# (every second) have shipped its 10 spans: per service a sidecar SERVER span and the app's
# SERVER span, plus the two outbound calls' app CLIENT and sidecar CLIENT spans.
trace=""
for _ in $(seq 1 50); do
  trace=$("$bin/meshtrace" list --service frontend --limit 50 -o json |
    sed -n 's/.*"trace_id":"\([0-9a-f]*\)".*"span_count":10,.*/\1/p' | head -1 || true)
  [ -n "$trace" ] && break
  sleep 0.2
done

cat <<MSG

mesh demo is running: meshd at $url, store $MESH_DB
  frontend:    curl -i $front/checkout         (through its sidecar; X-Trace-ID in the answer)
  dashboard:   $url/dashboard
  a trace:     MESH_SERVER=$url $bin/meshtrace show ${trace:0:12} --logs
  traces:      MESH_SERVER=$url $bin/meshtrace list --errors
               MESH_SERVER=$url $bin/meshtrace stats
  services:    curl -s $url/v1/services | jq .
  sidecars:    curl -s http://127.0.0.1:$((base + 10))/metrics    (frontend's admin port)
  app metrics: curl -s http://127.0.0.1:$((base + 1))/metrics     (frontend itself: RED metrics)
  prometheus:  curl -s $url/v1/prometheus/targets | jq .   (what share/mesh/prometheus.yml scrapes)
  logs:        MESH_SERVER=$url $bin/meshlog tail -f --level error
  report:      MESH_SERVER=$url $bin/meshstat report --since 5m     (or: meshstat top)
  alerts:      MESH_SERVER=$url $bin/meshalert check --rules share/mesh/rules.example.json
MSG
echo
# Spans of one request still on their way (a retry's, the services' second flush) land within
# two seconds.
[ -n "$trace" ] && sleep 2 && "$bin/meshtrace" show "$trace" --logs --width 110
echo

signals() {  # $1: the line ending
  local line="" values rps err p99
  for s in frontend orders payments; do
    values=$(curl -s "$url/v1/services/$s" |
      sed -n 's/.*"rps":\([0-9.e+-]*\),"error_percent":\([0-9.e+-]*\),.*"p99_ms":\([0-9.e+-]*\|null\).*/\1 \2 \3/p')
    read -r rps err p99 <<<"${values:-0 0 null}"
    [ "$p99" = null ] && p99=nan
    line+=$(LC_ALL=C printf '%s %.1f rps %.1f%% err p99 %.0f ms  |  ' "$s" "$rps" "$err" "$p99")
  done
  printf "%s$1" "$line"
}
if [ -t 0 ]; then
  echo "golden signals, live (Ctrl-C to stop):"
  while true; do signals '\r'; sleep 2; done
else
  end=$(( SECONDS + ${DEMO_SECONDS:-30} ))
  while (( SECONDS < end )); do signals '\n'; sleep 5; done
fi
