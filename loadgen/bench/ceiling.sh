#!/usr/bin/env bash
# The load generator's own ceiling on this machine, next to wrk on the same target in the same
# run. The target is one lb-worker with zero service time (it answers at once), on 127.0.0.1.
#
#   loadgen/bench/ceiling.sh                 # 5 s per step
#   DURATION=10 RATES="20000 40000" loadgen/bench/ceiling.sh
#
# Open loop: for each rate, the rate sent against the rate asked, how many requests went out
# more than 5 ms late, and the latency from the due time. The ceiling is the highest rate sent
# on schedule (under 1% late). Closed loop: 64 connections, as many requests as they can; then
# `wrk -t2 -c64` on the same target (Debian package `wrk`; skipped with a note if missing).
# Everything shares the machine's cores with the worker, so compare numbers of one run only.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-5}
RATES=${RATES:-"10000 20000 30000 40000 50000"}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18089}
URL="http://127.0.0.1:${PORT}/work"

cargo build --release --quiet -p lb-live -p lb-loadgen
bin=target/release

"$bin/lb-worker" --listen "127.0.0.1:${PORT}" --service-ms 0 --concurrency 1000000 >/dev/null &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then break; fi
    sleep 0.05
done

# Warm up (connections, page faults, CPU frequency): not reported.
"$bin/lb-loadgen" run "$URL" --rate 5000 --duration 2 --quiet >/dev/null

echo "target: lb-worker --service-ms 0 on ${URL}; ${DURATION} s per step; $(nproc) cores"
echo
echo "== lb-loadgen open loop (latency from the due time)"
for rate in $RATES; do
    out=$("$bin/lb-loadgen" run "$URL" --rate "$rate" --duration "$DURATION" --quiet)
    printf 'asked %6s/s: %s\n' "$rate" "$(grep '^rate' <<<"$out")"
    printf '              %s\n' "$(grep '^latency' <<<"$out")"
    if grep -q '^WARNING' <<<"$out"; then
        echo "              (fell behind: the ceiling is below this rate)"
    fi
done
echo
echo "== lb-loadgen closed loop, ${CONNECTIONS} connections"
"$bin/lb-loadgen" run "$URL" --closed --connections "$CONNECTIONS" --duration "$DURATION" --quiet |
    grep -E '^(rate|latency)'
echo
echo "== wrk -t2 -c${CONNECTIONS}, same target"
if command -v wrk >/dev/null; then
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$URL" | grep -E 'Requests/sec|Latency'
else
    echo "wrk is not installed (apt-get install wrk); skipped"
fi
