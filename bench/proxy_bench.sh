#!/usr/bin/env bash
# meshproxy against its peers, nginx and haproxy as reverse proxies, in the same run. One upstream,
# nginx (1 worker, access log off) answering `200 ok` on 127.0.0.1, is measured direct, then
# behind each proxy (each with 2 threads or workers and pooled keep-alive upstream connections):
#   meshproxy --service bench --service-port UP --outbound "" --threads 2     (no --meshd)
#   nginx     2 workers, upstream block with keepalive 64, HTTP/1.1 upstream, access log on (file)
#   haproxy   nbthread 2, mode http, http-reuse always
# wrk drives every target the same way, on the same 2 threads:
#  1. throughput: -c100 for DURATION s; requests/s, p50/p99, errors, ratios to nginx and direct,
#     CPU time per request of the proxy's processes (from /proc/PID/stat);
#  2. latency at a fixed rate: Debian's wrk 4 has no -R, so RATE_CONNS connections each wait
#     RATE_CONNS*1000/RATE ms between a response and their next request (wrk's delay() hook):
#     about RATE req/s, the achieved rate is printed; p50/p99 and their excess over direct;
#  3. 256 connections for DURATION s against each proxy: throughput, errors and the proxy's RSS
#     (VmRSS from /proc, summed over nginx's master and workers), sampled every 0.5 s.
# meshproxy's RSS is also read idle, before any load. PROFILE=1 adds one more run 1 against
# meshproxy, recorded for 5 s by `perf record -g`, and prints the top of `perf report`.
# Usage: bench/proxy_bench.sh BUILD_DIR      (DURATION=15 RATE=2000 RATE_CONNS=20 PROFILE=0)
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
duration=${DURATION:-15}
rate=${RATE:-2000}
rate_conns=${RATE_CONNS:-20}
for tool in wrk nginx haproxy curl ss; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "proxy_bench: $tool not found (run scripts/install-deps.sh)" >&2; exit 2; }
done
[ -x "$build/meshproxy" ] ||
  { echo "proxy_bench: $build/meshproxy not found (build the meshproxy target)" >&2; exit 2; }

work=$(mktemp -d /tmp/proxy-bench-XXXXXX)
chmod 755 "$work"  # nginx workers may run as nobody when we are root
pids=()
stop_pid() {  # pid: TERM, up to 5 s, then KILL it and its children (nginx workers)
  local p=$1 kids
  kids=$(pgrep -P "$p" 2>/dev/null || true)
  kill "$p" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  # shellcheck disable=SC2086  # kids is a list of pids
  if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" $kids 2>/dev/null || true; fi
  wait "$p" 2>/dev/null || true
}
cleanup() {
  for p in "${pids[@]}"; do stop_pid "$p"; done
  rm -rf "$work"
}
trap cleanup EXIT

used_ports=" "
free_port() {  # var: a port no socket uses, below the ephemeral range, not handed out before
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    case "$used_ports" in *" $p "*) continue ;; esac
    if [ -z "$(ss -Htan "sport = :$p")" ]; then used_ports+="$p "; printf -v "$1" %s "$p"; return 0; fi
  done
  echo "proxy_bench: no free port found" >&2; exit 1
}
wait_ok() {  # url pid log: until the url answers 200, at most 10 s
  local deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$2" 2>/dev/null || { echo "proxy_bench: $1: server exited" >&2; cat "$3" >&2; exit 1; }
    [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.05
  done
  echo "proxy_bench: $1 did not answer 200 within 10 s" >&2; cat "$3" >&2; exit 1
}
rss_kb() {  # pid...: VmRSS summed over the pids and their children
  local total=0 p
  for p in "$@" $(pgrep -P "$1" 2>/dev/null || true); do
    total=$((total + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
cpu_ticks() {  # pid: user+system clock ticks of the pid (all threads) and its children
  local total=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
load1() { cut -d' ' -f1 /proc/loadavg; }

up='' mp='' mp_admin='' ngx='' hap=''
free_port up; free_port mp; free_port mp_admin; free_port ngx; free_port hap
ngx_user=""
[ "$(id -u)" -eq 0 ] || ngx_user="#"  # the user directive only means something to root

# --- the upstream: nginx, 1 worker, a 3-byte body, no access log
mkdir -p "$work/up" "$work/px"
nginx_common() {  # prefix
  cat <<EOF
daemon off;
${ngx_user}user nobody nogroup;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
EOF
}
{ nginx_common "$work/up"; cat <<EOF
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
} >"$work/up/nginx.conf"
nginx -p "$work/up" -c "$work/up/nginx.conf" 2>"$work/up/stderr" &
up_pid=$!; pids+=("$up_pid")
wait_ok "http://127.0.0.1:$up/" "$up_pid" "$work/up/stderr"

# --- meshproxy
"$build/meshproxy" --service bench --service-port "$up" --listen "127.0.0.1:$mp" --outbound "" \
  --admin "127.0.0.1:$mp_admin" --threads 2 >"$work/meshproxy.log" 2>&1 &
mp_pid=$!; pids+=("$mp_pid")
wait_ok "http://127.0.0.1:$mp_admin/healthz" "$mp_pid" "$work/meshproxy.log"
sleep 1
mp_rss_idle=$(rss_kb "$mp_pid")  # before the first proxied request
wait_ok "http://127.0.0.1:$mp/" "$mp_pid" "$work/meshproxy.log"

# --- nginx as a reverse proxy: 2 workers, pooled upstream connections, access log on
{ nginx_common "$work/px"; cat <<EOF
worker_processes 2;
worker_rlimit_nofile 8192;
http {
  access_log $work/px/access.log;
  client_body_temp_path $work/px/body; proxy_temp_path $work/px/proxy;
  fastcgi_temp_path $work/px/fcgi; uwsgi_temp_path $work/px/uwsgi; scgi_temp_path $work/px/scgi;
  keepalive_requests 100000000;
  upstream bench { server 127.0.0.1:$up; keepalive 64; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:$ngx;
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
} >"$work/px/nginx.conf"
nginx -p "$work/px" -c "$work/px/nginx.conf" 2>"$work/px/stderr" &
ngx_pid=$!; pids+=("$ngx_pid")
wait_ok "http://127.0.0.1:$ngx/" "$ngx_pid" "$work/px/stderr"

# --- haproxy: 2 threads, http mode, upstream connections reused across clients
cat >"$work/haproxy.cfg" <<EOF
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend bench
  bind 127.0.0.1:$hap
  default_backend bench
backend bench
  server up 127.0.0.1:$up
EOF
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
hap_pid=$!; pids+=("$hap_pid")
wait_ok "http://127.0.0.1:$hap/" "$hap_pid" "$work/haproxy.log"

# wrk prints one machine-readable line at the end; WRK_DELAY_MS turns on the fixed-rate pacing.
cat >"$work/bench.lua" <<'EOF'
local d = tonumber(os.getenv("WRK_DELAY_MS") or "")
if d then function delay() return d end end
function done(s, lat, _)
  local e = s.errors
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d max_us=%d non2xx=%d socket=%d\n",
    s.requests / (s.duration / 1e6), lat:percentile(50), lat:percentile(99), lat.max, e.status,
    e.connect + e.read + e.write + e.timeout))
end
EOF

run_wrk() {  # name url phase connections [delay_ms]: leaves "load=L rps=..." in $work/r.NAME.PHASE
  local out
  out="load=$(load1) $(WRK_DELAY_MS=${5:-} wrk -t2 -c"$4" -d"${duration}s" --latency \
    -s "$work/bench.lua" "$2" | grep '^RESULT ')" ||
    { echo "proxy_bench: wrk against $1 ($3) failed" >&2; exit 1; }
  echo "${out/RESULT /}" >"$work/r.$1.$3"
}
get() { tr ' ' '\n' <"$work/r.$1.$2" | sed -n "s/^$3=//p"; }  # name phase field
ms() { awk -v u="$1" 'BEGIN{printf "%.3f", u/1000}'; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
errs() { echo $(($(get "$1" "$2" non2xx) + $(get "$1" "$2" socket))); }
fmt_rps() { printf "%.0f" "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

declare -A URL=([direct]="http://127.0.0.1:$up/" [meshproxy]="http://127.0.0.1:$mp/"
                [nginx]="http://127.0.0.1:$ngx/" [haproxy]="http://127.0.0.1:$hap/")
declare -A PID=([direct]=$up_pid [meshproxy]=$mp_pid [nginx]=$ngx_pid [haproxy]=$hap_pid)
declare -A CPU_US  # CPU time per request of the target's process in run 1 (direct: the upstream)
hz=$(getconf CLK_TCK)
targets=(direct meshproxy nginx haproxy)
proxies=(meshproxy nginx haproxy)
load_start=$(load1)

# 1. throughput at 100 connections
for t in "${targets[@]}"; do
  ticks=$(cpu_ticks "${PID[$t]}")
  run_wrk "$t" "${URL[$t]}" c100 100
  ticks=$(($(cpu_ticks "${PID[$t]}") - ticks))
  CPU_US[$t]=$(awk -v t="$ticks" -v hz="$hz" -v r="$(get "$t" c100 rps)" -v d="$duration" \
    'BEGIN{printf "%.1f", t / hz * 1e6 / (r * d)}')
done
# 2. latency at a fixed rate
delay_ms=$((rate_conns * 1000 / rate))
for t in "${targets[@]}"; do run_wrk "$t" "${URL[$t]}" rate "$rate_conns" "$delay_ms"; done
# 3. 256 connections, each proxy's RSS sampled meanwhile
declare -A RSS_PEAK RSS_AFTER
for t in "${proxies[@]}"; do
  run_wrk "$t" "${URL[$t]}" c256 256 &
  wrk_job=$!
  peak=0
  while kill -0 "$wrk_job" 2>/dev/null; do
    r=$(rss_kb "${PID[$t]}"); [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.5
  done
  wait "$wrk_job"
  RSS_PEAK[$t]=$peak
  sleep 1
  RSS_AFTER[$t]=$(rss_kb "${PID[$t]}")
done
load_end=$(load1)
# 4. PROFILE=1: one more run 1 against meshproxy, not reported, with perf recording 5 s of it
if [ "${PROFILE:-0}" = 1 ]; then
  run_wrk meshproxy "${URL[meshproxy]}" profile 100 &
  wrk_job=$!
  sleep $((duration > 10 ? duration / 2 - 2 : 1))
  perf record -q -g -o "$work/perf.data" -p "$mp_pid" -- sleep 5 >/dev/null 2>&1 || true
  wait "$wrk_job"
fi

echo "## meshproxy vs nginx and haproxy: $(nproc) cores, wrk -t2, ${duration} s per run," \
     "load $load_start -> $load_end"
echo
echo "1. throughput, 100 connections (CPU us/req: the proxy's processes; direct: the upstream's)"
echo
echo "| target | req/s | p50 ms | p99 ms | errors | x nginx | x direct | CPU us/req | load |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  echo "| $t | $(fmt_rps "$(get "$t" c100 rps)") | $(ms "$(get "$t" c100 p50_us)")" \
       "| $(ms "$(get "$t" c100 p99_us)") | $(errs "$t" c100)" \
       "| $(ratio "$(get "$t" c100 rps)" "$(get nginx c100 rps)")" \
       "| $(ratio "$(get "$t" c100 rps)" "$(get direct c100 rps)") | ${CPU_US[$t]}" \
       "| $(get "$t" c100 load) |"
done
echo
echo "2. latency at about $rate req/s ($rate_conns connections, ${delay_ms} ms between a" \
     "connection's response and its next request)"
echo
echo "| target | req/s | p50 ms | p99 ms | max ms | p50 over direct | p99 over direct | errors | load |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  echo "| $t | $(fmt_rps "$(get "$t" rate rps)") | $(ms "$(get "$t" rate p50_us)")" \
       "| $(ms "$(get "$t" rate p99_us)") | $(ms "$(get "$t" rate max_us)")" \
       "| $(ms $(($(get "$t" rate p50_us) - $(get direct rate p50_us))))" \
       "| $(ms $(($(get "$t" rate p99_us) - $(get direct rate p99_us))))" \
       "| $(errs "$t" rate) | $(get "$t" rate load) |"
done
echo
echo "3. 256 connections; RSS (MiB) of the proxy, nginx = master + 2 workers"
echo
echo "| proxy | req/s | p99 ms | errors | RSS idle | RSS peak under load | RSS 1 s after | load |"
echo "|---|---|---|---|---|---|---|---|"
for t in "${proxies[@]}"; do
  idle="—"; [ "$t" = meshproxy ] && idle=$(mib "$mp_rss_idle")
  echo "| $t | $(fmt_rps "$(get "$t" c256 rps)") | $(ms "$(get "$t" c256 p99_us)")" \
       "| $(errs "$t" c256) | $idle | $(mib "${RSS_PEAK[$t]}") | $(mib "${RSS_AFTER[$t]}")" \
       "| $(get "$t" c256 load) |"
done
echo
met() { awk -v a="$1" -v b="$2" 'BEGIN{print (a + 0 '"$3"' b + 0) ? "yes" : "NO"}'; }
m_rps=$(get meshproxy c100 rps)
add50=$(ms $(($(get meshproxy rate p50_us) - $(get direct rate p50_us))))
add99=$(ms $(($(get meshproxy rate p99_us) - $(get direct rate p99_us))))
m_errs=$(($(errs meshproxy c100) + $(errs meshproxy rate) + $(errs meshproxy c256)))
echo "meshproxy targets:"
echo "  throughput x nginx  $(ratio "$m_rps" "$(get nginx c100 rps)") (>= 1.0)  $(met "$(ratio "$m_rps" "$(get nginx c100 rps)")" 1.0 '>=')"
echo "  throughput x direct $(ratio "$m_rps" "$(get direct c100 rps)") (>= 0.5)  $(met "$(ratio "$m_rps" "$(get direct c100 rps)")" 0.5 '>=')"
echo "  added p50 ${add50} ms (< 0.3)  $(met "$add50" 0.3 '<')"
echo "  added p99 ${add99} ms (< 1)  $(met "$add99" 1 '<')"
echo "  RSS idle $(mib "$mp_rss_idle") MiB (< 10)  $(met "$(mib "$mp_rss_idle")" 10 '<')"
echo "  RSS at 256 connections $(mib "${RSS_PEAK[meshproxy]}") MiB (< 30)  $(met "$(mib "${RSS_PEAK[meshproxy]}")" 30 '<')"
echo "  errors $m_errs (0)  $(met "$m_errs" 0 '==')"
if [ -f "$work/perf.data" ]; then
  echo
  echo "meshproxy CPU profile, 5 s of an extra run 1 (perf report --no-children --sort dso,symbol):"
  perf report -i "$work/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null |
    sed -n 's/[[:space:]-]*$//; /%/p' | cut -c1-160 | awk 'NR <= 40'
fi
