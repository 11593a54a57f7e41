# The three-service mesh that `make demo` and `make soak` run, as shell functions to source:
# meshd with its store, and frontend -> orders -> payments, each a mesh_demo_service behind a
# meshproxy sidecar (payments fails 4 % of requests and has a 5 % slow tail of 400 ms).
# The sidecars talk mTLS with certificates from meshd's CA, each obtained with its own service's
# scoped token (`meshd token create`; frontend, the edge, also takes plain callers), and meshd's policy is share/mesh/policy.example.json: frontend may call orders,
# orders may call payments, nothing else.
#
#   . scripts/mesh-stack.sh
#   stack_start BUILD_DIR WORK_DIR BASE_PORT   # sets bin, url, front, MESH_DB, MESH_SERVER, pids
#   stack_stop                                 # stops every process it started
#
# Ports BASE_PORT .. BASE_PORT+12: meshd, then per service (frontend, orders, payments) its port,
# its sidecar's inbound, outbound and admin ports.

pids=()

stack_stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # file pattern what
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$3 did not start:" >&2; cat "$1" >&2; exit 1
}

# name, index, next service, extra sidecar flags (one word), extra service flags
stack_service() {
  local name=$1 i=$2 next=$3 proxy_extra=$4; shift 4
  local svc=$((base + 1 + i)) in=$((base + 4 + i)) out=$((base + 7 + i)) admin=$((base + 10 + i))
  "$bin/mesh_demo_service" --name "$name" --port "$svc" --outbound "127.0.0.1:$out" \
    --meshd "$url" ${next:+--next "$next"} "$@" >"$stack_dir/$name.log" 2>&1 &
  pids+=($!)
  wait_for "$stack_dir/$name.log" "listening" "$name"
  "$bin/meshproxy" --service "$name" --service-port "$svc" --listen "127.0.0.1:$in" \
    --outbound "127.0.0.1:$out" --admin "127.0.0.1:$admin" --meshd "$url" --threads 1 \
    --app-metrics-path /metrics \
    --mtls --token-file "$stack_dir/$name.token" --data-dir "$stack_dir/$name" ${proxy_extra:+"$proxy_extra"} \
    2>"$stack_dir/$name-proxy.log" &
  pids+=($!)
  wait_for "$stack_dir/$name-proxy.log" "meshproxy listening" "meshproxy for $name"
}

stack_start() {  # build_dir work_dir base_port
  bin=$(cd "$1" && pwd)
  stack_dir=$2
  base=$3
  export MESH_DB="$stack_dir/mesh.db"
  for p in $(seq "$base" $((base + 12))); do
    if port_busy "$p"; then echo "port $p is in use: choose another base port (13 free ports)" >&2; exit 1; fi
  done
  # One scoped token per service: each sidecar can get its own certificate and no other.
  # (--ttl 0: over plain HTTP to meshd the token stays the sidecar's credential for renewals.)
  local name
  for name in frontend orders payments; do
    (umask 077 && "$bin/meshd" --db "$MESH_DB" token create --service "$name" --ttl 0 \
      >"$stack_dir/$name.token" 2>/dev/null)
  done
  local share
  share=$(cd "$(dirname "${BASH_SOURCE[0]}")/../share/mesh" && pwd)
  "$bin/meshd" --listen "127.0.0.1:$base" --db "$MESH_DB" \
    --policy "$share/policy.example.json" 2>"$stack_dir/meshd.log" &
  pids+=($!)
  wait_for "$stack_dir/meshd.log" "meshd listening" meshd
  url="http://127.0.0.1:$base"
  export MESH_SERVER=$url
  stack_service payments 2 "" "" --fail-percent 4 --slow-percent 5 --slow-ms 400
  stack_service orders 1 payments ""
  stack_service frontend 0 orders --plaintext-inbound
  front="http://127.0.0.1:$((base + 4))"
  # Ready once a request crosses all three services (the sidecars discover each other through
  # meshd in the background).
  for _ in $(seq 1 100); do
    [[ $(curl -s "$front/checkout" || true) == *payments* ]] && return 0
    sleep 0.1
  done
  echo "the mesh did not route frontend -> orders -> payments within 10 s" >&2
  exit 1
}
