#!/usr/bin/env bash
# meshlog_first_query.sh: the first `meshlog query` after a bulk ingest, and what answering it
# fast costs the ingest, against the ingest target's peer, in one run.
#
#   bench/meshlog_first_query.sh [BUILD_DIR] [N]        (defaults: build 5000000)
#
# On N generated JSON lines (bench/gen_logs), each repetition runs, one after the other:
#   1. `meshlog ingest --service gen` (default options) from BUILD_DIR, then at once its first
#      `query --count WORD` and its first `query WORD` (newest 100), each in a new process;
#   2. the same with the meshlog at BASE_MESHLOG (optional: e.g. a build of the commit before),
#      so that before and after are measured under the same load;
#   3. the peer of the ingest target in docs/benchmarks.md: the sqlite3 shell `.import`ing the
#      same rows as CSV into the same table and indexes, default page cache and 32 MiB.
# It checks the answers: both meshlogs' counts equal `grep -c WORD`. Prints a markdown table.
# Environment: REPEATS (1), SEED (42), WORD (exhausted), BASE_MESHLOG (unset: skipped),
# BENCH_DATA (bench/data; a scratch directory is made under it and removed at exit).
set -euo pipefail
export LC_ALL=C
case "${1:-}" in -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || { echo "meshlog_first_query: no build directory ${1:-build}" >&2; exit 2; }
N=${2:-5000000}
[[ $N =~ ^[0-9]+$ && $N -ge 1000 ]] || { echo "meshlog_first_query: N must be a number >= 1000" >&2; exit 2; }
REPEATS=${REPEATS:-1}
SEED=${SEED:-42}
WORD=${WORD:-exhausted}
meshlog=$build/meshlog
base=${BASE_MESHLOG:-}
for tool in "$meshlog" "$build/bench/gen_logs"; do
  [ -x "$tool" ] || { echo "meshlog_first_query: $tool not found (cmake --build build --target meshlog gen_logs)" >&2; exit 2; }
done
[ -z "$base" ] || [ -x "$base" ] || { echo "meshlog_first_query: BASE_MESHLOG $base is not executable" >&2; exit 2; }
for tool in sqlite3 /usr/bin/time; do command -v "$tool" >/dev/null || { echo "meshlog_first_query: $tool not found" >&2; exit 2; }; done
data=${BENCH_DATA:-$repo/bench/data}
mkdir -p "$data"
work=$(mktemp -d "$data/first-query.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "meshlog_first_query: $*" >&2; }

declare -A SAMPLES CPU
# timed KEY STDIN STDOUT CMD...: wall time (us) and CPU (user + sys, s) of one run.
timed() {
  local key=$1 in=$2 out=$3; shift 3
  sync
  local t0=${EPOCHREALTIME/./}
  /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" <"$in" >"$out" 2>"$work/stderr" ||
    { log "step '$key' failed: $*"; cat "$work/stderr" >&2; exit 1; }
  local t1=${EPOCHREALTIME/./}
  SAMPLES[$key]+="$((t1 - t0)) "
  CPU[$key]+="$(tail -n 1 "$work/cpu" | awk '{print $1 + $2}') "
}
# shellcheck disable=SC2086  # $1 is a space-separated list
median() { printf '%s\n' $1 | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
sec() { awk -v us="$(median "${SAMPLES[$1]}")" 'BEGIN {printf "%.2f", us / 1e6}'; }
cpu() { awk -v s="$(median "${CPU[$1]}")" 'BEGIN {printf "%.2f", s}'; }
rate() { awk -v n="$N" -v us="$(median "${SAMPLES[$1]}")" 'BEGIN {printf "%.0f", n / (us / 1e6)}'; }
ratio() { awk -v a="$(median "${SAMPLES[$1]}")" -v b="$(median "${SAMPLES[$2]}")" 'BEGIN {printf "%.2f", a / b}'; }
uncovered() {  # records of the store in neither full-text index (logs_fts, the tail index)
  local tail=0
  [ ! -e "$1-fts" ] || tail=$(sqlite3 "$1-fts" "SELECT coalesce(max(through_id), 0) FROM tail_state")
  sqlite3 "$1" "SELECT count(*) FROM logs WHERE id > max((SELECT indexed_through FROM logs_fts_state), $tail)"
}

jsonl=$work/logs.jsonl
log "generating $N lines"
"$build/bench/gen_logs" "$N" "$SEED" >"$jsonl"
expected=$(grep -c "$WORD" "$jsonl")

# The peer's schema and rows: migration 1 as meshlog created it, and meshlog's own rows as CSV.
"$meshlog" --db "$work/schema.db" write --service bench "schema probe" 2>/dev/null
{ echo "PRAGMA journal_mode=WAL;"; sqlite3 "$work/schema.db" ".schema logs" | sed "s/WHERE trace_id IS NOT NULL/WHERE trace_id != ''/"; } >"$work/schema.sql"
for cache in default 32mib; do
  { echo "PRAGMA synchronous=NORMAL;"; [ "$cache" = default ] || echo "PRAGMA cache_size=-32768;"
    echo "BEGIN;"; echo ".import --csv $work/rows.csv logs"; echo "COMMIT;"; } >"$work/import-$cache.sql"
done

declare -A UNCOVERED
contenders=(new)
[ -z "$base" ] || contenders+=(base)
for r in $(seq "$REPEATS"); do
  for who in "${contenders[@]}"; do
    bin=$meshlog; [ "$who" = new ] || bin=$base
    db=$work/$who.db
    rm -f "$db"*
    log "$who: ingest, run $r/$REPEATS"
    timed "ingest_$who" "$jsonl" /dev/null "$bin" --db "$db" ingest --service gen
    UNCOVERED[$who]=$(uncovered "$db")
    timed "count_$who" /dev/null "$work/count" "$bin" --db "$db" query --count "$WORD"
    [ "$(cat "$work/count")" = "$expected" ] || { log "$who counted $(cat "$work/count") '$WORD', grep $expected"; exit 1; }
    timed "query_$who" /dev/null /dev/null "$bin" --db "$db" query "$WORD"
    timed "again_$who" /dev/null /dev/null "$bin" --db "$db" query --count "$WORD"
    if [ ! -e "$work/rows.csv" ]; then
      sqlite3 -csv "$db" "SELECT id, ts_ns, service, level, message, trace_id, span_id, attributes FROM logs ORDER BY id" >"$work/rows.csv"
    fi
    rm -f "$db"*
  done
  for cache in default 32mib; do
    log "sqlite3 .import ($cache cache), run $r/$REPEATS"
    rm -f "$work/peer.db"*
    sqlite3 "$work/peer.db" <"$work/schema.sql" >/dev/null
    timed "import_$cache" "$work/import-$cache.sql" /dev/null sqlite3 -bail "$work/peer.db"
    rm -f "$work/peer.db"*
  done
done

echo "## The first meshlog query after a bulk ingest: N = $N lines, $REPEATS run(s), medians"
echo
echo "$(nproc) CPUs, load average before the report: $(cut -d' ' -f1-3 /proc/loadavg); meshlog from $build$([ -z "$base" ] || echo ", base $base")."
echo
echo "| meshlog | ingest (s) | rows/s | CPU (s) | ÷ .import default | ÷ .import 32 MiB | unindexed after ingest | first query --count (s) | CPU (s) | first query, newest 100 (s) | second query --count (s) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for who in "${contenders[@]}"; do
  echo "| $who | $(sec "ingest_$who") | $(rate "ingest_$who") | $(cpu "ingest_$who") | $(ratio import_default "ingest_$who")x | $(ratio import_32mib "ingest_$who")x | ${UNCOVERED[$who]} | $(sec "count_$who") | $(cpu "count_$who") | $(sec "query_$who") | $(sec "again_$who") |"
done
echo
echo "| peer | import (s) | rows/s | CPU (s) |"
echo "|---|---|---|---|"
for cache in default 32mib; do
  echo "| sqlite3 .import, $cache cache | $(sec "import_$cache") | $(rate "import_$cache") | $(cpu "import_$cache") |"
done
echo
echo "Both counts of '$WORD' equal grep -c: $expected."
