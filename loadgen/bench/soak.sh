#!/usr/bin/env bash
# Chaos soak: an lb-balancer over N lb-worker processes on 127.0.0.1, open-loop idempotent GETs
# from lb-loadgen, and every KILL_EVERY seconds one worker SIGKILLed and started again DOWN_S
# seconds later (the workers in turn). Every KILL_EVERY seconds the balancer's resident memory
# (VmRSS in /proc/PID/status) and open descriptors (entries of /proc/PID/fd) are sampled.
#
#   loadgen/bench/soak.sh            # 2 minutes
#   loadgen/bench/soak.sh 30         # 30 minutes
#   WORKERS=6 RATE=2000 loadgen/bench/soak.sh 10
#
# Prints the success rate, the errors by cause (status codes and transport errors as the client
# saw them; the balancer's own answers by reason, from /metrics), the samples, and a PASS/FAIL
# line per check; exits 1 if any check fails:
#   success    ok / requests >= MIN_SUCCESS (default 99.999 %)
#   rss flat   mean of the last minute's samples within FLAT_PCT (default 10 %) of the first's
#   fds flat   the same for descriptors, with FD_SLACK (default 8) descriptors of slack: a
#              few pooled connections more or less is not a leak
# Needs MINUTES >= 2 (a first and a last minute). Files (logs, samples.csv, metrics) go to OUT
# (default target/soak). SKIP_BUILD=1 uses the binaries already in BIN (default target/release).
# Only processes this script started are ever killed, by their PID.
set -euo pipefail
cd "$(dirname "$0")/../.."

MINUTES=${1:-2}
WORKERS=${WORKERS:-4}
RATE=${RATE:-1000}
KILL_EVERY=${KILL_EVERY:-10}
DOWN_S=${DOWN_S:-2}
BASE_PORT=${BASE_PORT:-18300}
MIN_SUCCESS=${MIN_SUCCESS:-99.999}
FLAT_PCT=${FLAT_PCT:-10}
FD_SLACK=${FD_SLACK:-8}
WORKER_FLAGS=${WORKER_FLAGS:-"--service-ms 10 --concurrency 16"}
BALANCER_FLAGS=${BALANCER_FLAGS:-"--algorithm least_connections --health-interval-ms 500"}
OUT=${OUT:-target/soak}

die() { echo "soak: $*" >&2; exit 2; }
[[ "$MINUTES" =~ ^[0-9]+$ && "$MINUTES" -ge 2 ]] || die "MINUTES must be a whole number >= 2, got '$MINUTES'"
[[ "$WORKERS" =~ ^[0-9]+$ && "$WORKERS" -ge 2 ]] || die "WORKERS must be a whole number >= 2, got '$WORKERS'"
[[ "$KILL_EVERY" =~ ^[0-9]+$ && "$KILL_EVERY" -ge 2 ]] || die "KILL_EVERY must be a whole number of seconds >= 2, got '$KILL_EVERY'"
[[ "$DOWN_S" =~ ^[0-9]+$ && "$DOWN_S" -lt "$KILL_EVERY" ]] || die "DOWN_S must be a whole number of seconds below KILL_EVERY ($KILL_EVERY), got '$DOWN_S'"
[[ "$RATE" =~ ^[0-9]+$ && "$RATE" -ge 1 ]] || die "RATE must be a whole number of requests per second, got '$RATE'"

SECS=$((MINUTES * 60))
LB_PORT=$BASE_PORT
ADMIN_PORT=$((BASE_PORT + 1))
bin=${BIN:-target/release}
mkdir -p "$OUT"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    cargo build --release --quiet -p lb-live -p lb-loadgen
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Poll until 127.0.0.1:PORT accepts, at most 10 s.
wait_port() {
    for _ in $(seq 1 200); do
        port_open "$1" && return 0
        sleep 0.05
    done
    die "nothing listens on 127.0.0.1:$1 after 10 s (see $OUT/*.log)"
}

for p in "$LB_PORT" "$ADMIN_PORT" $(seq $((BASE_PORT + 2)) $((BASE_PORT + 1 + WORKERS))); do
    port_open "$p" && die "127.0.0.1:$p is already in use; pick another BASE_PORT"
done

declare -a wpid wport
balancer=""
loadgen=""
cleanup() {
    for p in "${wpid[@]}" $balancer $loadgen; do
        kill "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT

start_worker() { # index
    local i=$1
    # shellcheck disable=SC2086 # WORKER_FLAGS is a list of flags
    "$bin/lb-worker" --listen "127.0.0.1:${wport[$i]}" --name "w$i" $WORKER_FLAGS \
        >>"$OUT/worker$i.log" 2>&1 &
    wpid[$i]=$!
}

worker_args=()
for i in $(seq 0 $((WORKERS - 1))); do
    wport[$i]=$((BASE_PORT + 2 + i))
    : >"$OUT/worker$i.log"
    start_worker "$i"
    worker_args+=(--worker "127.0.0.1:${wport[$i]}")
done
for i in $(seq 0 $((WORKERS - 1))); do wait_port "${wport[$i]}"; done

# shellcheck disable=SC2086 # BALANCER_FLAGS is a list of flags
"$bin/lb-balancer" --listen "127.0.0.1:$LB_PORT" --admin "127.0.0.1:$ADMIN_PORT" \
    "${worker_args[@]}" $BALANCER_FLAGS >"$OUT/balancer.log" 2>&1 &
balancer=$!
wait_port "$LB_PORT"
wait_port "$ADMIN_PORT"

sample() { # t
    local rss fds
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$balancer/status")
    fds=$(find "/proc/$balancer/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "$1,$rss,$fds" >>"$OUT/samples.csv"
    printf '  t=%4ss  rss %7.1f MiB  fds %4s' "$1" "$(awk "BEGIN {print $rss / 1024}")" "$fds"
}

echo "soak: lb-balancer on 127.0.0.1:$LB_PORT ($BALANCER_FLAGS), $WORKERS lb-workers ($WORKER_FLAGS)"
echo "soak: $RATE GET/s open loop for $SECS s; SIGKILL a worker every $KILL_EVERY s, back after $DOWN_S s"
echo "t_s,rss_kib,fds" >"$OUT/samples.csv"

"$bin/lb-loadgen" run "http://127.0.0.1:$LB_PORT/work" --rate "$RATE" --duration "$SECS" \
    --quiet >"$OUT/loadgen.out" 2>"$OUT/loadgen.err" &
loadgen=$!
t0=$(date +%s.%N)
sample 0
echo

# Pacing, not synchronisation: the schedule is wall-clock time from the start.
sleep_until() { # seconds after t0
    local left
    left=$(awk "BEGIN {d = $t0 + $1 - $(date +%s.%N); print (d > 0 ? d : 0)}")
    sleep "$left"
}

kills=0
victim=0
for t in $(seq "$KILL_EVERY" "$KILL_EVERY" "$SECS"); do
    sleep_until "$t"
    sample "$t"
    if ((t < SECS)); then
        kill -KILL "${wpid[$victim]}"
        wait "${wpid[$victim]}" 2>/dev/null || true
        kills=$((kills + 1))
        printf '  SIGKILL w%s' "$victim"
        sleep_until "$((t + DOWN_S))"
        start_worker "$victim"
        wait_port "${wport[$victim]}"
        printf ', restarted after %s s' "$DOWN_S"
        victim=$(((victim + 1) % WORKERS))
    fi
    echo
done

wait "$loadgen" || die "lb-loadgen failed: $(cat "$OUT/loadgen.err")"
loadgen=""
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" >"$OUT/metrics.txt" || true

echo
echo "== client (lb-loadgen)"
cat "$OUT/loadgen.out"
echo
echo "== balancer's own answers and retries (/metrics)"
grep -E '^lb_(proxy_responses_total|retries_total|responses_total)' "$OUT/metrics.txt" || echo "(no metrics)"
echo
echo "== checks ($kills kills)"
read -r requests ok < <(awk '/^requests/ {print $2, $4}' "$OUT/loadgen.out")
awk -v n="$requests" -v ok="$ok" -v min="$MIN_SUCCESS" -v pct="$FLAT_PCT" -v slack="$FD_SLACK" \
    -v secs="$SECS" -F, -f loadgen/bench/soak_checks.awk "$OUT/samples.csv"
