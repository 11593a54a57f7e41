#!/usr/bin/env bash
# meshlog_formats_bench.sh: the cost of text-format detection in `meshlog ingest`, measured
# against today's plain `-f text` in the same run, on the same files.
#
#   bench/meshlog_formats_bench.sh [BUILD_DIR] [N]        (defaults: build 1000000)
#
# Two generated files of N lines each (awk, deterministic): syslog.log, an auth.log-like syslog
# file (one format, as most files are), and mixed.log, eight formats interleaved line by line
# (the worst case for detection: every line that is not the file's format is tried against the
# others) with a Java stack trace every 50 lines. Each file is ingested into a fresh store by
#   `meshlog ingest -s gen -f text --no-index`   (the peer: whole line as message, ingest time)
#   `meshlog ingest -s gen --no-index`           (auto: detection, time, level, fields, multiline)
# REPEATS times each (default 3), alternating, and the medians give lines/s and the ratio
# auto / text (target >= 0.8). Wall time from bash's $EPOCHREALTIME, page cache warm; the CPU
# time (user + system, GNU time) is reported beside it, being steadier on a shared machine where
# the wall time of an ingest is mostly waiting for the disk.
set -euo pipefail
export LC_ALL=C

usage() { echo "usage: bench/meshlog_formats_bench.sh [BUILD_DIR] [N]  (defaults: build 1000000)" >&2; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -le 2 ] || { usage; exit 2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || {
  echo "meshlog_formats_bench: build directory ${1:-build} not found (run make build first)" >&2; exit 2; }
N=${2:-1000000}
[[ $N =~ ^[0-9]+$ && $N -ge 1000 ]] || { echo "meshlog_formats_bench: N must be a number >= 1000" >&2; exit 2; }
REPEATS=${REPEATS:-3}
meshlog=$build/meshlog
[ -x "$meshlog" ] || { echo "meshlog_formats_bench: $meshlog not found (run make build)" >&2; exit 2; }

data=${BENCH_DATA:-$repo/bench/data}
mkdir -p "$data"
work=$(mktemp -d "$data/formats.XXXXXX")
trap 'rm -rf "$work"' EXIT

awk -v n="$N" 'BEGIN {
  srand(7); split("sshd cron su systemd-logind sudo", prog, " ")
  for (i = 0; i < n; i++) {
    s = i % 86400; h = int(s / 3600); m = int(s % 3600 / 60); sec = s % 60
    printf "Dec  %d %02d:%02d:%02d web%d %s[%d]: %s user admin%d from 10.0.%d.%d port %d ssh2\n",
      1 + int(i / 86400) % 28, h, m, sec, i % 7, prog[1 + i % 5], 1000 + i % 50000,
      (i % 13 == 0 ? "error: Failed password for" : "Accepted publickey for"), i % 97, i % 256, i % 200, 30000 + i % 30000
  }
}' > "$work/syslog.log"

awk -v n="$N" 'BEGIN {
  lvl[0] = "INFO"; lvl[1] = "WARN"; lvl[2] = "ERROR"; lvl[3] = "DEBUG"
  for (i = 0; i < n; ) {
    s = i % 86400; h = int(s / 3600); m = int(s % 3600 / 60); sec = s % 60; L = lvl[i % 4]; k = i % 8
    if (k == 0) printf "Dec  7 %02d:%02d:%02d web1 app[%d]: request %d served in %d ms\n", h, m, sec, i % 900, i, i % 300
    else if (k == 1) printf "2026-12-07 %02d:%02d:%02d,%03d %s [worker-%d] com.example.orders.Service - order %d processed\n", h, m, sec, i % 1000, L, i % 16, i
    else if (k == 2) printf "2026/12/07 %02d:%02d:%02d [%s] %d#0: *%d upstream timed out while reading response header\n", h, m, sec, tolower(L == "WARN" ? "warn" : L), 100 + i % 8, i
    else if (k == 3) printf "2026-12-07 %02d:%02d:%02d,%03d - billing.worker - %s - invoice %d sent\n", h, m, sec, i % 1000, (L == "WARN" ? "WARNING" : L), i
    else if (k == 4) printf "2026-12-07T%02d:%02d:%02d.%03dZ %s cache refresh %d done\n", h, m, sec, i % 1000, L, i
    else if (k == 5) printf "%s1207 %02d:%02d:%02d.%06d %d server.go:%d] rpc %d finished\n", substr(L, 1, 1) == "D" ? "I" : substr(L, 1, 1), h, m, sec, i % 1000000, 4000 + i % 50, i % 900, i
    else if (k == 6) printf "10.0.%d.%d - - [07/Dec/2026:%02d:%02d:%02d +0000] \"GET /api/items/%d HTTP/1.1\" %d %d \"-\" \"curl/8.0\"\n", i % 256, i % 200, h, m, sec, i, (i % 40 == 6 ? 503 : 200), i % 5000
    else printf "plain line %d without any format at all\n", i
    i++
    if (i % 50 == 1 && i < n - 4) {
      print "java.lang.IllegalStateException: order " i " in a bad state"
      print "\tat com.example.orders.Service.process(Service.java:42)"
      print "\tat com.example.orders.Worker.run(Worker.java:17)"
      print "\t... 12 more"
      i += 4
    }
  }
}' > "$work/mixed.log"

declare -A SAMPLES CPU
run() {  # run KEY FILE ARGS...: ingest FILE into a fresh store, append the wall and CPU time in us
  local key=$1 file=$2; shift 2
  rm -f "$work/s.db" "$work/s.db-wal" "$work/s.db-shm"
  sync
  local t0=${EPOCHREALTIME/./}
  /usr/bin/time -f '%U %S' -o "$work/cpu" \
    "$meshlog" --db "$work/s.db" ingest -s gen --no-index "$@" < "$file" 2>"$work/err" || {
    echo "meshlog_formats_bench: ingest failed: $(cat "$work/err")" >&2; exit 1; }
  local t1=${EPOCHREALTIME/./}
  SAMPLES[$key]+="$((t1 - t0)) "
  CPU[$key]+="$(awk '{printf "%d", ($1 + $2) * 1e6}' "$work/cpu") "
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for file in syslog mixed; do
  for ((r = 0; r < REPEATS; r++)); do
    run "$file text" "$work/$file.log" -f text
    run "$file auto" "$work/$file.log"
  done
done
rows_mixed=$(grep -c . "$work/mixed.log")

echo "## meshlog ingest: text-format detection vs -f text ($(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown), N=$N, REPEATS=$REPEATS, $(nproc) cores)"
echo
echo "| file | -f text lines/s | auto lines/s | auto / text (wall) | auto / text (CPU) | target | met |"
echo "|---|---|---|---|---|---|---|"
for file in syslog mixed; do
  t=$(median "${SAMPLES[$file text]}"); a=$(median "${SAMPLES[$file auto]}")
  tc=$(median "${CPU[$file text]}"); ac=$(median "${CPU[$file auto]}")
  lines=$([ $file = mixed ] && echo "$rows_mixed" || echo "$N")
  awk -v f="$file.log" -v n="$lines" -v t="$t" -v a="$a" -v tc="$tc" -v ac="$ac" 'BEGIN {
    r = t / a; printf "| %s | %d | %d | %.2fx | %.2fx | >= 0.8x | %s |\n", f, n / (t / 1e6), n / (a / 1e6), r,
      tc / ac, (r >= 0.8 ? "yes" : "no") }'
done
echo
echo "Wall samples (us): $(for k in "${!SAMPLES[@]}"; do printf '%s: %s; ' "$k" "${SAMPLES[$k]}"; done)"
echo "CPU samples (us): $(for k in "${!CPU[@]}"; do printf '%s: %s; ' "$k" "${CPU[$k]}"; done)"
