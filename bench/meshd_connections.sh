#!/usr/bin/env bash
# meshd under many connections (issue 26 point 2, issue 18 "slow clients"): a meshd binary is
# started on a fresh store and bench/meshd_connections holds KEPT keep-alive connections (a
# request every 2 s, as a sidecar refreshing discovery), 10 connections that send nothing and
# 30 trickling a request head a byte a second, while a fresh connection asks /healthz and
# registers an instance four times a second. Each binary is its own peer: run it once with
# main's civetweb meshd and once with this build's.
# Usage: bench/meshd_connections.sh BUILD_DIR MESHD_BINARY [SECONDS] [MESHD_FLAGS...]
#   e.g. bench/meshd_connections.sh build /tmp/meshd-civetweb 20 --threads 16
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
meshd=${2:-$build/meshd}
seconds=${3:-20}
shift 3 || shift $#
work=$(mktemp -d /tmp/meshd-conn-XXXXXX)
meshd_pid=
trap '[ -n "$meshd_pid" ] && kill "$meshd_pid" 2>/dev/null; rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)"

for kept in 16 100 1000; do
  "$meshd" --listen 127.0.0.1:0 --db "$work/mesh-$kept.db" "$@" 2>"$work/meshd.log" &
  meshd_pid=$!
  port=
  for _ in $(seq 1 100); do
    port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/meshd.log" | head -1 | sed 's/.*://' || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "meshd did not start" >&2; cat "$work/meshd.log" >&2; exit 1; }
  result=$("$build/bench/meshd_connections" "$port" "$kept" 10 30 "$seconds")
  rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$meshd_pid/status")
  threads=$(awk '/Threads/{print $2}' "/proc/$meshd_pid/status")
  kill "$meshd_pid"; wait "$meshd_pid" 2>/dev/null || true
  meshd_pid=
  echo "$result | meshd threads=$threads peak_rss_kb=$rss_kb"
done
