#!/usr/bin/env bash
# OTLP/gRPC span ingest (meshd --otlp-grpc-listen, nghttp2 over Asio) against its peer in the same
# run, OTLP/HTTP protobuf on POST /v1/traces (HTTP/1.1, Beast): the same batches of 100 spans
# (ids random per batch, 3 attributes each; the file is generated here, the wire format by hand),
# posted by h2load (nghttp2-client) with the same number of clients, one call in flight per
# client, into a fresh store each. Reports spans/s, their ratio, and meshd's peak RSS for each.
# Usage: bench/otlp_grpc_bench.sh BUILD_DIR [REQUESTS] [CLIENTS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
requests=${2:-4000}
clients=${3:-4}
spans_per_batch=100
work=$(mktemp -d /tmp/otlp-grpc-bench-XXXXXX)
trap 'kill $meshd_pid 2>/dev/null || true; rm -rf "$work"' EXIT
meshd_pid=
command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client" >&2; exit 1; }

python3 - "$spans_per_batch" "$work/batch" <<'PY'
import os, struct, sys
def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80]); v >>= 7
    return out + bytes([v])
def field(n, b): return varint((n << 3) | 2) + varint(len(b)) + b
def fixed64(n, v): return varint((n << 3) | 1) + struct.pack("<Q", v)
def kv(k, v): return field(1, k.encode()) + field(2, field(1, v.encode()))
n, out = int(sys.argv[1]), sys.argv[2]
start, trace_id, spans = 1_700_000_000_000_000_000, os.urandom(16), b""
for i in range(n):
    span = (field(1, trace_id) + field(2, os.urandom(8)) + field(5, b"GET /items/%d" % i) + varint(6 << 3) + varint(2)
            + fixed64(7, start + i * 1000) + fixed64(8, start + i * 1000 + 5_000_000)
            + field(9, kv("http.method", "GET")) + field(9, kv("http.route", "/items/{id}")) + field(9, kv("net.peer.name", "api")))
    spans += field(2, span)
request = field(1, field(1, field(1, kv("service.name", "bench-svc"))) + field(2, spans))
open(out + ".pb", "wb").write(request)
open(out + ".grpc", "wb").write(b"\0" + struct.pack(">I", len(request)) + request)
PY

start_meshd() {  # name
  "$build/meshd" --listen 127.0.0.1:0 --otlp-grpc-listen 127.0.0.1:0 --db "$work/$1.db" --retention 36500d \
    2>"$work/$1.log" &
  meshd_pid=$!
  for _ in $(seq 1 100); do
    grpc=$(sed -n 's/.*OTLP\/gRPC listening","address":"\([0-9.:]*\)".*/\1/p' "$work/$1.log")
    http=$(grep -o '"url":"http://127.0.0.1:[0-9]*' "$work/$1.log" | sed 's/"url":"//' || true)
    [ -n "$grpc" ] && [ -n "$http" ] && return 0
    sleep 0.05
  done
  echo "meshd did not start" >&2; cat "$work/$1.log" >&2; exit 1
}
stop_meshd() { kill "$meshd_pid"; wait "$meshd_pid" 2>/dev/null || true; }
rate() {  # h2load output -> requests/s, failing on any error
  local out=$1
  grep -q "succeeded, 0 failed, 0 errored" <<<"$out" || { echo "$out" >&2; exit 1; }
  sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}

echo "## OTLP span ingest: $requests batches x $spans_per_batch spans, $clients clients"
start_meshd http
out=$(h2load --h1 -n "$requests" -c "$clients" -m 1 -H 'content-type: application/x-protobuf' \
  -d "$work/batch.pb" "$http/v1/traces")
http_rate=$(rate "$out")
http_rss=$(awk '/VmHWM/{print $2}' "/proc/$meshd_pid/status")
stop_meshd
start_meshd grpc
out=$(h2load -n "$requests" -c "$clients" -m 1 -H 'content-type: application/grpc' -H 'te: trailers' \
  -d "$work/batch.grpc" "http://$grpc/opentelemetry.proto.collector.trace.v1.TraceService/Export")
grpc_rate=$(rate "$out")
grpc_rss=$(awk '/VmHWM/{print $2}' "/proc/$meshd_pid/status")
stop_meshd
awk -v h="$http_rate" -v g="$grpc_rate" -v n="$spans_per_batch" -v hr="$http_rss" -v gr="$grpc_rss" 'BEGIN{
  printf "OTLP/HTTP protobuf (HTTP/1.1): %.0f spans/s  peak_rss_kb=%d\n", h*n, hr
  printf "OTLP/gRPC (HTTP/2, nghttp2):   %.0f spans/s  peak_rss_kb=%d\n", g*n, gr
  printf "ratio grpc/http = %.2f\n", g/h }'
