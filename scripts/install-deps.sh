#!/usr/bin/env bash
# Installs the Debian packages mesh needs to build, test and benchmark, when they are missing.
# (`time` is GNU time, /usr/bin/time, which bench/meshlog_bench.sh uses for peak RSS; curl drives
# make demo and the proxy's streaming test; wrk, nginx and haproxy are bench/proxy_bench.sh's load
# generator and peers, started on free ports by the script itself: the services the packages may
# enable are not used. prometheus-alertmanager is the peer of meshalert's interop test, which
# also starts its own on a port the kernel picks. clang and libclang-rt-14-dev, which holds libFuzzer, build
# the fuzz targets of make fuzz and make test; llvm's llvm-symbolizer puts file:line in their
# crash reports. binutils' readelf is the ctest lint.meshproxy_needs's reader of NEEDED entries;
# stress-ng is the CPU load of make flaky-check. libprotobuf-dev and protobuf-compiler build the
# OTLP protobuf messages meshd decodes and the remote-write messages it sends, which libsnappy-dev
# compresses; libnghttp2-dev is meshd's HTTP/2 engine (OTLP/gRPC), and nghttp2-client (nghttp,
# h2load) the HTTP/2 clients of the tests and benchmarks.)
# A no-op when everything is present; runs `apt-get update` once, only when it must install.
set -euo pipefail

# --demo: only what `make demo` builds and runs (no test peers, no clang, no benchmarks), so that
# a newcomer's first run installs a fraction of the list.
demo_packages=(
  build-essential cmake ninja-build pkg-config
  libsqlite3-dev libjsoncpp-dev libcli11-dev
  libcivetweb-dev libcurl4-openssl-dev libssl-dev libboost-dev zlib1g-dev libmimalloc-dev
  libprotobuf-dev protobuf-compiler libnghttp2-dev libsnappy-dev
  curl jq ca-certificates
)
packages=(
  build-essential binutils cmake ninja-build pkg-config
  libsqlite3-dev sqlite3
  libjsoncpp-dev libcli11-dev
  libcivetweb-dev libcurl4-openssl-dev libssl-dev libboost-dev zlib1g-dev libmimalloc-dev
  libprotobuf-dev protobuf-compiler libnghttp2-dev libsnappy-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev llvm
  jq time curl stress-ng nghttp2-client
  wrk nginx haproxy
  prometheus prometheus-alertmanager chromium ca-certificates
)
# The interop tests run node and npm; node 20 may come from outside Debian (NodeSource, nvm).
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
# --bench-grpc: gRPC C++, only for bench/otlp_grpcpp_receiver (the peer bench/otlp_grpc_bench.sh
# measures meshd's own OTLP/gRPC against); nothing that builds or tests mesh needs it.
bench_grpc_packages=(libgrpc++-dev protobuf-compiler-grpc)
if [ "${1:-}" = "--demo" ]; then
  packages=("${demo_packages[@]}")
elif [ "${1:-}" = "--bench-grpc" ]; then
  packages=("${bench_grpc_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Debian starts (and enables) nginx on port 80 and haproxy when it installs them. The benchmark
# runs its own instances on free ports; stop the system ones we just installed, not ones a user
# had before.
for p in "${missing[@]}"; do
  case "$p" in
    nginx | haproxy | prometheus-alertmanager)
      if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$p" 2>/dev/null; then
        systemctl disable --now "$p" >/dev/null 2>&1 || true
      elif [ "$p" = nginx ] && [ -f /run/nginx.pid ]; then
        nginx -s stop 2>/dev/null || true
      fi
      ;;
  esac
done
