#!/usr/bin/env bash
# A/B of two meshproxy builds: the same nginx upstream (1 worker, `200 ok`), each proxy with 2 threads,
# wrk -t2 -c100 -d10s against A then B, three rounds alternating (a shared machine drifts; compare
# the rounds side by side). Usage: bench/proxy_ab.sh A_MESHPROXY B_MESHPROXY
set -euo pipefail
A=${1:?usage: bench/proxy_ab.sh A_MESHPROXY B_MESHPROXY}; B=${2:?usage: bench/proxy_ab.sh A_MESHPROXY B_MESHPROXY}
work=$(mktemp -d /tmp/proxy-ab-XXXXXX); chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
up=$((21000 + RANDOM % 5000)); pa=$((up+1)); pa_admin=$((up+2)); pb=$((up+3)); pb_admin=$((up+4))
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
http { access_log off; client_body_temp_path $work/up/body; proxy_temp_path $work/up/proxy;
  fastcgi_temp_path $work/up/fcgi; uwsgi_temp_path $work/up/uwsgi; scgi_temp_path $work/up/scgi;
  keepalive_requests 100000000; default_type text/plain;
  server { listen 127.0.0.1:$up; location / { return 200 "ok\n"; } } }
EOF
nginx -p "$work/up" -c "$work/up/nginx.conf" 2>"$work/up/stderr" & pids+=($!)
"$A" --service bench --service-port "$up" --listen "127.0.0.1:$pa" --outbound "" --admin "127.0.0.1:$pa_admin" --threads 2 >"$work/a.log" 2>&1 & pids+=($!)
"$B" --service bench --service-port "$up" --listen "127.0.0.1:$pb" --outbound "" --admin "127.0.0.1:$pb_admin" --threads 2 >"$work/b.log" 2>&1 & pids+=($!)
for i in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$pa/" || true)" = 200 ] &&
  [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$pb/" || true)" = 200 ] && break
  sleep 0.1
done
for round in 1 2 3; do
  for which in A B; do
    port=$pa; [ "$which" = B ] && port=$pb
    echo "round $round $which load $(cut -d' ' -f1 /proc/loadavg): $(wrk -t2 -c100 -d10s --latency "http://127.0.0.1:$port/" | grep -E 'Requests/sec|Non-2xx|Socket errors|^ +99%' | tr -s ' ' | tr '\n' ' ')"
  done
done
