#!/usr/bin/env bash
# meshd benchmarks, each against its peer in the same run:
#  1. OTLP/HTTP span ingest into a fresh store: 4 concurrent clients posting batches of 1,000
#     spans to meshd, the same spans once as JSON and once as protobuf, vs the same number of
#     spans inserted straight into the same SQLite table (span_insert_peer). meshd's peak RSS is
#     read from /proc.
#  2. The same ingest (JSON, protobuf, raw SQLite) into a store that already holds 1,000,000 spans.
#  3. GET /v1/traces/{id} latency on that store of 1 million spans.
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
ingest() {  # label db encoding
  start_meshd "$2"
  local load rss_kb
  load=$("$build/bench/otlp_load" "$url" 4 "$batches" 1000 "$3")
  rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$meshd_pid/status")
  stop_meshd
  echo "$1:  $load  peak_rss_kb=$rss_kb"
}
ratios() {  # output of ingest json, ingest proto, span_insert_peer
  local json proto peer
  json=$(echo "$1" | field spans_per_second)
  proto=$(echo "$2" | field spans_per_second)
  peer=$(echo "$3" | field spans_per_second)
  awk -v j="$json" -v p="$proto" -v s="$peer" \
    'BEGIN{printf "ratio protobuf/json = %.2f  json/raw-sqlite = %.2f  protobuf/raw-sqlite = %.2f\n", p/j, j/s, p/s}'
}

echo "## meshd span ingest into a fresh store: 4 clients x $batches batches x 1000 spans ($spans spans)"
json=$(ingest "meshd json " "$work/ingest-json.db" json)
proto=$(ingest "meshd proto" "$work/ingest-proto.db" proto)
peer="peer:        $("$build/bench/span_insert_peer" "$work/peer.db" "$spans" 1000)"
printf '%s\n%s\n%s\n' "$json" "$proto" "$peer"
ratios "$json" "$proto" "$peer"

echo
echo "## meshd span ingest into a store of 1,000,000 spans: $spans more spans"
"$build/bench/span_insert_peer" "$work/big.db" 1000000 10000 "$work/ids.txt" >/dev/null
# Each run starts from its own copy of the same million spans (checkpointed: no WAL to copy).
for copy in json proto peer; do cp "$work/big.db" "$work/big-$copy.db"; done
json=$(ingest "meshd json " "$work/big-json.db" json)
proto=$(ingest "meshd proto" "$work/big-proto.db" proto)
peer="peer:        $("$build/bench/span_insert_peer" "$work/big-peer.db" "$spans" 1000)"
printf '%s\n%s\n%s\n' "$json" "$proto" "$peer"
ratios "$json" "$proto" "$peer"
rm -f "$work"/big-*.db*

echo
echo "## GET /v1/traces/{id} on a store of 1,000,000 spans"
start_meshd "$work/big.db"
"$build/bench/trace_query" "$url" "$work/ids.txt" 2000
stop_meshd
