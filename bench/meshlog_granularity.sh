#!/usr/bin/env bash
# meshlog_granularity.sh: the commit-granularity control of docs/benchmarks.md as a script. The
# same N generated rows are ingested by `meshlog ingest --no-index` and imported by the sqlite3
# shell into the same schema (meshlog_bench.sh's peer: WAL, synchronous=NORMAL, cache_size=-32768),
# the peer once in one transaction and once per chunk of rows, to show what the size of each
# commit costs. One run of each, in one table: wall time, rows/s, user and system CPU.
#
#   bench/meshlog_granularity.sh [BUILD_DIR] [N]     (defaults: build 5000000)
#   CHUNKS="32768 262144" (transaction sizes of the chunked imports), AUTOCHECKPOINT=16384 (a
#   further 32,768-row import with that wal_autocheckpoint; empty skips it), SEED=42, BENCH_DATA.
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || { echo "meshlog_granularity: no build directory ${1:-build}" >&2; exit 2; }
N=${2:-5000000}
[[ $N =~ ^[0-9]+$ && $N -ge 1000 ]] || { echo "meshlog_granularity: N must be a number >= 1000, not '$N'" >&2; exit 2; }
CHUNKS=${CHUNKS:-32768 262144}
AUTOCHECKPOINT=${AUTOCHECKPOINT-16384}
SEED=${SEED:-42}
for tool in sqlite3 split /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "meshlog_granularity: $tool not found (scripts/install-deps.sh)" >&2; exit 2; }
done
[ -x "$build/bench/gen_logs" ] || { echo "meshlog_granularity: $build/bench/gen_logs not found" >&2; exit 2; }
data=${BENCH_DATA:-$repo/bench/data}
mkdir -p "$data"
work=$(mktemp -d "$data/granularity.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "meshlog_granularity: $*" >&2; }

rows=()
# run LABEL STDIN CMD...: one run under GNU time; adds a table row.
run() {
  local label=$1 in=$2; shift 2
  sync
  local load t0 t1
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=${EPOCHREALTIME/./}
  /usr/bin/time -f '%U %S' -o "$work/time" "$@" <"$in" >/dev/null 2>"$work/stderr" ||
    { log "'$label' failed"; cat "$work/stderr" >&2; exit 1; }
  t1=${EPOCHREALTIME/./}
  read -r user sys <"$work/time"
  rows+=("$(awk -v l="$label" -v us="$((t1 - t0))" -v n="$N" -v u="$user" -v s="$sys" -v load="$load" \
    'BEGIN {printf "| %s | %.1f s | %.0f | %.1f + %.1f s | %s |", l, us / 1e6, n / (us / 1e6), u, s, load}')")
}
fresh() { rm -f "$1" "$1-wal" "$1-shm"; }

log "generating $N lines (seed $SEED)"
"$build/bench/gen_logs" "$N" "$SEED" >"$work/logs.jsonl"
db=$work/meshlog.db
run "\`meshlog ingest --no-index\`" "$work/logs.jsonl" "$build/meshlog" --db "$db" ingest --service gen --no-index
[ "$(sqlite3 "$db" 'SELECT count(*) FROM logs')" = "$N" ] || { log "meshlog stored the wrong number of rows"; exit 1; }
# The peer's rows and schema come from meshlog's store, as in meshlog_bench.sh.
sqlite3 -csv "$db" "SELECT id, ts_ns, service, level, message, trace_id, span_id, attributes FROM logs ORDER BY id" >"$work/rows.csv"
{
  echo "PRAGMA journal_mode=WAL;"
  sqlite3 "$db" ".schema logs" | sed "s/WHERE trace_id IS NOT NULL/WHERE trace_id != ''/"
} >"$work/schema.sql"
fresh "$db"

# import LABEL CHUNK_ROWS [AUTOCHECKPOINT]: the peer, one transaction per CHUNK_ROWS (0: one).
import() {
  local label=$1 chunk=$2 checkpoint=${3:-} peer=$work/peer.db part
  fresh "$peer"
  sqlite3 "$peer" <"$work/schema.sql" >/dev/null
  rm -f "$work"/chunk.* "$work/import.sql"
  if [ "$chunk" = 0 ]; then cp "$work/rows.csv" "$work/chunk.all"; else split -l "$chunk" "$work/rows.csv" "$work/chunk."; fi
  {
    echo "PRAGMA synchronous=NORMAL;"
    echo "PRAGMA cache_size=-32768;"
    [ -z "$checkpoint" ] || echo "PRAGMA wal_autocheckpoint=$checkpoint;"
    for part in "$work"/chunk.*; do
      echo "BEGIN;"
      echo ".import --csv $part logs"
      echo "COMMIT;"
    done
  } >"$work/import.sql"
  run "$label" "$work/import.sql" sqlite3 -bail "$peer"
  [ "$(sqlite3 "$peer" 'SELECT count(*) FROM logs')" = "$N" ] || { log "'$label' stored the wrong number of rows"; exit 1; }
  fresh "$peer"
}
import "\`.import\`, one transaction" 0
for c in $CHUNKS; do import "\`.import\`, one transaction per $c rows" "$c"; done
[ -z "$AUTOCHECKPOINT" ] || import "\`.import\`, one transaction per 32768 rows, \`wal_autocheckpoint=$AUTOCHECKPOINT\`" 32768 "$AUTOCHECKPOINT"

echo "## Commit granularity, N = $N (meshlog at $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown))"
echo
echo "| ingest | wall | rows/s | user + sys CPU | load (1 min) before |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
