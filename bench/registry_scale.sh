#!/usr/bin/env bash
# The registry at scale (issue 22): 10,000 instances of 1,000 services heartbeating every 5 s
# against one meshd, 1,000 of their sidecars polling discovery every 2 s (each watching 3
# services and "watched"), and a change (a new instance of "watched", then its ejection one TTL
# later) that must reach all 1,000 pollers. Run three times on the same load: sidecars
# long-polling (?wait=30s with If-None-Match, one connection per upstream: meshproxy now), sidecars
# polling every 2 s with If-None-Match (meshproxy before long-polling) and sidecars fetching
# every time (before the ETag).
# Prints the tool's key=value line for each (bench/controlplane_load.cpp explains the figures).
# Builds nothing. Usage: bench/registry_scale.sh BUILD_DIR [MESHD_ARGS...]
# Environment: INSTANCES (10000), SERVICES (1000), POLLERS (1000), WATCH (3), DURATION (60),
# CHANGE_AT (30).
set -euo pipefail
build=$(cd "${1:?usage: bench/registry_scale.sh BUILD_DIR [MESHD_ARGS...]}" && pwd)
shift
tool="$build/bench/controlplane_load"
for f in "$build/meshd" "$tool"; do
  [ -x "$f" ] || { echo "registry_scale.sh: $f missing (cmake --build $build --target meshd controlplane_load)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/registry-scale-XXXXXX)
tool_pid=
# The tool stops the meshd it started (SIGTERM, and the kernel's SIGKILL if the tool dies).
trap '[ -n "$tool_pid" ] && kill "$tool_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

run() {  # name, tool options...
  local name=$1
  shift
  mkdir -p "$work/$name"
  echo "# $name"
  "$tool" --sidecars "${INSTANCES:-10000}" --services "${SERVICES:-1000}" --pollers "${POLLERS:-1000}" \
    --watch "${WATCH:-3}" --duration "${DURATION:-60}" --change-at "${CHANGE_AT:-30}" \
    --meshd-log "$work/$name/meshd.log" "$@" \
    -- "$build/meshd" --listen '127.0.0.1:{port}' --db "$work/$name/mesh.db" "${meshd_args[@]}" &
  tool_pid=$!
  local rc=0
  wait "$tool_pid" || rc=$?
  tool_pid=
  if [ "$rc" -gt 1 ]; then
    echo "registry_scale.sh: $name run failed (exit $rc); meshd's log:" >&2
    tail -5 "$work/$name/meshd.log" >&2 2>/dev/null || true
  fi
}

meshd_args=("$@")
echo "## meshd ${meshd_args[*]:-(defaults)}, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
run long-poll --etag --wait 30
run etag --etag
run no-etag
