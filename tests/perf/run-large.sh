#!/usr/bin/env bash
# Whole-process measurement of `dmareplay check` on a >= 1 GB synthetic trace: wall time,
# MB/s, events/s and peak RSS (GNU time -v), with awk over the same file as a yardstick.
#
#   tests/perf/run-large.sh                 # defaults below
#   EVENTS=12000000 TRACE=/data/big.trace tests/perf/run-large.sh
#
# The trace is read once before timing so both tools read it from the page cache: the figures
# are CPU cost, not disk speed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EVENTS=${EVENTS:-6200000}        # ~175 bytes per event line: 6.2 M lines ≈ 1.08 GB
SEED=${SEED:-7}
TRACE=${TRACE:-/tmp/large.trace}
JSON=${JSON:-/tmp/large-summary.json}
TIMES=$(mktemp)
trap 'rm -f "$TIMES"' EXIT

if [ ! -x /usr/bin/time ]; then
    echo "error: /usr/bin/time (GNU time) is missing; install it with: apt-get install -y time" >&2
    exit 2
fi
for tool in dotnet awk stat; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not on PATH" >&2; exit 2; }
done

echo "== build (Release)"
dotnet build "$ROOT/DmaReplay.sln" -c Release -nologo -v quiet
DLL="$ROOT/cli/bin/Release/net10.0/dmareplay.dll"

echo "== generate $EVENTS events (seed $SEED) -> $TRACE"
gen_start=$(date +%s.%N)
dotnet "$DLL" synth --events "$EVENTS" --seed "$SEED" -o "$TRACE"
gen_end=$(date +%s.%N)
BYTES=$(stat -c %s "$TRACE")
if [ "$BYTES" -lt 1000000000 ]; then
    echo "warning: the trace is only $BYTES bytes (< 1 GB); raise EVENTS" >&2
fi
cat "$TRACE" > /dev/null

echo "== dmareplay check"
/usr/bin/time -v -o "$TIMES" dotnet "$DLL" check "$TRACE" --json "$JSON" --fail-on none
# "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.84"
SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$TIMES")
RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TIMES")
USER_S=$(awk -F': ' '/User time/ { print $2 }' "$TIMES")
SYS_S=$(awk -F': ' '/System time/ { print $2 }' "$TIMES")
# Event lines = DMA events + other events (tracing_mark_write) of the one input in summary.json.
LINES=$(grep -m1 -o '"lines": [0-9]*' "$JSON" | grep -o '[0-9]*$')
EVENT_LINES=$((LINES - 12))
MALFORMED=$(grep -m1 -o '"malformed": [0-9]*' "$JSON" | grep -o '[0-9]*$')

echo "== awk '{c[\$5]++} END{for(k in c) print k, c[k]}' ($(readlink -f "$(command -v awk)"))"
AWK_SECS=$( { /usr/bin/time -f '%e' awk '{c[$5]++} END{for(k in c) print k, c[k]}' "$TRACE" > /dev/null; } 2>&1 | tail -1)

echo
echo "== results"
awk -v b="$BYTES" -v s="$SECS" -v e="$EVENT_LINES" -v rss="$RSS_KB" -v u="$USER_S" -v sy="$SYS_S" \
    -v m="$MALFORMED" -v a="$AWK_SECS" -v g0="$gen_start" -v g1="$gen_end" 'BEGIN {
    printf "trace bytes          %d (%.2f GB)\n", b, b / 1e9
    printf "event lines          %d\n", e
    printf "synth time           %.2f s (%.0f MB/s written)\n", g1 - g0, b / (g1 - g0) / 1e6
    printf "check wall time      %.2f s (user %.2f s, sys %.2f s)\n", s, u, sy
    printf "check throughput     %.0f MB/s, %.2f M events/s\n", b / s / 1e6, e / s / 1e6
    printf "check peak RSS       %.1f MB\n", rss / 1024
    printf "check malformed      %d\n", m
    printf "awk wall time        %.2f s (%.0f MB/s)\n", a, b / a / 1e6
}'
