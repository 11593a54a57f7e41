#!/usr/bin/env bash
# meshtrace on a store of 1,000,000 spans (filled by span_insert_peer: 100,000 traces of 10
# spans, 4 services), each command timed from the shell as a user runs it (process start
# included), median and max of 20 runs; the peer is the sqlite3 shell answering the same
# question on the same file.
#  1. show <id>               vs sqlite3 selecting the trace's spans
#  2. list --service S --min-duration D --limit 20   (D matching every span, and none);
#     list --attr K=V (the dashboard explorer's attribute search), matching every span and none
#  3. show of a 10,000-span trace, rendered as a tree (imported from generated JSON lines)
# Usage: bench/meshtrace_bench.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d /tmp/meshtrace-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
db="$work/big.db"
"$build/bench/span_insert_peer" "$db" 1000000 10000 "$work/ids.txt" >/dev/null
id=$(sed -n 50p "$work/ids.txt")

# Median and max wall time in ms of 20 runs of a command (output discarded).
timed() {
  local runs=() start end
  for _ in $(seq 1 20); do
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    runs+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${runs[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median_ms=%.1f max_ms=%.1f\n", a[int((NR+1)/2)]/1000, a[NR]/1000}'
}

echo "## meshtrace on 1,000,000 spans"
echo "show <id>:                       $(timed "$build/meshtrace" --db "$db" show "$id" --width 120)"
echo "  peer sqlite3 (same spans):     $(timed sqlite3 "$db" "SELECT * FROM spans WHERE trace_id = '$id' ORDER BY start_ns")"
echo "list -s svc1 --min-duration 100ms --limit 20: $(timed "$build/meshtrace" --db "$db" list --service svc1 --min-duration 100ms --limit 20)"
echo "list -s svc1 --min-duration 1s --limit 20 (no match): $(timed "$build/meshtrace" --db "$db" list --service svc1 --min-duration 1s --limit 20)"
echo "  peer sqlite3 (newest 20 traces of svc1, no match): $(timed sqlite3 "$db" "SELECT DISTINCT trace_id FROM spans WHERE service = 'svc1' AND duration_ns >= 1000000000 ORDER BY start_ns DESC LIMIT 20")"
# The dashboard explorer's attribute search (GET /v1/traces?attr= runs the same query): every
# span carries http.status_code=200, none 503 (a pass over the window's spans).
echo "list --attr http.status_code=200 --limit 20: $(timed "$build/meshtrace" --db "$db" list --attr http.status_code=200 --limit 20)"
echo "list --attr http.status_code=503 --limit 20 (no match): $(timed "$build/meshtrace" --db "$db" list --attr http.status_code=503 --limit 20)"
echo "  peer sqlite3 (json_extract, no match): $(timed sqlite3 "$db" "SELECT DISTINCT trace_id FROM spans WHERE json_extract(attributes, '$.\"http.status_code\"') = 503 ORDER BY start_ns DESC LIMIT 20")"

# A 10,000-span trace: a root with 100 children of 99 grandchildren each.
trace=4bf92f3577b34da6a3ce929d0e0e4736
now=$(date +%s%N)
awk -v t="$trace" -v now="$now" 'BEGIN {
  printf "{\"trace_id\":\"%s\",\"span_id\":\"%016x\",\"service\":\"root\",\"name\":\"GET /\",\"kind\":\"SERVER\",\"start_ns\":%d,\"duration_ns\":%d,\"status\":\"UNSET\"}\n", t, 1, now, 10000000000
  n = 2
  for (c = 0; c < 100; c++) {
    cid = n++
    printf "{\"trace_id\":\"%s\",\"span_id\":\"%016x\",\"parent_span_id\":\"%016x\",\"service\":\"svc%d\",\"name\":\"call %d\",\"kind\":\"CLIENT\",\"start_ns\":%d,\"duration_ns\":%d,\"status\":\"UNSET\"}\n", t, cid, 1, c % 7, c, now + c * 100000000, 90000000
    for (g = 0; g < 99; g++) {
      printf "{\"trace_id\":\"%s\",\"span_id\":\"%016x\",\"parent_span_id\":\"%016x\",\"service\":\"db\",\"name\":\"SELECT %d\",\"kind\":\"CLIENT\",\"start_ns\":%d,\"duration_ns\":%d,\"status\":\"%s\"}\n", t, n++, cid, g, now + c * 100000000 + g * 900000, 800000, (g == 42 ? "ERROR" : "UNSET")
    }
  }
}' > "$work/wide.jsonl"
"$build/meshtrace" --db "$db" import "$work/wide.jsonl" >/dev/null
echo "show of a 10,000-span trace (tree): $(timed "$build/meshtrace" --db "$db" show "$trace" --width 120)"
echo "  peer sqlite3 (same spans):     $(timed sqlite3 "$db" "SELECT * FROM spans WHERE trace_id = '$trace' ORDER BY start_ns")"
