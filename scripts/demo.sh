#!/usr/bin/env bash
# make demo: meshd with its embedded store, and three demo services each behind a meshproxy
# sidecar: frontend calls orders calls payments through their outbound proxies; payments fails
# a few percent of requests and has a slow tail. A traffic generator runs; the terminal shows
# where to look, a live line of golden signals, and a real trace. Runs until Ctrl-C on a
# terminal, DEMO_SECONDS (default 30) otherwise; every process it started is stopped.
set -euo pipefail
build=${1:-build}
demo_dir=$(mktemp -d /tmp/mesh-demo-XXXXXX)
base=${DEMO_BASE_PORT:-19100}
# shellcheck source=scripts/mesh-stack.sh
. "$(dirname "$0")/mesh-stack.sh"
trap 'stack_stop; echo "demo stopped; the store stays at $MESH_DB"' EXIT
stack_start "$build" "$demo_dir" "$base"

# Traffic: a few concurrent callers, each a keep-alive curl loop, through frontend's sidecar.
traffic() {
  while true; do curl -s -o /dev/null "$front/checkout?item=$RANDOM" || true; sleep 0.02; done
}
for _ in 1 2 3; do traffic & pids+=($!); done

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
  alerts:      MESH_SERVER=$url $bin/meshalert check    (the built-in rules; meshalert list shows them)
  mTLS:        the sidecars' certificates: openssl x509 -noout -text -in $demo_dir/orders/cert.pem
  policy:      curl -s $url/v1/policy | jq .    (share/mesh/policy.example.json)
  a denied call, payments -> orders:  curl -s -H 'Host: orders' http://127.0.0.1:$((base + 9))/
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
