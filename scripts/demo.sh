#!/usr/bin/env bash
# make demo: a tour of what mesh does today. The full mesh demo (meshd, services behind
# meshproxy sidecars, live traffic) arrives with meshd and meshproxy; until then this shows
# meshlog on a fresh store fed by a small instrumented C++ service and a stream of app output.
set -euo pipefail
build=${1:-build}
bin="$build"
demo_dir=$(mktemp -d /tmp/mesh-demo-XXXXXX)
export MESH_DB="$demo_dir/mesh.db"
export NO_COLOR=${NO_COLOR:-}

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "logger_example $MESH_DB    # a C++ service using mesh::Logger (stdout + store)"
"$bin/logger_example" "$MESH_DB" >/dev/null

step "fake app output | meshlog ingest --service api"
for i in $(seq 1 200); do
  case $((i % 10)) in
    0) printf '{"level":"error","msg":"upstream timeout","route":"/orders","latency_ms":%d}\n' $((900 + i)) ;;
    3) printf 'level=warn msg="slow query" table=orders dur_ms=%d\n' $((200 + i)) ;;
    *) printf '{"level":"info","msg":"request handled","route":"/orders","status":200,"latency_ms":%d}\n' $((i % 50)) ;;
  esac
done | "$bin/meshlog" ingest --service api

step "meshlog write --service billing --level warn 'card expiring' customer=42"
"$bin/meshlog" write --service billing --level warn "card expiring" customer=42

step "meshlog tail -n 5 -o pretty"
"$bin/meshlog" tail -n 5 -o pretty

step "meshlog tail --service api --level error -n 2 | jq -c '{message, latency_ms}'"
if command -v jq >/dev/null; then
  "$bin/meshlog" tail --service api --level error -n 2 | jq -c '{message, latency_ms}'
else
  "$bin/meshlog" tail --service api --level error -n 2
fi

step "meshlog query '\"upstream timeout\"' --count"
"$bin/meshlog" query '"upstream timeout"' --count

step "meshlog stats"
"$bin/meshlog" stats

cat <<MSG

The store is $MESH_DB; try:
  export MESH_DB=$MESH_DB
  meshlog tail -f                      # then, in another shell: meshlog write hello
  meshlog query 'order*' -o pretty
  man -l man/meshlog.1
MSG
