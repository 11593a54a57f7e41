#!/usr/bin/env bash
# A/B mode for the benchmark scripts: runs one bench/ script against two builds (two commits,
# each configured and built in its own directory), ROUNDS times each, interleaved A B, B A,
# A B, ... so that load from other work on a shared machine falls on both alike. Every run's
# whole output is kept; the lines matching AB_GREP (an extended regex, default: every line) are
# printed per run, A and B side by side in run order, for the table in docs/benchmarks.md.
#
#   bench/ab.sh BUILD_A BUILD_B ROUNDS SCRIPT [ARGS...]
#   e.g. two commits of meshproxy, 4 s throughput runs, three rounds:
#     git worktree add /tmp/a 2ede4ea && cmake -S /tmp/a -B /tmp/a/build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/a/build
#     DURATION=4 AB_GREP='^\| (meshproxy|nginx) ' bench/ab.sh /tmp/a/build build 3 bench/proxy_bench.sh
#
# SCRIPT gets the build directory as its first argument, then ARGS; the environment passes
# through (DURATION=, REPEATS=, ...). Outputs go to bench/data/ab-<time>/{a,b}-<round>.txt
# (BENCH_DATA overrides bench/data).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build_a=$(cd "$1" && pwd)
build_b=$(cd "$2" && pwd)
rounds=$3
script=$4
shift 4
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ab: ROUNDS must be a positive integer, not '$rounds'" >&2; exit 2; }
[ -x "$script" ] || { echo "ab: $script is not an executable script" >&2; exit 2; }
pattern=${AB_GREP:-.}
out="${BENCH_DATA:-$(dirname "$0")/data}/ab-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

run() {  # side round [ARGS...]
  local side=$1 round=$2 build
  shift 2
  build=$([ "$side" = a ] && echo "$build_a" || echo "$build_b")
  echo "ab: round $round, $side = $build (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$script" "$build" "$@" >"$out/$side-$round.txt" 2>&1 ||
    { echo "ab: $script failed on $build, see $out/$side-$round.txt" >&2; exit 1; }
}

for round in $(seq "$rounds"); do
  if (( round % 2 )); then order=(a b); else order=(b a); fi
  for side in "${order[@]}"; do run "$side" "$round" "$@"; done
done

echo "# A = $build_a"
echo "# B = $build_b"
echo "# $script $*, $rounds round(s); outputs in $out"
for round in $(seq "$rounds"); do
  for side in a b; do
    echo "## ${side^^} round $round"
    grep -E -- "$pattern" "$out/$side-$round.txt" || echo "(no line matches AB_GREP)"
  done
done
