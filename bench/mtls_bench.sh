#!/usr/bin/env bash
# mTLS between meshproxy sidecars against plaintext, in the same run. On 127.0.0.1 and free
# ports: meshd (its own temporary store and CA, a scoped token per sidecar, mode 0600), one upstream
# (nginx, 1 worker, access log off, answering `200 ok`) and two topologies, each a client-side
# sidecar whose --outbound port wrk calls and a server-side sidecar in front of the upstream,
# found through meshd's registry:
#   A. plain: client-plain --outbound -> bench-plain --listen -> nginx        (no --mtls)
#   B. mtls:  client-mtls  --outbound -> bench-mtls  --listen -> nginx        (both --mtls; the
#             server side takes mTLS only, so the client side reaches it over TLS)
# Every sidecar runs --threads PROXY_THREADS (1: four sidecars, nginx, meshd and wrk share 2
# cores, and only one topology is loaded at a time: a chain of two 1-thread sidecars has one core
# per hop) and --no-access-log unless ACCESS_LOG=1 (spans are still shipped to meshd). Runs come
# in ROUNDS pairs, A,B then B,A, so that noise from other work and the slow drift of meshd's
# growing store fall on both sides:
#  1. keep-alive: wrk -t WRK_THREADS -c CONNS for DURATION s; req/s, p50/p99, errors, CPU time
#     per request of the two sidecars and of meshd (from /proc/PID/stat), telemetry the sidecars
#     dropped (mesh_telemetry_dropped_total: meshd fell behind); the ratio mTLS/plain and the
#     p50/p99 mTLS adds, per pair, on the means and as medians of the pairs;
#  2. about RATE req/s (RATE_CONNS connections pausing between requests, as in proxy_bench.sh):
#     the latency mTLS adds when the machine is not saturated;
#  3. a new client connection per request (wrk -H "Connection: close"), same figures, and how
#     many connections the client-side sidecar opened to the server-side one meanwhile;
#  4. handshake cost at the server-side sidecar, one connection at a time: plain TCP (wrk -c1,
#     Connection: close) against `openssl s_time -new` and `-reuse` for HS_SECONDS each, and
#     SCLIENT_N `openssl s_client` processes with a new session, then SCLIENT_N offering a saved
#     one (-sess_in), all with the client certificate from client-mtls's data dir; connections/s,
#     the sidecar's CPU per connection (its idle CPU, measured in 5., subtracted), how many
#     were resumed;
#  5. the client-side sidecar's own resumption: strace on the server-side sidecar gives the size
#     of its first handshake flight per accepted connection (a full TLS 1.3 flight carries the
#     certificates: about 1.3 KB against 250 bytes resumed; s_client gives both references);
#     client-mtls is left idle until its idle sweep closes its pooled connections (up to 35 s),
#     then one request opens a new connection, and 1 s of wrk -c4 opens more while it is open.
# PROFILE=1 adds one more keep-alive run per topology with `perf record -g` on both sidecars for
# 5 s, and HS_SECONDS of the server-side mTLS sidecar under s_time -new; prints each profile's top.
# Usage: bench/mtls_bench.sh BUILD_DIR
#   (DURATION=15 ROUNDS=2 CONNS=50 RATE=1000 RATE_CONNS=10 WRK_THREADS=1 PROXY_THREADS=1
#    ACCESS_LOG=0 HS_SECONDS=5 SCLIENT_N=100 PROFILE=0); strace is optional (without it, item 5 is skipped).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
duration=${DURATION:-15}
rounds=${ROUNDS:-2}
conns=${CONNS:-50}
wrk_threads=${WRK_THREADS:-1}
proxy_threads=${PROXY_THREADS:-1}
hs_seconds=${HS_SECONDS:-5}
rate=${RATE:-1000}
rate_conns=${RATE_CONNS:-10}
die() { echo "mtls_bench: $*" >&2; exit 1; }
for tool in wrk nginx curl ss openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "mtls_bench: $tool not found (run scripts/install-deps.sh)" >&2; exit 2; }
done
for bin in meshd meshproxy; do
  [ -x "$build/$bin" ] || { echo "mtls_bench: $build/$bin not found (build the $bin target)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/mtls-bench-XXXXXX)
chmod 755 "$work"  # nginx's worker may run as nobody when we are root
pids=()
stop_pid() {  # pid: TERM, up to 5 s, then KILL it and its children (nginx's worker)
  local p=$1 kids
  kids=$(pgrep -P "$p" 2>/dev/null || true)
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  # shellcheck disable=SC2086  # kids is a list of pids
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" $kids 2>/dev/null || true; fi
  wait "$p" 2>/dev/null || true
}
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[$i]}"; done  # sidecars before meshd
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

used_ports=" "
free_port() {  # var: a port no socket uses, below the ephemeral range, not handed out before
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    case "$used_ports" in *" $p "*) continue ;; esac
    if [ -z "$(ss -Htan "sport = :$p")" ]; then used_ports+="$p "; printf -v "$1" %s "$p"; return 0; fi
  done
  die "no free port found"
}
wait_ok() {  # url pid log [header] [seconds]: until the url answers 200
  local deadline=$((SECONDS + ${5:-10}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$2" 2>/dev/null || { echo "mtls_bench: $1: server exited" >&2; cat "$3" >&2; exit 1; }
    [ "$(curl -s -o /dev/null -m 1 ${4:+-H "$4"} -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  echo "mtls_bench: $1 did not answer 200 within ${5:-10} s: $(curl -s -m 1 ${4:+-H "$4"} "$1" | head -c 300)" >&2
  cat "$3" >&2; exit 1
}
cpu_ticks() {  # pid: user+system clock ticks of the pid (all threads) and its children
  local total=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
hz=$(getconf CLK_TCK)

md='' up=''
free_port md; free_port up

# --- meshd: its own store and CA; each mTLS sidecar gets its certificate with its own
# service's scoped token (meshd token create)
mkdir -p "$work/meshd"
for name in bench-mtls client-mtls; do
  (umask 077 && "$build/meshd" --db "$work/meshd/mesh.db" --ca-dir "$work/meshd/ca" token create \
    --service "$name" --ttl 0 >"$work/$name.token" 2>/dev/null)
done
"$build/meshd" --listen "127.0.0.1:$md" --db "$work/meshd/mesh.db" --ca-dir "$work/meshd/ca" \
  --log-level warn >"$work/meshd.log" 2>&1 &
md_pid=$!; pids+=("$md_pid")
meshd_url="http://127.0.0.1:$md"
wait_ok "$meshd_url/healthz" "$md_pid" "$work/meshd.log"

# --- the upstream: nginx, 1 worker, a 3-byte body, no access log (as in proxy_bench.sh)
mkdir -p "$work/up"
ngx_user=""
[ "$(id -u)" -eq 0 ] || ngx_user="#"  # the user directive only means something to root
cat >"$work/up/nginx.conf" <<EOF
daemon off;
${ngx_user}user nobody nogroup;
pid $work/up/nginx.pid;
error_log $work/up/error.log warn;
events { worker_connections 4096; }
worker_processes 1;
worker_rlimit_nofile 8192;
http {
  access_log off;
  client_body_temp_path $work/up/body; proxy_temp_path $work/up/proxy;
  fastcgi_temp_path $work/up/fcgi; uwsgi_temp_path $work/up/uwsgi; scgi_temp_path $work/up/scgi;
  keepalive_requests 100000000;
  default_type text/plain;
  server { listen 127.0.0.1:$up; location / { return 200 "ok\n"; } }
}
EOF
nginx -p "$work/up" -c "$work/up/nginx.conf" 2>"$work/up/stderr" &
up_pid=$!; pids+=("$up_pid")
wait_ok "http://127.0.0.1:$up/" "$up_pid" "$work/up/stderr"

# --- the sidecars: per topology a server side (service bench-T) and a client side (client-T)
declare -A SRV SRV_ADMIN SRV_PID CLI_OUT CLI_ADMIN CLI_PID
pid=''
# ACCESS_LOG=0 (the default) runs the sidecars with --no-access-log: every request still makes a
# span per sidecar, shipped to meshd, but not an access-log record as well. With both, meshd's
# store grew by about 350 MB a minute here and meshd fell behind within minutes: the sidecars then
# drop telemetry and spend their CPU on it (see docs/benchmarks.md), whichever topology runs.
access_log_flags=(--no-access-log)
[ "${ACCESS_LOG:-0}" = 1 ] && access_log_flags=()
start_proxy() {  # name admin_port listen_port outbound_port_or_empty pid_var [flags...]
  local name=$1 admin=$2 listen=$3 outbound=$4 var=$5
  shift 5
  "$build/meshproxy" --service "$name" --service-port "$up" --listen "127.0.0.1:$listen" \
    --outbound "${outbound:+127.0.0.1:$outbound}" --admin "127.0.0.1:$admin" --meshd "$meshd_url" \
    --threads "$proxy_threads" ${access_log_flags[@]+"${access_log_flags[@]}"} "$@" >"$work/$name.log" 2>&1 &
  printf -v "$var" %s "$!"
  pids+=("$!")
  wait_ok "http://127.0.0.1:$admin/healthz" "$!" "$work/$name.log"
}
for t in plain mtls; do
  tls_flags=()
  [ "$t" = mtls ] && tls_flags=(--mtls)
  srv_in='' srv_admin='' cli_in='' cli_out='' cli_admin=''
  free_port srv_in; free_port srv_admin; free_port cli_in; free_port cli_out; free_port cli_admin
  [ "$t" = mtls ] && tls_flags+=(--token-file "$work/bench-$t.token")
  start_proxy "bench-$t" "$srv_admin" "$srv_in" "" pid ${tls_flags[@]+"${tls_flags[@]}"} --data-dir "$work/bench-$t"
  [ "$t" = mtls ] && tls_flags=(--mtls --token-file "$work/client-$t.token")
  SRV[$t]=$srv_in SRV_ADMIN[$t]=$srv_admin SRV_PID[$t]=$pid
  start_proxy "client-$t" "$cli_admin" "$cli_in" "$cli_out" pid ${tls_flags[@]+"${tls_flags[@]}"} \
    --data-dir "$work/client-$t"
  CLI_OUT[$t]=$cli_out CLI_ADMIN[$t]=$cli_admin CLI_PID[$t]=$pid
done
# The route exists once the client side has discovered the server side in meshd's registry.
for t in plain mtls; do
  wait_ok "http://127.0.0.1:${CLI_OUT[$t]}/" "${CLI_PID[$t]}" "$work/client-$t.log" "Host: bench-$t" 30
done
# Topology B must really be mTLS: registered as such, refusing a caller without a certificate.
registered=$(curl -s -m 5 "$meshd_url/v1/services/bench-mtls")
[[ "$registered" == *'"mtls":true'* ]] || die "bench-mtls is not registered with mtls in meshd: $registered"
registered=$(curl -s -m 5 "$meshd_url/v1/services/bench-plain")
[[ "$registered" != *'"mtls":true'* ]] || die "bench-plain is registered with mtls in meshd: $registered"
if [ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:${SRV[mtls]}/" || true)" = 200 ]; then
  die "the mTLS server-side sidecar answered a plaintext caller"
fi
cert_dir=$work/client-mtls
for f in cert.pem key.pem ca.pem; do [ -s "$cert_dir/$f" ] || die "$cert_dir/$f missing"; done

# wrk prints one machine-readable line at the end.
cat >"$work/bench.lua" <<'EOF'
local d = tonumber(os.getenv("WRK_DELAY_MS") or "")
if d then function delay() return d end end
function done(s, lat, _)
  local e = s.errors
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d socket=%d\n",
    s.requests / (s.duration / 1e6), lat:percentile(50), lat:percentile(99), s.requests, e.status,
    e.connect + e.read + e.write + e.timeout))
end
EOF
inter_ports() {  # topology: local ports of the client side's sockets (any state) to the server side
  ss -Htan "( dport = :${SRV[$1]} )" | awk '{split($4, a, ":"); print a[length(a)]}' | sort -u
}
tel_dropped() {  # topology: telemetry the two sidecars have dropped so far (records, spans, logs, ...)
  local a total=0
  for a in "${CLI_ADMIN[$1]}" "${SRV_ADMIN[$1]}"; do
    total=$((total + $(curl -s -m 5 "http://127.0.0.1:$a/metrics" |
      awk '/^mesh_telemetry_dropped_total/ {s += $NF} END {printf "%d", s}')))
  done
  echo "$total"
}
# run_wrk key topology connections [header] [delay_ms]: leaves "load=.. rps=.. .. cpu_proxies=..
# cpu_meshd=.. opened=.. dropped=.." in $work/r.KEY; CPU in microseconds per request.
run_wrk() {
  local key=$1 t=$2 c=$3 header=${4:-} delay=${5:-} out c0 s0 m0 c1 s1 m1 before after d0
  d0=$(tel_dropped "$t")
  c0=$(cpu_ticks "${CLI_PID[$t]}"); s0=$(cpu_ticks "${SRV_PID[$t]}"); m0=$(cpu_ticks "$md_pid")
  before=$(inter_ports "$t")
  out="load=$(load1) $(WRK_DELAY_MS=$delay wrk -t"$wrk_threads" -c"$c" -d"${duration}s" --latency \
    -H "Host: bench-$t" ${header:+-H "$header"} -s "$work/bench.lua" "http://127.0.0.1:${CLI_OUT[$t]}/" |
    grep '^RESULT ')" ||
    die "wrk against topology $t ($key) failed"
  c1=$(cpu_ticks "${CLI_PID[$t]}"); s1=$(cpu_ticks "${SRV_PID[$t]}"); m1=$(cpu_ticks "$md_pid")
  after=$(inter_ports "$t")
  out=${out/RESULT /}
  local n
  n=$(tr ' ' '\n' <<<"$out" | sed -n 's/^requests=//p')
  [ "$n" -gt 0 ] || die "wrk made no request against topology $t ($key)"
  out+=" cpu_proxies=$(awk -v t=$((c1 - c0 + s1 - s0)) -v hz="$hz" -v n="$n" 'BEGIN{printf "%.1f", t / hz * 1e6 / n}')"
  out+=" cpu_meshd=$(awk -v t=$((m1 - m0)) -v hz="$hz" -v n="$n" 'BEGIN{printf "%.1f", t / hz * 1e6 / n}')"
  out+=" opened=$(comm -13 <(echo "$before") <(echo "$after") | grep -c . || true)"
  sleep 1  # the telemetry threads count drops when they drain, every 500 ms
  out+=" dropped=$(($(tel_dropped "$t") - d0))"
  echo "$out" >"$work/r.$key"
}
get() { tr ' ' '\n' <"$work/r.$1" | sed -n "s/^$2=//p"; }  # key field
ms() { awk -v u="$1" 'BEGIN{printf "%.3f", u/1000}'; }
dms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%+.3f", (a - b) / 1000}'; }  # a - b, us -> ms
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
errs() { echo $(($(get "$1" non2xx) + $(get "$1" socket))); }
fmt_rps() { printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
mean() { local f=$1 phase=$2 t=$3 i; for ((i = 1; i <= rounds; i++)); do get "$phase.$t.$i" "$f"; done |
  awk '{s += $1} END {printf "%.1f", s / NR}'; }
median() { sort -g | awk '{v[NR] = $1} END {printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
pair_ratios() {  # phase: mTLS/plain req/s of each pair, one a line
  local i; for ((i = 1; i <= rounds; i++)); do ratio "$(get "$1.mtls.$i" rps)" "$(get "$1.plain.$i" rps)"; echo; done
}
pair_deltas() {  # phase field: mTLS - plain of each pair in ms, one a line
  local i; for ((i = 1; i <= rounds; i++)); do dms "$(get "$1.mtls.$i" "$2")" "$(get "$1.plain.$i" "$2")"; echo; done
}

load_start=$(load1)
# 1. keep-alive, 2. a fixed rate, 3. a new client connection per request. Pairs in the order
# A,B then B,A (and so on): meshd's store grows through the run and everything slows with it, so
# a fixed order would put that drift on one side of every pair.
rate_delay=$((rate_conns * 1000 / rate))
for phase in ka rate close; do
  for ((i = 1; i <= rounds; i++)); do
    order=(plain mtls)
    [ $((i % 2)) = 0 ] && order=(mtls plain)
    for t in "${order[@]}"; do
      case $phase in
        ka) run_wrk "$phase.$t.$i" "$t" "$conns" ;;
        rate) run_wrk "$phase.$t.$i" "$t" "$rate_conns" "" "$rate_delay" ;;
        close) run_wrk "$phase.$t.$i" "$t" "$conns" 'Connection: close' ;;
      esac
    done
  done
done

# The server side of B saw its caller's certificate: requests counted under client_service.
sleep 1
[[ "$(curl -s -m 5 "http://127.0.0.1:${SRV_ADMIN[mtls]}/metrics")" == *'client_service="client-mtls"'* ]] ||
  die "bench-mtls's metrics name no caller identity: the requests did not come over mTLS"

# 4. handshake cost at the server-side sidecar, one connection at a time. Per row: the sidecar's
# CPU ticks and the wall time (its CPU when idle, measured in 5. below, is subtracted in the
# report: at 10 connections/s it would otherwise weigh), and the number of connections.
declare -A HS_RATE HS_NOTE HS_TICKS HS_SECS HS_N HS_KIND
hs_row() {  # row kind ticks_before t0 t1 n: records the sidecar's CPU and the rate
  HS_KIND[$1]=$2 HS_TICKS[$1]=$(($(cpu_ticks "${SRV_PID[$2]}") - $3)) HS_N[$1]=$6
  HS_SECS[$1]=$(awk -v a="$4" -v b="$5" 'BEGIN{printf "%.3f", b - a}')
  HS_RATE[$1]=$(awk -v n="$6" -v a="$4" -v b="$5" 'BEGIN{printf "%.0f", n / (b - a)}')
}
s_ticks=$(cpu_ticks "${SRV_PID[plain]}")
t0=$EPOCHREALTIME
wrk -t1 -c1 -d"${hs_seconds}s" -H 'Connection: close' -s "$work/bench.lua" \
  "http://127.0.0.1:${SRV[plain]}/" | sed -n 's/^RESULT //p' >"$work/r.hs.plain"
t1=$EPOCHREALTIME
n=$(get hs.plain requests)
[ "${n:-0}" -gt 0 ] || die "wrk -c1 against bench-plain failed"
hs_row plain plain "$s_ticks" "$t0" "$t1" "$n"
HS_NOTE[plain]="$n connections, $(errs hs.plain) errors"
tls_client=(-connect "127.0.0.1:${SRV[mtls]}" -cert "$cert_dir/cert.pem" -key "$cert_dir/key.pem"
            -CAfile "$cert_dir/ca.pem")
for mode in new reuse; do
  s_ticks=$(cpu_ticks "${SRV_PID[mtls]}")
  t0=$EPOCHREALTIME
  # s_time sends "GET <www> HTTP/1.0" and nothing else: meshproxy would forward it as HTTP/1.1
  # without Host, which nginx answers 400. A Host header rides in the path.
  openssl s_time "${tls_client[@]}" -"$mode" -time "$hs_seconds" -www $'/ HTTP/1.0\r\nHost: bench-mtls\r\nX-Pad:' \
    >"$work/s_time.$mode" 2>&1 ||
    { cat "$work/s_time.$mode" >&2; die "openssl s_time -$mode against bench-mtls failed"; }
  t1=$EPOCHREALTIME
  # s_time prints a character per connection: r when the session was resumed, * when it was not
  # (-reuse: the first connection is a full handshake, not printed).
  full=$(grep -E '^[*r]+$' "$work/s_time.$mode" | tr -cd '*' | wc -c)
  resumed=$(grep -E '^[*r]+$' "$work/s_time.$mode" | tr -cd 'r' | wc -c)
  n=$((full + resumed))
  [ "$n" -gt 0 ] || { cat "$work/s_time.$mode" >&2; die "openssl s_time -$mode made no connection"; }
  hs_row "$mode" mtls "$s_ticks" "$t0" "$t1" "$n"
  HS_NOTE[$mode]="$n connections: $full full handshakes, $resumed resumed"
done
# s_client, one process per connection (so connections/s is the client's): a full handshake that
# saves the session it gets, then SCLIENT_N full ones and SCLIENT_N offering that session.
request=$'GET / HTTP/1.1\r\nHost: bench-mtls\r\nConnection: close\r\n\r\n'
s_client() {  # out_file [flags...]: one request over a new connection
  local out=$1
  shift
  printf '%s' "$request" | openssl s_client "${tls_client[@]}" -ign_eof "$@" >"$out" 2>"$out.err" || true
}
s_client "$work/s_client.1" -sess_out "$work/session.pem"
grep -q 'HTTP/1.1 200 OK' "$work/s_client.1" || { cat "$work/s_client.1" "$work/s_client.1.err" >&2; die "s_client got no 200 from bench-mtls"; }
[ -s "$work/session.pem" ] || die "s_client saved no session"
sc_n=${SCLIENT_N:-100}
for mode in full resumed; do
  flags=()
  [ "$mode" = resumed ] && flags=(-sess_in "$work/session.pem")
  s_ticks=$(cpu_ticks "${SRV_PID[mtls]}")
  t0=$EPOCHREALTIME
  reused=0 ok=0
  for ((i = 0; i < sc_n; i++)); do
    s_client "$work/s_client.loop" ${flags[@]+"${flags[@]}"}
    grep -q '^Reused, TLS' "$work/s_client.loop" && reused=$((reused + 1))
    grep -q 'HTTP/1.1 200 OK' "$work/s_client.loop" && ok=$((ok + 1))
  done
  t1=$EPOCHREALTIME
  hs_row "sc_$mode" mtls "$s_ticks" "$t0" "$t1" "$sc_n"
  HS_NOTE[sc_$mode]="$sc_n connections: $reused resumed, $ok answered 200"
done
unexpected_eof=$(grep -c 'unexpected eof while reading' "$work/s_client.1.err" || true)

# 5. the client-side sidecar's own resumption, seen from the server side: strace gives the size of
# the server's first flight on each connection it accepts (ServerHello .. Finished: about 1.3 KB
# with the certificates of a full handshake, about 250 bytes resumed). References: s_client, a
# full handshake, then one resuming. Then client-mtls is left idle until its pooled connections
# are closed (30 s idle timeout, swept every 5 s), one request makes it open a new connection,
# and a 1 s run with 4 connections makes it open more while that one is still open.
flights() {  # strace_output: "index bytes" per accepted connection, in accept order
  awk '/accept4?\(/ && / = [0-9]+$/ { want[$NF] = ++n; next }
       /sendmsg\([0-9]+,/ && / = [0-9]+$/ {
         match($0, /sendmsg\([0-9]+,/); fd = substr($0, RSTART + 8, RLENGTH - 9)
         if (fd in want) { print want[fd], $NF; delete want[fd] }
       }' "$1" | sort -n
}
strace_run() {  # output command...: the command's run, with strace on the server-side mTLS sidecar
  local out=$1 sp
  shift
  strace -f -qq -e trace=accept,accept4,sendmsg -o "$out" -p "${SRV_PID[mtls]}" 2>"$out.err" &
  sp=$!; pids+=("$sp")
  sleep 1
  "$@"
  sleep 0.5
  stop_pid "$sp"
}
f_full='' f_resumed='' f_first='' f_burst='' have_strace=0
command -v strace >/dev/null 2>&1 && have_strace=1
references() { s_client "$work/ref.1"; s_client "$work/ref.2" -sess_in "$work/session.pem"; }
if [ "$have_strace" = 1 ]; then
  strace_run "$work/strace.ref" references
  f_full=$(flights "$work/strace.ref" | awk 'NR == 1 {print $2}')
  f_resumed=$(flights "$work/strace.ref" | awk 'NR == 2 {print $2}')
  grep -q '^Reused, TLS' "$work/ref.2" || die "s_client could not resume a session with bench-mtls"
fi
# One request leaves one pooled connection (the end of the runs above may have left none: wrk
# stopping mid-request makes the sidecar drop that upstream connection), then idleness, during
# which the two server-side sidecars' own CPU use is measured.
[ "$(curl -s -o /dev/null -m 5 -H 'Host: bench-mtls' -w '%{http_code}' "http://127.0.0.1:${CLI_OUT[mtls]}/")" = 200 ] ||
  die "no 200 through client-mtls"
declare -A IDLE_RATE  # CPU seconds per second of an idle server-side sidecar
declare -A IDLE_T0=([plain]=$(cpu_ticks "${SRV_PID[plain]}") [mtls]=$(cpu_ticks "${SRV_PID[mtls]}"))
t0=$EPOCHREALTIME
while [ -n "$(ss -Htn state established "( dport = :${SRV[mtls]} )")" ]; do
  [ "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print (b - a < 60)}')" = 1 ] ||
    die "client-mtls's pooled connections were not closed within 60 s of idleness"
  sleep 1
done
t1=$EPOCHREALTIME
idle_wait=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", b - a}')
for t in plain mtls; do
  IDLE_RATE[$t]=$(awk -v t=$(($(cpu_ticks "${SRV_PID[$t]}") - IDLE_T0[$t])) -v hz="$hz" -v a="$t0" -v b="$t1" \
    'BEGIN{printf "%.5f", t / hz / (b - a)}')
done
after_idle() {
  [ "$(curl -s -o /dev/null -m 5 -H 'Host: bench-mtls' -w '%{http_code}' "http://127.0.0.1:${CLI_OUT[mtls]}/")" = 200 ] ||
    die "no 200 through client-mtls after its idle connections were closed"
  wrk -t1 -c4 -d1s -H 'Host: bench-mtls' "http://127.0.0.1:${CLI_OUT[mtls]}/" >/dev/null
}
if [ "$have_strace" = 1 ]; then
  strace_run "$work/strace.proxy" after_idle
  f_first=$(flights "$work/strace.proxy" | awk 'NR == 1 {print $2}')
  f_burst=$(flights "$work/strace.proxy" | awk 'NR > 1 {printf "%s%s", sep, $2; sep = " "}')
  if [ -z "$f_full" ] || [ -z "$f_resumed" ] || [ -z "$f_first" ]; then die "strace recorded no handshake flight"; fi
fi
load_end=$(load1)

# 6. PROFILE=1: one more keep-alive run per topology, perf recording both sidecars for 5 s, and
# the server-side mTLS sidecar during full handshakes.
if [ "${PROFILE:-0}" = 1 ]; then
  for t in plain mtls; do
    run_wrk "profile.$t" "$t" "$conns" &
    wrk_job=$!
    sleep $((duration > 10 ? duration / 2 - 2 : 1))
    perf record -q -g -o "$work/perf.$t" -p "${CLI_PID[$t]},${SRV_PID[$t]}" -- sleep 5 >/dev/null 2>&1 || true
    wait "$wrk_job"
  done
  # and the server-side sidecar during full handshakes (s_time -new)
  openssl s_time "${tls_client[@]}" -new -time $((hs_seconds + 2)) -www $'/ HTTP/1.0\r\nHost: bench-mtls\r\nX-Pad:' \
    >"$work/s_time.profile" 2>&1 &
  st_job=$!
  sleep 1
  perf record -q -g -o "$work/perf.handshake" -p "${SRV_PID[mtls]}" -- sleep "$hs_seconds" >/dev/null 2>&1 || true
  wait "$st_job" || true
fi

# --- report
echo "## mTLS between sidecars vs plaintext: $(nproc) cores, wrk -t$wrk_threads -c$conns, ${duration} s" \
     "per run, sidecars --threads $proxy_threads, load $load_start -> $load_end"
echo
for phase in ka rate close; do
  case $phase in
    ka) echo "1. keep-alive, $conns connections, as fast as they go (CPU us/req: client + server sidecar; meshd separately)" ;;
    rate) echo "2. about $rate req/s: $rate_conns keep-alive connections, each waiting ${rate_delay} ms between" \
               "a response and its next request (wrk's delay(); wrk times from the write, so the pause is not counted)" ;;
    close) echo "3. a new client connection per request (wrk -H 'Connection: close', $conns connections);" \
                "inter-proxy connections opened during the run" ;;
  esac
  echo
  echo "| run | topology | req/s | p50 ms | p99 ms | errors | sidecars CPU us/req | meshd CPU us/req | inter-proxy conns opened | telemetry dropped | load |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for ((i = 1; i <= rounds; i++)); do
    for t in plain mtls; do
      k=$phase.$t.$i
      echo "| $i | $t | $(fmt_rps "$(get "$k" rps)") | $(ms "$(get "$k" p50_us)") | $(ms "$(get "$k" p99_us)")" \
           "| $(errs "$k") | $(get "$k" cpu_proxies) | $(get "$k" cpu_meshd) | $(get "$k" opened) | $(get "$k" dropped)" \
           "| $(get "$k" load) |"
    done
  done
  echo
  pairs=''
  for ((i = 1; i <= rounds; i++)); do
    pairs+=" run $i: x$(ratio "$(get "$phase.mtls.$i" rps)" "$(get "$phase.plain.$i" rps)"),"
    pairs+=" p50 $(dms "$(get "$phase.mtls.$i" p50_us)" "$(get "$phase.plain.$i" p50_us)") ms,"
    pairs+=" p99 $(dms "$(get "$phase.mtls.$i" p99_us)" "$(get "$phase.plain.$i" p99_us)") ms;"
  done
  echo "mTLS / plain, means of $rounds runs: throughput x$(ratio "$(mean rps "$phase" mtls)" "$(mean rps "$phase" plain)")," \
       "p50 $(ms "$(mean p50_us "$phase" plain)") -> $(ms "$(mean p50_us "$phase" mtls)") ms" \
       "($(dms "$(mean p50_us "$phase" mtls)" "$(mean p50_us "$phase" plain)") ms)," \
       "p99 $(ms "$(mean p99_us "$phase" plain)") -> $(ms "$(mean p99_us "$phase" mtls)") ms" \
       "($(dms "$(mean p99_us "$phase" mtls)" "$(mean p99_us "$phase" plain)") ms)," \
       "sidecar CPU/req x$(ratio "$(mean cpu_proxies "$phase" mtls)" "$(mean cpu_proxies "$phase" plain)");$pairs"
  echo "medians of the $rounds pairs: throughput x$(pair_ratios "$phase" | median | xargs printf '%.2f')," \
       "p50 $(pair_deltas "$phase" p50_us | median | xargs printf '%+.3f') ms, p99 $(pair_deltas "$phase" p99_us | median | xargs printf '%+.3f') ms"
  echo
done
hs_cpu() {  # row: the sidecar's CPU us per connection, its idle CPU over the same time subtracted
  awk -v t="${HS_TICKS[$1]}" -v hz="$hz" -v idle="${IDLE_RATE[${HS_KIND[$1]}]}" -v s="${HS_SECS[$1]}" -v n="${HS_N[$1]}" \
    'BEGIN{printf "%.0f", (t / hz - idle * s) * 1e6 / n}'
}
echo "4. one connection at a time to the server-side sidecar (a GET / each; s_time for ${hs_seconds} s)"
echo
echo "| client | connections/s | server sidecar CPU us/connection | |"
echo "|---|---|---|---|"
echo "| plain TCP, wrk -c1 Connection: close | ${HS_RATE[plain]} | $(hs_cpu plain) | ${HS_NOTE[plain]} |"
echo "| mTLS, openssl s_time -new | ${HS_RATE[new]} | $(hs_cpu new) | ${HS_NOTE[new]} |"
echo "| mTLS, openssl s_time -reuse | ${HS_RATE[reuse]} | $(hs_cpu reuse) | ${HS_NOTE[reuse]} |"
echo "| mTLS, openssl s_client, new session | ${HS_RATE[sc_full]} | $(hs_cpu sc_full) | ${HS_NOTE[sc_full]} |"
echo "| mTLS, openssl s_client -sess_in | ${HS_RATE[sc_resumed]} | $(hs_cpu sc_resumed) | ${HS_NOTE[sc_resumed]} |"
echo
echo "  idle server-side sidecars (subtracted above): plain $(awk -v r="${IDLE_RATE[plain]}" 'BEGIN{printf "%.1f", r * 1000}')," \
     "mTLS $(awk -v r="${IDLE_RATE[mtls]}" 'BEGIN{printf "%.1f", r * 1000}') ms of CPU per second (over ${idle_wait} s)"
echo "  s_client's first connection ended with 'unexpected eof while reading': $([ "${unexpected_eof:-0}" -gt 0 ] && echo yes || echo no)" \
     "(the sidecar closed the TCP connection without a TLS close_notify)"
echo
echo "5. session resumption by the client-side sidecar: the server's first handshake flight, bytes"
if [ -n "$f_first" ]; then
  classify() { awk -v p="$1" -v f="$f_full" -v r="$f_resumed" 'BEGIN { print (p < (f + r) / 2) ? "resumed" : "FULL" }'; }
  burst_resumed=0 burst_n=0
  for b in $f_burst; do
    burst_n=$((burst_n + 1))
    [ "$(classify "$b")" = resumed ] && burst_resumed=$((burst_resumed + 1))
  done
  echo "  references (s_client): full handshake $f_full, resumed $f_resumed"
  echo "  client-mtls, first connection after ${idle_wait} s idle (pool closed by the idle sweep): $f_first -> $(classify "$f_first")"
  echo "  client-mtls, $burst_n more connections opened while that one was open: ${f_burst:-none} -> $burst_resumed resumed"
else
  echo "  (strace not installed: not checked)"
fi
echo
ka_ratio=$(ratio "$(mean rps ka mtls)" "$(mean rps ka plain)")
ka_median=$(pair_ratios ka | median | xargs printf '%.2f')
echo "mTLS throughput x plain, keep-alive: $ka_ratio on the means, $ka_median the median pair (>= 0.8)" \
     "$(awk -v r="$ka_ratio" -v m="$ka_median" 'BEGIN{print (r >= 0.8 && m >= 0.8) ? "yes" : "NO"}');" \
     "sidecar CPU per request x$(ratio "$(mean cpu_proxies ka mtls)" "$(mean cpu_proxies ka plain)")"
echo "p99 added by mTLS (median pair): $(pair_deltas rate p99_us | median | xargs printf '%+.3f') ms at about $rate req/s," \
     "$(pair_deltas ka p99_us | median | xargs printf '%+.3f') ms at full load (keep-alive, $conns connections)"
total_errs=0
for f in "$work"/r.ka.* "$work"/r.rate.* "$work"/r.close.*; do total_errs=$((total_errs + $(errs "${f#"$work"/r.}"))); done
echo "errors in all runs: $total_errs"
for t in plain mtls handshake; do
  [ -f "$work/perf.$t" ] || continue
  echo
  if [ "$t" = handshake ]; then
    echo "full handshakes: CPU profile of the server-side mTLS sidecar during s_time -new," \
         "$(grep -E '^[*r]+$' "$work/s_time.profile" | tr -cd '*' | wc -c) connections in $((hs_seconds + 2)) s" \
         "(perf report --no-children --sort dso,symbol):"
  else
    echo "$t: CPU profile of both sidecars, 5 s of an extra keep-alive run (perf report --no-children --sort dso,symbol):"
  fi
  perf report -i "$work/perf.$t" --no-children --sort dso,symbol -g none --stdio 2>/dev/null |
    sed -n 's/[[:space:]-]*$//; /%/p' | cut -c1-160 | awk 'NR <= 40'
done
