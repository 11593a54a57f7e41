#!/usr/bin/env bash
# meshlog_bench.sh: measures meshlog against its peers in one run and prints markdown tables.
#
#   bench/meshlog_bench.sh [BUILD_DIR] [N]        (defaults: build 5000000)
#
# What it measures, on N generated JSON log lines across 50 services (bench/gen_logs):
#   1. `meshlog ingest` (default and --no-index) vs the sqlite3 shell `.import`ing the same rows
#      as CSV into the same table and B-tree indexes in one transaction (WAL,
#      synchronous=NORMAL), with sqlite3's default page cache and with meshlog's 32 MiB.
#   2. the first `meshlog query` after a bulk ingest (and the catch-up it does after --no-index).
#   3. `meshlog tail --service S -n 100` vs `jq -c 'select(.service=="S")' | tail -100`.
#   4. `meshlog query WORD` (default output, limit 100) and `--count` vs `grep -c WORD`.
#   5. peak RSS (GNU time %M) of ingest at 1M and N lines.
# When hyperfine is installed it also times the millisecond read paths (not required).
# Every timed step runs REPEATS times (default 3) and reports the median; wall time is taken
# with bash's $EPOCHREALTIME around the process, page cache warm, after a `sync`.
#
# Environment: REPEATS (3), SEED (42), BENCH_DATA (bench/data: a scratch directory is made
# under it and removed at exit, except the results file), KEEP=1 keeps the scratch directory.
set -euo pipefail
export LC_ALL=C

usage() { echo "usage: bench/meshlog_bench.sh [BUILD_DIR] [N]  (defaults: build 5000000)" >&2; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -le 2 ] || { usage; exit 2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || {
  echo "meshlog_bench: build directory ${1:-build} not found (run make build first)" >&2; exit 2; }
N=${2:-5000000}
[[ $N =~ ^[0-9]+$ && $N -ge 1000 ]] || { echo "meshlog_bench: N must be a number >= 1000, not '$N'" >&2; exit 2; }
REPEATS=${REPEATS:-3}
SEED=${SEED:-42}
SERVICE=checkout-api   # the service `tail` asks for (1 line in 50)
COMMON=exhausted       # a vocabulary word: in about 9% of messages
RARE=deadlock          # in about 0.6% of messages

meshlog=$build/meshlog
source_rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
gen=$build/bench/gen_logs
[ -x "$meshlog" ] || { echo "meshlog_bench: $meshlog not found (run make build)" >&2; exit 2; }
[ -x "$gen" ] || {
  echo "meshlog_bench: $gen not found (bench/ is built only when Google Benchmark is found:" \
       "install libbenchmark-dev, then re-run cmake)" >&2; exit 2; }
for tool in sqlite3 jq grep /usr/bin/time; do
  command -v "$tool" >/dev/null || {
    echo "meshlog_bench: $tool not found (run scripts/install-deps.sh)" >&2; exit 2; }
done

data=${BENCH_DATA:-$repo/bench/data}
mkdir -p "$data"
avail_kb=$(df -Pk "$data" | awk 'NR==2 {print $4}')
need_kb=$(( N * 2 ))  # ~2 KB per line: JSONL, CSV and up to three stores at once
if [ "$avail_kb" -lt "$need_kb" ]; then
  echo "meshlog_bench: $data has $((avail_kb / 1024)) MiB free, needs about $((need_kb / 1024)) MiB" \
       "for N=$N (set BENCH_DATA to a bigger disk)" >&2
  exit 1
fi
work=$(mktemp -d "$data/run.XXXXXX")
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "meshlog_bench: kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

log() { echo "meshlog_bench: $*" >&2; }

# ---- measurement helpers ---------------------------------------------------------------------
declare -A SAMPLES RSS CPU LOAD
load1() { cut -d' ' -f1 /proc/loadavg; }

# timed KEY STDIN STDOUT CMD...: runs CMD once under GNU time, appends the wall time (us), peak
# RSS (KB), CPU time (user + system, s) and the 1-minute load average before the run to
# SAMPLES, RSS, CPU and LOAD[KEY]. A failing command stops the benchmark.
timed() {
  local key=$1 in=$2 out=$3; shift 3
  sync
  LOAD[$key]+="$(load1) "
  local t0=${EPOCHREALTIME/./}
  if ! /usr/bin/time -f '%M %U %S' -o "$work/rss" "$@" <"$in" >"$out" 2>"$work/stderr"; then
    log "step '$key' failed: $*"; cat "$work/stderr" >&2; exit 1
  fi
  local t1=${EPOCHREALTIME/./}
  SAMPLES[$key]+="$((t1 - t0)) "
  RSS[$key]+="$(tail -n 1 "$work/rss" | cut -d' ' -f1) "
  CPU[$key]+="$(tail -n 1 "$work/rss" | awk '{print $2 + $3}') "
}

# timed_light KEY STDIN STDOUT CMD...: the same without GNU time (whose fork would add about a
# millisecond), for the steps that take milliseconds.
timed_light() {
  local key=$1 in=$2 out=$3; shift 3
  sync
  LOAD[$key]+="$(load1) "
  local t0=${EPOCHREALTIME/./}
  if ! "$@" <"$in" >"$out" 2>"$work/stderr"; then
    log "step '$key' failed: $*"; cat "$work/stderr" >&2; exit 1
  fi
  local t1=${EPOCHREALTIME/./}
  SAMPLES[$key]+="$((t1 - t0)) "
}

# shellcheck disable=SC2086  # $1 is a space-separated list of samples
median() { printf '%s\n' $1 | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
med_us() { median "${SAMPLES[$1]}"; }
# Milliseconds for humans: 3 significant figures.
fmt_ms() { awk -v us="$1" 'BEGIN {ms = us / 1000; if (ms >= 100) printf "%.0f", ms; else if (ms >= 10) printf "%.1f", ms; else printf "%.2f", ms}'; }
runs_ms() { local out="" s; for s in ${SAMPLES[$1]}; do out+="$(fmt_ms "$s") / "; done; echo "${out% / }"; }
rate() { awk -v n="$1" -v us="$2" 'BEGIN {printf "%.0f", n / (us / 1e6)}'; }
group() { echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[^0-9]\)/\1,\2\3/; ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {r = a / b; printf (r >= 100 ? "%.0f" : r >= 10 ? "%.1f" : "%.2f"), r}'; }
cpu_s() { [ -z "${CPU[$1]:-}" ] || awk -v s="$(median "${CPU[$1]}")" 'BEGIN {printf "%.1f", s}'; }
loads() { local v=${LOAD[$1]% }; echo "${v// / / }"; }
rss_mb() { awk -v kb="$(median "${RSS[$1]}")" 'BEGIN {printf "%.1f", kb / 1024}'; }
count_rows() { sqlite3 "$1" "SELECT count(*) FROM logs"; }
pending_rows() {  # rows in neither full-text index: logs_fts, nor the tail index beside the store
  local tail=0
  [ ! -e "$1-fts" ] || tail=$(sqlite3 "$1-fts" "SELECT coalesce(max(through_id), 0) FROM tail_state")
  sqlite3 "$1" "SELECT count(*) FROM logs WHERE id > max((SELECT indexed_through FROM logs_fts_state), $tail)"
}
size_mb() {  # total MiB of the files that exist
  local f files=()
  for f in "$@"; do [ -e "$f" ] && files+=("$f"); done
  du -cm "${files[@]}" | awk 'END {print $1}'
}

# ---- data ------------------------------------------------------------------------------------
jsonl=$work/logs.jsonl
log "generating $N lines (seed $SEED) in $work"
timed gen /dev/null "$jsonl" "$gen" "$N" "$SEED"
jsonl_mb=$(size_mb "$jsonl")
small=$work/logs-1m.jsonl
small_n=$(( N < 1000000 ? N : 1000000 ))
head -n "$small_n" "$jsonl" >"$small"

# ---- 1 + 2: ingest vs the sqlite3 shell's .import, and the first query's catch-up ----------
# The peer imports the rows meshlog stored, exported as CSV (id included), into the same
# table and indexes, taken from a store meshlog itself created (so they cannot drift from
# lib/mesh/store/store.cpp), except that .import writes '' rather than NULL for an empty field, so
# its partial index says != '' to index exactly the same rows.
schema_src=$work/schema-src.db
"$meshlog" --db "$schema_src" write --service bench "schema probe" 2>/dev/null
{
  echo "PRAGMA journal_mode=WAL;"
  sqlite3 "$schema_src" ".schema logs" | sed "s/WHERE trace_id IS NOT NULL/WHERE trace_id != ''/"
} >"$work/schema.sql"
grep -q "WHERE trace_id != ''" "$work/schema.sql" ||
  { log "the logs schema has no partial trace_id index to adapt: update this script"; exit 1; }
rm -f "$schema_src" "$schema_src-wal" "$schema_src-shm"
csv=$work/rows.csv
for cache in default 32mib; do
  {
    echo "PRAGMA synchronous=NORMAL;"
    [ "$cache" = default ] || echo "PRAGMA cache_size=-32768;"
    echo "BEGIN;"
    echo ".import --csv $csv logs"
    echo "COMMIT;"
  } >"$work/import-$cache.sql"
done

# One repetition runs every contender once, so that load from other work on the machine falls
# on all of them alike.
main_db=$work/main.db
PENDING_DEFAULT=""
for r in $(seq "$REPEATS"); do
  log "ingest (default) run $r/$REPEATS"
  db=$work/ingest.db
  rm -f "$db" "$db-wal" "$db-shm" "$db-fts" "$db-fts-wal" "$db-fts-shm"
  timed ingest_default "$jsonl" /dev/null "$meshlog" --db "$db" ingest --service gen
  [ "$(count_rows "$db")" = "$N" ] || { log "ingest stored $(count_rows "$db") rows, not $N"; exit 1; }
  PENDING_DEFAULT+="$(pending_rows "$db") "
  timed catchup_default /dev/null "$work/count" "$meshlog" --db "$db" query --count "$COMMON"
  rm -f "$main_db" "$main_db-wal" "$main_db-shm" "$main_db-fts" "$main_db-fts-wal" "$main_db-fts-shm"
  mv "$db" "$main_db"
  [ ! -e "$db-fts" ] || mv "$db-fts" "$main_db-fts"
  if [ "$r" = 1 ]; then
    log "exporting the stored rows as CSV"
    sqlite3 -csv "$main_db" "SELECT id, ts_ns, service, level, message, trace_id, span_id, \
                             attributes FROM logs ORDER BY id" >"$csv"
    csv_mb=$(size_mb "$csv")
    expected_traced=$(sqlite3 "$main_db" "SELECT count(*) FROM logs WHERE trace_id IS NOT NULL")
  fi

  log "ingest --no-index run $r/$REPEATS"
  db=$work/noindex.db
  rm -f "$db" "$db-wal" "$db-shm" "$db-fts" "$db-fts-wal" "$db-fts-shm"
  timed ingest_noindex "$jsonl" /dev/null "$meshlog" --db "$db" ingest --service gen --no-index
  db_plain_mb=$(size_mb "$db" "$db-wal")
  timed catchup_noindex /dev/null "$work/count" "$meshlog" --db "$db" query --count "$COMMON"
  rm -f "$db" "$db-wal" "$db-shm" "$db-fts" "$db-fts-wal" "$db-fts-shm"

  for cache in default 32mib; do
    log "sqlite3 .import (cache $cache) run $r/$REPEATS"
    db=$work/peer.db
    rm -f "$db" "$db-wal" "$db-shm" "$db-fts" "$db-fts-wal" "$db-fts-shm"
    sqlite3 "$db" <"$work/schema.sql" >/dev/null
    timed "import_$cache" "$work/import-$cache.sql" /dev/null sqlite3 -bail "$db"
    [ "$(count_rows "$db")" = "$N" ] || { log ".import stored $(count_rows "$db") rows, not $N"; exit 1; }
    traced=$(sqlite3 "$db" "SELECT count(*) FROM logs INDEXED BY logs_trace WHERE trace_id != ''")
    [ "$traced" = "$expected_traced" ] || { log "peer indexes $traced traced rows, meshlog $expected_traced"; exit 1; }
    rm -f "$db" "$db-wal" "$db-shm" "$db-fts" "$db-fts-wal" "$db-fts-shm"
  done
done
db_indexed_mb=$(size_mb "$main_db")
rm -f "$csv"

# ---- 3: tail ---------------------------------------------------------------------------------
log "tail --service $SERVICE -n 100"
"$meshlog" --db "$main_db" tail --service "$SERVICE" -n 100 >/dev/null  # warm-up
for r in $(seq "$REPEATS"); do
  timed_light tail /dev/null "$work/tail.out" "$meshlog" --db "$main_db" tail --service "$SERVICE" -n 100
done
for r in $(seq "$REPEATS"); do
  log "jq tail run $r/$REPEATS"
  # shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments
  timed_light jq_tail /dev/null "$work/jq.out" \
    bash -c 'set -o pipefail; jq -c "select(.service==\"$1\")" "$2" | tail -100' _ "$SERVICE" "$jsonl"
done
if cmp -s <(jq -r .message "$work/tail.out") <(jq -r .message "$work/jq.out"); then
  tail_same="same $(wc -l <"$work/tail.out") records"
else
  tail_same="DIFFERENT records ($(wc -l <"$work/tail.out") vs $(wc -l <"$work/jq.out") lines)"
fi

# ---- 4: query vs grep ------------------------------------------------------------------------
declare -A COUNT_MESH COUNT_GREP
for word in "$COMMON" "$RARE"; do
  log "query $word"
  for r in $(seq "$REPEATS"); do
    timed_light "query_$word" /dev/null "$work/query.out" "$meshlog" --db "$main_db" query "$word"
    timed_light "count_$word" /dev/null "$work/count.out" "$meshlog" --db "$main_db" query --count "$word"
    timed_light "grep_$word" /dev/null "$work/grep.out" grep -c "$word" "$jsonl"
  done
  COUNT_MESH[$word]=$(cat "$work/count.out")
  printed=$(wc -l <"$work/query.out")
  want=$(( COUNT_MESH[$word] < 100 ? COUNT_MESH[$word] : 100 ))
  [ "$printed" = "$want" ] || { log "query $word printed $printed lines, not $want"; exit 1; }
  COUNT_GREP[$word]=$(cat "$work/grep.out")
done

# ---- optional: hyperfine's view of the millisecond steps -------------------------------------
hyperfine_md=""
if command -v hyperfine >/dev/null; then
  log "hyperfine cross-check of the read paths"
  hyperfine --warmup 3 --runs $(( REPEATS > 10 ? REPEATS : 10 )) --style none \
    --export-markdown "$work/hyperfine.md" \
    "$meshlog --db $main_db tail --service $SERVICE -n 100" \
    "$meshlog --db $main_db query $COMMON" \
    "$meshlog --db $main_db query --count $COMMON" \
    "grep -c $COMMON $jsonl" >/dev/null
  hyperfine_md=$(cat "$work/hyperfine.md")
fi

# ---- 5: peak RSS at 1M lines ---------------------------------------------------------------
for r in $(seq "$REPEATS"); do
  log "ingest of $small_n lines run $r/$REPEATS"
  db=$work/small.db
  rm -f "$db" "$db-wal" "$db-shm" "$db-fts" "$db-fts-wal" "$db-fts-shm"
  timed ingest_small "$small" /dev/null "$meshlog" --db "$db" ingest --service gen
  rm -f "$db" "$db-wal" "$db-shm" "$db-fts" "$db-fts-wal" "$db-fts-shm"
done
rm -f "$main_db" "$main_db-wal" "$main_db-shm" "$main_db-fts" "$main_db-fts-wal" "$main_db-fts-shm"

# ---- report ----------------------------------------------------------------------------------
ms() { fmt_ms "$(med_us "$1")"; }
rows_s() { group "$(rate "$2" "$(med_us "$1")")"; }
met() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {ok = (op == ">=") ? v >= t : v < t; print ok ? "yes" : "**no**"}'; }

u_ing=$(med_us ingest_default); u_noi=$(med_us ingest_noindex)
u_imp=$(med_us import_default); u_imp32=$(med_us import_32mib)
r_def=$(ratio "$u_imp" "$u_ing"); r_def32=$(ratio "$u_imp32" "$u_ing")
r_noi=$(ratio "$u_imp" "$u_noi"); r_noi32=$(ratio "$u_imp32" "$u_noi")
u_tail=$(med_us tail); u_jq=$(med_us jq_tail)
pending_default=$(median "$PENDING_DEFAULT")
rss_small=$(rss_mb ingest_small); rss_big=$(rss_mb ingest_default)
rss_growth=$(awk -v a="$rss_small" -v b="$rss_big" 'BEGIN {printf "%.2f", b / a}')

report() {
cat <<EOF
## meshlog benchmark: N = $(group "$N") lines, 50 services, seed $SEED

Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), \
$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr); \
sqlite3 $(sqlite3 --version | cut -d' ' -f1), $(jq --version), $(grep --version | head -1), \
$("$meshlog" --version) (source $source_rev). The last column is the 1-minute load average before each run (other work shares the machine).
Data: JSONL $jsonl_mb MiB, CSV export $csv_mb MiB; store after ingest --no-index $db_plain_mb MiB, \
with the full-text index $db_indexed_mb MiB. Each step ran $REPEATS times; medians.

### Targets

| Target | meshlog | peer | ratio | target | met |
|---|---|---|---|---|---|
| ingest rows/s vs sqlite3 .import, default cache | $(rows_s ingest_default "$N") | $(rows_s import_default "$N") | ${r_def}x | >= 1.0x | $(met "$r_def" 1.0 ">=") |
| ingest rows/s vs sqlite3 .import, cache_size=-32768 | $(rows_s ingest_default "$N") | $(rows_s import_32mib "$N") | ${r_def32}x | >= 1.0x | $(met "$r_def32" 1.0 ">=") |
| ingest --no-index rows/s vs .import, default cache | $(rows_s ingest_noindex "$N") | $(rows_s import_default "$N") | ${r_noi}x | >= 1.0x | $(met "$r_noi" 1.0 ">=") |
| ingest --no-index rows/s vs .import, cache_size=-32768 | $(rows_s ingest_noindex "$N") | $(rows_s import_32mib "$N") | ${r_noi32}x | >= 1.0x | $(met "$r_noi32" 1.0 ">=") |
| tail --service $SERVICE -n 100 (ms) vs jq \| tail -100 | $(ms tail) | $(ms jq_tail) | $(ratio "$u_jq" "$u_tail")x faster | < 50 ms | $(met "$(awk -v u="$u_tail" 'BEGIN {print u / 1000}')" 50 "<") |
| peak RSS of ingest, $(group "$small_n") -> $(group "$N") lines (MiB) | $rss_small -> $rss_big | | ${rss_growth}x | flat | $(met "$rss_growth" 1.25 "<") |

### Every step

| Step | runs (ms) | median (ms) | rows/s | CPU user+sys (s) | peak RSS (MiB) | load (1 min) per run |
|---|---|---|---|---|---|---|
| gen_logs $N > logs.jsonl | $(runs_ms gen) | $(ms gen) | $(rows_s gen "$N") | $(cpu_s "gen") | $(rss_mb gen) | $(loads "gen") |
| meshlog ingest < logs.jsonl (default) | $(runs_ms ingest_default) | $(ms ingest_default) | $(rows_s ingest_default "$N") | $(cpu_s "ingest_default") | $(rss_mb ingest_default) | $(loads "ingest_default") |
| meshlog ingest --no-index < logs.jsonl | $(runs_ms ingest_noindex) | $(ms ingest_noindex) | $(rows_s ingest_noindex "$N") | $(cpu_s "ingest_noindex") | $(rss_mb ingest_noindex) | $(loads "ingest_noindex") |
| sqlite3 .import rows.csv (default cache) | $(runs_ms import_default) | $(ms import_default) | $(rows_s import_default "$N") | $(cpu_s "import_default") | $(rss_mb import_default) | $(loads "import_default") |
| sqlite3 .import rows.csv (cache_size=-32768) | $(runs_ms import_32mib) | $(ms import_32mib) | $(rows_s import_32mib "$N") | $(cpu_s "import_32mib") | $(rss_mb import_32mib) | $(loads "import_32mib") |
| first query --count after default ingest ($(group "$pending_default") rows to index) | $(runs_ms catchup_default) | $(ms catchup_default) | $(rows_s catchup_default "$pending_default") | $(cpu_s "catchup_default") | $(rss_mb catchup_default) | $(loads "catchup_default") |
| first query --count after ingest --no-index ($(group "$N") rows to index) | $(runs_ms catchup_noindex) | $(ms catchup_noindex) | $(rows_s catchup_noindex "$N") | $(cpu_s "catchup_noindex") | $(rss_mb catchup_noindex) | $(loads "catchup_noindex") |
| meshlog ingest < logs-1m.jsonl ($(group "$small_n") lines) | $(runs_ms ingest_small) | $(ms ingest_small) | $(rows_s ingest_small "$small_n") | $(cpu_s "ingest_small") | $(rss_mb ingest_small) | $(loads "ingest_small") |
| meshlog tail --service $SERVICE -n 100 | $(runs_ms tail) | $(ms tail) | | $(cpu_s "tail") | | $(loads "tail") |
| jq -c 'select(.service=="$SERVICE")' logs.jsonl \| tail -100 | $(runs_ms jq_tail) | $(ms jq_tail) | | $(cpu_s "jq_tail") | | $(loads "jq_tail") |
EOF
for word in "$COMMON" "$RARE"; do
  cat <<EOF
| meshlog query $word (newest 100, JSON) | $(runs_ms "query_$word") | $(ms "query_$word") | | $(cpu_s "query_$word") | | $(loads "query_$word") |
| meshlog query --count $word (= ${COUNT_MESH[$word]}) | $(runs_ms "count_$word") | $(ms "count_$word") | | $(cpu_s "count_$word") | | $(loads "count_$word") |
| grep -c $word logs.jsonl (= ${COUNT_GREP[$word]}) | $(runs_ms "grep_$word") | $(ms "grep_$word") | | $(cpu_s "grep_$word") | | $(loads "grep_$word") |
EOF
done
cat <<EOF

### Read paths vs peers (peer time / meshlog time)

| Question | meshlog (ms) | peer (ms) | speed-up (peer time / meshlog time) |
|---|---|---|---|
| newest 100 of one service | $(ms tail) | $(ms jq_tail) (jq \| tail) | $(ratio "$u_jq" "$u_tail")x |
EOF
for word in "$COMMON" "$RARE"; do
  g=$(med_us "grep_$word")
  cat <<EOF
| newest 100 matching "$word" | $(ms "query_$word") | $(ms "grep_$word") (grep -c) | $(ratio "$g" "$(med_us "query_$word")")x |
| count matching "$word" | $(ms "count_$word") | $(ms "grep_$word") (grep -c) | $(ratio "$g" "$(med_us "count_$word")")x |
EOF
done
cat <<EOF

Checks: tail and jq printed the $tail_same; counts meshlog/grep: $COMMON ${COUNT_MESH[$COMMON]}/${COUNT_GREP[$COMMON]}, \
$RARE ${COUNT_MESH[$RARE]}/${COUNT_GREP[$RARE]}; both stores index $(group "$expected_traced") traced rows. \
Rows left for the first query after a default ingest, per run: ${PENDING_DEFAULT% }.
EOF
if [ -n "$hyperfine_md" ]; then
  printf '\n### hyperfine (warm-up 3, shell-spawn corrected)\n\n%s\n' "$hyperfine_md"
fi
}
results=$data/results-$N.md
report | tee "$results"
log "results saved in $results"
