#!/usr/bin/env bash
# meshd benchmarks, each against its peer in the same run:
#  1. OTLP/HTTP JSON span ingest: 4 concurrent clients posting batches of 1,000 spans to meshd,
#     vs the same number of spans inserted straight into the same SQLite table (span_insert_peer).
#     meshd's peak RSS is read from /proc.
#  2. GET /v1/traces/{id} latency on a store of 1 million spans.
# Usage: bench/meshd_bench.sh BUILD_DIR [BATCHES_PER_CLIENT]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
batches=${2:-50}
work=$(mktemp -d /tmp/meshd-bench-XXXXXX)
trap 'kill $meshd_pid 2>/dev/null || true; rm -rf "$work"' EXIT
meshd_pid=

start_meshd() {  # db
  "$build/meshd" --listen 127.0.0.1:0 --db "$1" 2>"$work/meshd.log" &
  meshd_pid=$!
  for _ in $(seq 1 100); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/meshd.log" | head -1 || true)
    [ -n "$url" ] && return 0
    sleep 0.05
  done
  echo "meshd did not start" >&2; cat "$work/meshd.log" >&2; exit 1
}
stop_meshd() { kill "$meshd_pid"; wait "$meshd_pid" 2>/dev/null || true; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

spans=$((4 * batches * 1000))
echo "## meshd span ingest: 4 clients x $batches batches x 1000 spans ($spans spans)"
start_meshd "$work/ingest.db"
load=$("$build/bench/otlp_load" "$url" 4 "$batches" 1000)
rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$meshd_pid/status")
stop_meshd
peer=$("$build/bench/span_insert_peer" "$work/peer.db" "$spans" 1000)
meshd_rate=$(echo "$load" | field spans_per_second)
peer_rate=$(echo "$peer" | field spans_per_second)
echo "meshd:  $load  peak_rss_kb=$rss_kb"
echo "peer:   $peer"
awk -v m="$meshd_rate" -v p="$peer_rate" 'BEGIN{printf "ratio meshd/raw-sqlite = %.2f\n", m/p}'

echo
echo "## GET /v1/traces/{id} on a store of 1,000,000 spans"
"$build/bench/span_insert_peer" "$work/big.db" 1000000 10000 "$work/ids.txt" >/dev/null
start_meshd "$work/big.db"
"$build/bench/trace_query" "$url" "$work/ids.txt" 2000
stop_meshd
