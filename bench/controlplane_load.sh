#!/usr/bin/env bash
# Control-plane load: 1,000 simulated sidecars (bench/controlplane_load.cpp) against one meshd
# on a temporary store and a free port, in two scenarios:
#  1. steady: every instance registers, heartbeats every 5 s and refreshes discovery every 2 s;
#     heartbeat, discovery and /healthz latency, meshd's CPU and peak RSS.
#  2. restart: meshd killed with SIGKILL and started again on the same store and port; the time
#     until every sidecar has heartbeated again (target: one heartbeat interval plus a second).
# Builds nothing. Usage: bench/controlplane_load.sh BUILD_DIR [MESHD_ARGS...]
#   e.g. bench/controlplane_load.sh build --threads 1024
# Environment: SIDECARS (1000), SERVICES (100), DURATION (60, the steady run's seconds),
# RESTART_AFTER (20) and RESTART_DURATION (35, the restart run's seconds).
set -euo pipefail
build=$(cd "${1:?usage: bench/controlplane_load.sh BUILD_DIR [MESHD_ARGS...]}" && pwd)
shift
tool="$build/bench/controlplane_load"
for f in "$build/meshd" "$tool"; do
  [ -x "$f" ] || { echo "controlplane_load.sh: $f missing (cmake --build $build --target meshd controlplane_load)" >&2; exit 2; }
done
sidecars=${SIDECARS:-1000}
services=${SERVICES:-100}
work=$(mktemp -d /tmp/controlplane-load-XXXXXX)
tool_pid=
# The tool stops the meshd it started (SIGTERM, and the kernel's SIGKILL if the tool dies).
trap '[ -n "$tool_pid" ] && kill "$tool_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

run() {  # name, tool options...
  local name=$1
  shift
  mkdir -p "$work/$name"
  "$tool" --sidecars "$sidecars" --services "$services" --meshd-log "$work/$name/meshd.log" "$@" \
    -- "$build/meshd" --listen '127.0.0.1:{port}' --db "$work/$name/mesh.db" "${meshd_args[@]}" &
  tool_pid=$!
  local rc=0
  wait "$tool_pid" || rc=$?
  tool_pid=
  # 1: figures printed, a target missed; anything else: no figures.
  if [ "$rc" -gt 1 ]; then
    echo "controlplane_load.sh: $name run failed (exit $rc); meshd's log:" >&2
    tail -5 "$work/$name/meshd.log" >&2 2>/dev/null || true
  fi
}

meshd_args=("$@")
echo "## meshd ${meshd_args[*]:-(defaults)}: $sidecars sidecars over $services services, $(nproc) cores"
echo "# steady, ${DURATION:-60} s"
run steady --duration "${DURATION:-60}"
echo "# kill -9 after ${RESTART_AFTER:-20} s, restart on the same store and port"
run restart --duration "${RESTART_DURATION:-35}" --restart-after "${RESTART_AFTER:-20}"
