#!/usr/bin/env bash
# OTLP/gRPC span ingest (meshd --otlp-grpc-listen, nghttp2 over Asio) against its peer in the same
# run, OTLP/HTTP protobuf on POST /v1/traces (HTTP/1.1, Beast): the same batches of 100 spans
# (ids random per batch, 3 attributes each; the file is generated here, the wire format by hand),
# posted by h2load (nghttp2-client) with the same number of clients, one call in flight per
# client, into a fresh store each. Reports spans/s, their ratio, and meshd's peak RSS for each.
# When BUILD_DIR/bench/otlp_grpcpp_receiver is built (gRPC C++ installed: `make -C BUILD_DIR
# otlp_grpcpp_receiver`), the same gRPC calls also go to it: gRPC C++ in front of the same routes
# and store, so the two gRPC rows differ by transport only; then start-up time (exec to the port
# accepting), stripped text size and the shared libraries each pulls in are reported too.
# Usage: bench/otlp_grpc_bench.sh BUILD_DIR [REQUESTS] [CLIENTS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
requests=${2:-4000}
clients=${3:-4}
spans_per_batch=100
work=$(mktemp -d /tmp/otlp-grpc-bench-XXXXXX)
trap 'kill $meshd_pid 2>/dev/null || true; rm -rf "$work"' EXIT
meshd_pid=
receiver="$build/bench/otlp_grpcpp_receiver"
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

now_ms() { date +%s%3N; }
start_meshd() {  # name
  : >"$work/$1.log"  # read below before meshd may have written it
  started_ms=$(now_ms)
  "$build/meshd" --listen 127.0.0.1:0 --otlp-grpc-listen 127.0.0.1:0 --db "$work/$1.db" --retention 36500d \
    2>"$work/$1.log" &
  meshd_pid=$!
  for _ in $(seq 1 2000); do
    grpc=$(sed -n 's/.*OTLP\/gRPC listening","address":"\([0-9.:]*\)".*/\1/p' "$work/$1.log")
    http=$(grep -o '"url":"http://127.0.0.1:[0-9]*' "$work/$1.log" | sed 's/"url":"//' || true)
    if [ -n "$grpc" ] && [ -n "$http" ]; then startup_ms=$(( $(now_ms) - started_ms )); return 0; fi
    sleep 0.005
  done
  echo "meshd did not start" >&2; cat "$work/$1.log" >&2; exit 1
}
start_receiver() {  # the gRPC C++ peer, into the same kind of fresh store
  : >"$work/grpcpp.out"
  started_ms=$(now_ms)
  "$receiver" "$work/grpcpp.db" 127.0.0.1:0 >"$work/grpcpp.out" 2>"$work/grpcpp.log" &
  meshd_pid=$!
  for _ in $(seq 1 2000); do
    grpc=$(sed -n 's/^listening \([0-9.:]*\)$/\1/p' "$work/grpcpp.out")
    if [ -n "$grpc" ]; then startup_ms=$(( $(now_ms) - started_ms )); return 0; fi
    sleep 0.005
  done
  echo "otlp_grpcpp_receiver did not start" >&2; cat "$work/grpcpp.log" >&2; exit 1
}
libs() { ldd "$1" | awk '/=> \//{print $3}' | sort -u; }
lib_kb() { xargs -r stat -L -c %s | awk '{s+=$1} END{printf "%d", s/1024}'; }
text_kb() { strip -o "$work/stripped" "$1" && size "$work/stripped" | awk 'NR==2{printf "%d", $1/1024}'; }
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
grpc_startup=$startup_ms
stop_meshd
awk -v h="$http_rate" -v g="$grpc_rate" -v n="$spans_per_batch" -v hr="$http_rss" -v gr="$grpc_rss" 'BEGIN{
  printf "OTLP/HTTP protobuf (HTTP/1.1): %.0f spans/s  peak_rss_kb=%d\n", h*n, hr
  printf "OTLP/gRPC (HTTP/2, nghttp2):   %.0f spans/s  peak_rss_kb=%d\n", g*n, gr
  printf "ratio grpc/http = %.2f\n", g/h }'

[ -x "$receiver" ] || { echo "(gRPC C++ peer not built: make -C $build otlp_grpcpp_receiver, with libgrpc++-dev)"; exit 0; }
start_receiver
out=$(h2load -n "$requests" -c "$clients" -m 1 -H 'content-type: application/grpc' -H 'te: trailers' \
  -d "$work/batch.grpc" "http://$grpc/opentelemetry.proto.collector.trace.v1.TraceService/Export")
grpcpp_rate=$(rate "$out")
grpcpp_rss=$(awk '/VmHWM/{print $2}' "/proc/$meshd_pid/status")
grpcpp_startup=$startup_ms
stop_meshd
libs "$build/meshd" >"$work/meshd.libs"
libs "$receiver" >"$work/grpcpp.libs"
awk -v m="$grpc_rate" -v g="$grpcpp_rate" -v n="$spans_per_batch" -v mr="$grpc_rss" -v gr="$grpcpp_rss" 'BEGIN{
  printf "OTLP/gRPC (gRPC C++ %s):   %.0f spans/s  peak_rss_kb=%d\n", "'"$(pkg-config --modversion grpc++ 2>/dev/null)"'", g*n, gr
  printf "ratio nghttp2/grpc++ = %.2f spans/s, %.2f peak RSS\n", m/g, mr/gr }'
echo "start-up (exec to port accepting): meshd ${grpc_startup} ms, otlp_grpcpp_receiver ${grpcpp_startup} ms"
echo "stripped text: meshd $(text_kb "$build/meshd") KiB, otlp_grpcpp_receiver $(text_kb "$receiver") KiB"
echo "nghttp2 transport in meshd: libnghttp2 $(libs "$build/meshd" | grep nghttp2 | lib_kb) KiB," \
  "mesh_http2 text $(size -t "$build/lib/mesh/http2/libmesh_http2.a" | awk 'END{printf "%d", $1/1024}') KiB"
echo "shared libraries: meshd $(wc -l <"$work/meshd.libs") ($(lib_kb <"$work/meshd.libs") KiB)," \
  "otlp_grpcpp_receiver $(wc -l <"$work/grpcpp.libs") ($(lib_kb <"$work/grpcpp.libs") KiB)"
echo "  only meshd's: $(comm -23 "$work/meshd.libs" "$work/grpcpp.libs" | xargs -r -n1 basename | tr '\n' ' ')" \
  "($(comm -23 "$work/meshd.libs" "$work/grpcpp.libs" | lib_kb) KiB)"
echo "  only the gRPC C++ peer's: $(comm -13 "$work/meshd.libs" "$work/grpcpp.libs" | wc -l) libraries" \
  "($(comm -13 "$work/meshd.libs" "$work/grpcpp.libs" | lib_kb) KiB): $(comm -13 "$work/meshd.libs" "$work/grpcpp.libs" | xargs -r -n1 basename | sed 's/\.so.*//' | tr '\n' ' ')"
