#!/usr/bin/env bash
# make soak: a long run of the demo mesh (scripts/mesh-stack.sh: meshd, frontend -> orders ->
# payments behind meshproxy sidecars, payments failing 4 % with a slow tail) at about half of
# its measured capacity, meshd ingesting every span, log and metric, then a leak probe. Every
# 10 s it samples the RSS and open file descriptors of meshd and each sidecar, and the
# frontend's p50/p99 from meshd. It fails when any process's RSS grew by more than 10 % from
# the sample at a third of the run (at least 30 s in) to the last; when its fd floor (the lowest of three
# samples) at the end exceeds the one after warm-up by more than the pooled connections the load
# can hold open (2 x the load's connections: a hop's callers and its upstream pool); when a
# sidecar answered any 5xx itself during the run (mesh_proxy_errors_total: refused, timed out,
# no instance), i.e. one the upstream did not cause. Runs of at least 60 s.
#
# The leak probe tells a leak from pooling: SOAK_PROBE_ROUNDS (default 6) rounds of connection
# churn (keep-alive, then `Connection: close`, at 4 x the soak's connections), each followed by
# waiting out the sidecars' 30 s idle timeout of pooled upstream connections, then until every
# process's fds are still for 3 s. Pooling returns to the same idle count after every round; a leak
# adds to it round after round. It fails when the idle count after the last round exceeds the
# one after the first by more than 2 (libcurl's cache of connections to meshd, which a round may
# leave one fuller or emptier), or when it grew at each of the last 3 rounds.
#
#   scripts/soak.sh BUILD_DIR     SOAK_SECONDS (600), SOAK_PROBE_ROUNDS (6), SOAK_BASE_PORT (19400)
# Not part of `make test`: it takes minutes by design. Needs wrk.
set -euo pipefail
build=${1:-build}
seconds=${SOAK_SECONDS:-600}
rounds=${SOAK_PROBE_ROUNDS:-6}
[[ $rounds =~ ^[0-9]+$ && $rounds -ge 4 ]] || { echo "soak: SOAK_PROBE_ROUNDS must be a number >= 4" >&2; exit 2; }
base=${SOAK_BASE_PORT:-19400}
work=$(mktemp -d /tmp/mesh-soak-XXXXXX)
# shellcheck source=scripts/mesh-stack.sh
. "$(dirname "$0")/mesh-stack.sh"
trap 'stack_stop' EXIT
stack_start "$build" "$work" "$base"
command -v wrk >/dev/null || { echo "soak: wrk is missing (scripts/install-deps.sh)" >&2; exit 1; }

# pids: meshd, then per service the app and its sidecar (stack order: payments, orders, frontend).
watched=("meshd:${pids[0]}" "payments-proxy:${pids[2]}" "orders-proxy:${pids[4]}" "frontend-proxy:${pids[6]}")
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# 5xx the sidecars answered themselves (refused, timed out, no instance), all three summed.
proxy_errors_now() {
  local total=0 n
  for admin in $((base + 10)) $((base + 11)) $((base + 12)); do
    n=$(curl -s "http://127.0.0.1:$admin/metrics" | awk '/^mesh_proxy_errors_total/ {s += $2} END {printf "%d", s}')
    total=$(( total + n ))
  done
  echo "$total"
}

conns=8
capacity=$(wrk -t1 -c"$conns" -d5s "$front/checkout" | awk '/Requests\/sec/ {printf "%d", $2}')
rate=$(( capacity / 2 > 1 ? capacity / 2 : 1 ))
# wrk has no rate option: each connection waits delay() ms between requests.
cat >"$work/throttle.lua" <<LUA
function delay() return $(( conns * 1000 / rate )) end
LUA
echo "soak: capacity ${capacity} req/s through frontend; running ${seconds}s at about ${rate} req/s"

errors_before=$(proxy_errors_now)
wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$work/throttle.lua" "$front/checkout" >"$work/wrk.txt" &
load=$!

declare -A first_rss first_fd last_rss last_fd
warmup=30
# RSS is judged from a third of the run on: meshd's SQLite page caches (32 MiB per connection)
# fill for the first minute or so (48 -> 68 MiB by t=50 s, then +0.3 % over the next 550 s).
rss_from=$(( seconds / 3 > warmup ? seconds / 3 : warmup ))
for (( t = 10; t <= seconds; t += 10 )); do
  sleep 10
  line="t=${t}s"
  for w in "${watched[@]}"; do
    name=${w%%:*} pid=${w#*:}
    r=$(rss_kib "$pid") f=$(fds "$pid")
    line+="  $name ${r}KiB ${f}fd"
    if (( t >= rss_from )) && [ -z "${first_rss[$name]:-}" ]; then first_rss[$name]=$r; fi
    last_rss[$name]=$r
    # Pooled keep-alive connections come and go, so each end of the run keeps the lowest count
    # of its three samples.
    if (( t >= warmup && t < warmup + 30 )); then
      (( f < ${first_fd[$name]:-999999} )) && first_fd[$name]=$f
    fi
    if (( t > seconds - 30 )); then
      (( f < ${last_fd[$name]:-999999} )) && last_fd[$name]=$f
    fi
  done
  signals=$(curl -s "$url/v1/services/frontend" |
    sed -n 's/.*"p50_ms":\([0-9.e+-]*\|null\).*"p99_ms":\([0-9.e+-]*\|null\).*/p50 \1 ms p99 \2 ms/p')
  echo "$line  frontend ${signals:-no signals yet}"
done
wait "$load" || true
sed -n '/Latency Distribution/,/Requests\/sec/p' "$work/wrk.txt"

# ---- leak probe ----
# fds_settled: waits out the sidecars' 30 s idle timeout of pooled upstream connections, then
# until no watched process's fd count changed for 3 s (at most 30 s more), and prints the counts
# in watched order.
fds_settled() {
  local prev="" now still=0
  sleep 31
  for (( i = 0; i < 30 && still < 3; i++ )); do
    sleep 1
    now=""
    for w in "${watched[@]}"; do now+="$(fds "${w#*:}") "; done
    if [ "$now" = "$prev" ]; then still=$(( still + 1 )); else still=0; fi
    prev=$now
  done
  echo "$prev"
}
probe_conns=$(( 4 * conns ))
declare -a idle
echo "soak: leak probe, $rounds rounds of churn at $probe_conns connections (keep-alive, then Connection: close)"
for (( r = 1; r <= rounds; r++ )); do
  wrk -t1 -c"$probe_conns" -d3s "$front/checkout" >/dev/null
  closed=$(wrk -t1 -c"$probe_conns" -d3s -H 'Connection: close' "$front/checkout" | awk '/requests in/ {print $1}')
  idle[r]=$(fds_settled)
  line="round $r (${closed} closed connections)"
  k=0
  for w in "${watched[@]}"; do
    k=$(( k + 1 ))
    line+="  ${w%%:*} $(echo "${idle[r]}" | cut -d' ' -f"$k")fd"
  done
  echo "$line"
done

failed=0
k=0
for w in "${watched[@]}"; do
  k=$(( k + 1 ))
  name=${w%%:*}
  series=()
  for (( r = 1; r <= rounds; r++ )); do series+=("$(echo "${idle[r]}" | cut -d' ' -f"$k")"); done
  if (( series[rounds - 1] > series[0] + 2 )); then
    echo "FAIL $name idle fds grew from ${series[0]} after the first churn round to ${series[rounds - 1]} after the last (${series[*]})"; failed=1
  elif (( series[rounds - 1] > series[rounds - 2] && series[rounds - 2] > series[rounds - 3] &&
          series[rounds - 3] > series[rounds - 4] )); then
    echo "FAIL $name idle fds grew at each of the last 3 churn rounds (${series[*]})"; failed=1
  fi
done
for w in "${watched[@]}"; do
  name=${w%%:*}
  [ -n "${first_fd[$name]:-}" ] && [ -n "${last_fd[$name]:-}" ] || { echo "soak: SOAK_SECONDS must be at least 60" >&2; exit 2; }
  if (( last_rss[$name] * 10 > first_rss[$name] * 11 )); then
    echo "FAIL $name RSS grew from ${first_rss[$name]} to ${last_rss[$name]} KiB (> 10 %)"; failed=1
  fi
  if (( last_fd[$name] > first_fd[$name] + 2 * conns )); then
    echo "FAIL $name fd floor grew from ${first_fd[$name]} to ${last_fd[$name]} (more than the $(( 2 * conns )) pooled connections the load holds)"; failed=1
  fi
done
proxy_errors=$(( $(proxy_errors_now) - errors_before ))
if (( proxy_errors > 0 )); then
  echo "FAIL the sidecars answered $proxy_errors 5xx themselves during the run:"
  for admin in $((base + 10)) $((base + 11)) $((base + 12)); do
    curl -s "http://127.0.0.1:$admin/metrics" | grep '^mesh_proxy_errors_total' || true
  done
  failed=1
fi
(( failed == 0 )) && echo "soak: PASS (${seconds}s + $rounds churn rounds, RSS within 10 %, fds within the pool bound and flat across churn, no 5xx the upstream did not cause)"
exit "$failed"
