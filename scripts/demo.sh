#!/usr/bin/env bash
# make demo: meshd with its embedded store, three demo services' telemetry (OTLP traces and
# logs, Prometheus metric pushes, registry heartbeats) flowing in live, then where to look.
# meshproxy sidecars will generate this traffic from real requests once they exist; until
# then a small loop plays the services. Runs until Ctrl-C on a terminal, DEMO_SECONDS
# (default 30) otherwise.
set -euo pipefail
build=${1:-build}
bin=$(cd "$build" && pwd)
demo_dir=$(mktemp -d /tmp/mesh-demo-XXXXXX)
export MESH_DB="$demo_dir/mesh.db"
port=${DEMO_PORT:-9000}
if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then :; else port=0; fi

"$bin/meshd" --listen "127.0.0.1:$port" --db "$MESH_DB" 2>"$demo_dir/meshd.log" &
meshd_pid=$!
cleanup() {
  kill "$meshd_pid" 2>/dev/null && wait "$meshd_pid" 2>/dev/null
  echo "demo stopped; the store stays at $MESH_DB"
}
trap cleanup EXIT
url=""
for _ in $(seq 1 50); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$demo_dir/meshd.log" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "meshd did not start:"; cat "$demo_dir/meshd.log"; exit 1; }
export MESH_SERVER=$url

hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
now_ns() { date +%s%N; }
post() { curl -sf -o /dev/null -XPOST "$url$1" -H 'Content-Type: application/json' --data-binary @-; }

for svc in api:8080 checkout:8081 payments:8082; do
  printf '{"service":"%s","host":"127.0.0.1","port":%s,"meta":{"version":"1.0.0"}}' "${svc%%:*}" "${svc##*:}" | post /v1/register
done

declare -A ok err hist_fast hist_mid hist_all
tick=0
last_trace=""
traffic() {
  tick=$((tick + 1))
  local trace root child grand start d1 d2 d3 status=1 code=200
  trace=$(hex 16); root=$(hex 8); child=$(hex 8); grand=$(hex 8)
  start=$(now_ns)
  d1=$(( (RANDOM % 40 + 20) * 1000000 )); d2=$(( d1 * 6 / 10 )); d3=$(( d2 / 2 ))
  if (( RANDOM % 12 == 0 )); then status=2; code=500; d3=$(( d3 * 8 )); d2=$(( d3 + 5000000 )); d1=$(( d2 + 5000000 )); fi
  span() { # service span parent name kind start dur status
    printf '{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"%s"}}]},"scopeSpans":[{"scope":{"name":"demo"},"spans":[{"traceId":"%s","spanId":"%s","parentSpanId":"%s","name":"%s","kind":%s,"startTimeUnixNano":"%s","endTimeUnixNano":"%s","attributes":[{"key":"http.status_code","value":{"intValue":"%s"}}],"status":{"code":%s}}]}]}' \
      "$1" "$trace" "$2" "$3" "$4" "$5" "$6" "$(( $6 + $7 ))" "$code" "$8"
  }
  printf '{"resourceSpans":[%s,%s,%s]}' \
    "$(span api "$root" "" "GET /orders" 2 "$start" "$d1" "$status")" \
    "$(span checkout "$child" "$root" "POST /checkout" 2 "$(( start + 2000000 ))" "$d2" "$status")" \
    "$(span payments "$grand" "$child" "charge card" 3 "$(( start + 4000000 ))" "$d3" "$status")" | post /v1/traces
  local level=9 msg="order served"
  if (( status == 2 )); then level=17; msg="payment gateway timeout"; fi
  printf '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"%s","severityNumber":%s,"body":{"stringValue":"%s"},"traceId":"%s","spanId":"%s","attributes":[{"key":"amount","value":{"doubleValue":19.99}}]}]}]}]}' \
    "$(now_ns)" "$level" "$msg" "$trace" "$grand" | post /v1/logs
  for svc in api checkout payments; do
    if (( status == 2 )); then err[$svc]=$(( ${err[$svc]:-0} + 1 )); else ok[$svc]=$(( ${ok[$svc]:-0} + 1 )); fi
    local ms=$(( d1 / 1000000 ))
    (( ms <= 50 )) && hist_fast[$svc]=$(( ${hist_fast[$svc]:-0} + 1 ))
    (( ms <= 250 )) && hist_mid[$svc]=$(( ${hist_mid[$svc]:-0} + 1 ))
    hist_all[$svc]=$(( ${hist_all[$svc]:-0} + 1 ))
    printf '# TYPE mesh_requests_total counter\nmesh_requests_total{code="200"} %s\nmesh_requests_total{code="500"} %s\n# TYPE mesh_request_duration_seconds histogram\nmesh_request_duration_seconds_bucket{le="0.05"} %s\nmesh_request_duration_seconds_bucket{le="0.25"} %s\nmesh_request_duration_seconds_bucket{le="+Inf"} %s\nmesh_request_duration_seconds_sum 0\nmesh_request_duration_seconds_count %s\n' \
      "${ok[$svc]:-0}" "${err[$svc]:-0}" "${hist_fast[$svc]:-0}" "${hist_mid[$svc]:-0}" "${hist_all[$svc]}" "${hist_all[$svc]}" |
      curl -sf -o /dev/null -XPOST "$url/v1/metrics?service=$svc&instance=127.0.0.1" --data-binary @-
    curl -sf -o /dev/null -XPOST "$url/v1/instances/$svc@127.0.0.1:$(case $svc in api) echo 8080;; checkout) echo 8081;; *) echo 8082;; esac)/heartbeat"
  done
  last_trace=$trace
}

for _ in $(seq 1 20); do traffic; done
cat <<MSG

mesh demo is running: meshd at $url, store $MESH_DB
  dashboard:   $url/dashboard
  a trace:     $url/dashboard/traces/$last_trace
               MESH_SERVER=$url $bin/meshtrace show ${last_trace:0:8} --logs
  traces:      MESH_SERVER=$url $bin/meshtrace list --errors
               MESH_SERVER=$url $bin/meshtrace stats
  services:    curl -s $url/v1/services | jq .
  metrics:     curl -s $url/metrics
  logs:        MESH_SERVER=$url $bin/meshlog tail -f --level error
               MESH_SERVER=$url $bin/meshlog query 'payment*' -o pretty
MSG
echo
"$bin/meshtrace" show "$last_trace" --logs
echo
"$bin/meshlog" tail -n 3 -o pretty
if [ -t 0 ]; then
  echo; echo "live traffic continues; Ctrl-C to stop"
  while true; do traffic; sleep 0.5; done
else
  end=$(( SECONDS + ${DEMO_SECONDS:-30} ))
  while (( SECONDS < end )); do traffic; sleep 0.5; done
fi
